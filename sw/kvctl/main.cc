// kvctl: inspect and drive a KV-CPU device through libkvcpu.
//
// Arguments are parsed by hand: the grammar is tiny, exit codes and number rules are
// strict (see parse_number.h), and CLI11 / Boost.Program_options are not installed as
// development packages on the build hosts.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kvcpu/device.h"
#include "kvcpu/regs.h"
#include "parse_number.h"

namespace kvctl {
namespace {

using kvcpu::Device;
using kvcpu::Status;

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

constexpr const char kUsage[] =
    "usage: kvctl [--device URI | -d URI] COMMAND [ARGS]\n"
    "\n"
    "Device URIs: cosim:PATH (kvcpu-cosim socket), mock: (in-memory model);\n"
    "pci:BDF and uart:DEV are not built in this release. Default: $KVCPU_DEVICE.\n"
    "\n"
    "Commands:\n"
    "  info                      identity, version, capabilities, build stamp\n"
    "  step                      print the current decode step\n"
    "  step N                    advance the step by N (1..2^32-1), print the new step\n"
    "  step --set V              set the step to V (must not go backwards)\n"
    "  regs list                 list the BAR0 registers (no device needed)\n"
    "  regs read REG             read a register (name, any case, or offset)\n"
    "  regs write REG VALUE      write a register\n"
    "  telemetry                 the device's counters as key=value lines (step, hints,\n"
    "                            block directory)\n"
    "  errors                    decode ERR_STATUS and ERR_ADDR\n"
    "  errors --clear            clear every ERR_STATUS bit that is set\n"
    "  queue-test [N]            run N commands (default 100; 1..100000) and one 4 KiB\n"
    "                            DMA copy through a host queue, check every completion,\n"
    "                            print the per-stage latency (needs cosim:)\n"
    "  io-test [N]               write N 4 KiB blocks (default 64; 1..256) to the SSD as\n"
    "                            prefill writes, read them back as decode reads, all in\n"
    "                            flight at once through the arbiter; check the data, print\n"
    "                            the dispatches per class (needs cosim:)\n"
    "  --help, -h                this text\n"
    "\n"
    "Numbers are decimal or 0x-prefixed hex. Exit status: 0 ok, 1 device error,\n"
    "2 usage error (an unknown register name is a usage error).\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "kvctl: %s\n\n%s", msg.c_str(), kUsage);
  return kExitUsage;
}

int runtime_error(const std::string& what, const Status& s) {
  std::fprintf(stderr, "kvctl: %s: %s\n", what.c_str(), s.to_string().c_str());
  return kExitRuntime;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", v);
  return buf;
}

std::string hex_offset(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%03X", v);
  return buf;
}

std::string_view access_name(kvcpu::regs::Access a) {
  switch (a) {
    case kvcpu::regs::Access::kRo:
      return "ro";
    case kvcpu::regs::Access::kRw:
      return "rw";
    case kvcpu::regs::Access::kW1c:
      return "w1c";
    case kvcpu::regs::Access::kHw:
      return "hw";
    case kvcpu::regs::Access::kWo:
      return "wo";
  }
  return "?";
}

// Names of the fields of `reg` that are non-zero in `value`, e.g. "STEP HEPC".
std::string set_fields(const kvcpu::regs::RegInfo& reg, uint32_t value) {
  std::string out;
  for (size_t i = 0; i < reg.num_fields; ++i) {
    if (reg.fields[i].get(value) != 0) {
      out += out.empty() ? "" : " ";
      out += reg.fields[i].name;
    }
  }
  return out.empty() ? "none" : out;
}

const kvcpu::regs::RegInfo& reg_named(std::string_view name) { return *kvcpu::regs::find(name); }

// A register argument: a name (any case) or an offset inside BAR0.
struct RegArg {
  uint32_t offset = 0;
  const kvcpu::regs::RegInfo* info = nullptr;  // nullptr for an unmapped offset
};

std::optional<RegArg> parse_reg(std::string_view text, std::string* error) {
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
    auto off = parse_number(text, kvcpu::regs::kBarSize - 1);
    if (!off) {
      *error = "bad register offset '" + std::string(text) + "' (0.." +
               std::to_string(kvcpu::regs::kBarSize - 1) + ", decimal or 0x-hex)";
      return std::nullopt;
    }
    RegArg r;
    r.offset = static_cast<uint32_t>(*off);
    r.info = kvcpu::regs::find(r.offset);
    return r;
  }
  std::string upper(text);
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  const kvcpu::regs::RegInfo* info = kvcpu::regs::find(std::string_view(upper));
  if (info == nullptr) {
    *error = "unknown register '" + std::string(text) + "' (see kvctl regs list)";
    return std::nullopt;
  }
  return RegArg{info->offset, info};
}

