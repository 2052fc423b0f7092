#include "hepc.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace kvcpu::model {
namespace {

// Decision latency (docs/rtbd-hepc.md "Victim selection"): fixed per mode.
constexpr unsigned kSeedVictimCycles = 4;  // head registers, 32 scores, 2-level min tree, out
constexpr unsigned kHintVictimCycles = 3;  // heads + level-1 search, level-2 search, out

uint32_t Msb(uint32_t x) { return 31u - static_cast<uint32_t>(std::countl_zero(x)); }
uint32_t Lsb(uint32_t x) { return static_cast<uint32_t>(std::countr_zero(x)); }
uint32_t Below(uint32_t n) { return n >= 32 ? 0xFFFFFFFFu : (1u << n) - 1; }  // bits < n

}  // namespace

HepcModel::HepcModel(const RtbdConfig& dir_config, const HepcConfig& config)
    : dir_(dir_config), config_(config), nb_(dir_config.num_buckets) {
  const size_t n = dir_.capacity();
  InitLists(&seed_, n, 33);
  InitLists(&hint_, n, 3 + 2 * size_t{nb_});
  t0_bits_.words.assign(nb_ / 32, 0);
  low_bits_.words.assign(nb_ / 32, 0);
}

// ---- lists ------------------------------------------------------------------------------

void HepcModel::InitLists(Lists* l, size_t handles, size_t lists) {
  l->prev.assign(handles, kNoHandle);
  l->next.assign(handles, kNoHandle);
  l->head.assign(lists, kNoHandle);
  l->tail.assign(lists, kNoHandle);
  l->count.assign(lists, 0);
}

void HepcModel::PushTail(Lists* l, uint32_t list, uint32_t h) {
  l->prev[h] = l->tail[list];
  l->next[h] = kNoHandle;
  if (l->tail[list] == kNoHandle) {
    l->head[list] = h;
  } else {
    l->next[l->tail[list]] = h;
  }
  l->tail[list] = h;
  ++l->count[list];
}

void HepcModel::PushHead(Lists* l, uint32_t list, uint32_t h) {
  l->next[h] = l->head[list];
  l->prev[h] = kNoHandle;
  if (l->head[list] == kNoHandle) {
    l->tail[list] = h;
  } else {
    l->prev[l->head[list]] = h;
  }
  l->head[list] = h;
  ++l->count[list];
}

void HepcModel::Unlink(Lists* l, uint32_t list, uint32_t h) {
  const uint32_t p = l->prev[h];
  const uint32_t n = l->next[h];
  if (p == kNoHandle) {
    l->head[list] = n;
  } else {
    l->next[p] = n;
  }
  if (n == kNoHandle) {
    l->tail[list] = p;
  } else {
    l->prev[n] = p;
  }
  l->prev[h] = l->next[h] = kNoHandle;
  --l->count[list];
}

void HepcModel::Splice(Lists* l, uint32_t from, uint32_t to, bool at_head) {
  if (l->count[from] == 0) {
    return;
  }
  const uint32_t fh = l->head[from];
  const uint32_t ft = l->tail[from];
  if (l->count[to] == 0) {
    l->head[to] = fh;
    l->tail[to] = ft;
  } else if (at_head) {
    l->next[ft] = l->head[to];
    l->prev[l->head[to]] = ft;
    l->head[to] = fh;
  } else {
    l->prev[fh] = l->tail[to];
    l->next[l->tail[to]] = fh;
    l->tail[to] = ft;
  }
  l->count[to] += l->count[from];
  l->head[from] = l->tail[from] = kNoHandle;
  l->count[from] = 0;
}

std::vector<uint32_t> HepcModel::Walk(const Lists& l, uint32_t id) {
  std::vector<uint32_t> out;
  for (uint32_t h = l.head.at(id); h != kNoHandle; h = l.next[h]) {
    out.push_back(h);
  }
  return out;
}

void HepcModel::SetBit(bool lower, uint32_t r, bool on) {
  Bitmap& bm = lower ? low_bits_ : t0_bits_;
  const uint32_t g = r >> 5;
  const uint32_t bit = 1u << (r & 31);
  bm.words[g] = on ? (bm.words[g] | bit) : (bm.words[g] & ~bit);
  const uint32_t sbit = 1u << g;
  bm.summary = bm.words[g] != 0 ? (bm.summary | sbit) : (bm.summary & ~sbit);
}

