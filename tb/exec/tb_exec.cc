// kvcpu_exec testbench: a queue engine stand-in issues random commands on cmd (every opcode,
// random reserved fields, lengths at the limits, misaligned DMA, DMA across 4 KiB pages and
// into error-injected memory, STEP_ADVANCE forwards and backwards, block commands and keyed
// hints on a small key pool so that the directory hits, misses and fills), takes completions with
// random cpl_ready backpressure; a core stand-in owns the 64-bit step, holds step_ready low
// at random and then sometimes changes the step (an MMIO write); host memory is the AXI4
// model of tb/hif/axi_mem.h with latency, backpressure and SLVERR/DECERR injection; the
// directory stand-in answers on the dir port from RtbdModel (sw/model) after a random
// latency, with random req_ready backpressure and junk on the response while it is idle;
// the NVMe stand-in takes SQEs with random backpressure and answers each with a CQE after a
// random latency (success, an error status, or none: the timeout), and now and then
// presents a stale CQE (another CID) that the executor must drop.
//
// Scoreboard against the reference model (exec_model.h): every completion (qid, cid,
// status, result), the directory request of every block command (op and the fields it
// uses, exactly one), the entry written by LOOKUP/TOUCH, the step offered on every step handshake, HINT_COUNT after every
// completion and while idle, the exact read and write bursts of every DMA_COPY, the
// destination memory after it (and one word either side), error pulses, busy_o, hold rules.
// The run is cut into epochs, each from reset with new backpressure levels. Coverage bins
// (opcode x status and the corner cases) are printed; the run goes on past +n (up to 3n commands
// in all) while a bin is empty, and a hole left then fails the test.
//
//   tb_exec [+seed=N] [+n=COMMANDS] [+big=MAX_DMA_2^20_COPIES] [+timeout=CYCLES] [+trace[=FILE]]
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "Vkvcpu_exec.h"
#include "axi_mem.h"
#include "coverage.h"
#include "exec_model.h"
#include "nvme.h"
#include "rtbd.h"
#include "sim.h"

namespace {

using Model = Vkvcpu_exec;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
using kvcpu::tb::AxiJitter;
using kvcpu::tb::AxiMem;
using kvcpu::tb::ExecCmd;
using kvcpu::tb::ExecRefModel;
namespace tb = kvcpu::tb;
namespace m = kvcpu::model;

constexpr unsigned kQidW = 3;

struct EpochCfg {
  uint64_t cmds;
  AxiJitter jit;
  double p_cpl_ready, p_step_ready, p_mmio, p_cmd_gap;
  double p_rd_err, p_wr_err;  // per DMA_COPY (write: also per entry write): inject an error line
  double p_dir_ready;        // directory req_ready
  unsigned dir_lat_max;      // directory response latency 1..this
  double p_io_ok;            // the I/O unit takes a push (has a free context)
  bool big;                   // issue one 2^20-byte DMA_COPY in this epoch
};

// A command the driver is presenting or that is in flight.
struct Pending {
  ExecCmd c;
  unsigned qid = 0;
  uint16_t chk = 0;  // model status before running
  // DMA_COPY: the plan (at acceptance) and the destination before it, from dst - 8
  ExecRefModel::DmaPlan plan;
  std::vector<uint64_t> dst_before;
  // observed while in flight
  std::vector<ExecRefModel::Chunk> ar, aw;
  unsigned step_hs = 0;
  uint64_t step_hs_value = 0, step_at_hs = 0;
  bool ready_high_seen = false;
  uint64_t last_ready_step = 0;  // step_i in the last cycle with step_ready_i high
  bool step_changed = false;
  bool no_errors = false;  // DMA_COPY: inject no error lines
  uint64_t accepted_at = 0;
  // directory op: the requests seen, the stand-in's answer
  std::vector<ExecRefModel::DirReq> dir_reqs;
  uint16_t dir_status = 0;
  uint32_t dir_handle = 0;
  m::Entry dir_entry;
  bool ent_err = false;  // an error line on the entry buffer (or a DISCARD's range)
  // I/O: the pushes to the I/O unit seen (qid, SQE image), and whether the last was taken
  std::vector<std::pair<unsigned, std::array<uint8_t, 64>>> pushes;
  bool push_ok = false;
};

class Bench {
 public:
  explicit Bench(const SimOptions& opt, unsigned big_max)
      : sim_(opt), mem_(sim_.rng()), big_left_(big_max) {
    auto& r = rng();
    for (auto& k : keys_) k = r();
    // two source and two destination regions of 8 MiB, far apart; DMA offsets stay below
    // 2 MiB + 1 MiB, so source and destination never overlap and memory stays bounded
    for (unsigned i = 0; i < 2; ++i) {
      const uint64_t base = r() & 0xFFFF'FFFF'FC00'0000ull;
      src_base_[i] = base;
      dst_base_[i] = base + (2ull << 23);
    }
  }

  Sim<Model>& sim() { return sim_; }
  std::mt19937_64& rng() { return sim_.rng(); }
  const kvcpu::sim::Coverage& bins() const { return bins_; }
  int failures() const { return failures_; }
  uint64_t commands() const { return total_; }

  void expect(bool ok, const std::string& what) {
    if (!ok && failures_++ < 20) {
      std::printf("MISMATCH (cycle %" PRIu64 "): %s\n", sim_.cycle(), what.c_str());
    }
  }

  void run_epoch(const EpochCfg& c) {
    cfg_ = c;
    auto& d = sim_.dut();
    ref_.reset();
    // the directory stand-in keeps its entries across epochs (it is not part of the DUT), so
    // that its sets fill up
    dir_rsp_ = false;
    mem_.reset();
    mem_.set_jitter(c.jit);
    mem_.rd_err_lines().clear();
    mem_.wr_err_lines().clear();
    drv_.reset();
    fly_.reset();
    cmd_drv_ = false;
    rd_err_beats_ = rd_err_pulses_ = wr_err_resps_ = wr_err_pulses_ = 0;
    prev_cpl_ = false;
    rbeat_ = 0;
    d.cmd_valid_i = 0;
    d.cpl_ready_i = 0;
    d.step_ready_i = 0;
    d.step_i = step_;
    d.m_axi_arready_i = 0;
    d.m_axi_awready_i = 0;
    d.m_axi_wready_i = 0;
    d.m_axi_rvalid_i = 0;
    d.m_axi_bvalid_i = 0;
    d.dir_req_ready_i = 0;
    d.dir_rsp_valid_i = 0;
    d.io_push_ok_i = 0;
    sim_.reset();

    uint64_t issued = 0;
    bool big_pending = c.big && big_left_ > 0;
    uint64_t last_progress = sim_.cycle();
    uint64_t done0 = done_;
    while ((issued < c.cmds || drv_ || fly_) && failures_ == 0) {
      if (!drv_ && issued < c.cmds && !std::bernoulli_distribution(c.p_cmd_gap)(rng())) {
        if (big_pending) {
          drv_ = make_big_dma();
          big_pending = false;
          --big_left_;
        } else {
          drv_ = make_cmd();
        }
        ++issued;
      }
      step();
      if (done_ != done0) {
        done0 = done_;
        last_progress = sim_.cycle();
      }
      if (sim_.cycle() - last_progress > 4'000'000) {
        expect(false, "no completion for 4M cycles (hang)");
        break;
      }
      if (sim_.timed_out()) {
        expect(false, "cycle budget (+timeout) used up");
        break;
      }
    }
    for (unsigned i = 0; i < 4; ++i) step();
    expect(mem_.error().empty(), "AXI protocol: " + mem_.error());
    expect(mem_.idle(), "AXI traffic left after the last completion");
    expect(rd_err_pulses_ == rd_err_beats_,
           "err_host_rd_o pulses " + std::to_string(rd_err_pulses_) + " != error beats " + std::to_string(rd_err_beats_));
    expect(wr_err_pulses_ == wr_err_resps_, "err_host_wr_o pulses " + std::to_string(wr_err_pulses_) +
                                                " != error responses " + std::to_string(wr_err_resps_));
  }