struct Command {
  enum class Kind {
    kInfo,
    kStepGet,
    kStepAdvance,
    kStepSet,
    kRegsList,
    kRegsRead,
    kRegsWrite,
    kErrors,
    kErrorsClear,
    kTelemetry,
    kQueueTest,
    kIoTest
  };
  Kind kind = Kind::kInfo;
  uint64_t number = 0;
  RegArg reg;
};

// Returns the command, or sets *error (a usage error).
std::optional<Command> parse_command(const std::vector<std::string_view>& args,
                                     std::string* error) {
  Command c;
  std::string_view cmd = args[0];
  size_t n = args.size();
  auto bad = [&](std::string msg) {
    *error = std::move(msg);
    return std::nullopt;
  };
  if (cmd == "info") {
    if (n != 1) {
      return bad("info takes no arguments");
    }
    c.kind = Command::Kind::kInfo;
  } else if (cmd == "step") {
    if (n == 1) {
      c.kind = Command::Kind::kStepGet;
    } else if (n == 2 && args[1] != "--set") {
      auto v = parse_number(args[1], UINT32_MAX);
      if (!v || *v == 0) {
        return bad("step N: N must be a number from 1 to 4294967295, got '" + std::string(args[1]) +
                   "'");
      }
      c.kind = Command::Kind::kStepAdvance;
      c.number = *v;
    } else if (n == 3 && args[1] == "--set") {
      auto v = parse_number(args[2]);
      if (!v) {
        return bad("step --set V: V must be a 64-bit number, got '" + std::string(args[2]) + "'");
      }
      c.kind = Command::Kind::kStepSet;
      c.number = *v;
    } else {
      return bad("usage: step [N | --set V]");
    }
  } else if (cmd == "regs") {
    if (n < 2) {
      return bad("regs needs list, read or write");
    }
    if (args[1] == "list" && n == 2) {
      c.kind = Command::Kind::kRegsList;
    } else if (args[1] == "read" && n == 3) {
      auto r = parse_reg(args[2], error);
      if (!r) {
        return std::nullopt;
      }
      c.kind = Command::Kind::kRegsRead;
      c.reg = *r;
    } else if (args[1] == "write" && n == 4) {
      auto r = parse_reg(args[2], error);
      if (!r) {
        return std::nullopt;
      }
      auto v = parse_number(args[3], UINT32_MAX);
      if (!v) {
        return bad("regs write: VALUE must be a 32-bit number, got '" + std::string(args[3]) + "'");
      }
      c.kind = Command::Kind::kRegsWrite;
      c.reg = *r;
      c.number = *v;
    } else {
      return bad("usage: regs list | regs read REG | regs write REG VALUE");
    }
  } else if (cmd == "telemetry") {
    if (n != 1) {
      return bad("telemetry takes no arguments");
    }
    c.kind = Command::Kind::kTelemetry;
  } else if (cmd == "errors") {
    if (n == 1) {
      c.kind = Command::Kind::kErrors;
    } else if (n == 2 && args[1] == "--clear") {
      c.kind = Command::Kind::kErrorsClear;
    } else {
      return bad("usage: errors [--clear]");
    }
  } else if (cmd == "queue-test" || cmd == "io-test") {
    // CMD [N]: a count from 1 to max, with a default
    const bool queue = cmd == "queue-test";
    const uint64_t max = queue ? 100000 : 256;
    c.kind = queue ? Command::Kind::kQueueTest : Command::Kind::kIoTest;
    c.number = queue ? 100 : 64;
    if (n == 2) {
      auto v = parse_number(args[1], max);
      if (!v || *v == 0) {
        return bad(std::string(cmd) + " N: N must be a number from 1 to " + std::to_string(max) + ", got '" +
                   std::string(args[1]) + "'");
      }
      c.number = *v;
    } else if (n != 1) {
      return bad("usage: " + std::string(cmd) + " [N]");
    }
  } else {
    return bad("unknown command '" + std::string(cmd) + "'");
  }
  return c;
}

