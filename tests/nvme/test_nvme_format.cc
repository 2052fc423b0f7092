// NVMe SQE/CQE layouts against byte arrays written by hand from the NVMe base spec 2.0
// ("Common Command Format", "Common Completion Queue Entry Layout") and the NVM command set
// spec (Read/Write CDW10-13, Dataset Management), builders, decoders and the CID allocator.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "nvme.h"

namespace kvcpu::nvme {
namespace {

template <size_t N>
std::array<uint8_t, N> Bytes(std::initializer_list<std::pair<size_t, uint8_t>> set) {
  std::array<uint8_t, N> b{};
  for (auto [i, v] : set) {
    b[i] = v;
  }
  return b;
}

TEST(NvmeFormat, ReadSqeMatchesSpecBytes) {
  // Read, CID 0x1234, NSID 1, PRP1 0x12345000, SLBA 0x0000000100000010, NLB 7 (8 blocks).
  const auto want = Bytes<64>({{0, 0x02},
                               {2, 0x34},
                               {3, 0x12},  // CDW0
                               {4, 0x01},  // NSID
                               {25, 0x50},
                               {26, 0x34},
                               {27, 0x12},  // PRP1
                               {40, 0x10},
                               {44, 0x01},    // CDW10/11 SLBA
                               {48, 0x07}});  // CDW12 NLB
  RwArgs a;
  a.cid = 0x1234;
  a.nsid = 1;
  a.slba = 0x0000000100000010ULL;
  a.nblocks = 8;
  a.prp1 = 0x12345000;
  const BuildResult r = BuildRead(a);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ToBytes(r.sqe), want);

  const Sqe back = SqeFromBytes(want);
  EXPECT_EQ(back.opcode(), 0x02);
  EXPECT_EQ(back.cid(), 0x1234);
  EXPECT_EQ(back.fuse(), 0);
  EXPECT_EQ(back.psdt(), 0);
  EXPECT_EQ(back.nsid, 1u);
  EXPECT_EQ(back.slba(), 0x0000000100000010ULL);
  EXPECT_EQ(back.nblocks(), 8u);
  EXPECT_EQ(back.prp1, 0x12345000u);
  const DecodedCommand d = Decode(back);
  EXPECT_TRUE(d.known_opcode);
  EXPECT_EQ(d.opcode, Opcode::kRead);
  EXPECT_EQ(d.nblocks, 8u);
  EXPECT_EQ(d.placement.type, DirectiveType::kNone);
}

TEST(NvmeFormat, WriteSqeWithFdpPlacementMatchesSpecBytes) {
  // Write, CID 0xBEEF, NSID 1, SLBA 0x20, 1 block, FUA, DTYPE 2 (data placement) in CDW12
  // bits 23:20, DSPEC 0x0005 in CDW13 bits 31:16, PRP1 0x1000, PRP2 0xAB000.
  const auto want = Bytes<64>({{0, 0x01},
                               {2, 0xEF},
                               {3, 0xBE},
                               {4, 0x01},
                               {25, 0x10},
                               {33, 0xB0},
                               {34, 0x0A},
                               {40, 0x20},
                               {50, 0x20},
                               {51, 0x40},    // CDW12 = 0x40200000
                               {54, 0x05}});  // CDW13 = 0x00050000
  RwArgs a;
  a.cid = 0xBEEF;
  a.slba = 0x20;
  a.nblocks = 1;
  a.prp1 = 0x1000;
  a.prp2 = 0xAB000;
  a.fua = true;
  const BuildResult r = BuildWrite(a, Placement{DirectiveType::kDataPlacement, 5});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ToBytes(r.sqe), want);
  const Sqe back = SqeFromBytes(want);
  EXPECT_EQ(back.dtype(), 2);
  EXPECT_EQ(back.dspec(), 5);
  EXPECT_TRUE(back.fua());
  const DecodedCommand d = Decode(back);
  EXPECT_EQ(d.placement.type, DirectiveType::kDataPlacement);
  EXPECT_EQ(d.placement.dspec, 5);
}

TEST(NvmeFormat, WriteWithStreamsPlacement) {
  RwArgs a;
  a.nblocks = 65536;
  const BuildResult r = BuildWrite(a, Placement{DirectiveType::kStreams, 0xFFFF});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.sqe.cdw12, 0x0010FFFFu);  // NLB 0xFFFF, DTYPE 1
  EXPECT_EQ(r.sqe.cdw13, 0xFFFF0000u);
  EXPECT_EQ(r.sqe.nblocks(), 65536u);
}

TEST(NvmeFormat, DsmDeallocateMatchesSpecBytes) {
  // Dataset Management, CID 7, NSID 1, PRP1 0x2000, NR = 2 (three ranges), AD (CDW11 bit 2).
  const auto want =
      Bytes<64>({{0, 0x09}, {2, 0x07}, {4, 0x01}, {25, 0x20}, {40, 0x02}, {44, 0x04}});
  const BuildResult r = BuildDsmDeallocate(7, 1, 3, 0x2000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ToBytes(r.sqe), want);
  const DecodedCommand d = Decode(SqeFromBytes(want));
  EXPECT_EQ(d.opcode, Opcode::kDatasetManagement);
  EXPECT_EQ(d.nranges, 3u);
  EXPECT_TRUE(d.deallocate);

  // Range: context attributes, length (LBAs), starting LBA.
  const std::array<DsmRange, 1> ranges{DsmRange{0x11223344, 0x10, 0x0102030405060708ULL}};
  const std::array<uint8_t, 16> want_range = {0x44, 0x33, 0x22, 0x11, 0x10, 0,    0,    0,
                                              0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
  const auto bytes = DsmRangesToBytes(ranges);
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), want_range.begin()));
  const auto parsed = DsmRangesFromBytes(want_range, 1);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ((*parsed)[0].slba, 0x0102030405060708ULL);
  EXPECT_EQ((*parsed)[0].nlb, 0x10u);
  EXPECT_FALSE(DsmRangesFromBytes(want_range, 2).has_value());
}

