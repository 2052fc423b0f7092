// RTBD: the hash against hand-computed vectors (docs/rtbd-hepc.md "Hash"), and every op's
// statuses: a failing op changes nothing.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "rtbd.h"

namespace kvcpu::model {
namespace {

Key K(uint16_t r, uint8_t l, uint8_t h, uint32_t t) { return Key{r, l, h, t}; }

// Keys that all land in set `set` (found by walking token starts).
std::vector<Key> KeysInSet(unsigned set_bits, uint32_t set, size_t n) {
  std::vector<Key> out;
  for (uint32_t t = 0; out.size() < n; ++t) {
    if (RtbdSet(K(7, 1, 2, t).Packed(), set_bits) == set) {
      out.push_back(K(7, 1, 2, t));
    }
  }
  return out;
}

bool SameEntry(const Entry& a, const Entry& b) {
  return a.valid == b.valid && a.key == b.key && a.tier == b.tier && a.addr == b.addr &&
         a.freq == b.freq && a.last_access == b.last_access && a.next_use == b.next_use &&
         a.hint_bucket == b.hint_bucket && a.hint == b.hint && a.prefix == b.prefix &&
         a.refcount == b.refcount && a.dirty == b.dirty && a.recompute_ok == b.recompute_ok &&
         a.lifetime_end == b.lifetime_end && a.session == b.session &&
         a.model_id == b.model_id && a.moving == b.moving;
}

std::vector<Entry> Snapshot(const RtbdModel& d) {
  std::vector<Entry> s;
  for (uint32_t h = 0; h < d.capacity(); ++h) {
    s.push_back(d.entry(h));
  }
  return s;
}

void ExpectUnchanged(const RtbdModel& d, const std::vector<Entry>& before) {
  for (uint32_t h = 0; h < d.capacity(); ++h) {
    ASSERT_TRUE(SameEntry(d.entry(h), before[h])) << "entry " << h << " changed";
  }
}

TEST(RtbdHash, HandComputedVectors) {
  // m = a ^ (a >> 9) ^ (a >> 14) ^ rotl32(b, 16) ^ rotl32(b, 3) ^ rotl32(b, 11);
  // set = xor of the set_bits-wide chunks of m (values computed by hand / in Python).
  EXPECT_EQ(RtbdMix(K(0, 0, 0, 0).Packed()), 0u);
  EXPECT_EQ(RtbdSet(K(0, 0, 0, 0).Packed(), 13), 0u);
  EXPECT_EQ(RtbdMix(K(0, 0, 0, 512).Packed()), 0x201u);
  EXPECT_EQ(RtbdSet(K(0, 0, 0, 512).Packed(), 13), 513u);
  EXPECT_EQ(RtbdMix(K(1, 0, 0, 0).Packed()), 0x8080001u);
  EXPECT_EQ(RtbdSet(K(1, 0, 0, 0).Packed(), 13), 67u);
  EXPECT_EQ(RtbdMix(K(0x1234, 5, 7, 0x8000).Packed()), 0x348f82dfu);
  EXPECT_EQ(RtbdSet(K(0x1234, 5, 7, 0x8000).Packed(), 13), 1710u);
  EXPECT_EQ(RtbdSet(K(0x1234, 5, 7, 0x8000).Packed(), 5), 4u);
  EXPECT_EQ(RtbdMix(K(0xFFFF, 0xFF, 0xFF, 0xFFFFFFFF).Packed()), 0x7c0000u);
  EXPECT_EQ(RtbdSet(K(0xFFFF, 0xFF, 0xFF, 0xFFFFFFFF).Packed(), 13), 992u);
  EXPECT_EQ(RtbdSet(K(42, 3, 1, 1536).Packed(), 3), 5u);
}

TEST(RtbdHash, ConsecutiveBlocksOfOneRequestSpread) {
  // token_start = 512 * k, k < 8192, at set_bits = 13: at most 2 per set.
  std::vector<unsigned> load(8192, 0);
  unsigned worst = 0;
  for (uint32_t k = 0; k < 8192; ++k) {
    worst = std::max(worst, ++load[RtbdSet(K(99, 4, 2, 512 * k).Packed(), 13)]);
  }
  EXPECT_LE(worst, 2u);
}

TEST(RtbdHash, EveryWidthReachesEverySet) {
  for (unsigned bits = 1; bits <= 8; ++bits) {  // the iCE40 sizes
    std::set<uint32_t> sets;
    for (uint32_t i = 0; i < (64u << bits); ++i) {
      sets.insert(RtbdSet(K(static_cast<uint16_t>(i >> 8), 0, 0, (i & 0xFF) * 512).Packed(), bits));
    }
    EXPECT_EQ(sets.size(), 1u << bits) << bits;
  }
}

TEST(RtbdHash, SpreadsManyRequests) {
  // 1024 requests x 40 blocks = 40,960 keys into 8,192 sets of 8 (mean 5): fullest <= 8.
  std::vector<unsigned> load(8192, 0);
  for (uint32_t r = 0; r < 1024; ++r) {
    for (uint32_t k = 0; k < 40; ++k) {
      ++load[RtbdSet(K(static_cast<uint16_t>(r), 0, 0, 512 * k).Packed(), 13)];
    }
  }
  unsigned worst = 0;
  for (unsigned l : load) {
    worst = std::max(worst, l);
  }
  EXPECT_LE(worst, 8u);
}

TEST(Rtbd, InsertLookupDelete) {
  RtbdModel d({.set_bits = 3});
  EXPECT_EQ(d.capacity(), 64u);
  const Key k = K(1, 2, 3, 4096);
  const OpResult ins = d.Insert({.key = k, .tier = 2, .addr = 0xABC, .dirty = true});
  ASSERT_TRUE(ins.ok());
  EXPECT_EQ(ins.handle, d.SetOf(k) * kWays + 0);  // lowest free way
  EXPECT_EQ(d.size(), 1u);
  const Entry& e = d.entry(ins.handle);
  EXPECT_TRUE(e.valid);
  EXPECT_EQ(e.tier, 2);
  EXPECT_EQ(e.addr, 0xABCu);
  EXPECT_EQ(e.freq, 1);
  EXPECT_TRUE(e.dirty);
  EXPECT_EQ(e.hint, Hint::kNone);
  EXPECT_EQ(d.Lookup(k).handle, ins.handle);
  EXPECT_EQ(d.Lookup(K(1, 2, 3, 4097)).status, Status::kNotFound);
  ASSERT_TRUE(d.Delete(k).ok());
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(d.Lookup(k).status, Status::kNotFound);
  EXPECT_EQ(d.Delete(k).status, Status::kNotFound);
}

TEST(Rtbd, DuplicateInsertReturnsTheEntryAndChangesNothing) {
  RtbdModel d({.set_bits = 3});
  const Key k = K(5, 0, 0, 0);
  const OpResult a = d.Insert({.key = k, .tier = 0, .addr = 1});
  const auto snap = Snapshot(d);
  const OpResult b = d.Insert({.key = k, .tier = 3, .addr = 2});
  EXPECT_EQ(b.status, Status::kDuplicate);
  EXPECT_EQ(b.handle, a.handle);
  ExpectUnchanged(d, snap);
}

TEST(Rtbd, DirFullIsASetConflict) {
  RtbdModel d({.set_bits = 4});
  const auto keys = KeysInSet(4, 3, 9);
  for (unsigned i = 0; i < 8; ++i) {
    const OpResult r = d.Insert({.key = keys[i]});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.handle, 3 * kWays + i);
  }
  const auto snap = Snapshot(d);
  EXPECT_EQ(d.Insert({.key = keys[8]}).status, Status::kDirFull);
  ExpectUnchanged(d, snap);
  EXPECT_EQ(d.size(), 8u);  // 8 of 128: a set conflict, not global occupancy
  // A key of another set still goes in; freeing way 5 makes room in this set at way 5.
  ASSERT_TRUE(d.Insert({.key = KeysInSet(4, 4, 1)[0]}).ok());
  ASSERT_TRUE(d.Delete(keys[5]).ok());
  EXPECT_EQ(d.Insert({.key = keys[8]}).handle, 3 * kWays + 5);
}

TEST(Rtbd, TouchCountsAndConsumesHints) {
  RtbdModel d({.set_bits = 3, .bucket_shift = 2, .num_buckets = 32});
  const Key k = K(1, 1, 1, 1);
  const uint32_t h = d.Insert({.key = k}).handle;
  ASSERT_EQ(d.SetStep(10), Status::kSuccess);
  ASSERT_TRUE(d.UpdateHint(k, Hint::kPrefetch, 50).ok());
  EXPECT_EQ(d.entry(h).next_use, 50u);
  EXPECT_EQ(d.entry(h).hint_bucket, 12u);  // 50 >> 2
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(d.Touch(k).ok());
  }
  EXPECT_EQ(d.entry(h).freq, kFreqMax);  // saturates at 15
  EXPECT_EQ(d.entry(h).last_access, 10u);
  EXPECT_EQ(d.entry(h).hint, Hint::kNone);  // the access consumed the hint
  ASSERT_TRUE(d.UpdateHint(k, Hint::kHot, 0).ok());
  ASSERT_TRUE(d.Touch(k).ok());
  EXPECT_EQ(d.entry(h).hint, Hint::kHot);  // HOT survives accesses
  EXPECT_EQ(d.Touch(K(2, 2, 2, 2)).status, Status::kNotFound);
}