// Width of the name column: the longest register name (array instances such as
// "Q_PROV_BASE_LO[7]" included), so that every row's columns line up.
constexpr int reg_name_width() {
  size_t w = sizeof("name") - 1;
  for (const auto& r : kvcpu::regs::kRegisters) {
    w = r.name.size() > w ? r.name.size() : w;
  }
  return static_cast<int>(w);
}

int print_reg_list() {
  constexpr int kNameWidth = reg_name_width();
  std::printf("%-6s %-*s %-4s %s\n", "offset", kNameWidth, "name", "acc", "description");
  for (const auto& r : kvcpu::regs::kRegisters) {
    std::printf("%-6s %-*.*s %-4.*s %.*s\n", hex_offset(r.offset).c_str(), kNameWidth,
                static_cast<int>(r.name.size()), r.name.data(),
                static_cast<int>(access_name(r.access).size()), access_name(r.access).data(),
                static_cast<int>(r.desc.size()), r.desc.data());
  }
  return kExitOk;
}

void print_reg_value(const RegArg& reg, uint32_t value) {
  std::string_view name = reg.info != nullptr ? reg.info->name : "?";
  std::printf("%.*s %s = %s\n", static_cast<int>(name.size()), name.data(),
              hex_offset(reg.offset).c_str(), hex32(value).c_str());
  if (reg.info == nullptr) {
    return;
  }
  for (size_t i = 0; i < reg.info->num_fields; ++i) {
    const kvcpu::regs::Field& f = reg.info->fields[i];
    uint32_t v = f.get(value);
    if (f.width == 1) {
      std::printf("  %-16.*s [%u]    = %u\n", static_cast<int>(f.name.size()), f.name.data(), f.lsb,
                  v);
    } else {
      std::printf("  %-16.*s [%u:%u] = 0x%X (%u)\n", static_cast<int>(f.name.size()), f.name.data(),
                  f.lsb + f.width - 1, f.lsb, v, v);
    }
  }
}

int cmd_info(Device& dev) {
  auto info = dev.info();
  if (!info.ok()) {
    return runtime_error("info", info.status());
  }
  const auto& i = *info;
  static constexpr const char* kBoards[] = {"cosim", "iCE40 UP5K", "PCIe"};
  const char* board = i.board < 3 ? kBoards[i.board] : "unknown";
  std::printf("device        %s\n", dev.describe().c_str());
  std::printf("vendor id     0x%04X\n", i.vendor);
  std::printf("device id     0x%04X\n", i.device);
  std::printf("version       %u.%u.%u\n", i.version_major, i.version_minor, i.version_patch);
  std::printf("capabilities  %s (%s)\n", hex32(i.capabilities).c_str(),
              set_fields(reg_named("CAPABILITIES"), i.capabilities).c_str());
  std::printf("git hash      %08x\n", i.git_hash);
  std::printf("build date    %04X-%02X-%02X\n", i.build_date >> 16, (i.build_date >> 8) & 0xFF,
              i.build_date & 0xFF);
  std::printf("board         %s (%u)\n", board, i.board);
  std::printf("dirty         %s\n", i.dirty ? "yes" : "no");
  return kExitOk;
}

