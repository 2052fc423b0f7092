// Host queues of the device (docs/host-interface.md): DMA memory, commands, completions with
// their provenance, and queue pairs with batch submit and completion by polling or by
// waiting on the queue's MSI-X vector.
//
// Threading: a QueuePair belongs to one thread at a time (the intended use is one queue pair
// per submitting thread); different QueuePairs of one Device may be used from different
// threads at once (their register accesses go through the Device's lock). A Device must
// outlive its QueuePairs and DmaBuffers.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <vector>
#include <string>

#include "kvcpu/result.h"
#include "kvcpu/status.h"
#include "kvcpu/transport.h"

namespace kvcpu {

// I/O classes (SQE byte 10), the Kairo classes plus normal.
enum class IoClass : uint8_t { kDecodeRead = 0, kPrefetchRead = 1, kPrefillWrite = 2, kEvict = 3, kNormal = 4 };
const char* io_class_name(IoClass c);

enum class Opcode : uint8_t {
  kNop = 0x00,
  kStepAdvance = 0x01,
  kMarkHot = 0x10,
  kEvict = 0x11,
  kPrefetch = 0x12,
  kSharePrefix = 0x13,
  kRelease = 0x14,
  kEcho = 0x20,
  kDmaCopy = 0x21,
  kBlkInsert = 0x30,
  kBlkLookup = 0x31,
  kBlkTouch = 0x32,
  kBlkDelete = 0x33,
  kBlkSetTier = 0x34,
  kBlkVictim = 0x35,
  kIoRead = 0x40,
  kIoWrite = 0x41,
  kIoDiscard = 0x42,
};

// Completion status codes (15 bits).
namespace cqe_status {
inline constexpr uint16_t kSuccess = 0x0000;
inline constexpr uint16_t kInvalidOpcode = 0x0001;
inline constexpr uint16_t kInvalidField = 0x0002;
inline constexpr uint16_t kFetchError = 0x0003;
inline constexpr uint16_t kInvalidLength = 0x0004;
inline constexpr uint16_t kDmaError = 0x0005;
inline constexpr uint16_t kStepBackwards = 0x0080;
// block commands and keyed hints: the directory's answers
inline constexpr uint16_t kNotFound = 0x0100;
inline constexpr uint16_t kDuplicate = 0x0101;
inline constexpr uint16_t kDirFull = 0x0102;
inline constexpr uint16_t kRefUnderflow = 0x0103;
inline constexpr uint16_t kRefOverflow = 0x0104;
inline constexpr uint16_t kHintStale = 0x0105;
inline constexpr uint16_t kBadField = 0x0106;
// I/O commands
inline constexpr uint16_t kNvmeError = 0x0200;  // result = the NVMe status field (SCT << 8 | SC, DNR 14)
inline constexpr uint16_t kIoTimeout = 0x0201;
inline constexpr uint16_t kIoBusy = 0x0202;     // every I/O context in use (IO_CONTEXTS): retry later
const char* name(uint16_t status);
}  // namespace cqe_status

// Block key: [63:48] request id, [47:40] layer, [39:32] head, [31:0] token start.
constexpr uint64_t block_key(uint16_t request, uint8_t layer, uint8_t head, uint32_t token_start) {
  return (uint64_t{request} << 48) | (uint64_t{layer} << 40) | (uint64_t{head} << 32) | token_start;
}

// BLK_INSERT's fields.
struct BlockInsert {
  uint64_t key = 0;
  uint8_t tier = 0;       // 0..3
  uint64_t addr = 0;      // the block's address in that tier
  bool prefix = false, dirty = false, recompute_ok = false;
  uint16_t session = 0;
  uint8_t model = 0;
  uint32_t lifetime_end = 0;  // step after which the block is dead; 0 = unknown
};

// A directory entry as BLK_LOOKUP/BLK_TOUCH write it (40 bytes; docs/rtbd-hepc.md "Entry layout").
struct BlockEntry {
  bool valid = false;
  uint64_t key = 0;
  uint8_t tier = 0;
  uint64_t addr = 0;
  uint8_t freq = 0;
  uint32_t last_access = 0, next_use = 0, hint_bucket = 0;
  uint8_t hint = 0;  // 0 none, 1 hot, 2 prefetch, 3 evict
  bool prefix = false;
  uint8_t refcount = 0;
  bool dirty = false, recompute_ok = false;
  uint32_t lifetime_end = 0;
  uint16_t session = 0;
  uint8_t model = 0;
  bool moving = false;
  static BlockEntry decode(const uint8_t* record40);
};

// The result of a block command: handle [15:0], tier [17:16]; all ones names no entry.
struct BlockResult {
  uint32_t raw = 0xFFFFFFFFu;
  bool has_entry() const { return raw != 0xFFFFFFFFu; }
  uint16_t handle() const { return static_cast<uint16_t>(raw); }
  uint8_t tier() const { return static_cast<uint8_t>((raw >> 16) & 3); }
};

// An I/O command's fields (docs/host-interface.md "I/O commands"): 4 KiB logical blocks.
struct IoArgs {
  uint64_t buffer_iova = 0;  // 4 KiB aligned host buffer (DISCARD: 16 bytes for the range)
  uint64_t slba = 0;
  uint32_t bytes = 4096;     // a multiple of 4096: 4096 or 8192 (DISCARD: any)
  uint16_t session = 0;
  uint8_t model = 0;
  uint8_t placement_type = 0;  // writes: 0 none, 1 Streams, 2 FDP
  uint16_t placement_id = 0;
};

// One 64-byte submission queue entry, little-endian. The driver fills in the cid.
struct Command {
  std::array<uint8_t, 64> b{};

