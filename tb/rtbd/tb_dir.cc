// kvcpu_dir testbench: the directory + HEPC controller against HepcModel (sw/model/hepc.h).
//
// Every accepted request is applied to the model at acceptance with the configuration the
// block sampled (HepcModel::set_config), and checked when its response comes: op, status,
// handle, the whole entry, the latency (fixed per op kind: keyed ops 2, VICTIM 4,
// STEP_BACKWARDS 1), and, when no later request was accepted yet, the 8 counters and the 2
// gauges. A STEP_ADVANCE's plans are compared word by word in order, and its response must
// come after its last plan was taken. OP_VICTIM is checked against HepcModel::Victim() in
// whichever mode the configuration is in (the mode flips at random, even mid-STEP_ADVANCE:
// the block samples the configuration at acceptance). plan_ready_i backpressures at random.
//
// Stimulus in phases, like tb_rtbd: hot sets (9..14 keys of one hash: DIR_FULL, set
// victims), random and fresh keys, refcount storms, cleanup; steps advance by 0..3, by jumps
// across buckets (bucket wrap, more than NB buckets at once) and sometimes backwards;
// PREFETCH hints around the current step (stale, clamped, in the prefetch window); plans
// are completed by SET_TIER (or DELETE for a discard) a while later. At phase ends (small
// directories) the whole directory is compared through SET_TIER with tier 4 (BAD_FIELD +
// the entry, no change).
//
// Latency: cycles from OP_VICTIM accepted to its response (both modes), and from a
// STEP_ADVANCE that passes no bucket to its first (evict) plan; printed and checked
// constant. Coverage bins; a hole fails the run.
//
//   tb_dir[_sN] [+seed=N] [+ops=N] [+trace[=FILE]]
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include KVCPU_TB_MODEL_HEADER
#include "coverage.h"
#include "hepc.h"
#include "rtbd.h"
#include "rtbd_tb.h"
#include "sim.h"

namespace {

using Model = KVCPU_TB_MODEL;
using kvcpu::sim::Coverage;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
namespace m = kvcpu::model;
using kvcpu::tb::Decode;
using kvcpu::tb::Diff;
using kvcpu::tb::StatusName;

constexpr unsigned kSetBits = KVCPU_TB_SET_BITS;
constexpr unsigned kBucketShift = KVCPU_TB_BUCKET_SHIFT;
constexpr unsigned kNumBuckets = KVCPU_TB_NUM_BUCKETS;
constexpr unsigned kSets = 1u << kSetBits;
constexpr uint32_t kCapacity = kSets * m::kWays;
// Fixed latencies of the RTL (docs/hepc.md), the same at every capacity.
constexpr uint64_t kKeyedLatency = 2;
// Seed mode first folds the 32 class heads' scores, 8 per cycle (S_SCAN, 4 cycles).
constexpr uint64_t kVictimLatencyHint = 4;
constexpr uint64_t kVictimLatencySeed = 8;
constexpr uint64_t kBackwardsLatency = 1;
// no bucket passed, first plan an evict plan (measured, reported; each mode must be fixed)
constexpr uint64_t kStepToPlanLatencyHint = 5;
constexpr uint64_t kStepToPlanLatencySeed = 9;

enum Op : uint8_t {
  kInsert, kLookup, kTouch, kUpdateHint, kDelete, kShare, kRelease, kSetTier, kStep, kVictim
};
constexpr unsigned kNumOps = 10;
constexpr const char* kOpName[kNumOps] = {"INSERT", "LOOKUP",  "TOUCH",    "UPDATE_HINT",
                                          "DELETE", "SHARE",   "RELEASE",  "SET_TIER",
                                          "STEP_ADVANCE", "VICTIM"};

struct Req {
  Op op = kLookup;
  uint64_t key = 0;
  uint32_t handle = 0;
  uint8_t tier = 0;
  uint64_t addr = 0;
  bool prefix = false, dirty = false, recompute_ok = false;
  uint32_t lifetime_end = 0;
  uint16_t session = 0;
  uint8_t model_id = 0;
  uint8_t hint = 0;
  uint32_t target = 0;
};

struct Snapshot {
  m::HepcCounters c;
  uint64_t victim_queries = 0;
  uint32_t t0_blocks = 0, t0_moving = 0;
};

struct Expect {
  Req req;
  m::OpResult res;
  m::Entry entry;
  uint64_t cycle = 0;
  uint64_t index = 0;
  Snapshot snap;
  bool seed_mode = false;
  uint32_t passed = 0;       // STEP_ADVANCE: buckets passed
  size_t plans = 0;          // STEP_ADVANCE: plan count
};


class Tb {
 public:
  Tb(int argc, char** argv)
      : sim_(SimOptions::from_args(argc, argv, KVCPU_TB_NAME)),
        model_(m::RtbdConfig{kSetBits, kBucketShift, kNumBuckets}, m::HepcConfig{}),
        n_ops_(SimOptions::plusarg(argc, argv, "ops", 1'000'000)) {}

