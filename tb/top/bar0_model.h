// Transaction-level reference model of kvcpu_core's BAR0, written from
// docs/registers.md (not from the RTL): what every read returns and what every write
// does, including responses and sticky error bookkeeping.
#pragma once

#include <cstdint>

#include "kvcpu/regs.h"

namespace kvcpu::tb {

inline constexpr uint8_t kOkay = 0, kSlvErr = 2, kDecErr = 3;

struct ModelResp {
  uint32_t data = 0;
  uint8_t resp = kOkay;
};

class Bar0Model {
 public:
  Bar0Model(uint32_t git_hash, uint32_t build_date, uint32_t board_id)
      : git_hash_(git_hash), build_date_(build_date), board_id_(board_id) {
    reset();
  }

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

  ModelResp read(uint32_t addr) {
    if (addr & 3) {
      error(regs::kErrStatusUnaligned, addr);
      return {0, kSlvErr};
    }
    const regs::RegInfo* r = regs::find(addr);
    if (r == nullptr) {
      error(regs::kErrStatusDecerr, addr);
      return {0, kDecErr};
    }
    return {value(addr) & r->mask, kOkay};
  }

  uint8_t write(uint32_t addr, uint32_t data, uint8_t strb) {
    if (addr & 3) {
      error(regs::kErrStatusUnaligned, addr);
      return kSlvErr;
    }
    const regs::RegInfo* r = regs::find(addr);
    if (r == nullptr) {
      error(regs::kErrStatusDecerr, addr);
      return kDecErr;
    }
    if (strb != 0xF) {
      error(regs::kErrStatusPartial, addr);
      return kSlvErr;
    }
    if (r->access == regs::Access::kRo) {
      error(regs::kErrStatusRoWrite, addr);
      return kSlvErr;
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
    return kOkay;
  }

  uint64_t step() const { return step_; }

 private:
  uint32_t value(uint32_t addr) const {
    switch (addr) {
      case regs::kId: return regs::kIdValue;
      case regs::kVersion: return regs::kVersionValue;
      case regs::kCapabilities: return regs::kCapabilitiesStep.put(0, 1);
      case regs::kGitHash: return git_hash_;
      case regs::kBuildDate: return build_date_;
      case regs::kBoardId: return board_id_;
      case regs::kScratch: return scratch_;
      case regs::kStepLo: return static_cast<uint32_t>(step_);
      case regs::kStepHi: return static_cast<uint32_t>(step_ >> 32);
      case regs::kStepInc: return 0;
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
      default: return 0;
    }
  }

  void error(const regs::Field& bit, uint32_t addr) {
    if (err_status_ == 0) {
      err_addr_ = addr;
    }
    err_status_ |= bit.mask();
  }

  uint32_t git_hash_, build_date_, board_id_;
  uint32_t scratch_, control_, intr_mask_, intr_status_, err_status_, err_addr_;
  uint64_t step_;
  uint32_t step_lo_stage_;
  bool step_staged_;
  uint32_t step_count_;
};

}  // namespace kvcpu::tb
