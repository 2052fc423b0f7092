// AXI4-Lite master BFM for a verilated model with s_axil_* ports (kvcpu_core), plus a
// protocol monitor on the slave's outputs.
//
// Each access drives the AW/W (or AR) handshake, waits for B (or R) and returns the
// response. With Jitter set, it inserts random idle cycles before each valid, skews AW
// against W (either may lead), and holds bready/rready low at random: backpressure on
// every handshake. Every wait is bounded; a timeout is returned, never a hang.
//
// The monitor checks on every cycle it drives: bvalid/rvalid, once high, stay high with
// stable payload until the handshake; responses are never EXOKAY on AXI4-Lite.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "sim.h"

namespace kvcpu::sim {

struct AxilResp {
  uint32_t data = 0;
  uint8_t resp = 0;     // 0 OKAY, 2 SLVERR, 3 DECERR
  uint64_t cycles = 0;  // from first valid to the response handshake
};

struct Jitter {
  double p_idle = 0.0;       // chance of one more idle cycle before a valid (geometric)
  double p_backpressure = 0.0;  // chance that bready/rready is low in a cycle
  unsigned max_skew = 0;     // max cycles between AW and W valid
};

template <class Model>
class AxilMaster {
 public:
  explicit AxilMaster(Sim<Model>& sim, uint64_t timeout_cycles = 1000)
      : sim_(sim), timeout_(timeout_cycles) {
    idle();
  }

  void set_jitter(const Jitter& j) { jitter_ = j; }
  const std::string& protocol_error() const { return perr_; }
  bool ok() const { return perr_.empty(); }

  std::optional<AxilResp> read(uint32_t addr) {
    auto& d = sim_.dut();
    delay();
    const uint64_t start = sim_.cycle();
    d.s_axil_arvalid_i = 1;
    d.s_axil_araddr_i = addr;
    bool ar_done = false;
    while (!ar_done) {
      d.s_axil_rready_i = 0;
      sim_.settle();
      ar_done = d.s_axil_arready_o;
      if (!step(start)) {
        return std::nullopt;
      }
    }
    d.s_axil_arvalid_i = 0;
    d.s_axil_araddr_i = 0xDEAD & mask_;  // payload is don't-care once accepted
    for (;;) {
      d.s_axil_rready_i = !coin(jitter_.p_backpressure);
      sim_.settle();
      if (d.s_axil_rvalid_o && d.s_axil_rready_i) {
        AxilResp r{d.s_axil_rdata_o, static_cast<uint8_t>(d.s_axil_rresp_o), 0};
        if (!step(start)) {
          return std::nullopt;
        }
        d.s_axil_rready_i = 0;
        r.cycles = sim_.cycle() - start;
        return r;
      }
      if (!step(start)) {
        return std::nullopt;
      }
    }
  }

  std::optional<AxilResp> write(uint32_t addr, uint32_t data, uint8_t strb = 0xF) {
    auto& d = sim_.dut();
    delay();
    const uint64_t start = sim_.cycle();
    // Skew: positive -> W waits, negative -> AW waits.
    int skew = 0;
    if (jitter_.max_skew) {
      std::uniform_int_distribution<int> u(-static_cast<int>(jitter_.max_skew),
                                           static_cast<int>(jitter_.max_skew));
      skew = u(sim_.rng());
    }
    bool aw_done = false, w_done = false;
    uint64_t n = 0;
    while (!aw_done || !w_done) {
      d.s_axil_awvalid_i = !aw_done && (skew >= 0 || n >= static_cast<uint64_t>(-skew));
      d.s_axil_awaddr_i = addr;
      d.s_axil_wvalid_i = !w_done && (skew <= 0 || n >= static_cast<uint64_t>(skew));
      d.s_axil_wdata_i = data;
      d.s_axil_wstrb_i = strb;
      d.s_axil_bready_i = 0;
      sim_.settle();
      const bool aw_fire = d.s_axil_awvalid_i && d.s_axil_awready_o;
      const bool w_fire = d.s_axil_wvalid_i && d.s_axil_wready_o;
      if (!step(start)) {
        return std::nullopt;
      }
      aw_done |= aw_fire;
      w_done |= w_fire;
      ++n;
    }
    d.s_axil_awvalid_i = 0;
    d.s_axil_wvalid_i = 0;
    for (;;) {
      d.s_axil_bready_i = !coin(jitter_.p_backpressure);
      sim_.settle();
      if (d.s_axil_bvalid_o && d.s_axil_bready_i) {
        AxilResp r{0, static_cast<uint8_t>(d.s_axil_bresp_o), 0};
        if (!step(start)) {
          return std::nullopt;
        }
        d.s_axil_bready_i = 0;
        r.cycles = sim_.cycle() - start;
        return r;
      }
      if (!step(start)) {
        return std::nullopt;
      }
    }
  }

