// kvcpu_msix testbench: random CQE streams (uniform or on a hot vector, at several rates),
// random Q_COAL per vector (COUNT 0, 1, small, large; TIME 0, small, large) rewritten while
// batches are pending, random mask/unmask, random table rewrites (also of the message on
// offer), queue disables and re-enables, msix_ready backpressure. The cycle-accurate
// reference model (msix_model.h, from docs/msix.md) runs in lockstep: every cycle the
// message (valid, address, data), PBA, every Q_IRQ_COUNT and busy_o are compared. Checked
// independently of the model: payload held under backpressure, never more messages than
// accepted CQEs, and after each drain (unmasked, short timers, no new CQEs) every accepted
// CQE was followed by a message of its vector and the block is idle. Epochs end with a
// drain or, sometimes, a reset in the middle of traffic. Coverage bins must all be hit.
//
// +saturate=1 first runs a directed 2^24-cycle wait that saturates a coalescing timer.
//
//   tb_msix[_nv5] [+seed=N] [+n=CYCLES] [+saturate=1] [+trace[=FILE]]
#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include KVCPU_TB_MODEL_HEADER
#include "coverage.h"
#include "msix_model.h"
#include "sim.h"

namespace {

using Model = KVCPU_TB_MODEL;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
using kvcpu::tb::MsixRefModel;
using Ev = MsixRefModel::Event;

constexpr unsigned kNumVec = KVCPU_TB_NUMVEC;
constexpr unsigned kVidW = kNumVec > 1 ? std::bit_width(kNumVec - 1) : 1;

struct EpochCfg {
  uint64_t cycles = 0;
  double p_cqe = 0;
  int hot = -1;  // a vector that gets half of the CQEs, or -1
  double p_ready = 1;
  double p_mask_flip = 0;
  double p_coal = 0;
  double p_tbl = 0;
  double p_disable = 0;
};

class Bench {
 public:
  explicit Bench(const SimOptions& opt)
      : sim_(opt),
        ref_(kNumVec),
        owe_(kNumVec, false),
        accepted_(kNumVec, 0),
        irq_base_(kNumVec, 0) {
    in_.v.resize(kNumVec);
    for (auto& v : in_.v) {
      v.en = true;
      v.coal = 0;
      v.ctrl = 1;
    }
  }

  Sim<Model>& sim() { return sim_; }
  std::mt19937_64& rng() { return sim_.rng(); }
  const kvcpu::sim::Coverage& bins() const { return bins_; }
  void note(const std::string& bin) { ++bins_[bin]; }
  int failures() const { return failures_; }
  uint64_t messages() const { return messages_; }

  void expect(bool ok, const std::string& what) {
    if (!ok && failures_++ < 20) {
      std::printf("MISMATCH (cycle %" PRIu64 "): %s\n", sim_.cycle(), what.c_str());
    }
  }

  void reset() {
    auto& r = rng();
    for (unsigned v = 0; v < kNumVec; ++v) {
      in_.v[v].en = (r() % 8) != 0;
      in_.v[v].coal = rand_coal();
      in_.v[v].addr_lo = static_cast<uint32_t>(r()) & ~3u;
      in_.v[v].addr_hi = (r() & 1) ? static_cast<uint32_t>(r()) : 0;
      in_.v[v].data = static_cast<uint32_t>(r());
      in_.v[v].ctrl = (r() % 4 == 0) ? 1 : 0;
    }
    in_.cqe_valid = false;
    in_.ready = false;
    apply();
    sim_.reset(1 + static_cast<unsigned>(r() % 4));
    ref_.reset();
    prev_valid_ = false;
    for (unsigned v = 0; v < kNumVec; ++v) {
      owe_[v] = false;
      accepted_[v] = 0;
      irq_base_[v] = 0;
    }
  }

  void run_epoch(const EpochCfg& c) {
    cfg_ = c;
    auto& r = rng();
    if (c.p_cqe <= 0.05 && (r() & 1)) {  // a long timer that can expire within the epoch
      in_.v[r() % kNumVec].coal = ((4096 + static_cast<uint32_t>(r() % 4000)) << 8) | 255;
    }
    for (uint64_t i = 0; i < c.cycles && failures_ == 0; ++i) {
      randomize_inputs(false);
      cycle();
    }
  }

