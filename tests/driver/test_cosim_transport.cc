// CosimTransport against a scripted fake server on a socketpair (or a temp AF_UNIX
// listener): every failure mode must give the right Status, and nothing may hang.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kvcpu/cosim_transport.h"
#include "kvcpu/device.h"
#include "kvcpu/regs.h"
#include "kvcpu_proto.h"

namespace kvcpu {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

constexpr CosimOptions kShort{std::chrono::milliseconds(2000)};

struct Request {
  proto::Header header;
  Bytes body;
};

// Server side of the connection, driven by a test script in its own thread.
class FakeServer {
 public:
  explicit FakeServer(int fd) : fd_(fd) {}
  ~FakeServer() { close(); }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  std::optional<Request> read_request() {
    uint8_t raw[proto::kHeaderSize];
    if (!read_all(raw, sizeof(raw))) {
      return std::nullopt;
    }
    Request r;
    r.header = proto::decode_header(std::span<const uint8_t, proto::kHeaderSize>(raw));
    if (proto::check_request_header(r.header) != proto::ErrorCode::kNone) {
      return std::nullopt;
    }
    r.body.resize(r.header.length);
    if (!read_all(r.body.data(), r.body.size())) {
      return std::nullopt;
    }
    return r;
  }

  void send(const Bytes& b) { send(b.data(), b.size()); }
  void send(const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (k <= 0) {
        return;
      }
      p += k;
      n -= static_cast<size_t>(k);
    }
  }

  void reply(const Request& req, const Bytes& body) {
    send(proto::encode_reply(static_cast<proto::MsgType>(req.header.type), req.header.seq,
                             proto::SimTime{1000, 1}, body));
  }

  // Reads HELLO and answers it.
  bool hello(uint16_t major = proto::kVersionMajor) {
    auto req = read_request();
    if (!req || req->header.type != static_cast<uint16_t>(proto::MsgType::kHello)) {
      return false;
    }
    Bytes body;
    proto::encode(proto::HelloReply{major, 0, 0x1DE5, 0x0A10, 65536, 10000}, body);
    reply(*req, body);
    return true;
  }

  void read_reply(const Request& req, uint32_t data, proto::Resp resp = proto::Resp::kOkay) {
    Bytes body;
    proto::encode(proto::MmioReadReply{data, resp}, body);
    reply(req, body);
  }

 private:
  bool read_all(uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t k = ::recv(fd_, p, n, 0);
      if (k <= 0) {
        return false;
      }
      p += k;
      n -= static_cast<size_t>(k);
    }
    return true;
  }
  int fd_;
};

// Runs `script` as the server of a fresh socketpair; the client end is adopted.
class CosimTransportTest : public ::testing::Test {
 protected:
  void start(std::function<void(FakeServer&)> script) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    client_fd_ = sv[0];
    server_ = std::make_unique<FakeServer>(sv[1]);
    thread_ = std::thread([this, script = std::move(script)] { script(*server_); });
  }

  Result<std::unique_ptr<CosimTransport>> adopt(CosimOptions opt = kShort) {
    return CosimTransport::adopt(client_fd_, "cosim:test", opt);
  }

  void TearDown() override {
    if (thread_.joinable()) {
      thread_.join();
    }
    server_.reset();
  }

  int client_fd_ = -1;
  std::unique_ptr<FakeServer> server_;
  std::thread thread_;
};

