#include "server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

// clang-format off
// After the standard headers: Boost 1.74's asio/awaitable.hpp uses std::exchange without
// including <utility>, which C++20 libstdc++ no longer pulls in on its own.
#include <boost/asio.hpp>
// clang-format on

#include "Vkvcpu_core.h"
#include "axil_master.h"
#include "kvcpu/regs.h"
#include "kvcpu_build_info.h"
#include "kvcpu_proto.h"
#include "sim.h"

namespace kvcpu::cosim {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using boost::system::error_code;
using proto::ErrorCode;
using proto::MsgType;

constexpr uint16_t kVendorId = 0x1DE5;
constexpr uint16_t kDeviceId = 0x0A10;
constexpr uint32_t kBoardCosim = 0;  // BOARD_ID.BOARD of the cosim server
constexpr uint64_t kDeviceTimeoutCycles = 1000;
constexpr uint64_t kSimSeed = 1;  // fixed: a cosim run is reproducible
constexpr size_t kReadChunk = 64 * 1024;
// While more reply bytes than this wait for the client to take them, the server reads no
// further requests from it (a client that pipelines without reading is paced, not buffered).
constexpr size_t kMaxQueuedReplyBytes = 256 * 1024;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

// The socket file this server created. Removed on destruction (or remove()), but only
// while the path still names the very file that bind() created.
class SocketFile {
 public:
  SocketFile() = default;
  ~SocketFile() { remove(); }
  SocketFile(const SocketFile&) = delete;
  SocketFile& operator=(const SocketFile&) = delete;

  void adopt(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      path_ = path;
      dev_ = st.st_dev;
      ino_ = st.st_ino;
    }
  }
  void remove() {
    if (path_.empty()) {
      return;
    }
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
      ::unlink(path_.c_str());
    }
    path_.clear();
  }

 private:
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// The verilated kvcpu_core behind BAR0, with its build identity tied off.
class Device {
 public:
  explicit Device(const std::string& trace_path) : sim_(make_options(), /*quiet=*/true) {
    auto& d = sim_.dut();
    d.build_git_hash_i = build::git_hash();
    d.build_date_i = build::build_date();
    d.build_board_id_i =
        regs::kBoardIdDirty.put(regs::kBoardIdBoard.put(0, kBoardCosim), build::dirty() ? 1 : 0);
    if (!trace_path.empty() && !sim_.set_trace(trace_path)) {
      throw std::runtime_error("cannot write waves to " + trace_path);
    }
    master_ = std::make_unique<sim::AxilMaster<Vkvcpu_core>>(sim_, kDeviceTimeoutCycles);
    reset();
  }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  void reset() { sim_.reset(); }

  // std::nullopt: the device did not answer in time (or broke the AXI protocol). The bus
  // is then returned to idle and the device reset, so that the next access starts clean.
  std::optional<sim::AxilResp> read(uint32_t offset) { return checked(master_->read(offset)); }
  std::optional<sim::AxilResp> write(uint32_t offset, uint32_t data, uint8_t strb) {
    return checked(master_->write(offset, data, strb));
  }
  const std::string& last_bus_error() const { return last_bus_error_; }

  proto::SimTime now() const { return {sim_.time_ps(), sim_.cycle()}; }
  uint32_t clock_period_ps() const { return static_cast<uint32_t>(sim_.clock_period_ps()); }

 private:
  static sim::SimOptions make_options() {
    sim::SimOptions o;
    o.name = "kvcpu-cosim";
    o.seed = kSimSeed;
    o.seed_given = true;
    o.timeout_cycles = UINT64_MAX;  // the server runs for as long as clients want
    return o;
  }

  std::optional<sim::AxilResp> checked(std::optional<sim::AxilResp> r) {
    if (!r) {
      last_bus_error_ = master_->protocol_error();
      master_ = std::make_unique<sim::AxilMaster<Vkvcpu_core>>(sim_, kDeviceTimeoutCycles);
      reset();
    }
    return r;
  }