  // No new CQEs, every vector unmasked, no partial batch left without a timer and no long
  // timer: the block must deliver every owed message and go idle.
  void drain() {
    auto& r = rng();
    for (auto& v : in_.v) {
      v.ctrl &= ~1u;
      const uint32_t count = v.coal & 0xFF, time = v.coal >> 8;
      if ((count > 1 && time == 0) || time > 2000) {
        v.coal = (r() & 1) ? (r() % 2) : ((1 + static_cast<uint32_t>(r() % 200)) << 8 | count);
      }
    }
    cfg_.p_cqe = 0;
    cfg_.p_mask_flip = 0;
    cfg_.p_coal = 0;
    cfg_.p_disable = 0;
    cfg_.p_ready = std::max(cfg_.p_ready, 0.3);
    const uint64_t limit = sim_.cycle() + 50000;
    auto& d = sim_.dut();
    for (;;) {
      apply();  // busy_o depends on this cycle's masks and Q_COAL
      sim_.settle();
      if ((!d.busy_o && d.pba_o == 0) || sim_.cycle() >= limit || failures_ > 0) break;
      randomize_inputs(true);
      cycle();
    }
    expect(!d.busy_o && d.pba_o == 0, "drain: still busy or pending after 50000 cycles");
    for (unsigned i = 0; i < 2; ++i) {  // the last message's Q_IRQ_COUNT shows a cycle later
      randomize_inputs(true);
      cycle();
    }
    for (unsigned v = 0; v < kNumVec; ++v) {
      expect(!owe_[v], "drain: vector " + std::to_string(v) +
                           " got CQEs but no message after them (" + std::to_string(accepted_[v]) +
                           " CQEs, " + std::to_string(irq_base_[v]) + " messages, Q_COAL " +
                           std::to_string(in_.v[v].coal) + ", enabled " +
                           std::to_string(in_.v[v].en) + ", model count " +
                           std::to_string(ref_.pending_count(v)) + ")");
    }
    ++bins_["drain: complete, nothing owed"];
  }

  // Directed: a partial batch with TIME = 0 waits past 2^24 cycles, so its timer saturates;
  // then TIME = 5000 fires it at once (a wrapped timer would wait on).
  void saturate_timer() {
    reset();
    cfg_ = EpochCfg{};
    for (auto& v : in_.v) {
      v.en = true;
      v.coal = 0;
      v.ctrl = 0;
    }
    in_.v[0].coal = 2;  // COUNT 2, TIME 0
    in_.cqe_valid = true;
    in_.cqe_vec = 0;
    cycle();
    for (uint64_t i = 0; i < (1ull << 24) + 100 && failures_ == 0; ++i) {
      randomize_inputs(false);
      cycle();
    }
    in_.v[0].coal = (5000u << 8) | 2;
    for (unsigned i = 0; i < 8; ++i) {
      randomize_inputs(false);
      cycle();
    }
    expect(sim_.dut().irq_count_o[0] == 1, "saturated timer did not fire when TIME was set");
  }

 private:
  uint32_t rand_coal() {
    auto& r = rng();
    const unsigned k = static_cast<unsigned>(r() % 100);
    uint32_t count = 0, time = 0;
    if (k < 15) {  // every CQE, TIME irrelevant
      count = static_cast<uint32_t>(r() % 2);
      time = (r() & 1) ? static_cast<uint32_t>(r() & 0xFFFFFF) : 0;
    } else if (k < 30) {  // count only
      count = 2 + static_cast<uint32_t>(r() % 7);
      time = 0;
    } else if (k < 55) {  // small count, short timer
      count = 2 + static_cast<uint32_t>(r() % 15);
      time = 1 + static_cast<uint32_t>(r() % 64);
    } else if (k < 70) {  // any count, medium timer
      count = 2 + static_cast<uint32_t>(r() % 254);
      time = 1 + static_cast<uint32_t>(r() % 1000);
    } else if (k < 80) {  // large count, large timer
      count = 128 + static_cast<uint32_t>(r() % 128);
      time = 4096 + static_cast<uint32_t>(r() % 8000);
    } else if (k < 90) {  // large count only
      count = 128 + static_cast<uint32_t>(r() % 128);
      time = 0;
    } else {  // timer only in effect (COUNT 255): 1 cycle, short or long
      count = 255;
      const unsigned t = static_cast<unsigned>(r() % 3);
      time = t == 0   ? 1
             : t == 1 ? 1 + static_cast<uint32_t>(r() % 3000)
                      : 4096 + static_cast<uint32_t>(r() % 8000);
    }
    return (time << 8) | count;
  }