TEST(Rtbd, HintBucketClampAndStale) {
  RtbdModel d({.set_bits = 3, .bucket_shift = 4, .num_buckets = 32});
  const Key k = K(1, 0, 0, 0);
  const uint32_t h = d.Insert({.key = k}).handle;
  ASSERT_EQ(d.SetStep(100), Status::kSuccess);  // current bucket 6
  ASSERT_TRUE(d.UpdateHint(k, Hint::kPrefetch, 96).ok());  // same bucket: fine
  EXPECT_EQ(d.entry(h).hint_bucket, 6u);
  ASSERT_TRUE(d.UpdateHint(k, Hint::kPrefetch, 100000).ok());
  EXPECT_EQ(d.entry(h).hint_bucket, 6u + 31u);  // clamped to the farthest bucket
  EXPECT_EQ(d.entry(h).next_use, 100000u);
  const Entry before = d.entry(h);
  EXPECT_EQ(d.UpdateHint(k, Hint::kPrefetch, 95).status, Status::kHintStale);
  EXPECT_TRUE(SameEntry(d.entry(h), before));
  EXPECT_EQ(d.UpdateHint(k, static_cast<Hint>(7), 0).status, Status::kBadField);
  EXPECT_EQ(d.SetStep(99), Status::kStepBackwards);
  EXPECT_EQ(d.step(), 100u);
}

