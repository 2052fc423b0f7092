// End to end: the real kvcpu-cosim binary serving the verilated kvcpu_core, driven through
// libkvcpu's Device over the Unix socket — the path `make run` and users take.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "cosim_process.h"
#include "kvcpu/device.h"
#include "kvcpu/regs.h"
#include "kvcpu_build_info.h"
#include "kvcpu_proto.h"

namespace kvcpu {
namespace {

namespace p = proto;

class E2E : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    auto s = CosimProcess::start(KVCPU_COSIM_BIN, {"--msg-timeout-ms", "300"}, &err);
    ASSERT_TRUE(s.has_value()) << err;
    server_.emplace(std::move(*s));
  }

  Device open_device() {
    auto d = Device::open(server_->uri());
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return std::move(d).value();
  }

  // A raw client that speaks only part of the protocol, to misbehave on purpose.
  int raw_connect() {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, server_->socket_path().c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }

  std::optional<CosimProcess> server_;
};

TEST_F(E2E, InfoReportsIdentityAndBuild) {
  Device d = open_device();
  auto info = d.info();
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info.value().vendor, 0x1DE5);
  EXPECT_EQ(info.value().device, 0x0A10);
  EXPECT_EQ(info.value().version_major, regs::kMapVersionMajor);
  EXPECT_EQ(info.value().git_hash, build::git_hash());
  EXPECT_EQ(info.value().build_date, build::build_date());
  EXPECT_EQ(info.value().board, 0u);  // cosim
  EXPECT_TRUE(regs::kCapabilitiesStep.get(info.value().capabilities));
}

TEST_F(E2E, PostedStepAdvancesAreAllAppliedInOrder) {
  Device d = open_device();
  auto s0 = d.step();
  auto c0 = d.step_count();
  ASSERT_TRUE(s0.ok() && c0.ok());
  uint64_t sum = 0;
  for (uint32_t i = 1; i <= 500; ++i) {
    ASSERT_TRUE(d.step_advance(i).ok());
    sum += i;
  }
  auto s1 = d.step();  // the read follows every posted write on the same stream
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(s1.value() - s0.value(), sum);
  EXPECT_EQ(d.step_count().value() - c0.value(), 500u);
}

TEST_F(E2E, StepSetIs64BitAndRefusesToGoBack) {
  Device d = open_device();
  ASSERT_TRUE(d.step_set(0x1'0000'0005ull).ok());
  EXPECT_EQ(d.step().value(), 0x1'0000'0005ull);
  Status back = d.step_set(7);
  EXPECT_EQ(back.code(), ErrorCode::kInvalidArgument) << back.to_string();
  EXPECT_EQ(d.step().value(), 0x1'0000'0005ull);  // unchanged
  EXPECT_EQ(d.step_advance(0).code(), ErrorCode::kInvalidArgument);
}

TEST_F(E2E, BadAccessAnswersAndSetsErrorRegister) {
  Device d = open_device();
  ASSERT_TRUE(d.clear_errors(0xFFFFFFFF).ok());
  auto r = d.read(0x0FF0);
  EXPECT_EQ(r.status().code(), ErrorCode::kBusDecErr) << r.status().to_string();
  EXPECT_EQ(d.write(regs::kId, 1).code(), ErrorCode::kBusSlvErr);
  auto es = d.error_status();
  ASSERT_TRUE(es.ok());
  EXPECT_TRUE(regs::kErrStatusDecerr.get(es.value()));
  EXPECT_TRUE(regs::kErrStatusRoWrite.get(es.value()));
  EXPECT_EQ(d.error_addr().value(), 0x0FF0u);  // the first one
  ASSERT_TRUE(d.clear_errors(es.value()).ok());
  EXPECT_EQ(d.error_status().value(), 0u);
  // The device kept working throughout.
  ASSERT_TRUE(d.write(regs::kScratch, 0xA5A5F00D).ok());
  EXPECT_EQ(d.read(regs::kScratch).value(), 0xA5A5F00Du);
}

TEST_F(E2E, ReconnectAfterClientDropsMidMessage) {
  {
    Device d = open_device();
    ASSERT_TRUE(d.write(regs::kScratch, 42).ok());
  }
  // A client that says HELLO, starts a read and vanishes half-way through its header.
  int fd = raw_connect();
  std::vector<uint8_t> body;
  p::encode(p::Hello{}, body);
  auto hello = p::encode_request(p::MsgType::kHello, 1, body);
  ASSERT_EQ(write(fd, hello.data(), hello.size()), static_cast<ssize_t>(hello.size()));
  uint8_t reply[256];
  ASSERT_GT(read(fd, reply, sizeof reply), 0);
  std::vector<uint8_t> rb;
  p::encode(p::MmioRead{0, regs::kScratch}, rb);
  auto rd = p::encode_request(p::MsgType::kMmioRead, 2, rb);
  ASSERT_EQ(write(fd, rd.data(), 7), 7);
  close(fd);

  // The next driver attaches and finds the device state intact.
  Device d2 = open_device();
  EXPECT_EQ(d2.read(regs::kScratch).value(), 42u);
}

TEST_F(E2E, SecondClientIsToldBusyAndFirstKeepsWorking) {
  Device a = open_device();
  auto b = Device::open(server_->uri());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kBusy) << b.status().to_string();
  EXPECT_EQ(a.read(regs::kId).value(), regs::kIdValue);
}

TEST_F(E2E, StalledClientIsDroppedSoOthersCanAttach) {
  int fd = raw_connect();
  std::vector<uint8_t> body;
  p::encode(p::Hello{}, body);
  auto hello = p::encode_request(p::MsgType::kHello, 1, body);
  ASSERT_EQ(write(fd, hello.data(), 5), 5);  // and then nothing
  // Within the server's message timeout (300 ms here) the stalled client is cut off.
  Result<Device> d = Status(ErrorCode::kBusy, "not tried");
  for (int i = 0; i < 100 && !d.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    d = Device::open(server_->uri());
  }
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d.value().read(regs::kId).value(), regs::kIdValue);
  close(fd);
}

TEST_F(E2E, ResetRestoresRegisterDefaults) {
  Device d = open_device();
  ASSERT_TRUE(d.step_advance(9).ok());
  ASSERT_TRUE(d.write(regs::kScratch, 77).ok());
  ASSERT_TRUE(d.reset().ok());
  EXPECT_EQ(d.step().value(), 0u);
  EXPECT_EQ(d.read(regs::kScratch).value(), regs::kScratchReset);
}

TEST_F(E2E, ServerGoneGivesConnectionErrorNotHang) {
  Device d = open_device();
  server_->stop();
  auto r = d.read(regs::kId);
  EXPECT_EQ(r.status().code(), ErrorCode::kConnection) << r.status().to_string();
  EXPECT_EQ(d.read(regs::kId).status().code(), ErrorCode::kConnection);
}

}  // namespace
}  // namespace kvcpu
