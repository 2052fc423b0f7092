// kvcpu-cosim end to end: spawns the real server binary per test and talks raw protocol
// bytes to it over its socket, using only the kvcpu_proto codec.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
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
  // One sendmsg carrying the whole message and `fd` (SCM_RIGHTS).
  void send_with_fd(MsgType t, const std::vector<uint8_t>& body, int fd) {
    auto msg = encode_request(t, ++seq_, body);
    iovec iov{msg.data(), msg.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ASSERT_EQ(::sendmsg(fd_, &mh, MSG_NOSIGNAL), static_cast<ssize_t>(msg.size()))
        << std::strerror(errno);
  }
  // A 1.1 request with an empty reply; the reply (error or not), checked for seq and type.
  std::optional<Reply> host_call(MsgType t, const std::vector<uint8_t>& body, int fd = -1) {
    if (fd >= 0) {
      send_with_fd(t, body, fd);
    } else {
      send(t, body);
    }
    auto r = recv();
    if (r) {
      EXPECT_EQ(r->header.seq, seq_);
      EXPECT_EQ(r->header.type, static_cast<uint16_t>(t));
      if (!r->error()) {
        EXPECT_TRUE(r->body.empty());
      }
    }
    return r;
  }
  std::optional<Reply> mem_map(int fd, uint64_t iova, uint64_t size, uint64_t off = 0) {
    std::vector<uint8_t> b;
    encode(MemMap{iova, size, off}, b);
    return host_call(MsgType::kMemMap, b, fd);
  }
  std::optional<Reply> mem_unmap(uint64_t iova) {
    std::vector<uint8_t> b;
    encode(MemUnmap{iova}, b);
    return host_call(MsgType::kMemUnmap, b);
  }
  std::optional<Reply> irq_bind(uint32_t irq, int fd) {
    std::vector<uint8_t> b;
    encode(IrqBind{irq}, b);
    return host_call(MsgType::kIrqBind, b, fd);
  }
  std::optional<Reply> irq_unbind(uint32_t irq) {
    std::vector<uint8_t> b;
    encode(IrqBind{irq}, b);
    return host_call(MsgType::kIrqUnbind, b);
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
    EXPECT_EQ(check_reply_header(r.header, minor_), ErrorCode::kNone);
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

  std::optional<HelloReply> hello(uint16_t major = kVersionMajor, uint16_t minor = kVersionMinor) {
    minor_ = minor;
    std::vector<uint8_t> b;
    encode(Hello{major, minor}, b);
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
    return decode_stats(r->body, minor_);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  uint32_t seq_ = 0;
  uint16_t minor_ = kVersionMinor;
  uint64_t* last_time_;
};

// A memfd of `size` bytes, sealable (as the protocol asks), closed on destruction.
class Memfd {
 public:
  explicit Memfd(uint64_t size, unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING) {
    fd_ = ::memfd_create("kvcpu-test", flags);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::ftruncate(fd_, static_cast<off_t>(size)), 0);
  }
  ~Memfd() { ::close(fd_); }
  Memfd(const Memfd&) = delete;
  Memfd& operator=(const Memfd&) = delete;
  int fd() const { return fd_; }
  uint32_t read32(uint64_t off) const {
    uint32_t v = 0;
    EXPECT_EQ(::pread(fd_, &v, 4, static_cast<off_t>(off)), 4);
    return v;
  }
  void write(uint64_t off, const void* p, size_t n) {
    EXPECT_EQ(::pwrite(fd_, p, n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
  }

 private:
  int fd_ = -1;
};

// Open descriptors and memfd mappings of a process (the server), from /proc.
size_t open_fds(pid_t pid) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}
size_t memfd_mappings(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  size_t n = 0;
  while (std::getline(f, line)) {
    n += line.find("/memfd:kvcpu-test") != std::string::npos ? 1 : 0;
  }
  return n;
}

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
  EXPECT_NE(r->message().find(std::to_string(kVersionMajor) + "." + std::to_string(kVersionMinor)),
            std::string::npos)
      << r->message();
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

// --- protocol 1.1: host memory and interrupts ---

void expect_refused(const std::optional<Reply>& r, ErrorCode code, const char* text) {
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->error());
  EXPECT_EQ(r->code(), code) << r->message();
  EXPECT_NE(r->message().find(text), std::string::npos) << r->message();
}

TEST_F(CosimServer, MemMapRefusalsKeepTheConnectionAndLeakNothing) {
  start();
  auto c = attached();
  const size_t fds0 = open_fds(server_->pid());
  Memfd f(0x4000);
  ASSERT_FALSE(c->mem_map(f.fd(), 0x10000, 0x2000)->error());
  struct Case {
    uint64_t iova, size, off;
    const char* text;
  };
  for (const Case& k : {Case{0x20000, 0, 0, "zero"}, Case{0x20800, 0x1000, 0, "multiples of 4096"},
                        Case{0x20000, 0x800, 0, "multiples of 4096"},
                        Case{0x20000, 0x1000, 0x200, "multiples of 4096"},
                        Case{0xFFFFFFFFFFFFF000ull, 0x2000, 0, "overflows"},
                        Case{0x11000, 0x1000, 0, "overlaps"},
                        Case{0x20000, 0x1000, 0x4000, "beyond the file"},
                        Case{0x20000, 0x8000, 0, "beyond the file"}}) {
    expect_refused(c->mem_map(f.fd(), k.iova, k.size, k.off), ErrorCode::kBadMap, k.text);
  }
  // Not a file; not sealable against shrinking; mmap refused (write-sealed).
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  expect_refused(c->mem_map(p[0], 0x20000, 0x1000), ErrorCode::kBadMap, "regular file");
  ::close(p[0]);
  ::close(p[1]);
  Memfd unsealable(0x1000, MFD_CLOEXEC);
  expect_refused(c->mem_map(unsealable.fd(), 0x20000, 0x1000), ErrorCode::kBadMap, "F_SEAL_SHRINK");
  Memfd sealed(0x1000);
  ASSERT_EQ(::fcntl(sealed.fd(), F_ADD_SEALS, F_SEAL_WRITE), 0);
  expect_refused(c->mem_map(sealed.fd(), 0x20000, 0x1000), ErrorCode::kBadMap, "mmap failed");
  // No fd at all: refused, connection open.
  std::vector<uint8_t> b;
  encode(MemMap{0x20000, 0x1000, 0}, b);
  expect_refused(c->host_call(MsgType::kMemMap, b), ErrorCode::kBadFd, "without a file descriptor");
  // MEM_UNMAP takes a region's base.
  expect_refused(c->mem_unmap(0x11000), ErrorCode::kBadMap, "no region");
  expect_refused(c->mem_unmap(0x30000), ErrorCode::kBadMap, "no region");
  EXPECT_EQ(c->read(kIdOffset)->data, kIdValue);  // still attached
  // At most 64 regions.
  Memfd page(0x1000);
  for (uint64_t i = 1; i < kMaxRegions; ++i) {
    ASSERT_FALSE(c->mem_map(page.fd(), 0x100000 + 0x2000 * i, 0x1000)->error()) << i;
  }
  expect_refused(c->mem_map(page.fd(), 0x900000, 0x1000), ErrorCode::kBadMap, "too many");
  EXPECT_EQ(memfd_mappings(server_->pid()), kMaxRegions);
  // Unmap one, map another: fine.
  ASSERT_FALSE(c->mem_unmap(0x10000)->error());
  ASSERT_FALSE(c->mem_map(page.fd(), 0x900000, 0x1000)->error());
  // Every fd the server received was closed again (the mappings hold the files).
  EXPECT_EQ(open_fds(server_->pid()), fds0);
  auto st = c->stats();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->protocol_errors, 15u);
}

