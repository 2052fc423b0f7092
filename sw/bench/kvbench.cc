// kvbench: the Kairo workload — decode, prefetch, prefill-write and evict workers over
// sessions and models — against the NVMe arbiter's policy and the calibrated SSD model.
//
// Two modes, one workload (the same workers, LBAs and closed loops):
// - FAST MODE (default): the arbiter is NarbModel (sw/model/narb.h, the C++ reference the
//   RTL is checked against cycle by cycle) and the drive is SsdModel (sw/nvme, the 970 PRO
//   preset); time is the SSD model's simulated time.
// - DEVICE MODE (--device): every request is an I/O command through libkvcpu, one host queue
//   per class, into a kvcpu-cosim server of its own: the verilated core's I/O unit and
//   arbiter (kvcpu_narb, mode and reservation set through NARB_MODE / NARB_TAG_RESERVE),
//   the cosim NVMe port and the same SsdModel. Latency = provenance t_done - t_doorbell
//   (device clock, 4 ns), throughput over the device time of the run.
//
//   kvbench [--device] [--mode M | --compare M,M,...] [--ms N] [--seed N] [--sessions N]
//           [--models N] [--decode-qd N] [--prefetch-qd N] [--prefill-qd N] [--evict-qd N]
//           [--block-kib N] [--slots N] [--reserve N] [--nd-cap N] [--write-gap-us N]
//           [--noisy-qd N] [--sess-burst N] [--sess-refill-us N] [--model-burst N] [--model-refill-us N] [--queue-depth N] [--plot PNG]
//           [--coalesce LIST] [--coalesce-ab] [--prefill-streams N]
//
// Exit status: 0 ok, 1 runtime error, 2 usage error.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <thread>

#include "cosim_process.h"
#include "kvcpu/device.h"
#include "kvcpu/queue.h"
#include "kvcpu/regs.h"
#include "narb.h"
#include "nvme.h"
#include "plot.h"
#include "ssd_model.h"

