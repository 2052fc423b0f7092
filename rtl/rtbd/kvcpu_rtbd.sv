// RTBD: the request-tagged block directory (docs/rtbd-hepc.md "Directory (RTBD)";
// docs/rtbd.md for ports, pipeline and hazards). 2^SetBits sets x 8 ways; the handle of an
// entry is set*8 + way. Ops: INSERT, LOOKUP, TOUCH, UPDATE_HINT, DELETE, SHARE, RELEASE,
// SET_TIER (STEP_ADVANCE and the victim structures are HEPC's).
//
// Pipeline, one op per cycle, fixed latency 2, no response backpressure:
//   cycle 0 (accept): hash the key (or take the handle's set), read the set row (sync RAM).
//   cycle 1 (execute): the row (RAM data, or the row written one cycle earlier: forwarding),
//                      compare the 8 ways, compute status/handle/new entry, write the row.
//   cycle 2: the response registers are valid for one cycle.
// Reset: the control flops reset asynchronously; then the block sweeps every set row to 0
// (req_ready_o low for 2^SetBits cycles), so all entries start invalid and the RAM needs no
// reset (it maps to block RAM).
`include "kvcpu_assert.svh"

module kvcpu_rtbd #(
  parameter int unsigned SetBits     = 5,     // 1..13: 2^SetBits sets, 8 * 2^SetBits entries
  parameter int unsigned BucketShift = 4,     // G: steps per next-use bucket = 2^G (0..16)
  parameter int unsigned NumBuckets  = 1024   // NB: power of two, 32..1024
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  // requests (valid/ready; ready is low only during the reset sweep)
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
  input  logic [31:0]            req_target_i,        // UPDATE_HINT PREFETCH target step
  input  logic [31:0]            step_i,              // current step, sampled with the request
  // responses: valid exactly 2 cycles after the request's handshake, for one cycle
  output logic                   rsp_valid_o,
  output kvcpu_rtbd_pkg::op_e    rsp_op_o,
  output logic [15:0]            rsp_status_o,
  output logic [31:0]            rsp_handle_o,        // NO_HANDLE (all ones) when none
  output kvcpu_rtbd_pkg::entry_t rsp_entry_o          // the entry at rsp_handle_o after the op
);

  if (SetBits < 1 || SetBits > kvcpu_rtbd_pkg::MAX_SET_BITS) begin : gen_bad_set_bits
    $error("kvcpu_rtbd: SetBits must be within 1..13");
  end
  if (BucketShift > 16) begin : gen_bad_shift
    $error("kvcpu_rtbd: BucketShift must be within 0..16");
  end
  if (NumBuckets < 32 || NumBuckets > 1024 || (NumBuckets & (NumBuckets - 1)) != 0)
  begin : gen_bad_buckets
    $error("kvcpu_rtbd: NumBuckets must be a power of two within 32..1024");
  end

  localparam int unsigned Ways    = kvcpu_rtbd_pkg::WAYS;
  localparam int unsigned Sets    = 1 << SetBits;
  localparam int unsigned HandleW = SetBits + 3;
  localparam int unsigned EntW    = kvcpu_rtbd_pkg::STORED_W;
  localparam int unsigned RowW    = Ways * EntW;
  localparam logic [32:0] NbMinus1 = 33'(NumBuckets - 1);

  // Set index of a key: m = a ^ a>>9 ^ a>>14 ^ rotl(b,16) ^ rotl(b,3) ^ rotl(b,11),
  // set = xor of the SetBits-wide chunks of m (the last one zero-extended).
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

  // ---------------------------------------------------------------- accept (cycle 0)
  logic                    sweep_q;       // reset sweep in progress
  logic [SetBits-1:0]      sweep_set_q;
  logic                    acc;
  kvcpu_rtbd_pkg::req_t    req_in;
  logic [SetBits-1:0]      s0_set;

  assign req_ready_o = !sweep_q;
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
    req_in.step         = step_i;
    s0_set = (req_op_i == kvcpu_rtbd_pkg::OP_SET_TIER) ? req_handle_i[HandleW-1:3]
                                                       : key_set(req_key_i);
  end

  // ---------------------------------------------------------------- set rows (block RAM)
  // One row per set: way w at [w*EntW +: EntW]. Synchronous read, one write port, no reset.
  // A read of the row being written in the same cycle is never used (the execute stage
  // takes the forwarded row instead), so it reads X: Yosys then maps the port as "don't care
  // on collision" and adds no read-first emulation (a second 2,408-bit register).
  logic [RowW-1:0]    mem_q [Sets];
  logic [RowW-1:0]    rdata_q;
  logic               mem_we;
  logic [SetBits-1:0] mem_waddr;
  logic [RowW-1:0]    mem_wdata;

  always_ff @(posedge clk_i) begin
    if (mem_we) begin
      mem_q[mem_waddr] <= mem_wdata;
    end
    if (acc) begin
      rdata_q <= (mem_we && mem_waddr == s0_set) ? 'x : mem_q[s0_set];
    end
  end

  // ---------------------------------------------------------------- execute (cycle 1)
  logic                    s1_valid_q;
  kvcpu_rtbd_pkg::req_t    s1_q;
  logic [SetBits-1:0]      s1_set_q;
  // the row written at the end of the previous cycle (forwarding source)
  logic                    wb_valid_q;
  logic [SetBits-1:0]      wb_set_q;
  logic [RowW-1:0]         wb_row_q;

  logic                    fwd;
  logic [RowW-1:0]         row, new_row;
  logic [EntW-1:0]         way_vec [Ways];
  logic [Ways-1:0]         vld, hitv;
  logic                    hit, has_free, found, in_range, we;
  logic [2:0]              hit_way, free_way, tgt_way, wr_way;
  kvcpu_rtbd_pkg::entry_t  e_old, e_new;
  logic [15:0]             status;
  logic                    has_handle;
  logic [31:0]             cur_bucket, tgt_bucket;
  logic [32:0]             bucket_lim;

  assign fwd = wb_valid_q && (wb_set_q == s1_set_q);
  assign row = fwd ? wb_row_q : rdata_q;

  for (genvar w = 0; w < Ways; w++) begin : gen_ways
    assign way_vec[w] = row[w*EntW +: EntW];
    assign vld[w]     = way_vec[w][0];
    assign hitv[w]    = way_vec[w][0] && (way_vec[w][64:1] == s1_q.key);
  end

  always_comb begin
    hit_way  = 3'd0;
    free_way = 3'd0;
    for (int w = Ways - 1; w >= 0; w--) begin
      if (hitv[w]) begin
        hit_way = 3'(w);
      end
      if (!vld[w]) begin
        free_way = 3'(w);  // the lowest invalid way wins
      end
    end
  end

  assign hit      = |hitv;
  assign has_free = !(&vld);
  // SET_TIER addresses a handle: live when in range and its way is valid
  assign in_range = (s1_q.handle >> HandleW) == 32'd0;
  assign tgt_way  = (s1_q.op == kvcpu_rtbd_pkg::OP_SET_TIER) ? s1_q.handle[2:0] : hit_way;
  assign found    = (s1_q.op == kvcpu_rtbd_pkg::OP_SET_TIER) ? (in_range && vld[tgt_way]) : hit;

  assign cur_bucket = s1_q.step >> BucketShift;
  assign tgt_bucket = s1_q.target >> BucketShift;
  assign bucket_lim = {1'b0, cur_bucket} + NbMinus1;

  always_comb begin
    e_old      = {19'b0, way_vec[tgt_way]};
    e_new      = e_old;
    status     = kvcpu_rtbd_pkg::ST_SUCCESS;
    has_handle = found;
    we         = 1'b0;
    wr_way     = tgt_way;
    unique case (s1_q.op)
      kvcpu_rtbd_pkg::OP_INSERT: begin
        if (s1_q.tier > 3'd3) begin
          status     = kvcpu_rtbd_pkg::ST_BAD_FIELD;
          has_handle = 1'b0;
        end else if (hit) begin
          status = kvcpu_rtbd_pkg::ST_DUPLICATE;
        end else if (!has_free) begin
          status = kvcpu_rtbd_pkg::ST_DIR_FULL;  // no set victim without HEPC state
        end else begin
          has_handle         = 1'b1;
          we                 = 1'b1;
          wr_way             = free_way;
          e_new              = '0;
          e_new.valid        = 1'b1;
          e_new.key          = s1_q.key;
          e_new.tier         = s1_q.tier[1:0];
          e_new.addr         = s1_q.addr;
          e_new.freq         = 4'd1;
          e_new.last_access  = s1_q.step;
          e_new.prefix       = s1_q.prefix;
          e_new.dirty        = s1_q.dirty;
          e_new.recompute_ok = s1_q.recompute_ok;
          e_new.lifetime_end = s1_q.lifetime_end;
          e_new.session      = s1_q.session;
          e_new.model_id     = s1_q.model_id;
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
          we = 1'b1;
          if (e_old.freq != kvcpu_rtbd_pkg::FREQ_MAX) begin
            e_new.freq = e_old.freq + 4'd1;
          end
          e_new.last_access = s1_q.step;
          if (e_old.hint == kvcpu_rtbd_pkg::HINT_PREFETCH ||
              e_old.hint == kvcpu_rtbd_pkg::HINT_EVICT) begin
            e_new.hint = kvcpu_rtbd_pkg::HINT_NONE;
          end
        end
      end
      kvcpu_rtbd_pkg::OP_UPDATE_HINT: begin
        if (s1_q.hint > 3'd3) begin
          status     = kvcpu_rtbd_pkg::ST_BAD_FIELD;
          has_handle = 1'b0;
        end else if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else if (s1_q.hint[1:0] == kvcpu_rtbd_pkg::HINT_PREFETCH &&
                     tgt_bucket < cur_bucket) begin
          status = kvcpu_rtbd_pkg::ST_HINT_STALE;
        end else begin
          we         = 1'b1;
          e_new.hint = s1_q.hint[1:0];
          if (s1_q.hint[1:0] == kvcpu_rtbd_pkg::HINT_PREFETCH) begin
            e_new.next_use    = s1_q.target;
            e_new.hint_bucket = ({1'b0, tgt_bucket} < bucket_lim) ? tgt_bucket
                                                                   : bucket_lim[31:0];
          end
        end
      end
      kvcpu_rtbd_pkg::OP_DELETE: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else begin
          we    = 1'b1;
          e_new = '0;
        end
      end
      kvcpu_rtbd_pkg::OP_SHARE: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else if (e_old.refcount == kvcpu_rtbd_pkg::REF_MAX) begin
          status = kvcpu_rtbd_pkg::ST_REF_OVERFLOW;
        end else begin
          we             = 1'b1;
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
          we             = 1'b1;
          e_new.refcount = e_old.refcount - 8'd1;
        end
      end
      kvcpu_rtbd_pkg::OP_SET_TIER: begin
        if (!found) begin
          status = kvcpu_rtbd_pkg::ST_NOT_FOUND;
        end else if (s1_q.tier > 3'd3) begin
          status = kvcpu_rtbd_pkg::ST_BAD_FIELD;
        end else begin
          we           = 1'b1;
          e_new.tier   = s1_q.tier[1:0];
          e_new.addr   = s1_q.addr;
          e_new.moving = 1'b0;
        end
      end
      default: ;
    endcase
    if (!s1_valid_q) begin
      we = 1'b0;
    end
    for (int w = 0; w < Ways; w++) begin
      new_row[w*EntW +: EntW] = (3'(w) == wr_way) ? e_new[EntW-1:0] : way_vec[w];
    end
  end

  // write port: the reset sweep, else the executing op's row
  assign mem_we    = sweep_q || we;
  assign mem_waddr = sweep_q ? sweep_set_q : s1_set_q;
  assign mem_wdata = sweep_q ? '0 : new_row;

  // ---------------------------------------------------------------- registers
  logic                   rsp_valid_q;
  kvcpu_rtbd_pkg::op_e    rsp_op_q;
  logic [15:0]            rsp_status_q;
  logic [31:0]            rsp_handle_q;
  kvcpu_rtbd_pkg::entry_t rsp_entry_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sweep_q     <= 1'b1;
      sweep_set_q <= '0;
      s1_valid_q  <= 1'b0;
      wb_valid_q  <= 1'b0;
      rsp_valid_q <= 1'b0;
    end else begin
      if (sweep_q) begin
        sweep_set_q <= sweep_set_q + 1'b1;
        if (sweep_set_q == SetBits'(Sets - 1)) begin
          sweep_q <= 1'b0;
        end
      end
      s1_valid_q  <= acc;
      wb_valid_q  <= we;
      rsp_valid_q <= s1_valid_q;
    end
  end

  // datapath registers: no reset (qualified by the valid flops above)
  always_ff @(posedge clk_i) begin
    if (acc) begin
      s1_q     <= req_in;
      s1_set_q <= s0_set;
    end
    if (we) begin
      wb_set_q <= s1_set_q;
      wb_row_q <= new_row;
    end
    if (s1_valid_q) begin
      rsp_op_q     <= s1_q.op;
      rsp_status_q <= status;
      rsp_handle_q <= has_handle ? 32'({s1_set_q, (s1_q.op == kvcpu_rtbd_pkg::OP_INSERT &&
                                                   status == kvcpu_rtbd_pkg::ST_SUCCESS)
                                                      ? free_way : tgt_way})
                                 : kvcpu_rtbd_pkg::NO_HANDLE;
      rsp_entry_q  <= has_handle ? e_new : '0;
    end
  end

  assign rsp_valid_o  = rsp_valid_q;
  assign rsp_op_o     = rsp_op_q;
  assign rsp_status_o = rsp_status_q;
  assign rsp_handle_o = rsp_handle_q;
  assign rsp_entry_o  = rsp_entry_q;

  // ---------------------------------------------------------------- assertions
  // a request waiting for ready holds still (only the reset sweep deasserts ready)
  `KV_ASSERT(ReqHold_A, req_valid_i && !req_ready_o |=> req_valid_i &&
             $stable(req_in) && $stable(s0_set))
  // fixed latency: a response exactly two cycles after each accepted request
  `KV_ASSERT(RspLatency_A, rsp_valid_o == $past(acc, 2))
  // a read that collides with the write of its row is replaced by the forwarded row
  `KV_ASSERT(CollisionForwarded_A, acc && mem_we && mem_waddr == s0_set |=> fwd)
  // a key is in at most one way of its set
  `KV_ASSERT(OneHit_A, s1_valid_q |-> $onehot0(hitv))
  // response shape: success has a handle; no handle means an empty entry; handles in range
  `KV_ASSERT(RspSuccessHandle_A, rsp_valid_o && rsp_status_o == kvcpu_rtbd_pkg::ST_SUCCESS
             |-> rsp_handle_o != kvcpu_rtbd_pkg::NO_HANDLE)
  `KV_ASSERT(RspNoHandleEmpty_A, rsp_valid_o && rsp_handle_o == kvcpu_rtbd_pkg::NO_HANDLE
             |-> rsp_entry_o == '0)
  `KV_ASSERT(RspHandleRange_A, rsp_valid_o && rsp_handle_o != kvcpu_rtbd_pkg::NO_HANDLE
             |-> (rsp_handle_o >> HandleW) == 32'd0)
  `KV_ASSERT(RspReserved_A, rsp_valid_o |-> rsp_entry_o.reserved == '0)
  `KV_ASSERT_KNOWN(RspValidKnown_A, rsp_valid_o)
  `KV_ASSERT_KNOWN(ReqReadyKnown_A, req_ready_o)
  `KV_ASSERT(RspKnown_A, rsp_valid_o |-> !$isunknown({rsp_status_o, rsp_handle_o}))

endmodule
