// NVMe I/O command formats (NVM Express Base Specification 2.0, NVM Command Set 1.0):
// bit-exact 64-byte submission queue entries and 16-byte completion queue entries, builders
// for Read (0x02), Write (0x01) and Dataset Management (0x09) with deallocate, decoders,
// status codes, and a command-identifier allocator that matches completions to requests.
//
// Layouts are checked with static_asserts below; all multi-byte fields are little-endian as
// the specification defines them, and this header requires a little-endian host.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvcpu::nvme {

static_assert(std::endian::native == std::endian::little,
              "nvme.h maps the little-endian wire layout onto host structs");

// ---------------------------------------------------------------------------------------------
// Opcodes (NVM command set) and directive types.

enum class Opcode : uint8_t {
  kFlush = 0x00,
  kWrite = 0x01,
  kRead = 0x02,
  kDatasetManagement = 0x09,
};

// Directive Type (CDW12 bits 23:20 of Read/Write): 0 none, 1 Streams, 2 Data Placement (FDP).
enum class DirectiveType : uint8_t { kNone = 0, kStreams = 1, kDataPlacement = 2 };

// A placement hint for a write: a stream identifier (Streams) or a placement identifier
// (FDP: reclaim group and placement handle, as the namespace's PHNDL list defines it).
struct Placement {
  DirectiveType type = DirectiveType::kNone;
  uint16_t dspec = 0;  // CDW13 bits 31:16
};

// ---------------------------------------------------------------------------------------------
// Submission queue entry (64 bytes). Figure "Common Command Format" of the base spec 2.0.

struct Sqe {
  uint32_t cdw0 = 0;  // opcode [7:0], FUSE [9:8], PSDT [15:14], CID [31:16]
  uint32_t nsid = 0;
  uint32_t cdw2 = 0;
  uint32_t cdw3 = 0;
  uint64_t mptr = 0;  // metadata pointer
  uint64_t prp1 = 0;  // DPTR: PRP entry 1
  uint64_t prp2 = 0;  // DPTR: PRP entry 2
  uint32_t cdw10 = 0;
  uint32_t cdw11 = 0;
  uint32_t cdw12 = 0;
  uint32_t cdw13 = 0;
  uint32_t cdw14 = 0;
  uint32_t cdw15 = 0;

  uint8_t opcode() const { return static_cast<uint8_t>(cdw0 & 0xFF); }
  uint8_t fuse() const { return static_cast<uint8_t>((cdw0 >> 8) & 0x3); }
  uint8_t psdt() const { return static_cast<uint8_t>((cdw0 >> 14) & 0x3); }
  uint16_t cid() const { return static_cast<uint16_t>(cdw0 >> 16); }
  void set_opcode(uint8_t op) { cdw0 = (cdw0 & ~0xFFu) | op; }
  void set_cid(uint16_t cid) { cdw0 = (cdw0 & 0xFFFFu) | (uint32_t{cid} << 16); }

  // Read/Write fields.
  uint64_t slba() const { return (uint64_t{cdw11} << 32) | cdw10; }
  uint32_t nlb0() const { return cdw12 & 0xFFFF; }  // number of logical blocks, 0's based
  uint32_t nblocks() const { return nlb0() + 1; }
  uint8_t dtype() const { return static_cast<uint8_t>((cdw12 >> 20) & 0xF); }
  uint8_t prinfo() const { return static_cast<uint8_t>((cdw12 >> 26) & 0xF); }
  bool fua() const { return ((cdw12 >> 30) & 1) != 0; }
  bool limited_retry() const { return ((cdw12 >> 31) & 1) != 0; }
  uint16_t dspec() const { return static_cast<uint16_t>(cdw13 >> 16); }
  uint8_t dsm() const { return static_cast<uint8_t>(cdw13 & 0xFF); }

  // Dataset Management fields.
  uint32_t dsm_nranges() const { return (cdw10 & 0xFF) + 1; }      // NR is 0's based
  bool dsm_deallocate() const { return ((cdw11 >> 2) & 1) != 0; }  // AD
  bool dsm_idw() const { return ((cdw11 >> 1) & 1) != 0; }
  bool dsm_idr() const { return (cdw11 & 1) != 0; }
};
static_assert(sizeof(Sqe) == 64);
static_assert(offsetof(Sqe, cdw0) == 0);
static_assert(offsetof(Sqe, nsid) == 4);
static_assert(offsetof(Sqe, cdw2) == 8);
static_assert(offsetof(Sqe, cdw3) == 12);
static_assert(offsetof(Sqe, mptr) == 16);
static_assert(offsetof(Sqe, prp1) == 24);
static_assert(offsetof(Sqe, prp2) == 32);
static_assert(offsetof(Sqe, cdw10) == 40);
static_assert(offsetof(Sqe, cdw11) == 44);
static_assert(offsetof(Sqe, cdw12) == 48);
static_assert(offsetof(Sqe, cdw13) == 52);
static_assert(offsetof(Sqe, cdw14) == 56);
static_assert(offsetof(Sqe, cdw15) == 60);

