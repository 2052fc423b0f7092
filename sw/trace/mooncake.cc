#include "mooncake.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <istream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace kvcpu::trace {
namespace {

constexpr std::string_view kKeyTimestamp = "timestamp";
constexpr std::string_view kKeyInput = "input_length";
constexpr std::string_view kKeyOutput = "output_length";
constexpr std::string_view kKeyHashIds = "hash_ids";

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A character as it should appear in a message: 'x' or 0xNN for anything not printable.
std::string Describe(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7F) {
    return std::string("'") + c + "'";
  }
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", u);
  return buf;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A JSON number as scanned: its text and, when it is an integer without fraction or
// exponent that fits in 64 bits, its magnitude.
struct Number {
  size_t begin = 0;
  std::string_view text;
  bool negative = false;
  bool integer = true;    // no fraction, no exponent
  bool overflow = false;  // integer magnitude above UINT64_MAX
  uint64_t magnitude = 0;
};

using MaybeError = std::optional<TraceError>;

// Recursive-descent parser for one line. Every method leaves pos_ just after what it read.
class LineParser {
 public:
  explicit LineParser(std::string_view s) : s_(s) {}

  MaybeError Parse(Request* out) {
    Request r;
    bool seen_ts = false, seen_in = false, seen_out = false, seen_ids = false;
    std::unordered_set<std::string> other_keys;

    SkipWs();
    if (AtEnd()) {
      return Error(pos_, "empty line");
    }
    if (Peek() != '{') {
      return Error(pos_, "expected '{' (each line is one JSON object), got " + Describe(Peek()));
    }
    ++pos_;
    SkipWs();
    if (!AtEnd() && Peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        SkipWs();
        if (AtEnd() || Peek() != '"') {
          return ErrorHere("expected a key string");
        }
        const size_t key_pos = pos_;
        std::string key;
        if (auto e = ParseString(&key)) {
          return e;
        }
        SkipWs();
        if (AtEnd() || Peek() != ':') {
          return ErrorHere("expected ':' after key \"" + key + "\"");
        }
        ++pos_;
        SkipWs();
        bool* seen = nullptr;
        if (key == kKeyTimestamp) {
          seen = &seen_ts;
        } else if (key == kKeyInput) {
          seen = &seen_in;
        } else if (key == kKeyOutput) {
          seen = &seen_out;
        } else if (key == kKeyHashIds) {
          seen = &seen_ids;
        }
        if (seen != nullptr) {
          if (*seen) {
            return Error(key_pos, "duplicate key \"" + key + "\"");
          }
          *seen = true;
        } else if (!other_keys.insert(key).second) {
          return Error(key_pos, "duplicate key \"" + key + "\"");
        }
        MaybeError e;
        if (key == kKeyTimestamp) {
          e = ParseUint(key, &r.timestamp_ms);
        } else if (key == kKeyInput) {
          e = ParseUint(key, &r.input_length);
        } else if (key == kKeyOutput) {
          e = ParseUint(key, &r.output_length);
        } else if (key == kKeyHashIds) {
          e = ParseIdArray(&r.hash_ids);
        } else {
          e = SkipValue(1);
        }
        if (e) {
          return e;
        }
        SkipWs();
        if (AtEnd()) {
          return ErrorHere("unexpected end of line: expected ',' or '}'");
        }
        if (Peek() == ',') {
          ++pos_;
          continue;
        }
        if (Peek() == '}') {
          ++pos_;
          break;
        }
        return ErrorHere("expected ',' or '}', got " + Describe(Peek()));
      }
    }
    SkipWs();
    if (!AtEnd()) {
      return ErrorHere("trailing characters after the JSON object");
    }

