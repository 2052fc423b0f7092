// kvcpu_hif testbench: a host builds SQ/CQ rings in a model memory (axi_mem.h), writes
// random command streams (NOP, reserved bits set, fetch errors, forwarded opcodes that a
// C++ executor answers after a random delay, some of them deferred and completed later on
// acpl, out of order, like the I/O unit does), rings doorbells in random batches (some out
// of range or to disabled queues), consumes CQEs by phase and rings CQ heads, sometimes
// late to fill the CQ. Every CQE and every forwarded command is compared with the
// reference model (hif_model.h); the CQ-full rule, irq counts and sticky errors are
// checked too. The run is cut into epochs, each starting from reset with a new random
// configuration (ring sizes 2^1..2^12, mostly 2^1..2^4; enables; error injection;
// backpressure). Coverage bins are printed and must all be hit.
//
// Built twice from this source: against the RTL model and against the Yosys iCE40 netlist
// (post-synthesis simulation, no assertions), selected by KVCPU_TB_MODEL.
//
//   tb_hif[_gl] [+seed=N] [+n=COMMANDS] [+trace[=FILE]]
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include KVCPU_TB_MODEL_HEADER
#include "axi_mem.h"
#include "coverage.h"
#include "hif_model.h"
#include "sim.h"

namespace {

using Model = KVCPU_TB_MODEL;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
using kvcpu::tb::AxiJitter;
using kvcpu::tb::AxiMem;
using kvcpu::tb::Cqe;
using kvcpu::tb::HifRefModel;
using kvcpu::tb::Sqe;

constexpr unsigned kNumQ = 8;  // the RTL defaults: NumQueues = 8, QDepthLog2Max = 12
constexpr unsigned kMaxLog2 = 12;
constexpr unsigned kSzW = 4;
// time_i = kTimeBase + cycle, so that the provenance timestamps use all 64 bits
constexpr uint64_t kTimeBase = 0xFEDC'0000'0000'0000ull;

// Bits [q*kMaxLog2 +: kMaxLog2] of a wide (VlWide) per-queue pointer port.
template <class W>
uint32_t field(const W& w, unsigned q) {
  uint32_t v = 0;
  for (unsigned i = 0; i < kMaxLog2; ++i) {
    const unsigned bit = q * kMaxLog2 + i;
    v |= ((w[bit / 32] >> (bit % 32)) & 1u) << i;
  }
  return v;
}

struct HostQ {
  bool en = true;
  unsigned k = 1;
  uint32_t mask = 1;
  uint64_t sq_base = 0, cq_base = 0;
  uint32_t sq_tail = 0, sq_tail_rung = 0, sq_head_known = 0;
  uint32_t cq_head = 0, cq_head_rung = 0;
  bool cq_phase = true;
  uint64_t rung_cmds = 0, submitted = 0;
  uint32_t dut_cq_head = 0;  // last CQ head doorbell the DUT accepted
  uint64_t cq_writes = 0, irqs = 0, prov_writes = 0;
  uint64_t lazy_until = 0;
  bool prov = false;
  uint64_t prov_base = 0;
  std::vector<std::pair<uint64_t, uint64_t>> db_hist;  // accepted SQ doorbells: cycle, commands covered
};

struct Db {
  unsigned q;
  bool is_cq;
  uint32_t value;
  bool bad;
  uint64_t covered = 0;  // SQ tail: commands submitted to the queue when it was rung
};

struct Exec {
  unsigned q;
  uint16_t cid, status;
  uint32_t result;
  uint64_t ready_at;
  bool defer = false;
  uint64_t t_cmd = 0;
  Sqe sqe;
};

// A deferred completion the stand-in I/O unit will offer on acpl.
struct Acpl {
  unsigned q;
  size_t index;  // the command's number within its queue
  Sqe sqe;
  uint16_t status;
  uint32_t result;
  uint64_t prov[3];  // t_db, t_fetched, t_started as the engine gave them
  uint64_t t_done;   // cycle
  uint64_t ready_at;
};

struct EpochCfg {
  uint64_t cmds;
  double p_fetch_err, p_bad_db, p_wr_err;
  AxiJitter jit;
  double p_cmd_ready;
  unsigned exec_max_delay;
  double p_defer;            // a forwarded command's completion is deferred
};

class Bench {
 public:
  explicit Bench(const SimOptions& opt) : sim_(opt), mem_(sim_.rng()), q_(kNumQ) {
    mem_.on_write = [this](uint64_t a, unsigned beats) { on_dev_write(a, beats); };
  }

  Sim<Model>& sim() { return sim_; }
  std::mt19937_64& rng() { return sim_.rng(); }
  const kvcpu::sim::Coverage& bins() const { return bins_; }
  int failures() const { return failures_; }
  bool mem_ok() const { return mem_.error().empty(); }
  uint64_t commands() const { return total_cmds_; }

