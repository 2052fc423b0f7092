// BAR0 testbench for kvcpu_core: directed checks, then random AXI4-Lite reads and writes
// with idle and backpressure insertion, each compared against the C++ reference model
// (driver/include/kvcpu/bar0_model.h). Functional coverage bins are printed and must all be hit.
//
// The core's host-memory AXI master and MSI-X port are not serviced (every ready/valid
// input tied to 0): no SQE fetch ever completes and no message is ever taken, so Q_STATUS,
// Q_CPL_COUNT, Q_IRQ_COUNT, HINT_COUNT and MSIX_PBA stay 0 and the model predicts every
// register exactly, except TIME_LO/HI, which are checked as a property (check_time).
//
// Built twice from this source: against the RTL model and against the Yosys netlist
// (post-synthesis simulation), selected by KVCPU_TB_MODEL.
//
//   tb_bar0_<rtl|gl> [+seed=N] [+n=TRANSACTIONS] [+trace[=FILE]]
#include <cinttypes>
#include <cstdio>
#include <map>
#include <optional>
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
using kvcpu::Bar0Model;
using kvcpu::sim::AxilMaster;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
using Outcome = kvcpu::Bar0Model::Outcome;
namespace regs = kvcpu::regs;

constexpr uint32_t kGitHash = 0x1234ABCD, kBuildDate = 0x20261123, kBoardId = 0x100;
constexpr uint32_t kClockHz = 123'456'789;  // any constant: CLOCK_HZ must read it back
constexpr uint32_t kUnmapped = 0x0FF0;      // an aligned offset no register decodes
constexpr uint32_t kQCtrlFieldBits =
    regs::kQCtrlEnable.mask() | regs::kQCtrlProvEn.mask() | regs::kQCtrlSizeLog2.mask();

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

bool is_time(uint32_t addr) { return addr == regs::kTimeLo || addr == regs::kTimeHi; }
bool in_queue_block(uint32_t addr) {
  return addr >= regs::kQSqBaseLo &&
         addr < regs::kQSqBaseLo + regs::kQSqBaseLoStride * regs::kQSqBaseLoInstances;
}
bool is_doorbell(uint32_t addr) {
  return addr >= regs::kSqTailDb &&
         addr < regs::kSqTailDb + regs::kSqTailDbStride * regs::kSqTailDbInstances;
}
// Register of queue q's block at 0x400 + 0x40*q, as the offset of its instance 0.
uint32_t queue_reg(uint32_t addr) { return regs::kQSqBaseLo + (addr - regs::kQSqBaseLo) % regs::kQSqBaseLoStride; }
unsigned queue_of(uint32_t addr) { return (addr - regs::kQSqBaseLo) / regs::kQSqBaseLoStride; }

// Coverage label of a refused write (or an applied one worth a bin of its own).
std::string outcome_bin(Outcome o, uint32_t addr, bool enabled_before, bool enabled_after) {
  switch (o) {
    case Outcome::kQcfgEnabled: return "qcfg refused: base of an enabled queue";
    case Outcome::kQcfgMisaligned:
      switch (queue_reg(addr)) {
        case regs::kQSqBaseLo: return "qcfg refused: misaligned SQ base";
        case regs::kQCqBaseLo: return "qcfg refused: misaligned CQ base";
        default: return "qcfg refused: misaligned PROV base";
      }
    case Outcome::kQcfgSize: return "qcfg refused: SIZE_LOG2 outside 1..12";
    case Outcome::kQcfgReserved: return "qcfg refused: reserved Q_CTRL bits";
    case Outcome::kQcfgChanged: return "qcfg refused: re-enable with changed fields";
    case Outcome::kReenableSame: return "qctrl: re-enable unchanged (no-op)";
    case Outcome::kDbDisabled: return "doorbell refused: disabled queue";
    case Outcome::kDbRange: return "doorbell refused: value >= 2^SIZE_LOG2";
    case Outcome::kDbWide: return "doorbell refused: value above 16 bits";
    case Outcome::kStepBackwards: return "step refused: backwards";
    case Outcome::kStepZero: return "step refused: zero increment";
    case Outcome::kBusError: return "";
    case Outcome::kApplied: break;
  }
  if (in_queue_block(addr) && queue_reg(addr) == regs::kQCtrl) {
    if (!enabled_before && enabled_after) return "qctrl: enable";
    if (enabled_before && !enabled_after) return "qctrl: disable";
    return "qctrl: ENABLE=0 to a disabled queue";
  }
  if (in_queue_block(addr) && queue_reg(addr) < regs::kQCtrl) return "qbase: accepted";
  if (is_doorbell(addr)) {
    return (addr - regs::kSqTailDb) % regs::kSqTailDbStride ? "doorbell: CQ head accepted"
                                                            : "doorbell: SQ tail accepted";
  }
  return "";
}

