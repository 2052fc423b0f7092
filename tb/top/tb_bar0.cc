// BAR0 testbench for kvcpu_core: directed checks, then random AXI4-Lite reads and writes
// with idle and backpressure insertion, each compared against the C++ reference model
// (driver/include/kvcpu/bar0_model.h). Functional coverage bins are printed and must all be hit.
//
// Built twice from this source: against the RTL model and against the Yosys netlist
// (post-synthesis simulation), selected by KVCPU_TB_MODEL.
//
//   tb_bar0_<rtl|gl> [+seed=N] [+n=TRANSACTIONS] [+trace[=FILE]]
#include <cinttypes>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include KVCPU_TB_MODEL_HEADER
#include "axil_master.h"
#include "coverage.h"
#include "kvcpu/bar0_model.h"
#include "kvcpu/regs.h"

namespace {

using Model = KVCPU_TB_MODEL;
using kvcpu::sim::AxilMaster;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
namespace regs = kvcpu::regs;

constexpr uint32_t kGitHash = 0x1234ABCD, kBuildDate = 0x20261123, kBoardId = 0x100;

struct Checker {
  int failures = 0;
  void expect(bool ok, const std::string& what) {
    if (!ok && failures++ < 20) {
      std::printf("MISMATCH: %s\n", what.c_str());
    }
  }
};

std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08X", v);
  return b;
}

const char* resp_name(uint8_t r) {
  static const char* n[] = {"OKAY", "EXOKAY", "SLVERR", "DECERR"};
  return n[r & 3];
}

class Bench {
 public:
  explicit Bench(const SimOptions& opt)
      : sim_(opt), bus_(sim_), model_({kGitHash, kBuildDate, kBoardId}) {
    auto& d = sim_.dut();
    d.build_git_hash_i = kGitHash;
    d.build_date_i = kBuildDate;
    d.build_board_id_i = kBoardId;
    sim_.reset();
  }

  Sim<Model>& sim() { return sim_; }
  AxilMaster<Model>& bus() { return bus_; }
  Checker& check() { return chk_; }

  // One access on both sides; compares and records coverage.
  void read(uint32_t addr) {
    auto got = bus_.read(addr);
    auto want = model_.read(addr);
    if (!got) {
      chk_.expect(false, "read " + hex(addr) + ": " + bus_.protocol_error());
      return;
    }
    chk_.expect(got->resp == want.resp && got->data == want.data,
                "read " + hex(addr) + ": dut " + hex(got->data) + "/" + resp_name(got->resp) +
                    " model " + hex(want.data) + "/" + resp_name(want.resp));
    cover("read", addr, want.resp);
  }

  void write(uint32_t addr, uint32_t data, uint8_t strb) {
    auto got = bus_.write(addr, data, strb);
    auto want = model_.write(addr, data, strb);
    if (!got) {
      chk_.expect(false, "write " + hex(addr) + ": " + bus_.protocol_error());
      return;
    }
    chk_.expect(got->resp == want, "write " + hex(addr) + "=" + hex(data) + " strb " +
                                       std::to_string(strb) + ": dut " + resp_name(got->resp) +
                                       " model " + resp_name(want));
    cover("write", addr, want);
    if (addr == regs::kStepHi && want == kvcpu::kRespOkay) {
      ++bins_["step: commit"];
    }
  }

  void cover(const char* op, uint32_t addr, uint8_t resp) {
    const regs::RegInfo* r = (addr & 3) ? nullptr : regs::find(addr);
    std::string where = r ? std::string(r->name) : ((addr & 3) ? "unaligned" : "unmapped");
    ++bins_[std::string(op) + " " + where + " " + resp_name(resp)];
  }

  void note(const std::string& bin) { ++bins_[bin]; }
  const kvcpu::sim::Coverage& bins() const { return bins_; }
  kvcpu::Bar0Model& model() { return model_; }

 private:
  Sim<Model> sim_;
  AxilMaster<Model> bus_;
  kvcpu::Bar0Model model_;
  Checker chk_;
  kvcpu::sim::Coverage bins_;
};

