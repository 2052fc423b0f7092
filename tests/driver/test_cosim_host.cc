// The transport's host-memory and interrupt calls (protocol 1.1) against the real
// kvcpu-cosim server: MEM_MAP/MEM_UNMAP/IRQ_BIND/IRQ_UNBIND with the fd over SCM_RIGHTS,
// refusals as kInvalidArgument on a connection that stays up, and the mock's defaults.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "cosim_process.h"
#include "kvcpu/cosim_transport.h"
#include "kvcpu/mock_transport.h"
#include "kvcpu_proto.h"

namespace kvcpu {
namespace {

class CosimHost : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    auto s = CosimProcess::start(KVCPU_COSIM_BIN, {"--quiet"}, &err);
    ASSERT_TRUE(s.has_value()) << err;
    server_.emplace(std::move(*s));
    auto t = CosimTransport::connect(server_->socket_path());
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    t_ = std::move(t).value();
    memfd_ = ::memfd_create("kvcpu-driver-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_GE(memfd_, 0);
    ASSERT_EQ(::ftruncate(memfd_, 0x4000), 0);
    efd_ = ::eventfd(0, EFD_CLOEXEC);
    ASSERT_GE(efd_, 0);
  }
  void TearDown() override {
    t_.reset();
    if (memfd_ >= 0) {
      ::close(memfd_);
    }
    if (efd_ >= 0) {
      ::close(efd_);
    }
  }

  std::optional<CosimProcess> server_;
  std::unique_ptr<CosimTransport> t_;
  int memfd_ = -1;
  int efd_ = -1;
};

TEST_F(CosimHost, SpeaksProtocol11) {
  EXPECT_EQ(t_->hello().major, proto::kVersionMajor);
  EXPECT_EQ(t_->hello().minor, proto::kVersionMinor);
  auto st = t_->stats();
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  EXPECT_EQ(st.value().clients, 1u);
  EXPECT_EQ(st.value().dma_refused, 0u);
  EXPECT_EQ(st.value().msix_delivered, 0u);
}

TEST_F(CosimHost, MapUnmapBindUnbind) {
  ASSERT_TRUE(t_->map_memory(memfd_, 0x100000, 0x2000, 0).ok());
  ASSERT_TRUE(t_->map_memory(memfd_, 0x200000, 0x2000, 0x2000).ok());
  ASSERT_TRUE(t_->bind_irq(0, efd_).ok());
  ASSERT_TRUE(t_->bind_irq(7, efd_).ok());
  ASSERT_TRUE(t_->unbind_irq(7).ok());
  ASSERT_TRUE(t_->unmap_memory(0x100000).ok());
  ASSERT_TRUE(t_->map_memory(memfd_, 0x100000, 0x4000, 0).ok());  // again, larger
  // The caller still owns its descriptors.
  EXPECT_GE(::fcntl(memfd_, F_GETFD), 0);
  uint64_t v = 1;
  EXPECT_EQ(::write(efd_, &v, sizeof v), static_cast<ssize_t>(sizeof v));
  EXPECT_EQ(t_->read32(0, 0x000).value(), 0x0A101DE5u);
}

TEST_F(CosimHost, RefusalsAreInvalidArgumentAndTheConnectionStays) {
  ASSERT_TRUE(t_->map_memory(memfd_, 0x100000, 0x2000, 0).ok());
  Status s = t_->map_memory(memfd_, 0x101000, 0x1000, 0);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("overlaps"), std::string::npos) << s.message();
  EXPECT_EQ(t_->map_memory(memfd_, 0x300000, 0x1000, 0x10000).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t_->map_memory(memfd_, 0x300001, 0x1000, 0).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t_->map_memory(memfd_, 0x300000, 0, 0).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t_->unmap_memory(0x101000).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t_->bind_irq(proto::kMaxIrqId, efd_).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t_->bind_irq(1, memfd_).code(), ErrorCode::kInvalidArgument);  // not an eventfd
  EXPECT_EQ(t_->unbind_irq(1).code(), ErrorCode::kInvalidArgument);
  // Rejected locally, nothing sent.
  EXPECT_EQ(t_->map_memory(-1, 0x300000, 0x1000, 0).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t_->bind_irq(1, -1).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(t_->alive());
  EXPECT_EQ(t_->read32(0, 0x000).value(), 0x0A101DE5u);
  auto st = t_->stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value().protocol_errors, 8u);
}

TEST(MockHost, HostMemoryAndInterruptsAreUnsupported) {
  MockTransport m;
  EXPECT_EQ(m.map_memory(3, 0x1000, 0x1000, 0).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(m.unmap_memory(0x1000).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(m.bind_irq(0, 3).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(m.unbind_irq(0).code(), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kvcpu