 private:
  // ---------------------------------------------------------------- stimulus
  uint32_t pick_len(bool dma) {
    auto& r = rng();
    static const uint32_t kLimits[] = {0, 1, 8, 1u << 20, (1u << 20) + 8, 1u << 30, (1u << 30) + 1, 0xFFFFFFF8u,
                                       0xFFFFFFFFu};
    const unsigned k = static_cast<unsigned>(r() % 100);
    if (k < 20) {
      const uint32_t l = kLimits[r() % std::size(kLimits)];
      // a 2^20-byte copy takes ~10^6 cycles: those come from make_big_dma() only
      return dma && l == (1u << 20) ? l + 8 : l;
    }
    if (dma) {
      if (k < 60) return static_cast<uint32_t>(8 * (1 + r() % 16));
      if (k < 90) return static_cast<uint32_t>(8 * (1 + r() % 512));
      if (k < 97) return static_cast<uint32_t>(8 * (1 + r() % 4096));
      return static_cast<uint32_t>(r());
    }
    if (k < 70) return static_cast<uint32_t>(1 + r() % 100000);
    return static_cast<uint32_t>(r());
  }

  uint64_t dma_addr(bool src) {
    auto& r = rng();
    const uint64_t base = (src ? src_base_ : dst_base_)[r() & 1];
    uint64_t off = r() % (2u << 20);
    switch (r() % 4) {
      case 0:  // just below a 4 KiB boundary
        off = (off | 0xFFF) - 8 * (r() % 20) - 7;
        break;
      case 1:  // at a boundary
        off &= ~0xFFFull;
        break;
      default:
        break;
    }
    return base + (off & ~7ull);
  }

  Pending make_cmd() {
    auto& r = rng();
    Pending p;
    ExecCmd& c = p.c;
    c.set_le(2, 2, r());  // cid
    c.set_le(4, 4, r());  // flow_id
    c.set_le(8, 2, r());  // home_queue
    c.b[10] = static_cast<uint8_t>(r() % 5);
    const unsigned k = static_cast<unsigned>(r() % 100);
    if (k < 3) {
      c.b[0] = tb::kOpNop;
      for (unsigned i = 12; i < 64; ++i) c.b[i] = (r() & 1) ? static_cast<uint8_t>(r()) : 0;  // ignored
    } else if (k < 20) {
      c.b[0] = tb::kOpStepAdvance;
      const unsigned m = static_cast<unsigned>(r() % 10);
      c.b[40] = m < 5 ? 0 : m < 9 ? 1 : static_cast<uint8_t>(2 + r() % 254);
      uint64_t a;
      switch (r() % 6) {
        case 0: a = step_; break;                             // mode 1: equal
        case 1: a = step_ - 1 - r() % 3; break;               // mode 1: backwards
        case 2: a = r(); break;                               // anything (wraps in mode 0)
        case 3: a = r() % 2; break;                           // 0 / 1
        default: a = (c.b[40] == 1 ? step_ : 0) + r() % 1000; break;
      }
      c.set_le(32, 8, a);
    } else if (k < 32) {
      c.b[0] = static_cast<uint8_t>(tb::kOpMarkHot + r() % 5);
      c.set_le(12, 4, pick_len(false));
      c.set_le(16, 8, r());
      if (c.b[0] == tb::kOpPrefetch) c.set_le(32, 8, r() & 1 ? r() : r() % 100);
    } else if (k < 50) {
      make_dir_cmd(c);
    } else if (k < 50 + 5) {
      c.b[0] = tb::kOpEcho;
      c.set_le(32, 4, r());
    } else if (k < 70) {
      make_io_cmd(c);
    } else if (k < 88) {
      c.b[0] = tb::kOpDmaCopy;
      c.set_le(12, 4, pick_len(true));
      c.set_le(16, 8, dma_addr(true));
      c.set_le(24, 8, dma_addr(false));
      if (r() % 20 == 0) c.b[16 + 8 * (r() & 1)] |= static_cast<uint8_t>(1 + r() % 7);  // misaligned
    } else if (k < 95) {
      uint8_t op;
      do {
        op = static_cast<uint8_t>(r());
      } while (op == 0x00 || op == 0x01 || (op >= 0x10 && op <= 0x14) || op == 0x20 || op == 0x21 ||
               (op >= 0x30 && op <= 0x34) || (op >= 0x40 && op <= 0x42));
      c.b[0] = op;
      for (unsigned i = 12; i < 64; ++i) c.b[i] = (r() % 4 == 0) ? static_cast<uint8_t>(r()) : 0;
    } else {
      // a known opcode with random bytes 12..63
      static const uint8_t kOps[] = {0x01, 0x10, 0x11, 0x12, 0x13, 0x14, 0x20, 0x21, 0x30, 0x31, 0x32, 0x33, 0x34,
                                     0x40, 0x41, 0x42};
      c.b[0] = kOps[r() % std::size(kOps)];
      for (unsigned i = 12; i < 64; ++i) c.b[i] = static_cast<uint8_t>(r());
    }
    // a random byte of 12..63 set (reserved for most opcodes)
    if (r() % 10 == 0) c.b[12 + r() % 52] |= static_cast<uint8_t>(1u << (r() % 8));
    // the engine's own fields (the engine filters these; the executor repeats the check)
    if (r() % 40 == 0) {
      switch (r() % 3) {
        case 0: c.b[1] = static_cast<uint8_t>(1 + r() % 255); break;
        case 1: c.b[11] = static_cast<uint8_t>(1 + r() % 255); break;
        default: c.b[10] = static_cast<uint8_t>(5 + r() % 251); break;
      }
    }
    p.qid = static_cast<unsigned>(r() % (1u << kQidW));
    return p;
  }

