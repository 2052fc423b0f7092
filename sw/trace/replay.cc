#include "replay.h"

#include <deque>

#include "hepc.h"

#include <algorithm>
#include <cstdio>
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

// HepcModel behind the backend interface (fast mode).
class ModelBackend final : public HepcBackend {
 public:
  ModelBackend(model::Mode mode, const model::RtbdConfig& dir) : m_(dir, HepcReplayConfig(mode)) {}

  void StepAdvance(uint32_t step) override {
    std::vector<model::Plan> plans;  // none: max plans 0
    Expect(m_.StepAdvance(step, &plans), "STEP_ADVANCE", step);
  }
  void Insert(BlockId id) override {
    Expect(m_.Insert(model::InsertArgs{.key = BlockKey(id), .tier = 0}).status, "INSERT", id);
  }
  void Touch(BlockId id) override { Expect(m_.Touch(BlockKey(id)).status, "TOUCH", id); }
  void Delete(BlockId id) override { Expect(m_.Delete(BlockKey(id)).status, "DELETE", id); }
  void Share(BlockId id) override {
    Expect(m_.Share(BlockKey(id)).status, "SHARE", id);
    Expect(m_.Release(BlockKey(id)).status, "RELEASE", id);
  }
  void Prefetch(BlockId id, uint32_t target) override {
    (void)m_.UpdateHint(BlockKey(id), model::Hint::kPrefetch, target);  // absent or stale: fine
  }
  std::optional<BlockId> Victim() override {
    const model::VictimResult v = m_.Victim();
    if (v.handle == model::kNoHandle) {
      return std::nullopt;
    }
    return BlockIdOf(m_.dir().entry(v.handle).key);
  }
  std::optional<BlockId> SetVictim(BlockId incoming) override {
    const uint32_t set = m_.dir().SetOf(BlockKey(incoming));
    for (uint32_t w = 0; w < model::kWays; ++w) {
      if (!m_.dir().entry(set * model::kWays + w).valid) {
        return std::nullopt;
      }
    }
    const uint32_t h = m_.SetVictim(set);
    if (h == model::kNoHandle) {
      return std::nullopt;
    }
    return BlockIdOf(m_.dir().entry(h).key);
  }
  std::optional<std::string> error() const override { return error_; }

 private:
  void Expect(model::Status got, const char* op, uint64_t arg) {
    if (got != model::Status::kSuccess && !error_) {
      char st[16];
      std::snprintf(st, sizeof(st), "0x%04X", static_cast<unsigned>(got));
      error_ = std::string("model ") + op + " " + std::to_string(arg) + ": status " + st;
    }
  }

  model::HepcModel m_;
  std::optional<std::string> error_;
};

// A HEPC backend as a policy: the runtime side (keys, hints from arrived requests) is here,
// the decisions are the backend's. docs/trace-replay.md "HEPC policies".
class HepcPolicy final : public Policy {
 public:
  HepcPolicy(model::Mode mode, std::unique_ptr<HepcBackend> backend)
      : mode_(mode), b_(std::move(backend)) {}

  std::string_view name() const override {
    return mode_ == model::Mode::kSeed ? "hepc-seed" : "hepc-hint";
  }

  std::optional<std::string> Failed() const override { return b_->error(); }
  void OnEnd() override { b_->Sync(); }

  void OnStepAdvance(uint64_t step) override { b_->StepAdvance(static_cast<uint32_t>(step)); }

  void OnRequestBegin(const RequestContext& ctx) override {
    if (ctx.index > 0) {
      out_sum_ += ctx.trace[ctx.index - 1].output_length;
    }
    if (mode_ != model::Mode::kHint) {
      return;
    }
    index_ = ctx.index;
    last_step_ = ctx.last_step;
    // The running request's uses are no longer pending.
    for (BlockId b : ctx.trace[ctx.index].hash_ids) {
      auto it = pending_.find(b);
      if (it != pending_.end() && !it->second.empty() && it->second.front() == ctx.index) {
        it->second.pop_front();
      }
    }
    // Newly arrived requests: their blocks' next use is their estimated prefill step.
    next_arrival_ = std::max(next_arrival_, ctx.index + 1);
    for (; next_arrival_ < ctx.waiting_end; ++next_arrival_) {
      const size_t j = next_arrival_;
      est_.resize(j + 1, 0);
      est_[j] = Estimate(j);
      for (BlockId b : ctx.trace[j].hash_ids) {
        auto& q = pending_[b];
        q.push_back(j);
        if (q.size() == 1) {
          Hint(b);
        }
      }
    }
    // Estimates that turned out too early are moved later (the queue ran slower).
    for (size_t j = ctx.index + 1; j < next_arrival_; ++j) {
      const uint64_t e = Estimate(j);
      if (est_[j] >= e) {
        break;
      }
      est_[j] = e;
      for (BlockId b : ctx.trace[j].hash_ids) {
        auto it = pending_.find(b);
        if (it != pending_.end() && !it->second.empty() && it->second.front() == j) {
          Hint(b);
        }
      }
    }
  }

