// I/O commands end to end: libkvcpu submits IO_READ / IO_WRITE / IO_DISCARD through a host
// queue of the real kvcpu-cosim server; the verilated core's I/O unit and arbiter turn each
// into an NVMe command on its NVMe port (docs/io.md), several at once; the server's NvmePort runs it on the 970 PRO SsdModel (sw/nvme), moving
// data between the model and the test's DMA buffers through the PRP entries. Expectations
// come from docs/host-interface.md and docs/ssd-model.md (the calibration), not the RTL.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "cosim_device_test.h"
#include "kvcpu/device.h"
#include "kvcpu/queue.h"
#include "kvcpu/regs.h"
#include "nvme.h"
#include "ssd_model.h"

namespace kvcpu {
namespace {

using namespace std::chrono_literals;
namespace st = cqe_status;

class Io : public CosimDeviceTest {
 protected:
  // The server (with `args`), a queue and two 64 KiB DMA buffers.
  void start_io(std::vector<std::string> args = {}) {
    start(std::move(args));
    if (HasFatalFailure()) return;
    auto q = dev_->create_queue(QueueOptions{});
    ASSERT_TRUE(q.ok()) << q.status().to_string();
    q_ = std::move(*q);
    auto a = dev_->alloc_dma(64 << 10), b = dev_->alloc_dma(64 << 10);
    ASSERT_TRUE(a.ok() && b.ok());
    src_ = std::move(*a);
    dst_ = std::move(*b);
  }
  void SetUp() override { start_io(); }

  Completion one(const Command& c) { return CosimDeviceTest::one(*q_, c); }
  // An I/O command of `bytes` at `slba` on the buffer at `iova`, of class `cls`.
  static Command io_cmd(Opcode op, uint64_t iova, uint64_t slba, uint32_t bytes, IoClass cls, uint32_t flow = 0) {
    IoArgs a;
    a.buffer_iova = iova;
    a.slba = slba;
    a.bytes = bytes;
    return Command::io(op, a).io_class(cls).flow(flow);
  }
  Completion io(Opcode op, uint64_t iova, uint64_t slba, uint32_t bytes) {
    return one(io_cmd(op, iova, slba, bytes, op == Opcode::kIoWrite ? IoClass::kPrefillWrite : IoClass::kDecodeRead));
  }

  // Submits every command, then waits for as many completions (any order).
  std::vector<Completion> all(const std::vector<Command>& cmds) {
    auto n = q_->submit(cmds);
    EXPECT_TRUE(n.ok() && *n == cmds.size()) << (n.ok() ? "queue full" : n.status().to_string());
    std::vector<Completion> got;
    std::vector<Completion> buf(64);
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (got.size() < cmds.size() && std::chrono::steady_clock::now() < until) {
      auto r = q_->wait(buf, 5000ms);
      if (!r.ok()) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(*r));
    }
    EXPECT_EQ(got.size(), cmds.size()) << "completions missing";
    return got;
  }
  uint32_t reg(uint32_t off) {
    auto v = dev_->read(off);
    EXPECT_TRUE(v.ok());
    return v.ok() ? *v : 0;
  }