class Bench {
 public:
  explicit Bench(const SimOptions& opt)
      : sim_(opt), bus_(sim_), model_({kGitHash, kBuildDate, kBoardId, kClockHz, KVCPU_DIR_CAPACITY, KVCPU_IO_CONTEXTS, KVCPU_IO_SLOTS,
                KVCPU_HEPC_RINGS}) {
    auto& d = sim_.dut();
    d.build_git_hash_i = kGitHash;
    d.build_date_i = kBuildDate;
    d.build_board_id_i = kBoardId;
    d.clock_hz_i = kClockHz;
    // no SSD behind the NVMe port: it takes nothing and answers nothing
    d.nvme_sq_ready_i = 0;
    d.nvme_cq_valid_i = 0;
    // Host memory and MSI-X never answer: nothing is fetched, posted or sent.
    d.m_axi_arready_i = 0;
    d.m_axi_rvalid_i = 0;
    d.m_axi_rdata_i = 0;
    d.m_axi_rresp_i = 0;
    d.m_axi_rlast_i = 0;
    d.m_axi_awready_i = 0;
    d.m_axi_wready_i = 0;
    d.m_axi_bvalid_i = 0;
    d.m_axi_bresp_i = 0;
    d.msix_ready_i = 0;
    sim_.reset();
  }

  Sim<Model>& sim() { return sim_; }
  AxilMaster<Model>& bus() { return bus_; }
  Checker& check() { return chk_; }

  // One access on both sides; compares and records coverage.
  void read(uint32_t addr) {
    const uint64_t start = sim_.cycle();
    auto got = bus_.read(addr);
    const uint64_t end = sim_.cycle();
    auto want = model_.read(addr);
    if (!got) {
      chk_.expect(false, "read " + hex(addr) + ": " + bus_.protocol_error());
      return;
    }
    compare_read("read", addr, *got, want, start, end);
    cover("read", addr, want.resp);
  }

  void write(uint32_t addr, uint32_t data, uint8_t strb) {
    const Snapshot before = snapshot(addr);
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
    cover_outcome(addr, before);
    if (addr == regs::kStepHi && want == kvcpu::kRespOkay &&
        model_.last_outcome() == Outcome::kApplied) {
      ++bins_["step: commit"];
    }
  }

  // What a write is judged against, taken before it (for coverage only).
  struct Snapshot {
    bool err_clear = false;
    bool enabled = false;
  };
  Snapshot snapshot(uint32_t addr) const {
    Snapshot s;
    s.err_clear = model_.peek(regs::kErrStatus) == 0;
    if (in_queue_block(addr)) {
      s.enabled = model_.queue_enabled(queue_of(addr));
    }
    return s;
  }