  void OnTouch(BlockId id, const Access& a) override {
    b_->Touch(id);
    if (mode_ == model::Mode::kSeed) {
      if (seen_by_.try_emplace(id, a.request).first->second != a.request) {
        b_->Share(id);  // reused by a second request: a shared prefix (D = 1)
      }
      return;
    }
    Hint(id);  // the touch consumed the hint; the next waiting use (if any) re-arms it
  }

  BlockId ChooseVictim(const Access&) override { return b_->Victim().value_or(UINT64_MAX); }

  void OnEvict(BlockId id) override { b_->Delete(id); }

  void OnInsert(BlockId id, const Access& a) override {
    b_->Insert(id);
    if (mode_ == model::Mode::kSeed) {
      seen_by_.try_emplace(id, a.request);
    } else {
      Hint(id);
    }
  }

  std::optional<BlockId> ConflictVictim(BlockId incoming) override { return b_->SetVictim(incoming); }

 private:
  // Prefill step of waiting request j as the runtime can estimate it: the running request
  // ends at last_step_; each request ahead takes 1 + (mean output length so far) steps.
  uint64_t Estimate(size_t j) const {
    const uint64_t mean = index_ == 0 ? 0 : out_sum_ / index_;
    return last_step_ + 1 + (j - index_ - 1) * (mean + 1);
  }
  // Sends the block's earliest pending use as a PREFETCH hint (if the block is resident).
  void Hint(BlockId id) {
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.empty()) {
      return;
    }
    b_->Prefetch(id, static_cast<uint32_t>(std::min<uint64_t>(est_[it->second.front()], UINT32_MAX)));
  }

  model::Mode mode_;
  std::unique_ptr<HepcBackend> b_;
  uint64_t out_sum_ = 0;
  size_t index_ = 0;
  uint64_t last_step_ = 0;
  size_t next_arrival_ = 0;
  std::vector<uint64_t> est_;
  std::unordered_map<BlockId, std::deque<size_t>> pending_;
  std::unordered_map<BlockId, size_t> seen_by_;
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
  for (const model::Mode mode : {model::Mode::kSeed, model::Mode::kHint}) {
    if (name == (mode == model::Mode::kSeed ? "hepc-seed" : "hepc-hint")) {
      return MakeHepcPolicy(mode, MakeModelBackend(mode, kReplayDirConfig));
    }
  }
  return nullptr;
}

model::HepcConfig HepcReplayConfig(model::Mode mode) {
  model::HepcConfig c;
  c.mode = mode;
  c.max_evict_plans = 0;
  c.max_prefetch_plans = 0;
  return c;
}

std::unique_ptr<HepcBackend> MakeModelBackend(model::Mode mode, const model::RtbdConfig& dir) {
  return std::make_unique<ModelBackend>(mode, dir);
}

std::unique_ptr<Policy> MakeHepcPolicy(model::Mode mode, std::unique_ptr<HepcBackend> backend) {
  return std::make_unique<HepcPolicy>(mode, std::move(backend));
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

  auto failed = [&policy](const std::string& e) {
    return "policy " + std::string(policy.name()) + ": " + e;
  };
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
      const std::optional<BlockId> cv = policy.ConflictVictim(id);
      if (auto e = policy.Failed()) {
        return failed(*e);
      }
      if (cv) {
        if (resident.erase(*cv) == 0) {
          return "policy " + std::string(policy.name()) + " named block " + std::to_string(*cv) +
                 ", which is not resident, as a conflict victim (request " + std::to_string(i) +
                 ", position " + std::to_string(k) + ")";
        }
        policy.OnEvict(*cv);
        ++s.evictions;
        ++s.conflict_evictions;
      }
      if (resident.size() >= options.capacity) {
        const BlockId victim = policy.ChooseVictim(a);
        if (auto e = policy.Failed()) {
          return failed(*e);
        }
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
    if (auto e = policy.Failed()) {
      return failed(*e);
    }
  }
  policy.OnEnd();
  if (auto e = policy.Failed()) {
    return failed(*e);
  }
  *stats = s;
  return std::nullopt;
}

}  // namespace kvcpu::trace
