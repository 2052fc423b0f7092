// SsdModel: calibrated latency computed by hand from the config, per-die queuing, channel and
// link serialisation, the write buffer, every bad command's status, faults, and a random
// read/write/deallocate stream against a std::map reference.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

#include "nvme.h"
#include "ssd_model.h"
#include "test_seed.h"

namespace kvcpu::nvme {
namespace {

constexpr uint64_t kLb = 4096;

std::vector<uint8_t> Pattern(uint64_t lba, uint32_t n, uint8_t salt) {
  std::vector<uint8_t> d(n * kLb);
  for (size_t i = 0; i < d.size(); ++i) {
    const uint64_t l = lba + i / kLb;
    d[i] = static_cast<uint8_t>(l * 31 + (i % kLb) * 7 + salt);
  }
  return d;
}

Sqe Read(uint16_t cid, uint64_t slba, uint32_t n = 1) {
  RwArgs a;
  a.cid = cid;
  a.slba = slba;
  a.nblocks = n;
  return BuildRead(a).sqe;
}

Sqe Write(uint16_t cid, uint64_t slba, uint32_t n = 1, Placement p = {}) {
  RwArgs a;
  a.cid = cid;
  a.slba = slba;
  a.nblocks = n;
  return BuildWrite(a, p).sqe;
}

std::unique_ptr<SsdModel> Make(const SsdConfig& c, const SsdFaults& f = {}, uint64_t seed = 1) {
  std::string err;
  auto m = SsdModel::Create(c, f, seed, &err);
  EXPECT_NE(m, nullptr) << err;
  return m;
}

// The preset without the LSB/MSB spread and with NAND reads of unmapped LBAs, so a read's
// time does not depend on its page or on a preceding write.
SsdConfig Flat() {
  SsdConfig c = SsdConfig::Samsung970Pro();
  c.t_read_spread_ns = 0;
  c.unmapped_reads_use_nand = true;
  c.capacity_lbas = 1 << 20;
  return c;
}

void Accept(SsdModel& m, const Sqe& s, std::span<const uint8_t> d, uint64_t now) {
  const SubmitResult r = m.Submit(s, d, now);
  ASSERT_EQ(r.outcome, SubmitOutcome::kAccepted)
      << Describe(s) << " " << StatusName(r.cqe.status());
}

// Runs the model to completion; completions by CID.
std::map<uint16_t, SsdCompletion> Drain(SsdModel& m) {
  std::map<uint16_t, SsdCompletion> out;
  while (auto t = m.NextEventTime()) {
    for (auto& c : m.Advance(*t)) {
      EXPECT_EQ(c.time_ns, *t);
      out[c.cqe.cid] = std::move(c);
    }
  }
  return out;
}

TEST(SsdModel, PresetIsTheNvmeVirt970ProCalibration) {
  const SsdConfig c = SsdConfig::Samsung970Pro();
  EXPECT_EQ(c.Validate(), "");
  EXPECT_EQ(c.channels, 8u);
  EXPECT_EQ(c.dies_per_channel, 2u);
  EXPECT_EQ(c.t_read_4k_ns, 35760u);
  EXPECT_EQ(c.t_read_spread_ns, 6000u);
  EXPECT_EQ(c.t_prog_ns, 185000u);
  EXPECT_EQ(c.fw_read_4k_ns, 21500u);
  EXPECT_EQ(c.channel_mbps, 800u);
  EXPECT_EQ(c.host_link_mbps, 3360u);
  EXPECT_EQ(c.write_buffer_bytes, 1u << 20);
  EXPECT_EQ(SsdModel::TransferNs(4096, 800), 5120u);
  EXPECT_EQ(SsdModel::TransferNs(4096, 3360), 1220u);  // 1219.05 rounded up
}

TEST(SsdModel, InvalidConfigIsRefused) {
  SsdConfig c = SsdConfig::Samsung970Pro();
  c.page_bytes = 5000;
  std::string err;
  EXPECT_EQ(SsdModel::Create(c, {}, 1, &err), nullptr);
  EXPECT_NE(err.find("page_bytes"), std::string::npos);
  c = SsdConfig::Samsung970Pro();
  c.write_buffer_bytes = 4096;  // smaller than one maximal write
  EXPECT_EQ(SsdModel::Create(c), nullptr);
  SsdFaults f;
  f.read_error_rate = 2;
  EXPECT_EQ(SsdModel::Create(SsdConfig::Samsung970Pro(), f), nullptr);
}

TEST(SsdModel, StaticMapping) {
  auto m = Make(SsdConfig::Samsung970Pro());
  // flash page fp = lba / 8; channel = fp % 8; die = (fp / 8) % 2; page = fp / 16.
  EXPECT_EQ(m->Locate(7).channel, 0u);
  EXPECT_EQ(m->Locate(8).channel, 1u);
  EXPECT_EQ(m->Locate(64).channel, 0u);
  EXPECT_EQ(m->Locate(64).die, 1u);
  EXPECT_EQ(m->Locate(128).die, 0u);
  EXPECT_EQ(m->Locate(128).page, 1u);
}

TEST(SsdModel, IsolatedReadLatencyIsTheCalibratedFigure) {
  auto m = Make(SsdConfig::Samsung970Pro());
  const auto d0 = Pattern(0, 1, 1);
  const auto d1 = Pattern(128, 1, 2);
  Accept(*m, Write(1, 0), d0, 0);
  Accept(*m, Write(2, 128), d1, 0);
  Drain(*m);
  const uint64_t t = 10'000'000;  // long after both programs
  // fw 21500 + tR (LSB: 35760 - 6000 on an even page) + channel 4096 B at 800 MB/s (5120)
  // + host link 4096 B at 3360 MB/s (1220).
  Accept(*m, Read(3, 0), {}, t);
  auto c = Drain(*m);
  EXPECT_EQ(c[3].time_ns, t + 21500 + 29760 + 5120 + 1220);
  EXPECT_TRUE(c[3].cqe.status().ok());
  EXPECT_EQ(c[3].data, d0);
  // LBA 128 is page 1 of its die: MSB, 35760 + 6000.
  Accept(*m, Read(4, 128), {}, 2 * t);
  c = Drain(*m);
  EXPECT_EQ(c[4].time_ns, 2 * t + 21500 + 41760 + 5120 + 1220);
  EXPECT_EQ(c[4].data, d1);
  EXPECT_EQ(m->stats().nand_reads, 2u);

  // Without the spread the isolated read is the published mean: 35.76 us of NAND.
  auto f = Make(Flat());
  Accept(*f, Read(1, 0), {}, 1000);
  c = Drain(*f);
  EXPECT_EQ(c[1].time_ns, 1000 + 21500 + 35760 + 5120 + 1220);
  EXPECT_EQ(c[1].data, std::vector<uint8_t>(kLb, 0));
}

TEST(SsdModel, MultiPageReadUsesPageLatencyAndPipelinesTheLink) {
  auto m = Make(Flat());
  // LBAs 4..11: pages 0 (LBAs 4..7, channel 0) and 1 (LBAs 8..11, channel 1), 4 LBAs each.
  Accept(*m, Read(1, 4, 8), {}, 0);
  auto c = Drain(*m);
  const uint64_t ch_end = 30490 + 36013 + 20480;  // fw_read + tR page + 16 KiB at 800 MB/s
  const uint64_t link = SsdModel::TransferNs(16384, 3360);
  EXPECT_EQ(link, 4877u);                      // 16 KiB at 3360 MB/s = 4876.19 ns, rounded up
  EXPECT_EQ(c[1].time_ns, ch_end + 2 * link);  // both pages ready together; the link serialises
  EXPECT_EQ(m->stats().nand_reads, 2u);
}

TEST(SsdModel, ReadsToOneDieSerialise) {
  auto m = Make(Flat());
  // LBAs 0, 128, 256, 384: flash pages 0, 16, 32, 48, all channel 0 die 0.
  for (uint16_t k = 0; k < 4; ++k) {
    ASSERT_EQ(m->Locate(k * 128u).channel, 0u);
    ASSERT_EQ(m->Locate(k * 128u).die, 0u);
    Accept(*m, Read(k, k * 128u), {}, 0);
  }
  auto c = Drain(*m);
  // Each read holds the die for tR + its channel transfer.
  for (uint16_t k = 0; k < 4; ++k) {
    EXPECT_EQ(c[k].time_ns, 21500 + 35760 + 5120 + 1220 + k * (35760 + 5120)) << k;
  }
}

TEST(SsdModel, ReadsToDifferentDiesOverlap) {
  auto m = Make(Flat());
  // LBA 0: channel 0 die 0; LBA 8: channel 1 die 0. Same NAND time, the link serialises.
  Accept(*m, Read(1, 0), {}, 0);
  Accept(*m, Read(2, 8), {}, 0);
  // LBA 64: channel 0 die 1 -- its own die, but it shares channel 0 with LBA 0.
  Accept(*m, Read(3, 64), {}, 0);
  auto c = Drain(*m);
  const uint64_t sense_end = 21500 + 35760;
  EXPECT_EQ(c[1].time_ns, sense_end + 5120 + 1220);
  EXPECT_EQ(c[2].time_ns, sense_end + 5120 + 2 * 1220);
  EXPECT_EQ(c[3].time_ns, sense_end + 2 * 5120 + 1220);  // waited for channel 0
}

TEST(SsdModel, AllSixteenDiesInParallel) {
  auto m = Make(Flat());
  for (uint16_t fp = 0; fp < 16; ++fp) {
    Accept(*m, Read(fp, fp * 8u), {}, 0);
  }
  auto c = Drain(*m);
  // Channels 0..7 finish die 0 at 62380 and die 1 at 67500; the link takes them in
  // submission order back to back from 62380 (1220 each), so it is the bottleneck.
  for (uint16_t fp = 0; fp < 16; ++fp) {
    EXPECT_EQ(c[fp].time_ns, 62380 + (fp + 1) * 1220u) << fp;
  }
}

TEST(SsdModel, WriteBufferAcksEarlyServesReadsAndMakesWritesWait) {
  SsdConfig cfg = Flat();
  cfg.max_transfer_lbas = 8;
  cfg.write_buffer_bytes = 8 * kLb;  // one page
  auto m = Make(cfg);
  const auto a = Pattern(0, 8, 1);
  const auto b = Pattern(8, 8, 2);
  Accept(*m, Write(1, 0, 8), a, 0);
  Accept(*m, Write(2, 8, 8), b, 0);   // the buffer is full: waits for write 1's program
  Accept(*m, Read(3, 2), {}, 20000);  // in the buffer
  Accept(*m, Read(4, 9), {}, 21000);  // write 2 is still waiting: served once its data is in
  EXPECT_EQ(m->stats().write_buffer_waits, 1u);
  auto c = Drain(*m);
  const uint64_t x8 = SsdModel::TransferNs(8 * kLb, 3360);  // 9753
  ASSERT_EQ(x8, 9753u);
  const uint64_t ack1 = 4000 + 8 * 460 + x8;     // 17433
  const uint64_t prog1 = ack1 + 40960 + 185000;  // 32 KiB at 800 MB/s, tPROG
  const uint64_t ack2 = prog1 + 4000 + 8 * 460 + x8;
  EXPECT_EQ(c[1].time_ns, ack1);
  EXPECT_EQ(c[2].time_ns, ack2);
  EXPECT_EQ(c[3].time_ns, 20000 + 21500 + 1220);
  EXPECT_EQ(c[3].data, std::vector<uint8_t>(a.begin() + 2 * kLb, a.begin() + 3 * kLb));
  EXPECT_EQ(c[4].time_ns, ack2 + 1220);
  EXPECT_EQ(c[4].data, std::vector<uint8_t>(b.begin() + kLb, b.begin() + 2 * kLb));
  EXPECT_EQ(m->stats().buffer_read_hits, 2u);
  EXPECT_EQ(m->stats().nand_reads, 0u);
  EXPECT_EQ(m->stats().nand_programs, 2u);

  // After the program the data comes from NAND.
  const uint64_t t = 10'000'000;
  Accept(*m, Read(5, 3), {}, t);
  c = Drain(*m);
  EXPECT_EQ(c[5].time_ns, t + 21500 + 35760 + 5120 + 1220);
  EXPECT_EQ(c[5].data, std::vector<uint8_t>(a.begin() + 3 * kLb, a.begin() + 4 * kLb));
  EXPECT_EQ(m->stats().nand_reads, 1u);
}

TEST(SsdModel, ProgramsQueueOnTheDieAndEraseEveryBlock) {
  SsdConfig cfg = Flat();
  cfg.pages_per_block = 2;
  cfg.t_erase_ns = 1'000'000;
  auto m = Make(cfg);
  for (uint16_t k = 0; k < 3; ++k) {  // LBAs 0, 128, 256: channel 0 die 0
    Accept(*m, Write(k, k * 128u), Pattern(k * 128u, 1, 0), 0);
  }
  Accept(*m, Read(9, 384), {}, 100);  // same die, queued behind the three programs + erase
  auto c = Drain(*m);
  const uint64_t ack0 = 4000 + 460 + 1220;  // 5680; the link takes the next two back to back
  EXPECT_EQ(c[0].time_ns, ack0);
  EXPECT_EQ(c[1].time_ns, ack0 + 1220);
  EXPECT_EQ(c[2].time_ns, ack0 + 2 * 1220);
  const uint64_t p0 = ack0 + 5120 + 185000;
  const uint64_t p1 = p0 + 5120 + 185000;
  const uint64_t p2 = p1 + 1'000'000 + 5120 + 185000;  // the block is erased first
  EXPECT_EQ(c[9].time_ns, p2 + 35760 + 5120 + 1220);
  EXPECT_EQ(m->stats().nand_erases, 1u);
}

TEST(SsdModel, OverdueCompletionsAreCollectedLate) {
  auto m = Make(Flat());
  Accept(*m, Read(1, 0), {}, 0);
  Accept(*m, Read(2, 8), {}, 1'000'000);  // the model's time moves past read 1's completion
  ASSERT_EQ(m->NextEventTime(), 63600u);
  auto c = m->Advance(63600);  // earlier than the model's time: still collected
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].cqe.cid, 1);
  EXPECT_EQ(c[0].time_ns, 63600u);
  EXPECT_EQ(m->now(), 1'000'000u);
  c = m->Advance(2'000'000);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].time_ns, 1'063'600u);
}

