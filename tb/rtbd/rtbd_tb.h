// Shared by the directory testbenches (tb_rtbd, tb_dir): decoding the RTL's 320-bit entry
// (docs/rtbd-hepc.md "Entry layout") into the model's Entry, a field-by-field difference,
// and status names.
#pragma once

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

#include "rtbd.h"

namespace kvcpu::tb {

namespace m = kvcpu::model;

inline const char* StatusName(m::Status s) {
  switch (s) {
    case m::Status::kSuccess: return "SUCCESS";
    case m::Status::kStepBackwards: return "STEP_BACKWARDS";
    case m::Status::kNotFound: return "NOT_FOUND";
    case m::Status::kDuplicate: return "DUPLICATE";
    case m::Status::kDirFull: return "DIR_FULL";
    case m::Status::kRefUnderflow: return "REF_UNDERFLOW";
    case m::Status::kRefOverflow: return "REF_OVERFLOW";
    case m::Status::kHintStale: return "HINT_STALE";
    case m::Status::kBadField: return "BAD_FIELD";
  }
  return "?";
}

// Bits [lo +: w] (w <= 64) of a VlWide entry.
template <class W>
uint64_t Bits(const W& v, unsigned lo, unsigned w) {
  uint64_t r = 0;
  for (unsigned i = 0; i < w; ++i) {
    const unsigned b = lo + i;
    r |= uint64_t{(v[b / 32] >> (b % 32)) & 1u} << i;
  }
  return r;
}

// The entry as the RTL lays it out (docs/rtbd-hepc.md "Entry layout"); reserved = 319:301.
template <class W>
m::Entry Decode(const W& v, uint32_t* reserved) {
  m::Entry e;
  e.valid = Bits(v, 0, 1);
  e.key = m::Key::Unpack(Bits(v, 1, 64));
  e.tier = static_cast<uint8_t>(Bits(v, 65, 2));
  e.addr = Bits(v, 67, 64);
  e.freq = static_cast<uint8_t>(Bits(v, 131, 4));
  e.last_access = static_cast<uint32_t>(Bits(v, 135, 32));
  e.next_use = static_cast<uint32_t>(Bits(v, 167, 32));
  e.hint_bucket = static_cast<uint32_t>(Bits(v, 199, 32));
  e.hint = static_cast<m::Hint>(Bits(v, 231, 2));
  e.prefix = Bits(v, 233, 1);
  e.refcount = static_cast<uint8_t>(Bits(v, 234, 8));
  e.dirty = Bits(v, 242, 1);
  e.recompute_ok = Bits(v, 243, 1);
  e.lifetime_end = static_cast<uint32_t>(Bits(v, 244, 32));
  e.session = static_cast<uint16_t>(Bits(v, 276, 16));
  e.model_id = static_cast<uint8_t>(Bits(v, 292, 8));
  e.moving = Bits(v, 300, 1);
  *reserved = static_cast<uint32_t>(Bits(v, 301, 19));
  return e;
}

// Field-by-field difference of two entries ("" when equal).
inline std::string Diff(const m::Entry& got, const m::Entry& exp) {
  std::string d;
  char buf[160];
#define KV_FIELD(f)                                                                         \
  if (uint64_t(got.f) != uint64_t(exp.f)) {                                                 \
    std::snprintf(buf, sizeof buf, " " #f ": rtl 0x%" PRIx64 " model 0x%" PRIx64, uint64_t(got.f), \
                  uint64_t(exp.f));                                                         \
    d += buf;                                                                               \
  }
  KV_FIELD(valid)
  KV_FIELD(key.Packed())
  KV_FIELD(tier)
  KV_FIELD(addr)
  KV_FIELD(freq)
  KV_FIELD(last_access)
  KV_FIELD(next_use)
  KV_FIELD(hint_bucket)
  KV_FIELD(hint)
  KV_FIELD(prefix)
  KV_FIELD(refcount)
  KV_FIELD(dirty)
  KV_FIELD(recompute_ok)
  KV_FIELD(lifetime_end)
  KV_FIELD(session)
  KV_FIELD(model_id)
  KV_FIELD(moving)
#undef KV_FIELD
  return d;
}

}  // namespace kvcpu::tb
