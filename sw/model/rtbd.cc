#include "rtbd.h"

#include <algorithm>
#include <stdexcept>

namespace kvcpu::model {
namespace {

uint32_t Rotl32(uint32_t x, unsigned r) { return (x << r) | (x >> (32 - r)); }

}  // namespace

uint32_t RtbdMix(uint64_t packed_key) {
  const auto a = static_cast<uint32_t>(packed_key);
  const auto b = static_cast<uint32_t>(packed_key >> 32);
  return a ^ (a >> 9) ^ (a >> 14) ^ Rotl32(b, 16) ^ Rotl32(b, 3) ^ Rotl32(b, 11);
}

uint32_t RtbdSet(uint64_t packed_key, unsigned set_bits) {
  uint32_t m = RtbdMix(packed_key);
  const uint32_t mask = (1u << set_bits) - 1;
  uint32_t set = 0;
  for (unsigned used = 0; used < 32; used += set_bits) {
    set ^= m & mask;
    m = set_bits >= 32 ? 0 : m >> set_bits;
  }
  return set;
}

RtbdModel::RtbdModel(const RtbdConfig& config) : config_(config) {
  if (config.set_bits < 1 || config.set_bits > kMaxSetBits) {
    throw std::invalid_argument("RtbdConfig.set_bits must be 1..13");
  }
  if (config.bucket_shift > 16) {
    throw std::invalid_argument("RtbdConfig.bucket_shift must be 0..16");
  }
  if (config.num_buckets < 32 || config.num_buckets > 1024 ||
      (config.num_buckets & (config.num_buckets - 1)) != 0) {
    throw std::invalid_argument("RtbdConfig.num_buckets must be a power of two in 32..1024");
  }
  entries_.resize(size_t{kWays} << config.set_bits);
}

uint32_t RtbdModel::Find(const Key& key, unsigned* free_way) const {
  const uint32_t base = SetOf(key) * kWays;
  uint32_t hit = kNoHandle;
  unsigned free = kWays;
  for (unsigned w = 0; w < kWays; ++w) {
    const Entry& e = entries_[base + w];
    if (e.valid && e.key == key) {
      hit = base + w;
    } else if (!e.valid && free == kWays) {
      free = w;
    }
  }
  if (free_way != nullptr) {
    *free_way = free;
  }
  return hit;
}

OpResult RtbdModel::Insert(const InsertArgs& args) {
  if (args.tier > 3) {
    return {Status::kBadField, kNoHandle};
  }
  unsigned free = kWays;
  const uint32_t hit = Find(args.key, &free);
  if (hit != kNoHandle) {
    return {Status::kDuplicate, hit};
  }
  if (free == kWays) {
    return {Status::kDirFull, kNoHandle};
  }
  const uint32_t h = SetOf(args.key) * kWays + free;
  Entry e;
  e.valid = true;
  e.key = args.key;
  e.tier = args.tier;
  e.addr = args.addr;
  e.freq = 1;
  e.last_access = step_;
  e.prefix = args.prefix;
  e.dirty = args.dirty;
  e.recompute_ok = args.recompute_ok;
  e.lifetime_end = args.lifetime_end;
  e.session = args.session;
  e.model_id = args.model_id;
  entries_[h] = e;
  ++live_;
  return {Status::kSuccess, h};
}

OpResult RtbdModel::Lookup(const Key& key) const {
  const uint32_t h = Find(key, nullptr);
  return h == kNoHandle ? OpResult{Status::kNotFound, kNoHandle} : OpResult{Status::kSuccess, h};
}

OpResult RtbdModel::Touch(const Key& key) {
  const uint32_t h = Find(key, nullptr);
  if (h == kNoHandle) {
    return {Status::kNotFound, kNoHandle};
  }
  Entry& e = entries_[h];
  e.freq = static_cast<uint8_t>(std::min<unsigned>(kFreqMax, e.freq + 1u));
  e.last_access = step_;
  if (e.hint == Hint::kPrefetch || e.hint == Hint::kEvict) {
    e.hint = Hint::kNone;
  }
  return {Status::kSuccess, h};
}

OpResult RtbdModel::UpdateHint(const Key& key, Hint hint, uint32_t target_step) {
  if (static_cast<unsigned>(hint) > 3) {
    return {Status::kBadField, kNoHandle};
  }
  const uint32_t h = Find(key, nullptr);
  if (h == kNoHandle) {
    return {Status::kNotFound, kNoHandle};
  }
  Entry& e = entries_[h];
  if (hint == Hint::kPrefetch) {
    const uint32_t cur = current_bucket();
    const uint32_t b = target_step >> config_.bucket_shift;
    if (b < cur) {
      return {Status::kHintStale, h};
    }
    e.next_use = target_step;
    // cur + NB - 1 cannot overflow: cur <= 2^32 >> 0 ... keep the arithmetic 64-bit.
    e.hint_bucket = static_cast<uint32_t>(
        std::min<uint64_t>(b, uint64_t{cur} + config_.num_buckets - 1));
  }
  e.hint = hint;
  return {Status::kSuccess, h};
}

OpResult RtbdModel::Delete(const Key& key) {
  const uint32_t h = Find(key, nullptr);
  if (h == kNoHandle) {
    return {Status::kNotFound, kNoHandle};
  }
  entries_[h] = Entry{};
  --live_;
  return {Status::kSuccess, h};
}

OpResult RtbdModel::Share(const Key& key) {
  const uint32_t h = Find(key, nullptr);
  if (h == kNoHandle) {
    return {Status::kNotFound, kNoHandle};
  }
  Entry& e = entries_[h];
  if (e.refcount == kRefMax) {
    return {Status::kRefOverflow, h};
  }
  ++e.refcount;
  e.prefix = true;
  return {Status::kSuccess, h};
}

OpResult RtbdModel::Release(const Key& key) {
  const uint32_t h = Find(key, nullptr);
  if (h == kNoHandle) {
    return {Status::kNotFound, kNoHandle};
  }
  Entry& e = entries_[h];
  if (e.refcount == 0) {
    return {Status::kRefUnderflow, h};
  }
  --e.refcount;
  return {Status::kSuccess, h};
}

OpResult RtbdModel::SetTier(uint32_t handle, uint8_t tier, uint64_t addr) {
  if (handle >= entries_.size() || !entries_[handle].valid) {
    return {Status::kNotFound, kNoHandle};
  }
  if (tier > 3) {
    return {Status::kBadField, handle};
  }
  Entry& e = entries_[handle];
  e.tier = tier;
  e.addr = addr;
  e.moving = false;
  return {Status::kSuccess, handle};
}

Status RtbdModel::SetStep(uint32_t step) {
  if (step < step_) {
    return Status::kStepBackwards;
  }
  step_ = step;
  return Status::kSuccess;
}

}  // namespace kvcpu::model