  void expect(bool ok, const std::string& what) {
    if (!ok && failures_++ < 20) {
      std::printf("MISMATCH (cycle %" PRIu64 "): %s\n", sim_.cycle(), what.c_str());
    }
  }

  void run_epoch(const EpochCfg& c, const std::vector<unsigned>& sizes, const std::vector<bool>& en) {
    cfg_ = c;
    auto& d = sim_.dut();
    auto& r = rng();
    ref_.reset(kNumQ);
    mem_.reset();
    mem_.set_jitter(c.jit);
    mem_.set_max_writes(2);  // a CQE's burst may follow its record's (docs/hif.md)
    mem_.rd_err_lines().clear();
    mem_.wr_err_lines().clear();
    dbq_.clear();
    ex_.clear();
    acpl_pend_.clear();
    db_drv_ = cpl_drv_ = acpl_drv_ = false;
    bad_db_sent_ = 0;
    rd_err0_ = mem_.rd_err_sent;
    wr_err0_ = mem_.wr_err_sent;
    bad_db_pulses_ = rd_err_pulses_ = wr_err_pulses_ = 0;
    d.prov_en_i = 0;
    d.q_enable_i = 0;
    d.q_size_log2_i = 0;
    for (unsigned q = 0; q < kNumQ; ++q) {
      HostQ h;
      h.en = en[q];
      h.k = sizes[q];
      h.mask = (1u << h.k) - 1;
      // 64-bit bases, SQ and CQ regions apart; low bits random so that ring offsets carry.
      h.sq_base = (uint64_t(q + 1) << 56) | ((r() & 0xFFFFFull) << 20) | (r() & 0xFFFC0ull);
      h.cq_base = (uint64_t(q + 1) << 56) | (1ull << 52) | ((r() & 0xFFFFFull) << 20) | (r() & 0xFFFF0ull);
      h.prov = (r() % 2) == 0;
      h.prov_base = (uint64_t(q + 1) << 56) | (2ull << 52) | ((r() & 0xFFFFFull) << 20) | (r() & 0xFFFC0ull);
      d.prov_en_i |= (h.prov ? 1u : 0u) << q;
      d.prov_base_i[2 * q] = static_cast<uint32_t>(h.prov_base);
      d.prov_base_i[2 * q + 1] = static_cast<uint32_t>(h.prov_base >> 32);
      q_[q] = h;
      ref_.configure(q, h.k);
      d.q_enable_i |= (en[q] ? 1u : 0u) << q;
      d.q_size_log2_i |= static_cast<uint32_t>(h.k) << (kSzW * q);
      d.sq_base_i[2 * q] = static_cast<uint32_t>(h.sq_base);
      d.sq_base_i[2 * q + 1] = static_cast<uint32_t>(h.sq_base >> 32);
      d.cq_base_i[2 * q] = static_cast<uint32_t>(h.cq_base);
      d.cq_base_i[2 * q + 1] = static_cast<uint32_t>(h.cq_base >> 32);
      // stale CQ contents: phase 0 everywhere (what the host zeroes before enabling)
      for (uint32_t s = 0; s <= h.mask; ++s) {
        mem_.write64(h.cq_base + 16ull * s, r());
        mem_.write64(h.cq_base + 16ull * s + 8, r() & ~(1ull << 48));
        if (c.p_wr_err > 0 && std::bernoulli_distribution(c.p_wr_err)(r)) {
          mem_.wr_err_lines().insert(h.cq_base + 16ull * s);
        }
        if (h.prov && c.p_wr_err > 0 && std::bernoulli_distribution(c.p_wr_err)(r)) {
          mem_.wr_err_lines().insert(h.prov_base + 64ull * s + 16ull * (r() % 4));
        }
      }
      bins_["config: size 2^" + std::to_string(h.k)] += en[q];
    }
    d.db_valid_i = 0;
    d.cpl_valid_i = 0;
    d.acpl_valid_i = 0;
    d.cmd_ready_i = 0;
    d.m_axi_arready_i = 0;
    d.m_axi_awready_i = 0;
    d.m_axi_wready_i = 0;
    d.m_axi_rvalid_i = 0;
    d.m_axi_bvalid_i = 0;
    sim_.reset();

    bool all_en = true;
    for (bool e : en) all_en = all_en && e;
    uint64_t issued = 0;
    const uint64_t limit = sim_.cycle() + 400 * c.cmds + 200000;
    // submission phase
    while (issued < c.cmds && sim_.cycle() < limit && failures_ == 0) {
      host_submit(issued);
      host_misc(all_en, false);
      step();
    }
    // drain: ring every tail, consume everything, ring every head
    const uint64_t drain_limit = sim_.cycle() + 200000;
    for (;;) {
      bool done = dbq_.empty() && !db_drv_ && ex_.empty() && !cpl_drv_ && acpl_pend_.empty() && !acpl_drv_ &&
                  mem_.idle();
      for (unsigned q = 0; q < kNumQ; ++q) {
        HostQ& h = q_[q];
        if (h.sq_tail != h.sq_tail_rung) ring_sq(q);
        done = done && ref_.completed(q) == ref_.submitted(q) && h.cq_head_rung == h.cq_head;
      }
      if (done || sim_.cycle() >= drain_limit || failures_ > 0) break;
      host_misc(all_en, true);
      step();
    }
    for (unsigned i = 0; i < 4; ++i) step();
    for (unsigned q = 0; q < kNumQ; ++q) {
      const HostQ& h = q_[q];
      expect(ref_.completed(q) == ref_.submitted(q),
             "hole: queue " + std::to_string(q) + " completed " + std::to_string(ref_.completed(q)) + " of " +
                 std::to_string(ref_.submitted(q)) + " commands");
      expect(h.irqs == h.cq_writes && h.cq_writes == ref_.completed(q),
             "queue " + std::to_string(q) + ": " + std::to_string(h.irqs) + " irqs, " +
                 std::to_string(h.cq_writes) + " CQE writes, " + std::to_string(ref_.completed(q)) + " CQEs consumed");
    }
    // error pulses: one per bad doorbell, per erroneous read beat (8 per failed fetch), per
    // write burst answered with an error
    expect(bad_db_pulses_ == bad_db_sent_, "err_bad_db_o pulsed " + std::to_string(bad_db_pulses_) + " times for " +
                                               std::to_string(bad_db_sent_) + " bad doorbells");
    expect(rd_err_pulses_ == 8 * (mem_.rd_err_sent - rd_err0_), "err_axi_rd_o pulses do not match the read errors sent");
    expect(wr_err_pulses_ == mem_.wr_err_sent - wr_err0_, "err_axi_wr_o pulses do not match the write errors sent");
    expect(mem_.error().empty(), "AXI protocol: " + mem_.error());
    expect(!d.busy_o, "busy_o still set after the drain");
    for (unsigned q = 0; q < kNumQ; ++q) {
      const uint32_t m = q_[q].mask;
      expect(field(d.sq_head_o, q) == (ref_.submitted(q) & m) && field(d.cq_tail_o, q) == (ref_.completed(q) & m),
             "queue " + std::to_string(q) + ": sq_head_o/cq_tail_o do not match the commands completed");
    }
    if (bad_db_pulses_) ++bins_["err: bad doorbell pulse"];
    if (rd_err_pulses_) ++bins_["err: axi read pulse"];
    if (wr_err_pulses_) ++bins_["err: axi write pulse"];
    if (all_en) ++bins_["config: all queues enabled"];
    else ++bins_["config: some queues disabled"];
  }