TEST_F(CosimServer, UnmapThenMapAgainSeesTheNewFile) {
  start();
  auto c = attached();
  Memfd a(0x1000), b(0x2000);
  ASSERT_FALSE(c->mem_map(a.fd(), 0x40000, 0x1000)->error());
  expect_refused(c->mem_map(b.fd(), 0x40000, 0x2000), ErrorCode::kBadMap, "overlaps");
  ASSERT_FALSE(c->mem_unmap(0x40000)->error());
  expect_refused(c->mem_unmap(0x40000), ErrorCode::kBadMap, "no region");
  ASSERT_FALSE(c->mem_map(b.fd(), 0x40000, 0x2000)->error());
  EXPECT_EQ(memfd_mappings(server_->pid()), 1u);
  // The file is sealed against shrinking while mapped (it would crash the server).
  EXPECT_NE(::ftruncate(b.fd(), 0x1000), 0);
}

TEST_F(CosimServer, IrqBindRefusalsAndRebindLeakNothing) {
  start();
  auto c = attached();
  const size_t fds0 = open_fds(server_->pid());
  int e1 = ::eventfd(0, EFD_CLOEXEC);
  int e2 = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(e1, 0);
  ASSERT_GE(e2, 0);
  expect_refused(c->irq_bind(kMaxIrqId, e1), ErrorCode::kBadIrq, "out of range");
  Memfd f(0x1000);
  expect_refused(c->irq_bind(3, f.fd()), ErrorCode::kBadFd, "not an eventfd");
  std::vector<uint8_t> b;
  encode(IrqBind{3}, b);
  expect_refused(c->host_call(MsgType::kIrqBind, b), ErrorCode::kBadFd, "without a file descriptor");
  expect_refused(c->irq_unbind(3), ErrorCode::kBadIrq, "not bound");
  expect_refused(c->irq_unbind(5000), ErrorCode::kBadIrq, "out of range");
  EXPECT_EQ(open_fds(server_->pid()), fds0);
  ASSERT_FALSE(c->irq_bind(3, e1)->error());
  EXPECT_EQ(open_fds(server_->pid()), fds0 + 1);
  ASSERT_FALSE(c->irq_bind(3, e2)->error());  // replaces (and closes) the first
  EXPECT_EQ(open_fds(server_->pid()), fds0 + 1);
  ASSERT_FALSE(c->irq_bind(kMaxIrqId - 1, e1)->error());
  EXPECT_EQ(open_fds(server_->pid()), fds0 + 2);
  ASSERT_FALSE(c->irq_unbind(3)->error());
  ASSERT_FALSE(c->irq_unbind(kMaxIrqId - 1)->error());
  EXPECT_EQ(open_fds(server_->pid()), fds0);
  ::close(e1);
  ::close(e2);
}