TEST_F(CosimTransportTest, HappyPathReadWritePostedAndBusErrors) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    auto r = s.read_request();  // read
    ASSERT_TRUE(r);
    auto rd = proto::decode_mmio_read(r->body);
    ASSERT_TRUE(rd);
    EXPECT_EQ(rd->offset, 0x18u);
    s.read_reply(*r, 0xCAFEF00D);
    r = s.read_request();  // acknowledged write -> SLVERR
    ASSERT_TRUE(r);
    Bytes body;
    proto::encode(proto::MmioWriteReply{proto::Resp::kSlvErr}, body);
    s.reply(*r, body);
    r = s.read_request();  // posted write: no reply
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header.type, static_cast<uint16_t>(proto::MsgType::kMmioWritePosted));
    auto w = proto::decode_mmio_write(r->body);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->offset, 0x28u);
    EXPECT_EQ(w->data, 5u);
    EXPECT_EQ(w->strb, 0xFu);
    r = s.read_request();  // read -> DECERR
    ASSERT_TRUE(r);
    s.read_reply(*r, 0, proto::Resp::kDecErr);
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->hello().vendor_id, 0x1DE5);
  auto v = (*t)->read32(0, 0x18);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(*v, 0xCAFEF00Du);
  EXPECT_EQ((*t)->sim_time().time_ps, 1000u);
  EXPECT_EQ((*t)->write32(0, 0x8, 1).code(), ErrorCode::kBusSlvErr);
  EXPECT_TRUE((*t)->write32_posted(0, 0x28, 5).ok());
  EXPECT_EQ((*t)->read32(0, 0x100).status().code(), ErrorCode::kBusDecErr);
  EXPECT_TRUE((*t)->alive()) << "bus errors keep the connection";
}

TEST_F(CosimTransportTest, WrongSeqIsProtocolErrorThenDead) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    auto r = s.read_request();
    ASSERT_TRUE(r);
    Request wrong = *r;
    wrong.header.seq += 1;
    s.read_reply(wrong, 1);
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  auto v = (*t)->read32(0, 0);
  EXPECT_EQ(v.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(v.status().message().find("seq"), std::string::npos);
  EXPECT_EQ((*t)->read32(0, 0).status().code(), ErrorCode::kConnection);
  EXPECT_EQ((*t)->write32_posted(0, 0, 0).code(), ErrorCode::kConnection);
  EXPECT_EQ((*t)->reset().code(), ErrorCode::kConnection);
}

TEST_F(CosimTransportTest, WrongTypeIsProtocolError) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    auto r = s.read_request();
    ASSERT_TRUE(r);
    Bytes body;
    proto::encode(proto::MmioWriteReply{}, body);
    s.send(proto::encode_reply(proto::MsgType::kMmioWrite, r->header.seq, {}, body));
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->read32(0, 0).status().code(), ErrorCode::kProtocol);
}

TEST_F(CosimTransportTest, TruncatedReplyThenClose) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    auto r = s.read_request();
    ASSERT_TRUE(r);
    Bytes body;
    proto::encode(proto::MmioReadReply{1, proto::Resp::kOkay}, body);
    Bytes msg = proto::encode_reply(proto::MsgType::kMmioRead, r->header.seq, {}, body);
    s.send(msg.data(), msg.size() - 3);
    s.close();
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok());
  auto v = (*t)->read32(0, 0);
  EXPECT_EQ(v.status().code(), ErrorCode::kConnection) << v.status().to_string();
  EXPECT_FALSE((*t)->alive());
  EXPECT_EQ((*t)->read32(0, 0).status().code(), ErrorCode::kConnection);
}

TEST_F(CosimTransportTest, TruncatedHeaderThenClose) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    ASSERT_TRUE(s.read_request());
    const uint8_t partial[5] = {'K', 'V', 'C', 'S', 0};
    s.send(partial, sizeof(partial));
    s.close();
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->write32(0, 0x18, 1).code(), ErrorCode::kConnection);
}

TEST_F(CosimTransportTest, BusyErrorReplyAtHello) {
  start([](FakeServer& s) {
    auto r = s.read_request();
    ASSERT_TRUE(r);
    s.send(proto::encode_error(proto::MsgType::kHello, r->header.seq, {},
                               {proto::ErrorCode::kBusy, "client 1 is attached"}));
    s.close();
  });
  auto t = adopt();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kBusy);
  EXPECT_NE(t.status().message().find("client 1 is attached"), std::string::npos);
}