  sim::Sim<Vkvcpu_core> sim_;
  std::unique_ptr<sim::AxilMaster<Vkvcpu_core>> master_;
  std::string last_bus_error_;
};

bool is_bus_error(uint8_t resp) {
  return resp == static_cast<uint8_t>(proto::Resp::kSlvErr) ||
         resp == static_cast<uint8_t>(proto::Resp::kDecErr);
}

std::string type_name(uint16_t type) {
  std::string_view n = proto::to_string(static_cast<MsgType>(type));
  if (n == "UNKNOWN") {
    return "type " + std::to_string(type);
  }
  return std::string(n);
}

}  // namespace

struct Server::Impl {
  explicit Impl(ServerOptions o) : opt(std::move(o)) {}

  void log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  proto::SimTime now() const { return device->now(); }
  void accept_next();
  void on_accept(local::socket socket);
  void attach(local::socket socket);
  void refuse(local::socket socket);
  void detach(Session& s);
  void stop();

  ServerOptions opt;
  asio::io_context io;  // first member: outlives every object that uses it
  std::optional<Device> device;
  local::acceptor acceptor{io};
  asio::signal_set signals{io};
  asio::steady_timer accept_retry{io};
  SocketFile socket_file;
  std::shared_ptr<Session> active;
  // A connection that arrived after the attached client hung up but before its session saw
  // the EOF: attached as soon as that session ends (so its last requests still execute).
  std::optional<local::socket> waiting;
  asio::steady_timer waiting_timer{io};
  proto::Stats stats;
  uint64_t next_client = 1;
  bool stopping = false;
};