namespace {

namespace m = kvcpu::model;
namespace nv = kvcpu::nvme;

constexpr int kExitOk = 0, kExitRuntime = 1, kExitUsage = 2;

constexpr const char kUsage[] =
    "usage: kvbench [--device] [--mode M | --compare M,M,...] [--ms N] [--seed N]\n"
    "               [--sessions N] [--models N] [--decode-qd N] [--prefetch-qd N]\n"
    "               [--prefill-qd N] [--evict-qd N] [--block-kib N] [--slots N]\n"
    "               [--reserve N] [--nd-cap N] [--write-gap-us N] [--noisy-qd N]\n"
    "               [--sess-burst N] [--sess-refill-us N] [--model-burst N] [--model-refill-us N] [--queue-depth N] [--plot PNG]\n"
    "               [--coalesce LIST] [--coalesce-ab] [--prefill-streams N]\n"
    "\n"
    "The Kairo workload against the NVMe arbiter's policy and the calibrated SSD model\n"
    "(970 PRO), in simulated time. See docs/performance.md.\n"
    "\n"
    "  --device          run it through the driver and a kvcpu-cosim server of its own (the\n"
    "                    RTL arbiter; default --ms 20, --block-kib 8; --slots and\n"
    "                    --queue-depth are the device's)\n"
    "  --mode M          fifo, rr, wrr or kairo (default kairo)\n"
    "  --compare LIST    run each mode on the same seed and workload, plus a decode-only run,\n"
    "                    and print ratios to the first mode\n"
    "  --ms N            simulated run length in ms (default 1000; --device 20)\n"
    "  --seed N          workload seed (default 1)\n"
    "  --sessions N      sessions, each with its decode workers (default 4)\n"
    "  --models N        models; a session belongs to model session % N (default 2)\n"
    "  --decode-qd N     outstanding decode reads per session (default 1)\n"
    "  --prefetch-qd N   outstanding prefetch reads (default 8)\n"
    "  --prefill-qd N    outstanding prefill writes (default 8)\n"
    "  --evict-qd N      outstanding evictions (default 4)\n"
    "  --block-kib N     KV block size, a multiple of 4 up to 256 (default 16)\n"
    "  --slots N         NVMe command slots of the arbiter (default 16)\n"
    "  --reserve N       slots reserved for decode reads in kairo mode (default 2 = 1/8;\n"
    "                    the baselines run with 0)\n"
    "  --nd-cap N        kairo: non-decode commands outstanding while decode is active\n"
    "                    (default: the arbiter's default; 0 = no cap)\n"
    "  --write-gap-us N  kairo: one prefill/evict/normal dispatch per N us while decode is\n"
    "                    active (default: the arbiter's default; 0 = not paced)\n"
    "  --noisy-qd N      session 0 keeps N more decode reads outstanding (a noisy session;\n"
    "                    default 0); the other sessions' decode p99 is printed apart\n"
    "  --sess-burst N    kairo session fairness: decode tokens per session bucket (0 = off)\n"
    "  --sess-refill-us N  one token per bucket every N us (default 1000)\n"
    "  --model-burst N   kairo model fairness: decode tokens per model bucket (0 = off)\n"
    "  --model-refill-us N  one token per model bucket every N us (default 1000)\n"
    "  --queue-depth N   arbiter queue entries per class (default 4)\n"
    "  --plot PNG        decode-latency CDF of every run (needs gnuplot)\n"
    "  --coalesce LIST   adjacent-LBA coalescing in these classes: prefetch, prefill, evict,\n"
    "                    normal, comma-separated, or all / none (default none); two 4 KiB\n"
    "                    requests (--block-kib 4) become one 8 KiB NVMe command\n"
    "  --coalesce-ab     run each mode without and with coalescing (the --coalesce classes,\n"
    "                    all by default) on the same seed and print the ratios\n"
    "  --prefill-streams N  prefill workers write N sequential streams, worker i stream i % N\n"
    "                    (default 0: a stream of its own per worker)\n";

struct Args {
  std::vector<m::NarbMode> modes{m::NarbMode::kKairo};
  bool compare = false, device = false, ms_given = false, block_given = false, coalesce_ab = false;
  bool slots_given = false, qd_given = false;
  uint64_t ms = 1000, seed = 1;
  unsigned sessions = 4, models = 2, decode_qd = 1, prefetch_qd = 8, prefill_qd = 8, evict_qd = 4;
  unsigned block_kib = 16, slots = 16, reserve = 2, queue_depth = 4;
  uint32_t nd_cap = m::NarbConfig{}.nd_cap;
  uint64_t write_gap_us = m::NarbConfig{}.write_gap_us;
  unsigned noisy_qd = 0;
  uint32_t sess_burst = m::NarbConfig{}.sess_burst;
  uint64_t sess_refill_us = m::NarbConfig{}.sess_refill_us;
  uint32_t model_burst = m::NarbConfig{}.model_burst;
  uint64_t model_refill_us = m::NarbConfig{}.model_refill_us;
  uint32_t coalesce = 0;  // NARB_COALESCE.CLASSES: bit c-1 for class c
  unsigned prefill_streams = 0;
  std::string plot;
};

// "all", "none" or a comma list of prefetch, prefill, evict, normal: the class bits.
std::optional<uint32_t> ParseClasses(std::string_view v) {
  if (v == "all") return 0xFu;
  if (v == "none") return 0u;
  static constexpr std::string_view kNames[] = {"prefetch", "prefill", "evict", "normal"};
  uint32_t bits = 0;
  size_t at = 0;
  while (at <= v.size()) {
    const size_t comma = std::min(v.find(',', at), v.size());
    const std::string_view name = v.substr(at, comma - at);
    const auto it = std::find(std::begin(kNames), std::end(kNames), name);
    if (it == std::end(kNames)) return std::nullopt;
    bits |= 1u << (it - std::begin(kNames));
    at = comma + 1;
  }
  return bits;
}

const char* ModeName(m::NarbMode md) {
  switch (md) {
    case m::NarbMode::kFifo: return "fifo";
    case m::NarbMode::kRr: return "rr";
    case m::NarbMode::kWrr: return "wrr";
    case m::NarbMode::kKairo: return "kairo";
  }
  return "?";
}

std::optional<m::NarbMode> ParseMode(std::string_view s) {
  for (auto md : {m::NarbMode::kFifo, m::NarbMode::kRr, m::NarbMode::kWrr, m::NarbMode::kKairo}) {
    if (s == ModeName(md)) return md;
  }
  return std::nullopt;
}

std::optional<uint64_t> ParseU(std::string_view s, uint64_t lo, uint64_t hi) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::optional<std::string> ParseArgs(int argc, char** argv, Args* a, bool* help) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return std::nullopt;
    }
    if (arg == "--device") {
      a->device = true;
      continue;
    }
    if (arg == "--coalesce-ab") {
      a->coalesce_ab = true;
      continue;
    }
    if (i + 1 >= argc) return std::string(arg) + (arg.starts_with("--") ? " needs a value" : ": unknown argument");
    const std::string_view v = argv[++i];
    auto num = [&](uint64_t lo, uint64_t hi, auto* out) -> std::optional<std::string> {
      auto n = ParseU(v, lo, hi);
      if (!n) return std::string(arg) + ": expected a number in " + std::to_string(lo) + ".." + std::to_string(hi) +
                    ", got '" + std::string(v) + "'";
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(*n);
      return std::nullopt;
    };
    std::optional<std::string> e;
    if (arg == "--mode" || arg == "--compare") {
      a->modes.clear();
      a->compare = arg == "--compare";
      size_t at = 0;
      while (at <= v.size()) {
        const size_t comma = std::min(v.find(',', at), v.size());
        const auto md = ParseMode(v.substr(at, comma - at));
        if (!md) return "unknown mode '" + std::string(v.substr(at, comma - at)) + "' (fifo, rr, wrr, kairo)";
        if (std::find(a->modes.begin(), a->modes.end(), *md) != a->modes.end()) {
          return "mode '" + std::string(ModeName(*md)) + "' given twice";
        }
        a->modes.push_back(*md);
        at = comma + 1;
      }
      if (!a->compare && a->modes.size() != 1) return "--mode takes one mode (use --compare for several)";
    } else if (arg == "--ms") {
      e = num(1, 100000, &a->ms);
      a->ms_given = true;
    } else if (arg == "--seed") {
      e = num(0, UINT32_MAX, &a->seed);
    } else if (arg == "--sessions") {
      e = num(1, 64, &a->sessions);
    } else if (arg == "--models") {
      e = num(1, 16, &a->models);
    } else if (arg == "--decode-qd") {
      e = num(1, 64, &a->decode_qd);
    } else if (arg == "--prefetch-qd") {
      e = num(0, 256, &a->prefetch_qd);
    } else if (arg == "--prefill-qd") {
      e = num(0, 256, &a->prefill_qd);
    } else if (arg == "--evict-qd") {
      e = num(0, 256, &a->evict_qd);
    } else if (arg == "--block-kib") {
      e = num(4, 256, &a->block_kib);
      a->block_given = true;
      if (!e && a->block_kib % 4 != 0) e = "--block-kib: a multiple of 4 expected";
    } else if (arg == "--slots") {
      e = num(2, 255, &a->slots);
      a->slots_given = true;
    } else if (arg == "--reserve") {
      e = num(0, 254, &a->reserve);
    } else if (arg == "--nd-cap") {
      e = num(0, 255, &a->nd_cap);
    } else if (arg == "--write-gap-us") {
      e = num(0, 1000000, &a->write_gap_us);
    } else if (arg == "--noisy-qd") {
      e = num(0, 256, &a->noisy_qd);
    } else if (arg == "--sess-burst") {
      e = num(0, 255, &a->sess_burst);
    } else if (arg == "--sess-refill-us") {
      e = num(0, 1000000, &a->sess_refill_us);
    } else if (arg == "--model-burst") {
      e = num(0, 255, &a->model_burst);
    } else if (arg == "--model-refill-us") {
      e = num(0, 1000000, &a->model_refill_us);
    } else if (arg == "--queue-depth") {
      e = num(2, 64, &a->queue_depth);
      a->qd_given = true;
    } else if (arg == "--coalesce") {
      const auto bits = ParseClasses(v);
      if (!bits) return "--coalesce: expected all, none or a comma list of prefetch, prefill, evict, normal, got '" + std::string(v) + "'";
      a->coalesce = *bits;
    } else if (arg == "--prefill-streams") {
      e = num(0, 256, &a->prefill_streams);
    } else if (arg == "--plot") {
      if (v.empty()) return "--plot needs a file name";
      a->plot = v;
    } else {
      return "unknown argument '" + std::string(arg) + "'";
    }
    if (e) return e;
  }
  if (a->device) {
    if (a->slots_given || a->qd_given) return "--slots and --queue-depth are the device's with --device";
    if (!a->ms_given) a->ms = 20;
    if (!a->block_given) a->block_kib = 8;
    if (a->block_kib > 8) return "--block-kib: at most 8 with --device (one I/O command: PRP1 + PRP2)";
  }
  if (a->reserve >= a->slots) return "--reserve must be below --slots";
  if (a->coalesce_ab && a->compare) return "--coalesce-ab runs one mode (--mode), not --compare";
  if (a->coalesce_ab && a->coalesce == 0) a->coalesce = 0xF;
  if (a->coalesce != 0 && a->block_kib != 4) {
    return "--coalesce needs --block-kib 4 (two 4 KiB requests make one 8 KiB NVMe command)";
  }
  return std::nullopt;
}

