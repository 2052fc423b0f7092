// Mooncake trace reader: accepted lines, every rejection with its line number, and a fuzz
// that mutates valid lines (never a crash; anything accepted is a well-formed request).
#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>

#include "mooncake.h"
#include "test_seed.h"

namespace kvcpu::trace {
namespace {

constexpr char kGood[] =
    R"({"timestamp": 27, "input_length": 1025, "output_length": 6, "hash_ids": [0, 1, 2]})";

Request Parse(std::string_view line) {
  Request r;
  auto e = ParseRequestLine(line, &r);
  EXPECT_FALSE(e.has_value()) << line << "\n-> " << (e ? e->ToString() : "");
  return r;
}

// The error for `line`, which must be rejected.
TraceError Reject(std::string_view line) {
  Request r;
  r.timestamp_ms = 777;
  auto e = ParseRequestLine(line, &r);
  EXPECT_TRUE(e.has_value()) << "accepted: " << line;
  EXPECT_EQ(r.timestamp_ms, 777u) << "output touched on error";
  return e.value_or(TraceError{});
}

void ExpectReject(std::string_view line, std::string_view needle) {
  const TraceError e = Reject(line);
  EXPECT_NE(e.message.find(needle), std::string::npos)
      << line << "\n-> " << e.ToString() << "\n(expected: " << needle << ")";
}

std::optional<TraceError> ReadString(const std::string& text, Trace* t) {
  std::istringstream in(text);
  return ReadTrace(in, t);
}

TEST(MooncakeLine, ParsesTheCanonicalForm) {
  const Request r = Parse(kGood);
  EXPECT_EQ(r.timestamp_ms, 27u);
  EXPECT_EQ(r.input_length, 1025u);
  EXPECT_EQ(r.output_length, 6u);
  EXPECT_EQ(r.hash_ids, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(FormatRequestLine(r), kGood);
}

TEST(MooncakeLine, KeyOrderWhitespaceAndCarriageReturn) {
  const Request r = Parse(
      " \t{ \"hash_ids\" :[ 7 ,8 ] ,\"output_length\":0,\"input_length\":1024,"
      "\"timestamp\":18446744073709551615}\t \r");
  EXPECT_EQ(r.timestamp_ms, UINT64_MAX);
  EXPECT_EQ(r.input_length, 1024u);
  EXPECT_EQ(r.output_length, 0u);
  EXPECT_EQ(r.hash_ids, (std::vector<uint64_t>{7, 8}));
}

TEST(MooncakeLine, BlockCountBoundaries) {
  EXPECT_EQ(
      Parse(R"({"timestamp":0,"input_length":1,"output_length":1,"hash_ids":[5]})").hash_ids.size(),
      1u);
  Parse(R"({"timestamp":0,"input_length":512,"output_length":1,"hash_ids":[5]})");
  Parse(R"({"timestamp":0,"input_length":513,"output_length":1,"hash_ids":[5,6]})");
  ExpectReject(R"({"timestamp":0,"input_length":513,"output_length":1,"hash_ids":[5]})",
               "hash_ids has 1 ids, but input_length 513 needs ceil(513/512) = 2");
  ExpectReject(R"({"timestamp":0,"input_length":512,"output_length":1,"hash_ids":[5,6]})",
               "needs ceil(512/512) = 1");
  ExpectReject(R"({"timestamp":0,"input_length":0,"output_length":1,"hash_ids":[]})",
               "input_length must be at least 1");
}

TEST(MooncakeLine, UnknownKeysOfEveryKindAreSkipped) {
  const Request r =
      Parse(R"({"s": "a\"}{[,\\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00", "f": -1.5e-3, "g": 2E+10,)"
            R"( "z": 0, "o": {"x": [1, {"y": null}], "e": {}, "a": []}, "t": true, "n": null,)"
            R"( "b": false, "arr": [[[]]], "timestamp": 3, "input_length": 10,)"
            R"( "output_length": 2, "hash_ids": [42], "u": "\u0000"})");
  EXPECT_EQ(r.timestamp_ms, 3u);
  EXPECT_EQ(r.hash_ids, std::vector<uint64_t>{42});
}

TEST(MooncakeLine, EscapedKeyNamesAreDecoded) {
  const Request r =
      Parse(R"({"time\u0073tamp": 9, "input_length": 1, "output_length": 1, "hash_ids": [1]})");
  EXPECT_EQ(r.timestamp_ms, 9u);
  ExpectReject(R"({"timestamp": 9, "time\u0073tamp": 9, "input_length": 1,)"
               R"( "output_length": 1, "hash_ids": [1]})",
               "duplicate key \"timestamp\"");
}

TEST(MooncakeLine, NegativeZeroIsZero) {
  EXPECT_EQ(
      Parse(R"({"timestamp":-0,"input_length":1,"output_length":1,"hash_ids":[1]})").timestamp_ms,
      0u);
}

TEST(MooncakeLine, MissingKeys) {
  ExpectReject(R"({"input_length":1,"output_length":1,"hash_ids":[1]})",
               "missing key \"timestamp\"");
  ExpectReject(R"({"timestamp":1,"output_length":1,"hash_ids":[1]})",
               "missing key \"input_length\"");
  ExpectReject(R"({"timestamp":1,"input_length":1,"hash_ids":[1]})",
               "missing key \"output_length\"");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":1})", "missing key \"hash_ids\"");
  ExpectReject("{}", "missing key \"timestamp\"");
}

TEST(MooncakeLine, WrongTypes) {
  ExpectReject(R"({"timestamp":"1","input_length":1,"output_length":1,"hash_ids":[1]})",
               "timestamp: expected a non-negative integer, got a string");
  ExpectReject(R"({"timestamp":1,"input_length":[1],"output_length":1,"hash_ids":[1]})",
               "input_length: expected a non-negative integer, got an array");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":{},"hash_ids":[1]})",
               "output_length: expected a non-negative integer, got an object");
  ExpectReject(R"({"timestamp":null,"input_length":1,"output_length":1,"hash_ids":[1]})",
               "got null");
  ExpectReject(R"({"timestamp":true,"input_length":1,"output_length":1,"hash_ids":[1]})",
               "got a boolean");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":1,"hash_ids":1})",
               "hash_ids: expected an array of integers, got a number");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":1,"hash_ids":"[1]"})",
               "hash_ids: expected an array of integers, got a string");
  ExpectReject(R"({"timestamp":1,"input_length":600,"output_length":1,"hash_ids":[1,"2"]})",
               "hash_ids[1]: expected a non-negative integer, got a string");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":1,"hash_ids":[[1]]})",
               "hash_ids[0]: expected a non-negative integer, got an array");
}

