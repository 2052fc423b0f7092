// MSI-X message generation with per-queue interrupt coalescing (docs/msix.md).
//
// - Per vector v (= CQ v): a pending-CQE count and a timer started by the first CQE of a
//   batch. The vector fires when the count reaches Q_COAL.COUNT (0 and 1: every CQE) or,
//   with Q_COAL.TIME != 0, when TIME cycles have elapsed since that first CQE. A CQE in
//   the firing cycle belongs to the batch that fires. A disabled queue holds count and
//   timer at 0 and ignores CQEs.
// - Firing sets the vector's pending bit (a second fire before the message is offered
//   merges into it). Each cycle the output slot is free, the lowest pending unmasked vector
//   is offered: its table address and data are latched then and held until msix_ready_i.
// - pba_o: pending bits plus the vector of the message on offer, cleared when it is sent.
// - Every output except busy_o is registered; msix_valid_o never depends on msix_ready_i.
`include "kvcpu_assert.svh"

module kvcpu_msix #(
  parameter int unsigned NumVec = 8,
  // derived, not to be overridden
  parameter int unsigned VidW = (NumVec > 1) ? $clog2(NumVec) : 1
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  // one pulse per CQE posted (from hif)
  input  logic                 cqe_valid_i,
  input  logic [VidW-1:0]      cqe_vec_i,
  // per-queue configuration: Q_CTRL.ENABLE and Q_COAL (COUNT [7:0], TIME [31:8])
  input  logic [NumVec-1:0]    q_enable_i,
  input  logic [NumVec*32-1:0] coal_i,
  // MSI-X table, vector v at [v*32 +: 32]; MSIX_CTRL bit 0 = MASK
  input  logic [NumVec*32-1:0] tbl_addr_lo_i,
  input  logic [NumVec*32-1:0] tbl_addr_hi_i,
  input  logic [NumVec*32-1:0] tbl_data_i,
  input  logic [NumVec*32-1:0] tbl_ctrl_i,
  output logic [NumVec-1:0]    pba_o,
  output logic [NumVec*32-1:0] irq_count_o,   // Q_IRQ_COUNT: messages sent per vector
  // one MSI-X message per handshake
  output logic                 msix_valid_o,
  input  logic                 msix_ready_i,
  output logic [63:0]          msix_addr_o,
  output logic [31:0]          msix_data_o,
  // an armed timer, a vector firing, a sendable pending message or a message on offer
  output logic                 busy_o
);

  if (NumVec < 1 || NumVec > 2048) begin : gen_bad_numvec
    $error("kvcpu_msix: NumVec must be within 1..2048 (the MSI-X table size limit)");
  end
  if (VidW != ((NumVec > 1) ? $clog2(NumVec) : 1)) begin : gen_bad_vidw
    $error("kvcpu_msix: VidW is derived from NumVec and must not be overridden");
  end

  localparam int unsigned CntW = 8;   // Q_COAL.COUNT
  localparam int unsigned TmrW = 24;  // Q_COAL.TIME

  // ---- the message on offer (declared first: the vector bank counts its handshakes)
  logic              out_valid_q, out_valid_d;
  logic [VidW-1:0]   out_vec_q, out_vec_d;
  logic [63:0]       out_addr_q, out_addr_d;
  logic [31:0]       out_data_q, out_data_d;
  logic              hs, slot_free;

  assign hs        = out_valid_q && msix_ready_i;
  assign slot_free = !out_valid_q || msix_ready_i;

  // ---- per-vector coalescing
  logic [NumVec-1:0] fire, armed, masked, pend_q, pend_d, cand, sel_oh, offered;
  logic [NumVec-1:0] unused_ctrl;

  for (genvar g = 0; g < NumVec; g++) begin : gen_vec
    logic [CntW-1:0] cnt_q, cnt_d, count_cfg;
    logic [TmrW-1:0] tmr_q, tmr_d, time_cfg;
    logic [CntW:0]   cnt_new;
    logic [31:0]     irq_cnt_q;
    logic            hit, count_fire, time_fire;

    assign count_cfg = coal_i[g*32 +: CntW];
    assign time_cfg  = coal_i[g*32 + CntW +: TmrW];
    assign hit       = cqe_valid_i && (cqe_vec_i == VidW'(g));
    assign cnt_new   = {1'b0, cnt_q} + (CntW + 1)'(hit);
    // COUNT 0 and 1 both fire on every CQE: the count is never 0 after one
    assign count_fire = (cnt_new != '0) && (cnt_new >= {1'b0, count_cfg});
    // the timer holds the cycles elapsed since the batch's first CQE
    assign time_fire  = (cnt_q != '0) && (time_cfg != '0) && (tmr_q >= time_cfg);
    assign fire[g]    = q_enable_i[g] && (count_fire || time_fire);
    assign armed[g]   = q_enable_i[g] && (cnt_q != '0) && (time_cfg != '0);
    assign masked[g]  = tbl_ctrl_i[g*32];
    assign unused_ctrl[g] = ^tbl_ctrl_i[g*32 + 1 +: 31];

    always_comb begin
      cnt_d = cnt_q;
      tmr_d = tmr_q;
      if (!q_enable_i[g] || fire[g]) begin
        cnt_d = '0;
        tmr_d = '0;
      end else begin
        cnt_d = cnt_new[CntW-1:0];  // < COUNT <= 255 when not firing
        if (cnt_q != '0) begin
          tmr_d = (tmr_q == '1) ? tmr_q : tmr_q + 1'b1;  // saturates (TIME = 0: never fires)
        end else if (hit) begin
          tmr_d = TmrW'(1);  // one cycle elapsed at the next edge
        end
      end
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        cnt_q     <= '0;
        tmr_q     <= '0;
        irq_cnt_q <= '0;
      end else begin
        cnt_q <= cnt_d;
        tmr_q <= tmr_d;
        if (hs && (out_vec_q == VidW'(g))) begin
          irq_cnt_q <= irq_cnt_q + 32'd1;
        end
      end
    end

    assign offered[g]              = out_valid_q && (out_vec_q == VidW'(g));
    assign irq_count_o[g*32 +: 32] = irq_cnt_q;
  end

  // ---- lowest pending unmasked vector first
  assign cand   = pend_q & ~masked;
  assign sel_oh = cand & (~cand + 1'b1);
  assign pend_d = fire | (pend_q & ~(slot_free ? sel_oh : '0));

  logic [VidW-1:0] sel_vec;
  logic [63:0]     sel_addr;
  logic [31:0]     sel_data;

  always_comb begin
    sel_vec  = '0;
    sel_addr = '0;
    sel_data = '0;
    for (int unsigned i = 0; i < NumVec; i++) begin
      if (sel_oh[i]) begin
        sel_vec = VidW'(i);
      end
      sel_addr = sel_addr | ({64{sel_oh[i]}} & {tbl_addr_hi_i[i*32 +: 32], tbl_addr_lo_i[i*32 +: 32]});
      sel_data = sel_data | ({32{sel_oh[i]}} & tbl_data_i[i*32 +: 32]);
    end
  end

  always_comb begin
    out_valid_d = out_valid_q;
    out_vec_d   = out_vec_q;
    out_addr_d  = out_addr_q;
    out_data_d  = out_data_q;
    if (slot_free) begin
      out_valid_d = (cand != '0);
      if (cand != '0) begin
        out_vec_d  = sel_vec;
        out_addr_d = sel_addr;
        out_data_d = sel_data;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pend_q      <= '0;
      out_valid_q <= 1'b0;
      out_vec_q   <= '0;
      out_addr_q  <= '0;
      out_data_q  <= '0;
    end else begin
      pend_q      <= pend_d;
      out_valid_q <= out_valid_d;
      out_vec_q   <= out_vec_d;
      out_addr_q  <= out_addr_d;
      out_data_q  <= out_data_d;
    end
  end

  // ---- outputs
  assign msix_valid_o = out_valid_q;
  assign msix_addr_o  = out_addr_q;
  assign msix_data_o  = out_data_q;
  assign pba_o        = pend_q | offered;
  assign busy_o       = (armed != '0) || (fire != '0) || (cand != '0) || out_valid_q;

  // MSIX_CTRL bits [31:1] are reserved.
  logic unused;
  assign unused = ^unused_ctrl;

  // valid and payload hold until the handshake
  `KV_ASSERT(MsixHold_A, msix_valid_o && !msix_ready_i |=> msix_valid_o &&
             $stable(msix_addr_o) && $stable(msix_data_o) && $stable(out_vec_q))
  `KV_ASSERT(SelOneHot_A, $onehot0(sel_oh))
  `KV_ASSERT(OfferUnmasked_A, slot_free && (cand != '0) |-> !masked[sel_vec])
  `KV_ASSERT_KNOWN(MsixValidKnown_A, msix_valid_o)
  `KV_ASSERT_KNOWN(BusyKnown_A, busy_o)

endmodule
