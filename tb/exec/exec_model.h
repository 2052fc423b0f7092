// Reference model of the command executor kvcpu_exec, written from docs/host-interface.md
// ("Commands", "Completion status") and docs/exec.md (DMA chunking, result of errors), not
// from the RTL.
//
// check() gives the status a command gets before it runs (engine fields, opcode, fields,
// length, in that order). What running it does:
//   STEP_ADVANCE  step() from the step the core shows at the decision
//   block hints   length > 0 (a byte range): HINT_COUNT[opcode - 0x10] += 1 (32-bit wrap);
//                 length 0 (keyed): one directory op (dir_request()); the count on SUCCESS
//   IO_*          one push to the I/O unit (docs/io.md): a deferred completion when taken,
//                 IO_BUSY when not; DISCARD first writes its Dataset Management range to
//                 addr0. The I/O unit's NVMe command is nvme_sqe() (tb_io checks it)
//   BLK_*         one directory op; result dir_result(); LOOKUP/TOUCH with addr1 != 0 write
//                 the entry (entry_bytes()) to addr1
//   ECHO          result = cdw bytes 35:32
//   DMA_COPY      dma_plan(): the chunks, which one fails, the result and what lands where
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "nvme.h"
#include "rtbd.h"

namespace kvcpu::tb {

enum ExecStatus : uint16_t {
  kExSuccess = 0x0000,
  kExInvalidOpcode = 0x0001,
  kExInvalidField = 0x0002,
  kExFetchError = 0x0003,
  kExInvalidLength = 0x0004,
  kExDmaError = 0x0005,
  kExStepBackwards = 0x0080,
  kExNvmeError = 0x0200,
  kExIoTimeout = 0x0201,
  kExIoBusy = 0x0202,
};

enum ExecOpcode : uint8_t {
  kOpNop = 0x00,
  kOpStepAdvance = 0x01,
  kOpMarkHot = 0x10,
  kOpEvict = 0x11,
  kOpPrefetch = 0x12,
  kOpSharePrefix = 0x13,
  kOpRelease = 0x14,
  kOpEcho = 0x20,
  kOpDmaCopy = 0x21,
  kOpBlkInsert = 0x30,
  kOpBlkLookup = 0x31,
  kOpBlkTouch = 0x32,
  kOpBlkDelete = 0x33,
  kOpBlkSetTier = 0x34,
  kOpBlkVictim = 0x35,
  kOpIoRead = 0x40,
  kOpIoWrite = 0x41,
  kOpIoDiscard = 0x42,
};

inline const char* status_name(uint16_t s) {
  switch (s) {
    case kExSuccess: return "SUCCESS";
    case kExInvalidOpcode: return "INVALID_OPCODE";
    case kExInvalidField: return "INVALID_FIELD";
    case kExFetchError: return "FETCH_ERROR";
    case kExInvalidLength: return "INVALID_LENGTH";
    case kExDmaError: return "DMA_ERROR";
    case kExStepBackwards: return "STEP_BACKWARDS";
    case 0x0100: return "NOT_FOUND";
    case 0x0101: return "DUPLICATE";
    case 0x0102: return "DIR_FULL";
    case 0x0103: return "REF_UNDERFLOW";
    case 0x0104: return "REF_OVERFLOW";
    case 0x0105: return "HINT_STALE";
    case 0x0106: return "BAD_FIELD";
    case kExNvmeError: return "NVME_ERROR";
    case kExIoTimeout: return "IO_TIMEOUT";
    case kExIoBusy: return "IO_BUSY";
    default: return "?";
  }
}

inline const char* opcode_name(uint8_t o) {
  switch (o) {
    case kOpNop: return "NOP";
    case kOpStepAdvance: return "STEP_ADVANCE";
    case kOpMarkHot: return "MARK_HOT";
    case kOpEvict: return "EVICT";
    case kOpPrefetch: return "PREFETCH";
    case kOpSharePrefix: return "SHARE_PREFIX";
    case kOpRelease: return "RELEASE";
    case kOpEcho: return "ECHO";
    case kOpDmaCopy: return "DMA_COPY";
    case kOpBlkInsert: return "BLK_INSERT";
    case kOpBlkLookup: return "BLK_LOOKUP";
    case kOpBlkTouch: return "BLK_TOUCH";
    case kOpBlkDelete: return "BLK_DELETE";
    case kOpBlkSetTier: return "BLK_SET_TIER";
    case kOpBlkVictim: return "BLK_VICTIM";
    case kOpIoRead: return "IO_READ";
    case kOpIoWrite: return "IO_WRITE";
    case kOpIoDiscard: return "IO_DISCARD";
    default: return "unknown";
  }
}

// A 64-byte SQE, little-endian byte image.
struct ExecCmd {
  std::array<uint8_t, 64> b{};

