// HEPC: hand-computed decisions, the seed defaults' failure, flat decision latency, and the
// key property: a naive oracle that keeps no lists (it scans every entry, ordering them by
// the position rules of docs/rtbd-hepc.md) picks exactly the victims, set victims and plans
// of the incremental structures, over >= 1M random ops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <tuple>
#include <vector>

#include "hepc.h"
#include "test_seed.h"

namespace kvcpu::model {
namespace {

Key K(uint32_t i) { return Key{static_cast<uint16_t>(i >> 8), 0, 0, (i & 0xFF) * 512}; }

// ------------------------------------------------------------------------------------------
// The oracle: directory + positions, everything else by full scans.
class Oracle {
 public:
  struct E {
    bool valid = false;
    uint64_t key = 0;
    uint8_t tier = 0;
    uint8_t freq = 0;
    uint32_t last = 0, bucket = 0;
    Hint hint = Hint::kNone;
    bool prefix = false, recompute = false, moving = false;
    uint8_t ref = 0;
    uint32_t life = 0;
    int64_t seed_pos = 0, hint_pos = 0;  // position in its list: smaller = nearer the head
  };

  Oracle(const RtbdConfig& d, const HepcConfig& c) : d_(d), c_(c), e_(size_t{8} << d.set_bits) {}
  void set_config(const HepcConfig& c) { c_ = c; }
  const E& at(uint32_t h) const { return e_[h]; }
  uint32_t cur() const { return step_ >> d_.bucket_shift; }

  // Spec "List membership": 0 none, else a (kind, index) code.
  // seed: -1 none, 32 evict, 0..31 class.
  int Seed(const E& e) const {
    if (!e.valid || e.moving || e.tier != 0 || e.hint == Hint::kHot || (e.prefix && e.ref > 0)) {
      return -1;
    }
    return e.hint == Hint::kEvict ? 32 : e.freq + (e.prefix ? 16 : 0);
  }
  // hint: -1 none, 0 evict, 1 lru, 2 stale, 3 T0 ring (bucket), 4 lower ring (bucket).
  int HintKind(const E& e) const {
    if (!e.valid || e.moving) {
      return -1;
    }
    const bool live = e.hint == Hint::kPrefetch && e.bucket >= cur();
    if (e.tier == 0) {
      if (e.hint == Hint::kHot || (e.prefix && e.ref > 0)) {
        return -1;
      }
      if (e.hint == Hint::kEvict) {
        return 0;
      }
      return live ? 3 : 1;
    }
    if (e.hint != Hint::kPrefetch) {
      return -1;
    }
    return live ? 4 : 2;
  }
  uint64_t HintList(const E& e) const {
    const int k = HintKind(e);
    return k >= 3 ? (uint64_t(k) << 32) | e.bucket : uint64_t(int64_t(k));
  }

  void Refile(uint32_t h, const E& before, bool access) {
    E& e = e_[h];
    const int os = Seed(before), ns = Seed(e);
    if (ns >= 0 && (os != ns || access)) {
      if (ns < 32) {
        e.last = step_;
      }
      e.seed_pos = ++hi_;
    }
    const uint64_t oh = HintList(before), nh = HintList(e);
    if (HintKind(e) >= 0 && (oh != nh || access)) {
      e.hint_pos = ++hi_;
    }
  }

  uint32_t Find(uint64_t key, unsigned* free) const {
    const uint32_t base = RtbdSet(key, d_.set_bits) * 8;
    *free = 8;
    uint32_t hit = kNoHandle;
    for (unsigned w = 0; w < 8; ++w) {
      if (e_[base + w].valid && e_[base + w].key == key) {
        hit = base + w;
      } else if (!e_[base + w].valid && *free == 8) {
        *free = w;
      }
    }
    return hit;
  }

  uint16_t Score(const E& e) const {
    const uint32_t age = step_ - e.last;
    const uint64_t r = age >= 255 ? 0 : 255 - age;
    const uint64_t s = age >= c_.window ? 0 : c_.window - age;
    const uint64_t p = c_.w_r * r + c_.w_f * uint64_t(e.freq) + c_.w_s * s +
                       c_.w_d * 255ull * (e.prefix ? 1 : 0);
    return static_cast<uint16_t>(std::min<uint64_t>(p, 0xFFFF));
  }

