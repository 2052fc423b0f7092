// Cycle-accurate reference model of the MSI-X / coalescing block, written from
// docs/msix.md ("Behaviour, cycle by cycle"), not from the RTL.
//
// Use per cycle: set the inputs of the cycle in an In, read the outputs (valid(), msg(),
// pba(), irq_count(), busy(in)), then step(in) applies the rising edge and returns the
// events of that cycle (for coverage).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace kvcpu::tb {

class MsixRefModel {
 public:
  struct VecIn {
    bool en = false;
    uint32_t coal = 0;  // COUNT [7:0], TIME [31:8]
    uint32_t addr_lo = 0, addr_hi = 0, data = 0;
    uint32_t ctrl = 1;  // bit 0: MASK (reset 1)
    bool masked() const { return (ctrl & 1u) != 0; }
    uint32_t count() const { return coal & 0xFFu; }
    uint32_t time() const { return coal >> 8; }
  };
  struct In {
    bool cqe_valid = false;
    unsigned cqe_vec = 0;
    bool ready = false;
    std::vector<VecIn> v;
  };
  struct Msg {
    unsigned vec = 0;
    uint64_t addr = 0;
    uint32_t data = 0;
  };

  // Events of one cycle (bits of step()'s result).
  enum Event : uint32_t {
    kFireEvery = 1u << 0,         // fired by a CQE with COUNT 0 or 1
    kFireCount = 1u << 1,         // fired by count, COUNT > 1
    kFireCountLarge = 1u << 2,    // ... with COUNT >= 128
    kFireCountLowered = 1u << 3,  // fired by count without a CQE (COUNT lowered)
    kFireTime = 1u << 4,          // fired by the timer
    kFireTimeLarge = 1u << 5,     // ... with TIME >= 4096
    kFireTimeWithCqe = 1u << 6,   // a CQE in the timer's firing cycle joined the batch
    kFireBoth = 1u << 7,          // count and timer in the same cycle
    kMerge = 1u << 8,             // fired while its message was pending: merged
    kFireWhileOffered = 1u << 9,  // fired while its own message was on offer
    kDisableClears = 1u << 10,    // disable dropped a partial batch
    kDisablePending = 1u << 11,   // disabled with a fired message pending (kept)
    kCqeDisabled = 1u << 12,      // CQE for a disabled queue (ignored)
    kMaskedSent = 1u << 13,       // a message that waited masked was sent
    kBackpressure = 1u << 14,     // valid && !ready
    kPriority = 1u << 15,         // chose among two or more candidates
    kBackToBack = 1u << 16,       // chose in the cycle of a handshake
    kPartialIdle = 1u << 17,      // partial batch with TIME = 0 and COUNT > 1, not busy
    kCqeOutOfRange = 1u << 18,    // cqe_vec >= NumVec (ignored)
    kTimerSaturated = 1u << 19,   // a timer reached 2^24 - 1
    kMaskedPending = 1u << 20,    // a fired message waits because its vector is masked
  };

  static constexpr uint32_t kTmrMax = 0xFFFFFFu;

  explicit MsixRefModel(unsigned num_vec) : n_(num_vec), st_(num_vec), irq_(num_vec) { reset(); }

  void reset() {
    std::fill(st_.begin(), st_.end(), VecState{});
    std::fill(irq_.begin(), irq_.end(), 0u);
    out_valid_ = false;
    out_ = Msg{};
    out_waited_masked_ = false;
  }

  unsigned num_vec() const { return n_; }
  bool valid() const { return out_valid_; }
  const Msg& msg() const { return out_; }
  uint32_t irq_count(unsigned v) const { return irq_[v]; }
  uint32_t pending_count(unsigned v) const { return st_[v].cnt; }

  uint64_t pba() const {
    uint64_t p = 0;
    for (unsigned v = 0; v < n_; ++v) {
      if (st_[v].pend) p |= 1ull << v;
    }
    if (out_valid_) p |= 1ull << out_.vec;
    return p;
  }

  bool busy(const In& in) const {
    if (out_valid_) return true;
    for (unsigned v = 0; v < n_; ++v) {
      const VecState& s = st_[v];
      const VecIn& c = in.v[v];
      if (c.en && s.cnt > 0 && c.time() != 0) return true;  // armed timer
      if (s.pend && !c.masked()) return true;
      const uint32_t cnew = s.cnt + ((in.cqe_valid && in.cqe_vec == v) ? 1u : 0u);
      if (c.en && cnew > 0 && cnew >= c.count()) return true;  // fires by count now
    }
    return false;
  }