TEST(MooncakeLine, NegativeFractionalAndOutOfRange) {
  ExpectReject(R"({"timestamp":-5,"input_length":1,"output_length":1,"hash_ids":[1]})",
               "timestamp: must not be negative, got -5");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":-1,"hash_ids":[1]})",
               "output_length: must not be negative");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":1,"hash_ids":[-3]})",
               "hash_ids[0]: must not be negative, got -3");
  ExpectReject(R"({"timestamp":1.0,"input_length":1,"output_length":1,"hash_ids":[1]})",
               "timestamp: expected an integer, got 1.0");
  ExpectReject(R"({"timestamp":1e3,"input_length":1,"output_length":1,"hash_ids":[1]})",
               "expected an integer, got 1e3");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":1,"hash_ids":[0.5]})",
               "hash_ids[0]: expected an integer");
  ExpectReject(
      R"({"timestamp":18446744073709551616,"input_length":1,"output_length":1,"hash_ids":[1]})",
      "out of range");
  ExpectReject(
      R"({"timestamp":-18446744073709551616,"input_length":1,"output_length":1,"hash_ids":[1]})",
      "must not be negative");
}

TEST(MooncakeLine, DuplicateKeysAndIds) {
  ExpectReject(R"({"timestamp":1,"timestamp":2,"input_length":1,"output_length":1,"hash_ids":[1]})",
               "duplicate key \"timestamp\"");
  ExpectReject(R"({"x":1,"x":2,"timestamp":1,"input_length":1,"output_length":1,"hash_ids":[1]})",
               "duplicate key \"x\"");
  ExpectReject(R"({"timestamp":1,"input_length":1500,"output_length":1,"hash_ids":[4,5,4]})",
               "hash_ids repeats id 4 (positions 0 and 2)");
}

