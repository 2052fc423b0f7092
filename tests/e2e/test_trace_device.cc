// The trace replay's device mode (kvtrace --device, sw/trace/device_backend.h) end to end:
// the HEPC policies replayed through libkvcpu on the real kvcpu-cosim server must decide
// exactly as the same policies on HepcModel with the device's geometry (fast mode), on
// traces built to reach demand victims, set conflicts (BLK_INSERT answered DIR_FULL with the
// set victim), shared prefixes and hints; and a device that is not fresh, or that goes away,
// stops the replay with a message.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "cosim_device_test.h"
#include "device_backend.h"
#include "kvcpu/regs.h"
#include "replay.h"
#include "rtbd.h"

namespace kvcpu {
namespace {

namespace kt = kvcpu::trace;
namespace m = kvcpu::model;

// Conversations: each request extends one of `convs` chains by a few blocks (so its prefix
// is the chain so far) or starts a new one; ids are unique per chain position, so the trace
// keeps the prefix-chain rule. Arrival times are spread so that a few requests wait.
kt::Trace ChainTrace(unsigned requests, unsigned convs, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<uint64_t>> chains(convs);
  uint64_t next_id = 1;
  kt::Trace t;
  uint64_t ts = 0;
  std::set<uint64_t> ids;
  for (unsigned i = 0; i < requests; ++i) {
    auto& c = chains[rng() % convs];
    if (c.size() > 40 || rng() % 8 == 0) c.clear();
    const unsigned grow = 1 + static_cast<unsigned>(rng() % 4);
    for (unsigned k = 0; k < grow; ++k) c.push_back(next_id++);
    kt::Request r;
    ts += rng() % 3;
    r.timestamp_ms = ts;
    r.hash_ids = c;
    r.input_length = 512 * c.size();
    r.output_length = rng() % 6;
    t.references += c.size();
    ids.insert(c.begin(), c.end());
    t.requests.push_back(std::move(r));
  }
  t.distinct_blocks = ids.size();
  return t;
}

// Single-block requests on `n` ids that all hash to one directory set: past 8 of them
// every insert finds the set full.
kt::Trace OneSetTrace(unsigned requests, unsigned n, unsigned set_bits, uint64_t seed) {
  std::vector<uint64_t> pool;
  const uint32_t set = m::RtbdSet(kt::BlockKey(1).Packed(), set_bits);
  for (uint64_t id = 1; pool.size() < n; ++id) {
    if (m::RtbdSet(kt::BlockKey(id).Packed(), set_bits) == set) pool.push_back(id);
  }
  std::mt19937_64 rng(seed);
  kt::Trace t;
  std::set<uint64_t> ids;
  for (unsigned i = 0; i < requests; ++i) {
    kt::Request r;
    r.timestamp_ms = i;
    r.hash_ids = {pool[rng() % n]};
    r.input_length = 512;
    r.output_length = rng() % 3;
    ids.insert(r.hash_ids[0]);
    t.requests.push_back(std::move(r));
  }
  t.references = requests;
  t.distinct_blocks = ids.size();
  return t;
}

class TraceDevice : public CosimDeviceTest {
 protected:
  void SetUp() override { start(); }

