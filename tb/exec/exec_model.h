// Reference model of the command executor kvcpu_exec, written from docs/host-interface.md
// ("Commands", "Completion status") and docs/exec.md (DMA chunking, result of errors), not
// from the RTL.
//
// check() gives the status a command gets before it runs (engine fields, opcode, fields,
// length, in that order). What running it does:
//   STEP_ADVANCE  step() from the step the core shows at the decision
//   block hints   HINT_COUNT[opcode - 0x10] += 1 on SUCCESS (32-bit wrap)
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

namespace kvcpu::tb {

enum ExecStatus : uint16_t {
  kExSuccess = 0x0000,
  kExInvalidOpcode = 0x0001,
  kExInvalidField = 0x0002,
  kExFetchError = 0x0003,
  kExInvalidLength = 0x0004,
  kExDmaError = 0x0005,
  kExStepBackwards = 0x0080,
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
      const unsigned cdw_used_to = op == kOpPrefetch ? 39 : 31;
      if (!c.zero(24, 31) || !c.zero(cdw_used_to + 1, 63)) return kExInvalidField;
      if (c.length() == 0 || c.length() > kHintLenMax) return kExInvalidLength;
      return kExSuccess;
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

  // ---- state: HINT_COUNT
  void reset() { hints_.fill(0); }
  void count_hint(uint8_t op) { ++hints_[op - kOpMarkHot]; }
  uint32_t hint(unsigned i) const { return hints_[i]; }

 private:
  std::array<uint32_t, 5> hints_{};
};

}  // namespace kvcpu::tb
