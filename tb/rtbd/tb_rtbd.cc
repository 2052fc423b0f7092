// kvcpu_rtbd testbench: random directory op streams against RtbdModel (sw/model/rtbd.h),
// every response compared (status, handle, the whole 320-bit entry), the latency checked
// (exactly 2 cycles), and the whole directory compared entry by entry at phase ends.
//
// The run is cut into phases, each with a fresh key pool and op mix: a few "hot" sets get
// 9..14 keys of the same hash (full sets, DIR_FULL, constant same-set back-to-back ops),
// plus random keys (hits, duplicates) and fresh keys (misses); "refcount storms" (a tiny
// pool, SHARE-heavy, no DELETE) reach REF_OVERFLOW; random request gaps (or none); steps
// advance by small increments and rare jumps; out-of-range tiers, hint kinds and handles.
// A request is presented during the reset sweep and must be held until ready.
// Coverage: every op x status, the same-set back-to-back hazard (plain, after a write =
// forwarded, chains of 3), a held request; a hole fails the run.
//
//   tb_rtbd[_s13] [+seed=N] [+ops=N] [+trace[=FILE]]
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include KVCPU_TB_MODEL_HEADER
#include "coverage.h"
#include "rtbd.h"
#include "rtbd_tb.h"
#include "sim.h"

namespace {

using Model = KVCPU_TB_MODEL;
using kvcpu::sim::Coverage;
using kvcpu::sim::Sim;
using kvcpu::sim::SimOptions;
namespace m = kvcpu::model;
using kvcpu::tb::Decode;
using kvcpu::tb::Diff;
using kvcpu::tb::StatusName;

constexpr unsigned kSetBits = KVCPU_TB_SET_BITS;
constexpr unsigned kSets = 1u << kSetBits;
constexpr uint32_t kCapacity = kSets * m::kWays;
constexpr unsigned kBucketShift = 4;  // the RTL defaults: BucketShift = 4, NumBuckets = 1024
constexpr unsigned kNumBuckets = 1024;
constexpr uint64_t kLatency = 2;

enum Op : uint8_t { kInsert, kLookup, kTouch, kUpdateHint, kDelete, kShare, kRelease, kSetTier };
constexpr const char* kOpName[8] = {"INSERT", "LOOKUP",  "TOUCH",   "UPDATE_HINT",
                                    "DELETE", "SHARE",   "RELEASE", "SET_TIER"};

struct Req {
  Op op = kLookup;
  uint64_t key = 0;
  uint32_t handle = 0;
  uint8_t tier = 0;  // 3 bits
  uint64_t addr = 0;
  bool prefix = false, dirty = false, recompute_ok = false;
  uint32_t lifetime_end = 0;
  uint16_t session = 0;
  uint8_t model_id = 0;
  uint8_t hint = 0;  // 3 bits
  uint32_t target = 0;
  uint32_t step = 0;
};

struct Expect {
  Req req;
  m::OpResult res;
  m::Entry entry;
  uint64_t cycle = 0;  // accepted in this cycle
  uint64_t index = 0;
};


class Tb {
 public:
  Tb(int argc, char** argv)
      : sim_(SimOptions::from_args(argc, argv, KVCPU_TB_NAME)),
        model_(m::RtbdConfig{kSetBits, kBucketShift, kNumBuckets}),
        n_ops_(SimOptions::plusarg(argc, argv, "ops", 1'000'000)) {}

