// In-memory BAR0 for unit tests and `mock:` URIs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kvcpu/bar0_model.h"
#include "kvcpu/result.h"
#include "kvcpu/status.h"
#include "kvcpu/transport.h"

namespace kvcpu {

// One access as the mock saw it, in order.
struct MockOp {
  enum class Kind { kRead, kWrite, kReset };
  Kind kind = Kind::kRead;
  uint32_t bar = 0;
  uint32_t offset = 0;
  uint32_t value = 0;  // data written, or data returned by a successful read
  bool posted = false;
  friend bool operator==(const MockOp&, const MockOp&) = default;
};

// Serves kvcpu::Bar0Model (bar0_model.h) — the same BAR0 model the RTL testbench checks
// the hardware against — so software tested on the mock meets the device's real register
// semantics. Tests can preset values, hook reads and writes, and inject errors per offset.
// Not thread-safe on its own (Device serialises its calls).
class MockTransport final : public Transport {
 public:
  // Returning std::nullopt falls through to the model.
  using ReadHook = std::function<std::optional<Result<uint32_t>>(uint32_t bar, uint32_t offset)>;
  using WriteHook = std::function<std::optional<Status>(uint32_t bar, uint32_t offset,
                                                        uint32_t value, bool posted)>;

  MockTransport();

  Result<uint32_t> read32(uint32_t bar, uint32_t offset) override;
  Status write32(uint32_t bar, uint32_t offset, uint32_t value) override;
  Status write32_posted(uint32_t bar, uint32_t offset, uint32_t value) override;
  Status reset() override;
  std::string describe() const override { return "mock:"; }

  // Sets what a read of `offset` returns (any register, also read-only ones), not logged.
  void poke(uint32_t offset, uint32_t value);
  // The model's current value at `offset` (the current step for STEP_LO/STEP_HI).
  uint32_t peek(uint32_t offset) const;
  uint64_t current_step() const { return model_.step(); }

  void set_read_hook(ReadHook hook) { read_hook_ = std::move(hook); }
  void set_write_hook(WriteHook hook) { write_hook_ = std::move(hook); }
  // Every access to `offset` (read or write) fails with `status` until cleared.
  void inject_error(uint32_t offset, Status status) { errors_[offset] = std::move(status); }
  void clear_error(uint32_t offset) { errors_.erase(offset); }

  const std::vector<MockOp>& log() const { return log_; }
  void clear_log() { log_.clear(); }

 private:
  Status write(uint32_t bar, uint32_t offset, uint32_t value, bool posted);
  static Status bus_status(uint8_t resp, const char* op, uint32_t offset);

  // The identity a mock device reports (board 0 = cosim, clean tree).
  static constexpr Bar0Model::Identity kIdentity{0x1234ABCD, 0x20240101, 0x0};
  Bar0Model model_;
  ReadHook read_hook_;
  WriteHook write_hook_;
  std::map<uint32_t, Status> errors_;
  std::vector<MockOp> log_;
};

}  // namespace kvcpu
