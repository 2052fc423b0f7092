#include "replay.h"

#include <algorithm>
#include <list>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace kvcpu::trace {
namespace {

constexpr uint64_t kNever = UINT64_MAX;  // next use of a block that is not referenced again

uint64_t SatMul(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

uint64_t SatAdd(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

// LRU (touch moves a block to the back) and FIFO (touch changes nothing); the victim is the
// front of the queue.
class QueuePolicy final : public Policy {
 public:
  explicit QueuePolicy(bool lru) : lru_(lru) {}

  std::string_view name() const override { return lru_ ? "lru" : "fifo"; }

  void OnTouch(BlockId id, const Access&) override {
    if (!lru_) {
      return;
    }
    auto it = where_.find(id);
    if (it != where_.end()) {
      order_.splice(order_.end(), order_, it->second);
    }
  }

  BlockId ChooseVictim(const Access&) override {
    // Empty only if the replay and the policy disagree; the replay then reports an error.
    return order_.empty() ? kNever : order_.front();
  }

  void OnEvict(BlockId id) override {
    auto it = where_.find(id);
    if (it != where_.end()) {
      order_.erase(it->second);
      where_.erase(it);
    }
  }

  void OnInsert(BlockId id, const Access&) override {
    order_.push_back(id);
    where_[id] = std::prev(order_.end());
  }

 private:
  bool lru_;
  std::list<BlockId> order_;
  std::unordered_map<BlockId, std::list<BlockId>::iterator> where_;
};

// Belady's OPT/MIN per block: evict the resident block whose next reference is farthest.
class OptPolicy final : public Policy {
 public:
  explicit OptPolicy(const Trace& trace) {
    // next_[r] = the reference number of the next reference to the block of reference r.
    std::vector<BlockId> ids;
    ids.reserve(trace.references);
    for (const Request& r : trace.requests) {
      ids.insert(ids.end(), r.hash_ids.begin(), r.hash_ids.end());
    }
    next_.assign(ids.size(), kNever);
    std::unordered_map<BlockId, uint64_t> later;
    for (size_t r = ids.size(); r-- > 0;) {
      auto [it, fresh] = later.try_emplace(ids[r], r);
      if (!fresh) {
        next_[r] = it->second;
        it->second = r;
      }
    }
  }

  std::string_view name() const override { return "opt"; }

  void OnTouch(BlockId id, const Access& a) override {
    auto it = key_.find(id);
    if (it != key_.end()) {
      order_.erase({it->second, id});
      it->second = NextUse(a);
      order_.insert({it->second, id});
    }
  }

  BlockId ChooseVictim(const Access&) override {
    return order_.empty() ? kNever : std::prev(order_.end())->second;
  }

  void OnEvict(BlockId id) override {
    auto it = key_.find(id);
    if (it != key_.end()) {
      order_.erase({it->second, id});
      key_.erase(it);
    }
  }

  void OnInsert(BlockId id, const Access& a) override {
    const uint64_t next = NextUse(a);
    key_[id] = next;
    order_.insert({next, id});
  }

 private:
  uint64_t NextUse(const Access& a) const { return a.ref < next_.size() ? next_[a.ref] : kNever; }

  std::vector<uint64_t> next_;
  std::set<std::pair<uint64_t, BlockId>> order_;  // (next use, id); victim = last
  std::unordered_map<BlockId, uint64_t> key_;     // id -> its next use in order_
};

}  // namespace

std::unique_ptr<Policy> MakePolicy(std::string_view name, const Trace& trace) {
  if (name == "lru") {
    return std::make_unique<QueuePolicy>(true);
  }
  if (name == "fifo") {
    return std::make_unique<QueuePolicy>(false);
  }
  if (name == "opt") {
    return std::make_unique<OptPolicy>(trace);
  }
  return nullptr;
}

std::optional<std::string> Replay(const Trace& trace, const ReplayOptions& options, Policy& policy,
                                  ReplayStats* stats) {
  if (options.capacity == 0) {
    return "capacity must be at least 1 block";
  }
  if (options.step_us == 0) {
    return "step_us must be at least 1";
  }
  const std::vector<Request>& reqs = trace.requests;
  uint64_t total_steps = 0;
  for (const Request& r : reqs) {
    if (__builtin_add_overflow(total_steps, r.output_length, &total_steps) ||
        __builtin_add_overflow(total_steps, uint64_t{1}, &total_steps)) {
      return "the trace needs more than 2^64 steps (output_length too large)";
    }
  }

  ReplayStats s;
  s.steps = total_steps;
  std::unordered_set<BlockId> resident;
  resident.reserve(std::min<uint64_t>(options.capacity, trace.distinct_blocks) + 1);
  uint64_t step = 0;
  uint64_t ref = 0;
  uint64_t free_at_us = 0;  // when the previous request finished
  size_t waiting_end = 0;
  for (size_t i = 0; i < reqs.size(); ++i) {
    const Request& r = reqs[i];
    if (i > 0) {
      ++step;
      policy.OnStepAdvance(step);
    }
    const uint64_t start_us = std::max(SatMul(r.timestamp_ms, 1000), free_at_us);
    waiting_end = std::max(waiting_end, i + 1);
    while (waiting_end < reqs.size() && SatMul(reqs[waiting_end].timestamp_ms, 1000) <= start_us) {
      ++waiting_end;
    }
    s.max_waiting = std::max<uint64_t>(s.max_waiting, waiting_end - i - 1);
    const RequestContext ctx{reqs, i, step, step + r.output_length, start_us, waiting_end};
    policy.OnRequestBegin(ctx);

    ++s.requests;
    bool contiguous = true;
    for (size_t k = 0; k < r.hash_ids.size(); ++k) {
      const BlockId id = r.hash_ids[k];
      const Access a{i, k, ref++, step};
      ++s.references;
      if (resident.contains(id)) {
        s.hits += contiguous ? 1 : 0;
        ++s.resident_hits;
        policy.OnTouch(id, a);
        continue;
      }
      contiguous = false;
      if (resident.size() >= options.capacity) {
        const BlockId victim = policy.ChooseVictim(a);
        if (resident.erase(victim) == 0) {
          return "policy " + std::string(policy.name()) + " chose block " + std::to_string(victim) +
                 ", which is not resident, as the victim (request " + std::to_string(i) +
                 ", position " + std::to_string(k) + ")";
        }
        policy.OnEvict(victim);
        ++s.evictions;
      }
      resident.insert(id);
      policy.OnInsert(id, a);
      ++s.inserts;
      s.peak_resident = std::max<uint64_t>(s.peak_resident, resident.size());
    }
    if (r.output_length > 0) {
      step += r.output_length;
      policy.OnStepAdvance(step);
    }
    free_at_us = SatAdd(start_us, SatMul(r.output_length + 1, options.step_us));
  }
  *stats = s;
  return std::nullopt;
}

}  // namespace kvcpu::trace