    const std::pair<bool, std::string_view> required[] = {{seen_ts, kKeyTimestamp},
                                                          {seen_in, kKeyInput},
                                                          {seen_out, kKeyOutput},
                                                          {seen_ids, kKeyHashIds}};
    for (const auto& [seen, name] : required) {
      if (!seen) {
        return Content("missing key \"" + std::string(name) + "\"");
      }
    }
    if (r.input_length == 0) {
      return Content("input_length must be at least 1");
    }
    const uint64_t blocks = r.input_length / kBlockTokens + (r.input_length % kBlockTokens != 0);
    if (r.hash_ids.size() != blocks) {
      return Content("hash_ids has " + std::to_string(r.hash_ids.size()) +
                     " ids, but input_length " + std::to_string(r.input_length) + " needs ceil(" +
                     std::to_string(r.input_length) + "/512) = " + std::to_string(blocks));
    }
    std::unordered_map<uint64_t, size_t> first;
    first.reserve(r.hash_ids.size());
    for (size_t k = 0; k < r.hash_ids.size(); ++k) {
      auto [it, fresh] = first.emplace(r.hash_ids[k], k);
      if (!fresh) {
        return Content("hash_ids repeats id " + std::to_string(r.hash_ids[k]) + " (positions " +
                       std::to_string(it->second) + " and " + std::to_string(k) + ")");
      }
    }
    *out = std::move(r);
    return std::nullopt;
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return s_[pos_]; }
  void SkipWs() {
    while (!AtEnd() && IsWs(Peek())) {
      ++pos_;
    }
  }

  static TraceError Error(size_t pos, std::string msg) {
    return TraceError{0, pos + 1, std::move(msg)};
  }
  TraceError ErrorHere(std::string msg) const { return Error(pos_, std::move(msg)); }
  static TraceError Content(std::string msg) { return TraceError{0, 0, std::move(msg)}; }

  // The kind of value starting at pos_, for "wrong type" messages.
  std::string_view KindHere() const {
    switch (Peek()) {
      case '"':
        return "a string";
      case '[':
        return "an array";
      case '{':
        return "an object";
      case 't':
      case 'f':
        return "a boolean";
      case 'n':
        return "null";
      default:
        return "";
    }
  }