  // Victim: minimise a rank over all entries.
  std::pair<uint32_t, uint16_t> Victim() const {
    uint32_t best = kNoHandle;
    std::tuple<int, int64_t, int64_t, int64_t> rank{};
    uint16_t score = 0;
    for (uint32_t h = 0; h < e_.size(); ++h) {
      const E& e = e_[h];
      std::tuple<int, int64_t, int64_t, int64_t> r;
      if (c_.mode == Mode::kSeed) {
        const int m = Seed(e);
        if (m < 0) {
          continue;
        }
        r = m == 32 ? std::tuple<int, int64_t, int64_t, int64_t>{0, e.seed_pos, 0, 0}
                    : std::tuple<int, int64_t, int64_t, int64_t>{1, Score(e), m, e.seed_pos};
      } else {
        const int k = HintKind(e);
        if (k == 0) {
          r = {0, e.hint_pos, 0, 0};
        } else if (k == 1) {
          r = {1, e.hint_pos, 0, 0};
        } else if (k == 3) {
          r = {2, -int64_t(e.bucket), e.hint_pos, 0};
        } else {
          continue;
        }
      }
      if (best == kNoHandle || r < rank) {
        best = h;
        rank = r;
      }
    }
    if (best != kNoHandle && !(c_.mode == Mode::kSeed && Seed(e_[best]) == 32)) {
      score = Score(e_[best]);
    }
    return {best, score};
  }

  uint32_t SetVictim(uint32_t set) const {
    uint32_t best = kNoHandle;
    std::tuple<int, int64_t, int64_t> rank{};
    for (uint32_t w = 0; w < 8; ++w) {
      const E& e = e_[set * 8 + w];
      std::tuple<int, int64_t, int64_t> r;
      if (c_.mode == Mode::kSeed) {
        const int m = Seed(e);
        if (m < 0) {
          continue;
        }
        r = m == 32 ? std::tuple<int, int64_t, int64_t>{0, 0, 0}
                    : std::tuple<int, int64_t, int64_t>{1, Score(e), m};
      } else {
        const int k = HintKind(e);
        if (k == 0) {
          r = {0, 0, 0};
        } else if (k == 1) {
          r = {1, e.last, 0};
        } else if (k == 3) {
          r = {2, -int64_t(e.bucket), 0};
        } else {
          continue;
        }
      }
      if (best == kNoHandle || r < rank) {
        best = set * 8 + w;
        rank = r;
      }
    }
    return best;
  }

  OpResult Insert(const InsertArgs& a) {
    if (a.tier > 3) {
      return {Status::kBadField, kNoHandle};
    }
    unsigned free;
    const uint64_t key = a.key.Packed();
    if (uint32_t h = Find(key, &free); h != kNoHandle) {
      return {Status::kDuplicate, h};
    }
    if (free == 8) {
      return {Status::kDirFull, SetVictim(RtbdSet(key, d_.set_bits))};
    }
    const uint32_t h = RtbdSet(key, d_.set_bits) * 8 + free;
    E e;
    e.valid = true;
    e.key = key;
    e.tier = a.tier;
    e.freq = 1;
    e.last = step_;
    e.prefix = a.prefix;
    e.recompute = a.recompute_ok;
    e.life = a.lifetime_end;
    e_[h] = e;
    Refile(h, E{}, true);
    return {Status::kSuccess, h};
  }

  template <typename F>
  OpResult Keyed(const Key& k, bool access, F f) {
    unsigned free;
    const uint32_t h = Find(k.Packed(), &free);
    if (h == kNoHandle) {
      return {Status::kNotFound, kNoHandle};
    }
    const E before = e_[h];
    const Status s = f(e_[h]);
    if (s == Status::kSuccess) {
      Refile(h, before, access);
    } else {
      e_[h] = before;
    }
    return {s, h};
  }

