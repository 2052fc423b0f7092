// End to end through the host queues: libkvcpu queue pairs and DMA memory, the real
// kvcpu-cosim server with its host-memory model, and the verilated core (hif, exec, msix).
// Expectations come from docs/host-interface.md (expect_status() below is that page's
// check order written out), not from the RTL.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "cosim_device_test.h"
#include "kvcpu/device.h"
#include "kvcpu/queue.h"
#include "kvcpu/regs.h"

namespace kvcpu {
namespace {

using namespace std::chrono_literals;
namespace st = cqe_status;

class Queues : public CosimDeviceTest {
 protected:
  void SetUp() override { start(); }

  std::unique_ptr<QueuePair> queue(QueueOptions o = {}) {
    auto q = dev_->create_queue(o);
    EXPECT_TRUE(q.ok()) << q.status().to_string();
    return q.ok() ? std::move(*q) : nullptr;
  }

  // Submits all of cmds (in batches as room allows) and collects every completion.
  std::vector<Completion> run(QueuePair& q, const std::vector<Command>& cmds) {
    std::vector<Completion> got;
    size_t next = 0;
    std::vector<Completion> buf(64);
    while (got.size() < cmds.size()) {
      if (next < cmds.size()) {
        auto n = q.submit(std::span<const Command>(cmds).subspan(next));
        EXPECT_TRUE(n.ok()) << n.status().to_string();
        if (!n.ok()) break;
        next += *n;
      }
      auto r = q.wait(buf, 10s);
      EXPECT_TRUE(r.ok()) << r.status().to_string();
      if (!r.ok()) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(*r));
    }
    return got;
  }

  uint32_t reg(uint32_t off) {
    auto v = dev_->read(off);
    EXPECT_TRUE(v.ok()) << v.status().to_string();
    return v.ok() ? *v : 0xDEADBEEF;
  }
};

// What docs/host-interface.md says a command completes with (no DMA errors, step known, an
// empty block directory: a keyed hint finds nothing).
uint16_t expect_status(const Command& c, uint64_t step) {
  const auto op = c.b[0];
  if (c.b[1] != 0 || c.b[11] != 0 || c.b[10] > 4) return st::kInvalidField;
  if (op == 0x00) return st::kSuccess;
  auto zero = [&](unsigned from, unsigned to) {  // bytes [from, to) all zero
    for (unsigned i = from; i < to; ++i)
      if (c.b[i] != 0) return false;
    return true;
  };
  const uint32_t len = static_cast<uint32_t>(c.get(12, 4));
  switch (op) {
    case 0x01: {
      if (!zero(12, 32) || !zero(41, 64) || c.b[40] > 1) return st::kInvalidField;
      const uint64_t v = c.get(32, 8);
      if (c.b[40] == 0 && v == 0) return st::kInvalidField;
      if (c.b[40] == 1 && v < step) return st::kStepBackwards;
      return st::kSuccess;
    }
    case 0x10: case 0x11: case 0x13: case 0x14:
      if (!zero(24, 64)) return st::kInvalidField;
      if (len == 0) return st::kNotFound;  // keyed
      return len > (1u << 30) ? st::kInvalidLength : st::kSuccess;
    case 0x12:
      if (!zero(24, 32) || !zero(len == 0 ? 36 : 40, 64)) return st::kInvalidField;
      if (len == 0) return st::kNotFound;
      return len > (1u << 30) ? st::kInvalidLength : st::kSuccess;
    case 0x20:
      return (zero(12, 32) && zero(36, 64)) ? st::kSuccess : st::kInvalidField;
    case 0x21:
      if (!zero(32, 64) || (c.get(16, 8) & 7) || (c.get(24, 8) & 7) || (len & 7)) return st::kInvalidField;
      return (len < 8 || len > (1u << 20)) ? st::kInvalidLength : st::kSuccess;
    default:
      return st::kInvalidOpcode;
  }
}

TEST_F(Queues, NopCompletesWithItsProvenance) {
  auto q = queue();
  ASSERT_TRUE(q);
  Command c = Command::nop().flow(0xABCD1234).io_class(IoClass::kPrefetchRead).home_cpu(7);
  auto got = run(*q, {c});
  ASSERT_EQ(got.size(), 1u);
  const Completion& k = got[0];
  EXPECT_EQ(k.status, st::kSuccess);
  EXPECT_EQ(k.flow_id, 0xABCD1234u);
  EXPECT_EQ(k.sq_id, q->id());
  EXPECT_EQ(k.sq_head, 1u);
  ASSERT_TRUE(k.has_provenance);
  EXPECT_EQ(k.dev.home_cpu, 7);
  EXPECT_EQ(k.dev.io_class, static_cast<uint8_t>(IoClass::kPrefetchRead));
  EXPECT_EQ(k.dev.opcode, 0x00);
  EXPECT_LE(k.dev.doorbell, k.dev.fetched);
  EXPECT_LT(k.dev.fetched, k.dev.started);
  EXPECT_LE(k.dev.started, k.dev.done);
  EXPECT_LE(k.dev.done, k.dev.posted);
  EXPECT_LE(k.host.submitted, k.host.woken);
  EXPECT_LE(k.host.woken, k.host.seen);
  EXPECT_EQ(reg(regs::kQCplCountAt(q->id())), 1u);
}

TEST_F(Queues, ManyCommandsWrapTheRingInOrder) {
  QueueOptions o;
  o.depth_log2 = 3;  // 7 in flight at most: 500 commands wrap the ring ~60 times
  auto q = queue(o);
  ASSERT_TRUE(q);
  std::vector<Command> cmds;
  for (uint32_t i = 0; i < 500; ++i) cmds.push_back(Command::echo(i * 7919u).flow(i));
  auto got = run(*q, cmds);
  ASSERT_EQ(got.size(), cmds.size());
  for (uint32_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].flow_id, i) << "completions out of order";
    EXPECT_EQ(got[i].status, st::kSuccess);
    EXPECT_EQ(got[i].result, i * 7919u);
    EXPECT_EQ(got[i].cid, i & 7u);
    EXPECT_EQ(got[i].sq_head, (i + 1) & 7u);
  }
  EXPECT_EQ(q->stats().completed, 500u);
}