  MaybeError ParseString(std::string* out) {
    const size_t start = pos_;
    ++pos_;  // opening quote
    for (;;) {
      if (AtEnd()) {
        return Error(start, "unterminated string");
      }
      const char c = Peek();
      if (c == '"') {
        ++pos_;
        return std::nullopt;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return ErrorHere("control character " + Describe(c) + " in a string");
      }
      if (c != '\\') {
        if (out != nullptr) {
          out->push_back(c);
        }
        ++pos_;
        continue;
      }
      const size_t esc = pos_;
      ++pos_;
      if (AtEnd()) {
        return Error(start, "unterminated string");
      }
      const char e = Peek();
      ++pos_;
      char plain = 0;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          plain = e;
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (auto err = Hex4(esc, &cp)) {
            return err;
          }
          if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error(esc, "lone low surrogate in a \\u escape");
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") {
              return Error(esc, "high surrogate not followed by a low surrogate");
            }
            const size_t esc2 = pos_;
            pos_ += 2;
            uint32_t lo = 0;
            if (auto err = Hex4(esc2, &lo)) {
              return err;
            }
            if (lo < 0xDC00 || lo > 0xDFFF) {
              return Error(esc2, "high surrogate not followed by a low surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          if (out != nullptr) {
            AppendUtf8(cp, out);
          }
          continue;
        }
        default:
          return Error(esc, "invalid escape \\" + std::string(1, e) + " in a string");
      }
      if (out != nullptr) {
        out->push_back(plain);
      }
    }
  }

  // Four hex digits at pos_ (after "\u" at esc).
  MaybeError Hex4(size_t esc, uint32_t* cp) {
    if (pos_ + 4 > s_.size()) {
      return Error(esc, "\\u escape needs four hex digits");
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_ + i];
      uint32_t d;
      if (IsDigit(c)) {
        d = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Error(esc, "\\u escape needs four hex digits");
      }
      v = v * 16 + d;
    }
    pos_ += 4;
    *cp = v;
    return std::nullopt;
  }

  // JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  MaybeError ParseNumber(Number* n) {
    n->begin = pos_;
    if (!AtEnd() && Peek() == '-') {
      n->negative = true;
      ++pos_;
    }
    if (AtEnd() || !IsDigit(Peek())) {
      return ErrorHere("expected a digit");
    }
    if (Peek() == '0' && pos_ + 1 < s_.size() && IsDigit(s_[pos_ + 1])) {
      return ErrorHere("leading zeros are not allowed in JSON numbers");
    }
    while (!AtEnd() && IsDigit(Peek())) {
      const auto d = static_cast<uint64_t>(Peek() - '0');
      if (n->magnitude > (UINT64_MAX - d) / 10) {
        n->overflow = true;
      } else {
        n->magnitude = n->magnitude * 10 + d;
      }
      ++pos_;
    }
    if (!AtEnd() && Peek() == '.') {
      n->integer = false;
      ++pos_;
      if (AtEnd() || !IsDigit(Peek())) {
        return ErrorHere("expected a digit after '.'");
      }
      while (!AtEnd() && IsDigit(Peek())) {
        ++pos_;
      }
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      n->integer = false;
      ++pos_;
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) {
        ++pos_;
      }
      if (AtEnd() || !IsDigit(Peek())) {
        return ErrorHere("expected a digit in the exponent");
      }
      while (!AtEnd() && IsDigit(Peek())) {
        ++pos_;
      }
    }
    n->text = s_.substr(n->begin, pos_ - n->begin);
    return std::nullopt;
  }

  MaybeError ExpectLiteral(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      return ErrorHere("invalid literal (expected " + std::string(word) + ")");
    }
    pos_ += word.size();
    return std::nullopt;
  }

  // Any JSON value, syntax-checked and discarded.
  MaybeError SkipValue(int depth) {
    if (AtEnd()) {
      return ErrorHere("expected a value");
    }
    const char c = Peek();
    if (c == '"') {
      return ParseString(nullptr);
    }
    if (c == '-' || IsDigit(c)) {
      Number n;
      return ParseNumber(&n);
    }
    if (c == 't') {
      return ExpectLiteral("true");
    }
    if (c == 'f') {
      return ExpectLiteral("false");
    }
    if (c == 'n') {
      return ExpectLiteral("null");
    }
    if (c != '[' && c != '{') {
      return ErrorHere("expected a value, got " + Describe(c));
    }
    if (depth > kMaxNesting) {
      return ErrorHere("arrays/objects nested deeper than " + std::to_string(kMaxNesting));
    }
    const bool object = c == '{';
    const char close = object ? '}' : ']';
    ++pos_;
    SkipWs();
    if (!AtEnd() && Peek() == close) {
      ++pos_;
      return std::nullopt;
    }
    for (;;) {
      SkipWs();
      if (object) {
        if (AtEnd() || Peek() != '"') {
          return ErrorHere("expected a key string");
        }
        if (auto e = ParseString(nullptr)) {
          return e;
        }
        SkipWs();
        if (AtEnd() || Peek() != ':') {
          return ErrorHere("expected ':'");
        }
        ++pos_;
        SkipWs();
      }
      if (auto e = SkipValue(depth + 1)) {
        return e;
      }
      SkipWs();
      if (AtEnd()) {
        return ErrorHere(std::string("unexpected end of line: expected ',' or '") + close + "'");
      }
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == close) {
        ++pos_;
        return std::nullopt;
      }
      return ErrorHere(std::string("expected ',' or '") + close + "', got " + Describe(Peek()));
    }
  }

  // A non-negative integer that fits in 64 bits; `what` names it in messages.
  MaybeError ParseUint(std::string_view what, uint64_t* v) {
    const std::string w(what);
    if (AtEnd()) {
      return ErrorHere(w + ": expected a value");
    }
    if (Peek() != '-' && !IsDigit(Peek())) {
      const std::string_view kind = KindHere();
      if (kind.empty()) {
        return ErrorHere(w + ": expected a value, got " + Describe(Peek()));
      }
      // Check its syntax first so that a broken value reports the syntax error.
      const size_t start = pos_;
      if (auto e = SkipValue(1)) {
        return e;
      }
      return Error(start, w + ": expected a non-negative integer, got " + std::string(kind));
    }
    Number n;
    if (auto e = ParseNumber(&n)) {
      return e;
    }
    const std::string text(n.text);
    if (!n.integer) {
      return Error(n.begin,
                   w + ": expected an integer, got " + text + " (no fraction or exponent allowed)");
    }
    if (n.negative && (n.magnitude != 0 || n.overflow)) {
      return Error(n.begin, w + ": must not be negative, got " + text);
    }
    if (n.overflow) {
      return Error(n.begin, w + ": " + text + " is out of range (at most 2^64-1)");
    }
    *v = n.magnitude;
    return std::nullopt;
  }

  MaybeError ParseIdArray(std::vector<uint64_t>* ids) {
    if (AtEnd() || Peek() != '[') {
      if (AtEnd()) {
        return ErrorHere("hash_ids: expected an array");
      }
      const std::string_view kind = KindHere();
      const size_t start = pos_;
      if (auto e = SkipValue(1)) {
        return e;
      }
      return Error(start, "hash_ids: expected an array of integers, got " +
                              std::string(kind.empty() ? "a number" : kind));
    }
    ++pos_;
    SkipWs();
    if (!AtEnd() && Peek() == ']') {
      ++pos_;
      return std::nullopt;
    }
    for (;;) {
      SkipWs();
      uint64_t id = 0;
      if (auto e = ParseUint("hash_ids[" + std::to_string(ids->size()) + "]", &id)) {
        return e;
      }
      ids->push_back(id);
      SkipWs();
      if (AtEnd()) {
        return ErrorHere("unexpected end of line: expected ',' or ']' in hash_ids");
      }
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        return std::nullopt;
      }
      return ErrorHere("expected ',' or ']' in hash_ids, got " + Describe(Peek()));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool Blank(std::string_view line) {
  for (char c : line) {
    if (!IsWs(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string TraceError::ToString() const {
  std::string s;
  if (line != 0) {
    s = "line " + std::to_string(line);
    if (column != 0) {
      s += ", column " + std::to_string(column);
    }
    s += ": ";
  }
  return s + message;
}

std::optional<TraceError> ParseRequestLine(std::string_view line, Request* out) {
  return LineParser(line).Parse(out);
}

std::optional<TraceError> ReadTrace(std::istream& in, Trace* out) {
  struct Link {
    bool root;        // starts a request (position 0)
    uint64_t parent;  // the id before it, when !root
    size_t line;      // where it was first seen
  };
  Trace t;
  std::unordered_map<uint64_t, Link> chain;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (Blank(line)) {
      return TraceError{line_no, 0, "empty line (blank lines are not allowed)"};
    }
    Request r;
    if (auto e = ParseRequestLine(line, &r)) {
      e->line = line_no;
      return e;
    }
    if (!t.requests.empty() && r.timestamp_ms < t.requests.back().timestamp_ms) {
      return TraceError{line_no, 0,
                        "timestamp " + std::to_string(r.timestamp_ms) +
                            " goes backwards (previous line: " +
                            std::to_string(t.requests.back().timestamp_ms) + ")"};
    }
    for (size_t k = 0; k < r.hash_ids.size(); ++k) {
      const Link link{k == 0, k == 0 ? 0 : r.hash_ids[k - 1], line_no};
      auto [it, fresh] = chain.emplace(r.hash_ids[k], link);
      if (fresh) {
        continue;
      }
      const Link& old = it->second;
      if (old.root != link.root || old.parent != link.parent) {
        auto where = [](const Link& l) {
          return l.root ? std::string("starts the request")
                        : "follows id " + std::to_string(l.parent);
        };
        return TraceError{line_no, 0,
                          "inconsistent prefix chain: hash id " + std::to_string(r.hash_ids[k]) +
                              " at position " + std::to_string(k) + " " + where(link) +
                              ", but on line " + std::to_string(old.line) + " it " + where(old)};
      }
    }
    t.references += r.hash_ids.size();
    t.requests.push_back(std::move(r));
  }
  if (in.bad()) {
    return TraceError{line_no + 1, 0, "read error"};
  }
  t.distinct_blocks = chain.size();
  *out = std::move(t);
  return std::nullopt;
}

std::optional<TraceError> ReadTraceFile(const std::string& path, Trace* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return TraceError{0, 0, "cannot open '" + path + "': " + std::strerror(errno)};
  }
  return ReadTrace(in, out);
}

std::string FormatRequestLine(const Request& r) {
  std::string s = "{\"timestamp\": " + std::to_string(r.timestamp_ms) +
                  ", \"input_length\": " + std::to_string(r.input_length) +
                  ", \"output_length\": " + std::to_string(r.output_length) + ", \"hash_ids\": [";
  for (size_t k = 0; k < r.hash_ids.size(); ++k) {
    if (k != 0) {
      s += ", ";
    }
    s += std::to_string(r.hash_ids[k]);
  }
  return s + "]}";
}

}  // namespace kvcpu::trace
