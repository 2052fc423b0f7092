// kvcpu-cosim: the cosim device server. See docs/cosim-protocol.md.
//
// The command line is parsed by hand: a handful of options do not justify a dependency, and the
// machine has no Boost.ProgramOptions development package (only the runtime library).
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "server.h"

namespace {

constexpr char kUsage[] =
    "usage: kvcpu-cosim --socket PATH [--trace FILE.fst] [--msg-timeout-ms N] [--quiet]\n"
    "                   [--mem-latency N] [--mem-stall P] [--drop-irq N]\n"
    "                   [--nvme-read-error-every N] [--nvme-timeout-every N]\n"
    "                   [--nvme-preconditioned]\n"
    "\n"
    "Serves the BAR0 of the verilated KV-CPU core over a Unix-domain socket.\n"
    "\n"
    "  --socket PATH         socket to listen on (created with mode 0600; a stale one is\n"
    "                        replaced, a live one is an error)\n"
    "  --trace FILE.fst      write FST waves of the whole run to FILE.fst\n"
    "  --msg-timeout-ms N    a started message must complete within N ms (default 2000)\n"
    "  --quiet               no log lines on stderr\n"
    "  --mem-latency N       host memory: N extra cycles before read data and write\n"
    "                        responses (default 0)\n"
    "  --mem-stall P         host memory: hold back ready/valid with probability P per\n"
    "                        cycle, 0..0.9 (default 0; seeded, reproducible)\n"
    "  --drop-irq N          fault injection: drop every Nth MSI-X message (default 0: none)\n"
    "  --nvme-read-error-every N   fault injection at the NVMe port's SSD: every Nth read\n"
    "                        that reads flash fails (Unrecovered Read Error; default 0: none)\n"
    "  --nvme-timeout-every N      every Nth NVMe command never completes (default 0: none)\n"
    "  --nvme-preconditioned       the SSD is preconditioned: a read of a block never written\n"
    "                        reads flash too (default: it is answered by the firmware)\n"
    "  --help                this text\n"
    "\n"
    "Prints \"kvcpu-cosim: listening on PATH\" on stdout once ready. Exits 0 after SHUTDOWN,\n"
    "SIGINT or SIGTERM, 1 when it cannot listen, 2 on a bad command line.\n";

struct Parsed {
  kvcpu::cosim::ServerOptions options;
  bool help = false;
  std::string error;  // non-empty: bad command line
};

Parsed parse_args(int argc, char** argv) {
  Parsed p;
  bool have_socket = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    std::optional<std::string_view> inline_value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto value = [&]() -> std::optional<std::string_view> {
      if (inline_value) {
        return inline_value;
      }
      if (i + 1 < argc) {
        return std::string_view(argv[++i]);
      }
      return std::nullopt;
    };
    if (arg == "--help" || arg == "-h") {
      p.help = true;
      return p;
    }
    if (arg == "--quiet") {
      if (inline_value) {
        p.error = "--quiet takes no value";
        return p;
      }
      p.options.quiet = true;
    } else if (arg == "--socket") {
      auto v = value();
      if (!v || v->empty()) {
        p.error = "--socket needs a path";
        return p;
      }
      p.options.socket_path = std::string(*v);
      have_socket = true;
    } else if (arg == "--nvme-preconditioned") {
      p.options.ssd_preconditioned = true;
    } else if (arg == "--trace") {
      auto v = value();
      if (!v || v->empty()) {
        p.error = "--trace needs a file name";
        return p;
      }
      p.options.trace_path = std::string(*v);
    } else if (arg == "--msg-timeout-ms") {
      auto v = value();
      long long ms = 0;
      if (!v) {
        p.error = "--msg-timeout-ms needs a value";
        return p;
      }
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), ms);
      if (ec != std::errc() || end != v->data() + v->size() || ms < 1 || ms > 3'600'000) {
        p.error =
            "--msg-timeout-ms: expected milliseconds in 1..3600000, got '" + std::string(*v) + "'";
        return p;
      }
      p.options.msg_timeout = std::chrono::milliseconds(ms);
    } else if (arg == "--mem-latency" || arg == "--drop-irq" || arg == "--nvme-read-error-every" ||
               arg == "--nvme-timeout-every") {
      auto v = value();
      long long n = -1;
      if (v) {
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || end != v->data() + v->size()) {
          n = -1;
        }
      }
      if (n < 0 || n > 1'000'000) {
        p.error = std::string(arg) + ": expected an integer in 0..1000000, got '" +
                  std::string(v.value_or("")) + "'";
        return p;
      }
      if (arg == "--drop-irq") {
        p.options.drop_irq = static_cast<uint32_t>(n);
      } else if (arg == "--nvme-read-error-every") {
        p.options.ssd_faults.read_error_every_n = static_cast<uint64_t>(n);
      } else if (arg == "--nvme-timeout-every") {
        p.options.ssd_faults.timeout_every_n = static_cast<uint64_t>(n);
      } else {
        p.options.axi.read_latency = p.options.axi.write_latency = static_cast<unsigned>(n);
      }
    } else if (arg == "--mem-stall") {
      auto v = value();
      double prob = -1;
      if (v) {
        std::string text(*v);
        char* end = nullptr;
        prob = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') {
          prob = -1;
        }
      }
      if (!(prob >= 0.0 && prob <= 0.9)) {
        p.error = "--mem-stall: expected a probability in 0..0.9, got '" +
                  std::string(v.value_or("")) + "'";
        return p;
      }
      p.options.axi.p_stall = prob;
    } else {
      p.error = "unknown argument '" + std::string(argv[i]) + "'";
      return p;
    }
  }
  if (!have_socket) {
    p.error = "--socket PATH is required";
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  Parsed p = parse_args(argc, argv);
  if (p.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!p.error.empty()) {
    std::fprintf(stderr, "kvcpu-cosim: %s\n\n%s", p.error.c_str(), kUsage);
    return 2;
  }
  // A client that vanishes mid-write must cost a write error, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    kvcpu::cosim::Server server(p.options);
    if (auto error = server.listen()) {
      std::fprintf(stderr, "kvcpu-cosim: %s\n", error->c_str());
      return 1;
    }
    std::printf("kvcpu-cosim: listening on %s\n", p.options.socket_path.c_str());
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kvcpu-cosim: fatal: %s\n", e.what());
    return 1;
  }
  return 0;
}
