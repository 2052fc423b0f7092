#include "device_backend.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <span>
#include <utility>

#include "rtbd.h"

namespace kvcpu::trace {
namespace {

namespace st = cqe_status;
using namespace std::chrono_literals;

constexpr size_t kBatch = 64;            // commands queued before a submit
constexpr auto kWaitTimeout = 10'000ms;  // one wait for completions; longer is a dead device

const char* KindName(uint8_t k) {
  static const char* const kNames[] = {"STEP_ADVANCE", "BLK_INSERT",  "BLK_TOUCH",   "BLK_DELETE",
                                       "SHARE_PREFIX", "RELEASE",     "PREFETCH",    "BLK_VICTIM",
                                       "BLK_INSERT (into a full set)"};
  return k < std::size(kNames) ? kNames[k] : "?";
}

HepcSettings SettingsOf(const model::HepcConfig& c) {
  HepcSettings s;
  s.hint_mode = c.mode == model::Mode::kHint;
  s.w_r = c.w_r;
  s.w_f = c.w_f;
  s.w_s = c.w_s;
  s.w_d = c.w_d;
  s.window = c.window;
  s.evict_t = c.evict_t;
  s.prefetch_t = c.prefetch_t;
  s.t0_high_wm = c.t0_high_wm;
  s.prefetch_window = c.prefetch_window;
  s.max_evict_plans = c.max_evict_plans;
  s.max_prefetch_plans = c.max_prefetch_plans;
  s.evict_tier = c.evict_tier;
  s.short_lived = c.short_lived;
  return s;
}

std::string Hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof(b), "0x%04X", v);
  return b;
}

}  // namespace

std::unique_ptr<DeviceBackend> DeviceBackend::Create(Device& dev, model::Mode mode, std::string* error) {
  auto geo = dev.dir_geometry();
  if (!geo.ok()) {
    *error = "reading the directory geometry: " + geo.status().to_string();
    return nullptr;
  }
  if (geo->capacity == 0) {
    *error = "the device has no block directory (DIR_CAPACITY 0)";
    return nullptr;
  }
  auto t = dev.telemetry();
  if (!t.ok()) {
    *error = "reading telemetry: " + t.status().to_string();
    return nullptr;
  }
  if (t->dir_live != 0 || t->step != 0) {
    *error = "the device is not fresh (DIR_LIVE " + std::to_string(t->dir_live) + ", step " +
             std::to_string(t->step) + "): the replay needs an empty directory at step 0";
    return nullptr;
  }
  if (Status s = dev.set_hepc(SettingsOf(HepcReplayConfig(mode))); !s.ok()) {
    *error = "writing the HEPC registers: " + s.to_string();
    return nullptr;
  }
  QueueOptions qo;
  qo.provenance = false;
  qo.interrupts = true;
  auto q = dev.create_queue(qo);
  if (!q.ok()) {
    *error = "creating a host queue: " + q.status().to_string();
    return nullptr;
  }
  const model::RtbdConfig dir{geo->set_bits, geo->bucket_shift, geo->num_buckets};
  return std::unique_ptr<DeviceBackend>(new DeviceBackend(dev, std::move(*q), dir));
}

DeviceBackend::DeviceBackend(Device& dev, std::unique_ptr<QueuePair> q, const model::RtbdConfig& dir)
    : dev_(dev), q_(std::move(q)), dir_(dir), set_fill_(size_t{1} << dir.set_bits, 0) {}

uint32_t DeviceBackend::SetOf(BlockId id) const { return model::RtbdSet(BlockKey(id).Packed(), dir_.set_bits); }

void DeviceBackend::Fail(const std::string& msg) {
  if (!error_) {
    error_ = "device: " + msg;
  }
}

void DeviceBackend::Enqueue(Command c, Kind kind, BlockId id) {
  if (error_) {
    return;
  }
  const uint32_t seq = next_seq_++;
  unsent_.push_back(c.flow(seq));
  ops_.push_back(Op{kind, id, seq});
  if (unsent_.size() >= kBatch) {
    Push(false);
  }
}

bool DeviceBackend::Push(bool all) {
  std::array<Completion, 256> cpl;
  size_t sent = 0;
  while (!error_ && (sent < unsent_.size() || (all && !ops_.empty()))) {
    if (sent < unsent_.size()) {
      auto n = q_->submit(std::span<const Command>(unsent_).subspan(sent));
      if (!n.ok()) {
        Fail("submit: " + n.status().to_string());
        break;
      }
      sent += *n;
      if (*n > 0) {
        continue;
      }
    }
    // the ring is full, or everything is sent and we wait for the rest
    auto got = q_->wait(cpl, kWaitTimeout);
    if (!got.ok()) {
      Fail("waiting for completions: " + got.status().to_string());
      break;
    }
    for (size_t i = 0; i < *got; ++i) {
      Complete(cpl[i]);
    }
  }
  unsent_.erase(unsent_.begin(), unsent_.begin() + static_cast<std::ptrdiff_t>(sent));
  return !error_;
}