int print_step(Device& dev, const std::string& what) {
  auto s = dev.step();
  if (!s.ok()) {
    return runtime_error(what, s.status());
  }
  std::printf("%llu\n", static_cast<unsigned long long>(*s));
  return kExitOk;
}

int cmd_errors(Device& dev, bool clear) {
  auto err = dev.error_status();
  if (!err.ok()) {
    return runtime_error("read ERR_STATUS", err.status());
  }
  auto addr = dev.error_addr();
  if (!addr.ok()) {
    return runtime_error("read ERR_ADDR", addr.status());
  }
  std::printf("ERR_STATUS %s (%s)\n", hex32(*err).c_str(),
              set_fields(reg_named("ERR_STATUS"), *err).c_str());
  std::printf("ERR_ADDR   %s%s\n", hex_offset(*addr).c_str(),
              *err == 0 ? " (stale: no error recorded)" : "");
  if (clear && *err != 0) {
    if (Status s = dev.clear_errors(*err); !s.ok()) {
      return runtime_error("clear ERR_STATUS", s);
    }
    std::printf("cleared %s\n", hex32(*err).c_str());
  }
  return kExitOk;
}

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// NOPs and ECHOs, then one DMA copy, through a fresh queue pair; every completion checked
// against what the command asked for (docs/host-interface.md).
int cmd_queue_test(Device& dev, uint64_t n) {
  auto q = dev.create_queue();
  if (!q.ok()) {
    return runtime_error("queue-test: create queue", q.status());
  }
  auto src = dev.alloc_dma(4096);
  auto dst = dev.alloc_dma(4096);
  if (!src.ok() || !dst.ok()) {
    return runtime_error("queue-test: DMA memory", src.ok() ? dst.status() : src.status());
  }
  for (uint32_t i = 0; i < 4096; ++i) {
    (*src)->data()[i] = static_cast<uint8_t>(i * 37 + 11);
  }
  std::vector<kvcpu::Command> cmds;
  for (uint64_t i = 0; i < n; ++i) {
    cmds.push_back((i % 2 ? kvcpu::Command::echo(static_cast<uint32_t>(i * 2654435761u)) : kvcpu::Command::nop())
                       .flow(static_cast<uint32_t>(i)));
  }
  cmds.push_back(kvcpu::Command::dma_copy((*src)->iova(), (*dst)->iova(), 4096).flow(static_cast<uint32_t>(n)));
  std::vector<kvcpu::Completion> got, buf(64);
  size_t next = 0;
  while (got.size() < cmds.size()) {
    if (next < cmds.size()) {
      auto s = (*q)->submit(std::span<const kvcpu::Command>(cmds).subspan(next));
      if (!s.ok()) {
        return runtime_error("queue-test: submit", s.status());
      }
      next += *s;
    }
    auto r = (*q)->wait(buf, std::chrono::seconds(10));
    if (!r.ok()) {
      return runtime_error("queue-test: wait", r.status());
    }
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(*r));
  }
  uint64_t wrong = 0;
  std::vector<double> st[4], host;
  auto hz = dev.clock_hz();
  const double ns = hz.ok() && *hz != 0 ? 1e9 / *hz : 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const kvcpu::Completion& c = got[i];
    const bool is_dma = i == n;
    const uint32_t want = is_dma ? 4096 : (i % 2 ? static_cast<uint32_t>(i * 2654435761u) : 0);
    if (c.status != kvcpu::cqe_status::kSuccess || c.flow_id != i || c.result != want) {
      if (wrong++ < 5) {
        std::fprintf(stderr, "kvctl: queue-test: command %zu: status %s, flow %u, result 0x%X (want 0x%X)\n", i,
                     kvcpu::cqe_status::name(c.status), c.flow_id, c.result, want);
      }
    }
    st[0].push_back(static_cast<double>(c.dev.fetched - c.dev.doorbell) * ns);
    st[1].push_back(static_cast<double>(c.dev.started - c.dev.fetched) * ns);
    st[2].push_back(static_cast<double>(c.dev.done - c.dev.started) * ns);
    st[3].push_back(static_cast<double>(c.dev.posted - c.dev.done) * ns);
    host.push_back(static_cast<double>(c.host.seen - c.host.submitted) / 1000.0);
  }
  const bool data_ok = std::memcmp((*src)->data(), (*dst)->data(), 4096) == 0;
  std::printf("queue %u: %zu commands completed (%" PRIu64 " NOP/ECHO + 1 DMA_COPY of 4096 bytes), %" PRIu64
              " wrong, DMA data %s\n",
              (*q)->id(), got.size(), n, wrong, data_ok ? "verified" : "DIFFERS");
  std::printf("interrupts %" PRIu64 ", completions found by re-check %" PRIu64 "\n", (*q)->stats().interrupts,
              (*q)->stats().recovered);
  std::printf("median device stages (simulated ns): doorbell->fetched %.0f, fetched->started %.0f, "
              "started->done %.0f, done->posted %.0f\n",
              median(st[0]), median(st[1]), median(st[2]), median(st[3]));
  std::printf("median host submit->CQE seen: %.1f us (wall)\n", median(host));
  return (wrong == 0 && data_ok) ? kExitOk : kExitRuntime;
}

