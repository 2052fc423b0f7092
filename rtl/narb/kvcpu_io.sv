// I/O unit: the I/O commands between the executor, the NVMe command arbiter (kvcpu_narb) and
// the NVMe port (docs/io.md).
//
// - The executor pushes a checked I/O command (one-cycle offer, taken iff push_ok_o): it gets
//   a context, its request goes into the arbiter's class queue, and the executor is free
//   again. Up to NumCtx I/O commands are in the device at once; a push with no free context
//   is refused (the executor completes it with IO_BUSY).
// - A dispatch of the arbiter becomes one 64-byte NVMe command: CID = {generation, context}.
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
  input  logic                    arb_disp_valid_i,
  output logic                    arb_disp_ready_o,
  input  logic [SlotW-1:0]        arb_disp_slot_i,
  input  logic [7:0]              arb_disp_opcode_i,
  input  logic [63:0]             arb_disp_lba_i,
  input  logic [15:0]             arb_disp_nblocks_i,
  input  logic [15:0]             arb_disp_tag_i,
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
  output logic [31:0]             cnt_timeouts_o,   // contexts completed with IO_TIMEOUT
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

  // ---- dispatch: the NVMe command (NVMe base spec 2.0 "Common Command Format"; NVM command
  // set Read 0x02, Write 0x01, Dataset Management 0x09 with AD)
  logic [CtxW-1:0] d_ctx;
  logic [511:0]    nsqe;
  logic            disp_fire;
  assign d_ctx     = arb_disp_tag_i[CtxW-1:0];
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
      if (len_q[d_ctx][31:12] == 20'd2) begin
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

  // ---- completions from the port
  logic [CtxW-1:0] c_ctx;
  logic            cq_match;
  logic [14:0]     cq_status;
  assign c_ctx     = nvme_cq_i[96 +: CtxW];
  assign cq_match  = nvme_cq_valid_i && (st_q[c_ctx] == C_ISSUED) && (nvme_cq_i[111:96+CtxW] == gen_q[c_ctx]);
  assign cq_status = nvme_cq_i[127:113];
  assign nvme_cq_ready_o = 1'b1;

  // ---- timeout scan: one context per cycle, in cycles without a CQE match
  logic [CtxW-1:0] scan_q;
  logic            tmo;
  assign tmo = !cq_match && (st_q[scan_q] == C_ISSUED) &&
               ((time_i[31:0] - t_issue_q[scan_q]) >= IoTimeoutCycles);

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
        st_q[i]  <= C_FREE;
        gen_q[i] <= '0;
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
        st_q[d_ctx] <= C_ISSUED;
      end
      if (cq_match) begin
        st_q[c_ctx]  <= C_DONE;
        gen_q[c_ctx] <= gen_q[c_ctx] + 1'b1;
      end else if (tmo) begin
        st_q[scan_q]  <= C_DONE;
        gen_q[scan_q] <= gen_q[scan_q] + 1'b1;
      end
      if (!cq_match) begin
        scan_q <= scan_q + 1'b1;
      end
      if (acpl_fire) begin
        st_q[sel_q] <= C_FREE;
        rr_q        <= sel_q;
        sel_valid_q <= 1'b0;
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
        cnt_timeouts_q <= cnt_timeouts_q + 32'd1;
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
    end
    if (cq_match) begin
      t_done_q[c_ctx] <= time_i;
      if (cq_status == '0) begin
        status_q[c_ctx] <= kvcpu_hif_pkg::ST_SUCCESS;
        result_q[c_ctx] <= len_q[c_ctx];
      end else begin
        status_q[c_ctx] <= kvcpu_hif_pkg::ST_NVME_ERROR;
        result_q[c_ctx] <= {17'b0, cq_status};
      end
    end else if (tmo) begin
      t_done_q[scan_q] <= time_i;
      status_q[scan_q] <= kvcpu_hif_pkg::ST_IO_TIMEOUT;
      result_q[scan_q] <= '0;
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
  assign unused = ^{nvme_cq_i[95:0], arb_disp_tag_i[15:CtxW], nvme_cq_i[112], push_sqe_i.addr1, push_sqe_i.flags,
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
  `KV_ASSERT_KNOWN(AcplValidKnown_A, acpl_valid_o)
  `KV_ASSERT_KNOWN(SqValidKnown_A, nvme_sq_valid_o)
  `KV_ASSERT_KNOWN(ArbReqValidKnown_A, arb_req_valid_o)

endmodule