  int Run() {
    const auto t0 = std::chrono::steady_clock::now();
    Model& dut = sim_.dut();
    cfg_ = m::HepcConfig{};
    Drive(nullptr);
    sim_.reset();
    if (dut.req_ready_o) {
      Fail("req_ready_o high right after reset (the sweep must clear 2^SetBits rows)");
    }
    NewPhase();
    while (!dut.req_ready_o && !sim_.timed_out()) {
      Cycle(false);
    }
    uint64_t next_phase = phase_len_;
    while (accepted_ < n_ops_ && ok() && !sim_.timed_out()) {
      if (accepted_ >= next_phase && !have_req_) {
        Drain();
        if (kCapacity <= 4096) {
          CompareAll();
        }
        NewPhase();
        next_phase = accepted_ + phase_len_;
      }
      Cycle(true);
    }
    Drain();
    const uint64_t main_ops = accepted_;
    const auto t1 = std::chrono::steady_clock::now();
    if (ok()) {
      CompareAll();
      Drain();
    }
    if (sim_.timed_out()) {
      Fail("simulation timed out");
    }
    const double secs = std::chrono::duration<double>(t1 - t0).count();

    cov_.print(KVCPU_TB_NAME);
    std::vector<std::string> req;
    for (const auto& [op, sts] : std::vector<std::pair<Op, std::vector<m::Status>>>{
             {kInsert, {m::Status::kSuccess, m::Status::kDuplicate, m::Status::kDirFull,
                        m::Status::kBadField}},
             {kLookup, {m::Status::kSuccess, m::Status::kNotFound}},
             {kTouch, {m::Status::kSuccess, m::Status::kNotFound}},
             {kUpdateHint, {m::Status::kSuccess, m::Status::kNotFound, m::Status::kHintStale,
                            m::Status::kBadField}},
             {kDelete, {m::Status::kSuccess, m::Status::kNotFound}},
             {kShare, {m::Status::kSuccess, m::Status::kNotFound, m::Status::kRefOverflow}},
             {kRelease, {m::Status::kSuccess, m::Status::kNotFound, m::Status::kRefUnderflow}},
             {kSetTier, {m::Status::kSuccess, m::Status::kNotFound, m::Status::kBadField}},
             {kStep, {m::Status::kSuccess, m::Status::kStepBackwards}},
             {kVictim, {m::Status::kSuccess}}}) {
      for (m::Status s : sts) {
        req.push_back(std::string(kOpName[op]) + " " + StatusName(s));
      }
    }
    for (const char* b :
         {"DIR_FULL with a set victim", "DIR_FULL without a set victim",
          "victim seed: EVICT list", "victim seed: class head", "victim seed: none",
          "victim hint: EVICT list", "victim hint: LRU", "victim hint: T0 ring",
          "victim hint: none", "plan evict seed", "plan evict hint", "plan evict discard",
          "plan evict write-back", "plan evict forced (EVICT hint)", "plan evict over T0_HIGH_WM",
          "plan evict seed P < EVICT_T", "plan prefetch", "plan backpressure",
          "plans cut by MAX_EVICT_PLANS", "plans cut by MAX_PREFETCH_PLANS",
          "expired buckets", "step passes >= NB buckets",
          "step passes 1..NB-1 buckets", "counters compared", "mode switch",
          "full-directory compare", "request held while not ready",
          "SET_TIER completes a plan", "DELETE completes a discard"}) {
      req.push_back(b);
    }
    if (kCapacity <= 2048) {
      req.push_back("expired T0 slot");
      req.push_back("expired lower slot");
    }
    const bool cov_ok = cov_.check(req);
    // decision latency: the same whatever the capacity (a constant of the RTL)
    bool lat_ok = true;
    for (const auto& [what, hist] : latency_) {
      for (const auto& [cycles, n] : hist) {
        std::printf("[%s] latency %s: %" PRIu64 " cycles (%" PRIu64 " times)\n", KVCPU_TB_NAME,
                    what.c_str(), cycles, n);
      }
      if (hist.size() != 1) {
        std::printf("[%s] latency %s is not fixed\n", KVCPU_TB_NAME, what.c_str());
        lat_ok = false;
      }
    }
    for (const char* what : {"VICTIM seed", "VICTIM hint", "STEP_ADVANCE -> first plan seed",
                             "STEP_ADVANCE -> first plan hint"}) {
      if (latency_.count(what) == 0) {
        std::printf("COVERAGE HOLE: latency %s never measured\n", what);
        lat_ok = false;
      }
    }
    const bool asserts_ok = !sim_.assertion_failed();
    std::printf("[%s] SetBits=%u (%u entries) G=%u NB=%u: %" PRIu64 " ops (+%" PRIu64
                " compare), %" PRIu64 " cycles, %" PRIu64 " plans, %" PRIu64
                " mismatches, %.2f s: %.0f ops/s\n",
                KVCPU_TB_NAME, kSetBits, kCapacity, kBucketShift, kNumBuckets, main_ops,
                accepted_ - main_ops, sim_.cycle(), plans_seen_, mismatches_, secs,
                main_ops / secs);
    const bool pass = ok() && cov_ok && lat_ok && asserts_ok;
    if (!asserts_ok) {
      std::printf("[%s] RTL assertion failed\n", KVCPU_TB_NAME);
    }
    std::printf("[%s] %s (seed=%" PRIu64 ")\n", KVCPU_TB_NAME, pass ? "PASS" : "FAIL",
                sim_.seed());
    return pass ? 0 : 1;
  }