 private:
  void ring_sq(unsigned q) {
    HostQ& h = q_[q];
    dbq_.push_back(Db{q, false, h.sq_tail, false, h.submitted});
    h.sq_tail_rung = h.sq_tail;
    h.rung_cmds = h.submitted;
  }

  void host_submit(uint64_t& issued) {
    auto& r = rng();
    if (!std::bernoulli_distribution(0.3)(r)) return;
    const unsigned q = static_cast<unsigned>(r() % kNumQ);
    HostQ& h = q_[q];
    if (!h.en) return;
    const uint32_t used = (h.sq_tail - h.sq_head_known) & h.mask;
    if (used == h.mask) {
      ++bins_["sq: host found SQ full"];
      if (h.sq_tail != h.sq_tail_rung) ring_sq(q);
      return;
    }
    Sqe s;
    for (auto& b : s.b) b = static_cast<uint8_t>(r());
    const unsigned kind = static_cast<unsigned>(r() % 100);
    s.b[0] = kind < 30 ? 0x00 : static_cast<uint8_t>(1 + r() % 255);
    s.b[1] = (r() % 100) < 8 ? static_cast<uint8_t>(1 + r() % 255) : 0;
    s.b[11] = (r() % 100) < 4 ? static_cast<uint8_t>(1 + r() % 255) : 0;
    s.b[10] = (r() % 100) < 4 ? static_cast<uint8_t>(5 + r() % 251) : static_cast<uint8_t>(r() % 5);
    const bool ferr = std::bernoulli_distribution(cfg_.p_fetch_err)(r);
    const uint64_t line = h.sq_base + 64ull * h.sq_tail;
    for (unsigned i = 0; i < 8; ++i) {
      uint64_t w = 0;
      for (unsigned j = 0; j < 8; ++j) w |= static_cast<uint64_t>(s.b[8 * i + j]) << (8 * j);
      mem_.write64(line + 8 * i, w);
    }
    if (ferr) mem_.rd_err_lines().insert(line);
    else mem_.rd_err_lines().erase(line);
    ref_.submit(q, s, ferr);
    ++h.submitted;
    ++issued;
    ++total_cmds_;
    h.sq_tail = (h.sq_tail + 1) & h.mask;
    if (h.sq_tail == 0) ++bins_["sq: wrap at 2^" + std::to_string(std::min(h.k, 5u)) + (h.k > 4 ? "+" : "")];
    if (std::bernoulli_distribution(0.4)(r) || used + 1 == h.mask) ring_sq(q);
  }

