// NarbModel: docs/narb.md, rule by rule.
#include "narb.h"

#include <algorithm>

namespace kvcpu::model {

namespace {
constexpr uint32_t kBudgetMax = 255;  // dec_used / pf_used are 8-bit saturating
uint32_t SatInc(uint32_t v) { return v >= kBudgetMax ? kBudgetMax : v + 1; }
}  // namespace

NarbModel::NarbModel(unsigned queue_depth, unsigned num_slots, unsigned time_bits)
    : depth_(queue_depth),
      nslots_(num_slots),
      time_mask_(time_bits >= 64 ? ~0ull : (1ull << time_bits) - 1),
      slots_(num_slots) {
  cfg_.tag_reserve = num_slots / 8;
}

uint8_t NarbModel::QueueOf(const NarbRequest& r) const {
  const uint8_t c = ClassOf(r.cls);
  if (c == kNarbDecode && (SessEmpty(r) || ModelEmpty(r))) {
    return kNarbNormal;
  }
  return c;
}

bool NarbModel::CanAccept(const NarbRequest& r) const { return q_[QueueOf(r)].size() < depth_; }

void NarbModel::Enqueue(const NarbRequest& r, uint64_t now_us) {
  const uint8_t q = QueueOf(r);
  if (ClassOf(r.cls) == kNarbDecode) {
    if (q == kNarbDecode) {
      // both buckets (those that are on) had a token: take one from each
      if (SessOn()) --tokens_[r.session % kNarbSessBuckets];
      if (ModelOn()) --mtokens_[r.model % kNarbModelBuckets];
    } else {
      // demoted: counted against each bucket that was empty
      if (SessEmpty(r)) ++cnt_.sess_demotions;
      if (ModelEmpty(r)) ++cnt_.model_demotions;
    }
  }
  q_[q].push_back(Entry{r, now_us, seq_++});
}

void NarbModel::SessionTick(uint64_t now_us) {
  auto tick = [&](bool on, uint32_t burst, uint64_t refill_us, auto& tokens, uint64_t& last) {
    if (!on) {
      tokens = {};
      last = now_us & time_mask_;
      return;
    }
    if (((now_us - last) & time_mask_) >= (refill_us & time_mask_)) {
      for (uint32_t& t : tokens) {
        t = t >= burst ? burst : t + 1;
      }
      last = now_us & time_mask_;
    }
  };
  tick(SessOn(), cfg_.sess_burst & 0xFF, cfg_.sess_refill_us, tokens_, refill_last_us_);
  tick(ModelOn(), cfg_.model_burst & 0xFF, cfg_.model_refill_us, mtokens_, mrefill_last_us_);
}

unsigned NarbModel::outstanding() const {
  return static_cast<unsigned>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.busy; }));
}

bool NarbModel::Eligible(unsigned c) const {
  if (q_[c].empty() || outstanding() >= nslots_) {
    return false;
  }
  if (c == kNarbDecode) {
    return true;
  }
  const unsigned reserve = std::min<unsigned>(cfg_.tag_reserve, nslots_ - 1);
  return nd_ < nslots_ - reserve;
}

uint64_t NarbModel::Age(unsigned c, uint64_t now) const {
  return (now - q_[c].front().enq_us) & time_mask_;
}

