#include "kvcpu/cosim_transport.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace kvcpu {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

Status bus_status(proto::Resp resp, const char* what, uint32_t bar, uint32_t offset) {
  char where[64];
  std::snprintf(where, sizeof(where), " at BAR%u+0x%03X", bar, offset);
  switch (resp) {
    case proto::Resp::kOkay:
    case proto::Resp::kExOkay:
      return Status();
    case proto::Resp::kSlvErr:
      return Status(ErrorCode::kBusSlvErr, std::string(what) + where + " answered SLVERR");
    case proto::Resp::kDecErr:
      return Status(ErrorCode::kBusDecErr, std::string(what) + where + " answered DECERR");
  }
  return Status(ErrorCode::kProtocol, "unknown AXI response");
}

ErrorCode map_server_error(proto::ErrorCode code) {
  switch (code) {
    case proto::ErrorCode::kBusy:
      return ErrorCode::kBusy;
    case proto::ErrorCode::kBadVersion:
      return ErrorCode::kVersionMismatch;
    case proto::ErrorCode::kBadFd:
    case proto::ErrorCode::kBadMap:
    case proto::ErrorCode::kBadIrq:
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kProtocol;
  }
}

// Server refusals of a single request; the connection stays usable after them.
bool request_level(proto::ErrorCode code) {
  return code == proto::ErrorCode::kBadBar || code == proto::ErrorCode::kBadFd ||
         code == proto::ErrorCode::kBadMap || code == proto::ErrorCode::kBadIrq;
}

bool set_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  if (tv.tv_sec == 0 && tv.tv_usec == 0) {
    tv.tv_usec = 1000;  // zero would mean "block forever"
  }
  return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
         setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0;
}

}  // namespace

CosimTransport::CosimTransport(int fd, std::string name, CosimOptions options)
    : fd_(fd), name_(std::move(name)), options_(options) {}

CosimTransport::~CosimTransport() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Result<std::unique_ptr<CosimTransport>> CosimTransport::connect(const std::string& path,
                                                                CosimOptions options) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty()) {
    return Status(ErrorCode::kInvalidArgument, "empty socket path");
  }
  if (path.size() >= sizeof(addr.sun_path)) {
    return Status(ErrorCode::kInvalidArgument, "socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Status(ErrorCode::kConnection, "socket(): " + errno_text(errno));
  }
  if (!set_timeouts(fd, options.timeout)) {
    int err = errno;
    ::close(fd);
    return Status(ErrorCode::kConnection, "setsockopt(): " + errno_text(err));
  }
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    return Status(ErrorCode::kConnection, "cannot connect to " + path + ": " + errno_text(err));
  }
  return adopt(fd, "cosim:" + path, options);
}

Result<std::unique_ptr<CosimTransport>> CosimTransport::adopt(int fd, std::string name,
                                                              CosimOptions options) {
  if (fd < 0) {
    return Status(ErrorCode::kInvalidArgument, "invalid socket");
  }
  if (!set_timeouts(fd, options.timeout)) {
    int err = errno;
    ::close(fd);
    return Status(ErrorCode::kConnection, "setsockopt(): " + errno_text(err));
  }
  std::unique_ptr<CosimTransport> t(new CosimTransport(fd, std::move(name), options));
  if (Status s = t->handshake(); !s.ok()) {
    return s;  // the destructor closes the socket
  }
  return t;
}

Status CosimTransport::handshake() {
  std::vector<uint8_t> body;
  proto::encode(proto::Hello{}, body);
  auto reply = call(proto::MsgType::kHello, body);
  if (!reply.ok()) {
    return reply.status();
  }
  auto hello = proto::decode_hello_reply(*reply);
  if (!hello) {
    return fail(Status(ErrorCode::kProtocol, "malformed HELLO reply"));
  }
  if (hello->major != proto::kVersionMajor) {
    return fail(Status(ErrorCode::kVersionMismatch,
                       "server speaks protocol " + std::to_string(hello->major) + "." +
                           std::to_string(hello->minor) + ", driver speaks " +
                           std::to_string(proto::kVersionMajor) + "." +
                           std::to_string(proto::kVersionMinor)));
  }
  hello_ = *hello;
  return Status();
}

Status CosimTransport::dead_status() const {
  return Status(ErrorCode::kConnection,
                "connection to " + name_ + " is down (" + death_.to_string() + ")");
}

Status CosimTransport::fail(Status why) {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  death_ = why;
  return why;
}

