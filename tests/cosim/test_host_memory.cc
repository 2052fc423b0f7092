// HostMemory (the MEM_MAP region table) and AxiHostSlave (the AXI4 slave serving the
// device's host-memory port), without the device model: a tiny C++ AXI master drives the
// slave's signals cycle by cycle and checks every beat against an independent reference
// (a shadow copy of each region and its own bounds rule), then the memfds themselves.
//
// Random stimulus takes --seed=N (or KVCPU_SEED) and prints the seed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <ostream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "axi_host_slave.h"
#include "host_memory.h"
#include "kvcpu_proto.h"

namespace kvcpu::cosim {
namespace {

uint64_t test_seed() {
  static const uint64_t seed = []() -> uint64_t {
    const char* s = std::getenv("KVCPU_SEED");
    if (s != nullptr && *s != '\0' && std::string_view(s) != "random") {
      return std::strtoull(s, nullptr, 0);
    }
    return static_cast<uint64_t>(std::random_device{}());
  }();
  return seed;
}

// A memfd of `size` bytes (sealable unless told otherwise); closed on destruction.
class Memfd {
 public:
  explicit Memfd(uint64_t size, unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING) {
    fd_ = ::memfd_create("kvcpu-test", flags);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::ftruncate(fd_, static_cast<off_t>(size)), 0);
  }
  ~Memfd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Memfd(const Memfd&) = delete;
  Memfd& operator=(const Memfd&) = delete;
  int fd() const { return fd_; }
  std::vector<uint8_t> contents(uint64_t off, uint64_t len) const {
    std::vector<uint8_t> v(len);
    EXPECT_EQ(::pread(fd_, v.data(), len, static_cast<off_t>(off)), static_cast<ssize_t>(len));
    return v;
  }
  void fill(uint64_t off, const std::vector<uint8_t>& v) {
    EXPECT_EQ(::pwrite(fd_, v.data(), v.size(), static_cast<off_t>(off)),
              static_cast<ssize_t>(v.size()));
  }

 private:
  int fd_ = -1;
};

// --- region table ---

TEST(HostMemory, MapTranslateUnmap) {
  Memfd f(0x3000);
  HostMemory m;
  ASSERT_EQ(m.map(f.fd(), 0x100000, 0x2000, 0x1000), std::nullopt);
  EXPECT_EQ(m.region_count(), 1u);
  f.fill(0x1000, {1, 2, 3, 4});
  uint32_t v = 0;
  ASSERT_TRUE(m.read(0x100000, &v, 4));
  EXPECT_EQ(v, 0x04030201u);
  v = 0xCAFEF00D;
  ASSERT_TRUE(m.write(0x101FFC, &v, 4));  // the last 4 bytes
  EXPECT_EQ(f.contents(0x2FFC, 4), (std::vector<uint8_t>{0x0D, 0xF0, 0xFE, 0xCA}));
  EXPECT_FALSE(m.write(0x101FFD, &v, 4));  // one byte past the end
  EXPECT_FALSE(m.read(0xFFFFC, &v, 8));    // straddles the start
  EXPECT_EQ(m.translate(0x100000, 0), nullptr);
  EXPECT_EQ(m.translate(UINT64_MAX, 2), nullptr);
  EXPECT_NE(m.unmap(0x101000), std::nullopt);  // not a base
  ASSERT_EQ(m.unmap(0x100000), std::nullopt);
  EXPECT_EQ(m.region_count(), 0u);
  EXPECT_FALSE(m.read(0x100000, &v, 4));
  EXPECT_NE(m.unmap(0x100000), std::nullopt);
  // The same range maps again.
  ASSERT_EQ(m.map(f.fd(), 0x100000, 0x3000, 0), std::nullopt);
}

TEST(HostMemory, RefusesBadMappingsAndChangesNothing) {
  Memfd f(0x4000);
  HostMemory m;
  ASSERT_EQ(m.map(f.fd(), 0x10000, 0x2000, 0), std::nullopt);
  struct Case {
    uint64_t iova, size, off;
    const char* what;
  };
  for (const Case& c : {Case{0x20000, 0, 0, "zero"}, Case{0x20001, 0x1000, 0, "multiples"},
                        Case{0x20000, 0x1001, 0, "multiples"}, Case{0x20000, 0x1000, 0x10, "multiples"},
                        Case{0xFFFFFFFFFFFFF000ull, 0x2000, 0, "overflows"},
                        Case{0x11000, 0x2000, 0, "overlaps"}, Case{0xF000, 0x2000, 0, "overlaps"},
                        Case{0x20000, 0x5000, 0, "beyond the file"},
                        Case{0x20000, 0x1000, 0x4000, "beyond the file"},
                        Case{0x20000, 0x1000, 0xFFFFFFFFFFFFF000ull, "beyond the file"}}) {
    auto e = m.map(f.fd(), c.iova, c.size, c.off);
    ASSERT_TRUE(e.has_value()) << c.what;
    EXPECT_NE(e->find(c.what), std::string::npos) << *e;
  }
  EXPECT_EQ(m.region_count(), 1u);
  // Not a regular file.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  auto e = m.map(p[0], 0x20000, 0x1000, 0);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->find("regular file"), std::string::npos) << *e;
  ::close(p[0]);
  ::close(p[1]);
  // A memfd that cannot be sealed against shrinking.
  Memfd unsealable(0x1000, MFD_CLOEXEC);
  e = m.map(unsealable.fd(), 0x20000, 0x1000, 0);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->find("F_SEAL_SHRINK"), std::string::npos) << *e;
  // mmap failure: a write-sealed memfd cannot be mapped shared and writable.
  Memfd sealed(0x1000);
  ASSERT_EQ(::fcntl(sealed.fd(), F_ADD_SEALS, F_SEAL_WRITE), 0);
  e = m.map(sealed.fd(), 0x20000, 0x1000, 0);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->find("mmap failed"), std::string::npos) << *e;
  EXPECT_EQ(m.region_count(), 1u);
  // A mapped file can no longer shrink (it would crash the server on the next access).
  EXPECT_NE(::ftruncate(f.fd(), 0x1000), 0);
}

