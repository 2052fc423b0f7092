// kvcpu_dir: the block directory (RTBD) with the eviction/prefetch controller (HEPC) in one
// block (docs/rtbd-hepc.md is the spec, docs/hepc.md the page of this RTL; the bit-exact
// reference is sw/model/hepc.h, HepcModel). It owns the step (step_o), keeps the victim
// structures of both modes (seed: 32 class lists + EVICT; hint: EVICT, LRU, STALE and two
// rings of NumBuckets next-use slots) as doubly linked lists in prev/next RAMs, and answers
// the demand victim (OP_VICTIM) and the step's plans without scanning the directory.
//
// One request at a time (req_ready_o is high only in S_IDLE, after the reset sweep):
//   keyed op  accept (row read) -> S_EXEC (op, row write, response) -> [S_UNLINK -> S_LA ->
//             S_PUSH: the list maintenance of the seed and hint structures in parallel]
//             response 2 cycles after acceptance; busy 3 more cycles when lists change.
//   VICTIM    accept -> [S_SCAN x4: seed mode, the class heads' scores on the 8 shared
//             score units] -> S_V1 (list heads, bitmap search) -> S_V2 (ring head RAM) ->
//             S_V3 (entry row) -> response: 4 cycles after acceptance (hint), 8 (seed).
//   STEP_ADVANCE  accept -> expiry (S_X1..S_X3 per passed bucket) -> evict loop (S_V1..S_V3,
//             S_PLAN, S_UNLINK, S_LA per plan) -> prefetch loop (same) -> response.
//             A step below the current one: STEP_BACKWARDS 1 cycle after acceptance.
`include "kvcpu_assert.svh"

module kvcpu_dir #(
  parameter int unsigned SetBits     = 5,     // 1..13: 2^SetBits sets x 8 ways
  parameter int unsigned BucketShift = 4,     // G: steps per next-use bucket = 2^G (0..16)
  parameter int unsigned NumBuckets  = 64     // NB: power of two, 32..1024
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  // requests
  input  logic                   req_valid_i,
  output logic                   req_ready_o,
  input  kvcpu_rtbd_pkg::op_e    req_op_i,
  input  logic [63:0]            req_key_i,
  input  logic [31:0]            req_handle_i,        // SET_TIER
  input  logic [2:0]             req_tier_i,          // INSERT, SET_TIER
  input  logic [63:0]            req_addr_i,          // INSERT, SET_TIER
  input  logic                   req_prefix_i,        // INSERT
  input  logic                   req_dirty_i,         // INSERT
  input  logic                   req_recompute_ok_i,  // INSERT
  input  logic [31:0]            req_lifetime_end_i,  // INSERT
  input  logic [15:0]            req_session_i,       // INSERT
  input  logic [7:0]             req_model_id_i,      // INSERT
  input  logic [2:0]             req_hint_i,          // UPDATE_HINT kind
  input  logic [31:0]            req_target_i,        // UPDATE_HINT target; STEP_ADVANCE step
  output logic [31:0]            step_o,              // the directory step
  // responses: one per accepted request, in order, no backpressure
  output logic                   rsp_valid_o,
  output kvcpu_rtbd_pkg::op_e    rsp_op_o,
  output logic [15:0]            rsp_status_o,
  output logic [31:0]            rsp_handle_o,
  output kvcpu_rtbd_pkg::entry_t rsp_entry_o,
  // plans of a STEP_ADVANCE (valid/ready)
  output logic                   plan_valid_o,
  input  logic                   plan_ready_i,
  output logic [31:0]            plan_o,
  // configuration (HepcConfig), sampled when a request is accepted
  input  logic                   cfg_mode_i,
  input  logic [7:0]             cfg_w_r_i,
  input  logic [7:0]             cfg_w_f_i,
  input  logic [7:0]             cfg_w_s_i,
  input  logic [7:0]             cfg_w_d_i,
  input  logic [15:0]            cfg_window_i,
  input  logic [15:0]            cfg_evict_t_i,
  input  logic [15:0]            cfg_prefetch_t_i,
  input  logic [31:0]            cfg_t0_high_wm_i,
  input  logic [31:0]            cfg_prefetch_window_i,
  input  logic [15:0]            cfg_max_evict_plans_i,
  input  logic [15:0]            cfg_max_prefetch_plans_i,
  input  logic [1:0]             cfg_evict_tier_i,
  input  logic [31:0]            cfg_short_lived_i,
  // counters (HepcCounters) and gauges
  output logic [63:0]            cnt_ops_o,
  output logic [63:0]            cnt_evict_plans_o,
  output logic [63:0]            cnt_prefetch_plans_o,
  output logic [63:0]            cnt_discards_o,
  output logic [63:0]            cnt_expired_buckets_o,
  output logic [63:0]            cnt_victim_queries_o,
  output logic [63:0]            cnt_dir_full_o,
  output logic [63:0]            cnt_hint_stale_o,
  output logic [31:0]            t0_blocks_o,
  output logic [31:0]            t0_moving_o
);

  if (SetBits < 1 || SetBits > kvcpu_rtbd_pkg::MAX_SET_BITS) begin : gen_bad_set_bits
    $error("kvcpu_dir: SetBits must be within 1..13");
  end
  if (BucketShift > 16) begin : gen_bad_shift
    $error("kvcpu_dir: BucketShift must be within 0..16");
  end
  if (NumBuckets < 32 || NumBuckets > 1024 || (NumBuckets & (NumBuckets - 1)) != 0)
  begin : gen_bad_buckets
    $error("kvcpu_dir: NumBuckets must be a power of two within 32..1024");
  end

  localparam int unsigned Ways    = kvcpu_rtbd_pkg::WAYS;
  localparam int unsigned Sets    = 1 << SetBits;
  localparam int unsigned HW      = SetBits + 3;        // handle width
  localparam int unsigned Cap     = 1 << HW;
  localparam int unsigned PW      = HW + 1;             // list pointer: bit HW = null
  localparam int unsigned EntW    = kvcpu_rtbd_pkg::STORED_W;
  localparam int unsigned RowW    = Ways * EntW;
  localparam int unsigned NbW     = $clog2(NumBuckets);
  localparam int unsigned NWords  = NumBuckets / 32;    // bitmap words (1..32)
  localparam logic [PW-1:0] NIL   = {1'b1, {HW{1'b0}}};
  localparam logic [32:0] NbMinus1 = 33'(NumBuckets - 1);

  // hint list kinds (the ring slot index r goes with kinds 3 and 4)
  localparam logic [2:0] HK_EVICT = 3'd0;
  localparam logic [2:0] HK_LRU   = 3'd1;
  localparam logic [2:0] HK_STALE = 3'd2;
  localparam logic [2:0] HK_T0    = 3'd3;
  localparam logic [2:0] HK_LO    = 3'd4;
  localparam logic [2:0] HK_NONE  = 3'd7;
  localparam logic [5:0] SEED_EVICT = 6'd32;
  localparam logic [6:0] SEED_NONE  = 7'h7F;

  typedef enum logic [3:0] {
    S_IDLE, S_EXEC, S_UNLINK, S_LA, S_PUSH, S_SCAN, S_V1, S_V2, S_V3, S_PLAN, S_X1, S_X2,
    S_X3, S_STEP_RSP
  } state_e;

  typedef enum logic [1:0] {
    C_OP, C_VICTIM, C_EVICT, C_PREFETCH
  } ctx_e;

  // ---------------------------------------------------------------- helpers
  function automatic logic [SetBits-1:0] key_set(input logic [63:0] key);
    logic [31:0] a, b, m;
    logic [SetBits-1:0] s;
    a = key[31:0];
    b = key[63:32];
    m = a ^ (a >> 9) ^ (a >> 14) ^ {b[15:0], b[31:16]} ^ {b[28:0], b[31:29]} ^
        {b[20:0], b[31:21]};
    s = '0;
    for (int j = 0; j * SetBits < 32; j++) begin
      s = s ^ SetBits'(m >> (j * SetBits));
    end
    key_set = s;
  endfunction

  // Seed score P = min(0xFFFF, w_r*R + w_f*F + w_s*S + w_d*255*D), R/S from the age.
  function automatic logic [15:0] score(input logic [31:0] la, input logic [3:0] f,
                                        input logic d, input logic [31:0] step,
                                        input logic [7:0] w_r, input logic [7:0] w_f,
                                        input logic [7:0] w_s, input logic [7:0] w_d,
                                        input logic [15:0] window);
    logic [31:0] age;
    logic [7:0]  r;
    logic [15:0] s;
    logic [15:0] pr;   // w_r * R
    logic [23:0] ps;   // w_s * S
    logic [11:0] pf;   // w_f * F
    logic [15:0] pd;   // w_d * 255 * D
    logic [24:0] p;
    age = step - la;
    r   = (age >= 32'd255) ? 8'd0 : 8'(32'd255 - age);
    s   = (age >= {16'd0, window}) ? 16'd0 : 16'({16'd0, window} - age);
    // Shift-and-add products at their exact widths (a plain `*` gives Yosys' resource-sharing
    // pass a SAT problem per multiplier pair). F and D are constants for the 32 class heads:
    // conditions on their bits fold away there, leaving at most four adds of w_f.
    pr = '0;
    ps = '0;
    pf = '0;
    for (int i = 0; i < 8; i++) begin
      if (w_r[i]) pr = pr + (16'(r) << i);
      if (w_s[i]) ps = ps + (24'(s) << i);
    end
    for (int i = 0; i < 4; i++) begin
      if (f[i]) pf = pf + (12'(w_f) << i);
    end
    pd = d ? ({w_d, 8'd0} - 16'(w_d)) : 16'd0;
    p  = 25'(pr) + 25'(ps) + 25'(pf) + 25'(pd);
    score = (p > 25'h00FFFF) ? 16'hFFFF : p[15:0];
  endfunction

  // Seed list of an entry: {none, id}; id 0..31 = class 16*D + F, 32 = EVICT.
  // (Entry fields by position: Yosys 0.23 takes no struct arguments.)
  function automatic logic [6:0] seed_mem(input logic [EntW-1:0] e);
    if (!e[0] || e[300] || e[66:65] != 2'd0 || e[232:231] == kvcpu_rtbd_pkg::HINT_HOT ||
        (e[233] && e[241:234] != 8'd0)) begin
      seed_mem = SEED_NONE;
    end else if (e[232:231] == kvcpu_rtbd_pkg::HINT_EVICT) begin
      seed_mem = {1'b0, SEED_EVICT};
    end else begin
      seed_mem = {2'b00, e[233], e[134:131]};
    end
  endfunction

  // Hint list of an entry at bucket cur: {kind, ring slot} (slot 0 unless a ring kind).
  function automatic logic [NbW+2:0] hint_mem(input logic [EntW-1:0] e,
                                              input logic [31:0] cur);
    logic live;
    live = e[232:231] == kvcpu_rtbd_pkg::HINT_PREFETCH && e[230:199] >= cur;
    hint_mem = {HK_NONE, {NbW{1'b0}}};
    if (e[0] && !e[300]) begin
      if (e[66:65] == 2'd0) begin
        if (e[232:231] == kvcpu_rtbd_pkg::HINT_HOT || (e[233] && e[241:234] != 8'd0)) begin
          hint_mem = {HK_NONE, {NbW{1'b0}}};
        end else if (e[232:231] == kvcpu_rtbd_pkg::HINT_EVICT) begin
          hint_mem = {HK_EVICT, {NbW{1'b0}}};
        end else if (live) begin
          hint_mem = {HK_T0, e[199 +: NbW]};
        end else begin
          hint_mem = {HK_LRU, {NbW{1'b0}}};
        end
      end else if (e[232:231] == kvcpu_rtbd_pkg::HINT_PREFETCH) begin
        hint_mem = live ? {HK_LO, e[199 +: NbW]} : {HK_STALE, {NbW{1'b0}}};
      end
    end
  endfunction

  function automatic logic [31:0] below(input logic [5:0] n);  // bits < n
    for (int i = 0; i < 32; i++) begin
      below[i] = 6'(i) < n;
    end
  endfunction

  // Selects written as compare loops rather than dynamic part-selects (each of which is a
  // shifter cell that Yosys' resource sharing would analyse).
  function automatic logic [PW-1:0] sel33(input logic [33*PW-1:0] v, input logic [5:0] i);
    sel33 = NIL;
    for (int k = 0; k < 33; k++) begin
      if (i == 6'(k)) sel33 = v[k*PW +: PW];
    end
  endfunction

  function automatic logic [PW-1:0] sel3(input logic [3*PW-1:0] v, input logic [1:0] i);
    sel3 = NIL;
    for (int k = 0; k < 3; k++) begin
      if (i == 2'(k)) sel3 = v[k*PW +: PW];
    end
  endfunction

  function automatic logic [31:0] word_at(input logic [NumBuckets-1:0] v, input logic [4:0] g);
    word_at = '0;
    for (int k = 0; k < NWords; k++) begin
      if (g == 5'(k)) word_at = v[k*32 +: 32];
    end
  endfunction

  function automatic logic bit_at(input logic [NumBuckets-1:0] v, input logic [NbW-1:0] i);
    logic [31:0] w;
    w = word_at(v, 5'(i >> 5));
    bit_at = 1'b0;
    for (int k = 0; k < 32; k++) begin
      if (i[4:0] == 5'(k)) bit_at = w[k];
    end
  endfunction

  function automatic logic [4:0] msb32(input logic [31:0] w);
    msb32 = 5'd0;
    for (int i = 0; i < 32; i++) begin
      if (w[i]) begin
        msb32 = 5'(i);
      end
    end
  endfunction

  function automatic logic [4:0] lsb32(input logic [31:0] w);
    lsb32 = 5'd0;
    for (int i = 31; i >= 0; i--) begin
      if (w[i]) begin
        lsb32 = 5'(i);
      end
    end
  endfunction

  // ---------------------------------------------------------------- state
  state_e                     state_q, state_d;
  ctx_e                       ctx_q, ctx_d;
  logic                       sweep_q;
  logic [SetBits-1:0]         sweep_set_q;
  kvcpu_rtbd_pkg::req_t       req_q, req_in;
  kvcpu_rtbd_pkg::hepc_cfg_t  cfg_q, cfg_in;
  logic [31:0]                step_q, step_d;
  logic [HW-1:0]              h_q, h_d;              // the handle being worked on
  logic                       cand_ram_q, cand_ram_d;  // S_V2: the candidate is the RAM head
  logic [PW-1:0]              cand_q, cand_d;
  logic [6:0]                 old_s_q, old_s_d, new_s_q, new_s_d;
  logic [NbW+2:0]             old_h_q, old_h_d, new_h_q, new_h_d;
  logic                       la_pend_q, la_pend_d;  // refresh a class head's last_access
  logic [4:0]                 la_cls_q, la_cls_d;
  logic [2:0]                 la_way_q, la_way_d;
  logic [15:0]                plan_cnt_q, plan_cnt_d;
  logic [NbW-1:0]             x_r_q, x_r_d;          // expiry: ring slot
  logic [NbW:0]               x_left_q, x_left_d;    // expiry: buckets left
  logic                       plan_valid_q, plan_valid_d;
  logic [31:0]                plan_q, plan_d;
  // list heads/tails in registers: seed lists 0..32, hint EVICT/LRU/STALE
  // Each has one write port (the FSM writes at most one element per cycle), decoded into
  // per-element enables below: no wide dynamic shifts in the FSM.
  logic [33*PW-1:0]           sh_q, st_q;
  logic                       sh_we, st_we;
  logic [5:0]                 sh_wa, st_wa;
  logic [PW-1:0]              sh_wd, st_wd;
  logic [32*32-1:0]           hla_q;                 // last_access of each class head
  logic                       hla_we;
  logic [4:0]                 hla_wa;
  logic [31:0]                hla_wd;
  logic [3*PW-1:0]            hh_q, ht_q;
  logic                       hh_we, ht_we;
  logic [1:0]                 hh_wa, ht_wa;
  logic [PW-1:0]              hh_wd, ht_wd;
  logic [NumBuckets-1:0]      t0_bits_q, lo_bits_q;
  logic                       t0b_we, lob_we, t0b_wd, lob_wd;
  logic [NbW-1:0]             t0b_wa, lob_wa;
  // counters, gauges
  logic [63:0]                c_ops_q, c_ops_d, c_ep_q, c_ep_d, c_pp_q, c_pp_d, c_dis_q, c_dis_d;
  logic [63:0]                c_exp_q, c_exp_d, c_vq_q, c_vq_d, c_df_q, c_df_d, c_hs_q, c_hs_d;
  logic [31:0]                t0b_q, t0b_d, t0m_q, t0m_d;
  // response
  logic                       rsp_valid_q, rsp_valid_d;
  kvcpu_rtbd_pkg::op_e        rsp_op_q, rsp_op_d;
  logic [15:0]                rsp_status_q, rsp_status_d;
  logic [31:0]                rsp_handle_q, rsp_handle_d;
  kvcpu_rtbd_pkg::entry_t     rsp_entry_q, rsp_entry_d;

  logic acc;
  assign req_ready_o = !sweep_q && state_q == S_IDLE;
  assign acc         = req_valid_i && req_ready_o;

  always_comb begin
    req_in.op           = req_op_i;
    req_in.key          = req_key_i;
    req_in.handle       = req_handle_i;
    req_in.tier         = req_tier_i;
    req_in.addr         = req_addr_i;
    req_in.prefix       = req_prefix_i;
    req_in.dirty        = req_dirty_i;
    req_in.recompute_ok = req_recompute_ok_i;
    req_in.lifetime_end = req_lifetime_end_i;
    req_in.session      = req_session_i;
    req_in.model_id     = req_model_id_i;
    req_in.hint         = req_hint_i;
    req_in.target       = req_target_i;
    req_in.step         = step_q;
    cfg_in.mode               = cfg_mode_i;
    cfg_in.w_r                = cfg_w_r_i;
    cfg_in.w_f                = cfg_w_f_i;
    cfg_in.w_s                = cfg_w_s_i;
    cfg_in.w_d                = cfg_w_d_i;
    cfg_in.window             = cfg_window_i;
    cfg_in.evict_t            = cfg_evict_t_i;
    cfg_in.prefetch_t         = cfg_prefetch_t_i;
    cfg_in.t0_high_wm         = cfg_t0_high_wm_i;
    cfg_in.prefetch_window    = cfg_prefetch_window_i;
    cfg_in.max_evict_plans    = cfg_max_evict_plans_i;
    cfg_in.max_prefetch_plans = cfg_max_prefetch_plans_i;
    cfg_in.evict_tier         = cfg_evict_tier_i;
    cfg_in.short_lived        = cfg_short_lived_i;
  end

  // ---------------------------------------------------------------- RAMs
  // Synchronous read with enable (the data holds until the next read), one write port.
  // The control never reads an address of a RAM in the cycle it writes it (assertion
  // NoCollision_A); such a read returns X, so Yosys adds no collision logic.
  // One RAM per way (2^SetBits x 301 bits each), read together at one set, written one way
  // at a time (the reset sweep: all ways): a write carries one entry, not a whole row.
  logic [RowW-1:0]    row_rd;
  logic               row_re, row_we;
  logic [Ways-1:0]    row_wway;
  logic [SetBits-1:0] row_ra, row_wa;
  logic [EntW-1:0]    row_wd;
  for (genvar w = 0; w < Ways; w++) begin : gen_row_mem
    logic [EntW-1:0] mem [Sets];
    always_ff @(posedge clk_i) begin
      if (row_we && row_wway[w]) begin
        mem[row_wa] <= row_wd;
      end
      if (row_re) begin
        row_rd[w*EntW +: EntW] <= (row_we && row_wa == row_ra) ? 'x : mem[row_ra];
      end
    end
  end

  // prev/next of both structures: index 0 seed prev, 1 seed next, 2 hint prev, 3 hint next
  logic [PW-1:0] pn_mem0 [Cap];
  logic [PW-1:0] pn_mem1 [Cap];
  logic [PW-1:0] pn_mem2 [Cap];
  logic [PW-1:0] pn_mem3 [Cap];
  logic [4*PW-1:0]    pn_rd, pn_wd;
  logic [4*HW-1:0]    pn_wa;
  logic [3:0]         pn_we;
  logic               pn_re;
  logic [HW-1:0]      pn_ra;
  always_ff @(posedge clk_i) begin
    if (pn_we[0]) pn_mem0[pn_wa[0*HW +: HW]] <= pn_wd[0*PW +: PW];
    if (pn_we[1]) pn_mem1[pn_wa[1*HW +: HW]] <= pn_wd[1*PW +: PW];
    if (pn_we[2]) pn_mem2[pn_wa[2*HW +: HW]] <= pn_wd[2*PW +: PW];
    if (pn_we[3]) pn_mem3[pn_wa[3*HW +: HW]] <= pn_wd[3*PW +: PW];
    if (pn_re) begin
      pn_rd[0*PW +: PW] <= (pn_we[0] && pn_wa[0*HW +: HW] == pn_ra) ? 'x : pn_mem0[pn_ra];
      pn_rd[1*PW +: PW] <= (pn_we[1] && pn_wa[1*HW +: HW] == pn_ra) ? 'x : pn_mem1[pn_ra];
      pn_rd[2*PW +: PW] <= (pn_we[2] && pn_wa[2*HW +: HW] == pn_ra) ? 'x : pn_mem2[pn_ra];
      pn_rd[3*PW +: PW] <= (pn_we[3] && pn_wa[3*HW +: HW] == pn_ra) ? 'x : pn_mem3[pn_ra];
    end
  end

  // ring slot heads/tails: 0 T0 head, 1 T0 tail, 2 lower head, 3 lower tail. An entry is
  // meaningful only while the slot's bitmap bit is set, so these RAMs need no reset.
  logic [HW-1:0] rg_mem0 [NumBuckets];
  logic [HW-1:0] rg_mem1 [NumBuckets];
  logic [HW-1:0] rg_mem2 [NumBuckets];
  logic [HW-1:0] rg_mem3 [NumBuckets];
  logic [4*HW-1:0]     rg_rd, rg_wd;
  logic [3:0]          rg_we, rg_re;
  logic [NbW-1:0]      rg_ra, rg_wa;
  always_ff @(posedge clk_i) begin
    if (rg_we[0]) rg_mem0[rg_wa] <= rg_wd[0*HW +: HW];
    if (rg_we[1]) rg_mem1[rg_wa] <= rg_wd[1*HW +: HW];
    if (rg_we[2]) rg_mem2[rg_wa] <= rg_wd[2*HW +: HW];
    if (rg_we[3]) rg_mem3[rg_wa] <= rg_wd[3*HW +: HW];
    if (rg_re[0]) rg_rd[0*HW +: HW] <= (rg_we[0] && rg_wa == rg_ra) ? 'x : rg_mem0[rg_ra];
    if (rg_re[1]) rg_rd[1*HW +: HW] <= (rg_we[1] && rg_wa == rg_ra) ? 'x : rg_mem1[rg_ra];
    if (rg_re[2]) rg_rd[2*HW +: HW] <= (rg_we[2] && rg_wa == rg_ra) ? 'x : rg_mem2[rg_ra];
    if (rg_re[3]) rg_rd[3*HW +: HW] <= (rg_we[3] && rg_wa == rg_ra) ? 'x : rg_mem3[rg_ra];
  end

  // ---------------------------------------------------------------- the row being worked on
  logic [EntW-1:0]        way_vec [Ways];
  logic [Ways-1:0]        vld, hitv;
  for (genvar w = 0; w < Ways; w++) begin : gen_ways
    assign way_vec[w] = row_rd[w*EntW +: EntW];
    assign vld[w]     = way_vec[w][0];
    assign hitv[w]    = way_vec[w][0] && (way_vec[w][64:1] == req_q.key);
  end

  logic [31:0] cur_bucket;
  assign cur_bucket = step_q >> BucketShift;

  // ---------------------------------------------------------------- S_EXEC: the op
  logic                    hit, has_free, found, in_range, we_op, op_ok, refiles, access;
  logic [2:0]              hit_way, free_way, tgt_way, wr_way;
  kvcpu_rtbd_pkg::entry_t  e_old, e_new, e_before;
  logic [15:0]             status;
  logic                    has_handle;
  logic [31:0]             tgt_bucket;
  logic [32:0]             bucket_lim;
  logic [6:0]              sb, sa;
  logic [NbW+2:0]          hb, ha;
  logic                    do_s, do_h;
  logic [HW-1:0]           op_handle;

  always_comb begin
    hit_way  = 3'd0;
    free_way = 3'd0;
    for (int w = Ways - 1; w >= 0; w--) begin
      if (hitv[w]) begin
        hit_way = 3'(w);
      end
      if (!vld[w]) begin
        free_way = 3'(w);
      end
    end
  end

  assign hit        = |hitv;
  assign has_free   = !(&vld);
  assign in_range   = (req_q.handle >> HW) == 32'd0;
  assign tgt_way    = (req_q.op == kvcpu_rtbd_pkg::OP_SET_TIER) ? req_q.handle[2:0] : hit_way;
  assign found      = (req_q.op == kvcpu_rtbd_pkg::OP_SET_TIER) ? (in_range && vld[tgt_way])
                                                                 : hit;
  assign tgt_bucket = req_q.target >> BucketShift;
  assign bucket_lim = {1'b0, cur_bucket} + NbMinus1;

  always_comb begin
    e_old      = {19'b0, way_vec[tgt_way]};
    e_new      = e_old;
    status     = kvcpu_rtbd_pkg::ST_SUCCESS;
    has_handle = found;
    we_op      = 1'b0;
    wr_way     = tgt_way;
    unique case (req_q.op)
      kvcpu_rtbd_pkg::OP_INSERT: begin
        if (req_q.tier > 3'd3) begin
          status     = kvcpu_rtbd_pkg::ST_BAD_FIELD;
          has_handle = 1'b0;
        end else if (hit) begin
          status = kvcpu_rtbd_pkg::ST_DUPLICATE;
        end else if (!has_free) begin
          status     = kvcpu_rtbd_pkg::ST_DIR_FULL;
          has_handle = 1'b0;  // the set victim, below
        end else begin
          has_handle         = 1'b1;
          we_op              = 1'b1;
          wr_way             = free_way;
          e_new              = '0;
          e_new.valid        = 1'b1;
          e_new.key          = req_q.key;
          e_new.tier         = req_q.tier[1:0];
          e_new.addr         = req_q.addr;
          e_new.freq         = 4'd1;
          e_new.last_access  = step_q;
          e_new.prefix       = req_q.prefix;
          e_new.dirty        = req_q.dirty;
          e_new.recompute_ok = req_q.recompute_ok;
          e_new.lifetime_end = req_q.lifetime_end;
          e_new.session      = req_q.session;
          e_new.model_id     = req_q.model_id;
        end
      end
      kvcpu_rtbd_pkg::OP_LOOKUP: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end
      end
      kvcpu_rtbd_pkg::OP_TOUCH: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else begin
          we_op = 1'b1;
          if (e_old.freq != kvcpu_rtbd_pkg::FREQ_MAX) begin
            e_new.freq = e_old.freq + 4'd1;
          end
          e_new.last_access = step_q;
          if (e_old.hint == kvcpu_rtbd_pkg::HINT_PREFETCH ||
              e_old.hint == kvcpu_rtbd_pkg::HINT_EVICT) begin
            e_new.hint = kvcpu_rtbd_pkg::HINT_NONE;
          end
        end
      end
      kvcpu_rtbd_pkg::OP_UPDATE_HINT: begin
        if (req_q.hint > 3'd3) begin
          status     = kvcpu_rtbd_pkg::ST_BAD_FIELD;
          has_handle = 1'b0;
        end else if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else if (req_q.hint[1:0] == kvcpu_rtbd_pkg::HINT_PREFETCH &&
                     tgt_bucket < cur_bucket) begin
          status = kvcpu_rtbd_pkg::ST_HINT_STALE;
        end else begin
          we_op      = 1'b1;
          e_new.hint = req_q.hint[1:0];
          if (req_q.hint[1:0] == kvcpu_rtbd_pkg::HINT_PREFETCH) begin
            e_new.next_use    = req_q.target;
            e_new.hint_bucket = ({1'b0, tgt_bucket} < bucket_lim) ? tgt_bucket
                                                                   : bucket_lim[31:0];
          end
        end
      end
      kvcpu_rtbd_pkg::OP_DELETE: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else begin
          we_op = 1'b1;
          e_new = '0;
        end
      end
      kvcpu_rtbd_pkg::OP_SHARE: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else if (e_old.refcount == kvcpu_rtbd_pkg::REF_MAX) begin
          status = kvcpu_rtbd_pkg::ST_REF_OVERFLOW;
        end else begin
          we_op          = 1'b1;
          e_new.refcount = e_old.refcount + 8'd1;
          e_new.prefix   = 1'b1;
        end
      end
      kvcpu_rtbd_pkg::OP_RELEASE: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else if (e_old.refcount == 8'd0) begin
          status = kvcpu_rtbd_pkg::ST_REF_UNDERFLOW;
        end else begin
          we_op          = 1'b1;
          e_new.refcount = e_old.refcount - 8'd1;
        end
      end
      kvcpu_rtbd_pkg::OP_SET_TIER: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else if (req_q.tier > 3'd3) begin
          status = kvcpu_rtbd_pkg::ST_BAD_FIELD;
        end else begin
          we_op        = 1'b1;
          e_new.tier   = req_q.tier[1:0];
          e_new.addr   = req_q.addr;
          e_new.moving = 1'b0;
        end
      end
      default: ;
    endcase
    // list refiling (HepcModel::Refile): memberships before and after the op
    op_ok    = status == kvcpu_rtbd_pkg::ST_SUCCESS &&
               req_q.op != kvcpu_rtbd_pkg::OP_LOOKUP;
    access   = req_q.op == kvcpu_rtbd_pkg::OP_INSERT || req_q.op == kvcpu_rtbd_pkg::OP_TOUCH;
    e_before = (req_q.op == kvcpu_rtbd_pkg::OP_INSERT) ? '0 : e_old;
    sb       = seed_mem(e_before[EntW-1:0]);
    sa       = seed_mem(e_new[EntW-1:0]);
    hb       = hint_mem(e_before[EntW-1:0], cur_bucket);
    ha       = hint_mem(e_new[EntW-1:0], cur_bucket);
    do_s     = op_ok && (sb != sa || (access && !sa[6]));
    do_h     = op_ok && (hb != ha || (access && ha[NbW+2:NbW] != HK_NONE));
    if (do_s && !sa[6] && sa[5:0] != SEED_EVICT) begin
      e_new.last_access = step_q;  // appended to a class list: counts as just accessed
    end
    refiles  = do_s || do_h;
    op_handle = (req_q.op == kvcpu_rtbd_pkg::OP_SET_TIER) ? req_q.handle[HW-1:0]
                                                          : {h_q[HW-1:3], wr_way};
  end

  // ---------------------------------------------------------------- the score units
  // ScoreUnits seed-score units, shared: in S_SCAN unit k scores class head scan_j*8 + k
  // (last_access from hla_q, F and D from the class index); in every other state unit k
  // scores way k of the row read (the set victim of S_EXEC, the candidate of S_V3).
  localparam int unsigned ScoreUnits = Ways;
  localparam int unsigned ScanCycles = 32 / ScoreUnits;
  logic [1:0]              scan_j_q, scan_j_d;
  logic [ScoreUnits*16-1:0] sc;
  logic [31:0]             u_la;
  logic [3:0]              u_f;
  logic                    u_d;
  always_comb begin
    for (int k = 0; k < ScoreUnits; k++) begin
      u_la = way_vec[k][166:135];
      u_f  = way_vec[k][134:131];
      u_d  = way_vec[k][233];
      if (state_q == S_SCAN) begin
        for (int j = 0; j < ScanCycles; j++) begin
          if (scan_j_q == 2'(j)) begin
            u_la = hla_q[(j * ScoreUnits + k) * 32 +: 32];
          end
        end
        u_f = 4'((32'(scan_j_q) * ScoreUnits + k) & 15);
        u_d = (32'(scan_j_q) * ScoreUnits + k) >= 16;
      end
      sc[k*16 +: 16] = score(u_la, u_f, u_d, step_q, cfg_q.w_r, cfg_q.w_f, cfg_q.w_s, cfg_q.w_d,
                             cfg_q.window);
    end
  end

  // ---------------------------------------------------------------- set victim (DIR_FULL)
  // Among the 8 ways: evictable T0 blocks of the current mode's structure; rank (group,
  // value), ties to the lowest way (HepcModel::SetVictim).
  logic [Ways*42-1:0] sv_rank;
  logic [Ways-1:0] sv_ok;
  logic [2:0]     sv_way;
  logic           sv_found;
  logic [41:0]    sv_best;
  logic [Ways*7-1:0] sv_ms;
  logic [Ways*(NbW+3)-1:0] sv_mh;
  logic [Ways*16-1:0] sv_p;
  always_comb begin
    for (int w = 0; w < Ways; w++) begin
      sv_ms[(w)*7 +: 7] = seed_mem(way_vec[w]);
      sv_mh[(w)*(NbW+3) +: (NbW+3)] = hint_mem(way_vec[w], cur_bucket);
      sv_p[(w)*16 +: 16]  = sc[w*16 +: 16];
      sv_ok[w]   = 1'b0;
      sv_rank[(w)*42 +: 42] = '0;
      if (!cfg_q.mode) begin
        sv_ok[w]   = !sv_ms[(w)*7 + 6];
        sv_rank[(w)*42 +: 42] = (sv_ms[(w)*7 + 0 +: 5 - (0) + 1] == SEED_EVICT) ? 42'd0
                   : {2'd1, 16'd0, sv_p[(w)*16 +: 16], 2'd0, sv_ms[(w)*7 + 0 +: 5 - (0) + 1]};
      end else begin
        sv_ok[w] = sv_mh[(w)*(NbW+3) + NbW +: NbW+2 - (NbW) + 1] == HK_EVICT || sv_mh[(w)*(NbW+3) + NbW +: NbW+2 - (NbW) + 1] == HK_LRU ||
                   sv_mh[(w)*(NbW+3) + NbW +: NbW+2 - (NbW) + 1] == HK_T0;
        sv_rank[(w)*42 +: 42] = (sv_mh[(w)*(NbW+3) + NbW +: NbW+2 - (NbW) + 1] == HK_EVICT) ? 42'd0
                   : (sv_mh[(w)*(NbW+3) + NbW +: NbW+2 - (NbW) + 1] == HK_LRU) ? {2'd1, 8'd0, way_vec[w][166:135]}
                   : {2'd2, 8'd0, ~way_vec[w][230:199]};
      end
    end
    sv_found = 1'b0;
    sv_way   = 3'd0;
    sv_best  = '0;
    for (int w = 0; w < Ways; w++) begin
      if (sv_ok[w] && (!sv_found || sv_rank[(w)*42 +: 42] < sv_best)) begin
        sv_found = 1'b1;
        sv_way   = 3'(w);
        sv_best  = sv_rank[(w)*42 +: 42];
      end
    end
  end

  // ---------------------------------------------------------------- victim search
  // seed: EVICT head, else min (P, class) over the 32 class heads: S_SCAN folds the scores
  // of ScoreUnits class heads per cycle into (sd_found_q, sd_best_q, sd_cls_q), ascending
  // class index with a strict <, so ties go to the lowest class; S_V1 uses the result.
  logic        sd_found_q, sd_found_d;
  logic [15:0] sd_best_q, sd_best_d;
  logic [4:0]  sd_cls_q, sd_cls_d;
  always_comb begin
    sd_found_d = sd_found_q;
    sd_best_d  = sd_best_q;
    sd_cls_d   = sd_cls_q;
    scan_j_d   = scan_j_q;
    if (state_q == S_SCAN) begin
      scan_j_d = scan_j_q + 2'd1;
      if (scan_j_q == 2'd0) begin
        sd_found_d = 1'b0;
      end
      for (int k = 0; k < ScoreUnits; k++) begin
        if (!sh_q[(32'(scan_j_q) * ScoreUnits + k) * PW + HW] &&
            (!sd_found_d || sc[k*16 +: 16] < sd_best_d)) begin
          sd_found_d = 1'b1;
          sd_best_d  = sc[k*16 +: 16];
          sd_cls_d   = 5'(32'(scan_j_q) * ScoreUnits + k);
        end
      end
    end
  end

  // two-level bitmap search: farthest non-empty T0 slot, nearest non-empty lower slot
  logic [31:0]    t0_sum, lo_sum;
  logic [NbW-1:0] cb;
  logic [4:0]     gc, bc;
  logic           far_found, near_found;
  logic [NbW-1:0] far_r, near_r;
  logic [31:0]    bw;
  logic [4:0]     g;
  always_comb begin
    t0_sum = '0;
    lo_sum = '0;
    for (int i = 0; i < NWords; i++) begin
      t0_sum[i] = |t0_bits_q[i*32 +: 32];
      lo_sum[i] = |lo_bits_q[i*32 +: 32];
    end
    g  = '0;
    cb = cur_bucket[NbW-1:0];
    gc = 5'(cb >> 5);
    bc = cb[4:0];
    // farthest: the highest set bit below cb, else the highest at or above cb
    far_found = 1'b1;
    far_r     = '0;
    bw = word_at(t0_bits_q, gc);
    if ((bw & below({1'b0, bc})) != 0) begin
      far_r = NbW'({gc, msb32(bw & below({1'b0, bc}))});
    end else if ((t0_sum & below({1'b0, gc})) != 0) begin
      g = msb32(t0_sum & below({1'b0, gc}));
      far_r = NbW'({g, msb32(word_at(t0_bits_q, g))});
    end else if ((t0_sum & ~below({1'b0, gc} + 6'd1)) != 0) begin
      g = msb32(t0_sum & ~below({1'b0, gc} + 6'd1));
      far_r = NbW'({g, msb32(word_at(t0_bits_q, g))});
    end else if ((bw & ~below({1'b0, bc})) != 0) begin
      far_r = NbW'({gc, msb32(bw & ~below({1'b0, bc}))});
    end else begin
      far_found = 1'b0;
    end
    // nearest: the lowest set bit at or above cb, else the lowest below cb
    near_found = 1'b1;
    near_r     = '0;
    bw = word_at(lo_bits_q, gc);
    if ((bw & ~below({1'b0, bc})) != 0) begin
      near_r = NbW'({gc, lsb32(bw & ~below({1'b0, bc}))});
    end else if ((lo_sum & ~below({1'b0, gc} + 6'd1)) != 0) begin
      g = lsb32(lo_sum & ~below({1'b0, gc} + 6'd1));
      near_r = NbW'({g, lsb32(word_at(lo_bits_q, g))});
    end else if ((lo_sum & below({1'b0, gc})) != 0) begin
      g = lsb32(lo_sum & below({1'b0, gc}));
      near_r = NbW'({g, lsb32(word_at(lo_bits_q, g))});
    end else if ((bw & below({1'b0, bc})) != 0) begin
      near_r = NbW'({gc, lsb32(bw & below({1'b0, bc}))});
    end else begin
      near_found = 1'b0;
    end
  end

  // ---------------------------------------------------------------- the entry at h_q (S_V3)
  kvcpu_rtbd_pkg::entry_t v_e, v_moving;
  logic [15:0]            v_score;
  logic                   v_forced, v_over, v_low, v_short, v_due;
  logic [2:0]             v_to;
  logic [32:0]            due_bucket;
  always_comb begin
    v_e      = {19'b0, way_vec[h_q[2:0]]};
    v_moving = v_e;
    v_moving.moving = 1'b1;
    v_score  = '0;
    for (int w = 0; w < Ways; w++) begin
      if (h_q[2:0] == 3'(w)) begin
        v_score = sc[w*16 +: 16];  // the units score the ways outside S_SCAN
      end
    end
    v_forced = v_e.hint == kvcpu_rtbd_pkg::HINT_EVICT;
    v_over   = (t0b_q - t0m_q) > cfg_q.t0_high_wm;
    v_low    = !cfg_q.mode && v_score < cfg_q.evict_t;
    v_short  = v_e.lifetime_end != 32'd0 &&
               {1'b0, v_e.lifetime_end} <= {1'b0, step_q} + {1'b0, cfg_q.short_lived};
    v_to     = (v_e.recompute_ok || v_short) ? 3'd4 : {1'b0, cfg_q.evict_tier};
    due_bucket = ({1'b0, step_q} + {1'b0, cfg_q.prefetch_window}) >> BucketShift;
    v_due    = {1'b0, v_e.hint_bucket} <= due_bucket;
  end

  // the expiry slot's bitmap bits
  logic x_t0_bit, x_lo_bit;
  assign x_t0_bit = bit_at(t0_bits_q, x_r_q);
  assign x_lo_bit = bit_at(lo_bits_q, x_r_q);
  // the bits of the slot a push goes to
  logic n_t0_bit, n_lo_bit;
  assign n_t0_bit = bit_at(t0_bits_q, new_h_q[NbW-1:0]);
  assign n_lo_bit = bit_at(lo_bits_q, new_h_q[NbW-1:0]);

  // ---------------------------------------------------------------- the FSM
  logic [HW-1:0]  s_p, s_n, x_h, x_t;
  logic           s_p_nil, s_n_nil;
  logic [PW-1:0]  hp, hn, tail_s, tail_h;
  logic [2:0]     okind, nkind;
  logic [NbW-1:0] orr, nrr;
  logic [32:0]    passed;
  logic [31:0]    new_cb;

  always_comb begin
    state_d      = state_q;
    ctx_d        = ctx_q;
    step_d       = step_q;
    h_d          = h_q;
    cand_ram_d   = cand_ram_q;
    cand_d       = cand_q;
    old_s_d      = old_s_q;
    new_s_d      = new_s_q;
    old_h_d      = old_h_q;
    new_h_d      = new_h_q;
    la_pend_d    = la_pend_q;
    la_cls_d     = la_cls_q;
    la_way_d     = la_way_q;
    plan_cnt_d   = plan_cnt_q;
    x_r_d        = x_r_q;
    x_left_d     = x_left_q;
    plan_valid_d = plan_valid_q;
    plan_d       = plan_q;
    sh_we  = 1'b0;
    sh_wa  = '0;
    sh_wd  = '0;
    st_we  = 1'b0;
    st_wa  = '0;
    st_wd  = '0;
    hla_we = 1'b0;
    hla_wa = '0;
    hla_wd = '0;
    hh_we  = 1'b0;
    hh_wa  = '0;
    hh_wd  = '0;
    ht_we  = 1'b0;
    ht_wa  = '0;
    ht_wd  = '0;
    t0b_we = 1'b0;
    t0b_wa = '0;
    t0b_wd = 1'b0;
    lob_we = 1'b0;
    lob_wa = '0;
    lob_wd = 1'b0;
    c_ops_d      = c_ops_q;
    c_ep_d       = c_ep_q;
    c_pp_d       = c_pp_q;
    c_dis_d      = c_dis_q;
    c_exp_d      = c_exp_q;
    c_vq_d       = c_vq_q;
    c_df_d       = c_df_q;
    c_hs_d       = c_hs_q;
    t0b_d        = t0b_q;
    t0m_d        = t0m_q;
    rsp_valid_d  = 1'b0;
    rsp_op_d     = rsp_op_q;
    rsp_status_d = rsp_status_q;
    rsp_handle_d = rsp_handle_q;
    rsp_entry_d  = rsp_entry_q;
    row_re = 1'b0;
    row_ra = '0;
    row_we = 1'b0;
    row_wa = h_q[HW-1:3];
    row_wway = '0;
    row_wd = e_new[EntW-1:0];
    pn_re  = 1'b0;
    pn_ra  = h_q;
    pn_we  = '0;
    pn_wa  = '0;
    pn_wd  = '0;
    rg_re  = '0;
    rg_ra  = '0;
    rg_we  = '0;
    rg_wa  = '0;
    rg_wd  = '0;
    // decoded pointers of the current unlink/push
    s_p     = pn_rd[0*PW + 0 +: HW-1 - (0) + 1];
    s_n     = pn_rd[1*PW + 0 +: HW-1 - (0) + 1];
    s_p_nil = pn_rd[0*PW + HW];
    s_n_nil = pn_rd[1*PW + HW];
    hp      = pn_rd[2*PW +: PW];
    hn      = pn_rd[3*PW +: PW];
    okind   = old_h_q[NbW+2:NbW];
    orr     = old_h_q[NbW-1:0];
    nkind   = new_h_q[NbW+2:NbW];
    nrr     = new_h_q[NbW-1:0];
    tail_s  = sel33(st_q, new_s_q[5:0]);
    tail_h  = (nkind == HK_T0) ? (n_t0_bit ? {1'b0, rg_rd[1*HW +: HW]} : NIL)
            : (nkind == HK_LO) ? (n_lo_bit ? {1'b0, rg_rd[3*HW +: HW]} : NIL)
            : sel3(ht_q, nkind[1:0]);
    x_h     = '0;
    x_t     = '0;
    new_cb  = req_in.target >> BucketShift;
    passed  = {1'b0, new_cb - cur_bucket};
    if (passed > 33'(NumBuckets)) begin
      passed = 33'(NumBuckets);
    end

    unique case (state_q)
      S_IDLE: begin
        if (acc) begin
          h_d = {key_set(req_key_i), 3'd0};
          unique case (req_op_i)
            kvcpu_rtbd_pkg::OP_VICTIM: begin
              ctx_d   = C_VICTIM;
              state_d = cfg_mode_i ? S_V1 : S_SCAN;
            end
            kvcpu_rtbd_pkg::OP_STEP_ADVANCE: begin
              c_ops_d = c_ops_q + 64'd1;
              if (req_target_i < step_q) begin
                rsp_valid_d  = 1'b1;
                rsp_op_d     = req_op_i;
                rsp_status_d = kvcpu_rtbd_pkg::ST_STEP_BACKWARDS;
                rsp_handle_d = kvcpu_rtbd_pkg::NO_HANDLE;
                rsp_entry_d  = '0;
              end else begin
                step_d     = req_target_i;
                x_r_d      = cur_bucket[NbW-1:0];
                x_left_d   = passed[NbW:0];
                ctx_d      = C_EVICT;
                plan_cnt_d = '0;
                state_d    = S_X1;
              end
            end
            default: begin
              ctx_d   = C_OP;
              state_d = S_EXEC;
              row_re  = 1'b1;
              row_ra  = (req_op_i == kvcpu_rtbd_pkg::OP_SET_TIER) ? req_handle_i[HW-1:3]
                                                                  : key_set(req_key_i);
              if (req_op_i == kvcpu_rtbd_pkg::OP_SET_TIER) begin
                h_d = req_handle_i[HW-1:0];
              end
            end
          endcase
        end
      end

      S_EXEC: begin
        h_d     = op_handle;
        old_s_d = do_s ? sb : SEED_NONE;
        new_s_d = do_s ? sa : SEED_NONE;
        old_h_d = do_h ? hb : {HK_NONE, {NbW{1'b0}}};
        new_h_d = do_h ? ha : {HK_NONE, {NbW{1'b0}}};
        la_pend_d = 1'b0;
        if (we_op) begin
          row_we = 1'b1;
          row_wa = h_q[HW-1:3];
          row_wway = Ways'(1) << wr_way;
          row_wd = e_new[EntW-1:0];
        end
        pn_re = 1'b1;
        pn_ra = op_handle;
        if (req_q.op != kvcpu_rtbd_pkg::OP_LOOKUP) begin
          c_ops_d = c_ops_q + 64'd1;
        end
        if (req_q.op == kvcpu_rtbd_pkg::OP_INSERT && status == kvcpu_rtbd_pkg::ST_DIR_FULL) begin
          c_df_d = c_df_q + 64'd1;
        end
        if (status == kvcpu_rtbd_pkg::ST_HINT_STALE) begin
          c_hs_d = c_hs_q + 64'd1;
        end
        if (op_ok) begin
          t0b_d = t0b_q + 32'(e_new.valid && e_new.tier == 2'd0)
                        - 32'(e_before.valid && e_before.tier == 2'd0);
          t0m_d = t0m_q + 32'(e_new.valid && e_new.tier == 2'd0 && e_new.moving)
                        - 32'(e_before.valid && e_before.tier == 2'd0 && e_before.moving);
        end
        rsp_valid_d  = 1'b1;
        rsp_op_d     = req_q.op;
        rsp_status_d = status;
        if (req_q.op == kvcpu_rtbd_pkg::OP_INSERT && status == kvcpu_rtbd_pkg::ST_DIR_FULL) begin
          rsp_handle_d = sv_found ? 32'({h_q[HW-1:3], sv_way}) : kvcpu_rtbd_pkg::NO_HANDLE;
          rsp_entry_d  = sv_found ? {19'b0, way_vec[sv_way]} : '0;
        end else begin
          rsp_handle_d = has_handle ? 32'(op_handle) : kvcpu_rtbd_pkg::NO_HANDLE;
          rsp_entry_d  = has_handle ? e_new : '0;
        end
        state_d = refiles ? S_UNLINK : S_IDLE;
      end

      // unlink h_q from its old list in each structure (prev/next were read at h_q)
      S_UNLINK: begin
        if (!old_s_q[6]) begin
          if (s_p_nil) begin
            sh_we = 1'b1;
            sh_wa = old_s_q[5:0];
            sh_wd = pn_rd[1*PW +: PW];
            if (!s_n_nil && old_s_q[5:0] != SEED_EVICT) begin
              la_pend_d = 1'b1;  // the class head changed: read its last_access
              la_cls_d  = old_s_q[4:0];
              la_way_d  = s_n[2:0];
              row_re    = 1'b1;
              row_ra    = s_n[HW-1:3];
            end
          end else begin
            pn_we[1] = 1'b1;
            pn_wa[1*HW +: HW] = s_p;
            pn_wd[1*PW +: PW] = pn_rd[1*PW +: PW];
          end
          if (s_n_nil) begin
            st_we = 1'b1;
            st_wa = old_s_q[5:0];
            st_wd = pn_rd[0*PW +: PW];
          end else begin
            pn_we[0] = 1'b1;
            pn_wa[0*HW +: HW] = s_n;
            pn_wd[0*PW +: PW] = pn_rd[0*PW +: PW];
          end
        end
        if (okind != HK_NONE) begin
          if (hp[HW]) begin
            if (okind == HK_T0 || okind == HK_LO) begin
              if (!hn[HW]) begin
                rg_we[0] = okind == HK_T0;
                rg_we[2] = okind == HK_LO;
              end
            end else begin
              hh_we = 1'b1;
              hh_wa = okind[1:0];
              hh_wd = hn;
            end
          end else begin
            pn_we[3] = 1'b1;
            pn_wa[3*HW +: HW] = hp[HW-1:0];
            pn_wd[3*PW +: PW] = hn;
          end
          if (hn[HW]) begin
            if (okind == HK_T0 || okind == HK_LO) begin
              if (!hp[HW]) begin
                rg_we[1] = okind == HK_T0;
                rg_we[3] = okind == HK_LO;
              end
            end else begin
              ht_we = 1'b1;
              ht_wa = okind[1:0];
              ht_wd = hp;
            end
          end else begin
            pn_we[2] = 1'b1;
            pn_wa[2*HW +: HW] = hn[HW-1:0];
            pn_wd[2*PW +: PW] = hp;
          end
          rg_wa    = orr;
          rg_wd[0*HW +: HW] = hn[HW-1:0];
          rg_wd[2*HW +: HW] = hn[HW-1:0];
          rg_wd[1*HW +: HW] = hp[HW-1:0];
          rg_wd[3*HW +: HW] = hp[HW-1:0];
          if (hp[HW] && hn[HW]) begin
            if (okind == HK_T0) begin
              t0b_we = 1'b1;
              t0b_wa = orr;
              t0b_wd = 1'b0;
            end else if (okind == HK_LO) begin
              lob_we = 1'b1;
              lob_wa = orr;
              lob_wd = 1'b0;
            end
          end
        end
        state_d = S_LA;
      end

      // refresh a class head's last_access; start the pushes (tail of a ring slot)
      S_LA: begin
        if (la_pend_q) begin
          hla_we = 1'b1;
          hla_wa = la_cls_q;
          hla_wd = way_vec[la_way_q][166:135];
        end
        la_pend_d = 1'b0;
        if (!new_s_q[6]) begin
          pn_we[1] = 1'b1;
          pn_wa[1*HW +: HW] = h_q;
          pn_wd[1*PW +: PW] = NIL;
        end
        if (nkind != HK_NONE) begin
          pn_we[3] = 1'b1;
          pn_wa[3*HW +: HW] = h_q;
          pn_wd[3*PW +: PW] = NIL;
          rg_ra = nrr;
          rg_re[1] = nkind == HK_T0;
          rg_re[3] = nkind == HK_LO;
        end
        state_d = (ctx_q == C_OP)                    ? S_PUSH
                : (ctx_q == C_EVICT && !cfg_q.mode) ? S_SCAN : S_V1;
      end

      // append h_q at the tail of its new list in each structure
      S_PUSH: begin
        if (!new_s_q[6]) begin
          pn_we[0] = 1'b1;
          pn_wa[0*HW +: HW] = h_q;
          pn_wd[0*PW +: PW] = tail_s;
          if (tail_s[HW]) begin
            sh_we = 1'b1;
            sh_wa = new_s_q[5:0];
            sh_wd = {1'b0, h_q};
            if (new_s_q[5:0] != SEED_EVICT) begin
              hla_we = 1'b1;
              hla_wa = new_s_q[4:0];
              hla_wd = step_q;
            end
          end else begin
            pn_we[1] = 1'b1;
            pn_wa[1*HW +: HW] = tail_s[HW-1:0];
            pn_wd[1*PW +: PW] = {1'b0, h_q};
          end
          st_we = 1'b1;
          st_wa = new_s_q[5:0];
          st_wd = {1'b0, h_q};
        end
        if (nkind != HK_NONE) begin
          pn_we[2] = 1'b1;
          pn_wa[2*HW +: HW] = h_q;
          pn_wd[2*PW +: PW] = tail_h;
          if (!tail_h[HW]) begin
            pn_we[3] = 1'b1;
            pn_wa[3*HW +: HW] = tail_h[HW-1:0];
            pn_wd[3*PW +: PW] = {1'b0, h_q};
          end
          if (nkind == HK_T0 || nkind == HK_LO) begin
            rg_wa = nrr;
            rg_wd = {4{h_q}};
            rg_we[1] = nkind == HK_T0;
            rg_we[3] = nkind == HK_LO;
            if (tail_h[HW]) begin
              rg_we[0] = nkind == HK_T0;
              rg_we[2] = nkind == HK_LO;
            end
            if (nkind == HK_T0) begin
              t0b_we = 1'b1;
              t0b_wa = nrr;
              t0b_wd = 1'b1;
            end else begin
              lob_we = 1'b1;
              lob_wa = nrr;
              lob_wd = 1'b1;
            end
          end else begin
            if (tail_h[HW]) begin
              hh_we = 1'b1;
              hh_wa = nkind[1:0];
              hh_wd = {1'b0, h_q};
            end
            ht_we = 1'b1;
            ht_wa = nkind[1:0];
            ht_wd = {1'b0, h_q};
          end
        end
        state_d = S_IDLE;
      end

      // seed mode: the class heads' scores, ScoreUnits per cycle (the fold is above)
      S_SCAN: begin
        if (scan_j_q == 2'(ScanCycles - 1)) begin
          state_d = S_V1;
        end
      end

      // the next candidate: demand victim (C_VICTIM, C_EVICT) or prefetch (C_PREFETCH)
      S_V1: begin
        cand_ram_d = 1'b0;
        cand_d     = NIL;
        state_d    = S_V2;
        if (ctx_q == C_PREFETCH) begin
          if (plan_cnt_q >= cfg_q.max_prefetch_plans) begin
            state_d = S_STEP_RSP;
          end else if (near_found) begin
            cand_ram_d = 1'b1;
            rg_re[2]   = 1'b1;
            rg_ra      = near_r;
          end
        end else if (ctx_q == C_EVICT && plan_cnt_q >= cfg_q.max_evict_plans) begin
          ctx_d      = C_PREFETCH;
          plan_cnt_d = '0;
          state_d    = S_V1;
        end else if (!cfg_q.mode) begin
          if (!sh_q[32*PW + HW]) begin
            cand_d = sh_q[32*PW +: PW];
          end else if (sd_found_q) begin
            cand_d = sel33(sh_q, {1'b0, sd_cls_q});
          end
        end else begin
          if (!hh_q[0*PW + HW]) begin
            cand_d = hh_q[0*PW +: PW];
          end else if (!hh_q[1*PW + HW]) begin
            cand_d = hh_q[1*PW +: PW];
          end else if (far_found) begin
            cand_ram_d = 1'b1;
            rg_re[0]   = 1'b1;
            rg_ra      = far_r;
          end
        end
      end

      S_V2: begin
        if (cand_ram_q) begin
          h_d    = (ctx_q == C_PREFETCH) ? rg_rd[2*HW +: HW] : rg_rd[0*HW +: HW];
          row_ra = (ctx_q == C_PREFETCH) ? rg_rd[2*HW + 3 +: HW-1 - (3) + 1] : rg_rd[0*HW + 3 +: HW-1 - (3) + 1];
          cand_d = {1'b0, h_d};
        end else begin
          h_d    = cand_q[HW-1:0];
          row_ra = cand_q[HW-1:3];
        end
        row_re  = 1'b1;
        state_d = S_V3;
        if (cand_d[HW] && ctx_q != C_VICTIM) begin
          row_re = 1'b0;
          if (ctx_q == C_EVICT) begin
            ctx_d      = C_PREFETCH;
            plan_cnt_d = '0;
            state_d    = S_V1;
          end else begin
            state_d = S_STEP_RSP;
          end
        end
      end

      S_V3: begin
        old_s_d   = seed_mem(v_e[EntW-1:0]);
        new_s_d   = SEED_NONE;
        old_h_d   = hint_mem(v_e[EntW-1:0], cur_bucket);
        new_h_d   = {HK_NONE, {NbW{1'b0}}};
        la_pend_d = 1'b0;
        pn_re     = 1'b1;
        pn_ra     = h_q;
        if (ctx_q == C_VICTIM) begin
          rsp_valid_d  = 1'b1;
          rsp_op_d     = kvcpu_rtbd_pkg::OP_VICTIM;
          rsp_status_d = kvcpu_rtbd_pkg::ST_SUCCESS;
          rsp_handle_d = cand_q[HW] ? kvcpu_rtbd_pkg::NO_HANDLE : 32'(h_q);
          rsp_entry_d  = cand_q[HW] ? '0 : v_e;
          c_vq_d       = c_vq_q + 64'd1;
          state_d      = S_IDLE;
        end else if (ctx_q == C_EVICT) begin
          if (v_forced || v_over || v_low) begin
            plan_valid_d = 1'b1;
            plan_d       = {10'd0, 1'b0, v_to, v_e.tier, 16'(h_q)};
            state_d      = S_PLAN;
          end else begin
            ctx_d      = C_PREFETCH;
            plan_cnt_d = '0;
            state_d    = S_V1;
          end
        end else begin
          if (v_due) begin
            plan_valid_d = 1'b1;
            plan_d       = {10'd0, 1'b1, 3'd0, v_e.tier, 16'(h_q)};
            state_d      = S_PLAN;
          end else begin
            state_d = S_STEP_RSP;
          end
        end
      end

      S_PLAN: begin
        if (plan_ready_i) begin
          plan_valid_d = 1'b0;
          plan_cnt_d   = plan_cnt_q + 16'd1;
          row_we       = 1'b1;
          row_wa       = h_q[HW-1:3];
          row_wway     = Ways'(1) << h_q[2:0];
          row_wd       = v_moving[EntW-1:0];
          if (ctx_q == C_EVICT) begin
            c_ep_d = c_ep_q + 64'd1;
            if (v_to == 3'd4) begin
              c_dis_d = c_dis_q + 64'd1;
            end
          end else begin
            c_pp_d = c_pp_q + 64'd1;
          end
          if (v_e.tier == 2'd0) begin
            t0m_d = t0m_q + 32'd1;
          end
          state_d = S_UNLINK;
        end
      end

      // expiry: one bucket of each ring per visit
      S_X1: begin
        if (x_left_q == '0) begin
          state_d = cfg_q.mode ? S_V1 : S_SCAN;
        end else if (!x_t0_bit && !x_lo_bit) begin
          x_r_d    = x_r_q + 1'b1;
          x_left_d = x_left_q - 1'b1;
        end else begin
          rg_re   = 4'hF;
          rg_ra   = x_r_q;
          state_d = S_X2;
        end
      end

      S_X2: begin  // T0 slot -> head of LRU
        if (x_t0_bit) begin
          x_h = rg_rd[0*HW +: HW];
          x_t = rg_rd[1*HW +: HW];
          c_exp_d = c_exp_q + 64'd1;
          t0b_we = 1'b1;
          t0b_wa = x_r_q;
          t0b_wd = 1'b0;
          if (hh_q[1*PW + HW]) begin
            ht_we = 1'b1;
            ht_wa = 2'd1;
            ht_wd = {1'b0, x_t};
          end else begin
            pn_we[3] = 1'b1;
            pn_wa[3*HW +: HW] = x_t;
            pn_wd[3*PW +: PW] = hh_q[1*PW +: PW];
            pn_we[2] = 1'b1;
            pn_wa[2*HW +: HW] = hh_q[1*PW + 0 +: HW-1 - (0) + 1];
            pn_wd[2*PW +: PW] = {1'b0, x_t};
          end
          hh_we = 1'b1;
          hh_wa = 2'd1;
          hh_wd = {1'b0, x_h};
        end
        state_d = S_X3;
      end

      S_X3: begin  // lower slot -> tail of STALE
        if (x_lo_bit) begin
          x_h = rg_rd[2*HW +: HW];
          x_t = rg_rd[3*HW +: HW];
          c_exp_d = c_exp_q + 64'd1;
          lob_we = 1'b1;
          lob_wa = x_r_q;
          lob_wd = 1'b0;
          if (hh_q[2*PW + HW]) begin
            hh_we = 1'b1;
            hh_wa = 2'd2;
            hh_wd = {1'b0, x_h};
          end else begin
            pn_we[2] = 1'b1;
            pn_wa[2*HW +: HW] = x_h;
            pn_wd[2*PW +: PW] = ht_q[2*PW +: PW];
            pn_we[3] = 1'b1;
            pn_wa[3*HW +: HW] = ht_q[2*PW + 0 +: HW-1 - (0) + 1];
            pn_wd[3*PW +: PW] = {1'b0, x_h};
          end
          ht_we = 1'b1;
          ht_wa = 2'd2;
          ht_wd = {1'b0, x_t};
        end
        x_r_d    = x_r_q + 1'b1;
        x_left_d = x_left_q - 1'b1;
        state_d  = S_X1;
      end

      S_STEP_RSP: begin
        rsp_valid_d  = 1'b1;
        rsp_op_d     = kvcpu_rtbd_pkg::OP_STEP_ADVANCE;
        rsp_status_d = kvcpu_rtbd_pkg::ST_SUCCESS;
        rsp_handle_d = kvcpu_rtbd_pkg::NO_HANDLE;
        rsp_entry_d  = '0;
        state_d      = S_IDLE;
      end

      default: state_d = S_IDLE;
    endcase

    // the reset sweep owns the row RAM's write port
    if (sweep_q) begin
      row_we = 1'b1;
      row_wa = sweep_set_q;
      row_wway = '1;
      row_wd = '0;
    end
  end

  // ---------------------------------------------------------------- registers
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q      <= S_IDLE;
      ctx_q        <= C_OP;
      sweep_q      <= 1'b1;
      sweep_set_q  <= '0;
      step_q       <= '0;
      plan_valid_q <= 1'b0;
      rsp_valid_q  <= 1'b0;
      la_pend_q    <= 1'b0;
      scan_j_q     <= '0;
      c_ops_q      <= '0;
      c_ep_q       <= '0;
      c_pp_q       <= '0;
      c_dis_q      <= '0;
      c_exp_q      <= '0;
      c_vq_q       <= '0;
      c_df_q       <= '0;
      c_hs_q       <= '0;
      t0b_q        <= '0;
      t0m_q        <= '0;
    end else begin
      if (sweep_q) begin
        sweep_set_q <= sweep_set_q + 1'b1;
        if (sweep_set_q == SetBits'(Sets - 1)) begin
          sweep_q <= 1'b0;
        end
      end
      state_q      <= state_d;
      ctx_q        <= ctx_d;
      step_q       <= step_d;
      plan_valid_q <= plan_valid_d;
      rsp_valid_q  <= rsp_valid_d;
      la_pend_q    <= la_pend_d;
      scan_j_q     <= scan_j_d;
      c_ops_q      <= c_ops_d;
      c_ep_q       <= c_ep_d;
      c_pp_q       <= c_pp_d;
      c_dis_q      <= c_dis_d;
      c_exp_q      <= c_exp_d;
      c_vq_q       <= c_vq_d;
      c_df_q       <= c_df_d;
      c_hs_q       <= c_hs_d;
      t0b_q        <= t0b_d;
      t0m_q        <= t0m_d;
    end
  end

  // the register files, one write port each
  for (genvar i = 0; i < 33; i++) begin : gen_seed_lists
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        sh_q[i*PW +: PW] <= NIL;
        st_q[i*PW +: PW] <= NIL;
      end else begin
        if (sh_we && sh_wa == 6'(i)) begin
          sh_q[i*PW +: PW] <= sh_wd;
        end
        if (st_we && st_wa == 6'(i)) begin
          st_q[i*PW +: PW] <= st_wd;
        end
      end
    end
  end
  for (genvar i = 0; i < 32; i++) begin : gen_hla
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        hla_q[i*32 +: 32] <= '0;
      end else if (hla_we && hla_wa == 5'(i)) begin
        hla_q[i*32 +: 32] <= hla_wd;
      end
    end
  end
  for (genvar i = 0; i < 3; i++) begin : gen_hint_lists
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        hh_q[i*PW +: PW] <= NIL;
        ht_q[i*PW +: PW] <= NIL;
      end else begin
        if (hh_we && hh_wa == 2'(i)) begin
          hh_q[i*PW +: PW] <= hh_wd;
        end
        if (ht_we && ht_wa == 2'(i)) begin
          ht_q[i*PW +: PW] <= ht_wd;
        end
      end
    end
  end
  for (genvar i = 0; i < NumBuckets; i++) begin : gen_bits
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        t0_bits_q[i] <= 1'b0;
        lo_bits_q[i] <= 1'b0;
      end else begin
        if (t0b_we && t0b_wa == NbW'(i)) begin
          t0_bits_q[i] <= t0b_wd;
        end
        if (lob_we && lob_wa == NbW'(i)) begin
          lo_bits_q[i] <= lob_wd;
        end
      end
    end
  end

  // datapath registers: no reset (qualified by the state)
  always_ff @(posedge clk_i) begin
    if (acc) begin
      req_q <= req_in;
      cfg_q <= cfg_in;
    end
    h_q        <= h_d;
    sd_found_q <= sd_found_d;
    sd_best_q  <= sd_best_d;
    sd_cls_q   <= sd_cls_d;
    cand_ram_q <= cand_ram_d;
    cand_q     <= cand_d;
    old_s_q    <= old_s_d;
    new_s_q    <= new_s_d;
    old_h_q    <= old_h_d;
    new_h_q    <= new_h_d;
    la_cls_q   <= la_cls_d;
    la_way_q   <= la_way_d;
    plan_cnt_q <= plan_cnt_d;
    x_r_q      <= x_r_d;
    x_left_q   <= x_left_d;
    plan_q     <= plan_d;
    rsp_op_q     <= rsp_op_d;
    rsp_status_q <= rsp_status_d;
    rsp_handle_q <= rsp_handle_d;
    rsp_entry_q  <= rsp_entry_d;
  end

  assign step_o                = step_q;
  assign rsp_valid_o           = rsp_valid_q;
  assign rsp_op_o              = rsp_op_q;
  assign rsp_status_o          = rsp_status_q;
  assign rsp_handle_o          = rsp_handle_q;
  assign rsp_entry_o           = rsp_entry_q;
  assign plan_valid_o          = plan_valid_q;
  assign plan_o                = plan_q;
  assign cnt_ops_o             = c_ops_q;
  assign cnt_evict_plans_o     = c_ep_q;
  assign cnt_prefetch_plans_o  = c_pp_q;
  assign cnt_discards_o        = c_dis_q;
  assign cnt_expired_buckets_o = c_exp_q;
  assign cnt_victim_queries_o  = c_vq_q;
  assign cnt_dir_full_o        = c_df_q;
  assign cnt_hint_stale_o      = c_hs_q;
  assign t0_blocks_o           = t0b_q;
  assign t0_moving_o           = t0m_q;

  // PREFETCH_T is a register of the seed's set that drives no decision (rtbd-hepc.md).
  // The step field of req_t is kvcpu_rtbd's; the reserved entry bits are not stored.
  logic unused;
  assign unused = ^{cfg_q.prefetch_t, req_q.step, e_before.reserved, v_moving.reserved};

  // ---------------------------------------------------------------- assertions
  `KV_ASSERT(ReqHold_A, req_valid_i && !req_ready_o |=> req_valid_i && $stable(req_in))
  `KV_ASSERT(PlanHold_A, plan_valid_o && !plan_ready_i |=> plan_valid_o && $stable(plan_o))
  `KV_ASSERT(PlanOnlyInPlan_A, plan_valid_o |-> state_q == S_PLAN)
  `KV_ASSERT(RowNoCollision_A, !(row_we && row_re && row_wa == row_ra))
  `KV_ASSERT(PnNoCollision_A, !(pn_re && |pn_we))
  `KV_ASSERT(RgNoCollision_A, !(|rg_re && |rg_we))
  `KV_ASSERT(OneHit_A, state_q == S_EXEC |-> $onehot0(hitv))
  `KV_ASSERT(GaugeOrder_A, t0m_q <= t0b_q)
  `KV_ASSERT(RspSuccessHandle_A, rsp_valid_o && rsp_status_o == kvcpu_rtbd_pkg::ST_SUCCESS &&
             rsp_op_o != kvcpu_rtbd_pkg::OP_VICTIM && rsp_op_o != kvcpu_rtbd_pkg::OP_STEP_ADVANCE
             |-> rsp_handle_o != kvcpu_rtbd_pkg::NO_HANDLE)
  `KV_ASSERT(RspNoHandleEmpty_A, rsp_valid_o && rsp_handle_o == kvcpu_rtbd_pkg::NO_HANDLE
             |-> rsp_entry_o == '0)
  `KV_ASSERT(RspHandleRange_A, rsp_valid_o && rsp_handle_o != kvcpu_rtbd_pkg::NO_HANDLE
             |-> (rsp_handle_o >> HW) == 32'd0)
  `KV_ASSERT_KNOWN(RspValidKnown_A, rsp_valid_o)
  `KV_ASSERT_KNOWN(PlanValidKnown_A, plan_valid_o)
  `KV_ASSERT_KNOWN(ReqReadyKnown_A, req_ready_o)
  `KV_ASSERT(RspKnown_A, rsp_valid_o |-> !$isunknown({rsp_status_o, rsp_handle_o}))
  `KV_ASSERT(PlanKnown_A, plan_valid_o |-> !$isunknown(plan_o))

endmodule
