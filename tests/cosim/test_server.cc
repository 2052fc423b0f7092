// kvcpu-cosim end to end: spawns the real server binary per test and talks raw protocol
// bytes to it over its socket, using only the kvcpu_proto codec.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cosim_process.h"
#include "kvcpu_proto.h"

namespace kvcpu::proto {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr uint32_t kIdOffset = 0x000;
constexpr uint32_t kIdValue = 0x0A101DE5;
constexpr uint32_t kScratch = 0x018;
constexpr uint32_t kStepLo = 0x020;
constexpr uint32_t kStepInc = 0x028;
constexpr uint32_t kBarSize = 0x10000;

// One reply as it came off the wire.
struct Reply {
  Header header;
  SimTime time;
  std::vector<uint8_t> body;  // after the SimTime prefix
  bool error() const { return (header.flags & kFlagError) != 0; }
  ErrorCode code() const {
    auto e = decode_error(body);
    return e ? e->code : ErrorCode::kNone;
  }
  std::string message() const {
    auto e = decode_error(body);
    return e ? e->message : std::string();
  }
};

// A blocking client socket with a receive timeout; tracks that sim time never goes back.
class Client {
 public:
  Client(const std::string& path, uint64_t* last_time) : last_time_(last_time) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  void send_raw(std::span<const uint8_t> bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << std::strerror(errno);
      off += static_cast<size_t>(n);
    }
  }
  void send_header(const Header& h) {
    uint8_t b[kHeaderSize];
    encode_header(h, b);
    send_raw(b);
  }
  void send(MsgType t, const std::vector<uint8_t>& body) {
    send_raw(encode_request(t, ++seq_, body));
  }
  uint32_t seq() const { return seq_; }

  // Reads exactly n bytes; false on EOF, reset or timeout.
  bool read_exact(uint8_t* p, size_t n) {
    size_t off = 0;
    while (off < n) {
      ssize_t r = ::recv(fd_, p + off, n - off, 0);
      if (r <= 0) {
        return false;
      }
      off += static_cast<size_t>(r);
    }
    return true;
  }

  std::optional<Reply> recv() {
    std::array<uint8_t, kHeaderSize> hb{};
    if (!read_exact(hb.data(), hb.size())) {
      return std::nullopt;
    }
    Reply r;
    r.header = decode_header(hb);
    EXPECT_EQ(check_reply_header(r.header), ErrorCode::kNone);
    std::vector<uint8_t> payload(r.header.length);
    if (!read_exact(payload.data(), payload.size())) {
      return std::nullopt;
    }
    auto t = decode_sim_time(payload);
    EXPECT_TRUE(t.has_value());
    if (t) {
      r.time = *t;
      EXPECT_GE(t->time_ps, *last_time_) << "sim time went backwards";
      *last_time_ = t->time_ps;
    }
    r.body.assign(payload.begin() + static_cast<std::ptrdiff_t>(kReplyPrefixSize), payload.end());
    return r;
  }

  // True when the server closed the connection (EOF, or a reset because it closed with
  // bytes of ours unread). False when data arrived or the read timed out.
  bool at_eof() {
    uint8_t b;
    ssize_t r = ::recv(fd_, &b, 1, 0);
    return r == 0 || (r < 0 && errno == ECONNRESET);
  }

