// RTBD block directory: op codes, status codes and the entry layout (docs/rtbd-hepc.md
// "Directory (RTBD)", docs/rtbd.md). The C++ reference is sw/model/rtbd.h (RtbdModel).
package kvcpu_rtbd_pkg;

  localparam int unsigned WAYS      = 8;
  localparam int unsigned ENTRY_W   = 320;  // one entry as the spec lays it out
  localparam int unsigned STORED_W  = 301;  // bits 300:0; 319:301 are reserved (0), not stored
  localparam logic [31:0] NO_HANDLE = 32'hFFFF_FFFF;
  localparam int unsigned MAX_SET_BITS = 13;

  // Directory ops (kvcpu_rtbd implements 0..7; kvcpu_dir, the directory with the HEPC
  // controller, also STEP_ADVANCE and VICTIM).
  typedef enum logic [3:0] {
    OP_INSERT       = 4'd0,
    OP_LOOKUP       = 4'd1,
    OP_TOUCH        = 4'd2,
    OP_UPDATE_HINT  = 4'd3,
    OP_DELETE       = 4'd4,
    OP_SHARE        = 4'd5,
    OP_RELEASE      = 4'd6,
    OP_SET_TIER     = 4'd7,
    OP_STEP_ADVANCE = 4'd8,   // absolute new step in target (kvcpu_dir only)
    OP_VICTIM       = 4'd9    // the demand victim of the current mode (kvcpu_dir only)
  } op_e;

  // Hint kinds (entry bits 232:231 and UPDATE_HINT's kind).
  localparam logic [1:0] HINT_NONE     = 2'd0;
  localparam logic [1:0] HINT_HOT      = 2'd1;
  localparam logic [1:0] HINT_PREFETCH = 2'd2;
  localparam logic [1:0] HINT_EVICT    = 2'd3;

  // Completion statuses (host-interface space; the 0x01xx block range).
  localparam logic [15:0] ST_SUCCESS       = 16'h0000;
  localparam logic [15:0] ST_STEP_BACKWARDS = 16'h0080;  // host-interface code
  localparam logic [15:0] ST_NOT_FOUND     = 16'h0100;
  localparam logic [15:0] ST_DUPLICATE     = 16'h0101;
  localparam logic [15:0] ST_DIR_FULL      = 16'h0102;
  localparam logic [15:0] ST_REF_UNDERFLOW = 16'h0103;
  localparam logic [15:0] ST_REF_OVERFLOW  = 16'h0104;
  localparam logic [15:0] ST_HINT_STALE    = 16'h0105;
  localparam logic [15:0] ST_BAD_FIELD     = 16'h0106;

  localparam logic [3:0] FREQ_MAX = 4'd15;
  localparam logic [7:0] REF_MAX  = 8'd255;

  // One entry, bit 0 = valid ... bit 319 (docs/rtbd-hepc.md "Entry layout").
  typedef struct packed {
    logic [18:0] reserved;      // 319:301
    logic        moving;        // 300
    logic [7:0]  model_id;      // 299:292
    logic [15:0] session;       // 291:276
    logic [31:0] lifetime_end;  // 275:244
    logic        recompute_ok;  // 243
    logic        dirty;         // 242
    logic [7:0]  refcount;      // 241:234
    logic        prefix;        // 233
    logic [1:0]  hint;          // 232:231
    logic [31:0] hint_bucket;   // 230:199
    logic [31:0] next_use;      // 198:167
    logic [31:0] last_access;   // 166:135
    logic [3:0]  freq;          // 134:131
    logic [63:0] addr;          // 130:67
    logic [1:0]  tier;          // 66:65
    logic [63:0] key;           // 64:1
    logic        valid;         // 0
  } entry_t;

  // A request as the block registers it (the ports, and the step current at acceptance).
  typedef struct packed {
    op_e         op;
    logic [63:0] key;
    logic [31:0] handle;        // SET_TIER
    logic [2:0]  tier;          // INSERT, SET_TIER; > 3 is BAD_FIELD
    logic [63:0] addr;          // INSERT, SET_TIER
    logic        prefix;        // INSERT flags
    logic        dirty;
    logic        recompute_ok;
    logic [31:0] lifetime_end;  // INSERT
    logic [15:0] session;       // INSERT
    logic [7:0]  model_id;      // INSERT
    logic [2:0]  hint;          // UPDATE_HINT kind; > 3 is BAD_FIELD
    logic [31:0] target;        // UPDATE_HINT PREFETCH target step
    logic [31:0] step;          // current step
  } req_t;

  // HEPC configuration (docs/rtbd-hepc.md "Registers"; HepcConfig), sampled per request.
  typedef struct packed {
    logic        mode;                // 0 seed, 1 hint
    logic [7:0]  w_r;
    logic [7:0]  w_f;
    logic [7:0]  w_s;
    logic [7:0]  w_d;
    logic [15:0] window;
    logic [15:0] evict_t;
    logic [15:0] prefetch_t;          // kept for the seed's register set; drives nothing
    logic [31:0] t0_high_wm;
    logic [31:0] prefetch_window;
    logic [15:0] max_evict_plans;
    logic [15:0] max_prefetch_plans;
    logic [1:0]  evict_tier;
    logic [31:0] short_lived;
  } hepc_cfg_t;

endpackage