// The CQ head doorbell is lazy (docs/driver.md): a thread reaping one CQE per poll still
// never lets the device find the CQ full for a completion, whatever the batch sizes.
TEST_F(Queues, OneAtATimePollingRingsTheCqDoorbellLazilyAndNeverStalls) {
  QueueOptions o;
  o.depth_log2 = 3;  // 7 in flight, doorbell every 4 reaped
  o.interrupts = false;
  auto q = queue(o);
  ASSERT_TRUE(q);
  std::mt19937 rng(12345);
  constexpr uint32_t kTotal = 2000;
  uint32_t sent = 0, seen = 0;
  std::vector<Completion> one(1);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (seen < kTotal && std::chrono::steady_clock::now() < deadline) {
    if (sent < kTotal && rng() % 3 == 0) {
      std::vector<Command> batch(std::min<uint32_t>(1 + rng() % 7, kTotal - sent));
      for (uint32_t i = 0; i < batch.size(); ++i) batch[i] = Command::echo(sent + i).flow(sent + i);
      auto n = q->submit(batch);
      ASSERT_TRUE(n.ok()) << n.status().to_string();
      sent += static_cast<uint32_t>(*n);  // what did not fit is sent again later
    }
    auto r = q->poll(one);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    if (*r == 1) {
      ASSERT_EQ(one[0].flow_id, seen) << "completions out of order";
      ASSERT_EQ(one[0].result, seen);
      ++seen;
    }
  }
  ASSERT_EQ(seen, kTotal) << "the device stalled: " << q->in_flight() << " in flight";
  EXPECT_GT(q->stats().cq_doorbells, 0u);
  EXPECT_LE(q->stats().cq_doorbells, kTotal / 4 + q->stats().doorbells)
      << "one CQ doorbell per half ring, or before a submit that needs the room";
}