TEST(SsdModel, DeallocateWithSeveralRanges) {
  auto m = Make(SsdConfig::Samsung970Pro());
  const auto d = Pattern(0, 16, 3);
  Accept(*m, Write(1, 0, 16), d, 0);
  Drain(*m);
  const std::vector<DsmRange> ranges = {{0, 2, 1}, {0, 0, 100}, {0, 3, 10}};
  const auto bytes = DsmRangesToBytes(ranges);
  Accept(*m, BuildDsmDeallocate(2, 1, 3, 0x1000).sqe, bytes, 1'000'000);
  auto c = Drain(*m);
  EXPECT_TRUE(c[2].cqe.status().ok());
  EXPECT_EQ(c[2].time_ns, 1'000'000 + SsdModel::TransferNs(48, 3360) + 4000);
  EXPECT_EQ(m->stats().lbas_deallocated, 5u);
  Accept(*m, Read(3, 0, 16), {}, 2'000'000);
  c = Drain(*m);
  std::vector<uint8_t> want = d;
  for (uint64_t l : {1, 2, 10, 11, 12}) {
    std::fill(want.begin() + l * kLb, want.begin() + (l + 1) * kLb, 0);
  }
  EXPECT_EQ(c[3].data, want);
}

TEST(SsdModel, PlacementHintsAreAcceptedAndCounted) {
  auto m = Make(SsdConfig::Samsung970Pro());
  Accept(*m, Write(1, 0, 1, {DirectiveType::kStreams, 3}), Pattern(0, 1, 0), 0);
  Accept(*m, Write(2, 1, 1, {DirectiveType::kDataPlacement, 7}), Pattern(1, 1, 0), 0);
  Accept(*m, Write(3, 2), Pattern(2, 1, 0), 0);
  EXPECT_EQ(m->stats().writes_by_placement.at((1u << 16) | 3), 1u);
  EXPECT_EQ(m->stats().writes_by_placement.at((2u << 16) | 7), 1u);
  EXPECT_EQ(m->stats().writes_by_placement.at(0), 1u);
}

