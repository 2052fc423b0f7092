#include "kvcpu_proto.h"

#include <array>
#include <cstring>

namespace kvcpu::proto {
namespace {

void put16(std::vector<uint8_t>& o, uint16_t v) {
  o.push_back(static_cast<uint8_t>(v));
  o.push_back(static_cast<uint8_t>(v >> 8));
}
void put32(std::vector<uint8_t>& o, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    o.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}
void put64(std::vector<uint8_t>& o, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    o.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}

// Bounds-checked little-endian reader; any overrun makes ok() false.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  uint16_t u16() { return static_cast<uint16_t>(take(2)); }
  uint32_t u32() { return static_cast<uint32_t>(take(4)); }
  uint64_t u64() { return take(8); }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  std::span<const uint8_t> rest() const { return in_.subspan(pos_); }

 private:
  uint64_t take(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
    }
    pos_ += n;
    return v;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

bool known_type(uint16_t t) { return t >= 1 && t <= 11; }

constexpr size_t kStatsCounters10 = 8;
constexpr size_t kStatsCounters11 = 15;

std::array<uint64_t*, kStatsCounters11> counters(Stats& m) {
  return {&m.mmio_reads,      &m.mmio_writes,      &m.posted_writes,  &m.bus_errors,
          &m.protocol_errors, &m.clients,          &m.busy_refusals,  &m.resets,
          &m.dma_read_bytes,  &m.dma_write_bytes,  &m.dma_refused,    &m.msix_delivered,
          &m.msix_dropped,    &m.msix_unrouted,    &m.run_ahead_cycles};
}

}  // namespace

std::string_view to_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::kNone: return "none";
    case ErrorCode::kBadMagic: return "bad magic";
    case ErrorCode::kBadVersion: return "unsupported protocol version";
    case ErrorCode::kBadType: return "unknown message type";
    case ErrorCode::kBadLength: return "bad payload length";
    case ErrorCode::kNotHello: return "HELLO expected first, once";
    case ErrorCode::kBusy: return "device busy: another client is attached";
    case ErrorCode::kBadBar: return "no such BAR";
    case ErrorCode::kBadFlags: return "bad flags";
    case ErrorCode::kTimeout: return "message incomplete: timed out";
    case ErrorCode::kBadFd: return "file descriptor missing or unexpected";
    case ErrorCode::kBadMap: return "host memory mapping refused";
    case ErrorCode::kBadIrq: return "interrupt binding refused";
  }
  return "unknown error";
}

std::string_view to_string(MsgType t) {
  switch (t) {
    case MsgType::kHello: return "HELLO";
    case MsgType::kMmioRead: return "MMIO_READ";
    case MsgType::kMmioWrite: return "MMIO_WRITE";
    case MsgType::kMmioWritePosted: return "MMIO_WRITE_POSTED";
    case MsgType::kReset: return "RESET";
    case MsgType::kStats: return "STATS";
    case MsgType::kShutdown: return "SHUTDOWN";
    case MsgType::kMemMap: return "MEM_MAP";
    case MsgType::kMemUnmap: return "MEM_UNMAP";
    case MsgType::kIrqBind: return "IRQ_BIND";
    case MsgType::kIrqUnbind: return "IRQ_UNBIND";
  }
  return "UNKNOWN";
}

bool takes_fd(MsgType t) { return t == MsgType::kMemMap || t == MsgType::kIrqBind; }

size_t stats_length(uint16_t minor) {
  return 8 * (minor == 0 ? kStatsCounters10 : kStatsCounters11);
}

void encode_header(const Header& h, uint8_t out[kHeaderSize]) {
  std::vector<uint8_t> v;
  v.reserve(kHeaderSize);
  put32(v, h.magic);
  put16(v, h.type);
  put16(v, h.flags);
  put32(v, h.seq);
  put32(v, h.length);
  std::memcpy(out, v.data(), kHeaderSize);
}

Header decode_header(std::span<const uint8_t, kHeaderSize> in) {
  Reader r{std::span<const uint8_t>(in)};
  Header h;
  h.magic = r.u32();
  h.type = r.u16();
  h.flags = r.u16();
  h.seq = r.u32();
  h.length = r.u32();
  return h;
}

std::optional<size_t> request_length(MsgType t) {
  switch (t) {
    case MsgType::kHello: return 4;
    case MsgType::kMmioRead: return 8;
    case MsgType::kMmioWrite:
    case MsgType::kMmioWritePosted: return 16;
    case MsgType::kReset:
    case MsgType::kStats:
    case MsgType::kShutdown: return 0;
    case MsgType::kMemMap: return 24;
    case MsgType::kMemUnmap: return 8;
    case MsgType::kIrqBind:
    case MsgType::kIrqUnbind: return 4;
  }
  return std::nullopt;
}

