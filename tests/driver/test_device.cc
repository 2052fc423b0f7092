// Device over MockTransport: open checks, step semantics, bus errors, info, URIs.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kvcpu/bar0_model.h"
#include "kvcpu/device.h"
#include "kvcpu/mock_transport.h"
#include "kvcpu/regs.h"

namespace kvcpu {
namespace {

constexpr uint32_t kVersionReg = regs::kVersion;
constexpr uint32_t kStepBackwardsBit = 1u << 4;

using Kind = MockOp::Kind;

// Opens a Device over a fresh MockTransport and keeps a pointer to the mock.
struct Opened {
  MockTransport* mock = nullptr;
  std::optional<Device> dev;
};

Opened open_mock(std::function<void(MockTransport&)> setup = {}) {
  auto t = std::make_unique<MockTransport>();
  Opened o;
  o.mock = t.get();
  if (setup) {
    setup(*t);
  }
  auto d = Device::open(std::move(t));
  EXPECT_TRUE(d.ok()) << d.status().to_string();
  if (d.ok()) {
    o.dev.emplace(std::move(*d));
    o.mock->clear_log();
  }
  return o;
}

TEST(DeviceOpen, MockUriOpens) {
  auto d = Device::open("mock:");
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->describe(), "mock:");
}

TEST(DeviceOpen, ReadsIdThenVersion) {
  auto t = std::make_unique<MockTransport>();
  MockTransport* mock = t.get();
  auto d = Device::open(std::move(t));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(mock->log().size(), 2u);
  EXPECT_EQ(mock->log()[0].offset, regs::kId);
  EXPECT_EQ(mock->log()[1].offset, kVersionReg);
}

TEST(DeviceOpen, WrongIdIsDeviceMismatch) {
  auto t = std::make_unique<MockTransport>();
  t->poke(regs::kId, 0x12345678);
  auto d = Device::open(std::move(t));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::kDeviceMismatch);
  EXPECT_NE(d.status().message().find("0x12345678"), std::string::npos);
}

TEST(DeviceOpen, OtherMajorIsVersionMismatch) {
  auto t = std::make_unique<MockTransport>();
  t->poke(kVersionReg, regs::kVersionValue + (1u << 24));
  auto d = Device::open(std::move(t));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::kVersionMismatch);
}

TEST(DeviceOpen, OtherMinorAndPatchAreAccepted) {
  auto t = std::make_unique<MockTransport>();
  t->poke(kVersionReg, (regs::kVersionValue & 0xFF000000u) | 0x00FF0042u);
  EXPECT_TRUE(Device::open(std::move(t)).ok());
}

TEST(DeviceOpen, BusErrorOnIdPropagates) {
  auto t = std::make_unique<MockTransport>();
  t->inject_error(regs::kId, Status(ErrorCode::kBusDecErr, "injected"));
  EXPECT_EQ(Device::open(std::move(t)).status().code(), ErrorCode::kBusDecErr);
}

TEST(DeviceOpen, NullTransportRejected) {
  EXPECT_EQ(Device::open(std::unique_ptr<Transport>()).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(DeviceOpen, UnsupportedUris) {
  for (const char* uri : {"pci:0000:01:00.0", "uart:/dev/ttyUSB0"}) {
    auto d = Device::open(uri);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), ErrorCode::kUnsupported) << uri;
    EXPECT_NE(d.status().message().find("not built in this release"), std::string::npos);
  }
}

TEST(DeviceOpen, MalformedUris) {
  for (const char* uri : {"cosim:", "", "mock", ":x", "tcp:localhost:1", "nvme:0", "mock:extra"}) {
    EXPECT_EQ(Device::open(uri).status().code(), ErrorCode::kInvalidArgument) << uri;
  }
}

TEST(DeviceOpen, MissingCosimSocketIsConnectionError) {
  OpenOptions opt;
  opt.cosim.timeout = std::chrono::milliseconds(200);
  EXPECT_EQ(Device::open("cosim:/nonexistent/kvcpu.sock", opt).status().code(),
            ErrorCode::kConnection);
}

