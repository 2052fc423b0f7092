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

  typedef enum logic [7:0] {
    OPC_NOP = 8'h00  // completes internally with SUCCESS; every other opcode is forwarded
  } opcode_e;

  // Completion status (15 bits; CQE bits [127:113]). 0x00..0x7F are the engine's and the
  // generic codes, 0x80..0x7FFF are left to the executors.
  typedef enum logic [14:0] {
    ST_SUCCESS        = 15'h0000,
    ST_INVALID_OPCODE = 15'h0001,  // for executors; the engine forwards every non-NOP
    ST_INVALID_FIELD  = 15'h0002,  // a reserved field (flags, byte 11) is non-zero
    ST_FETCH_ERROR    = 15'h0003   // the SQE fetch got SLVERR/DECERR
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