// One outstanding-request budget of a worker (a closed loop: a new request as soon as the
// previous one completes).
struct Worker {
  uint8_t cls;
  uint16_t session;
  uint8_t model;
  uint64_t next_seq = 0;  // prefill: next sequential block
  std::optional<m::NarbRequest> retry;  // made, not yet accepted: offered again
};

struct Pending {
  size_t worker;
  uint64_t created_ns;  // the worker made it (it may wait for queue room)
  uint64_t bytes;
  uint64_t dispatched_ns;
  std::optional<std::pair<size_t, uint64_t>> second;  // coalesced: (worker, created_ns)
};

struct Result {
  std::string name;
  std::vector<uint64_t> decode_ns;            // every decode latency
  std::vector<uint64_t> decode_other_ns;      // of sessions other than 0
  std::vector<uint64_t> decode_wait_ns;       // of which: before dispatch (worker + arbiter)
  std::vector<uint64_t> decode_dev_ns;        // of which: at the drive (dispatch..completion)
  std::vector<uint64_t> decode_die_ns;        // work queued on its die when it was submitted
  uint64_t decode_disp = 0, writes_at_decode = 0, decode_behind_write = 0, sess_demotions = 0;
  uint64_t model_demotions = 0;
  std::array<uint64_t, m::kNarbClasses> bytes{};
  std::array<uint64_t, m::kNarbClasses> done{};
  std::array<uint64_t, m::kNarbHistBuckets> hist{};
  // device mode: the arbiter's own fine histogram (NARB_HIST_FINE, enqueue..completion at the
  // arbiter), the difference over the run
  std::array<uint64_t, m::kNarbFineBuckets> dev_hist_fine{};
  bool has_dev_hist_fine = false;
  uint64_t sim_ns = 0;
  m::NarbCounters counters;
  uint64_t errors = 0;
};

double Pct(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(std::ceil(p * sorted.size())) - (p > 0 ? 1 : 0));
  return sorted[i] / 1000.0;
}