  void host_misc(bool all_en, bool draining) {
    auto& r = rng();
    const uint64_t now = sim_.cycle();
    bool all_busy = all_en;
    for (unsigned q = 0; q < kNumQ; ++q) {
      HostQ& h = q_[q];
      if (!h.en) continue;
      all_busy = all_busy && h.rung_cmds > ref_.completed(q);
      if (!draining && h.lazy_until <= now && std::bernoulli_distribution(0.0005)(r)) {
        h.lazy_until = now + 200 + r() % 3000;  // a slow host: the CQ fills up
        ++bins_["host: lazy CQ consumer"];
      }
      const bool lazy = !draining && h.lazy_until > now;
      if (h.sq_tail != h.sq_tail_rung && std::bernoulli_distribution(0.02)(r)) ring_sq(q);
      if (!lazy && std::bernoulli_distribution(0.3)(r)) poll_cq(q);
      if (!lazy && h.cq_head != h.cq_head_rung && std::bernoulli_distribution(draining ? 0.5 : 0.15)(r)) {
        dbq_.push_back(Db{q, true, h.cq_head, false});
        h.cq_head_rung = h.cq_head;
      }
    }
    if (all_busy) ++bins_["sq: all queues busy"];
    // bad doorbells: out of range for the queue, or to a disabled queue
    if (!draining && cfg_.p_bad_db > 0 && std::bernoulli_distribution(cfg_.p_bad_db)(r)) {
      unsigned q = static_cast<unsigned>(r() % kNumQ);
      if (r() & 1) {  // half of them aim at a disabled queue when the epoch has one
        for (unsigned i = 0; i < kNumQ && q_[q].en; ++i) q = (q + 1) % kNumQ;
      }
      const HostQ& h = q_[q];
      uint32_t v = (h.mask + 1) + static_cast<uint32_t>(r() % (0x10000 - (h.mask + 1)));
      if (!h.en) {
        v = static_cast<uint32_t>(r() % (h.mask + 1));
        ++bins_["db: bad, queue disabled"];
      } else {
        ++bins_["db: bad, value out of range"];
      }
      dbq_.push_back(Db{q, (r() & 1) != 0, v, true});
    }
  }

  void poll_cq(unsigned q) {
    HostQ& h = q_[q];
    uint8_t raw[16];
    for (unsigned i = 0; i < 16; ++i) raw[i] = mem_.read8(h.cq_base + 16ull * h.cq_head + i);
    const Cqe got = Cqe::from_bytes(raw);
    if (got.phase != h.cq_phase) {
      // CQEs are written in slot order: once the engine has written this slot, the host
      // must see the new phase there.
      expect(h.cq_writes <= ref_.completed(q), "queue " + std::to_string(q) + " slot " +
                                                   std::to_string(h.cq_head) + ": CQE written with stale phase " +
                                                   got.str());
      return;
    }
    // the next in-order CQE, or the oldest deferred completion taken (its sq_head is any
    // fetched count)
    auto want = ref_.next_cqe(q, false);
    const auto dfr = ref_.next_cqe(q, true);
    if (dfr) {
      Cqe g = got;
      g.sq_head = dfr->cqe.sq_head;
      if (g == dfr->cqe && ref_.sq_head_ok(q, *dfr, got.sq_head) && !(want && got == want->cqe)) {
        want = dfr;
        ++bins_["cqe: deferred"];
        if (ref_.deferred_waiting(q) > 1) ++bins_["cqe: deferred, several waiting"];
      }
    }
    if (!want) {
      expect(false, "queue " + std::to_string(q) + ": unexpected CQE " + got.str() + " in slot " +
                        std::to_string(h.cq_head));
      return;
    }
    expect(want->slot == h.cq_head && (want->deferred || got == want->cqe),
           "queue " + std::to_string(q) + " slot " + std::to_string(h.cq_head) + ": dut " + got.str() +
               " model " + want->cqe.str() + (dfr ? " or deferred " + dfr->cqe.str() : std::string()) +
               " (model slot " + std::to_string(want->slot) + ")");
    if (h.prov) check_prov(q, *want, got);
    if (want->kind == HifRefModel::Kind::kInvalidField && want->sqe.b[10] > 4) ++bins_["cqe: INVALID_FIELD io_class"];
    static const char* kind_name[] = {"NOP SUCCESS", "INVALID_FIELD", "FETCH_ERROR", "forwarded"};
    ++bins_[std::string("cqe: ") + kind_name[static_cast<int>(want->kind)]];
    if (want->kind == HifRefModel::Kind::kForward && want->cqe.status != 0) ++bins_["cqe: executor error status"];
    ref_.consumed(q, *want);
    if (!want->deferred) h.sq_head_known = want->cqe.sq_head;
    h.cq_head = (h.cq_head + 1) & h.mask;
    if (h.cq_head == 0) {
      h.cq_phase = !h.cq_phase;
      ++bins_["cq: phase flip"];
    }
  }