// Dataset Management range (16 bytes; the command's data buffer holds NR+1 of them).
struct DsmRange {
  uint32_t attributes = 0;  // context attributes
  uint32_t nlb = 0;         // length in logical blocks (not 0's based)
  uint64_t slba = 0;
};
static_assert(sizeof(DsmRange) == 16);
static_assert(offsetof(DsmRange, attributes) == 0);
static_assert(offsetof(DsmRange, nlb) == 4);
static_assert(offsetof(DsmRange, slba) == 8);
inline constexpr uint32_t kMaxDsmRanges = 256;

// ---------------------------------------------------------------------------------------------
// Status (the 15-bit Status Field of a CQE, without the phase tag).

enum class StatusCodeType : uint8_t {
  kGeneric = 0,
  kCommandSpecific = 1,
  kMediaDataIntegrity = 2,
  kPath = 3,
  kVendorSpecific = 7,
};

struct Status {
  uint8_t sct = 0;  // Status Code Type, 3 bits
  uint8_t sc = 0;   // Status Code, 8 bits
  uint8_t crd = 0;  // Command Retry Delay, 2 bits
  bool more = false;
  bool dnr = false;  // Do Not Retry

  bool ok() const { return sct == 0 && sc == 0; }
  friend bool operator==(const Status& a, const Status& b) {
    return a.sct == b.sct && a.sc == b.sc && a.crd == b.crd && a.more == b.more && a.dnr == b.dnr;
  }
  // Same status code type and code, ignoring CRD/More/DNR.
  bool Is(const Status& other) const { return sct == other.sct && sc == other.sc; }

  // The upper half of CQE DW3 with the phase tag in bit 0: P [0], SC [8:1], SCT [11:9],
  // CRD [13:12], M [14], DNR [15].
  uint16_t Encode(bool phase) const {
    return static_cast<uint16_t>((phase ? 1u : 0u) | (uint32_t{sc} << 1) |
                                 ((uint32_t{sct} & 0x7) << 9) | ((uint32_t{crd} & 0x3) << 12) |
                                 ((more ? 1u : 0u) << 14) | ((dnr ? 1u : 0u) << 15));
  }
  static Status Decode(uint16_t field) {
    Status s;
    s.sc = static_cast<uint8_t>((field >> 1) & 0xFF);
    s.sct = static_cast<uint8_t>((field >> 9) & 0x7);
    s.crd = static_cast<uint8_t>((field >> 12) & 0x3);
    s.more = ((field >> 14) & 1) != 0;
    s.dnr = ((field >> 15) & 1) != 0;
    return s;
  }
};

constexpr Status GenericStatus(uint8_t sc, bool dnr = false) {
  return Status{0, sc, 0, false, dnr};
}
constexpr Status MediaStatus(uint8_t sc, bool dnr = false) { return Status{2, sc, 0, false, dnr}; }

// Generic Command Status (SCT 0).
inline constexpr Status kSuccess = GenericStatus(0x00);
inline constexpr Status kInvalidOpcode = GenericStatus(0x01, true);
inline constexpr Status kInvalidField = GenericStatus(0x02, true);
inline constexpr Status kCommandIdConflict = GenericStatus(0x03, true);
inline constexpr Status kDataTransferError = GenericStatus(0x04);
inline constexpr Status kInternalError = GenericStatus(0x06);
inline constexpr Status kAbortRequested = GenericStatus(0x07);
inline constexpr Status kInvalidNamespace = GenericStatus(0x0B, true);
inline constexpr Status kLbaOutOfRange = GenericStatus(0x80, true);
// Media and Data Integrity Errors (SCT 2).
inline constexpr Status kWriteFault = MediaStatus(0x80);
inline constexpr Status kUnrecoveredReadError = MediaStatus(0x81);

// A short name ("Invalid Opcode", "SCT 2 SC 0x81 Unrecovered Read Error", ...).
std::string StatusName(const Status& s);

// ---------------------------------------------------------------------------------------------
// Completion queue entry (16 bytes). Figure "Common Completion Queue Entry Layout".

struct Cqe {
  uint32_t dw0 = 0;       // command specific
  uint32_t dw1 = 0;       // command specific
  uint16_t sqhd = 0;      // DW2 [15:0]: SQ head pointer
  uint16_t sqid = 0;      // DW2 [31:16]: SQ identifier
  uint16_t cid = 0;       // DW3 [15:0]
  uint16_t status_p = 0;  // DW3 [31:16]: phase tag [0] and status field [15:1]

  bool phase() const { return (status_p & 1) != 0; }
  Status status() const { return Status::Decode(status_p); }
  void set_status(const Status& s) { status_p = s.Encode(phase()); }
  void set_phase(bool p) { status_p = static_cast<uint16_t>((status_p & ~1u) | (p ? 1u : 0u)); }
};
static_assert(sizeof(Cqe) == 16);
static_assert(offsetof(Cqe, dw0) == 0);
static_assert(offsetof(Cqe, dw1) == 4);
static_assert(offsetof(Cqe, sqhd) == 8);
static_assert(offsetof(Cqe, sqid) == 10);
static_assert(offsetof(Cqe, cid) == 12);
static_assert(offsetof(Cqe, status_p) == 14);