// The workers of a run (decode_only: only the decode workers) and their next requests:
// KV cache reads over 1 GiB per session, prefill writes sequential per worker, evictions
// random in their own region (in blocks of block_kib / 4 LBAs of 4 KiB).
class Workload {
 public:
  Workload(const Args& a, bool decode_only)
      : rng_(a.seed), nblocks_(a.block_kib / 4), streams_(a.prefill_streams), stream_seq_(a.prefill_streams) {
    for (unsigned s = 0; s < a.sessions; ++s) {
      for (unsigned q = 0; q < a.decode_qd + (s == 0 ? a.noisy_qd : 0); ++q) {
        workers.push_back({m::kNarbDecode, static_cast<uint16_t>(s), static_cast<uint8_t>(s % a.models), 0, std::nullopt});
      }
    }
    if (!decode_only) {
      auto add = [&](uint8_t cls, unsigned n) {
        for (unsigned i = 0; i < n; ++i) {
          const unsigned s = i % a.sessions;
          workers.push_back({cls, static_cast<uint16_t>(s), static_cast<uint8_t>(s % a.models), 0, std::nullopt});
        }
      };
      add(m::kNarbPrefetch, a.prefetch_qd);
      add(m::kNarbPrefill, a.prefill_qd);
      add(m::kNarbEvict, a.evict_qd);
    }
  }
  m::NarbRequest make(size_t w) {
    constexpr uint64_t kRegion = (1ull << 30) / 4096;
    Worker& wk = workers[w];
    if (wk.retry) {
      const m::NarbRequest q = *wk.retry;
      wk.retry.reset();
      return q;
    }
    m::NarbRequest q;
    q.cls = wk.cls;
    q.session = wk.session;
    q.model = wk.model;
    q.nblocks = static_cast<uint16_t>(nblocks_);
    q.tag = static_cast<uint16_t>(w);
    q.mergeable = nblocks_ == 1;  // the device's rule: one 4 KiB block (PRP1 + PRP2 for two)
    const uint64_t slots_in_region = kRegion / nblocks_;
    if (wk.cls == m::kNarbPrefill) {
      q.opcode = 0x01;
      // its own stream, or stream w % N shared with the other prefill workers
      const uint64_t s = streams_ ? w % streams_ : w;
      uint64_t& seq = streams_ ? stream_seq_[s] : wk.next_seq;
      q.lba = kRegion * 40 + kRegion * (s % 16) + (seq++ % slots_in_region) * nblocks_;
    } else if (wk.cls == m::kNarbEvict) {
      q.opcode = 0x01;
      q.lba = kRegion * 60 + (rng_() % slots_in_region) * nblocks_;
    } else {
      q.opcode = 0x02;
      q.lba = kRegion * (1 + wk.session) + (rng_() % slots_in_region) * nblocks_;
    }
    return q;
  }
  std::vector<Worker> workers;

 private:
  std::mt19937_64 rng_;
  uint32_t nblocks_;
  unsigned streams_;
  std::vector<uint64_t> stream_seq_;
};

// One completed request of `session` (decode latencies of sessions other than 0, the
// noisy one of --noisy-qd, are kept apart too).
void Record(Result* r, uint8_t cls, uint16_t session, uint64_t bytes, uint64_t lat_ns) {
  r->bytes[cls] += bytes;
  ++r->done[cls];
  if (cls == m::kNarbDecode) {
    r->decode_ns.push_back(lat_ns);
    if (session != 0) r->decode_other_ns.push_back(lat_ns);
    unsigned b = 0;
    while (b < m::kNarbHistEdges.size() && lat_ns / 1000 >= m::kNarbHistEdges[b]) ++b;
    ++r->hist[b];
  }
}