  // A block command or keyed hint on the key pool (so that the small directory hits, misses
  // and fills its sets), now and then with a field out of range.
  void make_dir_cmd(ExecCmd& c) {
    auto& r = rng();
    const uint64_t key = keys_[r() % keys_.size()];
    c.set_le(16, 8, key);
    const unsigned k = static_cast<unsigned>(r() % 14);
    if (k >= 12) {
      // BLK_VICTIM: no key (now and then one: INVALID_FIELD), an entry buffer or none
      c.b[0] = tb::kOpBlkVictim;
      c.set_le(16, 8, r() % 8 == 0 ? key | 1 : 0);
      if (r() % 4 != 0) c.set_le(24, 8, dst_base_[r() & 1] + 64 * (r() % 4096));
    } else if (k < 3) {
      c.b[0] = tb::kOpBlkInsert;
      c.b[32] = static_cast<uint8_t>(r() % 10 == 0 ? 4 + r() % 4 : r() % 4);  // tier; 4..7: BAD_FIELD
      c.b[33] = static_cast<uint8_t>(r() % 8);                                   // prefix, dirty, recompute_ok
      c.set_le(34, 2, r());
      c.b[36] = static_cast<uint8_t>(r());
      c.set_le(40, 4, r() & 1 ? 0 : r());
      c.set_le(24, 8, r());
    } else if (k < 5) {
      c.b[0] = static_cast<uint8_t>(r() & 1 ? tb::kOpBlkLookup : tb::kOpBlkTouch);
      if (r() % 3 != 0) c.set_le(24, 8, dst_base_[r() & 1] + 64 * (r() % 4096));  // entry buffer
    } else if (k < 6) {
      c.b[0] = tb::kOpBlkDelete;
    } else if (k < 7) {
      c.b[0] = tb::kOpBlkSetTier;
      c.set_le(16, 8, 0);
      const uint32_t cap = dir_.capacity();
      c.set_le(32, 4, r() % 8 == 0 ? static_cast<uint32_t>(r()) : static_cast<uint32_t>(r() % cap));
      c.b[36] = static_cast<uint8_t>(r() % 4 == 0 ? 4 + r() % 4 : r() % 4);
      c.set_le(24, 8, r());
    } else {
      c.b[0] = static_cast<uint8_t>(tb::kOpMarkHot + r() % 5);  // keyed hint: length 0
      if (c.b[0] == tb::kOpPrefetch) {
        const uint32_t now = static_cast<uint32_t>(step_);
        c.set_le(32, 4, r() % 4 == 0 ? now - static_cast<uint32_t>(r() % 64) : now + static_cast<uint32_t>(r() % 4096));
        if (r() % 20 == 0) c.b[36 + r() % 4] = static_cast<uint8_t>(1 + r() % 255);  // target >= 2^32
      }
    }
  }

  // An I/O command: a page-aligned buffer, 1 or 2 pages (sometimes a bad length or
  // alignment), a placement hint on some writes (sometimes an unknown type, or one on a read).
  void make_io_cmd(ExecCmd& c) {
    auto& r = rng();
    c.b[0] = static_cast<uint8_t>(tb::kOpIoRead + r() % 3);
    const bool discard = c.b[0] == tb::kOpIoDiscard;
    uint64_t a = dst_base_[r() & 1] + 4096 * (r() % 256);
    if (discard) a += 16 * (r() % 256);
    if (r() % 20 == 0) a += 1 + r() % 15;  // misaligned
    c.set_le(16, 8, a);
    static const uint32_t kLens[] = {4096, 8192, 4096, 8192, 0, 12288, 4095, 4097};
    uint32_t len = kLens[r() % std::size(kLens)];
    if (discard && r() % 2) len = 4096 * static_cast<uint32_t>(1 + r() % 100000);
    c.set_le(12, 4, len);
    c.set_le(32, 8, r() % 4 == 0 ? r() : r() % (1u << 20));  // slba
    c.set_le(40, 2, r());                                     // session
    c.b[42] = static_cast<uint8_t>(r());                      // model
    if (c.b[0] == tb::kOpIoWrite && r() % 2) {
      c.b[43] = static_cast<uint8_t>(r() % 10 == 0 ? 3 : 1 + r() % 2);
      c.set_le(44, 2, r());
    } else if (r() % 30 == 0) {
      c.b[43] = 1;  // a placement hint where none is allowed
    }
  }

  Pending make_big_dma() {
    Pending p;
    ExecCmd& c = p.c;
    auto& r = rng();
    c.b[0] = tb::kOpDmaCopy;
    c.set_le(2, 2, r());
    c.set_le(12, 4, 1u << 20);
    c.set_le(16, 8, src_base_[0] + 8 * (r() % 1024));
    c.set_le(24, 8, dst_base_[1] + 8 * (r() % 1024));
    p.qid = static_cast<unsigned>(r() % (1u << kQidW));
    p.no_errors = true;
    return p;
  }

  // Source data and error lines of a DMA_COPY are set up when it is accepted.
  void prepare_dma(Pending& p) {
    auto& r = rng();
    const ExecCmd& c = p.c;
    const uint64_t src = c.addr0(), dst = c.addr1(), len = c.length();
    for (uint64_t o = 0; o < len; o += 8) mem_.write64(src + o, r());
    mem_.rd_err_lines().clear();
    mem_.rd_err_words().clear();
    mem_.wr_err_lines().clear();
    if (!p.no_errors && std::bernoulli_distribution(cfg_.p_rd_err)(r)) {
      // a whole 64-byte line (every beat of the bursts touching it), or one word mid-burst
      if (r() & 1) {
        mem_.rd_err_lines().insert((src + (r() % len)) & ~63ull);
      } else {
        mem_.rd_err_words().insert((src + (r() % len)) & ~7ull);
      }
    }
    if (!p.no_errors && std::bernoulli_distribution(cfg_.p_wr_err)(r)) mem_.wr_err_lines().insert((dst + (r() % len)) & ~15ull);
    const auto& rl = mem_.rd_err_lines();
    const auto& rw = mem_.rd_err_words();
    const auto& wl = mem_.wr_err_lines();
    p.plan = ExecRefModel::dma_plan(
        c, [&rl, &rw](uint64_t a) { return rl.count(a & ~63ull) != 0 || rw.count(a) != 0; },
        [&wl](uint64_t a) { return wl.count(a & ~15ull) != 0; });
    p.dst_before.clear();
    for (uint64_t o = 0; o < len + 16; o += 8) p.dst_before.push_back(mem_.read64(dst - 8 + o));
  }

