// KV-CPU core: everything between the BAR0 AXI4-Lite slave and the device's ports.
// Boards and the cosim server instantiate it untouched; build identity comes in as
// inputs so that one verilated model serves every build and each board top ties them
// to its own constants.
//
// Now: BAR0 register file and the decode-step counter. Later blocks (hif, rtbd, hepc,
// dma, narb) attach here.
`include "kvcpu_assert.svh"

module kvcpu_core (
  input  logic        clk_i,
  input  logic        rst_ni,
  // Build identity (GIT_HASH, BUILD_DATE, BOARD_ID registers)
  input  logic [31:0] build_git_hash_i,
  input  logic [31:0] build_date_i,
  input  logic [31:0] build_board_id_i,
  // BAR0: AXI4-Lite slave, 32-bit data
  input  logic        s_axil_awvalid_i,
  output logic        s_axil_awready_o,
  input  logic [15:0] s_axil_awaddr_i,
  input  logic        s_axil_wvalid_i,
  output logic        s_axil_wready_o,
  input  logic [31:0] s_axil_wdata_i,
  input  logic [3:0]  s_axil_wstrb_i,
  output logic        s_axil_bvalid_o,
  input  logic        s_axil_bready_i,
  output logic [1:0]  s_axil_bresp_o,
  input  logic        s_axil_arvalid_i,
  output logic        s_axil_arready_o,
  input  logic [15:0] s_axil_araddr_i,
  output logic        s_axil_rvalid_o,
  input  logic        s_axil_rready_i,
  output logic [31:0] s_axil_rdata_o,
  output logic [1:0]  s_axil_rresp_o,
  // Interrupt request (level; placeholder until MSI-X)
  output logic        irq_o
);

  localparam int unsigned AW = kvcpu_reg_pkg::ADDR_WIDTH;

  // ---- AXI4-Lite to register port
  logic          reg_we, reg_re;
  logic [AW-1:0] reg_waddr, reg_raddr;
  logic [31:0]   reg_wdata, reg_rdata;
  logic [3:0]    reg_wstrb;
  logic [1:0]    reg_wresp, reg_rresp;

  kvcpu_axil_slave #(.AddrWidth(AW)) u_axil (
    .clk_i,
    .rst_ni,
    .awvalid_i   (s_axil_awvalid_i),
    .awready_o   (s_axil_awready_o),
    .awaddr_i    (s_axil_awaddr_i),
    .wvalid_i    (s_axil_wvalid_i),
    .wready_o    (s_axil_wready_o),
    .wdata_i     (s_axil_wdata_i),
    .wstrb_i     (s_axil_wstrb_i),
    .bvalid_o    (s_axil_bvalid_o),
    .bready_i    (s_axil_bready_i),
    .bresp_o     (s_axil_bresp_o),
    .arvalid_i   (s_axil_arvalid_i),
    .arready_o   (s_axil_arready_o),
    .araddr_i    (s_axil_araddr_i),
    .rvalid_o    (s_axil_rvalid_o),
    .rready_i    (s_axil_rready_i),
    .rdata_o     (s_axil_rdata_o),
    .rresp_o     (s_axil_rresp_o),
    .reg_we_o    (reg_we),
    .reg_waddr_o (reg_waddr),
    .reg_wdata_o (reg_wdata),
    .reg_wstrb_o (reg_wstrb),
    .reg_wresp_i (reg_wresp),
    .reg_re_o    (reg_re),
    .reg_raddr_o (reg_raddr),
    .reg_rdata_i (reg_rdata),
    .reg_rresp_i (reg_rresp)
  );

  // ---- register block
  logic [31:0]   wdata;
  logic          acc_decerr, acc_unaligned, acc_partial, acc_ro_write;
  logic [AW-1:0] acc_addr;
  logic [31:0]   scratch_q, control_q, intr_mask_q, err_status_q, intr_status_q;
  logic [31:0]   err_status_set, status, err_addr_q;
  logic          step_lo_we, step_hi_we, step_inc_we;

  logic [63:0] step_q;
  logic [31:0] step_lo_stage_q, step_count_q;
  logic        step_staged_q;

  kvcpu_reg_top u_regs (
    .clk_i,
    .rst_ni,
    .we_i              (reg_we),
    .waddr_i           (reg_waddr),
    .wdata_i           (reg_wdata),
    .wstrb_i           (reg_wstrb),
    .wresp_o           (reg_wresp),
    .re_i              (reg_re),
    .raddr_i           (reg_raddr),
    .rdata_o           (reg_rdata),
    .rresp_o           (reg_rresp),
    .acc_decerr_o      (acc_decerr),
    .acc_unaligned_o   (acc_unaligned),
    .acc_partial_o     (acc_partial),
    .acc_ro_write_o    (acc_ro_write),
    .acc_addr_o        (acc_addr),
    .wdata_o           (wdata),
    .capabilities_i    (32'h1),  // STEP only, for now
    .git_hash_i        (build_git_hash_i),
    .build_date_i      (build_date_i),
    .board_id_i        (build_board_id_i),
    .scratch_q_o       (scratch_q),
    .step_lo_i         (step_q[31:0]),
    .step_lo_we_o      (step_lo_we),
    .step_hi_i         (step_q[63:32]),
    .step_hi_we_o      (step_hi_we),
    .step_inc_we_o     (step_inc_we),
    .step_count_i      (step_count_q),
    .control_q_o       (control_q),
    .status_i          (status),
    .err_status_set_i  (err_status_set),
    .err_status_q_o    (err_status_q),
    .err_addr_i        (err_addr_q),
    .intr_status_set_i (32'h0),
    .intr_status_q_o   (intr_status_q),
    .intr_mask_q_o     (intr_mask_q)
  );

  // ---- decode step: STEP_LO stages, STEP_HI commits (monotonic), STEP_INC adds.
  logic [63:0] step_commit;
  logic        step_backwards, step_zero;
  assign step_commit    = {wdata, step_lo_stage_q};
  assign step_backwards = step_hi_we && (step_commit < step_q);
  assign step_zero      = step_inc_we && (wdata == 32'h0);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      step_q          <= '0;
      step_lo_stage_q <= '0;
      step_staged_q   <= 1'b0;
      step_count_q    <= '0;
    end else begin
      if (step_lo_we) begin
        step_lo_stage_q <= wdata;
        step_staged_q   <= 1'b1;
      end
      if (step_hi_we) begin
        step_staged_q <= 1'b0;
        if (!step_backwards) begin
          step_q       <= step_commit;
          step_count_q <= step_count_q + 32'd1;
        end
      end
      if (step_inc_we && !step_zero) begin
        step_q       <= step_q + {32'h0, wdata};
        step_count_q <= step_count_q + 32'd1;
      end
    end
  end

  // ---- errors: sticky bits, and the offset of the first error since all-clear
  localparam int unsigned ES_DECERR = kvcpu_reg_pkg::ERR_STATUS_DECERR_LSB;
  localparam int unsigned ES_UNALIGNED = kvcpu_reg_pkg::ERR_STATUS_UNALIGNED_LSB;
  localparam int unsigned ES_PARTIAL = kvcpu_reg_pkg::ERR_STATUS_PARTIAL_LSB;
  localparam int unsigned ES_RO_WRITE = kvcpu_reg_pkg::ERR_STATUS_RO_WRITE_LSB;
  localparam int unsigned ES_STEP_BACKWARDS = kvcpu_reg_pkg::ERR_STATUS_STEP_BACKWARDS_LSB;
  localparam int unsigned ES_STEP_ZERO = kvcpu_reg_pkg::ERR_STATUS_STEP_ZERO_LSB;

  always_comb begin
    err_status_set                    = 32'h0;
    err_status_set[ES_DECERR]         = acc_decerr;
    err_status_set[ES_UNALIGNED]      = acc_unaligned;
    err_status_set[ES_PARTIAL]        = acc_partial;
    err_status_set[ES_RO_WRITE]       = acc_ro_write;
    err_status_set[ES_STEP_BACKWARDS] = step_backwards;
    err_status_set[ES_STEP_ZERO]      = step_zero;
  end

  // ERR_ADDR: the offset of the first error since ERR_STATUS was last all-clear. A read and
  // a write can complete in the same cycle; the write's error counts first. A step error
  // means the write itself was accepted, so any bus error beside it is the read's; otherwise
  // acc_addr already prefers the write's bus error. A W1C clear in the same cycle counts as
  // having happened before the new error (hardware set wins over the clear).
  logic [AW-1:0] err_addr_d;
  logic [31:0]   err_clr;
  assign err_addr_d = step_backwards ? kvcpu_reg_pkg::ADDR_STEP_HI
                    : step_zero      ? kvcpu_reg_pkg::ADDR_STEP_INC
                    : acc_addr;
  assign err_clr = (reg_we && reg_waddr == kvcpu_reg_pkg::ADDR_ERR_STATUS && reg_wresp == 2'b00)
                 ? reg_wdata : 32'h0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      err_addr_q <= '0;
    end else if ((err_status_q & ~err_clr) == 32'h0 && err_status_set != 32'h0) begin
      err_addr_q <= {{(32 - AW) {1'b0}}, err_addr_d};
    end
  end

  always_comb begin
    status = 32'h0;
    status[kvcpu_reg_pkg::STATUS_READY_LSB] = 1'b1;
    status[kvcpu_reg_pkg::STATUS_STEP_STAGED_LSB] = step_staged_q;
    status[kvcpu_reg_pkg::STATUS_ERR_LSB] = err_status_q != 32'h0;
  end

  assign irq_o = control_q[kvcpu_reg_pkg::CONTROL_IRQ_EN_LSB] && |(intr_status_q & ~intr_mask_q);

  // Registers with no consumer yet.
  logic unused_ok;
  assign unused_ok = ^{scratch_q, control_q[31:1]};

  `KV_ASSERT(StepWritesExclusive_A, $onehot0({step_lo_we, step_hi_we, step_inc_we}))
  `KV_ASSERT(ErrAddrHeld_A, (err_status_q & ~err_clr) != 32'h0 |=> $stable(err_addr_q))

endmodule
