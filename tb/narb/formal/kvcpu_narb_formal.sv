// BMC harness for kvcpu_narb (docs/narb.md): a tiny configuration (QDepth 2, NumSlots 4,
// 4-bit time, 4-bit counters) with every control input free: mode, time, requests of any
// class, dispatch backpressure, completions for any slot (in flight or not), budgets,
// deadlines, WRR weights and the adaptive controller's tunables changing every cycle. The tag reserve is an unknown constant
// (tunables that the invariant depends on change only while idle). The request payload
// (session, LBA, ...) does not reach any decision, so it is tied off to keep the problem
// small. The assertions are the FORMAL block inside kvcpu_narb: grant one-hot, the granted
// class eligible, the slot given free, the tag reservation invariant, and the KAIRO decode
// protection (no non-decode grant at the cap while decode is active, no write grant between
// write turns but by a deadline), and session fairness (a DECODE request enters the DECODE
// queue only with a token of its session bucket), and model fairness (likewise with its
// model bucket); the cap, the write gap, the session and model bursts and refills and the
// request's session and model (2 bits each) are free every cycle. Coalescing: the request's
// merge flag and 2-bit LBA (one block each) and the coalescing tunables are free every cycle,
// so merged dispatches (two pops at once) happen in the runs.
module kvcpu_narb_formal #(
  parameter int unsigned Mode = 4  // 0..3: mode_i pinned to it; 4: mode_i free
) (
  input logic       clk_i,
  input logic       rst_ni,
  input logic [1:0] mode_i,
  input logic [3:0] now_us_i,
  input logic       req_valid_i,
  input logic [2:0] req_class_i,
  input logic       disp_ready_i,
  input logic       cpl_valid_i,
  input logic [1:0] cpl_slot_i,
  input logic       cpl_err_i,
  input logic [7:0] cfg_decode_budget_i,
  input logic [7:0] cfg_prefetch_budget_i,
  input logic [3:0] cfg_prefetch_deadline_us_i,
  input logic [3:0] cfg_write_deadline_us_i,
  input logic [3:0] cfg_evict_deadline_us_i,
  input logic [3:0] cfg_normal_deadline_us_i,
  input logic [15:0] cfg_wrr_weights_i,
  input logic [1:0] cfg_ctrl_mode_i,
  input logic [3:0] cfg_target_p99_us_i,
  input logic [3:0] cfg_ctrl_window_us_i,
  input logic [15:0] cfg_ctrl_min_samples_i,
  input logic [7:0] cfg_ctrl_max_decode_budget_i,
  input logic [2:0] cfg_nd_cap_i,
  input logic [3:0] cfg_write_gap_us_i,
  input logic [7:0] cfg_sess_burst_i,
  input logic [3:0] cfg_sess_refill_us_i,
  input logic [7:0] cfg_model_burst_i,
  input logic [3:0] cfg_model_refill_us_i,
  input logic [1:0] req_session_i,
  input logic [1:0] req_model_i,
  input logic       req_merge_i,
  input logic [1:0] req_lba_i,
  input logic [3:0] cfg_merge_classes_i,
  input logic [1:0] cfg_merge_max_blocks_i
);
  (* anyconst *) logic [2:0] reserve;

  // Reset in the first cycle.
  logic init_q = 1'b1;
  always_ff @(posedge clk_i) init_q <= 1'b0;
  always_comb begin
    if (init_q) begin
      assume(!rst_ni);
    end
  end

  logic        req_ready, disp_valid;
  logic [1:0]  disp_slot;
  logic [2:0]  disp_class;
  logic [15:0] disp_session, disp_nblocks, disp_tag, disp_tag2;
  logic [7:0]  disp_model, disp_opcode, disp_ntags, dec_used, pf_used;
  logic [63:0] disp_lba;
  logic [3:0]  c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
  logic [39:0] hist;
  logic [127:0] hist_fine;
  logic [4:0]  p99_fine;
  logic [2:0]  outstanding, outstanding_nd;
  logic [9:0]  q_count;
  logic [3:0]  c12, c13, c14, c15, c16, c17, c18, c19, p99_bucket;
  logic [31:0] sess_tokens, model_tokens;
  logic [3:0]  c20, c21;
  logic [7:0]  eff_dec, eff_pf;

  kvcpu_narb #(.QDepth(2), .NumSlots(4), .TimeW(4), .CntW(4)) u_narb (
    .clk_i, .rst_ni, .mode_i(Mode < 4 ? 2'(Mode) : mode_i), .now_us_i,
    .req_valid_i, .req_ready_o(req_ready), .req_class_i,
    .req_session_i({14'd0, req_session_i}), .req_model_i({6'd0, req_model_i}), .req_opcode_i(8'd0),
    .req_lba_i({62'd0, req_lba_i}), .req_nblocks_i(16'd1), .req_tag_i(16'd0), .req_merge_i,
    .disp_valid_o(disp_valid), .disp_ready_i, .disp_slot_o(disp_slot), .disp_class_o(disp_class),
    .disp_session_o(disp_session), .disp_model_o(disp_model), .disp_opcode_o(disp_opcode),
    .disp_lba_o(disp_lba), .disp_nblocks_o(disp_nblocks), .disp_tag_o(disp_tag),
    .disp_ntags_o(disp_ntags), .disp_tag2_o(disp_tag2),
    .cpl_valid_i, .cpl_slot_i, .cpl_status_i({15'd0, cpl_err_i}),
    .cfg_decode_budget_i, .cfg_prefetch_budget_i, .cfg_prefetch_deadline_us_i,
    .cfg_write_deadline_us_i, .cfg_evict_deadline_us_i, .cfg_normal_deadline_us_i,
    .cfg_tag_reserve_i(reserve), .cfg_wrr_weights_i,
    .cfg_ctrl_mode_i, .cfg_target_p99_us_i, .cfg_ctrl_window_us_i, .cfg_ctrl_min_samples_i,
    .cfg_ctrl_max_decode_budget_i, .cfg_nd_cap_i, .cfg_write_gap_us_i, .cfg_sess_burst_i,
    .cfg_sess_refill_us_i, .cfg_model_burst_i, .cfg_model_refill_us_i, .cfg_merge_classes_i,
    .cfg_merge_max_blocks_i({14'd0, cfg_merge_max_blocks_i}),
    .cnt_disp_decode_o(c0), .cnt_disp_prefetch_o(c1), .cnt_disp_prefill_o(c2),
    .cnt_disp_evict_o(c3), .cnt_disp_normal_o(c4), .cnt_prefetch_deadline_hits_o(c5),
    .cnt_prefetch_budget_skips_o(c6), .cnt_decode_budget_skips_o(c7),
    .cnt_starvation_escapes_o(c8), .cnt_prefill_demotions_o(c9), .cnt_evict_demotions_o(c10),
    .cnt_cpl_errors_o(c11), .cnt_coalesced_o(c21), .cnt_hist_o(hist), .cnt_hist_fine_o(hist_fine),
    .sts_outstanding_o(outstanding), .sts_outstanding_nd_o(outstanding_nd),
    .sts_q_count_o(q_count), .sts_dec_used_o(dec_used), .sts_pf_used_o(pf_used),
    .cnt_ctrl_updates_o(c12), .cnt_ctrl_boosts_o(c13), .cnt_ctrl_relaxes_o(c14),
    .cnt_ctrl_insufficient_o(c15), .sts_eff_decode_budget_o(eff_dec),
    .sts_eff_prefetch_budget_o(eff_pf), .sts_p99_bucket_o(p99_bucket),
    .sts_p99_fine_o(p99_fine),
    .cnt_write_turns_o(c16), .cnt_pace_holds_o(c17), .cnt_cap_holds_o(c18),
    .cnt_sess_demotions_o(c19), .sts_sess_tokens_o(sess_tokens),
    .cnt_model_demotions_o(c20), .sts_model_tokens_o(model_tokens));

  // Harness-level checks on the ports: a dispatch holds until taken, and the outstanding
  // non-decode count stays within the slots not reserved.
  logic       past_valid_q = 1'b0;
  logic       held_q;
  logic [1:0] held_slot_q;
  logic [2:0] held_class_q;
  always_ff @(posedge clk_i) begin
    past_valid_q <= 1'b1;
    held_q       <= rst_ni && disp_valid && !disp_ready_i;
    held_slot_q  <= disp_slot;
    held_class_q <= disp_class;
  end
  always_comb begin
    if (past_valid_q && rst_ni && held_q) begin
      assert(disp_valid && disp_slot == held_slot_q && disp_class == held_class_q);
    end
    if (rst_ni) begin
      assert(outstanding_nd <= 3'd4 - ((reserve > 3'd3) ? 3'd3 : reserve));
      assert(outstanding_nd <= outstanding && outstanding <= 3'd4);
    end
  end
endmodule
