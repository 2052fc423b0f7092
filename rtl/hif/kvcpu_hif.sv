// Host-interface queue engine: NVMe-style submission/completion queue pairs in host memory
// (docs/hif.md).
//
// - Per queue q: SQ q and CQ q form a pair. Doorbells set the SQ tail and the CQ head; the
//   engine owns the SQ head, the CQ tail and the CQ phase.
// - Round-robin over enabled queues whose SQ head != tail. One command is in flight at a
//   time: fetch (one 8-beat INCR read burst), decode, either forward it on cmd and wait for
//   its completion on cpl, or complete it internally (NOP, reserved field set, fetch
//   error); then wait while the CQ is full, post the CQE (one 2-beat INCR write burst),
//   pulse irq. Only then is the next queue picked.
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

  typedef enum logic [3:0] {
    S_IDLE,     // pick a queue
    S_AR,       // SQE read address
    S_R,        // SQE data, 8 beats
    S_DECODE,   // consume the SQE, classify it
    S_CMD,      // forward on cmd
    S_CPL,      // wait for its completion
    S_CQ_WAIT,  // wait while the CQ is full
    S_PAW,      // provenance record write address
    S_PW,       // provenance record, 8 beats
    S_PB,       // its write response
    S_AW,       // CQE write address
    S_W0,       // CQE bytes 7:0
    S_W1,       // CQE bytes 15:8 (wlast)
    S_B         // write response
  } state_e;

  // ---- FSM-to-queue-bank controls and per-queue views (flat, queue g at [g*W +: W])
  logic                   sq_head_adv, cq_tail_adv;
  logic [QidW-1:0]        cur_q_q, cur_q_d;
  logic [NumQueues-1:0]   pend, db_hit, db_in_range, cq_full;
  logic [NumQueues*PtrW-1:0] sq_head_all, cq_tail_all;
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
    logic            phase_q, phase_d, is_cur;
    logic [63:0]     t_db_q;

    assign mask        = ~({PtrW{1'b1}} << q_size_log2_i[g*SzW +: SzW]);
    assign db_mask     = ~({DbW{1'b1}} << q_size_log2_i[g*SzW +: SzW]);
    assign sq_head_inc = (sq_head_q + 1'b1) & mask;
    assign cq_tail_inc = (cq_tail_q + 1'b1) & mask;
    assign is_cur      = (cur_q_q == QidW'(g));

    assign db_hit[g]      = (db_qid_i == QidW'(g));
    assign db_in_range[g] = ((db_value_i & ~db_mask) == '0);
    assign pend[g]        = q_enable_i[g] && (sq_head_q != sq_tail_q);
    assign cq_full[g]     = (cq_tail_inc == cq_head_q);

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
        if (sq_head_adv && is_cur) begin
          sq_head_d = sq_head_inc;
        end
        if (cq_tail_adv && is_cur) begin
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
    assign phase_all[g]                = phase_q;
    assign t_db_all[g*64 +: 64]        = t_db_q;
  end

  // ---- round robin: the first pending queue after the last one served (cur_q_q)
  logic [QidW-1:0] sel_q;
  logic            sel_found;
  logic [QidW:0]   sel_idx;

  always_comb begin
    sel_found = 1'b0;
    sel_q     = cur_q_q;
    sel_idx   = '0;
    // downwards, so that the nearest pending queue is the last one assigned
    for (int unsigned i = NumQueues; i > 0; i--) begin
      sel_idx = {1'b0, cur_q_q} + (QidW + 1)'(i);
      if (sel_idx >= (QidW + 1)'(NumQueues)) begin
        sel_idx = sel_idx - (QidW + 1)'(NumQueues);
      end
      if (pend[sel_idx[QidW-1:0]]) begin
        sel_found = 1'b1;
        sel_q     = sel_idx[QidW-1:0];
      end
    end
  end

  // ---- the command in flight
  state_e               state_q, state_d;
  logic [63:0]          addr_q, addr_d;
  logic [511:0]         sqe_q, sqe_d;
  logic [2:0]           beat_q, beat_d;
  logic                 rd_err_q, rd_err_d;
  logic [14:0]          status_q, status_d;
  logic [31:0]          result_q, result_d;
  logic                 irq_q, irq_d;
  logic [63:0]          t_db_q, t_db_d, t_fetched_q, t_fetched_d, t_started_q, t_started_d;
  logic [63:0]          t_done_q, t_done_d, t_posted_q, t_posted_d;
  logic [63:0]          prov_w;  // the provenance record beat in flight
  kvcpu_hif_pkg::sqe_t  sqe;
  kvcpu_hif_pkg::cqe_t  cqe;
  logic [63:0]          cur_sq_base, cur_cq_base;
  logic [PtrW-1:0]      cur_sq_head, cur_cq_tail;
  logic                 sqe_reserved_set;
  logic [63:0]          cur_prov_base;

  assign sqe              = sqe_q;
  assign sqe_reserved_set = (sqe.flags != 8'h00) || (sqe.rsvd != 8'h00) ||
                            (sqe.io_class > kvcpu_hif_pkg::IO_CLASS_MAX);
  assign cur_prov_base    = prov_base_i[cur_q_q*64 +: 64];
  assign cur_sq_base      = sq_base_i[sel_q*64 +: 64];
  assign cur_sq_head      = sq_head_all[sel_q*PtrW +: PtrW];
  assign cur_cq_base      = cq_base_i[cur_q_q*64 +: 64];
  assign cur_cq_tail      = cq_tail_all[cur_q_q*PtrW +: PtrW];

  always_comb begin
    state_d     = state_q;
    cur_q_d     = cur_q_q;
    addr_d      = addr_q;
    sqe_d       = sqe_q;
    beat_d      = beat_q;
    rd_err_d    = rd_err_q;
    status_d    = status_q;
    result_d    = result_q;
    irq_d       = 1'b0;
    t_db_d      = t_db_q;
    t_fetched_d = t_fetched_q;
    t_started_d = t_started_q;
    t_done_d    = t_done_q;
    t_posted_d  = t_posted_q;
    sq_head_adv = 1'b0;
    cq_tail_adv = 1'b0;
    unique case (state_q)
      S_IDLE: begin
        if (sel_found) begin
          cur_q_d  = sel_q;
          addr_d   = {cur_sq_base[63:6], 6'b0} +
                     (64'(cur_sq_head) << kvcpu_hif_pkg::SQE_SHIFT);
          beat_d   = '0;
          rd_err_d = 1'b0;
          t_db_d   = t_db_all[sel_q*64 +: 64];
          state_d  = S_AR;
        end
      end
      S_AR: begin
        if (m_axi_arready_i) begin
          state_d = S_R;
        end
      end
      S_R: begin
        if (m_axi_rvalid_i) begin
          sqe_d[beat_q*64 +: 64] = m_axi_rdata_i;
          rd_err_d = rd_err_q || m_axi_rresp_i[1];
          beat_d   = beat_q + 3'd1;
          if (beat_q == 3'd7) begin
            t_fetched_d = time_i;
            state_d     = S_DECODE;
          end
        end
      end
      S_DECODE: begin
        sq_head_adv = 1'b1;
        result_d    = '0;
        t_started_d = time_i;  // internal completions start and finish here
        t_done_d    = time_i;
        state_d     = S_CQ_WAIT;
        if (rd_err_q) begin
          status_d = kvcpu_hif_pkg::ST_FETCH_ERROR;
          sqe_d    = '0;  // nothing of the entry is trusted: cid and flow_id read 0
        end else if (sqe_reserved_set) begin
          status_d = kvcpu_hif_pkg::ST_INVALID_FIELD;
        end else if (sqe.opcode == kvcpu_hif_pkg::OPC_NOP) begin
          status_d = kvcpu_hif_pkg::ST_SUCCESS;
        end else begin
          state_d = S_CMD;
        end
      end
      S_CMD: begin
        if (cmd_ready_i) begin
          t_started_d = time_i;
          state_d     = S_CPL;
        end
      end
      S_CPL: begin
        if (cpl_valid_i) begin
          status_d = cpl_status_i;
          result_d = cpl_result_i;
          t_done_d = time_i;
          state_d  = S_CQ_WAIT;
        end
      end
      S_CQ_WAIT: begin
        if (!cq_full[cur_q_q]) begin
          t_posted_d = time_i;
          beat_d     = '0;
          if (prov_en_i[cur_q_q]) begin
            addr_d  = {cur_prov_base[63:6], 6'b0} +
                      (64'(cur_cq_tail) << kvcpu_hif_pkg::SQE_SHIFT);
            state_d = S_PAW;
          end else begin
            addr_d  = {cur_cq_base[63:4], 4'b0} +
                      (64'(cur_cq_tail) << kvcpu_hif_pkg::CQE_SHIFT);
            state_d = S_AW;
          end
        end
      end
      S_PAW: begin
        if (m_axi_awready_i) begin
          state_d = S_PW;
        end
      end
      S_PW: begin
        if (m_axi_wready_i) begin
          beat_d = beat_q + 3'd1;
          if (beat_q == 3'd7) begin
            state_d = S_PB;
          end
        end
      end
      S_PB: begin
        if (m_axi_bvalid_i) begin
          addr_d  = {cur_cq_base[63:4], 4'b0} +
                    (64'(cur_cq_tail) << kvcpu_hif_pkg::CQE_SHIFT);
          state_d = S_AW;
        end
      end
      S_AW: begin
        if (m_axi_awready_i) begin
          state_d = S_W0;
        end
      end
      S_W0: begin
        if (m_axi_wready_i) begin
          state_d = S_W1;
        end
      end
      S_W1: begin
        if (m_axi_wready_i) begin
          state_d = S_B;
        end
      end
      S_B: begin
        if (m_axi_bvalid_i) begin
          cq_tail_adv = 1'b1;
          irq_d       = 1'b1;
          state_d     = S_IDLE;
        end
      end
      default: state_d = S_IDLE;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q  <= S_IDLE;
      cur_q_q  <= QidW'(NumQueues - 1);  // so that queue 0 is looked at first
      addr_q   <= '0;
      sqe_q    <= '0;
      beat_q   <= '0;
      rd_err_q <= 1'b0;
      status_q <= '0;
      result_q <= '0;
      irq_q    <= 1'b0;
      t_db_q      <= '0;
      t_fetched_q <= '0;
      t_started_q <= '0;
      t_done_q    <= '0;
      t_posted_q  <= '0;
    end else begin
      state_q  <= state_d;
      cur_q_q  <= cur_q_d;
      addr_q   <= addr_d;
      sqe_q    <= sqe_d;
      beat_q   <= beat_d;
      rd_err_q <= rd_err_d;
      status_q <= status_d;
      result_q <= result_d;
      irq_q    <= irq_d;
      t_db_q      <= t_db_d;
      t_fetched_q <= t_fetched_d;
      t_started_q <= t_started_d;
      t_done_q    <= t_done_d;
      t_posted_q  <= t_posted_d;
    end
  end

  // ---- error events (one-cycle pulses)
  assign err_bad_db_o = db_valid_i && !db_ok;
  assign err_axi_rd_o = (state_q == S_R) && m_axi_rvalid_i && m_axi_rresp_i[1];
  assign err_axi_wr_o = ((state_q == S_B) || (state_q == S_PB)) && m_axi_bvalid_i &&
                        m_axi_bresp_i[1];

  // ---- the provenance record (docs/host-interface.md), beat by beat
  always_comb begin
    unique case (beat_q)
      3'd0: prov_w = {16'(cur_q_q), sqe.cid, sqe.flow_id};
      3'd1: prov_w = {16'(sq_head_all[cur_q_q*PtrW +: PtrW]), status_q, phase_all[cur_q_q],
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
  assign cqe.phase   = phase_all[cur_q_q];
  assign cqe.cid     = sqe.cid;
  assign cqe.sq_id   = 16'(cur_q_q);
  assign cqe.sq_head = 16'(sq_head_all[cur_q_q*PtrW +: PtrW]);
  assign cqe.flow_id = sqe.flow_id;
  assign cqe.result  = result_q;

  assign m_axi_arvalid_o = (state_q == S_AR);
  assign m_axi_araddr_o  = addr_q;
  assign m_axi_arlen_o   = 8'd7;    // 8 beats of 8 bytes
  assign m_axi_arsize_o  = 3'd3;    // 8 bytes
  assign m_axi_arburst_o = 2'b01;   // INCR
  assign m_axi_rready_o  = (state_q == S_R);

  assign m_axi_awvalid_o = (state_q == S_AW) || (state_q == S_PAW);
  assign m_axi_awaddr_o  = addr_q;
  assign m_axi_awlen_o   = (state_q == S_PAW) ? 8'd7 : 8'd1;  // record 8 beats, CQE 2
  assign m_axi_awsize_o  = 3'd3;
  assign m_axi_awburst_o = 2'b01;
  assign m_axi_wvalid_o  = (state_q == S_W0) || (state_q == S_W1) || (state_q == S_PW);
  assign m_axi_wdata_o   = (state_q == S_PW) ? prov_w :
                           (state_q == S_W1) ? cqe[127:64] : cqe[63:0];
  assign m_axi_wstrb_o   = '1;
  assign m_axi_wlast_o   = (state_q == S_W1) || ((state_q == S_PW) && (beat_q == 3'd7));
  assign m_axi_bready_o  = (state_q == S_B) || (state_q == S_PB);

  assign cmd_valid_o  = (state_q == S_CMD);
  assign cmd_qid_o    = cur_q_q;
  assign cmd_sqe_o    = sqe;
  assign cpl_ready_o  = (state_q == S_CPL);
  assign irq_valid_o  = irq_q;
  assign irq_vector_o = cur_q_q;
  assign sq_head_o    = sq_head_all;
  assign cq_tail_o    = cq_tail_all;
  assign busy_o       = (state_q != S_IDLE) || (|pend);

  // The completion carries the in-flight command's qid and cid (one command in flight).
  logic unused_cpl_id;
  assign unused_cpl_id = ^{cpl_qid_i, cpl_cid_i, cur_sq_base[5:0], cur_cq_base[3:0],
                           cur_prov_base[5:0],
                           m_axi_rresp_i[0], m_axi_bresp_i[0], m_axi_rlast_i};

  // ---- protocol monitors: one read burst and one write burst outstanding at most
  logic       rd_out_q, wr_addr_q, wr_data_done_q;
  logic [3:0] wbeats_q;
  logic [7:0] wlen_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_out_q       <= 1'b0;
      wr_addr_q      <= 1'b0;
      wr_data_done_q <= 1'b0;
      wbeats_q       <= '0;
      wlen_q         <= '0;
    end else begin
      if (m_axi_arvalid_o && m_axi_arready_i) begin
        rd_out_q <= 1'b1;
      end else if (m_axi_rvalid_i && m_axi_rready_o && m_axi_rlast_i) begin
        rd_out_q <= 1'b0;
      end
      if (m_axi_awvalid_o && m_axi_awready_i) begin
        wr_addr_q <= 1'b1;
        wlen_q    <= m_axi_awlen_o;
      end else if (m_axi_bvalid_i && m_axi_bready_o) begin
        wr_addr_q      <= 1'b0;
        wr_data_done_q <= 1'b0;
        wbeats_q       <= '0;
      end
      if (m_axi_wvalid_o && m_axi_wready_i) begin
        wbeats_q <= wbeats_q + 4'd1;
        if (m_axi_wlast_o) begin
          wr_data_done_q <= 1'b1;
        end
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
  `KV_ASSERT(OneWrite_A, m_axi_awvalid_o |-> !wr_addr_q)
  `KV_ASSERT(WAfterAw_A, m_axi_wvalid_o |-> wr_addr_q && !wr_data_done_q)
  `KV_ASSERT(WLast_A, m_axi_wvalid_o |-> m_axi_wlast_o == (8'(wbeats_q) == wlen_q))
  `KV_ASSERT(ArAligned_A, m_axi_arvalid_o |-> m_axi_araddr_o[5:0] == 6'b0)
  `KV_ASSERT(AwAligned_A, m_axi_awvalid_o |-> m_axi_awaddr_o[3:0] == 4'b0)
  `KV_ASSERT(PawAligned_A, state_q == S_PAW |-> m_axi_awaddr_o[5:0] == 6'b0)
  // the environment: responses only for outstanding bursts, rlast on the 8th beat, and
  // completions only for the command in flight
  `KV_ASSERT(RExpected_A, m_axi_rvalid_i |-> rd_out_q)
  `KV_ASSERT(RLast_A, m_axi_rvalid_i && m_axi_rready_o |-> m_axi_rlast_i == (beat_q == 3'd7))
  `KV_ASSERT(BExpected_A, m_axi_bvalid_i |-> wr_addr_q && wr_data_done_q)
  `KV_ASSERT(CplMatches_A, cpl_valid_i && cpl_ready_o |-> cpl_qid_i == cur_q_q &&
             cpl_cid_i == sqe.cid)
  `KV_ASSERT(CqNoOverwrite_A, m_axi_awvalid_o |-> !cq_full[cur_q_q])
  `KV_ASSERT_KNOWN(ArValidKnown_A, m_axi_arvalid_o)
  `KV_ASSERT_KNOWN(AwValidKnown_A, m_axi_awvalid_o)
  `KV_ASSERT_KNOWN(WValidKnown_A, m_axi_wvalid_o)
  `KV_ASSERT_KNOWN(CmdValidKnown_A, cmd_valid_o)

endmodule