  // The provenance record of a completion (docs/host-interface.md) against the model: the
  // echoed fields, and timestamps that follow the command's path through the engine.
  void check_prov(unsigned q, const HifRefModel::Expect& want, const Cqe& got) {
    HostQ& h = q_[q];
    const uint64_t rec = h.prov_base + 64ull * want.slot;
    auto le = [&](unsigned o, unsigned n) {
      uint64_t v = 0;
      for (unsigned i = 0; i < n; ++i) v |= static_cast<uint64_t>(mem_.read8(rec + o + i)) << (8 * i);
      return v;
    };
    const bool ferr = want.kind == HifRefModel::Kind::kFetchError;
    const Sqe& s = want.sqe;
    const std::string where = "queue " + std::to_string(q) + " slot " + std::to_string(want.slot) + " provenance: ";
    expect(le(0, 4) == got.flow_id && le(4, 2) == got.cid && le(6, 2) == q && le(14, 2) == got.sq_head &&
               le(12, 2) == ((uint64_t(got.status) << 1) | (got.phase ? 1 : 0)),
           where + "echoed CQE fields differ");
    expect(le(8, 2) == (ferr ? 0u : uint64_t(s.b[8] | (s.b[9] << 8))) && le(10, 1) == (ferr ? 0u : s.b[10]) &&
               le(11, 1) == (ferr ? 0u : s.b[0]),
           where + "home/class/opcode differ from the SQE");
    const uint64_t t_db = le(16, 8), t_f = le(24, 8), t_s = le(32, 8), t_d = le(40, 8), t_p = le(48, 8);
    expect(le(56, 8) == 0, where + "reserved bytes 56..63 written");
    expect(t_db <= t_f && t_f < t_s && t_s <= t_d && t_d <= t_p && t_p < kTimeBase + sim_.cycle(),
           where + "timestamps out of order");
    // t_doorbell: an accepted SQ doorbell of this queue, no earlier than the one that covered
    // this command
    bool known = false, covered = false;
    for (const auto& [cyc, n] : h.db_hist) {
      if (kTimeBase + cyc == t_db) known = true;
      if (n > want.index && kTimeBase + cyc <= t_db) covered = true;
    }
    expect(known && covered, where + "t_doorbell is not a doorbell at or after the one covering the command");
    if (want.kind == HifRefModel::Kind::kForward) {
      expect(t_s == kTimeBase + want.t_cmd && t_d == kTimeBase + want.t_cpl,
             where + "t_started/t_done differ from the cmd/cpl handshakes");
    } else {
      expect(t_s == t_d, where + "internal completion with t_started != t_done");
    }
    ++bins_["prov: record checked"];
  }

  void on_dev_write(uint64_t a, unsigned beats) {
    for (unsigned q = 0; q < kNumQ; ++q) {
      HostQ& h = q_[q];
      if (h.prov && a >= h.prov_base && a < h.prov_base + 64ull * (h.mask + 1)) {
        const uint32_t slot = static_cast<uint32_t>((a - h.prov_base) / 64);
        expect(beats == 7 && (a & 63) == 0, "provenance record write of the wrong shape");
        // the record comes right before the CQE of the same slot
        expect(h.prov_writes == h.cq_writes && slot == (h.cq_writes & h.mask),
               "queue " + std::to_string(q) + ": provenance record for slot " + std::to_string(slot) +
                   " out of order");
        for (unsigned i = 0; i < 4; ++i) {
          if (mem_.wr_err_lines().count(a + 16ull * i)) {
            ++bins_["axi: provenance write error"];
            break;
          }
        }
        ++h.prov_writes;
        return;
      }
      if (a < h.cq_base || a >= h.cq_base + 16ull * (h.mask + 1)) continue;
      expect(beats == 2, "CQE write of the wrong length");
      expect(!h.prov || h.prov_writes == h.cq_writes + 1,
             "queue " + std::to_string(q) + ": CQE written without its provenance record first");
      const uint32_t slot = static_cast<uint32_t>((a - h.cq_base) / 16);
      expect(h.en, "CQE written for disabled queue " + std::to_string(q));
      expect(slot == (h.cq_writes & h.mask), "queue " + std::to_string(q) + ": CQE written to slot " +
                                                 std::to_string(slot) + ", expected " +
                                                 std::to_string(h.cq_writes & h.mask));
      expect(((slot + 1) & h.mask) != h.dut_cq_head,
             "queue " + std::to_string(q) + ": CQE written into a full CQ (slot " + std::to_string(slot) + ")");
      // after this write the tail is slot + 1: full when one more would meet the head
      if (((slot + 2) & h.mask) == h.dut_cq_head) ++bins_["cq: filled to full"];
      if (mem_.wr_err_lines().count(a)) ++bins_["axi: write error"];
      ++h.cq_writes;
      return;
    }
    expect(false, "device write outside every CQ and provenance ring");
  }