  void randomize_inputs(bool draining) {
    auto& r = rng();
    auto chance = [&r](double p) { return p > 0 && std::bernoulli_distribution(p)(r); };
    in_.cqe_valid = chance(cfg_.p_cqe);
    if (cfg_.hot >= 0 && (r() & 1)) {
      in_.cqe_vec = static_cast<unsigned>(cfg_.hot);
    } else {
      in_.cqe_vec = static_cast<unsigned>(r() % (1u << kVidW));  // past NumVec when not 2^k
    }
    in_.ready = chance(cfg_.p_ready);
    tbl_rewrite_offered_ = false;
    for (unsigned v = 0; v < kNumVec; ++v) {
      auto& x = in_.v[v];
      if (chance(cfg_.p_mask_flip)) x.ctrl ^= 1u;
      if (chance(cfg_.p_mask_flip * 0.3))
        x.ctrl ^= static_cast<uint32_t>(r()) & ~1u;  // reserved bits
      if (x.en ? chance(cfg_.p_disable) : (!draining && chance(0.01))) x.en = !x.en;
      if (draining && !x.en && chance(0.01)) x.en = true;
    }
    if (chance(cfg_.p_coal)) {
      const unsigned v = static_cast<unsigned>(r() % kNumVec);
      const uint32_t cnt = ref_.pending_count(v);
      if (cnt >= 2 && (r() & 1)) {  // lower COUNT onto a partial batch
        in_.v[v].coal = (in_.v[v].coal & ~0xFFu) | (2 + static_cast<uint32_t>(r() % (cnt - 1)));
      } else {
        in_.v[v].coal = rand_coal();
      }
    }
    if (chance(cfg_.p_tbl)) {
      unsigned v = static_cast<unsigned>(r() % kNumVec);
      if (ref_.valid() && (r() & 1)) v = ref_.msg().vec;
      switch (r() % 3) {
        case 0:
          in_.v[v].addr_lo = static_cast<uint32_t>(r()) & ~3u;
          break;
        case 1:
          in_.v[v].addr_hi = static_cast<uint32_t>(r());
          break;
        default:
          in_.v[v].data = static_cast<uint32_t>(r());
          break;
      }
      tbl_rewrite_offered_ = ref_.valid() && v == ref_.msg().vec;
    }
  }

  void apply() {
    auto& d = sim_.dut();
    d.cqe_valid_i = in_.cqe_valid;
    d.cqe_vec_i = in_.cqe_vec;
    d.msix_ready_i = in_.ready;
    uint32_t en = 0;
    for (unsigned v = 0; v < kNumVec; ++v) {
      const auto& x = in_.v[v];
      en |= (x.en ? 1u : 0u) << v;
      d.coal_i[v] = x.coal;
      d.tbl_addr_lo_i[v] = x.addr_lo;
      d.tbl_addr_hi_i[v] = x.addr_hi;
      d.tbl_data_i[v] = x.data;
      d.tbl_ctrl_i[v] = x.ctrl;
    }
    d.q_enable_i = en;
  }

