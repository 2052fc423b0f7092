// Reference model of the NVMe command arbiter (narb), written from docs/narb.md.
//
// Decision by decision, not cycle by cycle: the caller says when the hardware takes a
// decision (a cycle in which its output register is empty) and calls Decide() with the state
// as it was at the start of that cycle, then applies that cycle's accepted request
// (Enqueue) and completion (Complete). NarbModel knows nothing about clocks.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace kvcpu::model {

enum NarbClass : uint8_t {
  kNarbDecode = 0,
  kNarbPrefetch = 1,
  kNarbPrefill = 2,
  kNarbEvict = 3,
  kNarbNormal = 4
};
inline constexpr unsigned kNarbClasses = 5;
enum class NarbMode : uint8_t { kFifo = 0, kRr = 1, kWrr = 2, kKairo = 3 };
inline constexpr unsigned kNarbHistBuckets = 10;
// Session fairness: decode token buckets, one per session % kNarbSessBuckets.
inline constexpr unsigned kNarbSessBuckets = 4;
// Model fairness: decode token buckets, one per model % kNarbModelBuckets.
inline constexpr unsigned kNarbModelBuckets = 4;
// Upper edges (µs) of the first nine decode-latency buckets; the tenth is "> 5000".
inline constexpr std::array<uint64_t, 9> kNarbHistEdges = {10,  25,   50,   100, 250,
                                                           500, 1000, 2000, 5000};
// The fine decode-latency histogram (docs/narb.md "Fine buckets"): 32 buckets, upper edges
// (µs) of the first 31, the last is "> 20000". Every Kairo edge is a fine edge, so each Kairo
// bucket is a union of fine buckets.
inline constexpr unsigned kNarbFineBuckets = 32;
inline constexpr std::array<uint64_t, kNarbFineBuckets - 1> kNarbFineEdges = {
    5,   10,  15,   20,   25,   30,   40,   50,   60,   80,   100,  125,  150,  200,  250,  300,
    400, 500, 600,  800,  1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10000, 20000};
// Bucket index of a latency (bucket i holds latency <= edge i and > edge i-1).
inline unsigned NarbHistBucket(uint64_t lat_us) {
  unsigned b = 0;
  while (b < kNarbHistEdges.size() && lat_us > kNarbHistEdges[b]) ++b;
  return b;
}
inline unsigned NarbFineBucket(uint64_t lat_us) {
  unsigned b = 0;
  while (b < kNarbFineEdges.size() && lat_us > kNarbFineEdges[b]) ++b;
  return b;
}

// Why KAIRO mode granted (the rule number of docs/narb.md); 0 in the other modes.
enum class NarbRule : uint8_t {
  kNone = 0,
  kAgedPrefill = 1,
  kAgedPrefetch = 2,
  kAgedNormal = 3,
  kAgedEvict = 4,
  kDecode = 5,
  kPrefetch = 6,
  kPrefill = 7,
  kNormal = 8,
  kEvict = 9,
  kDecodeOver = 10,
  kPrefetchOver = 11,
  kWriteTurn = 12,  // paced: the write turn of PREFILL / NORMAL / EVICT (docs/narb.md)
};