  std::optional<HelloReply> hello(uint16_t major = kVersionMajor) {
    std::vector<uint8_t> b;
    encode(Hello{major, kVersionMinor}, b);
    send(MsgType::kHello, b);
    auto r = recv();
    if (!r || r->error()) {
      return std::nullopt;
    }
    return decode_hello_reply(r->body);
  }
  std::optional<MmioReadReply> read(uint32_t offset, uint32_t bar = 0) {
    std::vector<uint8_t> b;
    encode(MmioRead{bar, offset}, b);
    send(MsgType::kMmioRead, b);
    auto r = recv();
    if (!r || r->error() || r->header.seq != seq_) {
      return std::nullopt;
    }
    return decode_mmio_read_reply(r->body);
  }
  std::optional<MmioWriteReply> write(uint32_t offset, uint32_t data, uint32_t strb = 0xF) {
    std::vector<uint8_t> b;
    encode(MmioWrite{0, offset, data, strb}, b);
    send(MsgType::kMmioWrite, b);
    auto r = recv();
    if (!r || r->error() || r->header.seq != seq_) {
      return std::nullopt;
    }
    return decode_mmio_write_reply(r->body);
  }
  void post(uint32_t offset, uint32_t data) {
    std::vector<uint8_t> b;
    encode(MmioWrite{0, offset, data, 0xF}, b);
    send(MsgType::kMmioWritePosted, b);
  }
  std::optional<Stats> stats() {
    send(MsgType::kStats, {});
    auto r = recv();
    if (!r || r->error()) {
      return std::nullopt;
    }
    return decode_stats(r->body);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  uint32_t seq_ = 0;
  uint64_t* last_time_;
};

// Exit code from waitpid's status word: -1 when it did not exit in time, -2 when a signal
// ended it.
int exit_code(int status) {
  if (status == -1) {
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

// Runs the server binary with `args`, stderr to `err_path`; fails the test if it cannot.
std::optional<kvcpu::CosimProcess> spawn_server(const std::vector<std::string>& args,
                                                const std::string& err_path) {
  std::string err;
  auto p = kvcpu::CosimProcess::spawn(KVCPU_COSIM_BIN, args, err_path, &err);
  EXPECT_TRUE(p.has_value()) << err;
  return p;
}

class CosimServer : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kvcpu-cosim-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sock_ = dir_ + "/dev.sock";
  }
  void TearDown() override {
    server_.reset();  // kill and reap before the directory goes
    if (HasFailure()) {
      std::ifstream f(dir_ + "/stderr.0");
      std::stringstream ss;
      ss << f.rdbuf();
      std::printf("server stderr:\n%s\n", ss.str().c_str());
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--socket", sock_};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = spawn_server(args, dir_ + "/stderr.0");
    ASSERT_TRUE(p.has_value());
    server_.emplace(std::move(*p));
    ASSERT_EQ(server_->first_line(10s), "kvcpu-cosim: listening on " + sock_);
  }

  std::unique_ptr<Client> client() { return std::make_unique<Client>(sock_, &last_time_); }
  std::unique_ptr<Client> attached() {
    auto c = client();
    EXPECT_TRUE(c->connected());
    EXPECT_TRUE(c->hello().has_value());
    return c;
  }

  // Sends a header (and optional body) as the first message after HELLO or instead of it;
  // expects an error reply with `code`, echoing type and seq, then the connection closed.
  void expect_fatal(Client& c, const Header& h, std::span<const uint8_t> body, ErrorCode code) {
    // One send: the server may answer (and close) as soon as it has seen the header.
    std::vector<uint8_t> bytes(kHeaderSize);
    encode_header(h, bytes.data());
    bytes.insert(bytes.end(), body.begin(), body.end());
    c.send_raw(bytes);
    auto r = c.recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->error());
    EXPECT_EQ(r->code(), code) << r->message();
    EXPECT_EQ(r->header.type, h.type);
    EXPECT_EQ(r->header.seq, h.seq);
    EXPECT_FALSE(r->message().empty());
    EXPECT_TRUE(c.at_eof());
  }

  std::string dir_;
  std::string sock_;
  uint64_t last_time_ = 0;
  std::optional<kvcpu::CosimProcess> server_;
};

TEST_F(CosimServer, HandshakeReportsTheDevice) {
  start();
  auto c = client();
  ASSERT_TRUE(c->connected());
  auto h = c->hello();
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->major, kVersionMajor);
  EXPECT_EQ(h->minor, kVersionMinor);
  EXPECT_EQ(h->vendor_id, 0x1DE5);
  EXPECT_EQ(h->device_id, 0x0A10);
  EXPECT_EQ(h->bar0_size, kBarSize);
  EXPECT_EQ(h->clock_period_ps, 4000u);
}

TEST_F(CosimServer, ReadsIdRegister) {
  start();
  auto c = attached();
  auto r = c->read(kIdOffset);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data, kIdValue);
  EXPECT_EQ(r->resp, Resp::kOkay);
}

TEST_F(CosimServer, ScratchWriteReadBack) {
  start();
  auto c = attached();
  for (uint32_t v : {0xDEADBEEFu, 0x12345678u, 0u}) {
    auto w = c->write(kScratch, v);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->resp, Resp::kOkay);
    auto r = c->read(kScratch);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->data, v);
  }
  // The strobe reaches the device: BAR0 rejects partial writes with SLVERR, unchanged.
  ASSERT_TRUE(c->write(kScratch, 0x11223344));
  auto w = c->write(kScratch, 0xAABBCCDD, 0x2);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->resp, Resp::kSlvErr);
  EXPECT_EQ(c->read(kScratch)->data, 0x11223344u);
  EXPECT_EQ(c->stats()->bus_errors, 1u);
}