TEST(DeviceStep, AdvancePostsExactlyOneWriteOfN) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  ASSERT_TRUE(o.dev->step_advance(42).ok());
  ASSERT_EQ(o.mock->log().size(), 1u);
  EXPECT_EQ(o.mock->log()[0], (MockOp{Kind::kWrite, regs::kBar, regs::kStepInc, 42, true}));
  EXPECT_EQ(o.mock->current_step(), 42u);
  auto s = o.dev->step();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 42u);
}

TEST(DeviceStep, AdvanceByZeroRejectedAndNothingSent) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  EXPECT_EQ(o.dev->step_advance(0).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(o.mock->log().empty());
}

TEST(DeviceStep, SetWritesLoThenHi) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  ASSERT_TRUE(o.dev->step_set(0x0000000500000007ull).ok());
  const auto& log = o.mock->log();
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[0], (MockOp{Kind::kWrite, regs::kBar, regs::kStepLo, 7, false}));
  EXPECT_EQ(log[1], (MockOp{Kind::kWrite, regs::kBar, regs::kStepHi, 5, false}));
  EXPECT_EQ(o.mock->current_step(), 0x0000000500000007ull);
  for (size_t i = 2; i < log.size(); ++i) {
    EXPECT_NE(log[i].offset, regs::kStepLo);
    EXPECT_NE(log[i].offset, regs::kStepHi);
  }
  auto count = o.dev->step_count();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1u);
}

TEST(DeviceStep, SetBackwardsReportedAndBitCleared) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  ASSERT_TRUE(o.dev->step_set(100).ok());
  Status s = o.dev->step_set(99);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("below the current step"), std::string::npos);
  EXPECT_EQ(o.mock->current_step(), 100u);
  auto err = o.dev->error_status();
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(*err & kStepBackwardsBit, 0u) << "STEP_BACKWARDS is cleared";
}

TEST(DeviceStep, SetBackwardsLeavesOtherErrorBits) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  o.mock->poke(regs::kErrStatus, 0x1);  // DECERR pending
  ASSERT_TRUE(o.dev->step_set(10).ok());
  EXPECT_EQ(o.dev->step_set(9).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(*o.dev->error_status(), 0x1u);
}

TEST(DeviceStep, SetEqualStepIsAccepted) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  ASSERT_TRUE(o.dev->step_set(5).ok());
  EXPECT_TRUE(o.dev->step_set(5).ok());
}

TEST(DeviceStep, StepCombinesLoAndHi) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  o.mock->poke(regs::kStepLo, 0x89ABCDEF);
  o.mock->poke(regs::kStepHi, 0x01234567);
  auto s = o.dev->step();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 0x0123456789ABCDEFull);
  ASSERT_EQ(o.mock->log().size(), 2u);
  EXPECT_EQ(o.mock->log()[0].offset, regs::kStepLo);
  EXPECT_EQ(o.mock->log()[1].offset, regs::kStepHi);
}

TEST(DeviceStep, ReadHookOverridesModel) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  o.mock->set_read_hook([](uint32_t, uint32_t offset) -> std::optional<Result<uint32_t>> {
    if (offset == regs::kStepHi) {
      return std::optional<Result<uint32_t>>(std::in_place, 0xFFFFFFFFu);
    }
    return std::nullopt;
  });
  EXPECT_EQ(*o.dev->step(), 0xFFFFFFFF00000000ull);
}

TEST(DeviceBus, SlvErrAndDecErrPropagate) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  o.mock->inject_error(regs::kStepHi, Status(ErrorCode::kBusSlvErr, "injected"));
  EXPECT_EQ(o.dev->step().status().code(), ErrorCode::kBusSlvErr);
  EXPECT_EQ(o.dev->step_set(1).code(), ErrorCode::kBusSlvErr);
  o.mock->clear_error(regs::kStepHi);
  EXPECT_TRUE(o.dev->step().ok());
  o.mock->inject_error(regs::kStepInc, Status(ErrorCode::kConnection, "gone"));
  EXPECT_EQ(o.dev->step_advance(1).code(), ErrorCode::kConnection);
}