// Runs cmds (flow id = index) on q, at most `window` in flight (the device's I/O contexts);
// a command answered IO_BUSY (every context in use, e.g. by another client) goes again.
// Completions land in got[flow id]; returns the number of IO_BUSY retries.
kvcpu::Result<uint64_t> run_all(kvcpu::QueuePair& q, const std::vector<kvcpu::Command>& cmds, unsigned window,
                                std::vector<kvcpu::Completion>* got) {
  got->assign(cmds.size(), kvcpu::Completion{});
  std::deque<size_t> todo;
  for (size_t i = 0; i < cmds.size(); ++i) todo.push_back(i);
  size_t done = 0;
  uint64_t retries = 0;
  std::vector<kvcpu::Completion> buf(64);
  while (done < cmds.size()) {
    while (!todo.empty() && q.in_flight() < std::min(q.capacity(), window)) {
      auto s = q.submit(std::span<const kvcpu::Command>(&cmds[todo.front()], 1));
      if (!s.ok()) return s.status();
      if (*s == 0) break;
      todo.pop_front();
    }
    auto r = q.wait(buf, std::chrono::seconds(10));
    if (!r.ok()) return r.status();
    if (*r == 0) return kvcpu::Status(kvcpu::ErrorCode::kTimeout, "no completion for 10 s");
    for (size_t k = 0; k < *r; ++k) {
      const kvcpu::Completion& c = buf[k];
      if (c.flow_id >= cmds.size()) return kvcpu::Status(kvcpu::ErrorCode::kProtocol, "completion of no command");
      if (c.status == kvcpu::cqe_status::kIoBusy) {
        ++retries;
        todo.push_back(c.flow_id);
        continue;
      }
      (*got)[c.flow_id] = c;
      ++done;
    }
  }
  return retries;
}

