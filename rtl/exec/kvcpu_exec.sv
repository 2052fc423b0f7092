// Command executor: runs the commands kvcpu_hif forwards (docs/exec.md, opcode table and
// status codes in docs/host-interface.md "Commands").
//
// - One command at a time: take it on cmd, register it, check it (engine fields again,
//   opcode, fields, length), run it, offer its completion on cpl. cmd_ready_o is high only
//   while idle.
// - STEP_ADVANCE asks the core for a new step on the step handshake; block hints count in
//   HINT_COUNT (a keyed hint, length 0, acts on the directory first); the block commands
//   (BLK_*) and keyed hints are one directory op each on the dir port, whose answer is the
//   completion (LOOKUP/TOUCH may write the entry to host memory); ECHO returns its value;
//   I/O commands (IO_READ/WRITE/DISCARD) are pushed to the I/O unit (kvcpu_io), which
//   completes them later, out of order: their completion here is deferred (cpl_defer_o),
//   or IO_BUSY when the I/O unit has no free context (DISCARD first writes its Dataset
//   Management range to host memory);
//   DMA_COPY copies host memory over the AXI4 master in
//   chunks of up to 16 beats that cross no 4 KiB boundary on either side: read the chunk
//   into a buffer, write it, wait for B, repeat (one burst outstanding at a time).
// - Every valid output is registered state except step_valid_o, which also drops while a
//   mode-1 target is below step_i (docs/exec.md); none depends on a ready.
`include "kvcpu_assert.svh"

module kvcpu_exec #(
  parameter int unsigned QidW = 3
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,
  // commands from kvcpu_hif
  input  logic                        cmd_valid_i,
  output logic                        cmd_ready_o,
  input  logic [QidW-1:0]             cmd_qid_i,
  input  kvcpu_hif_pkg::sqe_t         cmd_sqe_i,
  // completion of the command in flight
  output logic                        cpl_valid_o,
  input  logic                        cpl_ready_i,
  output logic [QidW-1:0]             cpl_qid_o,
  output logic [15:0]                 cpl_cid_o,
  output logic [14:0]                 cpl_status_o,
  output logic [31:0]                 cpl_result_o,
  output logic                        cpl_defer_o,    // no CQE: the I/O unit completes it later
  // decode step: the core owns it; STEP_ADVANCE offers a new value
  input  logic [63:0]                 step_i,
  output logic                        step_valid_o,
  input  logic                        step_ready_i,
  output logic [63:0]                 step_value_o,
  // HINT_COUNT[i], i = opcode - 0x10, at [i*32 +: 32]
  output logic [5*32-1:0]             hint_count_o,
  // block directory (kvcpu_rtbd's request/response, as its master): one op per command
  output logic                        dir_req_valid_o,
  input  logic                        dir_req_ready_i,
  output kvcpu_rtbd_pkg::op_e         dir_req_op_o,
  output logic [63:0]                 dir_req_key_o,
  output logic [31:0]                 dir_req_handle_o,
  output logic [2:0]                  dir_req_tier_o,
  output logic [63:0]                 dir_req_addr_o,
  output logic                        dir_req_prefix_o,
  output logic                        dir_req_dirty_o,
  output logic                        dir_req_recompute_ok_o,
  output logic [31:0]                 dir_req_lifetime_end_o,
  output logic [15:0]                 dir_req_session_o,
  output logic [7:0]                  dir_req_model_id_o,
  output logic [2:0]                  dir_req_hint_o,
  output logic [31:0]                 dir_req_target_o,
  input  logic                        dir_rsp_valid_i,     // one per request, no backpressure
  input  logic [15:0]                 dir_rsp_status_i,
  input  logic [31:0]                 dir_rsp_handle_i,
  input  kvcpu_rtbd_pkg::entry_t      dir_rsp_entry_i,
  // I/O unit: a checked I/O command, offered for one cycle and taken iff io_push_ok_i
  output logic                        io_push_o,
  input  logic                        io_push_ok_i,
  output logic [QidW-1:0]             io_qid_o,
  output kvcpu_hif_pkg::sqe_t         io_sqe_o,
  // AXI4 master, host memory: read
  output logic                        m_axi_arvalid_o,
  input  logic                        m_axi_arready_i,
  output logic [63:0]                 m_axi_araddr_o,
  output logic [7:0]                  m_axi_arlen_o,
  output logic [2:0]                  m_axi_arsize_o,
  output logic [1:0]                  m_axi_arburst_o,
  input  logic                        m_axi_rvalid_i,
  output logic                        m_axi_rready_o,
  input  logic [63:0]                 m_axi_rdata_i,
  input  logic [1:0]                  m_axi_rresp_i,
  input  logic                        m_axi_rlast_i,
  // AXI4 master, host memory: write
  output logic                        m_axi_awvalid_o,
  input  logic                        m_axi_awready_i,
  output logic [63:0]                 m_axi_awaddr_o,
  output logic [7:0]                  m_axi_awlen_o,
  output logic [2:0]                  m_axi_awsize_o,
  output logic [1:0]                  m_axi_awburst_o,
  output logic                        m_axi_wvalid_o,
  input  logic                        m_axi_wready_i,
  output logic [63:0]                 m_axi_wdata_o,
  output logic [7:0]                  m_axi_wstrb_o,
  output logic                        m_axi_wlast_o,
  input  logic                        m_axi_bvalid_i,
  output logic                        m_axi_bready_o,
  input  logic [1:0]                  m_axi_bresp_i,
  // error events: one-cycle pulse per DMA beat (R) or burst (B) with SLVERR/DECERR
  output logic                        err_host_rd_o,
  output logic                        err_host_wr_o,
  // a command accepted and not yet completed
  output logic                        busy_o
);

  if (QidW < 1) begin : gen_bad_qidw
    $error("kvcpu_exec: QidW must be at least 1");
  end

  localparam int unsigned NumHints = 5;
  localparam int unsigned MaxBeats = 16;  // per burst
  // Length limits (bytes) and the largest DMA_COPY in 8-byte beats.
  localparam logic [31:0] HINT_LEN_MAX = 32'h4000_0000;  // 2^30
  localparam logic [31:0] DMA_LEN_MAX  = 32'h0010_0000;  // 2^20
  localparam int unsigned EntryBeats = kvcpu_rtbd_pkg::ENTRY_W / 64;  // 5: 40 bytes
  localparam logic [31:0] IO_LEN_MAX = 32'h0000_2000;  // 2 x 4 KiB: PRP1 + PRP2, no PRP list

  typedef enum logic [3:0] {
    S_IDLE,    // cmd_ready_o
    S_CHECK,   // classify the registered command
    S_STEP,    // step handshake
    S_AR,      // DMA: read address of a chunk
    S_R,       // DMA: its data into the buffer
    S_AW,      // DMA: write address of the chunk
    S_W,       // DMA: its data from the buffer
    S_B,       // DMA: write response
    S_DIR,     // directory request (dir_req_valid_o)
    S_DIR_RSP, // waiting for its response
    S_IO,      // offer to the I/O unit (io_push_o)
    S_CPL      // cpl_valid_o
  } state_e;

  // ---- the command in flight
  state_e              state_q, state_d;
  kvcpu_hif_pkg::sqe_t sqe_q, sqe_d;
  logic [QidW-1:0]     qid_q, qid_d;
  logic [14:0]         status_q, status_d;
  logic [31:0]         result_q, result_d;
  logic [63:0]         src_q, src_d, dst_q, dst_d;   // next chunk's addresses
  logic [20:0]         rem_q, rem_d;                 // bytes left to copy (<= 2^20)
  logic [20:0]         done_q, done_d;               // bytes written (B OKAY)
  logic [3:0]          beat_q, beat_d;               // beat within the chunk
  logic                rd_err_q, rd_err_d;           // an error beat in this chunk
  logic                ent_wr_q, ent_wr_d;           // the write burst is an entry / DSM range
  logic                defer_q, defer_d;             // the completion is the I/O unit's
  logic [NumHints*32-1:0] hint_q, hint_d;
  logic                err_rd_q, err_rd_d, err_wr_q, err_wr_d;

  // ---- decode of the registered command
  logic [7:0]  opc;
  logic [63:0] arg;        // cdw bytes 39:32: step / target_step / value
  logic [7:0]  mode;       // cdw byte 40 (STEP_ADVANCE)
  logic [31:0] len;
  logic        is_hint, is_step, is_echo, is_dma, is_nop, is_blk, is_io, known;
  logic        is_dirop;   // one directory op: a BLK_* command or a keyed hint (length 0)
  logic        ent_out;    // LOOKUP/TOUCH with an entry buffer (addr1 != 0)
  logic        eng_bad;    // the engine's own checks, repeated
  logic        fields_bad, len_bad;
  logic [14:0] chk_status;

  assign opc  = sqe_q.opcode;
  assign arg  = sqe_q.cmd_specific[63:0];
  assign mode = sqe_q.cmd_specific[71:64];
  assign len  = sqe_q.length;

  assign is_nop  = (opc == kvcpu_hif_pkg::OPC_NOP);
  assign is_step = (opc == kvcpu_hif_pkg::OPC_STEP_ADVANCE);
  assign is_hint = (opc >= kvcpu_hif_pkg::OPC_MARK_HOT) && (opc <= kvcpu_hif_pkg::OPC_RELEASE);
  assign is_echo = (opc == kvcpu_hif_pkg::OPC_ECHO);
  assign is_dma  = (opc == kvcpu_hif_pkg::OPC_DMA_COPY);
  assign is_blk  = (opc >= kvcpu_hif_pkg::OPC_BLK_INSERT) && (opc <= kvcpu_hif_pkg::OPC_BLK_VICTIM);
  assign is_io   = (opc >= kvcpu_hif_pkg::OPC_IO_READ) && (opc <= kvcpu_hif_pkg::OPC_IO_DISCARD);
  assign known   = is_nop || is_step || is_hint || is_echo || is_dma || is_blk || is_io;
  assign is_dirop = is_blk || (is_hint && len == '0);
  assign ent_out  = (opc == kvcpu_hif_pkg::OPC_BLK_LOOKUP || opc == kvcpu_hif_pkg::OPC_BLK_TOUCH ||
                     opc == kvcpu_hif_pkg::OPC_BLK_VICTIM) && sqe_q.addr1 != '0;
  assign eng_bad = (sqe_q.flags != 8'h00) || (sqe_q.rsvd != 8'h00) ||
                   (sqe_q.io_class > kvcpu_hif_pkg::IO_CLASS_MAX);

  // Every field an opcode does not use among length, addr0, addr1, cdw must be 0.
  always_comb begin
    fields_bad = 1'b0;
    len_bad    = 1'b0;
    if (is_step) begin
      fields_bad = (len != '0) || (sqe_q.addr0 != '0) || (sqe_q.addr1 != '0) ||
                   (sqe_q.cmd_specific[255:72] != '0) || (mode > 8'd1) ||
                   (mode == 8'd0 && arg == '0);
    end else if (is_hint) begin
      // length 0: addr0 is a directory key, and a PREFETCH target must fit the directory's
      // 32-bit steps; else a byte range (va, len), counted only
      fields_bad = (sqe_q.addr1 != '0) ||
                   (sqe_q.cmd_specific[255:64] != '0) ||
                   (opc != kvcpu_hif_pkg::OPC_PREFETCH && arg != '0) ||
                   (len == '0 && arg[63:32] != '0);
      len_bad    = (len > HINT_LEN_MAX);
    end else if (is_io) begin
      // cdw: [63:0] slba, [79:64] session, [87:80] model, [95:88] placement type, [111:96] id
      fields_bad = (sqe_q.addr1 != '0) || (sqe_q.cmd_specific[255:112] != '0) || (len[11:0] != '0);
      if (opc == kvcpu_hif_pkg::OPC_IO_WRITE) begin
        fields_bad = fields_bad || (sqe_q.addr0[11:0] != '0) || (sqe_q.cmd_specific[95:88] > 8'd2) ||
                     (sqe_q.cmd_specific[95:88] == 8'd0 && sqe_q.cmd_specific[111:96] != '0);
      end else if (opc == kvcpu_hif_pkg::OPC_IO_READ) begin
        fields_bad = fields_bad || (sqe_q.addr0[11:0] != '0) || (sqe_q.cmd_specific[111:88] != '0);
      end else begin  // DISCARD: addr0 = 16 bytes of host memory for the range
        fields_bad = fields_bad || (sqe_q.addr0[3:0] != '0) || (sqe_q.cmd_specific[111:88] != '0);
      end
      len_bad = (len == '0) || (opc != kvcpu_hif_pkg::OPC_IO_DISCARD && len > IO_LEN_MAX);
    end else if (is_blk) begin
      fields_bad = (len != '0);
      unique case (opc)
        kvcpu_hif_pkg::OPC_BLK_INSERT:  // tier, flags, session, model, lifetime_end
          fields_bad = fields_bad || (sqe_q.cmd_specific[7:3] != '0) ||
                       (sqe_q.cmd_specific[15:11] != '0) || (sqe_q.cmd_specific[63:40] != '0) ||
                       (sqe_q.cmd_specific[255:96] != '0);
        kvcpu_hif_pkg::OPC_BLK_LOOKUP, kvcpu_hif_pkg::OPC_BLK_TOUCH:  // addr1: entry buffer
          fields_bad = fields_bad || (sqe_q.addr1[5:0] != '0) || (sqe_q.cmd_specific != '0);
        kvcpu_hif_pkg::OPC_BLK_DELETE:
          fields_bad = fields_bad || (sqe_q.addr1 != '0) || (sqe_q.cmd_specific != '0);
        kvcpu_hif_pkg::OPC_BLK_VICTIM:  // no key; addr1: entry buffer
          fields_bad = fields_bad || (sqe_q.addr0 != '0) || (sqe_q.addr1[5:0] != '0) ||
                       (sqe_q.cmd_specific != '0);
        default:  // SET_TIER: handle, tier; addr1 = the new address
          fields_bad = fields_bad || (sqe_q.addr0 != '0) || (sqe_q.cmd_specific[39:35] != '0) ||
                       (sqe_q.cmd_specific[255:40] != '0);
      endcase
    end else if (is_echo) begin
      fields_bad = (len != '0) || (sqe_q.addr0 != '0) || (sqe_q.addr1 != '0) ||
                   (sqe_q.cmd_specific[255:32] != '0);
    end else if (is_dma) begin
      fields_bad = (sqe_q.cmd_specific != '0) || (sqe_q.addr0[2:0] != 3'b0) ||
                   (sqe_q.addr1[2:0] != 3'b0) || (len[2:0] != 3'b0);
      len_bad    = (len == '0) || (len > DMA_LEN_MAX);
    end
  end

  // Check order: engine fields, opcode, fields, length.
  always_comb begin
    if (eng_bad) begin
      chk_status = kvcpu_hif_pkg::ST_INVALID_FIELD;
    end else if (!known) begin
      chk_status = kvcpu_hif_pkg::ST_INVALID_OPCODE;
    end else if (fields_bad) begin
      chk_status = kvcpu_hif_pkg::ST_INVALID_FIELD;
    end else if (len_bad) begin
      chk_status = kvcpu_hif_pkg::ST_INVALID_LENGTH;
    end else begin
      chk_status = kvcpu_hif_pkg::ST_SUCCESS;
    end
  end

  // ---- step: mode 0 advances by arg (wrapping), mode 1 sets arg unless it is below step_i
  logic step_back;
  assign step_back    = (mode == 8'd1) && (arg < step_i);
  assign step_value_o = (mode == 8'd1) ? arg : step_i + arg;
  assign step_valid_o = (state_q == S_STEP) && !step_back;

  // ---- directory request, from the registered command (docs/exec.md "Block commands")
  always_comb begin
    unique case (opc)
      kvcpu_hif_pkg::OPC_BLK_INSERT:   dir_req_op_o = kvcpu_rtbd_pkg::OP_INSERT;
      kvcpu_hif_pkg::OPC_BLK_LOOKUP:   dir_req_op_o = kvcpu_rtbd_pkg::OP_LOOKUP;
      kvcpu_hif_pkg::OPC_BLK_TOUCH:    dir_req_op_o = kvcpu_rtbd_pkg::OP_TOUCH;
      kvcpu_hif_pkg::OPC_BLK_DELETE:   dir_req_op_o = kvcpu_rtbd_pkg::OP_DELETE;
      kvcpu_hif_pkg::OPC_BLK_SET_TIER: dir_req_op_o = kvcpu_rtbd_pkg::OP_SET_TIER;
      kvcpu_hif_pkg::OPC_BLK_VICTIM:   dir_req_op_o = kvcpu_rtbd_pkg::OP_VICTIM;
      kvcpu_hif_pkg::OPC_SHARE_PREFIX: dir_req_op_o = kvcpu_rtbd_pkg::OP_SHARE;
      kvcpu_hif_pkg::OPC_RELEASE:      dir_req_op_o = kvcpu_rtbd_pkg::OP_RELEASE;
      default:                         dir_req_op_o = kvcpu_rtbd_pkg::OP_UPDATE_HINT;
    endcase
    unique case (opc)
      kvcpu_hif_pkg::OPC_MARK_HOT: dir_req_hint_o = {1'b0, kvcpu_rtbd_pkg::HINT_HOT};
      kvcpu_hif_pkg::OPC_PREFETCH: dir_req_hint_o = {1'b0, kvcpu_rtbd_pkg::HINT_PREFETCH};
      default:                     dir_req_hint_o = {1'b0, kvcpu_rtbd_pkg::HINT_EVICT};
    endcase
  end
  assign dir_req_valid_o        = (state_q == S_DIR);
  assign dir_req_key_o          = sqe_q.addr0;
  assign dir_req_handle_o       = sqe_q.cmd_specific[31:0];
  assign dir_req_tier_o         = (opc == kvcpu_hif_pkg::OPC_BLK_SET_TIER) ?
                                  sqe_q.cmd_specific[34:32] : sqe_q.cmd_specific[2:0];
  assign dir_req_addr_o         = sqe_q.addr1;
  assign dir_req_prefix_o       = sqe_q.cmd_specific[8];
  assign dir_req_dirty_o        = sqe_q.cmd_specific[9];
  assign dir_req_recompute_ok_o = sqe_q.cmd_specific[10];
  assign dir_req_session_o      = sqe_q.cmd_specific[31:16];
  assign dir_req_model_id_o     = sqe_q.cmd_specific[39:32];
  assign dir_req_lifetime_end_o = sqe_q.cmd_specific[95:64];
  assign dir_req_target_o       = arg[31:0];

  // Result of a directory op: handle [15:0] and the entry's tier [17:16], or all ones when
  // the answer carries no handle.
  logic [31:0] dir_result;
  assign dir_result = (dir_rsp_handle_i == kvcpu_rtbd_pkg::NO_HANDLE) ? 32'hFFFF_FFFF :
                      {14'b0, dir_rsp_entry_i.tier, dir_rsp_handle_i[15:0]};

  logic [19:0] io_lbas;  // length in 4 KiB logical blocks
  assign io_lbas = len[31:12];

  // ---- DMA chunk: up to 16 beats, not past a 4 KiB boundary of source or destination
  logic [9:0] src_room, dst_room, chunk;  // in beats, 1..512
  logic [3:0] chunk_len;                  // AxLEN = beats - 1
  logic [12:0] chunk_bytes;
  always_comb begin
    src_room = 10'd512 - {1'b0, src_q[11:3]};
    dst_room = 10'd512 - {1'b0, dst_q[11:3]};
    chunk    = 10'(MaxBeats);
    if (src_room < chunk) begin
      chunk = src_room;
    end
    if (dst_room < chunk) begin
      chunk = dst_room;
    end
    if (rem_q[20:3] < 18'(chunk)) begin
      chunk = 10'(rem_q[20:3]);
    end
  end
  assign chunk_len   = chunk[3:0] - 4'd1;  // rem_q >= 8 while copying, so chunk is 1..16
  assign chunk_bytes = {chunk, 3'b0};

  // ---- chunk buffer (plain vectors, no reset)
  // (also holds a directory entry, 5 words, on its way to host memory)
  logic [63:0] buf_q [MaxBeats];
  always_ff @(posedge clk_i) begin
    if (state_q == S_R && m_axi_rvalid_i) begin
      buf_q[beat_q] <= m_axi_rdata_i;
    end else if (state_q == S_DIR_RSP && dir_rsp_valid_i) begin
      for (int unsigned i = 0; i < EntryBeats; i++) begin
        buf_q[i] <= dir_rsp_entry_i[i*64 +: 64];
      end
    end else if (state_q == S_CHECK) begin
      // a DISCARD's Dataset Management range: attributes 0, length in blocks, SLBA
      buf_q[0] <= {12'b0, io_lbas, 32'b0};
      buf_q[1] <= sqe_q.cmd_specific[63:0];
    end
  end

  // ---- FSM
  always_comb begin
    state_d  = state_q;
    sqe_d    = sqe_q;
    qid_d    = qid_q;
    status_d = status_q;
    result_d = result_q;
    src_d    = src_q;
    dst_d    = dst_q;
    rem_d    = rem_q;
    done_d   = done_q;
    beat_d   = beat_q;
    rd_err_d = rd_err_q;
    ent_wr_d = ent_wr_q;
    defer_d  = defer_q;
    hint_d   = hint_q;
    err_rd_d = 1'b0;
    err_wr_d = 1'b0;
    unique case (state_q)
      S_IDLE: begin
        if (cmd_valid_i) begin
          sqe_d   = cmd_sqe_i;
          qid_d   = cmd_qid_i;
          state_d = S_CHECK;
        end
      end
      S_CHECK: begin
        status_d = chk_status;
        result_d = '0;
        ent_wr_d = 1'b0;
        defer_d  = 1'b0;
        state_d  = S_CPL;
        if (chk_status == kvcpu_hif_pkg::ST_SUCCESS) begin
          if (is_step) begin
            state_d = S_STEP;
          end else if (is_dirop) begin
            state_d = S_DIR;
          end else if (is_io) begin
            state_d = S_IO;
            if (opc == kvcpu_hif_pkg::OPC_IO_DISCARD) begin
              // the range goes to host memory first: one 2-beat burst at addr0
              src_d    = sqe_q.addr0;
              dst_d    = sqe_q.addr0;
              rem_d    = 21'd16;
              beat_d   = '0;
              ent_wr_d = 1'b1;
              state_d  = S_AW;
            end
          end else if (is_echo) begin
            result_d = arg[31:0];
          end else if (is_hint) begin
            for (int unsigned i = 0; i < NumHints; i++) begin
              if (opc[2:0] == 3'(i)) begin
                hint_d[i*32 +: 32] = hint_q[i*32 +: 32] + 32'd1;
              end
            end
          end else if (is_dma) begin
            src_d   = sqe_q.addr0;
            dst_d   = sqe_q.addr1;
            rem_d   = len[20:0];
            done_d  = '0;
            state_d = S_AR;
          end
        end
      end
      S_STEP: begin
        // step_i counts only in cycles with step_ready_i (the core holds it low while an
        // MMIO write changes the step)
        if (step_ready_i) begin
          state_d = S_CPL;
          if (step_back) begin
            status_d = kvcpu_hif_pkg::ST_STEP_BACKWARDS;
          end else begin
            result_d = step_value_o[31:0];
          end
        end
      end
      S_DIR: begin
        if (dir_req_ready_i) begin
          state_d = S_DIR_RSP;
        end
      end
      S_DIR_RSP: begin
        if (dir_rsp_valid_i) begin
          status_d = dir_rsp_status_i[14:0];
          result_d = dir_result;
          state_d  = S_CPL;
          if (is_hint && dir_rsp_status_i == kvcpu_rtbd_pkg::ST_SUCCESS) begin
            for (int unsigned i = 0; i < NumHints; i++) begin
              if (opc[2:0] == 3'(i)) begin
                hint_d[i*32 +: 32] = hint_q[i*32 +: 32] + 32'd1;
              end
            end
          end
          if (ent_out) begin
            // the entry (zero when the answer has no handle) to addr1: one 5-beat burst
            // inside one 64-byte line
            src_d    = sqe_q.addr1;
            dst_d    = sqe_q.addr1;
            rem_d    = 21'(EntryBeats * 8);
            beat_d   = '0;
            ent_wr_d = 1'b1;
            state_d  = S_AW;
          end
        end
      end
      S_IO: begin
        // taken: the I/O unit posts the completion; else no context is free
        state_d = S_CPL;
        if (io_push_ok_i) begin
          defer_d = 1'b1;
        end else begin
          status_d = kvcpu_hif_pkg::ST_IO_BUSY;
        end
      end
      S_AR: begin
        beat_d   = '0;
        rd_err_d = 1'b0;
        if (m_axi_arready_i) begin
          state_d = S_R;
        end
      end
      S_R: begin
        if (m_axi_rvalid_i) begin
          beat_d = beat_q + 4'd1;
          if (m_axi_rresp_i[1]) begin
            rd_err_d = 1'b1;
            err_rd_d = 1'b1;
          end
          if (beat_q == chunk_len) begin
            beat_d = '0;
            if (rd_err_d) begin
              // the chunk with the error is not written
              status_d = kvcpu_hif_pkg::ST_DMA_ERROR;
              result_d = 32'(done_q);
              state_d  = S_CPL;
            end else begin
              state_d = S_AW;
            end
          end
        end
      end
      S_AW: begin
        if (m_axi_awready_i) begin
          state_d = S_W;
        end
      end
      S_W: begin
        if (m_axi_wready_i) begin
          beat_d = beat_q + 4'd1;
          if (beat_q == chunk_len) begin
            state_d = S_B;
          end
        end
      end
      S_B: begin
        if (m_axi_bvalid_i) begin
          if (m_axi_bresp_i[1]) begin
            // a failed entry write keeps the directory op's result (the op took effect)
            err_wr_d = 1'b1;
            status_d = kvcpu_hif_pkg::ST_DMA_ERROR;
            if (!ent_wr_q) begin
              result_d = 32'(done_q);
            end
            state_d  = S_CPL;
          end else if (ent_wr_q) begin
            state_d = is_io ? S_IO : S_CPL;
          end else begin
            done_d = done_q + 21'(chunk_bytes);
            src_d  = src_q + 64'(chunk_bytes);
            dst_d  = dst_q + 64'(chunk_bytes);
            rem_d  = rem_q - 21'(chunk_bytes);
            if (rem_q == 21'(chunk_bytes)) begin
              status_d = kvcpu_hif_pkg::ST_SUCCESS;
              result_d = 32'(done_d);
              state_d  = S_CPL;
            end else begin
              state_d = S_AR;
            end
          end
        end
      end
      S_CPL: begin
        if (cpl_ready_i) begin
          state_d = S_IDLE;
        end
      end
      default: state_d = S_IDLE;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q  <= S_IDLE;
      sqe_q    <= '0;
      qid_q    <= '0;
      status_q <= '0;
      result_q <= '0;
      src_q    <= '0;
      dst_q    <= '0;
      rem_q    <= '0;
      done_q   <= '0;
      beat_q   <= '0;
      rd_err_q <= 1'b0;
      ent_wr_q <= 1'b0;
      defer_q  <= 1'b0;
      hint_q   <= '0;
      err_rd_q <= 1'b0;
      err_wr_q <= 1'b0;
    end else begin
      state_q  <= state_d;
      sqe_q    <= sqe_d;
      qid_q    <= qid_d;
      status_q <= status_d;
      result_q <= result_d;
      src_q    <= src_d;
      dst_q    <= dst_d;
      rem_q    <= rem_d;
      done_q   <= done_d;
      beat_q   <= beat_d;
      rd_err_q <= rd_err_d;
      ent_wr_q <= ent_wr_d;
      defer_q  <= defer_d;
      hint_q   <= hint_d;
      err_rd_q <= err_rd_d;
      err_wr_q <= err_wr_d;
    end
  end

  // ---- outputs
  assign cmd_ready_o  = (state_q == S_IDLE);
  assign cpl_valid_o  = (state_q == S_CPL);
  assign cpl_qid_o    = qid_q;
  assign cpl_cid_o    = sqe_q.cid;
  assign cpl_status_o = status_q;
  assign cpl_result_o = result_q;
  assign cpl_defer_o  = defer_q;
  assign hint_count_o = hint_q;
  assign busy_o       = (state_q != S_IDLE);
  assign io_push_o = (state_q == S_IO);
  assign io_qid_o  = qid_q;
  assign io_sqe_o  = sqe_q;
  assign err_host_rd_o = err_rd_q;
  assign err_host_wr_o = err_wr_q;

  assign m_axi_arvalid_o = (state_q == S_AR);
  assign m_axi_araddr_o  = src_q;
  assign m_axi_arlen_o   = 8'(chunk_len);
  assign m_axi_arsize_o  = 3'd3;   // 8 bytes
  assign m_axi_arburst_o = 2'b01;  // INCR
  assign m_axi_rready_o  = (state_q == S_R);

  assign m_axi_awvalid_o = (state_q == S_AW);
  assign m_axi_awaddr_o  = dst_q;
  assign m_axi_awlen_o   = 8'(chunk_len);
  assign m_axi_awsize_o  = 3'd3;
  assign m_axi_awburst_o = 2'b01;
  assign m_axi_wvalid_o  = (state_q == S_W);
  assign m_axi_wdata_o   = buf_q[beat_q];
  assign m_axi_wstrb_o   = '1;
  assign m_axi_wlast_o   = (beat_q == chunk_len);
  assign m_axi_bready_o  = (state_q == S_B);

  // Unused: the routing fields (echoed by the engine), OKAY/EXOKAY bit of the responses,
  // rlast (the beat count ends a chunk; asserted below).
  logic unused;
  assign unused = ^{sqe_q.flow_id, sqe_q.home_queue, m_axi_rresp_i[0], m_axi_bresp_i[0],
                    m_axi_rlast_i, dir_rsp_entry_i};

  // ---- protocol monitors
  logic       rd_out_q, wr_addr_q, wr_data_done_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_out_q       <= 1'b0;
      wr_addr_q      <= 1'b0;
      wr_data_done_q <= 1'b0;
    end else begin
      if (m_axi_arvalid_o && m_axi_arready_i) begin
        rd_out_q <= 1'b1;
      end else if (m_axi_rvalid_i && m_axi_rready_o && m_axi_rlast_i) begin
        rd_out_q <= 1'b0;
      end
      if (m_axi_awvalid_o && m_axi_awready_i) begin
        wr_addr_q <= 1'b1;
      end else if (m_axi_bvalid_i && m_axi_bready_o) begin
        wr_addr_q      <= 1'b0;
        wr_data_done_q <= 1'b0;
      end
      if (m_axi_wvalid_o && m_axi_wready_i && m_axi_wlast_o) begin
        wr_data_done_q <= 1'b1;
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
  `KV_ASSERT(CplHold_A, cpl_valid_o && !cpl_ready_i |=> cpl_valid_o && $stable(cpl_qid_o) &&
             $stable(cpl_cid_o) && $stable(cpl_status_o) && $stable(cpl_result_o) &&
             $stable(cpl_defer_o))
  // step_valid_o holds unless step_i changed (a mode-1 target fell below it)
  `KV_ASSERT(StepHold_A, step_valid_o && !step_ready_i |=> step_valid_o || !$stable(step_i))
  // burst shape: INCR, 8-byte beats, 1..16 beats, aligned, within one 4 KiB page
  `KV_ASSERT(ArShape_A, m_axi_arvalid_o |-> m_axi_arsize_o == 3'd3 && m_axi_arburst_o == 2'b01 &&
             m_axi_arlen_o < 8'(MaxBeats) && m_axi_araddr_o[2:0] == 3'b0 &&
             13'(m_axi_araddr_o[11:0]) + 13'({m_axi_arlen_o[3:0], 3'b0}) < 13'h1000)
  `KV_ASSERT(AwShape_A, m_axi_awvalid_o |-> m_axi_awsize_o == 3'd3 && m_axi_awburst_o == 2'b01 &&
             m_axi_awlen_o < 8'(MaxBeats) && m_axi_awaddr_o[2:0] == 3'b0 &&
             13'(m_axi_awaddr_o[11:0]) + 13'({m_axi_awlen_o[3:0], 3'b0}) < 13'h1000)
  // one read and one write burst outstanding; write data only after its address
  `KV_ASSERT(OneRead_A, m_axi_arvalid_o |-> !rd_out_q)
  `KV_ASSERT(OneWrite_A, m_axi_awvalid_o |-> !wr_addr_q)
  `KV_ASSERT(WAfterAw_A, m_axi_wvalid_o |-> wr_addr_q && !wr_data_done_q)
  // the environment: cmd holds until taken, responses only for outstanding bursts, rlast
  // on the chunk's last beat
  `KV_ASSERT(DirHold_A, dir_req_valid_o && !dir_req_ready_i |=> dir_req_valid_o &&
             $stable(dir_req_op_o) && $stable(dir_req_key_o))
  `KV_ASSERT(DirRspExpected_A, dir_rsp_valid_i |-> state_q == S_DIR_RSP)
  `KV_ASSERT(CmdHold_A, cmd_valid_i && !cmd_ready_o |=> cmd_valid_i && $stable(cmd_sqe_i) &&
             $stable(cmd_qid_i))
  `KV_ASSERT(RExpected_A, m_axi_rvalid_i |-> rd_out_q)
  `KV_ASSERT(RLast_A, m_axi_rvalid_i && m_axi_rready_o |-> m_axi_rlast_i == (beat_q == chunk_len))
  `KV_ASSERT(BExpected_A, m_axi_bvalid_i |-> wr_addr_q && wr_data_done_q)
  `KV_ASSERT_KNOWN(ArValidKnown_A, m_axi_arvalid_o)
  `KV_ASSERT_KNOWN(AwValidKnown_A, m_axi_awvalid_o)
  `KV_ASSERT_KNOWN(WValidKnown_A, m_axi_wvalid_o)
  `KV_ASSERT_KNOWN(CplValidKnown_A, cpl_valid_o)
  `KV_ASSERT_KNOWN(StepValidKnown_A, step_valid_o)
  `KV_ASSERT_KNOWN(DirValidKnown_A, dir_req_valid_o)
  `KV_ASSERT_KNOWN(IoPushKnown_A, io_push_o)

endmodule
