// kvcpu_io testbench (docs/io.md). The I/O unit alone, verilated with NumCtx 8, NumSlots 4,
// a 3,000-cycle I/O timeout and 4 cycles per microsecond, between three C++ stand-ins:
//   - an executor that pushes random checked I/O commands (READ/WRITE/DISCARD, every class,
//     placement hints, one or two pages) with random provenance times;
//   - an arbiter that queues the requests and dispatches them in random order on random
//     free slots (harsher than kvcpu_narb, which tb_narb checks on its own), and sometimes
//     merges two queued mergeable requests of one NVMe opcode into one dispatch (ntags 2;
//     the unit does not check adjacency, the arbiter does);
//   - an SSD that answers each NVMe command after a random delay, out of order, with
//     SUCCESS, an error status or never, and sends stale CQEs (unknown CIDs, late answers).
// Checked against the spec, per command: push_ok_o iff a context is free (and the arbiter
// has room); the arbiter request's fields and arb_req_merge_o; one NVMe command per dispatch,
// byte-exact with sw/nvme's builders for the command (a merged one: 8 KiB, PRP1/PRP2 = the
// two buffers) and the CID {generation, context} of its lead (the generation moves on at
// every completion; unique among those at the SSD); exactly one arbiter completion per
// dispatch, with its slot; exactly one acpl per pushed command with its queue, routing
// fields, status and result (SUCCESS/length, NVME_ERROR/status, IO_TIMEOUT/0 no earlier than
// the timeout and at most NumCtx cycles after; both of a merged pair at once, a follower
// never alone), its provenance times and t_done; stale CQEs (unknown CIDs, late answers,
// a follower's CID); counters and now_us_o.
// Coverage bins must all be hit.
//
//   tb_io [+seed=N] [+n=COMMANDS] [+trace[=FILE]]
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "Vkvcpu_io.h"
#include "coverage.h"
#include "exec_model.h"
#include "nvme.h"
#include "sim.h"

namespace {

using Model = Vkvcpu_io;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
using kvcpu::tb::ExecCmd;
using kvcpu::tb::ExecRefModel;
namespace tb = kvcpu::tb;

constexpr unsigned kCtx = 8, kSlots = 4, kCtxW = 3;
constexpr uint64_t kTimeout = 3000, kCyclesPerUs = 4;
constexpr uint64_t kTimeBase = 0x0123'4567'0000'0000ull;

struct Cmd {
  ExecCmd c;
  unsigned qid = 0;
  uint64_t prov[3]{};
  // life in the unit
  unsigned ctx = 0;
  bool issued = false;
  bool follower = false;            // rides in another context's NVMe command
  std::optional<unsigned> partner;  // a lead's follower
  uint16_t cid = 0;
  unsigned slot = 0;
  uint64_t t_issue = 0;
  unsigned scan_misses = 0;  // cycles without a CQE match since its timeout was due
  // the SSD's answer: 0 ok, 1 error, 2 never
  unsigned answer = 0;
  uint16_t nvme_status = 0;
  uint64_t t_done = 0;  // cycle of the CQE / of the timeout
  bool done = false;
};

struct Queued {
  unsigned tag;
  uint8_t opcode;
  uint64_t lba;
  uint16_t nblocks;
  bool merge;  // arb_req_merge_o
};

struct Disp {
  Queued a;
  std::optional<Queued> b;  // merged: one NVMe command for both
};

std::string hex_prps(const std::array<uint8_t, 64>& b) {
  uint64_t p1 = 0, p2 = 0;
  for (unsigned i = 0; i < 8; ++i) {
    p1 |= uint64_t{b[24 + i]} << (8 * i);
    p2 |= uint64_t{b[32 + i]} << (8 * i);
  }
  char t[48];
  std::snprintf(t, sizeof t, "%" PRIx64 "/%" PRIx64, p1, p2);
  return t;
}

// The spec of arb_req_merge_o: a 4 KiB READ or WRITE without a placement hint.
bool mergeable(const ExecCmd& c) {
  return (c.opcode() == tb::kOpIoRead || c.opcode() == tb::kOpIoWrite) && c.length() == 4096 &&
         (c.b[43] & 0xF) == 0;
}

class Bench {
 public:
  explicit Bench(const SimOptions& opt) : sim_(opt) {}
  Sim<Model>& sim() { return sim_; }
  std::mt19937_64& rng() { return sim_.rng(); }
  const kvcpu::sim::Coverage& bins() const { return bins_; }
  int failures() const { return failures_; }
  uint64_t done() const { return completed_; }