int cmd_io_test(Device& dev, uint64_t n) {
  kvcpu::QueueOptions o;
  o.depth_log2 = 9;
  auto q = dev.create_queue(o);
  if (!q.ok()) return runtime_error("io-test: create queue", q.status());
  auto src = dev.alloc_dma(n * 4096);
  auto dst = dev.alloc_dma(n * 4096);
  if (!src.ok() || !dst.ok()) return runtime_error("io-test: DMA memory", src.ok() ? dst.status() : src.status());
  for (size_t i = 0; i < n * 4096; ++i) (*src)->data()[i] = static_cast<uint8_t>(i * 131 + (i >> 12) * 7 + 3);
  std::memset((*dst)->data(), 0, n * 4096);
  auto ctx = dev.read(kvcpu::regs::kIoContexts);
  if (!ctx.ok()) return runtime_error("io-test: IO_CONTEXTS", ctx.status());
  if (*ctx == 0) {
    std::fprintf(stderr, "kvctl: io-test: the device has no I/O unit (IO_CONTEXTS = 0)\n");
    return kExitRuntime;
  }
  uint32_t disp0[5];
  for (unsigned c = 0; c < 5; ++c) {
    auto v = dev.read(kvcpu::regs::kNarbDispatchesAt(c));
    if (!v.ok()) return runtime_error("io-test: NARB_DISPATCHES", v.status());
    disp0[c] = *v;
  }
  auto phase = [&](kvcpu::Opcode op, kvcpu::IoClass cls, const kvcpu::DmaBuffer& buf,
                   std::vector<kvcpu::Completion>* got) -> kvcpu::Result<uint64_t> {
    std::vector<kvcpu::Command> cmds;
    for (uint64_t i = 0; i < n; ++i) {
      kvcpu::IoArgs a;
      a.buffer_iova = buf.iova() + 4096 * i;
      a.slba = 1000 + 2 * i;
      a.bytes = 4096;
      cmds.push_back(kvcpu::Command::io(op, a).io_class(cls).flow(static_cast<uint32_t>(i)));
    }
    return run_all(**q, cmds, *ctx, got);
  };
  std::vector<kvcpu::Completion> wr, rd;
  auto r1 = phase(kvcpu::Opcode::kIoWrite, kvcpu::IoClass::kPrefillWrite, **src, &wr);
  if (!r1.ok()) return runtime_error("io-test: writes", r1.status());
  auto r2 = phase(kvcpu::Opcode::kIoRead, kvcpu::IoClass::kDecodeRead, **dst, &rd);
  if (!r2.ok()) return runtime_error("io-test: reads", r2.status());
  uint64_t bad = 0;
  for (const auto* v : {&wr, &rd}) {
    for (const kvcpu::Completion& c : *v) {
      if (c.status != kvcpu::cqe_status::kSuccess || c.result != 4096) {
        if (bad++ < 5) {
          std::fprintf(stderr, "kvctl: io-test: flow %u: status %s, result %u\n", c.flow_id,
                       kvcpu::cqe_status::name(c.status), c.result);
        }
      }
    }
  }
  const bool data_ok = std::memcmp((*src)->data(), (*dst)->data(), n * 4096) == 0;
  auto hz = dev.clock_hz();
  const double ns = hz.ok() && *hz != 0 ? 1e9 / *hz : 0;
  std::vector<double> lat;
  for (const kvcpu::Completion& c : rd) lat.push_back(static_cast<double>(c.dev.done - c.dev.doorbell) * ns / 1000);
  std::sort(lat.begin(), lat.end());
  std::printf("io-test: %" PRIu64 " writes (prefill) and %" PRIu64 " reads (decode) of 4 KiB, %" PRIu64
              " failed, %" PRIu64 " IO_BUSY retries, data %s\n",
              n, n, bad, *r1 + *r2, data_ok ? "verified" : "DIFFERS");
  std::printf("decode read latency (doorbell->done, simulated): median %.1f us, max %.1f us\n",
              lat[lat.size() / 2], lat.back());
  std::printf("arbiter dispatches in this test:");
  static const char* kCls[] = {"decode", "prefetch", "prefill", "evict", "normal"};
  for (unsigned c = 0; c < 5; ++c) {
    auto v = dev.read(kvcpu::regs::kNarbDispatchesAt(c));
    std::printf(" %s=%u", kCls[c], v.ok() ? *v - disp0[c] : 0);
  }
  std::printf("\n");
  return (bad == 0 && data_ok) ? kExitOk : kExitRuntime;
}