// One attached client. Requests are parsed from a byte buffer (several may arrive in one
// read), executed on the device in order, and their replies queued for an async write.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, local::socket socket, uint64_t id)
      : server_(server),
        socket_(std::move(socket)),
        timer_(server.io),
        id_(id),
        chunk_(kReadChunk) {}

  void start() { read_more(); }

  // Closes the connection now (pending replies are dropped) and detaches from the server.
  void close() {
    if (closed_) {
      return;
    }
    auto self = shared_from_this();
    closed_ = true;
    closing_ = true;
    disarm();
    error_code ignored;
    socket_.shutdown(local::socket::shutdown_both, ignored);
    socket_.close(ignored);
    server_.detach(*this);
  }

  // True when the peer has closed its end of the connection. Its EOF (after whatever
  // it sent before) reaches this session's pending read soon; nothing is decided here.
  bool peer_gone() {
    if (closed_) {
      return true;
    }
    pollfd p{socket_.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
  }

  uint64_t id() const { return id_; }
  bool shutdown_requested() const { return shutdown_requested_; }

 private:
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      server_.log("client %llu: internal error: %s; closing the connection", ull(id_), e.what());
      close();
    }
  }
  static unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

  void end(const char* why) {
    if (closed_) {
      return;
    }
    if (in_.empty()) {
      server_.log("client %llu %s", ull(id_), why);
    } else {
      server_.log("client %llu %s mid-message (%zu bytes of an incomplete message dropped)",
                  ull(id_), why, in_.size());
    }
    close();
  }

  void read_more() {
    if (reading_ || closing_ || out_bytes_ > kMaxQueuedReplyBytes) {
      return;
    }
    reading_ = true;
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const error_code& ec, size_t n) {
                              self->guarded([&] { self->on_read(ec, n); });
                            });
  }

  void on_read(const error_code& ec, size_t n) {
    reading_ = false;
    if (closing_) {
      return;
    }
    if (ec) {
      if (ec == asio::error::eof || ec == asio::error::connection_reset) {
        end("disconnected");
      } else {
        server_.log("client %llu: read failed: %s", ull(id_), ec.message().c_str());
        close();
      }
      return;
    }
    in_.insert(in_.end(), chunk_.begin(), chunk_.begin() + static_cast<std::ptrdiff_t>(n));
    process();
    read_more();
  }

  // Executes every complete message in in_; keeps an incomplete one and times it.
  void process() {
    size_t pos = 0;
    bool consumed = false;
    while (!closing_) {
      const size_t avail = in_.size() - pos;
      if (avail < proto::kHeaderSize) {
        break;
      }
      const proto::Header h = proto::decode_header(
          std::span<const uint8_t, proto::kHeaderSize>(in_.data() + pos, proto::kHeaderSize));
      if (ErrorCode c = proto::check_request_header(h); c != ErrorCode::kNone) {
        protocol_error(h.type, h.seq, c, header_problem(h, c));
        break;
      }
      if (avail < proto::kHeaderSize + h.length) {
        break;
      }
      handle(h, std::span<const uint8_t>(in_.data() + pos + proto::kHeaderSize, h.length));
      pos += proto::kHeaderSize + h.length;
      consumed = true;
    }
    if (closing_) {
      return;
    }
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(pos));
    if (in_.empty()) {
      disarm();
    } else if (consumed || !timer_armed_) {
      arm(server_.opt.msg_timeout);  // the first byte of this message arrived just now
    }
  }

  static std::string header_problem(const proto::Header& h, ErrorCode c) {
    char buf[160];
    switch (c) {
      case ErrorCode::kBadMagic:
        std::snprintf(buf, sizeof buf, "bad magic 0x%08X (expected 0x%08X, bytes \"KVCS\")",
                      h.magic, proto::kMagic);
        break;
      case ErrorCode::kBadFlags:
        std::snprintf(buf, sizeof buf, "flags 0x%04X set on a request (must be 0)", h.flags);
        break;
      case ErrorCode::kBadType:
        std::snprintf(buf, sizeof buf, "unknown message type %u", h.type);
        break;
      case ErrorCode::kBadLength: {
        auto want = proto::request_length(static_cast<MsgType>(h.type));
        std::snprintf(buf, sizeof buf, "%s with payload length %u (expected %zu, max %zu)",
                      type_name(h.type).c_str(), h.length, want.value_or(0), proto::kMaxPayload);
        break;
      }
      default:
        std::snprintf(buf, sizeof buf, "%s", std::string(proto::to_string(c)).c_str());
        break;
    }
    return buf;
  }

  void handle(const proto::Header& h, std::span<const uint8_t> body) {
    const auto type = static_cast<MsgType>(h.type);
    if (!hello_done_ && type != MsgType::kHello) {
      protocol_error(h.type, h.seq, ErrorCode::kNotHello,
                     "first message must be HELLO, got " + type_name(h.type));
      return;
    }
    if (hello_done_ && type == MsgType::kHello) {
      protocol_error(h.type, h.seq, ErrorCode::kNotHello, "second HELLO on this connection");
      return;
    }
    Device& dev = *server_.device;
    proto::Stats& st = server_.stats;
    std::vector<uint8_t> out;
    switch (type) {
      case MsgType::kHello: {
        auto m = proto::decode_hello(body);
        if (!m) {
          return bad_body(h);
        }
        if (m->major != proto::kVersionMajor) {
          protocol_error(h.type, h.seq, ErrorCode::kBadVersion,
                         "protocol version " + std::to_string(m->major) + "." +
                             std::to_string(m->minor) + " not supported; this server speaks " +
                             std::to_string(proto::kVersionMajor) + "." +
                             std::to_string(proto::kVersionMinor) + " (major " +
                             std::to_string(proto::kVersionMajor) + " only)");
          return;
        }
        hello_done_ = true;
        proto::HelloReply r;
        r.major = proto::kVersionMajor;
        r.minor = proto::kVersionMinor;
        r.vendor_id = kVendorId;
        r.device_id = kDeviceId;
        r.bar0_size = regs::kBarSize;
        r.clock_period_ps = dev.clock_period_ps();
        proto::encode(r, out);
        break;
      }
      case MsgType::kMmioRead: {
        auto m = proto::decode_mmio_read(body);
        if (!m) {
          return bad_body(h);
        }
        if (m->bar != 0) {
          return bad_bar(h, m->bar);
        }
        ++st.mmio_reads;
        proto::MmioReadReply r;
        if (m->offset >= regs::kBarSize) {
          r.resp = proto::Resp::kDecErr;
          ++st.bus_errors;
        } else {
          auto a = dev.read(m->offset);
          if (!a) {
            return device_timeout(h);
          }
          r.data = a->data;
          r.resp = static_cast<proto::Resp>(a->resp);
          st.bus_errors += is_bus_error(a->resp) ? 1 : 0;
        }
        proto::encode(r, out);
        break;
      }
      case MsgType::kMmioWrite:
      case MsgType::kMmioWritePosted: {
        auto m = proto::decode_mmio_write(body);
        if (!m) {
          return bad_body(h);
        }
        if (m->bar != 0) {
          return bad_bar(h, m->bar);
        }
        const bool posted = type == MsgType::kMmioWritePosted;
        ++(posted ? st.posted_writes : st.mmio_writes);
        proto::MmioWriteReply r;
        if (m->offset >= regs::kBarSize) {
          r.resp = proto::Resp::kDecErr;
          ++st.bus_errors;
        } else {
          auto a = dev.write(m->offset, m->data, static_cast<uint8_t>(m->strb));
          if (!a) {
            return device_timeout(h);
          }
          r.resp = static_cast<proto::Resp>(a->resp);
          st.bus_errors += is_bus_error(a->resp) ? 1 : 0;
        }
        if (posted) {
          return;
        }
        proto::encode(r, out);
        break;
      }
      case MsgType::kReset:
        dev.reset();
        ++st.resets;
        break;
      case MsgType::kStats:
        proto::encode(st, out);
        break;
      case MsgType::kShutdown:
        server_.log("client %llu requested shutdown", ull(id_));
        shutdown_requested_ = true;
        closing_ = true;  // read nothing more; close (and stop) once the reply is out
        arm(server_.opt.msg_timeout);
        break;
    }
    send(proto::encode_reply(type, h.seq, server_.now(), out));
  }

  void bad_body(const proto::Header& h) {
    protocol_error(h.type, h.seq, ErrorCode::kBadLength,
                   type_name(h.type) + " body does not decode (reserved bits set)");
  }

  // Well-formed request naming a BAR the device lacks: error reply, connection stays open.
  void bad_bar(const proto::Header& h, uint32_t bar) {
    ++server_.stats.protocol_errors;
    const std::string msg = "BAR " + std::to_string(bar) + " does not exist (the device has BAR0)";
    server_.log("client %llu: %s seq %u: %s", ull(id_), type_name(h.type).c_str(), h.seq,
                msg.c_str());
    send(proto::encode_error(static_cast<MsgType>(h.type), h.seq, server_.now(),
                             {ErrorCode::kBadBar, msg}));
  }

  void device_timeout(const proto::Header& h) {
    server_.log("client %llu: %s seq %u: device did not answer (%s); device reset", ull(id_),
                type_name(h.type).c_str(), h.seq, server_.device->last_bus_error().c_str());
    error_and_close(h.type, h.seq, ErrorCode::kTimeout, "device did not answer");
  }

  void protocol_error(uint16_t type, uint32_t seq, ErrorCode code, const std::string& msg) {
    ++server_.stats.protocol_errors;
    server_.log("client %llu: protocol error (%s): %s; closing", ull(id_),
                std::string(proto::to_string(code)).c_str(), msg.c_str());
    error_and_close(type, seq, code, msg);
  }

  void error_and_close(uint16_t type, uint32_t seq, ErrorCode code, const std::string& msg) {
    send(proto::encode_error(static_cast<MsgType>(type), seq, server_.now(), {code, msg}));
    closing_ = true;
    arm(server_.opt.msg_timeout);  // a client that never takes the reply is closed anyway
  }

  void send(std::vector<uint8_t> bytes) {
    out_bytes_ += bytes.size();
    out_.push_back(std::move(bytes));
    if (!writing_) {
      write_next();
    }
  }

  void write_next() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const error_code& ec, size_t) {
                        self->guarded([&] { self->on_write(ec); });
                      });
  }

  void on_write(const error_code& ec) {
    writing_ = false;
    if (closed_) {
      return;
    }
    if (ec) {
      server_.log("client %llu: write failed: %s", ull(id_), ec.message().c_str());
      close();
      return;
    }
    out_bytes_ -= out_.front().size();
    out_.pop_front();
    if (!out_.empty()) {
      write_next();
    } else if (closing_) {
      close();
    } else {
      read_more();
    }
  }

  void arm(std::chrono::milliseconds d) {
    timer_armed_ = true;
    const uint64_t gen = ++timer_gen_;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
      self->guarded([&] { self->on_timer(ec, gen); });
    });
  }

  void disarm() {
    if (timer_armed_) {
      timer_armed_ = false;
      ++timer_gen_;
      timer_.cancel();
    }
  }

  void on_timer(const error_code& ec, uint64_t gen) {
    if (ec || gen != timer_gen_ || closed_) {
      return;
    }
    timer_armed_ = false;
    if (closing_) {
      server_.log("client %llu did not take its last reply in time; closing", ull(id_));
      close();
      return;
    }
    uint16_t type = 0;
    uint32_t seq = 0;
    size_t want = proto::kHeaderSize;
    if (in_.size() >= proto::kHeaderSize) {
      const proto::Header h = proto::decode_header(
          std::span<const uint8_t, proto::kHeaderSize>(in_.data(), proto::kHeaderSize));
      type = h.type;
      seq = h.seq;
      want += h.length;
    }
    protocol_error(type, seq, ErrorCode::kTimeout,
                   "message incomplete after " + std::to_string(server_.opt.msg_timeout.count()) +
                       " ms (" + std::to_string(in_.size()) + " of " + std::to_string(want) +
                       " bytes)");
  }

  Server::Impl& server_;
  local::socket socket_;
  asio::steady_timer timer_;
  const uint64_t id_;
  std::vector<uint8_t> chunk_;            // read buffer
  std::vector<uint8_t> in_;               // received bytes not yet executed
  std::deque<std::vector<uint8_t>> out_;  // replies not yet written; front() in flight
  size_t out_bytes_ = 0;
  uint64_t timer_gen_ = 0;
  bool timer_armed_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool hello_done_ = false;
  bool closing_ = false;  // no more requests are read; close once the replies are out
  bool closed_ = false;
  bool shutdown_requested_ = false;
};