TEST_F(CosimServer, FdOnAMessageThatTakesNoneIsClosedWithTheConnection) {
  start();
  const size_t fds_idle = open_fds(server_->pid());
  {
    auto c = attached();
    Memfd f(0x1000);
    std::vector<uint8_t> b;
    encode(MmioRead{0, kIdOffset}, b);
    c->send_with_fd(MsgType::kMmioRead, b, f.fd());
    auto r = c->recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->code(), ErrorCode::kBadFd) << r->message();
    EXPECT_EQ(r->header.seq, c->seq());
    EXPECT_NE(r->message().find("takes none"), std::string::npos) << r->message();
    EXPECT_TRUE(c->at_eof());
  }
  // The next client attaches; the stray fd is gone from the server.
  auto c = attached();
  EXPECT_EQ(c->read(kIdOffset)->data, kIdValue);
  EXPECT_EQ(open_fds(server_->pid()), fds_idle + 1);  // + this client's socket
  EXPECT_EQ(memfd_mappings(server_->pid()), 0u);
}

TEST_F(CosimServer, PipelinedMapsTakeTheirOwnFds) {
  start();
  auto c = attached();
  Memfd a(0x1000), b(0x1000);
  uint32_t va = 0x11111111, vb = 0x22222222;
  a.write(0, &va, 4);
  b.write(0, &vb, 4);
  // Read, map, read, map without waiting for replies.
  std::vector<uint8_t> rd;
  encode(MmioRead{0, kIdOffset}, rd);
  c->send(MsgType::kMmioRead, rd);
  std::vector<uint8_t> m1, m2;
  encode(MemMap{0x10000, 0x1000, 0}, m1);
  encode(MemMap{0x20000, 0x1000, 0}, m2);
  c->send_with_fd(MsgType::kMemMap, m1, a.fd());
  c->send(MsgType::kMmioRead, rd);
  c->send_with_fd(MsgType::kMemMap, m2, b.fd());
  for (int i = 0; i < 4; ++i) {
    auto r = c->recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->error()) << r->message();
    EXPECT_EQ(r->header.seq, static_cast<uint32_t>(i + 2));
  }
  EXPECT_EQ(memfd_mappings(server_->pid()), 2u);
  // Overlap proves which fd went where: 0x10000 is taken, 0x20000 too.
  Memfd x(0x1000);
  expect_refused(c->mem_map(x.fd(), 0x10000, 0x1000), ErrorCode::kBadMap, "overlaps");
  expect_refused(c->mem_map(x.fd(), 0x20000, 0x1000), ErrorCode::kBadMap, "overlaps");
}