  OpResult Touch(const Key& k) {
    return Keyed(k, true, [&](E& e) {
      e.freq = std::min<uint8_t>(15, e.freq + 1);
      e.last = step_;
      if (e.hint == Hint::kPrefetch || e.hint == Hint::kEvict) {
        e.hint = Hint::kNone;
      }
      return Status::kSuccess;
    });
  }
  OpResult Hint_(const Key& k, Hint hint, uint32_t target) {
    return Keyed(k, false, [&](E& e) {
      if (hint == Hint::kPrefetch) {
        const uint32_t b = target >> d_.bucket_shift;
        if (b < cur()) {
          return Status::kHintStale;
        }
        e.bucket = static_cast<uint32_t>(std::min<uint64_t>(b, uint64_t(cur()) + d_.num_buckets - 1));
      }
      e.hint = hint;
      return Status::kSuccess;
    });
  }
  OpResult Delete(const Key& k) {
    return Keyed(k, false, [&](E& e) {
      e = E{};
      return Status::kSuccess;
    });
  }
  OpResult Share(const Key& k) {
    return Keyed(k, false, [&](E& e) {
      if (e.ref == 255) {
        return Status::kRefOverflow;
      }
      ++e.ref;
      e.prefix = true;
      return Status::kSuccess;
    });
  }
  OpResult Release(const Key& k) {
    return Keyed(k, false, [&](E& e) {
      if (e.ref == 0) {
        return Status::kRefUnderflow;
      }
      --e.ref;
      return Status::kSuccess;
    });
  }
  OpResult SetTier(uint32_t h, uint8_t tier) {
    if (h >= e_.size() || !e_[h].valid) {
      return {Status::kNotFound, kNoHandle};
    }
    if (tier > 3) {
      return {Status::kBadField, h};
    }
    const E before = e_[h];
    e_[h].tier = tier;
    e_[h].moving = false;
    Refile(h, before, false);
    return {Status::kSuccess, h};
  }

  Status StepAdvance(uint32_t step, std::vector<Plan>* plans) {
    if (step < step_) {
      return Status::kStepBackwards;
    }
    // Expiry: every live hinted block whose bucket the current bucket passed. T0 ones go to
    // the LRU head (buckets spliced in ascending order, each at the head), lower ones to the
    // stale tail (ascending, each at the tail).
    std::vector<uint32_t> t0, low;
    const uint32_t old_cur = cur();
    for (uint32_t h = 0; h < e_.size(); ++h) {
      const int k = HintKind(e_[h]);
      if (k == 3 && e_[h].bucket < (step >> d_.bucket_shift)) {
        t0.push_back(h);
      } else if (k == 4 && e_[h].bucket < (step >> d_.bucket_shift)) {
        low.push_back(h);
      }
    }
    (void)old_cur;
    step_ = step;
    std::sort(t0.begin(), t0.end(), [&](uint32_t a, uint32_t b) {
      return std::make_pair(-int64_t(e_[a].bucket), e_[a].hint_pos) <
             std::make_pair(-int64_t(e_[b].bucket), e_[b].hint_pos);
    });
    lo_ -= static_cast<int64_t>(t0.size());
    for (size_t i = 0; i < t0.size(); ++i) {
      e_[t0[i]].hint_pos = lo_ + static_cast<int64_t>(i);
    }
    std::sort(low.begin(), low.end(), [&](uint32_t a, uint32_t b) {
      return std::make_pair(e_[a].bucket, e_[a].hint_pos) <
             std::make_pair(e_[b].bucket, e_[b].hint_pos);
    });
    for (uint32_t h : low) {
      e_[h].hint_pos = ++hi_;
    }
    // Evict plans.
    for (unsigned n = 0; n < c_.max_evict_plans; ++n) {
      const auto [v, score] = Victim();
      if (v == kNoHandle) {
        break;
      }
      uint32_t idle = 0;
      for (const E& e : e_) {
        idle += (e.valid && e.tier == 0 && !e.moving) ? 1 : 0;
      }
      const bool forced = e_[v].hint == Hint::kEvict;
      const bool low_p = c_.mode == Mode::kSeed && score < c_.evict_t;
      if (!forced && idle <= c_.t0_high_wm && !low_p) {
        break;
      }
      const bool short_lived =
          e_[v].life != 0 && uint64_t(e_[v].life) <= uint64_t(step_) + c_.short_lived;
      plans->push_back(Plan{Plan::kEvict, v, e_[v].tier,
                            (e_[v].recompute || short_lived) ? kDiscard : c_.evict_tier});
      const E before = e_[v];
      e_[v].moving = true;
      Refile(v, before, false);
    }
    // Prefetch plans: nearest bucket first, then list position.
    const uint64_t due = (uint64_t(step_) + c_.prefetch_window) >> d_.bucket_shift;
    for (unsigned n = 0; n < c_.max_prefetch_plans; ++n) {
      uint32_t best = kNoHandle;
      for (uint32_t h = 0; h < e_.size(); ++h) {
        if (HintKind(e_[h]) == 4 &&
            (best == kNoHandle || std::make_pair(e_[h].bucket, e_[h].hint_pos) <
                                      std::make_pair(e_[best].bucket, e_[best].hint_pos))) {
          best = h;
        }
      }
      if (best == kNoHandle || e_[best].bucket > due) {
        break;
      }
      plans->push_back(Plan{Plan::kPrefetch, best, e_[best].tier, 0});
      const E before = e_[best];
      e_[best].moving = true;
      Refile(best, before, false);
    }
    return Status::kSuccess;
  }