std::optional<size_t> reply_length(MsgType t, uint16_t minor) {
  switch (t) {
    case MsgType::kHello: return 16;
    case MsgType::kMmioRead: return 8;
    case MsgType::kMmioWrite: return 4;
    case MsgType::kMmioWritePosted: return std::nullopt;  // never replied, except errors
    case MsgType::kReset: return 0;
    case MsgType::kStats: return stats_length(minor);
    case MsgType::kShutdown:
    case MsgType::kMemMap:
    case MsgType::kMemUnmap:
    case MsgType::kIrqBind:
    case MsgType::kIrqUnbind: return 0;
  }
  return std::nullopt;
}

ErrorCode check_request_header(const Header& h) {
  if (h.magic != kMagic) {
    return ErrorCode::kBadMagic;
  }
  if (h.flags != 0) {
    return ErrorCode::kBadFlags;
  }
  if (!known_type(h.type)) {
    return ErrorCode::kBadType;
  }
  auto want = request_length(static_cast<MsgType>(h.type));
  if (h.length > kMaxPayload || !want || *want != h.length) {
    return ErrorCode::kBadLength;
  }
  return ErrorCode::kNone;
}

ErrorCode check_reply_header(const Header& h, uint16_t minor) {
  if (h.magic != kMagic) {
    return ErrorCode::kBadMagic;
  }
  if ((h.flags & kFlagReply) == 0 || (h.flags & ~(kFlagReply | kFlagError)) != 0) {
    return ErrorCode::kBadFlags;
  }
  if (!known_type(h.type) && (h.flags & kFlagError) == 0) {
    return ErrorCode::kBadType;
  }
  if (h.length > kMaxPayload || h.length < kReplyPrefixSize) {
    return ErrorCode::kBadLength;
  }
  if ((h.flags & kFlagError) == 0) {
    auto want = reply_length(static_cast<MsgType>(h.type), minor);
    if (!want || *want + kReplyPrefixSize != h.length) {
      return ErrorCode::kBadLength;
    }
  }
  return ErrorCode::kNone;
}