// The real server refuses a second client before reading anything: the BUSY reply is
// already waiting and the socket is closed when the client sends HELLO (send fails with
// EPIPE). The client must still report BUSY, not a bare connection error.
TEST_F(CosimTransportTest, BusyErrorSentBeforeHelloAndClosed) {
  start([](FakeServer& s) {
    s.send(proto::encode_error(proto::MsgType::kHello, 0, {},
                               {proto::ErrorCode::kBusy, "client 1 is attached"}));
    s.close();
  });
  thread_.join();  // refusal sent and socket closed before the client speaks
  auto t = adopt();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kBusy) << t.status().to_string();
}

TEST_F(CosimTransportTest, BadVersionErrorReplyIsVersionMismatch) {
  start([](FakeServer& s) {
    auto r = s.read_request();
    ASSERT_TRUE(r);
    s.send(proto::encode_error(proto::MsgType::kHello, r->header.seq, {},
                               {proto::ErrorCode::kBadVersion, "speak 2.x"}));
  });
  auto t = adopt();
  EXPECT_EQ(t.status().code(), ErrorCode::kVersionMismatch);
}

TEST_F(CosimTransportTest, HelloReplyWithOtherMajorIsVersionMismatch) {
  start([](FakeServer& s) { ASSERT_TRUE(s.hello(proto::kVersionMajor + 1)); });
  auto t = adopt();
  EXPECT_EQ(t.status().code(), ErrorCode::kVersionMismatch);
}

TEST_F(CosimTransportTest, ErrorReplyMidSessionIsProtocolWithServerMessage) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    auto r = s.read_request();
    ASSERT_TRUE(r);
    s.send(proto::encode_error(proto::MsgType::kMmioRead, r->header.seq, {},
                               {proto::ErrorCode::kBadLength, "length 7 for MMIO_READ"}));
    s.close();
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok());
  auto v = (*t)->read32(0, 0);
  EXPECT_EQ(v.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(v.status().message().find("length 7 for MMIO_READ"), std::string::npos);
  EXPECT_EQ((*t)->read32(0, 0).status().code(), ErrorCode::kConnection);
}

TEST_F(CosimTransportTest, BadMagicReplyIsProtocolError) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    auto r = s.read_request();
    ASSERT_TRUE(r);
    Bytes body;
    proto::encode(proto::MmioReadReply{}, body);
    Bytes msg = proto::encode_reply(proto::MsgType::kMmioRead, r->header.seq, {}, body);
    msg[0] = 'X';
    s.send(msg);
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->read32(0, 0).status().code(), ErrorCode::kProtocol);
}

TEST_F(CosimTransportTest, ReservedRespInBodyIsProtocolError) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    auto r = s.read_request();
    ASSERT_TRUE(r);
    s.read_reply(*r, 0, static_cast<proto::Resp>(7));
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->read32(0, 0).status().code(), ErrorCode::kProtocol);
}

TEST_F(CosimTransportTest, ServerDisappearsMidCall) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    ASSERT_TRUE(s.read_request());
    s.close();  // request read, never answered
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->write32(0, 0x18, 1).code(), ErrorCode::kConnection);
  EXPECT_EQ((*t)->write32_posted(0, 0x18, 1).code(), ErrorCode::kConnection);
}

TEST_F(CosimTransportTest, PostedWriteToVanishedServerFails) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    s.close();
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok());
  thread_.join();  // the server end is closed now
  EXPECT_EQ((*t)->write32_posted(0, 0x28, 1).code(), ErrorCode::kConnection);
}