TEST(MooncakeLine, SyntaxErrorsWithColumns) {
  // Trailing garbage: another object, a comma, a word.
  const std::string good = kGood;
  TraceError e = Reject(good + " x");
  EXPECT_NE(e.message.find("trailing characters"), std::string::npos) << e.ToString();
  EXPECT_EQ(e.column, good.size() + 2);
  ExpectReject(good + good, "trailing characters");
  ExpectReject(good + ",", "trailing characters");
  // Truncated lines.
  ExpectReject(R"({"timestamp": 1, )", "expected a key string");
  ExpectReject(R"({"timestamp": 1)", "unexpected end of line");
  ExpectReject(R"({"timestamp": )", "expected a value");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":1,"hash_ids":[1)",
               "unexpected end of line: expected ',' or ']' in hash_ids");
  ExpectReject(R"({"s": "abc)", "unterminated string");
  ExpectReject(R"({"s)", "unterminated string");
  // Trailing commas, missing separators, bad numbers and literals.
  ExpectReject(R"({"timestamp":1,})", "expected a key string");
  ExpectReject(R"({"timestamp":1,"input_length":1,"output_length":1,"hash_ids":[1,]})",
               "hash_ids[1]: expected a value, got ']'");
  ExpectReject(R"({"timestamp" 1})", "expected ':' after key \"timestamp\"");
  ExpectReject(R"({"timestamp":1 "input_length":1})", "expected ',' or '}'");
  ExpectReject(R"({"timestamp":01})", "leading zeros");
  ExpectReject(R"({"timestamp":1.})", "expected a digit after '.'");
  ExpectReject(R"({"x":1e})", "expected a digit in the exponent");
  ExpectReject(R"({"x":-})", "expected a digit");
  ExpectReject(R"({"x":+1})", "expected a value, got '+'");
  ExpectReject(R"({"x":tru})", "invalid literal (expected true)");
  ExpectReject(R"({"x":nul})", "invalid literal");
  ExpectReject(R"({'timestamp':1})", "expected a key string");
  ExpectReject(R"({"x":[1 2]})", "expected ',' or ']'");
  ExpectReject(R"({"x":{"a" 1}})", "expected ':'");
  // Not an object.
  ExpectReject("[1, 2]", "expected '{'");
  ExpectReject("42", "expected '{'");
  ExpectReject("\"x\"", "expected '{'");
  // Strings: raw control characters, bad escapes, broken surrogates.
  ExpectReject("{\"s\": \"a\tb\"}", "control character 0x09 in a string");
  ExpectReject(std::string("{\"s\": \"a") + '\0' + "b\"}", "control character 0x00");
  ExpectReject(R"({"s": "\x"})", "invalid escape \\x");
  ExpectReject(R"({"s": "\u12"})", "four hex digits");
  ExpectReject(R"({"s": "\u12g4"})", "four hex digits");
  ExpectReject(R"({"s": "\udc00"})", "lone low surrogate");
  ExpectReject(R"({"s": "\ud800"})", "high surrogate not followed by a low surrogate");
  ExpectReject(R"({"s": "\ud800\u0041"})", "high surrogate not followed by a low surrogate");
}

TEST(MooncakeLine, NestingLimit) {
  auto nested = [](int depth) {
    return R"({"deep": )" + std::string(depth, '[') + std::string(depth, ']') +
           R"(, "timestamp":1,"input_length":1,"output_length":1,"hash_ids":[1]})";
  };
  Parse(nested(kMaxNesting));
  ExpectReject(nested(kMaxNesting + 1), "nested deeper than 64");
  ExpectReject(nested(100000), "nested deeper than 64");  // no stack overflow
}

TEST(MooncakeTrace, ReadsLinesAndCounts) {
  Trace t;
  ASSERT_FALSE(ReadString(
      "{\"timestamp\":0,\"input_length\":1024,\"output_length\":3,\"hash_ids\":[0,1]}\n"
      "{\"timestamp\":0,\"input_length\":1500,\"output_length\":0,\"hash_ids\":[0,1,2]}\n"
      "{\"timestamp\":9,\"input_length\":10,\"output_length\":1,\"hash_ids\":[3]}",  // no final \n
      &t));
  ASSERT_EQ(t.requests.size(), 3u);
  EXPECT_EQ(t.references, 6u);
  EXPECT_EQ(t.distinct_blocks, 4u);
  EXPECT_EQ(t.requests[1].hash_ids, (std::vector<uint64_t>{0, 1, 2}));
  // CRLF line ends are JSON whitespace.
  ASSERT_FALSE(ReadString(std::string(kGood) + "\r\n", &t));
  EXPECT_EQ(t.requests.size(), 1u);
  // An empty input is an empty trace.
  ASSERT_FALSE(ReadString("", &t));
  EXPECT_TRUE(t.requests.empty());
}

// The error of a whole trace, which must be rejected and leave *t untouched.
TraceError RejectTrace(const std::string& text) {
  Trace t;
  t.references = 99;
  auto e = ReadString(text, &t);
  EXPECT_TRUE(e.has_value()) << "accepted:\n" << text;
  EXPECT_EQ(t.references, 99u);
  EXPECT_TRUE(t.requests.empty());
  return e.value_or(TraceError{});
}

std::string Line(uint64_t ts, std::vector<uint64_t> ids, uint64_t out = 1) {
  return FormatRequestLine(Request{ts, 512 * ids.size(), out, std::move(ids)}) + "\n";
}