  // ---------------------------------------------------------------- checks
  void on_accept(Pending& p) {
    p.chk = ExecRefModel::check(p.c);
    p.accepted_at = sim_.cycle();
    if (p.c.opcode() == tb::kOpDmaCopy && p.chk == tb::kExSuccess) prepare_dma(p);
    if (p.c.opcode() == tb::kOpIoDiscard && p.chk == tb::kExSuccess) {
      mem_.rd_err_lines().clear();
      mem_.rd_err_words().clear();
      mem_.wr_err_lines().clear();
      mem_.write64(p.c.addr0(), rng()());
      mem_.write64(p.c.addr0() + 8, rng()());
      p.ent_err = std::bernoulli_distribution(cfg_.p_wr_err)(rng());
      if (p.ent_err) mem_.wr_err_lines().insert(p.c.addr0());
    }
    if (ExecRefModel::writes_entry(p.c) && p.chk == tb::kExSuccess) {
      mem_.rd_err_lines().clear();
      mem_.rd_err_words().clear();
      mem_.wr_err_lines().clear();
      for (unsigned i = 0; i < 5; ++i) mem_.write64(p.c.addr1() + 8 * i, rng()());
      p.ent_err = std::bernoulli_distribution(cfg_.p_wr_err)(rng());
      if (p.ent_err) mem_.wr_err_lines().insert((p.c.addr1() + 16 * (rng()() % 3)) & ~15ull);
    }
  }

  void on_complete(Pending& p, uint16_t status, uint32_t result, unsigned qid, uint16_t cid, bool defer) {
    const ExecCmd& c = p.c;
    const uint8_t op = c.opcode();
    uint16_t want = p.chk;
    bool want_defer = false;
    uint32_t want_res = 0;
    std::string what = std::string(tb::opcode_name(op));
    char hdr[96];
    std::snprintf(hdr, sizeof hdr, "cmd %" PRIu64 " op %02x (%s) len %u", total_, op, what.c_str(), c.length());
    expect(qid == p.qid && cid == c.cid(), std::string(hdr) + ": completion carries qid/cid " + std::to_string(qid) +
                                               "/" + std::to_string(cid) + ", want " + std::to_string(p.qid) + "/" +
                                               std::to_string(c.cid()));
    const bool runs = p.chk == tb::kExSuccess;
    if (runs && op == tb::kOpStepAdvance) {
      if (p.step_hs > 0) {
        const auto o = ExecRefModel::step(c, p.step_at_hs);
        expect(p.step_hs == 1, std::string(hdr) + ": more than one step handshake");
        expect(o.status == tb::kExSuccess && o.new_step == p.step_hs_value,
               std::string(hdr) + ": step offered " + std::to_string(p.step_hs_value) + " with step_i " +
                   std::to_string(p.step_at_hs) + ", model " + tb::status_name(o.status) + " " +
                   std::to_string(o.new_step));
        want = o.status;
        want_res = o.result;
        if (c.mode() == 1 && c.arg() == p.step_at_hs) ++bins_["step: mode 1 to the current step"];
        if (c.mode() == 0 && o.new_step < p.step_at_hs) ++bins_["step: mode 0 wraps"];
      } else {
        // no handshake: the decision used step_i of a cycle with step_ready_i high
        expect(p.ready_high_seen, std::string(hdr) + ": completed without ever seeing step_ready_i");
        const auto o = ExecRefModel::step(c, p.last_ready_step);
        expect(o.status == tb::kExStepBackwards,
               std::string(hdr) + ": completed without a step handshake, model says " + tb::status_name(o.status));
        want = tb::kExStepBackwards;
      }
      if (p.step_changed) ++bins_["step: changed by MMIO while in flight"];
    } else if (runs && op == tb::kOpEcho) {
      want_res = static_cast<uint32_t>(c.arg());
    } else if (runs && ExecRefModel::is_dir_op(c)) {
      check_dir(p, hdr, &want, &want_res);
    } else if (runs && ExecRefModel::is_io(op)) {
      check_io(p, hdr, &want, &want_res, &want_defer);
    } else if (runs && ExecRefModel::is_hint(op)) {
      ref_.count_hint(op);
    } else if (runs && op == tb::kOpDmaCopy) {
      want = p.plan.status;
      want_res = p.plan.result;
      check_dma(p, hdr);
    }
    if (!(runs && op == tb::kOpDmaCopy)) {
      const bool ent = runs && (ExecRefModel::writes_entry(c) || op == tb::kOpIoDiscard);
      expect(p.ar.empty() && p.aw.size() == (ent ? 1u : 0u),
             std::string(hdr) + ": AXI traffic for a command without DMA");
    }
    if (!(runs && ExecRefModel::is_io(op))) {
      expect(p.pushes.empty(), std::string(hdr) + ": push to the I/O unit for a command without I/O");
    }
    expect(defer == want_defer, std::string(hdr) + ": cpl_defer_o " + std::to_string(defer));
    if (!(runs && ExecRefModel::is_dir_op(c))) {
      expect(p.dir_reqs.empty(), std::string(hdr) + ": directory request for a command without one");
    }
    if (!(runs && op == tb::kOpStepAdvance)) {
      expect(p.step_hs == 0, std::string(hdr) + ": step handshake for a command that does not step");
    }
    char buf[200];
    std::snprintf(buf, sizeof buf, ": dut status %s (0x%x) result 0x%08x, model %s (0x%x) result 0x%08x",
                  tb::status_name(status), status, result, tb::status_name(want), want, want_res);
    expect(status == want && result == want_res, std::string(hdr) + buf);
    check_hints(hdr);
    // coverage
    const bool eng = c.flags() != 0 || c.rsvd() != 0 || c.io_class() > 4;
    if (eng) {
      ++bins_["engine field set: INVALID_FIELD"];
    } else {
      std::string opn = ExecRefModel::check(c) == tb::kExInvalidOpcode ? "unknown" : tb::opcode_name(op);
      ++bins_["op " + opn + " / " + tb::status_name(want)];
    }
    if (!eng && ExecRefModel::is_hint(op) && c.length() == 0) ++bins_["keyed hint / " + std::string(tb::status_name(want))];
    if (op == tb::kOpDmaCopy || ExecRefModel::is_hint(op)) {
      const uint32_t l = c.length();
      const char* lname = l == 0 ? "0" : l == 8 ? "8" : l == (1u << 20) ? "2^20" : l == (1u << 20) + 8 ? "2^20+8"
                          : l == (1u << 30) ? "2^30" : l == (1u << 30) + 1 ? "2^30+1" : nullptr;
      if (lname && !eng) {
        ++bins_[std::string(op == tb::kOpDmaCopy ? "len dma " : "len hint ") + lname + " / " + tb::status_name(want)];
      }
    }
    ++total_;
    ++done_;
  }

