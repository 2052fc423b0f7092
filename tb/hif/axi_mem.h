// AXI4 host-memory slave model for the hif testbench: sparse 64-bit-word memory, random
// AR/AW/W ready backpressure, random R/B latency and R beat gaps, SLVERR/DECERR injected on
// chosen read lines (whole burst) and write lines (data still stored, response SLVERR).
// Checks the master's side of the protocol: valid/payload held until ready, INCR bursts of
// the expected shape, full strobes, wlast on the last beat only.
//
// Per cycle: drive(dut) before settle(), then observe(dut, cycle) after settle().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace kvcpu::tb {

struct AxiJitter {
  double p_ready = 1.0;  // probability AR/AW/W ready is high in a cycle
  unsigned max_lat = 0;  // R/B first-beat latency, uniform 0..max_lat cycles
  double p_gap = 0.0;    // probability of an idle cycle between R beats
};

template <class Dut>
class AxiMem {
 public:
  explicit AxiMem(std::mt19937_64& rng) : rng_(rng) {}

  void set_jitter(const AxiJitter& j) { j_ = j; }
  // Write bursts the master may have outstanding (AW accepted, B not yet taken); AW beyond
  // that is a protocol failure. Bursts are served in AW order.
  void set_max_writes(unsigned n) { max_writes_ = n; }
  uint64_t read64(uint64_t a) const {
    auto it = mem_.find(a >> 3);
    return it == mem_.end() ? 0 : it->second;
  }
  void write64(uint64_t a, uint64_t v) { mem_[a >> 3] = v; }
  uint8_t read8(uint64_t a) const { return static_cast<uint8_t>(read64(a) >> (8 * (a & 7))); }
  void write8(uint64_t a, uint8_t v) {
    uint64_t w = read64(a);
    w &= ~(0xFFull << (8 * (a & 7)));
    w |= static_cast<uint64_t>(v) << (8 * (a & 7));
    write64(a, w);
  }

  // A read burst touching a 64-byte line in rd_err_lines answers every beat with SLVERR or
  // DECERR (random data); a write burst touching a 16-byte line in wr_err_lines gets SLVERR
  // (its data is still stored, so that a testbench can see what the device sent).
  std::set<uint64_t>& rd_err_lines() { return rd_err_; }  // 64-byte line addresses
  // A read beat of an 8-byte word in rd_err_words alone answers SLVERR (odd word: DECERR),
  // random data; the other beats of its burst are OKAY (mid-burst errors; the rd_err_*
  // counters below count line errors only).
  std::set<uint64_t>& rd_err_words() { return rd_err_w_; }
  std::set<uint64_t>& wr_err_lines() { return wr_err_; }  // 16-byte line addresses
  // Called once per committed write burst (start address, beats), before it is stored.
  std::function<void(uint64_t, unsigned)> on_write;

  uint64_t rd_err_sent = 0, rd_err_slverr = 0, rd_err_decerr = 0, wr_err_sent = 0;
  uint64_t ar_stalls = 0, aw_stalls = 0, w_stalls = 0, r_bursts = 0, w_bursts = 0;
  const std::string& error() const { return err_; }
  bool idle() const { return rq_.empty() && !r_valid_ && awq_.empty() && bq_.empty() && !b_valid_; }

  void reset() {
    rq_.clear();
    awq_.clear();
    wbeats_.clear();
    bq_.clear();
    r_valid_ = b_valid_ = false;
    prev_ar_ = prev_aw_ = prev_w_ = false;
  }

  void drive(Dut& d, uint64_t cycle) {
    std::bernoulli_distribution rdy(j_.p_ready), gap(j_.p_gap);
    d.m_axi_arready_i = rdy(rng_);
    d.m_axi_awready_i = rdy(rng_);
    d.m_axi_wready_i = rdy(rng_);
    if (!r_valid_ && !rq_.empty() && rq_.front().ready_at <= cycle && !gap(rng_)) {
      RBurst& b = rq_.front();
      r_valid_ = true;
      const uint64_t ba = b.addr + 8ull * b.beat;
      const bool werr = !b.err && rd_err_w_.count(ba) != 0;
      r_data_ = (b.err || werr) ? rng_() : read64(ba);
      r_resp_ = b.err ? b.resp : werr ? static_cast<uint8_t>(((ba >> 3) & 1) ? 3 : 2) : 0;
      r_last_ = b.beat == b.len;
    }
    d.m_axi_rvalid_i = r_valid_;
    d.m_axi_rdata_i = r_data_;
    d.m_axi_rresp_i = r_resp_;
    d.m_axi_rlast_i = r_last_;
    if (!b_valid_ && !bq_.empty() && bq_.front().ready_at <= cycle) {
      b_valid_ = true;
      b_resp_ = bq_.front().resp;
      bq_.pop_front();
    }
    d.m_axi_bvalid_i = b_valid_;
    d.m_axi_bresp_i = b_resp_;
  }

