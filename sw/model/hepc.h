// Reference model of the eviction/prefetch controller (HEPC) on top of the directory
// (docs/rtbd-hepc.md). HepcModel owns an RtbdModel; every directory op goes through it so
// that the victim structures are updated in the same op, as the hardware does:
//
//  * Seed structure: 32 LRU lists, one per class c = 16*D + F (F 4-bit), plus an EVICT list.
//    P is non-increasing in age within a class, so a class's head is its lowest-P block;
//    the victim is the EVICT-list head, else the minimum of (P(head_c), c) over the 32 heads.
//  * Hint structure: an EVICT list, an LRU list of T0 blocks with no live next-use hint,
//    a ring of NB next-use buckets for T0 blocks (victim = farthest non-empty bucket's head,
//    found with a two-level bitmap), a ring of NB buckets for hinted lower-tier blocks
//    (prefetch candidates, nearest first) and a list of lower-tier blocks whose hint passed.
//  * A block is in at most one list of each structure; which one is a pure function of its
//    entry and the current bucket (Membership*). An op that changes the list, or an access
//    (INSERT, TOUCH), unlinks the block and appends it at the tail of its new list; a block
//    appended to a seed class list gets last_access = current step (so lists stay sorted).
//  * STEP_ADVANCE expires the buckets the current bucket passed (one O(1) splice each: T0 ->
//    head of the LRU list, lower tier -> stale list), then emits evict and prefetch plans.
//
// Nothing here scans the directory: Victim() reads list heads and the bitmaps only; the cost
// model is Victim().cycles, which does not depend on the capacity.
#pragma once

#include <cstdint>
#include <vector>

#include "rtbd.h"

namespace kvcpu::model {

enum class Mode : uint8_t { kSeed = 0, kHint = 1 };

inline constexpr uint8_t kDiscard = 4;  // plan to-tier: drop the block (no write-back)

struct HepcConfig {
  Mode mode = Mode::kHint;
  // Seed score P = min(0xFFFF, w_r*R + w_f*F + w_s*S + w_d*255*D); see docs for defaults.
  uint8_t w_r = 8;
  uint8_t w_f = 32;
  uint8_t w_s = 4;
  uint8_t w_d = 64;
  uint16_t window = 255;      // W of S = max(0, W - age)
  uint16_t evict_t = 64;      // seed mode: STEP_ADVANCE evicts while P(victim) < evict_t
  uint16_t prefetch_t = 0;    // kept for seed compatibility (see docs: not used by plans)
  // Plans on STEP_ADVANCE.
  uint32_t t0_high_wm = 0xFFFFFFFFu;  // evict while T0 blocks (not moving) > this
  uint32_t prefetch_window = 256;     // prefetch hinted lower-tier blocks due within this
  uint16_t max_evict_plans = 16;      // per STEP_ADVANCE
  uint16_t max_prefetch_plans = 16;   // per STEP_ADVANCE
  uint8_t evict_tier = 2;             // write-back target (1..3)
  uint32_t short_lived = 0;           // lifetime_end != 0 && lifetime_end <= t + this -> discard
};

struct Plan {
  enum Kind : uint8_t { kEvict = 0, kPrefetch = 1 };
  Kind kind = kEvict;
  uint32_t handle = kNoHandle;
  uint8_t from_tier = 0;
  uint8_t to_tier = 0;  // 0..3, or kDiscard
  // Packed 32-bit plan word: [15:0] handle, [17:16] from, [20:18] to, [21] kind.
  uint32_t Packed() const {
    return (handle & 0xFFFFu) | (uint32_t{from_tier} << 16) | (uint32_t{to_tier} << 18) |
           (uint32_t{kind} << 21);
  }
  bool operator==(const Plan&) const = default;
};

struct VictimResult {
  uint32_t handle = kNoHandle;  // kNoHandle: no evictable T0 block
  uint16_t score = 0;           // seed mode: P of the victim (0 for EVICT-list victims)
  unsigned cycles = 0;          // decision latency in cycles (fixed per mode)
};

struct HepcCounters {
  uint64_t ops = 0, evict_plans = 0, prefetch_plans = 0, discards = 0, expired_buckets = 0,
           victim_queries = 0, dir_full = 0, hint_stale = 0;
};

class HepcModel {
 public:
  HepcModel(const RtbdConfig& dir_config, const HepcConfig& config);