Status CosimTransport::send_request(proto::MsgType type, std::span<const uint8_t> body,
                                    int fd) {
  if (fd_ < 0) {
    return dead_status();
  }
  const uint32_t seq = next_seq_++;
  std::vector<uint8_t> msg = proto::encode_request(type, seq, body);
  size_t done = 0;
  while (done < msg.size()) {
    ssize_t n;
    if (fd >= 0) {
      // The descriptor rides on the first bytes of the message, in one sendmsg.
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
      n = ::sendmsg(fd_, &mh, MSG_NOSIGNAL);
      if (n > 0) {
        fd = -1;  // sent; the rest of the message goes without it
      }
    } else {
      n = ::send(fd_, msg.data() + done, msg.size() - done, MSG_NOSIGNAL);
    }
    if (n < 0) {
      int err = errno;
      if (err == EINTR) {
        continue;
      }
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return fail(Status(ErrorCode::kTimeout, "sending to " + name_ + " timed out"));
      }
      if (err == EPIPE || err == ECONNRESET) {
        // The server may have answered and closed before reading this request (kBusy
        // does exactly that): its reason is waiting in the receive buffer, or EOF is.
        auto pending = receive_reply(type, seq);
        if (!pending.ok() && pending.status().code() != ErrorCode::kConnection) {
          return pending.status();
        }
      }
      return fail(Status(ErrorCode::kConnection, "send to " + name_ + ": " + errno_text(err)));
    }
    done += static_cast<size_t>(n);
  }
  return Status();
}

Status CosimTransport::recv_all(uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::recv(fd_, data + done, size - done, 0);
    if (n == 0) {
      return Status(ErrorCode::kConnection, done == 0 ? "server closed the connection"
                                                      : "server closed the connection mid-reply");
    }
    if (n < 0) {
      int err = errno;
      if (err == EINTR) {
        continue;
      }
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return Status(ErrorCode::kTimeout, "no reply from " + name_ + " within " +
                                               std::to_string(options_.timeout.count()) + " ms");
      }
      return Status(ErrorCode::kConnection, "receive from " + name_ + ": " + errno_text(err));
    }
    done += static_cast<size_t>(n);
  }
  return Status();
}

Result<std::vector<uint8_t>> CosimTransport::receive_reply(proto::MsgType type, uint32_t seq) {
  uint8_t raw[proto::kHeaderSize];
  if (Status s = recv_all(raw, sizeof(raw)); !s.ok()) {
    return fail(s);
  }
  proto::Header h = proto::decode_header(std::span<const uint8_t, proto::kHeaderSize>(raw));
  if (proto::ErrorCode e = proto::check_reply_header(h, minor()); e != proto::ErrorCode::kNone) {
    return fail(Status(ErrorCode::kProtocol,
                       "bad reply header from " + name_ + ": " + std::string(proto::to_string(e))));
  }
  std::vector<uint8_t> payload(h.length);
  if (Status s = recv_all(payload.data(), payload.size()); !s.ok()) {
    return fail(s);
  }
  auto now = proto::decode_sim_time(payload);
  if (!now) {
    return fail(Status(ErrorCode::kProtocol, "reply without sim time"));
  }
  sim_time_ = *now;
  std::span<const uint8_t> body =
      std::span<const uint8_t>(payload).subspan(proto::kReplyPrefixSize);
  if ((h.flags & proto::kFlagError) != 0) {
    // Accepted whatever its seq: the server may refuse a connection before reading a request
    // (kBusy), or report a posted write that failed earlier.
    auto err = proto::decode_error(body);
    if (!err) {
      return fail(Status(ErrorCode::kProtocol, "malformed error reply from " + name_));
    }
    std::string msg = "server: " + (err->message.empty() ? std::string(proto::to_string(err->code))
                                                         : err->message);
    Status s(map_server_error(err->code), msg);
    if (request_level(err->code)) {
      return s;  // a request-level refusal; the connection stays usable
    }
    return fail(s);
  }
  if (h.seq != seq) {
    return fail(Status(ErrorCode::kProtocol, "reply seq " + std::to_string(h.seq) +
                                                 " does not match request seq " +
                                                 std::to_string(seq)));
  }
  if (h.type != static_cast<uint16_t>(type)) {
    return fail(Status(ErrorCode::kProtocol, "reply type " + std::to_string(h.type) +
                                                 " does not match request " +
                                                 std::string(proto::to_string(type))));
  }
  return std::vector<uint8_t>(body.begin(), body.end());
}

Result<std::vector<uint8_t>> CosimTransport::call(proto::MsgType type,
                                                  std::span<const uint8_t> body, int fd) {
  uint32_t seq = next_seq_;
  if (Status s = send_request(type, body, fd); !s.ok()) {
    return s;
  }
  return receive_reply(type, seq);
}