 private:
  RtbdConfig d_;
  HepcConfig c_;
  std::vector<E> e_;
  uint32_t step_ = 0;
  int64_t hi_ = 0, lo_ = 0;
};

// ------------------------------------------------------------------------------------------

void ExpectSameEntries(const HepcModel& m, const Oracle& o, uint64_t op) {
  for (uint32_t h = 0; h < m.dir().capacity(); ++h) {
    const Entry& a = m.dir().entry(h);
    const Oracle::E& b = o.at(h);
    ASSERT_EQ(a.valid, b.valid) << "op " << op << " handle " << h;
    if (!a.valid) {
      continue;
    }
    ASSERT_EQ(a.key.Packed(), b.key) << "op " << op;
    ASSERT_EQ(a.tier, b.tier) << "op " << op;
    ASSERT_EQ(a.freq, b.freq) << "op " << op;
    ASSERT_EQ(a.last_access, b.last) << "op " << op << " handle " << h;
    ASSERT_EQ(a.hint, b.hint) << "op " << op;
    ASSERT_EQ(a.refcount, b.ref) << "op " << op;
    ASSERT_EQ(a.prefix, b.prefix) << "op " << op;
    ASSERT_EQ(a.moving, b.moving) << "op " << op;
    if (a.hint == Hint::kPrefetch) {
      ASSERT_EQ(a.hint_bucket, b.bucket) << "op " << op;
    }
  }
}

struct FuzzShape {
  unsigned set_bits, bucket_shift, num_buckets, key_pool;
  uint64_t ops;
};

void Fuzz(const FuzzShape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto rnd = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  const RtbdConfig dc{shape.set_bits, shape.bucket_shift, shape.num_buckets};
  HepcConfig hc;
  auto randomize = [&] {
    hc.w_r = static_cast<uint8_t>(rnd(4) == 0 ? 255 : rnd(16));
    hc.w_f = static_cast<uint8_t>(rnd(64));
    hc.w_s = static_cast<uint8_t>(rnd(8));
    hc.w_d = static_cast<uint8_t>(rnd(3) == 0 ? 255 : rnd(32));
    hc.window = static_cast<uint16_t>(rnd(4) == 0 ? 60000 : rnd(300));
    hc.evict_t = static_cast<uint16_t>(rnd(4) == 0 ? 0 : rnd(2000));
    hc.t0_high_wm = static_cast<uint32_t>(rnd(3) == 0 ? 0xFFFFFFFFu : rnd(8u << shape.set_bits));
    hc.prefetch_window = static_cast<uint32_t>(rnd(200));
    hc.max_evict_plans = static_cast<uint16_t>(rnd(5));
    hc.max_prefetch_plans = static_cast<uint16_t>(rnd(5));
    hc.evict_tier = static_cast<uint8_t>(1 + rnd(3));
    hc.short_lived = static_cast<uint32_t>(rnd(50));
  };
  randomize();
  HepcModel m(dc, hc);
  Oracle o(dc, hc);
  uint32_t step = 0;
  const uint32_t span = shape.num_buckets << shape.bucket_shift;
  std::vector<Plan> mp, op_plans;
  uint64_t victims = 0;
  for (uint64_t i = 0; i < shape.ops; ++i) {
    const Key k = K(static_cast<uint32_t>(rnd(shape.key_pool)));
    const unsigned kind = static_cast<unsigned>(rnd(100));
    OpResult a, b;
    if (kind < 25) {
      InsertArgs args{.key = k,
                      .tier = static_cast<uint8_t>(rnd(50) == 0 ? 4 : (rnd(3) == 0 ? rnd(4) : 0)),
                      .prefix = rnd(8) == 0,
                      .recompute_ok = rnd(4) == 0,
                      .lifetime_end = rnd(3) == 0 ? static_cast<uint32_t>(step + rnd(100)) : 0};
      a = m.Insert(args);
      b = o.Insert(args);
    } else if (kind < 45) {
      a = m.Touch(k);
      b = o.Touch(k);
    } else if (kind < 60) {
      const Hint h = static_cast<Hint>(rnd(10) < 6 ? 2 : rnd(4));
      uint32_t target = static_cast<uint32_t>(step + rnd(span + span / 4));
      if (rnd(10) == 0) {
        target = static_cast<uint32_t>(step - std::min<uint64_t>(step, rnd(3u << shape.bucket_shift)));
      }
      a = m.UpdateHint(k, h, target);
      b = o.Hint_(k, h, target);
    } else if (kind < 68) {
      a = m.Delete(k);
      b = o.Delete(k);
    } else if (kind < 74) {
      a = m.Share(k);
      b = o.Share(k);
    } else if (kind < 82) {
      a = m.Release(k);
      b = o.Release(k);
    } else if (kind < 88) {
      const uint32_t h = static_cast<uint32_t>(rnd(m.dir().capacity() + 2));
      const uint8_t tier = static_cast<uint8_t>(rnd(20) == 0 ? 5 : rnd(4));
      a = m.SetTier(h, tier, 0);
      b = o.SetTier(h, tier);
    } else if (kind < 90) {
      a = m.Lookup(k);
      b = a;
    } else if (kind < 91) {
      randomize();
      hc.mode = m.config().mode;
      m.set_config(hc);
      o.set_config(hc);
      continue;
    } else {
      uint32_t next = step + static_cast<uint32_t>(rnd(20) == 0 ? rnd(2 * span) : rnd(8));
      if (rnd(50) == 0 && step > 0) {
        next = step - 1;
      }
      mp.clear();
      op_plans.clear();
      const Status sa = m.StepAdvance(next, &mp);
      const Status sb = o.StepAdvance(next, &op_plans);
      ASSERT_EQ(sa, sb) << "op " << i;
      ASSERT_EQ(mp, op_plans) << "op " << i << " step " << next;
      if (sa == Status::kSuccess) {
        step = next;
      }
    }
    ASSERT_EQ(a.status, b.status) << "op " << i << " kind " << kind;
    ASSERT_EQ(a.handle, b.handle) << "op " << i << " kind " << kind;
    // The key property: the victim of both modes equals the full-scan victim.
    for (Mode mode : {Mode::kSeed, Mode::kHint}) {
      hc.mode = mode;
      m.set_config(hc);
      o.set_config(hc);
      const VictimResult v = m.Victim();
      const auto [ov, os] = o.Victim();
      ASSERT_EQ(v.handle, ov) << "op " << i << " mode " << int(mode);
      ASSERT_EQ(v.score, os) << "op " << i << " mode " << int(mode);
      victims += v.handle != kNoHandle ? 1 : 0;
    }
    hc.mode = rnd(2) == 0 ? Mode::kSeed : Mode::kHint;
    m.set_config(hc);
    o.set_config(hc);
    if (i % 4096 == 0) {
      ExpectSameEntries(m, o, i);
      if (::testing::Test::HasFatalFailure()) {
        return;
      }
    }
  }
  ExpectSameEntries(m, o, shape.ops);
  const HepcCounters& c = m.counters();
  std::printf("  set_bits %u: %llu ops, %llu evict plans (%llu discards), %llu prefetch plans, "
              "%llu DIR_FULL, %llu stale hints, %llu expired buckets, %llu victims found\n",
              shape.set_bits, static_cast<unsigned long long>(c.ops),
              static_cast<unsigned long long>(c.evict_plans),
              static_cast<unsigned long long>(c.discards),
              static_cast<unsigned long long>(c.prefetch_plans),
              static_cast<unsigned long long>(c.dir_full),
              static_cast<unsigned long long>(c.hint_stale),
              static_cast<unsigned long long>(c.expired_buckets),
              static_cast<unsigned long long>(victims));
  // The stimulus must reach every decision, or the comparison proves little.
  EXPECT_GT(c.evict_plans, 0u);
  EXPECT_GT(c.discards, 0u);
  EXPECT_GT(c.prefetch_plans, 0u);
  EXPECT_GT(c.dir_full, 0u);
  EXPECT_GT(c.hint_stale, 0u);
  EXPECT_GT(c.expired_buckets, 0u);
  EXPECT_GT(victims, shape.ops / 2);
}

TEST(HepcOracle, RandomDifferentialMillionOps) {
  const uint64_t seed = testing::Seed();
  std::printf("HepcOracle seed %llu\n", static_cast<unsigned long long>(seed));
  // 1.05M ops over shapes: tiny sets (DIR_FULL often), bucket wrap with G=0, NB=32 and 64.
  const FuzzShape shapes[] = {
      {1, 0, 32, 40, 200000},   {2, 0, 32, 60, 250000}, {3, 2, 64, 120, 250000},
      {3, 1, 32, 70, 200000},   {4, 3, 32, 200, 150000},
  };
  uint64_t n = 0;
  for (const FuzzShape& s : shapes) {
    Fuzz(s, seed + n++);
    if (HasFatalFailure()) {
      return;
    }
  }
}

// ------------------------------------------------------------------------------------------

TEST(Hepc, SeedDefaultsEvictEveryNonPrefixBlockOnEveryStep) {
  // kv-cpu-driver defaults: w 1/1/2/200, EVICT_T 0x1000. A non-prefix block scores at most
  // 255 + 15 + 2*255 = 780 < 4096 even right after an access.
  HepcConfig c{.mode = Mode::kSeed, .w_r = 1, .w_f = 1, .w_s = 2, .w_d = 200,
               .evict_t = 0x1000, .prefetch_t = 0xE000, .max_evict_plans = 100};
  HepcModel m({.set_bits = 4}, c);
  for (uint32_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(m.Insert({.key = K(i), .tier = 0}).ok());
    ASSERT_TRUE(m.Touch(K(i)).ok());
  }
  ASSERT_TRUE(m.Insert({.key = K(100), .tier = 0, .prefix = true}).ok());
  std::vector<Plan> plans;
  ASSERT_EQ(m.StepAdvance(1, &plans), Status::kSuccess);
  EXPECT_EQ(plans.size(), 20u);  // all 20 non-prefix blocks, one step after their access
  for (const Plan& p : plans) {
    EXPECT_FALSE(m.dir().entry(p.handle).prefix);
  }
  // Our defaults: only blocks idle >= 248 steps with F <= 1 go below EVICT_T = 64.
  HepcModel d({.set_bits = 4}, HepcConfig{.mode = Mode::kSeed, .max_evict_plans = 100});
  for (uint32_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(d.Insert({.key = K(i), .tier = 0}).ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(d.Touch(K(i)).ok());  // F = 2
    }
  }
  plans.clear();
  ASSERT_EQ(d.StepAdvance(1, &plans), Status::kSuccess);
  EXPECT_TRUE(plans.empty());
  ASSERT_EQ(d.StepAdvance(247, &plans), Status::kSuccess);
  EXPECT_TRUE(plans.empty());  // age 246: P = 8*9 + 32 + 4*9 >= 64
  ASSERT_EQ(d.StepAdvance(300, &plans), Status::kSuccess);
  EXPECT_EQ(plans.size(), 10u);  // the 10 blocks with F = 1: P = 32 < 64; F = 2: P = 64
  for (const Plan& p : plans) {
    EXPECT_EQ(d.dir().entry(p.handle).freq, 1);
    EXPECT_EQ(p.to_tier, 2);
  }
}

TEST(Hepc, HintModeEvictsFarthestNextUseAfterUnknowns) {
  HepcModel m({.set_bits = 4, .bucket_shift = 0, .num_buckets = 64}, HepcConfig{});
  for (uint32_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(m.Insert({.key = K(i)}).ok());
  }
  // 0,1 unknown (LRU: 0 first); 2 -> step 10, 3 -> 40, 4 -> 20, 5 -> HOT.
  ASSERT_TRUE(m.UpdateHint(K(2), Hint::kPrefetch, 10).ok());
  ASSERT_TRUE(m.UpdateHint(K(3), Hint::kPrefetch, 40).ok());
  ASSERT_TRUE(m.UpdateHint(K(4), Hint::kPrefetch, 20).ok());
  ASSERT_TRUE(m.UpdateHint(K(5), Hint::kHot, 0).ok());
  auto victim_key = [&] { return m.dir().entry(m.Victim().handle).key; };
  EXPECT_EQ(victim_key(), K(0));
  ASSERT_TRUE(m.Touch(K(0)).ok());  // 0 to the LRU tail
  EXPECT_EQ(victim_key(), K(1));
  ASSERT_TRUE(m.Delete(K(1)).ok());
  EXPECT_EQ(victim_key(), K(0));
  ASSERT_TRUE(m.Delete(K(0)).ok());
  EXPECT_EQ(victim_key(), K(3));  // farthest next use
  ASSERT_TRUE(m.UpdateHint(K(3), Hint::kPrefetch, 15).ok());
  EXPECT_EQ(victim_key(), K(4));
  // Step 16: bucket 15 (block 3) and 10 (block 2) passed -> LRU head, most recent first.
  std::vector<Plan> plans;
  ASSERT_EQ(m.StepAdvance(16, &plans), Status::kSuccess);
  EXPECT_TRUE(plans.empty());
  EXPECT_EQ(victim_key(), K(3));
  ASSERT_TRUE(m.UpdateHint(K(5), Hint::kEvict, 0).ok());  // EVICT goes first
  EXPECT_EQ(victim_key(), K(5));
  EXPECT_EQ(m.Victim().cycles, 3u);
}

TEST(Hepc, PrefixWithRefcountAndHotAreNeverVictims) {
  HepcModel m({.set_bits = 3}, HepcConfig{.mode = Mode::kSeed});
  ASSERT_TRUE(m.Insert({.key = K(1)}).ok());
  ASSERT_TRUE(m.Insert({.key = K(2)}).ok());
  ASSERT_TRUE(m.Share(K(1)).ok());
  ASSERT_TRUE(m.UpdateHint(K(2), Hint::kHot, 0).ok());
  for (Mode mode : {Mode::kSeed, Mode::kHint}) {
    HepcConfig c = m.config();
    c.mode = mode;
    c.t0_high_wm = 0;  // would evict everything evictable
    m.set_config(c);
    EXPECT_EQ(m.Victim().handle, kNoHandle);
    std::vector<Plan> plans;
    ASSERT_EQ(m.StepAdvance(m.dir().step() + 1000, &plans), Status::kSuccess);
    EXPECT_TRUE(plans.empty());
  }
  ASSERT_TRUE(m.Release(K(1)).ok());  // refcount 0: evictable again
  EXPECT_EQ(m.dir().entry(m.Victim().handle).key, K(1));
  EXPECT_EQ(m.Release(K(1)).status, Status::kRefUnderflow);
}

TEST(Hepc, PlansDiscardRecomputableAndShortLived) {
  HepcConfig c{.mode = Mode::kHint, .t0_high_wm = 0, .max_evict_plans = 10, .evict_tier = 3,
               .short_lived = 100};
  HepcModel m({.set_bits = 3}, c);
  ASSERT_TRUE(m.Insert({.key = K(1), .recompute_ok = true}).ok());
  ASSERT_TRUE(m.Insert({.key = K(2), .lifetime_end = 50}).ok());
  ASSERT_TRUE(m.Insert({.key = K(3), .lifetime_end = 5000}).ok());
  ASSERT_TRUE(m.Insert({.key = K(4), .dirty = true}).ok());
  std::vector<Plan> plans;
  ASSERT_EQ(m.StepAdvance(1, &plans), Status::kSuccess);
  ASSERT_EQ(plans.size(), 4u);
  EXPECT_EQ(plans[0].to_tier, kDiscard);  // recompute-ok
  EXPECT_EQ(plans[1].to_tier, kDiscard);  // ends within 100 steps
  EXPECT_EQ(plans[2].to_tier, 3);
  EXPECT_EQ(plans[3].to_tier, 3);
  EXPECT_EQ(plans[3].Packed(), (plans[3].handle & 0xFFFF) | (0u << 16) | (3u << 18) | (0u << 21));
  // Moving blocks are out of the structures until SET_TIER completes the plan.
  EXPECT_EQ(m.Victim().handle, kNoHandle);
  ASSERT_TRUE(m.SetTier(plans[3].handle, 3, 0x1000).ok());
  EXPECT_EQ(m.t0_blocks(), 3u);
  // A lower-tier block hinted for step 1000 is prefetched once the window (256) reaches it.
  ASSERT_TRUE(m.UpdateHint(K(4), Hint::kPrefetch, 1000).ok());
  plans.clear();
  ASSERT_EQ(m.StepAdvance(2, &plans), Status::kSuccess);
  EXPECT_TRUE(plans.empty());
  ASSERT_EQ(m.StepAdvance(800, &plans), Status::kSuccess);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].kind, Plan::kPrefetch);
  EXPECT_EQ(plans[0].from_tier, 3);
  EXPECT_EQ(plans[0].to_tier, 0);
}

