// Cache-policy replay of a Mooncake trace as a serving runtime would run it, and the
// policies it compares (LRU, FIFO, Belady's OPT; the HEPC modes plug in through Policy).
// The model is specified in docs/trace-replay.md; in short:
//
//  * One serving instance runs the requests one at a time in trace order. Request i is
//    prefilled at step P_i, then decodes output_length_i tokens at steps P_i+1 .. P_i+out_i;
//    P_0 = 0 and P_{i+1} = P_i + out_i + 1. Every step belongs to exactly one request.
//  * At its prefill step the request references its prefix blocks in hash_ids order. Block k
//    is a hit iff blocks 0..k are all resident (a prefix cache reuses only a contiguous
//    prefix). A resident block referenced after the first miss is touched but counts as a
//    miss; a non-resident block is inserted, evicting the policy's victim when the cache
//    holds `capacity` blocks. Blocks of the running request are not pinned.
//  * Logical time: a step takes step_us microseconds; request i starts at
//    max(arrival_i, end of request i-1). Requests that have arrived by then but not started
//    are "waiting" — the lookahead an online policy may use. Hit rates of LRU, FIFO and OPT
//    do not depend on step_us (only the order of references matters to them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hepc.h"
#include "mooncake.h"

namespace kvcpu::trace {

using BlockId = uint64_t;

// One block reference.
struct Access {
  size_t request = 0;   // index in the trace
  size_t position = 0;  // index in the request's hash_ids
  uint64_t ref = 0;     // global reference number (references of earlier requests + position)
  uint64_t step = 0;    // the request's prefill step
};

// What the runtime knows when a request starts.
struct RequestContext {
  std::span<const Request> trace;  // the whole trace; see `waiting_end`
  size_t index = 0;                // this request
  uint64_t prefill_step = 0;       // P_i
  uint64_t last_step = 0;          // P_i + output_length_i
  uint64_t start_us = 0;           // logical time the request starts
  // Requests [index + 1, waiting_end) have arrived by start_us and wait: an online policy
  // may look at trace[0, waiting_end) and nothing later.
  size_t waiting_end = 0;
};

// A replacement policy. The replay owns residency and capacity; the policy orders blocks
// and names victims. Call order per request i: OnStepAdvance(P_i) (for i > 0), OnRequestBegin,
// then per block either OnTouch, or [ChooseVictim, OnEvict] then OnInsert; then
// OnStepAdvance(P_i + out_i) if out_i > 0; after the last request, OnEnd.
class Policy {
 public:
  virtual ~Policy() = default;

  virtual std::string_view name() const = 0;

  // Hook for hint-driven policies (HEPC): the request about to be prefilled.
  virtual void OnRequestBegin(const RequestContext& ctx) {}
  // The global step has advanced to `step` (by one or more; like a STEP_ADVANCE command).
  virtual void OnStepAdvance(uint64_t step) {}

