// The core's NVMe port in cosim: SQEs the core submits go to an SsdModel (sw/nvme, the
// calibrated 970 PRO by default) at the simulated time of the handshake; the command's data
// moves between the model and the client's mapped host memory through its PRP entries, as
// an NVMe drive would DMA it; completions are presented back on the CQE port when the model
// says they are due. No dependency on the verilated model (the server adapts the ports), so
// tests/cosim unit-tests it alone.
//
// Data pointers: PRP1 and PRP2 only (a transfer of at most two pages); a command that would
// need a PRP list, or whose data is not inside mapped host memory, completes with Data
// Transfer Error and has no effect.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host_memory.h"
#include "ssd_model.h"

namespace kvcpu::cosim {

struct NvmePortStats {
  uint64_t submitted = 0;          // SQEs taken from the core
  uint64_t completed = 0;          // CQEs taken by the core
  uint64_t transfer_errors = 0;    // completed with Data Transfer Error (PRP / host memory)
  uint64_t rejected = 0;           // the model refused the command (its error status)
};

class NvmePort {
 public:
  // nullptr and *error when the SSD configuration is invalid.
  static std::unique_ptr<NvmePort> Create(HostMemory* memory, const nvme::SsdConfig& config,
                                          const nvme::SsdFaults& faults, std::string* error);

  // Whether the port takes an SQE this cycle (the model has room).
  bool sq_ready() const;
  // The CQE presented this cycle, if any (valid until taken).
  const std::array<uint8_t, 16>* cq_front() const { return cq_.empty() ? nullptr : &cq_.front(); }

  // Handshakes of one clock edge at simulated time now_ns: an SQE taken (sq) and/or the
  // presented CQE taken (cq_taken). Then completions due by now_ns are queued.
  void clock(const std::array<uint8_t, 64>* sq, bool cq_taken, uint64_t now_ns);

  // Whether commands are in the model or CQEs wait for the core.
  bool busy() const { return !cq_.empty() || model_->in_flight() != 0; }
  const NvmePortStats& stats() const { return stats_; }
  const nvme::SsdModel& model() const { return *model_; }

 private:
  NvmePort(HostMemory* memory, std::unique_ptr<nvme::SsdModel> model)
      : memory_(memory), model_(std::move(model)) {}
  // The host memory of a command's data: len bytes through PRP1 (to its page's end) and
  // PRP2 (the rest, at most one page); nullopt when that needs a PRP list or is not inside
  // mapped memory.
  struct Buffer {
    struct Part {
      uint8_t* host = nullptr;
      size_t n = 0;
    };
    std::array<Part, 2> part{};
  };
  std::optional<Buffer> buffer(const nvme::Sqe& s, size_t len) const;
  void post(nvme::Cqe cqe);

  HostMemory* memory_;
  std::unique_ptr<nvme::SsdModel> model_;
  std::deque<std::array<uint8_t, 16>> cq_;
  std::map<uint16_t, nvme::Sqe> reads_;  // reads in flight by CID: where their data goes
  NvmePortStats stats_;
};

}  // namespace kvcpu::cosim
