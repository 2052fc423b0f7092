// A KV-CPU device, opened by URI, behind the transport seam.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kvcpu/cosim_transport.h"
#include "kvcpu/device_info.h"
#include "kvcpu/queue.h"
#include "kvcpu/result.h"
#include "kvcpu/status.h"
#include "kvcpu/transport.h"

namespace kvcpu {

struct OpenOptions {
  CosimOptions cosim;  // used by cosim: URIs
};

// Thread safety: a Device serialises every call with an internal mutex, so multi-access
// operations (the STEP_LO/STEP_HI pair of step() and step_set(), the ERR_STATUS check)
// never interleave with other calls on the same Device. Move-only; a moved-from Device
// answers every call with kInvalidArgument.
// GET_TELEMETRY: the seed's counters (step, hint counts) and the directory's.
struct Telemetry {
  uint64_t step = 0;
  uint32_t step_count = 0;  // STEP_ADVANCEs applied
  // HINT_COUNT: hints completed with SUCCESS, by kind
  uint32_t hot = 0, evict = 0, prefetch = 0, share = 0, release = 0;
  uint32_t dir_capacity = 0, dir_live = 0, dir_hits = 0, dir_misses = 0;
};

// The eviction/prefetch controller's configuration (HEPC_* registers, docs/hepc.md). The
// defaults are the registers' reset values.
struct HepcSettings {
  bool hint_mode = false;  // 0 seed score, 1 hint (next-use) order
  uint8_t w_r = 8, w_f = 32, w_s = 4, w_d = 64;
  uint16_t window = 255, evict_t = 64, prefetch_t = 0;
  uint32_t t0_high_wm = 0xFFFFFFFFu, prefetch_window = 256;
  uint16_t max_evict_plans = 0, max_prefetch_plans = 0;
  uint8_t evict_tier = 2;
  uint32_t short_lived = 0;
};

// Its counters and gauges (HEPC_COUNT_*, HEPC_T0_*, the plan FIFO), read register by register.
struct HepcStats {
  uint64_t ops = 0, victim_queries = 0, evict_plans = 0, prefetch_plans = 0, discards = 0,
           dir_full = 0, hint_stale = 0, expired_buckets = 0;
  uint32_t t0_blocks = 0, t0_moving = 0, dir_step = 0, plans_waiting = 0, plan_drops = 0;
};

// The directory's build parameters (DIR_CAPACITY, HEPC_RINGS): what a host model of the
// directory and its controller needs to decide as the device does. All 0: no directory.
struct DirGeometry {
  uint32_t capacity = 0;      // entries: 8 ways x 2^set_bits sets
  unsigned set_bits = 0;
  unsigned bucket_shift = 0;  // G: 2^G steps per next-use bucket
  unsigned num_buckets = 0;   // NB
};

class Device {
 public:
  // URIs: "cosim:PATH" (socket of kvcpu-cosim), "mock:" (in-memory model).
  // "pci:BDF" and "uart:DEV" give kUnsupported (not built in this release); anything
  // else, or a cosim: URI without a path, gives kInvalidArgument.
  // Verifies ID == regs::kIdValue (kDeviceMismatch) and the register-map major version
  // (kVersionMismatch).
  static Result<Device> open(std::string_view uri, const OpenOptions& options = {});
  // Opens over a transport the caller built (tests keep a pointer to a MockTransport).
  static Result<Device> open(std::unique_ptr<Transport> transport);

  Device(Device&&) noexcept = default;
  Device& operator=(Device&&) noexcept = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device() = default;

  // Re-reads the identity registers.
  Result<DeviceInfo> info();
  std::string describe() const;

  // Raw 32-bit access to a BAR0 offset (regs::k* constants).
  Result<uint32_t> read(uint32_t offset);
  Status write(uint32_t offset, uint32_t value);

  // Current 64-bit decode step (STEP_LO then STEP_HI).
  Result<uint64_t> step();
  // Advances the step by n with one posted write to STEP_INC. n == 0 is rejected with
  // kInvalidArgument and nothing is sent.
  Status step_advance(uint32_t n);
  // Sets the step: acknowledged writes of STEP_LO then STEP_HI, then checks
  // ERR_STATUS.STEP_BACKWARDS; a step below the current one is reported as
  // kInvalidArgument (the device kept the old step) and that bit is cleared.
  Status step_set(uint64_t value);
  Result<uint32_t> step_count();

  // The device's counters (the seed's GET_TELEMETRY plus the block directory's), read one
  // register after another (not an atomic snapshot).
  Result<Telemetry> telemetry();

  // ---- HEPC (docs/hepc.md): configuration, counters, and the plan FIFO.
  Status set_hepc(const HepcSettings& s);
  Result<HepcSettings> hepc();
  Result<HepcStats> hepc_stats();
  Result<DirGeometry> dir_geometry();
  // Pops up to `max` plans (plan words, docs/rtbd-hepc.md "Plan word") from the FIFO.
  Result<std::vector<uint32_t>> pop_plans(unsigned max = 8);

  Result<uint32_t> error_status();
  Result<uint32_t> error_addr();
  // Clears the ERR_STATUS bits set in mask (write 1 to clear).
  Status clear_errors(uint32_t mask);

  Status reset();

  // ---- host queues (docs/host-interface.md, docs/driver.md). Need a transport with host
  // memory (cosim:); mock: answers kUnsupported.
  // Device-visible host memory of at least `bytes` (rounded up to 4 KiB), zeroed.
  Result<std::unique_ptr<DmaBuffer>> alloc_dma(size_t bytes);
  // A queue pair on the lowest free queue id (kBusy when all are taken). Its rings are
  // fresh DMA memory; on return the queue is enabled and its vector armed.
  Result<std::unique_ptr<QueuePair>> create_queue(const QueueOptions& options = {});
  // CLOCK_HZ: converts provenance cycles to time.
  Result<uint32_t> clock_hz();

 private:
  explicit Device(std::unique_ptr<Transport> transport);

  Status check_open() const;
  Result<uint32_t> read_locked(uint32_t offset);
  Status write_locked(uint32_t offset, uint32_t value);

  std::unique_ptr<Transport> transport_;
  std::unique_ptr<std::mutex> mu_;  // heap-held so Device stays movable
  struct HostState {
    uint64_t next_iova = 1ull << 32;  // IOVAs are handed out once, page by page
    uint32_t queues = 0;              // queue ids in use (bit q)
  };
  std::unique_ptr<HostState> host_;
};

}  // namespace kvcpu