void HepcModel::HintPush(uint32_t list, uint32_t h) {
  PushTail(&hint_, list, h);
  if (list >= kHintRing0) {
    const uint32_t r = list - kHintRing0;
    SetBit(r >= nb_, r % nb_, true);
  }
}

void HepcModel::HintUnlink(uint32_t list, uint32_t h) {
  Unlink(&hint_, list, h);
  if (list >= kHintRing0 && hint_.count[list] == 0) {
    const uint32_t r = list - kHintRing0;
    SetBit(r >= nb_, r % nb_, false);
  }
}

uint32_t HepcModel::Farthest(const Bitmap& bm) const {
  const uint32_t cb = dir_.current_bucket() & (nb_ - 1);
  const uint32_t gc = cb >> 5;
  const uint32_t bc = cb & 31;
  // Distance d = (r - cb) mod NB; every r < cb is farther than every r >= cb.
  if (uint32_t w = bm.words[gc] & Below(bc)) {
    return gc * 32 + Msb(w);
  }
  if (uint32_t s = bm.summary & Below(gc)) {
    const uint32_t g = Msb(s);
    return g * 32 + Msb(bm.words[g]);
  }
  if (uint32_t s = bm.summary & ~Below(gc + 1)) {
    const uint32_t g = Msb(s);
    return g * 32 + Msb(bm.words[g]);
  }
  if (uint32_t w = bm.words[gc] & ~Below(bc)) {
    return gc * 32 + Msb(w);
  }
  return nb_;
}

uint32_t HepcModel::Nearest(const Bitmap& bm) const {
  const uint32_t cb = dir_.current_bucket() & (nb_ - 1);
  const uint32_t gc = cb >> 5;
  const uint32_t bc = cb & 31;
  if (uint32_t w = bm.words[gc] & ~Below(bc)) {
    return gc * 32 + Lsb(w);
  }
  if (uint32_t s = bm.summary & ~Below(gc + 1)) {
    const uint32_t g = Lsb(s);
    return g * 32 + Lsb(bm.words[g]);
  }
  if (uint32_t s = bm.summary & Below(gc)) {
    const uint32_t g = Lsb(s);
    return g * 32 + Lsb(bm.words[g]);
  }
  if (uint32_t w = bm.words[gc] & Below(bc)) {
    return gc * 32 + Lsb(w);
  }
  return nb_;
}

// ---- membership and refiling ---------------------------------------------------------------

uint32_t HepcModel::SeedMembership(const Entry& e) const {
  if (!e.valid || e.moving || e.tier != 0 || e.hint == Hint::kHot ||
      (e.prefix && e.refcount > 0)) {
    return kNone;
  }
  if (e.hint == Hint::kEvict) {
    return kSeedEvict;
  }
  return uint32_t{e.freq} + (e.prefix ? 16u : 0u);
}

uint32_t HepcModel::HintMembership(const Entry& e) const {
  if (!e.valid || e.moving) {
    return kNone;
  }
  const bool live = e.hint == Hint::kPrefetch && e.hint_bucket >= dir_.current_bucket();
  const uint32_t r = e.hint_bucket & (nb_ - 1);
  if (e.tier == 0) {
    if (e.hint == Hint::kHot || (e.prefix && e.refcount > 0)) {
      return kNone;
    }
    if (e.hint == Hint::kEvict) {
      return kHintEvict;
    }
    return live ? kHintRing0 + r : kHintLru;
  }
  if (e.hint != Hint::kPrefetch) {
    return kNone;
  }
  return live ? kHintRing0 + nb_ + r : kHintStale;
}

void HepcModel::Refile(uint32_t h, const Entry& before, bool access) {
  Entry& e = dir_.mutable_entry(h);
  const uint32_t old_s = SeedMembership(before);
  const uint32_t new_s = SeedMembership(e);
  if (old_s != new_s || (access && new_s != kNone)) {
    if (old_s != kNone) {
      Unlink(&seed_, old_s, h);
    }
    if (new_s != kNone) {
      if (new_s < kSeedEvict) {
        e.last_access = dir_.step();
      }
      PushTail(&seed_, new_s, h);
    }
  }
  const uint32_t old_h = HintMembership(before);
  const uint32_t new_h = HintMembership(e);
  if (old_h != new_h || (access && new_h != kNone)) {
    if (old_h != kNone) {
      HintUnlink(old_h, h);
    }
    if (new_h != kNone) {
      HintPush(new_h, h);
    }
  }
  const bool was_t0 = before.valid && before.tier == 0;
  const bool is_t0 = e.valid && e.tier == 0;
  t0_blocks_ += static_cast<uint32_t>(is_t0) - static_cast<uint32_t>(was_t0);
  t0_moving_ += static_cast<uint32_t>(is_t0 && e.moving) -
                static_cast<uint32_t>(was_t0 && before.moving);
}