TEST_F(CosimServer, DepartingHostMemoryClientIsCleanedUp) {
  start();
  const size_t fds_idle = open_fds(server_->pid());
  Memfd f(0x2000);
  int e = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(e, 0);
  {
    auto c = attached();
    ASSERT_FALSE(c->mem_map(f.fd(), 0x10000, 0x2000)->error());
    ASSERT_FALSE(c->irq_bind(0, e)->error());
    ASSERT_TRUE(c->write(kScratch, 0xCAFE));
    EXPECT_EQ(memfd_mappings(server_->pid()), 1u);
  }  // disconnects
  auto c = attached();
  // Regions unmapped, eventfds closed, device reset (its state is gone).
  EXPECT_EQ(c->read(kScratch)->data, 0u);
  EXPECT_EQ(memfd_mappings(server_->pid()), 0u);
  EXPECT_EQ(open_fds(server_->pid()), fds_idle + 1);
  // The file is the client's again: still sealed against shrinking, but unmapped.
  ::close(e);
}

TEST_F(CosimServer, StatsLayoutFollowsTheClientsMinor) {
  start();
  {
    auto c = client();
    ASSERT_TRUE(c->connected());
    auto h = c->hello(kVersionMajor, 0);  // a 1.0 client still attaches
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->minor, kVersionMinor);
    c->send(MsgType::kStats, {});
    auto r = c->recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body.size(), 64u);
  }
  auto c = attached();
  c->send(MsgType::kStats, {});
  auto r = c->recv();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body.size(), 120u);
  auto s = decode_stats(r->body);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->clients, 2u);
  EXPECT_EQ(s->dma_refused, 0u);
  EXPECT_EQ(s->msix_delivered, 0u);
}

TEST_F(CosimServer, HostMemoryOptionsAreCheckedOnTheCommandLine) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--socket", sock_, "--mem-latency", "-1"},
           {"--socket", sock_, "--mem-stall", "1.5"},
           {"--socket", sock_, "--mem-stall", "x"},
           {"--socket", sock_, "--drop-irq"}}) {
    auto p = spawn_server(args, dir_ + "/stderr.1");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(exit_code(p->wait(5s)), 2);
  }
  start({"--mem-latency", "3", "--mem-stall", "0.25", "--drop-irq", "2"});
  auto c = attached();
  EXPECT_EQ(c->read(kIdOffset)->data, kIdValue);
}

// --- the device's host-memory port, MSI-X and run-ahead (needs the core's queue engine) ---

// BAR0 offsets from docs/host-interface.md (written out here: an independent reading of
// the contract, not the generated header).
constexpr uint32_t kErrStatus = 0x038;
constexpr uint32_t kErrHostWr = 1u << 9;
constexpr uint32_t q_reg(unsigned q, uint32_t off) { return 0x400 + 0x40 * q + off; }
constexpr uint32_t kQSqBaseLo = 0x00, kQSqBaseHi = 0x04, kQCqBaseLo = 0x08, kQCqBaseHi = 0x0C;
constexpr uint32_t kQCtrl = 0x18, kQCoal = 0x1C, kQIrqCount = 0x28;
constexpr uint32_t sq_tail_db(unsigned q) { return 0x1000 + 8 * q; }
constexpr uint32_t msix_reg(unsigned v, uint32_t off) { return 0x2000 + 16 * v + off; }