void directed(Bench& b) {
  // Every register's reset value / constant, straight from the generated table.
  for (const regs::RegInfo& r : regs::kRegisters) {
    auto got = b.bus().read(r.offset);
    if (got && r.has_reset && r.access != regs::Access::kHw) {
      b.check().expect(got->data == r.reset, std::string("reset value of ") + std::string(r.name));
    }
    b.model().read(r.offset);  // keep the model in step
  }
  b.read(regs::kId);
  // A step sequence through all three step registers.
  b.write(regs::kStepLo, 0x10, 0xF);
  b.write(regs::kStepHi, 0x1, 0xF);
  b.read(regs::kStepLo);
  b.read(regs::kStepHi);
  b.write(regs::kStepInc, 5, 0xF);
  b.read(regs::kStepLo);
  b.write(regs::kStepLo, 0, 0xF);  // backwards: rejected
  b.write(regs::kStepHi, 0, 0xF);
  b.read(regs::kStepHi);
  b.read(regs::kErrStatus);
  b.read(regs::kErrAddr);
  b.write(regs::kErrStatus, 0xFFFFFFFF, 0xF);
  b.read(regs::kErrStatus);
  // Each bus error kind once, then the sticky bits and the first address.
  b.read(0x0FF0);
  b.write(0x0019, 1, 0xF);
  b.write(regs::kScratch, 1, 0x3);
  b.write(regs::kId, 1, 0xF);
  b.read(regs::kErrStatus);
  b.read(regs::kErrAddr);
  b.read(regs::kStatus);
}

uint32_t pick_addr(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> kind(0, 99);
  const int k = kind(rng);
  constexpr size_t n = sizeof(regs::kRegisters) / sizeof(regs::kRegisters[0]);
  if (k < 80) {
    return regs::kRegisters[std::uniform_int_distribution<size_t>(0, n - 1)(rng)].offset;
  }
  if (k < 90) {  // unmapped, aligned
    return std::uniform_int_distribution<uint32_t>(0x48 / 4, 0xFFFF / 4)(rng) * 4;
  }
  uint32_t a = std::uniform_int_distribution<uint32_t>(0, 0x4F)(rng);
  return (a & 3) ? a : a | 1;  // unaligned, near the registers
}

void random_phase(Bench& b, uint64_t n) {
  auto& rng = b.sim().rng();
  // Jitter sweeps from none to heavy so both back-to-back and stalled handshakes occur.
  const kvcpu::sim::Jitter levels[] = {{0.0, 0.0, 0}, {0.3, 0.3, 2}, {0.7, 0.7, 6}};
  for (uint64_t i = 0; i < n; ++i) {
    if (i % 1000 == 0) {
      b.bus().set_jitter(levels[(i / 1000) % 3]);
    }
    const uint32_t addr = pick_addr(rng);
    const int op = std::uniform_int_distribution<int>(0, 99)(rng);
    if (op < 45) {
      b.read(addr);
      continue;
    }
    uint32_t data = static_cast<uint32_t>(rng());
    uint8_t strb = 0xF;
    if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
      strb = static_cast<uint8_t>(rng() & 0xF);
    }
    if (addr == regs::kStepInc && (rng() & 7) == 0) {
      data = 0;
    }
    if (addr == regs::kStepInc) {
      data &= 0xFFFF;  // keep the step away from 64-bit wrap
    }
    if (addr == regs::kStepHi) {  // near the current step: both commits and backwards
      data = static_cast<uint32_t>(b.model().step() >> 32) + ((rng() & 3) == 0 ? -1u : (rng() & 1));
    }
    b.write(addr, data, strb);
    if ((rng() & 63) == 0) {
      b.bus().idle_cycles(rng() & 15);
    }
  }
}