struct NarbConfig {
  NarbMode mode = NarbMode::kKairo;
  uint32_t decode_budget = 32;    // 8 bits
  uint32_t prefetch_budget = 16;  // 8 bits
  uint64_t prefetch_deadline_us = 5000;
  uint64_t write_deadline_us = 100000;
  uint64_t evict_deadline_us = 500000;
  uint64_t normal_deadline_us = 200000;
  uint32_t tag_reserve = 2;       // slots held for DECODE
  uint16_t wrr_weights = 0x1124;  // 4 bits per class 1..4
  // Adaptive p99 controller: 0 off, 1 observe, 2 and 3 adaptive.
  uint32_t ctrl_mode = 0;
  uint64_t target_p99_us = 5000;
  uint64_t ctrl_window_us = 1000000;
  uint32_t ctrl_min_samples = 64;        // 16 bits
  uint32_t ctrl_max_decode_budget = 64;  // 8 bits
  // Decode protection in KAIRO mode while decode is active (queued or in flight):
  // at most nd_cap non-decode commands outstanding (0: no cap), and PREFILL / NORMAL / EVICT
  // paced to one dispatch per write_gap_us (0: not paced), with that turn taken before
  // PREFETCH (rule 12).
  uint32_t nd_cap = 2;  // SlotW+1 bits
  uint64_t write_gap_us = 800;
  // Session fairness in KAIRO mode (0: off): a DECODE request whose session bucket has no
  // token is demoted to NORMAL at acceptance; every sess_refill_us each bucket gains a token,
  // up to sess_burst.
  uint32_t sess_burst = 0;  // 8 bits
  uint64_t sess_refill_us = 1000;
  // Model fairness in KAIRO mode (0: off), the same with the request's model: a DECODE
  // request is demoted when its session bucket or its model bucket (of those on) is empty;
  // otherwise it takes a token from each bucket that is on.
  uint32_t model_burst = 0;  // 8 bits
  uint64_t model_refill_us = 1000;
  // Coalescing (every mode): bit c-1 turns it on for class c = 1..4 (DECODE never). The head
  // of such a class and the entry behind it leave as one command when both are mergeable,
  // carry the same opcode, the second starts at head.lba + head.nblocks, and together they
  // are at most merge_max_blocks blocks.
  uint32_t merge_classes = 0;      // 4 bits
  uint32_t merge_max_blocks = 2;   // 16 bits
};

struct NarbRequest {
  uint8_t cls = 0;  // as presented (5..7 mean NORMAL)
  uint16_t session = 0;
  uint8_t model = 0;
  uint8_t opcode = 0;
  uint64_t lba = 0;
  uint16_t nblocks = 0;
  uint16_t tag = 0;
  bool mergeable = false;  // req_merge_i: may share a command with an adjacent request
};

struct NarbDispatch {
  NarbRequest req;                     // the head request (its own nblocks)
  std::optional<NarbRequest> second;   // coalesced: the request behind it, in the same command
  uint32_t nblocks = 0;                // the command's blocks (both requests' when coalesced)
  uint8_t cls = 0;  // 0..4
  uint32_t slot = 0;
  uint64_t enq_us = 0;  // when the request was accepted
  NarbRule rule = NarbRule::kNone;
};

struct NarbCounters {
  std::array<uint64_t, kNarbClasses> disp{};
  uint64_t prefetch_deadline_hits = 0, prefetch_budget_skips = 0, decode_budget_skips = 0;
  uint64_t starvation_escapes = 0, prefill_demotions = 0, evict_demotions = 0, cpl_errors = 0;
  std::array<uint64_t, kNarbHistBuckets> hist{};
  std::array<uint64_t, kNarbFineBuckets> hist_fine{};
  uint64_t ctrl_updates = 0, ctrl_boosts = 0, ctrl_relaxes = 0, ctrl_insufficient = 0;
  uint64_t write_turns = 0, pace_holds = 0, cap_holds = 0;
  uint64_t sess_demotions = 0;   // demoted with the session bucket empty
  uint64_t model_demotions = 0;  // demoted with the model bucket empty (both: both count)
  uint64_t coalesced = 0;        // requests sent in another request's command
};

class NarbModel {
 public:
  // time_bits: the hardware's TimeW (ages are taken modulo 2^time_bits).
  NarbModel(unsigned queue_depth, unsigned num_slots, unsigned time_bits);

  NarbConfig& config() { return cfg_; }
  const NarbCounters& counters() const { return cnt_; }

  // The queue a request would go to now: its class, or NORMAL for a DECODE request demoted
  // by session fairness (its session bucket has no token).
  uint8_t QueueOf(const NarbRequest& r) const;
  // Whether the request would be accepted now (its queue not full).
  bool CanAccept(const NarbRequest& r) const;
  // Accept a request at time now (the caller checked CanAccept).
  void Enqueue(const NarbRequest& r, uint64_t now_us);
  // Session and model fairness's cycle: called once per cycle, after the cycle's Enqueue (the
  // refill applies on top of this cycle's token use).
  void SessionTick(uint64_t now_us);
  uint32_t sess_tokens(unsigned b) const { return tokens_[b]; }
  uint32_t model_tokens(unsigned b) const { return mtokens_[b]; }
  // One decision at time now; nullopt when no class may be dispatched.
  std::optional<NarbDispatch> Decide(uint64_t now_us);
  // A completion for slot; false (and cpl_errors += 1) if the slot was not in flight.
  bool Complete(uint32_t slot, uint16_t status, uint64_t now_us);
  // The adaptive controller's cycle: called once per cycle, after Decide and before
  // Complete (a window that ends now is judged without this cycle's completion).
  void ControlTick(uint64_t now_us);
  uint32_t eff_decode_budget() const { return eff_dec_; }
  uint32_t eff_prefetch_budget() const { return eff_pf_; }
  // The last judged p99: its Kairo bucket (0..9) and its fine bucket (0..31).
  unsigned p99_bucket() const { return p99_bucket_; }
  unsigned p99_fine_bucket() const { return p99_fine_; }