  int Run() {
    const auto t0 = std::chrono::steady_clock::now();
    Model& dut = sim_.dut();
    Drive(nullptr);
    sim_.reset();
    // The reset sweep keeps ready low: a request presented now must be held.
    if (dut.req_ready_o) {
      Fail("req_ready_o high right after reset (the sweep must clear 2^SetBits rows)");
    }
    NewPhase();
    uint64_t sweep_cycles = 0;
    while (!dut.req_ready_o && !sim_.timed_out()) {
      ++sweep_cycles;
      Cycle(/*allow_idle=*/false);
    }
    std::printf("[%s] reset sweep: %" PRIu64 " cycles (2^SetBits = %u)\n", KVCPU_TB_NAME,
                sweep_cycles, kSets);

    uint64_t next_phase = phase_len_;
    while (accepted_ < n_ops_ && ok()) {
      if (accepted_ >= next_phase && !have_req_) {
        Drain();
        if (kCapacity <= 4096) {
          CompareAll();  // the whole directory, entry by entry
        }
        NewPhase();
        next_phase = accepted_ + phase_len_;
      }
      Cycle(/*allow_idle=*/true);
    }
    Drain();
    const uint64_t main_ops = accepted_;
    const auto t1 = std::chrono::steady_clock::now();
    if (ok()) {
      CompareAll();
      Drain();
    }
    const double secs = std::chrono::duration<double>(t1 - t0).count();

    cov_.print(KVCPU_TB_NAME);
    std::vector<std::string> req;
    for (const auto& [op, sts] : std::vector<std::pair<Op, std::vector<m::Status>>>{
             {kInsert, {m::Status::kSuccess, m::Status::kDuplicate, m::Status::kDirFull,
                        m::Status::kBadField}},
             {kLookup, {m::Status::kSuccess, m::Status::kNotFound}},
             {kTouch, {m::Status::kSuccess, m::Status::kNotFound}},
             {kUpdateHint, {m::Status::kSuccess, m::Status::kNotFound, m::Status::kHintStale,
                            m::Status::kBadField}},
             {kDelete, {m::Status::kSuccess, m::Status::kNotFound}},
             {kShare, {m::Status::kSuccess, m::Status::kNotFound, m::Status::kRefOverflow}},
             {kRelease, {m::Status::kSuccess, m::Status::kNotFound, m::Status::kRefUnderflow}},
             {kSetTier, {m::Status::kSuccess, m::Status::kNotFound, m::Status::kBadField}}}) {
      for (m::Status s : sts) {
        req.push_back(std::string(kOpName[op]) + " " + StatusName(s));
      }
    }
    for (const char* b : {"hazard: same set back-to-back", "hazard: same set back-to-back after a write (forwarded)",
                          "hazard: same set 3 in a row", "hazard: same set one cycle apart after a write",
                          "request held while not ready", "TOUCH F saturates at 15",
                          "UPDATE_HINT bucket clamped to cur+NB-1", "INSERT fills the last free way",
                          "UPDATE_HINT PREFETCH", "UPDATE_HINT HOT", "UPDATE_HINT EVICT", "UPDATE_HINT NONE",
                          "TOUCH consumes a PREFETCH/EVICT hint", "full-directory compare"}) {
      req.push_back(b);
    }
    const bool cov_ok = cov_.check(req);
    const bool asserts_ok = !sim_.assertion_failed();
    std::printf("[%s] %" PRIu64 " ops (+%" PRIu64 " for the final compare), %" PRIu64
                " cycles, %" PRIu64 " mismatches, %.2f s: %.0f ops/s, %.0f cycles/s\n",
                KVCPU_TB_NAME, main_ops, accepted_ - main_ops, sim_.cycle(), mismatches_, secs,
                main_ops / secs, sim_.cycle() / secs);
    const bool pass = ok() && cov_ok && asserts_ok;
    if (!asserts_ok) {
      std::printf("[%s] RTL assertion failed\n", KVCPU_TB_NAME);
    }
    std::printf("[%s] %s (seed=%" PRIu64 ")\n", KVCPU_TB_NAME, pass ? "PASS" : "FAIL", sim_.seed());
    return pass ? 0 : 1;
  }

 private:
  bool ok() const { return mismatches_ == 0 && !fatal_ && !sim_.assertion_failed(); }

  void Fail(const std::string& what) {
    ++mismatches_;
    if (mismatches_ <= 10) {
      std::printf("MISMATCH @cycle %" PRIu64 ": %s\n", sim_.cycle(), what.c_str());
    }
  }