TEST_F(CosimServer, PostedWritesAreSeenByLaterReads) {
  start();
  auto c = attached();
  for (int i = 0; i < 100; ++i) {
    c->post(kStepInc, 1);
  }
  auto r = c->read(kStepLo);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data, 100u);
  auto s = c->stats();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->posted_writes, 100u);
}

TEST_F(CosimServer, UnmappedReadsAnswerDecerr) {
  start();
  auto c = attached();
  auto r = c->read(kBarSize);  // beyond the BAR: the server answers itself
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->resp, Resp::kDecErr);
  auto r2 = c->read(0x8000);  // inside the BAR, no register: the device answers
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->resp, Resp::kDecErr);
  auto w = c->write(0xFFFF'FFF0u, 1);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->resp, Resp::kDecErr);
  EXPECT_EQ(c->read(kIdOffset)->data, kIdValue);  // still open
}

TEST_F(CosimServer, BadBarIsAnErrorButKeepsTheConnection) {
  start();
  auto c = attached();
  std::vector<uint8_t> b;
  encode(MmioRead{1, 0}, b);
  c->send(MsgType::kMmioRead, b);
  auto r = c->recv();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->error());
  EXPECT_EQ(r->code(), ErrorCode::kBadBar);
  EXPECT_EQ(r->header.seq, c->seq());
  b.clear();
  encode(MmioWrite{2, 0, 0, 0xF}, b);
  c->send(MsgType::kMmioWritePosted, b);
  r = c->recv();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->code(), ErrorCode::kBadBar);
  EXPECT_EQ(r->header.type, static_cast<uint16_t>(MsgType::kMmioWritePosted));
  EXPECT_EQ(c->read(kIdOffset)->data, kIdValue);
}

TEST_F(CosimServer, BadMagicIsFatal) {
  start();
  auto c = attached();
  Header h;
  h.magic = 0x12345678;
  h.type = static_cast<uint16_t>(MsgType::kMmioRead);
  h.seq = 42;
  h.length = 8;
  expect_fatal(*c, h, {}, ErrorCode::kBadMagic);
}

TEST_F(CosimServer, OversizedLengthIsFatal) {
  start();
  auto c = attached();
  Header h;
  h.type = static_cast<uint16_t>(MsgType::kMmioWrite);
  h.seq = 7;
  h.length = static_cast<uint32_t>(kMaxPayload + 1);
  expect_fatal(*c, h, {}, ErrorCode::kBadLength);
}

TEST_F(CosimServer, WrongLengthIsFatal) {
  start();
  auto c = client();
  Header h;
  h.type = static_cast<uint16_t>(MsgType::kHello);
  h.seq = 1;
  h.length = 3;
  const uint8_t body[3] = {1, 0, 0};
  expect_fatal(*c, h, body, ErrorCode::kBadLength);
}

TEST_F(CosimServer, UndecodableBodyIsFatal) {
  start();
  auto c = attached();
  std::vector<uint8_t> b;
  encode(MmioWrite{0, kScratch, 1, 0x1F}, b);  // strobe beyond four lanes
  Header h;
  h.type = static_cast<uint16_t>(MsgType::kMmioWrite);
  h.seq = 9;
  h.length = static_cast<uint32_t>(b.size());
  expect_fatal(*c, h, b, ErrorCode::kBadLength);
}

TEST_F(CosimServer, UnknownTypeIsFatal) {
  start();
  auto c = attached();
  Header h;
  h.type = 99;
  h.seq = 3;
  expect_fatal(*c, h, {}, ErrorCode::kBadType);
}

TEST_F(CosimServer, FlagsOnRequestAreFatal) {
  start();
  auto c = attached();
  Header h;
  h.type = static_cast<uint16_t>(MsgType::kStats);
  h.flags = kFlagReply;
  h.seq = 5;
  expect_fatal(*c, h, {}, ErrorCode::kBadFlags);
}

TEST_F(CosimServer, UnknownMajorVersionIsRefused) {
  start();
  auto c = client();
  std::vector<uint8_t> b;
  encode(Hello{static_cast<uint16_t>(kVersionMajor + 1), 0}, b);
  c->send(MsgType::kHello, b);
  auto r = c->recv();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->code(), ErrorCode::kBadVersion);
  EXPECT_NE(r->message().find("1.0"), std::string::npos) << r->message();
  EXPECT_TRUE(c->at_eof());
}