  void expect(bool ok, const std::string& what) {
    if (!ok && failures_++ < 20) std::printf("MISMATCH (cycle %" PRIu64 "): %s\n", sim_.cycle(), what.c_str());
  }

  void run(uint64_t n) {
    auto& d = sim_.dut();
    d.push_i = 0;
    d.acpl_ready_i = 0;
    d.arb_req_ready_i = 1;
    d.arb_disp_valid_i = 0;
    d.nvme_sq_ready_i = 0;
    d.nvme_cq_valid_i = 0;
    d.time_i = kTimeBase;
    sim_.reset();
    reset_cycle_ = sim_.cycle() - 1;  // the counter starts in the cycle reset is released
    uint64_t pushed = 0, last = 0, last_cycle = sim_.cycle();
    while ((pushed < n || !ctx_.empty()) && failures_ == 0) {
      // phases of pressure: a full unit, idle gaps, a slow SSD, a slow engine
      const uint64_t ph = (sim_.cycle() / 5000) % 4;
      p_push_ = pushed < n ? (ph == 0 ? 0.9 : ph == 1 ? 0.05 : 0.4) : 0.0;
      p_acpl_ = ph == 2 ? 0.1 : 0.8;
      lat_max_ = ph == 3 ? 2000 : 200;
      if (step()) ++pushed;
      if (completed_ != last) {
        last = completed_;
        last_cycle = sim_.cycle();
      }
      if (sim_.cycle() - last_cycle > 4 * kTimeout + 10000) {
        expect(false, "no completion for a long time (hang)");
        break;
      }
    }
    for (int i = 0; i < 8; ++i) step();
    auto& dd = sim_.dut();
    expect(dd.cnt_stale_o == stale_sent_, "cnt_stale_o " + std::to_string(dd.cnt_stale_o) + ", stale CQEs sent " +
                                              std::to_string(stale_sent_));
    expect(dd.cnt_timeouts_o == timeouts_, "cnt_timeouts_o " + std::to_string(dd.cnt_timeouts_o) + ", want " +
                                               std::to_string(timeouts_));
    expect(dd.cnt_refused_o == refused_, "cnt_refused_o " + std::to_string(dd.cnt_refused_o) + ", want " +
                                             std::to_string(refused_));
    expect(dd.sts_in_use_o == 0 && !dd.busy_o, "contexts left in use at the end");
  }

 private:
  ExecCmd make_cmd() {
    auto& r = rng();
    ExecCmd c;
    const unsigned k = static_cast<unsigned>(r() % 3);
    c.b[0] = static_cast<uint8_t>(tb::kOpIoRead + k);
    c.set_le(2, 2, r());
    c.set_le(4, 4, r());
    c.set_le(8, 2, r());
    c.b[10] = static_cast<uint8_t>(r() % 5);
    c.set_le(32, 8, r() >> (r() % 64));        // slba
    c.set_le(40, 2, r());                      // session
    c.b[42] = static_cast<uint8_t>(r());       // model
    if (c.opcode() == tb::kOpIoDiscard) {
      c.set_le(12, 4, 4096u * (1 + (r() % 4 == 0 ? r() % 0xFFFFF : r() % 64)));
      c.set_le(16, 8, (r() & ~0xFull) >> 8);
    } else {
      c.set_le(12, 4, (1 + r() % 2) * 4096u);
      c.set_le(16, 8, (r() >> 8) & ~0xFFFull);  // 4 KiB aligned, as the executor checks
      if (c.opcode() == tb::kOpIoWrite && r() % 2) {
        c.b[43] = static_cast<uint8_t>(1 + r() % 2);
        c.set_le(44, 2, r());
      }
    }
    return c;
  }