// Runs the workload for one mode in fast mode (decode_only: only the decode workers).
Result Run(const Args& a, m::NarbMode mode, bool decode_only) {
  Result r;
  r.name = decode_only ? "decode-only" : ModeName(mode);
  nv::SsdConfig cfg = nv::SsdConfig::Samsung970Pro();
  cfg.unmapped_reads_use_nand = true;  // a preconditioned drive: every read reads flash
  auto ssd = nv::SsdModel::Create(cfg);
  m::NarbModel arb(a.queue_depth, a.slots, 32);
  arb.config().mode = mode;
  // The reservation is Kairo's: the baselines run without it (docs/narb.md).
  arb.config().tag_reserve = mode == m::NarbMode::kKairo ? a.reserve : 0;
  arb.config().nd_cap = a.nd_cap;
  arb.config().write_gap_us = a.write_gap_us;
  arb.config().sess_burst = a.sess_burst;
  arb.config().sess_refill_us = a.sess_refill_us;
  arb.config().model_burst = a.model_burst;
  arb.config().model_refill_us = a.model_refill_us;
  arb.config().merge_classes = a.coalesce;
  arb.config().merge_max_blocks = 2;
  const uint64_t bytes = uint64_t{a.block_kib} * 1024;
  Workload wl(a, decode_only);
  std::vector<Worker>& workers = wl.workers;
  auto make = [&wl](size_t w) { return wl.make(w); };

  std::deque<std::pair<size_t, uint64_t>> waiting;  // (worker, created) not yet accepted
  std::map<uint16_t, Pending> by_cid;               // dispatched, by slot (= NVMe CID)
  std::vector<uint8_t> zeros(2 * bytes, 0);  // (a coalesced write: two blocks)
  for (size_t w = 0; w < workers.size(); ++w) waiting.emplace_back(w, 0);
  std::map<size_t, std::pair<m::NarbRequest, uint64_t>> accepted_req;  // by tag (worker)

  const uint64_t end_ns = a.ms * 1'000'000;
  uint64_t now = 0;
  while (now < end_ns) {
    const uint64_t now_us = now / 1000;
    // hand waiting requests to the arbiter while their class queue has room
    for (size_t n = waiting.size(); n > 0; --n) {
      auto [w, created] = waiting.front();
      waiting.pop_front();
      const m::NarbRequest q = make(w);
      if (arb.CanAccept(q)) {
        arb.Enqueue(q, now_us);
        accepted_req[w] = {q, created};
      } else {
        workers[w].retry = q;  // offered again, the same request
        waiting.emplace_back(w, created);
      }
    }
    arb.SessionTick(now_us);
    arb.ControlTick(now_us);
    // dispatch everything the policy allows now
    while (auto d = arb.Decide(now_us)) {
      const size_t w = d->req.tag;
      nv::RwArgs rw;
      rw.cid = static_cast<uint16_t>(d->slot);
      rw.slba = d->req.lba;
      rw.nblocks = static_cast<uint16_t>(d->nblocks);
      rw.prp1 = 0x1000;
      const bool write = d->req.opcode == 0x01;
      const uint64_t die_free = ssd->DieFreeAt(d->req.lba);
      const nv::BuildResult b = write ? nv::BuildWrite(rw) : nv::BuildRead(rw);
      const std::span<const uint8_t> data(zeros.data(), write ? uint64_t{d->nblocks} * 4096 : 0);
      const nv::SubmitResult sr = ssd->Submit(b.sqe, data, now);
      std::optional<std::pair<size_t, uint64_t>> second;
      if (d->second) second = std::make_pair(size_t{d->second->tag}, accepted_req[d->second->tag].second);
      if (sr.outcome != nv::SubmitOutcome::kAccepted) {
        ++r.errors;
        arb.Complete(d->slot, 1, now_us);
        waiting.emplace_back(w, now);
        if (second) waiting.emplace_back(second->first, now);
        continue;
      }
      by_cid[rw.cid] = Pending{w, accepted_req[w].second, bytes, now, second};
      if (d->cls == m::kNarbDecode) {
        // where decode reads wait: how many writes the drive holds as this read arrives
        unsigned wr = 0;
        for (const auto& [cid, p] : by_cid) {
          const uint8_t c = workers[p.worker].cls;
          wr += (c == m::kNarbPrefill || c == m::kNarbEvict) ? 1 : 0;
        }
        ++r.decode_disp;
        r.decode_die_ns.push_back(die_free > now ? die_free - now : 0);
        r.writes_at_decode += wr;
        r.decode_behind_write += wr > 0 ? 1 : 0;
      }
    }
    // next event: the drive's next completion (or the end; with work queued and nothing in
    // flight, 1 us later so that deadlines can age)
    const auto next = ssd->NextEventTime();
    // (at least every 1 us, as the hardware decides every cycle: ages and write turns)
    uint64_t t = next ? std::min(*next, now + 1000) : now + 1000;
    if (t <= now) t = now + 1;
    now = std::min(t, end_ns);
    for (nv::SsdCompletion& c : ssd->Advance(now)) {
      auto it = by_cid.find(c.cqe.cid);
      if (it == by_cid.end()) continue;
      const Pending p = it->second;
      by_cid.erase(it);
      const uint8_t cls = workers[p.worker].cls;
      arb.Complete(c.cqe.cid, c.cqe.status().ok() ? 0 : 1, c.time_ns / 1000);
      if (!c.cqe.status().ok()) ++r.errors;
      Record(&r, cls, workers[p.worker].session, p.bytes, c.time_ns - p.created_ns);
      if (cls == m::kNarbDecode) {
        r.decode_wait_ns.push_back(p.dispatched_ns - p.created_ns);
        r.decode_dev_ns.push_back(c.time_ns - p.dispatched_ns);
      }
      waiting.emplace_back(p.worker, c.time_ns);
      if (p.second) {  // the request that rode in the same command (never DECODE)
        const auto [w2, created2] = *p.second;
        Record(&r, workers[w2].cls, workers[w2].session, p.bytes, c.time_ns - created2);
        waiting.emplace_back(w2, c.time_ns);
      }
    }
  }
  r.sim_ns = now;
  r.counters = arb.counters();
  std::sort(r.decode_ns.begin(), r.decode_ns.end());
  std::sort(r.decode_other_ns.begin(), r.decode_other_ns.end());
  r.sess_demotions = arb.counters().sess_demotions;
  r.model_demotions = arb.counters().model_demotions;
  std::sort(r.decode_wait_ns.begin(), r.decode_wait_ns.end());
  std::sort(r.decode_dev_ns.begin(), r.decode_dev_ns.end());
  std::sort(r.decode_die_ns.begin(), r.decode_die_ns.end());
  return r;
}