TEST(HostMemory, AtMost64Regions) {
  Memfd f(0x1000);
  HostMemory m;
  for (uint64_t i = 0; i < proto::kMaxRegions; ++i) {
    ASSERT_EQ(m.map(f.fd(), 0x1000 * (2 * i + 1), 0x1000, 0), std::nullopt) << i;
  }
  auto e = m.map(f.fd(), 0x1000'0000, 0x1000, 0);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->find("too many"), std::string::npos) << *e;
  ASSERT_EQ(m.unmap(0x1000), std::nullopt);
  EXPECT_EQ(m.map(f.fd(), 0x1000'0000, 0x1000, 0), std::nullopt);
}

// --- AXI slave ---

// The reference's own view of the regions: base, size, shadow bytes, backing memfd.
struct RefRegion {
  uint64_t iova;
  uint64_t size;
  std::vector<uint8_t> shadow;
  Memfd* file;
};

struct Op {
  bool write = false;
  uint64_t addr = 0;
  unsigned beats = 1;
  uint8_t size = 3;
  uint8_t burst = 1;
  std::vector<uint64_t> data;  // writes
  std::vector<uint8_t> strb;
  bool ok = false;  // the reference's verdict
};

class Bench {
 public:
  Bench(AxiSlaveOptions o, uint64_t seed) : rng_(seed) {
    regions_.push_back({0x10000, 0x4000, {}, &f0_});
    regions_.push_back({0x14000, 0x2000, {}, &f1_});  // adjacent: a burst across is refused
    regions_.push_back({0x40000, 0x1000, {}, &f2_});
    for (auto& r : regions_) {
      r.shadow.resize(r.size);
      for (auto& b : r.shadow) {
        b = static_cast<uint8_t>(rng_());
      }
      r.file->fill(0, r.shadow);
      EXPECT_EQ(mem_.map(r.file->fd(), r.iova, r.size, 0), std::nullopt);
    }
    slave_.emplace(mem_, o);
  }

  bool inside_one(uint64_t addr, uint64_t len) const {
    for (const auto& r : regions_) {
      if (addr >= r.iova && addr - r.iova <= r.size && len <= r.size - (addr - r.iova)) {
        return true;
      }
    }
    return false;
  }
  uint8_t* shadow(uint64_t addr) {
    for (auto& r : regions_) {
      if (addr >= r.iova && addr < r.iova + r.size) {
        return &r.shadow[addr - r.iova];
      }
    }
    return nullptr;
  }

  Op random_op() {
    Op op;
    op.write = rng_() % 2;
    const uint64_t bases[] = {0x10000, 0x14000, 0x16000, 0x40000, 0x41000, 0x0, 0x30000};
    const uint64_t base = bases[rng_() % std::size(bases)];
    op.addr = base + 8 * (static_cast<int64_t>(rng_() % 64) - 32);
    op.beats = rng_() % 8 == 0 ? 1 + rng_() % 256 : 1 + rng_() % 16;
    if (rng_() % 20 == 0) {
      op.size = 2;  // not 8-byte beats
    } else if (rng_() % 20 == 0) {
      op.burst = 0;  // FIXED
    } else if (rng_() % 20 == 0) {
      op.addr += 4;  // unaligned
    }
    for (unsigned i = 0; i < op.beats; ++i) {
      op.data.push_back(rng_());
      op.strb.push_back(rng_() % 4 == 0 ? static_cast<uint8_t>(rng_()) : 0xFF);
    }
    op.ok = op.size == 3 && op.burst == 1 && op.addr % 8 == 0 &&
            inside_one(op.addr, uint64_t{op.beats} * 8);
    return op;
  }

  // Runs `n` random operations with both directions in flight, random valid delays and
  // ready backpressure on the master's side. Returns after every response came back.
  void run(int n) {
    std::deque<Op> ar_todo, aw_todo;
    for (int i = 0; i < n; ++i) {
      Op op = random_op();
      expect_refused_ += op.ok ? 0 : 1;
      (op.write ? aw_todo : ar_todo).push_back(std::move(op));
    }
    std::deque<Op> r_expect, w_todo, b_expect;
    unsigned r_beat = 0, w_beat = 0;
    std::optional<uint64_t> r_expected_data;  // the beat on offer, as the reference saw it
    AxiMasterSignals in;
    uint64_t cycles = 0;
    auto coin = [&](unsigned pct) { return rng_() % 100 < pct; };
    while (!(ar_todo.empty() && aw_todo.empty() && r_expect.empty() && w_todo.empty() &&
             b_expect.empty())) {
      ASSERT_LT(++cycles, 2'000'000u) << "the slave stopped making progress";
      // Master drives (valid held until the handshake, payload stable).
      if (!in.arvalid && !ar_todo.empty() && coin(60)) {
        const Op& op = ar_todo.front();
        in.arvalid = true;
        in.araddr = op.addr;
        in.arlen = static_cast<uint8_t>(op.beats - 1);
        in.arsize = op.size;
        in.arburst = op.burst;
      }
      if (!in.awvalid && !aw_todo.empty() && coin(60)) {
        const Op& op = aw_todo.front();
        in.awvalid = true;
        in.awaddr = op.addr;
        in.awlen = static_cast<uint8_t>(op.beats - 1);
        in.awsize = op.size;
        in.awburst = op.burst;
      }
      if (!in.wvalid && !w_todo.empty() && coin(70)) {
        const Op& op = w_todo.front();
        in.wvalid = true;
        in.wdata = op.data[w_beat];
        in.wstrb = op.strb[w_beat];
        in.wlast = w_beat + 1 == op.beats;
      }
      in.rready = coin(70);
      in.bready = coin(70);

      const AxiSlaveSignals out = slave_->outputs();
      // The slave's outputs are stable while unaccepted (checked against last cycle).
      if (r_pending_) {
        ASSERT_TRUE(out.rvalid);
        ASSERT_EQ(out.rdata, last_out_.rdata);
        ASSERT_EQ(out.rresp, last_out_.rresp);
      }
      if (b_pending_) {
        ASSERT_TRUE(out.bvalid);
        ASSERT_EQ(out.bresp, last_out_.bresp);
      }
      if (out.rvalid && !r_expected_data) {  // a new beat went on offer: reference now
        ASSERT_FALSE(r_expect.empty()) << "R beat without an accepted AR";
        const Op& op = r_expect.front();
        uint64_t v = 0;
        if (op.ok) {
          for (unsigned k = 0; k < 8; ++k) {
            v |= uint64_t{*shadow(op.addr + 8 * r_beat + k)} << (8 * k);
          }
        }
        r_expected_data = v;
      }
      ASSERT_FALSE(out.bvalid && b_expect.empty()) << "B without a completed write burst";

      const bool ar_fire = in.arvalid && out.arready;
      const bool aw_fire = in.awvalid && out.awready;
      const bool w_fire = in.wvalid && out.wready;
      const bool r_fire = out.rvalid && in.rready;
      const bool b_fire = out.bvalid && in.bready;
      slave_->clock(in);
      r_pending_ = out.rvalid && !in.rready;
      b_pending_ = out.bvalid && !in.bready;
      last_out_ = out;

      if (ar_fire) {
        r_expect.push_back(std::move(ar_todo.front()));
        ar_todo.pop_front();
        in.arvalid = false;
      }
      if (aw_fire) {
        w_todo.push_back(std::move(aw_todo.front()));
        aw_todo.pop_front();
        in.awvalid = false;
      }
      if (r_fire) {
        const Op& op = r_expect.front();
        ASSERT_EQ(out.rresp, op.ok ? 0 : 2) << "read 0x" << std::hex << op.addr;
        ASSERT_EQ(out.rdata, *r_expected_data) << "read 0x" << std::hex << op.addr << " beat "
                                               << std::dec << r_beat;
        ASSERT_EQ(out.rlast, r_beat + 1 == op.beats);
        expect_read_bytes_ += op.ok ? 8 : 0;
        r_expected_data.reset();
        if (++r_beat == op.beats) {
          r_beat = 0;
          r_expect.pop_front();
        }
      }
      if (w_fire) {
        in.wvalid = false;
        if (++w_beat == w_todo.front().beats) {
          // The slave committed the burst in this clock: so does the reference.
          Op& op = w_todo.front();
          if (op.ok) {
            for (unsigned i = 0; i < op.beats; ++i) {
              for (unsigned k = 0; k < 8; ++k) {
                if ((op.strb[i] >> k) & 1) {
                  *shadow(op.addr + 8 * i + k) = static_cast<uint8_t>(op.data[i] >> (8 * k));
                  ++expect_write_bytes_;
                }
              }
            }
          }
          w_beat = 0;
          b_expect.push_back(std::move(op));
          w_todo.pop_front();
        }
      }
      if (b_fire) {
        ASSERT_EQ(out.bresp, b_expect.front().ok ? 0 : 2);
        b_expect.pop_front();
      }
    }
    EXPECT_TRUE(slave_->idle());
  }

  void check_memory() {
    for (auto& r : regions_) {
      EXPECT_EQ(r.file->contents(0, r.size), r.shadow) << "region 0x" << std::hex << r.iova;
    }
    EXPECT_EQ(slave_->read_bytes(), expect_read_bytes_);
    EXPECT_EQ(slave_->write_bytes(), expect_write_bytes_);
    EXPECT_EQ(slave_->refused(), expect_refused_);
    EXPECT_EQ(slave_->protocol_error(), "");
  }

  AxiHostSlave& slave() { return *slave_; }
  HostMemory& mem() { return mem_; }

 private:
  std::mt19937_64 rng_;
  Memfd f0_{0x4000}, f1_{0x2000}, f2_{0x1000};
  std::vector<RefRegion> regions_;
  HostMemory mem_;
  std::optional<AxiHostSlave> slave_;
  bool r_pending_ = false, b_pending_ = false;
  AxiSlaveSignals last_out_;
  uint64_t expect_read_bytes_ = 0, expect_write_bytes_ = 0, expect_refused_ = 0;
};

struct SlaveConfig {
  const char* name;
  AxiSlaveOptions options;
};

void PrintTo(const SlaveConfig& c, std::ostream* os) { *os << c.name; }

class AxiSlaveRandom : public ::testing::TestWithParam<SlaveConfig> {};

TEST_P(AxiSlaveRandom, EveryBeatMatchesTheReference) {
  const uint64_t seed = test_seed() ^ std::hash<std::string>{}(GetParam().name);
  std::printf("[axi_host_slave %s] seed=%llu (rerun with KVCPU_SEED=%llu)\n", GetParam().name,
              static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(test_seed()));
  AxiSlaveOptions o = GetParam().options;
  o.seed = seed;
  Bench b(o, seed);
  b.run(400);
  b.check_memory();
}

INSTANTIATE_TEST_SUITE_P(
    Configs, AxiSlaveRandom,
    ::testing::Values(SlaveConfig{"fast", {0, 0, 0.0, 4, 1}},
                      SlaveConfig{"latency", {7, 5, 0.0, 2, 1}},
                      SlaveConfig{"stalls", {2, 3, 0.4, 4, 1}},
                      SlaveConfig{"single", {0, 0, 0.2, 1, 1}}),
    [](const ::testing::TestParamInfo<SlaveConfig>& p) { return std::string(p.param.name); });

TEST(AxiSlave, FastByDefaultOneBeatPerCycle) {
  Memfd f(0x1000);
  HostMemory mem;
  ASSERT_EQ(mem.map(f.fd(), 0x8000, 0x1000, 0), std::nullopt);
  AxiHostSlave s(mem);
  AxiMasterSignals in;
  EXPECT_TRUE(s.outputs().arready);
  in.arvalid = true;
  in.araddr = 0x8000;
  in.arlen = 3;
  in.arsize = 3;
  in.arburst = 1;
  in.rready = true;
  s.clock(in);  // AR accepted
  in.arvalid = false;
  for (unsigned beat = 0; beat < 4; ++beat) {
    const AxiSlaveSignals o = s.outputs();
    ASSERT_TRUE(o.rvalid) << beat;
    EXPECT_EQ(o.rresp, 0);
    EXPECT_EQ(o.rlast, beat == 3);
    s.clock(in);
  }
  EXPECT_FALSE(s.outputs().rvalid);
  EXPECT_TRUE(s.idle());
  EXPECT_EQ(s.read_bytes(), 32u);
}

TEST(AxiSlave, ReportsMasterProtocolViolations) {
  HostMemory mem;
  AxiHostSlave s(mem, {0, 0, 0.0, 1, 1});
  AxiMasterSignals in;
  in.awvalid = true;  // fills the single write slot
  in.awaddr = 0x1000;
  in.awlen = 0;
  in.awsize = 3;
  in.awburst = 1;
  s.clock(in);
  in.awaddr = 0x2000;
  ASSERT_FALSE(s.outputs().awready);  // one burst outstanding: the next AW waits
  s.clock(in);
  in.awaddr = 0x3000;  // changed while waiting
  s.clock(in);
  EXPECT_NE(s.protocol_error().find("AW changed"), std::string::npos) << s.protocol_error();
}

TEST(AxiSlave, RegionUnmappedMidBurstFailsTheRestNotTheServer) {
  Memfd f(0x1000);
  HostMemory mem;
  ASSERT_EQ(mem.map(f.fd(), 0x8000, 0x1000, 0), std::nullopt);
  AxiHostSlave s(mem);
  AxiMasterSignals in;
  in.arvalid = true;
  in.araddr = 0x8000;
  in.arlen = 3;
  in.arsize = 3;
  in.arburst = 1;
  s.clock(in);
  in.arvalid = false;
  in.rready = true;
  EXPECT_EQ(s.outputs().rresp, 0);
  s.clock(in);
  ASSERT_EQ(mem.unmap(0x8000), std::nullopt);
  s.clock(in);  // beat 1 was read before the unmap
  EXPECT_EQ(s.outputs().rresp, 2);
  EXPECT_EQ(s.outputs().rdata, 0u);
  s.clock(in);
  // A write to the now unmapped range is refused and touches nothing.
  in.awvalid = true;
  in.awaddr = 0x8000;
  in.awlen = 0;
  in.awsize = 3;
  in.awburst = 1;
  in.wvalid = true;
  in.wdata = ~0ull;
  in.wstrb = 0xFF;
  in.wlast = true;
  in.bready = true;
  s.clock(in);  // AW
  in.awvalid = false;
  s.clock(in);  // W
  in.wvalid = false;
  ASSERT_TRUE(s.outputs().bvalid);
  EXPECT_EQ(s.outputs().bresp, 2);
  s.clock(in);
  EXPECT_EQ(f.contents(0, 8), std::vector<uint8_t>(8, 0));
  EXPECT_EQ(s.refused(), 1u);
  s.reset();
  EXPECT_TRUE(s.idle());
}

}  // namespace
}  // namespace kvcpu::cosim
