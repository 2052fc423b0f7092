// Error values returned across the libkvcpu boundary (no exceptions leave the library).
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace kvcpu {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // rejected argument or malformed URI; nothing was sent to the device
  kNotFound,         // no such register / socket / device
  kUnsupported,      // transport or feature not built in this release
  kConnection,       // transport is down (connect failed, peer closed, earlier failure)
  kProtocol,         // peer violated the wire protocol or reported a protocol error
  kBusy,             // device already has a client attached
  kTimeout,          // no answer in time
  kBusSlvErr,        // device answered the access with AXI SLVERR
  kBusDecErr,        // device answered the access with AXI DECERR
  kVersionMismatch,  // register map or protocol major version differs
  kDeviceMismatch,   // ID register does not identify a KV-CPU
  kInternal,         // broken invariant inside libkvcpu
};

// Short stable name of a code, e.g. "bus error (SLVERR)".
std::string_view to_string(ErrorCode code);

// Outcome of an operation: OK, or an error code with a human-readable message.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "ok", or "<code name>: <message>".
  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) = default;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

}  // namespace kvcpu