TEST(SsdModel, BadCommandsGetTheirNvmeStatus) {
  SsdConfig cfg = SsdConfig::Samsung970Pro();
  cfg.capacity_lbas = 1000;
  cfg.max_queue_depth = 2;
  auto m = Make(cfg);
  const auto one = Pattern(0, 1, 0);
  auto expect = [&](const Sqe& s, std::span<const uint8_t> d, const Status& st) {
    const SubmitResult r = m->Submit(s, d, 0);
    EXPECT_EQ(r.outcome, SubmitOutcome::kRejected) << Describe(s);
    EXPECT_EQ(r.cqe.status(), st) << Describe(s) << ": " << StatusName(r.cqe.status());
    EXPECT_EQ(r.cqe.cid, s.cid());
    EXPECT_EQ(r.cqe.sqid, 1);
  };
  Sqe s = Read(1, 0);
  s.set_opcode(0x7F);
  expect(s, {}, kInvalidOpcode);
  s.set_opcode(0x00);  // Flush is not implemented by this model
  expect(s, {}, kInvalidOpcode);
  expect(Read(1, 1000), {}, kLbaOutOfRange);
  expect(Read(1, 999, 2), {}, kLbaOutOfRange);
  expect(Write(1, ~0ULL - 1, 4), Pattern(0, 4, 0), kLbaOutOfRange);  // no wrap-around
  expect(Read(1, 0, 65), {}, kInvalidField);                         // over MDTS (64 LBAs)
  expect(Write(1, 0, 2), one, kDataTransferError);  // data shorter than the command
  expect(Write(1, 0, 1), {}, kDataTransferError);   // zero bytes of data
  s = Read(1, 0);
  s.nsid = 2;
  expect(s, {}, kInvalidNamespace);
  s.nsid = 0xFFFFFFFF;
  expect(s, {}, kInvalidNamespace);
  s = Read(1, 0);
  s.cdw0 |= 1u << 8;  // fused
  expect(s, {}, kInvalidField);
  s = Read(1, 0);
  s.cdw0 |= 1u << 14;  // SGL
  expect(s, {}, kInvalidField);
  s = Read(1, 0);
  s.cdw12 |= 1u << 20;  // a directive on a read
  expect(s, {}, kInvalidField);
  s = Write(1, 0);
  s.cdw12 |= 3u << 20;  // unknown directive type
  expect(s, one, kInvalidField);
  s = Write(1, 0);
  s.cdw12 |= 1u << 26;  // protection information
  expect(s, one, kInvalidField);
  const std::vector<DsmRange> bad = {{0, 4, 998}};
  expect(BuildDsmDeallocate(1, 1, 1, 0).sqe, DsmRangesToBytes(bad), kLbaOutOfRange);
  expect(BuildDsmDeallocate(1, 1, 2, 0).sqe, DsmRangesToBytes(bad), kDataTransferError);
  EXPECT_EQ(m->stats().accepted, 0u);
  EXPECT_EQ(m->in_flight(), 0u);

  // CID conflict: a second command with an in-flight CID.
  Accept(*m, Read(5, 0), {}, 0);
  expect(Read(5, 1), {}, kCommandIdConflict);
  // Queue depth 2: the third in-flight command is not consumed.
  Accept(*m, Read(6, 0), {}, 0);
  EXPECT_EQ(m->Submit(Read(7, 0), {}, 0).outcome, SubmitOutcome::kQueueFull);
  // Time never goes backwards.
  (void)m->Advance(5);
  EXPECT_EQ(m->Submit(Read(8, 0), {}, 4).outcome, SubmitOutcome::kTimeBackwards);
  EXPECT_TRUE(m->Advance(4).empty());
  auto c = Drain(*m);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_TRUE(c[5].cqe.status().ok());
  // Rejected commands changed nothing: LBA 0 still reads zeros.
  EXPECT_EQ(c[5].data, std::vector<uint8_t>(kLb, 0));
}

