// kvcpu_narb testbench: random request mixes against NarbModel (sw/model/narb.h), decision
// by decision. Every cycle whose output register is empty the model decides too; the next
// cycle the DUT must show exactly that command (slot, class, every request field) or
// nothing, and hold it until disp_ready_i. Every counter, the outstanding counts, the queue
// occupancies and req_ready_o are compared every cycle.
//
// The run is cut into phases; each picks a mode, tunables (budgets 0..255, deadlines, tag
// reserve 0..2*NumSlots, WRR weights, or the defaults), a class mix (sometimes one class),
// request/ready/completion rates, a time step per cycle, and drains at its end (tunables
// change only while idle, as docs/narb.md asks). Completions come back in random order with
// random latency, some with an error status, some for slots not in flight (counted errors).
// "Flood" phases (KAIRO, a decode queue that never empties, decode budget 255, other classes
// rare) check the starvation bound: every non-decode request leaves at most its class
// deadline + slack after reaching its queue head.
// Coverage: mode x class, every KAIRO rule, every counter event, reservation holding back a
// non-decode class while decode uses a reserved slot, FIFO head-of-line blocking, full
// queues, held outputs, all slots busy, every decode-latency bucket (the 10 Kairo ones and the
// 32 fine ones, every counter compared each cycle), the adaptive controller
// boosting, relaxing and skipping thin windows (its effective budgets, p99 bucket and
// counters are compared every cycle), the KAIRO decode protection (the write turn of each
// write class, the non-decode cap and the write pacing holding a class back, an aged write
// passing the pacing); a hole fails the run.
//
//   tb_narb[_small] [+seed=N] [+cycles=N] [+trace[=FILE]]
#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include KVCPU_TB_MODEL_HEADER
#include "coverage.h"
#include "narb.h"
#include "sim.h"

