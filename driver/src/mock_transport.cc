#include "kvcpu/mock_transport.h"

#include <cstdio>

#include "kvcpu/regs.h"

namespace kvcpu {
namespace {

// ERR_STATUS bits (see docs/registers.md).
constexpr uint32_t kErrDecErr = 1u << 0;
constexpr uint32_t kErrUnaligned = 1u << 1;
constexpr uint32_t kErrRoWrite = 1u << 3;
constexpr uint32_t kErrStepBackwards = 1u << 4;
constexpr uint32_t kErrStepZero = 1u << 5;

std::string where(uint32_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%03X", offset);
  return buf;
}

}  // namespace

MockTransport::MockTransport() { preset(); }

void MockTransport::preset() {
  regs_.clear();
  for (const regs::RegInfo& r : regs::kRegisters) {
    regs_[r.offset] = r.has_reset ? r.reset : 0;
  }
  regs_[regs::kCapabilities] = 0x1;  // STEP
  regs_[regs::kGitHash] = 0x1234ABCD;
  regs_[regs::kBuildDate] = 0x20240101;
  regs_[regs::kBoardId] = 0x0;  // cosim board, clean tree
  regs_[regs::kStatus] = 0x1;   // READY
  step_ = 0;
  staged_lo_ = 0;
  staged_ = false;
  step_count_ = 0;
}

void MockTransport::poke(uint32_t offset, uint32_t value) {
  if (offset == regs::kStepLo) {
    step_ = (step_ & ~0xFFFFFFFFull) | value;
  } else if (offset == regs::kStepHi) {
    step_ = (step_ & 0xFFFFFFFFull) | (static_cast<uint64_t>(value) << 32);
  } else if (offset == regs::kStepCount) {
    step_count_ = value;
  } else {
    regs_[offset] = value;
  }
}

uint32_t MockTransport::peek(uint32_t offset) const {
  if (offset == regs::kStepLo) {
    return static_cast<uint32_t>(step_);
  }
  if (offset == regs::kStepHi) {
    return static_cast<uint32_t>(step_ >> 32);
  }
  if (offset == regs::kStepCount) {
    return step_count_;
  }
  if (offset == regs::kStatus) {
    uint32_t v = regs_.at(regs::kStatus) & ~0x6u;
    v |= staged_ ? 0x2u : 0u;
    v |= regs_.at(regs::kErrStatus) != 0 ? 0x4u : 0u;
    return v;
  }
  if (offset == regs::kStepInc) {
    return 0;
  }
  auto it = regs_.find(offset);
  return it == regs_.end() ? 0 : it->second;
}

void MockTransport::record_error(uint32_t bit, uint32_t offset) {
  if (regs_[regs::kErrStatus] == 0) {
    regs_[regs::kErrAddr] = offset;
  }
  regs_[regs::kErrStatus] |= bit;
}

Result<uint32_t> MockTransport::read32(uint32_t bar, uint32_t offset) {
  if (auto it = errors_.find(offset); it != errors_.end()) {
    log_.push_back({MockOp::Kind::kRead, bar, offset, 0, false});
    return it->second;
  }
  if (read_hook_) {
    if (auto r = read_hook_(bar, offset)) {
      log_.push_back({MockOp::Kind::kRead, bar, offset, r->ok() ? r->value() : 0, false});
      return *r;
    }
  }
  log_.push_back({MockOp::Kind::kRead, bar, offset, 0, false});
  if (bar != regs::kBar) {
    return Status(ErrorCode::kBusDecErr, "mock has no BAR" + std::to_string(bar));
  }
  if (offset % 4 != 0) {
    record_error(kErrUnaligned, offset);
    return Status(ErrorCode::kBusSlvErr, "read at " + where(offset) + " answered SLVERR");
  }
  if (regs::find(offset) == nullptr) {
    record_error(kErrDecErr, offset);
    return Status(ErrorCode::kBusDecErr, "read at " + where(offset) + " answered DECERR");
  }
  uint32_t v = peek(offset);
  log_.back().value = v;
  return v;
}

Status MockTransport::write32(uint32_t bar, uint32_t offset, uint32_t value) {
  return write(bar, offset, value, false);
}

Status MockTransport::write32_posted(uint32_t bar, uint32_t offset, uint32_t value) {
  Status s = write(bar, offset, value, true);
  // A posted write never reports bus errors (the device records them in ERR_STATUS);
  // injected/hooked transport errors are still returned.
  if (s.code() == ErrorCode::kBusSlvErr || s.code() == ErrorCode::kBusDecErr) {
    return Status();
  }
  return s;
}

Status MockTransport::write(uint32_t bar, uint32_t offset, uint32_t value, bool posted) {
  log_.push_back({MockOp::Kind::kWrite, bar, offset, value, posted});
  if (auto it = errors_.find(offset); it != errors_.end()) {
    return it->second;
  }
  if (write_hook_) {
    if (auto s = write_hook_(bar, offset, value, posted)) {
      return *s;
    }
  }
  if (bar != regs::kBar) {
    return Status(ErrorCode::kBusDecErr, "mock has no BAR" + std::to_string(bar));
  }
  return model_write(offset, value);
}

Status MockTransport::model_write(uint32_t offset, uint32_t value) {
  if (offset % 4 != 0) {
    record_error(kErrUnaligned, offset);
    return Status(ErrorCode::kBusSlvErr, "write at " + where(offset) + " answered SLVERR");
  }
  const regs::RegInfo* r = regs::find(offset);
  if (r == nullptr) {
    record_error(kErrDecErr, offset);
    return Status(ErrorCode::kBusDecErr, "write at " + where(offset) + " answered DECERR");
  }
  switch (r->access) {
    case regs::Access::kRo:
      record_error(kErrRoWrite, offset);
      return Status(ErrorCode::kBusSlvErr, "write at " + where(offset) + " answered SLVERR");
    case regs::Access::kRw:
      regs_[offset] = value & r->mask;
      return Status();
    case regs::Access::kW1c:
      regs_[offset] &= ~(value & r->mask);
      return Status();
    case regs::Access::kHw:
    case regs::Access::kWo:
      break;
  }
  if (offset == regs::kStepLo) {
    staged_lo_ = value;
    staged_ = true;
  } else if (offset == regs::kStepHi) {
    uint64_t next = (static_cast<uint64_t>(value) << 32) | staged_lo_;
    staged_ = false;
    if (next < step_) {
      record_error(kErrStepBackwards, offset);
    } else {
      step_ = next;
      ++step_count_;
    }
  } else if (offset == regs::kStepInc) {
    if (value == 0) {
      record_error(kErrStepZero, offset);
    } else {
      step_ += value;
      ++step_count_;
    }
  }
  return Status();
}

Status MockTransport::reset() {
  log_.push_back({MockOp::Kind::kReset, 0, 0, 0, false});
  preset();
  return Status();
}

}  // namespace kvcpu
