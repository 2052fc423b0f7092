// Host-interface (hif) queue engine: command and completion formats (docs/hif.md).
//
// Both structs are little-endian byte images of the host-memory entries: byte 0 of the
// entry is bits [7:0] of the struct, so members are listed from the last byte to the first.
package kvcpu_hif_pkg;

  // Entry sizes as address shifts: 64-byte SQE, 16-byte CQE.
  localparam int unsigned SQE_SHIFT = 6;
  localparam int unsigned CQE_SHIFT = 4;
  // Doorbell values are 16-bit (NVMe).
  localparam int unsigned DB_WIDTH = 16;
  // I/O classes 0..4: decode read, prefetch read, prefill write, evict, normal.
  localparam logic [7:0] IO_CLASS_MAX = 8'd4;

  // Opcodes (docs/host-interface.md "Commands"); the executor is kvcpu_exec.
  typedef enum logic [7:0] {
    OPC_NOP          = 8'h00,  // completes internally with SUCCESS; every other opcode is forwarded
    OPC_STEP_ADVANCE = 8'h01,
    OPC_MARK_HOT     = 8'h10,  // block hints 0x10..0x14: HINT_COUNT[opcode - 0x10]
    OPC_EVICT        = 8'h11,
    OPC_PREFETCH     = 8'h12,
    OPC_SHARE_PREFIX = 8'h13,
    OPC_RELEASE      = 8'h14,
    OPC_ECHO         = 8'h20,
    OPC_DMA_COPY     = 8'h21,
    OPC_BLK_INSERT   = 8'h30,  // block commands: one directory op each (docs/host-interface.md)
    OPC_BLK_LOOKUP   = 8'h31,
    OPC_BLK_TOUCH    = 8'h32,
    OPC_BLK_DELETE   = 8'h33,
    OPC_BLK_SET_TIER = 8'h34,
    OPC_BLK_VICTIM   = 8'h35,  // the directory's demand victim (kvcpu_dir OP_VICTIM)
    OPC_IO_READ      = 8'h40,  // I/O commands: one NVMe command each on the NVMe port
    OPC_IO_WRITE     = 8'h41,
    OPC_IO_DISCARD   = 8'h42
  } opcode_e;

  // Completion status (15 bits; CQE bits [127:113]). 0x00..0x7F are the engine's and the
  // generic codes, 0x80..0x7FFF are left to the executors.
  typedef enum logic [14:0] {
    ST_SUCCESS        = 15'h0000,
    ST_INVALID_OPCODE = 15'h0001,  // for executors; the engine forwards every non-NOP
    ST_INVALID_FIELD  = 15'h0002,  // a reserved field is non-zero, or io_class > 4
    ST_FETCH_ERROR    = 15'h0003,  // the SQE fetch got SLVERR/DECERR
    ST_INVALID_LENGTH = 15'h0004,  // zero or oversized length
    ST_DMA_ERROR      = 15'h0005,  // a DMA_COPY beat got SLVERR/DECERR
    ST_STEP_BACKWARDS = 15'h0080,  // STEP_ADVANCE mode 1 below the current step
    ST_NVME_ERROR     = 15'h0200,  // the NVMe command completed with an error; result = its status
    ST_IO_TIMEOUT     = 15'h0201,  // no NVMe completion within the I/O timeout
    ST_IO_BUSY        = 15'h0202   // every I/O context is in use (IO_CONTEXTS); nothing was done
  } status_e;

  // 64-byte submission queue entry.
  typedef struct packed {
    logic [255:0] cmd_specific;  // bytes 63:32, opaque to the engine
    logic [63:0]  addr1;         // bytes 31:24
    logic [63:0]  addr0;         // bytes 23:16
    logic [31:0]  length;        // bytes 15:12
    logic [7:0]   rsvd;          // byte 11, must be 0
    logic [7:0]   io_class;      // byte 10
    logic [15:0]  home_queue;    // bytes 9:8
    logic [31:0]  flow_id;       // bytes 7:4
    logic [15:0]  cid;           // bytes 3:2
    logic [7:0]   flags;         // byte 1, must be 0
    logic [7:0]   opcode;        // byte 0
  } sqe_t;

  // 16-byte completion queue entry.
  typedef struct packed {
    logic [14:0] status;   // bytes 15:14, bits 15:1
    logic        phase;    // byte 14 bit 0
    logic [15:0] cid;      // bytes 13:12
    logic [15:0] sq_id;    // bytes 11:10
    logic [15:0] sq_head;  // bytes 9:8
    logic [31:0] flow_id;  // bytes 7:4
    logic [31:0] result;   // bytes 3:0
  } cqe_t;

endpackage