  std::unique_ptr<QueuePair> q_;
  std::unique_ptr<DmaBuffer> src_, dst_;
};

uint16_t nvme_field(const nvme::Status& s) { return static_cast<uint16_t>(s.Encode(false) >> 1); }

TEST_F(Io, WhatIsWrittenIsReadBackAndDiscardedBlocksReadZero) {
  std::mt19937_64 rng(5);
  for (size_t i = 0; i < src_->size(); ++i) src_->data()[i] = static_cast<uint8_t>(rng());
  // two pages (PRP1 + PRP2) at LBA 100, one page at LBA 7
  Completion c = io(Opcode::kIoWrite, src_->iova(), 100, 8192);
  ASSERT_EQ(c.status, st::kSuccess) << st::name(c.status) << " 0x" << std::hex << c.result;
  EXPECT_EQ(c.result, 8192u);
  ASSERT_EQ(io(Opcode::kIoWrite, src_->iova() + 3 * 4096, 7, 4096).status, st::kSuccess);
  std::memset(dst_->data(), 0xEE, dst_->size());
  c = io(Opcode::kIoRead, dst_->iova() + 4096, 100, 8192);
  ASSERT_EQ(c.status, st::kSuccess) << st::name(c.status);
  EXPECT_EQ(std::memcmp(dst_->data() + 4096, src_->data(), 8192), 0);
  EXPECT_EQ(dst_->data()[4095], 0xEE);  // nothing outside the buffer
  EXPECT_EQ(dst_->data()[4096 + 8192], 0xEE);
  ASSERT_EQ(io(Opcode::kIoRead, dst_->iova(), 7, 4096).status, st::kSuccess);
  EXPECT_EQ(std::memcmp(dst_->data(), src_->data() + 3 * 4096, 4096), 0);
  // deallocate LBA 100..101 (the range goes to 16 bytes at the given address), read zeros
  c = io(Opcode::kIoDiscard, dst_->iova() + 32768, 100, 8192);
  ASSERT_EQ(c.status, st::kSuccess) << st::name(c.status);
  const auto range = nvme::DsmRangesFromBytes(std::span<const uint8_t>(dst_->data() + 32768, 16), 1);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ((*range)[0].slba, 100u);
  EXPECT_EQ((*range)[0].nlb, 2u);
  ASSERT_EQ(io(Opcode::kIoRead, dst_->iova(), 100, 8192).status, st::kSuccess);
  EXPECT_TRUE(std::all_of(dst_->data(), dst_->data() + 8192, [](uint8_t b) { return b == 0; }));
  // LBA 7 is untouched
  ASSERT_EQ(io(Opcode::kIoRead, dst_->iova(), 7, 4096).status, st::kSuccess);
  EXPECT_EQ(std::memcmp(dst_->data(), src_->data() + 3 * 4096, 4096), 0);
}

// The device's own timestamps (provenance: started -> done) of a 4 KiB read of a block never
// written: the 970 PRO preset's firmware time plus the host transfer (docs/ssd-model.md), plus
// a few core cycles to issue the SQE and take the CQE.
TEST_F(Io, ReadLatencyIsTheCalibratedOne) {
  const nvme::SsdConfig cfg = nvme::SsdConfig::Samsung970Pro();
  const uint64_t want_ns = cfg.fw_read_4k_ns + nvme::SsdModel::TransferNs(4096, cfg.host_link_mbps);
  const Completion c = io(Opcode::kIoRead, dst_->iova(), 5000, 4096);
  ASSERT_EQ(c.status, st::kSuccess);
  ASSERT_TRUE(c.has_provenance);
  const uint64_t ns = (c.dev.done - c.dev.started) * 4;  // 250 MHz core clock
  EXPECT_GE(ns, want_ns);
  EXPECT_LE(ns, want_ns + 20 * 4) << "more than 20 cycles of overhead";
}

TEST_F(Io, BadCommandsAndNvmeErrorsGetTheirStatus) {
  EXPECT_EQ(io(Opcode::kIoRead, dst_->iova() + 512, 0, 4096).status, st::kInvalidField);   // misaligned
  EXPECT_EQ(io(Opcode::kIoRead, dst_->iova(), 0, 4095).status, st::kInvalidField);         // not blocks
  EXPECT_EQ(io(Opcode::kIoRead, dst_->iova(), 0, 12288).status, st::kInvalidLength);       // > 2 pages
  EXPECT_EQ(io(Opcode::kIoWrite, dst_->iova(), 0, 0).status, st::kInvalidLength);
  IoArgs a;
  a.buffer_iova = dst_->iova();
  a.placement_type = 1;
  EXPECT_EQ(one(Command::io(Opcode::kIoRead, a)).status, st::kInvalidField);  // placement on a read
  // beyond the namespace: the drive's LBA Out of Range
  const nvme::SsdConfig cfg = nvme::SsdConfig::Samsung970Pro();
  Completion c = io(Opcode::kIoRead, dst_->iova(), cfg.capacity_lbas, 4096);
  EXPECT_EQ(c.status, st::kNvmeError);
  EXPECT_EQ(c.result, nvme_field(nvme::kLbaOutOfRange));
  // a buffer the device cannot reach: Data Transfer Error, nothing written
  c = io(Opcode::kIoWrite, 0x7000'0000'0000ull, 3, 4096);
  EXPECT_EQ(c.status, st::kNvmeError);
  EXPECT_EQ(c.result, nvme_field(nvme::kDataTransferError));
  ASSERT_EQ(io(Opcode::kIoRead, dst_->iova(), 3, 4096).status, st::kSuccess);
  EXPECT_TRUE(std::all_of(dst_->data(), dst_->data() + 4096, [](uint8_t b) { return b == 0; }));
}

// A server started with fault-injection options (by each test).
// Many I/O commands in flight at once, through the arbiter: every one completes exactly once
// (by its flow id), writes land where they should, and the counters add up.
TEST_F(Io, ManyInFlightCompleteOnceEachWithTheirData) {
  ASSERT_EQ(reg(regs::kIoContexts), 32u);
  ASSERT_EQ(reg(regs::kIoSlots), 16u);
  ASSERT_EQ(reg(regs::kNarbMode), 3u) << "Kairo by default";
  std::mt19937_64 rng(11);
  for (size_t i = 0; i < src_->size(); ++i) src_->data()[i] = static_cast<uint8_t>(rng());
  const uint32_t d0[5] = {reg(regs::kNarbDispatchesAt(0)), reg(regs::kNarbDispatchesAt(1)),
                          reg(regs::kNarbDispatchesAt(2)), reg(regs::kNarbDispatchesAt(3)),
                          reg(regs::kNarbDispatchesAt(4))};
  // 16 one-page writes (prefill and evict classes), then 16 reads of them (decode, prefetch)
  std::vector<Command> cmds;
  for (uint32_t i = 0; i < 16; ++i) {
    cmds.push_back(io_cmd(Opcode::kIoWrite, src_->iova() + 4096ull * i, 500 + 3 * i, 4096,
                          i % 2 ? IoClass::kEvict : IoClass::kPrefillWrite, i));
  }
  auto got = all(cmds);
  std::vector<int> seen(32, 0);
  for (const Completion& c : got) {
    ASSERT_LT(c.flow_id, 16u);
    ++seen[c.flow_id];
    EXPECT_EQ(c.status, st::kSuccess) << st::name(c.status);
    EXPECT_EQ(c.result, 4096u);
  }
  cmds.clear();
  for (uint32_t i = 0; i < 16; ++i) {
    cmds.push_back(io_cmd(Opcode::kIoRead, dst_->iova() + 4096ull * i, 500 + 3 * i, 4096,
                          i % 2 ? IoClass::kPrefetchRead : IoClass::kDecodeRead, 16 + i));
  }
  got = all(cmds);
  for (const Completion& c : got) {
    ASSERT_GE(c.flow_id, 16u);
    ASSERT_LT(c.flow_id, 32u);
    ++seen[c.flow_id];
    EXPECT_EQ(c.status, st::kSuccess) << st::name(c.status);
  }
  for (int n : seen) EXPECT_EQ(n, 1) << "a command completed twice or never";
  EXPECT_EQ(std::memcmp(dst_->data(), src_->data(), 16 * 4096), 0);
  // dispatches per class: 8 prefill, 8 evict, 8 decode, 8 prefetch, 0 normal
  const uint32_t want[5] = {8, 8, 8, 8, 0};
  for (unsigned c = 0; c < 5; ++c) EXPECT_EQ(reg(regs::kNarbDispatchesAt(c)) - d0[c], want[c]) << "class " << c;
  EXPECT_EQ(reg(regs::kIoInUse), 0u);
  // every decode read is in the latency histogram
  uint32_t hist = 0;
  for (unsigned b = 0; b < 10; ++b) hist += reg(regs::kNarbHistAt(b));
  EXPECT_EQ(hist, 8u);
  // and in the fine histogram, in the fine buckets inside the Kairo buckets that hold them
  uint32_t fine = 0;
  for (unsigned f = 0; f < 32; ++f) fine += reg(regs::kNarbHistFineAt(f));
  EXPECT_EQ(fine, 8u);
  // Kairo bucket b = fine buckets lo[b]..lo[b+1]-1 (docs/narb.md "Fine buckets")
  const unsigned lo[11] = {0, 2, 5, 8, 11, 15, 18, 21, 24, 28, 32};
  for (unsigned b = 0; b < 10; ++b) {
    uint32_t sum = 0;
    for (unsigned f = lo[b]; f < lo[b + 1]; ++f) sum += reg(regs::kNarbHistFineAt(f));
    EXPECT_EQ(sum, reg(regs::kNarbHistAt(b))) << "Kairo bucket " << b;
  }
}

// More I/O commands than contexts: the extra ones complete at once with IO_BUSY and do
// nothing; the others complete; IO_REFUSED counts the refusals.
TEST_F(Io, MoreThanTheContextsGetIoBusyAndNothingIsLost) {
  auto q = dev_->create_queue(QueueOptions{});  // depth 256
  ASSERT_TRUE(q.ok());
  std::vector<Command> cmds;
  for (uint32_t i = 0; i < 48; ++i) {
    IoArgs a;
    a.buffer_iova = dst_->iova() + 4096ull * (i % 16);
    a.slba = 9000 + i;
    a.bytes = 4096;
    cmds.push_back(Command::io(Opcode::kIoRead, a).io_class(IoClass::kDecodeRead).flow(i));
  }
  q_ = std::move(*q);
  const uint32_t refused0 = reg(regs::kIoRefused);
  auto got = all(cmds);
  unsigned ok = 0, busy = 0;
  for (const Completion& c : got) {
    if (c.status == st::kSuccess) ++ok;
    if (c.status == st::kIoBusy) {
      ++busy;
      EXPECT_EQ(c.result, 0u);
    }
  }
  EXPECT_EQ(ok + busy, 48u) << "another status";
  EXPECT_GE(ok, 32u);
  EXPECT_GE(busy, 1u) << "48 reads of ~22 us each, pushed in well under a microsecond apart";
  EXPECT_EQ(reg(regs::kIoRefused) - refused0, busy);
  EXPECT_EQ(reg(regs::kIoInUse), 0u);
}

// The arbiter's tunables are registers with their implemented bits; a mode change applies
// to the next command.
TEST_F(Io, ArbiterRegistersHoldTheirFieldsAndEveryModeServesIo) {
  ASSERT_TRUE(dev_->write(regs::kNarbMode, 0xFFFF'FFFFu).ok());
  EXPECT_EQ(reg(regs::kNarbMode), 3u);
  ASSERT_TRUE(dev_->write(regs::kNarbDecodeBudget, 0x1234u).ok());
  EXPECT_EQ(reg(regs::kNarbDecodeBudget), 0x34u);
  EXPECT_EQ(reg(regs::kNarbWriteDeadlineUs), 100000u);
  for (uint32_t mode = 0; mode < 4; ++mode) {
    ASSERT_TRUE(dev_->write(regs::kNarbMode, mode).ok());
    EXPECT_EQ(io(Opcode::kIoRead, dst_->iova(), 77 + mode, 4096).status, st::kSuccess) << "mode " << mode;
  }
}

// Model fairness through the core: the IO command's model id reaches the arbiter's model
// buckets (docs/narb.md "Model fairness"). With a 1 us refill every bucket fills to the burst
// (2); then, with a 1 s refill, four decode reads of model 5 (bucket 1, four sessions): two
// take bucket 1's tokens and keep DECODE, two are demoted to NORMAL, and only bucket 1 is empty.
TEST_F(Io, ModelFairnessDemotesDecodeReadsOfAnEmptyModelBucket) {
  EXPECT_EQ(reg(regs::kNarbModelBurst), 0u) << "off by default";
  EXPECT_EQ(reg(regs::kNarbModelRefillUs), 1000u);
  ASSERT_TRUE(dev_->write(regs::kNarbModelRefillUs, 1u).ok());
  ASSERT_TRUE(dev_->write(regs::kNarbModelBurst, 2u).ok());
  uint32_t tokens = 0;
  for (int i = 0; i < 1000 && tokens != 0x02020202u; ++i) tokens = reg(regs::kNarbModelTokens);
  ASSERT_EQ(tokens, 0x02020202u);
  ASSERT_TRUE(dev_->write(regs::kNarbModelRefillUs, 1000000u).ok());
  const uint32_t dec0 = reg(regs::kNarbDispatchesAt(0)), norm0 = reg(regs::kNarbDispatchesAt(4));
  const uint32_t mdem0 = reg(regs::kNarbModelDemotions), sdem0 = reg(regs::kNarbSessDemotions);
  std::vector<Command> cmds;
  for (uint32_t i = 0; i < 4; ++i) {
    IoArgs a;
    a.buffer_iova = dst_->iova() + 4096ull * i;
    a.slba = 900 + i;
    a.bytes = 4096;
    a.session = static_cast<uint16_t>(i);
    a.model = 5;
    cmds.push_back(Command::io(Opcode::kIoRead, a).io_class(IoClass::kDecodeRead).flow(i));
  }
  for (const Completion& c : all(cmds)) EXPECT_EQ(c.status, st::kSuccess) << st::name(c.status);
  EXPECT_EQ(reg(regs::kNarbModelDemotions) - mdem0, 2u);
  EXPECT_EQ(reg(regs::kNarbSessDemotions) - sdem0, 0u);
  EXPECT_EQ(reg(regs::kNarbDispatchesAt(0)) - dec0, 2u) << "two kept DECODE";
  EXPECT_EQ(reg(regs::kNarbDispatchesAt(4)) - norm0, 2u) << "two dispatched as NORMAL";
  EXPECT_EQ(reg(regs::kNarbModelTokens), 0x02020002u) << "only model bucket 1 spent";
  ASSERT_TRUE(dev_->write(regs::kNarbModelBurst, 0u).ok());
  EXPECT_EQ(reg(regs::kNarbModelTokens), 0u) << "off: the buckets are emptied";
}

// Adjacent-LBA coalescing through the core (docs/narb.md "Coalescing"): 32 one-page writes
// to consecutive LBAs submitted at once fill the 14 non-decode slots; the rest wait in the
// PREFILL queue, where adjacent pairs leave as one 8 KiB NVMe command (PRP1 and PRP2 the two
// requests' own buffers). Every command still completes once with its own CQE, and every
// page reads back; the reads go to pages in reverse order, so a PRP2 taken as PRP1 + 4 KiB
// would put data in the wrong page.
TEST_F(Io, AdjacentRequestsAreCoalescedAndEachCompletesWithItsOwnData) {
  EXPECT_EQ(reg(regs::kNarbCoalesce), 0x0002'0000u) << "off by default, at most 2 blocks";
  ASSERT_TRUE(dev_->write(regs::kNarbCoalesce, 0x0002'000Fu).ok());
  auto sbuf = dev_->alloc_dma(32 * 4096), dbuf = dev_->alloc_dma(32 * 4096);
  ASSERT_TRUE(sbuf.ok() && dbuf.ok());
  std::mt19937_64 rng(23);
  for (size_t i = 0; i < (*sbuf)->size(); ++i) (*sbuf)->data()[i] = static_cast<uint8_t>(rng());
  const uint32_t pf0 = reg(regs::kNarbDispatchesAt(2)), pr0 = reg(regs::kNarbDispatchesAt(1));
  uint32_t coal = reg(regs::kNarbCoalesced);
  auto run = [&](Opcode op, IoClass cls, DmaBuffer& buf, bool reverse) -> uint32_t {
    std::vector<Command> cmds;
    for (uint32_t i = 0; i < 32; ++i) {
      cmds.push_back(io_cmd(op, buf.iova() + 4096ull * (reverse ? 31 - i : i), 2000 + i, 4096, cls, i));
    }
    std::vector<int> seen(32, 0);
    for (const Completion& c : all(cmds)) {
      EXPECT_LT(c.flow_id, 32u);
      if (c.flow_id >= 32) continue;
      ++seen[c.flow_id];
      EXPECT_EQ(c.status, st::kSuccess) << st::name(c.status);
      EXPECT_EQ(c.result, 4096u);
    }
    for (int n : seen) EXPECT_EQ(n, 1) << "a command completed twice or never";
    const uint32_t now = reg(regs::kNarbCoalesced), merged = now - coal;
    coal = now;
    return merged;
  };
  const uint32_t wmerged = run(Opcode::kIoWrite, IoClass::kPrefillWrite, **sbuf, false);
  EXPECT_GE(wmerged, 1u) << "18 writes waited behind 14 in flight";
  EXPECT_EQ(reg(regs::kNarbDispatchesAt(2)) - pf0 + wmerged, 32u) << "commands + coalesced = requests";
  std::memset((*dbuf)->data(), 0xEE, (*dbuf)->size());
  const uint32_t rmerged = run(Opcode::kIoRead, IoClass::kPrefetchRead, **dbuf, true);
  EXPECT_GE(rmerged, 1u);
  EXPECT_EQ(reg(regs::kNarbDispatchesAt(1)) - pr0 + rmerged, 32u);
  for (uint32_t i = 0; i < 32; ++i) {
    EXPECT_EQ(std::memcmp((*dbuf)->data() + 4096ull * (31 - i), (*sbuf)->data() + 4096ull * i, 4096), 0)
        << "LBA " << 2000 + i;
  }
  // off again: nothing more is coalesced
  ASSERT_TRUE(dev_->write(regs::kNarbCoalesce, 0x0002'0000u).ok());
  EXPECT_EQ(run(Opcode::kIoRead, IoClass::kPrefetchRead, **dbuf, true), 0u);
  EXPECT_EQ(reg(regs::kIoInUse), 0u);
}

// A coalesced pair is one NVMe command, so it completes with one status: the pair whose
// second block is past the namespace fails with LBA Out of Range in both requests' CQEs
// (docs/narb.md "Coalescing"). 14 prefetch reads hold the non-decode slots so that the pair
// meets in the PREFILL queue.
TEST_F(Io, ACoalescedPairSharesItsCommandsStatus) {
  ASSERT_TRUE(dev_->write(regs::kNarbCoalesce, 0x0002'0002u).ok());  // PREFILL only
  const nvme::SsdConfig cfg = nvme::SsdConfig::Samsung970Pro();
  std::vector<Command> cmds;
  for (uint32_t i = 0; i < 14; ++i) {
    cmds.push_back(io_cmd(Opcode::kIoRead, dst_->iova() + 4096ull * i, 5000 + 7 * i, 4096, IoClass::kPrefetchRead, 100 + i));
  }
  for (uint32_t i = 0; i < 2; ++i) {
    cmds.push_back(io_cmd(Opcode::kIoWrite, src_->iova() + 4096ull * i, cfg.capacity_lbas - 1 + i, 4096,
                          IoClass::kPrefillWrite, i));
  }
  const uint32_t coal0 = reg(regs::kNarbCoalesced);
  for (const Completion& c : all(cmds)) {
    if (c.flow_id >= 100) {
      EXPECT_EQ(c.status, st::kSuccess) << st::name(c.status);
      continue;
    }
    EXPECT_EQ(c.status, st::kNvmeError) << "flow " << c.flow_id << ": " << st::name(c.status);
    EXPECT_EQ(c.result, nvme_field(nvme::kLbaOutOfRange));
  }
  EXPECT_EQ(reg(regs::kNarbCoalesced) - coal0, 1u);
}

class IoFaults : public Io {
 protected:
  void SetUp() override {}
};

TEST_F(IoFaults, InjectedMediaErrorReachesTheRequester) {
  start_io({"--nvme-read-error-every", "1"});
  if (HasFatalFailure()) return;
  ASSERT_EQ(io(Opcode::kIoWrite, src_->iova(), 9, 4096).status, st::kSuccess);
  // let the write leave the write buffer (a program takes 185 us): other reads pass time
  for (int i = 0; i < 12; ++i) ASSERT_EQ(io(Opcode::kIoRead, dst_->iova(), 1000 + i, 4096).status, st::kSuccess);
  const Completion c = io(Opcode::kIoRead, dst_->iova(), 9, 4096);
  EXPECT_EQ(c.status, st::kNvmeError);
  EXPECT_EQ(c.result, nvme_field(nvme::kUnrecoveredReadError));
}

TEST_F(IoFaults, ACommandThatNeverCompletesTimesOutAndTheNextOneWorks) {
  start_io({"--nvme-timeout-every", "2"});
  if (HasFatalFailure()) return;
  EXPECT_EQ(io(Opcode::kIoRead, dst_->iova(), 1, 4096).status, st::kSuccess);
  EXPECT_EQ(io(Opcode::kIoRead, dst_->iova(), 2, 4096).status, st::kIoTimeout);  // hangs in the drive
  EXPECT_EQ(io(Opcode::kIoRead, dst_->iova(), 3, 4096).status, st::kSuccess);
}

}  // namespace
}  // namespace kvcpu