struct Cqe {
  uint32_t result, flow_id;
  uint16_t sq_head, sq_id, cid, status_phase;
};

Cqe read_cqe(const Memfd& f, uint64_t off) {
  uint8_t b[16];
  EXPECT_EQ(::pread(f.fd(), b, 16, static_cast<off_t>(off)), 16);
  Cqe c;
  std::memcpy(&c.result, b, 4);
  std::memcpy(&c.flow_id, b + 4, 4);
  std::memcpy(&c.sq_head, b + 8, 2);
  std::memcpy(&c.sq_id, b + 10, 2);
  std::memcpy(&c.cid, b + 12, 2);
  std::memcpy(&c.status_phase, b + 14, 2);
  return c;
}

// A NOP in SQ slot `slot` of the ring at file offset `sq_off`.
void put_nop(Memfd& f, uint64_t sq_off, unsigned slot, uint16_t cid, uint32_t flow) {
  uint8_t sqe[64] = {};
  sqe[0] = 0x00;  // NOP
  std::memcpy(sqe + 2, &cid, 2);
  std::memcpy(sqe + 4, &flow, 4);
  f.write(sq_off + 64 * slot, sqe, sizeof sqe);
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST_F(CosimServer, DoorbellCompletesANopByItselfAndInterruptsOnUnmask) {
  start();
  auto c = attached();
  // Host memory: SQ (4 x 64 B) at IOVA 0x100000, CQ (4 x 16 B) at 0x101000.
  Memfd f(0x2000);
  put_nop(f, 0, 0, 0x1234, 0xABCD0001);
  ASSERT_FALSE(c->mem_map(f.fd(), 0x100000, 0x2000)->error());
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(efd, 0);
  ASSERT_FALSE(c->irq_bind(5, efd)->error());
  // MSI-X vector 0 -> the interrupt window, data 5; still masked (reset value).
  ASSERT_EQ(c->write(msix_reg(0, 0x0), 0xFEE00000u)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(msix_reg(0, 0x4), 0)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(msix_reg(0, 0x8), 5)->resp, Resp::kOkay);
  // Queue 0: bases, coalescing off (every CQE fires), enable with 4 entries.
  ASSERT_EQ(c->write(q_reg(0, kQSqBaseLo), 0x100000)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(0, kQSqBaseHi), 0)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(0, kQCqBaseLo), 0x101000)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(0, kQCqBaseHi), 0)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(0, kQCoal), 0)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(0, kQCtrl), 1u | (2u << 8))->resp, Resp::kOkay);
  ASSERT_EQ(c->read(kErrStatus)->data, 0u);
  // Ring the doorbell (posted) and send nothing more: the server runs the clock itself.
  c->post(sq_tail_db(0), 1);
  Cqe cqe{};
  for (int i = 0; i < 30000 && (cqe.status_phase & 1) == 0; ++i) {  // liveness guard only
    std::this_thread::sleep_for(1ms);
    cqe = read_cqe(f, 0x1000);
  }
  ASSERT_EQ(cqe.status_phase & 1, 1) << "no CQE appeared without further messages";
  EXPECT_EQ(cqe.status_phase >> 1, 0u);  // SUCCESS
  EXPECT_EQ(cqe.cid, 0x1234u);
  EXPECT_EQ(cqe.flow_id, 0xABCD0001u);
  EXPECT_EQ(cqe.sq_head, 1u);
  EXPECT_EQ(cqe.sq_id, 0u);
  // Masked: no interrupt yet (it is pending in the PBA).
  EXPECT_FALSE(readable(efd, 50));
  // Unmask: the pending message goes out, to the eventfd bound to its data.
  c->post(msix_reg(0, 0xC), 0);
  ASSERT_TRUE(readable(efd, 30000)) << "no eventfd signal after unmasking";
  uint64_t n = 0;
  ASSERT_EQ(::read(efd, &n, sizeof n), static_cast<ssize_t>(sizeof n));
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(c->read(q_reg(0, kQIrqCount))->data, 1u);
  EXPECT_EQ(c->read(kErrStatus)->data, 0u);
  auto st = c->stats();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->msix_delivered, 1u);
  EXPECT_EQ(st->msix_unrouted, 0u);
  EXPECT_EQ(st->msix_dropped, 0u);
  EXPECT_EQ(st->dma_refused, 0u);
  EXPECT_GE(st->dma_read_bytes, 64u);   // the SQE
  EXPECT_GE(st->dma_write_bytes, 16u);  // the CQE
  EXPECT_GT(st->run_ahead_cycles, 0u);
  ::close(efd);
}