TEST_F(CosimTransportTest, SilentServerTimesOut) {
  std::promise<void> done;
  // Held by value: the script thread is joined in TearDown, after this body's locals die.
  std::shared_future<void> finished = done.get_future().share();
  start([finished](FakeServer& s) {
    ASSERT_TRUE(s.hello());
    ASSERT_TRUE(s.read_request());
    finished.wait_for(std::chrono::seconds(5));  // never answers
  });
  auto t = adopt(CosimOptions{});  // a slow (sanitizer) HELLO must not time out
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->set_timeout(std::chrono::milliseconds(100)).ok());
  auto begin = std::chrono::steady_clock::now();
  auto v = (*t)->read32(0, 0);
  auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(v.status().code(), ErrorCode::kTimeout) << v.status().to_string();
  EXPECT_GE(took, 80ms);  // never early; an upper bound is the ctest timeout's job
  EXPECT_EQ((*t)->read32(0, 0).status().code(), ErrorCode::kConnection);
  done.set_value();
}

TEST_F(CosimTransportTest, HostMemoryNeedsA11ServerAnd10StatsStillDecode) {
  start([](FakeServer& s) {
    ASSERT_TRUE(s.hello());  // a 1.0 server (HELLO minor 0)
    auto req = s.read_request();
    ASSERT_TRUE(req);
    ASSERT_EQ(req->header.type, static_cast<uint16_t>(proto::MsgType::kStats));
    Bytes body;
    proto::encode(proto::Stats{1, 2, 3, 4, 5, 6, 7, 8}, body, 0);
    ASSERT_EQ(body.size(), 64u);
    s.reply(*req, body);
    EXPECT_FALSE(s.read_request());  // nothing else was sent
  });
  auto t = adopt();
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  auto& tr = *t.value();
  EXPECT_EQ(tr.map_memory(0, 0x1000, 0x1000, 0).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(tr.unmap_memory(0x1000).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(tr.bind_irq(0, 0).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(tr.unbind_irq(0).code(), ErrorCode::kUnsupported);
  auto st = tr.stats();
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  EXPECT_EQ(st.value().resets, 8u);
  EXPECT_EQ(st.value().dma_read_bytes, 0u);
  EXPECT_TRUE(tr.alive());
  t.value().reset();  // closes: the script sees EOF
}

TEST(CosimConnect, MissingSocketIsConnectionError) {
  auto t = CosimTransport::connect("/nonexistent/kvcpu-test.sock", kShort);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kConnection);
  EXPECT_NE(t.status().message().find("/nonexistent/kvcpu-test.sock"), std::string::npos);
}

TEST(CosimConnect, TooLongPathIsInvalidArgument) {
  auto t = CosimTransport::connect("/tmp/" + std::string(200, 'x'), kShort);
  EXPECT_EQ(t.status().code(), ErrorCode::kInvalidArgument);
}

// Full path through Device::open("cosim:PATH") with a listener on a temp socket.
TEST(CosimConnect, DeviceOpensOverListenerSocket) {
  std::string path = "/tmp/kvcpu-test-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(lfd, 1), 0);
  std::thread server([lfd] {
    int fd = ::accept(lfd, nullptr, nullptr);
    ASSERT_GE(fd, 0);
    FakeServer s(fd);
    ASSERT_TRUE(s.hello());
    while (auto r = s.read_request()) {
      auto rd = proto::decode_mmio_read(r->body);
      ASSERT_TRUE(rd);
      uint32_t v = 0;
      if (rd->offset == regs::kId) {
        v = regs::kIdValue;
      } else if (rd->offset == regs::kVersion) {
        v = regs::kVersionValue;
      } else if (rd->offset == regs::kStepLo) {
        v = 7;
      } else if (rd->offset == regs::kStepHi) {
        v = 1;
      }
      s.read_reply(*r, v);
    }
  });
  OpenOptions opt;
  opt.cosim = kShort;
  {
    auto dev = Device::open("cosim:" + path, opt);
    ASSERT_TRUE(dev.ok()) << dev.status().to_string();
    EXPECT_EQ(dev->describe(), "cosim:" + path);
    auto step = dev->step();
    ASSERT_TRUE(step.ok()) << step.status().to_string();
    EXPECT_EQ(*step, (1ull << 32) | 7);
  }  // closing the device ends the server loop
  server.join();
  ::close(lfd);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace kvcpu