TEST_F(Queues, EveryOpcodeAndMalformedCommandGetsItsDefinedStatus) {
  auto q = queue();
  ASSERT_TRUE(q);
  auto step0 = dev_->step();
  ASSERT_TRUE(step0.ok());
  std::vector<uint32_t> hints0;
  for (unsigned i = 0; i < 5; ++i) hints0.push_back(reg(regs::kHintCountAt(i)));

  std::mt19937_64 rng(12345);
  std::vector<Command> cmds;
  const Opcode hint_ops[] = {Opcode::kMarkHot, Opcode::kEvict, Opcode::kPrefetch, Opcode::kSharePrefix,
                             Opcode::kRelease};
  for (unsigned i = 0; i < 400; ++i) {
    Command c;
    switch (rng() % 8) {
      case 0: c = Command::nop(); break;
      case 1: c = Command::step_advance(rng() % 4); break;  // 0 is INVALID_FIELD
      case 2: c = Command::step_set(*step0 + rng() % 3000); break;  // may go backwards
      case 3: {
        const uint32_t lens[] = {0, 1, 4096, 1u << 30, (1u << 30) + 1, 0xFFFFFFFF};
        c = Command::hint(hint_ops[rng() % 5], rng(), lens[rng() % 6], rng());
        break;
      }
      case 4: c = Command::echo(static_cast<uint32_t>(rng())); break;
      case 5: c.put(0, 0x02 + rng() % 14, 1); break;  // unknown opcodes 0x02..0x0F
      case 6: {  // unknown opcodes 0x22..0xFF (the block commands 0x30..0x35 have their own test)
        uint8_t op;
        do op = static_cast<uint8_t>(0x22 + rng() % 0xDE); while (op >= 0x30 && op <= 0x35);
        c.put(0, op, 1);
        break;
      }
      default: c = Command::hint(hint_ops[rng() % 5], 0x1000, 64); break;
    }
    // corrupt some: flags, byte 11, io_class, a reserved command byte
    switch (rng() % 10) {
      case 0: c.b[1] = static_cast<uint8_t>(1 + rng() % 255); break;
      case 1: c.b[11] = static_cast<uint8_t>(1 + rng() % 255); break;
      case 2: c.b[10] = static_cast<uint8_t>(5 + rng() % 251); break;
      case 3: c.b[44 + rng() % 20] = static_cast<uint8_t>(1 + rng() % 255); break;
      default: c.io_class(static_cast<IoClass>(rng() % 5)); break;
    }
    cmds.push_back(c.flow(i));
  }
  // Run one at a time so that the expected step is known for each STEP_ADVANCE.
  uint64_t step = *step0;
  std::vector<uint32_t> hints(5, 0);
  std::map<uint16_t, unsigned> seen;
  for (const Command& c : cmds) {
    auto got = run(*q, {c});
    ASSERT_EQ(got.size(), 1u);
    const uint16_t want = expect_status(c, step);
    ASSERT_EQ(got[0].status, want) << "command flow " << c.flow_id() << " opcode 0x" << std::hex << int(c.b[0]);
    ++seen[want];
    if (want == st::kSuccess && c.b[0] == 0x01) {
      step = c.b[40] == 0 ? step + c.get(32, 8) : c.get(32, 8);
      EXPECT_EQ(got[0].result, static_cast<uint32_t>(step));
    }
    if (want == st::kSuccess && c.b[0] == 0x20) {
      EXPECT_EQ(got[0].result, c.get(32, 4));
    }
    if (want == st::kSuccess && c.b[0] >= 0x10 && c.b[0] <= 0x14) ++hints[c.b[0] - 0x10];
  }
  EXPECT_EQ(dev_->step().value(), step);
  for (unsigned i = 0; i < 5; ++i) EXPECT_EQ(reg(regs::kHintCountAt(i)) - hints0[i], hints[i]) << "hint " << i;
  // every status of the table came up
  for (uint16_t s : {st::kSuccess, st::kInvalidOpcode, st::kInvalidField, st::kInvalidLength, st::kStepBackwards,
                     st::kNotFound}) {
    EXPECT_GT(seen[s], 0u) << st::name(s);
  }
}

