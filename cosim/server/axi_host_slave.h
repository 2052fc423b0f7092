// AXI4 slave that serves the device's host-memory master port (m_axi_*) from HostMemory,
// cycle by cycle. Model-independent: the caller copies the master's signals in and the
// slave's signals out, so it is unit-tested with a plain C++ driver
// (tests/cosim/test_host_memory.cc) and wired to the verilated core by the server.
//
// Per clock cycle:
//   1. out = slave.outputs()      -> drive the model's *_ready_i / r* / b* inputs
//   2. settle the model           -> read its m_axi_*_o outputs into an AxiMasterSignals
//   3. slave.clock(in)            -> handshakes of this cycle (valid && ready), next state
//   4. the rising edge
// Ready and valid outputs depend on the slave's state only, never combinationally on the
// master's signals, so one settle per cycle is exact.
//
// Behaviour: up to `max_outstanding` accepted read bursts and write bursts each; INCR bursts
// of 8-byte beats (size 3), 8-byte aligned. A burst that is not entirely inside one mapped
// region (or has another size, burst type or alignment) is refused: every read beat answers
// SLVERR with zero data, a write burst takes all its beats, touches nothing and answers
// SLVERR; each refused burst is counted once. Read data is taken from memory when a beat is
// presented; write data is committed (under its strobes) when the last beat arrived, so a
// refused burst never writes part of itself. Latency and random stalls per AxiSlaveOptions.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "host_memory.h"

namespace kvcpu::cosim {

// What the master drives (the model's m_axi_*_o outputs).
struct AxiMasterSignals {
  bool arvalid = false;
  uint64_t araddr = 0;
  uint8_t arlen = 0;
  uint8_t arsize = 0;
  uint8_t arburst = 0;
  bool rready = false;
  bool awvalid = false;
  uint64_t awaddr = 0;
  uint8_t awlen = 0;
  uint8_t awsize = 0;
  uint8_t awburst = 0;
  bool wvalid = false;
  uint64_t wdata = 0;
  uint8_t wstrb = 0;
  bool wlast = false;
  bool bready = false;
};

// What the slave drives (the model's m_axi_*_i inputs).
struct AxiSlaveSignals {
  bool arready = false;
  bool rvalid = false;
  uint64_t rdata = 0;
  uint8_t rresp = 0;
  bool rlast = false;
  bool awready = false;
  bool wready = false;
  bool bvalid = false;
  uint8_t bresp = 0;
};

struct AxiSlaveOptions {
  unsigned read_latency = 0;   // cycles from AR accepted to the first R beat offered (extra)
  unsigned write_latency = 0;  // cycles from the last W beat to B offered (extra)
  double p_stall = 0.0;        // chance per cycle that a ready or a next beat is held back
  size_t max_outstanding = 4;  // accepted, unfinished bursts per direction
  uint64_t seed = 1;
};

class AxiHostSlave {
 public:
  static constexpr uint8_t kOkay = 0;
  static constexpr uint8_t kSlvErr = 2;

  AxiHostSlave(HostMemory& memory, AxiSlaveOptions options = {});

  AxiSlaveSignals outputs() const { return out_; }
  void clock(const AxiMasterSignals& in);
  // Drops every burst in flight (the device is being reset); counters stay.
  void reset();
  bool idle() const { return reads_.empty() && writes_.empty() && bresps_.empty(); }

  uint64_t read_bytes() const { return read_bytes_; }    // bytes of OKAY read beats
  uint64_t write_bytes() const { return write_bytes_; }  // bytes of OKAY write bursts
  uint64_t refused() const { return refused_; }          // bursts refused
  // First violation of the AXI rules by the master seen so far (valid dropped or payload
  // changed before ready, wlast on the wrong beat); empty if none.
  const std::string& protocol_error() const { return perr_; }

 private:
  struct Burst {
    uint64_t addr = 0;
    unsigned beats = 0;
    bool ok = false;
    uint64_t not_before = 0;  // cycle from which the first beat / B may be offered
    unsigned done = 0;        // beats transferred so far
    std::vector<uint64_t> data;  // write data (write bursts)
    std::vector<uint8_t> strb;
  };
  struct BResp {
    uint8_t resp = kOkay;
    uint64_t not_before = 0;
  };

  bool stall();
  bool shape_ok(uint64_t addr, uint8_t len, uint8_t size, uint8_t burst) const;
  void monitor(const AxiMasterSignals& in);
  void commit(Burst& b);
  void next_outputs();

  HostMemory& mem_;
  AxiSlaveOptions opt_;
  std::mt19937_64 rng_;
  uint64_t cycle_ = 0;
  AxiSlaveSignals out_;
  std::deque<Burst> reads_;   // front: the burst whose beats are being returned
  std::deque<Burst> writes_;  // front: the burst taking W beats
  std::deque<BResp> bresps_;
  AxiMasterSignals prev_;  // last cycle's master signals (for the stability checks)
  bool ar_wait_ = false, aw_wait_ = false, w_wait_ = false;
  uint64_t read_bytes_ = 0, write_bytes_ = 0, refused_ = 0;
  std::string perr_;
};

}  // namespace kvcpu::cosim