  // Replays `t` in `mode` on the device and in fast mode on its geometry; both must agree.
  void ExpectAgreement(const kt::Trace& t, m::Mode mode, size_t capacity, uint64_t step_us,
                       kt::ReplayStats* out = nullptr) {
    std::string err;
    auto backend = kt::DeviceBackend::Create(*dev_, mode, &err);
    ASSERT_NE(backend, nullptr) << err;
    const m::RtbdConfig dir = backend->dir_config();
    kt::DeviceBackend* b = backend.get();
    auto dp = kt::MakeHepcPolicy(mode, std::move(backend));
    auto fp = kt::MakeHepcPolicy(mode, kt::MakeModelBackend(mode, dir));
    kt::ReplayOptions o;
    o.capacity = capacity;
    o.step_us = step_us;
    kt::ReplayStats ds, fs;
    auto de = kt::Replay(t, o, *dp, &ds);
    ASSERT_FALSE(de.has_value()) << *de;
    auto fe = kt::Replay(t, o, *fp, &fs);
    ASSERT_FALSE(fe.has_value()) << *fe;
    EXPECT_EQ(ds.hits, fs.hits);
    EXPECT_EQ(ds.resident_hits, fs.resident_hits);
    EXPECT_EQ(ds.inserts, fs.inserts);
    EXPECT_EQ(ds.evictions, fs.evictions);
    EXPECT_EQ(ds.conflict_evictions, fs.conflict_evictions);
    EXPECT_GT(b->stats().waits, 0u);
    // the device holds what the replay says is resident
    auto tel = dev_->telemetry();
    ASSERT_TRUE(tel.ok());
    EXPECT_EQ(tel->dir_live, ds.inserts - ds.evictions);
    if (out != nullptr) *out = ds;
  }
};

TEST_F(TraceDevice, HintModeAgreesWithFastModeOnConversations) {
  // step 3000 us against arrivals every ~1 ms: a queue builds up, so hints are sent
  const kt::Trace t = ChainTrace(400, 24, 11);
  kt::ReplayStats s;
  ExpectAgreement(t, m::Mode::kHint, 60, 3000, &s);
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.evictions, 100u);
}

TEST_F(TraceDevice, SeedModeAgreesWithFastModeOnConversations) {
  const kt::Trace t = ChainTrace(400, 24, 12);
  kt::ReplayStats s;
  ExpectAgreement(t, m::Mode::kSeed, 60, 1000, &s);
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.evictions, 100u);
}

TEST_F(TraceDevice, SetConflictsNameTheDevicesSetVictim) {
  auto geo = dev_->dir_geometry();
  ASSERT_TRUE(geo.ok());
  const kt::Trace t = OneSetTrace(300, 14, geo->set_bits, 13);
  for (m::Mode mode : {m::Mode::kHint, m::Mode::kSeed}) {
    kt::ReplayStats s;
    // capacity far above 8: every eviction is a set conflict
    ExpectAgreement(t, mode, 1000, 2000, &s);
    EXPECT_GT(s.conflict_evictions, 50u);
    EXPECT_EQ(s.conflict_evictions, s.evictions);
    if (HasFatalFailure()) return;
    // the next mode starts from a fresh device
    start();
  }
}

TEST_F(TraceDevice, ADeviceThatIsNotFreshIsRefused) {
  auto q = dev_->create_queue(QueueOptions{});
  ASSERT_TRUE(q.ok());
  BlockInsert b;
  b.key = kt::BlockKey(5).Packed();
  ASSERT_TRUE(one(**q, Command::blk_insert(b)).ok());
  std::string err;
  EXPECT_EQ(kt::DeviceBackend::Create(*dev_, m::Mode::kHint, &err), nullptr);
  EXPECT_NE(err.find("not fresh"), std::string::npos) << err;
}

TEST_F(TraceDevice, ADeviceThatGoesAwayStopsTheReplayWithAMessage) {
  std::string err;
  auto backend = kt::DeviceBackend::Create(*dev_, m::Mode::kHint, &err);
  ASSERT_NE(backend, nullptr) << err;
  auto policy = kt::MakeHepcPolicy(m::Mode::kHint, std::move(backend));
  server_->stop();
  kt::ReplayOptions o;
  o.capacity = 8;
  kt::ReplayStats s;
  const kt::Trace t = ChainTrace(50, 4, 14);
  auto e = kt::Replay(t, o, *policy, &s);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->find("policy hepc-hint: device: "), std::string::npos) << *e;
  EXPECT_EQ(s.requests, 0u);  // stats left as they were
}

TEST_F(TraceDevice, TheMockDeviceHasNoDirectory) {
  auto mock = Device::open("mock:");
  ASSERT_TRUE(mock.ok());
  std::string err;
  EXPECT_EQ(kt::DeviceBackend::Create(*mock, m::Mode::kSeed, &err), nullptr);
  EXPECT_NE(err.find("no block directory"), std::string::npos) << err;
}

}  // namespace
}  // namespace kvcpu