TEST_F(Queues, DmaCopyMovesBytesAndChecksItsFields) {
  auto q = queue();
  ASSERT_TRUE(q);
  auto src = dev_->alloc_dma(64 << 10), dst = dev_->alloc_dma(64 << 10);
  ASSERT_TRUE(src.ok() && dst.ok());
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < (*src)->size(); ++i) (*src)->data()[i] = static_cast<uint8_t>(rng());
  const uint64_t s = (*src)->iova(), d = (*dst)->iova();
  struct Case {
    uint64_t so, doff;
    uint32_t len;
    uint16_t want;
  };
  const Case cases[] = {
      {0, 0, 4096, st::kSuccess},      {8, 4096 + 16, 8, st::kSuccess},  // smallest
      {4088, 8192 + 4040, 200, st::kSuccess},  // crosses 4 KiB on both sides, unaligned to each other
      {0, 16384, 40000, st::kSuccess}, {1, 0, 64, st::kInvalidField},  {0, 4, 64, st::kInvalidField},
      {0, 0, 12, st::kInvalidField},   {0, 0, 0, st::kInvalidLength}, {0, 0, (1u << 20) + 8, st::kInvalidLength},
  };
  for (const Case& c : cases) {
    std::memset((*dst)->data(), 0, (*dst)->size());
    auto got = run(*q, {Command::dma_copy(s + c.so, d + c.doff, c.len)});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].status, c.want) << "len " << c.len;
    if (c.want == st::kSuccess) {
      EXPECT_EQ(got[0].result, c.len);
      EXPECT_EQ(std::memcmp((*dst)->data() + c.doff, (*src)->data() + c.so, c.len), 0);
      // nothing outside the destination range was written
      for (size_t i = 0; i < (*dst)->size(); ++i) {
        if (i < c.doff || i >= c.doff + c.len) {
          ASSERT_EQ((*dst)->data()[i], 0) << "byte " << i;
        }
      }
    }
  }
  EXPECT_EQ(reg(regs::kErrStatus) & (regs::kErrStatusHostRd.mask() | regs::kErrStatusHostWr.mask()), 0u);
}

TEST_F(Queues, DmaOutsideMappedMemoryCompletesWithAnErrorAndTouchesNothing) {
  auto q = queue();
  ASSERT_TRUE(q);
  auto buf = dev_->alloc_dma(8192);
  ASSERT_TRUE(buf.ok());
  std::memset((*buf)->data(), 0x5A, (*buf)->size());
  const uint64_t b = (*buf)->iova();
  // unmapped source
  auto got = run(*q, {Command::dma_copy(0x1000, b, 64)});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, st::kDmaError);
  EXPECT_EQ(got[0].result, 0u);
  EXPECT_NE(reg(regs::kErrStatus) & regs::kErrStatusHostRd.mask(), 0u);
  for (size_t i = 0; i < (*buf)->size(); ++i) ASSERT_EQ((*buf)->data()[i], 0x5A);
  // destination running past the end of the buffer: the part inside is written, the burst
  // that would leave it is refused whole
  got = run(*q, {Command::dma_copy(b, b + 8192 - 64, 256)});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, st::kDmaError);
  EXPECT_LE(got[0].result, 64u);
  EXPECT_NE(reg(regs::kErrStatus) & regs::kErrStatusHostWr.mask(), 0u);
  // the queue goes on
  got = run(*q, {Command::nop().flow(99)});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, st::kSuccess);
  EXPECT_EQ(got[0].flow_id, 99u);
}

TEST_F(Queues, InterruptsWakeTheWaiterAndCoalesce) {
  QueueOptions o;
  o.coalesce_count = 8;
  o.coalesce_time_cycles = 1u << 23;  // long: only the count fires in this test
  o.recheck = 10s;                    // a wake-up must come from the interrupt
  auto q = queue(o);
  ASSERT_TRUE(q);
  const uint32_t irq0 = reg(regs::kQIrqCountAt(q->id()));
  std::vector<Command> eight(8, Command::nop());
  ASSERT_EQ(q->submit(eight).value(), 8u);
  std::vector<Completion> buf(16);
  size_t n = 0;
  while (n < 8) {
    auto r = q->wait(buf, 20s);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    n += *r;
  }
  EXPECT_EQ(reg(regs::kQIrqCountAt(q->id())) - irq0, 1u) << "8 completions at COUNT = 8: one interrupt";
  EXPECT_EQ(q->stats().recovered, 0u);
  EXPECT_EQ(reg(regs::kMsixPba), 0u);
}