TEST_F(CosimServer, HelloMustComeFirstAndOnce) {
  start();
  {
    auto c = client();
    std::vector<uint8_t> b;
    encode(MmioRead{0, 0}, b);
    Header h;
    h.type = static_cast<uint16_t>(MsgType::kMmioRead);
    h.seq = 11;
    h.length = 8;
    expect_fatal(*c, h, b, ErrorCode::kNotHello);
  }
  {
    auto c = attached();
    std::vector<uint8_t> b;
    encode(Hello{}, b);
    Header h;
    h.type = static_cast<uint16_t>(MsgType::kHello);
    h.seq = 12;
    h.length = 4;
    expect_fatal(*c, h, b, ErrorCode::kNotHello);
  }
}

TEST_F(CosimServer, ClientClosingMidHeaderDoesNotHurtTheNext) {
  start();
  {
    auto c = attached();
    const uint8_t partial[7] = {'K', 'V', 'C', 'S', 2, 0, 0};
    c->send_raw(partial);
  }
  auto c = attached();
  EXPECT_EQ(c->read(kIdOffset)->data, kIdValue);
}

TEST_F(CosimServer, ClientClosingMidPayloadDoesNotHurtTheNext) {
  start();
  {
    auto c = attached();
    std::vector<uint8_t> b;
    encode(MmioWrite{0, kScratch, 0x55, 0xF}, b);
    auto msg = encode_request(MsgType::kMmioWrite, 1, b);
    c->send_raw(std::span(msg).first(kHeaderSize + 5));
  }
  auto c = attached();
  auto r = c->read(kScratch);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data, 0u);  // the incomplete write was never executed
}

TEST_F(CosimServer, PostedWritesOfADepartedClientAreNotLost) {
  start();
  for (int round = 1; round <= 5; ++round) {
    {
      auto c = attached();
      for (int i = 0; i < 20; ++i) {
        c->post(kStepInc, 1);
      }
    }  // closes without waiting for anything
    auto next = attached();
    auto r = next->read(kStepLo);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->data, 20u * round);
  }
  auto c = attached();
  EXPECT_EQ(c->stats()->busy_refusals, 0u);
}

TEST_F(CosimServer, StallMidMessageTimesOut) {
  start({"--msg-timeout-ms", "200"});
  auto c = attached();
  // Idle between messages has no timeout.
  std::this_thread::sleep_for(350ms);
  ASSERT_TRUE(c->read(kIdOffset).has_value());
  Header h;
  h.type = static_cast<uint16_t>(MsgType::kMmioRead);
  h.seq = 77;
  h.length = 8;
  const auto t0 = std::chrono::steady_clock::now();
  c->send_header(h);  // and never the payload
  auto r = c->recv();
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->code(), ErrorCode::kTimeout);
  EXPECT_EQ(r->header.seq, 77u);
  EXPECT_GE(waited, 150ms);  // never early; an upper bound is the ctest timeout's job
  EXPECT_TRUE(c->at_eof());
  auto next = attached();
  EXPECT_EQ(next->read(kIdOffset)->data, kIdValue);
}

TEST_F(CosimServer, SecondClientIsBusyFirstUnaffected) {
  start();
  auto first = attached();
  ASSERT_TRUE(first->write(kScratch, 0xCAFE));
  auto second = client();
  ASSERT_TRUE(second->connected());
  auto r = second->recv();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->error());
  EXPECT_EQ(r->code(), ErrorCode::kBusy);
  EXPECT_EQ(r->header.type, static_cast<uint16_t>(MsgType::kHello));
  EXPECT_EQ(r->header.seq, 0u);
  EXPECT_NE(r->message().find("busy"), std::string::npos) << r->message();
  EXPECT_TRUE(second->at_eof());
  EXPECT_EQ(first->read(kScratch)->data, 0xCAFEu);
  auto s = first->stats();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->busy_refusals, 1u);
  EXPECT_EQ(s->clients, 1u);
  // Once the first leaves, the next one is served (and sees the device state).
  first.reset();
  auto third = attached();
  EXPECT_EQ(third->read(kScratch)->data, 0xCAFEu);
}

TEST_F(CosimServer, SocketIsOwnerOnly) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(sock_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CosimServer, StaleSocketIsReplaced) {
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock_.c_str(), sizeof(a.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);  // the file stays, nobody listens
  }
  ASSERT_TRUE(fs::exists(sock_));
  start();
  auto c = attached();
  EXPECT_EQ(c->read(kIdOffset)->data, kIdValue);
}