void Server::Impl::log(const char* fmt, ...) {
  if (opt.quiet) {
    return;
  }
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "kvcpu-cosim: %s\n", buf);
}

void Server::Impl::accept_next() {
  if (stopping) {
    return;
  }
  acceptor.async_accept([this](const error_code& ec, local::socket socket) {
    if (stopping || ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) {
      // Out of descriptors and the like: retry a little later instead of spinning.
      log("accept failed: %s", ec.message().c_str());
      accept_retry.expires_after(kAcceptRetry);
      accept_retry.async_wait([this](const error_code& e) {
        if (!e) {
          accept_next();
        }
      });
      return;
    }
    try {
      on_accept(std::move(socket));
    } catch (const std::exception& e) {
      log("internal error while accepting: %s", e.what());
    }
    accept_next();
  });
}

void Server::Impl::on_accept(local::socket socket) {
  if (!active) {
    attach(std::move(socket));
    return;
  }
  if (!waiting && active->peer_gone()) {
    waiting.emplace(std::move(socket));
    waiting_timer.expires_after(opt.msg_timeout);
    waiting_timer.async_wait([this](const error_code& ec) {
      if (!ec && waiting && active) {
        log("client %llu hung up but its session did not end; closing it",
            static_cast<unsigned long long>(active->id()));
        auto a = active;
        a->close();
      }
    });
    return;
  }
  refuse(std::move(socket));
}

