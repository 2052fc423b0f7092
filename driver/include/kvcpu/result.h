// Result<T>: a value or an error Status (a small std::expected stand-in; C++20 has none).
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include "kvcpu/status.h"

namespace kvcpu {

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Status>, "use Status directly");

 public:
  // Implicit on purpose, so functions can `return value;` or `return status;`.
  Result(const T& value) : v_(value) {}        // NOLINT(google-explicit-constructor)
  Result(T&& value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status)                        // NOLINT(google-explicit-constructor)
      : v_(status.ok() ? Status(ErrorCode::kInternal, "Result built from an OK status")
                       : std::move(status)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<1>(v_); }

  // Precondition: ok(). Accessing the value of an error Result is a bug (std::get throws
  // std::bad_variant_access, which terminates in code built without handlers).
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kvcpu