std::optional<NarbDispatch> NarbModel::Decide(uint64_t now_us) {
  std::array<bool, kNarbClasses> el{};
  std::array<bool, kNarbClasses> aged{};
  const std::array<uint64_t, kNarbClasses> deadline = {
      0, cfg_.prefetch_deadline_us & time_mask_, cfg_.write_deadline_us & time_mask_,
      cfg_.evict_deadline_us & time_mask_, cfg_.normal_deadline_us & time_mask_};
  // KAIRO decode protection: while decode is active (queued or in flight), the cap on
  // non-decode commands outstanding and the pacing of PREFILL / NORMAL / EVICT.
  const bool kairo = cfg_.mode == NarbMode::kKairo;
  const bool dec_active = !q_[kNarbDecode].empty() || outstanding() != nd_;
  const bool cap_ok = !dec_active || cfg_.nd_cap == 0 || nd_ < cfg_.nd_cap;
  const bool paced = kairo && dec_active && (cfg_.write_gap_us & time_mask_) != 0;
  const bool wturn = ((now_us - last_low_us_) & time_mask_) >= (cfg_.write_gap_us & time_mask_);
  bool cap_held = false;
  for (unsigned c = 0; c < kNarbClasses; ++c) {
    el[c] = Eligible(c);
    if (kairo && c != kNarbDecode && !cap_ok) {
      cap_held = cap_held || el[c];
      el[c] = false;
    }
    aged[c] = c != kNarbDecode && el[c] && Age(c, now_us) >= deadline[c];
  }
  const bool low_el = el[kNarbPrefill] || el[kNarbEvict] || el[kNarbNormal];
  const bool pace_held = paced && !wturn && low_el;
  last_elig_ = el;
  last_aged_ = aged;
  last_cap_held_ = cap_held;
  last_pace_held_ = pace_held;
  int grant = -1;
  NarbRule rule = NarbRule::kNone;

  switch (cfg_.mode) {
    case NarbMode::kFifo: {
      int oldest = -1;
      for (unsigned c = 0; c < kNarbClasses; ++c) {
        if (!q_[c].empty() && (oldest < 0 || q_[c].front().seq < q_[oldest].front().seq)) {
          oldest = static_cast<int>(c);
        }
      }
      if (oldest >= 0 && el[oldest]) {
        grant = oldest;
      }
      break;
    }
    case NarbMode::kRr:
      for (unsigned k = 1; k <= kNarbClasses && grant < 0; ++k) {
        const unsigned c = (rr_last_ + k) % kNarbClasses;
        if (el[c]) {
          grant = static_cast<int>(c);
        }
      }
      if (grant >= 0) {
        rr_last_ = static_cast<unsigned>(grant);
      }
      break;
    case NarbMode::kWrr: {
      if (el[kNarbDecode]) {
        grant = kNarbDecode;
        break;
      }
      const uint32_t w = (cfg_.wrr_weights >> (4 * (wrr_cur_ - 1))) & 0xF;
      if (el[wrr_cur_] && wrr_used_ < w) {
        grant = static_cast<int>(wrr_cur_);
        ++wrr_used_;
        break;
      }
      for (unsigned k = 1; k <= 4 && grant < 0; ++k) {
        const unsigned c = 1 + (wrr_cur_ - 1 + k) % 4;
        if (el[c]) {
          grant = static_cast<int>(c);
        }
      }
      if (grant >= 0) {
        wrr_cur_ = static_cast<unsigned>(grant);
        wrr_used_ = 1;
      }
      break;
    }
    case NarbMode::kKairo: {
      const bool adaptive = cfg_.ctrl_mode >= 2;
      const bool dec_ok = dec_used_ < (adaptive ? eff_dec_ : cfg_.decode_budget);
      const bool pf_ok = pf_used_ < (adaptive ? eff_pf_ : cfg_.prefetch_budget);
      struct R {
        bool cond;
        unsigned cls;
        NarbRule rule;
      };
      const R rules[] = {
          {aged[kNarbPrefill], kNarbPrefill, NarbRule::kAgedPrefill},
          {aged[kNarbPrefetch], kNarbPrefetch, NarbRule::kAgedPrefetch},
          {aged[kNarbNormal], kNarbNormal, NarbRule::kAgedNormal},
          {aged[kNarbEvict], kNarbEvict, NarbRule::kAgedEvict},
          {el[kNarbDecode] && dec_ok, kNarbDecode, NarbRule::kDecode},
          {paced && wturn && el[kNarbPrefill], kNarbPrefill, NarbRule::kWriteTurn},
          {paced && wturn && el[kNarbNormal], kNarbNormal, NarbRule::kWriteTurn},
          {paced && wturn && el[kNarbEvict], kNarbEvict, NarbRule::kWriteTurn},
          {el[kNarbPrefetch] && pf_ok, kNarbPrefetch, NarbRule::kPrefetch},
          {!paced && el[kNarbPrefill], kNarbPrefill, NarbRule::kPrefill},
          {!paced && el[kNarbNormal], kNarbNormal, NarbRule::kNormal},
          {!paced && el[kNarbEvict], kNarbEvict, NarbRule::kEvict},
          {el[kNarbDecode], kNarbDecode, NarbRule::kDecodeOver},
          {el[kNarbPrefetch], kNarbPrefetch, NarbRule::kPrefetchOver},
      };
      for (const R& r : rules) {
        if (r.cond) {
          grant = static_cast<int>(r.cls);
          rule = r.rule;
          break;
        }
      }
      if (grant < 0) {
        break;
      }
      const bool hi_waiting = el[kNarbDecode] || el[kNarbPrefetch];
      switch (rule) {
        case NarbRule::kAgedPrefill:
        case NarbRule::kAgedNormal:
        case NarbRule::kAgedEvict:
          cnt_.starvation_escapes += hi_waiting ? 1 : 0;
          break;
        case NarbRule::kAgedPrefetch:
          ++cnt_.prefetch_deadline_hits;
          break;
        default:
          break;
      }
      const bool low = rule == NarbRule::kPrefill || rule == NarbRule::kNormal ||
                       rule == NarbRule::kEvict || rule == NarbRule::kWriteTurn;
      const bool mid = low || rule == NarbRule::kPrefetch;
      if (rule == NarbRule::kWriteTurn) {
        ++cnt_.write_turns;
      }
      if (grant == kNarbDecode || grant == kNarbPrefetch) {
        cnt_.pace_holds += pace_held ? 1 : 0;
      }
      if (grant == kNarbDecode) {
        cnt_.cap_holds += cap_held ? 1 : 0;
      }
      if (el[kNarbDecode] && !dec_ok && mid) {
        ++cnt_.decode_budget_skips;
      }
      if (el[kNarbPrefetch] && !aged[kNarbPrefetch] && !pf_ok && low) {
        ++cnt_.prefetch_budget_skips;
      }
      if (grant == kNarbDecode || grant == kNarbPrefetch) {
        cnt_.prefill_demotions += q_[kNarbPrefill].empty() ? 0 : 1;
        cnt_.evict_demotions += q_[kNarbEvict].empty() ? 0 : 1;
      }
      if (grant == kNarbDecode) {
        dec_used_ = SatInc(dec_used_);
        pf_used_ = 0;
      } else if (grant == kNarbPrefetch) {
        pf_used_ = SatInc(pf_used_);
        dec_used_ = 0;
      } else {
        dec_used_ = 0;
        pf_used_ = 0;
      }
      break;
    }
  }
  if (grant < 0) {
    return std::nullopt;
  }
  if (grant >= static_cast<int>(kNarbPrefill)) {
    last_low_us_ = now_us & time_mask_;
  }
  NarbDispatch d;
  std::deque<Entry>& q = q_[grant];
  const Entry e = q.front();
  q.pop_front();
  d.req = e.req;
  d.nblocks = e.req.nblocks;
  if (grant != kNarbDecode && ((cfg_.merge_classes >> (grant - 1)) & 1) != 0 && !q.empty()) {
    const NarbRequest& n = q.front().req;
    if (e.req.mergeable && n.mergeable && n.opcode == e.req.opcode &&
        n.lba == e.req.lba + e.req.nblocks &&
        uint32_t{e.req.nblocks} + n.nblocks <= (cfg_.merge_max_blocks & 0xFFFF)) {
      d.second = n;
      d.nblocks += n.nblocks;
      q.pop_front();
      ++cnt_.coalesced;
    }
  }
  d.cls = static_cast<uint8_t>(grant);
  d.enq_us = e.enq_us;
  d.rule = rule;
  for (uint32_t s = 0; s < nslots_; ++s) {
    if (!slots_[s].busy) {
      d.slot = s;
      break;
    }
  }
  slots_[d.slot] = Slot{true, d.cls, e.enq_us};
  nd_ += d.cls == kNarbDecode ? 0 : 1;
  ++cnt_.disp[d.cls];
  return d;
}