TEST(SsdModel, MediaErrorsEveryNthAndOnLbas) {
  SsdConfig cfg = Flat();
  SsdFaults f;
  f.read_error_every_n = 2;
  f.read_error_lbas = {500};
  auto m = Make(cfg, f);
  Accept(*m, Read(1, 0), {}, 0);
  Accept(*m, Read(2, 8), {}, 0);  // 2nd NAND read
  Accept(*m, Read(3, 16), {}, 0);
  Accept(*m, Read(4, 498, 4), {}, 0);  // covers LBA 500 (4th NAND read too)
  Accept(*m, Read(5, 600), {}, 0);
  auto c = Drain(*m);
  EXPECT_TRUE(c[1].cqe.status().ok());
  EXPECT_EQ(c[2].cqe.status(), kUnrecoveredReadError);
  EXPECT_TRUE(c[2].data.empty());
  EXPECT_TRUE(c[3].cqe.status().ok());
  EXPECT_EQ(c[4].cqe.status(), kUnrecoveredReadError);
  EXPECT_TRUE(c[5].cqe.status().ok());
  EXPECT_EQ(m->stats().media_errors, 2u);
  // The error reaches the requester through CID matching.
  CidAllocator cids(8);
  ASSERT_TRUE(cids.Claim(2, 42));
  const auto match = cids.Complete(c[2].cqe);
  EXPECT_EQ(match.tag, 42u);
  EXPECT_EQ(match.status.sct, 2);
  EXPECT_EQ(match.status.sc, 0x81);
}