  void cover_outcome(uint32_t addr, const Snapshot& before) {
    const Outcome o = model_.last_outcome();
    const bool after = in_queue_block(addr) && model_.queue_enabled(queue_of(addr));
    const std::string bin = outcome_bin(o, addr, before.enabled, after);
    if (!bin.empty()) {
      ++bins_[bin];
    }
    if (before.err_clear && o != Outcome::kApplied && o != Outcome::kReenableSame &&
        o != Outcome::kBusError) {
      const bool db = o == Outcome::kDbDisabled || o == Outcome::kDbRange || o == Outcome::kDbWide;
      const bool step = o == Outcome::kStepBackwards || o == Outcome::kStepZero;
      ++bins_[std::string("err_addr: first error ") +
              (db ? "BAD_DOORBELL" : step ? "STEP_*" : "QCFG")];
    }
    if (addr >= regs::kMsixCtrl && addr < regs::kMsixPba &&
        (addr - regs::kMsixCtrl) % regs::kMsixCtrlStride == 0 && o == Outcome::kApplied) {
      ++bins_[model_.peek(addr) & regs::kMsixCtrlMask.mask() ? "msix: vector masked"
                                                             : "msix: vector unmasked"];
    }
  }

  // A read's answer against the model's; TIME_LO/HI against the time property instead.
  void compare_read(const char* what, uint32_t addr, const kvcpu::sim::AxilResp& got,
                    const kvcpu::BusResult& want, uint64_t start, uint64_t end) {
    if (kvcpu::Bar0Model::is_hepc_step_driven(addr) && want.resp == kvcpu::kRespOkay) {
      // the directory's step and op count follow the step through the core's sequencer
      // (docs/hepc.md "In the core"); test_blocks checks them end to end
      chk_.expect(got.resp == want.resp, std::string(what) + " " + hex(addr) + ": dut " +
                                             resp_name(got.resp) + " model OKAY");
      ++bins_["hepc: step-driven register read"];
      return;
    }
    if (is_time(addr) && want.resp == kvcpu::kRespOkay) {
      chk_.expect(got.resp == want.resp, std::string(what) + " " + hex(addr) + ": dut " +
                                             resp_name(got.resp) + " model OKAY");
      check_time(addr, got.data, start, end);
      return;
    }
    chk_.expect(got.resp == want.resp && got.data == want.data,
                std::string(what) + " " + hex(addr) + ": dut " + hex(got.data) + "/" +
                    resp_name(got.resp) + " model " + hex(want.data) + "/" + resp_name(want.resp));
  }

  // TIME is a free-running cycle counter. Calibration (no jitter, in directed()) measures
  // K = (testbench cycle when the read returned) - TIME: with a fixed read latency L from
  // the register read to the return and the counter's start R cycles after the testbench's
  // cycle 0, K = L + R. It must stay exactly the same for every jitter-free read, however
  // many idle cycles lie between them: TIME counts exactly one per clock. Under jitter the
  // read happens in some cycle x of the transaction [start, end - L], so TIME + K = x + L
  // lies in [start + L, end], within [start, end]: the check below. TIME_HI must be the
  // upper half of a counter value in that window, and successive TIME_LO reads increase.
  void calibrate_time() {
    for (int i = 0; i < 8; ++i) {
      bus_.idle_cycles(sim_.rng()() % 41);
      auto got = bus_.read(regs::kTimeLo);
      const uint64_t end = sim_.cycle();
      model_.read(regs::kTimeLo);
      if (!got || got->resp != kvcpu::kRespOkay) {
        chk_.expect(false, "TIME_LO calibration read failed");
        return;
      }
      chk_.expect(got->data <= end, "TIME_LO " + hex(got->data) + " ahead of the testbench clock");
      const uint64_t k = end - got->data;
      if (!time_k_) {
        time_k_ = k;
        std::printf("[%s] TIME offset K = %" PRIu64 " cycles\n", sim_.options().name.c_str(), k);
      }
      chk_.expect(k == *time_k_, "TIME_LO: offset " + std::to_string(k) + " after " +
                                     std::to_string(end) + " cycles, calibrated " +
                                     std::to_string(*time_k_) + ": TIME does not count cycles");
      last_time_lo_ = got->data;
      ++bins_["time: exact offset"];
    }
  }

