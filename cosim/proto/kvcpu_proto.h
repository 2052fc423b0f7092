// Wire protocol between a KV-CPU driver (libkvcpu) and the cosim server (kvcpu-cosim).
// Specification: docs/cosim-protocol.md. Everything is little-endian.
//
// A message is a 16-byte header followed by `length` payload bytes (<= kMaxPayload).
// Every reply payload starts with the simulated time (u64 picoseconds) and cycle count
// (u64) at the moment the reply was produced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvcpu::proto {

inline constexpr uint32_t kMagic = 0x5343564Bu;  // bytes 'K' 'V' 'C' 'S'
inline constexpr uint16_t kVersionMajor = 1;
inline constexpr uint16_t kVersionMinor = 1;
inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kMaxPayload = 4096;
inline constexpr size_t kReplyPrefixSize = 16;  // sim_time_ps + cycle

enum class MsgType : uint16_t {
  kHello = 1,         // must be the first message of a connection
  kMmioRead = 2,      // 32-bit read of a BAR offset
  kMmioWrite = 3,     // write with byte strobes; replied once the device answered
  kMmioWritePosted = 4,  // same, without a reply (ordering with later messages is kept)
  kReset = 5,         // pulse the device reset
  kStats = 6,         // server counters
  kShutdown = 7,      // reply, then the server exits cleanly
  // 1.1: host memory and interrupts. MEM_MAP and IRQ_BIND carry one file descriptor
  // (SCM_RIGHTS) with their bytes; every other type carries none.
  kMemMap = 8,     // map [iova, iova+size) to the sent fd at fd_offset
  kMemUnmap = 9,   // unmap the region whose base is iova
  kIrqBind = 10,   // MSI-X data value irq_id signals the sent eventfd
  kIrqUnbind = 11,  // forget the eventfd of irq_id
};

// Whether a request of type t carries exactly one file descriptor.
bool takes_fd(MsgType t);

// Host-memory and interrupt limits of protocol 1.1.
inline constexpr uint64_t kPageSize = 4096;     // iova, size and fd_offset alignment
inline constexpr size_t kMaxRegions = 64;       // mapped regions per connection
inline constexpr uint32_t kMaxIrqId = 2048;     // irq_id < kMaxIrqId (the MSI-X table limit)
inline constexpr uint64_t kIrqWindow = 0xFEE00000u;  // MSI-X address that signals an eventfd

enum Flags : uint16_t {
  kFlagReply = 1u << 0,
  kFlagError = 1u << 1,
};

enum class ErrorCode : uint32_t {
  kNone = 0,
  kBadMagic = 1,       // header magic wrong: the connection is closed
  kBadVersion = 2,     // HELLO with a major version the server does not speak
  kBadType = 3,        // unknown message type
  kBadLength = 4,      // payload length wrong for the type, or above kMaxPayload
  kNotHello = 5,       // first message was not HELLO, or a second HELLO
  kBusy = 6,           // another client is attached
  kBadBar = 7,         // BAR index that the device does not have
  kBadFlags = 8,       // request carried reply/error flags or unknown flag bits
  kTimeout = 9,        // a message started but did not complete in time
  // 1.1. The connection stays open unless noted.
  kBadFd = 10,    // MEM_MAP/IRQ_BIND without an fd; or an fd sent with a type that takes
                  // none (that fd is closed, and so is the connection)
  kBadMap = 11,   // MEM_MAP/MEM_UNMAP refused (alignment, overlap, size, file, mmap, ...)
  kBadIrq = 12,   // IRQ_BIND/IRQ_UNBIND: irq_id out of range, or unbinding an unbound id
};

std::string_view to_string(ErrorCode c);
std::string_view to_string(MsgType t);

struct Header {
  uint32_t magic = kMagic;
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t length = 0;
};

// AXI responses, as the device answered an access.
enum class Resp : uint32_t { kOkay = 0, kExOkay = 1, kSlvErr = 2, kDecErr = 3 };

