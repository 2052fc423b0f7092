#include "axi_host_slave.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace kvcpu::cosim {
namespace {

constexpr uint8_t kSize8 = 3;     // AxSIZE: 8 bytes per beat
constexpr uint8_t kBurstIncr = 1;  // AxBURST: INCR

}  // namespace

AxiHostSlave::AxiHostSlave(HostMemory& memory, AxiSlaveOptions options)
    : mem_(memory), opt_(options), rng_(options.seed) {
  if (opt_.max_outstanding == 0) {
    opt_.max_outstanding = 1;
  }
  next_outputs();
}

bool AxiHostSlave::stall() {
  return opt_.p_stall > 0.0 && std::bernoulli_distribution(opt_.p_stall)(rng_);
}

bool AxiHostSlave::shape_ok(uint64_t addr, uint8_t /*len*/, uint8_t size, uint8_t burst) const {
  return size == kSize8 && burst == kBurstIncr && (addr & 7) == 0;
}

void AxiHostSlave::reset() {
  reads_.clear();
  writes_.clear();
  bresps_.clear();
  out_ = AxiSlaveSignals{};
  prev_ = AxiMasterSignals{};
  ar_wait_ = aw_wait_ = w_wait_ = false;
  next_outputs();
}

void AxiHostSlave::monitor(const AxiMasterSignals& in) {
  if (!perr_.empty()) {
    return;
  }
  char buf[160];
  if (ar_wait_ && !(in.arvalid && in.araddr == prev_.araddr && in.arlen == prev_.arlen &&
                    in.arsize == prev_.arsize && in.arburst == prev_.arburst)) {
    std::snprintf(buf, sizeof buf, "cycle %" PRIu64 ": arvalid dropped or AR changed before arready",
                  cycle_);
    perr_ = buf;
  } else if (aw_wait_ && !(in.awvalid && in.awaddr == prev_.awaddr && in.awlen == prev_.awlen &&
                           in.awsize == prev_.awsize && in.awburst == prev_.awburst)) {
    std::snprintf(buf, sizeof buf, "cycle %" PRIu64 ": awvalid dropped or AW changed before awready",
                  cycle_);
    perr_ = buf;
  } else if (w_wait_ && !(in.wvalid && in.wdata == prev_.wdata && in.wstrb == prev_.wstrb &&
                          in.wlast == prev_.wlast)) {
    std::snprintf(buf, sizeof buf, "cycle %" PRIu64 ": wvalid dropped or W changed before wready",
                  cycle_);
    perr_ = buf;
  }
}

void AxiHostSlave::commit(Burst& b) {
  uint8_t* p = b.ok ? mem_.translate(b.addr, uint64_t{b.beats} * 8) : nullptr;
  if (p == nullptr) {
    ++refused_;
    bresps_.push_back({kSlvErr, cycle_ + 1 + opt_.write_latency});
    return;
  }
  for (unsigned i = 0; i < b.beats; ++i) {
    for (unsigned k = 0; k < 8; ++k) {
      if ((b.strb[i] >> k) & 1) {
        p[8 * i + k] = static_cast<uint8_t>(b.data[i] >> (8 * k));
        ++write_bytes_;
      }
    }
  }
  bresps_.push_back({kOkay, cycle_ + 1 + opt_.write_latency});
}

void AxiHostSlave::clock(const AxiMasterSignals& in) {
  monitor(in);
  const AxiSlaveSignals o = out_;
  const bool ar_fire = in.arvalid && o.arready;
  const bool r_fire = o.rvalid && in.rready;
  const bool aw_fire = in.awvalid && o.awready;
  const bool w_fire = in.wvalid && o.wready;
  const bool b_fire = o.bvalid && in.bready;

  if (r_fire) {
    Burst& b = reads_.front();
    if (o.rresp == kOkay) {
      read_bytes_ += 8;
    }
    if (++b.done == b.beats) {
      reads_.pop_front();
    }
    out_.rvalid = false;
    out_.rdata = 0;
    out_.rresp = kOkay;
    out_.rlast = false;
  }
  if (ar_fire) {
    Burst b;
    b.addr = in.araddr;
    b.beats = unsigned{in.arlen} + 1;
    b.ok = shape_ok(in.araddr, in.arlen, in.arsize, in.arburst) &&
           mem_.translate(in.araddr, uint64_t{b.beats} * 8) != nullptr;
    b.not_before = cycle_ + 1 + opt_.read_latency;
    refused_ += b.ok ? 0 : 1;
    reads_.push_back(std::move(b));
  }
  if (w_fire) {
    Burst& b = writes_.front();
    b.data.push_back(in.wdata);
    b.strb.push_back(in.wstrb);
    const bool last = b.done + 1 == b.beats;
    if (in.wlast != last && perr_.empty()) {
      char buf[120];
      std::snprintf(buf, sizeof buf, "cycle %" PRIu64 ": wlast %s on beat %u of %u", cycle_,
                    in.wlast ? "set" : "missing", b.done + 1, b.beats);
      perr_ = buf;
    }
    if (++b.done == b.beats) {
      commit(b);
      writes_.pop_front();
    }
  }
  if (aw_fire) {
    Burst b;
    b.addr = in.awaddr;
    b.beats = unsigned{in.awlen} + 1;
    b.ok = shape_ok(in.awaddr, in.awlen, in.awsize, in.awburst);
    b.data.reserve(b.beats);
    b.strb.reserve(b.beats);
    writes_.push_back(std::move(b));
  }
  if (b_fire) {
    bresps_.pop_front();
    out_.bvalid = false;
    out_.bresp = kOkay;
  }

  ar_wait_ = in.arvalid && !o.arready;
  aw_wait_ = in.awvalid && !o.awready;
  w_wait_ = in.wvalid && !o.wready;
  prev_ = in;
  ++cycle_;
  next_outputs();
}

void AxiHostSlave::next_outputs() {
  out_.arready = reads_.size() < opt_.max_outstanding && !stall();
  out_.awready = writes_.size() + bresps_.size() < opt_.max_outstanding && !stall();
  out_.wready = !writes_.empty() && !stall();
  if (!out_.rvalid && !reads_.empty() && cycle_ >= reads_.front().not_before && !stall()) {
    const Burst& b = reads_.front();
    const uint64_t addr = b.addr + 8ull * b.done;
    uint64_t data = 0;
    // Re-translated per beat: a region unmapped meanwhile makes the rest of the burst fail.
    const bool ok = b.ok && mem_.read(addr, &data, sizeof data);
    out_.rvalid = true;
    out_.rdata = ok ? data : 0;  // little-endian host: byte k of the beat is lane k
    out_.rresp = ok ? kOkay : kSlvErr;
    out_.rlast = b.done + 1 == b.beats;
  }
  if (!out_.bvalid && !bresps_.empty() && cycle_ >= bresps_.front().not_before && !stall()) {
    out_.bvalid = true;
    out_.bresp = bresps_.front().resp;
  }
}

}  // namespace kvcpu::cosim