  const RtbdModel& dir() const { return dir_; }
  const HepcConfig& config() const { return config_; }
  // Weights, thresholds and the mode may change at any time (the structures of both modes
  // are maintained all the time, so a mode switch takes effect at once).
  void set_config(const HepcConfig& config) { config_ = config; }
  const HepcCounters& counters() const { return counters_; }
  uint32_t t0_blocks() const { return t0_blocks_; }  // valid T0 entries, moving or not
  uint32_t t0_moving() const { return t0_moving_; }  // of which an evict plan is outstanding

  // Directory ops (same statuses as RtbdModel); INSERT on kDirFull returns SetVictim(set).
  OpResult Insert(const InsertArgs& args);
  OpResult Lookup(const Key& key) const { return dir_.Lookup(key); }
  OpResult Touch(const Key& key);
  OpResult UpdateHint(const Key& key, Hint hint, uint32_t target_step);
  OpResult Delete(const Key& key);
  OpResult Share(const Key& key);
  OpResult Release(const Key& key);
  OpResult SetTier(uint32_t handle, uint8_t tier, uint64_t addr);

  // STEP_ADVANCE to absolute `step`: expiry, then evict plans, then prefetch plans.
  // A step below the current one: kStepBackwards, nothing changes, no plans.
  Status StepAdvance(uint32_t step, std::vector<Plan>* plans);

  // The block the current mode evicts next from T0 (demand path). No state change.
  VictimResult Victim() const;
  // Seed score of an entry at the current step.
  uint16_t Score(const Entry& e) const;
  // The way a full set gives up (INSERT kDirFull): docs "Set victim". kNoHandle if none.
  uint32_t SetVictim(uint32_t set) const;

  // List membership (exposed for tests): kNone or the list id.
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  static constexpr uint32_t kSeedEvict = 32;
  static constexpr uint32_t kHintEvict = 0, kHintLru = 1, kHintStale = 2, kHintRing0 = 3;
  uint32_t SeedMembership(const Entry& e) const;
  uint32_t HintMembership(const Entry& e) const;
  // List contents head to tail (tests).
  std::vector<uint32_t> SeedList(uint32_t id) const { return Walk(seed_, id); }
  std::vector<uint32_t> HintList(uint32_t id) const { return Walk(hint_, id); }

 private:
  struct Lists {
    std::vector<uint32_t> prev, next;  // per handle
    std::vector<uint32_t> head, tail;  // per list
    std::vector<uint32_t> count;
  };
  struct Bitmap {  // two-level: words of 32 buckets + one summary word
    std::vector<uint32_t> words;
    uint32_t summary = 0;
  };

  static void InitLists(Lists* l, size_t handles, size_t lists);
  static void PushTail(Lists* l, uint32_t list, uint32_t h);
  static void PushHead(Lists* l, uint32_t list, uint32_t h);
  static void Unlink(Lists* l, uint32_t list, uint32_t h);
  // Moves all of `from` to the head (at_head) or tail of `to`, O(1).
  static void Splice(Lists* l, uint32_t from, uint32_t to, bool at_head);
  static std::vector<uint32_t> Walk(const Lists& l, uint32_t id);

  void SetBit(bool lower, uint32_t ring_index, bool on);
  void HintPush(uint32_t list, uint32_t h);
  void HintUnlink(uint32_t list, uint32_t h);
  // Farthest (T0 ring) or nearest (lower ring) non-empty ring index from the current bucket;
  // NB if empty. Exactly the two-level bitmap search of the spec.
  uint32_t Farthest(const Bitmap& bm) const;
  uint32_t Nearest(const Bitmap& bm) const;

  // Re-files handle h after an op: `before` is the entry before the op.
  void Refile(uint32_t h, const Entry& before, bool access);
  uint8_t EvictTarget(const Entry& e) const;

  RtbdModel dir_;
  HepcConfig config_;
  HepcCounters counters_;
  uint32_t nb_;
  Lists seed_, hint_;
  Bitmap t0_bits_, low_bits_;
  uint32_t t0_blocks_ = 0;
  uint32_t t0_moving_ = 0;
};

}  // namespace kvcpu::model