  // One cycle; true when a command was pushed.
  bool step() {
    auto& d = sim_.dut();
    auto& r = rng();
    const uint64_t cyc = sim_.cycle();
    d.time_i = kTimeBase + cyc;
    // ---- executor
    const bool push = std::bernoulli_distribution(p_push_)(r);
    ExecCmd pc = make_cmd();
    d.push_i = push;
    d.push_qid_i = static_cast<unsigned>(r() % 8);
    kvcpu::sim::put_bytes(d.push_sqe_i, pc.b);
    uint64_t prov[3];
    prov[0] = kTimeBase + cyc - 100 - r() % 100;
    prov[1] = prov[0] + r() % 50;
    prov[2] = prov[1] + 1 + r() % 50;
    for (unsigned i = 0; i < 3; ++i) {
      d.push_prov_i[2 * i] = static_cast<uint32_t>(prov[i]);
      d.push_prov_i[2 * i + 1] = static_cast<uint32_t>(prov[i] >> 32);
    }
    // ---- arbiter: room, and a dispatch held until taken
    d.arb_req_ready_i = std::bernoulli_distribution(0.9)(r);
    if (!disp_ && !arbq_.empty() && busy_slots_.size() < kSlots && std::bernoulli_distribution(0.5)(r)) {
      const size_t k = static_cast<size_t>(r() % arbq_.size());
      unsigned s;
      do s = static_cast<unsigned>(r() % kSlots); while (busy_slots_.count(s));
      disp_ = Disp{arbq_[k], std::nullopt};
      disp_slot_ = s;
      arbq_.erase(arbq_.begin() + static_cast<long>(k));
      if (k != 0) ++bins_["arb: dispatch out of order"];
      if (disp_->a.merge && std::bernoulli_distribution(0.5)(r)) {
        // a partner: another queued mergeable request of the same NVMe opcode
        std::vector<size_t> cand;
        for (size_t i = 0; i < arbq_.size(); ++i) {
          if (arbq_[i].merge && arbq_[i].opcode == disp_->a.opcode) cand.push_back(i);
        }
        if (!cand.empty()) {
          const size_t j = cand[r() % cand.size()];
          disp_->b = arbq_[j];
          arbq_.erase(arbq_.begin() + static_cast<long>(j));
        }
      }
    }
    d.arb_disp_valid_i = disp_.has_value();
    d.arb_disp_slot_i = disp_ ? disp_slot_ : static_cast<unsigned>(r() % kSlots);
    d.arb_disp_opcode_i = disp_ ? disp_->a.opcode : static_cast<uint8_t>(r());
    d.arb_disp_lba_i = disp_ ? disp_->a.lba : r();
    d.arb_disp_nblocks_i = disp_ ? (disp_->b ? 2 : disp_->a.nblocks) : static_cast<uint16_t>(r());
    d.arb_disp_tag_i = disp_ ? disp_->a.tag : static_cast<uint16_t>(r() % kCtx);
    d.arb_disp_ntags_i = disp_ ? (disp_->b ? 2 : 1) : static_cast<uint8_t>(r());
    d.arb_disp_tag2_i = disp_ && disp_->b ? disp_->b->tag : static_cast<uint16_t>(r());
    // ---- SSD
    d.nvme_sq_ready_i = std::bernoulli_distribution(0.8)(r);
    std::optional<uint16_t> cq_cid;
    uint16_t cq_status = 0;
    bool stale = false;
    {
      std::vector<uint16_t> due;
      for (const auto& [cid, at] : ssd_due_) {
        if (at <= cyc) due.push_back(cid);
      }
      if (!due.empty() && std::bernoulli_distribution(0.7)(r)) {
        cq_cid = due[r() % due.size()];
        const Cmd& c = ctx_.at(cid_ctx_.at(*cq_cid));
        cq_status = c.nvme_status;
        if (due.size() > 1) ++bins_["ssd: several due, one picked"];
      } else if (std::bernoulli_distribution(0.002)(r)) {
        // a stale CQE: a late answer of a timed-out command, or a CID never issued
        stale = true;
        while (!late_.empty() && cid_ctx_.count(late_.front().first)) late_.pop_front();  // CID reused
        std::vector<unsigned> fols;
        for (const auto& [k, m] : ctx_) {
          if (m.follower && m.issued && !m.done) fols.push_back(k);
        }
        if (!fols.empty() && r() % 3 == 0) {
          // the CID the follower would have had: {its generation, its context}
          const unsigned k = fols[r() % fols.size()];
          cq_cid = static_cast<uint16_t>((gen_[k] << kCtxW) | k);
          ++bins_["ssd: CQE naming a follower"];
        } else if (!late_.empty() && (r() & 1)) {
          cq_cid = late_.front().first;
          if (late_.front().second) ++bins_["ssd: late answer of a timed-out pair"];
          late_.pop_front();
          ++bins_["ssd: late answer after a timeout"];
        } else {
          uint16_t v;
          do v = static_cast<uint16_t>(r()); while (cid_ctx_.count(v));
          cq_cid = v;
          ++bins_["ssd: unknown CID"];
        }
        cq_status = static_cast<uint16_t>(r() & 0x7FFF);
      }
    }
    d.nvme_cq_valid_i = cq_cid.has_value();
    {
      kvcpu::nvme::Cqe q;
      q.cid = cq_cid ? *cq_cid : static_cast<uint16_t>(r());
      q.status_p = static_cast<uint16_t>((cq_status << 1) | (r() & 1));
      q.dw0 = static_cast<uint32_t>(r());
      q.sqid = static_cast<uint16_t>(r());
      q.sqhd = static_cast<uint16_t>(r());
      kvcpu::sim::put_bytes(d.nvme_cq_i, kvcpu::nvme::ToBytes(q));
    }
    // ---- engine
    d.acpl_ready_i = std::bernoulli_distribution(p_acpl_)(r);
    sim_.settle();

    // ---- observe
    expect(d.now_us_o == (cyc - reset_cycle_) / kCyclesPerUs,
           "now_us_o " + std::to_string(d.now_us_o) + ", want " + std::to_string((cyc - reset_cycle_) / kCyclesPerUs));
    expect(d.sts_in_use_o == ctx_.size(), "sts_in_use_o " + std::to_string(d.sts_in_use_o) + ", model " +
                                              std::to_string(ctx_.size()));
    expect(d.busy_o == !ctx_.empty(), "busy_o");
    expect(d.nvme_cq_ready_o, "nvme_cq_ready_o low");
    bool pushed = false;
    unsigned pushed_ctx = 0;
    const bool free = ctx_.size() < kCtx;
    expect(d.push_ok_o == (free && d.arb_req_ready_i), "push_ok_o " + std::to_string(d.push_ok_o) + " with " +
                                                        std::to_string(ctx_.size()) + " contexts in use");
    expect(d.arb_req_valid_o == (push && free), "arb_req_valid_o");
    expect(d.arb_req_merge_o == mergeable(pc), "arb_req_merge_o " + std::to_string(d.arb_req_merge_o) + " for " +
                                                   tb::opcode_name(pc.opcode()) + " of " +
                                                   std::to_string(pc.length()) + " bytes, DTYPE " +
                                                   std::to_string(pc.b[43]));
    if (push && free) {
      const ExecCmd& c = pc;
      const uint32_t lbas = c.length() >> 12;
      const uint8_t nop = c.opcode() == tb::kOpIoRead ? 0x02 : c.opcode() == tb::kOpIoWrite ? 0x01 : 0x09;
      expect(d.arb_req_class_o == c.io_class() && d.arb_req_session_o == c.le(40, 2) &&
                 d.arb_req_model_o == c.b[42] && d.arb_req_opcode_o == nop && d.arb_req_lba_o == c.arg() &&
                 d.arb_req_nblocks_o == (lbas > 0xFFFF ? 0xFFFF : lbas),
             "arbiter request fields");
      if (lbas > 0xFFFF) ++bins_["push: DISCARD of more than 2^16 blocks (saturated)"];
      const unsigned tag = d.arb_req_tag_o;
      expect(tag < kCtx && !ctx_.count(tag), "arb_req_tag_o " + std::to_string(tag) + " is not a free context");
      if (d.push_ok_o && tag < kCtx && !ctx_.count(tag)) {
        Cmd m;
        m.c = c;
        m.qid = d.push_qid_i;
        for (unsigned i = 0; i < 3; ++i) m.prov[i] = prov[i];
        m.ctx = tag;
        ctx_[tag] = m;
        arbq_.push_back(
            Queued{tag, nop, c.arg(), static_cast<uint16_t>(lbas > 0xFFFF ? 0xFFFF : lbas), mergeable(c)});
        if (mergeable(c)) ++bins_["push: mergeable"];
        pushed = true;
        pushed_ctx = tag;
        ++bins_[std::string("push: ") + tb::opcode_name(c.opcode())];
        if (ctx_.size() == kCtx) ++bins_["push: last free context"];
      }
    }
    if (push && !d.push_ok_o) {
      ++refused_;
      ++bins_[free ? "push: refused, arbiter full" : "push: refused, no free context (IO_BUSY)"];
    }
    // NVMe submission = the dispatch
    expect(d.nvme_sq_valid_o == d.arb_disp_valid_i && d.arb_disp_ready_o == d.nvme_sq_ready_i,
           "NVMe submission is not the dispatch");
    if (disp_ && d.nvme_sq_valid_o && d.nvme_sq_ready_i) {
      std::array<uint8_t, 64> b{};
      kvcpu::sim::get_bytes(d.nvme_sq_o, b);
      const uint16_t cid = static_cast<uint16_t>(b[2] | (b[3] << 8));
      Cmd& m = ctx_.at(disp_->a.tag);
      const uint16_t want_cid = static_cast<uint16_t>((gen_[m.ctx] << kCtxW) | m.ctx);
      expect(cid == want_cid, "CID " + std::to_string(cid) + ", want {generation, context} " +
                                  std::to_string(want_cid));
      expect(!cid_ctx_.count(cid), "CID " + std::to_string(cid) + " already at the SSD");
      Cmd* f = disp_->b ? &ctx_.at(disp_->b->tag) : nullptr;
      std::array<uint8_t, 64> want{};
      if (f) {
        // one 8 KiB command: the lead's CID and SLBA, PRP1/PRP2 = the two buffers
        kvcpu::nvme::RwArgs a;
        a.cid = cid;
        a.slba = disp_->a.lba;
        a.nblocks = 2;
        a.prp1 = m.c.addr0();
        a.prp2 = f->c.addr0();
        const auto br = m.c.opcode() == tb::kOpIoRead ? kvcpu::nvme::BuildRead(a) : kvcpu::nvme::BuildWrite(a);
        expect(br.ok(), "sw/nvme refuses the merged command");
        want = kvcpu::nvme::ToBytes(br.sqe);
        ++bins_[m.c.opcode() == tb::kOpIoRead ? "merge: READ pair" : "merge: WRITE pair"];
      } else {
        want = ExecRefModel::nvme_sqe(m.c, cid);
      }
      if (was_follower_[m.ctx]) ++bins_["ctx: a follower, later a lead"];
      was_follower_[m.ctx] = false;
      if (f) was_follower_[f->ctx] = true;
      if (b != want) {
        expect(false, "NVMe command " +
                          kvcpu::nvme::Describe(kvcpu::nvme::SqeFromBytes(std::span<const uint8_t, 64>(b))) +
                          ", want " +
                          kvcpu::nvme::Describe(kvcpu::nvme::SqeFromBytes(std::span<const uint8_t, 64>(want))) +
                          " (or its PRPs: " + hex_prps(b) + ", want " + hex_prps(want) + ")");
      }
      m.issued = true;
      m.cid = cid;
      m.slot = disp_slot_;
      m.t_issue = cyc;
      busy_slots_.insert(disp_slot_);
      cid_ctx_[cid] = m.ctx;
      const unsigned pick = static_cast<unsigned>(r() % 100);
      m.answer = pick < 80 ? 0 : pick < 95 ? 1 : 2;
      m.nvme_status = m.answer == 1 ? static_cast<uint16_t>(1 + r() % 0x7FFF) : 0;
      if (m.answer != 2) ssd_due_[cid] = cyc + 1 + r() % lat_max_;
      m.partner.reset();
      if (f) {
        // the follower shares the lead's NVMe command, and so its answer
        m.partner = f->ctx;
        f->issued = true;
        f->follower = true;
        f->t_issue = cyc;
        f->answer = m.answer;
        f->nvme_status = m.nvme_status;
      }
      if (m.c.length() == 8192 && m.c.opcode() != tb::kOpIoDiscard) ++bins_["nvme: two pages"];
      disp_.reset();
    } else if (disp_ && !d.nvme_sq_ready_i) {
      ++bins_["nvme: submission held"];
    }
    // completions from the SSD, timeouts: one arbiter completion each
    std::optional<unsigned> want_cpl;  // context completing this cycle
    const bool cq_match = cq_cid && !stale;
    if (cq_match) {
      want_cpl = cid_ctx_.at(*cq_cid);
      ssd_due_.erase(*cq_cid);
    }
    if (stale) ++stale_sent_;
    if (!want_cpl && d.arb_cpl_valid_o) {
      // must be a timeout: the context at the SSD whose timeout has passed
      bool found = false;
      for (auto& [k, m] : ctx_) {
        if (m.issued && !m.done && !m.follower && m.slot == d.arb_cpl_slot_o) {
          found = true;
          const uint64_t waited = cyc - m.t_issue;
          // the scan looks at one context in each cycle without a CQE match: a due timeout
          // comes within NumCtx such cycles
          expect(m.answer == 2 && waited >= kTimeout && m.scan_misses < kCtx,
                 "timeout of context " + std::to_string(k) + " after " + std::to_string(waited) + " cycles, " +
                     std::to_string(m.scan_misses) + " scan cycles after it was due");
          expect(d.arb_cpl_status_o != 0, "timeout reported to the arbiter as a success");
          want_cpl = k;
          timeouts_ += m.partner ? 2 : 1;  // IO_TIMEOUTS counts I/O commands
          ++bins_["timeout"];
          if (m.partner) ++bins_["merge: pair timed out"];
          late_.emplace_back(m.cid, m.partner.has_value());
        }
      }
      expect(found, "arbiter completion for no context at the SSD");
    }
    if (want_cpl) {
      Cmd& m = ctx_.at(*want_cpl);
      expect(d.arb_cpl_valid_o && d.arb_cpl_slot_o == m.slot, "no arbiter completion (or another slot) for context " +
                                                                   std::to_string(m.ctx));
      expect(!m.follower, "a follower completes as a lead");
      if (m.answer != 2) {
        expect(d.arb_cpl_status_o == m.nvme_status, "arbiter completion status");
        ++bins_[m.answer == 0 ? "nvme: success" : "nvme: error status"];
        if (m.partner && m.answer == 1) ++bins_["merge: pair NVMe error"];
      }
      m.done = true;
      m.t_done = cyc;
      ++gen_[m.ctx];
      if (m.partner) {
        Cmd& f = ctx_.at(*m.partner);
        f.done = true;
        f.t_done = cyc;
        ++gen_[f.ctx];
      }
      busy_slots_.erase(m.slot);
      cid_ctx_.erase(m.cid);
    } else {
      expect(!d.arb_cpl_valid_o, "arbiter completion without a CQE or a timeout");
    }
    for (auto& [k, m] : ctx_) {
      if (m.issued && !m.done && m.answer == 2 && !m.follower && cyc - m.t_issue >= kTimeout && !cq_match) {
        // a cycle in which the scan looked at some context, not a timeout of this one
        if (++m.scan_misses >= kCtx) {
          expect(false, "context " + std::to_string(k) + " never timed out (" + std::to_string(cyc - m.t_issue) +
                            " cycles)");
        }
      }
    }
    // acpl: a completed context, all it carries
    if (d.acpl_valid_o) {
      std::array<uint8_t, 64> b{};
      kvcpu::sim::get_bytes(d.acpl_sqe_o, b);
      const ExecCmd got{b};
      const Cmd* hit = nullptr;
      for (const auto& [k, m] : ctx_) {
        if (m.done && m.c.cid() == got.cid() && m.c.le(4, 4) == got.le(4, 4) && m.qid == d.acpl_qid_o) hit = &m;
      }
      expect(hit != nullptr, "acpl for no completed command");
      if (hit && d.acpl_ready_i) {
        const Cmd& m = *hit;
        uint16_t st = 0;
        uint32_t res = 0;
        if (m.answer == 0) {
          res = m.c.length();
        } else if (m.answer == 1) {
          st = tb::kExNvmeError;
          res = m.nvme_status;
        } else {
          st = tb::kExIoTimeout;
        }
        bool rest_zero = true;
        for (unsigned i = 0; i < 64; ++i) {
          if (i != 0 && i != 2 && i != 3 && (i < 4 || i > 10)) rest_zero = rest_zero && b[i] == 0;
        }
        expect(got.opcode() == m.c.opcode() && got.io_class() == m.c.io_class() && got.le(8, 2) == m.c.le(8, 2) &&
                   rest_zero,
               "acpl routing fields");
        expect(d.acpl_status_o == st && d.acpl_result_o == res,
               "acpl status 0x" + std::to_string(d.acpl_status_o) + " result " + std::to_string(d.acpl_result_o) +
                   ", want 0x" + std::to_string(st) + " " + std::to_string(res));
        bool pv = true;
        for (unsigned i = 0; i < 3; ++i) {
          pv = pv && (uint64_t{d.acpl_prov_o[2 * i]} | (uint64_t{d.acpl_prov_o[2 * i + 1]} << 32)) == m.prov[i];
        }
        const uint64_t t_done = uint64_t{d.acpl_prov_o[6]} | (uint64_t{d.acpl_prov_o[7]} << 32);
        expect(pv && t_done == kTimeBase + m.t_done, "acpl provenance times");
        if (!acpl_order_.empty() && m.ctx != acpl_order_.front()) ++bins_["acpl: out of submission order"];
        std::erase(acpl_order_, m.ctx);
        ++completed_;
        ctx_.erase(m.ctx);
      } else if (hit) {
        ++bins_["acpl: backpressure"];
      }
    }
    if (pushed) acpl_order_.push_back(pushed_ctx);
    sim_.tick();
    return pushed;
  }

