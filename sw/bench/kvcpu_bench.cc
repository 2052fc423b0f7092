// kvcpu-bench: what the simulation and the bridge cost, measured side by side in one run.
//
//   1. verilated kvcpu_core alone: cycles/s idle, and cycles/s + accesses/s with
//      back-to-back AXI4-Lite reads driven by the BFM (no socket);
//   2. through the real stack (libkvcpu -> Unix socket -> kvcpu-cosim -> model):
//      MMIO read and acknowledged-write round trips (p50/p99), posted-write throughput;
//   3. the ratio of (1) to (2): what the bridge costs per access.
//
//   kvcpu-bench [--reads N] [--posted N] [--cycles N] [--server PATH]
// Exit 1 if a measurement could not be made or a read-back check failed.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "Vkvcpu_core.h"
#include "axil_master.h"
#include "cosim_process.h"
#include "kvcpu/device.h"
#include "kvcpu/regs.h"
#include "sim.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace regs = kvcpu::regs;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Percentiles {
  double p50, p99, mean;
};

Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) {
    sum += x;
  }
  auto at = [&](double p) { return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)]; };
  return {at(0.50), at(0.99), sum / static_cast<double>(v.size())};
}

bool parse_u64(const char* s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 0);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t reads = 20000, posted = 200000, cycles = 5000000;
  std::string server = KVCPU_COSIM_BIN;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_val = i + 1 < argc;
    if (a == "--reads" && has_val && parse_u64(argv[i + 1], &reads)) {
      ++i;
    } else if (a == "--posted" && has_val && parse_u64(argv[i + 1], &posted)) {
      ++i;
    } else if (a == "--cycles" && has_val && parse_u64(argv[i + 1], &cycles)) {
      ++i;
    } else if (a == "--server" && has_val) {
      server = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: kvcpu-bench [--reads N] [--posted N] [--cycles N] [--server PATH]\n"
                   "kvcpu-bench: bad argument '%s' (counts are positive integers)\n",
                   a.c_str());
      return 2;
    }
  }

  // ---- 1. the verilated core alone
  kvcpu::sim::SimOptions opt;
  opt.name = "bench";
  opt.seed = 1;
  opt.seed_given = true;
  opt.timeout_cycles = ~0ull;
  kvcpu::sim::Sim<Vkvcpu_core> sim(opt, /*quiet=*/true);
  {
    // Inputs start random (uninitialised state is randomised): BAR0 idle until the BFM
    // drives it; the host-memory and MSI-X ports idle here (no DMA ever answers).
    auto& d = sim.dut();
    d.s_axil_awvalid_i = 0;
    d.s_axil_wvalid_i = 0;
    d.s_axil_bready_i = 0;
    d.s_axil_arvalid_i = 0;
    d.s_axil_rready_i = 0;
    d.clock_hz_i = 250000000;
    d.m_axi_arready_i = 0;
    d.m_axi_awready_i = 0;
    d.m_axi_wready_i = 0;
    d.m_axi_rvalid_i = 0;
    d.m_axi_bvalid_i = 0;
    d.msix_ready_i = 0;
  }
  sim.reset();
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < cycles; ++i) {
    sim.tick();
  }
  const double idle_cps = static_cast<double>(cycles) / seconds_since(t0);

  kvcpu::sim::AxilMaster<Vkvcpu_core> bus(sim);
  const uint64_t c0 = sim.cycle();
  const uint64_t bfm_reads = std::max<uint64_t>(reads * 5, 100000);
  t0 = Clock::now();
  for (uint64_t i = 0; i < bfm_reads; ++i) {
    auto r = bus.read(regs::kId);
    if (!r || r->data != regs::kIdValue) {
      std::fprintf(stderr, "kvcpu-bench: BFM read %llu of ID failed (%s)\n", static_cast<unsigned long long>(i), r ? "wrong value" : bus.protocol_error().c_str());
      return 1;
    }
  }
  const double bfm_s = seconds_since(t0);
  const double bfm_cycles_per_read = static_cast<double>(sim.cycle() - c0) / static_cast<double>(bfm_reads);
  const double bfm_cps = static_cast<double>(sim.cycle() - c0) / bfm_s;
  const double bfm_rps = static_cast<double>(bfm_reads) / bfm_s;

  // ---- 2. through the bridge
  std::string err;
  auto proc = kvcpu::CosimProcess::start(server, {}, &err);
  if (!proc) {
    std::fprintf(stderr, "kvcpu-bench: %s\n", err.c_str());
    return 1;
  }
  auto dev = kvcpu::Device::open(proc->uri());
  if (!dev.ok()) {
    std::fprintf(stderr, "kvcpu-bench: open: %s\n", dev.status().to_string().c_str());
    return 1;
  }
  kvcpu::Device& d = dev.value();

  std::vector<double> rtt;
  rtt.reserve(reads);
  t0 = Clock::now();
  for (uint64_t i = 0; i < reads; ++i) {
    const auto s = Clock::now();
    auto v = d.read(regs::kId);
    rtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
    if (!v.ok() || v.value() != regs::kIdValue) {
      std::fprintf(stderr, "kvcpu-bench: MMIO read failed\n");
      return 1;
    }
  }
  const double read_s = seconds_since(t0);
  const Percentiles rp = percentiles(rtt);

  std::vector<double> wtt;
  const uint64_t writes = reads / 2;
  wtt.reserve(writes);
  for (uint64_t i = 0; i < writes; ++i) {
    const auto s = Clock::now();
    auto st = d.write(regs::kScratch, static_cast<uint32_t>(i));
    wtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
    if (!st.ok()) {
      std::fprintf(stderr, "kvcpu-bench: MMIO write failed: %s\n", st.to_string().c_str());
      return 1;
    }
  }
  const Percentiles wp = percentiles(wtt);

  auto step0 = d.step();
  t0 = Clock::now();
  for (uint64_t i = 0; i < posted; ++i) {
    if (!d.step_advance(1).ok()) {
      std::fprintf(stderr, "kvcpu-bench: posted write failed\n");
      return 1;
    }
  }
  auto step1 = d.step();  // a read drains every posted write before it
  const double posted_s = seconds_since(t0);
  if (!step0.ok() || !step1.ok() || step1.value() - step0.value() != posted) {
    std::fprintf(stderr, "kvcpu-bench: posted writes lost: step moved by %" PRIu64 ", expected %" PRIu64 "\n",
                 step1.ok() && step0.ok() ? step1.value() - step0.value() : 0, posted);
    return 1;
  }
  const double posted_ps = static_cast<double>(posted) / posted_s;

  std::printf("kvcpu-bench (one run; wall-clock figures on this machine)\n\n");
  std::printf("verilated kvcpu_core, no bridge\n");
  std::printf("  idle clock                    %12.0f cycles/s\n", idle_cps);
  std::printf("  back-to-back BFM reads        %12.0f cycles/s  %10.0f reads/s  (%.1f cycles/read)\n",
              bfm_cps, bfm_rps, bfm_cycles_per_read);
  std::printf("\nthrough libkvcpu -> socket -> kvcpu-cosim (%" PRIu64 " reads, %" PRIu64 " writes)\n",
              reads, writes);
  std::printf("  MMIO read round trip          p50 %7.2f us   p99 %7.2f us   mean %7.2f us  (%.0f reads/s)\n",
              rp.p50, rp.p99, rp.mean, static_cast<double>(reads) / read_s);
  std::printf("  MMIO write round trip         p50 %7.2f us   p99 %7.2f us   mean %7.2f us\n", wp.p50, wp.p99,
              wp.mean);
  std::printf("  posted writes (STEP_INC)      %12.0f writes/s  (%" PRIu64 " writes, all applied)\n", posted_ps,
              posted);
  std::printf("\nratios\n");
  std::printf("  bridge read / BFM read time   %12.1f x\n", (rp.mean * 1e-6) * bfm_rps);
  std::printf("  posted / acknowledged writes  %12.1f x throughput\n", posted_ps * wp.mean * 1e-6);
  return 0;
}