 private:
  bool ok() const { return mismatches_ == 0 && !sim_.assertion_failed(); }

  void Fail(const std::string& what) {
    ++mismatches_;
    if (mismatches_ <= 10) {
      std::printf("MISMATCH @cycle %" PRIu64 ": %s\n", sim_.cycle(), what.c_str());
    }
  }

  std::mt19937_64& rng() { return sim_.rng(); }
  uint64_t Rand(uint64_t n) { return rng()() % n; }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng()) < p; }

  uint64_t StructuredKey() {
    const m::Key k{static_cast<uint16_t>(Rand(64)), static_cast<uint8_t>(Rand(32)),
                   static_cast<uint8_t>(Rand(8)), static_cast<uint32_t>(Rand(4096) * 512)};
    return k.Packed();
  }

  void RandomConfig() {
    m::HepcConfig c;
    c.mode = Chance(0.5) ? m::Mode::kSeed : m::Mode::kHint;
    if (Chance(0.5)) {
      c.w_r = static_cast<uint8_t>(Rand(256));
      c.w_f = static_cast<uint8_t>(Rand(256));
      c.w_s = static_cast<uint8_t>(Rand(256));
      c.w_d = static_cast<uint8_t>(Rand(256));
    }
    c.window = Chance(0.6) ? 255 : static_cast<uint16_t>(Chance(0.5) ? Rand(1024) : Rand(65536));
    const unsigned e = Rand(4);
    c.evict_t = e == 0 ? 64 : e == 1 ? 0 : e == 2 ? static_cast<uint16_t>(Rand(2048))
                                                 : static_cast<uint16_t>(Rand(65536));
    c.prefetch_t = static_cast<uint16_t>(rng()());
    const unsigned w = Rand(4);
    c.t0_high_wm = w == 0 ? 0xFFFFFFFFu : w == 1 ? static_cast<uint32_t>(Rand(kCapacity))
                 : w == 2 ? static_cast<uint32_t>(Rand(64)) : static_cast<uint32_t>(rng()());
    const uint64_t span = uint64_t{kNumBuckets} << kBucketShift;
    c.prefetch_window = Chance(0.3) ? 256 : static_cast<uint32_t>(Rand(span + 1));
    c.max_evict_plans = static_cast<uint16_t>(Chance(0.1) ? 0 : Rand(20));
    c.max_prefetch_plans = static_cast<uint16_t>(Chance(0.1) ? 0 : Rand(20));
    c.evict_tier = static_cast<uint8_t>(Chance(0.8) ? 2 + Rand(2) : Rand(4));
    c.short_lived = Chance(0.5) ? 0 : static_cast<uint32_t>(Rand(4096));
    if (c.mode != cfg_.mode) {
      ++cov_["mode switch"];
    }
    cfg_ = c;
  }

  void NewPhase() {
    ++phase_;
    pool_.clear();
    // phases 2 and 3 are always a refcount storm and a hint phase (short runs hit them)
    const bool storm = phase_ == 2 || Chance(0.1);
    const bool hints = !storm && (phase_ == 3 || Chance(0.15));
    const bool cleanup = !storm && !hints && Chance(0.15);
    std::vector<uint64_t> live;
    for (uint32_t h = 0; h < kCapacity && kCapacity <= 8192; ++h) {
      if (model_.dir().entry(h).valid) {
        live.push_back(model_.dir().entry(h).key.Packed());
      }
    }
    //                 INS LKP TCH HNT DEL SHR REL SET STEP VIC
    if (cleanup && !live.empty()) {
      pool_ = live;
      weights_ = {1, 1, 1, 1, 12, 1, 2, 2, 2, 2};
      ++cov_["phase: cleanup"];
    } else if (storm) {
      for (unsigned i = 0, n = 1 + Rand(3); i < n; ++i) {
        pool_.push_back(StructuredKey());
      }
      weights_ = {2, 1, 2, 1, 0, 12, 2, 1, 1, 1};
      ++cov_["phase: refcount storm"];
    } else if (hints) {
      // PREFETCH hints on T0 blocks: the LRU list empties, the T0 ring holds the victims
      for (unsigned i = 0, n = 8 + Rand(48); i < n; ++i) {
        pool_.push_back(StructuredKey());
      }
      weights_ = {3, 0, 0, 12, 0, 0, 0, 1, 1, 3};
      ++cov_["phase: hints"];
    } else {
      for (unsigned h = 0, nh = 1 + Rand(3); h < nh; ++h) {
        const uint64_t seed_key = StructuredKey();
        const uint32_t set = m::RtbdSet(seed_key, kSetBits);
        pool_.push_back(seed_key);
        for (unsigned n = 8 + Rand(6); n > 0;) {
          const uint64_t k = StructuredKey();
          if (m::RtbdSet(k, kSetBits) == set && k != seed_key) {
            pool_.push_back(k);
            --n;
          }
        }
      }
      for (unsigned i = 0, n = Rand(48); i < n; ++i) {
        pool_.push_back(StructuredKey());
      }
      for (unsigned i = 0, n = live.empty() ? 0 : Rand(24); i < n; ++i) {
        pool_.push_back(live[Rand(live.size())]);
      }
      for (auto& w : weights_) {
        w = Chance(0.1) ? 0 : static_cast<unsigned>(1 + Rand(10));
      }
      weights_[kInsert] += 4;
      weights_[kUpdateHint] += 3;
      weights_[kStep] += 1;
    }
    hint_prefetch_p_ = hints ? 0.9 : 0.4;
    RandomConfig();
    if (hints) {
      cfg_.mode = m::Mode::kHint;
    }
    const unsigned g = Rand(4);
    idle_p_ = g == 0 ? 0.0 : g == 1 ? 0.05 : g == 2 ? 0.2 : 0.5;
    const unsigned b = Rand(4);
    plan_stall_p_ = b == 0 ? 0.0 : b == 1 ? 0.2 : b == 2 ? 0.5 : 0.8;
    cfg_change_p_ = Chance(0.5) ? 0.0 : 0.01;
    phase_len_ = 2000 + Rand(30000);
  }

  Req Generate() {
    Req r;
    unsigned total = 0;
    for (unsigned w : weights_) {
      total += w;
    }
    unsigned pick = Rand(total == 0 ? 1 : total);
    unsigned op = 0;
    if (total == 0) {
      op = kInsert;
    } else {
      while (pick >= weights_[op]) {
        pick -= weights_[op];
        ++op;
      }
    }
    r.op = static_cast<Op>(op);
    r.key = Chance(0.03) ? rng()() : pool_[Rand(pool_.size())];
    const uint32_t step = model_.dir().step();
    r.tier = static_cast<uint8_t>(Chance(0.05) ? 4 + Rand(4) : Chance(0.7) ? 0 : 1 + Rand(3));
    r.addr = rng()();
    r.prefix = Chance(0.3);
    r.dirty = Chance(0.5);
    r.recompute_ok = Chance(0.2);
    const unsigned le = Rand(3);
    r.lifetime_end = le == 0 ? 0 : le == 1 ? step + static_cast<uint32_t>(Rand(8192))
                                           : static_cast<uint32_t>(rng()());
    r.session = static_cast<uint16_t>(rng()());
    r.model_id = static_cast<uint8_t>(rng()());
    r.hint = static_cast<uint8_t>(Chance(0.03) ? 4 + Rand(4)
                                  : Chance(hint_prefetch_p_) ? 2 : Rand(4));
    const int64_t span = int64_t{kNumBuckets} << kBucketShift;
    const int64_t delta = Chance(0.02) ? int64_t(rng()() >> 33)
                          : Chance(0.5) ? int64_t(Rand(512)) - 32
                                        : int64_t(Rand(span + span / 2 + 4096)) - 4096;
    r.target = static_cast<uint32_t>(int64_t{step} + delta);
    if (r.op == kStep) {
      const unsigned c = Rand(100);
      if (c < 3 && step > 0) {
        r.target = step - 1 - static_cast<uint32_t>(Rand(std::min<uint32_t>(step, 100)));
      } else if (c < 60) {
        r.target = step + static_cast<uint32_t>(Rand(4));
      } else if (c < 90) {
        r.target = step + static_cast<uint32_t>(Rand(uint64_t{8} << kBucketShift));
      } else if (c < 99) {
        r.target = step + static_cast<uint32_t>(Rand(uint64_t(span) * 2));
      } else {
        r.target = step + static_cast<uint32_t>(Rand(1u << 20));
      }
      if (r.target > 0xF000'0000u && r.target >= step) {
        r.target = step;  // keep far from the 2^32 wrap (not handled by the spec)
      }
    }
    if (r.op == kSetTier) {
      const unsigned c = Rand(10);
      if (c < 5 && !moving_.empty()) {
        // complete a plan: SET_TIER to its target, or DELETE a discard
        const size_t i = Rand(moving_.size());
        const uint32_t word = moving_[i];
        moving_[i] = moving_.back();
        moving_.pop_back();
        const uint32_t h = word & 0xFFFF;
        const m::Entry& e = model_.dir().entry(h);
        const unsigned to = (word >> 18) & 7;
        if (e.valid && e.moving) {
          if (to == m::kDiscard) {
            r.op = kDelete;
            r.key = e.key.Packed();
            completing_ = 2;
          } else {
            r.handle = h;
            r.tier = static_cast<uint8_t>(to);
            completing_ = 1;
          }
          return r;
        }
      }
      if (c < 8) {
        const m::OpResult lr = model_.Lookup(m::Key::Unpack(r.key));
        r.handle = lr.ok() ? lr.handle : static_cast<uint32_t>(Rand(kCapacity));
      } else if (c < 9) {
        r.handle = static_cast<uint32_t>(Rand(kCapacity));
      } else {
        r.handle = static_cast<uint32_t>(rng()());
      }
    }
    return r;
  }

  void DriveCfg() {
    Model& d = sim_.dut();
    d.cfg_mode_i = cfg_.mode == m::Mode::kHint;
    d.cfg_w_r_i = cfg_.w_r;
    d.cfg_w_f_i = cfg_.w_f;
    d.cfg_w_s_i = cfg_.w_s;
    d.cfg_w_d_i = cfg_.w_d;
    d.cfg_window_i = cfg_.window;
    d.cfg_evict_t_i = cfg_.evict_t;
    d.cfg_prefetch_t_i = cfg_.prefetch_t;
    d.cfg_t0_high_wm_i = cfg_.t0_high_wm;
    d.cfg_prefetch_window_i = cfg_.prefetch_window;
    d.cfg_max_evict_plans_i = cfg_.max_evict_plans;
    d.cfg_max_prefetch_plans_i = cfg_.max_prefetch_plans;
    d.cfg_evict_tier_i = cfg_.evict_tier;
    d.cfg_short_lived_i = cfg_.short_lived;
  }

  void Drive(const Req* r) {
    Model& d = sim_.dut();
    DriveCfg();
    d.req_valid_i = r != nullptr;
    if (r == nullptr) {
      return;
    }
    d.req_op_i = r->op;
    d.req_key_i = r->key;
    d.req_handle_i = r->handle;
    d.req_tier_i = r->tier;
    d.req_addr_i = r->addr;
    d.req_prefix_i = r->prefix;
    d.req_dirty_i = r->dirty;
    d.req_recompute_ok_i = r->recompute_ok;
    d.req_lifetime_end_i = r->lifetime_end;
    d.req_session_i = r->session;
    d.req_model_id_i = r->model_id;
    d.req_hint_i = r->hint;
    d.req_target_i = r->target;
  }

  Snapshot Snap() const {
    Snapshot s;
    s.c = model_.counters();
    s.victim_queries = victim_queries_;
    s.t0_blocks = model_.t0_blocks();
    s.t0_moving = model_.t0_moving();
    return s;
  }

  // Applies an accepted request to the model; fills e (result, entry, plans).
  void Apply(Expect* e) {
    const Req& r = e->req;
    model_.set_config(cfg_);
    e->seed_mode = cfg_.mode == m::Mode::kSeed;
    const m::Key key = m::Key::Unpack(r.key);
    const m::HepcCounters before = model_.counters();
    switch (r.op) {
      case kInsert: {
        m::InsertArgs a;
        a.key = key;
        a.tier = r.tier;
        a.addr = r.addr;
        a.prefix = r.prefix;
        a.dirty = r.dirty;
        a.recompute_ok = r.recompute_ok;
        a.lifetime_end = r.lifetime_end;
        a.session = r.session;
        a.model_id = r.model_id;
        e->res = model_.Insert(a);
        if (e->res.status == m::Status::kDirFull) {
          ++cov_[e->res.handle == m::kNoHandle ? "DIR_FULL without a set victim"
                                               : "DIR_FULL with a set victim"];
        }
        break;
      }
      case kLookup: e->res = model_.Lookup(key); break;
      case kTouch: e->res = model_.Touch(key); break;
      case kUpdateHint:
        e->res = model_.UpdateHint(key, static_cast<m::Hint>(r.hint), r.target);
        break;
      case kDelete:
        e->res = model_.Delete(key);
        if (completing_ == 2 && e->res.ok()) {
          ++cov_["DELETE completes a discard"];
        }
        break;
      case kShare: e->res = model_.Share(key); break;
      case kRelease: e->res = model_.Release(key); break;
      case kSetTier:
        e->res = model_.SetTier(r.handle, r.tier, r.addr);
        if (completing_ == 1 && e->res.ok()) {
          ++cov_["SET_TIER completes a plan"];
        }
        break;
      case kStep: {
        const uint32_t old_cb = model_.dir().current_bucket();
        const bool small = kCapacity <= 2048;
        const size_t stale_before = small ? model_.HintList(m::HepcModel::kHintStale).size() : 0;
        std::vector<m::Plan> plans;
        e->res.status = model_.StepAdvance(r.target, &plans);
        e->res.handle = m::kNoHandle;
        if (e->res.ok()) {
          const uint32_t passed = model_.dir().current_bucket() - old_cb;
          e->passed = passed;
          if (passed >= kNumBuckets) {
            ++cov_["step passes >= NB buckets"];
          } else if (passed > 0) {
            ++cov_["step passes 1..NB-1 buckets"];
          }
        }
        const m::HepcCounters& c = model_.counters();
        if (c.expired_buckets > before.expired_buckets) {
          cov_["expired buckets"] += c.expired_buckets - before.expired_buckets;
          if (small) {
            const size_t stale_after = model_.HintList(m::HepcModel::kHintStale).size();
            ++cov_[stale_after > stale_before ? "expired lower slot" : "expired T0 slot"];
          }
        }
        unsigned n_evict = 0, n_pref = 0;
        for (const m::Plan& p : plans) {
          plan_q_.push_back(p.Packed());
          moving_.push_back(p.Packed());
          if (p.kind == m::Plan::kEvict) {
            ++n_evict;
            const m::Entry& pe = model_.dir().entry(p.handle);
            if (pe.hint == m::Hint::kEvict) {
              ++cov_["plan evict forced (EVICT hint)"];
            } else if (e->seed_mode && model_.Score(pe) < cfg_.evict_t) {
              ++cov_["plan evict seed P < EVICT_T"];
            } else {
              ++cov_["plan evict over T0_HIGH_WM"];
            }
            ++cov_[e->seed_mode ? "plan evict seed" : "plan evict hint"];
            ++cov_[p.to_tier == m::kDiscard ? "plan evict discard" : "plan evict write-back"];
          } else {
            ++n_pref;
            ++cov_["plan prefetch"];
          }
        }
        if (n_evict > 0 && n_evict == cfg_.max_evict_plans) {
          ++cov_["plans cut by MAX_EVICT_PLANS"];
        }
        if (n_pref > 0 && n_pref == cfg_.max_prefetch_plans) {
          ++cov_["plans cut by MAX_PREFETCH_PLANS"];
        }
        e->plans = plans.size();
        break;
      }
      case kVictim: {
        const m::VictimResult v = model_.Victim();
        ++victim_queries_;
        e->res.status = m::Status::kSuccess;
        e->res.handle = v.handle;
        const char* src = "none";
        if (v.handle != m::kNoHandle) {
          const m::Entry& ve = model_.dir().entry(v.handle);
          if (e->seed_mode) {
            src = model_.SeedMembership(ve) == m::HepcModel::kSeedEvict ? "EVICT list"
                                                                        : "class head";
          } else {
            const uint32_t hm = model_.HintMembership(ve);
            src = hm == m::HepcModel::kHintEvict ? "EVICT list"
                : hm == m::HepcModel::kHintLru   ? "LRU"
                                                 : "T0 ring";
          }
        }
        ++cov_[std::string(e->seed_mode ? "victim seed: " : "victim hint: ") + src];
        break;
      }
    }
    completing_ = 0;
    e->entry = e->res.handle == m::kNoHandle ? m::Entry{} : model_.dir().entry(e->res.handle);
    e->snap = Snap();
    ++cov_[std::string(kOpName[r.op]) + " " + StatusName(e->res.status)];
  }

  void Cycle(bool allow_idle) {
    Model& dut = sim_.dut();
    if (!have_req_ && !quiesce_ && (!allow_idle || !Chance(idle_p_)) &&
        accepted_ < target_ops()) {
      req_ = scripted_.empty() ? Generate() : scripted_.front();
      if (!scripted_.empty()) {
        scripted_.pop_front();
      }
      have_req_ = true;
    }
    if (Chance(cfg_change_p_)) {
      RandomConfig();
    }
    Drive(have_req_ ? &req_ : nullptr);
    const bool plan_ready = !Chance(plan_stall_p_);
    dut.plan_ready_i = plan_ready;
    sim_.settle();
    if (have_req_ && !dut.req_ready_o) {
      ++cov_["request held while not ready"];
    }
    // plans: checked at their handshake
    if (dut.plan_valid_o) {
      if (step_first_plan_pending_) {
        step_first_plan_pending_ = false;
        if (step_first_plan_eligible_ && ((plan_q_.empty() ? 0 : plan_q_.front()) >> 21 & 1) == 0) {
          const uint64_t lat = sim_.cycle() - step_accept_cycle_;
          const uint64_t want = step_first_plan_seed_ ? kStepToPlanLatencySeed : kStepToPlanLatencyHint;
          if (lat != want) {
            Fail("STEP_ADVANCE -> first plan after " + std::to_string(lat) + " cycles, not " +
                 std::to_string(want));
          }
          ++latency_[step_first_plan_seed_ ? "STEP_ADVANCE -> first plan seed"
                                           : "STEP_ADVANCE -> first plan hint"][lat];
        }
      }
      if (!plan_ready) {
        ++cov_["plan backpressure"];
      } else {
        ++plans_seen_;
        if (plan_q_.empty()) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "plan 0x%08x with none expected", dut.plan_o);
          Fail(buf);
        } else {
          if (dut.plan_o != plan_q_.front()) {
            char buf[128];
            std::snprintf(buf, sizeof buf, "plan rtl 0x%08x model 0x%08x", dut.plan_o,
                          plan_q_.front());
            Fail(buf);
          }
          plan_q_.pop_front();
        }
      }
    }
    if (have_req_ && dut.req_ready_o) {
      Expect e;
      e.req = req_;
      e.cycle = sim_.cycle();
      e.index = accepted_++;
      Apply(&e);
      if (e.req.op == kStep && e.res.ok()) {
        step_first_plan_pending_ = e.plans > 0;
        step_first_plan_eligible_ = e.passed == 0;
        step_first_plan_seed_ = e.seed_mode;
        step_accept_cycle_ = sim_.cycle();
      }
      pending_.push_back(e);
      have_req_ = false;
    }
    sim_.tick_settled();
    CheckResponse();
  }

  void CheckCounters(const Expect& e) {
    Model& d = sim_.dut();
    const Snapshot& s = e.snap;
    std::string bad;
    char buf[128];
#define KV_CNT(port, val)                                                                   \
  if (uint64_t(d.port) != uint64_t(val)) {                                                  \
    std::snprintf(buf, sizeof buf, " " #port " rtl %" PRIu64 " model %" PRIu64,             \
                  uint64_t(d.port), uint64_t(val));                                         \
    bad += buf;                                                                             \
  }
    KV_CNT(cnt_ops_o, s.c.ops)
    KV_CNT(cnt_evict_plans_o, s.c.evict_plans)
    KV_CNT(cnt_prefetch_plans_o, s.c.prefetch_plans)
    KV_CNT(cnt_discards_o, s.c.discards)
    KV_CNT(cnt_expired_buckets_o, s.c.expired_buckets)
    KV_CNT(cnt_victim_queries_o, s.victim_queries)
    KV_CNT(cnt_dir_full_o, s.c.dir_full)
    KV_CNT(cnt_hint_stale_o, s.c.hint_stale)
    KV_CNT(t0_blocks_o, s.t0_blocks)
    KV_CNT(t0_moving_o, s.t0_moving)
    KV_CNT(step_o, model_.dir().step())
#undef KV_CNT
    if (!bad.empty()) {
      Fail("after op #" + std::to_string(e.index) + " " + kOpName[e.req.op] + ":" + bad);
    }
    ++cov_["counters compared"];
  }

  void CheckResponse() {
    Model& dut = sim_.dut();
    if (!dut.rsp_valid_o) {
      if (!pending_.empty()) {
        const Expect& f = pending_.front();
        const uint64_t age = sim_.cycle() - f.cycle;
        const bool fixed = f.req.op != kStep || !f.res.ok();
        if (fixed && age > LatencyOf(f)) {
          Fail(std::string("no response to ") + kOpName[f.req.op] + " after " +
               std::to_string(age) + " cycles");
          pending_.pop_front();
        }
      }
      return;
    }
    if (pending_.empty()) {
      Fail("response with no request outstanding");
      return;
    }
    const Expect e = pending_.front();
    pending_.pop_front();
    char buf[256];
    std::snprintf(buf, sizeof buf, "op #%" PRIu64 " %s key=0x%016" PRIx64 " handle=0x%x:",
                  e.index, kOpName[e.req.op], e.req.key, e.req.handle);
    const std::string where = buf;
    const uint64_t lat = sim_.cycle() - e.cycle;
    if (e.req.op == kStep && e.res.ok()) {
      if (!plan_q_.empty()) {
        Fail(where + " response before all its plans were taken");
      }
    } else {
      if (lat != LatencyOf(e)) {
        Fail(where + " response after " + std::to_string(lat) + " cycles, not " +
             std::to_string(LatencyOf(e)));
      }
      if (e.req.op == kVictim) {
        ++latency_[e.seed_mode ? "VICTIM seed" : "VICTIM hint"][lat];
      }
    }
    if (dut.rsp_op_o != e.req.op) {
      Fail(where + " rsp_op " + std::to_string(dut.rsp_op_o));
    }
    const auto st = static_cast<m::Status>(dut.rsp_status_o);
    if (st != e.res.status) {
      Fail(where + " status rtl " + StatusName(st) + " model " + StatusName(e.res.status));
    }
    if (dut.rsp_handle_o != e.res.handle) {
      std::snprintf(buf, sizeof buf, " handle rtl 0x%x model 0x%x", dut.rsp_handle_o,
                    e.res.handle);
      Fail(where + buf);
    }
    uint32_t reserved = 0;
    const m::Entry got = Decode(dut.rsp_entry_o, &reserved);
    const std::string d = Diff(got, e.entry);
    if (!d.empty() || reserved != 0) {
      Fail(where + " entry" + d + (reserved ? " reserved bits set" : ""));
    }
    if (pending_.empty()) {
      CheckCounters(e);  // nothing accepted since: the block's state is the model's
    }
  }

  static uint64_t LatencyOf(const Expect& e) {
    if (e.req.op == kVictim) {
      return e.seed_mode ? kVictimLatencySeed : kVictimLatencyHint;
    }
    if (e.req.op == kStep) {
      return kBackwardsLatency;
    }
    return kKeyedLatency;
  }

  uint64_t target_ops() const { return scripted_.empty() ? n_ops_ : ~uint64_t{0}; }

  void Drain() {
    quiesce_ = true;
    const double stall = plan_stall_p_;
    for (uint64_t i = 0; (!pending_.empty() || have_req_) && i < 1'000'000 && ok(); ++i) {
      if (i > 10000) {
        plan_stall_p_ = 0;
      }
      Cycle(false);
    }
    plan_stall_p_ = stall;
    for (unsigned i = 0; i < 4; ++i) {
      Cycle(false);
    }
    if (!pending_.empty()) {
      Fail("responses missing after drain");
      pending_.clear();
    }
    quiesce_ = false;
  }

  void CompareAll() {
    for (uint32_t h = 0; h < kCapacity; ++h) {
      Req r;
      r.op = kSetTier;
      r.handle = h;
      r.tier = 4;
      scripted_.push_back(r);
    }
    quiesce_ = false;
    while (!scripted_.empty() && ok() && !sim_.timed_out()) {
      Cycle(false);
    }
    ++cov_["full-directory compare"];
  }

  Sim<Model> sim_;
  m::HepcModel model_;
  m::HepcConfig cfg_;
  Coverage cov_;
  uint64_t n_ops_;
  uint64_t accepted_ = 0, mismatches_ = 0, plans_seen_ = 0, victim_queries_ = 0;
  bool quiesce_ = false;
  std::deque<Expect> pending_;
  std::deque<Req> scripted_;
  std::deque<uint32_t> plan_q_;
  std::vector<uint32_t> moving_;  // plan words not completed yet
  unsigned completing_ = 0;
  Req req_;
  bool have_req_ = false;
  bool step_first_plan_pending_ = false, step_first_plan_eligible_ = false;
  bool step_first_plan_seed_ = false;
  uint64_t step_accept_cycle_ = 0;
  std::map<std::string, std::map<uint64_t, uint64_t>> latency_;
  unsigned phase_ = 0;
  std::vector<uint64_t> pool_;
  std::vector<unsigned> weights_ = std::vector<unsigned>(kNumOps, 1);
  double idle_p_ = 0, plan_stall_p_ = 0, cfg_change_p_ = 0, hint_prefetch_p_ = 0.4;
  uint64_t phase_len_ = 10000;
};

}  // namespace

int main(int argc, char** argv) {
  Tb tb(argc, argv);
  return tb.Run();
}
