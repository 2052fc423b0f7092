// kvtrace: replay a Mooncake trace through cache policies and print prefix-block hit rates.
//
//   kvtrace --trace FILE --capacity 500,1000,... [--policy lru,fifo,opt] [--csv OUT] [--plot PNG]
//
// Exit status: 0 ok, 1 bad trace (message with the line number) or I/O error, 2 usage.
// Arguments are parsed by hand for the same reason as kvctl's (tiny grammar, strict rules).
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mooncake.h"
#include "plot.h"
#include "replay.h"

namespace {

using kvcpu::trace::Trace;

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

constexpr const char kUsage[] =
    "usage: kvtrace --trace FILE --capacity N[,N...] [--policy P[,P...]] [--step-us N]\n"
    "               [--csv OUT] [--plot PNG]\n"
    "\n"
    "Replays a Mooncake JSONL trace (timestamp, input_length, output_length, hash_ids)\n"
    "as a serving runtime would and prints the prefix-block hit rate of each policy at\n"
    "each capacity (in 512-token blocks). See docs/trace-replay.md.\n"
    "\n"
    "  --trace FILE      the trace (one JSON object per line)\n"
    "  --capacity LIST   comma-separated capacities in blocks, each >= 1\n"
    "  --policy LIST     comma-separated among lru, fifo, opt, hepc-seed, hepc-hint\n"
    "                    (default: lru,fifo,opt)\n"
    "  --step-us N       logical duration of a decode step in microseconds (default\n"
    "                    1000); sets how many requests wait, i.e. hepc-hint's lookahead\n"
    "  --csv OUT         also write capacity,policy,references,hits,hit_rate,evictions,\n"
    "                    resident_hits (resident references, contiguous or not)\n"
    "  --plot PNG        also draw hit rate against capacity, one line per policy\n"
    "                    (needs gnuplot)\n"
    "  --help, -h        this text\n"
    "\n"
    "Exit status: 0 ok, 1 bad trace line (reported with its line number) or I/O error,\n"
    "2 usage error.\n";

int UsageError(const std::string& msg) {
  std::fprintf(stderr, "kvtrace: %s\n\n%s", msg.c_str(), kUsage);
  return kExitUsage;
}

std::vector<std::string_view> SplitCommas(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    const size_t comma = s.find(',');
    out.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(comma + 1);
  }
}

// A positive decimal integer that fits in size_t; nothing else.
std::optional<size_t> ParseCapacity(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto d = static_cast<size_t>(c - '0');
    if (v > (SIZE_MAX - d) / 10) {
      return std::nullopt;
    }
    v = v * 10 + d;
  }
  if (v == 0) {
    return std::nullopt;
  }
  return v;
}

struct Args {
  std::string trace;
  std::vector<size_t> capacities;
  std::vector<std::string> policies{"lru", "fifo", "opt"};
  std::string csv;
  std::string plot;
  size_t step_us = 1000;
  bool help = false;
};

// Fills *args; returns a usage message on error.
std::optional<std::string> ParseArgs(int argc, char** argv, Args* args) {
  bool have_trace = false, have_capacity = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      args->help = true;
      return std::nullopt;
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name != "--trace" && name != "--capacity" && name != "--policy" && name != "--csv" &&
        name != "--step-us" && name != "--plot") {
      return "unknown argument '" + std::string(arg) + "'";
    }
    if (!value) {
      if (i + 1 >= argc) {
        return std::string(name) + " needs a value";
      }
      value = argv[++i];
    }
    if (name == "--trace") {
      if (value->empty()) {
        return "--trace needs a file name";
      }
      args->trace = *value;
      have_trace = true;
    } else if (name == "--csv") {
      if (value->empty()) {
        return "--csv needs a file name";
      }
      args->csv = *value;
    } else if (name == "--plot") {
      if (value->empty()) {
        return "--plot needs a file name";
      }
      args->plot = *value;
    } else if (name == "--step-us") {
      const auto v = ParseCapacity(*value);
      if (!v) {
        return "bad --step-us '" + std::string(*value) + "' (a positive decimal number expected)";
      }
      args->step_us = *v;
    } else if (name == "--capacity") {
      args->capacities.clear();
      for (std::string_view item : SplitCommas(*value)) {
        const auto c = ParseCapacity(item);
        if (!c) {
          return "bad capacity '" + std::string(item) +
                 "' (a positive decimal number of blocks expected)";
        }
        args->capacities.push_back(*c);
      }
      have_capacity = true;
    } else {  // --policy
      args->policies.clear();
      for (std::string_view item : SplitCommas(*value)) {
        bool known = false;
        for (std::string_view p : kvcpu::trace::kPolicyNames) {
          known = known || item == p;
        }
        if (!known) {
          return "unknown policy '" + std::string(item) + "' (lru, fifo or opt)";
        }
        for (const std::string& seen : args->policies) {
          if (seen == item) {
            return "policy '" + std::string(item) + "' given twice";
          }
        }
        args->policies.emplace_back(item);
      }
    }
  }
  if (!have_trace) {
    return "--trace is required";
  }
  if (!have_capacity) {
    return "--capacity is required";
  }
  return std::nullopt;
}