  void check_dma(const Pending& p, const char* hdr) {
    const auto& pl = p.plan;
    auto same = [](const std::vector<ExecRefModel::Chunk>& got, const std::vector<ExecRefModel::Chunk>& want,
                   bool src) {
      if (got.size() != want.size()) return false;
      for (size_t i = 0; i < got.size(); ++i) {
        if (got[i].beats != want[i].beats || (src ? got[i].src != want[i].src : got[i].dst != want[i].dst)) {
          return false;
        }
      }
      return true;
    };
    expect(same(p.ar, pl.reads, true), std::string(hdr) + ": read bursts " + std::to_string(p.ar.size()) +
                                           " differ from the model's " + std::to_string(pl.reads.size()));
    expect(same(p.aw, pl.writes, false), std::string(hdr) + ": write bursts " + std::to_string(p.aw.size()) +
                                             " differ from the model's " + std::to_string(pl.writes.size()));
    // destination: written chunks hold the source, everything else (one word either side) as before
    const uint64_t src = p.c.addr0(), dst = p.c.addr1();
    uint64_t written = 0;
    for (const auto& ch : pl.writes) written += 8ull * ch.beats;
    unsigned bad = 0;
    for (size_t i = 0; i < p.dst_before.size(); ++i) {
      const uint64_t a = dst - 8 + 8 * i;
      const uint64_t o = 8 * i;  // offset + 8
      const bool in = o >= 8 && o - 8 < written;
      const uint64_t want = in ? mem_.read64(src + (o - 8)) : p.dst_before[i];
      if (mem_.read64(a) != want && bad++ < 3) {
        char b[160];
        std::snprintf(b, sizeof b, ": dst word 0x%" PRIx64 " is %016" PRIx64 ", want %016" PRIx64, a, mem_.read64(a),
                      want);
        expect(false, std::string(hdr) + b);
      }
    }
    if (pl.read_error) ++bins_[pl.result ? "dma: read error after written chunks" : "dma: read error in the first chunk"];
    if (pl.write_error) ++bins_[pl.result ? "dma: write error after written chunks" : "dma: write error in the first chunk"];
    for (const auto& ch : pl.reads) {
      if (ch.beats == 16) ++bins_["dma: 16-beat chunk"];
      if (ch.beats == 1) ++bins_["dma: 1-beat chunk"];
      const bool src_cut = ((ch.src + 8ull * ch.beats) & 0xFFF) == 0;
      const bool dst_cut = ((ch.dst + 8ull * ch.beats) & 0xFFF) == 0;
      if (ch.beats < 16 && src_cut && !dst_cut) ++bins_["dma: chunk cut at a source 4 KiB boundary"];
      if (ch.beats < 16 && dst_cut && !src_cut) ++bins_["dma: chunk cut at a destination 4 KiB boundary"];
    }
  }

  // A directory op: exactly one request with the fields the command maps to, the answer as
  // the completion, HINT_COUNT for a keyed hint that succeeded, the entry written to addr1.
  void check_dir(const Pending& p, const char* hdr, uint16_t* want, uint32_t* want_res) {
    const ExecCmd& c = p.c;
    using D = ExecRefModel::DirOp;
    expect(p.dir_reqs.size() == 1,
           std::string(hdr) + ": " + std::to_string(p.dir_reqs.size()) + " directory requests, want 1");
    if (p.dir_reqs.size() != 1) return;
    const auto& g = p.dir_reqs[0];
    const auto e = ExecRefModel::dir_request(c);
    bool same = g.op == e.op;
    if (e.op != D::kSetTier) same = same && g.key == e.key;
    if (e.op == D::kInsert || e.op == D::kSetTier) same = same && g.tier == e.tier && g.addr == e.addr;
    if (e.op == D::kInsert) {
      same = same && g.prefix == e.prefix && g.dirty == e.dirty && g.recompute_ok == e.recompute_ok &&
             g.lifetime_end == e.lifetime_end && g.session == e.session && g.model_id == e.model_id;
    }
    if (e.op == D::kSetTier) same = same && g.handle == e.handle;
    if (e.op == D::kUpdateHint) same = same && g.hint == e.hint && (e.hint != 2 || g.target == e.target);
    expect(same, std::string(hdr) + ": directory request differs from the model's (op " +
                     std::to_string(static_cast<int>(g.op)) + " vs " + std::to_string(static_cast<int>(e.op)) + ")");
    *want = p.dir_status;
    *want_res = ExecRefModel::dir_result(p.dir_handle, p.dir_entry.tier);
    if (ExecRefModel::is_hint(c.opcode()) && p.dir_status == tb::kExSuccess) ref_.count_hint(c.opcode());
    if (ExecRefModel::writes_entry(c)) {
      expect(p.aw.size() == 1 && p.aw[0].dst == c.addr1() && p.aw[0].beats == 5,
             std::string(hdr) + ": the entry is not one 5-beat burst at addr1");
      if (p.ent_err) {
        *want = tb::kExDmaError;
        ++bins_["dir: entry write error"];
      } else {
        const auto img = ExecRefModel::entry_bytes(p.dir_entry);
        bool eq = true;
        for (unsigned i = 0; i < 40; ++i) eq = eq && mem_.read8(c.addr1() + i) == img[i];
        expect(eq, std::string(hdr) + ": the entry in host memory differs from the directory's answer");
        ++bins_[p.dir_handle == m::kNoHandle ? "dir: zero entry written" : "dir: entry written"];
      }
    }
  }

  // An I/O command: a DISCARD's range in host memory (one 2-beat burst at addr0); then
  // exactly one push to the I/O unit with the command's queue and SQE; a deferred
  // completion (SUCCESS, result 0: the I/O unit posts the real one) when it was taken, else
  // IO_BUSY.
  void check_io(const Pending& p, const char* hdr, uint16_t* want, uint32_t* want_res, bool* defer) {
    const ExecCmd& c = p.c;
    if (c.opcode() == tb::kOpIoDiscard) {
      expect(p.aw.size() == 1 && p.aw[0].dst == c.addr0() && p.aw[0].beats == 2,
             std::string(hdr) + ": the DSM range is not one 2-beat burst at addr0");
      if (p.ent_err) {
        expect(p.pushes.empty(), std::string(hdr) + ": pushed after a failed range write");
        *want = tb::kExDmaError;
        *want_res = 0;
        ++bins_["io: DSM range write error"];
        return;
      }
      const auto rng = ExecRefModel::dsm_range(c);
      bool eq = true;
      for (unsigned i = 0; i < 16; ++i) eq = eq && mem_.read8(c.addr0() + i) == rng[i];
      expect(eq, std::string(hdr) + ": the DSM range in host memory is wrong");
    }
    expect(p.pushes.size() == 1, std::string(hdr) + ": " + std::to_string(p.pushes.size()) + " pushes, want 1");
    if (p.pushes.size() != 1) return;
    expect(p.pushes[0].first == p.qid && p.pushes[0].second == c.b,
           std::string(hdr) + ": the push carries another queue or SQE");
    *want_res = 0;
    if (p.push_ok) {
      *want = tb::kExSuccess;
      *defer = true;
      ++bins_["io: deferred"];
    } else {
      *want = tb::kExIoBusy;
      ++bins_["io: no free context (IO_BUSY)"];
    }
    if (c.length() == 8192 && c.opcode() != tb::kOpIoDiscard) ++bins_["io: two pages"];
  }