  // A read and a write in flight together, each channel starting after its own delay (in
  // cycles), so the slave may perform them in either order or in the same cycle.
  struct Overlap {
    AxilResp read;
    AxilResp write;
    // Cycle in which the slave performed each access (the cycle before its response
    // became valid): tells the scoreboard in which order to apply them.
    uint64_t read_done = 0;
    uint64_t write_done = 0;
  };
  std::optional<Overlap> read_write(uint32_t raddr, uint32_t waddr, uint32_t wdata, uint8_t wstrb,
                                    unsigned ar_delay, unsigned aw_delay, unsigned w_delay) {
    auto& d = sim_.dut();
    const uint64_t start = sim_.cycle();
    Overlap o;
    bool ar_done = false, aw_done = false, w_done = false, r_done = false, b_done = false;
    bool r_seen = false, b_seen = false;
    for (uint64_t n = 0; !(r_done && b_done); ++n) {
      d.s_axil_arvalid_i = !ar_done && n >= ar_delay;
      d.s_axil_araddr_i = raddr;
      d.s_axil_awvalid_i = !aw_done && n >= aw_delay;
      d.s_axil_awaddr_i = waddr;
      d.s_axil_wvalid_i = !w_done && n >= w_delay;
      d.s_axil_wdata_i = wdata;
      d.s_axil_wstrb_i = wstrb;
      d.s_axil_rready_i = !r_done && !coin(jitter_.p_backpressure);
      d.s_axil_bready_i = !b_done && !coin(jitter_.p_backpressure);
      sim_.settle();
      if (d.s_axil_rvalid_o && !r_seen) {
        r_seen = true;
        o.read_done = sim_.cycle() - 1;
      }
      if (d.s_axil_bvalid_o && !b_seen) {
        b_seen = true;
        o.write_done = sim_.cycle() - 1;
      }
      const bool ar_fire = d.s_axil_arvalid_i && d.s_axil_arready_o;
      const bool aw_fire = d.s_axil_awvalid_i && d.s_axil_awready_o;
      const bool w_fire = d.s_axil_wvalid_i && d.s_axil_wready_o;
      const bool r_fire = d.s_axil_rvalid_o && d.s_axil_rready_i;
      const bool b_fire = d.s_axil_bvalid_o && d.s_axil_bready_i;
      if (r_fire) {
        o.read = {d.s_axil_rdata_o, static_cast<uint8_t>(d.s_axil_rresp_o), 0};
      }
      if (b_fire) {
        o.write = {0, static_cast<uint8_t>(d.s_axil_bresp_o), 0};
      }
      if (!step(start)) {
        return std::nullopt;
      }
      ar_done |= ar_fire;
      aw_done |= aw_fire;
      w_done |= w_fire;
      r_done |= r_fire;
      b_done |= b_fire;
    }
    idle();
    o.read.cycles = o.write.cycles = sim_.cycle() - start;
    return o;
  }

  // Let the clock run with the bus idle.
  void idle_cycles(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      sim_.settle();
      monitor();
      sim_.tick();
    }
  }

 private:
  void idle() {
    auto& d = sim_.dut();
    d.s_axil_awvalid_i = 0;
    d.s_axil_wvalid_i = 0;
    d.s_axil_bready_i = 0;
    d.s_axil_arvalid_i = 0;
    d.s_axil_rready_i = 0;
    d.s_axil_awaddr_i = 0;
    d.s_axil_araddr_i = 0;
    d.s_axil_wdata_i = 0;
    d.s_axil_wstrb_i = 0;
  }

  bool coin(double p) {
    if (p <= 0.0) {
      return false;
    }
    return std::bernoulli_distribution(p)(sim_.rng());
  }

  void delay() {
    while (coin(jitter_.p_idle)) {
      idle_cycles(1);
    }
  }

  // Monitor, then one clock. False on timeout or a protocol violation.
  bool step(uint64_t start) {
    monitor();
    sim_.tick();
    if (sim_.cycle() - start > timeout_) {
      perr_ = "timeout after " + std::to_string(timeout_) + " cycles";
      return false;
    }
    return perr_.empty();
  }

  void monitor() {
    auto& d = sim_.dut();
    if (b_pending_ && !(d.s_axil_bvalid_o && d.s_axil_bresp_o == b_resp_)) {
      perr_ = "bvalid dropped or bresp changed before bready";
    }
    if (r_pending_ && !(d.s_axil_rvalid_o && d.s_axil_rdata_o == r_data_ && d.s_axil_rresp_o == r_resp_)) {
      perr_ = "rvalid dropped or rdata/rresp changed before rready";
    }
    if ((d.s_axil_bvalid_o && d.s_axil_bresp_o == 1) || (d.s_axil_rvalid_o && d.s_axil_rresp_o == 1)) {
      perr_ = "EXOKAY response on AXI4-Lite";
    }
    b_pending_ = d.s_axil_bvalid_o && !d.s_axil_bready_i;
    b_resp_ = d.s_axil_bresp_o;
    r_pending_ = d.s_axil_rvalid_o && !d.s_axil_rready_i;
    r_data_ = d.s_axil_rdata_o;
    r_resp_ = d.s_axil_rresp_o;
  }

  Sim<Model>& sim_;
  uint64_t timeout_;
  Jitter jitter_;
  std::string perr_;
  uint32_t mask_ = 0xFFFF;
  bool b_pending_ = false, r_pending_ = false;
  uint8_t b_resp_ = 0, r_resp_ = 0;
  uint32_t r_data_ = 0;
};

}  // namespace kvcpu::sim
