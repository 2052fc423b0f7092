// kvtrace: replay a Mooncake trace through cache policies and print prefix-block hit rates.
//
//   kvtrace --trace FILE --capacity 500,1000,... [--policy lru,fifo,opt] [--csv OUT] [--plot PNG]
//           [--device] [--requests N]
//
// Exit status: 0 ok, 1 bad trace (message with the line number) or I/O error, 2 usage.
// Arguments are parsed by hand for the same reason as kvctl's (tiny grammar, strict rules).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cosim_process.h"
#include "device_backend.h"
#include "kvcpu/device.h"
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
    "               [--csv OUT] [--plot PNG] [--device] [--requests N]\n"
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
    "  --device          also run hepc-seed / hepc-hint through the driver on a\n"
    "                    kvcpu-cosim server of kvtrace's own (a fresh one per run):\n"
    "                    columns hepc-*-device; each must agree with fast mode on the\n"
    "                    device's directory geometry hit for hit, or kvtrace exits 1\n"
    "  --requests N      replay only the first N requests of the trace\n"
    "  --help, -h        this text\n"
    "\n"
    "Exit status: 0 ok, 1 bad trace line (reported with its line number), I/O error,\n"
    "device failure or device/fast disagreement, 2 usage error.\n";

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
  size_t requests = 0;  // 0: all
  bool device = false;
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
    if (arg == "--device") {
      args->device = true;
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name != "--trace" && name != "--capacity" && name != "--policy" && name != "--csv" &&
        name != "--step-us" && name != "--plot" && name != "--requests") {
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
    } else if (name == "--requests") {
      const auto v = ParseCapacity(*value);
      if (!v) {
        return "bad --requests '" + std::string(*value) + "' (a positive decimal number expected)";
      }
      args->requests = *v;
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
          return "unknown policy '" + std::string(item) + "' (lru, fifo, opt, hepc-seed or hepc-hint)";
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

// Keeps the first n requests (and recounts references and distinct blocks).
void TruncateTrace(Trace* t, size_t n) {
  t->requests.resize(n);
  std::unordered_set<uint64_t> ids;
  t->references = 0;
  for (const auto& r : t->requests) {
    t->references += r.hash_ids.size();
    ids.insert(r.hash_ids.begin(), r.hash_ids.end());
  }
  t->distinct_blocks = ids.size();
}

// One replay of hepc-seed / hepc-hint (`base`) through the driver on a fresh kvcpu-cosim
// server, then the same in fast mode on the device's geometry; *note says whether they
// agree (and the device run's size and speed), or why the device run failed (false).
bool ReplayOnDevice(const Trace& trace, kvcpu::trace::ReplayOptions options, size_t capacity,
                    const std::string& base, kvcpu::trace::ReplayStats* stats, std::string* note) {
  namespace kt = kvcpu::trace;
  const kvcpu::model::Mode mode = base == "hepc-seed" ? kvcpu::model::Mode::kSeed : kvcpu::model::Mode::kHint;
  options.capacity = capacity;
  std::string err;
  auto srv = kvcpu::CosimProcess::start(KVCPU_COSIM_BIN, {"--quiet"}, &err);
  if (!srv) {
    *note = std::string("cannot start ") + KVCPU_COSIM_BIN + ": " + err;
    return false;
  }
  auto dev = kvcpu::Device::open(srv->uri());
  if (!dev.ok()) {
    *note = dev.status().to_string();
    return false;
  }
  auto backend = kt::DeviceBackend::Create(*dev, mode, &err);
  if (!backend) {
    *note = err;
    return false;
  }
  kt::DeviceBackend* b = backend.get();
  auto policy = kt::MakeHepcPolicy(mode, std::move(backend));
  const auto t0 = std::chrono::steady_clock::now();
  if (auto e = kt::Replay(trace, options, *policy, stats)) {
    *note = *e;
    return false;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const kvcpu::model::RtbdConfig dir = b->dir_config();
  const kt::DeviceBackendStats ds = b->stats();
  kt::ReplayStats fast;
  auto fp = kt::MakeHepcPolicy(mode, kt::MakeModelBackend(mode, dir));
  if (auto e = kt::Replay(trace, options, *fp, &fast)) {
    *note = "fast mode: " + *e;
    return false;
  }
  const bool same = fast.hits == stats->hits && fast.resident_hits == stats->resident_hits &&
                    fast.inserts == stats->inserts && fast.evictions == stats->evictions &&
                    fast.conflict_evictions == stats->conflict_evictions;
  auto n = [](uint64_t v) { return std::to_string(v); };
  *note = (same ? "agree: " : "DISAGREE: ") + std::string("hits ") + n(stats->hits) + " / " + n(stats->references) +
          ", evictions " + n(stats->evictions) + " (" + n(stats->conflict_evictions) + " set conflicts)";
  if (!same) {
    *note += "; fast mode: hits " + n(fast.hits) + ", evictions " + n(fast.evictions) + " (" +
             n(fast.conflict_evictions) + " set conflicts)";
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf), "; directory %u sets x 8 ways, buckets of 2^%u steps x %u; %llu commands, %llu waits, %.1f s",
                1u << dir.set_bits, dir.bucket_shift, dir.num_buckets, static_cast<unsigned long long>(ds.commands),
                static_cast<unsigned long long>(ds.waits), secs);
  *note += buf;
  return true;
}

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

  if (args.requests > 0 && args.requests < trace.requests.size()) {
    TruncateTrace(&trace, args.requests);
  }

  kvcpu::trace::ReplayOptions options;
  options.step_us = args.step_us;
  auto replay = [&](kvcpu::trace::Policy& policy, size_t capacity, kvcpu::trace::ReplayStats* stats) -> bool {
    options.capacity = capacity;
    if (auto err = kvcpu::trace::Replay(trace, options, policy, stats)) {
      std::fprintf(stderr, "kvtrace: replay: %s\n", err->c_str());
      return false;
    }
    return true;
  };
  auto replay_named = [&](const std::string& name, size_t capacity, kvcpu::trace::ReplayStats* stats) {
    return replay(*kvcpu::trace::MakePolicy(name, trace), capacity, stats);
  };

  kvcpu::trace::ReplayStats unbounded;
  if (!replay_named("lru", static_cast<size_t>(trace.distinct_blocks), &unbounded)) {
    return kExitRuntime;
  }
  std::printf("trace %s%s\n", args.trace.c_str(),
              args.requests > 0 ? (" (first " + std::to_string(trace.requests.size()) + " requests)").c_str() : "");
  std::printf("  %zu requests, %llu block references, %llu distinct blocks, %llu steps\n",
              trace.requests.size(), static_cast<unsigned long long>(trace.references),
              static_cast<unsigned long long>(trace.distinct_blocks),
              static_cast<unsigned long long>(unbounded.steps));
  std::printf("  unbounded-cache hit rate %.4f\n", unbounded.hit_rate());
  std::printf("  step %zu us: at most %llu requests waiting (the hint lookahead)\n\n",
              args.step_us, static_cast<unsigned long long>(unbounded.max_waiting));

  // Columns: the policies, and with --device each HEPC policy again on the device.
  std::vector<std::string> columns;
  for (const std::string& p : args.policies) {
    columns.push_back(p);
    if (args.device && p.starts_with("hepc-")) {
      columns.push_back(p + "-device");
    }
  }
  std::printf("prefix-block hit rate\n%10s", "capacity");
  for (const std::string& p : columns) {
    std::printf("  %*s", static_cast<int>(std::max<size_t>(7, p.size())), p.c_str());
  }
  std::printf("\n");

  std::vector<Row> rows;
  std::vector<std::string> device_notes;
  bool agree = true;
  for (size_t capacity : args.capacities) {
    std::printf("%10zu", capacity);
    for (const std::string& p : columns) {
      Row row{capacity, p, {}};
      if (!p.ends_with("-device")) {
        if (!replay_named(p, capacity, &row.stats)) {
          return kExitRuntime;
        }
      } else {
        const std::string base = p.substr(0, p.size() - 7);
        std::string note;
        if (!ReplayOnDevice(trace, options, capacity, base, &row.stats, &note)) {
          std::printf("\n");
          std::fprintf(stderr, "kvtrace: %s at capacity %zu: %s\n", p.c_str(), capacity, note.c_str());
          return kExitRuntime;
        }
        agree = agree && note.starts_with("agree");
        device_notes.push_back(std::to_string(capacity) + " " + base + ": " + note);
      }
      std::printf("  %*.4f", static_cast<int>(std::max<size_t>(7, p.size())), row.stats.hit_rate());
      std::fflush(stdout);
      rows.push_back(std::move(row));
    }
    std::printf("\n");
  }
  if (!device_notes.empty()) {
    std::printf("\ndevice runs (kvcpu-cosim through libkvcpu) against fast mode on the device's geometry\n");
    for (const std::string& n : device_notes) {
      std::printf("  %s\n", n.c_str());
    }
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
    for (const std::string& name : columns) {
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
  if (!agree) {
    std::fprintf(stderr, "kvtrace: the device and fast mode disagree (see above)\n");
    return kExitRuntime;
  }
  return kExitOk;
}