// A read and a write overlapping on the bus. The slave performs them in either order or in
// the same cycle (the read then sees the state before the write, and the write's error, if
// any, is recorded first); the scoreboard applies them to the model in that order.
void overlap_phase(Bench& b, uint64_t n) {
  auto& rng = b.sim().rng();
  b.bus().set_jitter({0.0, 0.2, 0});
  std::uniform_int_distribution<unsigned> delay(0, 3);
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t raddr = pick_addr(rng);
    uint32_t waddr = pick_addr(rng);
    uint32_t wdata = static_cast<uint32_t>(rng());
    // ERR_ADDR's hard cases, which plain random traffic almost never builds:
    switch (rng() & 15) {
      case 0:  // a read error racing a clear of ERR_STATUS
        raddr = 0x0FF0;
        waddr = regs::kErrStatus;
        break;
      case 1:  // from all-clear, a step error (write side) racing a read error
        b.write(regs::kErrStatus, 0xFFFFFFFF, 0xF);
        raddr = 0x0FF0;
        waddr = regs::kStepInc;
        break;
      default: break;
    }
    const uint8_t wstrb = (rng() & 7) == 0 ? static_cast<uint8_t>(rng() & 0xF) : 0xF;
    if (waddr == regs::kStepInc) {
      wdata = (rng() & 3) == 0 || raddr == 0x0FF0 ? 0 : wdata & 0xFF;
    } else if (waddr == regs::kStepHi) {
      wdata = static_cast<uint32_t>(b.model().step() >> 32) - (rng() & 1);
    }
    auto got = b.bus().read_write(raddr, waddr, wdata, wstrb, delay(rng), delay(rng), delay(rng));
    if (!got) {
      b.check().expect(false, "overlap: " + b.bus().protocol_error());
      return;
    }
    kvcpu::Bar0Model& m = b.model();
    kvcpu::BusResult want_r;
    uint8_t want_w;
    if (got->read_done < got->write_done) {
      want_r = m.read(raddr);
      want_w = m.write(waddr, wdata, wstrb);
      b.note("overlap: read first");
    } else if (got->write_done < got->read_done) {
      want_w = m.write(waddr, wdata, wstrb);
      want_r = m.read(raddr);
      b.note("overlap: write first");
    } else {
      kvcpu::Bar0Model before = m;
      want_r = before.read(raddr);  // data and response as of before the write
      want_w = m.write(waddr, wdata, wstrb);
      const kvcpu::BusResult side_effects = m.read(raddr);  // its error recorded after the write's
      (void)side_effects;
      b.note("overlap: same cycle");
      if (want_r.resp != kvcpu::kRespOkay && want_w != kvcpu::kRespOkay) {
        b.note("overlap: same cycle, both in error");
      }
      if (waddr == regs::kErrStatus && want_r.resp != kvcpu::kRespOkay) {
        b.note("overlap: same cycle, error during ERR_STATUS clear");
      }
      if (waddr == regs::kStepInc && wdata == 0 && want_r.resp != kvcpu::kRespOkay) {
        b.note("overlap: same cycle, step error beside a read error");
      }
    }
    b.check().expect(got->read.resp == want_r.resp && got->read.data == want_r.data,
                     "overlap read " + hex(raddr) + ": dut " + hex(got->read.data) + "/" +
                         resp_name(got->read.resp) + " model " + hex(want_r.data) + "/" +
                         resp_name(want_r.resp));
    b.check().expect(got->write.resp == want_w, "overlap write " + hex(waddr) + "=" + hex(wdata) +
                                                    ": dut " + resp_name(got->write.resp) +
                                                    " model " + resp_name(want_w));
    // Surface ERR_ADDR/ERR_STATUS divergence right away rather than at some later read.
    if ((i & 7) == 0) {
      b.read(regs::kErrAddr);
      b.read(regs::kErrStatus);
    }
  }
}

bool coverage_ok(const Bench& b) {
  std::vector<std::string> need = {"write unmapped DECERR", "read unmapped DECERR",
                                   "write unaligned SLVERR", "read unaligned SLVERR",
                                   "step: commit", "overlap: read first", "overlap: write first",
                                   "overlap: same cycle", "overlap: same cycle, both in error",
                                   "overlap: same cycle, error during ERR_STATUS clear",
                                   "overlap: same cycle, step error beside a read error"};
  for (const regs::RegInfo& r : regs::kRegisters) {
    need.push_back("read " + std::string(r.name) + " OKAY");
    need.push_back("write " + std::string(r.name) +
                   (r.access == regs::Access::kRo ? " SLVERR" : " OKAY"));
  }
  return b.bins().check(need);
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions opt = SimOptions::from_args(argc, argv, KVCPU_TB_NAME);
  const uint64_t n = SimOptions::plusarg(argc, argv, "n", 20000);
  Bench b(opt);
  directed(b);
  random_phase(b, n);
  overlap_phase(b, n / 2);
  b.bus().idle_cycles(8);

  b.bins().print(opt.name);
  const bool cov = coverage_ok(b);
  const bool sva = !b.sim().assertion_failed();
  std::printf("[%s] %" PRIu64 " random transactions, %" PRIu64 " cycles, %d mismatches, "
              "assertions %s, coverage %s\n",
              opt.name.c_str(), n, b.sim().cycle(), b.check().failures, sva ? "clean" : "FAILED",
              cov ? "complete" : "INCOMPLETE");
  const bool pass = b.check().failures == 0 && cov && sva && b.bus().ok();
  std::printf("[%s] %s (seed %" PRIu64 ")\n", opt.name.c_str(), pass ? "PASS" : "FAIL", b.sim().seed());
  return pass ? 0 : 1;
}