TEST(SsdModel, MediaErrorRateIsDeterministicPerSeed) {
  SsdFaults f;
  f.read_error_rate = 0.3;
  auto run = [&](uint64_t seed) {
    auto m = Make(Flat(), f, seed);
    std::vector<bool> errs;
    for (uint16_t i = 0; i < 200; ++i) {
      Accept(*m, Read(i, i * 8u), {}, i * 1000u);
    }
    auto c = Drain(*m);
    for (uint16_t i = 0; i < 200; ++i) {
      errs.push_back(!c[i].cqe.status().ok());
    }
    return errs;
  };
  const auto a = run(7);
  EXPECT_EQ(a, run(7));
  EXPECT_NE(a, run(8));
  const auto n = std::count(a.begin(), a.end(), true);
  EXPECT_GT(n, 20);
  EXPECT_LT(n, 100);
}

TEST(SsdModel, WriteFaultStoresNothing) {
  SsdFaults f;
  f.write_fault_lbas = {3};
  auto m = Make(SsdConfig::Samsung970Pro(), f);
  Accept(*m, Write(1, 0, 4), Pattern(0, 4, 1), 0);
  Accept(*m, Write(2, 4, 4), Pattern(4, 4, 1), 0);
  auto c = Drain(*m);
  EXPECT_EQ(c[1].cqe.status(), kWriteFault);
  EXPECT_TRUE(c[2].cqe.status().ok());
  Accept(*m, Read(3, 0, 8), {}, 10'000'000);
  c = Drain(*m);
  std::vector<uint8_t> want(4 * kLb, 0);
  const auto second = Pattern(4, 4, 1);
  want.insert(want.end(), second.begin(), second.end());
  EXPECT_EQ(c[3].data, want);
}

