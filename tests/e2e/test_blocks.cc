// Block commands end to end: libkvcpu submits BLK_* commands and keyed hints through a host
// queue of the real kvcpu-cosim server, whose verilated core runs them on its block
// directory (kvcpu_rtbd; its size is read from DIR_CAPACITY). Every completion (status, handle, tier) and every
// entry record the device writes to host memory is checked against RtbdModel (sw/model),
// the directory's C++ reference, driven with the same ops and the same step.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <vector>

#include "cosim_device_test.h"
#include "kvcpu/device.h"
#include "kvcpu/queue.h"
#include "kvcpu/regs.h"
#include "rtbd.h"

namespace kvcpu {
namespace {

using namespace std::chrono_literals;
namespace st = cqe_status;
namespace m = kvcpu::model;

// The core's directory: 2^set_bits sets of 8 ways (DIR_CAPACITY), G = 4, NB = 1024.
m::RtbdConfig dir_config(uint32_t capacity) {
  unsigned bits = 0;
  while ((8u << bits) < capacity) ++bits;
  return m::RtbdConfig{bits, 4, 1024};
}

class Blocks : public CosimDeviceTest {
 protected:
  void SetUp() override {
    start();
    if (HasFatalFailure()) return;
    auto q = dev_->create_queue(QueueOptions{});
    ASSERT_TRUE(q.ok()) << q.status().to_string();
    q_ = std::move(*q);
    auto buf = dev_->alloc_dma(4096);
    ASSERT_TRUE(buf.ok()) << buf.status().to_string();
    buf_ = std::move(*buf);
  }

  Completion one(const Command& c) { return CosimDeviceTest::one(*q_, c); }

