#include "kvcpu/device.h"

#include <cstdio>
#include <utility>

#include "kvcpu/mock_transport.h"
#include "kvcpu/regs.h"

namespace kvcpu {
namespace {

// Fields are looked up by register and field name at compile time, so this file does not
// depend on how the generator spells field constants.
constexpr const regs::RegInfo& reg(std::string_view name) { return *regs::find(name); }

constexpr regs::Field field(std::string_view reg_name, std::string_view field_name) {
  const regs::RegInfo& r = reg(reg_name);
  for (size_t i = 0; i < r.num_fields; ++i) {
    if (r.fields[i].name == field_name) {
      return r.fields[i];
    }
  }
  return regs::Field{"", 0, 0};
}

constexpr uint32_t kVersionOffset = regs::kVersion;
constexpr regs::Field kMajor = field("VERSION", "MAJOR");
constexpr regs::Field kMinor = field("VERSION", "MINOR");
constexpr regs::Field kPatch = field("VERSION", "PATCH");
// The register-map major version this driver was generated from.
constexpr uint32_t kDriverMajor = regs::kMapVersionMajor;
static_assert(kMajor.get(regs::kVersionValue) == kDriverMajor, "regs.h is inconsistent");
constexpr regs::Field kVendor = field("ID", "VENDOR");
constexpr regs::Field kDevice = field("ID", "DEVICE");
constexpr regs::Field kBoard = field("BOARD_ID", "BOARD");
constexpr regs::Field kDirty = field("BOARD_ID", "DIRTY");
constexpr regs::Field kStepBackwards = field("ERR_STATUS", "STEP_BACKWARDS");
static_assert(kMajor.width == 8 && kVendor.width == 16 && kDirty.width == 1 &&
                  kStepBackwards.width == 1,
              "register/field lookup in regs.h failed");

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", v);
  return buf;
}

}  // namespace

Device::Device(std::unique_ptr<Transport> transport)
    : transport_(std::move(transport)), mu_(std::make_unique<std::mutex>()) {}

Result<Device> Device::open(std::string_view uri, const OpenOptions& options) {
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "malformed device URI '" + std::string(uri) +
                      "' (expected cosim:PATH, pci:BDF, uart:DEV or mock:)");
  }
  std::string_view scheme = uri.substr(0, colon);
  std::string_view rest = uri.substr(colon + 1);
  if (scheme == "cosim") {
    if (rest.empty()) {
      return Status(ErrorCode::kInvalidArgument, "cosim: URI needs a socket path (cosim:PATH)");
    }
    auto t = CosimTransport::connect(std::string(rest), options.cosim);
    if (!t.ok()) {
      return t.status();
    }
    return open(std::unique_ptr<Transport>(std::move(*t)));
  }
  if (scheme == "mock") {
    if (!rest.empty()) {
      return Status(ErrorCode::kInvalidArgument, "mock: URI takes no argument");
    }
    return open(std::make_unique<MockTransport>());
  }
  if (scheme == "pci" || scheme == "uart") {
    return Status(ErrorCode::kUnsupported, std::string(scheme) +
                                               ": transport not built in this release "
                                               "(use cosim:PATH or mock:)");
  }
  return Status(ErrorCode::kInvalidArgument, "unknown device URI scheme '" + std::string(scheme) +
                                                 ":' (expected cosim:, pci:, uart: or mock:)");
}

Result<Device> Device::open(std::unique_ptr<Transport> transport) {
  if (!transport) {
    return Status(ErrorCode::kInvalidArgument, "no transport");
  }
  Device dev(std::move(transport));
  auto id = dev.read(regs::kId);
  if (!id.ok()) {
    return id.status();
  }
  if (*id != regs::kIdValue) {
    return Status(ErrorCode::kDeviceMismatch, dev.describe() + ": ID register reads " + hex(*id) +
                                                  ", expected " + hex(regs::kIdValue));
  }
  auto version = dev.read(kVersionOffset);
  if (!version.ok()) {
    return version.status();
  }
  if (kMajor.get(*version) != kDriverMajor) {
    return Status(ErrorCode::kVersionMismatch,
                  dev.describe() + ": register map " + std::to_string(kMajor.get(*version)) + "." +
                      std::to_string(kMinor.get(*version)) + "." +
                      std::to_string(kPatch.get(*version)) + ", driver supports major " +
                      std::to_string(kDriverMajor));
  }
  return dev;
}