TEST_F(CosimServer, SecondServerOnLivePathExitsOne) {
  start();
  auto other = spawn_server({"--socket", sock_}, dir_ + "/stderr.1");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(exit_code(other->wait(5s)), 1);
  std::ifstream f(dir_ + "/stderr.1");
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("already in use"), std::string::npos) << ss.str();
  // The first server still owns its socket.
  ASSERT_TRUE(fs::exists(sock_));
  auto c = attached();
  EXPECT_EQ(c->read(kIdOffset)->data, kIdValue);
}

TEST_F(CosimServer, BadCommandLineExitsTwo) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{},
                                             {"--socket"},
                                             {"--socket", sock_, "--bogus"},
                                             {"--socket", sock_, "--msg-timeout-ms", "x"}}) {
    auto p = spawn_server(args, dir_ + "/stderr.1");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(exit_code(p->wait(5s)), 2);
  }
  EXPECT_FALSE(fs::exists(sock_));
}

TEST_F(CosimServer, ShutdownExitsCleanly) {
  start();
  auto c = attached();
  c->send(MsgType::kShutdown, {});
  auto r = c->recv();
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->error());
  EXPECT_EQ(r->header.type, static_cast<uint16_t>(MsgType::kShutdown));
  EXPECT_EQ(exit_code(server_->wait(5s)), 0);
  EXPECT_FALSE(fs::exists(sock_));
}

TEST_F(CosimServer, SigtermExitsCleanly) {
  start();
  auto c = attached();
  ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
  EXPECT_EQ(exit_code(server_->wait(5s)), 0);
  EXPECT_FALSE(fs::exists(sock_));
  EXPECT_TRUE(c->at_eof());
}

TEST_F(CosimServer, StatsCountersMove) {
  start();
  {
    auto c = attached();
    ASSERT_TRUE(c->read(kIdOffset));
    ASSERT_TRUE(c->read(kScratch));
    ASSERT_TRUE(c->write(kScratch, 1));
    c->post(kStepInc, 1);
    c->post(kStepInc, 2);
    c->post(kStepInc, 3);
    EXPECT_EQ(c->read(kStepLo)->data, 6u);
    EXPECT_EQ(c->read(kBarSize + 4)->resp, Resp::kDecErr);
    c->send(MsgType::kReset, {});
    auto r = c->recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->error());
    EXPECT_EQ(c->read(kScratch)->data, 0u);  // reset cleared it
    auto s = c->stats();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->mmio_reads, 5u);
    EXPECT_EQ(s->mmio_writes, 1u);
    EXPECT_EQ(s->posted_writes, 3u);
    EXPECT_EQ(s->bus_errors, 1u);
    EXPECT_EQ(s->protocol_errors, 0u);
    EXPECT_EQ(s->clients, 1u);
    EXPECT_EQ(s->busy_refusals, 0u);
    EXPECT_EQ(s->resets, 1u);
  }
  {
    auto c = client();
    Header h;
    h.type = static_cast<uint16_t>(MsgType::kStats);
    h.flags = 0x8000;
    expect_fatal(*c, h, {}, ErrorCode::kBadFlags);
  }
  auto c = attached();
  auto s = c->stats();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->protocol_errors, 1u);
  EXPECT_EQ(s->clients, 3u);
  EXPECT_EQ(s->mmio_reads, 5u);
}

TEST_F(CosimServer, PipelinedRequestsAreAnsweredInOrder) {
  start();
  auto c = attached();
  std::vector<uint8_t> all;
  for (uint32_t i = 1; i <= 50; ++i) {
    std::vector<uint8_t> b;
    encode(MmioWrite{0, kScratch, i, 0xF}, b);
    auto w = encode_request(MsgType::kMmioWrite, 2 * i, b);
    all.insert(all.end(), w.begin(), w.end());
    b.clear();
    encode(MmioRead{0, kScratch}, b);
    auto r = encode_request(MsgType::kMmioRead, 2 * i + 1, b);
    all.insert(all.end(), r.begin(), r.end());
  }
  c->send_raw(all);
  uint64_t last_cycle = 0;
  for (uint32_t i = 1; i <= 50; ++i) {
    auto w = c->recv();
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->header.seq, 2 * i);
    auto r = c->recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->header.seq, 2 * i + 1);
    EXPECT_EQ(decode_mmio_read_reply(r->body)->data, i);
    EXPECT_GT(r->time.cycle, last_cycle);
    last_cycle = r->time.cycle;
  }
}

}  // namespace
}  // namespace kvcpu::proto
