#include "kvcpu/mock_transport.h"

#include <cstdio>

#include "kvcpu/regs.h"

namespace kvcpu {
namespace {

std::string where(uint32_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%03X", offset);
  return buf;
}

}  // namespace

MockTransport::MockTransport() : model_(kIdentity) {}

void MockTransport::poke(uint32_t offset, uint32_t value) { model_.poke(offset, value); }

uint32_t MockTransport::peek(uint32_t offset) const { return model_.peek(offset); }

Status MockTransport::bus_status(uint8_t resp, const char* op, uint32_t offset) {
  if (resp == kRespOkay) {
    return Status();
  }
  const bool dec = resp == kRespDecErr;
  return Status(dec ? ErrorCode::kBusDecErr : ErrorCode::kBusSlvErr,
                std::string(op) + " at " + where(offset) + " answered " + (dec ? "DECERR" : "SLVERR"));
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
  const BusResult r = model_.read(offset);
  if (Status s = bus_status(r.resp, "read", offset); !s.ok()) {
    return s;
  }
  log_.back().value = r.data;
  return r.data;
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
  return bus_status(model_.write(offset, value), "write", offset);
}

Status MockTransport::reset() {
  log_.push_back({MockOp::Kind::kReset, 0, 0, 0, false});
  model_ = Bar0Model(kIdentity);  // as powered on: pokes are undone too
  return Status();
}

}  // namespace kvcpu
