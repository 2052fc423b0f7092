// kvcpu_narb: the NVMe command arbiter (docs/narb.md is the specification).
//
// One request stream in, five class queues (DECODE, PREFETCH, PREFILL, EVICT, NORMAL), one
// registered dispatch stream out carrying the NVMe slot (CID) it was given, a completion
// input that frees the slot. mode_i picks FIFO, round robin, NVMe WRR with urgent class, or
// the Kairo policy (budgets, deadlines, write anti-starvation). A share of the slots is held
// for decode reads in every mode (cfg_tag_reserve_i). Two adjacent mergeable requests at the
// head of a class queue may leave as one command (coalescing, cfg_merge_*). A decision is taken only in a cycle
// whose output register is empty and uses the state at the start of that cycle.
`include "kvcpu_assert.svh"

module kvcpu_narb #(
  parameter int unsigned QDepth   = 4,   // entries per class queue
  parameter int unsigned NumSlots = 16,  // NVMe command slots (CIDs 0..NumSlots-1)
  parameter int unsigned TimeW    = 32,  // time width (µs)
  parameter int unsigned CntW     = 32,  // counter width
  localparam int unsigned SlotW   = $clog2(NumSlots),
  localparam int unsigned QCntW   = $clog2(QDepth + 1)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic [1:0]           mode_i,
  input  logic [TimeW-1:0]     now_us_i,
  // requests
  input  logic                 req_valid_i,
  output logic                 req_ready_o,
  input  logic [2:0]           req_class_i,
  input  logic [15:0]          req_session_i,
  input  logic [7:0]           req_model_i,
  input  logic [7:0]           req_opcode_i,
  input  logic [63:0]          req_lba_i,
  input  logic [15:0]          req_nblocks_i,
  input  logic [15:0]          req_tag_i,
  input  logic                 req_merge_i,            // may be coalesced with a neighbour
  // dispatches
  output logic                 disp_valid_o,
  input  logic                 disp_ready_i,
  output logic [SlotW-1:0]     disp_slot_o,
  output logic [2:0]           disp_class_o,
  output logic [15:0]          disp_session_o,
  output logic [7:0]           disp_model_o,
  output logic [7:0]           disp_opcode_o,
  output logic [63:0]          disp_lba_o,
  output logic [15:0]          disp_nblocks_o,
  output logic [15:0]          disp_tag_o,
  output logic [7:0]           disp_ntags_o,           // requests in the command: 1 or 2
  output logic [15:0]          disp_tag2_o,            // the second one's tag (ntags 2)
  // completions
  input  logic                 cpl_valid_i,
  input  logic [SlotW-1:0]     cpl_slot_i,
  input  logic [15:0]          cpl_status_i,
  // tunables
  input  logic [7:0]           cfg_decode_budget_i,
  input  logic [7:0]           cfg_prefetch_budget_i,
  input  logic [TimeW-1:0]     cfg_prefetch_deadline_us_i,
  input  logic [TimeW-1:0]     cfg_write_deadline_us_i,
  input  logic [TimeW-1:0]     cfg_evict_deadline_us_i,
  input  logic [TimeW-1:0]     cfg_normal_deadline_us_i,
  input  logic [SlotW:0]       cfg_tag_reserve_i,
  input  logic [15:0]          cfg_wrr_weights_i,
  input  logic [1:0]           cfg_ctrl_mode_i,        // 0 off, 1 observe, 2/3 adaptive
  input  logic [TimeW-1:0]     cfg_target_p99_us_i,
  input  logic [TimeW-1:0]     cfg_ctrl_window_us_i,
  input  logic [15:0]          cfg_ctrl_min_samples_i,
  input  logic [7:0]           cfg_ctrl_max_decode_budget_i,
  input  logic [SlotW:0]       cfg_nd_cap_i,           // KAIRO: non-decode cap (0 none)
  input  logic [TimeW-1:0]     cfg_write_gap_us_i,     // KAIRO: write pacing (0 none)
  input  logic [7:0]           cfg_sess_burst_i,       // KAIRO: session fairness (0 off)
  input  logic [TimeW-1:0]     cfg_sess_refill_us_i,
  input  logic [7:0]           cfg_model_burst_i,      // KAIRO: model fairness (0 off)
  input  logic [TimeW-1:0]     cfg_model_refill_us_i,
  input  logic [3:0]           cfg_merge_classes_i,    // coalescing in classes 1..4 (bit c-1)
  input  logic [15:0]          cfg_merge_max_blocks_i, // largest coalesced command (blocks)
  // counters and status
  output logic [CntW-1:0]      cnt_disp_decode_o,
  output logic [CntW-1:0]      cnt_disp_prefetch_o,
  output logic [CntW-1:0]      cnt_disp_prefill_o,
  output logic [CntW-1:0]      cnt_disp_evict_o,
  output logic [CntW-1:0]      cnt_disp_normal_o,
  output logic [CntW-1:0]      cnt_prefetch_deadline_hits_o,
  output logic [CntW-1:0]      cnt_prefetch_budget_skips_o,
  output logic [CntW-1:0]      cnt_decode_budget_skips_o,
  output logic [CntW-1:0]      cnt_starvation_escapes_o,
  output logic [CntW-1:0]      cnt_prefill_demotions_o,
  output logic [CntW-1:0]      cnt_evict_demotions_o,
  output logic [CntW-1:0]      cnt_cpl_errors_o,
  output logic [CntW-1:0]      cnt_coalesced_o,  // requests that rode in another's command
  output logic [10*CntW-1:0]   cnt_hist_o,     // bucket b at [b*CntW +: CntW]
  output logic [32*CntW-1:0]   cnt_hist_fine_o,  // fine bucket f at [f*CntW +: CntW]
  output logic [SlotW:0]       sts_outstanding_o,
  output logic [SlotW:0]       sts_outstanding_nd_o,
  output logic [5*QCntW-1:0]   sts_q_count_o,  // class c at [c*QCntW +: QCntW]
  output logic [7:0]           sts_dec_used_o,
  output logic [7:0]           sts_pf_used_o,
  output logic [CntW-1:0]      cnt_ctrl_updates_o,
  output logic [CntW-1:0]      cnt_ctrl_boosts_o,
  output logic [CntW-1:0]      cnt_ctrl_relaxes_o,
  output logic [CntW-1:0]      cnt_ctrl_insufficient_o,
  output logic [7:0]           sts_eff_decode_budget_o,
  output logic [7:0]           sts_eff_prefetch_budget_o,
  output logic [3:0]           sts_p99_bucket_o,  // Kairo bucket of the last judged p99
  output logic [4:0]           sts_p99_fine_o,    // its fine bucket
  output logic [CntW-1:0]      cnt_write_turns_o,
  output logic [CntW-1:0]      cnt_pace_holds_o,
  output logic [CntW-1:0]      cnt_cap_holds_o,
  output logic [CntW-1:0]      cnt_sess_demotions_o,
  output logic [4*8-1:0]       sts_sess_tokens_o,  // session bucket b at [b*8 +: 8]
  output logic [CntW-1:0]      cnt_model_demotions_o,
  output logic [4*8-1:0]       sts_model_tokens_o  // model bucket b at [b*8 +: 8]
);
  localparam int unsigned NCls  = 5;
  localparam int unsigned QPtrW = (QDepth > 1) ? $clog2(QDepth) : 1;
  localparam int unsigned SeqW  = $clog2(NCls * QDepth) + 1;
  localparam int unsigned EnqLo = 128;
  localparam int unsigned SeqLo = EnqLo + TimeW;
  localparam int unsigned AdjB  = SeqLo + SeqW;  // continues the entry ahead of it (coalescing)
  localparam int unsigned EW    = AdjB + 1;      // one queue entry
  localparam int unsigned CDec = 0, CPf = 1, CPw = 2, CEv = 3, CNo = 4;
  localparam logic [1:0] ModeFifo = 2'd0, ModeRr = 2'd1, ModeWrr = 2'd2;

  // Rules of the KAIRO table (docs/narb.md).
  typedef enum logic [3:0] {
    RuleNone = 4'd0, RuleAgedPw = 4'd1, RuleAgedPf = 4'd2, RuleAgedNo = 4'd3, RuleAgedEv = 4'd4,
    RuleDec = 4'd5, RulePf = 4'd6, RulePw = 4'd7, RuleNo = 4'd8, RuleEv = 4'd9,
    RuleDecOver = 4'd10, RulePfOver = 4'd11, RuleWt = 4'd12
  } rule_e;

  if (QDepth < 2) begin : g_bad_qdepth
    $error("kvcpu_narb: QDepth must be at least 2");
  end
  if (NumSlots < 2 || NumSlots > 256) begin : g_bad_slots
    $error("kvcpu_narb: NumSlots must be 2..256");
  end
  if (TimeW < 4 || TimeW > 64) begin : g_bad_time
    $error("kvcpu_narb: TimeW must be 4..64");
  end

  // ---------------------------------------------------------------- class queues
  logic [EW-1:0]    q_mem [NCls*QDepth];
  logic [QPtrW-1:0] q_head_q [NCls];
  logic [QPtrW-1:0] q_tail_q [NCls];
  logic [QCntW-1:0] q_cnt_q [NCls];
  logic [SeqW-1:0]  seq_q;

  logic [2:0] req_cls, req_qcls;
  logic       req_fire;
  assign req_cls     = (req_class_i > 3'd4) ? 3'd4 : req_class_i;

  // Session and model fairness (KAIRO): two banks of decode token buckets, bank 0 by
  // session (req_session_i % 4, on with cfg_sess_burst_i != 0), bank 1 by model
  // (req_model_i % 4, on with cfg_model_burst_i != 0). A DECODE request whose bucket is empty
  // in a bank that is on is demoted to the NORMAL queue when accepted; otherwise it takes a
  // token from the bucket of each bank that is on. Every refill interval of a bank each of its
  // buckets gains a token, up to its burst. One generate loop serves both banks.
  localparam int unsigned NBank = 2, BktN = 4;
  logic [NBank-1:0]       bank_on, bank_zero, bank_dem;
  logic [NBank*8-1:0]     bank_burst;
  logic [NBank*TimeW-1:0] bank_refill_us;
  logic [NBank*2-1:0]     bank_idx;
  logic [NBank*4*8-1:0]   bank_tokens;
  logic [NBank*CntW-1:0]  bank_dem_cnt;
  logic                   req_demote, req_take, sess_on, req_tok_zero, model_on, req_mtok_zero;
  assign bank_on        = {(mode_i == 2'd3) && (cfg_model_burst_i != 8'd0),
                           (mode_i == 2'd3) && (cfg_sess_burst_i != 8'd0)};
  assign bank_burst     = {cfg_model_burst_i, cfg_sess_burst_i};
  assign bank_refill_us = {cfg_model_refill_us_i, cfg_sess_refill_us_i};
  assign bank_idx       = {req_model_i[1:0], req_session_i[1:0]};
  assign bank_dem       = bank_on & bank_zero;
  assign req_demote     = (req_cls == 3'd0) && (bank_dem != '0);
  assign req_take       = req_fire && (req_cls == 3'd0) && !req_demote;
  assign req_qcls       = req_demote ? 3'd4 : req_cls;
  assign req_ready_o    = q_cnt_q[req_qcls] != QCntW'(QDepth);
  assign req_fire       = req_valid_i && req_ready_o;
  assign sess_on        = bank_on[0];
  assign req_tok_zero   = bank_zero[0];
  assign model_on       = bank_on[1];
  assign req_mtok_zero  = bank_zero[1];

  for (genvar k = 0; k < NBank; k++) begin : g_bank
    logic [7:0]       tok_q [BktN];
    logic [TimeW-1:0] refill_last_q;
    logic [CntW-1:0]  dem_q;
    logic [7:0]       burst;
    logic [1:0]       idx;
    logic             refill_due;
    assign burst      = bank_burst[k*8 +: 8];
    assign idx        = bank_idx[k*2 +: 2];
    assign refill_due = (now_us_i - refill_last_q) >= bank_refill_us[k*TimeW +: TimeW];
    assign bank_zero[k] = tok_q[idx] == 8'd0;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        refill_last_q <= '0;
        dem_q         <= '0;
        for (int b = 0; b < BktN; b++) begin
          tok_q[b] <= '0;
        end
      end else begin
        // counted against each bank whose bucket was empty
        if (req_fire && (req_cls == 3'd0) && bank_dem[k]) begin
          dem_q <= dem_q + 1'b1;
        end
        if (!bank_on[k]) begin
          refill_last_q <= now_us_i;
          for (int b = 0; b < BktN; b++) begin
            tok_q[b] <= '0;
          end
        end else begin
          for (int b = 0; b < BktN; b++) begin
            logic [7:0] t;
            t = tok_q[b];
            if (req_take && idx == 2'(b)) begin
              t = t - 8'd1;
            end
            if (refill_due) begin
              t = (t >= burst) ? burst : t + 8'd1;
            end
            tok_q[b] <= t;
          end
          if (refill_due) begin
            refill_last_q <= now_us_i;
          end
        end
      end
    end
    always_comb begin
      for (int b = 0; b < BktN; b++) begin
        bank_tokens[(k*BktN + b)*8 +: 8] = tok_q[b];
      end
    end
    assign bank_dem_cnt[k*CntW +: CntW] = dem_q;
  end

  assign cnt_sess_demotions_o  = bank_dem_cnt[0 +: CntW];
  assign cnt_model_demotions_o = bank_dem_cnt[CntW +: CntW];
  assign sts_sess_tokens_o     = bank_tokens[0 +: 32];
  assign sts_model_tokens_o    = bank_tokens[32 +: 32];

  // Coalescing, half one (docs/narb.md "Coalescing"): a request *continues* the entry ahead
  // of it in its queue when both were presented with req_merge_i, they carry the same opcode
  // and it starts where that one ends. Judged at acceptance against the request accepted last
  // into the same queue (which is the entry ahead of it for as long as that one is queued)
  // and kept as one bit of the entry, so the decision reads one bit of the second entry
  // instead of its opcode and LBA.
  logic [63:0] last_end_q [NCls];
  logic [7:0]  last_opc_q [NCls];
  logic        last_mrg_q [NCls];
  logic        req_adj;
  assign req_adj = req_merge_i && last_mrg_q[req_qcls] && (last_opc_q[req_qcls] == req_opcode_i) &&
                   (last_end_q[req_qcls] == req_lba_i);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int c = 0; c < NCls; c++) begin
        last_end_q[c] <= '0;
        last_opc_q[c] <= '0;
        last_mrg_q[c] <= 1'b0;
      end
    end else if (req_fire) begin
      last_end_q[req_qcls] <= req_lba_i + 64'(req_nblocks_i);
      last_opc_q[req_qcls] <= req_opcode_i;
      last_mrg_q[req_qcls] <= req_merge_i;
    end
  end

  logic [EW-1:0] req_entry;
  assign req_entry = {req_adj, seq_q, now_us_i, req_tag_i, req_nblocks_i, req_lba_i, req_opcode_i,
                      req_model_i, req_session_i};

  function automatic logic [QPtrW-1:0] ptr_inc(input logic [QPtrW-1:0] p);
    ptr_inc = (p == QPtrW'(QDepth - 1)) ? '0 : p + 1'b1;
  endfunction

  // ---------------------------------------------------------------- slots
  logic [NumSlots-1:0] busy_q;
  logic [NumSlots-1:0] slot_dec_q;
  logic [TimeW-1:0]    slot_enq_q [NumSlots];
  logic [SlotW:0]      out_cnt_q, nd_cnt_q;

  // ---------------------------------------------------------------- decision inputs
  logic [EW-1:0]    head [NCls];
  logic [NCls-1:0]  nonempty, el_res, el, aged;
  logic [TimeW-1:0] deadline [NCls];
  logic [SlotW:0]   reserve_eff, nd_limit;
  logic             free_any, nd_ok;

  assign deadline[CDec] = '0;
  assign deadline[CPf]  = cfg_prefetch_deadline_us_i;
  assign deadline[CPw]  = cfg_write_deadline_us_i;
  assign deadline[CEv]  = cfg_evict_deadline_us_i;
  assign deadline[CNo]  = cfg_normal_deadline_us_i;

  // At most NumSlots - 1 held back: every class keeps one slot.
  assign reserve_eff = (cfg_tag_reserve_i > (SlotW+1)'(NumSlots - 1)) ? (SlotW+1)'(NumSlots - 1)
                                                                       : cfg_tag_reserve_i;
  assign nd_limit    = (SlotW+1)'(NumSlots) - reserve_eff;
  assign free_any    = out_cnt_q != (SlotW+1)'(NumSlots);
  assign nd_ok       = nd_cnt_q < nd_limit;

  // KAIRO decode protection (docs/narb.md): while decode is active (queued or in flight) at
  // most cfg_nd_cap_i non-decode commands outstanding, and PREFILL / NORMAL / EVICT paced to
  // one dispatch per cfg_write_gap_us_i, that turn taken before PREFETCH (rule 12).
  logic             kairo, dec_active, cap_ok, paced, wturn, cap_held, low_el, pace_held;
  logic [TimeW-1:0] last_low_q;
  assign kairo      = mode_i == 2'd3;
  assign dec_active = (q_cnt_q[CDec] != '0) || (out_cnt_q != nd_cnt_q);
  assign cap_ok     = !dec_active || (cfg_nd_cap_i == '0) || (nd_cnt_q < cfg_nd_cap_i);
  assign paced      = kairo && dec_active && (cfg_write_gap_us_i != '0);
  assign wturn      = (now_us_i - last_low_q) >= cfg_write_gap_us_i;
  assign cap_held   = kairo && !cap_ok && (el_res[NCls-1:1] != '0);
  assign low_el     = el[CPw] || el[CEv] || el[CNo];
  assign pace_held  = paced && !wturn && low_el;

  always_comb begin
    for (int c = 0; c < NCls; c++) begin
      head[c]     = q_mem[c*QDepth + 32'(q_head_q[c])];
      nonempty[c] = q_cnt_q[c] != '0;
      el_res[c]   = nonempty[c] && free_any && (c == CDec || nd_ok);
      el[c]       = el_res[c] && (c == CDec || !kairo || cap_ok);
      aged[c]     = (c != CDec) && el[c] &&
                    ((now_us_i - head[c][EnqLo +: TimeW]) >= deadline[c]);
    end
  end

  // ---------------------------------------------------------------- arbitration state
  logic       disp_valid_q;
  logic [2:0] rr_last_q, rr_last_d;
  logic [2:0] wrr_cur_q, wrr_cur_d;
  logic [3:0] wrr_used_q, wrr_used_d;
  logic [7:0] dec_used_q, dec_used_d, pf_used_q, pf_used_d;

  logic [NCls-1:0] gnt;
  logic [2:0]      gnt_cls;
  rule_e           rule;
  logic            dec_fire;

  function automatic logic older(input logic [SeqW-1:0] a, input logic [SeqW-1:0] b);
    logic [SeqW-1:0] d;
    d = a - b;
    older = d[SeqW-1];
  endfunction

  function automatic logic [7:0] sat_inc(input logic [7:0] v);
    sat_inc = (v == 8'hFF) ? v : v + 8'd1;
  endfunction

  // Budgets in force: the controller's when it is adaptive, the tunables otherwise.
  logic       adaptive;
  logic [7:0] eff_dec_q, eff_pf_q, dec_budget, pf_budget;
  assign adaptive   = cfg_ctrl_mode_i[1];
  assign dec_budget = adaptive ? eff_dec_q : cfg_decode_budget_i;
  assign pf_budget  = adaptive ? eff_pf_q : cfg_prefetch_budget_i;

  logic [3:0] wrr_w_cur;
  assign wrr_w_cur = cfg_wrr_weights_i[4*(32'(wrr_cur_q) - 1) +: 4];

  always_comb begin
    logic [2:0] best;
    logic       found;
    logic [2:0] c3;
    logic [3:0] c4;
    logic       dec_ok, pf_ok;
    gnt        = '0;
    rule       = RuleNone;
    rr_last_d  = rr_last_q;
    wrr_cur_d  = wrr_cur_q;
    wrr_used_d = wrr_used_q;
    dec_used_d = dec_used_q;
    pf_used_d  = pf_used_q;
    best       = 3'd0;
    found      = 1'b0;
    c3         = 3'd0;
    c4         = 4'd0;
    dec_ok     = dec_used_q < dec_budget;
    pf_ok      = pf_used_q < pf_budget;
    unique case (mode_i)
      ModeFifo: begin
        for (int c = 0; c < NCls; c++) begin
          if (nonempty[c] && (!found || older(head[c][SeqLo +: SeqW], head[best][SeqLo +: SeqW]))) begin
            best  = 3'(c);
            found = 1'b1;
          end
        end
        if (found && el[best]) begin
          gnt[best] = 1'b1;
        end
      end
      ModeRr: begin
        for (int k = 5; k >= 1; k--) begin
          c4 = {1'b0, rr_last_q} + 4'(k);
          c3 = (c4 >= 4'd5) ? 3'(c4 - 4'd5) : 3'(c4);
          if (el[c3]) begin
            best  = c3;
            found = 1'b1;
          end
        end
        if (found) begin
          gnt[best] = 1'b1;
          rr_last_d = best;
        end
      end
      ModeWrr: begin
        if (el[CDec]) begin
          gnt[CDec] = 1'b1;
        end else if (el[wrr_cur_q] && wrr_used_q < wrr_w_cur) begin
          gnt[wrr_cur_q] = 1'b1;
          wrr_used_d     = wrr_used_q + 4'd1;
        end else begin
          for (int k = 4; k >= 1; k--) begin
            c4 = {1'b0, wrr_cur_q} + 4'(k);
            c3 = (c4 > 4'd4) ? 3'(c4 - 4'd4) : 3'(c4);
            if (el[c3]) begin
              best  = c3;
              found = 1'b1;
            end
          end
          if (found) begin
            gnt[best]  = 1'b1;
            wrr_cur_d  = best;
            wrr_used_d = 4'd1;
          end
        end
      end
      default: begin  // KAIRO
        if (aged[CPw]) begin
          gnt[CPw] = 1'b1; rule = RuleAgedPw;
        end else if (aged[CPf]) begin
          gnt[CPf] = 1'b1; rule = RuleAgedPf;
        end else if (aged[CNo]) begin
          gnt[CNo] = 1'b1; rule = RuleAgedNo;
        end else if (aged[CEv]) begin
          gnt[CEv] = 1'b1; rule = RuleAgedEv;
        end else if (el[CDec] && dec_ok) begin
          gnt[CDec] = 1'b1; rule = RuleDec;
        end else if (paced && wturn && el[CPw]) begin
          gnt[CPw] = 1'b1; rule = RuleWt;
        end else if (paced && wturn && el[CNo]) begin
          gnt[CNo] = 1'b1; rule = RuleWt;
        end else if (paced && wturn && el[CEv]) begin
          gnt[CEv] = 1'b1; rule = RuleWt;
        end else if (el[CPf] && pf_ok) begin
          gnt[CPf] = 1'b1; rule = RulePf;
        end else if (!paced && el[CPw]) begin
          gnt[CPw] = 1'b1; rule = RulePw;
        end else if (!paced && el[CNo]) begin
          gnt[CNo] = 1'b1; rule = RuleNo;
        end else if (!paced && el[CEv]) begin
          gnt[CEv] = 1'b1; rule = RuleEv;
        end else if (el[CDec]) begin
          gnt[CDec] = 1'b1; rule = RuleDecOver;
        end else if (el[CPf]) begin
          gnt[CPf] = 1'b1; rule = RulePfOver;
        end
        if (gnt[CDec]) begin
          dec_used_d = sat_inc(dec_used_q);
          pf_used_d  = 8'd0;
        end else if (gnt[CPf]) begin
          pf_used_d  = sat_inc(pf_used_q);
          dec_used_d = 8'd0;
        end else if (gnt != '0) begin
          dec_used_d = 8'd0;
          pf_used_d  = 8'd0;
        end
      end
    endcase
  end

  always_comb begin
    gnt_cls = 3'd0;
    for (int c = 0; c < NCls; c++) begin
      if (gnt[c]) begin
        gnt_cls = 3'(c);
      end
    end
  end
  assign dec_fire = !disp_valid_q && (gnt != '0);
  // Coalescing, half two: the granted class c (not DECODE) sends its head and the entry
  // behind it as one command when coalescing is on for c, the second continues the head
  // (its adjacency bit) and together they are at most cfg_merge_max_blocks_i blocks. Judged
  // for the granted class only: one read of a second entry, one adder.
  logic [NCls-1:0]  mrg_en;
  logic [127:0]     g_head;
  logic [EW-1:0]    g_nxt;
  logic             gnt_mrg;
  assign mrg_en  = {cfg_merge_classes_i, 1'b0};
  assign g_head  = head[gnt_cls][127:0];
  assign g_nxt   = q_mem[32'(gnt_cls)*QDepth + 32'(ptr_inc(q_head_q[gnt_cls]))];
  assign gnt_mrg = (gnt != '0) && mrg_en[gnt_cls] && (q_cnt_q[gnt_cls] >= QCntW'(2)) &&
                   g_nxt[AdjB] && ((17'(g_head[111:96]) + 17'(g_nxt[111:96])) <= 17'(cfg_merge_max_blocks_i));
  // The command: the head's fields, with both requests' blocks when coalesced.
  logic [127:0] disp_req_d;
  always_comb begin
    disp_req_d = g_head[127:0];
    if (gnt_mrg) begin
      disp_req_d[111:96] = g_head[111:96] + g_nxt[111:96];
    end
  end

  // Kairo counter events of this decision.
  logic hi_waiting, ev_escape, ev_wturn, ev_pace_hold, ev_cap_hold, ev_pf_hit, ev_dec_skip, ev_pf_skip, ev_pw_dem, ev_ev_dem;
  logic rule_mid, rule_low;
  assign hi_waiting  = el[CDec] || el[CPf];
  assign rule_low    = (rule == RulePw) || (rule == RuleNo) || (rule == RuleEv) ||
                       (rule == RuleWt);
  assign rule_mid    = rule_low || (rule == RulePf);
  assign ev_escape   = kairo && hi_waiting &&
                       ((rule == RuleAgedPw) || (rule == RuleAgedNo) || (rule == RuleAgedEv));
  assign ev_pf_hit   = kairo && (rule == RuleAgedPf);
  assign ev_dec_skip = kairo && el[CDec] && !(dec_used_q < dec_budget) && rule_mid;
  assign ev_pf_skip  = kairo && el[CPf] && !aged[CPf] && !(pf_used_q < pf_budget) &&
                       rule_low;
  assign ev_pw_dem   = kairo && (gnt[CDec] || gnt[CPf]) && nonempty[CPw];
  assign ev_ev_dem   = kairo && (gnt[CDec] || gnt[CPf]) && nonempty[CEv];
  assign ev_wturn    = kairo && (rule == RuleWt);
  assign ev_pace_hold = (gnt[CDec] || gnt[CPf]) && pace_held;
  assign ev_cap_hold = gnt[CDec] && cap_held;

  // Lowest free slot.
  logic [SlotW-1:0] free_slot;
  always_comb begin
    free_slot = '0;
    for (int s = NumSlots - 1; s >= 0; s--) begin
      if (!busy_q[s]) begin
        free_slot = SlotW'(s);
      end
    end
  end

  // Completion.
  logic cpl_hit;
  logic [TimeW-1:0] cpl_lat;
  logic [3:0]       cpl_bucket;
  logic [4:0]       cpl_fine;
  assign cpl_hit = cpl_valid_i && ({1'b0, cpl_slot_i} < (SlotW+1)'(NumSlots)) && busy_q[cpl_slot_i];
  assign cpl_lat = now_us_i - slot_enq_q[cpl_slot_i];

  // Fine decode-latency buckets (docs/narb.md "Fine buckets"): 32 buckets, upper edges
  // fine_edge(0..30) µs, the last "> 20000"; every Kairo edge is a fine edge, so the Kairo
  // bucket is a constant function of the fine one (kairo_of). 31 compares against constants.
  function automatic logic [15:0] fine_edge(input logic [4:0] f);
    unique case (f)
      5'd0:  fine_edge = 16'd5;     5'd1:  fine_edge = 16'd10;    5'd2:  fine_edge = 16'd15;
      5'd3:  fine_edge = 16'd20;    5'd4:  fine_edge = 16'd25;    5'd5:  fine_edge = 16'd30;
      5'd6:  fine_edge = 16'd40;    5'd7:  fine_edge = 16'd50;    5'd8:  fine_edge = 16'd60;
      5'd9:  fine_edge = 16'd80;    5'd10: fine_edge = 16'd100;   5'd11: fine_edge = 16'd125;
      5'd12: fine_edge = 16'd150;   5'd13: fine_edge = 16'd200;   5'd14: fine_edge = 16'd250;
      5'd15: fine_edge = 16'd300;   5'd16: fine_edge = 16'd400;   5'd17: fine_edge = 16'd500;
      5'd18: fine_edge = 16'd600;   5'd19: fine_edge = 16'd800;   5'd20: fine_edge = 16'd1000;
      5'd21: fine_edge = 16'd1250;  5'd22: fine_edge = 16'd1500;  5'd23: fine_edge = 16'd2000;
      5'd24: fine_edge = 16'd2500;  5'd25: fine_edge = 16'd3000;  5'd26: fine_edge = 16'd4000;
      5'd27: fine_edge = 16'd5000;  5'd28: fine_edge = 16'd7500;  5'd29: fine_edge = 16'd10000;
      default: fine_edge = 16'd20000;  // 30 (31 has no edge)
    endcase
  endfunction

  // The Kairo bucket (0..9) that holds fine bucket f.
  function automatic logic [3:0] kairo_of(input logic [4:0] f);
    kairo_of = 4'd9;
    if (f <= 5'd27) kairo_of = 4'd8;
    if (f <= 5'd23) kairo_of = 4'd7;
    if (f <= 5'd20) kairo_of = 4'd6;
    if (f <= 5'd17) kairo_of = 4'd5;
    if (f <= 5'd14) kairo_of = 4'd4;
    if (f <= 5'd10) kairo_of = 4'd3;
    if (f <= 5'd7)  kairo_of = 4'd2;
    if (f <= 5'd4)  kairo_of = 4'd1;
    if (f <= 5'd1)  kairo_of = 4'd0;
  endfunction

  always_comb begin
    logic [63:0] lat64;
    lat64 = 64'(cpl_lat);
    cpl_fine = 5'd31;
    for (int f = 30; f >= 0; f--) begin
      if (lat64 <= 64'(fine_edge(5'(f)))) begin
        cpl_fine = 5'(f);
      end
    end
  end
  assign cpl_bucket = kairo_of(cpl_fine);

  // ---------------------------------------------------------------- adaptive controller
  // Once per window (cfg_ctrl_window_us_i): with at least cfg_ctrl_min_samples_i decode
  // completions in the window, the p99 bucket is the first fine bucket whose cumulative count
  // reaches 99 % of them; adaptive mode boosts (decode +2 up to the cap, prefetch -2 down to
  // 1) when that bucket's upper edge is above the target, else relaxes both by 1 toward the
  // tunables. The window stops counting when its sample count saturates, so its buckets sum
  // to the count and 100 * cum >= 99 * n is cum >= n - floor(n / 100): one constant multiply
  // for floor(n / 100) and 31 16-bit compares, no multiply per bucket.
  localparam int unsigned WinW = 16;
  localparam int unsigned NFine = 32;
  logic [TimeW-1:0] win_start_q;
  logic [WinW-1:0]  win_hist_q [NFine];
  logic [WinW-1:0]  win_n_q;
  logic [3:0]       p99_bucket_q;
  logic [4:0]       p99_fine_q, p99_b;
  logic             ctrl_on, win_end, win_enough, p99_over;
  logic [CntW-1:0]  cnt_upd_q, cnt_boost_q, cnt_relax_q, cnt_insuf_q;
  logic [7:0]       eff_dec_boost, eff_pf_boost, eff_dec_relax, eff_pf_relax;
  assign ctrl_on    = cfg_ctrl_mode_i != 2'd0;
  assign win_end    = ctrl_on && ((now_us_i - win_start_q) >= cfg_ctrl_window_us_i);
  assign win_enough = win_n_q >= cfg_ctrl_min_samples_i;
  always_comb begin
    logic [WinW-1:0] cum;
    logic [WinW-1:0] need;
    logic            hit;
    // floor(n / 100) = (n * 83887) >> 23 for every 16-bit n (checked exhaustively)
    need  = win_n_q - WinW'((40'(win_n_q) * 40'd83887) >> 23);
    cum   = '0;
    hit   = 1'b0;
    p99_b = 5'd31;
    for (int b = 0; b < NFine - 1; b++) begin
      cum = cum + win_hist_q[b];
      if (!hit && cum >= need) begin
        p99_b = 5'(b);
        hit   = 1'b1;
      end
    end
  end
  always_comb begin
    p99_over = (p99_b == 5'd31) || (64'(fine_edge(p99_b)) > 64'(cfg_target_p99_us_i));
  end
  always_comb begin
    logic [8:0] d2;
    d2 = {1'b0, eff_dec_q} + 9'd2;
    if (d2 <= {1'b0, cfg_ctrl_max_decode_budget_i}) begin
      eff_dec_boost = d2[7:0];
    end else begin
      eff_dec_boost = (eff_dec_q > cfg_ctrl_max_decode_budget_i) ? eff_dec_q : cfg_ctrl_max_decode_budget_i;
    end
    eff_pf_boost  = (eff_pf_q >= 8'd3) ? eff_pf_q - 8'd2 : 8'd1;
    eff_dec_relax = (eff_dec_q > cfg_decode_budget_i) ? eff_dec_q - 8'd1 :
                    (eff_dec_q < cfg_decode_budget_i) ? eff_dec_q + 8'd1 : eff_dec_q;
    eff_pf_relax  = (eff_pf_q > cfg_prefetch_budget_i) ? eff_pf_q - 8'd1 :
                    (eff_pf_q < cfg_prefetch_budget_i) ? eff_pf_q + 8'd1 : eff_pf_q;
  end
  logic cpl_dec;
  assign cpl_dec = cpl_hit && slot_dec_q[cpl_slot_i];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      win_start_q  <= '0;
      win_n_q      <= '0;
      p99_bucket_q <= '0;
      p99_fine_q   <= '0;
      eff_dec_q    <= 8'd32;
      eff_pf_q     <= 8'd16;
      cnt_upd_q    <= '0;
      cnt_boost_q  <= '0;
      cnt_relax_q  <= '0;
      cnt_insuf_q  <= '0;
      for (int b = 0; b < NFine; b++) begin
        win_hist_q[b] <= '0;
      end
    end else begin
      if (win_end) begin
        cnt_upd_q <= cnt_upd_q + 1'b1;
        if (win_enough) begin
          p99_fine_q   <= p99_b;
          p99_bucket_q <= kairo_of(p99_b);
          if (adaptive && p99_over) begin
            cnt_boost_q <= cnt_boost_q + 1'b1;
          end else if (adaptive) begin
            cnt_relax_q <= cnt_relax_q + 1'b1;
          end
        end else begin
          cnt_insuf_q <= cnt_insuf_q + 1'b1;
        end
      end
      if (!adaptive) begin
        eff_dec_q <= cfg_decode_budget_i;
        eff_pf_q  <= cfg_prefetch_budget_i;
      end else if (win_end && win_enough) begin
        eff_dec_q <= p99_over ? eff_dec_boost : eff_dec_relax;
        eff_pf_q  <= p99_over ? eff_pf_boost : eff_pf_relax;
      end
      // Window counts: restart at a window end (or while the controller is off), then add
      // this cycle's decode completion unless the sample count is saturated.
      begin
        logic            clr, add;
        logic [WinW-1:0] n;
        clr = win_end || !ctrl_on;
        n   = clr ? '0 : win_n_q;
        add = ctrl_on && cpl_dec && (n != '1);
        for (int b = 0; b < NFine; b++) begin
          logic [WinW-1:0] base;
          base = clr ? '0 : win_hist_q[b];
          if (add && cpl_fine == 5'(b)) begin
            base = base + 1'b1;
          end
          win_hist_q[b] <= base;
        end
        win_n_q <= add ? n + 1'b1 : n;
      end
      if (win_end || !ctrl_on) begin
        win_start_q <= now_us_i;
      end
    end
  end

  assign cnt_ctrl_updates_o        = cnt_upd_q;
  assign cnt_ctrl_boosts_o         = cnt_boost_q;
  assign cnt_ctrl_relaxes_o        = cnt_relax_q;
  assign cnt_ctrl_insufficient_o   = cnt_insuf_q;
  assign sts_eff_decode_budget_o   = eff_dec_q;
  assign sts_eff_prefetch_budget_o = eff_pf_q;
  assign sts_p99_bucket_o          = p99_bucket_q;
  assign sts_p99_fine_o            = p99_fine_q;

  // ---------------------------------------------------------------- registers
  logic [SlotW-1:0] disp_slot_q;
  logic [2:0]       disp_cls_q;
  logic [127:0]     disp_req_q;
  logic             disp_mrg_q;
  logic [15:0]      disp_tag2_q;
  logic [CntW-1:0]  cnt_mrg_q;
  logic [CntW-1:0]  cnt_disp_q [NCls];
  logic [CntW-1:0]  cnt_pf_hit_q, cnt_pf_skip_q, cnt_dec_skip_q, cnt_escape_q;
  logic [CntW-1:0]  cnt_pw_dem_q, cnt_ev_dem_q, cnt_cpl_err_q;
  logic [CntW-1:0]  cnt_wturn_q, cnt_pace_hold_q, cnt_cap_hold_q;
  logic [CntW-1:0]  cnt_hist_q [10];
  logic [CntW-1:0]  cnt_fine_q [NFine];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int c = 0; c < NCls; c++) begin
        q_head_q[c]   <= '0;
        q_tail_q[c]   <= '0;
        q_cnt_q[c]    <= '0;
        cnt_disp_q[c] <= '0;
      end
      seq_q        <= '0;
      busy_q       <= '0;
      slot_dec_q   <= '0;
      out_cnt_q    <= '0;
      nd_cnt_q     <= '0;
      disp_valid_q <= 1'b0;
      disp_slot_q  <= '0;
      disp_cls_q   <= '0;
      disp_req_q   <= '0;
      disp_mrg_q   <= 1'b0;
      disp_tag2_q  <= '0;
      cnt_mrg_q    <= '0;
      rr_last_q    <= 3'd4;
      wrr_cur_q    <= 3'd1;
      wrr_used_q   <= '0;
      dec_used_q   <= '0;
      pf_used_q    <= '0;
      cnt_pf_hit_q   <= '0;
      cnt_pf_skip_q  <= '0;
      cnt_dec_skip_q <= '0;
      cnt_escape_q   <= '0;
      cnt_pw_dem_q   <= '0;
      cnt_ev_dem_q   <= '0;
      cnt_cpl_err_q  <= '0;
      cnt_wturn_q     <= '0;
      cnt_pace_hold_q <= '0;
      cnt_cap_hold_q  <= '0;
      last_low_q      <= '0;
      for (int b = 0; b < 10; b++) begin
        cnt_hist_q[b] <= '0;
      end
      for (int b = 0; b < NFine; b++) begin
        cnt_fine_q[b] <= '0;
      end
    end else begin
      // Queues: push the accepted request, pop the granted head.
      for (int c = 0; c < NCls; c++) begin
        if (req_fire && req_qcls == 3'(c)) begin
          q_tail_q[c] <= ptr_inc(q_tail_q[c]);
        end
        if (dec_fire && gnt[c]) begin
          q_head_q[c] <= gnt_mrg ? ptr_inc(ptr_inc(q_head_q[c])) : ptr_inc(q_head_q[c]);
        end
        q_cnt_q[c] <= q_cnt_q[c] + QCntW'(req_fire && req_qcls == 3'(c))
                      - ((dec_fire && gnt[c]) ? (gnt_mrg ? QCntW'(2) : QCntW'(1)) : QCntW'(0));
      end
      if (req_fire) begin
        seq_q <= seq_q + 1'b1;
      end
      // Slots.
      begin
        logic [SlotW:0] out_n, nd_n;
        out_n = out_cnt_q;
        nd_n  = nd_cnt_q;
        if (cpl_hit) begin
          busy_q[cpl_slot_i] <= 1'b0;
          out_n = out_n - 1'b1;
          if (!slot_dec_q[cpl_slot_i]) begin
            nd_n = nd_n - 1'b1;
          end
        end
        if (dec_fire) begin
          busy_q[free_slot]     <= 1'b1;
          slot_dec_q[free_slot] <= gnt[CDec];
          out_n = out_n + 1'b1;
          if (!gnt[CDec]) begin
            nd_n = nd_n + 1'b1;
          end
        end
        out_cnt_q <= out_n;
        nd_cnt_q  <= nd_n;
      end
      // Output register.
      if (dec_fire) begin
        disp_valid_q <= 1'b1;
        disp_slot_q  <= free_slot;
        disp_cls_q   <= gnt_cls;
        disp_req_q   <= disp_req_d;
        disp_mrg_q   <= gnt_mrg;
        disp_tag2_q  <= g_nxt[127:112];
      end else if (disp_ready_i) begin
        disp_valid_q <= 1'b0;
      end
      // Arbitration state and counters.
      if (dec_fire) begin
        rr_last_q  <= rr_last_d;
        wrr_cur_q  <= wrr_cur_d;
        wrr_used_q <= wrr_used_d;
        dec_used_q <= dec_used_d;
        pf_used_q  <= pf_used_d;
        cnt_disp_q[gnt_cls] <= cnt_disp_q[gnt_cls] + 1'b1;
        if (gnt_mrg)      cnt_mrg_q       <= cnt_mrg_q + 1'b1;
        if (ev_pf_hit)   cnt_pf_hit_q   <= cnt_pf_hit_q + 1'b1;
        if (ev_pf_skip)  cnt_pf_skip_q  <= cnt_pf_skip_q + 1'b1;
        if (ev_dec_skip) cnt_dec_skip_q <= cnt_dec_skip_q + 1'b1;
        if (ev_escape)   cnt_escape_q   <= cnt_escape_q + 1'b1;
        if (ev_pw_dem)   cnt_pw_dem_q   <= cnt_pw_dem_q + 1'b1;
        if (ev_ev_dem)   cnt_ev_dem_q   <= cnt_ev_dem_q + 1'b1;
        if (ev_wturn)     cnt_wturn_q     <= cnt_wturn_q + 1'b1;
        if (ev_pace_hold) cnt_pace_hold_q <= cnt_pace_hold_q + 1'b1;
        if (ev_cap_hold)  cnt_cap_hold_q  <= cnt_cap_hold_q + 1'b1;
        if (gnt[CPw] || gnt[CEv] || gnt[CNo]) begin
          last_low_q <= now_us_i;
        end
      end
      if (cpl_valid_i && (!cpl_hit || cpl_status_i != 16'd0)) begin
        cnt_cpl_err_q <= cnt_cpl_err_q + 1'b1;
      end
      if (cpl_hit && slot_dec_q[cpl_slot_i]) begin
        cnt_hist_q[cpl_bucket] <= cnt_hist_q[cpl_bucket] + 1'b1;
        cnt_fine_q[cpl_fine]   <= cnt_fine_q[cpl_fine] + 1'b1;
      end
    end
  end

  // Payload memories (no reset).
  always_ff @(posedge clk_i) begin
    if (req_fire) begin
      q_mem[32'(req_qcls)*QDepth + 32'(q_tail_q[req_qcls])] <= req_entry;
    end
    if (dec_fire) begin
      slot_enq_q[free_slot] <= head[gnt_cls][EnqLo +: TimeW];
    end
  end

  // ---------------------------------------------------------------- outputs
  assign disp_valid_o   = disp_valid_q;
  assign disp_slot_o    = disp_slot_q;
  assign disp_class_o   = disp_cls_q;
  assign disp_session_o = disp_req_q[15:0];
  assign disp_model_o   = disp_req_q[23:16];
  assign disp_opcode_o  = disp_req_q[31:24];
  assign disp_lba_o     = disp_req_q[95:32];
  assign disp_nblocks_o = disp_req_q[111:96];
  assign disp_tag_o     = disp_req_q[127:112];
  assign disp_ntags_o   = disp_mrg_q ? 8'd2 : 8'd1;
  assign disp_tag2_o    = disp_tag2_q;
  assign cnt_coalesced_o = cnt_mrg_q;

  assign cnt_disp_decode_o            = cnt_disp_q[CDec];
  assign cnt_disp_prefetch_o          = cnt_disp_q[CPf];
  assign cnt_disp_prefill_o           = cnt_disp_q[CPw];
  assign cnt_disp_evict_o             = cnt_disp_q[CEv];
  assign cnt_disp_normal_o            = cnt_disp_q[CNo];
  assign cnt_prefetch_deadline_hits_o = cnt_pf_hit_q;
  assign cnt_prefetch_budget_skips_o  = cnt_pf_skip_q;
  assign cnt_decode_budget_skips_o    = cnt_dec_skip_q;
  assign cnt_starvation_escapes_o     = cnt_escape_q;
  assign cnt_prefill_demotions_o      = cnt_pw_dem_q;
  assign cnt_evict_demotions_o        = cnt_ev_dem_q;
  assign cnt_cpl_errors_o             = cnt_cpl_err_q;
  assign cnt_write_turns_o            = cnt_wturn_q;
  assign cnt_pace_holds_o             = cnt_pace_hold_q;
  assign cnt_cap_holds_o              = cnt_cap_hold_q;
  always_comb begin
    for (int b = 0; b < 10; b++) begin
      cnt_hist_o[b*CntW +: CntW] = cnt_hist_q[b];
    end
    for (int b = 0; b < NFine; b++) begin
      cnt_hist_fine_o[b*CntW +: CntW] = cnt_fine_q[b];
    end
    for (int c = 0; c < NCls; c++) begin
      sts_q_count_o[c*QCntW +: QCntW] = q_cnt_q[c];
    end
  end
  assign sts_outstanding_o    = out_cnt_q;
  assign sts_outstanding_nd_o = nd_cnt_q;
  assign sts_dec_used_o       = dec_used_q;
  assign sts_pf_used_o        = pf_used_q;

  // ---------------------------------------------------------------- assertions
  `KV_ASSERT(GntOneHot0_A, $onehot0(gnt))
  `KV_ASSERT(GntEligible_A, (gnt & ~el) == '0)
  `KV_ASSERT(Reserve_A, nd_cnt_q <= nd_limit || $changed(cfg_tag_reserve_i))
  `KV_ASSERT(NdLeOut_A, nd_cnt_q <= out_cnt_q && out_cnt_q <= (SlotW+1)'(NumSlots))
  `KV_ASSERT(OutCount_A, out_cnt_q == (SlotW+1)'($countones(busy_q)))
  `KV_ASSERT(NdCount_A, nd_cnt_q == (SlotW+1)'($countones(busy_q & ~slot_dec_q)))
  `KV_ASSERT(DispHold_A, disp_valid_o && !disp_ready_i |=> disp_valid_o && $stable(disp_slot_o) &&
                         $stable(disp_class_o) && $stable(disp_req_q) && $stable(disp_mrg_q) &&
                         $stable(disp_tag2_o))
  // (the granted queue's count as a signal: Verilator 5.006 cannot index an array in a property)
  logic [QCntW-1:0] gnt_qcnt;
  assign gnt_qcnt = q_cnt_q[gnt_cls];
  `KV_ASSERT(MergeTwo_A, !(dec_fire && gnt_mrg) || (!gnt[CDec] && gnt_qcnt >= QCntW'(2)))
  `KV_ASSERT(SlotFree_A, dec_fire |-> !busy_q[free_slot])
  `KV_ASSERT(SessDemote_A, !(req_fire && req_qcls == 3'd0) || !sess_on || !req_tok_zero)
  `KV_ASSERT(ModelDemote_A, !(req_fire && req_qcls == 3'd0) || !model_on || !req_mtok_zero)
  `KV_ASSERT(NdCap_A, !(kairo && dec_active && cfg_nd_cap_i != '0 && gnt[NCls-1:1] != '0) ||
                      nd_cnt_q < cfg_nd_cap_i)
  `KV_ASSERT(Paced_A, !(paced && !wturn && (gnt[CPw] || gnt[CEv] || gnt[CNo])) ||
                      rule == RuleAgedPw || rule == RuleAgedNo || rule == RuleAgedEv)
  `KV_ASSERT_KNOWN(DispValidKnown_A, disp_valid_o)
  `KV_ASSERT_KNOWN(ReqReadyKnown_A, req_ready_o)

`ifdef FORMAL
  // Immediate assertions for yosys-smtbmc (tb/narb/formal/): grant one-hot, the granted
  // class eligible and given a free slot, and the tag reservation invariant.
  always_comb begin
    if (rst_ni) begin
      assert($onehot0(gnt));
      assert((gnt & ~el) == '0);
      assert(!dec_fire || !busy_q[free_slot]);
      // Coalescing: never DECODE, never more than the class queue holds.
      assert(!(dec_fire && gnt_mrg) || (!gnt[CDec] && q_cnt_q[gnt_cls] >= QCntW'(2)));
      for (int c = 0; c < NCls; c++) begin
        assert(q_cnt_q[c] <= QCntW'(QDepth));
      end
      assert(nd_cnt_q <= nd_limit);
      // KAIRO decode protection: no non-decode grant at or over the cap while decode is
      // active; no PREFILL / NORMAL / EVICT grant between write turns but by a deadline.
      assert(!(kairo && dec_active && cfg_nd_cap_i != '0 && gnt[NCls-1:1] != '0) ||
             nd_cnt_q < cfg_nd_cap_i);
      assert(!(paced && !wturn && (gnt[CPw] || gnt[CEv] || gnt[CNo])) ||
             rule == RuleAgedPw || rule == RuleAgedNo || rule == RuleAgedEv);
      // Session fairness: a DECODE request enters the DECODE queue only with a token.
      assert(!(req_fire && req_qcls == 3'd0 && sess_on) || !req_tok_zero);
      // Model fairness likewise with the model's bucket.
      assert(!(req_fire && req_qcls == 3'd0 && model_on) || !req_mtok_zero);
      assert(nd_cnt_q <= out_cnt_q);
      assert(out_cnt_q <= (SlotW+1)'(NumSlots));
      // The counts are the population counts of the slot table (strengthens the checks
      // above into one-step consequences, which keeps the solver fast).
      assert(out_cnt_q == (SlotW+1)'($countones(busy_q)));
      assert(nd_cnt_q == (SlotW+1)'($countones(busy_q & ~slot_dec_q)));
    end
  end
`endif
endmodule
