// NvmePort without the device model: SQEs in, data through PRP1/PRP2 from and to mapped host
// memory, CQEs out at the SsdModel's completion time; unreachable data and PRP lists are
// Data Transfer Errors that change nothing. The reference for timing is a second SsdModel
// fed the same commands directly.
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

#include "host_memory.h"
#include "nvme.h"
#include "nvme_port.h"

namespace kvcpu::cosim {
namespace {

constexpr uint64_t kBase = 0x10'0000;

class Port : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::memfd_create("kvcpu-nvme-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_GE(fd_, 0);
    ASSERT_EQ(::ftruncate(fd_, 64 << 10), 0);
    ASSERT_EQ(mem_.map(fd_, kBase, 64 << 10, 0), std::nullopt);
    std::string err;
    port_ = NvmePort::Create(&mem_, nvme::SsdConfig::Samsung970Pro(), {}, &err);
    ASSERT_TRUE(port_) << err;
  }
  void TearDown() override {
    mem_.clear();
    if (fd_ >= 0) ::close(fd_);
  }
  // Clocks the port until a CQE shows (at most `limit` ns in 100 ns steps); takes it.
  std::optional<std::pair<nvme::Cqe, uint64_t>> run_until_cqe(uint64_t* now, uint64_t limit = 10'000'000) {
    for (uint64_t end = *now + limit; *now <= end; *now += 100) {
      if (const auto* c = port_->cq_front()) {
        const nvme::Cqe q = nvme::CqeFromBytes(std::span<const uint8_t, 16>(*c));
        port_->clock(nullptr, true, *now);
        return std::make_pair(q, *now);
      }
      port_->clock(nullptr, false, *now);
    }
    return std::nullopt;
  }
  std::array<uint8_t, 64> sqe(const nvme::BuildResult& r) {
    EXPECT_TRUE(r.ok());
    return nvme::ToBytes(r.sqe);
  }

  int fd_ = -1;
  HostMemory mem_;
  std::unique_ptr<NvmePort> port_;
};

TEST_F(Port, WriteThenReadMovesDataThroughBothPrpsAtTheModelsTimes) {
  std::vector<uint8_t> pattern(8192);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(i * 7 + 3);
  ASSERT_TRUE(mem_.write(kBase, pattern.data(), 4096));
  ASSERT_TRUE(mem_.write(kBase + 0x8000, pattern.data() + 4096, 4096));  // PRP2 elsewhere
  auto ref = nvme::SsdModel::Create(nvme::SsdConfig::Samsung970Pro());
  uint64_t now = 1000;
  auto w = sqe(nvme::BuildWrite({.cid = 1, .slba = 50, .nblocks = 2, .prp1 = kBase, .prp2 = kBase + 0x8000}));
  ASSERT_TRUE(port_->sq_ready());
  port_->clock(&w, false, now);
  ASSERT_EQ(ref->Submit(nvme::SqeFromBytes(std::span<const uint8_t, 64>(w)), pattern, now).outcome,
            nvme::SubmitOutcome::kAccepted);
  const uint64_t want_w = *ref->NextEventTime();
  auto c = run_until_cqe(&now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first.cid, 1);
  EXPECT_TRUE(c->first.status().ok());
  EXPECT_GE(c->second, want_w);
  // queued at the first clock edge at or after its time, taken at the next one (100 ns steps)
  EXPECT_LE(c->second, want_w + 200);
  ref->Advance(c->second);
  // read back into another page pair
  auto r = sqe(nvme::BuildRead({.cid = 2, .slba = 50, .nblocks = 2, .prp1 = kBase + 0x2000, .prp2 = kBase + 0x5000}));
  port_->clock(&r, false, now);
  auto c2 = run_until_cqe(&now);
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->first.cid, 2);
  EXPECT_TRUE(c2->first.status().ok());
  std::vector<uint8_t> got(8192);
  ASSERT_TRUE(mem_.read(kBase + 0x2000, got.data(), 4096));
  ASSERT_TRUE(mem_.read(kBase + 0x5000, got.data() + 4096, 4096));
  EXPECT_EQ(got, pattern);
  EXPECT_EQ(port_->stats().submitted, 2u);
  EXPECT_EQ(port_->stats().completed, 2u);
  EXPECT_FALSE(port_->busy());
}

TEST_F(Port, UnreachableDataAndPrpListsAreTransferErrorsWithNoEffect) {
  uint64_t now = 0;
  // write from an unmapped page: error, and LBA 4 stays unwritten
  auto w = sqe(nvme::BuildWrite({.cid = 7, .slba = 4, .nblocks = 1, .prp1 = 0x9000'0000}));
  port_->clock(&w, false, now);
  auto c = run_until_cqe(&now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first.cid, 7);
  EXPECT_EQ(c->first.status(), nvme::kDataTransferError);
  // three pages would need a PRP list
  auto big = sqe(nvme::BuildRead({.cid = 8, .slba = 4, .nblocks = 3, .prp1 = kBase, .prp2 = kBase + 0x1000}));
  port_->clock(&big, false, now);
  c = run_until_cqe(&now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first.status(), nvme::kDataTransferError);
  // LBA 4 reads zeros (the failed write did nothing)
  std::vector<uint8_t> junk(4096, 0xAB);
  ASSERT_TRUE(mem_.write(kBase, junk.data(), junk.size()));
  auto r = sqe(nvme::BuildRead({.cid = 9, .slba = 4, .nblocks = 1, .prp1 = kBase}));
  port_->clock(&r, false, now);
  c = run_until_cqe(&now);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->first.status().ok());
  std::vector<uint8_t> got(4096);
  ASSERT_TRUE(mem_.read(kBase, got.data(), got.size()));
  EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(port_->stats().transfer_errors, 2u);
}

}  // namespace
}  // namespace kvcpu::cosim