// ---------------------------------------------------------------------------------------------
// Wire conversion (byte arrays exactly as they sit in host memory).

inline std::array<uint8_t, 64> ToBytes(const Sqe& s) {
  std::array<uint8_t, 64> b;
  std::memcpy(b.data(), &s, 64);
  return b;
}
inline Sqe SqeFromBytes(std::span<const uint8_t, 64> b) {
  Sqe s;
  std::memcpy(&s, b.data(), 64);
  return s;
}
inline std::array<uint8_t, 16> ToBytes(const Cqe& c) {
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), &c, 16);
  return b;
}
inline Cqe CqeFromBytes(std::span<const uint8_t, 16> b) {
  Cqe c;
  std::memcpy(&c, b.data(), 16);
  return c;
}
std::vector<uint8_t> DsmRangesToBytes(std::span<const DsmRange> ranges);
// Parses `count` ranges; nullopt when `bytes` holds fewer than 16 * count bytes.
std::optional<std::vector<DsmRange>> DsmRangesFromBytes(std::span<const uint8_t> bytes,
                                                        uint32_t count);

// ---------------------------------------------------------------------------------------------
// Builders. They reject what an SQE cannot encode; nothing is built then.

enum class BuildError : uint8_t {
  kNone = 0,
  kZeroLength,     // 0 blocks or 0 ranges
  kTooLong,        // more than 65,536 blocks (NLB is 16 bits, 0's based)
  kTooManyRanges,  // more than 256 DSM ranges
  kBadPlacement,   // a placement hint on a read, or an unknown directive type
};
const char* BuildErrorName(BuildError e);

struct [[nodiscard]] BuildResult {
  Sqe sqe;
  BuildError error = BuildError::kNone;
  bool ok() const { return error == BuildError::kNone; }
};

struct RwArgs {
  uint16_t cid = 0;
  uint32_t nsid = 1;
  uint64_t slba = 0;
  uint32_t nblocks = 1;  // 1 ..= 65536
  uint64_t prp1 = 0;
  uint64_t prp2 = 0;
  bool fua = false;
};

BuildResult BuildRead(const RwArgs& a);
BuildResult BuildWrite(const RwArgs& a, const Placement& placement = {});
// Dataset Management with the Deallocate attribute over `nranges` ranges whose list sits at
// prp1 (and prp2 when it crosses a page).
BuildResult BuildDsmDeallocate(uint16_t cid, uint32_t nsid, uint32_t nranges, uint64_t prp1,
                               uint64_t prp2 = 0);

// A decoded view of an I/O command (for logs and tests).
struct DecodedCommand {
  Opcode opcode = Opcode::kFlush;
  bool known_opcode = false;
  uint16_t cid = 0;
  uint32_t nsid = 0;
  uint64_t slba = 0;
  uint32_t nblocks = 0;  // Read/Write
  uint32_t nranges = 0;  // DSM
  bool deallocate = false;
  Placement placement;
  uint64_t prp1 = 0;
  uint64_t prp2 = 0;
};
DecodedCommand Decode(const Sqe& s);
std::string Describe(const Sqe& s);

// ---------------------------------------------------------------------------------------------
// Command identifiers on the requester side: a free list of CIDs 0..depth-1 (FIFO, so the
// order is deterministic), conflict detection for CIDs chosen by the caller, and matching of
// completions to the requester's tag.

class CidAllocator {
 public:
  // depth: 1 ..= 65535 CIDs (0xFFFF is never handed out: the spec reserves it in error logs).
  explicit CidAllocator(uint32_t depth);

  uint32_t depth() const { return depth_; }
  uint32_t in_flight() const { return in_flight_; }
  bool InUse(uint16_t cid) const { return cid < depth_ && slots_[cid].has_value(); }

  // The next free CID bound to `tag`; nullopt when all are in flight.
  std::optional<uint16_t> Allocate(uint64_t tag);
  // Binds a caller-chosen CID; false (nothing changes) when it is out of range or in use.
  [[nodiscard]] bool Claim(uint16_t cid, uint64_t tag);

  enum class MatchError : uint8_t { kNone = 0, kUnknownCid };
  struct Match {
    MatchError error = MatchError::kNone;
    uint64_t tag = 0;
    Status status;
    bool ok() const { return error == MatchError::kNone; }
  };
  // Matches a completion to its request and frees the CID. A CQE whose CID is not in flight
  // is reported (kUnknownCid) and changes nothing.
  Match Complete(const Cqe& cqe);
  // Gives a CID back without a completion (the requester's timeout path); false if not in use.
  [[nodiscard]] bool Release(uint16_t cid);

 private:
  uint32_t depth_;
  uint32_t in_flight_ = 0;
  std::vector<std::optional<uint64_t>> slots_;
  std::deque<uint16_t> free_;
};

}  // namespace kvcpu::nvme