TEST(SsdModel, TimeoutNeverCompletesUntilAborted) {
  SsdFaults f;
  f.timeout_every_n = 3;
  f.timeout_lbas = {77};
  auto m = Make(SsdConfig::Samsung970Pro(), f);
  Accept(*m, Write(1, 0), Pattern(0, 1, 1), 0);
  Accept(*m, Read(2, 0), {}, 0);
  Accept(*m, Write(3, 1), Pattern(1, 1, 1), 0);  // 3rd accepted: hangs, no effect
  Accept(*m, Read(4, 77), {}, 0);                // touches LBA 77: hangs
  EXPECT_EQ(m->stats().timeouts, 2u);
  auto c = Drain(*m);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_FALSE(m->NextEventTime().has_value());
  EXPECT_TRUE(m->Advance(1'000'000'000'000ULL).empty());
  EXPECT_EQ(m->in_flight(), 2u);
  // The requester's timeout path: its CID stays taken until it aborts.
  EXPECT_EQ(m->Submit(Read(3, 5), {}, 1'000'000'000'000ULL).cqe.status(), kCommandIdConflict);
  const auto ab = m->Abort(3, 1'000'000'000'000ULL);
  ASSERT_TRUE(ab.has_value());
  EXPECT_EQ(ab->cqe.status(), kAbortRequested);
  EXPECT_EQ(ab->cqe.cid, 3);
  EXPECT_FALSE(m->Abort(3, 1'000'000'000'000ULL).has_value());
  EXPECT_EQ(m->in_flight(), 1u);
  // The hung write had no effect.
  Accept(*m, Read(3, 1), {}, 1'000'000'000'000ULL);
  c = Drain(*m);
  EXPECT_EQ(c[3].data, std::vector<uint8_t>(kLb, 0));
}