struct Row {
  size_t capacity;
  std::string policy;
  kvcpu::trace::ReplayStats stats;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (auto msg = ParseArgs(argc, argv, &args)) {
    return UsageError(*msg);
  }
  if (args.help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }

  Trace trace;
  if (auto e = kvcpu::trace::ReadTraceFile(args.trace, &trace)) {
    std::fprintf(stderr, "kvtrace: %s: %s\n", args.trace.c_str(), e->ToString().c_str());
    return kExitRuntime;
  }
  if (trace.requests.empty()) {
    std::fprintf(stderr, "kvtrace: %s: the trace has no requests\n", args.trace.c_str());
    return kExitRuntime;
  }

  auto replay = [&](const std::string& policy_name, size_t capacity,
                    kvcpu::trace::ReplayStats* stats) -> bool {
    std::unique_ptr<kvcpu::trace::Policy> policy = kvcpu::trace::MakePolicy(policy_name, trace);
    kvcpu::trace::ReplayOptions options;
    options.capacity = capacity;
    options.step_us = args.step_us;
    if (auto err = kvcpu::trace::Replay(trace, options, *policy, stats)) {
      std::fprintf(stderr, "kvtrace: replay: %s\n", err->c_str());
      return false;
    }
    return true;
  };

  kvcpu::trace::ReplayStats unbounded;
  if (!replay("lru", static_cast<size_t>(trace.distinct_blocks), &unbounded)) {
    return kExitRuntime;
  }
  std::printf("trace %s\n", args.trace.c_str());
  std::printf("  %zu requests, %llu block references, %llu distinct blocks, %llu steps\n",
              trace.requests.size(), static_cast<unsigned long long>(trace.references),
              static_cast<unsigned long long>(trace.distinct_blocks),
              static_cast<unsigned long long>(unbounded.steps));
  std::printf("  unbounded-cache hit rate %.4f\n", unbounded.hit_rate());
  std::printf("  step %zu us: at most %llu requests waiting (the hint lookahead)\n\n",
              args.step_us, static_cast<unsigned long long>(unbounded.max_waiting));
  std::printf("prefix-block hit rate\n%10s", "capacity");
  for (const std::string& p : args.policies) {
    std::printf("  %7s", p.c_str());
  }
  std::printf("\n");

  std::vector<Row> rows;
  for (size_t capacity : args.capacities) {
    std::printf("%10zu", capacity);
    for (const std::string& p : args.policies) {
      Row row{capacity, p, {}};
      if (!replay(p, capacity, &row.stats)) {
        return kExitRuntime;
      }
      std::printf("  %7.4f", row.stats.hit_rate());
      rows.push_back(std::move(row));
    }
    std::printf("\n");
  }

  if (!args.csv.empty()) {
    std::ofstream out(args.csv, std::ios::trunc);
    out << "capacity,policy,references,hits,hit_rate,evictions,resident_hits\n";
    for (const Row& row : rows) {
      char rate[32];
      std::snprintf(rate, sizeof(rate), "%.6f", row.stats.hit_rate());
      out << row.capacity << ',' << row.policy << ',' << row.stats.references << ','
          << row.stats.hits << ',' << rate << ',' << row.stats.evictions << ','
          << row.stats.resident_hits << '\n';
    }
    out.close();
    if (!out) {
      std::fprintf(stderr, "kvtrace: cannot write '%s'\n", args.csv.c_str());
      return kExitRuntime;
    }
  }
  if (!args.plot.empty()) {
    kvcpu::plot::Plot p;
    p.title = "Prefix-block hit rate, " + args.trace.substr(args.trace.find_last_of('/') + 1) +
              " (step " + std::to_string(args.step_us) + " us)";
    p.xlabel = "capacity (512-token blocks)";
    p.ylabel = "hit rate";
    p.logx = true;
    p.yrange = std::make_pair(0.0, 1.0);
    for (const std::string& name : args.policies) {
      kvcpu::plot::Series s{name, {}};
      for (const Row& row : rows) {
        if (row.policy == name) {
          s.points.emplace_back(static_cast<double>(row.capacity), row.stats.hit_rate());
        }
      }
      p.series.push_back(std::move(s));
    }
    if (auto err = kvcpu::plot::WritePng(p, args.plot)) {
      std::fprintf(stderr, "kvtrace: --plot %s: %s\n", args.plot.c_str(), err->c_str());
      return kExitRuntime;
    }
  }
  return kExitOk;
}