// Runs the workload for one mode through the device (see the top of this file). Nothing is
// counted before the first completion's doorbell; the run ends when a completion is posted
// `ms` of device time after that, and the commands still in flight are drained uncounted.
std::optional<std::string> RunDevice(const Args& a, kvcpu::Device& dev, m::NarbMode mode, bool decode_only,
                                     Result* out) {
  namespace regs = kvcpu::regs;
  Result& r = *out;
  r.name = decode_only ? "decode-only" : ModeName(mode);
  const auto hz = dev.clock_hz();
  if (!hz.ok()) return "CLOCK_HZ: " + hz.status().to_string();
  const double ns_per_cycle = 1e9 / *hz;
  if (auto st = dev.write(regs::kNarbMode, static_cast<uint32_t>(mode)); !st.ok()) return st.to_string();
  if (auto st = dev.write(regs::kNarbTagReserve, mode == m::NarbMode::kKairo ? a.reserve : 0); !st.ok()) {
    return st.to_string();
  }
  for (auto [off, v] : {std::pair<uint32_t, uint64_t>{regs::kNarbNdCap, a.nd_cap}, {regs::kNarbWriteGapUs, a.write_gap_us},
                        {regs::kNarbSessBurst, a.sess_burst}, {regs::kNarbSessRefillUs, a.sess_refill_us},
                        {regs::kNarbModelBurst, a.model_burst}, {regs::kNarbModelRefillUs, a.model_refill_us},
                        {regs::kNarbCoalesce, a.coalesce | (uint64_t{2} << 16)}}) {
    if (auto st = dev.write(off, static_cast<uint32_t>(v)); !st.ok()) return st.to_string();
  }
  auto rd = [&](uint32_t off) -> uint64_t {
    auto v = dev.read(off);
    return v.ok() ? *v : 0;
  };
  const uint64_t esc0 = rd(regs::kNarbStarvationEscapes), skip0 = rd(regs::kNarbDecodeBudgetSkips);
  const uint64_t turns0 = rd(regs::kNarbWriteTurns), pace0 = rd(regs::kNarbPaceHolds);
  const uint64_t cap0 = rd(regs::kNarbCapHolds), dem0 = rd(regs::kNarbSessDemotions);
  const uint64_t mdem0 = rd(regs::kNarbModelDemotions), coal0 = rd(regs::kNarbCoalesced);
  std::array<uint64_t, m::kNarbFineBuckets> fine0{};
  for (unsigned b = 0; b < m::kNarbFineBuckets; ++b) fine0[b] = rd(regs::kNarbHistFineAt(b));
  Workload wl(a, decode_only);
  const size_t nw = wl.workers.size();
  const auto ctx = dev.read(regs::kIoContexts);
  if (!ctx.ok()) return ctx.status().to_string();
  if (nw > *ctx) {
    return std::to_string(nw) + " workers, more than the device's " + std::to_string(*ctx) +
           " I/O contexts (IO_CONTEXTS): fewer --sessions or smaller queue depths";
  }
  const uint64_t bytes = uint64_t{a.block_kib} * 1024;
  auto buf = dev.alloc_dma(nw * bytes);
  if (!buf.ok()) return "DMA buffer: " + buf.status().to_string();
  std::array<std::unique_ptr<kvcpu::QueuePair>, 4> q;
  for (unsigned c = 0; c < 4; ++c) {
    kvcpu::QueueOptions o = kvcpu::QueueOptions::for_class(static_cast<kvcpu::IoClass>(c));
    o.depth_log2 = 6;
    o.interrupts = false;
    auto qp = dev.create_queue(o);
    if (!qp.ok()) return "queue: " + qp.status().to_string();
    q[c] = std::move(*qp);
  }
  auto submit = [&](size_t w) -> std::optional<std::string> {
    const m::NarbRequest rq = wl.make(w);
    kvcpu::IoArgs io;
    io.buffer_iova = (*buf)->iova() + w * bytes;
    io.slba = rq.lba;
    io.bytes = static_cast<uint32_t>(bytes);
    io.session = rq.session;
    io.model = rq.model;
    const auto op = rq.opcode == 0x01 ? kvcpu::Opcode::kIoWrite : kvcpu::Opcode::kIoRead;
    const kvcpu::Command cmd =
        kvcpu::Command::io(op, io).io_class(static_cast<kvcpu::IoClass>(rq.cls)).flow(static_cast<uint32_t>(w));
    auto n = q[rq.cls]->submit(std::span<const kvcpu::Command>(&cmd, 1));
    if (!n.ok()) return "submit: " + n.status().to_string();
    if (*n != 1) return std::string("submit: queue full");
    return std::nullopt;
  };
  for (size_t w = 0; w < nw; ++w) {
    if (auto e = submit(w)) return e;
  }
  const uint64_t run_cycles = static_cast<uint64_t>(a.ms * 1e6 / ns_per_cycle);
  std::optional<uint64_t> t0;
  uint64_t t_end = 0, in_flight = nw;
  bool stop = false;
  std::array<kvcpu::Completion, 64> got;
  auto last = std::chrono::steady_clock::now();
  while (in_flight > 0) {
    size_t n_all = 0;
    for (unsigned c = 0; c < 4; ++c) {
      auto n = q[c]->poll(got);
      if (!n.ok()) return "poll: " + n.status().to_string();
      n_all += *n;
      for (size_t i = 0; i < *n; ++i) {
        const kvcpu::Completion& k = got[i];
        --in_flight;
        const size_t w = k.flow_id;
        if (w >= nw || !k.has_provenance) return "a completion of no worker, or without provenance";
        if (!t0) t0 = k.dev.doorbell;
        if (k.dev.posted >= *t0 + run_cycles) stop = true;
        if (!stop) {
          t_end = std::max(t_end, k.dev.posted);
          if (k.status != kvcpu::cqe_status::kSuccess) {
            ++r.errors;
          } else {
            Record(&r, c, wl.workers[w].session, bytes, static_cast<uint64_t>((k.dev.done - k.dev.doorbell) * ns_per_cycle));
          }
          if (auto e = submit(w)) return e;
          ++in_flight;
        }
      }
    }
    if (n_all == 0) {
      if (std::chrono::steady_clock::now() - last > std::chrono::seconds(30)) {
        return "no completion for 30 s (device hang?)";
      }
      std::this_thread::yield();
    } else {
      last = std::chrono::steady_clock::now();
    }
  }
  r.sim_ns = t0 ? static_cast<uint64_t>((t_end - *t0) * ns_per_cycle) : 0;
  std::sort(r.decode_ns.begin(), r.decode_ns.end());
  std::sort(r.decode_other_ns.begin(), r.decode_other_ns.end());
  // the counters wrap at 2^32: differences modulo that
  r.counters.starvation_escapes = static_cast<uint32_t>(rd(regs::kNarbStarvationEscapes) - esc0);
  r.counters.decode_budget_skips = static_cast<uint32_t>(rd(regs::kNarbDecodeBudgetSkips) - skip0);
  r.counters.write_turns = static_cast<uint32_t>(rd(regs::kNarbWriteTurns) - turns0);
  r.counters.pace_holds = static_cast<uint32_t>(rd(regs::kNarbPaceHolds) - pace0);
  r.counters.cap_holds = static_cast<uint32_t>(rd(regs::kNarbCapHolds) - cap0);
  r.sess_demotions = static_cast<uint32_t>(rd(regs::kNarbSessDemotions) - dem0);
  r.model_demotions = static_cast<uint32_t>(rd(regs::kNarbModelDemotions) - mdem0);
  r.counters.coalesced = static_cast<uint32_t>(rd(regs::kNarbCoalesced) - coal0);
  for (unsigned b = 0; b < m::kNarbFineBuckets; ++b)
    r.dev_hist_fine[b] = static_cast<uint32_t>(rd(regs::kNarbHistFineAt(b)) - fine0[b]);
  r.has_dev_hist_fine = true;
  return std::nullopt;
}