Result<uint32_t> CosimTransport::read32(uint32_t bar, uint32_t offset) {
  std::vector<uint8_t> body;
  proto::encode(proto::MmioRead{bar, offset}, body);
  auto reply = call(proto::MsgType::kMmioRead, body);
  if (!reply.ok()) {
    return reply.status();
  }
  auto r = proto::decode_mmio_read_reply(*reply);
  if (!r) {
    return fail(Status(ErrorCode::kProtocol, "malformed MMIO_READ reply"));
  }
  if (Status s = bus_status(r->resp, "read", bar, offset); !s.ok()) {
    return s;
  }
  return r->data;
}

Status CosimTransport::write32(uint32_t bar, uint32_t offset, uint32_t value) {
  std::vector<uint8_t> body;
  proto::encode(proto::MmioWrite{bar, offset, value, 0xF}, body);
  auto reply = call(proto::MsgType::kMmioWrite, body);
  if (!reply.ok()) {
    return reply.status();
  }
  auto r = proto::decode_mmio_write_reply(*reply);
  if (!r) {
    return fail(Status(ErrorCode::kProtocol, "malformed MMIO_WRITE reply"));
  }
  return bus_status(r->resp, "write", bar, offset);
}

Status CosimTransport::write32_posted(uint32_t bar, uint32_t offset, uint32_t value) {
  std::vector<uint8_t> body;
  proto::encode(proto::MmioWrite{bar, offset, value, 0xF}, body);
  return send_request(proto::MsgType::kMmioWritePosted, body);
}

Status CosimTransport::reset() {
  auto reply = call(proto::MsgType::kReset, {});
  return reply.ok() ? Status() : reply.status();
}

Result<proto::Stats> CosimTransport::stats() {
  auto reply = call(proto::MsgType::kStats, {});
  if (!reply.ok()) {
    return reply.status();
  }
  auto s = proto::decode_stats(*reply, minor());
  if (!s) {
    return fail(Status(ErrorCode::kProtocol, "malformed STATS reply"));
  }
  return *s;
}

Status CosimTransport::set_timeout(std::chrono::milliseconds timeout) {
  if (fd_ < 0) {
    return dead_status();
  }
  if (!set_timeouts(fd_, timeout)) {
    return Status(ErrorCode::kConnection, "setsockopt(): " + errno_text(errno));
  }
  options_.timeout = timeout;
  return Status();
}

std::string CosimTransport::describe() const { return name_; }

uint16_t CosimTransport::minor() const {
  // Before the handshake completes (HELLO's own reply) the layout does not depend on it.
  return hello_.major == 0 ? proto::kVersionMinor : std::min(hello_.minor, proto::kVersionMinor);
}

Status CosimTransport::call_host(proto::MsgType type, std::span<const uint8_t> body, int fd) {
  if (fd_ < 0) {
    return dead_status();
  }
  if (minor() < 1) {
    return Status(ErrorCode::kUnsupported,
                  std::string(proto::to_string(type)) + " needs protocol 1.1; " + name_ +
                      " speaks 1." + std::to_string(hello_.minor));
  }
  auto reply = call(type, body, fd);
  return reply.ok() ? Status() : reply.status();
}

Status CosimTransport::map_memory(int fd, uint64_t iova, uint64_t size, uint64_t fd_offset) {
  if (fd < 0) {
    return Status(ErrorCode::kInvalidArgument, "map_memory: invalid file descriptor");
  }
  std::vector<uint8_t> body;
  proto::encode(proto::MemMap{iova, size, fd_offset}, body);
  return call_host(proto::MsgType::kMemMap, body, fd);
}

Status CosimTransport::unmap_memory(uint64_t iova) {
  std::vector<uint8_t> body;
  proto::encode(proto::MemUnmap{iova}, body);
  return call_host(proto::MsgType::kMemUnmap, body);
}

Status CosimTransport::bind_irq(uint32_t irq_id, int eventfd) {
  if (eventfd < 0) {
    return Status(ErrorCode::kInvalidArgument, "bind_irq: invalid file descriptor");
  }
  std::vector<uint8_t> body;
  proto::encode(proto::IrqBind{irq_id}, body);
  return call_host(proto::MsgType::kIrqBind, body, eventfd);
}

Status CosimTransport::unbind_irq(uint32_t irq_id) {
  std::vector<uint8_t> body;
  proto::encode(proto::IrqBind{irq_id}, body);
  return call_host(proto::MsgType::kIrqUnbind, body);
}

}  // namespace kvcpu