  void observe(Dut& d, uint64_t cycle) {
    std::uniform_int_distribution<unsigned> lat(0, j_.max_lat);
    // hold rules (the RTL asserts them too)
    if (prev_ar_ && !(d.m_axi_arvalid_o && d.m_axi_araddr_o == prev_araddr_)) fail("AR dropped or changed before arready");
    if (prev_aw_ && !(d.m_axi_awvalid_o && d.m_axi_awaddr_o == prev_awaddr_)) fail("AW dropped or changed before awready");
    if (prev_w_ && !(d.m_axi_wvalid_o && d.m_axi_wdata_o == prev_wdata_ && d.m_axi_wlast_o == prev_wlast_)) {
      fail("W dropped or changed before wready");
    }
    prev_ar_ = d.m_axi_arvalid_o && !d.m_axi_arready_i;
    prev_araddr_ = d.m_axi_araddr_o;
    prev_aw_ = d.m_axi_awvalid_o && !d.m_axi_awready_i;
    prev_awaddr_ = d.m_axi_awaddr_o;
    prev_w_ = d.m_axi_wvalid_o && !d.m_axi_wready_i;
    prev_wdata_ = d.m_axi_wdata_o;
    prev_wlast_ = d.m_axi_wlast_o;
    ar_stalls += prev_ar_;
    aw_stalls += prev_aw_;
    w_stalls += prev_w_;

    if (d.m_axi_arvalid_o && d.m_axi_arready_i) {
      const uint64_t a = d.m_axi_araddr_o;
      const unsigned len = d.m_axi_arlen_o;
      check_burst("AR", a, len, d.m_axi_arsize_o, d.m_axi_arburst_o);
      if (!rq_.empty() || r_valid_) fail("second read burst outstanding");
      bool err = false;
      for (unsigned i = 0; i <= len; ++i) err = err || rd_err_.count((a + 8ull * i) & ~63ull) != 0;
      RBurst b{a, len, 0, cycle + 1 + lat(rng_), err, 0};
      if (b.err) {
        b.resp = (rng_() & 1) ? 2 : 3;
        ++rd_err_sent;
        ++(b.resp == 2 ? rd_err_slverr : rd_err_decerr);
      }
      rq_.push_back(b);
      ++r_bursts;
    }
    if (r_valid_ && d.m_axi_rready_o) {
      r_valid_ = false;
      RBurst& b = rq_.front();
      if (++b.beat > b.len) {
        rq_.pop_front();
      }
    }
    if (d.m_axi_awvalid_o && d.m_axi_awready_i) {
      check_burst("AW", d.m_axi_awaddr_o, d.m_axi_awlen_o, d.m_axi_awsize_o, d.m_axi_awburst_o);
      if (awq_.size() + bq_.size() + (b_valid_ ? 1 : 0) >= max_writes_) {
        fail("more than " + std::to_string(max_writes_) + " write bursts outstanding");
      }
      awq_.push_back({d.m_axi_awaddr_o, static_cast<unsigned>(d.m_axi_awlen_o)});
    }
    if (d.m_axi_wvalid_o && d.m_axi_wready_i) {
      if (awq_.empty()) fail("write data before its address");
      if (d.m_axi_wstrb_o != 0xFF) fail("partial write strobe");
      wbeats_.push_back(d.m_axi_wdata_o);
      const unsigned want = awq_.empty() ? 1 : awq_.front().second + 1;
      if (d.m_axi_wlast_o != (wbeats_.size() == want)) fail("wlast on the wrong beat");
      if (wbeats_.size() == want && !awq_.empty()) {
        const uint64_t a = awq_.front().first;
        awq_.pop_front();
        if (on_write) on_write(a, want);
        bool err = false;
        for (unsigned i = 0; i < want; ++i) {
          write64(a + 8ull * i, wbeats_[i]);
          err = err || wr_err_.count((a + 8ull * i) & ~15ull) != 0;
        }
        wbeats_.clear();
        wr_err_sent += err;
        bq_.push_back(BResp{cycle + 1 + lat(rng_), static_cast<uint8_t>(err ? 2 : 0)});
        ++w_bursts;
      }
    }
    if (b_valid_ && d.m_axi_bready_o) {
      b_valid_ = false;
    }
  }

 private:
  struct RBurst {
    uint64_t addr;
    unsigned len, beat;
    uint64_t ready_at;
    bool err;
    uint8_t resp;
  };
  struct BResp {
    uint64_t ready_at;
    uint8_t resp;
  };
  void fail(const std::string& s) {
    if (err_.empty()) err_ = s;
  }
  // What every burst must be: 8-byte INCR beats, aligned, inside one 4 KiB page.
  void check_burst(const char* ch, uint64_t a, unsigned len, unsigned size, unsigned burst) {
    if (size != 3 || burst != 1 || (a & 7)) fail(std::string("bad ") + ch + " burst (size/type/alignment)");
    if ((a >> 12) != ((a + 8ull * len) >> 12)) fail(std::string(ch) + " burst crosses a 4 KiB boundary");
  }

  std::mt19937_64& rng_;
  std::string err_;
  AxiJitter j_;
  std::unordered_map<uint64_t, uint64_t> mem_;
  std::set<uint64_t> rd_err_, wr_err_, rd_err_w_;
  std::deque<RBurst> rq_;
  std::deque<std::pair<uint64_t, unsigned>> awq_;  // address, awlen
  std::deque<uint64_t> wbeats_;
  std::deque<BResp> bq_;
  bool r_valid_ = false, r_last_ = false, b_valid_ = false;
  uint64_t r_data_ = 0;
  uint8_t r_resp_ = 0, b_resp_ = 0;
  bool prev_ar_ = false, prev_aw_ = false, prev_w_ = false, prev_wlast_ = false;
  unsigned max_writes_ = 1;
  uint64_t prev_araddr_ = 0, prev_awaddr_ = 0, prev_wdata_ = 0;
};

}  // namespace kvcpu::tb
