// KV-CPU core: everything between the BAR0 AXI4-Lite slave and the device's ports.
// Boards and the cosim server instantiate it untouched; build identity comes in as
// inputs so that one verilated model serves every build and each board top ties them
// to its own constants.
//
// Now: BAR0 register file, the decode-step counter, and the host interface
// (docs/host-interface.md): queue configuration and doorbells, the queue engine (hif), the
// command executor (exec), their host-memory AXI4 master, MSI-X with coalescing (msix), and
// the block directory with its eviction/prefetch controller (kvcpu_dir: rtbd + hepc) behind
// the executor's block commands, kept at the device step by a small sequencer, and the I/O
// unit (io) with the NVMe command arbiter (narb) between the executor's I/O commands and the
// NVMe port. Later blocks (dma) attach here.
`include "kvcpu_assert.svh"

module kvcpu_core #(
  // Block directory: 2^DirSetBits sets x 8 ways (5: 256 entries, the iCE40 size; 13: 65,536)
  parameter int unsigned DirSetBits = 5,
  // Its controller's next-use rings (docs/hepc.md): 2^DirBucketShift steps per bucket,
  // DirNumBuckets slots (power of two, 32..1024)
  parameter int unsigned DirBucketShift = 4,
  parameter int unsigned DirNumBuckets = 64,
  // I/O commands held at once, and NVMe command slots at the SSD (powers of two; docs/io.md)
  parameter int unsigned IoContexts = 8,
  parameter int unsigned IoSlots    = 8,
  // cycles an I/O command waits for its NVMe completion (2^22: 16.8 ms at 250 MHz)
  parameter int unsigned IoTimeoutCycles = 32'h0040_0000,
  // core clock cycles per microsecond (the arbiter's deadlines and histogram)
  parameter int unsigned CyclesPerUs = 250
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  // Build identity (GIT_HASH, BUILD_DATE, BOARD_ID registers)
  input  logic [31:0] build_git_hash_i,
  input  logic [31:0] build_date_i,
  input  logic [31:0] build_board_id_i,
  // Core clock frequency (CLOCK_HZ register), tied by the top
  input  logic [31:0] clock_hz_i,
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
  // Host memory: AXI4 master, 64-bit address and data, no IDs
  output logic        m_axi_arvalid_o,
  input  logic        m_axi_arready_i,
  output logic [63:0] m_axi_araddr_o,
  output logic [7:0]  m_axi_arlen_o,
  output logic [2:0]  m_axi_arsize_o,
  output logic [1:0]  m_axi_arburst_o,
  input  logic        m_axi_rvalid_i,
  output logic        m_axi_rready_o,
  input  logic [63:0] m_axi_rdata_i,
  input  logic [1:0]  m_axi_rresp_i,
  input  logic        m_axi_rlast_i,
  output logic        m_axi_awvalid_o,
  input  logic        m_axi_awready_i,
  output logic [63:0] m_axi_awaddr_o,
  output logic [7:0]  m_axi_awlen_o,
  output logic [2:0]  m_axi_awsize_o,
  output logic [1:0]  m_axi_awburst_o,
  output logic        m_axi_wvalid_o,
  input  logic        m_axi_wready_i,
  output logic [63:0] m_axi_wdata_o,
  output logic [7:0]  m_axi_wstrb_o,
  output logic        m_axi_wlast_o,
  input  logic        m_axi_bvalid_i,
  output logic        m_axi_bready_o,
  input  logic [1:0]  m_axi_bresp_i,
  // MSI-X messages (to the PCIe core's external-table interface, or the cosim server)
  output logic        msix_valid_o,
  input  logic        msix_ready_i,
  output logic [63:0] msix_addr_o,
  output logic [31:0] msix_data_o,
  // NVMe port (the SSD, T3): 64-byte SQEs out, 16-byte CQEs in, little-endian byte images
  output logic         nvme_sq_valid_o,
  input  logic         nvme_sq_ready_i,
  output logic [511:0] nvme_sq_o,
  input  logic         nvme_cq_valid_i,
  output logic         nvme_cq_ready_o,
  input  logic [127:0] nvme_cq_i,
  // The device has work in flight (queues, commands, timers, messages)
  output logic        busy_o,
  // Legacy interrupt request (level: INTR_STATUS & ~INTR_MASK, gated by CONTROL.IRQ_EN)
  output logic        irq_o
);

  localparam int unsigned AW = kvcpu_reg_pkg::ADDR_WIDTH;
  localparam int unsigned NQ = kvcpu_reg_pkg::COUNT_Q_CTRL;  // queue pairs = MSI-X vectors
  localparam int unsigned QW = $clog2(NQ);
  localparam int unsigned QDepthLog2Max = 12;
  localparam int unsigned SzW = $clog2(QDepthLog2Max + 1);

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
  // host interface registers
  logic [NQ-1:0]    sq_lo_we, sq_hi_we, cq_lo_we, cq_hi_we, pv_lo_we, pv_hi_we, ctrl_we;
  logic [NQ-1:0]    sq_db_we, cq_db_we;
  logic [NQ*32-1:0] q_coal, q_status, q_cpl_count, q_irq_count;
  logic [NQ*32-1:0] msix_addr_lo, msix_addr_hi, msix_data, msix_ctrl;
  logic [NQ*32-1:0] sq_lo_rd, sq_hi_rd, cq_lo_rd, cq_hi_rd, pv_lo_rd, pv_hi_rd, ctrl_rd;
  logic [NQ-1:0]    msix_pba;
  logic [5*32-1:0]  hint_count;
  logic [63:0]      time_q;
  // I/O unit and arbiter registers (docs/io.md, docs/narb.md)
  localparam int unsigned IoCtxW = $clog2(IoContexts);
  localparam int unsigned SlotW  = $clog2(IoSlots);
  logic [IoCtxW:0]  io_in_use;
  logic [31:0]      io_refused, io_stale, io_timeouts;
  logic [31:0]      narb_mode, narb_decode_budget, narb_prefetch_budget, narb_prefetch_deadline;
  logic [31:0]      narb_write_deadline, narb_evict_deadline, narb_normal_deadline;
  logic [31:0]      narb_tag_reserve, narb_wrr_weights, narb_ctrl_mode, narb_target_p99;
  logic [31:0]      narb_ctrl_window, narb_ctrl_min_samples, narb_ctrl_max_decode_budget;
  logic [31:0]      narb_status, narb_pf_deadline_hits, narb_pf_budget_skips;
  logic [31:0]      narb_dec_budget_skips, narb_escapes, narb_pw_demotions, narb_ev_demotions;
  logic [31:0]      narb_cpl_errors, narb_ctrl_updates, narb_ctrl_boosts, narb_ctrl_relaxes;
  logic [31:0]      narb_ctrl_insufficient;
  logic [31:0]      narb_write_turns, narb_pace_holds, narb_cap_holds, narb_sess_demotions;
  logic [31:0]      narb_sess_tokens, narb_nd_cap, narb_write_gap, narb_sess_burst, narb_sess_refill;
  logic [31:0]      narb_model_demotions, narb_model_tokens, narb_model_burst, narb_model_refill;
  logic [31:0]      narb_coalesce, narb_coalesced;
  logic [5*32-1:0]  narb_dispatches;
  logic [10*32-1:0] narb_hist;
  logic [32*32-1:0] narb_hist_fine;
  logic [31:0]      narb_p99_fine;

  logic [63:0] step_q;
  logic [31:0] step_lo_stage_q, step_count_q;
  logic        step_staged_q;
  // HEPC registers (docs/registers.md 0x200..0x2FF) and the plan FIFO
  logic [31:0]  hepc_mode, hepc_w_r, hepc_w_f, hepc_w_s, hepc_w_d, hepc_window, hepc_evict_t;
  logic [31:0]  hepc_prefetch_t, hepc_t0_high_wm, hepc_prefetch_window, hepc_max_evict_plans;
  logic [31:0]  hepc_max_prefetch_plans, hepc_evict_tier, hepc_short_lived;
  logic [31:0]  dir_step, hepc_t0_blocks, hepc_t0_moving, plan_head, plan_drops_q;
  logic [255:0] hepc_count_lo, hepc_count_hi;
  logic         plan_pop_we;
  localparam int unsigned PlanDepth = 8;
  logic [$clog2(PlanDepth):0] plan_cnt_q;

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
    .capabilities_i    (32'h3),  // STEP, HIF
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
    .intr_mask_q_o     (intr_mask_q),
    .time_lo_i         (time_q[31:0]),
    .time_hi_i         (time_q[63:32]),
    .clock_hz_i        (clock_hz_i),
    .hint_count_i      (hint_count),
    .dir_capacity_i    (32'(8 << DirSetBits)),
    .dir_live_i        (dir_live_q),
    .dir_hits_i        (dir_hits_q),
    .dir_misses_i      (dir_misses_q),
    .io_contexts_i     (32'(IoContexts)),
    .io_slots_i        (32'(IoSlots)),
    .io_in_use_i       (32'(io_in_use)),
    .io_refused_i      (io_refused),
    .io_stale_i        (io_stale),
    .io_timeouts_i     (io_timeouts),
    .narb_mode_q_o                   (narb_mode),
    .narb_decode_budget_q_o          (narb_decode_budget),
    .narb_prefetch_budget_q_o        (narb_prefetch_budget),
    .narb_prefetch_deadline_us_q_o   (narb_prefetch_deadline),
    .narb_write_deadline_us_q_o      (narb_write_deadline),
    .narb_evict_deadline_us_q_o      (narb_evict_deadline),
    .narb_normal_deadline_us_q_o     (narb_normal_deadline),
    .narb_tag_reserve_q_o            (narb_tag_reserve),
    .narb_wrr_weights_q_o            (narb_wrr_weights),
    .narb_ctrl_mode_q_o              (narb_ctrl_mode),
    .narb_target_p99_us_q_o          (narb_target_p99),
    .narb_ctrl_window_us_q_o         (narb_ctrl_window),
    .narb_ctrl_min_samples_q_o       (narb_ctrl_min_samples),
    .narb_ctrl_max_decode_budget_q_o (narb_ctrl_max_decode_budget),
    .narb_status_i                   (narb_status),
    .narb_dispatches_i               (narb_dispatches),
    .narb_prefetch_deadline_hits_i   (narb_pf_deadline_hits),
    .narb_prefetch_budget_skips_i    (narb_pf_budget_skips),
    .narb_decode_budget_skips_i      (narb_dec_budget_skips),
    .narb_starvation_escapes_i       (narb_escapes),
    .narb_prefill_demotions_i        (narb_pw_demotions),
    .narb_evict_demotions_i          (narb_ev_demotions),
    .narb_cpl_errors_i               (narb_cpl_errors),
    .narb_ctrl_updates_i             (narb_ctrl_updates),
    .narb_ctrl_boosts_i              (narb_ctrl_boosts),
    .narb_ctrl_relaxes_i             (narb_ctrl_relaxes),
    .narb_ctrl_insufficient_i        (narb_ctrl_insufficient),
    .narb_hist_i                     (narb_hist),
    .narb_hist_fine_i                (narb_hist_fine),
    .narb_p99_fine_i                 (narb_p99_fine),
    .narb_write_turns_i              (narb_write_turns),
    .narb_pace_holds_i               (narb_pace_holds),
    .narb_cap_holds_i                (narb_cap_holds),
    .narb_sess_demotions_i           (narb_sess_demotions),
    .narb_sess_tokens_i              (narb_sess_tokens),
    .narb_model_demotions_i          (narb_model_demotions),
    .narb_model_tokens_i             (narb_model_tokens),
    .narb_model_burst_q_o            (narb_model_burst),
    .narb_model_refill_us_q_o        (narb_model_refill),
    .narb_coalesce_q_o               (narb_coalesce),
    .narb_coalesced_i                (narb_coalesced),
    .narb_nd_cap_q_o                 (narb_nd_cap),
    .narb_write_gap_us_q_o           (narb_write_gap),
    .narb_sess_burst_q_o             (narb_sess_burst),
    .narb_sess_refill_us_q_o         (narb_sess_refill),
    .hepc_mode_q_o               (hepc_mode),
    .hepc_w_r_q_o                (hepc_w_r),
    .hepc_w_f_q_o                (hepc_w_f),
    .hepc_w_s_q_o                (hepc_w_s),
    .hepc_w_d_q_o                (hepc_w_d),
    .hepc_window_q_o             (hepc_window),
    .hepc_evict_t_q_o            (hepc_evict_t),
    .hepc_prefetch_t_q_o         (hepc_prefetch_t),
    .hepc_t0_high_wm_q_o         (hepc_t0_high_wm),
    .hepc_prefetch_window_q_o    (hepc_prefetch_window),
    .hepc_max_evict_plans_q_o    (hepc_max_evict_plans),
    .hepc_max_prefetch_plans_q_o (hepc_max_prefetch_plans),
    .hepc_evict_tier_q_o         (hepc_evict_tier),
    .hepc_short_lived_q_o        (hepc_short_lived),
    .hepc_step_i                 (dir_step),
    .hepc_rings_i                (32'(DirBucketShift) | (32'($clog2(DirNumBuckets)) << 8)),
    .hepc_count_lo_i             (hepc_count_lo),
    .hepc_count_hi_i             (hepc_count_hi),
    .hepc_t0_blocks_i            (hepc_t0_blocks),
    .hepc_t0_moving_i            (hepc_t0_moving),
    .hepc_plan_count_i           (32'(plan_cnt_q)),
    .hepc_plan_head_i            (plan_head),
    .hepc_plan_pop_we_o          (plan_pop_we),
    .hepc_plan_drops_i           (plan_drops_q),
    .q_sq_base_lo_i    (sq_lo_rd),
    .q_sq_base_lo_we_o (sq_lo_we),
    .q_sq_base_hi_i    (sq_hi_rd),
    .q_sq_base_hi_we_o (sq_hi_we),
    .q_cq_base_lo_i    (cq_lo_rd),
    .q_cq_base_lo_we_o (cq_lo_we),
    .q_cq_base_hi_i    (cq_hi_rd),
    .q_cq_base_hi_we_o (cq_hi_we),
    .q_prov_base_lo_i  (pv_lo_rd),
    .q_prov_base_lo_we_o (pv_lo_we),
    .q_prov_base_hi_i  (pv_hi_rd),
    .q_prov_base_hi_we_o (pv_hi_we),
    .q_ctrl_i          (ctrl_rd),
    .q_ctrl_we_o       (ctrl_we),
    .q_coal_q_o        (q_coal),
    .q_status_i        (q_status),
    .q_cpl_count_i     (q_cpl_count),
    .q_irq_count_i     (q_irq_count),
    .sq_tail_db_we_o   (sq_db_we),
    .cq_head_db_we_o   (cq_db_we),
    .msix_addr_lo_q_o  (msix_addr_lo),
    .msix_addr_hi_q_o  (msix_addr_hi),
    .msix_data_q_o     (msix_data),
    .msix_ctrl_q_o     (msix_ctrl),
    .msix_pba_i        ({{(32 - NQ) {1'b0}}, msix_pba})
  );

  // ---- device time: free-running cycle counter (TIME_LO/HI, provenance timestamps)
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      time_q <= '0;
    end else begin
      time_q <= time_q + 64'd1;
    end
  end

  // ---- decode step: STEP_LO stages, STEP_HI commits (monotonic), STEP_INC adds.
  logic [63:0] step_commit;
  logic        step_backwards, step_zero;
  // STEP_ADVANCE commands from the executor take the step in cycles without an MMIO step
  // write, so that neither is lost.
  logic        ex_step_valid, ex_step_ready;
  logic [63:0] ex_step_value;
  assign ex_step_ready = !(step_hi_we || step_inc_we);
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
      if (ex_step_valid && ex_step_ready) begin
        step_q       <= ex_step_value;
        step_count_q <= step_count_q + 32'd1;
      end
    end
  end

  // ---- queue configuration (docs/host-interface.md "Queues"). A refused write changes
  // nothing and raises ERR_STATUS.QCFG: bases of an enabled queue, misaligned bases, an
  // enable with SIZE_LOG2 outside 1..QDepthLog2Max or reserved bits set, a re-enable that
  // changes fields.
  logic [NQ-1:0]     q_en_q, q_prov_en_q;
  logic [NQ*SzW-1:0] q_size_q;
  logic [NQ*64-1:0]  sq_base_q, cq_base_q, pv_base_q;
  logic [NQ-1:0]     qcfg_refuse;
  logic              qcfg_err;
  localparam logic [31:0] CtrlFields = kvcpu_reg_pkg::Q_CTRL_MASK;
  localparam int unsigned CtrlEn = kvcpu_reg_pkg::Q_CTRL_ENABLE_LSB;
  localparam int unsigned CtrlProv = kvcpu_reg_pkg::Q_CTRL_PROV_EN_LSB;
  localparam int unsigned CtrlSize = kvcpu_reg_pkg::Q_CTRL_SIZE_LOG2_LSB;

  for (genvar g = 0; g < NQ; g++) begin : gen_qcfg
    logic [31:0]    ctrl_cur;
    logic [SzW-1:0] wsize;
    logic           base_we, base_bad, ctrl_bad;
    assign wsize    = wdata[CtrlSize +: SzW];
    assign ctrl_cur = {20'h0, q_size_q[g*SzW +: SzW], 6'h0, q_prov_en_q[g], q_en_q[g]};
    assign base_we  = sq_lo_we[g] | sq_hi_we[g] | cq_lo_we[g] | cq_hi_we[g] | pv_lo_we[g] |
                      pv_hi_we[g];
    assign base_bad = q_en_q[g] || (sq_lo_we[g] && wdata[5:0] != 6'h0) ||
                      (cq_lo_we[g] && wdata[3:0] != 4'h0) || (pv_lo_we[g] && wdata[5:0] != 6'h0);
    always_comb begin
      ctrl_bad = 1'b0;
      if ((wdata & ~CtrlFields) != 32'h0) begin
        ctrl_bad = 1'b1;
      end else if (wdata[CtrlEn] && !q_en_q[g]) begin
        ctrl_bad = (wsize == '0) || (wsize > SzW'(QDepthLog2Max));
      end else if (wdata[CtrlEn] && q_en_q[g]) begin
        ctrl_bad = (wdata != ctrl_cur);
      end
    end
    assign qcfg_refuse[g] = (base_we && base_bad) || (ctrl_we[g] && ctrl_bad);

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        q_en_q[g]                <= 1'b0;
        q_prov_en_q[g]           <= 1'b0;
        q_size_q[g*SzW +: SzW]   <= '0;
        sq_base_q[g*64 +: 64]    <= '0;
        cq_base_q[g*64 +: 64]    <= '0;
        pv_base_q[g*64 +: 64]    <= '0;
      end else if (!qcfg_refuse[g]) begin
        if (sq_lo_we[g]) sq_base_q[g*64 +: 32]      <= wdata;
        if (sq_hi_we[g]) sq_base_q[g*64 + 32 +: 32] <= wdata;
        if (cq_lo_we[g]) cq_base_q[g*64 +: 32]      <= wdata;
        if (cq_hi_we[g]) cq_base_q[g*64 + 32 +: 32] <= wdata;
        if (pv_lo_we[g]) pv_base_q[g*64 +: 32]      <= wdata;
        if (pv_hi_we[g]) pv_base_q[g*64 + 32 +: 32] <= wdata;
        if (ctrl_we[g]) begin
          q_en_q[g]              <= wdata[CtrlEn];
          q_prov_en_q[g]         <= wdata[CtrlProv];
          q_size_q[g*SzW +: SzW] <= wsize;
        end
      end
    end

    assign sq_lo_rd[g*32 +: 32] = sq_base_q[g*64 +: 32];
    assign sq_hi_rd[g*32 +: 32] = sq_base_q[g*64 + 32 +: 32];
    assign cq_lo_rd[g*32 +: 32] = cq_base_q[g*64 +: 32];
    assign cq_hi_rd[g*32 +: 32] = cq_base_q[g*64 + 32 +: 32];
    assign pv_lo_rd[g*32 +: 32] = pv_base_q[g*64 +: 32];
    assign pv_hi_rd[g*32 +: 32] = pv_base_q[g*64 + 32 +: 32];
    assign ctrl_rd[g*32 +: 32]  = ctrl_cur;
  end
  assign qcfg_err = |qcfg_refuse;

  // ---- doorbells: one register write per cycle, so at most one doorbell bit is set. A
  // value above 16 bits is bad here; the engine judges the rest (queue enabled, in range).
  logic          db_valid, db_is_cq, db_wide, hif_bad_db, bad_db;
  logic [QW-1:0] db_qid;
  always_comb begin
    db_qid = '0;
    for (int unsigned i = 0; i < NQ; i++) begin
      if (sq_db_we[i] || cq_db_we[i]) begin
        db_qid = QW'(i);
      end
    end
  end
  assign db_is_cq = |cq_db_we;
  assign db_wide  = (wdata[31:16] != 16'h0);
  assign db_valid = (|sq_db_we || |cq_db_we) && !db_wide;
  assign bad_db   = hif_bad_db || ((|sq_db_we || |cq_db_we) && db_wide);

  // ---- queue engine
  logic                       hif_cmd_valid, hif_cmd_ready, hif_cpl_valid, hif_cpl_ready;
  logic [QW-1:0]              hif_cmd_qid, ex_cpl_qid;
  kvcpu_hif_pkg::sqe_t        hif_cmd_sqe;
  logic [15:0]                ex_cpl_cid;
  logic [14:0]                ex_cpl_status;
  logic [31:0]                ex_cpl_result;
  logic                       ex_cpl_defer;
  logic [191:0]               hif_cmd_prov;
  logic                       io_acpl_valid, io_acpl_ready;
  logic [QW-1:0]              io_acpl_qid;
  kvcpu_hif_pkg::sqe_t        io_acpl_sqe;
  logic [14:0]                io_acpl_status;
  logic [31:0]                io_acpl_result;
  logic [255:0]               io_acpl_prov;
  logic                       hif_cqe_valid, hif_busy, hif_err_rd, hif_err_wr;
  logic [QW-1:0]              hif_cqe_vec;
  logic [NQ*QDepthLog2Max-1:0] hif_sq_head, hif_cq_tail;
  logic                       ex_busy, ex_err_rd, ex_err_wr, msix_busy, hif_db_ready;
  // host-memory masters: 0 = hif, 1 = exec
  logic [1:0]   a_arvalid, a_arready, a_rvalid, a_rready, a_awvalid, a_awready;
  logic [1:0]   a_wvalid, a_wready, a_wlast, a_bvalid, a_bready;
  logic [127:0] a_araddr, a_awaddr, a_wdata;
  logic [15:0]  a_arlen, a_awlen, a_wstrb;
  logic [5:0]   a_arsize, a_awsize;
  logic [3:0]   a_arburst, a_awburst;
  logic [63:0]  a_rdata;
  logic [1:0]   a_rresp, a_bresp;
  logic         a_rlast;

  kvcpu_hif #(.NumQueues(NQ), .QDepthLog2Max(QDepthLog2Max)) u_hif (
    .clk_i,
    .rst_ni,
    .q_enable_i      (q_en_q),
    .sq_base_i       (sq_base_q),
    .cq_base_i       (cq_base_q),
    .q_size_log2_i   (q_size_q),
    .prov_en_i       (q_prov_en_q),
    .prov_base_i     (pv_base_q),
    .time_i          (time_q),
    .db_valid_i      (db_valid),
    .db_ready_o      (hif_db_ready),  // always 1: one doorbell per cycle
    .db_qid_i        (db_qid),
    .db_is_cq_i      (db_is_cq),
    .db_value_i      (wdata[15:0]),
    .m_axi_arvalid_o (a_arvalid[0]),
    .m_axi_arready_i (a_arready[0]),
    .m_axi_araddr_o  (a_araddr[63:0]),
    .m_axi_arlen_o   (a_arlen[7:0]),
    .m_axi_arsize_o  (a_arsize[2:0]),
    .m_axi_arburst_o (a_arburst[1:0]),
    .m_axi_rvalid_i  (a_rvalid[0]),
    .m_axi_rready_o  (a_rready[0]),
    .m_axi_rdata_i   (a_rdata),
    .m_axi_rresp_i   (a_rresp),
    .m_axi_rlast_i   (a_rlast),
    .m_axi_awvalid_o (a_awvalid[0]),
    .m_axi_awready_i (a_awready[0]),
    .m_axi_awaddr_o  (a_awaddr[63:0]),
    .m_axi_awlen_o   (a_awlen[7:0]),
    .m_axi_awsize_o  (a_awsize[2:0]),
    .m_axi_awburst_o (a_awburst[1:0]),
    .m_axi_wvalid_o  (a_wvalid[0]),
    .m_axi_wready_i  (a_wready[0]),
    .m_axi_wdata_o   (a_wdata[63:0]),
    .m_axi_wstrb_o   (a_wstrb[7:0]),
    .m_axi_wlast_o   (a_wlast[0]),
    .m_axi_bvalid_i  (a_bvalid[0]),
    .m_axi_bready_o  (a_bready[0]),
    .m_axi_bresp_i   (a_bresp),
    .cmd_valid_o     (hif_cmd_valid),
    .cmd_ready_i     (hif_cmd_ready),
    .cmd_qid_o       (hif_cmd_qid),
    .cmd_sqe_o       (hif_cmd_sqe),
    .cpl_valid_i     (hif_cpl_valid),
    .cpl_ready_o     (hif_cpl_ready),
    .cpl_qid_i       (ex_cpl_qid),
    .cpl_cid_i       (ex_cpl_cid),
    .cpl_status_i    (ex_cpl_status),
    .cpl_result_i    (ex_cpl_result),
    .cpl_defer_i     (ex_cpl_defer),
    .cmd_prov_o      (hif_cmd_prov),
    .acpl_valid_i    (io_acpl_valid),
    .acpl_ready_o    (io_acpl_ready),
    .acpl_qid_i      (io_acpl_qid),
    .acpl_sqe_i      (io_acpl_sqe),
    .acpl_status_i   (io_acpl_status),
    .acpl_result_i   (io_acpl_result),
    .acpl_prov_i     (io_acpl_prov),
    .irq_valid_o     (hif_cqe_valid),
    .irq_vector_o    (hif_cqe_vec),
    .sq_head_o       (hif_sq_head),
    .cq_tail_o       (hif_cq_tail),
    .busy_o          (hif_busy),
    .err_bad_db_o    (hif_bad_db),
    .err_axi_rd_o    (hif_err_rd),
    .err_axi_wr_o    (hif_err_wr)
  );

  // ---- executor <-> block directory
  logic                    dir_req_valid, dir_req_ready;
  kvcpu_rtbd_pkg::op_e     dir_req_op;
  logic [63:0]             dir_req_key, dir_req_addr;
  logic [31:0]             dir_req_handle, dir_req_lifetime_end, dir_req_target;
  logic [2:0]              dir_req_tier, dir_req_hint;
  logic                    dir_req_prefix, dir_req_dirty, dir_req_recompute_ok;
  logic [15:0]             dir_req_session;
  logic [7:0]              dir_req_model_id;
  logic                    dir_rsp_valid, dir_rsp_valid_ex;
  kvcpu_rtbd_pkg::op_e     dir_rsp_op;
  logic [15:0]             dir_rsp_status;
  logic [31:0]             dir_rsp_handle;
  kvcpu_rtbd_pkg::entry_t  dir_rsp_entry;

  logic                    ex_io_push, io_push_ok;
  logic [QW-1:0]           ex_io_qid;
  kvcpu_hif_pkg::sqe_t     ex_io_sqe;
  logic [31:0]             dir_live_q, dir_hits_q, dir_misses_q;

  // ---- command executor
  kvcpu_exec #(.QidW(QW)) u_exec (
    .clk_i,
    .rst_ni,
    .cmd_valid_i     (hif_cmd_valid),
    .cmd_ready_o     (hif_cmd_ready),
    .cmd_qid_i       (hif_cmd_qid),
    .cmd_sqe_i       (hif_cmd_sqe),
    .cpl_valid_o     (hif_cpl_valid),
    .cpl_ready_i     (hif_cpl_ready),
    .cpl_qid_o       (ex_cpl_qid),
    .cpl_cid_o       (ex_cpl_cid),
    .cpl_status_o    (ex_cpl_status),
    .cpl_result_o    (ex_cpl_result),
    .cpl_defer_o     (ex_cpl_defer),
    .step_i          (step_q),
    .step_valid_o    (ex_step_valid),
    .step_ready_i    (ex_step_ready),
    .step_value_o    (ex_step_value),
    .hint_count_o    (hint_count),
    .dir_req_valid_o        (dir_req_valid),
    .dir_req_ready_i        (dir_req_ready),
    .dir_req_op_o           (dir_req_op),
    .dir_req_key_o          (dir_req_key),
    .dir_req_handle_o       (dir_req_handle),
    .dir_req_tier_o         (dir_req_tier),
    .dir_req_addr_o         (dir_req_addr),
    .dir_req_prefix_o       (dir_req_prefix),
    .dir_req_dirty_o        (dir_req_dirty),
    .dir_req_recompute_ok_o (dir_req_recompute_ok),
    .dir_req_lifetime_end_o (dir_req_lifetime_end),
    .dir_req_session_o      (dir_req_session),
    .dir_req_model_id_o     (dir_req_model_id),
    .dir_req_hint_o         (dir_req_hint),
    .dir_req_target_o       (dir_req_target),
    .dir_rsp_valid_i        (dir_rsp_valid_ex),
    .dir_rsp_status_i       (dir_rsp_status),
    .dir_rsp_handle_i       (dir_rsp_handle),
    .dir_rsp_entry_i        (dir_rsp_entry),
    .io_push_o              (ex_io_push),
    .io_push_ok_i           (io_push_ok),
    .io_qid_o               (ex_io_qid),
    .io_sqe_o               (ex_io_sqe),
    .m_axi_arvalid_o (a_arvalid[1]),
    .m_axi_arready_i (a_arready[1]),
    .m_axi_araddr_o  (a_araddr[127:64]),
    .m_axi_arlen_o   (a_arlen[15:8]),
    .m_axi_arsize_o  (a_arsize[5:3]),
    .m_axi_arburst_o (a_arburst[3:2]),
    .m_axi_rvalid_i  (a_rvalid[1]),
    .m_axi_rready_o  (a_rready[1]),
    .m_axi_rdata_i   (a_rdata),
    .m_axi_rresp_i   (a_rresp),
    .m_axi_rlast_i   (a_rlast),
    .m_axi_awvalid_o (a_awvalid[1]),
    .m_axi_awready_i (a_awready[1]),
    .m_axi_awaddr_o  (a_awaddr[127:64]),
    .m_axi_awlen_o   (a_awlen[15:8]),
    .m_axi_awsize_o  (a_awsize[5:3]),
    .m_axi_awburst_o (a_awburst[3:2]),
    .m_axi_wvalid_o  (a_wvalid[1]),
    .m_axi_wready_i  (a_wready[1]),
    .m_axi_wdata_o   (a_wdata[127:64]),
    .m_axi_wstrb_o   (a_wstrb[15:8]),
    .m_axi_wlast_o   (a_wlast[1]),
    .m_axi_bvalid_i  (a_bvalid[1]),
    .m_axi_bready_o  (a_bready[1]),
    .m_axi_bresp_i   (a_bresp),
    .err_host_rd_o   (ex_err_rd),
    .err_host_wr_o   (ex_err_wr),
    .busy_o          (ex_busy)
  );

  // ---- step sequencer (docs/hepc.md "In the core"). The directory keeps its own step (the
  // low 32 bits of the device step) and runs its expiry and plans on OP_STEP_ADVANCE. Every
  // change of the device step (STEP_HI commit, STEP_INC, a STEP_ADVANCE command) sets
  // sq_pend_q; while it is set, the directory port carries OP_STEP_ADVANCE to the current
  // step_q[31:0] and the executor's request waits (its ready is low). Several changes before
  // the directory takes it give one advance to the latest step. A request already offered
  // and waiting for ready when the step changes keeps the port until it is taken (the
  // directory's hold rule), so it goes first; every request offered later sees the new step.
  logic                    step_chg;
  logic                    sq_pend_q, sq_use, sq_hold_q, sq_hold_sq_q, sq_own_q;
  logic [31:0]             sq_target, sq_target_q;
  logic                    d_valid, d_ready;
  assign step_chg  = (step_hi_we && !step_backwards) || (step_inc_we && !step_zero) ||
                     (ex_step_valid && ex_step_ready);
  assign sq_use    = sq_hold_q ? sq_hold_sq_q : sq_pend_q;
  assign sq_target = (sq_hold_q && sq_hold_sq_q) ? sq_target_q : step_q[31:0];
  assign d_valid   = sq_use || dir_req_valid;
  assign dir_req_ready = d_ready && !sq_use;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sq_pend_q    <= 1'b0;
      sq_hold_q    <= 1'b0;
      sq_hold_sq_q <= 1'b0;
      sq_own_q     <= 1'b0;
      sq_target_q  <= '0;
    end else begin
      // Taken: done, unless the step moved on while the advance was held (its target was
      // captured when first offered) or moves now.
      if (step_chg) begin
        sq_pend_q <= 1'b1;
      end else if (sq_use && d_ready && sq_target == step_q[31:0]) begin
        sq_pend_q <= 1'b0;
      end
      sq_hold_q    <= d_valid && !d_ready;
      sq_hold_sq_q <= sq_use;
      sq_target_q  <= sq_target;
      if (d_valid && d_ready) begin
        sq_own_q <= sq_use;  // whose answer comes next
      end
    end
  end
  assign dir_rsp_valid_ex = dir_rsp_valid && !sq_own_q;

  // ---- block directory with the HEPC controller (docs/hepc.md), driven by the executor's
  // block commands and the step sequencer; its plans go to the plan FIFO
  logic        plan_valid;
  logic [31:0] plan_word;
  logic [63:0] c_ops, c_ep, c_pp, c_dis, c_exp, c_vq, c_df, c_hs;
  kvcpu_dir #(
    .SetBits     (DirSetBits),
    .BucketShift (DirBucketShift),
    .NumBuckets  (DirNumBuckets)
  ) u_dir (
    .clk_i,
    .rst_ni,
    .req_valid_i              (d_valid),
    .req_ready_o              (d_ready),
    .req_op_i                 (sq_use ? kvcpu_rtbd_pkg::OP_STEP_ADVANCE : dir_req_op),
    .req_key_i                (sq_use ? 64'h0 : dir_req_key),
    .req_handle_i             (sq_use ? 32'h0 : dir_req_handle),
    .req_tier_i               (sq_use ? 3'h0 : dir_req_tier),
    .req_addr_i               (sq_use ? 64'h0 : dir_req_addr),
    .req_prefix_i             (!sq_use && dir_req_prefix),
    .req_dirty_i              (!sq_use && dir_req_dirty),
    .req_recompute_ok_i       (!sq_use && dir_req_recompute_ok),
    .req_lifetime_end_i       (sq_use ? 32'h0 : dir_req_lifetime_end),
    .req_session_i            (sq_use ? 16'h0 : dir_req_session),
    .req_model_id_i           (sq_use ? 8'h0 : dir_req_model_id),
    .req_hint_i               (sq_use ? 3'h0 : dir_req_hint),
    .req_target_i             (sq_use ? sq_target : dir_req_target),
    .step_o                   (dir_step),
    .rsp_valid_o              (dir_rsp_valid),
    .rsp_op_o                 (dir_rsp_op),
    .rsp_status_o             (dir_rsp_status),
    .rsp_handle_o             (dir_rsp_handle),
    .rsp_entry_o              (dir_rsp_entry),
    .plan_valid_o             (plan_valid),
    .plan_ready_i             (1'b1),  // the FIFO takes or drops (and counts) every plan
    .plan_o                   (plan_word),
    .cfg_mode_i               (hepc_mode[0]),
    .cfg_w_r_i                (hepc_w_r[7:0]),
    .cfg_w_f_i                (hepc_w_f[7:0]),
    .cfg_w_s_i                (hepc_w_s[7:0]),
    .cfg_w_d_i                (hepc_w_d[7:0]),
    .cfg_window_i             (hepc_window[15:0]),
    .cfg_evict_t_i            (hepc_evict_t[15:0]),
    .cfg_prefetch_t_i         (hepc_prefetch_t[15:0]),
    .cfg_t0_high_wm_i         (hepc_t0_high_wm),
    .cfg_prefetch_window_i    (hepc_prefetch_window),
    .cfg_max_evict_plans_i    (hepc_max_evict_plans[15:0]),
    .cfg_max_prefetch_plans_i (hepc_max_prefetch_plans[15:0]),
    .cfg_evict_tier_i         (hepc_evict_tier[1:0]),
    .cfg_short_lived_i        (hepc_short_lived),
    .cnt_ops_o                (c_ops),
    .cnt_evict_plans_o        (c_ep),
    .cnt_prefetch_plans_o     (c_pp),
    .cnt_discards_o           (c_dis),
    .cnt_expired_buckets_o    (c_exp),
    .cnt_victim_queries_o     (c_vq),
    .cnt_dir_full_o           (c_df),
    .cnt_hint_stale_o         (c_hs),
    .t0_blocks_o              (hepc_t0_blocks),
    .t0_moving_o              (hepc_t0_moving)
  );
  // HEPC_COUNT_LO/HI[i]: 0 ops, 1 victim queries, 2 evict plans, 3 prefetch plans,
  // 4 discards, 5 DIR_FULL, 6 HINT_STALE, 7 expired buckets
  assign hepc_count_lo = {c_exp[31:0], c_hs[31:0], c_df[31:0], c_dis[31:0], c_pp[31:0],
                          c_ep[31:0], c_vq[31:0], c_ops[31:0]};
  assign hepc_count_hi = {c_exp[63:32], c_hs[63:32], c_df[63:32], c_dis[63:32], c_pp[63:32],
                          c_ep[63:32], c_vq[63:32], c_ops[63:32]};

  // ---- plan FIFO (HEPC_PLAN_COUNT/HEAD/POP/DROPS): the directory never waits for it; a plan
  // that finds it full is dropped and counted. A pop of an empty FIFO does nothing.
  logic [31:0]                plan_mem_q [PlanDepth];
  logic [$clog2(PlanDepth)-1:0] plan_rd_q, plan_wr_q;
  logic                       plan_push, plan_pop;
  assign plan_push = plan_valid && plan_cnt_q != PlanDepth[$clog2(PlanDepth):0];
  assign plan_pop  = plan_pop_we && plan_cnt_q != '0;
  assign plan_head = (plan_cnt_q != '0) ? plan_mem_q[plan_rd_q] : 32'h0;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      plan_rd_q    <= '0;
      plan_wr_q    <= '0;
      plan_cnt_q   <= '0;
      plan_drops_q <= '0;
      for (int i = 0; i < PlanDepth; i++) begin
        plan_mem_q[i] <= '0;
      end
    end else begin
      if (plan_push) begin
        plan_mem_q[plan_wr_q] <= plan_word;
        plan_wr_q             <= plan_wr_q + 1'b1;
      end
      if (plan_pop) begin
        plan_rd_q <= plan_rd_q + 1'b1;
      end
      plan_cnt_q <= plan_cnt_q + {{$clog2(PlanDepth){1'b0}}, plan_push}
                               - {{$clog2(PlanDepth){1'b0}}, plan_pop};
      if (plan_valid && !plan_push) begin
        plan_drops_q <= plan_drops_q + 32'd1;
      end
    end
  end
  // Directory telemetry (DIR_LIVE, DIR_HITS, DIR_MISSES) from the answers.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dir_live_q   <= '0;
      dir_hits_q   <= '0;
      dir_misses_q <= '0;
    end else if (dir_rsp_valid_ex) begin
      if (dir_rsp_op == kvcpu_rtbd_pkg::OP_LOOKUP || dir_rsp_op == kvcpu_rtbd_pkg::OP_TOUCH) begin
        if (dir_rsp_status == kvcpu_rtbd_pkg::ST_SUCCESS) begin
          dir_hits_q <= dir_hits_q + 32'd1;
        end else if (dir_rsp_status == kvcpu_rtbd_pkg::ST_NOT_FOUND) begin
          dir_misses_q <= dir_misses_q + 32'd1;
        end
      end
      if (dir_rsp_status == kvcpu_rtbd_pkg::ST_SUCCESS) begin
        if (dir_rsp_op == kvcpu_rtbd_pkg::OP_INSERT) begin
          dir_live_q <= dir_live_q + 32'd1;
        end else if (dir_rsp_op == kvcpu_rtbd_pkg::OP_DELETE) begin
          dir_live_q <= dir_live_q - 32'd1;
        end
      end
    end
  end

  // ---- I/O unit and NVMe command arbiter (docs/io.md, docs/narb.md)
  logic             arb_req_valid, arb_req_ready, arb_disp_valid, arb_disp_ready, arb_cpl_valid;
  logic [2:0]       arb_req_class, arb_disp_class;
  logic [15:0]      arb_req_session, arb_req_nblocks, arb_req_tag, arb_disp_session;
  logic [15:0]      arb_disp_nblocks, arb_disp_tag, arb_disp_tag2, arb_cpl_status;
  logic             arb_req_merge;
  logic [7:0]       arb_req_model, arb_req_opcode, arb_disp_model, arb_disp_opcode, arb_disp_ntags;
  logic [63:0]      arb_req_lba, arb_disp_lba;
  logic [SlotW-1:0] arb_disp_slot, arb_cpl_slot;
  logic [31:0]      io_now_us;
  logic             io_busy;
  logic [SlotW:0]   narb_outstanding, narb_outstanding_nd;
  logic [5*$clog2(IoContexts+1)-1:0] narb_q_count;
  logic [7:0]       narb_dec_used, narb_pf_used, narb_eff_dec, narb_eff_pf;
  logic [3:0]       narb_p99_bucket;
  logic [4:0]       narb_p99_fine_b;

  kvcpu_io #(
    .QidW(QW), .NumCtx(IoContexts), .NumSlots(IoSlots), .IoTimeoutCycles(IoTimeoutCycles),
    .CyclesPerUs(CyclesPerUs)
  ) u_io (
    .clk_i,
    .rst_ni,
    .time_i             (time_q),
    .now_us_o           (io_now_us),
    .push_i             (ex_io_push),
    .push_ok_o          (io_push_ok),
    .push_qid_i         (ex_io_qid),
    .push_sqe_i         (ex_io_sqe),
    .push_prov_i        (hif_cmd_prov),
    .acpl_valid_o       (io_acpl_valid),
    .acpl_ready_i       (io_acpl_ready),
    .acpl_qid_o         (io_acpl_qid),
    .acpl_sqe_o         (io_acpl_sqe),
    .acpl_status_o      (io_acpl_status),
    .acpl_result_o      (io_acpl_result),
    .acpl_prov_o        (io_acpl_prov),
    .arb_req_valid_o    (arb_req_valid),
    .arb_req_ready_i    (arb_req_ready),
    .arb_req_class_o    (arb_req_class),
    .arb_req_session_o  (arb_req_session),
    .arb_req_model_o    (arb_req_model),
    .arb_req_merge_o    (arb_req_merge),
    .arb_req_opcode_o   (arb_req_opcode),
    .arb_req_lba_o      (arb_req_lba),
    .arb_req_nblocks_o  (arb_req_nblocks),
    .arb_req_tag_o      (arb_req_tag),
    .arb_disp_valid_i   (arb_disp_valid),
    .arb_disp_ready_o   (arb_disp_ready),
    .arb_disp_slot_i    (arb_disp_slot),
    .arb_disp_opcode_i  (arb_disp_opcode),
    .arb_disp_lba_i     (arb_disp_lba),
    .arb_disp_nblocks_i (arb_disp_nblocks),
    .arb_disp_tag_i     (arb_disp_tag),
    .arb_disp_ntags_i   (arb_disp_ntags),
    .arb_disp_tag2_i    (arb_disp_tag2),
    .arb_cpl_valid_o    (arb_cpl_valid),
    .arb_cpl_slot_o     (arb_cpl_slot),
    .arb_cpl_status_o   (arb_cpl_status),
    .nvme_sq_valid_o,
    .nvme_sq_ready_i,
    .nvme_sq_o,
    .nvme_cq_valid_i,
    .nvme_cq_ready_o,
    .nvme_cq_i,
    .cnt_refused_o      (io_refused),
    .cnt_stale_o        (io_stale),
    .cnt_timeouts_o     (io_timeouts),
    .sts_in_use_o       (io_in_use),
    .busy_o             (io_busy)
  );

  // Each class queue holds every context, so a free context always finds room.
  kvcpu_narb #(.QDepth(IoContexts), .NumSlots(IoSlots), .TimeW(32), .CntW(32)) u_narb (
    .clk_i,
    .rst_ni,
    .mode_i                       (narb_mode[1:0]),
    .now_us_i                     (io_now_us),
    .req_valid_i                  (arb_req_valid),
    .req_ready_o                  (arb_req_ready),
    .req_class_i                  (arb_req_class),
    .req_session_i                (arb_req_session),
    .req_model_i                  (arb_req_model),
    .req_opcode_i                 (arb_req_opcode),
    .req_lba_i                    (arb_req_lba),
    .req_nblocks_i                (arb_req_nblocks),
    .req_merge_i                  (arb_req_merge),
    .req_tag_i                    (arb_req_tag),
    .disp_valid_o                 (arb_disp_valid),
    .disp_ready_i                 (arb_disp_ready),
    .disp_slot_o                  (arb_disp_slot),
    .disp_class_o                 (arb_disp_class),
    .disp_session_o               (arb_disp_session),
    .disp_model_o                 (arb_disp_model),
    .disp_opcode_o                (arb_disp_opcode),
    .disp_lba_o                   (arb_disp_lba),
    .disp_nblocks_o               (arb_disp_nblocks),
    .disp_tag_o                   (arb_disp_tag),
    .disp_ntags_o                 (arb_disp_ntags),
    .disp_tag2_o                  (arb_disp_tag2),
    .cpl_valid_i                  (arb_cpl_valid),
    .cpl_slot_i                   (arb_cpl_slot),
    .cpl_status_i                 (arb_cpl_status),
    .cfg_decode_budget_i          (narb_decode_budget[7:0]),
    .cfg_prefetch_budget_i        (narb_prefetch_budget[7:0]),
    .cfg_prefetch_deadline_us_i   (narb_prefetch_deadline),
    .cfg_write_deadline_us_i      (narb_write_deadline),
    .cfg_evict_deadline_us_i      (narb_evict_deadline),
    .cfg_normal_deadline_us_i     (narb_normal_deadline),
    .cfg_tag_reserve_i            (narb_tag_reserve[SlotW:0]),
    .cfg_wrr_weights_i            (narb_wrr_weights[15:0]),
    .cfg_ctrl_mode_i              (narb_ctrl_mode[1:0]),
    .cfg_target_p99_us_i          (narb_target_p99),
    .cfg_ctrl_window_us_i         (narb_ctrl_window),
    .cfg_ctrl_min_samples_i       (narb_ctrl_min_samples[15:0]),
    .cfg_ctrl_max_decode_budget_i (narb_ctrl_max_decode_budget[7:0]),
    .cfg_nd_cap_i                 (narb_nd_cap[SlotW:0]),
    .cfg_write_gap_us_i           (narb_write_gap),
    .cfg_sess_burst_i             (narb_sess_burst[7:0]),
    .cfg_sess_refill_us_i         (narb_sess_refill),
    .cfg_model_burst_i            (narb_model_burst[7:0]),
    .cfg_model_refill_us_i        (narb_model_refill),
    .cfg_merge_classes_i          (narb_coalesce[3:0]),
    .cfg_merge_max_blocks_i       (narb_coalesce[31:16]),
    .cnt_disp_decode_o            (narb_dispatches[0 +: 32]),
    .cnt_disp_prefetch_o          (narb_dispatches[32 +: 32]),
    .cnt_disp_prefill_o           (narb_dispatches[64 +: 32]),
    .cnt_disp_evict_o             (narb_dispatches[96 +: 32]),
    .cnt_disp_normal_o            (narb_dispatches[128 +: 32]),
    .cnt_prefetch_deadline_hits_o (narb_pf_deadline_hits),
    .cnt_prefetch_budget_skips_o  (narb_pf_budget_skips),
    .cnt_decode_budget_skips_o    (narb_dec_budget_skips),
    .cnt_starvation_escapes_o     (narb_escapes),
    .cnt_prefill_demotions_o      (narb_pw_demotions),
    .cnt_evict_demotions_o        (narb_ev_demotions),
    .cnt_cpl_errors_o             (narb_cpl_errors),
    .cnt_coalesced_o              (narb_coalesced),
    .cnt_hist_o                   (narb_hist),
    .cnt_hist_fine_o              (narb_hist_fine),
    .sts_outstanding_o            (narb_outstanding),
    .sts_outstanding_nd_o         (narb_outstanding_nd),
    .sts_q_count_o                (narb_q_count),
    .sts_dec_used_o               (narb_dec_used),
    .sts_pf_used_o                (narb_pf_used),
    .cnt_ctrl_updates_o           (narb_ctrl_updates),
    .cnt_ctrl_boosts_o            (narb_ctrl_boosts),
    .cnt_ctrl_relaxes_o           (narb_ctrl_relaxes),
    .cnt_ctrl_insufficient_o      (narb_ctrl_insufficient),
    .sts_eff_decode_budget_o      (narb_eff_dec),
    .sts_eff_prefetch_budget_o    (narb_eff_pf),
    .sts_p99_bucket_o             (narb_p99_bucket),
    .sts_p99_fine_o               (narb_p99_fine_b),
    .cnt_write_turns_o            (narb_write_turns),
    .cnt_pace_holds_o             (narb_pace_holds),
    .cnt_cap_holds_o              (narb_cap_holds),
    .cnt_sess_demotions_o         (narb_sess_demotions),
    .sts_sess_tokens_o            (narb_sess_tokens),
    .cnt_model_demotions_o        (narb_model_demotions),
    .sts_model_tokens_o           (narb_model_tokens)
  );
  assign narb_p99_fine = 32'(narb_p99_fine_b);
  assign narb_status = {narb_eff_pf, narb_eff_dec, narb_p99_bucket, 3'b0, 9'(narb_outstanding)};

  // The executor has one op in flight and knows which it is; the I/O unit keeps what it
  // needs of a dispatch (its tag), the rest is for observers.
  logic unused_io;
  assign unused_io = ^{arb_disp_class, arb_disp_session, arb_disp_model,
                       narb_outstanding_nd, narb_q_count, narb_dec_used, narb_pf_used,
                       narb_mode[31:2], narb_decode_budget[31:8], narb_prefetch_budget[31:8],
                       narb_tag_reserve[31:SlotW+1], narb_wrr_weights[31:16],
                       narb_ctrl_mode[31:2], narb_ctrl_min_samples[31:16],
                       narb_ctrl_max_decode_budget[31:8], narb_nd_cap[31:SlotW+1],
                       narb_sess_burst[31:8], narb_model_burst[31:8], narb_coalesce[15:4],
                       arb_disp_ntags[7:2]};

  kvcpu_axi_arb u_arb (
    .clk_i,
    .rst_ni,
    .s_arvalid_i (a_arvalid),
    .s_arready_o (a_arready),
    .s_araddr_i  (a_araddr),
    .s_arlen_i   (a_arlen),
    .s_arsize_i  (a_arsize),
    .s_arburst_i (a_arburst),
    .s_rvalid_o  (a_rvalid),
    .s_rready_i  (a_rready),
    .s_rdata_o   (a_rdata),
    .s_rresp_o   (a_rresp),
    .s_rlast_o   (a_rlast),
    .s_awvalid_i (a_awvalid),
    .s_awready_o (a_awready),
    .s_awaddr_i  (a_awaddr),
    .s_awlen_i   (a_awlen),
    .s_awsize_i  (a_awsize),
    .s_awburst_i (a_awburst),
    .s_wvalid_i  (a_wvalid),
    .s_wready_o  (a_wready),
    .s_wdata_i   (a_wdata),
    .s_wstrb_i   (a_wstrb),
    .s_wlast_i   (a_wlast),
    .s_bvalid_o  (a_bvalid),
    .s_bready_i  (a_bready),
    .s_bresp_o   (a_bresp),
    .m_arvalid_o (m_axi_arvalid_o),
    .m_arready_i (m_axi_arready_i),
    .m_araddr_o  (m_axi_araddr_o),
    .m_arlen_o   (m_axi_arlen_o),
    .m_arsize_o  (m_axi_arsize_o),
    .m_arburst_o (m_axi_arburst_o),
    .m_rvalid_i  (m_axi_rvalid_i),
    .m_rready_o  (m_axi_rready_o),
    .m_rdata_i   (m_axi_rdata_i),
    .m_rresp_i   (m_axi_rresp_i),
    .m_rlast_i   (m_axi_rlast_i),
    .m_awvalid_o (m_axi_awvalid_o),
    .m_awready_i (m_axi_awready_i),
    .m_awaddr_o  (m_axi_awaddr_o),
    .m_awlen_o   (m_axi_awlen_o),
    .m_awsize_o  (m_axi_awsize_o),
    .m_awburst_o (m_axi_awburst_o),
    .m_wvalid_o  (m_axi_wvalid_o),
    .m_wready_i  (m_axi_wready_i),
    .m_wdata_o   (m_axi_wdata_o),
    .m_wstrb_o   (m_axi_wstrb_o),
    .m_wlast_o   (m_axi_wlast_o),
    .m_bvalid_i  (m_axi_bvalid_i),
    .m_bready_o  (m_axi_bready_o),
    .m_bresp_i   (m_axi_bresp_i)
  );

  // ---- MSI-X and coalescing; per-queue status and counters
  kvcpu_msix #(.NumVec(NQ)) u_msix (
    .clk_i,
    .rst_ni,
    .cqe_valid_i   (hif_cqe_valid),
    .cqe_vec_i     (hif_cqe_vec),
    .q_enable_i    (q_en_q),
    .coal_i        (q_coal),
    .tbl_addr_lo_i (msix_addr_lo),
    .tbl_addr_hi_i (msix_addr_hi),
    .tbl_data_i    (msix_data),
    .tbl_ctrl_i    (msix_ctrl),
    .pba_o         (msix_pba),
    .irq_count_o   (q_irq_count),
    .msix_valid_o,
    .msix_ready_i,
    .msix_addr_o,
    .msix_data_o,
    .busy_o        (msix_busy)
  );

  for (genvar g = 0; g < NQ; g++) begin : gen_qstat
    logic [31:0] cpl_count_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        cpl_count_q <= '0;
      end else if (!q_en_q[g]) begin
        cpl_count_q <= '0;
      end else if (hif_cqe_valid && hif_cqe_vec == QW'(g)) begin
        cpl_count_q <= cpl_count_q + 32'd1;
      end
    end
    assign q_cpl_count[g*32 +: 32] = cpl_count_q;
    assign q_status[g*32 +: 32]    = {4'h0, hif_cq_tail[g*QDepthLog2Max +: QDepthLog2Max],
                                      4'h0, hif_sq_head[g*QDepthLog2Max +: QDepthLog2Max]};
  end

  assign busy_o = hif_busy || ex_busy || msix_busy || io_busy;

  // ---- errors: sticky bits, and the offset of the first error since all-clear
  localparam int unsigned ES_DECERR = kvcpu_reg_pkg::ERR_STATUS_DECERR_LSB;
  localparam int unsigned ES_UNALIGNED = kvcpu_reg_pkg::ERR_STATUS_UNALIGNED_LSB;
  localparam int unsigned ES_PARTIAL = kvcpu_reg_pkg::ERR_STATUS_PARTIAL_LSB;
  localparam int unsigned ES_RO_WRITE = kvcpu_reg_pkg::ERR_STATUS_RO_WRITE_LSB;
  localparam int unsigned ES_STEP_BACKWARDS = kvcpu_reg_pkg::ERR_STATUS_STEP_BACKWARDS_LSB;
  localparam int unsigned ES_STEP_ZERO = kvcpu_reg_pkg::ERR_STATUS_STEP_ZERO_LSB;
  localparam int unsigned ES_BAD_DOORBELL = kvcpu_reg_pkg::ERR_STATUS_BAD_DOORBELL_LSB;
  localparam int unsigned ES_QCFG = kvcpu_reg_pkg::ERR_STATUS_QCFG_LSB;
  localparam int unsigned ES_HOST_RD = kvcpu_reg_pkg::ERR_STATUS_HOST_RD_LSB;
  localparam int unsigned ES_HOST_WR = kvcpu_reg_pkg::ERR_STATUS_HOST_WR_LSB;

  always_comb begin
    err_status_set                    = 32'h0;
    err_status_set[ES_DECERR]         = acc_decerr;
    err_status_set[ES_UNALIGNED]      = acc_unaligned;
    err_status_set[ES_PARTIAL]        = acc_partial;
    err_status_set[ES_RO_WRITE]       = acc_ro_write;
    err_status_set[ES_STEP_BACKWARDS] = step_backwards;
    err_status_set[ES_STEP_ZERO]      = step_zero;
    err_status_set[ES_BAD_DOORBELL]   = bad_db;
    err_status_set[ES_QCFG]           = qcfg_err;
    err_status_set[ES_HOST_RD]        = hif_err_rd || ex_err_rd;
    err_status_set[ES_HOST_WR]        = hif_err_wr || ex_err_wr;
  end

  // ERR_ADDR: the offset of the first error since ERR_STATUS was last all-clear. A read and
  // a write can complete in the same cycle; the write's error counts first. A refused write
  // (step, queue configuration, doorbell) was accepted on the bus, so any bus error beside
  // it is the read's; otherwise acc_addr already prefers the write's bus error. Host-memory
  // errors have no BAR offset: alone, they record 0xFFFFFFFF. A W1C clear in the same cycle
  // counts as having happened before the new error (hardware set wins over the clear).
  logic [31:0]   err_addr_d;
  logic [31:0]   err_clr;
  logic          wr_refused, bus_err;
  assign wr_refused = step_backwards || step_zero || qcfg_err || bad_db;
  assign bus_err    = acc_decerr || acc_unaligned || acc_partial || acc_ro_write;
  assign err_addr_d = wr_refused ? {{(32 - AW) {1'b0}}, reg_waddr}
                    : bus_err    ? {{(32 - AW) {1'b0}}, acc_addr}
                    : 32'hFFFF_FFFF;
  assign err_clr = (reg_we && reg_waddr == kvcpu_reg_pkg::ADDR_ERR_STATUS && reg_wresp == 2'b00)
                 ? reg_wdata : 32'h0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      err_addr_q <= '0;
    end else if ((err_status_q & ~err_clr) == 32'h0 && err_status_set != 32'h0) begin
      err_addr_q <= err_addr_d;
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
  assign unused_ok = ^{scratch_q, control_q[31:1], hif_db_ready};
  // Register bits above each HEPC field (the register block masks them to 0 anyway).
  logic unused_hepc;
  assign unused_hepc = ^{hepc_mode[31:1], hepc_w_r[31:8], hepc_w_f[31:8], hepc_w_s[31:8],
                         hepc_w_d[31:8], hepc_window[31:16], hepc_evict_t[31:16],
                         hepc_prefetch_t[31:16], hepc_max_evict_plans[31:16],
                         hepc_max_prefetch_plans[31:16], hepc_evict_tier[31:2]};

  `KV_ASSERT(StepWritesExclusive_A, $onehot0({step_lo_we, step_hi_we, step_inc_we}))
  `KV_ASSERT(OneDoorbell_A, $onehot0({sq_db_we, cq_db_we}))
  `KV_ASSERT(DoorbellTaken_A, db_valid |-> hif_db_ready)
  `KV_ASSERT(ExStepNotWithMmio_A, ex_step_valid && ex_step_ready |-> !step_hi_we && !step_inc_we)
  `KV_ASSERT(SeqOneOwner_A, dir_rsp_valid && !sq_own_q |-> dir_rsp_op != kvcpu_rtbd_pkg::OP_STEP_ADVANCE)
  `KV_ASSERT(SeqOwnStep_A, dir_rsp_valid && sq_own_q |-> dir_rsp_op == kvcpu_rtbd_pkg::OP_STEP_ADVANCE)
  `KV_ASSERT(PlanCountRange_A, plan_cnt_q <= PlanDepth[$clog2(PlanDepth):0])
  `KV_ASSERT(ErrAddrHeld_A, (err_status_q & ~err_clr) != 32'h0 |=> $stable(err_addr_q))

endmodule
