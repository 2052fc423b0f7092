// Reader for the Mooncake (FAST'25) request-trace format: one JSON object per line with
// `timestamp` (ms, non-decreasing), `input_length`, `output_length` (tokens) and `hash_ids`
// (chained hashes of the request's 512-token prefix blocks). See docs/trace-replay.md.
//
// The JSON parser is our own, on purpose: the format needs only objects, integers and
// arrays of integers, and the reader must be stricter than a general JSON library (integers
// only, no duplicate keys, a line and column in every error). Unknown keys are skipped with
// full JSON syntax checking (strings, escapes, floats, nested arrays/objects).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvcpu::trace {

// Tokens per prefix block; len(hash_ids) == ceil(input_length / kBlockTokens) on every line.
inline constexpr uint64_t kBlockTokens = 512;

// Deepest nesting of arrays/objects accepted inside an unknown key's value.
inline constexpr int kMaxNesting = 64;

struct Request {
  uint64_t timestamp_ms = 0;
  uint64_t input_length = 0;   // >= 1
  uint64_t output_length = 0;  // may be 0
  std::vector<uint64_t> hash_ids;

  friend bool operator==(const Request&, const Request&) = default;
};

struct Trace {
  std::vector<Request> requests;
  uint64_t references = 0;       // sum of len(hash_ids)
  uint64_t distinct_blocks = 0;  // distinct hash ids
};

// Why a trace (or a line) was rejected. `line` is 1-based (0: the input as a whole, e.g. a
// file that cannot be opened); `column` is the 1-based byte column, 0 when the error is
// about the line's content rather than a position in it.
struct TraceError {
  size_t line = 0;
  size_t column = 0;
  std::string message;

  // "line 12, column 40: expected ',' or '}'" / "line 12: missing key \"hash_ids\"".
  std::string ToString() const;
};

// Parses one line (no newline) into *out. Checks everything local to the line: JSON
// syntax, trailing characters, the four keys present exactly once with non-negative integer
// values, input_length >= 1, len(hash_ids) == ceil(input_length / 512), no id repeated.
// On error returns it with line = 0 (the caller knows the line number) and leaves *out as it
// was.
[[nodiscard]] std::optional<TraceError> ParseRequestLine(std::string_view line, Request* out);

// Reads a whole trace. Besides the per-line checks: an empty line (including one holding
// only whitespace) is an error, a final newline is optional, timestamps must not decrease,
// and the prefix chain must be consistent (an id appearing at position k > 0 always follows
// the same id at position k - 1; at position 0 it always starts a request). On error *out is
// left as it was.
[[nodiscard]] std::optional<TraceError> ReadTrace(std::istream& in, Trace* out);
[[nodiscard]] std::optional<TraceError> ReadTraceFile(const std::string& path, Trace* out);

// One line in the format, keys in the canonical order (for tests and generated traces).
std::string FormatRequestLine(const Request& r);

}  // namespace kvcpu::trace