bool NarbModel::Complete(uint32_t slot, uint16_t status, uint64_t now_us) {
  if (slot >= nslots_ || !slots_[slot].busy) {
    ++cnt_.cpl_errors;
    return false;
  }
  if (status != 0) {
    ++cnt_.cpl_errors;
  }
  Slot& s = slots_[slot];
  if (s.cls == kNarbDecode) {
    const uint64_t lat = (now_us - s.enq_us) & time_mask_;
    const unsigned f = NarbFineBucket(lat);
    ++cnt_.hist[NarbHistBucket(lat)];
    ++cnt_.hist_fine[f];
    // The window stops counting when its sample count saturates (65,535): its buckets then
    // always sum to the sample count.
    if (cfg_.ctrl_mode != 0 && win_n_ < 0xFFFF) {
      ++win_hist_[f];
      ++win_n_;
    }
  } else {
    --nd_;
  }
  s.busy = false;
  return true;
}

void NarbModel::ControlTick(uint64_t now_us) {
  const bool adaptive = cfg_.ctrl_mode >= 2;
  const bool end = cfg_.ctrl_mode != 0 &&
                   ((now_us - win_start_) & time_mask_) >= (cfg_.ctrl_window_us & time_mask_);
  if (end) {
    ++cnt_.ctrl_updates;
    if (win_n_ >= cfg_.ctrl_min_samples) {
      unsigned b = 0;
      uint64_t cum = win_hist_[0];
      while (b < kNarbFineBuckets - 1 && cum * 100 < static_cast<uint64_t>(win_n_) * 99) {
        ++b;
        cum += win_hist_[b];
      }
      p99_fine_ = b;
      // The Kairo bucket that holds fine bucket b (its upper edge is in it).
      p99_bucket_ = b == kNarbFineBuckets - 1 ? kNarbHistBuckets - 1 : NarbHistBucket(kNarbFineEdges[b]);
      if (adaptive) {
        const bool over =
            b == kNarbFineBuckets - 1 || kNarbFineEdges[b] > (cfg_.target_p99_us & time_mask_);
        if (over) {
          ++cnt_.ctrl_boosts;
          const uint32_t cap = cfg_.ctrl_max_decode_budget;
          eff_dec_ = eff_dec_ + 2 <= cap ? eff_dec_ + 2 : std::max(eff_dec_, cap);
          eff_pf_ = eff_pf_ >= 3 ? eff_pf_ - 2 : 1;
        } else {
          ++cnt_.ctrl_relaxes;
          eff_dec_ = eff_dec_ > cfg_.decode_budget
                         ? eff_dec_ - 1
                         : (eff_dec_ < cfg_.decode_budget ? eff_dec_ + 1 : eff_dec_);
          eff_pf_ = eff_pf_ > cfg_.prefetch_budget
                        ? eff_pf_ - 1
                        : (eff_pf_ < cfg_.prefetch_budget ? eff_pf_ + 1 : eff_pf_);
        }
      }
    } else {
      ++cnt_.ctrl_insufficient;
    }
  }
  if (end || cfg_.ctrl_mode == 0) {
    win_start_ = now_us & time_mask_;
    win_hist_ = {};
    win_n_ = 0;
  }
  if (!adaptive) {
    eff_dec_ = cfg_.decode_budget;
    eff_pf_ = cfg_.prefetch_budget;
  }
}

}  // namespace kvcpu::model