TEST(NvmeFormat, CqeMatchesSpecBytes) {
  // DW2: SQHD 5, SQID 1; DW3: CID 0x1234, P = 1, SC 0x81, SCT 2 (Unrecovered Read Error):
  // status half = P | SC << 1 | SCT << 9 = 0x0503.
  const std::array<uint8_t, 16> want = {0xAA, 0,    0,    0,    0,    0,    0,    0,
                                        0x05, 0x00, 0x01, 0x00, 0x34, 0x12, 0x03, 0x05};
  Cqe c;
  c.dw0 = 0xAA;
  c.sqhd = 5;
  c.sqid = 1;
  c.cid = 0x1234;
  c.set_phase(true);
  c.set_status(kUnrecoveredReadError);
  EXPECT_EQ(ToBytes(c), want);
  const Cqe back = CqeFromBytes(want);
  EXPECT_TRUE(back.phase());
  EXPECT_TRUE(back.status().Is(kUnrecoveredReadError));
  EXPECT_EQ(back.status().sct, 2);
  EXPECT_EQ(back.status().sc, 0x81);
  EXPECT_FALSE(back.status().dnr);

  // Invalid Opcode with DNR (bit 15), phase 0: 0x8002.
  const std::array<uint8_t, 16> want2 = {0, 0, 0, 0, 0,    0,    0,    0,
                                         0, 0, 0, 0, 0x09, 0x00, 0x02, 0x80};
  Cqe e;
  e.cid = 9;
  e.set_status(kInvalidOpcode);
  EXPECT_EQ(ToBytes(e), want2);
  EXPECT_FALSE(CqeFromBytes(want2).phase());
  EXPECT_EQ(CqeFromBytes(want2).status(), kInvalidOpcode);
}

TEST(NvmeFormat, StatusFieldRoundTripsEveryBit) {
  for (uint32_t f = 0; f < 0x10000; ++f) {
    const Status s = Status::Decode(static_cast<uint16_t>(f));
    EXPECT_EQ(s.Encode((f & 1) != 0), f);
  }
  EXPECT_EQ(kLbaOutOfRange.sc, 0x80);
  EXPECT_EQ(kLbaOutOfRange.sct, 0);
  EXPECT_EQ(kWriteFault.sct, 2);
  EXPECT_EQ(kWriteFault.sc, 0x80);
  EXPECT_EQ(StatusName(kUnrecoveredReadError), "SCT 2 SC 0x81 Unrecovered Read Error");
}

TEST(NvmeFormat, BuildersRejectWhatAnSqeCannotEncode) {
  RwArgs a;
  a.nblocks = 0;
  EXPECT_EQ(BuildRead(a).error, BuildError::kZeroLength);
  a.nblocks = 65537;
  EXPECT_EQ(BuildWrite(a).error, BuildError::kTooLong);
  a.nblocks = 1;
  EXPECT_EQ(BuildWrite(a, Placement{static_cast<DirectiveType>(3), 1}).error,
            BuildError::kBadPlacement);
  EXPECT_EQ(BuildDsmDeallocate(1, 1, 0, 0).error, BuildError::kZeroLength);
  EXPECT_EQ(BuildDsmDeallocate(1, 1, 257, 0).error, BuildError::kTooManyRanges);
  EXPECT_TRUE(BuildDsmDeallocate(1, 1, 256, 0).ok());
  EXPECT_EQ(BuildDsmDeallocate(1, 1, 256, 0).sqe.cdw10, 0xFFu);
}

TEST(CidAllocator, AllocatesMatchesAndDetectsConflicts) {
  CidAllocator cids(4);
  std::vector<uint16_t> got;
  for (uint64_t tag = 100; tag < 104; ++tag) {
    auto c = cids.Allocate(tag);
    ASSERT_TRUE(c.has_value());
    got.push_back(*c);
  }
  EXPECT_EQ(got, (std::vector<uint16_t>{0, 1, 2, 3}));
  EXPECT_FALSE(cids.Allocate(999).has_value());
  EXPECT_EQ(cids.in_flight(), 4u);

  Cqe c;
  c.cid = 2;
  c.set_status(kLbaOutOfRange);
  const auto m = cids.Complete(c);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.tag, 102u);
  EXPECT_TRUE(m.status.Is(kLbaOutOfRange));  // the NVMe error reaches the requester
  EXPECT_FALSE(cids.InUse(2));
  // A second CQE for the same CID does not match anything.
  EXPECT_EQ(cids.Complete(c).error, CidAllocator::MatchError::kUnknownCid);
  c.cid = 77;  // out of range
  EXPECT_EQ(cids.Complete(c).error, CidAllocator::MatchError::kUnknownCid);

  EXPECT_FALSE(cids.Claim(1, 5));  // conflict: in flight
  EXPECT_FALSE(cids.Claim(4, 5));  // out of range
  EXPECT_TRUE(cids.Claim(2, 55));
  EXPECT_FALSE(cids.Allocate(1).has_value());
  EXPECT_TRUE(cids.Release(0));  // timeout path gives the CID back
  EXPECT_FALSE(cids.Release(0));
  EXPECT_EQ(cids.Allocate(7).value(), 0);
  c.cid = 2;
  EXPECT_EQ(cids.Complete(c).tag, 55u);
}

}  // namespace
}  // namespace kvcpu::nvme