  Sim<Model> sim_;
  std::map<unsigned, Cmd> ctx_;          // contexts in use, by index
  std::deque<Queued> arbq_;              // requests in the stand-in arbiter
  std::optional<Disp> disp_;
  unsigned disp_slot_ = 0;
  std::set<unsigned> busy_slots_;
  std::map<uint16_t, unsigned> cid_ctx_;     // CIDs at the SSD
  std::map<uint16_t, uint64_t> ssd_due_;     // CID -> cycle its CQE may come
  std::deque<std::pair<uint16_t, bool>> late_;  // CIDs of timed-out commands, merged or not
  std::array<uint16_t, kCtx> gen_{};         // each context's generation (CID high bits)
  std::array<bool, kCtx> was_follower_{};
  std::deque<unsigned> acpl_order_;          // contexts in push order
  double p_push_ = 0, p_acpl_ = 0;
  uint64_t lat_max_ = 200, reset_cycle_ = 0;
  uint64_t stale_sent_ = 0, timeouts_ = 0, refused_ = 0, completed_ = 0;
  int failures_ = 0;
  kvcpu::sim::Coverage bins_;
};

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  const SimOptions opt = SimOptions::from_args(argc, argv, "tb_io");
  const uint64_t n = SimOptions::plusarg(argc, argv, "n", 20000);
  Bench b(opt);
  b.run(n);
  b.bins().print("tb_io");
  const bool cov = b.bins().check({"push: IO_READ", "push: IO_WRITE", "push: IO_DISCARD", "push: last free context",
                                   "push: refused, no free context (IO_BUSY)", "push: refused, arbiter full",
                                   "push: DISCARD of more than 2^16 blocks (saturated)", "arb: dispatch out of order",
                                   "nvme: two pages", "nvme: submission held", "nvme: success", "nvme: error status",
                                   "timeout", "ssd: late answer after a timeout", "ssd: unknown CID",
                                   "ssd: several due, one picked", "acpl: out of submission order",
                                   "acpl: backpressure", "push: mergeable", "merge: READ pair",
                                   "merge: WRITE pair", "merge: pair NVMe error", "merge: pair timed out",
                                   "ssd: CQE naming a follower", "ssd: late answer of a timed-out pair",
                                   "ctx: a follower, later a lead"});
  const bool ok = b.failures() == 0 && cov && !b.sim().assertion_failed();
  std::printf("[tb_io] %" PRIu64 " commands, %" PRIu64 " cycles, seed %" PRIu64 ": %s\n", b.done(), b.sim().cycle(),
              b.sim().seed(), ok ? "PASS" : "FAIL");
  if (b.sim().assertion_failed()) std::printf("[tb_io] RTL assertion failed\n");
  return ok ? 0 : 1;
}