  static Command nop();
  static Command step_advance(uint64_t n);  // n >= 1
  static Command step_set(uint64_t step);   // must not go backwards
  static Command hint(Opcode op, uint64_t va, uint32_t len, uint64_t target_step = 0);
  static Command echo(uint32_t value);
  static Command dma_copy(uint64_t src_iova, uint64_t dst_iova, uint32_t len);
  // Block commands (docs/host-interface.md): one directory op each. entry_iova != 0 (64-byte
  // aligned) receives the entry record.
  static Command blk_insert(const BlockInsert& b);
  static Command blk_lookup(uint64_t key, uint64_t entry_iova = 0);
  static Command blk_touch(uint64_t key, uint64_t entry_iova = 0);
  static Command blk_delete(uint64_t key);
  static Command blk_set_tier(uint16_t handle, uint8_t tier, uint64_t addr);
  // The directory's demand victim in the configured HEPC mode (no state changes): result =
  // its handle and tier, or 0xFFFFFFFF when T0 holds no evictable block.
  static Command blk_victim(uint64_t entry_iova = 0);
  // I/O commands: one NVMe command each; the class is io_class() (SQE byte 10).
  static Command io(Opcode op, const IoArgs& a);
  // A keyed block hint (MARK_HOT .. RELEASE) on one directory entry.
  static Command block_hint(Opcode op, uint64_t key, uint32_t target_step = 0) {
    return hint(op, key, 0, target_step);
  }

  Command& flow(uint32_t flow_id) { return put(4, flow_id, 4); }
  Command& io_class(IoClass c) { return put(10, static_cast<uint8_t>(c), 1); }
  Command& home_cpu(uint16_t cpu) { return put(8, cpu, 2); }

  Opcode opcode() const { return static_cast<Opcode>(b[0]); }
  uint16_t cid() const { return static_cast<uint16_t>(get(2, 2)); }
  uint32_t flow_id() const { return static_cast<uint32_t>(get(4, 4)); }
  // Raw field access (tests build malformed commands with these).
  Command& put(unsigned offset, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
    return *this;
  }
  uint64_t get(unsigned offset, unsigned bytes) const {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(b[offset + i]) << (8 * i);
    return v;
  }
};

// The device's side of a command's path (the provenance record), in device clock cycles.
struct DeviceTimes {
  uint16_t home_cpu = 0;
  uint8_t io_class = 0;
  uint8_t opcode = 0;
  uint64_t doorbell = 0, fetched = 0, started = 0, done = 0, posted = 0;
};

// The host's side, CLOCK_MONOTONIC nanoseconds: submitted <= woken <= seen.
struct HostTimes {
  uint64_t submitted = 0;  // the command was written and its doorbell sent
  uint64_t woken = 0;      // the waiting thread resumed on the interrupt (= seen when the
                           // CQE was found by polling or by a re-check)
  uint64_t seen = 0;       // the driver read its CQE
};

struct Completion {
  uint32_t result = 0;
  uint32_t flow_id = 0;
  uint16_t sq_head = 0;
  uint16_t sq_id = 0;
  uint16_t cid = 0;
  uint16_t status = 0;
  bool has_provenance = false;
  DeviceTimes dev;
  HostTimes host;
  bool ok() const { return status == cqe_status::kSuccess; }
};

uint64_t monotonic_ns();

// Device-visible host memory: a memfd mapped here and into the device at `iova`.
class DmaBuffer {
 public:
  ~DmaBuffer();
  DmaBuffer(const DmaBuffer&) = delete;
  DmaBuffer& operator=(const DmaBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  uint64_t iova() const { return iova_; }
  size_t size() const { return size_; }

 private:
  friend class Device;
  DmaBuffer(Transport* t, std::mutex* mu, int fd, uint8_t* data, uint64_t iova, size_t size)
      : t_(t), mu_(mu), fd_(fd), data_(data), iova_(iova), size_(size) {}
  Transport* t_;
  std::mutex* mu_;
  int fd_;
  uint8_t* data_;
  uint64_t iova_;
  size_t size_;
};

struct QueueOptions {
  unsigned depth_log2 = 8;   // 2^k entries, 1..12; at most 2^k - 1 commands in flight
  bool provenance = true;    // the device writes a provenance record per completion
  bool interrupts = true;    // MSI-X vector bound to an eventfd; wait() sleeps on it
  uint8_t coalesce_count = 1;       // interrupt after this many completions (0/1: each)
  uint32_t coalesce_time_cycles = 0;  // ... or this long after the first pending one (0: off)
  // How long wait() sleeps on the vector before it re-checks the CQ and the device's
  // completion counter (lost-interrupt recovery).
  std::chrono::milliseconds recheck{5};