int run(const Command& c, Device& dev) {
  switch (c.kind) {
    case Command::Kind::kInfo:
      return cmd_info(dev);
    case Command::Kind::kStepGet:
      return print_step(dev, "step");
    case Command::Kind::kTelemetry: {
      auto t = dev.telemetry();
      if (!t.ok()) {
        return runtime_error("telemetry", t.status());
      }
      std::printf("current_step=%llu\nstep_count=%u\nhot_count=%u\nevict_count=%u\nprefetch_count=%u\n"
                  "share_count=%u\nrelease_count=%u\ndir_capacity=%u\ndir_live=%u\ndir_hits=%u\n"
                  "dir_misses=%u\n",
                  static_cast<unsigned long long>(t->step), t->step_count, t->hot, t->evict, t->prefetch,
                  t->share, t->release, t->dir_capacity, t->dir_live, t->dir_hits, t->dir_misses);
      return kExitOk;
    }
    case Command::Kind::kStepAdvance: {
      std::string what = "step " + std::to_string(c.number);
      if (Status s = dev.step_advance(static_cast<uint32_t>(c.number)); !s.ok()) {
        return runtime_error(what, s);
      }
      return print_step(dev, what);
    }
    case Command::Kind::kStepSet: {
      std::string what = "step --set " + std::to_string(c.number);
      if (Status s = dev.step_set(c.number); !s.ok()) {
        return runtime_error(what, s);
      }
      return print_step(dev, what);
    }
    case Command::Kind::kRegsList:
      return print_reg_list();
    case Command::Kind::kRegsRead: {
      auto v = dev.read(c.reg.offset);
      if (!v.ok()) {
        return runtime_error("regs read " + hex_offset(c.reg.offset), v.status());
      }
      print_reg_value(c.reg, *v);
      return kExitOk;
    }
    case Command::Kind::kRegsWrite: {
      uint32_t value = static_cast<uint32_t>(c.number);
      if (Status s = dev.write(c.reg.offset, value); !s.ok()) {
        return runtime_error("regs write " + hex_offset(c.reg.offset), s);
      }
      print_reg_value(c.reg, value);
      return kExitOk;
    }
    case Command::Kind::kErrors:
      return cmd_errors(dev, false);
    case Command::Kind::kErrorsClear:
      return cmd_errors(dev, true);
    case Command::Kind::kIoTest:
      return cmd_io_test(dev, c.number);
    case Command::Kind::kQueueTest:
      return cmd_queue_test(dev, c.number);
  }
  return kExitRuntime;
}

int main_impl(int argc, char** argv) {
  std::optional<std::string> uri;
  std::vector<std::string_view> rest;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h" || a == "help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (a == "--device" || a == "-d") {
      if (i + 1 >= argc) {
        return usage_error(std::string(a) + " needs a URI");
      }
      uri = argv[++i];
    } else if (a.starts_with("--device=")) {
      uri = std::string(a.substr(9));
    } else if (a.starts_with("-") && a != "-") {
      return usage_error("unknown option '" + std::string(a) + "'");
    } else {
      break;
    }
  }
  for (; i < argc; ++i) {
    rest.emplace_back(argv[i]);
  }
  if (rest.empty()) {
    return usage_error("no command");
  }
  std::string error;
  auto cmd = parse_command(rest, &error);
  if (!cmd) {
    return usage_error(error);
  }
  if (cmd->kind == Command::Kind::kRegsList) {
    return print_reg_list();
  }
  if (!uri) {
    const char* env = std::getenv("KVCPU_DEVICE");
    if (env != nullptr && *env != '\0') {
      uri = env;
    }
  }
  if (!uri || uri->empty()) {
    return usage_error("no device: use --device URI or set KVCPU_DEVICE");
  }
  auto dev = Device::open(*uri);
  if (!dev.ok()) {
    if (dev.status().code() == kvcpu::ErrorCode::kInvalidArgument) {
      return usage_error("bad device URI '" + *uri + "': " + dev.status().message());
    }
    return runtime_error("open " + *uri, dev.status());
  }
  return run(*cmd, *dev);
}

}  // namespace
}  // namespace kvctl

int main(int argc, char** argv) { return kvctl::main_impl(argc, argv); }