  std::unique_ptr<QueuePair> q_;
  std::unique_ptr<DmaBuffer> buf_;
};

uint32_t model_result(const m::RtbdModel& dir, const m::OpResult& o) {
  if (o.handle == m::kNoHandle) return 0xFFFFFFFFu;
  return (o.handle & 0xFFFF) | (uint32_t{dir.entry(o.handle).tier} << 16);
}

void expect_entry(const BlockEntry& g, const m::Entry& e, const std::string& what) {
  EXPECT_EQ(g.valid, e.valid) << what;
  EXPECT_EQ(g.key, e.key.Packed()) << what;
  EXPECT_EQ(g.tier, e.tier) << what;
  EXPECT_EQ(g.addr, e.addr) << what;
  EXPECT_EQ(g.freq, e.freq) << what;
  EXPECT_EQ(g.last_access, e.last_access) << what;
  EXPECT_EQ(g.next_use, e.next_use) << what;
  EXPECT_EQ(g.hint_bucket, e.hint_bucket) << what;
  EXPECT_EQ(g.hint, static_cast<uint8_t>(e.hint)) << what;
  EXPECT_EQ(g.prefix, e.prefix) << what;
  EXPECT_EQ(g.refcount, e.refcount) << what;
  EXPECT_EQ(g.dirty, e.dirty) << what;
  EXPECT_EQ(g.recompute_ok, e.recompute_ok) << what;
  EXPECT_EQ(g.lifetime_end, e.lifetime_end) << what;
  EXPECT_EQ(g.session, e.session) << what;
  EXPECT_EQ(g.model, e.model_id) << what;
  EXPECT_EQ(g.moving, e.moving) << what;
}

TEST_F(Blocks, InsertLookupTouchAndDeleteReportHitMissTierAndAddress) {
  const uint64_t k = block_key(7, 3, 1, 1024);
  // miss
  Completion c = one(Command::blk_lookup(k, buf_->iova()));
  EXPECT_EQ(c.status, st::kNotFound);
  EXPECT_FALSE(BlockResult{c.result}.has_entry());
  EXPECT_FALSE(BlockEntry::decode(buf_->data()).valid);
  // insert into T2 at an address, then hit
  BlockInsert ins;
  ins.key = k;
  ins.tier = 2;
  ins.addr = 0x1234'5678'9ABC'DEF0ull;
  ins.prefix = true;
  ins.session = 42;
  ins.model = 3;
  ins.lifetime_end = 900;
  c = one(Command::blk_insert(ins));
  ASSERT_EQ(c.status, st::kSuccess) << st::name(c.status);
  const BlockResult r{c.result};
  ASSERT_TRUE(r.has_entry());
  EXPECT_EQ(r.tier(), 2);
  c = one(Command::blk_insert(ins));
  EXPECT_EQ(c.status, st::kDuplicate);
  EXPECT_EQ(BlockResult{c.result}.handle(), r.handle());
  c = one(Command::blk_lookup(k, buf_->iova()));
  EXPECT_EQ(c.status, st::kSuccess);
  EXPECT_EQ(BlockResult{c.result}.handle(), r.handle());
  BlockEntry e = BlockEntry::decode(buf_->data());
  EXPECT_TRUE(e.valid);
  EXPECT_EQ(e.key, k);
  EXPECT_EQ(e.tier, 2);
  EXPECT_EQ(e.addr, ins.addr);
  EXPECT_EQ(e.freq, 1);
  EXPECT_TRUE(e.prefix);
  EXPECT_EQ(e.session, 42);
  EXPECT_EQ(e.model, 3);
  EXPECT_EQ(e.lifetime_end, 900u);
  // a move to T0 at a new address, then a touch counts the access
  c = one(Command::blk_set_tier(r.handle(), 0, 0x4000));
  EXPECT_EQ(c.status, st::kSuccess);
  EXPECT_EQ(BlockResult{c.result}.tier(), 0);
  c = one(Command::blk_touch(k, buf_->iova()));
  EXPECT_EQ(c.status, st::kSuccess);
  e = BlockEntry::decode(buf_->data());
  EXPECT_EQ(e.addr, 0x4000u);
  EXPECT_EQ(e.freq, 2);
  // pin, share, release, release below zero
  EXPECT_EQ(one(Command::block_hint(Opcode::kMarkHot, k)).status, st::kSuccess);
  EXPECT_EQ(one(Command::block_hint(Opcode::kSharePrefix, k)).status, st::kSuccess);
  EXPECT_EQ(one(Command::block_hint(Opcode::kRelease, k)).status, st::kSuccess);
  EXPECT_EQ(one(Command::block_hint(Opcode::kRelease, k)).status, st::kRefUnderflow);
  // delete, then it is gone
  EXPECT_EQ(one(Command::blk_delete(k)).status, st::kSuccess);
  EXPECT_EQ(one(Command::blk_delete(k)).status, st::kNotFound);
  EXPECT_EQ(one(Command::blk_lookup(k)).status, st::kNotFound);
  // malformed: a length, a misaligned entry buffer, a tier out of range
  Command bad = Command::blk_lookup(k);
  bad.put(12, 64, 4);
  EXPECT_EQ(one(bad).status, st::kInvalidField);
  EXPECT_EQ(one(Command::blk_lookup(k, buf_->iova() + 8)).status, st::kInvalidField);
  ins.tier = 5;
  EXPECT_EQ(one(Command::blk_insert(ins)).status, st::kBadField);
}

// Random ops on a key pool that overfills four sets of the directory (48 keys for 32 ways),
// interleaved with STEP_ADVANCE and telemetry reads; the device and RtbdModel must agree on
// every answer, every entry and the directory counters.
TEST_F(Blocks, RandomOpsAgreeWithTheDirectoryModel) {
  auto cap = dev_->read(regs::kDirCapacity);
  ASSERT_TRUE(cap.ok());
  ASSERT_GE(*cap, 32u);
  const m::RtbdConfig cfg = dir_config(*cap);
  ASSERT_EQ(8u << cfg.set_bits, *cap) << "DIR_CAPACITY is not 8 x a power of two";
  m::RtbdModel dir(cfg);
  std::mt19937_64 rng(0xB10C);
  std::vector<uint64_t> keys(48);
  for (auto& k : keys) {
    do k = rng(); while (m::RtbdSet(k, cfg.set_bits) >= 4);  // sets 0..3 only
  }
  uint32_t live = 0, hits = 0, misses = 0;
  auto step = dev_->step();
  ASSERT_TRUE(step.ok());
  uint64_t cur = *step;
  ASSERT_EQ(dir.SetStep(static_cast<uint32_t>(cur)), m::Status::kSuccess);
  std::map<uint16_t, unsigned> seen;
  const unsigned kOps = 3000;
  for (unsigned i = 0; i < kOps; ++i) {
    const uint64_t key = keys[rng() % keys.size()];
    const m::Key mk = m::Key::Unpack(key);
    Command c;
    m::OpResult want;
    bool entry_out = false;
    switch (rng() % 10) {
      case 0:
      case 1:
      case 2: {
        BlockInsert b;
        b.key = key;
        b.tier = static_cast<uint8_t>(rng() % 4);
        b.addr = rng();
        b.prefix = rng() & 1;
        b.recompute_ok = rng() & 1;
        b.session = static_cast<uint16_t>(rng());
        b.lifetime_end = static_cast<uint32_t>(rng() % 5000);
        c = Command::blk_insert(b);
        m::InsertArgs a;
        a.key = mk;
        a.tier = b.tier;
        a.addr = b.addr;
        a.prefix = b.prefix;
        a.recompute_ok = b.recompute_ok;
        a.session = b.session;
        a.lifetime_end = b.lifetime_end;
        want = dir.Insert(a);
        break;
      }
      case 3:
        c = Command::blk_lookup(key, buf_->iova());
        want = dir.Lookup(mk);
        entry_out = true;
        break;
      case 4:
        c = Command::blk_touch(key, buf_->iova());
        want = dir.Touch(mk);
        entry_out = true;
        break;
      case 5:
        c = Command::blk_delete(key);
        want = dir.Delete(mk);
        break;
      case 6: {
        const uint32_t target = static_cast<uint32_t>(cur) + static_cast<uint32_t>(rng() % 200) - 20;
        c = Command::block_hint(Opcode::kPrefetch, key, target);
        want = dir.UpdateHint(mk, m::Hint::kPrefetch, target);
        break;
      }
      case 7: {
        const Opcode ops[] = {Opcode::kMarkHot, Opcode::kEvict, Opcode::kSharePrefix, Opcode::kRelease};
        const Opcode op = ops[rng() % 4];
        c = Command::block_hint(op, key);
        want = op == Opcode::kMarkHot  ? dir.UpdateHint(mk, m::Hint::kHot, 0)
               : op == Opcode::kEvict  ? dir.UpdateHint(mk, m::Hint::kEvict, 0)
               : op == Opcode::kSharePrefix ? dir.Share(mk)
                                            : dir.Release(mk);
        break;
      }
      case 8: {
        const uint16_t h = static_cast<uint16_t>(rng() % 40);  // the 32 ways of sets 0..3, and a few others
        const uint8_t t = static_cast<uint8_t>(rng() % 4);
        const uint64_t a = rng();
        c = Command::blk_set_tier(h, t, a);
        want = dir.SetTier(h, t, a);
        break;
      }
      default: {
        const uint64_t n = 1 + rng() % 40;
        Completion k = one(Command::step_advance(n));
        ASSERT_EQ(k.status, st::kSuccess);
        cur += n;
        ASSERT_EQ(dir.SetStep(static_cast<uint32_t>(cur)), m::Status::kSuccess);
        continue;
      }
    }
    const Completion k = one(c.flow(i));
    const std::string what = "op " + std::to_string(i) + " opcode 0x" + std::to_string(c.b[0]);
    ASSERT_EQ(k.status, static_cast<uint16_t>(want.status)) << what << ": " << st::name(k.status);
    ASSERT_EQ(k.result, model_result(dir, want)) << what;
    ++seen[k.status];
    if (c.b[0] == 0x30 && k.status == st::kSuccess) ++live;
    if (c.b[0] == 0x33 && k.status == st::kSuccess) --live;
    if (c.b[0] == 0x31 || c.b[0] == 0x32) {
      hits += k.status == st::kSuccess;
      misses += k.status == st::kNotFound;
    }
    if (entry_out) {
      const m::Entry e = want.handle == m::kNoHandle ? m::Entry{} : dir.entry(want.handle);
      expect_entry(BlockEntry::decode(buf_->data()), e, what);
      if (HasFailure()) return;
    }
  }
  for (uint16_t s : {st::kSuccess, st::kNotFound, st::kDuplicate, st::kDirFull, st::kRefUnderflow, st::kHintStale}) {
    EXPECT_GT(seen[s], 0u) << st::name(s);
  }
  EXPECT_EQ(dev_->step().value(), cur);
  auto t = dev_->telemetry();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->dir_capacity, *cap);
  EXPECT_EQ(t->dir_live, live);
  EXPECT_EQ(t->dir_live, dir.size());
  EXPECT_EQ(t->dir_hits, hits);
  EXPECT_EQ(t->dir_misses, misses);
}

}  // namespace
}  // namespace kvcpu