TEST(Rtbd, RefcountUnderflowAndOverflow) {
  RtbdModel d({.set_bits = 3});
  const Key k = K(0, 0, 0, 512);
  const uint32_t h = d.Insert({.key = k}).handle;
  auto snap = Snapshot(d);
  EXPECT_EQ(d.Release(k).status, Status::kRefUnderflow);
  ExpectUnchanged(d, snap);
  for (int i = 0; i < 255; ++i) {
    ASSERT_TRUE(d.Share(k).ok());
  }
  EXPECT_TRUE(d.entry(h).prefix);
  EXPECT_EQ(d.entry(h).refcount, 255);
  snap = Snapshot(d);
  EXPECT_EQ(d.Share(k).status, Status::kRefOverflow);
  ExpectUnchanged(d, snap);
  for (int i = 0; i < 255; ++i) {
    ASSERT_TRUE(d.Release(k).ok());
  }
  EXPECT_EQ(d.Release(k).status, Status::kRefUnderflow);
  EXPECT_TRUE(d.entry(h).prefix);  // stays a prefix block
  EXPECT_EQ(d.Share(K(9, 9, 9, 9)).status, Status::kNotFound);
  EXPECT_EQ(d.Release(K(9, 9, 9, 9)).status, Status::kNotFound);
}

TEST(Rtbd, SetTierByHandle) {
  RtbdModel d({.set_bits = 3});
  const uint32_t h = d.Insert({.key = K(3, 0, 0, 0), .tier = 0}).handle;
  d.mutable_entry(h).moving = true;
  ASSERT_TRUE(d.SetTier(h, 2, 0x5000).ok());
  EXPECT_EQ(d.entry(h).tier, 2);
  EXPECT_EQ(d.entry(h).addr, 0x5000u);
  EXPECT_FALSE(d.entry(h).moving);
  EXPECT_EQ(d.SetTier(h, 4, 0).status, Status::kBadField);
  EXPECT_EQ(d.SetTier(h + 1, 1, 0).status, Status::kNotFound);  // invalid entry
  EXPECT_EQ(d.SetTier(1u << 20, 1, 0).status, Status::kNotFound);  // out of range
  EXPECT_EQ(d.Insert({.key = K(4, 0, 0, 0), .tier = 4}).status, Status::kBadField);
}

TEST(Rtbd, BadConfigIsRejected) {
  EXPECT_THROW(RtbdModel({.set_bits = 0}), std::invalid_argument);
  EXPECT_THROW(RtbdModel({.set_bits = 14}), std::invalid_argument);
  EXPECT_THROW(RtbdModel({.set_bits = 3, .bucket_shift = 17}), std::invalid_argument);
  EXPECT_THROW(RtbdModel({.set_bits = 3, .num_buckets = 48}), std::invalid_argument);
  EXPECT_THROW(RtbdModel({.set_bits = 3, .num_buckets = 2048}), std::invalid_argument);
  EXPECT_EQ(RtbdModel({.set_bits = 13}).capacity(), 65536u);
}

}  // namespace
}  // namespace kvcpu::model
