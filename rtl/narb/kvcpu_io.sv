// I/O unit: the I/O commands between the executor, the NVMe command arbiter (kvcpu_narb) and
// the NVMe port (docs/io.md).
//
// - The executor pushes a checked I/O command (one-cycle offer, taken iff push_ok_o): it gets
//   a context, its request goes into the arbiter's class queue, and the executor is free
//   again. Up to NumCtx I/O commands are in the device at once; a push with no free context
//   is refused (the executor completes it with IO_BUSY).
// - A dispatch of the arbiter becomes one 64-byte NVMe command: CID = {generation, context}.
//   A merged dispatch (arb_disp_ntags_i == 2) names two queued 4 KiB READs or WRITEs that the
//   arbiter found adjacent: one 8 KiB command with PRP1/PRP2 = their buffers, the CID of the
//   first (the lead); the second is its follower and completes with it.
// - A CQE whose CID names an issued context of the same generation completes it (SUCCESS /
//   NVME_ERROR) and frees the arbiter's slot; any other CQE is stale and dropped. A context
//   issued IoTimeoutCycles ago (checked one context per cycle) completes with IO_TIMEOUT; its
//   generation moves on so that a late CQE is stale.
// - Completed contexts are offered to the queue engine (acpl) one at a time, round robin,
//   with everything the engine needs to post the CQE and its provenance record; the context
//   is free after that handshake. Completions are out of order with respect to submission.
`include "kvcpu_assert.svh"

module kvcpu_io #(
  parameter int unsigned QidW            = 3,
  parameter int unsigned NumCtx          = 8,            // a power of two, 2..256
  parameter int unsigned NumSlots        = 8,            // the arbiter's NVMe command slots
  parameter int unsigned IoTimeoutCycles = 32'h0040_0000,
  parameter int unsigned CyclesPerUs     = 250,          // the arbiter's microsecond clock
  localparam int unsigned CtxW  = (NumCtx > 1) ? $clog2(NumCtx) : 1,
  localparam int unsigned SlotW = $clog2(NumSlots),
  localparam int unsigned GenW  = 16 - CtxW
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic [63:0]             time_i,          // device cycle counter (provenance)
  output logic [31:0]             now_us_o,        // microseconds since reset (the arbiter's time)
  // checked I/O commands from the executor
  input  logic                    push_i,
  output logic                    push_ok_o,
  input  logic [QidW-1:0]         push_qid_i,
  input  kvcpu_hif_pkg::sqe_t     push_sqe_i,
  input  logic [191:0]            push_prov_i,     // {t_started, t_fetched, t_db} of the command
  // completions to the queue engine
  output logic                    acpl_valid_o,
  input  logic                    acpl_ready_i,
  output logic [QidW-1:0]         acpl_qid_o,
  output kvcpu_hif_pkg::sqe_t     acpl_sqe_o,      // cid, flow_id, home_queue, io_class, opcode; rest 0
  output logic [14:0]             acpl_status_o,
  output logic [31:0]             acpl_result_o,
  output logic [255:0]            acpl_prov_o,     // {t_done, t_started, t_fetched, t_db}
  // the arbiter (kvcpu_narb), as its requester
  output logic                    arb_req_valid_o,
  input  logic                    arb_req_ready_i,
  output logic [2:0]              arb_req_class_o,
  output logic [15:0]             arb_req_session_o,
  output logic [7:0]              arb_req_model_o,
  output logic [7:0]              arb_req_opcode_o,
  output logic [63:0]             arb_req_lba_o,
  output logic [15:0]             arb_req_nblocks_o,
  output logic [15:0]             arb_req_tag_o,
  output logic                    arb_req_merge_o,   // may be merged: READ/WRITE of 4 KiB, no placement
  input  logic                    arb_disp_valid_i,
  output logic                    arb_disp_ready_o,
  input  logic [SlotW-1:0]        arb_disp_slot_i,
  input  logic [7:0]              arb_disp_opcode_i,
  input  logic [63:0]             arb_disp_lba_i,
  input  logic [15:0]             arb_disp_nblocks_i,
  input  logic [15:0]             arb_disp_tag_i,
  input  logic [7:0]              arb_disp_ntags_i,  // 1, or 2: tag and tag2 in one NVMe command
  input  logic [15:0]             arb_disp_tag2_i,
  output logic                    arb_cpl_valid_o,
  output logic [SlotW-1:0]        arb_cpl_slot_o,
  output logic [15:0]             arb_cpl_status_o,
  // NVMe port: 64-byte SQEs out, 16-byte CQEs in (little-endian byte images)
  output logic                    nvme_sq_valid_o,
  input  logic                    nvme_sq_ready_i,
  output logic [511:0]            nvme_sq_o,
  input  logic                    nvme_cq_valid_i,
  output logic                    nvme_cq_ready_o,  // always 1
  input  logic [127:0]            nvme_cq_i,
  // counters (wrap) and status
  output logic [31:0]             cnt_refused_o,    // pushes with no free context
  output logic [31:0]             cnt_stale_o,      // CQEs dropped
  output logic [31:0]             cnt_timeouts_o,   // contexts (I/O commands) completed with IO_TIMEOUT
  output logic [CtxW:0]           sts_in_use_o,     // contexts not free
  output logic                    busy_o
);

  if (NumCtx < 2 || NumCtx > 256 || (NumCtx & (NumCtx - 1)) != 0) begin : g_bad_ctx
    $error("kvcpu_io: NumCtx must be a power of two within 2..256");
  end
  if (NumSlots < 2 || NumSlots > NumCtx || (NumSlots & (NumSlots - 1)) != 0) begin : g_bad_slots
    $error("kvcpu_io: NumSlots must be a power of two within 2..NumCtx");
  end
  if (CyclesPerUs < 1 || CyclesPerUs > 65535) begin : g_bad_us
    $error("kvcpu_io: CyclesPerUs must be 1..65535");
  end

  typedef enum logic [1:0] {
    C_FREE,    // not in use
    C_QUEUED,  // in the arbiter's queues
    C_ISSUED,  // its NVMe command went out on the port
    C_DONE     // completed, waiting for the queue engine
  } ctx_e;

  // ---- microsecond clock for the arbiter
  logic [15:0] us_div_q;
  logic [31:0] us_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      us_div_q <= '0;
      us_q     <= '0;
    end else if (us_div_q == 16'(CyclesPerUs - 1)) begin
      us_div_q <= '0;
      us_q     <= us_q + 32'd1;
    end else begin
      us_div_q <= us_div_q + 16'd1;
    end
  end
  assign now_us_o = us_q;

  // ---- contexts (state with reset; payload registers without)
  ctx_e             st_q [NumCtx];
  logic [GenW-1:0]  gen_q [NumCtx];
  logic [SlotW-1:0] slot_q [NumCtx];
  logic [31:0]      t_issue_q [NumCtx];     // time_i[31:0] at the NVMe submission
  logic [QidW-1:0]  qid_q [NumCtx];
  logic [15:0]      cid_q [NumCtx];
  logic [31:0]      flow_q [NumCtx];
  logic [15:0]      home_q [NumCtx];
  logic [7:0]       cls_q [NumCtx];
  logic [7:0]       opc_q [NumCtx];
  logic [63:0]      prp1_q [NumCtx];
  logic [31:0]      len_q [NumCtx];
  logic [3:0]       dtype_q [NumCtx];
  logic [15:0]      dspec_q [NumCtx];
  logic [191:0]     prov_q [NumCtx];
  logic [63:0]      t_done_q [NumCtx];
  logic [14:0]      status_q [NumCtx];
  logic [31:0]      result_q [NumCtx];
  // merged dispatches: a lead (has_fol) and its follower (fol) share one NVMe command
  logic             has_fol_q [NumCtx];     // the context's NVMe command carries link_q's too
  logic             fol_q [NumCtx];         // the context rides in another one's NVMe command
  logic [CtxW-1:0]  link_q [NumCtx];        // a lead's follower

  // ---- push: the lowest free context
  logic            any_free;
  logic [CtxW-1:0] free_idx;
  always_comb begin
    any_free = 1'b0;
    free_idx = '0;
    for (int i = NumCtx - 1; i >= 0; i--) begin
      if (st_q[i] == C_FREE) begin
        any_free = 1'b1;
        free_idx = CtxW'(i);
      end
    end
  end

  logic [7:0]  push_nvme_opc;
  logic [19:0] push_lbas;   // length in 4 KiB blocks
  always_comb begin
    unique case (push_sqe_i.opcode)
      kvcpu_hif_pkg::OPC_IO_READ:  push_nvme_opc = 8'h02;
      kvcpu_hif_pkg::OPC_IO_WRITE: push_nvme_opc = 8'h01;
      default:                     push_nvme_opc = 8'h09;  // Dataset Management
    endcase
  end
  assign push_lbas = push_sqe_i.length[31:12];

  logic push_fire;
  assign push_ok_o         = any_free && arb_req_ready_i;
  assign push_fire         = push_i && push_ok_o;
  assign arb_req_valid_o   = push_i && any_free;
  assign arb_req_class_o   = push_sqe_i.io_class[2:0];
  assign arb_req_session_o = push_sqe_i.cmd_specific[79:64];
  assign arb_req_model_o   = push_sqe_i.cmd_specific[87:80];
  assign arb_req_opcode_o  = push_nvme_opc;
  assign arb_req_lba_o     = push_sqe_i.cmd_specific[63:0];
  assign arb_req_nblocks_o = (push_lbas[19:16] != '0) ? 16'hFFFF : push_lbas[15:0];
  assign arb_req_tag_o     = 16'(free_idx);
  // a pair of these is one 8 KiB command with PRP1 and PRP2 (no PRP list), one placement
  assign arb_req_merge_o   = (push_sqe_i.opcode == kvcpu_hif_pkg::OPC_IO_READ ||
                              push_sqe_i.opcode == kvcpu_hif_pkg::OPC_IO_WRITE) &&
                             (push_sqe_i.length == 32'h0000_1000) &&
                             (push_sqe_i.cmd_specific[91:88] == 4'd0);

  // ---- dispatch: the NVMe command (NVMe base spec 2.0 "Common Command Format"; NVM command
  // set Read 0x02, Write 0x01, Dataset Management 0x09 with AD)
  logic [CtxW-1:0] d_ctx, d_ctx2;
  logic            d_pair;
  logic [511:0]    nsqe;
  logic            disp_fire;
  assign d_ctx     = arb_disp_tag_i[CtxW-1:0];
  assign d_ctx2    = arb_disp_tag2_i[CtxW-1:0];
  assign d_pair    = arb_disp_ntags_i[1];          // ntags is 1 or 2 (asserted)
  assign disp_fire = arb_disp_valid_i && nvme_sq_ready_i;
  always_comb begin
    nsqe          = '0;
    nsqe[7:0]     = arb_disp_opcode_i;
    nsqe[31:16]   = {gen_q[d_ctx], d_ctx};       // CID
    nsqe[63:32]   = 32'd1;                       // NSID
    nsqe[255:192] = prp1_q[d_ctx];               // PRP1 (DSM: the range list)
    if (arb_disp_opcode_i == 8'h09) begin
      nsqe[354] = 1'b1;                          // CDW11.AD; CDW10.NR = 0: one range
    end else begin
      if (d_pair) begin
        nsqe[319:256] = {prp1_q[d_ctx2][63:12], 12'h000};  // PRP2: the follower's page (aligned)
      end else if (len_q[d_ctx][31:12] == 20'd2) begin
        nsqe[319:256] = prp1_q[d_ctx] + 64'h1000;  // PRP2: the second page
      end
      nsqe[383:320] = arb_disp_lba_i;            // CDW10/11: SLBA
      nsqe[399:384] = arb_disp_nblocks_i - 16'd1;// CDW12.NLB, 0's based
      nsqe[407:404] = dtype_q[d_ctx];            // CDW12.DTYPE
      nsqe[447:432] = dspec_q[d_ctx];            // CDW13.DSPEC
    end
  end
  assign nvme_sq_valid_o  = arb_disp_valid_i;
  assign nvme_sq_o        = nsqe;
  assign arb_disp_ready_o = nvme_sq_ready_i;

  // ---- completions from the port: only a lead's CID (a follower's CID never went out)
  logic [CtxW-1:0] c_ctx;
  logic            cq_match;
  logic [14:0]     cq_status;
  assign c_ctx     = nvme_cq_i[96 +: CtxW];
  assign cq_match  = nvme_cq_valid_i && (st_q[c_ctx] == C_ISSUED) && !fol_q[c_ctx] &&
                     (nvme_cq_i[111:96+CtxW] == gen_q[c_ctx]);
  assign cq_status = nvme_cq_i[127:113];
  assign nvme_cq_ready_o = 1'b1;

  // ---- timeout scan: one context per cycle, in cycles without a CQE match (a follower
  // times out with its lead, never on its own)
  logic [CtxW-1:0] scan_q;
  logic            tmo;
  assign tmo = !cq_match && (st_q[scan_q] == C_ISSUED) && !fol_q[scan_q] &&
               ((time_i[31:0] - t_issue_q[scan_q]) >= IoTimeoutCycles);

  // the NVMe command completing this cycle: its lead k_ctx and, merged, its follower k_fol
  logic            k_fire, k_pair;
  logic [CtxW-1:0] k_ctx, k_fol;
  logic [14:0]     k_status;
  logic [31:0]     k_result;
  assign k_fire = cq_match || tmo;
  assign k_ctx  = cq_match ? c_ctx : scan_q;
  assign k_pair = has_fol_q[k_ctx];
  assign k_fol  = link_q[k_ctx];
  logic [NumCtx-1:0] k_done;  // the contexts completing: the lead and its follower
  always_comb begin
    for (int i = 0; i < NumCtx; i++) begin
      k_done[i] = k_fire && (k_ctx == CtxW'(i) || (k_pair && k_fol == CtxW'(i)));
    end
  end
  always_comb begin
    if (!cq_match) begin
      k_status = kvcpu_hif_pkg::ST_IO_TIMEOUT;
      k_result = '0;
    end else if (cq_status == '0) begin
      k_status = kvcpu_hif_pkg::ST_SUCCESS;
      k_result = len_q[k_ctx];
    end else begin
      k_status = kvcpu_hif_pkg::ST_NVME_ERROR;
      k_result = {17'b0, cq_status};
    end
  end

  assign arb_cpl_valid_o  = cq_match || tmo;
  assign arb_cpl_slot_o   = cq_match ? slot_q[c_ctx] : slot_q[scan_q];
  assign arb_cpl_status_o = cq_match ? {1'b0, cq_status} : 16'hFFFF;

  // ---- offer of completed contexts: latched, round robin from the last one taken
  logic            sel_valid_q;
  logic [CtxW-1:0] sel_q, rr_q;
  logic            any_done;
  logic [CtxW-1:0] done_idx;
  always_comb begin
    any_done = 1'b0;
    done_idx = '0;
    for (int k = NumCtx; k >= 1; k--) begin
      // candidates rr+1, rr+2, ..., rr+NumCtx (= rr): the first one wins
      if (st_q[rr_q + CtxW'(k)] == C_DONE) begin
        any_done = 1'b1;
        done_idx = rr_q + CtxW'(k);
      end
    end
  end
  logic acpl_fire;
  assign acpl_fire = sel_valid_q && acpl_ready_i;

  // ---- state
  logic [31:0] cnt_refused_q, cnt_stale_q, cnt_timeouts_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int i = 0; i < NumCtx; i++) begin
        st_q[i]      <= C_FREE;
        gen_q[i]     <= '0;
        has_fol_q[i] <= 1'b0;
        fol_q[i]     <= 1'b0;
      end
      scan_q         <= '0;
      sel_valid_q    <= 1'b0;
      sel_q          <= '0;
      rr_q           <= CtxW'(NumCtx - 1);
      cnt_refused_q  <= '0;
      cnt_stale_q    <= '0;
      cnt_timeouts_q <= '0;
    end else begin
      if (push_fire) begin
        st_q[free_idx] <= C_QUEUED;
      end
      if (disp_fire) begin
        st_q[d_ctx]      <= C_ISSUED;
        has_fol_q[d_ctx] <= d_pair;
        if (d_pair) begin
          st_q[d_ctx2]  <= C_ISSUED;
          fol_q[d_ctx2] <= 1'b1;
        end
      end
      for (int i = 0; i < NumCtx; i++) begin
        if (k_done[i]) begin
          st_q[i]  <= C_DONE;
          gen_q[i] <= gen_q[i] + 1'b1;
        end
      end
      if (!cq_match) begin
        scan_q <= scan_q + 1'b1;
      end
      if (acpl_fire) begin
        st_q[sel_q]      <= C_FREE;
        has_fol_q[sel_q] <= 1'b0;  // a free context drags no old partner along
        fol_q[sel_q]     <= 1'b0;
        rr_q             <= sel_q;
        sel_valid_q      <= 1'b0;
      end else if (!sel_valid_q && any_done) begin
        sel_valid_q <= 1'b1;
        sel_q       <= done_idx;
      end
      if (push_i && !push_ok_o) begin
        cnt_refused_q <= cnt_refused_q + 32'd1;
      end
      if (nvme_cq_valid_i && !cq_match) begin
        cnt_stale_q <= cnt_stale_q + 32'd1;
      end
      if (tmo) begin
        cnt_timeouts_q <= cnt_timeouts_q + (k_pair ? 32'd2 : 32'd1);
      end
    end
  end

  // payload: written when a context is taken, issued or completed
  always_ff @(posedge clk_i) begin
    if (push_fire) begin
      qid_q[free_idx]   <= push_qid_i;
      cid_q[free_idx]   <= push_sqe_i.cid;
      flow_q[free_idx]  <= push_sqe_i.flow_id;
      home_q[free_idx]  <= push_sqe_i.home_queue;
      cls_q[free_idx]   <= push_sqe_i.io_class;
      opc_q[free_idx]   <= push_sqe_i.opcode;
      prp1_q[free_idx]  <= push_sqe_i.addr0;
      len_q[free_idx]   <= push_sqe_i.length;
      dtype_q[free_idx] <= push_sqe_i.cmd_specific[91:88];
      dspec_q[free_idx] <= push_sqe_i.cmd_specific[111:96];
      prov_q[free_idx]  <= push_prov_i;
    end
    if (disp_fire) begin
      slot_q[d_ctx]    <= arb_disp_slot_i;
      t_issue_q[d_ctx] <= time_i[31:0];
      link_q[d_ctx]    <= d_ctx2;  // meaningful while has_fol_q
    end
    for (int i = 0; i < NumCtx; i++) begin
      if (k_done[i]) begin
        // the same for both of a pair: merged contexts are 4 KiB each, so a follower's
        // success result (its length) is its lead's too
        t_done_q[i] <= time_i;
        status_q[i] <= k_status;
        result_q[i] <= k_result;
      end
    end
  end

  // ---- outputs
  always_comb begin
    acpl_sqe_o            = '0;
    acpl_sqe_o.cid        = cid_q[sel_q];
    acpl_sqe_o.flow_id    = flow_q[sel_q];
    acpl_sqe_o.home_queue = home_q[sel_q];
    acpl_sqe_o.io_class   = cls_q[sel_q];
    acpl_sqe_o.opcode     = opc_q[sel_q];
  end
  assign acpl_valid_o  = sel_valid_q;
  assign acpl_qid_o    = qid_q[sel_q];
  assign acpl_status_o = status_q[sel_q];
  assign acpl_result_o = result_q[sel_q];
  assign acpl_prov_o   = {t_done_q[sel_q], prov_q[sel_q]};

  always_comb begin
    sts_in_use_o = '0;
    for (int i = 0; i < NumCtx; i++) begin
      sts_in_use_o = sts_in_use_o + (CtxW+1)'(st_q[i] != C_FREE);
    end
  end
  assign busy_o         = sts_in_use_o != '0;
  assign cnt_refused_o  = cnt_refused_q;
  assign cnt_stale_o    = cnt_stale_q;
  assign cnt_timeouts_o = cnt_timeouts_q;

  // Unused: the CQE's result, SQ head/id and phase; push fields the NVMe command does not
  // carry (checked by the executor).
  logic unused;
  assign unused = ^{nvme_cq_i[95:0], arb_disp_tag_i[15:CtxW], arb_disp_tag2_i[15:CtxW], arb_disp_ntags_i[7:2],
                    arb_disp_ntags_i[0], nvme_cq_i[112], push_sqe_i.addr1, push_sqe_i.flags,
                    push_sqe_i.rsvd, push_sqe_i.cmd_specific[255:112],
                    push_sqe_i.cmd_specific[87:64]};

  // ---- assertions
  `KV_ASSERT(AcplHold_A, acpl_valid_o && !acpl_ready_i |=> acpl_valid_o && $stable(sel_q))
  // (state compares as signals: Verilator 5.006 cannot index an enum array in a property)
  logic sel_done, disp_queued;
  assign sel_done    = (st_q[sel_q] == C_DONE);
  assign disp_queued = (st_q[d_ctx] == C_QUEUED);
  `KV_ASSERT(AcplDone_A, acpl_valid_o |-> sel_done)
  `KV_ASSERT(DispQueued_A, arb_disp_valid_i |-> disp_queued)
  `KV_ASSERT(SqHold_A, nvme_sq_valid_o && !nvme_sq_ready_i |=> nvme_sq_valid_o && $stable(nvme_sq_o))
  `KV_ASSERT(DispTag_A, arb_disp_valid_i |-> arb_disp_tag_i[15:CtxW] == '0)
  // merged dispatches: two distinct queued mergeable contexts of one NVMe opcode, 2 blocks
  logic disp_queued2, disp_mergeable;
  assign disp_queued2   = (st_q[d_ctx2] == C_QUEUED);
  assign disp_mergeable = (opc_q[d_ctx] == opc_q[d_ctx2]) && (opc_q[d_ctx] != kvcpu_hif_pkg::OPC_IO_DISCARD) &&
                          (len_q[d_ctx] == 32'h1000) && (len_q[d_ctx2] == 32'h1000) &&
                          (prp1_q[d_ctx2][11:0] == '0) &&
                          (dtype_q[d_ctx] == '0) && (dtype_q[d_ctx2] == '0);
  `KV_ASSERT(DispNtags_A, arb_disp_valid_i |-> arb_disp_ntags_i == 8'd1 || arb_disp_ntags_i == 8'd2)
  `KV_ASSERT(DispPair_A, arb_disp_valid_i && d_pair |->
             arb_disp_tag2_i[15:CtxW] == '0 && d_ctx2 != d_ctx && disp_queued2 && disp_mergeable &&
             arb_disp_nblocks_i == 16'd2 && arb_disp_opcode_i != 8'h09)
  // a follower is never the lead of a completion (CQE match or timeout)
  logic k_is_fol;
  assign k_is_fol = fol_q[k_ctx];
  `KV_ASSERT(CplLead_A, k_fire |-> !k_is_fol)
  // pairs: while a lead is at the SSD, its follower is too, and every follower at the SSD
  // belongs to exactly one lead at the SSD; free contexts carry no link
  logic            pairs_ok;
  logic [CtxW:0]   pair_leads;
  always_comb begin
    pairs_ok   = 1'b1;
    pair_leads = '0;
    for (int i = 0; i < NumCtx; i++) begin
      pair_leads = '0;
      for (int j = 0; j < NumCtx; j++) begin
        if (st_q[j] == C_ISSUED && has_fol_q[j] && link_q[j] == CtxW'(i)) begin
          pair_leads = pair_leads + 1'b1;
        end
      end
      if (st_q[i] == C_ISSUED && has_fol_q[i] &&
          (st_q[link_q[i]] != C_ISSUED || !fol_q[link_q[i]] || has_fol_q[link_q[i]])) begin
        pairs_ok = 1'b0;
      end
      if (st_q[i] == C_ISSUED && fol_q[i] && pair_leads != (CtxW+1)'(1)) begin
        pairs_ok = 1'b0;
      end
      if (st_q[i] == C_FREE && (fol_q[i] || has_fol_q[i])) begin
        pairs_ok = 1'b0;
      end
      if (fol_q[i] && has_fol_q[i]) begin
        pairs_ok = 1'b0;
      end
    end
  end
  `KV_ASSERT(Pairs_A, pairs_ok)
  `KV_ASSERT_KNOWN(AcplValidKnown_A, acpl_valid_o)
  `KV_ASSERT_KNOWN(SqValidKnown_A, nvme_sq_valid_o)
  `KV_ASSERT_KNOWN(ArbReqValidKnown_A, arb_req_valid_o)

endmodule
