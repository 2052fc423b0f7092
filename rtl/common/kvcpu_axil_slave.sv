// AXI4-Lite slave front end: turns AXI4-Lite channel handshakes into single-cycle
// register-port accesses.
//
// - AW and W are accepted independently (either may come first) and held until both are
//   present and the B channel is free; then the write is performed in one cycle and its
//   response is held on B until bready.
// - AR is accepted when the R channel is free; the read is performed in the accept
//   cycle and its data/response held on R until rready.
// - One write and one read may be outstanding at a time; they proceed independently.
// - valid outputs are registered and never depend combinationally on ready inputs.
`include "kvcpu_assert.svh"

module kvcpu_axil_slave #(
  parameter int unsigned AddrWidth = 16
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // AXI4-Lite slave
  input  logic                 awvalid_i,
  output logic                 awready_o,
  input  logic [AddrWidth-1:0] awaddr_i,
  input  logic                 wvalid_i,
  output logic                 wready_o,
  input  logic [31:0]          wdata_i,
  input  logic [3:0]           wstrb_i,
  output logic                 bvalid_o,
  input  logic                 bready_i,
  output logic [1:0]           bresp_o,
  input  logic                 arvalid_i,
  output logic                 arready_o,
  input  logic [AddrWidth-1:0] araddr_i,
  output logic                 rvalid_o,
  input  logic                 rready_i,
  output logic [31:0]          rdata_o,
  output logic [1:0]           rresp_o,
  // register port
  output logic                 reg_we_o,
  output logic [AddrWidth-1:0] reg_waddr_o,
  output logic [31:0]          reg_wdata_o,
  output logic [3:0]           reg_wstrb_o,
  input  logic [1:0]           reg_wresp_i,
  output logic                 reg_re_o,
  output logic [AddrWidth-1:0] reg_raddr_o,
  input  logic [31:0]          reg_rdata_i,
  input  logic [1:0]           reg_rresp_i
);

  if (AddrWidth < 3 || AddrWidth > 32) begin : gen_bad_param
    $error("kvcpu_axil_slave: AddrWidth must be within 3..32");
  end

  // ---- write path
  logic                 aw_full_q, w_full_q, b_valid_q;
  logic [AddrWidth-1:0] aw_addr_q;
  logic [31:0]          w_data_q;
  logic [3:0]           w_strb_q;
  logic [1:0]           b_resp_q;
  logic                 do_write;

  assign awready_o = !aw_full_q;
  assign wready_o  = !w_full_q;
  assign do_write  = aw_full_q && w_full_q && !b_valid_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      aw_full_q <= 1'b0;
      w_full_q  <= 1'b0;
      b_valid_q <= 1'b0;
      aw_addr_q <= '0;
      w_data_q  <= '0;
      w_strb_q  <= '0;
      b_resp_q  <= 2'b00;
    end else begin
      if (awvalid_i && awready_o) begin
        aw_full_q <= 1'b1;
        aw_addr_q <= awaddr_i;
      end
      if (wvalid_i && wready_o) begin
        w_full_q <= 1'b1;
        w_data_q <= wdata_i;
        w_strb_q <= wstrb_i;
      end
      if (do_write) begin
        aw_full_q <= 1'b0;
        w_full_q  <= 1'b0;
        b_valid_q <= 1'b1;
        b_resp_q  <= reg_wresp_i;
      end else if (b_valid_q && bready_i) begin
        b_valid_q <= 1'b0;
      end
    end
  end

  assign reg_we_o    = do_write;
  assign reg_waddr_o = aw_addr_q;
  assign reg_wdata_o = w_data_q;
  assign reg_wstrb_o = w_strb_q;
  assign bvalid_o    = b_valid_q;
  assign bresp_o     = b_resp_q;

  // ---- read path
  logic        r_valid_q;
  logic [31:0] r_data_q;
  logic [1:0]  r_resp_q;
  logic        do_read;

  assign arready_o = !r_valid_q;
  assign do_read   = arvalid_i && arready_o;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      r_valid_q <= 1'b0;
      r_data_q  <= '0;
      r_resp_q  <= 2'b00;
    end else if (do_read) begin
      r_valid_q <= 1'b1;
      r_data_q  <= reg_rdata_i;
      r_resp_q  <= reg_rresp_i;
    end else if (r_valid_q && rready_i) begin
      r_valid_q <= 1'b0;
    end
  end

  assign reg_re_o    = do_read;
  assign reg_raddr_o = araddr_i;
  assign rvalid_o    = r_valid_q;
  assign rdata_o     = r_data_q;
  assign rresp_o     = r_resp_q;

  // ---- handshake rules (AXI4 A3.2.1): a valid output holds, with its payload, until ready.
  `KV_ASSERT(BValidHold_A, bvalid_o && !bready_i |=> bvalid_o && $stable(bresp_o))
  `KV_ASSERT(RValidHold_A, rvalid_o && !rready_i |=> rvalid_o && $stable(rdata_o) && $stable(rresp_o))
  `KV_ASSERT(BRespLegal_A, bvalid_o |-> bresp_o != 2'b01)
  `KV_ASSERT(RRespLegal_A, rvalid_o |-> rresp_o != 2'b01)
  `KV_ASSERT(NoWriteWhileB_A, reg_we_o |-> !bvalid_o)
  `KV_ASSERT_KNOWN(BValidKnown_A, bvalid_o)
  `KV_ASSERT_KNOWN(RValidKnown_A, rvalid_o)

endmodule