TEST_F(CosimServer, CqOutsideHostMemoryIsRefusedAndFlagged) {
  start();
  auto c = attached();
  Memfd f(0x1000);
  put_nop(f, 0, 0, 7, 1);
  ASSERT_FALSE(c->mem_map(f.fd(), 0x100000, 0x1000)->error());
  ASSERT_EQ(c->write(q_reg(1, kQSqBaseLo), 0x100000)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(1, kQCqBaseLo), 0x900000)->resp, Resp::kOkay);  // not mapped
  ASSERT_EQ(c->write(q_reg(1, kQCtrl), 1u | (2u << 8))->resp, Resp::kOkay);
  c->post(sq_tail_db(1), 1);
  uint32_t err = 0;
  for (int i = 0; i < 30000 && (err & kErrHostWr) == 0; ++i) {  // liveness guard only
    std::this_thread::sleep_for(1ms);
    err = c->read(kErrStatus)->data;
  }
  EXPECT_NE(err & kErrHostWr, 0u) << "ERR_STATUS 0x" << std::hex << err;
  auto st = c->stats();
  ASSERT_TRUE(st.has_value());
  EXPECT_GT(st->dma_refused, 0u);
  EXPECT_EQ(st->dma_write_bytes, 0u);  // nothing was written anywhere
}

TEST_F(CosimServer, DroppedAndUnroutedInterruptsAreCounted) {
  start({"--drop-irq", "2"});
  auto c = attached();
  Memfd f(0x2000);
  for (unsigned i = 0; i < 3; ++i) {
    put_nop(f, 0, i, static_cast<uint16_t>(i), i);
  }
  ASSERT_FALSE(c->mem_map(f.fd(), 0x100000, 0x2000)->error());
  // Vector 0 unmasked, to the window with data 9 (nothing bound yet).
  ASSERT_EQ(c->write(msix_reg(0, 0x0), 0xFEE00000u)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(msix_reg(0, 0x8), 9)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(msix_reg(0, 0xC), 0)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(0, kQSqBaseLo), 0x100000)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(0, kQCqBaseLo), 0x101000)->resp, Resp::kOkay);
  ASSERT_EQ(c->write(q_reg(0, kQCtrl), 1u | (2u << 8))->resp, Resp::kOkay);
  // Three NOPs one at a time, each waited for through Q_IRQ_COUNT (the device's own count).
  for (uint32_t k = 1; k <= 3; ++k) {
    c->post(sq_tail_db(0), k);
    uint32_t irqs = 0;
    for (int i = 0; i < 30000 && irqs < k; ++i) {
      std::this_thread::sleep_for(1ms);
      irqs = c->read(q_reg(0, kQIrqCount))->data;
    }
    ASSERT_EQ(irqs, k);
  }
  auto st = c->stats();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->msix_dropped, 1u);   // the 2nd
  EXPECT_EQ(st->msix_unrouted, 2u);  // the 1st and 3rd: no eventfd bound to 9
  EXPECT_EQ(st->msix_delivered, 0u);
}

}  // namespace
}  // namespace kvcpu::proto