  // Per-class presets: decode interrupts at once; prefetch, prefill and evict batch up to
  // 16 completions or 8 µs at 250 MHz.
  static QueueOptions for_class(IoClass c);
};

struct QueueStats {
  uint64_t submitted = 0, completed = 0, doorbells = 0;  // doorbells: SQ tail
  uint64_t cq_doorbells = 0;  // CQ head doorbells (rung lazily, see poll())
  uint64_t interrupts = 0;  // eventfd wake-ups
  uint64_t recovered = 0;   // completions found after a wait timed out without an interrupt
};

class QueuePair {
 public:
  ~QueuePair();  // disables the queue, masks its vector, unmaps its rings
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;

  unsigned id() const { return qid_; }
  unsigned capacity() const { return mask_; }  // most commands in flight
  unsigned in_flight() const { return in_flight_; }
  const QueueStats& stats() const { return stats_; }

  // Writes as many of cmds as fit, then rings the SQ doorbell once. The driver gives each
  // command a CID no other command in flight has (I/O commands complete out of order), from
  // 0..capacity(); Completion::cid names it.
  // Returns how many were queued (0 when the queue is full: reap first).
  Result<size_t> submit(std::span<const Command> cmds);
  // Reaps the completions that are visible now (up to out.size()). The CQ doorbell is rung
  // lazily: when half the ring has been reaped since the last one, or when submit() needs
  // the room (docs/driver.md, "CQ head doorbell").
  Result<size_t> poll(std::span<Completion> out);
  // Like poll(), but when nothing is there sleeps on the queue's vector (or spins politely
  // when interrupts are off) until something completes or `timeout` passes (kTimeout).
  // Every `recheck` without an interrupt it looks at the CQ and the device's counters, so a
  // lost interrupt costs latency, not a hang; a server that went away gives kConnection.
  Result<size_t> wait(std::span<Completion> out, std::chrono::milliseconds timeout);

 private:
  friend class Device;
  QueuePair() = default;
  // Where the rings of a 2^k-entry queue lie in its one DMA buffer (page-aligned offsets).
  struct Layout {
    uint64_t cq, prov, bytes;  // the SQ is at offset 0
  };
  static Layout layout(unsigned depth_log2);
  Status setup(const QueueOptions& o);
  size_t reap(std::span<Completion> out, uint64_t woken_ns);
  // Books n reaped completions; rings the CQ doorbell once half the ring is unannounced.
  Status consumed(size_t n);
  Status ring_cq();
  uint16_t head_status_phase() const;
  Result<uint32_t> read_reg(uint32_t off);
  Status write_reg(uint32_t off, uint32_t v, bool posted);

  Transport* t_ = nullptr;
  std::mutex* mu_ = nullptr;
  uint32_t* qmask_ = nullptr;  // the Device's set of queues in use
  unsigned qid_ = 0;
  unsigned mask_ = 0;
  bool prov_ = false, irq_ = false, irq_bound_ = false, enabled_ = false;
  std::chrono::milliseconds recheck_{5};
  std::unique_ptr<DmaBuffer> mem_;
  uint8_t *sq_ = nullptr, *cq_ = nullptr, *pv_ = nullptr;
  unsigned sq_tail_ = 0, cq_head_ = 0, in_flight_ = 0;
  unsigned cq_unrung_ = 0;  // reaped CQ slots the device has not been told of
  bool phase_ = true;
  int efd_ = -1;
  std::unique_ptr<uint64_t[]> t_submit_;  // per CID: when it was submitted
  std::deque<uint16_t> free_cids_;         // CIDs not in flight, oldest first (in-order
                                           // completions reuse them round robin)
  std::vector<bool> cid_busy_;
  QueueStats stats_;
};

}  // namespace kvcpu