  // The directory stand-in: takes a request, answers from RtbdModel after 1..dir_lat_max cycles.
  m::OpResult dir_apply(const ExecRefModel::DirReq& q) {
    using D = ExecRefModel::DirOp;
    const m::Key key = m::Key::Unpack(q.key);
    switch (q.op) {
      case D::kInsert: {
        m::InsertArgs a;
        a.key = key;
        a.tier = q.tier;
        a.addr = q.addr;
        a.prefix = q.prefix;
        a.dirty = q.dirty;
        a.recompute_ok = q.recompute_ok;
        a.lifetime_end = q.lifetime_end;
        a.session = q.session;
        a.model_id = q.model_id;
        return dir_.Insert(a);
      }
      case D::kLookup: return dir_.Lookup(key);
      case D::kTouch: return dir_.Touch(key);
      case D::kUpdateHint: return dir_.UpdateHint(key, static_cast<m::Hint>(q.hint), q.target);
      case D::kDelete: return dir_.Delete(key);
      case D::kShare: return dir_.Share(key);
      case D::kRelease: return dir_.Release(key);
      case D::kVictim: {
        // The stand-in's "victim": a random valid entry, or none (the executor only passes
        // the answer on; the choice itself is kvcpu_dir's, checked by tb_dir and the e2e tests).
        const uint32_t h = static_cast<uint32_t>(rng()() % dir_.capacity());
        ++bins_[dir_.entry(h).valid ? "dir: victim named" : "dir: no victim"];
        return m::OpResult{m::Status::kSuccess, dir_.entry(h).valid ? h : m::kNoHandle};
      }
      default: return dir_.SetTier(q.handle, q.tier, q.addr);
    }
  }

  void check_hints(const char* hdr) {
    auto& d = sim_.dut();
    for (unsigned i = 0; i < 5; ++i) {
      const uint32_t got = d.hint_count_o[i];
      if (got != ref_.hint(i)) {
        expect(false, std::string(hdr) + ": HINT_COUNT[" + std::to_string(i) + "] " + std::to_string(got) +
                          ", model " + std::to_string(ref_.hint(i)));
      }
    }
  }

