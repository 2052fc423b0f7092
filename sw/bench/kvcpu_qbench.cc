// kvcpu-qbench: commands per wall-second through the host queues, end to end
// (libkvcpu -> SQ in a memfd -> doorbell -> kvcpu-cosim -> verilated core fetches, executes,
// posts the CQE and its provenance record -> the driver finds it), at batch sizes 1, 8 and
// 64, for NOP and 4 KiB DMA_COPY commands; and where the time goes, stage by stage, from the
// provenance timestamps (device stages in simulated ns, host stages in wall ns).
//
//   kvcpu-qbench [--commands N] [--server PATH] [--wait] [--no-provenance]
//     --commands N     commands per (opcode, batch) point (default 20000)
//     --wait           reap by sleeping on the MSI-X eventfd instead of polling the CQ
//     --no-provenance  queues without provenance records (throughput only: no breakdown)
// The commands of every point cycle through the five I/O classes; the breakdown of the
// NOP batch-64 point is also printed per class.
// Exit 1 if a run failed or a completion was wrong (status, DMA data).
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cosim_process.h"
#include "kvcpu/device.h"
#include "kvcpu/queue.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace kvcpu;

struct Stage {
  const char* name;
  std::vector<double> v;
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

struct Point {
  double cmds_per_s = 0;
  std::vector<Stage> stages;
  std::vector<std::vector<Stage>> by_class;  // [io_class][stage]
};

std::vector<Stage> make_stages() {
  return {{"device: doorbell -> fetched", {}}, {"device: fetched -> started", {}},
          {"device: started -> done", {}},     {"device: done -> posted", {}},
          {"host: submit -> woken", {}},       {"host: woken -> CQE seen", {}}};
}

void sample(std::vector<Stage>& s, const Completion& c, double ns_per_cycle) {
  s[0].v.push_back(static_cast<double>(c.dev.fetched - c.dev.doorbell) * ns_per_cycle);
  s[1].v.push_back(static_cast<double>(c.dev.started - c.dev.fetched) * ns_per_cycle);
  s[2].v.push_back(static_cast<double>(c.dev.done - c.dev.started) * ns_per_cycle);
  s[3].v.push_back(static_cast<double>(c.dev.posted - c.dev.done) * ns_per_cycle);
  s[4].v.push_back(static_cast<double>(c.host.woken - c.host.submitted));
  s[5].v.push_back(static_cast<double>(c.host.seen - c.host.woken));
}

// How long a point runs: a fixed count of commands, or else a duration; after a warm-up.
struct RunLength {
  uint64_t commands = 0;  // 0: run for `duration`
  std::chrono::duration<double> duration{2.0};
  std::chrono::duration<double> warmup{0.25};
};

bool run_point(Device& dev, bool dma, unsigned batch, bool fed, const RunLength& run, bool wait_mode,
               bool prov, double ns_per_cycle, Point* out) {
  QueueOptions o;
  o.depth_log2 = 8;  // 255 in flight: three batches of 64 when kept fed
  o.interrupts = wait_mode;
  o.provenance = prov;
  auto qr = dev.create_queue(o);
  if (!qr.ok()) {
    std::fprintf(stderr, "kvcpu-qbench: %s\n", qr.status().to_string().c_str());
    return false;
  }
  QueuePair& q = **qr;
  constexpr uint32_t kLen = 4096;
  std::unique_ptr<DmaBuffer> src, dst;
  if (dma) {
    auto s = dev.alloc_dma(kLen), d = dev.alloc_dma(kLen * 64);
    if (!s.ok() || !d.ok()) return false;
    src = std::move(*s);
    dst = std::move(*d);
    for (uint32_t i = 0; i < kLen; ++i) src->data()[i] = static_cast<uint8_t>(i * 131 + 7);
  }
  std::vector<Command> cmds(batch);
  for (unsigned i = 0; i < batch; ++i) {
    cmds[i] = dma ? Command::dma_copy(src->iova(), dst->iova() + uint64_t{kLen} * i, kLen) : Command::nop();
    cmds[i].flow(i).io_class(static_cast<IoClass>(i % 5));
  }
  out->stages = make_stages();
  out->by_class.assign(5, make_stages());
  std::vector<Completion> got(256);
  uint64_t done = 0, bad = 0;
  // Reaps what is there (or waits for it); timed completions are counted and sampled.
  auto reap = [&](bool timed) -> bool {
    auto r = wait_mode ? q.wait(got, std::chrono::seconds(10)) : q.poll(got);
    if (!r.ok()) {
      std::fprintf(stderr, "kvcpu-qbench: %s\n", r.status().to_string().c_str());
      return false;
    }
    for (size_t i = 0; i < *r; ++i) {
      const Completion& c = got[i];
      bad += c.status != cqe_status::kSuccess || (dma && c.result != kLen);
      if (timed && prov && (done + i) % 7 == 0) {  // a sample keeps the bookkeeping small
        sample(out->stages, c, ns_per_cycle);
        if (c.dev.io_class < 5) sample(out->by_class[c.dev.io_class], c, ns_per_cycle);
      }
    }
    if (timed) done += *r;
    return true;
  };
  auto submit = [&]() -> bool {
    auto n = q.submit(cmds);
    if (!n.ok() || *n != batch) {
      std::fprintf(stderr, "kvcpu-qbench: submit: %s\n", n.ok() ? "queue full" : n.status().to_string().c_str());
      return false;
    }
    return true;
  };
  // Lockstep: submit a batch, reap all of it, repeat (the device idles while the host turns
  // around). Kept fed: submit a batch whenever the queue has room for one, so the device
  // never runs dry.
  auto step = [&](bool timed) -> bool {
    if (fed) {
      while (q.in_flight() + batch <= q.capacity()) {
        if (!submit()) return false;
      }
      return reap(timed);
    }
    if (!submit()) return false;
    while (q.in_flight() > 0) {
      if (!reap(timed)) return false;
    }
    return true;
  };
  // Warm-up, untimed: the rings' pages, the caches and the scheduler settle first.
  for (const auto end = Clock::now() + run.warmup; Clock::now() < end;) {
    if (!step(false)) return false;
  }
  const auto t0 = Clock::now();
  while (run.commands != 0 ? done < run.commands : Clock::now() - t0 < run.duration) {
    if (!step(true)) return false;
  }
  const auto t1 = Clock::now();
  while (q.in_flight() > 0) {  // drained, untimed, before the queue is torn down
    if (!reap(false)) return false;
  }
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  out->cmds_per_s = static_cast<double>(done) / secs;
  if (dma && std::memcmp(dst->data(), src->data(), kLen) != 0) {
    std::fprintf(stderr, "kvcpu-qbench: DMA destination differs from the source\n");
    return false;
  }
  if (bad != 0) {
    std::fprintf(stderr, "kvcpu-qbench: %" PRIu64 " completions with a wrong status or result\n", bad);
    return false;
  }
  return true;
}

constexpr const char* kUsage =
    "usage: kvcpu-qbench [--commands N | --seconds S] [--server PATH] [--wait] [--no-provenance]\n"
    "  each point runs a 0.25 s warm-up, then N commands or S seconds (default 2 s);\n"
    "  lockstep: submit a batch, reap all of it; kept fed: submit whenever a batch fits\n"
    "  (255-entry queue, so up to three batches of 64 in flight)\n";

int usage(const char* msg) {
  std::fprintf(stderr,
               "kvcpu-qbench: %s\n%s",
               msg, kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  RunLength run;
  std::string server_bin = KVCPU_COSIM_BIN;
  bool wait_mode = false, prov = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--commands" && i + 1 < argc) {
      char* end = nullptr;
      run.commands = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || run.commands == 0 || argv[i][0] == '-') return usage("--commands needs a positive integer");
    } else if (a == "--seconds" && i + 1 < argc) {
      char* end = nullptr;
      const double v = std::strtod(argv[++i], &end);
      if (*end != '\0' || !(v > 0 && v <= 3600)) return usage("--seconds needs a number in (0, 3600]");
      run.duration = std::chrono::duration<double>(v);
    } else if (a == "--server" && i + 1 < argc) {
      server_bin = argv[++i];
    } else if (a == "--wait") {
      wait_mode = true;
    } else if (a == "--no-provenance") {
      prov = false;
    } else if (a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      return usage(("unknown or incomplete argument '" + a + "'").c_str());
    }
  }
  std::string err;
  auto srv = CosimProcess::start(server_bin, {"--quiet"}, &err);
  if (!srv) {
    std::fprintf(stderr, "kvcpu-qbench: %s\n", err.c_str());
    return 1;
  }
  auto d = Device::open(srv->uri());
  if (!d.ok()) {
    std::fprintf(stderr, "kvcpu-qbench: %s\n", d.status().to_string().c_str());
    return 1;
  }
  Device dev = std::move(d).value();
  auto hz = dev.clock_hz();
  if (!hz.ok() || *hz == 0) {
    std::fprintf(stderr, "kvcpu-qbench: CLOCK_HZ unreadable\n");
    return 1;
  }
  const double ns_per_cycle = 1e9 / static_cast<double>(*hz);
  char length[64];
  if (run.commands != 0) {
    std::snprintf(length, sizeof length, "%" PRIu64 " commands", run.commands);
  } else {
    std::snprintf(length, sizeof length, "%.2f s", run.duration.count());
  }
  std::printf("kvcpu-qbench: %s per point after a %.2f s warm-up, reaping by %s, provenance %s, device clock %.0f MHz\n\n",
              length, run.warmup.count(), wait_mode ? "waiting on the MSI-X eventfd" : "polling the CQ",
              prov ? "on" : "off", *hz / 1e6);
  std::printf("%-10s %6s %14s %14s\n", "command", "batch", "lockstep/s", "kept fed/s");
  std::vector<std::pair<std::string, Point>> points;
  bool ok = true;
  for (bool dma : {false, true}) {
    for (unsigned batch : {1u, 8u, 64u}) {
      const char* name = dma ? "DMA 4KiB" : "NOP";
      double rate[2] = {0, 0};
      for (bool fed : {false, true}) {
        Point p;
        if (!run_point(dev, dma, batch, fed, run, wait_mode, prov, ns_per_cycle, &p)) {
          ok = false;
          continue;
        }
        rate[fed] = p.cmds_per_s;
        if (!fed || (!dma && batch == 64)) {
          points.emplace_back(std::string(name) + " batch " + std::to_string(batch) + (fed ? " kept fed" : ""),
                              std::move(p));
        }
      }
      std::printf("%-10s %6u %14.0f %14.0f\n", name, batch, rate[0], rate[1]);
      std::fflush(stdout);
    }
  }
  if (!prov) return ok ? 0 : 1;
  auto print = [](std::vector<Stage>& st) {
    for (auto& s : st) {
      const double p50 = pct(s.v, 0.5), p99 = pct(s.v, 0.99);
      std::printf("  %-30s %12.0f ns %12.0f ns\n", s.name, p50, p99);
    }
  };
  std::printf("\nper-stage latency from provenance timestamps (p50 / p99; device ns are simulated time)\n");
  for (auto& [name, p] : points) {
    std::printf("%s:\n", name.c_str());
    print(p.stages);
  }
  for (auto& [name, p] : points) {
    if (name != "NOP batch 64") continue;
    for (unsigned c = 0; c < 5; ++c) {
      std::printf("%s, class %s:\n", name.c_str(), io_class_name(static_cast<IoClass>(c)));
      print(p.by_class[c]);
    }
  }
  return ok ? 0 : 1;
}