void Print(const Result& r) {
  const auto& d = r.decode_ns;
  double avg = 0;
  for (uint64_t v : d) avg += v / 1000.0;
  if (!d.empty()) avg /= d.size();
  const double secs = r.sim_ns / 1e9;
  std::printf("[%s]\n", r.name.c_str());
  std::printf("decode_avg_us=%.1f\ndecode_p50_us=%.1f\ndecode_p95_us=%.1f\ndecode_p99_us=%.1f\ndecode_max_us=%.1f\n",
              avg, Pct(d, 0.50), Pct(d, 0.95), Pct(d, 0.99), d.empty() ? 0.0 : d.back() / 1000.0);
  static const char* kCls[] = {"decode", "prefetch", "prefill", "evict", "normal"};
  uint64_t total = 0;
  for (unsigned c = 0; c < 4; ++c) {
    std::printf("%s_mbps=%.1f\n", kCls[c], r.bytes[c] / 1e6 / secs);
    total += r.bytes[c];
  }
  std::printf("total_mbps=%.1f\n", total / 1e6 / secs);
  std::printf("decode_hist=");
  for (unsigned b = 0; b < m::kNarbHistBuckets; ++b) std::printf("%s%" PRIu64, b ? "," : "", r.hist[b]);
  std::printf("   (us: <10,<25,<50,<100,<250,<500,<1000,<2000,<5000,>=5000)\n");
  if (r.has_dev_hist_fine) {
    // the arbiter's fine buckets: bucket i holds latency <= edge i (us) and > edge i-1
    std::printf("device_hist_fine=");
    for (unsigned b = 0; b < m::kNarbFineBuckets; ++b) std::printf("%s%" PRIu64, b ? "," : "", r.dev_hist_fine[b]);
    std::printf("   (arbiter NARB_HIST_FINE, us: <=");
    for (unsigned b = 0; b < m::kNarbFineEdges.size(); ++b) std::printf("%s%" PRIu64, b ? "," : "", m::kNarbFineEdges[b]);
    std::printf(",>%" PRIu64 ")\n", m::kNarbFineEdges.back());
  }
  // where decode reads waited: fast mode only (the device mode sees the drive from outside)
  if (!r.decode_wait_ns.empty()) std::printf("decode_wait_p50/p99_us=%.1f/%.1f decode_device_p50/p99_us=%.1f/%.1f "
              "die_busy_ahead_p50/p99_us=%.1f/%.1f writes_at_drive_per_decode=%.2f "
              "decode_behind_writes=%.1f%%\n",
              Pct(r.decode_wait_ns, 0.50), Pct(r.decode_wait_ns, 0.99), Pct(r.decode_dev_ns, 0.50),
              Pct(r.decode_dev_ns, 0.99), Pct(r.decode_die_ns, 0.50), Pct(r.decode_die_ns, 0.99), r.decode_disp ? double(r.writes_at_decode) / r.decode_disp : 0.0,
              r.decode_disp ? 100.0 * r.decode_behind_write / r.decode_disp : 0.0);
  std::printf("decode_other_sessions_p50/p99_us=%.1f/%.1f (ios %zu) sess_demotions=%" PRIu64
              " model_demotions=%" PRIu64 "\n",
              Pct(r.decode_other_ns, 0.50), Pct(r.decode_other_ns, 0.99), r.decode_other_ns.size(),
              r.sess_demotions, r.model_demotions);
  std::printf("decode_ios=%zu errors=%" PRIu64 " starvation_escapes=%" PRIu64 " decode_budget_skips=%" PRIu64
              " write_turns=%" PRIu64 " pace_holds=%" PRIu64 " cap_holds=%" PRIu64 " coalesced=%" PRIu64 "\n\n",
              d.size(), r.errors, r.counters.starvation_escapes, r.counters.decode_budget_skips,
              r.counters.write_turns, r.counters.pace_holds, r.counters.cap_holds, r.counters.coalesced);
}