TEST(MooncakeTrace, ErrorsCarryTheLineNumber) {
  const std::string l1 = Line(0, {0, 1});
  TraceError e = RejectTrace(l1 + Line(5, {0}) + "\n" + Line(6, {2}));
  EXPECT_EQ(e.line, 3u);
  EXPECT_EQ(e.ToString(), "line 3: empty line (blank lines are not allowed)");

  e = RejectTrace(l1 + " \t\r\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("empty line"), std::string::npos);

  e = RejectTrace(l1 + "\n");  // an empty last line after the final newline
  EXPECT_EQ(e.line, 2u);

  e = RejectTrace(l1 + Line(10, {5}) + Line(9, {6}));
  EXPECT_EQ(e.line, 3u);
  EXPECT_EQ(e.message, "timestamp 9 goes backwards (previous line: 10)");

  e = RejectTrace(l1 + l1 + R"({"timestamp":1,"input_length":1,"output_length":1,"hash_ids":[1])");
  EXPECT_EQ(e.line, 3u);
  EXPECT_NE(e.ToString().find("line 3, column"), std::string::npos) << e.ToString();

  e = RejectTrace(l1 + R"({"timestamp":1,"input_length":1,"output_length":1})" + "\n");
  EXPECT_EQ(e.ToString(), "line 2: missing key \"hash_ids\"");
}

TEST(MooncakeTrace, PrefixChainMustBeConsistent) {
  // Equal timestamps are fine; shared prefixes are fine.
  Trace t;
  ASSERT_FALSE(ReadString(Line(0, {0, 1, 2}) + Line(0, {0, 1, 3}) + Line(0, {4}), &t));
  // Id 1 follows 0 on line 1, but 4 on line 2.
  TraceError e = RejectTrace(Line(0, {0, 1}) + Line(0, {4, 1}));
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("hash id 1 at position 1 follows id 4, but on line 1 it follows id 0"),
            std::string::npos)
      << e.message;
  // Id 0 starts a request on line 1 but is at position 1 on line 3.
  e = RejectTrace(Line(0, {0}) + Line(0, {7}) + Line(0, {7, 0}));
  EXPECT_EQ(e.line, 3u);
  EXPECT_NE(e.message.find("starts the request"), std::string::npos) << e.message;
}

TEST(MooncakeTrace, MissingFile) {
  Trace t;
  auto e = ReadTraceFile("/nonexistent/trace.jsonl", &t);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->line, 0u);
  EXPECT_NE(e->message.find("cannot open '/nonexistent/trace.jsonl'"), std::string::npos);
}

// Random requests survive a format/parse round trip.
TEST(MooncakeFuzz, RoundTrip) {
  std::mt19937_64 rng(testing::Seed());
  for (int i = 0; i < 2000; ++i) {
    Request r;
    r.timestamp_ms = rng() >> (rng() % 64);
    r.output_length = rng() >> (rng() % 64);
    r.input_length = 1 + rng() % 20000;
    const size_t n = r.input_length / 512 + (r.input_length % 512 != 0);
    for (size_t k = 0; k < n; ++k) {
      r.hash_ids.push_back((rng() >> (rng() % 64)) * 64 + k);  // distinct within the line
    }
    const std::string line = FormatRequestLine(r);
    Request back;
    ASSERT_FALSE(ParseRequestLine(line, &back)) << line;
    ASSERT_EQ(back, r) << line;
  }
}

// Mutated lines: never a crash or a hang; anything accepted is a well-formed request whose
// canonical form parses back to itself.
TEST(MooncakeFuzz, MutatedLinesNeverCrash) {
  std::mt19937_64 rng(testing::Seed() ^ 0x5A5A);
  const std::string alphabet = "{}[]\",:-+.eE0123456789 \t\\u\"abcnulltruefalse\x01\x7f\xc3";
  const std::string seeds[] = {
      kGood,
      R"({"x": {"y": [1.5, "s\"q", null]}, "timestamp": 1, "input_length": 513,)"
      R"( "output_length": 0, "hash_ids": [9, 10]})",
  };
  int accepted = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string line = seeds[rng() % std::size(seeds)];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const size_t at = rng() % (line.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          line.insert(line.begin() + static_cast<long>(at), c);
          break;
        case 1:
          if (at < line.size()) {
            line.erase(at, 1);
          }
          break;
        default:
          if (at < line.size()) {
            line[at] = c;
          }
          break;
      }
    }
    Request r;
    auto e = ParseRequestLine(line, &r);
    if (e) {
      ASSERT_FALSE(e->message.empty());
      ASSERT_LE(e->column, line.size() + 1) << line;
      continue;
    }
    ++accepted;
    ASSERT_GE(r.input_length, 1u);
    ASSERT_EQ(r.hash_ids.size(), r.input_length / 512 + (r.input_length % 512 != 0)) << line;
    Request back;
    ASSERT_FALSE(ParseRequestLine(FormatRequestLine(r), &back));
    ASSERT_EQ(back, r);
  }
  std::printf("mutated lines accepted: %d of 50000\n", accepted);
}

}  // namespace
}  // namespace kvcpu::trace