void Server::Impl::attach(local::socket socket) {
  const uint64_t id = next_client++;
  ++stats.clients;
  log("client %llu attached", static_cast<unsigned long long>(id));
  active = std::make_shared<Session>(*this, std::move(socket), id);
  active->start();
}

void Server::Impl::refuse(local::socket socket) {
  ++stats.busy_refusals;
  const std::string msg = "device busy: client " + std::to_string(active->id()) +
                          " is attached; the server serves one client at a time";
  log("connection refused: %s", msg.c_str());
  auto conn = std::make_shared<local::socket>(std::move(socket));
  auto bytes = std::make_shared<std::vector<uint8_t>>(
      proto::encode_error(MsgType::kHello, 0, now(), {ErrorCode::kBusy, msg}));
  asio::async_write(*conn, asio::buffer(*bytes), [conn, bytes](const error_code&, size_t) {
    error_code ignored;
    conn->shutdown(local::socket::shutdown_both, ignored);
    conn->close(ignored);
  });
}

void Server::Impl::detach(Session& s) {
  if (active.get() != &s) {
    return;
  }
  active.reset();
  if (s.shutdown_requested()) {
    stop();
    return;
  }
  if (waiting && !stopping) {
    local::socket next = std::move(*waiting);
    waiting.reset();
    waiting_timer.cancel();
    attach(std::move(next));
  }
}