TEST(DeviceBus, ModelAnswersLikeTheRegisterBlock) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  EXPECT_EQ(o.dev->read(0x800).status().code(), ErrorCode::kBusDecErr);
  EXPECT_EQ(*o.dev->error_addr(), 0x800u);
  EXPECT_EQ(o.dev->read(0x2).status().code(), ErrorCode::kBusSlvErr);
  EXPECT_EQ(o.dev->write(regs::kId, 0).code(), ErrorCode::kBusSlvErr);
  EXPECT_EQ(*o.dev->error_status(), 0b1011u);  // DECERR, UNALIGNED, RO_WRITE
  EXPECT_EQ(*o.dev->error_addr(), 0x800u) << "first error is kept";
  ASSERT_TRUE(o.dev->clear_errors(0b0011).ok());
  EXPECT_EQ(*o.dev->error_status(), 0b1000u);
  ASSERT_TRUE(o.dev->write(regs::kScratch, 0xA5A5A5A5).ok());
  EXPECT_EQ(*o.dev->read(regs::kScratch), 0xA5A5A5A5u);
}

// The mock's host-interface registers follow docs/host-interface.md: expected values below
// are written from that page, not from the model.
constexpr uint32_t kQcfgBit = 1u << 7, kBadDoorbellBit = 1u << 6;

TEST(MockQueues, ConfigurationRules) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  Device& d = *o.dev;
  const unsigned q = 3;
  const uint32_t ctrl = 0x418 + 0x40 * q, sq_lo = 0x400 + 0x40 * q, sq_hi = 0x404 + 0x40 * q;
  const uint32_t cq_lo = 0x408 + 0x40 * q, pv_lo = 0x410 + 0x40 * q;
  EXPECT_EQ(regs::kQCtrlAt(q), ctrl);
  // While disabled, aligned bases are taken; a misaligned one is refused with its offset.
  ASSERT_TRUE(d.write(sq_lo, 0x1000).ok());
  ASSERT_TRUE(d.write(sq_hi, 0x2).ok());
  ASSERT_TRUE(d.write(cq_lo, 0x2010).ok());
  EXPECT_TRUE(d.write(pv_lo, 0x3020).ok()) << "a refused write is still OKAY on the bus";
  EXPECT_EQ(*d.error_status(), kQcfgBit);
  EXPECT_EQ(*d.error_addr(), pv_lo);
  EXPECT_EQ(*d.read(pv_lo), 0u);
  EXPECT_EQ(*d.read(sq_lo), 0x1000u);
  EXPECT_EQ(*d.read(sq_hi), 0x2u);
  EXPECT_EQ(*d.read(cq_lo), 0x2010u);
  ASSERT_TRUE(d.clear_errors(0xFFFFFFFF).ok());
  // Enable needs SIZE_LOG2 in 1..12 and no reserved bits.
  for (uint32_t bad : {0x0001u, 0x0D01u, 0x0F01u, 0x0401u | (1u << 20), 0x0004u}) {
    ASSERT_TRUE(d.write(ctrl, bad).ok());
    EXPECT_EQ(*d.error_status(), kQcfgBit) << std::hex << bad;
    EXPECT_EQ(*d.read(ctrl), 0u) << std::hex << bad;
    ASSERT_TRUE(d.clear_errors(0xFFFFFFFF).ok());
  }
  ASSERT_TRUE(d.write(ctrl, 0x0C03).ok());  // 4096 entries, provenance on
  EXPECT_EQ(*d.read(ctrl), 0x0C03u);
  ASSERT_TRUE(d.write(ctrl, 0x0C03).ok());  // unchanged: a no-op
  EXPECT_EQ(*d.error_status(), 0u);
  ASSERT_TRUE(d.write(ctrl, 0x0C01).ok());  // PROV_EN changes only while disabled
  ASSERT_TRUE(d.write(sq_hi, 0x5).ok());    // bases too
  EXPECT_EQ(*d.error_status(), kQcfgBit);
  EXPECT_EQ(*d.error_addr(), ctrl);
  EXPECT_EQ(*d.read(ctrl), 0x0C03u);
  EXPECT_EQ(*d.read(sq_hi), 0x2u);
  // ENABLE = 0 disables at once, with the write's other fields.
  ASSERT_TRUE(d.write(ctrl, 0x0100).ok());
  EXPECT_EQ(*d.read(ctrl), 0x0100u);
  EXPECT_EQ(*d.read(regs::kQStatusAt(q)), 0u);
  EXPECT_EQ(*d.read(regs::kQCplCountAt(q)), 0u);
}