// ---- ops --------------------------------------------------------------------------------

OpResult HepcModel::Insert(const InsertArgs& args) {
  ++counters_.ops;
  OpResult r = dir_.Insert(args);
  if (r.status == Status::kDirFull) {
    ++counters_.dir_full;
    r.handle = SetVictim(dir_.SetOf(args.key));
  } else if (r.ok()) {
    Refile(r.handle, Entry{}, true);
  }
  return r;
}

#define KVCPU_HEPC_KEYED_OP(call, access)                                         \
  ++counters_.ops;                                                                \
  const OpResult found = dir_.Lookup(key);                                        \
  const Entry before = found.ok() ? dir_.entry(found.handle) : Entry{};           \
  OpResult r = (call);                                                            \
  if (r.ok()) {                                                                   \
    Refile(r.handle, before, (access));                                           \
  }                                                                               \
  return r

OpResult HepcModel::Touch(const Key& key) { KVCPU_HEPC_KEYED_OP(dir_.Touch(key), true); }

OpResult HepcModel::UpdateHint(const Key& key, Hint hint, uint32_t target_step) {
  ++counters_.ops;
  const OpResult found = dir_.Lookup(key);
  const Entry before = found.ok() ? dir_.entry(found.handle) : Entry{};
  OpResult r = dir_.UpdateHint(key, hint, target_step);
  if (r.ok()) {
    Refile(r.handle, before, false);
  } else if (r.status == Status::kHintStale) {
    ++counters_.hint_stale;
  }
  return r;
}

OpResult HepcModel::Delete(const Key& key) { KVCPU_HEPC_KEYED_OP(dir_.Delete(key), false); }
OpResult HepcModel::Share(const Key& key) { KVCPU_HEPC_KEYED_OP(dir_.Share(key), false); }
OpResult HepcModel::Release(const Key& key) { KVCPU_HEPC_KEYED_OP(dir_.Release(key), false); }

#undef KVCPU_HEPC_KEYED_OP

OpResult HepcModel::SetTier(uint32_t handle, uint8_t tier, uint64_t addr) {
  ++counters_.ops;
  const Entry before = handle < dir_.capacity() ? dir_.entry(handle) : Entry{};
  OpResult r = dir_.SetTier(handle, tier, addr);
  if (r.ok()) {
    Refile(handle, before, false);
  }
  return r;
}

// ---- decisions --------------------------------------------------------------------------

uint16_t HepcModel::Score(const Entry& e) const {
  const uint32_t age = dir_.step() - e.last_access;  // mod 2^32
  const uint64_t r = age >= 255 ? 0 : 255 - age;
  const uint64_t s = age >= config_.window ? 0 : config_.window - age;
  const uint64_t p = uint64_t{config_.w_r} * r + uint64_t{config_.w_f} * e.freq +
                     uint64_t{config_.w_s} * s + uint64_t{config_.w_d} * 255 * (e.prefix ? 1 : 0);
  return static_cast<uint16_t>(std::min<uint64_t>(p, 0xFFFF));
}

VictimResult HepcModel::Victim() const {
  VictimResult v;
  if (config_.mode == Mode::kSeed) {
    v.cycles = kSeedVictimCycles;
    if (seed_.count[kSeedEvict] != 0) {
      v.handle = seed_.head[kSeedEvict];
      return v;
    }
    for (uint32_t c = 0; c < kSeedEvict; ++c) {  // 32 comparators in parallel in hardware
      if (seed_.count[c] == 0) {
        continue;
      }
      const uint16_t p = Score(dir_.entry(seed_.head[c]));
      if (v.handle == kNoHandle || p < v.score) {
        v.handle = seed_.head[c];
        v.score = p;
      }
    }
    return v;
  }
  v.cycles = kHintVictimCycles;
  if (hint_.count[kHintEvict] != 0) {
    v.handle = hint_.head[kHintEvict];
  } else if (hint_.count[kHintLru] != 0) {
    v.handle = hint_.head[kHintLru];
  } else if (const uint32_t r = Farthest(t0_bits_); r < nb_) {
    v.handle = hint_.head[kHintRing0 + r];
  }
  if (v.handle != kNoHandle) {
    v.score = Score(dir_.entry(v.handle));
  }
  return v;
}