// Random stream against a std::map reference. Data effects happen in submission order, so a
// read returns the reference state at its submission.
TEST(SsdModel, RandomStreamMatchesReference) {
  const uint64_t seed = testing::Seed();
  std::printf("RandomStreamMatchesReference seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  SsdConfig cfg = SsdConfig::Samsung970Pro();
  cfg.capacity_lbas = 2048;
  cfg.max_transfer_lbas = 16;
  cfg.write_buffer_bytes = 64 * kLb;
  cfg.max_queue_depth = 32;
  auto m = Make(cfg, {}, seed);
  std::map<uint64_t, std::vector<uint8_t>> ref;
  std::map<uint16_t, std::vector<uint8_t>> expect_read;
  CidAllocator cids(64);
  uint64_t now = 0;
  uint64_t reads = 0;
  uint64_t checked = 0;
  auto collect = [&](std::vector<SsdCompletion> done) {
    for (auto& c : done) {
      ASSERT_TRUE(cids.Complete(c.cqe).ok());
      ASSERT_TRUE(c.cqe.status().ok()) << StatusName(c.cqe.status());
      auto it = expect_read.find(c.cqe.cid);
      if (it != expect_read.end()) {
        ASSERT_EQ(c.data, it->second) << "cid " << c.cqe.cid;
        expect_read.erase(it);
        ++checked;
      }
    }
  };
  for (int op = 0; op < 4000; ++op) {
    now += rng() % 20000;
    collect(m->Advance(now));
    const auto cid = cids.Allocate(op);
    if (!cid || m->in_flight() >= cfg.max_queue_depth) {
      if (cid) {
        ASSERT_TRUE(cids.Release(*cid));
      }
      continue;
    }
    const uint32_t n = 1 + rng() % 16;
    const uint64_t slba = rng() % (cfg.capacity_lbas - n + 1);
    const int kind = static_cast<int>(rng() % 10);
    SubmitResult r;
    if (kind < 4) {  // write
      std::vector<uint8_t> d(n * kLb);
      for (auto& b : d) {
        b = static_cast<uint8_t>(rng());
      }
      r = m->Submit(Write(*cid, slba, n), d, now);
      for (uint32_t i = 0; i < n; ++i) {
        ref[slba + i].assign(d.begin() + i * kLb, d.begin() + (i + 1) * kLb);
      }
    } else if (kind < 9) {  // read
      std::vector<uint8_t> want(n * kLb, 0);
      for (uint32_t i = 0; i < n; ++i) {
        auto it = ref.find(slba + i);
        if (it != ref.end()) {
          std::copy(it->second.begin(), it->second.end(), want.begin() + i * kLb);
        }
      }
      expect_read[*cid] = std::move(want);
      ++reads;
      r = m->Submit(Read(*cid, slba, n), {}, now);
    } else {  // deallocate 1..4 ranges
      std::vector<DsmRange> ranges(1 + rng() % 4);
      for (auto& rg : ranges) {
        rg.nlb = static_cast<uint32_t>(rng() % 24);
        rg.slba = rng() % (cfg.capacity_lbas - rg.nlb + 1);
        for (uint64_t i = 0; i < rg.nlb; ++i) {
          ref.erase(rg.slba + i);
        }
      }
      r = m->Submit(BuildDsmDeallocate(*cid, 1, static_cast<uint32_t>(ranges.size()), 0).sqe,
                    DsmRangesToBytes(ranges), now);
    }
    ASSERT_EQ(r.outcome, SubmitOutcome::kAccepted) << StatusName(r.cqe.status());
  }
  while (auto t = m->NextEventTime()) {
    collect(m->Advance(*t));
  }
  EXPECT_EQ(checked, reads);
  EXPECT_TRUE(expect_read.empty());
  EXPECT_EQ(cids.in_flight(), 0u);
  EXPECT_GT(m->stats().buffer_read_hits, 0u);
  EXPECT_GT(m->stats().nand_reads, 0u);
  EXPECT_GT(m->stats().write_buffer_waits, 0u);
}

}  // namespace
}  // namespace kvcpu::nvme
