// The HEPC policies' directory on a KV-CPU device (kvtrace --device): every directory op is a
// block command (BLK_INSERT, BLK_TOUCH, BLK_DELETE, BLK_VICTIM, keyed SHARE_PREFIX /
// RELEASE / PREFETCH, STEP_ADVANCE to an absolute step) through one host queue of libkvcpu,
// and every victim is the device's answer. docs/trace-replay.md "Device mode".
//
// Commands whose answer the runtime does not wait for are queued and submitted in batches;
// only a victim query (BLK_VICTIM, or a BLK_INSERT into a full set, whose DIR_FULL answer
// names the set victim) waits for everything before it. Each command carries a sequence
// number as its flow id, and every completion is checked in order: its flow id, its status
// against the one the runtime expects, and the handle of an INSERT against the set the
// documented hash gives (docs/rtbd-hepc.md "Hash"). The first surprise is latched as the
// backend's error() and stops the replay.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kvcpu/device.h"
#include "kvcpu/queue.h"
#include "replay.h"

namespace kvcpu::trace {

struct DeviceBackendStats {
  uint64_t commands = 0;  // block commands completed
  uint64_t waits = 0;     // victim queries (each waits for every command before it)
};

class DeviceBackend final : public HepcBackend {
 public:
  // Checks the device's directory (a directory at all, DIR_LIVE 0, step 0), writes the HEPC
  // registers for `mode` (HepcReplayConfig), and opens a host queue. Null and *error on
  // failure. `dev` must outlive the backend.
  static std::unique_ptr<DeviceBackend> Create(Device& dev, model::Mode mode, std::string* error);

  // The device's directory geometry as a model configuration (DIR_CAPACITY, HEPC_RINGS).
  const model::RtbdConfig& dir_config() const { return dir_; }
  const DeviceBackendStats& stats() const { return stats_; }

  void StepAdvance(uint32_t step) override;
  void Insert(BlockId id) override;
  void Touch(BlockId id) override;
  void Delete(BlockId id) override;
  void Share(BlockId id) override;
  void Prefetch(BlockId id, uint32_t target_step) override;
  std::optional<BlockId> Victim() override;
  std::optional<BlockId> SetVictim(BlockId incoming) override;
  void Sync() override { Push(true); }
  std::optional<std::string> error() const override { return error_; }

 private:
  enum class Kind : uint8_t { kStep, kInsert, kTouch, kDelete, kShare, kRelease, kPrefetch, kVictim, kSetVictim };
  struct Op {
    Kind kind;
    BlockId id;
    uint32_t seq;
  };

  DeviceBackend(Device& dev, std::unique_ptr<QueuePair> q, const model::RtbdConfig& dir);
  void Enqueue(Command c, Kind kind, BlockId id);
  // Submits what is queued (reaping when the ring is full); with `all`, also waits until every
  // command has completed. False once an error is latched.
  bool Push(bool all);
  void Complete(const Completion& c);
  void Fail(const std::string& msg);
  uint32_t SetOf(BlockId id) const;

  Device& dev_;
  std::unique_ptr<QueuePair> q_;
  model::RtbdConfig dir_;
  std::vector<Command> unsent_;
  std::deque<Op> ops_;  // submitted or queued, not completed, in order
  uint32_t next_seq_ = 0;
  std::unordered_map<BlockId, uint32_t> handle_of_;
  std::unordered_map<uint32_t, BlockId> id_of_;
  std::vector<uint8_t> set_fill_;  // blocks per set, as the runtime has asked (before completion)
  std::optional<BlockId> answer_;  // the last victim query's block
  std::optional<std::string> error_;
  DeviceBackendStats stats_;
};

}  // namespace kvcpu::trace