TEST(MockQueues, Doorbells) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  Device& d = *o.dev;
  const uint32_t sq_db = 0x1000 + 8 * 5, cq_db = 0x1004 + 8 * 5;
  EXPECT_EQ(regs::kSqTailDbAt(5), sq_db);
  EXPECT_EQ(regs::kCqHeadDbAt(5), cq_db);
  ASSERT_TRUE(d.write(sq_db, 0).ok());  // queue disabled
  EXPECT_EQ(*d.error_status(), kBadDoorbellBit);
  EXPECT_EQ(*d.error_addr(), sq_db);
  ASSERT_TRUE(d.clear_errors(0xFFFFFFFF).ok());
  ASSERT_TRUE(d.write(regs::kQCtrlAt(5), 0x0301).ok());  // 8 entries
  ASSERT_TRUE(d.write(sq_db, 7).ok());
  ASSERT_TRUE(d.write(cq_db, 0).ok());
  EXPECT_EQ(*d.error_status(), 0u);
  EXPECT_EQ(*d.read(sq_db), 0u) << "doorbells read 0";
  for (uint32_t bad : {8u, 0xFFFFu, 0x10000u, 0x80000003u}) {
    ASSERT_TRUE(d.write(cq_db, bad).ok());
    EXPECT_EQ(*d.error_status(), kBadDoorbellBit) << std::hex << bad;
    EXPECT_EQ(*d.error_addr(), cq_db);
    ASSERT_TRUE(d.clear_errors(0xFFFFFFFF).ok());
  }
  // Past the last queue: unmapped.
  EXPECT_EQ(d.write(0x1000 + 8 * 8, 0).code(), ErrorCode::kBusDecErr);
}

TEST(MockQueues, MsixTableCoalescingAndCounters) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  Device& d = *o.dev;
  for (unsigned v = 0; v < 8; ++v) {
    EXPECT_EQ(*d.read(0x200C + 16 * v), 1u) << "vector " << v << " masked at reset";
  }
  ASSERT_TRUE(d.write(0x2000 + 16 * 6, 0xFEE00000).ok());
  ASSERT_TRUE(d.write(0x2004 + 16 * 6, 0x1).ok());
  ASSERT_TRUE(d.write(0x2008 + 16 * 6, 0xABCD).ok());
  ASSERT_TRUE(d.write(0x200C + 16 * 6, 0xFFFFFFFE).ok());
  EXPECT_EQ(*d.read(0x2000 + 16 * 6), 0xFEE00000u);
  EXPECT_EQ(*d.read(0x2004 + 16 * 6), 0x1u);
  EXPECT_EQ(*d.read(0x2008 + 16 * 6), 0xABCDu);
  EXPECT_EQ(*d.read(0x200C + 16 * 6), 0u) << "only MASK is stored";
  ASSERT_TRUE(d.write(0x200C + 16 * 6, 0x80000001).ok());
  EXPECT_EQ(*d.read(0x200C + 16 * 6), 1u);
  EXPECT_EQ(*d.read(0x3000), 0u);  // MSIX_PBA: nothing fired
  EXPECT_EQ(d.write(0x3000, 0).code(), ErrorCode::kBusSlvErr);
  ASSERT_TRUE(d.write(0x41C + 0x40 * 6, 0x00010004).ok());  // Q_COAL
  EXPECT_EQ(*d.read(0x41C + 0x40 * 6), 0x00010004u);
  EXPECT_EQ(*d.read(0x428 + 0x40 * 6), 0u);  // Q_IRQ_COUNT
  for (unsigned i = 0; i < 5; ++i) {
    EXPECT_EQ(*d.read(0x080 + 4 * i), 0u);  // HINT_COUNT
  }
  EXPECT_EQ(*d.error_status(), 1u << 3) << "only the PBA write (RO_WRITE)";
}