// A command long enough that wait() finds nothing at first and has to sleep on the vector.
TEST_F(Queues, WaitSleepsOnTheVectorUntilTheInterrupt) {
  QueueOptions o;
  o.recheck = 10s;  // a wake-up must come from the interrupt
  auto q = queue(o);
  ASSERT_TRUE(q);
  auto a = dev_->alloc_dma(1 << 20), b = dev_->alloc_dma(1 << 20);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 3; ++i) {
    auto got = run(*q, {Command::dma_copy((*a)->iova(), (*b)->iova(), 1u << 20)});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].status, st::kSuccess);
    EXPECT_LE(got[0].host.submitted, got[0].host.woken);
    EXPECT_LE(got[0].host.woken, got[0].host.seen);
  }
  EXPECT_EQ(q->stats().interrupts, 3u);
  EXPECT_EQ(q->stats().recovered, 0u);
  EXPECT_EQ(reg(regs::kQIrqCountAt(q->id())), 3u);
}

TEST_F(Queues, PartialBatchInterruptsAfterTheCoalescingTime) {
  QueueOptions o;
  o.coalesce_count = 16;
  o.coalesce_time_cycles = 5000;
  o.recheck = 10s;
  auto q = queue(o);
  ASSERT_TRUE(q);
  std::vector<Command> three(3, Command::nop());
  ASSERT_EQ(q->submit(three).value(), 3u);
  std::vector<Completion> buf(16);
  size_t n = 0;
  while (n < 3) {
    auto r = q->wait(buf, 20s);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    n += *r;
  }
  // The three NOPs may be reaped before the timer runs out; the device keeps running while
  // the timer is armed, so the one interrupt comes (and only one).
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (reg(regs::kQIrqCountAt(q->id())) == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(reg(regs::kQIrqCountAt(q->id())), 1u);
  EXPECT_EQ(q->stats().recovered, 0u);
}

TEST_F(Queues, QueueWithoutInterruptsWaitsByPolling) {
  QueueOptions o;
  o.interrupts = false;  // vector stays masked: its pending bit is set, no message is sent
  auto q = queue(o);
  ASSERT_TRUE(q);
  std::vector<Command> cmds;
  for (uint32_t i = 0; i < 50; ++i) cmds.push_back(Command::echo(i + 1).flow(i));
  auto got = run(*q, cmds);
  ASSERT_EQ(got.size(), 50u);
  for (uint32_t i = 0; i < 50; ++i) EXPECT_EQ(got[i].result, i + 1);
  EXPECT_EQ(q->stats().interrupts, 0u);
  EXPECT_EQ(reg(regs::kQIrqCountAt(q->id())), 0u);
  EXPECT_NE(reg(regs::kMsixPba) & (1u << q->id()), 0u);
}

class LostInterrupts : public Queues {
 protected:
  void SetUp() override { start({"--drop-irq", "1"}); }  // the server drops every MSI-X message
};

TEST_F(LostInterrupts, WaitRecoversFromTheCompletionQueue) {
  QueueOptions o;
  o.recheck = 2ms;
  auto q = queue(o);
  ASSERT_TRUE(q);
  // long commands, so that each wait() has to sleep and only the re-check can find them
  auto a = dev_->alloc_dma(1 << 20), b = dev_->alloc_dma(1 << 20);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 3; ++i) {
    auto got = run(*q, {Command::dma_copy((*a)->iova(), (*b)->iova(), 1u << 20).flow(i)});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flow_id, static_cast<uint32_t>(i));
  }
  EXPECT_EQ(q->stats().interrupts, 0u);
  EXPECT_EQ(q->stats().recovered, 3u);
  EXPECT_EQ(reg(regs::kQIrqCountAt(q->id())), 3u) << "the device did send them";
}