void Server::Impl::stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  accept_retry.cancel();
  waiting_timer.cancel();
  waiting.reset();  // closes it
  if (active) {
    auto a = std::move(active);
    a->close();
  }
  socket_file.remove();
  io.stop();  // refusals still in flight are dropped with the io_context
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  if (impl_) {
    impl_->stop();
  }
}

std::optional<std::string> Server::listen() {
  Impl& s = *impl_;
  const std::string& path = s.opt.socket_path;
  if (path.empty()) {
    return "no socket path given";
  }
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return path + ": socket path too long (at most " +
           std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)";
  }
  try {
    s.device.emplace(s.opt.trace_path);
  } catch (const std::exception& e) {
    return std::string("cannot build the device model: ") + e.what();
  }

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return path + ": exists and is not a socket; not replacing it";
    }
    local::socket probe(s.io);
    error_code ec;
    probe.connect(local::endpoint(path), ec);
    if (!ec) {
      return path + ": already in use (another server accepts connections there)";
    }
    if (ec != asio::error::connection_refused) {
      return path + ": cannot tell whether the existing socket is live: " + ec.message();
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return path + ": cannot remove stale socket: " + std::strerror(errno);
    }
    s.log("removed stale socket %s", path.c_str());
  }

  error_code ec;
  s.acceptor.open(local(), ec);
  if (!ec) {
    const mode_t old = ::umask(0177);  // the socket file is born 0600: no window
    s.acceptor.bind(local::endpoint(path), ec);
    ::umask(old);
    if (!ec) {
      s.socket_file.adopt(path);
      s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
  }
  if (ec) {
    error_code ignored;
    s.acceptor.close(ignored);
    s.socket_file.remove();
    if (ec == asio::error::address_in_use) {
      return path + ": already in use";
    }
    return path + ": cannot listen: " + ec.message();
  }

  s.signals.add(SIGINT);
  s.signals.add(SIGTERM);
  s.signals.async_wait([&s](const error_code& e, int sig) {
    if (!e) {
      s.log("signal %d: shutting down", sig);
      s.stop();
    }
  });
  s.accept_next();
  return std::nullopt;
}

void Server::run() {
  Impl& s = *impl_;
  while (!s.stopping) {
    try {
      s.io.run();
      break;
    } catch (const std::exception& e) {
      // Handlers catch their own; this is the last line of defence. Keep serving.
      s.log("internal error: %s", e.what());
    }
  }
  s.stop();
}

}  // namespace kvcpu::cosim
