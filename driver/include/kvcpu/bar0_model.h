// Behavioural model of kvcpu_core's BAR0, written from docs/registers.md (not from the
// RTL): what every 32-bit access answers and what it changes, including the sticky error
// bookkeeping. One model, two users: the BAR0 testbench compares the RTL against it, and
// MockTransport serves it as the `mock:` device.
#pragma once

#include <cstdint>
#include <map>

#include "kvcpu/regs.h"

namespace kvcpu {

// AXI responses.
inline constexpr uint8_t kRespOkay = 0, kRespSlvErr = 2, kRespDecErr = 3;

struct BusResult {
  uint32_t data = 0;
  uint8_t resp = kRespOkay;
};

class Bar0Model {
 public:
  struct Identity {
    uint32_t git_hash = 0;
    uint32_t build_date = 0;
    uint32_t board_id = 0;
  };

  explicit Bar0Model(Identity id) : id_(id) { reset(); }

  // Device reset: every register to its reset value (identity and pokes of constants stay).
  void reset() {
    scratch_ = regs::kScratchReset;
    control_ = regs::kControlReset;
    intr_mask_ = regs::kIntrMaskReset;
    intr_status_ = regs::kIntrStatusReset;
    err_status_ = regs::kErrStatusReset;
    err_addr_ = 0;
    step_ = 0;
    step_lo_stage_ = 0;
    step_staged_ = false;
    step_count_ = 0;
  }

  BusResult read(uint32_t addr) {
    if (addr & 3) {
      error(regs::kErrStatusUnaligned, addr);
      return {0, kRespSlvErr};
    }
    const regs::RegInfo* r = regs::find(addr);
    if (r == nullptr) {
      error(regs::kErrStatusDecerr, addr);
      return {0, kRespDecErr};
    }
    return {peek(addr), kRespOkay};
  }

  // A 32-bit write with byte strobes; returns the response.
  uint8_t write(uint32_t addr, uint32_t data, uint8_t strb = 0xF) {
    if (addr & 3) {
      error(regs::kErrStatusUnaligned, addr);
      return kRespSlvErr;
    }
    const regs::RegInfo* r = regs::find(addr);
    if (r == nullptr) {
      error(regs::kErrStatusDecerr, addr);
      return kRespDecErr;
    }
    if (strb != 0xF) {
      error(regs::kErrStatusPartial, addr);
      return kRespSlvErr;
    }
    if (r->access == regs::Access::kRo) {
      error(regs::kErrStatusRoWrite, addr);
      return kRespSlvErr;
    }
    switch (addr) {
      case regs::kScratch: scratch_ = data; break;
      case regs::kControl: control_ = data & r->mask; break;
      case regs::kIntrMask: intr_mask_ = data; break;
      case regs::kIntrStatus: intr_status_ &= ~data; break;
      case regs::kErrStatus: err_status_ &= ~data; break;
      case regs::kStepLo:
        step_lo_stage_ = data;
        step_staged_ = true;
        break;
      case regs::kStepHi: {
        const uint64_t v = (static_cast<uint64_t>(data) << 32) | step_lo_stage_;
        step_staged_ = false;
        if (v < step_) {
          error(regs::kErrStatusStepBackwards, addr);
        } else {
          step_ = v;
          ++step_count_;
        }
        break;
      }
      case regs::kStepInc:
        if (data == 0) {
          error(regs::kErrStatusStepZero, addr);
        } else {
          step_ += data;
          ++step_count_;
        }
        break;
      default: break;
    }
    return kRespOkay;
  }

  // What a read of a mapped, aligned `addr` returns, without side effects.
  uint32_t peek(uint32_t addr) const {
    const regs::RegInfo* r = regs::find(addr);
    if (r == nullptr) {
      return 0;
    }
    if (auto it = forced_.find(addr); it != forced_.end()) {
      return it->second & r->mask;
    }
    return value(addr) & r->mask;
  }

  // For tests of software above the device: set the state behind a register (a step half,
  // STEP_COUNT, a rw/w1c register, ERR_ADDR), or force what a constant reads (ID, VERSION,
  // build identity, STATUS) — e.g. to present a foreign device.
  void poke(uint32_t addr, uint32_t v) {
    switch (addr) {
      case regs::kStepLo: step_ = (step_ & ~0xFFFFFFFFull) | v; break;
      case regs::kStepHi: step_ = (step_ & 0xFFFFFFFFull) | (static_cast<uint64_t>(v) << 32); break;
      case regs::kStepCount: step_count_ = v; break;
      case regs::kScratch: scratch_ = v; break;
      case regs::kControl: control_ = v; break;
      case regs::kIntrMask: intr_mask_ = v; break;
      case regs::kIntrStatus: intr_status_ = v; break;
      case regs::kErrStatus: err_status_ = v; break;
      case regs::kErrAddr: err_addr_ = v; break;
      default: forced_[addr] = v; break;
    }
  }

  uint64_t step() const { return step_; }

 private:
  uint32_t value(uint32_t addr) const {
    switch (addr) {
      case regs::kId: return regs::kIdValue;
      case regs::kVersion: return regs::kVersionValue;
      case regs::kCapabilities: return regs::kCapabilitiesStep.put(0, 1);
      case regs::kGitHash: return id_.git_hash;
      case regs::kBuildDate: return id_.build_date;
      case regs::kBoardId: return id_.board_id;
      case regs::kScratch: return scratch_;
      case regs::kStepLo: return static_cast<uint32_t>(step_);
      case regs::kStepHi: return static_cast<uint32_t>(step_ >> 32);
      case regs::kStepCount: return step_count_;
      case regs::kControl: return control_;
      case regs::kStatus: {
        uint32_t s = regs::kStatusReady.put(0, 1);
        s = regs::kStatusStepStaged.put(s, step_staged_);
        return regs::kStatusErr.put(s, err_status_ != 0);
      }
      case regs::kErrStatus: return err_status_;
      case regs::kErrAddr: return err_addr_;
      case regs::kIntrStatus: return intr_status_;
      case regs::kIntrMask: return intr_mask_;
      default: return 0;  // STEP_INC (write-only)
    }
  }

  void error(const regs::Field& bit, uint32_t addr) {
    if (err_status_ == 0) {
      err_addr_ = addr;
    }
    err_status_ |= bit.mask();
  }

  Identity id_;
  std::map<uint32_t, uint32_t> forced_;
  uint32_t scratch_, control_, intr_mask_, intr_status_, err_status_, err_addr_;
  uint64_t step_;
  uint32_t step_lo_stage_;
  bool step_staged_;
  uint32_t step_count_;
};

}  // namespace kvcpu
