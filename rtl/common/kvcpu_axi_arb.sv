// Two AXI4 masters onto one slave port (64-bit addresses, no IDs).
//
// Read and write channels are arbitrated independently. A master wins a channel with its
// address valid (master 0 first when both ask) and keeps it until its bursts are finished:
// for reads the last R beat; for writes the B of every burst it started, where it may have
// two write bursts outstanding (in order, same master). So R/B need no ID to find their
// master: one read burst and at most two write bursts of one master are outstanding.
// A losing master's address channel sees ready low; nothing is dropped.
`include "kvcpu_assert.svh"

module kvcpu_axi_arb #(
  parameter int unsigned DataWidth = 64
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  // masters (index 0 and 1), flat: master m at [m*W +: W]
  input  logic [1:0]             s_arvalid_i,
  output logic [1:0]             s_arready_o,
  input  logic [2*64-1:0]        s_araddr_i,
  input  logic [2*8-1:0]         s_arlen_i,
  input  logic [2*3-1:0]         s_arsize_i,
  input  logic [2*2-1:0]         s_arburst_i,
  output logic [1:0]             s_rvalid_o,
  input  logic [1:0]             s_rready_i,
  output logic [DataWidth-1:0]   s_rdata_o,
  output logic [1:0]             s_rresp_o,
  output logic                   s_rlast_o,
  input  logic [1:0]             s_awvalid_i,
  output logic [1:0]             s_awready_o,
  input  logic [2*64-1:0]        s_awaddr_i,
  input  logic [2*8-1:0]         s_awlen_i,
  input  logic [2*3-1:0]         s_awsize_i,
  input  logic [2*2-1:0]         s_awburst_i,
  input  logic [1:0]             s_wvalid_i,
  output logic [1:0]             s_wready_o,
  input  logic [2*DataWidth-1:0] s_wdata_i,
  input  logic [2*DataWidth/8-1:0] s_wstrb_i,
  input  logic [1:0]             s_wlast_i,
  output logic [1:0]             s_bvalid_o,
  input  logic [1:0]             s_bready_i,
  output logic [1:0]             s_bresp_o,
  // slave port
  output logic                   m_arvalid_o,
  input  logic                   m_arready_i,
  output logic [63:0]            m_araddr_o,
  output logic [7:0]             m_arlen_o,
  output logic [2:0]             m_arsize_o,
  output logic [1:0]             m_arburst_o,
  input  logic                   m_rvalid_i,
  output logic                   m_rready_o,
  input  logic [DataWidth-1:0]   m_rdata_i,
  input  logic [1:0]             m_rresp_i,
  input  logic                   m_rlast_i,
  output logic                   m_awvalid_o,
  input  logic                   m_awready_i,
  output logic [63:0]            m_awaddr_o,
  output logic [7:0]             m_awlen_o,
  output logic [2:0]             m_awsize_o,
  output logic [1:0]             m_awburst_o,
  output logic                   m_wvalid_o,
  input  logic                   m_wready_i,
  output logic [DataWidth-1:0]   m_wdata_o,
  output logic [DataWidth/8-1:0] m_wstrb_o,
  output logic                   m_wlast_o,
  input  logic                   m_bvalid_i,
  output logic                   m_bready_o,
  input  logic [1:0]             m_bresp_i
);

  localparam int unsigned SW = DataWidth / 8;

  // ---- read channel: idle -> address phase (grant held) -> data phase -> idle
  logic rd_busy_q, rd_data_q, rd_sel_q, rd_sel;
  assign rd_sel = rd_busy_q ? rd_sel_q : !s_arvalid_i[0];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_busy_q <= 1'b0;
      rd_data_q <= 1'b0;
      rd_sel_q  <= 1'b0;
    end else if (!rd_busy_q) begin
      if (|s_arvalid_i) begin
        rd_busy_q <= 1'b1;
        rd_sel_q  <= rd_sel;
        rd_data_q <= m_arready_i;  // the address may be taken in the first cycle
      end
    end else if (!rd_data_q) begin
      if (m_arready_i) begin
        rd_data_q <= 1'b1;
      end
    end else if (m_rvalid_i && m_rready_o && m_rlast_i) begin
      rd_busy_q <= 1'b0;
      rd_data_q <= 1'b0;
    end
  end

  logic rd_addr_phase;
  assign rd_addr_phase = !rd_busy_q ? (|s_arvalid_i) : !rd_data_q;
  assign m_arvalid_o   = rd_addr_phase && s_arvalid_i[rd_sel];
  assign m_araddr_o    = s_araddr_i[rd_sel*64 +: 64];
  assign m_arlen_o     = s_arlen_i[rd_sel*8 +: 8];
  assign m_arsize_o    = s_arsize_i[rd_sel*3 +: 3];
  assign m_arburst_o   = s_arburst_i[rd_sel*2 +: 2];
  assign s_arready_o   = (rd_addr_phase && m_arready_i) ? (2'b01 << rd_sel) : 2'b00;
  assign s_rvalid_o    = (rd_busy_q && rd_data_q && m_rvalid_i) ? (2'b01 << rd_sel_q) : 2'b00;
  assign m_rready_o    = rd_busy_q && rd_data_q && s_rready_i[rd_sel_q];
  assign s_rdata_o     = m_rdata_i;
  assign s_rresp_o     = m_rresp_i;
  assign s_rlast_o     = m_rlast_i;

  // ---- write channel: a master wins with its AW and keeps the grant until every burst it
  // started has its B. While it holds the grant it may start a second burst (at most two
  // outstanding: the hif posts a CQE right behind its provenance record); W beats follow
  // the AW order, and each burst's beats go out only after its own AW.
  logic       wr_busy_q, wr_sel_q, wr_sel;
  logic [1:0] wr_aw_q;   // bursts whose AW was accepted and whose last W beat was not
  logic [1:0] wr_b_q;    // bursts whose AW was accepted and whose B was not
  logic       aw_fire, w_last_fire, b_fire;
  assign wr_sel = wr_busy_q ? wr_sel_q : !s_awvalid_i[0];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_busy_q <= 1'b0;
      wr_sel_q  <= 1'b0;
      wr_aw_q   <= '0;
      wr_b_q    <= '0;
    end else begin
      wr_aw_q <= wr_aw_q + {1'b0, aw_fire} - {1'b0, w_last_fire};
      wr_b_q  <= wr_b_q + {1'b0, aw_fire} - {1'b0, b_fire};
      if (!wr_busy_q) begin
        if (|s_awvalid_i) begin
          wr_busy_q <= 1'b1;
          wr_sel_q  <= wr_sel;
        end
      end else if (b_fire && wr_b_q == 2'd1 && !aw_fire) begin
        wr_busy_q <= 1'b0;  // the last outstanding B: the grant is free again
      end
    end
  end

  logic wr_addr_phase;
  // a new burst: from idle, or a second one of the granted master (at most two outstanding)
  assign wr_addr_phase = !wr_busy_q ? (|s_awvalid_i) : (wr_b_q < 2'd2);
  assign m_awvalid_o   = wr_addr_phase && s_awvalid_i[wr_sel];
  assign m_awaddr_o    = s_awaddr_i[wr_sel*64 +: 64];
  assign m_awlen_o     = s_awlen_i[wr_sel*8 +: 8];
  assign m_awsize_o    = s_awsize_i[wr_sel*3 +: 3];
  assign m_awburst_o   = s_awburst_i[wr_sel*2 +: 2];
  assign s_awready_o   = (wr_addr_phase && m_awready_i) ? (2'b01 << wr_sel) : 2'b00;
  assign aw_fire       = m_awvalid_o && m_awready_i;
  // W beats of the granted master only, and only for a burst whose address went out
  assign m_wvalid_o    = wr_busy_q && (wr_aw_q != '0) && s_wvalid_i[wr_sel_q];
  assign m_wdata_o     = s_wdata_i[wr_sel_q*DataWidth +: DataWidth];
  assign m_wstrb_o     = s_wstrb_i[wr_sel_q*SW +: SW];
  assign m_wlast_o     = s_wlast_i[wr_sel_q];
  assign s_wready_o    = (wr_busy_q && (wr_aw_q != '0) && m_wready_i) ? (2'b01 << wr_sel_q) : 2'b00;
  assign w_last_fire   = m_wvalid_o && m_wready_i && m_wlast_o;
  assign s_bvalid_o    = (wr_busy_q && (wr_b_q != '0) && m_bvalid_i) ? (2'b01 << wr_sel_q) : 2'b00;
  assign m_bready_o    = wr_busy_q && (wr_b_q != '0) && s_bready_i[wr_sel_q];
  assign s_bresp_o     = m_bresp_i;
  assign b_fire        = m_bvalid_i && m_bready_o;

  // the grant does not move while an address is offered
  `KV_ASSERT(ArGrantHeld_A, m_arvalid_o && !m_arready_i |=> m_arvalid_o && $stable(m_araddr_o))
  `KV_ASSERT(AwGrantHeld_A, m_awvalid_o && !m_awready_i |=> m_awvalid_o && $stable(m_awaddr_o))
  `KV_ASSERT(RFromSlaveOnlyInDataPhase_A, m_rvalid_i |-> rd_busy_q && rd_data_q)
  `KV_ASSERT(BFromSlaveOnlyAfterAw_A, m_bvalid_i |-> wr_busy_q && (wr_b_q != '0))
  `KV_ASSERT(TwoWritesAtMost_A, wr_b_q <= 2'd2 && wr_aw_q <= wr_b_q)

endmodule
