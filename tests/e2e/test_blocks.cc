// Block commands end to end: libkvcpu submits BLK_* commands and keyed hints through a host
// queue of the real kvcpu-cosim server, whose verilated core runs them on its block
// directory with the HEPC controller (kvcpu_dir; its size is read from DIR_CAPACITY). Every
// completion (status, handle, tier), every entry record the device writes to host memory,
// every BLK_VICTIM, every plan of the plan FIFO and the controller's counters are checked
// against HepcModel (sw/model), the directory's and controller's C++ reference, driven with
// the same ops, the same step and the configuration written to the HEPC registers.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <vector>

#include "cosim_device_test.h"
#include "kvcpu/device.h"
#include "kvcpu/queue.h"
#include "kvcpu/regs.h"
#include "hepc.h"
#include "rtbd.h"

namespace kvcpu {
namespace {

using namespace std::chrono_literals;
namespace st = cqe_status;
namespace m = kvcpu::model;

// The core's directory as the device reports it: 2^set_bits sets of 8 ways (DIR_CAPACITY),
// 2^G-step buckets and NB of them (HEPC_RINGS; the cosim core's are CMake parameters).
m::RtbdConfig dir_config(Device& dev) {
  auto g = dev.dir_geometry();
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  return g.ok() ? m::RtbdConfig{g->set_bits, g->bucket_shift, g->num_buckets} : m::RtbdConfig{};
}

// HepcModel's configuration at the registers' reset values: HepcConfig's defaults, but no
// plans (HEPC_MAX_*_PLANS reset to 0).
m::HepcConfig reset_config() {
  m::HepcConfig c;
  c.max_evict_plans = 0;
  c.max_prefetch_plans = 0;
  return c;
}

// The model's INSERT of what Command::blk_insert(b) asks for, under the model key mk.
m::InsertArgs insert_args(const m::Key& mk, const BlockInsert& b) {
  m::InsertArgs a;
  a.key = mk;
  a.tier = b.tier;
  a.addr = b.addr;
  a.prefix = b.prefix;
  a.dirty = b.dirty;
  a.recompute_ok = b.recompute_ok;
  a.session = b.session;
  a.model_id = b.model;
  a.lifetime_end = b.lifetime_end;
  return a;
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

uint32_t model_result(const m::HepcModel& h, const m::OpResult& o) {
  const m::RtbdModel& dir = h.dir();
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
  const m::RtbdConfig cfg = dir_config(*dev_);
  ASSERT_EQ(8u << cfg.set_bits, *cap);
  m::HepcModel dir(cfg, reset_config());
  std::mt19937_64 rng(0xB10C);
  std::vector<uint64_t> keys(48);
  for (auto& k : keys) {
    do k = rng(); while (m::RtbdSet(k, cfg.set_bits) >= 4);  // sets 0..3 only
  }
  uint32_t live = 0, hits = 0, misses = 0;
  auto step = dev_->step();
  ASSERT_TRUE(step.ok());
  uint64_t cur = *step;
  std::vector<m::Plan> plans;
  ASSERT_EQ(dir.StepAdvance(static_cast<uint32_t>(cur), &plans), m::Status::kSuccess);
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
        want = dir.Insert(insert_args(mk, b));
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
        // from a bucket before the current one (HINT_STALE) to a few buckets ahead
        const uint32_t back = 20 + (1u << cfg.bucket_shift);
        const uint32_t target = static_cast<uint32_t>(cur) + static_cast<uint32_t>(rng() % (200 + back)) - back;
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
        ASSERT_EQ(dir.StepAdvance(static_cast<uint32_t>(cur), &plans), m::Status::kSuccess);
        ASSERT_TRUE(plans.empty());  // HEPC_MAX_*_PLANS are 0 after reset
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
      const m::Entry e = want.handle == m::kNoHandle ? m::Entry{} : dir.dir().entry(want.handle);
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
  EXPECT_EQ(t->dir_live, dir.dir().size());
  EXPECT_EQ(t->dir_hits, hits);
  EXPECT_EQ(t->dir_misses, misses);
}

// HEPC through the host: its configuration registers (random weights, thresholds, mode and
// plan limits, rewritten now and then), steps by STEP_INC and by STEP_ADVANCE command,
// BLK_VICTIM, the plan FIFO (popped after every step; plans beyond its 8 places are dropped
// and counted), plans completed later by BLK_SET_TIER / BLK_DELETE, and the counters and
// gauges, all against HepcModel run on the same ops.
TEST_F(Blocks, HepcVictimsPlansAndCountersAgreeWithTheModel) {
  auto cap = dev_->read(regs::kDirCapacity);
  ASSERT_TRUE(cap.ok());
  const m::RtbdConfig cfg = dir_config(*dev_);
  ASSERT_EQ(8u << cfg.set_bits, *cap);
  // the registers come out of reset at HepcConfig's defaults (plan limits 0)
  auto h0 = dev_->hepc();
  ASSERT_TRUE(h0.ok()) << h0.status().to_string();
  const m::HepcConfig def = reset_config();
  EXPECT_EQ(h0->hint_mode, def.mode == m::Mode::kHint);
  EXPECT_EQ(h0->w_r, def.w_r);
  EXPECT_EQ(h0->w_f, def.w_f);
  EXPECT_EQ(h0->w_s, def.w_s);
  EXPECT_EQ(h0->w_d, def.w_d);
  EXPECT_EQ(h0->window, def.window);
  EXPECT_EQ(h0->evict_t, def.evict_t);
  EXPECT_EQ(h0->prefetch_t, def.prefetch_t);
  EXPECT_EQ(h0->t0_high_wm, def.t0_high_wm);
  EXPECT_EQ(h0->prefetch_window, def.prefetch_window);
  EXPECT_EQ(h0->max_evict_plans, 0);
  EXPECT_EQ(h0->max_prefetch_plans, 0);
  EXPECT_EQ(h0->evict_tier, def.evict_tier);
  EXPECT_EQ(h0->short_lived, def.short_lived);

  m::HepcModel model(cfg, def);
  std::mt19937_64 rng(0x4E9C);
  // 96 keys over sets 0..7 (64 ways): full sets, set victims, lower-tier blocks
  std::vector<uint64_t> keys(96);
  for (auto& k : keys) {
    do k = rng(); while (m::RtbdSet(k, cfg.set_bits) >= 8);
  }
  auto st = dev_->step();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(*st, 0u) << "a fresh server starts at step 0";
  uint64_t cur = 0;
  uint64_t victim_queries = 0, plans_total = 0, drops = 0, victims_named = 0, victims_none = 0;
  uint64_t dir_full_with_victim = 0, completed = 0;
  std::vector<m::Plan> outstanding;

  auto reconfigure = [&]() {
    HepcSettings s;
    s.hint_mode = rng() & 1;
    s.w_r = static_cast<uint8_t>(rng() % 4 == 0 ? 255 : rng() % 32);
    s.w_f = static_cast<uint8_t>(rng() % 64);
    s.w_s = static_cast<uint8_t>(rng() % 16);
    s.w_d = static_cast<uint8_t>(rng() % 128);
    s.window = static_cast<uint16_t>(rng() % 400);
    s.evict_t = static_cast<uint16_t>(rng() % 3 == 0 ? 0xFFFF : rng() % 2000);
    s.prefetch_t = static_cast<uint16_t>(rng());
    s.t0_high_wm = rng() % 3 == 0 ? static_cast<uint32_t>(rng() % 40) : 0xFFFFFFFFu;
    s.prefetch_window = static_cast<uint32_t>(rng() % 600);
    s.max_evict_plans = static_cast<uint16_t>(rng() % 11);
    s.max_prefetch_plans = static_cast<uint16_t>(rng() % 11);
    s.evict_tier = static_cast<uint8_t>(1 + rng() % 3);
    s.short_lived = static_cast<uint32_t>(rng() % 3 == 0 ? rng() % 500 : 0);
    ASSERT_TRUE(dev_->set_hepc(s).ok());
    auto back = dev_->hepc();
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->w_s, s.w_s);
    EXPECT_EQ(back->short_lived, s.short_lived);
    m::HepcConfig c;
    c.mode = s.hint_mode ? m::Mode::kHint : m::Mode::kSeed;
    c.w_r = s.w_r;
    c.w_f = s.w_f;
    c.w_s = s.w_s;
    c.w_d = s.w_d;
    c.window = s.window;
    c.evict_t = s.evict_t;
    c.prefetch_t = s.prefetch_t;
    c.t0_high_wm = s.t0_high_wm;
    c.prefetch_window = s.prefetch_window;
    c.max_evict_plans = s.max_evict_plans;
    c.max_prefetch_plans = s.max_prefetch_plans;
    c.evict_tier = s.evict_tier;
    c.short_lived = s.short_lived;
    model.set_config(c);
  };
  auto check_counters = [&](const std::string& when) {
    auto t = dev_->hepc_stats();
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    const m::HepcCounters& c = model.counters();
    EXPECT_EQ(t->ops, c.ops) << when;
    EXPECT_EQ(t->victim_queries, victim_queries) << when;
    EXPECT_EQ(t->evict_plans, c.evict_plans) << when;
    EXPECT_EQ(t->prefetch_plans, c.prefetch_plans) << when;
    EXPECT_EQ(t->discards, c.discards) << when;
    EXPECT_EQ(t->dir_full, c.dir_full) << when;
    EXPECT_EQ(t->hint_stale, c.hint_stale) << when;
    EXPECT_EQ(t->expired_buckets, c.expired_buckets) << when;
    EXPECT_EQ(t->t0_blocks, model.t0_blocks()) << when;
    EXPECT_EQ(t->t0_moving, model.t0_moving()) << when;
    EXPECT_EQ(t->dir_step, static_cast<uint32_t>(cur)) << when;
    EXPECT_EQ(t->plans_waiting, 0u) << when;
    EXPECT_EQ(t->plan_drops, drops) << when;
  };

  reconfigure();
  const unsigned kOps = 8000;
  for (unsigned i = 0; i < kOps && !HasFatalFailure(); ++i) {
    const std::string what = "op " + std::to_string(i);
    const uint64_t key = keys[rng() % keys.size()];
    const m::Key mk = m::Key::Unpack(key);
    Command c;
    m::OpResult want;
    bool entry_out = false;
    const unsigned pick = static_cast<unsigned>(rng() % 100);
    if (pick < 7) {
      // a step: by STEP_INC or by command; now and then far (bucket expiry)
      const uint32_t n = rng() % 8 == 0 ? static_cast<uint32_t>(100 + rng() % 2000)
                                        : static_cast<uint32_t>(1 + rng() % 24);
      if (rng() & 1) {
        ASSERT_TRUE(dev_->step_advance(n).ok());
      } else {
        ASSERT_EQ(one(Command::step_advance(n)).status, st::kSuccess) << what;
      }
      cur += n;
      std::vector<m::Plan> plans;
      ASSERT_EQ(model.StepAdvance(static_cast<uint32_t>(cur), &plans), m::Status::kSuccess);
      // A directory op after the step: the sequencer sends OP_STEP_ADVANCE first, and the
      // directory answers the lookup only after the step's last plan.
      const Completion b = one(Command::blk_lookup(key));
      const m::OpResult bw = model.Lookup(mk);
      ASSERT_EQ(b.status, static_cast<uint16_t>(bw.status)) << what << " (lookup after the step)";
      auto got = dev_->pop_plans(16);
      ASSERT_TRUE(got.ok()) << got.status().to_string();
      const size_t kept = std::min<size_t>(plans.size(), 8);
      ASSERT_EQ(got->size(), kept) << what << ": plans in the FIFO after step " << cur;
      for (size_t j = 0; j < kept; ++j) {
        ASSERT_EQ((*got)[j], plans[j].Packed()) << what << ": plan " << j << " of step " << cur;
      }
      drops += plans.size() - kept;
      plans_total += plans.size();
      outstanding.insert(outstanding.end(), plans.begin(), plans.end());
      continue;
    }
    if (pick < 9) {
      reconfigure();
      continue;
    }
    if (pick < 14 && !outstanding.empty()) {
      // complete an outstanding plan (the DMA engine's job): SET_TIER, or DELETE a discard
      const size_t j = rng() % outstanding.size();
      const m::Plan p = outstanding[j];
      outstanding.erase(outstanding.begin() + static_cast<std::ptrdiff_t>(j));
      const m::Entry& e = model.dir().entry(p.handle);
      if (p.to_tier == m::kDiscard && e.valid) {
        c = Command::blk_delete(e.key.Packed());
        want = model.Delete(e.key);
      } else {
        const uint8_t to = p.to_tier == m::kDiscard ? 2 : p.to_tier;
        const uint64_t a = rng();
        c = Command::blk_set_tier(static_cast<uint16_t>(p.handle), to, a);
        want = model.SetTier(p.handle, to, a);
      }
      ++completed;
    } else if (pick < 24) {
      c = Command::blk_victim(rng() % 4 == 0 ? 0 : buf_->iova());
      const m::VictimResult v = model.Victim();
      want = m::OpResult{m::Status::kSuccess, v.handle};
      entry_out = c.get(24, 8) != 0;
      ++victim_queries;
      ++(v.handle == m::kNoHandle ? victims_none : victims_named);
    } else if (pick < 50) {
      BlockInsert b;
      b.key = key;
      b.tier = static_cast<uint8_t>(rng() % 10 < 7 ? 0 : 1 + rng() % 3);
      b.addr = rng();
      b.prefix = rng() % 8 == 0;
      b.recompute_ok = rng() % 4 == 0;
      b.session = static_cast<uint16_t>(rng());
      b.model = static_cast<uint8_t>(rng());
      b.lifetime_end = rng() % 3 == 0 ? static_cast<uint32_t>(cur + rng() % 1000) : 0;
      c = Command::blk_insert(b);
      want = model.Insert(insert_args(mk, b));
      if (want.status == m::Status::kDirFull && want.handle != m::kNoHandle) ++dir_full_with_victim;
    } else if (pick < 56) {
      c = Command::blk_lookup(key, buf_->iova());
      want = model.Lookup(mk);
      entry_out = true;
    } else if (pick < 68) {
      c = Command::blk_touch(key, buf_->iova());
      want = model.Touch(mk);
      entry_out = true;
    } else if (pick < 80) {
      const uint32_t target = static_cast<uint32_t>(cur) + static_cast<uint32_t>(rng() % 900) - 30;
      c = Command::block_hint(Opcode::kPrefetch, key, target);
      want = model.UpdateHint(mk, m::Hint::kPrefetch, target);
    } else if (pick < 92) {
      const Opcode ops[] = {Opcode::kEvict, Opcode::kEvict, Opcode::kMarkHot, Opcode::kSharePrefix,
                            Opcode::kRelease, Opcode::kRelease};
      const Opcode op = ops[rng() % 6];
      c = Command::block_hint(op, key);
      want = op == Opcode::kMarkHot        ? model.UpdateHint(mk, m::Hint::kHot, 0)
             : op == Opcode::kEvict       ? model.UpdateHint(mk, m::Hint::kEvict, 0)
             : op == Opcode::kSharePrefix ? model.Share(mk)
                                          : model.Release(mk);
    } else {
      c = Command::blk_delete(key);
      want = model.Delete(mk);
    }
    const Completion k = one(c.flow(i));
    ASSERT_EQ(k.status, static_cast<uint16_t>(want.status))
        << what << " opcode 0x" << std::hex << int{c.b[0]} << ": " << st::name(k.status);
    ASSERT_EQ(k.result, model_result(model, want)) << what << " opcode 0x" << std::hex << int{c.b[0]};
    if (entry_out) {
      const m::Entry e = want.handle == m::kNoHandle ? m::Entry{} : model.dir().entry(want.handle);
      expect_entry(BlockEntry::decode(buf_->data()), e, what);
      if (HasFailure()) return;
    }
    if (i % 500 == 499) {
      check_counters(what);
    }
  }
  check_counters("at the end");
  // the run reached what it is about
  EXPECT_GT(model.counters().evict_plans, 0u);
  EXPECT_GT(model.counters().prefetch_plans, 0u);
  EXPECT_GT(model.counters().discards, 0u);
  EXPECT_GT(model.counters().expired_buckets, 0u);
  EXPECT_GT(drops, 0u) << "no step overflowed the plan FIFO";
  EXPECT_GT(victims_named, 0u);
  EXPECT_GT(victims_none, 0u);
  EXPECT_GT(dir_full_with_victim, 0u);
  EXPECT_GT(completed, 0u);
  std::printf("[hepc e2e] %u ops: %llu victim queries (%llu none), %llu plans (%llu dropped), "
              "%llu completed, %llu DIR_FULL with a set victim\n",
              kOps, static_cast<unsigned long long>(victim_queries),
              static_cast<unsigned long long>(victims_none), static_cast<unsigned long long>(plans_total),
              static_cast<unsigned long long>(drops), static_cast<unsigned long long>(completed),
              static_cast<unsigned long long>(dir_full_with_victim));
}

// BLK_VICTIM's field rules: no key, a 64-byte-aligned entry buffer, nothing else.
TEST_F(Blocks, BlkVictimFieldRules) {
  Completion c = one(Command::blk_victim());
  EXPECT_EQ(c.status, st::kSuccess);
  EXPECT_EQ(c.result, 0xFFFFFFFFu) << "an empty directory has no victim";
  Command bad = Command::blk_victim();
  bad.put(16, 1, 8);  // a key
  EXPECT_EQ(one(bad).status, st::kInvalidField);
  EXPECT_EQ(one(Command::blk_victim(buf_->iova() + 32)).status, st::kInvalidField);
  bad = Command::blk_victim();
  bad.put(40, 1, 1);
  EXPECT_EQ(one(bad).status, st::kInvalidField);
  bad = Command::blk_victim();
  bad.put(12, 64, 4);  // a length
  EXPECT_EQ(one(bad).status, st::kInvalidField);
}

}  // namespace
}  // namespace kvcpu