  void check_time(uint32_t addr, uint32_t v, uint64_t start, uint64_t end) {
    if (!time_k_) {
      chk_.expect(false, "TIME read before calibration");
      return;
    }
    const uint64_t k = *time_k_;
    const uint64_t lo = start >= k ? start - k : 0, hi = end - k;  // window of the counter
    bool ok;
    if (addr == regs::kTimeLo) {
      ok = static_cast<uint64_t>(static_cast<uint32_t>(v - static_cast<uint32_t>(lo))) <= hi - lo;
      if (last_time_lo_ && v <= *last_time_lo_ && (*last_time_lo_ - v) < 0x80000000u) {
        chk_.expect(false, "TIME_LO not increasing: " + hex(*last_time_lo_) + " then " + hex(v));
      }
      last_time_lo_ = v;
    } else {
      ok = (lo >> 32) <= v && v <= (hi >> 32);
    }
    chk_.expect(ok, std::string(addr == regs::kTimeLo ? "TIME_LO " : "TIME_HI ") + hex(v) +
                        " outside the transaction's window [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
    ++bins_["time: within window"];
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
  std::optional<uint64_t> time_k_;
  std::optional<uint32_t> last_time_lo_;
};

void directed(Bench& b) {
  b.calibrate_time();
  // Every register's reset value / constant, straight from the generated table, and the
  // model's answer for all of them (hw registers, CLOCK_HZ, the queue counters, PBA).
  for (const regs::RegInfo& r : regs::kRegisters) {
    auto got = b.bus().read(r.offset);
    if (got && r.has_reset && r.access != regs::Access::kHw) {
      b.check().expect(got->data == r.reset, std::string("reset value of ") + std::string(r.name));
    }
    b.model().read(r.offset);  // keep the model in step
    b.read(r.offset);
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
  b.read(kUnmapped);
  b.write(0x0019, 1, 0xF);
  b.write(regs::kScratch, 1, 0x3);
  b.write(regs::kId, 1, 0xF);
  b.read(regs::kErrStatus);
  b.read(regs::kErrAddr);
  b.read(regs::kStatus);

  // Queue 2 through every configuration rule; after each refusal from all-clear, ERR_ADDR
  // must name the refused write.
  const unsigned q = 2;
  auto refused = [&](uint32_t addr, uint32_t data) {
    b.write(regs::kErrStatus, 0xFFFFFFFF, 0xF);
    b.write(addr, data, 0xF);
    b.read(regs::kErrStatus);
    b.read(regs::kErrAddr);
    b.read(addr);
  };
  b.write(regs::kQSqBaseLoAt(q), 0x0001'0040, 0xF);
  b.write(regs::kQSqBaseHiAt(q), 0x0000'0001, 0xF);
  b.write(regs::kQCqBaseLoAt(q), 0x0002'0010, 0xF);
  b.write(regs::kQCqBaseHiAt(q), 0xFFFF'FFFF, 0xF);
  b.write(regs::kQProvBaseLoAt(q), 0x0003'0040, 0xF);
  b.write(regs::kQProvBaseHiAt(q), 0x8000'0000, 0xF);
  refused(regs::kQSqBaseLoAt(q), 0x0001'0020);    // misaligned (64 B)
  refused(regs::kQCqBaseLoAt(q), 0x0002'0008);    // misaligned (16 B)
  refused(regs::kQProvBaseLoAt(q), 0x0003'0001);  // misaligned (64 B)
  refused(regs::kQCtrlAt(q), 0x0001);             // SIZE_LOG2 0
  refused(regs::kQCtrlAt(q), 0x0D01);             // SIZE_LOG2 13
  refused(regs::kQCtrlAt(q), 0x0001'0401);        // reserved bit 16
  refused(regs::kQCtrlAt(q), 0x0404);             // reserved bit 2, ENABLE = 0
  refused(regs::kSqTailDbAt(q), 0);               // queue disabled
  b.write(regs::kQCtrlAt(q), 0x0403, 0xF);        // enable: 16 entries, provenance on
  b.read(regs::kQCtrlAt(q));
  b.write(regs::kQCtrlAt(q), 0x0403, 0xF);        // same fields: no-op
  refused(regs::kQCtrlAt(q), 0x0503);             // re-enable with another size
  refused(regs::kQCtrlAt(q), 0x0401);             // re-enable without provenance
  refused(regs::kQSqBaseHiAt(q), 0);              // bases of an enabled queue
  refused(regs::kQProvBaseLoAt(q), 0x0004'0000);
  b.write(regs::kSqTailDbAt(q), 3, 0xF);          // starts a fetch that never completes
  b.write(regs::kCqHeadDbAt(q), 15, 0xF);
  refused(regs::kSqTailDbAt(q), 16);              // >= 2^4
  refused(regs::kCqHeadDbAt(q), 0x0001'0003);     // above 16 bits
  refused(regs::kCqHeadDbAt(q + 1), 1);           // queue disabled
  b.bus().idle_cycles(20);
  b.read(regs::kQStatusAt(q));
  b.read(regs::kQCplCountAt(q));
  b.read(regs::kQIrqCountAt(q));
  b.read(regs::kMsixPba);
  b.write(regs::kQCtrlAt(q), 0x0C00, 0xF);        // disable, other fields as written
  b.read(regs::kQCtrlAt(q));
  b.write(regs::kQSqBaseHiAt(q), 2, 0xF);         // writable again
  b.read(regs::kQSqBaseHiAt(q));
  b.write(regs::kQCtrlAt(q), 0x0C01, 0xF);        // enable with the largest ring
  refused(regs::kSqTailDbAt(q), 0x1000);
  b.write(regs::kSqTailDbAt(q), 0x0FFF, 0xF);
  b.write(regs::kQCtrlAt(q), 0, 0xF);
  // Coalescing and the MSI-X table: stored as written (MSIX_CTRL keeps MASK only).
  b.write(regs::kQCoalAt(q), 0x1234'5678, 0xF);
  b.read(regs::kQCoalAt(q));
  b.write(regs::kMsixAddrLoAt(q), 0xFEE0'0000, 0xF);
  b.write(regs::kMsixAddrHiAt(q), 0x0000'0001, 0xF);
  b.write(regs::kMsixDataAt(q), 0xCAFE'F00D, 0xF);
  b.write(regs::kMsixCtrlAt(q), 0xFFFF'FFFE, 0xF);
  b.read(regs::kMsixCtrlAt(q));
  b.write(regs::kMsixCtrlAt(q), 0x8000'0001, 0xF);
  for (uint32_t off = regs::kMsixAddrLoAt(q); off <= regs::kMsixCtrlAt(q); off += 4) {
    b.read(off);
  }
  b.read(regs::kMsixPba);
  b.read(regs::kClockHz);
  b.read(regs::kTimeLo);
  b.read(regs::kTimeHi);
  b.write(regs::kErrStatus, 0xFFFFFFFF, 0xF);
}

uint32_t pick_addr(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> kind(0, 99);
  const int k = kind(rng);
  constexpr size_t n = sizeof(regs::kRegisters) / sizeof(regs::kRegisters[0]);
  const uint32_t reg = regs::kRegisters[std::uniform_int_distribution<size_t>(0, n - 1)(rng)].offset;
  if (k < 82) {
    return reg;
  }
  if (k < 91) {  // unmapped, aligned: anywhere in the BAR, gaps between blocks included
    for (int tries = 0; tries < 64; ++tries) {
      const uint32_t a = std::uniform_int_distribution<uint32_t>(0, (regs::kBarSize - 4) / 4)(rng) * 4;
      if (regs::find(a) == nullptr) {
        return a;
      }
    }
    return kUnmapped;
  }
  return reg | std::uniform_int_distribution<uint32_t>(1, 3)(rng);  // unaligned
}

// Write data that reaches both sides of every rule of the register at `addr`.
uint32_t pick_data(uint32_t addr, std::mt19937_64& rng, const Bar0Model& m) {
  uint32_t data = static_cast<uint32_t>(rng());
  auto one_in = [&](unsigned n) { return rng() % n == 0; };
  if (addr == regs::kNarbCtrlMode) {
    // the arbiter's adaptive p99 controller moves the budgets and counts windows on its
    // own (tb_narb checks it against NarbModel); here it stays off, its other bits random
    return data & ~regs::kNarbCtrlModeValue.mask();
  }
  if (addr == regs::kNarbSessBurst) {
    // likewise the session token buckets, which refill with time: fairness stays off
    return data & ~regs::kNarbSessBurstValue.mask();
  }
  if (addr == regs::kStepInc) {
    return one_in(8) ? 0 : data & 0xFFFF;  // zero is refused; keep away from 64-bit wrap
  }
  if (addr == regs::kStepHi) {  // near the current step: both commits and backwards
    return static_cast<uint32_t>(m.step() >> 32) + (one_in(4) ? -1u : (rng() & 1));
  }
  if (in_queue_block(addr)) {
    switch (queue_reg(addr)) {
      case regs::kQSqBaseLo:
      case regs::kQProvBaseLo: return one_in(4) ? data : data & ~0x3Fu;
      case regs::kQCqBaseLo: return one_in(4) ? data : data & ~0xFu;
      case regs::kQCtrl: {
        const uint32_t cur = m.peek(addr);
        const uint32_t prov = regs::kQCtrlProvEn.put(0, static_cast<uint32_t>(rng() & 1));
        const uint32_t size = static_cast<uint32_t>(1 + rng() % Bar0Model::kSizeLog2Max);
        switch (rng() % 12) {
          case 0: case 1: case 2: case 3:  // enable with a valid size
            return 1 | prov | regs::kQCtrlSizeLog2.put(0, size);
          case 4: {  // enable with SIZE_LOG2 0 or 13..15
            const uint32_t bad[] = {0, 13, 14, 15};
            return 1 | prov | regs::kQCtrlSizeLog2.put(0, bad[rng() % 4]);
          }
          case 5: {  // reserved bits beside otherwise valid fields, ENABLE either way
            uint32_t reserved = (1u << (rng() % 32)) & ~kQCtrlFieldBits;
            return (reserved ? reserved : 0x1000u) | static_cast<uint32_t>(rng() & 1) | prov |
                   regs::kQCtrlSizeLog2.put(0, size);
          }
          case 6: case 7:  // ENABLE = 1 with the current fields: no-op, or enable as stored
            return cur | 1;
          case 8:  // ENABLE = 1 with one field changed
            return (cur | 1) ^ (one_in(2) ? regs::kQCtrlProvEn.mask()
                                          : regs::kQCtrlSizeLog2.put(0, 1 + rng() % 15));
          default:  // ENABLE = 0 with any fields (disables an enabled queue)
            return prov | regs::kQCtrlSizeLog2.put(0, static_cast<uint32_t>(rng() & 0xF));
        }
      }
      default: return data;
    }
  }
  if (is_doorbell(addr)) {
    const unsigned q = (addr - regs::kSqTailDb) / regs::kSqTailDbStride;
    const uint32_t entries = 1u << m.queue_size_log2(q);
    switch (rng() % 8) {
      case 0: case 1: case 2: case 3: case 4: return static_cast<uint32_t>(rng() % entries);
      case 5: return entries >= 0x10000 ? 0xFFFF : entries + static_cast<uint32_t>(rng() % (0x10000 - entries));
      case 6: return data | 0x10000u;
      default: return data;
    }
  }
  return data;
}

void random_phase(Bench& b, uint64_t n) {
  auto& rng = b.sim().rng();
  // Jitter sweeps from none to heavy so both back-to-back and stalled handshakes occur.
  const kvcpu::sim::Jitter levels[] = {{0.0, 0.0, 0}, {0.3, 0.3, 2}, {0.7, 0.7, 6}};
  for (uint64_t i = 0; i < n; ++i) {
    if (i % 1000 == 0) {
      b.bus().set_jitter(levels[(i / 1000) % 3]);
    }
    if ((rng() & 63) == 0) {  // from all-clear, the next error sets ERR_ADDR
      b.write(regs::kErrStatus, 0xFFFFFFFF, 0xF);
    }
    const uint32_t addr = pick_addr(rng);
    const int op = std::uniform_int_distribution<int>(0, 99)(rng);
    if (op < 45) {
      b.read(addr);
      continue;
    }
    const uint32_t data = pick_data(addr, rng, b.model());
    uint8_t strb = 0xF;
    if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
      strb = static_cast<uint8_t>(rng() & 0xF);
    }
    b.write(addr, data, strb);
    if ((rng() & 15) == 0) {
      b.read(regs::kErrAddr);
    }
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
    bool forced_data = false;
    uint32_t wdata = 0;
    // ERR_ADDR's hard cases, which plain random traffic almost never builds:
    switch (rng() & 15) {
      case 0:  // a read error racing a clear of ERR_STATUS
        raddr = kUnmapped;
        waddr = regs::kErrStatus;
        break;
      case 1:  // from all-clear, a step error (write side) racing a read error
        b.write(regs::kErrStatus, 0xFFFFFFFF, 0xF);
        raddr = kUnmapped;
        waddr = regs::kStepInc;
        wdata = 0;
        forced_data = true;
        break;
      case 2:  // from all-clear, a refused queue write racing a read error
        b.write(regs::kErrStatus, 0xFFFFFFFF, 0xF);
        raddr = kUnmapped;
        waddr = regs::kQCtrlAt(static_cast<unsigned>(rng() % regs::kQCtrlInstances));
        wdata = 0x0001'0401;  // reserved bit: refused whatever the queue's state
        forced_data = true;
        break;
      case 3:  // from all-clear, a refused doorbell racing a read error
        b.write(regs::kErrStatus, 0xFFFFFFFF, 0xF);
        raddr = kUnmapped;
        waddr = regs::kSqTailDbAt(static_cast<unsigned>(rng() % regs::kSqTailDbInstances));
        wdata = 0x0002'0000;  // wide: refused whatever the queue's state
        forced_data = true;
        break;
      case 4:  // a read of the register being written
        raddr = waddr;
        break;
      default: break;
    }
    if (!forced_data) {
      wdata = pick_data(waddr, rng, b.model());
    }
    const uint8_t wstrb =
        !forced_data && (rng() & 7) == 0 ? static_cast<uint8_t>(rng() & 0xF) : 0xF;
    const uint64_t start = b.sim().cycle();
    auto got = b.bus().read_write(raddr, waddr, wdata, wstrb, delay(rng), delay(rng), delay(rng));
    const uint64_t end = b.sim().cycle();
    if (!got) {
      b.check().expect(false, "overlap: " + b.bus().protocol_error());
      return;
    }
    kvcpu::Bar0Model& m = b.model();
    const Bench::Snapshot before_w = b.snapshot(waddr);
    kvcpu::BusResult want_r;
    uint8_t want_w;
    if (got->read_done < got->write_done) {
      want_r = m.read(raddr);
      const Bench::Snapshot s = b.snapshot(waddr);
      want_w = m.write(waddr, wdata, wstrb);
      b.cover_outcome(waddr, s);
      b.note("overlap: read first");
    } else if (got->write_done < got->read_done) {
      want_w = m.write(waddr, wdata, wstrb);
      b.cover_outcome(waddr, before_w);
      want_r = m.read(raddr);
      b.note("overlap: write first");
    } else {
      kvcpu::Bar0Model before = m;
      want_r = before.read(raddr);  // data and response as of before the write
      want_w = m.write(waddr, wdata, wstrb);
      b.cover_outcome(waddr, before_w);
      const Outcome wo = m.last_outcome();
      const kvcpu::BusResult side_effects = m.read(raddr);  // its error recorded after the write's
      (void)side_effects;
      b.note("overlap: same cycle");
      const bool rd_err = want_r.resp != kvcpu::kRespOkay;
      if (rd_err && want_w != kvcpu::kRespOkay) {
        b.note("overlap: same cycle, both in error");
      }
      if (waddr == regs::kErrStatus && rd_err) {
        b.note("overlap: same cycle, error during ERR_STATUS clear");
      }
      if (rd_err && before_w.err_clear) {
        if (wo == Outcome::kStepZero) {
          b.note("overlap: same cycle, step error beside a read error");
        } else if (wo == Outcome::kQcfgReserved) {
          b.note("overlap: same cycle, QCFG refusal beside a read error");
        } else if (wo == Outcome::kDbWide) {
          b.note("overlap: same cycle, BAD_DOORBELL beside a read error");
        }
      }
      if (raddr == waddr && want_w == kvcpu::kRespOkay && in_queue_block(waddr)) {
        b.note("overlap: same cycle, queue register read beside its write");
      }
    }
    b.compare_read("overlap read", raddr, got->read, want_r, start, end);
    b.check().expect(got->write.resp == want_w, "overlap write " + hex(waddr) + "=" + hex(wdata) +
                                                    ": dut " + resp_name(got->write.resp) +
                                                    " model " + resp_name(want_w));
    // Surface ERR_ADDR/ERR_STATUS divergence right away rather than at some later read.
    if ((i & 7) == 0 || forced_data) {
      b.read(regs::kErrAddr);
      b.read(regs::kErrStatus);
    }
  }
}

bool coverage_ok(const Bench& b) {
  std::vector<std::string> need = {
      "write unmapped DECERR", "read unmapped DECERR", "write unaligned SLVERR",
      "read unaligned SLVERR", "step: commit", "step refused: backwards",
      "step refused: zero increment",
      // queue configuration, each rule both ways
      "qbase: accepted", "qcfg refused: base of an enabled queue",
      "qcfg refused: misaligned SQ base", "qcfg refused: misaligned CQ base",
      "qcfg refused: misaligned PROV base", "qcfg refused: SIZE_LOG2 outside 1..12",
      "qcfg refused: reserved Q_CTRL bits", "qcfg refused: re-enable with changed fields",
      "qctrl: re-enable unchanged (no-op)", "qctrl: enable", "qctrl: disable",
      "qctrl: ENABLE=0 to a disabled queue",
      // doorbells
      "doorbell: SQ tail accepted", "doorbell: CQ head accepted",
      "doorbell refused: disabled queue", "doorbell refused: value >= 2^SIZE_LOG2",
      "doorbell refused: value above 16 bits",
      // ERR_ADDR from all-clear for each refusal kind
      "err_addr: first error QCFG", "err_addr: first error BAD_DOORBELL",
      "err_addr: first error STEP_*",
      // MSI-X table, TIME
      "msix: vector masked", "msix: vector unmasked", "time: exact offset",
      "time: within window",
      // overlapping accesses
      "overlap: read first", "overlap: write first", "overlap: same cycle",
      "overlap: same cycle, both in error", "overlap: same cycle, error during ERR_STATUS clear",
      "overlap: same cycle, step error beside a read error",
      "overlap: same cycle, QCFG refusal beside a read error",
      "overlap: same cycle, BAD_DOORBELL beside a read error",
      "overlap: same cycle, queue register read beside its write"};
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