  // ---------------------------------------------------------------- one cycle
  void step() {
    auto& d = sim_.dut();
    auto& r = rng();
    const uint64_t cyc = sim_.cycle();
    // ---- drive
    mem_.drive(d, cyc);
    if (drv_ && !cmd_drv_) cmd_drv_ = true;
    d.cmd_valid_i = cmd_drv_;
    if (cmd_drv_) {
      for (unsigned i = 0; i < 16; ++i) d.cmd_sqe_i[i] = static_cast<uint32_t>(drv_->c.le(4 * i, 4));
      d.cmd_qid_i = drv_->qid;
    } else {
      for (unsigned i = 0; i < 16; ++i) d.cmd_sqe_i[i] = static_cast<uint32_t>(r());
      d.cmd_qid_i = static_cast<unsigned>(r() % (1u << kQidW));
    }
    d.cpl_ready_i = std::bernoulli_distribution(cfg_.p_cpl_ready)(r);
    const bool sready = std::bernoulli_distribution(cfg_.p_step_ready)(r);
    if (!sready && std::bernoulli_distribution(cfg_.p_mmio)(r)) {
      // an MMIO write changes the step; the core holds step_ready_i low in that cycle
      switch (r() % 3) {
        case 0: step_ += 1 + r() % 4; break;
        case 1: step_ -= 1 + r() % 4; break;
        default: step_ = r(); break;
      }
      if (fly_) fly_->step_changed = true;
    }
    d.step_ready_i = sready;
    d.step_i = step_;
    d.dir_req_ready_i = std::bernoulli_distribution(cfg_.p_dir_ready)(r);
    const bool rsp_now = dir_rsp_ && dir_rsp_due_ <= cyc;
    d.dir_rsp_valid_i = rsp_now;
    if (rsp_now) {
      d.dir_rsp_status_i = fly_->dir_status;
      d.dir_rsp_handle_i = fly_->dir_handle;
      kvcpu::sim::put_bytes(d.dir_rsp_entry_i, ExecRefModel::entry_bytes(fly_->dir_entry));
    } else {
      d.dir_rsp_status_i = static_cast<uint16_t>(r());
      d.dir_rsp_handle_i = static_cast<uint32_t>(r());
      for (unsigned i = 0; i < 10; ++i) d.dir_rsp_entry_i[i] = static_cast<uint32_t>(r());
    }
    d.io_push_ok_i = std::bernoulli_distribution(cfg_.p_io_ok)(r);
    sim_.settle();

    // ---- observe
    const bool fly = fly_.has_value();
    expect(d.busy_o == fly, "busy_o " + std::to_string(d.busy_o) + " with " + (fly ? "a" : "no") +
                                " command in flight");
    expect(!d.cpl_valid_o || fly, "cpl_valid_o without a command in flight");
    if (prev_cpl_) {
      expect(d.cpl_valid_o && d.cpl_status_o == prev_status_ && d.cpl_result_o == prev_result_ &&
                 d.cpl_cid_o == prev_cid_ && d.cpl_qid_o == prev_qid_ && d.cpl_defer_o == prev_defer_,
             "cpl dropped or changed before cpl_ready");
    }
    if (!fly) check_hints("idle");
    if (d.step_valid_o) {
      const bool ok = fly && fly_->c.opcode() == tb::kOpStepAdvance && fly_->chk == tb::kExSuccess;
      expect(ok, "step_valid_o without a STEP_ADVANCE in flight");
      if (ok && fly_->c.mode() == 1) {
        expect(fly_->c.arg() >= d.step_i, "step_valid_o offers a step below step_i (mode 1)");
      }
      if (!d.step_ready_i) ++bins_["step: step_ready low while offered"];
    }
    if (fly && d.step_ready_i && !d.cpl_valid_o) {
      fly_->ready_high_seen = true;
      fly_->last_ready_step = d.step_i;
    }
    // AXI: bursts of the command in flight, error beats and responses
    if (d.m_axi_arvalid_o && d.m_axi_arready_i) {
      expect(d.m_axi_arlen_o < 16, "read burst longer than 16 beats");
      if (fly) fly_->ar.push_back({d.m_axi_araddr_o, 0, static_cast<unsigned>(d.m_axi_arlen_o) + 1});
    }
    if (d.m_axi_awvalid_o && d.m_axi_awready_i) {
      expect(d.m_axi_awlen_o < 16, "write burst longer than 16 beats");
      if (fly) fly_->aw.push_back({0, d.m_axi_awaddr_o, static_cast<unsigned>(d.m_axi_awlen_o) + 1});
    }
    if (d.m_axi_rvalid_i && d.m_axi_rready_o && d.m_axi_rresp_i >= 2) {
      ++rd_err_beats_;
      if (rbeat_ > 0 && rfirst_ok_) ++bins_["axi: read error after an OKAY beat of the burst"];
      ++bins_[d.m_axi_rresp_i == 2 ? "axi: read SLVERR" : "axi: read DECERR"];
    }
    if (d.m_axi_rvalid_i && d.m_axi_rready_o) {
      if (rbeat_ == 0) rfirst_ok_ = d.m_axi_rresp_i < 2;
      rbeat_ = d.m_axi_rlast_i ? 0 : rbeat_ + 1;
    }
    if (d.m_axi_bvalid_i && d.m_axi_bready_o && d.m_axi_bresp_i >= 2) ++wr_err_resps_;
    rd_err_pulses_ += d.err_host_rd_o;
    wr_err_pulses_ += d.err_host_wr_o;
    expect(rd_err_pulses_ <= rd_err_beats_, "err_host_rd_o without an error beat");
    expect(wr_err_pulses_ <= wr_err_resps_, "err_host_wr_o without an error response");
    mem_.observe(d, cyc);

    bool accepted = false;
    if (d.cmd_valid_i && d.cmd_ready_o) {
      expect(!fly, "cmd accepted while a command is in flight");
      on_accept(*drv_);
      accepted = true;
    } else if (d.cmd_valid_i && fly) {
      ++bins_["cmd: held while busy"];
    }
    if (rsp_now) dir_rsp_ = false;
    if (d.io_push_o) {
      expect(fly, "push to the I/O unit without a command in flight");
      if (fly) {
        std::array<uint8_t, 64> b{};
        kvcpu::sim::get_bytes(d.io_sqe_o, b);
        fly_->pushes.emplace_back(d.io_qid_o, b);
        fly_->push_ok = d.io_push_ok_i;
      }
    }
    if (d.dir_req_valid_o && !d.dir_req_ready_i) ++bins_["dir: request held (req_ready low)"];
    if (d.dir_req_valid_o && d.dir_req_ready_i) {
      expect(fly && !dir_rsp_, "directory request without a command in flight, or one already waiting");
      if (fly) {
        ExecRefModel::DirReq q;
        q.op = static_cast<ExecRefModel::DirOp>(d.dir_req_op_o);
        q.key = d.dir_req_key_o;
        q.handle = d.dir_req_handle_o;
        q.tier = d.dir_req_tier_o;
        q.addr = d.dir_req_addr_o;
        q.prefix = d.dir_req_prefix_o;
        q.dirty = d.dir_req_dirty_o;
        q.recompute_ok = d.dir_req_recompute_ok_o;
        q.lifetime_end = d.dir_req_lifetime_end_o;
        q.session = d.dir_req_session_o;
        q.model_id = d.dir_req_model_id_o;
        q.hint = d.dir_req_hint_o;
        q.target = d.dir_req_target_o;
        fly_->dir_reqs.push_back(q);
        dir_.SetStep(static_cast<uint32_t>(step_));  // refused (kept) when it would go back
        const m::OpResult o = dir_apply(q);
        fly_->dir_status = static_cast<uint16_t>(o.status);
        fly_->dir_handle = o.handle;
        fly_->dir_entry = o.handle == m::kNoHandle ? m::Entry{} : dir_.entry(o.handle);
        dir_rsp_ = true;
        dir_rsp_due_ = cyc + 1 + r() % cfg_.dir_lat_max;
      }
    }
    if (fly && d.step_valid_o && d.step_ready_i) {
      ++fly_->step_hs;
      fly_->step_hs_value = d.step_value_o;
      fly_->step_at_hs = d.step_i;
    }
    bool completed = false;
    if (fly && d.cpl_valid_o && d.cpl_ready_i) {
      on_complete(*fly_, d.cpl_status_o, d.cpl_result_o, d.cpl_qid_o, d.cpl_cid_o, d.cpl_defer_o);
      completed = true;
    } else if (d.cpl_valid_o) {
      ++bins_["cpl: backpressure"];
    }
    prev_cpl_ = d.cpl_valid_o && !d.cpl_ready_i;
    prev_status_ = d.cpl_status_o;
    prev_result_ = d.cpl_result_o;
    prev_cid_ = d.cpl_cid_o;
    prev_qid_ = d.cpl_qid_o;
    prev_defer_ = d.cpl_defer_o;
    // a step handshake: the core takes the value
    if (d.step_valid_o && d.step_ready_i) step_ = d.step_value_o;
    sim_.tick();
    if (completed) fly_.reset();
    if (accepted) {
      fly_ = std::move(drv_);
      drv_.reset();
      cmd_drv_ = false;
    }
  }