TEST(MockQueues, TimeClockAndCapabilities) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  Device& d = *o.dev;
  EXPECT_EQ(*d.clock_hz(), 250'000'000u);
  const uint32_t t0 = *d.read(regs::kTimeLo);
  const uint32_t t1 = *d.read(regs::kTimeLo);
  EXPECT_GT(t1, t0) << "TIME is free-running";
  EXPECT_EQ(*d.read(regs::kTimeHi), 0u);
  auto info = d.info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->capabilities, 0x3u) << "STEP and HIF, as kvcpu_core reports";
}

TEST(Bar0ModelTest, HostMemoryErrorsHaveNoOffset) {
  Bar0Model m({});
  m.host_memory_error(false);
  EXPECT_EQ(m.read(regs::kErrStatus).data, 1u << 8);
  EXPECT_EQ(m.read(regs::kErrAddr).data, 0xFFFFFFFFu);
  m.write(regs::kErrStatus, 0xFFFFFFFF);
  m.read(0x2);  // the first error since all-clear sets ERR_ADDR
  m.host_memory_error(true);
  EXPECT_EQ(m.read(regs::kErrStatus).data, (1u << 9) | (1u << 1));
  EXPECT_EQ(m.read(regs::kErrAddr).data, 0x2u);
}

TEST(DeviceInfoTest, DecodesFields) {
  auto o = open_mock([](MockTransport& m) {
    m.poke(kVersionReg, 0x00020003u);
    m.poke(regs::kCapabilities, 0x21);
    m.poke(regs::kGitHash, 0xDEADBEEF);
    m.poke(regs::kBuildDate, 0x20250314);
    m.poke(regs::kBoardId, 0x102);
  });
  ASSERT_TRUE(o.dev);
  auto info = o.dev->info();
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->vendor, 0x1DE5);
  EXPECT_EQ(info->device, 0x0A10);
  EXPECT_EQ(info->version_major, 0);
  EXPECT_EQ(info->version_minor, 2);
  EXPECT_EQ(info->version_patch, 3);
  EXPECT_EQ(info->capabilities, 0x21u);
  EXPECT_EQ(info->git_hash, 0xDEADBEEFu);
  EXPECT_EQ(info->build_date, 0x20250314u);
  EXPECT_EQ(info->board, 2);
  EXPECT_TRUE(info->dirty);
}

TEST(DeviceInfoTest, ErrorPropagates) {
  auto o = open_mock();
  ASSERT_TRUE(o.dev);
  o.mock->inject_error(regs::kGitHash, Status(ErrorCode::kBusDecErr, "x"));
  EXPECT_EQ(o.dev->info().status().code(), ErrorCode::kBusDecErr);
}

TEST(DeviceMove, MovedFromDeviceRefusesCalls) {
  auto d = Device::open("mock:");
  ASSERT_TRUE(d.ok());
  Device a = std::move(*d);
  EXPECT_TRUE(a.step().ok());
  Device b = std::move(a);
  EXPECT_TRUE(b.step().ok());
  EXPECT_EQ(a.step().status().code(),
            ErrorCode::kInvalidArgument);  // NOLINT(bugprone-use-after-move)
}

TEST(DeviceThreads, ConcurrentAdvancesAllCount) {
  auto d = Device::open("mock:");
  ASSERT_TRUE(d.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        EXPECT_TRUE(d->step_advance(1).ok());
        EXPECT_TRUE(d->step().ok());
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(*d->step(), 4000u);
  EXPECT_EQ(*d->step_count(), 4000u);
}

TEST(StatusTest, ToStringAndResult) {
  EXPECT_EQ(Status().to_string(), "ok");
  Status s(ErrorCode::kBusSlvErr, "write at 0x000");
  EXPECT_EQ(s.to_string(), "bus error (SLVERR): write at 0x000");
  Result<int> r = s;
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), s);
  EXPECT_EQ(r.value_or(3), 3);
  Result<int> bad = Status();  // an OK status is not a value
  EXPECT_EQ(bad.status().code(), ErrorCode::kInternal);
  Result<std::string> v = std::string("x");
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v->size(), 1u);
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    EXPECT_NE(to_string(static_cast<ErrorCode>(c)), "unknown error");
  }
}

}  // namespace
}  // namespace kvcpu