  void cycle() {
    auto& d = sim_.dut();
    apply();
    sim_.settle();
    // ---- compare with the reference model
    const bool valid = d.msix_valid_o;
    const uint64_t addr = d.msix_addr_o;
    const uint32_t data = d.msix_data_o;
    if (valid != ref_.valid()) {
      expect(false, std::string("msix_valid_o ") + (valid ? "1" : "0") + ", model " +
                        (ref_.valid() ? "1" : "0"));
    } else if (valid && (addr != ref_.msg().addr || data != ref_.msg().data)) {
      char b[160];
      std::snprintf(b, sizeof b,
                    "message addr %016" PRIx64 " data %08x, model vector %u addr %016" PRIx64
                    " data %08x",
                    addr, data, ref_.msg().vec, ref_.msg().addr, ref_.msg().data);
      expect(false, b);
    }
    if (d.pba_o != ref_.pba()) {
      expect(false, "pba_o " + std::to_string(d.pba_o) + ", model " + std::to_string(ref_.pba()));
    }
    if (static_cast<bool>(d.busy_o) != ref_.busy(in_)) {
      expect(false, std::string("busy_o ") + (d.busy_o ? "1" : "0") + ", model " +
                        (ref_.busy(in_) ? "1" : "0"));
    }
    for (unsigned v = 0; v < kNumVec; ++v) {
      const uint32_t n = d.irq_count_o[v];
      if (n != ref_.irq_count(v)) {
        expect(false, "irq_count[" + std::to_string(v) + "] " + std::to_string(n) + ", model " +
                          std::to_string(ref_.irq_count(v)));
      }
      // ---- properties independent of the model
      if (n != irq_base_[v]) {
        owe_[v] = false;
        irq_base_[v] = n;
      }
      expect(n <= accepted_[v], "vector " + std::to_string(v) + ": " + std::to_string(n) +
                                    " messages for " + std::to_string(accepted_[v]) + " CQEs");
      if (!in_.v[v].en) owe_[v] = false;  // disabling drops the batch
    }
    if (prev_valid_) {
      expect(valid && addr == prev_addr_ && data == prev_data_,
             "message withdrawn or changed before msix_ready");
    }
    prev_valid_ = valid && !in_.ready;
    prev_addr_ = addr;
    prev_data_ = data;
    if (in_.cqe_valid && in_.cqe_vec < kNumVec && in_.v[in_.cqe_vec].en) {
      owe_[in_.cqe_vec] = true;
      ++accepted_[in_.cqe_vec];
    }
    // ---- coverage
    if (valid && in_.ready) ++messages_;
    if (valid && !in_.ready && tbl_rewrite_offered_)
      ++bins_["offer: table rewritten, payload held"];
    if (valid && !in_.ready && in_.v[ref_.msg().vec].masked())
      ++bins_["offer: masked while offered, still sent"];
    if (d.pba_o != 0 && !valid) ++bins_["pba: pending with nothing offered"];
    const uint32_t ev = ref_.step(in_);
    static const struct {
      uint32_t bit;
      const char* name;
    } kBins[] = {
        {Ev::kFireEvery, "fire: every CQE (COUNT 0/1)"},
        {Ev::kFireCount, "fire: by count (COUNT > 1)"},
        {Ev::kFireCountLarge, "fire: by count, COUNT >= 128"},
        {Ev::kFireCountLowered, "fire: COUNT lowered onto a batch"},
        {Ev::kFireTime, "fire: by time"},
        {Ev::kFireTimeLarge, "fire: by time, TIME >= 4096"},
        {Ev::kFireTimeWithCqe, "fire: by time, CQE in the same cycle"},
        {Ev::kFireBoth, "fire: count and time together"},
        {Ev::kMerge, "merge: fired while pending"},
        {Ev::kFireWhileOffered, "fire: while own message offered"},
        {Ev::kDisableClears, "disable: drops a partial batch"},
        {Ev::kDisablePending, "disable: with a message pending"},
        {Ev::kCqeDisabled, "cqe: on a disabled queue"},
        {Ev::kMaskedPending, "mask: fired while masked (PBA)"},
        {Ev::kMaskedSent, "mask: masked -> pending -> sent"},
        {Ev::kBackpressure, "offer: backpressure"},
        {Ev::kPriority, "select: lowest of several"},
        {Ev::kBackToBack, "select: back to back"},
        {Ev::kPartialIdle, "batch: partial, TIME 0, not busy"},
        {Ev::kCqeOutOfRange, "cqe: vector >= NumVec"},
        {Ev::kTimerSaturated, "timer: saturated at 2^24 - 1"},
    };
    for (const auto& b : kBins) {
      if (ev & b.bit) ++bins_[b.name];
    }
    if (sim_.assertion_failed() && !sva_reported_) {
      sva_reported_ = true;
      expect(false, "RTL assertion failed");
    }
    sim_.tick();
  }