  std::mt19937_64& rng() { return sim_.rng(); }
  uint64_t Rand(uint64_t n) { return rng()() % n; }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng()) < p; }

  uint64_t StructuredKey() {
    const m::Key k{static_cast<uint16_t>(Rand(64)), static_cast<uint8_t>(Rand(32)),
                   static_cast<uint8_t>(Rand(8)), static_cast<uint32_t>(Rand(4096) * 512)};
    return k.Packed();
  }

  // A fresh key pool, op mix, gap rate and step pace.
  void NewPhase() {
    ++phase_;
    pool_.clear();
    const bool storm = Chance(0.15);
    const bool cleanup = !storm && Chance(0.15);
    std::vector<uint64_t> live;
    for (uint32_t h = 0; h < kCapacity; ++h) {
      if (model_.entry(h).valid) {
        live.push_back(model_.entry(h).key.Packed());
      }
    }
    if (cleanup && !live.empty()) {
      // the keys left by earlier phases, DELETE-heavy: the sets empty again
      pool_ = live;
      weights_ = {1, 1, 1, 1, 12, 1, 2, 1};
      ++cov_["phase: cleanup"];
    } else if (storm) {
      for (unsigned i = 0, n = 1 + Rand(3); i < n; ++i) {
        pool_.push_back(StructuredKey());
      }
      weights_ = {2, 1, 2, 1, 0, 12, 2, 1};
      ++cov_["phase: refcount storm"];
    } else {
      // hot sets: 9..14 keys with one hash each
      for (unsigned h = 0, nh = 1 + Rand(3); h < nh; ++h) {
        const uint64_t seed_key = StructuredKey();
        const uint32_t set = m::RtbdSet(seed_key, kSetBits);
        pool_.push_back(seed_key);
        for (unsigned n = 8 + Rand(6); n > 0;) {
          const uint64_t k = StructuredKey();
          if (m::RtbdSet(k, kSetBits) == set && k != seed_key) {
            pool_.push_back(k);
            --n;
          }
        }
      }
      for (unsigned i = 0, n = Rand(24); i < n; ++i) {
        pool_.push_back(StructuredKey());
      }
      for (unsigned i = 0, n = live.empty() ? 0 : Rand(12); i < n; ++i) {
        pool_.push_back(live[Rand(live.size())]);  // entries of earlier phases
      }
      for (auto& w : weights_) {
        w = Chance(0.15) ? 0 : static_cast<unsigned>(1 + Rand(10));
      }
      weights_[kInsert] += 4;  // keep the sets filling
    }
    unsigned total = 0;
    for (unsigned w : weights_) {
      total += w;
    }
    if (total == 0) {
      weights_[kInsert] = 1;
    }
    const unsigned g = Rand(4);
    idle_p_ = g == 0 ? 0.0 : g == 1 ? 0.05 : g == 2 ? 0.3 : 0.7;
    step_p_ = Chance(0.5) ? 0.02 : 0.3;
    phase_len_ = 2000 + Rand(30000);
  }

  Req Generate() {
    Req r;
    unsigned total = 0;
    for (unsigned w : weights_) {
      total += w;
    }
    unsigned pick = Rand(total);
    unsigned op = 0;
    while (pick >= weights_[op]) {
      pick -= weights_[op];
      ++op;
    }
    r.op = static_cast<Op>(op);
    r.key = Chance(0.03) ? rng()() : pool_[Rand(pool_.size())];
    // step: small increments, rare jumps (kept far from the 2^32 wrap)
    if (Chance(step_p_) && step_ < 0xF000'0000u) {
      step_ += Chance(0.001) ? static_cast<uint32_t>(Rand(1u << 16)) : static_cast<uint32_t>(1 + Rand(4));
    }
    r.step = step_;
    r.tier = static_cast<uint8_t>(Chance(0.05) ? 4 + Rand(4) : Rand(4));
    r.addr = rng()();
    r.prefix = Chance(0.3);
    r.dirty = Chance(0.5);
    r.recompute_ok = Chance(0.3);
    r.lifetime_end = Chance(0.5) ? 0 : static_cast<uint32_t>(rng()());
    r.session = static_cast<uint16_t>(rng()());
    r.model_id = static_cast<uint8_t>(rng()());
    r.hint = static_cast<uint8_t>(Chance(0.05) ? 4 + Rand(4) : Rand(4));
    const int64_t span = int64_t{kNumBuckets} << kBucketShift;
    const int64_t delta = Chance(0.02) ? int64_t(rng()() >> 33)
                                       : int64_t(Rand(span + span / 2 + 4096)) - 4096;
    r.target = static_cast<uint32_t>(int64_t{step_} + delta);
    if (r.op == kSetTier) {
      const unsigned c = Rand(10);
      if (c < 6) {
        const m::OpResult lr = model_.Lookup(m::Key::Unpack(r.key));
        r.handle = lr.ok() ? lr.handle : static_cast<uint32_t>(Rand(kCapacity));
      } else if (c < 9) {
        r.handle = static_cast<uint32_t>(Rand(kCapacity));
      } else {
        r.handle = static_cast<uint32_t>(rng()());
      }
    }
    return r;
  }

  void Drive(const Req* r) {
    Model& d = sim_.dut();
    d.req_valid_i = r != nullptr;
    if (r == nullptr) {
      return;  // payload left as it was (don't-care while !valid)
    }
    d.req_op_i = r->op;
    d.req_key_i = r->key;
    d.req_handle_i = r->handle;
    d.req_tier_i = r->tier;
    d.req_addr_i = r->addr;
    d.req_prefix_i = r->prefix;
    d.req_dirty_i = r->dirty;
    d.req_recompute_ok_i = r->recompute_ok;
    d.req_lifetime_end_i = r->lifetime_end;
    d.req_session_i = r->session;
    d.req_model_id_i = r->model_id;
    d.req_hint_i = r->hint;
    d.req_target_i = r->target;
    d.step_i = r->step;
  }

  // The model's result of an accepted request.
  m::OpResult Apply(const Req& r) {
    if (model_.SetStep(r.step) != m::Status::kSuccess) {
      fatal_ = true;
      std::printf("testbench bug: step went backwards\n");
    }
    const m::Key key = m::Key::Unpack(r.key);
    switch (r.op) {
      case kInsert: {
        m::InsertArgs a;
        a.key = key;
        a.tier = r.tier;
        a.addr = r.addr;
        a.prefix = r.prefix;
        a.dirty = r.dirty;
        a.recompute_ok = r.recompute_ok;
        a.lifetime_end = r.lifetime_end;
        a.session = r.session;
        a.model_id = r.model_id;
        return model_.Insert(a);
      }
      case kLookup: return model_.Lookup(key);
      case kTouch: return model_.Touch(key);
      case kUpdateHint: return model_.UpdateHint(key, static_cast<m::Hint>(r.hint), r.target);
      case kDelete: return model_.Delete(key);
      case kShare: return model_.Share(key);
      case kRelease: return model_.Release(key);
      case kSetTier: return model_.SetTier(r.handle, r.tier, r.addr);
    }
    return {};
  }

  static bool Writes(const Req& r, const m::OpResult& res) { return res.ok() && r.op != kLookup; }

  uint32_t SetOfReq(const Req& r) const {
    return r.op == kSetTier ? (r.handle >> 3) & (kSets - 1) : m::RtbdSet(r.key, kSetBits);
  }

  // Coverage of an accepted request, before and after the model applied it.
  void Cover(const Req& r, const m::Entry& before, const m::OpResult& res) {
    ++cov_[std::string(kOpName[r.op]) + " " + StatusName(res.status)];
    const uint32_t set = SetOfReq(r);
    const uint64_t c = sim_.cycle();
    if (have_last_ && last_cycle_ + 1 == c && last_set_ == set) {
      ++cov_["hazard: same set back-to-back"];
      if (last_wrote_) {
        ++cov_["hazard: same set back-to-back after a write (forwarded)"];
      }
      if (++chain_ >= 2) {
        ++cov_["hazard: same set 3 in a row"];
      }
    } else {
      chain_ = 0;
    }
    if (have_prev_ && prev_cycle_ + 2 == c && prev_set_ == set && prev_wrote_) {
      ++cov_["hazard: same set one cycle apart after a write"];
    }
    if (res.ok()) {
      const m::Entry& e = model_.entry(res.handle);
      if (r.op == kTouch && before.freq == 15) {
        ++cov_["TOUCH F saturates at 15"];
      }
      if (r.op == kTouch && (before.hint == m::Hint::kPrefetch || before.hint == m::Hint::kEvict)) {
        ++cov_["TOUCH consumes a PREFETCH/EVICT hint"];
      }
      if (r.op == kUpdateHint) {
        static constexpr const char* kHintName[4] = {"NONE", "HOT", "PREFETCH", "EVICT"};
        ++cov_[std::string("UPDATE_HINT ") + kHintName[r.hint & 3]];
        if (r.hint == 2 && (r.target >> kBucketShift) != e.hint_bucket) {
          ++cov_["UPDATE_HINT bucket clamped to cur+NB-1"];
        }
      }
      if (r.op == kInsert && (res.handle & 7) == 7) {
        ++cov_["INSERT fills the last free way"];
      }
    }
    // shift the last-two history
    have_prev_ = have_last_;
    prev_cycle_ = last_cycle_;
    prev_set_ = last_set_;
    prev_wrote_ = last_wrote_;
    have_last_ = true;
    last_cycle_ = c;
    last_set_ = set;
    last_wrote_ = Writes(r, res);
  }

  // One clock cycle: maybe present a request, sample the handshake, tick, check responses.
  void Cycle(bool allow_idle) {
    Model& dut = sim_.dut();
    if (!have_req_ && !quiesce_ && (!allow_idle || !Chance(idle_p_)) && accepted_ < target_ops()) {
      req_ = scripted_.empty() ? Generate() : scripted_.front();
      if (!scripted_.empty()) {
        scripted_.pop_front();
      }
      have_req_ = true;
    }
    Drive(have_req_ ? &req_ : nullptr);
    sim_.settle();
    if (have_req_ && !dut.req_ready_o) {
      ++cov_["request held while not ready"];
    }
    if (have_req_ && dut.req_ready_o) {
      Expect e;
      e.req = req_;
      const uint32_t h0 = req_.op == kSetTier ? req_.handle : model_.Lookup(m::Key::Unpack(req_.key)).handle;
      const m::Entry before = h0 < kCapacity ? model_.entry(h0) : m::Entry{};
      e.res = Apply(req_);
      e.entry = e.res.handle == m::kNoHandle ? m::Entry{} : model_.entry(e.res.handle);
      e.cycle = sim_.cycle();
      e.index = accepted_++;
      Cover(req_, before, e.res);
      pending_.push_back(e);
      have_req_ = false;
    }
    sim_.tick_settled();
    CheckResponse();
  }

  void CheckResponse() {
    Model& dut = sim_.dut();
    if (dut.rsp_valid_o) {
      if (pending_.empty()) {
        Fail("response with no request outstanding");
        return;
      }
      const Expect e = pending_.front();
      pending_.pop_front();
      char buf[256];
      std::snprintf(buf, sizeof buf, "op #%" PRIu64 " %s key=0x%016" PRIx64 " handle=0x%x step=%u:",
                    e.index, kOpName[e.req.op], e.req.key, e.req.handle, e.req.step);
      std::string where = buf;
      if (sim_.cycle() - e.cycle != kLatency) {
        Fail(where + " response after " + std::to_string(sim_.cycle() - e.cycle) + " cycles, not 2");
      }
      if (dut.rsp_op_o != e.req.op) {
        Fail(where + " rsp_op " + std::to_string(dut.rsp_op_o));
      }
      const auto st = static_cast<m::Status>(dut.rsp_status_o);
      if (st != e.res.status) {
        Fail(where + " status rtl " + StatusName(st) + " model " + StatusName(e.res.status));
      }
      if (dut.rsp_handle_o != e.res.handle) {
        std::snprintf(buf, sizeof buf, " handle rtl 0x%x model 0x%x", dut.rsp_handle_o, e.res.handle);
        Fail(where + buf);
      }
      uint32_t reserved = 0;
      const m::Entry got = Decode(dut.rsp_entry_o, &reserved);
      const std::string d = Diff(got, e.entry);
      if (!d.empty() || reserved != 0) {
        Fail(where + " entry" + d + (reserved ? " reserved bits set" : ""));
      }
      ++responses_;
    } else if (!pending_.empty() && sim_.cycle() - pending_.front().cycle >= kLatency) {
      Fail("no response " + std::to_string(kLatency) + " cycles after a request");
      pending_.pop_front();
    }
  }

  uint64_t target_ops() const { return scripted_.empty() ? n_ops_ : ~uint64_t{0}; }

  // Let the pipeline empty.
  void Drain() {
    quiesce_ = true;
    for (unsigned i = 0; i < 8 && (!pending_.empty() || have_req_); ++i) {
      Cycle(/*allow_idle=*/false);
    }
    while (have_req_ && !sim_.timed_out()) {
      Cycle(false);
    }
    for (unsigned i = 0; i < 4; ++i) {
      Cycle(false);
    }
    if (!pending_.empty()) {
      Fail("responses missing after drain");
      pending_.clear();
    }
    quiesce_ = false;
  }

  // Every handle through SET_TIER with tier 4: BAD_FIELD and the entry where live,
  // NOT_FOUND where not; changes nothing, and compares the whole directory.
  void CompareAll() {
    for (uint32_t h = 0; h < kCapacity; ++h) {
      Req r;
      r.op = kSetTier;
      r.handle = h;
      r.tier = 4;
      r.step = step_;
      scripted_.push_back(r);
    }
    quiesce_ = false;
    while (!scripted_.empty() && ok() && !sim_.timed_out()) {
      Cycle(false);
    }
    ++cov_["full-directory compare"];
  }

  Sim<Model> sim_;
  m::RtbdModel model_;
  Coverage cov_;
  uint64_t n_ops_;
  uint64_t accepted_ = 0, responses_ = 0, mismatches_ = 0;
  bool fatal_ = false;
  bool quiesce_ = false;  // Drain(): present no new request
  std::deque<Expect> pending_;
  std::deque<Req> scripted_;
  Req req_;
  bool have_req_ = false;
  uint32_t step_ = 0;
  // phase
  unsigned phase_ = 0;
  std::vector<uint64_t> pool_;
  std::vector<unsigned> weights_ = std::vector<unsigned>(8, 1);
  double idle_p_ = 0, step_p_ = 0;
  uint64_t phase_len_ = 10000;
  // hazard history: the last two accepted requests
  bool have_last_ = false, have_prev_ = false, last_wrote_ = false, prev_wrote_ = false;
  uint64_t last_cycle_ = 0, prev_cycle_ = 0;
  uint32_t last_set_ = 0, prev_set_ = 0;
  unsigned chain_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Tb tb(argc, argv);
  return tb.Run();
}