Status Device::check_open() const {
  if (!transport_ || !mu_) {
    return Status(ErrorCode::kInvalidArgument, "device was moved from");
  }
  return Status();
}

std::string Device::describe() const { return transport_ ? transport_->describe() : "(none)"; }

Result<uint32_t> Device::read_locked(uint32_t offset) {
  return transport_->read32(regs::kBar, offset);
}

Status Device::write_locked(uint32_t offset, uint32_t value) {
  return transport_->write32(regs::kBar, offset, value);
}

Result<uint32_t> Device::read(uint32_t offset) {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  return read_locked(offset);
}

Status Device::write(uint32_t offset, uint32_t value) {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  return write_locked(offset, value);
}

Result<DeviceInfo> Device::info() {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  uint32_t v[6];
  const uint32_t offsets[6] = {regs::kId,      kVersionOffset,   regs::kCapabilities,
                               regs::kGitHash, regs::kBuildDate, regs::kBoardId};
  for (int i = 0; i < 6; ++i) {
    auto r = read_locked(offsets[i]);
    if (!r.ok()) {
      return r.status();
    }
    v[i] = *r;
  }
  DeviceInfo info;
  info.vendor = static_cast<uint16_t>(kVendor.get(v[0]));
  info.device = static_cast<uint16_t>(kDevice.get(v[0]));
  info.version_major = static_cast<uint8_t>(kMajor.get(v[1]));
  info.version_minor = static_cast<uint8_t>(kMinor.get(v[1]));
  info.version_patch = static_cast<uint16_t>(kPatch.get(v[1]));
  info.capabilities = v[2];
  info.git_hash = v[3];
  info.build_date = v[4];
  info.board = static_cast<uint8_t>(kBoard.get(v[5]));
  info.dirty = kDirty.get(v[5]) != 0;
  return info;
}

Result<uint64_t> Device::step() {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  auto lo = read_locked(regs::kStepLo);
  if (!lo.ok()) {
    return lo.status();
  }
  auto hi = read_locked(regs::kStepHi);
  if (!hi.ok()) {
    return hi.status();
  }
  return (static_cast<uint64_t>(*hi) << 32) | *lo;
}

Status Device::step_advance(uint32_t n) {
  if (n == 0) {
    return Status(ErrorCode::kInvalidArgument, "step advance of 0 (the device rejects it)");
  }
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  return transport_->write32_posted(regs::kBar, regs::kStepInc, n);
}

Status Device::step_set(uint64_t value) {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  if (Status s = write_locked(regs::kStepLo, static_cast<uint32_t>(value)); !s.ok()) {
    return s;
  }
  if (Status s = write_locked(regs::kStepHi, static_cast<uint32_t>(value >> 32)); !s.ok()) {
    return s;
  }
  auto err = read_locked(regs::kErrStatus);
  if (!err.ok()) {
    return err.status();
  }
  if (kStepBackwards.get(*err) != 0) {
    if (Status s = write_locked(regs::kErrStatus, kStepBackwards.mask()); !s.ok()) {
      return s;
    }
    return Status(ErrorCode::kInvalidArgument,
                  "step " + std::to_string(value) +
                      " is below the current step; the device kept the current step");
  }
  return Status();
}

Result<uint32_t> Device::step_count() { return read(regs::kStepCount); }

Result<uint32_t> Device::error_status() { return read(regs::kErrStatus); }

Result<uint32_t> Device::error_addr() { return read(regs::kErrAddr); }

Status Device::clear_errors(uint32_t mask) { return write(regs::kErrStatus, mask); }

Status Device::reset() {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  return transport_->reset();
}

}  // namespace kvcpu