  unsigned outstanding() const;
  bool slot_busy(uint32_t s) const { return s < nslots_ && slots_[s].busy; }
  unsigned outstanding_nondecode() const { return nd_; }
  unsigned queue_count(unsigned cls) const { return static_cast<unsigned>(q_[cls].size()); }
  // The i-th request queued in class cls (0: the head), or nullptr.
  const NarbRequest* queued(unsigned cls, unsigned i) const {
    return i < q_[cls].size() ? &q_[cls][i].req : nullptr;
  }
  uint32_t dec_used() const { return dec_used_; }
  uint32_t pf_used() const { return pf_used_; }
  // Whether class c was eligible at the last Decide (for the testbench's coverage).
  bool last_eligible(unsigned c) const { return last_elig_[c]; }
  bool last_aged(unsigned c) const { return last_aged_[c]; }
  // Whether the cap / the pacing held a class back at the last Decide.
  bool last_cap_held() const { return last_cap_held_; }
  bool last_pace_held() const { return last_pace_held_; }

  static uint8_t ClassOf(uint8_t presented) { return presented > 4 ? static_cast<uint8_t>(kNarbNormal) : presented; }

 private:
  struct Entry {
    NarbRequest req;
    uint64_t enq_us;
    uint64_t seq;
  };
  struct Slot {
    bool busy = false;
    uint8_t cls = 0;
    uint64_t enq_us = 0;
  };
  bool Eligible(unsigned c) const;
  uint64_t Age(unsigned c, uint64_t now) const;

  unsigned depth_, nslots_;
  uint64_t time_mask_;
  NarbConfig cfg_;
  NarbCounters cnt_;
  std::array<std::deque<Entry>, kNarbClasses> q_;
  std::vector<Slot> slots_;
  unsigned nd_ = 0;
  uint64_t seq_ = 0;
  uint32_t dec_used_ = 0, pf_used_ = 0;
  unsigned rr_last_ = kNarbNormal;
  unsigned wrr_cur_ = kNarbPrefetch;
  uint32_t wrr_used_ = 0;
  std::array<bool, kNarbClasses> last_elig_{}, last_aged_{};
  bool last_cap_held_ = false, last_pace_held_ = false;
  uint64_t last_low_us_ = 0;  // time of the last PREFILL / EVICT / NORMAL dispatch
  bool SessOn() const { return cfg_.mode == NarbMode::kKairo && (cfg_.sess_burst & 0xFF) != 0; }
  std::array<uint32_t, kNarbSessBuckets> tokens_{};
  uint64_t refill_last_us_ = 0;
  bool ModelOn() const { return cfg_.mode == NarbMode::kKairo && (cfg_.model_burst & 0xFF) != 0; }
  bool SessEmpty(const NarbRequest& r) const { return SessOn() && tokens_[r.session % kNarbSessBuckets] == 0; }
  bool ModelEmpty(const NarbRequest& r) const { return ModelOn() && mtokens_[r.model % kNarbModelBuckets] == 0; }
  std::array<uint32_t, kNarbModelBuckets> mtokens_{};
  uint64_t mrefill_last_us_ = 0;
  uint64_t win_start_ = 0;
  std::array<uint32_t, kNarbFineBuckets> win_hist_{};  // fine buckets
  uint32_t win_n_ = 0;
  uint32_t eff_dec_ = 32, eff_pf_ = 16;
  unsigned p99_bucket_ = 0;
  unsigned p99_fine_ = 0;
};

}  // namespace kvcpu::model