  uint64_t le(unsigned off, unsigned n) const {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= static_cast<uint64_t>(b[off + i]) << (8 * i);
    return v;
  }
  void set_le(unsigned off, unsigned n, uint64_t v) {
    for (unsigned i = 0; i < n; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  bool zero(unsigned from, unsigned to_incl) const {
    for (unsigned i = from; i <= to_incl; ++i) {
      if (b[i] != 0) return false;
    }
    return true;
  }
  uint8_t opcode() const { return b[0]; }
  uint8_t flags() const { return b[1]; }
  uint16_t cid() const { return static_cast<uint16_t>(le(2, 2)); }
  uint8_t io_class() const { return b[10]; }
  uint8_t rsvd() const { return b[11]; }
  uint32_t length() const { return static_cast<uint32_t>(le(12, 4)); }
  uint64_t addr0() const { return le(16, 8); }
  uint64_t addr1() const { return le(24, 8); }
  uint64_t arg() const { return le(32, 8); }  // step, target_step, value (low 32 bits)
  uint8_t mode() const { return b[40]; }
};

class ExecRefModel {
 public:
  static constexpr uint32_t kHintLenMax = 1u << 30;
  static constexpr uint32_t kDmaLenMax = 1u << 20;
  static constexpr unsigned kMaxBeats = 16;

  static bool is_hint(uint8_t op) { return op >= kOpMarkHot && op <= kOpRelease; }
  static bool is_blk(uint8_t op) { return op >= kOpBlkInsert && op <= kOpBlkVictim; }
  static bool is_io(uint8_t op) { return op >= kOpIoRead && op <= kOpIoDiscard; }
  static constexpr uint32_t kIoLenMax = 8192;  // PRP1 + PRP2, 4 KiB pages
  // A command that passes check() and is one directory op.
  static bool is_dir_op(const ExecCmd& c) {
    return is_blk(c.opcode()) || (is_hint(c.opcode()) && c.length() == 0);
  }
  // LOOKUP/TOUCH/VICTIM that write the entry to addr1.
  static bool writes_entry(const ExecCmd& c) {
    return (c.opcode() == kOpBlkLookup || c.opcode() == kOpBlkTouch || c.opcode() == kOpBlkVictim) &&
           c.addr1() != 0;
  }

  // Status before running. SUCCESS for STEP_ADVANCE still needs step(), for DMA_COPY dma_plan().
  static uint16_t check(const ExecCmd& c) {
    // the engine's checks (kvcpu_hif does them first; the executor repeats them)
    if (c.flags() != 0 || c.rsvd() != 0 || c.io_class() > 4) return kExInvalidField;
    const uint8_t op = c.opcode();
    // fields (bytes 12..63 that the opcode does not use must be 0), then length
    if (op == kOpNop) return kExSuccess;
    if (op == kOpStepAdvance) {
      if (!c.zero(12, 31) || !c.zero(41, 63) || c.mode() > 1) return kExInvalidField;
      if (c.mode() == 0 && c.arg() == 0) return kExInvalidField;  // advance by >= 1
      return kExSuccess;
    }
    if (is_hint(op)) {
      // length 0: addr0 is a key, and the PREFETCH target is a 32-bit directory step
      const unsigned cdw_used_to = op != kOpPrefetch ? 31 : c.length() == 0 ? 35 : 39;
      if (!c.zero(24, 31) || !c.zero(cdw_used_to + 1, 63)) return kExInvalidField;
      if (c.length() > kHintLenMax) return kExInvalidLength;
      return kExSuccess;
    }
    if (is_io(op)) {
      // cdw bytes 39:32 slba, 41:40 session, 42 model, 43 placement type, 45:44 placement id
      const uint8_t ptype = c.b[43];
      const uint64_t pid = c.le(44, 2);
      bool bad = c.addr1() != 0 || !c.zero(46, 63) || (c.length() & 0xFFF) != 0;
      if (op == kOpIoWrite) {
        bad = bad || (c.addr0() & 0xFFF) != 0 || ptype > 2 || (ptype == 0 && pid != 0);
      } else if (op == kOpIoRead) {
        bad = bad || (c.addr0() & 0xFFF) != 0 || ptype != 0 || pid != 0;
      } else {
        bad = bad || (c.addr0() & 0xF) != 0 || ptype != 0 || pid != 0;
      }
      if (bad) return kExInvalidField;
      if (c.length() == 0 || (op != kOpIoDiscard && c.length() > kIoLenMax)) return kExInvalidLength;
      return kExSuccess;
    }
    if (is_blk(op)) {
      if (c.length() != 0) return kExInvalidField;
      bool ok = true;
      switch (op) {
        case kOpBlkInsert:  // byte 32 tier (3 bits), 33 flags (3 bits), 35:34 session, 36 model, 43:40 lifetime
          ok = (c.b[32] >> 3) == 0 && (c.b[33] >> 3) == 0 && c.zero(37, 39) && c.zero(44, 63);
          break;
        case kOpBlkLookup:
        case kOpBlkTouch:  // addr1: entry buffer, 64-byte aligned (0: none)
          ok = (c.addr1() & 63) == 0 && c.zero(32, 63);
          break;
        case kOpBlkDelete:
          ok = c.addr1() == 0 && c.zero(32, 63);
          break;
        case kOpBlkVictim:  // no key; addr1: entry buffer, 64-byte aligned (0: none)
          ok = c.addr0() == 0 && (c.addr1() & 63) == 0 && c.zero(32, 63);
          break;
        default:  // SET_TIER: bytes 35:32 handle, byte 36 tier (3 bits), addr1 address
          ok = c.addr0() == 0 && (c.b[36] >> 3) == 0 && c.zero(37, 63);
          break;
      }
      return ok ? kExSuccess : kExInvalidField;
    }
    if (op == kOpEcho) {
      if (!c.zero(12, 31) || !c.zero(36, 63)) return kExInvalidField;
      return kExSuccess;
    }
    if (op == kOpDmaCopy) {
      if (!c.zero(32, 63) || (c.addr0() & 7) || (c.addr1() & 7) || (c.length() & 7)) return kExInvalidField;
      if (c.length() == 0 || c.length() > kDmaLenMax) return kExInvalidLength;
      return kExSuccess;
    }
    return kExInvalidOpcode;
  }

  // STEP_ADVANCE against the step the core shows when the executor decides.
  struct StepOutcome {
    uint16_t status;
    uint64_t new_step;  // SUCCESS: the value offered on the step handshake
    uint32_t result;
  };
  static StepOutcome step(const ExecCmd& c, uint64_t cur) {
    if (c.mode() == 1) {
      if (c.arg() < cur) return {kExStepBackwards, cur, 0};
      return {kExSuccess, c.arg(), static_cast<uint32_t>(c.arg())};
    }
    const uint64_t n = cur + c.arg();  // wraps modulo 2^64
    return {kExSuccess, n, static_cast<uint32_t>(n)};
  }

  // DMA_COPY: chunks of up to 16 beats that end at the first 4 KiB boundary of either side;
  // each chunk is read, then written. A read error stops before the chunk is written; a
  // write error stops after that chunk's burst. result = bytes of chunks written with OKAY.
  struct Chunk {
    uint64_t src, dst;
    unsigned beats;
  };
  struct DmaPlan {
    std::vector<Chunk> reads;   // read bursts issued, in order
    std::vector<Chunk> writes;  // write bursts issued, in order (the data lands even on error)
    uint16_t status = kExSuccess;
    uint32_t result = 0;
    bool read_error = false, write_error = false;
  };
  // rd_err(addr) / wr_err(addr): the 8-byte word at addr answers with an error.
  static DmaPlan dma_plan(const ExecCmd& c, const std::function<bool(uint64_t)>& rd_err,
                          const std::function<bool(uint64_t)>& wr_err) {
    DmaPlan p;
    uint64_t src = c.addr0(), dst = c.addr1();
    uint64_t rem = c.length();
    while (rem > 0) {
      uint64_t beats = kMaxBeats;
      beats = std::min<uint64_t>(beats, (0x1000 - (src & 0xFFF)) / 8);
      beats = std::min<uint64_t>(beats, (0x1000 - (dst & 0xFFF)) / 8);
      beats = std::min<uint64_t>(beats, rem / 8);
      const Chunk ch{src, dst, static_cast<unsigned>(beats)};
      p.reads.push_back(ch);
      bool re = false, we = false;
      for (unsigned i = 0; i < ch.beats; ++i) {
        re = re || rd_err(src + 8ull * i);
        we = we || wr_err(dst + 8ull * i);
      }
      if (re) {
        p.read_error = true;
        p.status = kExDmaError;
        return p;
      }
      p.writes.push_back(ch);
      if (we) {
        p.write_error = true;
        p.status = kExDmaError;
        return p;
      }
      p.result += static_cast<uint32_t>(8 * beats);
      src += 8 * beats;
      dst += 8 * beats;
      rem -= 8 * beats;
    }
    return p;
  }

  // The directory request a command that is_dir_op() makes (fields the op does not use are
  // not compared).
  enum class DirOp : uint8_t {
    kInsert = 0, kLookup, kTouch, kUpdateHint, kDelete, kShare, kRelease, kSetTier, kStepAdvance, kVictim
  };
  struct DirReq {
    DirOp op = DirOp::kLookup;
    uint64_t key = 0;
    uint32_t handle = 0;
    uint8_t tier = 0;
    uint64_t addr = 0;
    bool prefix = false, dirty = false, recompute_ok = false;
    uint32_t lifetime_end = 0;
    uint16_t session = 0;
    uint8_t model_id = 0;
    uint8_t hint = 0;
    uint32_t target = 0;
  };
  static DirReq dir_request(const ExecCmd& c) {
    DirReq d;
    d.key = c.addr0();
    switch (c.opcode()) {
      case kOpBlkInsert:
        d.op = DirOp::kInsert;
        d.tier = c.b[32];
        d.addr = c.addr1();
        d.prefix = c.b[33] & 1;
        d.dirty = (c.b[33] >> 1) & 1;
        d.recompute_ok = (c.b[33] >> 2) & 1;
        d.session = static_cast<uint16_t>(c.le(34, 2));
        d.model_id = c.b[36];
        d.lifetime_end = static_cast<uint32_t>(c.le(40, 4));
        break;
      case kOpBlkLookup: d.op = DirOp::kLookup; break;
      case kOpBlkTouch: d.op = DirOp::kTouch; break;
      case kOpBlkDelete: d.op = DirOp::kDelete; break;
      case kOpBlkVictim: d.op = DirOp::kVictim; break;
      case kOpBlkSetTier:
        d.op = DirOp::kSetTier;
        d.handle = static_cast<uint32_t>(c.le(32, 4));
        d.tier = c.b[36];
        d.addr = c.addr1();
        break;
      case kOpSharePrefix: d.op = DirOp::kShare; break;
      case kOpRelease: d.op = DirOp::kRelease; break;
      default:  // MARK_HOT, EVICT, PREFETCH
        d.op = DirOp::kUpdateHint;
        d.hint = c.opcode() == kOpMarkHot ? 1 : c.opcode() == kOpPrefetch ? 2 : 3;
        d.target = static_cast<uint32_t>(c.arg());
        break;
    }
    return d;
  }
  // The completion result of a directory op: handle [15:0] and the entry's tier [17:16];
  // all ones when the answer has no handle.
  static uint32_t dir_result(uint32_t handle, uint8_t tier) {
    return handle == model::kNoHandle ? 0xFFFFFFFFu : (handle & 0xFFFF) | (uint32_t{tier} << 16);
  }
  // The 40-byte image of an entry (docs/rtbd-hepc.md "Entry layout", little-endian).
  static std::array<uint8_t, 40> entry_bytes(const model::Entry& e) {
    std::array<uint8_t, 40> b{};
    auto put = [&b](unsigned lo, unsigned w, uint64_t v) {
      for (unsigned i = 0; i < w; ++i) {
        if ((v >> i) & 1) b[(lo + i) / 8] |= static_cast<uint8_t>(1u << ((lo + i) % 8));
      }
    };
    put(0, 1, e.valid);
    put(1, 64, e.key.Packed());
    put(65, 2, e.tier);
    put(67, 64, e.addr);
    put(131, 4, e.freq);
    put(135, 32, e.last_access);
    put(167, 32, e.next_use);
    put(199, 32, e.hint_bucket);
    put(231, 2, static_cast<uint8_t>(e.hint));
    put(233, 1, e.prefix);
    put(234, 8, e.refcount);
    put(242, 1, e.dirty);
    put(243, 1, e.recompute_ok);
    put(244, 32, e.lifetime_end);
    put(276, 16, e.session);
    put(292, 8, e.model_id);
    put(300, 1, e.moving);
    return b;
  }

  // The NVMe command an I/O command sends (with the device's CID), built with sw/nvme.
  static std::array<uint8_t, 64> nvme_sqe(const ExecCmd& c, uint16_t cid) {
    const uint32_t blocks = c.length() / 4096;
    nvme::RwArgs a;
    a.cid = cid;
    a.slba = c.arg();
    a.nblocks = blocks;
    a.prp1 = c.addr0();
    a.prp2 = blocks == 2 ? c.addr0() + 4096 : 0;
    nvme::BuildResult r;
    if (c.opcode() == kOpIoRead) {
      r = nvme::BuildRead(a);
    } else if (c.opcode() == kOpIoWrite) {
      r = nvme::BuildWrite(a, nvme::Placement{static_cast<nvme::DirectiveType>(c.b[43]),
                                              static_cast<uint16_t>(c.le(44, 2))});
    } else {
      r = nvme::BuildDsmDeallocate(cid, 1, 1, c.addr0());
    }
    return nvme::ToBytes(r.sqe);
  }
  // A DISCARD's range, as it must appear at addr0.
  static std::vector<uint8_t> dsm_range(const ExecCmd& c) {
    const nvme::DsmRange r{0, c.length() / 4096, c.arg()};
    return nvme::DsmRangesToBytes(std::span<const nvme::DsmRange>(&r, 1));
  }

  // ---- state: HINT_COUNT
  void reset() { hints_.fill(0); }
  void count_hint(uint8_t op) { ++hints_[op - kOpMarkHot]; }
  uint32_t hint(unsigned i) const { return hints_[i]; }

 private:
  std::array<uint32_t, 5> hints_{};
};

}  // namespace kvcpu::tb