  void step() {
    auto& d = sim_.dut();
    auto& r = rng();
    const uint64_t cyc = sim_.cycle();
    // ---- drive
    d.time_i = kTimeBase + cyc;
    mem_.drive(d, cyc);
    if (!db_drv_ && !dbq_.empty() && std::bernoulli_distribution(0.6)(r)) {
      cur_db_ = dbq_.front();
      dbq_.pop_front();
      db_drv_ = true;
    }
    d.db_valid_i = db_drv_;
    d.db_qid_i = db_drv_ ? cur_db_.q : static_cast<unsigned>(r() % kNumQ);
    d.db_is_cq_i = db_drv_ ? cur_db_.is_cq : (r() & 1);
    d.db_value_i = db_drv_ ? cur_db_.value : static_cast<uint16_t>(r());
    d.cmd_ready_i = std::bernoulli_distribution(cfg_.p_cmd_ready)(r);
    if (!cpl_drv_ && !ex_.empty() && ex_.front().ready_at <= cyc) {
      cur_cpl_ = ex_.front();
      ex_.pop_front();
      cpl_drv_ = true;
    }
    d.cpl_valid_i = cpl_drv_;
    d.cpl_qid_i = cur_cpl_.q;
    d.cpl_cid_i = cur_cpl_.cid;
    d.cpl_status_i = cur_cpl_.status;
    d.cpl_result_i = cur_cpl_.result;
    d.cpl_defer_i = cur_cpl_.defer;
    if (!acpl_drv_ && !acpl_pend_.empty()) {
      // any ready one: deferred completions come out of order
      const size_t k = static_cast<size_t>(r() % acpl_pend_.size());
      if (acpl_pend_[k].ready_at <= cyc) {
        if (k != 0) ++bins_["acpl: out of order"];
        cur_acpl_ = acpl_pend_[k];
        acpl_pend_.erase(acpl_pend_.begin() + static_cast<long>(k));
        acpl_drv_ = true;
      }
    }
    d.acpl_valid_i = acpl_drv_;
    d.acpl_qid_i = cur_acpl_.q;
    for (unsigned i = 0; i < 16; ++i) d.acpl_sqe_i[i] = static_cast<uint32_t>(acpl_garbage_ >> (i % 2 * 32));
    {
      // the fields the engine posts; the rest is garbage it must ignore
      const Sqe& a = cur_acpl_.sqe;
      auto put = [&d](unsigned byte, uint8_t v) {
        d.acpl_sqe_i[byte / 4] = (d.acpl_sqe_i[byte / 4] & ~(0xFFu << (8 * (byte % 4)))) | (uint32_t{v} << (8 * (byte % 4)));
      };
      for (unsigned b : {0u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u}) put(b, a.b[b]);
    }
    d.acpl_status_i = cur_acpl_.status;
    d.acpl_result_i = cur_acpl_.result;
    for (unsigned i = 0; i < 3; ++i) {
      d.acpl_prov_i[2 * i] = static_cast<uint32_t>(cur_acpl_.prov[i]);
      d.acpl_prov_i[2 * i + 1] = static_cast<uint32_t>(cur_acpl_.prov[i] >> 32);
    }
    d.acpl_prov_i[6] = static_cast<uint32_t>(kTimeBase + cur_acpl_.t_done);
    d.acpl_prov_i[7] = static_cast<uint32_t>((kTimeBase + cur_acpl_.t_done) >> 32);
    sim_.settle();
    // ---- observe: error pulses only with an erroneous response on the bus this cycle
    expect(!d.err_bad_db_o || (d.db_valid_i && cur_db_.bad), "err_bad_db_o without a bad doorbell");
    expect(!d.err_axi_rd_o || (d.m_axi_rvalid_i && d.m_axi_rready_o && d.m_axi_rresp_i >= 2),
           "err_axi_rd_o without an error beat");
    expect(!d.err_axi_wr_o || (d.m_axi_bvalid_i && d.m_axi_bready_o && d.m_axi_bresp_i >= 2),
           "err_axi_wr_o without an error response");
    bad_db_pulses_ += d.err_bad_db_o;
    rd_err_pulses_ += d.err_axi_rd_o;
    wr_err_pulses_ += d.err_axi_wr_o;
    expect(d.busy_o || !(d.m_axi_arvalid_o || d.m_axi_awvalid_o || d.m_axi_wvalid_o || d.cmd_valid_o || d.cpl_ready_o),
           "busy_o low with a transfer in progress");
    if (d.m_axi_arvalid_o && (d.m_axi_arlen_o != 7 || (d.m_axi_araddr_o & 63))) {
      expect(false, "SQE fetch is not one aligned 8-beat burst");
    }
    mem_.observe(d, cyc);
    if (d.db_valid_i && d.db_ready_o) {
      db_drv_ = false;
      if (cur_db_.bad) {
        ++bad_db_sent_;
      } else if (cur_db_.is_cq) {
        q_[cur_db_.q].dut_cq_head = cur_db_.value;
      } else {
        q_[cur_db_.q].db_hist.emplace_back(cyc, cur_db_.covered);
      }
      ++bins_[std::string("db: ") + (cur_db_.is_cq ? "CQ head" : "SQ tail")];
    }
    if (d.cmd_valid_o && d.cmd_ready_i) {
      Sqe s;
      for (unsigned i = 0; i < 64; ++i) s.b[i] = static_cast<uint8_t>(d.cmd_sqe_o[i / 4] >> (8 * (i % 4)));
      const unsigned q = d.cmd_qid_o;
      if (q >= kNumQ) {
        expect(false, "cmd_qid_o out of range");
      } else if (auto e = ref_.on_cmd(q, s, cyc)) {
        expect(false, *e);
      }
      Exec x{q, s.cid(), 0, static_cast<uint32_t>(r()), cyc + 1 + r() % (cfg_.exec_max_delay + 1)};
      if (r() % 4 == 0) x.status = static_cast<uint16_t>(1 + r() % 0x7FFF);
      x.defer = std::bernoulli_distribution(cfg_.p_defer)(r);
      x.t_cmd = cyc;
      x.sqe = s;
      ex_.push_back(x);
      ++bins_["cmd: forwarded"];
    } else if (d.cmd_valid_o) {
      ++bins_["cmd: backpressure"];
    }
    if (d.cpl_valid_i && d.cpl_ready_o) {
      cpl_drv_ = false;
      const size_t idx = ref_.on_cpl(cur_cpl_.q, cur_cpl_.status, cur_cpl_.result, cyc, cur_cpl_.defer);
      if (cur_cpl_.defer) {
        // the I/O unit keeps the engine's times of the command and completes it later
        Acpl a{cur_cpl_.q, idx, cur_cpl_.sqe, static_cast<uint16_t>(r() % 3 == 0 ? 1 + r() % 0x7FFF : 0),
               static_cast<uint32_t>(r()), {}, 0, 0};
        for (unsigned i = 0; i < 3; ++i) a.prov[i] = uint64_t{d.cmd_prov_o[2 * i]} | (uint64_t{d.cmd_prov_o[2 * i + 1]} << 32);
        expect(a.prov[2] == kTimeBase + cur_cpl_.t_cmd, "cmd_prov_o: t_started is not the cmd handshake");
        a.t_done = cyc + r() % 50;
        a.ready_at = a.t_done + r() % 20;
        acpl_pend_.push_back(a);
        ++bins_["cpl: deferred"];
      }
    }
    if (d.acpl_valid_i && d.acpl_ready_o) {
      acpl_drv_ = false;
      ref_.on_acpl(cur_acpl_.q, cur_acpl_.index, cur_acpl_.status, cur_acpl_.result, cur_acpl_.t_done);
      acpl_garbage_ = r();
    } else if (d.acpl_valid_i) {
      ++bins_["acpl: waits"];
    }
    if (d.irq_valid_o) {
      if (d.irq_vector_o >= kNumQ) {
        expect(false, "irq_vector_o out of range");
      } else {
        HostQ& h = q_[d.irq_vector_o];
        ++h.irqs;
        // one pulse per CQE, right after it (the next CQE of a queue takes cycles to post)
        expect(h.irqs == h.cq_writes, "irq for queue " + std::to_string(d.irq_vector_o) +
                                          " does not follow its CQE one to one");
      }
    }
    if (d.m_axi_rvalid_i && d.m_axi_rready_o && d.m_axi_wvalid_o && d.m_axi_wready_i) {
      ++bins_["pipeline: SQE beat and write beat in one cycle"];
    }
    if (d.m_axi_awvalid_o && d.m_axi_awready_i && d.m_axi_wvalid_o) {
      ++bins_["pipeline: CQE address during the record's data"];
    }
    if (sim_.assertion_failed() && !sva_reported_) {
      sva_reported_ = true;
      expect(false, "RTL assertion failed");
    }
    sim_.tick();
  }

