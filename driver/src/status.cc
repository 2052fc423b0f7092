#include "kvcpu/status.h"

namespace kvcpu {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kConnection:
      return "connection error";
    case ErrorCode::kProtocol:
      return "protocol error";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kBusSlvErr:
      return "bus error (SLVERR)";
    case ErrorCode::kBusDecErr:
      return "bus error (DECERR)";
    case ErrorCode::kVersionMismatch:
      return "version mismatch";
    case ErrorCode::kDeviceMismatch:
      return "device mismatch";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

std::string Status::to_string() const {
  if (ok()) {
    return "ok";
  }
  std::string s(kvcpu::to_string(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace kvcpu