namespace {
std::vector<uint8_t> with_header(uint16_t type, uint16_t flags, uint32_t seq,
                                 std::span<const uint8_t> prefix, std::span<const uint8_t> body) {
  Header h;
  h.type = type;
  h.flags = flags;
  h.seq = seq;
  h.length = static_cast<uint32_t>(prefix.size() + body.size());
  std::vector<uint8_t> out(kHeaderSize);
  encode_header(h, out.data());
  out.insert(out.end(), prefix.begin(), prefix.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
}  // namespace

std::vector<uint8_t> encode_request(MsgType t, uint32_t seq, std::span<const uint8_t> body) {
  return with_header(static_cast<uint16_t>(t), 0, seq, {}, body);
}

std::vector<uint8_t> encode_reply(MsgType t, uint32_t seq, const SimTime& now,
                                  std::span<const uint8_t> body) {
  std::vector<uint8_t> p;
  encode(now, p);
  return with_header(static_cast<uint16_t>(t), kFlagReply, seq, p, body);
}

std::vector<uint8_t> encode_error(MsgType t, uint32_t seq, const SimTime& now, const Error& e) {
  std::vector<uint8_t> p;
  encode(now, p);
  std::string msg = e.message.substr(0, kMaxPayload - kReplyPrefixSize - 8);
  put32(p, static_cast<uint32_t>(e.code));
  put32(p, static_cast<uint32_t>(msg.size()));
  p.insert(p.end(), msg.begin(), msg.end());
  return with_header(static_cast<uint16_t>(t), kFlagReply | kFlagError, seq, p, {});
}

void encode(const Hello& m, std::vector<uint8_t>& o) {
  put16(o, m.major);
  put16(o, m.minor);
}
void encode(const HelloReply& m, std::vector<uint8_t>& o) {
  put16(o, m.major);
  put16(o, m.minor);
  put16(o, m.vendor_id);
  put16(o, m.device_id);
  put32(o, m.bar0_size);
  put32(o, m.clock_period_ps);
}
void encode(const MmioRead& m, std::vector<uint8_t>& o) {
  put32(o, m.bar);
  put32(o, m.offset);
}
void encode(const MmioReadReply& m, std::vector<uint8_t>& o) {
  put32(o, m.data);
  put32(o, static_cast<uint32_t>(m.resp));
}
void encode(const MmioWrite& m, std::vector<uint8_t>& o) {
  put32(o, m.bar);
  put32(o, m.offset);
  put32(o, m.data);
  put32(o, m.strb);
}
void encode(const MmioWriteReply& m, std::vector<uint8_t>& o) { put32(o, static_cast<uint32_t>(m.resp)); }
void encode(const Stats& m, std::vector<uint8_t>& o, uint16_t minor) {
  Stats copy = m;
  auto all = counters(copy);
  for (size_t i = 0; i < stats_length(minor) / 8; ++i) {
    put64(o, *all[i]);
  }
}
void encode(const MemMap& m, std::vector<uint8_t>& o) {
  put64(o, m.iova);
  put64(o, m.size);
  put64(o, m.fd_offset);
}
void encode(const MemUnmap& m, std::vector<uint8_t>& o) { put64(o, m.iova); }
void encode(const IrqBind& m, std::vector<uint8_t>& o) { put32(o, m.irq_id); }
void encode(const SimTime& m, std::vector<uint8_t>& o) {
  put64(o, m.time_ps);
  put64(o, m.cycle);
}

std::optional<Hello> decode_hello(std::span<const uint8_t> in) {
  Reader r(in);
  Hello m;
  m.major = r.u16();
  m.minor = r.u16();
  return r.done() ? std::optional(m) : std::nullopt;
}
std::optional<HelloReply> decode_hello_reply(std::span<const uint8_t> in) {
  Reader r(in);
  HelloReply m;
  m.major = r.u16();
  m.minor = r.u16();
  m.vendor_id = r.u16();
  m.device_id = r.u16();
  m.bar0_size = r.u32();
  m.clock_period_ps = r.u32();
  return r.done() ? std::optional(m) : std::nullopt;
}
std::optional<MmioRead> decode_mmio_read(std::span<const uint8_t> in) {
  Reader r(in);
  MmioRead m;
  m.bar = r.u32();
  m.offset = r.u32();
  return r.done() ? std::optional(m) : std::nullopt;
}
std::optional<MmioReadReply> decode_mmio_read_reply(std::span<const uint8_t> in) {
  Reader r(in);
  MmioReadReply m;
  m.data = r.u32();
  uint32_t resp = r.u32();
  if (!r.done() || resp > 3) {
    return std::nullopt;
  }
  m.resp = static_cast<Resp>(resp);
  return m;
}
std::optional<MmioWrite> decode_mmio_write(std::span<const uint8_t> in) {
  Reader r(in);
  MmioWrite m;
  m.bar = r.u32();
  m.offset = r.u32();
  m.data = r.u32();
  m.strb = r.u32();
  if (!r.done() || m.strb > 0xF) {  // four byte lanes on a 32-bit bus
    return std::nullopt;
  }
  return m;
}
std::optional<MmioWriteReply> decode_mmio_write_reply(std::span<const uint8_t> in) {
  Reader r(in);
  uint32_t resp = r.u32();
  if (!r.done() || resp > 3) {
    return std::nullopt;
  }
  return MmioWriteReply{static_cast<Resp>(resp)};
}
std::optional<Stats> decode_stats(std::span<const uint8_t> in, uint16_t minor) {
  Reader r(in);
  Stats m;
  auto all = counters(m);
  for (size_t i = 0; i < stats_length(minor) / 8; ++i) {
    *all[i] = r.u64();
  }
  return r.done() ? std::optional(m) : std::nullopt;
}
std::optional<MemMap> decode_mem_map(std::span<const uint8_t> in) {
  Reader r(in);
  MemMap m;
  m.iova = r.u64();
  m.size = r.u64();
  m.fd_offset = r.u64();
  return r.done() ? std::optional(m) : std::nullopt;
}
std::optional<MemUnmap> decode_mem_unmap(std::span<const uint8_t> in) {
  Reader r(in);
  MemUnmap m;
  m.iova = r.u64();
  return r.done() ? std::optional(m) : std::nullopt;
}
std::optional<IrqBind> decode_irq_bind(std::span<const uint8_t> in) {
  Reader r(in);
  IrqBind m;
  m.irq_id = r.u32();
  return r.done() ? std::optional(m) : std::nullopt;
}
std::optional<SimTime> decode_sim_time(std::span<const uint8_t> in) {
  if (in.size() < kReplyPrefixSize) {
    return std::nullopt;
  }
  Reader r(in.first(kReplyPrefixSize));
  SimTime t;
  t.time_ps = r.u64();
  t.cycle = r.u64();
  return t;
}
std::optional<Error> decode_error(std::span<const uint8_t> in) {
  Reader r(in);
  Error e;
  uint32_t code = r.u32();
  uint32_t len = r.u32();
  if (!r.ok() || r.remaining() != len) {
    return std::nullopt;
  }
  e.code = static_cast<ErrorCode>(code);
  auto rest = r.rest();
  e.message.assign(rest.begin(), rest.end());
  return e;
}

}  // namespace kvcpu::proto