void DeviceBackend::Complete(const Completion& c) {
  if (error_) {
    return;
  }
  if (ops_.empty()) {
    Fail("a completion (flow " + std::to_string(c.flow_id) + ") for no command");
    return;
  }
  const Op op = ops_.front();
  ops_.pop_front();
  ++stats_.commands;
  const std::string what = std::string(KindName(static_cast<uint8_t>(op.kind))) + " of block " +
                           std::to_string(op.id) + " (command " + std::to_string(op.seq) + ")";
  if (c.flow_id != op.seq) {
    Fail("completion for command " + std::to_string(c.flow_id) + " where " + what + " was next");
    return;
  }
  uint16_t want = st::kSuccess;
  if (op.kind == Kind::kSetVictim) {
    want = st::kDirFull;
  } else if (op.kind == Kind::kPrefetch && (c.status == st::kNotFound || c.status == st::kHintStale)) {
    want = c.status;  // a hint on a block not resident, or for a step already passed: fine
  }
  if (c.status != want) {
    Fail(what + ": status " + Hex(c.status) + " (" + st::name(c.status) + "), expected " + Hex(want) + " (" +
         st::name(want) + ")");
    return;
  }
  const BlockResult r{c.result};
  switch (op.kind) {
    case Kind::kInsert: {
      if (!r.has_entry() || (r.handle() >> 3) != SetOf(op.id)) {
        Fail(what + ": handle " + Hex(r.raw) + " is not in set " + std::to_string(SetOf(op.id)));
        return;
      }
      if (!id_of_.emplace(r.handle(), op.id).second) {
        Fail(what + ": handle " + Hex(r.handle()) + " already holds block " + std::to_string(id_of_[r.handle()]));
        return;
      }
      handle_of_[op.id] = r.handle();
      break;
    }
    case Kind::kDelete: {
      auto it = handle_of_.find(op.id);
      if (it == handle_of_.end()) {
        Fail(what + ": the block was never inserted");
        return;
      }
      id_of_.erase(it->second);
      handle_of_.erase(it);
      break;
    }
    case Kind::kVictim:
    case Kind::kSetVictim: {
      answer_.reset();
      if (r.has_entry()) {
        auto it = id_of_.find(r.handle());
        if (it == id_of_.end()) {
          Fail(what + ": the victim's handle " + Hex(r.handle()) + " holds no block inserted here");
          return;
        }
        answer_ = it->second;
      }
      break;
    }
    default:
      break;
  }
}

void DeviceBackend::StepAdvance(uint32_t step) { Enqueue(Command::step_set(step), Kind::kStep, step); }

void DeviceBackend::Insert(BlockId id) {
  BlockInsert b;
  b.key = BlockKey(id).Packed();
  b.tier = 0;
  Enqueue(Command::blk_insert(b), Kind::kInsert, id);
  ++set_fill_[SetOf(id)];
}

void DeviceBackend::Touch(BlockId id) { Enqueue(Command::blk_touch(BlockKey(id).Packed()), Kind::kTouch, id); }

void DeviceBackend::Delete(BlockId id) {
  Enqueue(Command::blk_delete(BlockKey(id).Packed()), Kind::kDelete, id);
  --set_fill_[SetOf(id)];
}

void DeviceBackend::Share(BlockId id) {
  Enqueue(Command::block_hint(Opcode::kSharePrefix, BlockKey(id).Packed()), Kind::kShare, id);
  Enqueue(Command::block_hint(Opcode::kRelease, BlockKey(id).Packed()), Kind::kRelease, id);
}

void DeviceBackend::Prefetch(BlockId id, uint32_t target_step) {
  Enqueue(Command::block_hint(Opcode::kPrefetch, BlockKey(id).Packed(), target_step), Kind::kPrefetch, id);
}

std::optional<BlockId> DeviceBackend::Victim() {
  Enqueue(Command::blk_victim(), Kind::kVictim, 0);
  ++stats_.waits;
  answer_.reset();
  return Push(true) ? answer_ : std::nullopt;
}

std::optional<BlockId> DeviceBackend::SetVictim(BlockId incoming) {
  if (error_ || set_fill_[SetOf(incoming)] < model::kWays) {
    return std::nullopt;
  }
  BlockInsert b;
  b.key = BlockKey(incoming).Packed();
  Enqueue(Command::blk_insert(b), Kind::kSetVictim, incoming);
  ++stats_.waits;
  answer_.reset();
  return Push(true) ? answer_ : std::nullopt;
}

}  // namespace kvcpu::trace