uint32_t HepcModel::SetVictim(uint32_t set) const {
  uint32_t best = kNoHandle;
  // Rank: smaller is evicted first. (group, value) compared lexicographically, then way.
  uint64_t best_rank = ~uint64_t{0};
  for (uint32_t w = 0; w < kWays; ++w) {
    const uint32_t h = set * kWays + w;
    const Entry& e = dir_.entry(h);
    uint64_t rank;
    if (config_.mode == Mode::kSeed) {
      const uint32_t m = SeedMembership(e);
      if (m == kNone) {
        continue;
      }
      rank = m == kSeedEvict ? 0 : (uint64_t{1} << 40) | (uint64_t{Score(e)} << 8) | m;
    } else {
      const uint32_t m = HintMembership(e);
      if (m == kNone || m == kHintStale || m >= kHintRing0 + nb_) {
        continue;  // not a T0 block
      }
      if (m == kHintEvict) {
        rank = 0;
      } else if (m == kHintLru) {
        rank = (uint64_t{1} << 40) | e.last_access;
      } else {
        rank = (uint64_t{2} << 40) | (0xFFFFFFFFu - e.hint_bucket);
      }
    }
    if (rank < best_rank) {
      best_rank = rank;
      best = h;
    }
  }
  return best;
}

uint8_t HepcModel::EvictTarget(const Entry& e) const {
  const uint64_t t = dir_.step();
  const bool short_lived = e.lifetime_end != 0 && e.lifetime_end <= t + config_.short_lived;
  return (e.recompute_ok || short_lived) ? kDiscard : config_.evict_tier;
}

Status HepcModel::StepAdvance(uint32_t step, std::vector<Plan>* plans) {
  ++counters_.ops;
  const uint32_t old_cb = dir_.current_bucket();
  if (const Status s = dir_.SetStep(step); s != Status::kSuccess) {
    return s;
  }
  // 1. Expire the buckets the current bucket passed: one splice per bucket and ring.
  const uint32_t passed = std::min(dir_.current_bucket() - old_cb, nb_);
  for (uint32_t k = 0; k < passed; ++k) {
    const uint32_t r = (old_cb + k) & (nb_ - 1);
    const uint32_t t0_list = kHintRing0 + r;
    const uint32_t low_list = kHintRing0 + nb_ + r;
    if (hint_.count[t0_list] != 0) {
      ++counters_.expired_buckets;
      Splice(&hint_, t0_list, kHintLru, /*at_head=*/true);
      SetBit(false, r, false);
    }
    if (hint_.count[low_list] != 0) {
      ++counters_.expired_buckets;
      Splice(&hint_, low_list, kHintStale, /*at_head=*/false);
      SetBit(true, r, false);
    }
  }
  // 2. Evict plans.
  for (uint16_t n = 0; n < config_.max_evict_plans; ++n) {
    const VictimResult v = Victim();
    if (v.handle == kNoHandle) {
      break;
    }
    const Entry& e = dir_.entry(v.handle);
    const bool forced = e.hint == Hint::kEvict;
    const bool over = t0_blocks_ - t0_moving_ > config_.t0_high_wm;
    const bool low = config_.mode == Mode::kSeed && v.score < config_.evict_t;
    if (!forced && !over && !low) {
      break;
    }
    const Plan p{Plan::kEvict, v.handle, e.tier, EvictTarget(e)};
    plans->push_back(p);
    ++counters_.evict_plans;
    counters_.discards += p.to_tier == kDiscard ? 1 : 0;
    const Entry before = e;
    dir_.mutable_entry(v.handle).moving = true;
    Refile(v.handle, before, false);
  }
  // 3. Prefetch plans: hinted lower-tier blocks due within the prefetch window.
  const uint64_t due_bucket =
      (uint64_t{dir_.step()} + config_.prefetch_window) >> dir_.config().bucket_shift;
  for (uint16_t n = 0; n < config_.max_prefetch_plans; ++n) {
    const uint32_t r = Nearest(low_bits_);
    if (r >= nb_) {
      break;
    }
    const uint32_t h = hint_.head[kHintRing0 + nb_ + r];
    const Entry& e = dir_.entry(h);
    if (e.hint_bucket > due_bucket) {
      break;
    }
    plans->push_back(Plan{Plan::kPrefetch, h, e.tier, 0});
    ++counters_.prefetch_plans;
    const Entry before = e;
    dir_.mutable_entry(h).moving = true;
    Refile(h, before, false);
  }
  return Status::kSuccess;
}

}  // namespace kvcpu::model