  Sim<Model> sim_;
  AxiMem<Model> mem_;
  ExecRefModel ref_;
  // 2^2 sets x 8 ways and 48 keys: hits, misses and full sets
  static constexpr m::RtbdConfig kDirCfg{2, 4, 32};
  m::RtbdModel dir_{kDirCfg};
  std::array<uint64_t, 48> keys_{};
  bool dir_rsp_ = false;  // an answer is scheduled (for the command in flight)
  uint64_t dir_rsp_due_ = 0;
  kvcpu::sim::Coverage bins_;
  EpochCfg cfg_{};
  std::optional<Pending> drv_, fly_;
  bool cmd_drv_ = false;
  uint64_t step_ = 0;
  uint64_t src_base_[2]{}, dst_base_[2]{};
  unsigned big_left_;
  uint64_t total_ = 0, done_ = 0;
  uint64_t rd_err_beats_ = 0, rd_err_pulses_ = 0, wr_err_resps_ = 0, wr_err_pulses_ = 0;
  bool prev_cpl_ = false;
  unsigned rbeat_ = 0;  // beat of the current read burst
  bool rfirst_ok_ = false;
  uint16_t prev_status_ = 0, prev_cid_ = 0;
  uint32_t prev_result_ = 0;
  unsigned prev_qid_ = 0;
  bool prev_defer_ = false;
  int failures_ = 0;
};

std::vector<std::string> required_bins() {
  std::vector<std::string> v;
  auto add = [&v](const std::string& op, std::initializer_list<const char*> sts) {
    for (const char* s : sts) v.push_back("op " + op + " / " + s);
  };
  add("NOP", {"SUCCESS"});
  add("STEP_ADVANCE", {"SUCCESS", "INVALID_FIELD", "STEP_BACKWARDS"});
  for (const char* h : {"MARK_HOT", "EVICT", "PREFETCH", "SHARE_PREFIX", "RELEASE"}) {
    add(h, {"SUCCESS", "INVALID_FIELD", "INVALID_LENGTH", "NOT_FOUND"});
  }
  add("BLK_INSERT", {"SUCCESS", "INVALID_FIELD", "DUPLICATE", "DIR_FULL", "BAD_FIELD"});
  add("BLK_LOOKUP", {"SUCCESS", "INVALID_FIELD", "NOT_FOUND", "DMA_ERROR"});
  add("BLK_TOUCH", {"SUCCESS", "INVALID_FIELD", "NOT_FOUND", "DMA_ERROR"});
  add("BLK_DELETE", {"SUCCESS", "INVALID_FIELD", "NOT_FOUND"});
  add("BLK_SET_TIER", {"SUCCESS", "INVALID_FIELD", "NOT_FOUND", "BAD_FIELD"});
  add("BLK_VICTIM", {"SUCCESS", "INVALID_FIELD", "DMA_ERROR"});
  add("RELEASE", {"REF_UNDERFLOW"});
  add("IO_READ", {"SUCCESS", "INVALID_FIELD", "INVALID_LENGTH", "IO_BUSY"});
  add("IO_WRITE", {"SUCCESS", "INVALID_FIELD", "INVALID_LENGTH", "IO_BUSY"});
  add("IO_DISCARD", {"SUCCESS", "INVALID_FIELD", "INVALID_LENGTH", "IO_BUSY", "DMA_ERROR"});
  for (const char* b : {"io: two pages", "io: deferred", "io: no free context (IO_BUSY)",
                        "io: DSM range write error"}) {
    v.emplace_back(b);
  }
  add("PREFETCH", {"HINT_STALE"});
  for (const char* b : {"keyed hint / SUCCESS", "keyed hint / NOT_FOUND", "keyed hint / INVALID_FIELD",
                        "dir: entry written", "dir: zero entry written", "dir: entry write error",
                        "dir: request held (req_ready low)", "dir: victim named", "dir: no victim"}) {
    v.emplace_back(b);
  }
  add("ECHO", {"SUCCESS", "INVALID_FIELD"});
  add("DMA_COPY", {"SUCCESS", "INVALID_FIELD", "INVALID_LENGTH", "DMA_ERROR"});
  add("unknown", {"INVALID_OPCODE"});
  for (const char* l : {"len hint 8 / SUCCESS", "len hint 2^20 / SUCCESS",
                        "len hint 2^30 / SUCCESS", "len hint 2^30+1 / INVALID_LENGTH", "len dma 0 / INVALID_LENGTH",
                        "len dma 8 / SUCCESS", "len dma 2^20 / SUCCESS", "len dma 2^20+8 / INVALID_LENGTH",
                        "len dma 2^30 / INVALID_LENGTH", "len dma 2^30+1 / INVALID_FIELD"}) {
    v.emplace_back(l);
  }
  for (const char* b : {"engine field set: INVALID_FIELD", "dma: read error in the first chunk",
                        "dma: read error after written chunks", "dma: write error in the first chunk",
                        "dma: write error after written chunks", "dma: 16-beat chunk", "dma: 1-beat chunk",
                        "dma: chunk cut at a source 4 KiB boundary", "dma: chunk cut at a destination 4 KiB boundary",
                        "axi: read SLVERR", "axi: read DECERR", "axi: read error after an OKAY beat of the burst", "step: mode 1 to the current step", "step: mode 0 wraps",
                        "step: step_ready low while offered", "step: changed by MMIO while in flight",
                        "cpl: backpressure", "cmd: held while busy"}) {
    v.emplace_back(b);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  const SimOptions opt = SimOptions::from_args(argc, argv, "tb_exec");
  const uint64_t n = SimOptions::plusarg(argc, argv, "n", 3000);
  const unsigned big = static_cast<unsigned>(SimOptions::plusarg(argc, argv, "big", 1));
  Bench b(opt, big);
  auto& r = b.rng();
  const std::vector<std::string> required = required_bins();
  // n commands, then more epochs (up to 3n commands in all) while a required bin is empty:
  // the rarest bins (an entry write error on a BLK_LOOKUP that hits) get a few hits per 6,000
  // commands, so a fixed count alone leaves a hole in some seeds.
  uint64_t left = n, extra = 0;
  unsigned epoch = 0;
  while (b.failures() == 0) {
    if (left == 0) {
      if (extra >= 2 * n || b.bins().holes(required) == 0) break;
      left = std::min<uint64_t>(200, 2 * n - extra);
      extra += left;
    }
    EpochCfg c{};
    c.cmds = std::min<uint64_t>(left, 200 + r() % 400);
    const unsigned lvl = epoch % 4;  // backpressure level: none, light, medium, heavy
    static const double kReady[] = {1.0, 0.8, 0.5, 0.2};
    c.jit = AxiJitter{kReady[lvl], lvl * 6u, lvl * 0.15};
    c.p_cpl_ready = lvl == 0 ? 1.0 : kReady[3 - lvl];
    c.p_step_ready = lvl == 0 ? 1.0 : kReady[(lvl + 1) % 4] + 0.1;
    c.p_mmio = lvl == 0 ? 0.0 : 0.1;
    c.p_cmd_gap = lvl * 0.2;
    c.p_rd_err = epoch % 3 == 1 ? 0.3 : 0.05;
    c.p_wr_err = epoch % 3 == 2 ? 0.3 : 0.05;
    c.p_dir_ready = kReady[lvl];
    c.dir_lat_max = 1 + lvl * 3;
    c.p_io_ok = lvl == 0 ? 1.0 : 0.8;
    c.big = lvl == 0;
    b.run_epoch(c);
    left -= c.cmds;
    ++epoch;
  }
  b.bins().print("tb_exec");
  const bool cov_ok = b.bins().check(required);
  if (extra > 0) std::printf("[tb_exec] %" PRIu64 " commands past +n=%" PRIu64 " to close coverage\n", extra, n);
  const bool ok = b.failures() == 0 && !b.sim().assertion_failed() && cov_ok;
  std::printf("[tb_exec] %" PRIu64 " commands in %u epochs, %" PRIu64 " cycles, seed %" PRIu64 ": %s\n", b.commands(),
              epoch, b.sim().cycle(), b.sim().seed(), ok ? "PASS" : "FAIL");
  if (b.sim().assertion_failed()) std::printf("[tb_exec] RTL assertion failed\n");
  return ok ? 0 : 1;
}