  Sim<Model> sim_;
  MsixRefModel ref_;
  MsixRefModel::In in_;
  EpochCfg cfg_{};
  std::vector<bool> owe_;
  std::vector<uint64_t> accepted_;
  std::vector<uint32_t> irq_base_;
  bool prev_valid_ = false, tbl_rewrite_offered_ = false, sva_reported_ = false;
  uint64_t prev_addr_ = 0;
  uint32_t prev_data_ = 0;
  uint64_t messages_ = 0;
  int failures_ = 0;
  kvcpu::sim::Coverage bins_;
};

bool coverage_ok(const Bench& b, bool saturate) {
  std::vector<std::string> need = {"fire: every CQE (COUNT 0/1)",
                                   "fire: by count (COUNT > 1)",
                                   "fire: by count, COUNT >= 128",
                                   "fire: COUNT lowered onto a batch",
                                   "fire: by time",
                                   "fire: by time, TIME >= 4096",
                                   "fire: by time, CQE in the same cycle",
                                   "fire: count and time together",
                                   "merge: fired while pending",
                                   "fire: while own message offered",
                                   "disable: drops a partial batch",
                                   "disable: with a message pending",
                                   "cqe: on a disabled queue",
                                   "mask: fired while masked (PBA)",
                                   "mask: masked -> pending -> sent",
                                   "offer: backpressure",
                                   "select: lowest of several",
                                   "select: back to back",
                                   "batch: partial, TIME 0, not busy",
                                   "offer: table rewritten, payload held",
                                   "offer: masked while offered, still sent",
                                   "pba: pending with nothing offered",
                                   "drain: complete, nothing owed",
                                   "reset: in the middle of traffic"};
  if ((1u << kVidW) > kNumVec) need.push_back("cqe: vector >= NumVec");
  if (saturate) need.push_back("timer: saturated at 2^24 - 1");
  return b.bins().check(need);
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions opt = SimOptions::from_args(argc, argv, KVCPU_TB_NAME);
  const uint64_t n = SimOptions::plusarg(argc, argv, "n", 500000);
  const bool saturate = SimOptions::plusarg(argc, argv, "saturate", 0) != 0;
  Bench b(opt);
  auto& r = b.rng();
  unsigned epoch = 0;
  if (saturate) b.saturate_timer();
  b.reset();
  const uint64_t start = b.sim().cycle();
  while (b.sim().cycle() - start < n && b.failures() == 0 && !b.sim().timed_out()) {
    EpochCfg c;
    c.cycles = 3000 + r() % 20000;
    static const double kCqe[] = {0.01, 0.05, 0.2, 0.6};
    static const double kReady[] = {1.0, 0.7, 0.3, 0.05};
    static const double kMask[] = {0.0, 0.0005, 0.005, 0.05};
    c.p_cqe = kCqe[epoch % 4];
    c.hot = (epoch % 3 == 1) ? static_cast<int>(r() % kNumVec) : -1;
    c.p_ready = kReady[(epoch / 2) % 4];
    c.p_mask_flip = kMask[(epoch / 3) % 4];
    c.p_coal = (epoch % 2) ? 0.002 : 0.0002;
    c.p_tbl = (epoch % 5 < 2) ? 0.01 : 0.001;
    c.p_disable = (epoch % 4 == 3) ? 0.0005 : 0.00005;
    b.run_epoch(c);
    if (epoch % 6 == 5) {
      if (b.sim().dut().busy_o || b.sim().dut().pba_o) b.note("reset: in the middle of traffic");
      b.reset();
    } else {
      b.drain();
    }
    ++epoch;
  }
  b.bins().print(opt.name);
  const bool cov = coverage_ok(b, saturate);
  const bool sva = !b.sim().assertion_failed();
  std::printf("[%s] NumVec %u, %u epochs, %" PRIu64 " messages, %" PRIu64
              " cycles, %d mismatches, assertions %s, coverage %s\n",
              opt.name.c_str(), kNumVec, epoch, b.messages(), b.sim().cycle(), b.failures(),
              sva ? "clean" : "FAILED", cov ? "complete" : "INCOMPLETE");
  const bool pass = b.failures() == 0 && cov && sva && !b.sim().timed_out();
  std::printf("[%s] %s (seed %" PRIu64 ")\n", opt.name.c_str(), pass ? "PASS" : "FAIL",
              b.sim().seed());
  return pass ? 0 : 1;
}
