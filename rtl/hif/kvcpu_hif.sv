// Host-interface queue engine: NVMe-style submission/completion queue pairs in host memory
// (docs/hif.md).
//
// - Per queue q: SQ q and CQ q form a pair. Doorbells set the SQ tail and the CQ head; the
//   engine owns the SQ head, the CQ tail and the CQ phase.
// - Two stages. Fetch: round-robin over enabled queues whose SQ head != tail, read the SQE
//   (one 8-beat INCR read burst), advance the SQ head, hold the entry. Completion: take the
//   held entry, decode it, either forward it on cmd and wait for its completion on cpl, or
//   complete it internally (NOP, reserved field set, fetch error); then wait while the CQ
//   is full, write the provenance record (7-beat burst) if enabled, post the CQE (one
//   2-beat INCR write burst), pulse irq. The fetch stage reads the next SQE while the
//   completion stage works, so reads overlap writes. A forwarded command whose completion
//   is deferred (an I/O command) posts nothing then: its completion comes later, out of
//   order, on acpl, with its provenance times, and is posted like any other; acpl goes
//   before the next fetched command. Every other command completes in fetch order.
// - Every valid output is registered (from the FSM state) and never depends on a ready.
`include "kvcpu_assert.svh"

module kvcpu_hif #(
  parameter int unsigned NumQueues     = 8,
  parameter int unsigned QDepthLog2Max = 12,
  parameter int unsigned AxiDataWidth  = 64,
  // derived, not to be overridden
  parameter int unsigned QidW = (NumQueues > 1) ? $clog2(NumQueues) : 1,
  parameter int unsigned SzW  = $clog2(QDepthLog2Max + 1)
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,
  // per-queue configuration (stable while the queue is enabled)
  input  logic [NumQueues-1:0]         q_enable_i,
  input  logic [NumQueues*64-1:0]      sq_base_i,      // 64-byte aligned, low bits ignored
  input  logic [NumQueues*64-1:0]      cq_base_i,      // 16-byte aligned, low bits ignored
  input  logic [NumQueues*SzW-1:0]     q_size_log2_i,  // 2^k entries, 1 <= k <= QDepthLog2Max
  input  logic [NumQueues-1:0]         prov_en_i,      // write a provenance record per CQE
  input  logic [NumQueues*64-1:0]      prov_base_i,    // 64-byte aligned, low bits ignored
  // device time (free-running cycle counter) for the provenance timestamps
  input  logic [63:0]                  time_i,
  // doorbells
  input  logic                         db_valid_i,
  output logic                         db_ready_o,
  input  logic [QidW-1:0]              db_qid_i,
  input  logic                         db_is_cq_i,     // 0: SQ tail, 1: CQ head
  input  logic [kvcpu_hif_pkg::DB_WIDTH-1:0] db_value_i,
  // AXI4 master, host memory: read
  output logic                         m_axi_arvalid_o,
  input  logic                         m_axi_arready_i,
  output logic [63:0]                  m_axi_araddr_o,
  output logic [7:0]                   m_axi_arlen_o,
  output logic [2:0]                   m_axi_arsize_o,
  output logic [1:0]                   m_axi_arburst_o,
  input  logic                         m_axi_rvalid_i,
  output logic                         m_axi_rready_o,
  input  logic [AxiDataWidth-1:0]      m_axi_rdata_i,
  input  logic [1:0]                   m_axi_rresp_i,
  input  logic                         m_axi_rlast_i,
  // AXI4 master, host memory: write
  output logic                         m_axi_awvalid_o,
  input  logic                         m_axi_awready_i,
  output logic [63:0]                  m_axi_awaddr_o,
  output logic [7:0]                   m_axi_awlen_o,
  output logic [2:0]                   m_axi_awsize_o,
  output logic [1:0]                   m_axi_awburst_o,
  output logic                         m_axi_wvalid_o,
  input  logic                         m_axi_wready_i,
  output logic [AxiDataWidth-1:0]      m_axi_wdata_o,
  output logic [AxiDataWidth/8-1:0]    m_axi_wstrb_o,
  output logic                         m_axi_wlast_o,
  input  logic                         m_axi_bvalid_i,
  output logic                         m_axi_bready_o,
  input  logic [1:0]                   m_axi_bresp_i,
  // commands to the executors
  output logic                         cmd_valid_o,
  input  logic                         cmd_ready_i,
  output logic [QidW-1:0]              cmd_qid_o,
  output kvcpu_hif_pkg::sqe_t          cmd_sqe_o,
  // completions from the executors (for the command last sent on cmd)
  input  logic                         cpl_valid_i,
  output logic                         cpl_ready_o,
  input  logic [QidW-1:0]              cpl_qid_i,
  input  logic [15:0]                  cpl_cid_i,
  input  logic [14:0]                  cpl_status_i,
  input  logic [31:0]                  cpl_result_i,
  input  logic                         cpl_defer_i,    // no CQE now: it comes on acpl
  // the command in flight's {t_started, t_fetched, t_db} (valid while its completion is awaited)
  output logic [191:0]                 cmd_prov_o,
  // deferred completions: posted as they come (the executors' I/O unit)
  input  logic                         acpl_valid_i,
  output logic                         acpl_ready_o,
  input  logic [QidW-1:0]              acpl_qid_i,
  input  kvcpu_hif_pkg::sqe_t          acpl_sqe_i,     // cid, flow_id, home_queue, io_class, opcode
  input  logic [14:0]                  acpl_status_i,
  input  logic [31:0]                  acpl_result_i,
  input  logic [255:0]                 acpl_prov_i,    // {t_done, t_started, t_fetched, t_db}
  // one-cycle pulse per CQE made visible
  output logic                         irq_valid_o,
  output logic [QidW-1:0]              irq_vector_o,
  // per-queue pointers, for status registers
  output logic [NumQueues*QDepthLog2Max-1:0] sq_head_o,
  output logic [NumQueues*QDepthLog2Max-1:0] cq_tail_o,
  // a queue has work or a command is in flight
  output logic                         busy_o,
  // error events, one-cycle pulses (the core keeps them in ERR_STATUS)
  output logic                         err_bad_db_o,
  output logic                         err_axi_rd_o,
  output logic                         err_axi_wr_o
);

  if (NumQueues < 1) begin : gen_bad_queues
    $error("kvcpu_hif: NumQueues must be at least 1");
  end
  if (QDepthLog2Max < 1 || QDepthLog2Max > kvcpu_hif_pkg::DB_WIDTH) begin : gen_bad_depth
    $error("kvcpu_hif: QDepthLog2Max must be within 1..16");
  end
  if (AxiDataWidth != 64) begin : gen_bad_width
    $error("kvcpu_hif: only AxiDataWidth = 64 is supported");
  end

  localparam int unsigned PtrW = QDepthLog2Max;
  localparam int unsigned DbW  = kvcpu_hif_pkg::DB_WIDTH;

  // fetch stage: pick a queue, read its SQE, hold it until the completion stage takes it
  typedef enum logic [1:0] {
    S_F_IDLE,   // pick a queue
    S_F_AR,     // SQE read address
    S_F_R,      // SQE data, 8 beats
    S_F_FULL    // SQE held for the completion stage
  } fstate_e;
  // completion stage: the command taken from the fetch stage, to its CQE
  typedef enum logic [3:0] {
    S_C_IDLE,     // nothing taken
    S_C_DECODE,   // forward, or wait for CQ room (internal completions with room skip it)
    S_C_CMD,      // forward on cmd
    S_C_CPL,      // wait for its completion
    S_C_CQ_WAIT,  // wait while the CQ is full
    S_C_PAW,      // provenance record write address
    S_C_PW,       // provenance record, 7 beats; the CQE's address goes out alongside
    S_C_AW,       // CQE write address (when it did not go out during S_C_PW)
    S_C_W0,       // CQE bytes 7:0
    S_C_W1,       // CQE bytes 15:8 (wlast)
    S_C_B         // the write responses (record and CQE, in that order)
  } cstate_e;

  // ---- FSM-to-queue-bank controls and per-queue views (flat, queue g at [g*W +: W])
  logic                   sq_head_adv, cq_tail_adv;
  logic [QidW-1:0]        f_q_q, f_q_d;  // the queue fetched last (round-robin pointer)
  logic [QidW-1:0]        c_q_q, c_q_d;  // the completion stage's queue
  logic [NumQueues-1:0]   pend, db_hit, db_in_range, cq_full, cq_full_next;
  logic [NumQueues*PtrW-1:0] sq_head_all, cq_tail_all, cq_tail_next_all;
  logic [NumQueues-1:0]   phase_all;
  logic [NumQueues*64-1:0] t_db_all;  // cycle of each queue's last accepted SQ doorbell
  logic                   db_ok;

  assign db_ready_o = 1'b1;  // doorbells are register writes: always taken in one cycle
  assign db_ok      = |(db_hit & q_enable_i & db_in_range);

  for (genvar g = 0; g < NumQueues; g++) begin : gen_q
    logic [PtrW-1:0] sq_head_q, sq_head_d, sq_tail_q, sq_tail_d;
    logic [PtrW-1:0] cq_head_q, cq_head_d, cq_tail_q, cq_tail_d;
    logic [PtrW-1:0] mask, sq_head_inc, cq_tail_inc;
    logic [DbW-1:0]  db_mask;
    logic            phase_q, phase_d, is_f, is_c;
    logic [63:0]     t_db_q;

    assign mask        = ~({PtrW{1'b1}} << q_size_log2_i[g*SzW +: SzW]);
    assign db_mask     = ~({DbW{1'b1}} << q_size_log2_i[g*SzW +: SzW]);
    assign sq_head_inc = (sq_head_q + 1'b1) & mask;
    assign cq_tail_inc = (cq_tail_q + 1'b1) & mask;
    assign is_f        = (f_q_q == QidW'(g));
    assign is_c        = (c_q_q == QidW'(g));

    assign db_hit[g]      = (db_qid_i == QidW'(g));
    assign db_in_range[g] = ((db_value_i & ~db_mask) == '0);
    assign pend[g]        = q_enable_i[g] && (sq_head_q != sq_tail_q);
    assign cq_full[g]     = (cq_tail_inc == cq_head_q);
    // full after this cycle's tail advance (a CQE posted while the next command is taken)
    assign cq_full_next[g] = (cq_tail_adv && is_c) ? (((cq_tail_inc + 1'b1) & mask) == cq_head_q)
                                                   : cq_full[g];

    always_comb begin
      sq_head_d = sq_head_q;
      sq_tail_d = sq_tail_q;
      cq_head_d = cq_head_q;
      cq_tail_d = cq_tail_q;
      phase_d   = phase_q;
      if (!q_enable_i[g]) begin
        // a disabled queue is empty, with its phase back at 1
        sq_head_d = '0;
        sq_tail_d = '0;
        cq_head_d = '0;
        cq_tail_d = '0;
        phase_d   = 1'b1;
      end else begin
        if (db_valid_i && db_ok && db_hit[g]) begin
          if (db_is_cq_i) begin
            cq_head_d = db_value_i[PtrW-1:0];
          end else begin
            sq_tail_d = db_value_i[PtrW-1:0];
          end
        end
        if (sq_head_adv && is_f) begin
          sq_head_d = sq_head_inc;
        end
        if (cq_tail_adv && is_c) begin
          cq_tail_d = cq_tail_inc;
          if (cq_tail_inc == '0) begin
            phase_d = ~phase_q;
          end
        end
      end
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        sq_head_q <= '0;
        sq_tail_q <= '0;
        cq_head_q <= '0;
        cq_tail_q <= '0;
        phase_q   <= 1'b1;
        t_db_q    <= '0;
      end else begin
        sq_head_q <= sq_head_d;
        sq_tail_q <= sq_tail_d;
        cq_head_q <= cq_head_d;
        cq_tail_q <= cq_tail_d;
        phase_q   <= phase_d;
        if (q_enable_i[g] && db_valid_i && db_ok && db_hit[g] && !db_is_cq_i) begin
          t_db_q <= time_i;
        end
      end
    end

    assign sq_head_all[g*PtrW +: PtrW] = sq_head_q;
    assign cq_tail_all[g*PtrW +: PtrW] = cq_tail_q;
    // the tail after this cycle's advance: the CQ slot of a command taken in this cycle
    assign cq_tail_next_all[g*PtrW +: PtrW] = (cq_tail_adv && is_c) ? cq_tail_inc : cq_tail_q;
    assign phase_all[g]                = phase_q;
    assign t_db_all[g*64 +: 64]        = t_db_q;
  end

  // ---- round robin: the first pending queue after the last one fetched (f_q_q)
  logic [QidW-1:0] sel_q;
  logic            sel_found;
  logic [QidW:0]   sel_idx;

  always_comb begin
    sel_found = 1'b0;
    sel_q     = f_q_q;
    sel_idx   = '0;
    // downwards, so that the nearest pending queue is the last one assigned
    for (int unsigned i = NumQueues; i > 0; i--) begin
      sel_idx = {1'b0, f_q_q} + (QidW + 1)'(i);
      if (sel_idx >= (QidW + 1)'(NumQueues)) begin
        sel_idx = sel_idx - (QidW + 1)'(NumQueues);
      end
      if (pend[sel_idx[QidW-1:0]]) begin
        sel_found = 1'b1;
        sel_q     = sel_idx[QidW-1:0];
      end
    end
  end

  // ---- fetch stage: one SQE read ahead of the completion stage
  fstate_e              f_state_q, f_state_d;
  logic [511:0]         f_sqe_q, f_sqe_d;
  logic [2:0]           f_beat_q, f_beat_d;
  logic                 f_err_q, f_err_d;
  logic [63:0]          f_t_db_q, f_t_db_d, f_t_fetched_q, f_t_fetched_d;
  logic [63:0]          f_addr_q, f_addr_d;  // latched: AR must hold whatever the host does
  logic [63:0]          sel_sq_base;
  logic [PtrW-1:0]      f_sq_head;
  logic                 take;  // the completion stage takes the fetched SQE this cycle
  logic                 atake; // ... or a deferred completion (first)

  // the held entry, classified for the completion stage: fetch error, then reserved fields,
  // then NOP are completed by the engine itself (internal)
  kvcpu_hif_pkg::sqe_t  f_sqe;
  logic                 f_reserved, f_internal;
  logic [14:0]          f_status;
  assign f_sqe      = f_sqe_q;
  assign f_reserved = (f_sqe.flags != 8'h00) || (f_sqe.rsvd != 8'h00) ||
                      (f_sqe.io_class > kvcpu_hif_pkg::IO_CLASS_MAX);
  assign f_internal = f_err_q || f_reserved || (f_sqe.opcode == kvcpu_hif_pkg::OPC_NOP);
  assign f_status   = f_err_q    ? kvcpu_hif_pkg::ST_FETCH_ERROR :
                      f_reserved ? kvcpu_hif_pkg::ST_INVALID_FIELD : kvcpu_hif_pkg::ST_SUCCESS;

  assign sel_sq_base = sq_base_i[sel_q*64 +: 64];
  assign f_sq_head   = sq_head_all[f_q_q*PtrW +: PtrW];

  always_comb begin
    f_state_d     = f_state_q;
    f_q_d         = f_q_q;
    f_addr_d      = f_addr_q;
    f_sqe_d       = f_sqe_q;
    f_beat_d      = f_beat_q;
    f_err_d       = f_err_q;
    f_t_db_d      = f_t_db_q;
    f_t_fetched_d = f_t_fetched_q;
    sq_head_adv   = 1'b0;
    unique case (f_state_q)
      S_F_IDLE, S_F_FULL: begin
        // the buffer is free (idle) or handed over this cycle: pick the next queue
        if (f_state_q == S_F_IDLE || take) begin
          f_state_d = S_F_IDLE;
          if (sel_found) begin
            f_q_d     = sel_q;
            f_addr_d  = {sel_sq_base[63:6], 6'b0} +
                        (64'(sq_head_all[sel_q*PtrW +: PtrW]) << kvcpu_hif_pkg::SQE_SHIFT);
            f_beat_d  = '0;
            f_err_d   = 1'b0;
            f_t_db_d  = t_db_all[sel_q*64 +: 64];
            f_state_d = S_F_AR;
          end
        end
      end
      S_F_AR: begin
        if (m_axi_arready_i) begin
          f_state_d = S_F_R;
        end
      end
      S_F_R: begin
        if (m_axi_rvalid_i) begin
          f_sqe_d[f_beat_q*64 +: 64] = m_axi_rdata_i;
          f_err_d  = f_err_q || m_axi_rresp_i[1];
          f_beat_d = f_beat_q + 3'd1;
          if (f_beat_q == 3'd7) begin
            // the entry is consumed: the host may reuse its slot once a CQE reports it
            sq_head_adv   = 1'b1;
            f_t_fetched_d = time_i;
            f_state_d     = S_F_FULL;
          end
        end
      end
      default: f_state_d = S_F_IDLE;
    endcase
  end

  // ---- completion stage: one command at a time, in fetch order
  cstate_e              c_state_q, c_state_d;
  logic [511:0]         c_sqe_q, c_sqe_d;
  logic [2:0]           c_beat_q, c_beat_d;
  logic                 c_int_q, c_int_d;  // completed by the engine (status_q set at take)
  logic [PtrW-1:0]      c_sq_head_q, c_sq_head_d;  // SQ head after this command
  logic [14:0]          status_q, status_d;
  logic [31:0]          result_q, result_d;
  logic                 irq_q, irq_d;
  logic [QidW-1:0]      irq_vec_q;  // the queue of the CQE just posted
  logic [63:0]          t_db_q, t_db_d, t_fetched_q, t_fetched_d, t_started_q, t_started_d;
  logic [63:0]          t_done_q, t_done_d, t_posted_q, t_posted_d;
  logic [63:0]          prov_w;  // the provenance record beat in flight
  kvcpu_hif_pkg::sqe_t  sqe;
  kvcpu_hif_pkg::cqe_t  cqe;
  // the command's CQ slot and record addresses, latched at the take (AW must hold whatever
  // the host does; the slot is fixed then: only this command's B moves the tail)
  logic [63:0]          cq_addr_q, cq_addr_d, prov_addr_q, prov_addr_d;
  logic [63:0]          take_cq_base, take_prov_base;
  logic [PtrW-1:0]      take_slot;
  logic [63:0]          acpl_cq_base, acpl_prov_base;
  logic [PtrW-1:0]      acpl_slot;
  logic                 c_prov_en, c_cq_full;
  logic                 c_aw2_q, c_aw2_d;    // the CQE's AW went out during the record
  logic [1:0]           c_bgot_q, c_bgot_d;  // B responses of this command's post so far
  logic                 b_fire, post_done;

  assign sqe              = c_sqe_q;
  assign take_cq_base     = cq_base_i[f_q_q*64 +: 64];
  assign take_prov_base   = prov_base_i[f_q_q*64 +: 64];
  assign take_slot        = cq_tail_next_all[f_q_q*PtrW +: PtrW];
  assign acpl_cq_base     = cq_base_i[acpl_qid_i*64 +: 64];
  assign acpl_prov_base   = prov_base_i[acpl_qid_i*64 +: 64];
  assign acpl_slot        = cq_tail_next_all[acpl_qid_i*PtrW +: PtrW];
  assign c_prov_en        = prov_en_i[c_q_q];
  assign c_cq_full        = cq_full[c_q_q];
  assign b_fire           = m_axi_bvalid_i && m_axi_bready_o;
  // the last B of the post: the record's (if any) and the CQE's
  assign post_done        = (c_state_q == S_C_B) && b_fire &&
                            (c_bgot_q + 2'd1 == (c_prov_en ? 2'd2 : 2'd1));
  assign atake            = acpl_valid_i && ((c_state_q == S_C_IDLE) || post_done);
  assign take             = (f_state_q == S_F_FULL) && !acpl_valid_i &&
                            ((c_state_q == S_C_IDLE) || post_done);

  always_comb begin
    c_state_d   = c_state_q;
    c_q_d       = c_q_q;
    c_sqe_d     = c_sqe_q;
    c_beat_d    = c_beat_q;
    c_int_d     = c_int_q;
    c_sq_head_d = c_sq_head_q;
    cq_addr_d   = cq_addr_q;
    prov_addr_d = prov_addr_q;
    status_d    = status_q;
    result_d    = result_q;
    irq_d       = 1'b0;
    t_db_d      = t_db_q;
    t_fetched_d = t_fetched_q;
    t_started_d = t_started_q;
    t_done_d    = t_done_q;
    t_posted_d  = t_posted_q;
    cq_tail_adv = 1'b0;
    c_aw2_d     = c_aw2_q;
    c_bgot_d    = post_done ? 2'd0 : (c_bgot_q + {1'b0, b_fire});
    unique case (c_state_q)
      S_C_IDLE: ;
      S_C_DECODE: begin
        // taken while its CQ was full, or forwarded
        t_started_d = time_i;  // internal completions start and finish here
        t_done_d    = time_i;
        if (!c_int_q) begin
          c_state_d = S_C_CMD;
        end else if (c_cq_full) begin
          c_state_d = S_C_CQ_WAIT;
        end else begin
          t_posted_d = time_i;
          c_beat_d   = '0;
          c_state_d  = c_prov_en ? S_C_PAW : S_C_AW;
        end
      end
      S_C_CMD: begin
        if (cmd_ready_i) begin
          t_started_d = time_i;
          c_state_d   = S_C_CPL;
        end
      end
      S_C_CPL: begin
        if (cpl_valid_i) begin
          status_d  = cpl_status_i;
          result_d  = cpl_result_i;
          t_done_d  = time_i;
          c_state_d = cpl_defer_i ? S_C_IDLE : S_C_CQ_WAIT;
        end
      end
      S_C_CQ_WAIT: begin
        if (!c_cq_full) begin
          t_posted_d = time_i;
          c_beat_d   = '0;
          c_state_d  = c_prov_en ? S_C_PAW : S_C_AW;
        end
      end
      S_C_PAW: begin
        if (m_axi_awready_i) begin
          c_aw2_d   = 1'b0;
          c_state_d = S_C_PW;
        end
      end
      S_C_PW: begin
        // the CQE's AW is offered alongside the record's beats: two bursts outstanding, in
        // order, so the record lands before the CQE (docs/hif.md)
        if (m_axi_awready_i) begin
          c_aw2_d = 1'b1;
        end
        if (m_axi_wready_i) begin
          c_beat_d = c_beat_q + 3'd1;
          if (c_beat_q == 3'd6) begin  // bytes 56..63 are reserved: not written
            c_state_d = (c_aw2_q || m_axi_awready_i) ? S_C_W0 : S_C_AW;
          end
        end
      end
      S_C_AW: begin
        if (m_axi_awready_i) begin
          c_state_d = S_C_W0;
        end
      end
      S_C_W0: begin
        if (m_axi_wready_i) begin
          c_state_d = S_C_W1;
        end
      end
      S_C_W1: begin
        if (m_axi_wready_i) begin
          c_state_d = S_C_B;
        end
      end
      S_C_B: begin
        if (post_done) begin
          cq_tail_adv = 1'b1;
          irq_d       = 1'b1;
          c_state_d   = S_C_IDLE;
        end
      end
      default: c_state_d = S_C_IDLE;
    endcase
    // the next command: from idle, or straight after the B of the previous CQE. An internal
    // completion whose CQ has room goes straight to its post.
    if (atake) begin
      // a deferred completion: its queue's next CQ slot and record, then the post
      c_q_d       = acpl_qid_i;
      c_sqe_d     = acpl_sqe_i;
      c_int_d     = 1'b1;
      c_sq_head_d = sq_head_all[acpl_qid_i*PtrW +: PtrW];
      cq_addr_d   = {acpl_cq_base[63:4], 4'b0} +
                    (64'(acpl_slot) << kvcpu_hif_pkg::CQE_SHIFT);
      prov_addr_d = {acpl_prov_base[63:6], 6'b0} +
                    (64'(acpl_slot) << kvcpu_hif_pkg::SQE_SHIFT);
      status_d    = acpl_status_i;
      result_d    = acpl_result_i;
      t_db_d      = acpl_prov_i[63:0];
      t_fetched_d = acpl_prov_i[127:64];
      t_started_d = acpl_prov_i[191:128];
      t_done_d    = acpl_prov_i[255:192];
      c_state_d   = S_C_CQ_WAIT;
    end else if (take) begin
      c_q_d       = f_q_q;
      c_sqe_d     = f_err_q ? '0 : f_sqe_q;  // after a fetch error cid and flow_id read 0
      c_int_d     = f_internal;
      c_sq_head_d = f_sq_head;  // advanced at the fetch's last beat
      cq_addr_d   = {take_cq_base[63:4], 4'b0} +
                    (64'(take_slot) << kvcpu_hif_pkg::CQE_SHIFT);
      prov_addr_d = {take_prov_base[63:6], 6'b0} +
                    (64'(take_slot) << kvcpu_hif_pkg::SQE_SHIFT);
      status_d    = f_status;
      result_d    = '0;
      t_db_d      = f_t_db_q;
      t_fetched_d = f_t_fetched_q;
      if (f_internal && !cq_full_next[f_q_q]) begin
        t_started_d = time_i;
        t_done_d    = time_i;
        t_posted_d  = time_i;
        c_beat_d    = '0;
        c_state_d   = prov_en_i[f_q_q] ? S_C_PAW : S_C_AW;
      end else begin
        c_state_d   = S_C_DECODE;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      f_state_q     <= S_F_IDLE;
      f_q_q         <= QidW'(NumQueues - 1);  // so that queue 0 is looked at first
      f_addr_q      <= '0;
      f_sqe_q       <= '0;
      f_beat_q      <= '0;
      f_err_q       <= 1'b0;
      f_t_db_q      <= '0;
      f_t_fetched_q <= '0;
      c_state_q     <= S_C_IDLE;
      c_q_q         <= '0;
      c_sqe_q       <= '0;
      c_beat_q      <= '0;
      c_int_q       <= 1'b0;
      c_aw2_q       <= 1'b0;
      c_bgot_q      <= '0;
      c_sq_head_q   <= '0;
      cq_addr_q     <= '0;
      prov_addr_q   <= '0;
      status_q      <= '0;
      result_q      <= '0;
      irq_q         <= 1'b0;
      irq_vec_q     <= '0;
      t_db_q        <= '0;
      t_fetched_q   <= '0;
      t_started_q   <= '0;
      t_done_q      <= '0;
      t_posted_q    <= '0;
    end else begin
      f_state_q     <= f_state_d;
      f_q_q         <= f_q_d;
      f_addr_q      <= f_addr_d;
      f_sqe_q       <= f_sqe_d;
      f_beat_q      <= f_beat_d;
      f_err_q       <= f_err_d;
      f_t_db_q      <= f_t_db_d;
      f_t_fetched_q <= f_t_fetched_d;
      c_state_q     <= c_state_d;
      c_q_q         <= c_q_d;
      c_sqe_q       <= c_sqe_d;
      c_beat_q      <= c_beat_d;
      c_int_q       <= c_int_d;
      c_aw2_q       <= c_aw2_d;
      c_bgot_q      <= c_bgot_d;
      c_sq_head_q   <= c_sq_head_d;
      cq_addr_q     <= cq_addr_d;
      prov_addr_q   <= prov_addr_d;
      status_q      <= status_d;
      result_q      <= result_d;
      irq_q         <= irq_d;
      if (irq_d) begin
        irq_vec_q <= c_q_q;  // c_q_q moves on when the next command is taken in that cycle
      end
      t_db_q        <= t_db_d;
      t_fetched_q   <= t_fetched_d;
      t_started_q   <= t_started_d;
      t_done_q      <= t_done_d;
      t_posted_q    <= t_posted_d;
    end
  end

  // ---- error events (one-cycle pulses)
  assign err_bad_db_o = db_valid_i && !db_ok;
  assign err_axi_rd_o = (f_state_q == S_F_R) && m_axi_rvalid_i && m_axi_rresp_i[1];
  assign err_axi_wr_o = b_fire && m_axi_bresp_i[1];

  // ---- the provenance record (docs/host-interface.md), beat by beat
  always_comb begin
    unique case (c_beat_q)
      3'd0: prov_w = {16'(c_q_q), sqe.cid, sqe.flow_id};
      3'd1: prov_w = {16'(c_sq_head_q), status_q, phase_all[c_q_q],
                      sqe.opcode, sqe.io_class, sqe.home_queue};
      3'd2: prov_w = t_db_q;
      3'd3: prov_w = t_fetched_q;
      3'd4: prov_w = t_started_q;
      3'd5: prov_w = t_done_q;
      3'd6: prov_w = t_posted_q;
      default: prov_w = '0;
    endcase
  end

  // ---- outputs
  assign cqe.status  = status_q;
  assign cqe.phase   = phase_all[c_q_q];
  assign cqe.cid     = sqe.cid;
  assign cqe.sq_id   = 16'(c_q_q);
  assign cqe.sq_head = 16'(c_sq_head_q);
  assign cqe.flow_id = sqe.flow_id;
  assign cqe.result  = result_q;

  assign m_axi_arvalid_o = (f_state_q == S_F_AR);
  assign m_axi_araddr_o  = f_addr_q;
  assign m_axi_arlen_o   = 8'd7;    // 8 beats of 8 bytes
  assign m_axi_arsize_o  = 3'd3;    // 8 bytes
  assign m_axi_arburst_o = 2'b01;   // INCR
  assign m_axi_rready_o  = (f_state_q == S_F_R);

  assign m_axi_awvalid_o = (c_state_q == S_C_AW) || (c_state_q == S_C_PAW) ||
                           ((c_state_q == S_C_PW) && !c_aw2_q);
  assign m_axi_awaddr_o  = (c_state_q == S_C_PAW) ? prov_addr_q : cq_addr_q;
  assign m_axi_awlen_o   = (c_state_q == S_C_PAW) ? 8'd6 : 8'd1;  // record 7 beats, CQE 2
  assign m_axi_awsize_o  = 3'd3;
  assign m_axi_awburst_o = 2'b01;
  assign m_axi_wvalid_o  = (c_state_q == S_C_W0) || (c_state_q == S_C_W1) ||
                           (c_state_q == S_C_PW);
  assign m_axi_wdata_o   = (c_state_q == S_C_PW) ? prov_w :
                           (c_state_q == S_C_W1) ? cqe[127:64] : cqe[63:0];
  assign m_axi_wstrb_o   = '1;
  assign m_axi_wlast_o   = (c_state_q == S_C_W1) || ((c_state_q == S_C_PW) && (c_beat_q == 3'd6));
  // B responses are taken whenever a post is under way (the record's comes during the CQE)
  assign m_axi_bready_o  = (c_state_q == S_C_PW) || (c_state_q == S_C_AW) ||
                           (c_state_q == S_C_W0) || (c_state_q == S_C_W1) || (c_state_q == S_C_B);

  assign cmd_valid_o  = (c_state_q == S_C_CMD);
  assign cmd_qid_o    = c_q_q;
  assign cmd_sqe_o    = sqe;
  assign cpl_ready_o  = (c_state_q == S_C_CPL);
  assign cmd_prov_o   = {t_started_q, t_fetched_q, t_db_q};
  assign acpl_ready_o = atake;
  assign irq_valid_o  = irq_q;
  assign irq_vector_o = irq_vec_q;
  assign sq_head_o    = sq_head_all;
  assign cq_tail_o    = cq_tail_all;
  assign busy_o       = (f_state_q != S_F_IDLE) || (c_state_q != S_C_IDLE) || (|pend);

  // The completion carries the completion stage's qid and cid (one command at a time).
  logic unused_cpl_id;
  assign unused_cpl_id = ^{cpl_qid_i, cpl_cid_i, sel_sq_base[5:0], take_cq_base[3:0],
                           acpl_cq_base[3:0], acpl_prov_base[5:0],
                           f_sqe[511:96], f_sqe[79:16],  // only classified here
                           take_prov_base[5:0],
                           m_axi_rresp_i[0], m_axi_bresp_i[0], m_axi_rlast_i};

  // ---- protocol monitors: one read burst and up to two write bursts outstanding
  logic       rd_out_q;
  logic [1:0] wr_aw_out_q, wr_b_out_q;  // bursts awaiting their last W beat / their B
  logic [3:0] wbeats_q;                 // beats of the burst whose data is going out
  logic [7:0] wlen0_q, wlen1_q;         // awlen of that burst, and of the one behind it
  logic       aw_fire, w_fire, wl_fire;
  assign aw_fire = m_axi_awvalid_o && m_axi_awready_i;
  assign w_fire  = m_axi_wvalid_o && m_axi_wready_i;
  assign wl_fire = w_fire && m_axi_wlast_o;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_out_q    <= 1'b0;
      wr_aw_out_q <= '0;
      wr_b_out_q  <= '0;
      wbeats_q    <= '0;
      wlen0_q     <= '0;
      wlen1_q     <= '0;
    end else begin
      if (m_axi_arvalid_o && m_axi_arready_i) begin
        rd_out_q <= 1'b1;
      end else if (m_axi_rvalid_i && m_axi_rready_o && m_axi_rlast_i) begin
        rd_out_q <= 1'b0;
      end
      wr_aw_out_q <= wr_aw_out_q + {1'b0, aw_fire} - {1'b0, wl_fire};
      wr_b_out_q  <= wr_b_out_q + {1'b0, aw_fire} - {1'b0, b_fire};
      // a two-entry queue of burst lengths in AW order
      if (aw_fire) begin
        if (wr_aw_out_q == 2'd0 || (wr_aw_out_q == 2'd1 && wl_fire)) begin
          wlen0_q <= m_axi_awlen_o;
        end else begin
          wlen1_q <= m_axi_awlen_o;
        end
      end
      if (wl_fire && !(aw_fire && wr_aw_out_q == 2'd1)) begin
        wlen0_q <= wlen1_q;
      end
      if (w_fire) begin
        wbeats_q <= m_axi_wlast_o ? 4'd0 : wbeats_q + 4'd1;
      end
    end
  end

  // valid and payload hold until the handshake
  `KV_ASSERT(ArHold_A, m_axi_arvalid_o && !m_axi_arready_i |=> m_axi_arvalid_o &&
             $stable(m_axi_araddr_o) && $stable(m_axi_arlen_o))
  `KV_ASSERT(AwHold_A, m_axi_awvalid_o && !m_axi_awready_i |=> m_axi_awvalid_o &&
             $stable(m_axi_awaddr_o) && $stable(m_axi_awlen_o))
  `KV_ASSERT(WHold_A, m_axi_wvalid_o && !m_axi_wready_i |=> m_axi_wvalid_o &&
             $stable(m_axi_wdata_o) && $stable(m_axi_wstrb_o) && $stable(m_axi_wlast_o))
  `KV_ASSERT(CmdHold_A, cmd_valid_o && !cmd_ready_i |=> cmd_valid_o &&
             $stable(cmd_sqe_o) && $stable(cmd_qid_o))
  // one read and one write burst outstanding; write data only after its address
  `KV_ASSERT(OneRead_A, m_axi_arvalid_o |-> !rd_out_q)
  `KV_ASSERT(TwoWrites_A, m_axi_awvalid_o |-> wr_b_out_q < 2'd2)
  `KV_ASSERT(WAfterAw_A, m_axi_wvalid_o |-> wr_aw_out_q != 2'd0)
  `KV_ASSERT(WLast_A, m_axi_wvalid_o |-> m_axi_wlast_o == (8'(wbeats_q) == wlen0_q))
  `KV_ASSERT(ArAligned_A, m_axi_arvalid_o |-> m_axi_araddr_o[5:0] == 6'b0)
  `KV_ASSERT(AwAligned_A, m_axi_awvalid_o |-> m_axi_awaddr_o[3:0] == 4'b0)
  `KV_ASSERT(PawAligned_A, c_state_q == S_C_PAW |-> m_axi_awaddr_o[5:0] == 6'b0)
  // the environment: responses only for outstanding bursts, rlast on the 8th beat, and
  // completions only for the command in flight
  `KV_ASSERT(RExpected_A, m_axi_rvalid_i |-> rd_out_q)
  `KV_ASSERT(RLast_A, m_axi_rvalid_i && m_axi_rready_o |-> m_axi_rlast_i == (f_beat_q == 3'd7))
  `KV_ASSERT(BExpected_A, m_axi_bvalid_i |-> wr_b_out_q > wr_aw_out_q)
  `KV_ASSERT(CplMatches_A, cpl_valid_i && cpl_ready_o |-> cpl_qid_i == c_q_q &&
             cpl_cid_i == sqe.cid)
  `KV_ASSERT(CqNoOverwrite_A, m_axi_awvalid_o |-> !c_cq_full)
  // the stages hand over only a fetched entry, and only to a free completion stage
  `KV_ASSERT(TakeFull_A, take |-> f_state_q == S_F_FULL)
  `KV_ASSERT(AcplHold_A, acpl_valid_i && !acpl_ready_o |=> acpl_valid_i && $stable(acpl_qid_i) &&
             $stable(acpl_sqe_i) && $stable(acpl_status_i) && $stable(acpl_result_i))
  `KV_ASSERT(FullHold_A, f_state_q == S_F_FULL && !take |=> f_state_q == S_F_FULL &&
             $stable(f_sqe_q) && $stable(f_q_q))
  `KV_ASSERT_KNOWN(ArValidKnown_A, m_axi_arvalid_o)
  `KV_ASSERT_KNOWN(AwValidKnown_A, m_axi_awvalid_o)
  `KV_ASSERT_KNOWN(WValidKnown_A, m_axi_wvalid_o)
  `KV_ASSERT_KNOWN(CmdValidKnown_A, cmd_valid_o)

endmodule