  // The rising edge at the end of the cycle whose inputs are `in`.
  uint32_t step(const In& in) {
    uint32_t ev = 0;
    const bool hs = out_valid_ && in.ready;
    const bool slot_free = !out_valid_ || in.ready;
    if (out_valid_ && !in.ready) ev |= kBackpressure;
    if (in.cqe_valid && in.cqe_vec >= n_) ev |= kCqeOutOfRange;
    const bool was_busy = busy(in);

    // the lowest pending unmasked vector (chosen if the output is free)
    int sel = -1;
    unsigned ncand = 0;
    for (unsigned v = 0; v < n_; ++v) {
      if (st_[v].pend && in.v[v].masked()) {
        st_[v].waited_masked = true;
        ev |= kMaskedPending;
      }
      if (st_[v].pend && !in.v[v].masked()) {
        if (sel < 0) sel = static_cast<int>(v);
        ++ncand;
      }
    }
    const bool chosen_any = slot_free && sel >= 0;

    uint64_t fire = 0;
    for (unsigned v = 0; v < n_; ++v) {
      VecState& s = st_[v];
      const VecIn& c = in.v[v];
      const bool hit = in.cqe_valid && in.cqe_vec == v;
      if (!c.en) {
        if (hit) ev |= kCqeDisabled;
        if (s.cnt > 0) ev |= kDisableClears;
        if (s.pend) ev |= kDisablePending;
        s.cnt = 0;
        s.tmr = 0;
        continue;
      }
      const uint32_t cnew = s.cnt + (hit ? 1u : 0u);
      const bool count_fire = cnew > 0 && cnew >= c.count();
      const bool time_fire = s.cnt > 0 && c.time() != 0 && s.tmr >= c.time();
      if (s.cnt > 0 && c.time() == 0 && c.count() > 1 && !was_busy) ev |= kPartialIdle;
      if (count_fire) {
        if (c.count() <= 1) {
          ev |= kFireEvery;
        } else {
          ev |= kFireCount;
          if (c.count() >= 128) ev |= kFireCountLarge;
          if (!hit) ev |= kFireCountLowered;
        }
      }
      if (time_fire) {
        ev |= kFireTime;
        if (c.time() >= 4096) ev |= kFireTimeLarge;
        if (hit) ev |= kFireTimeWithCqe;
        if (count_fire) ev |= kFireBoth;
      }
      if (count_fire || time_fire) {
        fire |= 1ull << v;
        if (s.pend && !(chosen_any && sel == static_cast<int>(v))) ev |= kMerge;
        if (out_valid_ && out_.vec == v && !hs) ev |= kFireWhileOffered;
        s.cnt = 0;
        s.tmr = 0;
      } else {
        if (s.cnt > 0) {
          s.tmr = std::min(s.tmr + 1, kTmrMax);
          if (s.tmr == kTmrMax) ev |= kTimerSaturated;
        } else if (hit) {
          s.tmr = 1;
        }
        s.cnt = cnew;
      }
    }

    if (hs) {
      ++irq_[out_.vec];
      if (out_waited_masked_) ev |= kMaskedSent;
    }
    if (slot_free) {
      out_valid_ = chosen_any;
      if (chosen_any) {
        const unsigned v = static_cast<unsigned>(sel);
        if (ncand >= 2) ev |= kPriority;
        if (hs) ev |= kBackToBack;
        out_.vec = v;
        out_.addr = (static_cast<uint64_t>(in.v[v].addr_hi) << 32) | in.v[v].addr_lo;
        out_.data = in.v[v].data;
        out_waited_masked_ = st_[v].waited_masked;
        st_[v].waited_masked = false;
        st_[v].pend = false;
      }
    }
    for (unsigned v = 0; v < n_; ++v) {
      if ((fire >> v) & 1u) st_[v].pend = true;
    }
    return ev;
  }

 private:
  struct VecState {
    uint32_t cnt = 0;  // CQEs of the current batch
    uint32_t tmr = 0;  // cycles elapsed since its first CQE
    bool pend = false;
    bool waited_masked = false;  // for coverage only
  };

  unsigned n_;
  std::vector<VecState> st_;
  std::vector<uint32_t> irq_;
  bool out_valid_ = false;
  Msg out_{};
  bool out_waited_masked_ = false;
};

}  // namespace kvcpu::tb
