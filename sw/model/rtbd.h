// Reference model of the Request-Tagged Block Directory (RTBD), bit-exact with
// docs/rtbd-hepc.md. The RTL is written later from that spec and checked against this model.
//
//  * 2^set_bits sets x 8 ways (capacity 8 * 2^set_bits; 65,536 entries at set_bits = 13).
//    A key lives in set RtbdSet(key); one set row is read per op and all 8 ways are compared
//    in parallel. The handle of a live entry is set * 8 + way (stable until DELETE).
//  * One op per call; each op is what the hardware does in one pipeline slot. An op that
//    fails changes nothing (status != kSuccess).
//  * The directory does not order blocks; HepcModel (hepc.h) owns the victim structures and
//    calls the directory through the same ops. RtbdModel alone is the directory without HEPC.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace kvcpu::model {

inline constexpr uint32_t kNoHandle = 0xFFFFFFFFu;
inline constexpr unsigned kWays = 8;
inline constexpr unsigned kMaxSetBits = 13;  // 65,536 entries
inline constexpr uint8_t kFreqMax = 15;      // F is a 4-bit saturating counter
inline constexpr uint8_t kRefMax = 255;      // refcount is 8 bits

// Completion status space of the directory ops: the host-interface codes (0x0000..0x0080)
// plus the block range 0x0100.. proposed in docs/rtbd-hepc.md.
enum class Status : uint16_t {
  kSuccess = 0x0000,
  kStepBackwards = 0x0080,  // host-interface code, reused by StepAdvance
  kNotFound = 0x0100,       // no entry with this key (or a handle that is not live)
  kDuplicate = 0x0101,      // INSERT of a key that is present; handle = the existing entry
  kDirFull = 0x0102,        // INSERT into a set whose 8 ways are all valid (a set conflict)
  kRefUnderflow = 0x0103,   // RELEASE with refcount 0
  kRefOverflow = 0x0104,    // SHARE with refcount 255
  kHintStale = 0x0105,      // PREFETCH target in a step bucket that has already passed
  kBadField = 0x0106,       // tier > 3, unknown hint kind
};

enum class Hint : uint8_t { kNone = 0, kHot = 1, kPrefetch = 2, kEvict = 3 };

// 64-bit key: [63:48] request id, [47:40] layer, [39:32] head, [31:0] token start.
struct Key {
  uint16_t request = 0;
  uint8_t layer = 0;
  uint8_t head = 0;
  uint32_t token_start = 0;

  uint64_t Packed() const {
    return (uint64_t{request} << 48) | (uint64_t{layer} << 40) | (uint64_t{head} << 32) |
           token_start;
  }
  static Key Unpack(uint64_t k) {
    return Key{static_cast<uint16_t>(k >> 48), static_cast<uint8_t>(k >> 40),
               static_cast<uint8_t>(k >> 32), static_cast<uint32_t>(k)};
  }
  bool operator==(const Key&) const = default;
};

// Set index of a packed key (docs/rtbd-hepc.md "Hash"): multiply-free, xor and wiring only.
//   a = key[31:0], b = key[63:32]
//   m = a ^ (a >> 9) ^ (a >> 14) ^ rotl32(b, 16) ^ rotl32(b, 3) ^ rotl32(b, 11)
//   set = xor of the set_bits-wide chunks of m (chunk j = m[set_bits*j +: set_bits]).
uint32_t RtbdMix(uint64_t packed_key);
uint32_t RtbdSet(uint64_t packed_key, unsigned set_bits);

// One directory entry (docs/rtbd-hepc.md "Entry layout", a 320-bit row).
struct Entry {
  bool valid = false;
  Key key;
  uint8_t tier = 0;           // 2 bits: 0 T0 (fast tier), 1 T1, 2 T2, 3 T3
  uint64_t addr = 0;          // address in that tier
  uint8_t freq = 0;           // F, 4 bits saturating (1 at INSERT, +1 per TOUCH)
  uint32_t last_access = 0;   // step of the last access / list entry (R and S derive from it)
  uint32_t next_use = 0;      // PREFETCH target step (valid while hint == kPrefetch)
  uint32_t hint_bucket = 0;   // absolute next-use bucket: min(next_use >> G, cur + NB - 1)
  Hint hint = Hint::kNone;    // 2 bits
  bool prefix = false;        // D
  uint8_t refcount = 0;       // 8 bits
  bool dirty = false;
  bool recompute_ok = false;
  uint32_t lifetime_end = 0;  // step after which the block is dead; 0 = unknown
  uint16_t session = 0;
  uint8_t model_id = 0;
  bool moving = false;        // an evict/prefetch plan is outstanding (SET_TIER clears it)
};

struct InsertArgs {
  Key key;
  uint8_t tier = 0;
  uint64_t addr = 0;
  bool prefix = false;
  bool dirty = false;
  bool recompute_ok = false;
  uint32_t lifetime_end = 0;
  uint16_t session = 0;
  uint8_t model_id = 0;
};

struct OpResult {
  Status status = Status::kSuccess;
  uint32_t handle = kNoHandle;  // the entry acted on (kDirFull: the set's victim way or none)
  bool ok() const { return status == Status::kSuccess; }
};

// Directory with the hint-bucket parameters it needs to fill hint_bucket.
struct RtbdConfig {
  unsigned set_bits = 13;      // 1..13
  unsigned bucket_shift = 4;   // G: steps per next-use bucket = 2^G (0..16)
  unsigned num_buckets = 1024; // NB: power of two, 32..1024
};

class RtbdModel {
 public:
  explicit RtbdModel(const RtbdConfig& config);

  const RtbdConfig& config() const { return config_; }
  uint32_t capacity() const { return static_cast<uint32_t>(entries_.size()); }
  uint32_t size() const { return live_; }
  uint32_t step() const { return step_; }
  uint32_t current_bucket() const { return step_ >> config_.bucket_shift; }
  // The entry behind a handle (any handle < capacity; invalid entries have valid = false).
  const Entry& entry(uint32_t handle) const { return entries_.at(handle); }
  uint32_t SetOf(const Key& k) const { return RtbdSet(k.Packed(), config_.set_bits); }

  // The ops (docs/rtbd-hepc.md "Operations"). All look the key up in its set first.
  OpResult Insert(const InsertArgs& args);      // valid, F = 1, last_access = step, hint none
  OpResult Lookup(const Key& key) const;        // no state change
  OpResult Touch(const Key& key);               // F+1 (sat), last_access = step, hint
                                                //  PREFETCH/EVICT consumed (-> none)
  OpResult UpdateHint(const Key& key, Hint hint, uint32_t target_step);
  OpResult Delete(const Key& key);
  OpResult Share(const Key& key);               // refcount + 1, prefix = 1
  OpResult Release(const Key& key);             // refcount - 1
  OpResult SetTier(uint32_t handle, uint8_t tier, uint64_t addr);  // plan done: moving = 0

  // STEP_ADVANCE to an absolute step (>= current), else kStepBackwards and no change.
  Status SetStep(uint32_t step);

  // Used by HepcModel: fields the controller writes in the same pipeline slot as the op.
  Entry& mutable_entry(uint32_t handle) { return entries_.at(handle); }

 private:
  // Handle of `key` in its set, or kNoHandle; *free_way = lowest invalid way (or kWays).
  uint32_t Find(const Key& key, unsigned* free_way) const;

  RtbdConfig config_;
  std::vector<Entry> entries_;
  uint32_t live_ = 0;
  uint32_t step_ = 0;
};

}  // namespace kvcpu::model