  // A resident block is referenced (a hit, or a resident block after the first miss).
  virtual void OnTouch(BlockId id, const Access& access) = 0;
  // The cache is full and `incoming` must be inserted: name a resident block to evict.
  // Returning a block that is not resident aborts the replay with an error.
  virtual BlockId ChooseVictim(const Access& incoming) = 0;
  virtual void OnEvict(BlockId id) = 0;
  // A block becomes resident.
  virtual void OnInsert(BlockId id, const Access& access) = 0;
  // Called before every insert of `incoming`, full or not: a policy whose own structure has
  // no room for it (the HEPC directory's set is full: a set conflict) names a resident block
  // to evict first. Default: none. A non-resident answer aborts the replay with an error.
  virtual std::optional<BlockId> ConflictVictim(BlockId incoming) { return std::nullopt; }
  // A policy whose decisions come from elsewhere (a device) reports a failure there here;
  // the replay stops at it with this message. Default: never.
  virtual std::optional<std::string> Failed() const { return std::nullopt; }
  // The last request is done (before the last Failed()): a policy that queues work flushes it.
  virtual void OnEnd() {}
};

// The directory and controller a HEPC policy drives, one call per directory op, blocks named
// by id: HepcModel (fast mode, MakeModelBackend) or a device through the driver (kvtrace
// --device, sw/trace/device_backend.h). Both are told the same ops in the same order, so they
// decide alike exactly when the device matches its model. A failure (an op answered with a
// status the runtime did not expect, a lost device) is latched: error() names the first, and
// later calls do nothing.
class HepcBackend {
 public:
  virtual ~HepcBackend() = default;
  virtual void StepAdvance(uint32_t step) = 0;  // absolute, never backwards
  virtual void Insert(BlockId id) = 0;           // into T0; must succeed
  virtual void Touch(BlockId id) = 0;            // must find the block
  virtual void Delete(BlockId id) = 0;           // must find the block
  virtual void Share(BlockId id) = 0;            // SHARE_PREFIX, then RELEASE: D = 1
  // PREFETCH hint with a target step (next-use knowledge); the block may be absent.
  virtual void Prefetch(BlockId id, uint32_t target_step) = 0;
  virtual std::optional<BlockId> Victim() = 0;   // the demand victim; none: nullopt
  // When the set `incoming` maps to is full: its set victim (nullopt when the set has room,
  // or when no way of it may be evicted).
  virtual std::optional<BlockId> SetVictim(BlockId incoming) = 0;
  // Every op told so far has been carried out and checked (a device backend queues some).
  virtual void Sync() {}
  virtual std::optional<std::string> error() const = 0;
};

// The directory key of a block id: request = id >> 32, layer 0, head 0, token start = the low
// 32 bits (the trace's ids fit in 32 bits).
inline model::Key BlockKey(BlockId id) {
  return model::Key{static_cast<uint16_t>(id >> 32), 0, 0, static_cast<uint32_t>(id)};
}
inline BlockId BlockIdOf(const model::Key& k) { return (BlockId{k.request} << 32) | k.token_start; }

// What the HEPC policies run with: `mode`, every other HepcConfig field at its default, and
// no plans (the replay owns residency).
model::HepcConfig HepcReplayConfig(model::Mode mode);
// The fast mode's directory: 65,536 entries, 256-step buckets, 1,024 of them (the verilated
// core's geometry, rtl/CMakeLists.txt).
inline constexpr model::RtbdConfig kReplayDirConfig{13, 8, 1024};

std::unique_ptr<HepcBackend> MakeModelBackend(model::Mode mode, const model::RtbdConfig& dir);
// "hepc-seed" (mode kSeed) or "hepc-hint" (kHint) on `backend`, which must run that mode.
std::unique_ptr<Policy> MakeHepcPolicy(model::Mode mode, std::unique_ptr<HepcBackend> backend);

// Policy names MakePolicy knows, in table order.
inline constexpr std::string_view kPolicyNames[] = {"lru", "fifo", "opt", "hepc-seed",
                                                    "hepc-hint"};

// "hepc-seed" / "hepc-hint": the HEPC model (sw/model, docs/rtbd-hepc.md) in seed or hint
// mode, driven as docs/trace-replay.md "HEPC policies" describes (hints only from arrived
// requests). "lru", "fifo" or "opt" (Belady: evict the resident block whose next reference in the
// trace is farthest away; never referenced again counts as infinitely far, ties go to the
// larger id). Returns nullptr for an unknown name. OPT reads the whole trace here (it is
// offline) and keeps its own next-use table, so `trace` need not outlive the policy.
std::unique_ptr<Policy> MakePolicy(std::string_view name, const Trace& trace);

struct ReplayOptions {
  size_t capacity = 0;      // blocks, >= 1
  uint64_t step_us = 1000;  // logical duration of one step, >= 1
};

struct ReplayStats {
  uint64_t requests = 0;
  uint64_t references = 0;     // prefix-block references
  uint64_t hits = 0;           // references that hit (contiguous resident prefix)
  uint64_t resident_hits = 0;  // references that found their block resident (>= hits)
  uint64_t inserts = 0;
  uint64_t evictions = 0;
  uint64_t conflict_evictions = 0;  // of which named by ConflictVictim (set conflicts)
  uint64_t steps = 0;          // steps run: sum of (1 + output_length)
  uint64_t max_waiting = 0;    // most requests waiting when one started
  uint64_t peak_resident = 0;  // most blocks resident at once

  // hits / references (0 for an empty trace).
  double hit_rate() const {
    return references == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(references);
  }
};

// Replays `trace` through `policy`. Returns an error message (and leaves *stats as it was)
// for a bad option or a policy that names a non-resident victim.
[[nodiscard]] std::optional<std::string> Replay(const Trace& trace, const ReplayOptions& options,
                                                Policy& policy, ReplayStats* stats);

}  // namespace kvcpu::trace