TEST(Hepc, DirFullNamesTheSetVictim) {
  HepcModel m({.set_bits = 2, .bucket_shift = 0, .num_buckets = 32}, HepcConfig{});
  std::vector<Key> keys;
  for (uint32_t i = 0; keys.size() < 9; ++i) {
    if (m.dir().SetOf(K(i)) == 1) {
      keys.push_back(K(i));
    }
  }
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(m.Insert({.key = keys[i]}).ok());
    ASSERT_TRUE(m.UpdateHint(keys[i], Hint::kPrefetch, 10 + i).ok());
  }
  OpResult r = m.Insert({.key = keys[8]});
  EXPECT_EQ(r.status, Status::kDirFull);
  EXPECT_EQ(r.handle, 1 * kWays + 7);  // farthest next use (17)
  ASSERT_TRUE(m.UpdateHint(keys[3], Hint::kNone, 0).ok());
  EXPECT_EQ(m.Insert({.key = keys[8]}).handle, 1 * kWays + 3);  // unknown before known
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(m.UpdateHint(keys[i], Hint::kHot, 0).ok());
  }
  EXPECT_EQ(m.Insert({.key = keys[8]}).handle, kNoHandle);  // nothing evictable in the set
}

TEST(Hepc, DecisionLatencyIsFlatInCapacity) {
  std::vector<unsigned> seed_cycles, hint_cycles;
  for (unsigned bits : {3u, 8u, 13u}) {
    HepcModel m({.set_bits = bits}, HepcConfig{.mode = Mode::kSeed});
    const uint32_t n = m.dir().capacity() / 2;
    for (uint32_t i = 0; i < n; ++i) {
      (void)m.Insert({.key = Key{static_cast<uint16_t>(i >> 12), 0, 0, (i & 0xFFF) * 512}});
    }
    seed_cycles.push_back(m.Victim().cycles);
    HepcConfig c = m.config();
    c.mode = Mode::kHint;
    m.set_config(c);
    hint_cycles.push_back(m.Victim().cycles);
    EXPECT_NE(m.Victim().handle, kNoHandle);
  }
  EXPECT_EQ(seed_cycles, std::vector<unsigned>(3, 4u));
  EXPECT_EQ(hint_cycles, std::vector<unsigned>(3, 3u));
}

}  // namespace
}  // namespace kvcpu::model