  Sim<Model> sim_;
  AxiMem<Model> mem_;
  HifRefModel ref_;
  std::vector<HostQ> q_;
  EpochCfg cfg_{};
  std::deque<Db> dbq_;
  Db cur_db_{};
  bool db_drv_ = false;
  std::deque<Exec> ex_;
  Exec cur_cpl_{};
  bool cpl_drv_ = false;
  std::vector<Acpl> acpl_pend_;
  Acpl cur_acpl_{};
  bool acpl_drv_ = false;
  uint64_t acpl_garbage_ = 0;
  uint64_t bad_db_sent_ = 0, rd_err0_ = 0, wr_err0_ = 0, total_cmds_ = 0;
  uint64_t bad_db_pulses_ = 0, rd_err_pulses_ = 0, wr_err_pulses_ = 0;
  bool sva_reported_ = false;
  int failures_ = 0;
  kvcpu::sim::Coverage bins_;
};

std::vector<std::string> required_bins() {
  std::vector<std::string> need = {
      "cqe: NOP SUCCESS", "cqe: INVALID_FIELD", "cqe: FETCH_ERROR", "cqe: forwarded",
      "cqe: executor error status", "cq: phase flip", "cq: filled to full", "sq: host found SQ full",
      "sq: all queues busy", "db: bad, value out of range", "db: bad, queue disabled", "db: CQ head",
      "db: SQ tail", "err: bad doorbell pulse", "err: axi read pulse", "err: axi write pulse",
      "cqe: INVALID_FIELD io_class", "prov: record checked", "axi: provenance write error",
      "axi: write error", "config: all queues enabled", "config: some queues disabled",
      "cmd: backpressure", "host: lazy CQ consumer", "cpl: deferred", "cqe: deferred",
      "cqe: deferred, several waiting", "acpl: out of order", "acpl: waits",
      "pipeline: SQE beat and write beat in one cycle", "pipeline: CQE address during the record's data"};
  for (unsigned k = 1; k <= 4; ++k) {
    need.push_back("sq: wrap at 2^" + std::to_string(k));
    need.push_back("config: size 2^" + std::to_string(k));
  }
  need.push_back("config: size 2^12");
  return need;
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions opt = SimOptions::from_args(argc, argv, KVCPU_TB_NAME);
  const uint64_t n = SimOptions::plusarg(argc, argv, "n", 20000);
  Bench b(opt);
  auto& r = b.rng();
  const AxiJitter jit[] = {{1.0, 0, 0.0}, {0.6, 4, 0.2}, {0.3, 12, 0.5}};
  const std::vector<std::string> required = required_bins();
  // n commands, then more epochs (up to 3n commands in all) while a required bin is empty:
  // the rarest (a provenance write error) get a few hits per 5,000 commands.
  unsigned epoch = 0;
  while (b.failures() == 0 && !b.sim().timed_out() &&
         (b.commands() < n || (b.commands() < 3 * n && b.bins().holes(required) > 0))) {
    EpochCfg c{};
    c.cmds = 300 + r() % 900;
    std::vector<unsigned> sizes(kNumQ);
    std::vector<bool> en(kNumQ, true);
    for (unsigned q = 0; q < kNumQ; ++q) {
      sizes[q] = 1 + (q + epoch) % 4;  // every small size in every epoch
    }
    if (epoch % 3 == 2) {  // some large rings, up to the maximum
      sizes[r() % kNumQ] = 5 + r() % (kMaxLog2 - 4);
      sizes[r() % kNumQ] = kMaxLog2;
    }
    if (epoch % 4 == 3) {
      for (unsigned q = 0; q < kNumQ; ++q) en[q] = (r() % 4) != 0;
      const unsigned on = static_cast<unsigned>(r() % kNumQ);  // at least one on, one off
      en[on] = true;
      en[(on + 1 + r() % (kNumQ - 1)) % kNumQ] = false;
    }
    const bool errors = epoch % 2 == 1;
    c.p_fetch_err = errors ? 0.05 : 0.0;
    c.p_bad_db = (epoch % 4 == 1 || epoch % 4 == 3) ? 0.002 : 0.0;
    c.p_wr_err = errors ? 0.05 : 0.0;
    c.jit = jit[epoch % 3];
    c.p_cmd_ready = epoch % 3 == 0 ? 1.0 : 0.5;
    c.exec_max_delay = epoch % 3 == 0 ? 0 : 20;
    c.p_defer = epoch % 3 == 1 ? 0.0 : 0.3;
    b.run_epoch(c, sizes, en);
    ++epoch;
  }
  b.bins().print(opt.name);
  const bool cov = b.bins().check(required);
  const bool sva = !b.sim().assertion_failed();
  std::printf("[%s] %u epochs, %" PRIu64 " commands, %" PRIu64 " cycles, %d mismatches, assertions %s, coverage %s\n",
              opt.name.c_str(), epoch, b.commands(), b.sim().cycle(), b.failures(), sva ? "clean" : "FAILED",
              cov ? "complete" : "INCOMPLETE");
  const bool pass = b.failures() == 0 && cov && sva && b.mem_ok() && !b.sim().timed_out();
  std::printf("[%s] %s (seed %" PRIu64 ")\n", opt.name.c_str(), pass ? "PASS" : "FAIL", b.sim().seed());
  return pass ? 0 : 1;
}