TEST_F(Queues, ThreadsUseTheirOwnQueuesAtOnce) {
  constexpr unsigned kThreads = 4, kCmds = 300;
  std::vector<std::unique_ptr<QueuePair>> qs;
  for (unsigned t = 0; t < kThreads; ++t) qs.push_back(queue(QueueOptions::for_class(IoClass::kDecodeRead)));
  std::vector<std::vector<Completion>> got(kThreads);
  std::vector<std::thread> th;
  for (unsigned t = 0; t < kThreads; ++t) {
    th.emplace_back([&, t] {
      std::vector<Command> cmds;
      for (unsigned i = 0; i < kCmds; ++i) cmds.push_back(Command::echo(t * 1000 + i).flow(i).home_cpu(static_cast<uint16_t>(t)));
      got[t] = run(*qs[t], cmds);
    });
  }
  for (auto& x : th) x.join();
  for (unsigned t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), kCmds);
    for (unsigned i = 0; i < kCmds; ++i) {
      EXPECT_EQ(got[t][i].sq_id, qs[t]->id());
      EXPECT_EQ(got[t][i].result, t * 1000 + i);
      EXPECT_EQ(got[t][i].dev.home_cpu, t);
    }
  }
}

TEST_F(Queues, AllQueuesTakenIsBusyAndFreedQueuesComeBack) {
  std::vector<std::unique_ptr<QueuePair>> qs;
  for (unsigned i = 0; i < regs::kQCtrlInstances; ++i) {
    QueueOptions o;
    o.depth_log2 = 2;
    qs.push_back(queue(o));
    ASSERT_TRUE(qs.back());
  }
  auto extra = dev_->create_queue();
  EXPECT_EQ(extra.status().code(), ErrorCode::kBusy);
  qs[3].reset();
  EXPECT_EQ(reg(regs::kQCtrlAt(3)), 0u) << "a dropped queue is disabled";
  auto again = dev_->create_queue();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->id(), 3u);
  EXPECT_EQ(run(**again, {Command::nop()}).size(), 1u);
}

TEST_F(Queues, BadDoorbellsAndRefusedConfigurationSetErrorBits) {
  auto q = queue();
  ASSERT_TRUE(q);
  ASSERT_TRUE(dev_->clear_errors(0xFFFFFFFF).ok());
  // a base register of an enabled queue: refused, nothing changes
  const uint32_t base = reg(regs::kQSqBaseLoAt(q->id()));
  ASSERT_TRUE(dev_->write(regs::kQSqBaseLoAt(q->id()), base + 4096).ok());
  EXPECT_EQ(reg(regs::kQSqBaseLoAt(q->id())), base);
  EXPECT_NE(reg(regs::kErrStatus) & regs::kErrStatusQcfg.mask(), 0u);
  EXPECT_EQ(reg(regs::kErrAddr), regs::kQSqBaseLoAt(q->id()));
  ASSERT_TRUE(dev_->clear_errors(0xFFFFFFFF).ok());
  // a doorbell to a disabled queue, and one out of range
  const unsigned other = (q->id() + 1) % regs::kQCtrlInstances;
  ASSERT_TRUE(dev_->write(regs::kSqTailDbAt(other), 1).ok());
  EXPECT_NE(reg(regs::kErrStatus) & regs::kErrStatusBadDoorbell.mask(), 0u);
  ASSERT_TRUE(dev_->clear_errors(0xFFFFFFFF).ok());
  ASSERT_TRUE(dev_->write(regs::kSqTailDbAt(q->id()), 1u << 8).ok());  // depth 2^8: 256 is out of range
  EXPECT_NE(reg(regs::kErrStatus) & regs::kErrStatusBadDoorbell.mask(), 0u);
  // the queue still works
  EXPECT_EQ(run(*q, {Command::nop()}).size(), 1u);
}

TEST_F(Queues, ServerGoingAwayEndsWaitsWithAConnectionError) {
  QueueOptions o;
  o.recheck = 5ms;
  auto q = queue(o);
  ASSERT_TRUE(q);
  server_->stop();
  std::vector<Completion> buf(4);
  auto r = q->wait(buf, 10s);
  EXPECT_EQ(r.status().code(), ErrorCode::kConnection) << r.status().to_string();
  auto s = q->submit(std::vector<Command>{Command::nop()});
  EXPECT_FALSE(s.ok());
  q.reset();  // teardown against a dead server returns
}

}  // namespace
}  // namespace kvcpu