struct Hello {
  uint16_t major = kVersionMajor;
  uint16_t minor = kVersionMinor;
};
struct HelloReply {
  uint16_t major = 0;
  uint16_t minor = 0;
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint32_t bar0_size = 0;
  uint32_t clock_period_ps = 0;
};
struct MmioRead {
  uint32_t bar = 0;
  uint32_t offset = 0;
};
struct MmioReadReply {
  uint32_t data = 0;
  Resp resp = Resp::kOkay;
};
struct MmioWrite {
  uint32_t bar = 0;
  uint32_t offset = 0;
  uint32_t data = 0;
  uint32_t strb = 0xF;
};
struct MmioWriteReply {
  Resp resp = Resp::kOkay;
};
struct Stats {
  uint64_t mmio_reads = 0;
  uint64_t mmio_writes = 0;      // acknowledged writes
  uint64_t posted_writes = 0;
  uint64_t bus_errors = 0;       // accesses the device answered with SLVERR/DECERR
  uint64_t protocol_errors = 0;  // malformed messages (all connections)
  uint64_t clients = 0;          // connections served since start
  uint64_t busy_refusals = 0;
  uint64_t resets = 0;
  // 1.1 (a 1.0 client's STATS reply stops before these)
  uint64_t dma_read_bytes = 0;    // host-memory bytes read by the device (OKAY beats)
  uint64_t dma_write_bytes = 0;   // host-memory bytes written by the device (OKAY bursts)
  uint64_t dma_refused = 0;       // bursts / MSI-X writes refused: not inside one region
  uint64_t msix_delivered = 0;    // MSI-X messages signalled to an eventfd or written
  uint64_t msix_dropped = 0;      // MSI-X messages dropped by --drop-irq fault injection
  uint64_t msix_unrouted = 0;     // MSI-X to the interrupt window with no eventfd bound
  uint64_t run_ahead_cycles = 0;  // clock cycles run while no request was executing
};
struct MemMap {
  uint64_t iova = 0;
  uint64_t size = 0;
  uint64_t fd_offset = 0;
};
struct MemUnmap {
  uint64_t iova = 0;
};
struct IrqBind {  // also the body of IRQ_UNBIND
  uint32_t irq_id = 0;
};
struct Error {
  ErrorCode code = ErrorCode::kNone;
  std::string message;
};
// Prefix of every reply payload.
struct SimTime {
  uint64_t time_ps = 0;
  uint64_t cycle = 0;
};

// Header codec. decode_header checks magic and the payload bound only; the type and
// flags are checked by the receiver (it knows whether it expects a request or a reply).
void encode_header(const Header& h, uint8_t out[kHeaderSize]);
Header decode_header(std::span<const uint8_t, kHeaderSize> in);
ErrorCode check_request_header(const Header& h);  // magic, flags, type, length bound
ErrorCode check_reply_header(const Header& h, uint16_t minor = kVersionMinor);

// Expected payload length of a request/reply body of a given type (reply: without the
// SimTime prefix). std::nullopt for variable-length bodies (errors). Reply layouts can
// depend on the minor version the client announced in HELLO (STATS: 8 counters for 1.0,
// 15 for 1.1); `minor` is that version.
std::optional<size_t> request_length(MsgType t);
std::optional<size_t> reply_length(MsgType t, uint16_t minor = kVersionMinor);
size_t stats_length(uint16_t minor = kVersionMinor);

// Whole messages (header + payload), ready to send.
std::vector<uint8_t> encode_request(MsgType t, uint32_t seq, std::span<const uint8_t> body);
std::vector<uint8_t> encode_reply(MsgType t, uint32_t seq, const SimTime& now,
                                  std::span<const uint8_t> body);
std::vector<uint8_t> encode_error(MsgType t, uint32_t seq, const SimTime& now, const Error& e);

// Bodies. encode_* append to `out`; decode_* take exactly the body bytes and return
// std::nullopt when the length is wrong or a reserved field is set.
void encode(const Hello& m, std::vector<uint8_t>& out);
void encode(const HelloReply& m, std::vector<uint8_t>& out);
void encode(const MmioRead& m, std::vector<uint8_t>& out);
void encode(const MmioReadReply& m, std::vector<uint8_t>& out);
void encode(const MmioWrite& m, std::vector<uint8_t>& out);
void encode(const MmioWriteReply& m, std::vector<uint8_t>& out);
void encode(const Stats& m, std::vector<uint8_t>& out, uint16_t minor = kVersionMinor);
void encode(const MemMap& m, std::vector<uint8_t>& out);
void encode(const MemUnmap& m, std::vector<uint8_t>& out);
void encode(const IrqBind& m, std::vector<uint8_t>& out);
void encode(const SimTime& m, std::vector<uint8_t>& out);

std::optional<Hello> decode_hello(std::span<const uint8_t> in);
std::optional<HelloReply> decode_hello_reply(std::span<const uint8_t> in);
std::optional<MmioRead> decode_mmio_read(std::span<const uint8_t> in);
std::optional<MmioReadReply> decode_mmio_read_reply(std::span<const uint8_t> in);
std::optional<MmioWrite> decode_mmio_write(std::span<const uint8_t> in);
std::optional<MmioWriteReply> decode_mmio_write_reply(std::span<const uint8_t> in);
std::optional<Stats> decode_stats(std::span<const uint8_t> in, uint16_t minor = kVersionMinor);
std::optional<MemMap> decode_mem_map(std::span<const uint8_t> in);
std::optional<MemUnmap> decode_mem_unmap(std::span<const uint8_t> in);
std::optional<IrqBind> decode_irq_bind(std::span<const uint8_t> in);  // and IRQ_UNBIND
std::optional<SimTime> decode_sim_time(std::span<const uint8_t> in);  // first 16 bytes
std::optional<Error> decode_error(std::span<const uint8_t> in);      // body after SimTime

}  // namespace kvcpu::proto
