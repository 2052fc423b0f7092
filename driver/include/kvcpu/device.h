// A KV-CPU device, opened by URI, behind the transport seam.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "kvcpu/cosim_transport.h"
#include "kvcpu/device_info.h"
#include "kvcpu/result.h"
#include "kvcpu/status.h"
#include "kvcpu/transport.h"

namespace kvcpu {

struct OpenOptions {
  CosimOptions cosim;  // used by cosim: URIs
};

// Thread safety: a Device serialises every call with an internal mutex, so multi-access
// operations (the STEP_LO/STEP_HI pair of step() and step_set(), the ERR_STATUS check)
// never interleave with other calls on the same Device. Move-only; a moved-from Device
// answers every call with kInvalidArgument.
class Device {
 public:
  // URIs: "cosim:PATH" (socket of kvcpu-cosim), "mock:" (in-memory model).
  // "pci:BDF" and "uart:DEV" give kUnsupported (not built in this release); anything
  // else, or a cosim: URI without a path, gives kInvalidArgument.
  // Verifies ID == regs::kIdValue (kDeviceMismatch) and the register-map major version
  // (kVersionMismatch).
  static Result<Device> open(std::string_view uri, const OpenOptions& options = {});
  // Opens over a transport the caller built (tests keep a pointer to a MockTransport).
  static Result<Device> open(std::unique_ptr<Transport> transport);

  Device(Device&&) noexcept = default;
  Device& operator=(Device&&) noexcept = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device() = default;

  // Re-reads the identity registers.
  Result<DeviceInfo> info();
  std::string describe() const;

  // Raw 32-bit access to a BAR0 offset (regs::k* constants).
  Result<uint32_t> read(uint32_t offset);
  Status write(uint32_t offset, uint32_t value);

  // Current 64-bit decode step (STEP_LO then STEP_HI).
  Result<uint64_t> step();
  // Advances the step by n with one posted write to STEP_INC. n == 0 is rejected with
  // kInvalidArgument and nothing is sent.
  Status step_advance(uint32_t n);
  // Sets the step: acknowledged writes of STEP_LO then STEP_HI, then checks
  // ERR_STATUS.STEP_BACKWARDS; a step below the current one is reported as
  // kInvalidArgument (the device kept the old step) and that bit is cleared.
  Status step_set(uint64_t value);
  Result<uint32_t> step_count();

  Result<uint32_t> error_status();
  Result<uint32_t> error_addr();
  // Clears the ERR_STATUS bits set in mask (write 1 to clear).
  Status clear_errors(uint32_t mask);

  Status reset();

 private:
  explicit Device(std::unique_ptr<Transport> transport);

  Status check_open() const;
  Result<uint32_t> read_locked(uint32_t offset);
  Status write_locked(uint32_t offset, uint32_t value);

  std::unique_ptr<Transport> transport_;
  std::unique_ptr<std::mutex> mu_;  // heap-held so Device stays movable
};

}  // namespace kvcpu