uint64_t Total(const Result& r) {
  uint64_t t = 0;
  for (unsigned c = 0; c < 4; ++c) t += r.bytes[c];
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  bool help = false;
  if (auto e = ParseArgs(argc, argv, &a, &help)) {
    std::fprintf(stderr, "kvbench: %s\n\n%s", e->c_str(), kUsage);
    return kExitUsage;
  }
  if (help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  // Device mode: a server of our own; each run starts from the same (fresh) device state
  // (counters are read as differences, the SSD model keeps what earlier runs wrote).
  std::optional<kvcpu::CosimProcess> srv;
  std::optional<kvcpu::Device> dev;
  // One run of mode md with the options of args (a, or a variant of it).
  auto one = [&](const Args& args, m::NarbMode md, bool decode_only) -> std::optional<Result> {
    if (!args.device) return Run(args, md, decode_only);
    Result r;
    if (auto e = RunDevice(args, *dev, md, decode_only, &r)) {
      std::fprintf(stderr, "kvbench: %s: %s\n", decode_only ? "decode-only" : ModeName(md), e->c_str());
      return std::nullopt;
    }
    return r;
  };
  if (a.device) {
    std::string err;
    // the drive as in fast mode: preconditioned, every read reads flash
    auto started = kvcpu::CosimProcess::start(KVCPU_COSIM_BIN, {"--quiet", "--nvme-preconditioned"}, &err);
    if (!started) {
      std::fprintf(stderr, "kvbench: cannot start %s: %s\n", KVCPU_COSIM_BIN, err.c_str());
      return kExitRuntime;
    }
    srv.emplace(std::move(*started));
    auto d = kvcpu::Device::open(srv->uri());
    if (!d.ok()) {
      std::fprintf(stderr, "kvbench: %s\n", d.status().to_string().c_str());
      return kExitRuntime;
    }
    dev.emplace(std::move(*d));
    auto slots = dev->read(kvcpu::regs::kIoSlots);
    if (!slots.ok() || a.reserve >= *slots) {
      std::fprintf(stderr, "kvbench: --reserve must be below the device's IO_SLOTS\n");
      return kExitUsage;
    }
    a.slots = *slots;
    std::printf("kvbench (device mode: libkvcpu + kvcpu-cosim, RTL arbiter, SsdModel 970 PRO), %" PRIu64
                " ms of device time, seed %" PRIu64 ", %u sessions, %u models, block %u KiB, %u slots (%u reserved "
                "for decode in kairo)\n",
                a.ms, a.seed, a.sessions, a.models, a.block_kib, a.slots, a.reserve);
  } else {
    std::printf("kvbench (fast mode: NarbModel + SsdModel 970 PRO), %" PRIu64 " ms simulated, seed %" PRIu64
                ", %u sessions, %u models, block %u KiB, %u slots (%u reserved for decode)\n",
                a.ms, a.seed, a.sessions, a.models, a.block_kib, a.slots, a.reserve);
  }
  std::printf("kairo decode protection: nd-cap %u, write-gap %" PRIu64 " us\n\n", a.nd_cap, a.write_gap_us);
  std::vector<Result> results;
  if (a.coalesce_ab) {
    // the same mode, seed and workload without and with coalescing
    Args without = a;
    without.coalesce = 0;
    auto off = one(without, a.modes.front(), false);
    if (!off) return kExitRuntime;
    Print(*off);
    auto on = one(a, a.modes.front(), false);
    if (!on) return kExitRuntime;
    on->name += "+coalesce";
    Print(*on);
    auto ratio = [](double x, double y) { return y > 0 ? x / y : 0.0; };
    // bytes per simulated ns of `on` over those of `off` (the runs' lengths may differ)
    auto rate = [&](uint64_t b_on, uint64_t b_off) {
      return ratio(double(b_on) * double(off->sim_ns), double(b_off) * double(on->sim_ns));
    };
    std::printf("ratios %s / %s (same seed, workload and SSD model):\n", on->name.c_str(), off->name.c_str());
    std::printf("total MB/s %.3f, prefill MB/s %.3f, prefetch MB/s %.3f, decode p99 %.3f; %" PRIu64
                " requests coalesced\n",
                rate(Total(*on), Total(*off)), rate(on->bytes[m::kNarbPrefill], off->bytes[m::kNarbPrefill]),
                rate(on->bytes[m::kNarbPrefetch], off->bytes[m::kNarbPrefetch]),
                ratio(Pct(on->decode_ns, 0.99), Pct(off->decode_ns, 0.99)), on->counters.coalesced);
    results.push_back(std::move(*off));
    results.push_back(std::move(*on));
  }
  for (m::NarbMode md : a.coalesce_ab ? std::vector<m::NarbMode>{} : a.modes) {
    auto r = one(a, md, false);
    if (!r) return kExitRuntime;
    results.push_back(std::move(*r));
    Print(results.back());
  }
  if (a.compare) {
    auto r = one(a, m::NarbMode::kKairo, true);
    if (!r) return kExitRuntime;
    results.push_back(std::move(*r));
    Print(results.back());
    const Result& base = results.front();
    std::printf("ratios to %s (same seed, workload and SSD model):\n", base.name.c_str());
    std::printf("%-12s %14s %14s\n", "mode", "decode p99", "total MB/s");
    for (size_t i = 0; i + 1 < results.size(); ++i) {
      const Result& ri = results[i];
      std::printf("%-12s %14.3f %14.3f\n", ri.name.c_str(), Pct(ri.decode_ns, 0.99) / Pct(base.decode_ns, 0.99),
                  static_cast<double>(Total(ri)) / static_cast<double>(Total(base)));
    }
    const Result& only = results.back();
    for (size_t i = 0; i + 1 < results.size(); ++i) {
      if (results[i].name == "kairo") {
        std::printf("kairo decode p99 / decode-only decode p99 = %.3f\n",
                    Pct(results[i].decode_ns, 0.99) / Pct(only.decode_ns, 0.99));
      }
    }
  }
  if (!a.plot.empty()) {
    kvcpu::plot::Plot p;
    p.title = a.device ? "Decode read latency CDF (kvbench device mode)" : "Decode read latency CDF (kvbench fast mode)";
    p.xlabel = "latency (us)";
    p.ylabel = "fraction of decode reads";
    p.logx = true;
    p.yrange = std::make_pair(0.0, 1.0);
    for (const Result& r : results) {
      kvcpu::plot::Series s{r.name, {}};
      const size_t n = r.decode_ns.size();
      for (size_t k = 1; k <= 200 && n > 0; ++k) {
        const size_t i = std::min(n - 1, (n * k) / 200 - (k == 200 ? 1 : 0));
        s.points.emplace_back(r.decode_ns[i] / 1000.0, static_cast<double>(i + 1) / n);
      }
      if (s.points.empty()) s.points.emplace_back(1.0, 0.0);
      p.series.push_back(std::move(s));
    }
    if (auto e = kvcpu::plot::WritePng(p, a.plot)) {
      std::fprintf(stderr, "kvbench: --plot %s: %s\n", a.plot.c_str(), e->c_str());
      return kExitRuntime;
    }
  }
  return kExitOk;
}