namespace {

using Model = KVCPU_TB_MODEL;
using kvcpu::sim::Coverage;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
namespace m = kvcpu::model;

constexpr unsigned kQDepth = KVCPU_TB_QDEPTH;
constexpr unsigned kSlots = KVCPU_TB_SLOTS;
constexpr unsigned kTimeW = 32;
constexpr unsigned kCntW = 32;
constexpr unsigned kSlotW =
    kSlots <= 2
        ? 1
        : (kSlots <= 4 ? 2 : (kSlots <= 8 ? 3 : (kSlots <= 16 ? 4 : (kSlots <= 32 ? 5 : 6))));
constexpr unsigned kQCntW =
    kQDepth + 1 <= 2 ? 1 : (kQDepth + 1 <= 4 ? 2 : (kQDepth + 1 <= 8 ? 3 : 4));
constexpr uint64_t kCntMask = kCntW >= 64 ? ~0ull : (1ull << kCntW) - 1;
constexpr const char* kModeName[4] = {"FIFO", "RR", "WRR", "KAIRO"};
constexpr const char* kClsName[5] = {"DECODE", "PREFETCH", "PREFILL", "EVICT", "NORMAL"};

struct Phase {
  m::NarbConfig cfg;
  std::array<unsigned, 5> mix{};
  unsigned p_req = 50, p_ready = 80, p_cpl = 50, p_bad_cpl = 1, p_err = 2;
  uint64_t dt_max = 2, lat_min = 0, lat_max = 50;  // µs
  bool flood = false;
  bool fair = false;  // session fairness: session 0 floods decode, session 1 is quiet
  bool fair_model = false;  // with fair: the same by model (model 0 floods, model 1 quiet)
  // Coalescing: how often a request continues its class's LBA stream (percent), and whether
  // requests are short (1..4 blocks, so that pairs fit merge_max_blocks) and mergeable.
  unsigned p_adjacent = 0, p_mergeable = 0;
  bool short_reqs = false;
};

struct Inflight {
  uint32_t slot;
  uint64_t due_us;
};

unsigned Rand(std::mt19937_64& r, unsigned n) {
  return n == 0 ? 0 : static_cast<unsigned>(r() % n);
}

Phase MakePhase(std::mt19937_64& r, unsigned idx) {
  Phase p;
  const bool defaults = idx % 7 == 0;
  p.flood = idx % 5 == 4;
  p.cfg.mode = p.flood
                   ? m::NarbMode::kKairo
                   : static_cast<m::NarbMode>(idx < 8 ? idx % 4 : (Rand(r, 2) ? 3 : Rand(r, 4)));
  if (defaults) {
    p.cfg = m::NarbConfig{};
    p.cfg.mode = static_cast<m::NarbMode>(Rand(r, 4));
    p.cfg.tag_reserve = kSlots / 8;
    p.dt_max = 200 + Rand(r, 2000);
    p.lat_max = 500 + Rand(r, 4000);
  } else {
    const uint32_t budgets[] = {0, 1, 2, 3, 4, 8, 16, 32, 255};
    p.cfg.decode_budget = Rand(r, 3) ? budgets[Rand(r, 9)] : Rand(r, 256);
    p.cfg.prefetch_budget = Rand(r, 3) ? budgets[Rand(r, 9)] : Rand(r, 256);
    p.cfg.prefetch_deadline_us = 10 + Rand(r, 400);
    p.cfg.write_deadline_us = 20 + Rand(r, 1500);
    p.cfg.evict_deadline_us = 50 + Rand(r, 3000);
    p.cfg.normal_deadline_us = 50 + Rand(r, 2000);
    p.cfg.tag_reserve = Rand(r, 4) ? Rand(r, kSlots / 2 + 1) : Rand(r, 2 * kSlots);
    p.cfg.wrr_weights = static_cast<uint16_t>(r());
    p.cfg.ctrl_mode = Rand(r, 2) ? 0 : Rand(r, 4);
    p.cfg.ctrl_window_us = 50 + Rand(r, 3000);
    const uint32_t mins[] = {0, 1, 4, 16, 64};
    p.cfg.ctrl_min_samples = mins[Rand(r, 5)];
    const uint64_t targets[] = {5, 10, 30, 100, 400, 1000, 5000, 10000};
    p.cfg.target_p99_us = targets[Rand(r, 8)];
    p.cfg.ctrl_max_decode_budget = Rand(r, 3) ? 64 : Rand(r, 256);
    // Decode protection: cap 0 (off), 1..NumSlots or past it; write gap 0 (off) or 1..300.
    p.cfg.nd_cap = Rand(r, 3) ? Rand(r, kSlots + 2) : 0;
    p.cfg.write_gap_us = Rand(r, 3) ? Rand(r, 300) : 0;
    // Session fairness: off, a small burst, or any 8-bit burst; refill 0..199 us.
    p.cfg.sess_burst = Rand(r, 2) ? 0 : (Rand(r, 3) ? 1 + Rand(r, 4) : Rand(r, 256));
    p.cfg.sess_refill_us = Rand(r, 200);
    // Model fairness likewise (both on in some phases: a request needs a token of each).
    p.cfg.model_burst = Rand(r, 2) ? 0 : (Rand(r, 3) ? 1 + Rand(r, 4) : Rand(r, 256));
    p.cfg.model_refill_us = Rand(r, 200);
    // Coalescing: off, on in random classes, or in all four; any size limit.
    p.cfg.merge_classes = Rand(r, 3) ? Rand(r, 16) : 0xF;
    const uint32_t limits[] = {0, 1, 2, 3, 4, 8, 0xFFFF};
    p.cfg.merge_max_blocks = Rand(r, 4) ? limits[Rand(r, 7)] : Rand(r, 0x10000);
    p.dt_max = Rand(r, 8);
    p.lat_min = Rand(r, 10);
    p.lat_max = p.lat_min + Rand(r, 200);
    if (Rand(r, 8) == 0) {  // long latencies: the fine buckets up to > 20,000 us
      p.dt_max = 20 + Rand(r, 400);
      p.lat_max = p.lat_min + Rand(r, 30000);
    }
  }
  for (auto& w : p.mix) {
    w = Rand(r, 3) ? 1 + Rand(r, 10) : 0;
  }
  if (Rand(r, 3) != 0) {
    p.p_adjacent = Rand(r, 101);
    p.p_mergeable = Rand(r, 4) ? 50 + Rand(r, 51) : Rand(r, 101);
    p.short_reqs = Rand(r, 4) != 0;
  }
  if (Rand(r, 6) == 0) {  // one class alone
    p.mix = {};
    p.mix[Rand(r, 5)] = 1;
  }
  if (std::all_of(p.mix.begin(), p.mix.end(), [](unsigned w) { return w == 0; })) {
    p.mix[Rand(r, 5)] = 1;
  }
  p.p_req = 10 + Rand(r, 91);
  p.p_ready = 20 + Rand(r, 81);
  p.p_cpl = 10 + Rand(r, 91);
  if (p.flood) {
    p.cfg.decode_budget = 255;
    p.cfg.prefetch_budget = 255;
    p.cfg.tag_reserve = 1 + Rand(r, kSlots / 2);
    p.cfg.nd_cap = Rand(r, 2) ? Rand(r, kSlots + 1) : 0;
    p.cfg.write_gap_us = Rand(r, 2) ? Rand(r, 100) : 0;
    p.mix = {200, 1, 1, 1, 1};
    p.p_req = 100;
    p.p_ready = 100;
    p.p_cpl = 100;
    p.dt_max = 1 + Rand(r, 3);
    p.lat_min = 0;
    p.lat_max = 5 + Rand(r, 20);
  }
  if (idx % 10 == 7 || idx % 10 == 3) {
    // fairness phases: by session (7) or by model (3); the other bank off
    p.flood = false;
    p.fair = true;
    p.fair_model = idx % 10 == 3;
    p.cfg.mode = m::NarbMode::kKairo;
    p.cfg.sess_burst = p.fair_model ? 0 : 1 + Rand(r, 4);
    p.cfg.sess_refill_us = 10 + Rand(r, 50);
    p.cfg.model_burst = p.fair_model ? 1 + Rand(r, 4) : 0;
    p.cfg.model_refill_us = 10 + Rand(r, 50);
    p.cfg.decode_budget = 1 + Rand(r, 255);  // (0 would let NORMAL, the demoted flood, go first)
    p.mix = {1, 0, 0, 0, 0};
    p.p_req = 100;
    p.p_ready = 50 + Rand(r, 51);
    p.p_cpl = 100;
    p.dt_max = 1 + Rand(r, 3);
    p.lat_min = 0;
    p.lat_max = 5 + Rand(r, 40);
  }
  return p;
}

uint64_t Deadline(const m::NarbConfig& c, unsigned cls) {
  switch (cls) {
    case 1:
      return c.prefetch_deadline_us;
    case 2:
      return c.write_deadline_us;
    case 3:
      return c.evict_deadline_us;
    case 4:
      return c.normal_deadline_us;
    default:
      return 0;
  }
}

int Run(int argc, char** argv) {
  SimOptions opt = SimOptions::from_args(argc, argv, KVCPU_TB_NAME);
  const uint64_t total_cycles = SimOptions::plusarg(argc, argv, "cycles", 400000);
  const uint64_t phase_cycles = SimOptions::plusarg(argc, argv, "phase", 6000);
  Sim<Model> sim(opt);
  auto& dut = sim.dut();
  auto& rng = sim.rng();
  Coverage cov;
  uint64_t errors = 0;
  uint64_t last_relaxes = 0, last_updates = 0;  // the controller's judgements seen so far
  auto fail = [&](const char* what, uint64_t got, uint64_t want) {
    if (errors < 20) {
      std::printf("[%s] MISMATCH cycle %" PRIu64 ": %s: dut %" PRIu64 " model %" PRIu64 "\n",
                  KVCPU_TB_NAME, sim.cycle(), what, got, want);
    }
    ++errors;
  };

  m::NarbModel model(kQDepth, kSlots, kTimeW);
  uint64_t now = 0;
  auto apply_cfg = [&](const m::NarbConfig& c) {
    model.config() = c;
    dut.mode_i = static_cast<uint8_t>(c.mode);
    dut.cfg_decode_budget_i = c.decode_budget;
    dut.cfg_prefetch_budget_i = c.prefetch_budget;
    dut.cfg_prefetch_deadline_us_i = static_cast<uint32_t>(c.prefetch_deadline_us);
    dut.cfg_write_deadline_us_i = static_cast<uint32_t>(c.write_deadline_us);
    dut.cfg_evict_deadline_us_i = static_cast<uint32_t>(c.evict_deadline_us);
    dut.cfg_normal_deadline_us_i = static_cast<uint32_t>(c.normal_deadline_us);
    dut.cfg_tag_reserve_i = c.tag_reserve;
    dut.cfg_wrr_weights_i = c.wrr_weights;
    dut.cfg_ctrl_mode_i = c.ctrl_mode;
    dut.cfg_target_p99_us_i = static_cast<uint32_t>(c.target_p99_us);
    dut.cfg_ctrl_window_us_i = static_cast<uint32_t>(c.ctrl_window_us);
    dut.cfg_ctrl_min_samples_i = static_cast<uint16_t>(c.ctrl_min_samples);
    dut.cfg_ctrl_max_decode_budget_i = c.ctrl_max_decode_budget;
    dut.cfg_nd_cap_i = c.nd_cap;
    dut.cfg_write_gap_us_i = static_cast<uint32_t>(c.write_gap_us);
    dut.cfg_sess_burst_i = c.sess_burst;
    dut.cfg_sess_refill_us_i = static_cast<uint32_t>(c.sess_refill_us);
    dut.cfg_model_burst_i = c.model_burst;
    dut.cfg_model_refill_us_i = static_cast<uint32_t>(c.model_refill_us);
    dut.cfg_merge_classes_i = c.merge_classes & 0xF;
    dut.cfg_merge_max_blocks_i = static_cast<uint16_t>(c.merge_max_blocks);
  };
  m::NarbConfig init;
  init.tag_reserve = kSlots / 8;
  apply_cfg(init);
  dut.now_us_i = 0;
  dut.req_valid_i = 0;
  dut.disp_ready_i = 0;
  dut.cpl_valid_i = 0;
  sim.reset();

  std::optional<m::NarbDispatch> out;  // what the output register must hold
  std::vector<Inflight> inflight;      // handed over, not completed
  bool req_pending = false;
  m::NarbRequest req;
  uint16_t next_tag = 0;
  std::array<uint64_t, 5> stream_lba{};  // where each class's LBA stream goes on
  // Starvation-bound bookkeeping: per class, the enqueue times of queued requests and when
  // the head reached the head.
  std::array<std::deque<uint64_t>, 5> tbq;
  std::array<uint64_t, 5> head_since{};
  std::array<uint64_t, 5> max_wait{}, max_wait_flood{};
  uint64_t decisions = 0, handovers = 0, bound_checks = 0;
  // Session fairness: the quiet session's request in the arbiter (its tag), when it was last
  // accepted, and what its decode reads and the flood's got.
  int32_t quiet_tag = -1;  // the quiet request's tag while it is in the arbiter, else -1
  bool quiet_presented = false;
  uint64_t quiet_last = 0, quiet_done = 0, quiet_max_wait = 0, flood_max_wait = 0;
  const auto t0 = std::chrono::steady_clock::now();

  unsigned phase_idx = 0;
  uint64_t cycle = 0;
  while (cycle < total_cycles && errors == 0) {
    Phase ph = MakePhase(rng, phase_idx++);
    apply_cfg(ph.cfg);
    const unsigned mode = static_cast<unsigned>(ph.cfg.mode);
    const unsigned mix_sum = ph.mix[0] + ph.mix[1] + ph.mix[2] + ph.mix[3] + ph.mix[4];
    const uint64_t slack = 4 * kQDepth * (ph.lat_max + 8 * ph.dt_max) + 64 * ph.dt_max;
    bool draining = false;
    uint64_t pc = 0;
    quiet_last = now;
    // The quiet session sends at most one decode read per two refills (so its bucket always
    // has a token when it does): it must never be demoted, whatever session 0 does.
    const uint64_t quiet_gap =
        2 * (ph.fair_model ? ph.cfg.model_refill_us : ph.cfg.sess_refill_us) + 2 * ph.dt_max + 1;
    while (errors == 0) {
      if (pc == phase_cycles) {
        draining = true;
      }
      const bool idle =
          !out && inflight.empty() && !req_pending && model.outstanding() == 0 && [&] {
            for (unsigned c = 0; c < 5; ++c) {
              if (model.queue_count(c)) {
                return false;
              }
            }
            return true;
          }();
      if (draining && idle) {
        break;
      }
      if (draining && pc > phase_cycles + 2000000) {
        fail("phase does not drain", 0, 1);
        break;
      }
      // ---- inputs of this cycle
      now += Rand(rng, static_cast<unsigned>(ph.dt_max + 1));
      dut.now_us_i = static_cast<uint32_t>(now);
      if (!req_pending && !draining && Rand(rng, 100) < ph.p_req) {
        unsigned pick = Rand(rng, mix_sum);
        unsigned c = 0;
        while (pick >= ph.mix[c]) {
          pick -= ph.mix[c];
          ++c;
        }
        req.cls = static_cast<uint8_t>(c == 4 && Rand(rng, 4) == 0 ? 4 + Rand(rng, 4) : c);
        req.session = static_cast<uint16_t>(Rand(rng, 4) ? Rand(rng, 8) : rng());
        quiet_presented = false;
        req.model = static_cast<uint8_t>(rng());
        if (ph.fair) {
          req.cls = 0;
          // the quiet session (model) 1, or the flood: bucket 0 (sessions / models 0 and 4)
          const bool quiet = quiet_tag < 0 && now - quiet_last >= quiet_gap;
          const uint8_t key = quiet ? 1 : static_cast<uint8_t>(4 * Rand(rng, 2));
          quiet_presented = quiet;
          if (ph.fair_model) {
            req.model = key;
          } else {
            req.session = key;
          }
        }
        req.opcode = static_cast<uint8_t>(c == 2 || c == 3 ? (Rand(rng, 4) ? 0x01 : 0x09) : 0x02);
        req.nblocks = static_cast<uint16_t>(ph.short_reqs ? 1 + Rand(rng, Rand(rng, 2) ? 1 : 4) : rng());
        // continue the class's stream (sometimes across 2^64), or start a new one
        const unsigned sc = m::NarbModel::ClassOf(req.cls);
        req.lba = Rand(rng, 100) < ph.p_adjacent ? stream_lba[sc]
                                                 : (Rand(rng, 16) ? rng() : ~uint64_t{0} - Rand(rng, 4));
        stream_lba[sc] = req.lba + req.nblocks;
        req.mergeable = Rand(rng, 100) < ph.p_mergeable;
        req.tag = next_tag++;
        req_pending = true;
      }
      dut.req_valid_i = req_pending;
      dut.req_class_i = req.cls;
      dut.req_session_i = req.session;
      dut.req_model_i = req.model;
      dut.req_opcode_i = req.opcode;
      dut.req_lba_i = req.lba;
      dut.req_nblocks_i = req.nblocks;
      dut.req_tag_i = req.tag;
      dut.req_merge_i = req.mergeable;
      dut.disp_ready_i = draining || Rand(rng, 100) < ph.p_ready;
      // Completion: a due in-flight command (random order), or rarely a slot not in flight.
      bool cpl = false, cpl_bad = false;
      uint32_t cpl_slot = 0;
      uint16_t cpl_status = 0;
      if (Rand(rng, 100) < ph.p_bad_cpl) {
        uint32_t s = Rand(rng, kSlots);
        if (!model.slot_busy(s)) {
          cpl = cpl_bad = true;
          cpl_slot = s;
        }
      }
      if (!cpl && !inflight.empty() && (draining || Rand(rng, 100) < ph.p_cpl)) {
        std::vector<size_t> due;
        for (size_t i = 0; i < inflight.size(); ++i) {
          if (inflight[i].due_us <= now || draining) {
            due.push_back(i);
          }
        }
        if (!due.empty()) {
          const size_t i = due[Rand(rng, static_cast<unsigned>(due.size()))];
          cpl = true;
          cpl_slot = inflight[i].slot;
          cpl_status = Rand(rng, 100) < ph.p_err ? 0x4004 : 0;
          inflight.erase(inflight.begin() + static_cast<long>(i));
        }
      }
      dut.cpl_valid_i = cpl;
      dut.cpl_slot_i = cpl_slot;
      dut.cpl_status_i = cpl_status;
      sim.settle();

      // ---- compare
      const bool dvalid = dut.disp_valid_o;
      if (out) {
        if (!dvalid) {
          fail("disp_valid_o (a dispatch was due)", 0, 1);
        } else {
          if (dut.disp_slot_o != out->slot) fail("disp_slot_o", dut.disp_slot_o, out->slot);
          if (dut.disp_class_o != out->cls) fail("disp_class_o", dut.disp_class_o, out->cls);
          if (dut.disp_tag_o != out->req.tag) fail("disp_tag_o", dut.disp_tag_o, out->req.tag);
          if (dut.disp_session_o != out->req.session)
            fail("disp_session_o", dut.disp_session_o, out->req.session);
          if (dut.disp_model_o != out->req.model)
            fail("disp_model_o", dut.disp_model_o, out->req.model);
          if (dut.disp_opcode_o != out->req.opcode)
            fail("disp_opcode_o", dut.disp_opcode_o, out->req.opcode);
          if (dut.disp_lba_o != out->req.lba) fail("disp_lba_o", dut.disp_lba_o, out->req.lba);
          if (dut.disp_nblocks_o != out->nblocks)
            fail("disp_nblocks_o", dut.disp_nblocks_o, out->nblocks);
          const unsigned ntags = out->second ? 2 : 1;
          if (dut.disp_ntags_o != ntags) fail("disp_ntags_o", dut.disp_ntags_o, ntags);
          if (out->second && dut.disp_tag2_o != out->second->tag)
            fail("disp_tag2_o", dut.disp_tag2_o, out->second->tag);
        }
      } else if (dvalid) {
        fail("disp_valid_o (nothing was due)", 1, 0);
      }
      const uint8_t rcls = model.QueueOf(req);
      if (static_cast<bool>(dut.req_ready_o) != model.CanAccept(req)) {
        fail("req_ready_o", dut.req_ready_o, model.CanAccept(req));
      }
      const auto& k = model.counters();
      const uint64_t dut_disp[5] = {dut.cnt_disp_decode_o, dut.cnt_disp_prefetch_o,
                                    dut.cnt_disp_prefill_o, dut.cnt_disp_evict_o,
                                    dut.cnt_disp_normal_o};
      for (unsigned c = 0; c < 5; ++c) {
        if (dut_disp[c] != (k.disp[c] & kCntMask))
          fail("cnt_disp_<class>_o", dut_disp[c], k.disp[c]);
      }
      if (dut.cnt_prefetch_deadline_hits_o != (k.prefetch_deadline_hits & kCntMask))
        fail("cnt_prefetch_deadline_hits_o", dut.cnt_prefetch_deadline_hits_o,
             k.prefetch_deadline_hits);
      if (dut.cnt_prefetch_budget_skips_o != (k.prefetch_budget_skips & kCntMask))
        fail("cnt_prefetch_budget_skips_o", dut.cnt_prefetch_budget_skips_o,
             k.prefetch_budget_skips);
      if (dut.cnt_decode_budget_skips_o != (k.decode_budget_skips & kCntMask))
        fail("cnt_decode_budget_skips_o", dut.cnt_decode_budget_skips_o, k.decode_budget_skips);
      if (dut.cnt_starvation_escapes_o != (k.starvation_escapes & kCntMask))
        fail("cnt_starvation_escapes_o", dut.cnt_starvation_escapes_o, k.starvation_escapes);
      if (dut.cnt_prefill_demotions_o != (k.prefill_demotions & kCntMask))
        fail("cnt_prefill_demotions_o", dut.cnt_prefill_demotions_o, k.prefill_demotions);
      if (dut.cnt_evict_demotions_o != (k.evict_demotions & kCntMask))
        fail("cnt_evict_demotions_o", dut.cnt_evict_demotions_o, k.evict_demotions);
      if (dut.cnt_cpl_errors_o != (k.cpl_errors & kCntMask))
        fail("cnt_cpl_errors_o", dut.cnt_cpl_errors_o, k.cpl_errors);
      if (dut.cnt_coalesced_o != (k.coalesced & kCntMask))
        fail("cnt_coalesced_o", dut.cnt_coalesced_o, k.coalesced);
      for (unsigned b = 0; b < m::kNarbHistBuckets; ++b) {
        const uint64_t h = dut.cnt_hist_o[b];  // CntW = 32: one word per bucket
        if (h != (k.hist[b] & kCntMask)) fail("cnt_hist_o[bucket]", h, k.hist[b]);
      }
      for (unsigned b = 0; b < m::kNarbFineBuckets; ++b) {
        const uint64_t h = dut.cnt_hist_fine_o[b];
        if (h != (k.hist_fine[b] & kCntMask)) fail("cnt_hist_fine_o[bucket]", h, k.hist_fine[b]);
      }
      if (dut.sts_outstanding_o != model.outstanding())
        fail("sts_outstanding_o", dut.sts_outstanding_o, model.outstanding());
      if (dut.sts_outstanding_nd_o != model.outstanding_nondecode())
        fail("sts_outstanding_nd_o", dut.sts_outstanding_nd_o, model.outstanding_nondecode());
      for (unsigned c = 0; c < 5; ++c) {
        const unsigned q =
            static_cast<unsigned>((dut.sts_q_count_o >> (c * kQCntW)) & ((1u << kQCntW) - 1));
        if (q != model.queue_count(c)) fail("sts_q_count_o[class]", q, model.queue_count(c));
      }
      if (dut.cnt_ctrl_updates_o != (k.ctrl_updates & kCntMask))
        fail("cnt_ctrl_updates_o", dut.cnt_ctrl_updates_o, k.ctrl_updates);
      if (dut.cnt_ctrl_boosts_o != (k.ctrl_boosts & kCntMask))
        fail("cnt_ctrl_boosts_o", dut.cnt_ctrl_boosts_o, k.ctrl_boosts);
      if (dut.cnt_ctrl_relaxes_o != (k.ctrl_relaxes & kCntMask))
        fail("cnt_ctrl_relaxes_o", dut.cnt_ctrl_relaxes_o, k.ctrl_relaxes);
      if (dut.cnt_ctrl_insufficient_o != (k.ctrl_insufficient & kCntMask))
        fail("cnt_ctrl_insufficient_o", dut.cnt_ctrl_insufficient_o, k.ctrl_insufficient);
      if (dut.cnt_write_turns_o != (k.write_turns & kCntMask))
        fail("cnt_write_turns_o", dut.cnt_write_turns_o, k.write_turns);
      if (dut.cnt_pace_holds_o != (k.pace_holds & kCntMask))
        fail("cnt_pace_holds_o", dut.cnt_pace_holds_o, k.pace_holds);
      if (dut.cnt_cap_holds_o != (k.cap_holds & kCntMask))
        fail("cnt_cap_holds_o", dut.cnt_cap_holds_o, k.cap_holds);
      if (dut.cnt_sess_demotions_o != (k.sess_demotions & kCntMask))
        fail("cnt_sess_demotions_o", dut.cnt_sess_demotions_o, k.sess_demotions);
      if (dut.cnt_model_demotions_o != (k.model_demotions & kCntMask))
        fail("cnt_model_demotions_o", dut.cnt_model_demotions_o, k.model_demotions);
      for (unsigned b = 0; b < m::kNarbModelBuckets; ++b) {
        const uint32_t t = (dut.sts_model_tokens_o >> (8 * b)) & 0xFF;
        if (t != model.model_tokens(b)) fail("sts_model_tokens_o[bucket]", t, model.model_tokens(b));
      }
      for (unsigned b = 0; b < m::kNarbSessBuckets; ++b) {
        const uint32_t t = (dut.sts_sess_tokens_o >> (8 * b)) & 0xFF;
        if (t != model.sess_tokens(b)) fail("sts_sess_tokens_o[bucket]", t, model.sess_tokens(b));
      }
      if (dut.sts_eff_decode_budget_o != model.eff_decode_budget())
        fail("sts_eff_decode_budget_o", dut.sts_eff_decode_budget_o, model.eff_decode_budget());
      if (dut.sts_eff_prefetch_budget_o != model.eff_prefetch_budget())
        fail("sts_eff_prefetch_budget_o", dut.sts_eff_prefetch_budget_o,
             model.eff_prefetch_budget());
      if (dut.sts_p99_bucket_o != model.p99_bucket())
        fail("sts_p99_bucket_o", dut.sts_p99_bucket_o, model.p99_bucket());
      if (dut.sts_p99_fine_o != model.p99_fine_bucket())
        fail("sts_p99_fine_o", dut.sts_p99_fine_o, model.p99_fine_bucket());
      if (k.ctrl_relaxes != last_relaxes) {
        // the fine edge decides where the Kairo edge of the same p99 would have boosted
        const unsigned kb = model.p99_bucket();
        if (kb == m::kNarbHistBuckets - 1 || m::kNarbHistEdges[kb] > ph.cfg.target_p99_us)
          ++cov["controller relaxes on a fine edge the Kairo edge would boost"];
        last_relaxes = k.ctrl_relaxes;
      }
      if (k.ctrl_updates != last_updates) {
        const unsigned f = model.p99_fine_bucket();
        if (f < m::kNarbFineBuckets - 1 && m::kNarbFineEdges[f] != m::kNarbHistEdges[model.p99_bucket()])
          ++cov["controller p99 inside a Kairo bucket"];
        last_updates = k.ctrl_updates;
      }
      if (ph.cfg.ctrl_mode >= 2 && model.eff_decode_budget() != ph.cfg.decode_budget)
        ++cov["adaptive decode budget away from the tunable"];
      if (mode == 3) {
        if (dut.sts_dec_used_o != model.dec_used())
          fail("sts_dec_used_o", dut.sts_dec_used_o, model.dec_used());
        if (dut.sts_pf_used_o != model.pf_used())
          fail("sts_pf_used_o", dut.sts_pf_used_o, model.pf_used());
      }
      if (errors) {
        break;
      }

      // ---- coverage of this cycle's inputs
      if (req_pending && !dut.req_ready_o) ++cov["request held (queue full)"];
      if (dvalid && !dut.disp_ready_i) ++cov["dispatch held (disp_ready low)"];
      if (model.outstanding() == kSlots && req_pending) ++cov["all slots busy"];
      if (cpl_bad) ++cov["completion for a slot not in flight"];
      if (cpl && !cpl_bad && cpl_status) ++cov["completion with error status"];

      // ---- the model follows the cycle: bogus completion (changes only a counter), the
      // decision on the state at the start of the cycle, then the accepted request and the
      // completion.
      if (cpl_bad) {
        model.Complete(cpl_slot, cpl_status, now);
      }
      const bool handshake = dvalid && dut.disp_ready_i;
      if (handshake) {
        ++handovers;
        inflight.push_back(Inflight{
            out->slot,
            now + ph.lat_min + Rand(rng, static_cast<unsigned>(ph.lat_max - ph.lat_min + 1))});
        out.reset();
      } else if (!out) {
        const unsigned nd_before = model.outstanding_nondecode();
        const unsigned reserve = std::min<unsigned>(ph.cfg.tag_reserve, kSlots - 1);
        std::array<bool, 5> nonempty{};
        for (unsigned c = 0; c < 5; ++c) nonempty[c] = model.queue_count(c) > 0;
        // the two requests at the head of each class, for the coalescing bins
        std::array<std::optional<std::pair<m::NarbRequest, m::NarbRequest>>, 5> pair;
        for (unsigned c = 0; c < 5; ++c) {
          if (model.queue_count(c) >= 2) pair[c] = {*model.queued(c, 0), *model.queued(c, 1)};
        }
        out = model.Decide(now);
        if (out) {
          ++decisions;
          const unsigned c = out->cls;
          ++cov[std::string(kModeName[mode]) + " " + kClsName[c]];
          if (mode == 3) {
            ++cov["KAIRO rule " + std::to_string(static_cast<unsigned>(out->rule))];
            if (out->rule == m::NarbRule::kWriteTurn) {
              ++cov[std::string("KAIRO write turn ") + kClsName[c]];
            }
            if (model.last_cap_held() && c == 0) ++cov["cap holds back a non-decode class"];
            if (model.last_pace_held()) ++cov["pacing holds back a write"];
            if (model.last_pace_held() && (out->rule == m::NarbRule::kAgedPrefill ||
                                           out->rule == m::NarbRule::kAgedEvict ||
                                           out->rule == m::NarbRule::kAgedNormal)) {
              ++cov["aged write passes the pacing"];
            }
          }
          if (c == 0 && nd_before >= kSlots - reserve && reserve > 0 &&
              (nonempty[1] || nonempty[2] || nonempty[3] || nonempty[4])) {
            ++cov["reservation holds back a non-decode class"];
          }
          if (out->second) {
            ++cov[std::string("coalesced ") + kClsName[c]];
            ++cov[std::string("coalesced in ") + kModeName[mode]];
            if (out->req.lba + out->req.nblocks < out->req.lba) ++cov["coalesced across LBA 2^64"];
          } else if (pair[c]) {
            // an adjacent pair left apart: say why (the model decided; the DUT agreed)
            const auto& [h, n] = *pair[c];
            if (n.lba == h.lba + h.nblocks && h.opcode == n.opcode && h.mergeable && n.mergeable) {
              if (c == 0) {
                ++cov["adjacent pair apart: DECODE"];
              } else if (((ph.cfg.merge_classes >> (c - 1)) & 1) == 0) {
                ++cov["adjacent pair apart: class off"];
              } else if (uint32_t{h.nblocks} + n.nblocks > ph.cfg.merge_max_blocks) {
                ++cov["adjacent pair apart: over the size limit"];
              }
            } else if (n.lba == h.lba + h.nblocks && c != 0 &&
                       ((ph.cfg.merge_classes >> (c - 1)) & 1) != 0) {
              ++cov[h.opcode != n.opcode ? "adjacent pair apart: opcodes differ"
                                         : "adjacent pair apart: not mergeable"];
            }
          }
          // Waits and the starvation bound.
          const uint64_t enq = tbq[c].front();
          tbq[c].pop_front();
          if (out->second) {
            tbq[c].pop_front();  // (it waited behind the head; the head's wait is the bound)
          }
          if (enq != out->enq_us) fail("tb queue order", enq, out->enq_us);
          if (ph.fair) {
            if (quiet_tag == out->req.tag) {
              if (c != 0) fail("fairness: the quiet session's (model's) decode read was demoted", c, 0);
              quiet_max_wait = std::max(quiet_max_wait, now - enq);
              // Its latency bound: the decode reads ahead of it in the DECODE queue, not
              // the flood (the same slack as the starvation bound).
              if (now - enq > slack) {
                std::printf("[%s] FAIRNESS: the quiet session's decode read waited %" PRIu64
                            " us (bound %" PRIu64 " us)\n",
                            KVCPU_TB_NAME, now - enq, slack);
                ++errors;
              }
              ++quiet_done;
              ++cov[ph.fair_model ? "model fairness: quiet model dispatched as DECODE"
                                  : "fairness: quiet session dispatched as DECODE"];
              quiet_tag = -1;
            } else {
              flood_max_wait = std::max(flood_max_wait, now - enq);
              if (c == 4) {
                ++cov[ph.fair_model ? "model fairness: flooding model demoted"
                                    : "fairness: flooding session demoted"];
              }
            }
          }
          const uint64_t wait = now - head_since[c];
          max_wait[c] = std::max(max_wait[c], now - enq);
          if (ph.flood && c != 0) {
            ++bound_checks;
            max_wait_flood[c] = std::max(max_wait_flood[c], wait);
            if (wait > Deadline(ph.cfg, c) + slack) {
              std::printf("[%s] STARVATION: %s waited %" PRIu64 " us at the head (deadline %" PRIu64
                          " + slack %" PRIu64 ")\n",
                          KVCPU_TB_NAME, kClsName[c], wait, Deadline(ph.cfg, c), slack);
              ++errors;
            }
          }
          head_since[c] = now;
        } else if (mode == 0) {
          bool any_el = false;
          for (unsigned c = 0; c < 5; ++c) any_el = any_el || model.last_eligible(c);
          if (any_el) ++cov["FIFO head-of-line blocking"];
        }
      }
      model.ControlTick(now);
      if (req_pending && dut.req_ready_o) {
        if (rcls != m::NarbModel::ClassOf(req.cls)) ++cov["session fairness demotes a DECODE request"];
        if (m::NarbModel::ClassOf(req.cls) == 0 && ph.cfg.mode == m::NarbMode::kKairo) {
          const bool s_on = (ph.cfg.sess_burst & 0xFF) != 0, m_on = (ph.cfg.model_burst & 0xFF) != 0;
          const bool s_empty = s_on && model.sess_tokens(req.session % m::kNarbSessBuckets) == 0;
          const bool m_empty = m_on && model.model_tokens(req.model % m::kNarbModelBuckets) == 0;
          if (s_empty && m_empty) ++cov["demoted: session and model buckets empty"];
          if (s_empty && !m_empty && m_on) ++cov["demoted: session bucket empty, model bucket not"];
          if (!s_empty && m_empty && s_on) ++cov["demoted: model bucket empty, session bucket not"];
          if (s_on && m_on && !s_empty && !m_empty) ++cov["DECODE takes a session and a model token"];
        }
        if (quiet_presented) {
          quiet_tag = req.tag;
          quiet_last = now;
          quiet_presented = false;
        }
        model.Enqueue(req, now);
        if (tbq[rcls].empty()) head_since[rcls] = now;
        tbq[rcls].push_back(now);
        ++cov["accepted class code " + std::to_string(req.cls)];
        req_pending = false;
      }
      if (cpl && !cpl_bad) {
        model.Complete(cpl_slot, cpl_status, now);
      }
      model.SessionTick(now);
      sim.tick();
      ++pc;
      ++cycle;
      if (sim.assertion_failed()) {
        fail("RTL assertion", 1, 0);
      }
    }
  }
  const auto& k = model.counters();
  if (k.prefetch_deadline_hits) ++cov["counter prefetch_deadline_hits"];
  if (k.prefetch_budget_skips) ++cov["counter prefetch_budget_skips"];
  if (k.decode_budget_skips) ++cov["counter decode_budget_skips"];
  if (k.starvation_escapes) ++cov["counter starvation_escapes"];
  if (k.prefill_demotions) ++cov["counter prefill_demotions"];
  if (k.evict_demotions) ++cov["counter evict_demotions"];
  for (unsigned b = 0; b < m::kNarbHistBuckets; ++b) {
    if (k.hist[b]) ++cov["decode latency bucket " + std::to_string(b)];
  }
  for (unsigned b = 0; b < m::kNarbFineBuckets; ++b) {
    if (k.hist_fine[b]) ++cov["decode latency fine bucket " + std::to_string(b)];
  }
  if (k.ctrl_boosts) ++cov["controller boosts"];
  if (k.ctrl_relaxes) ++cov["controller relaxes"];
  if (k.ctrl_insufficient) ++cov["controller window with too few samples"];
  if (k.write_turns) ++cov["counter write_turns"];
  if (k.pace_holds) ++cov["counter pace_holds"];
  if (k.cap_holds) ++cov["counter cap_holds"];
  if (k.model_demotions) ++cov["counter model_demotions"];
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cov.print(KVCPU_TB_NAME);
  std::printf("[%s] %" PRIu64 " cycles, %u phases, %" PRIu64 " decisions, %" PRIu64
              " handovers, %.1f s\n",
              KVCPU_TB_NAME, cycle, phase_idx, decisions, handovers, secs);
  for (unsigned c = 0; c < 5; ++c) {
    std::printf("[%s] %-8s max wait %8" PRIu64 " us overall, %8" PRIu64
                " us at head in flood phases\n",
                KVCPU_TB_NAME, kClsName[c], max_wait[c], max_wait_flood[c]);
  }
  std::printf("[%s] %" PRIu64 " starvation-bound checks\n", KVCPU_TB_NAME, bound_checks);
  std::printf("[%s] fairness phases (by session and by model): %" PRIu64
              " quiet-session/model decode reads, none demoted, max wait %" PRIu64
              " us (flooding session/model: max wait %" PRIu64 " us)\n",
              KVCPU_TB_NAME, quiet_done, quiet_max_wait, flood_max_wait);
  std::vector<std::string> req_bins;
  for (unsigned md = 0; md < 4; ++md) {
    for (unsigned c = 0; c < 5; ++c)
      req_bins.push_back(std::string(kModeName[md]) + " " + kClsName[c]);
  }
  for (unsigned r = 1; r <= 12; ++r) req_bins.push_back("KAIRO rule " + std::to_string(r));
  for (unsigned code = 0; code < 8; ++code)
    req_bins.push_back("accepted class code " + std::to_string(code));
  for (const char* b :
       {"request held (queue full)", "dispatch held (disp_ready low)", "all slots busy",
        "completion for a slot not in flight", "completion with error status",
        "reservation holds back a non-decode class", "FIFO head-of-line blocking",
        "counter prefetch_deadline_hits", "counter prefetch_budget_skips",
        "counter decode_budget_skips", "counter starvation_escapes", "counter prefill_demotions",
        "counter evict_demotions", "controller boosts", "controller relaxes",
        "controller window with too few samples", "adaptive decode budget away from the tunable",
        "KAIRO write turn PREFILL", "KAIRO write turn EVICT", "KAIRO write turn NORMAL",
        "cap holds back a non-decode class", "pacing holds back a write",
        "aged write passes the pacing", "counter write_turns", "counter pace_holds",
        "counter cap_holds", "session fairness demotes a DECODE request",
        "fairness: quiet session dispatched as DECODE", "fairness: flooding session demoted",
        "model fairness: quiet model dispatched as DECODE", "model fairness: flooding model demoted",
        "counter model_demotions", "demoted: session and model buckets empty",
        "demoted: session bucket empty, model bucket not", "demoted: model bucket empty, session bucket not",
        "DECODE takes a session and a model token", "coalesced PREFETCH", "coalesced PREFILL",
        "coalesced EVICT", "coalesced NORMAL", "coalesced in FIFO", "coalesced in RR",
        "coalesced in WRR", "coalesced in KAIRO", "coalesced across LBA 2^64",
        "adjacent pair apart: DECODE", "adjacent pair apart: class off",
        "adjacent pair apart: over the size limit", "adjacent pair apart: opcodes differ",
        "adjacent pair apart: not mergeable"}) {
    req_bins.push_back(b);
  }
  for (unsigned b = 0; b < m::kNarbHistBuckets; ++b)
    req_bins.push_back("decode latency bucket " + std::to_string(b));
  for (unsigned b = 0; b < m::kNarbFineBuckets; ++b)
    req_bins.push_back("decode latency fine bucket " + std::to_string(b));
  req_bins.push_back("controller relaxes on a fine edge the Kairo edge would boost");
  req_bins.push_back("controller p99 inside a Kairo bucket");
  const bool cov_ok = cov.check(req_bins);
  if (bound_checks == 0) {
    std::printf("[%s] no starvation-bound check ran\n", KVCPU_TB_NAME);
  }
  const bool ok = errors == 0 && cov_ok && bound_checks > 0;
  std::printf("[%s] %s (seed=%" PRIu64 ")\n", KVCPU_TB_NAME, ok ? "PASS" : "FAIL", sim.seed());
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
