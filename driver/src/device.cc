#include "kvcpu/device.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "kvcpu/mock_transport.h"
#include "kvcpu/regs.h"

namespace kvcpu {
namespace {

// The register-map major version this driver was generated from.
static_assert(regs::kVersionMajor.get(regs::kVersionValue) == regs::kMapVersionMajor,
              "regs.h is inconsistent");

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", v);
  return buf;
}

}  // namespace

Device::Device(std::unique_ptr<Transport> transport)
    : transport_(std::move(transport)), mu_(std::make_unique<std::mutex>()), host_(std::make_unique<HostState>()) {}

Result<Device> Device::open(std::string_view uri, const OpenOptions& options) {
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "malformed device URI '" + std::string(uri) +
                      "' (expected cosim:PATH, pci:BDF, uart:DEV or mock:)");
  }
  std::string_view scheme = uri.substr(0, colon);
  std::string_view rest = uri.substr(colon + 1);
  if (scheme == "cosim") {
    if (rest.empty()) {
      return Status(ErrorCode::kInvalidArgument, "cosim: URI needs a socket path (cosim:PATH)");
    }
    auto t = CosimTransport::connect(std::string(rest), options.cosim);
    if (!t.ok()) {
      return t.status();
    }
    return open(std::unique_ptr<Transport>(std::move(*t)));
  }
  if (scheme == "mock") {
    if (!rest.empty()) {
      return Status(ErrorCode::kInvalidArgument, "mock: URI takes no argument");
    }
    return open(std::make_unique<MockTransport>());
  }
  if (scheme == "pci" || scheme == "uart") {
    return Status(ErrorCode::kUnsupported, std::string(scheme) +
                                               ": transport not built in this release "
                                               "(use cosim:PATH or mock:)");
  }
  return Status(ErrorCode::kInvalidArgument, "unknown device URI scheme '" + std::string(scheme) +
                                                 ":' (expected cosim:, pci:, uart: or mock:)");
}

Result<Device> Device::open(std::unique_ptr<Transport> transport) {
  if (!transport) {
    return Status(ErrorCode::kInvalidArgument, "no transport");
  }
  Device dev(std::move(transport));
  auto id = dev.read(regs::kId);
  if (!id.ok()) {
    return id.status();
  }
  if (*id != regs::kIdValue) {
    return Status(ErrorCode::kDeviceMismatch, dev.describe() + ": ID register reads " + hex(*id) +
                                                  ", expected " + hex(regs::kIdValue));
  }
  auto version = dev.read(regs::kVersion);
  if (!version.ok()) {
    return version.status();
  }
  if (regs::kVersionMajor.get(*version) != regs::kMapVersionMajor) {
    return Status(ErrorCode::kVersionMismatch,
                  dev.describe() + ": register map " +
                      std::to_string(regs::kVersionMajor.get(*version)) + "." +
                      std::to_string(regs::kVersionMinor.get(*version)) + "." +
                      std::to_string(regs::kVersionPatch.get(*version)) +
                      ", driver supports major " + std::to_string(regs::kMapVersionMajor));
  }
  return dev;
}

Status Device::check_open() const {
  if (!transport_ || !mu_) {
    return Status(ErrorCode::kInvalidArgument, "device was moved from");
  }
  return Status();
}

std::string Device::describe() const { return transport_ ? transport_->describe() : "(none)"; }

Result<uint32_t> Device::read_locked(uint32_t offset) {
  return transport_->read32(regs::kBar, offset);
}

Status Device::write_locked(uint32_t offset, uint32_t value) {
  return transport_->write32(regs::kBar, offset, value);
}

Result<uint32_t> Device::read(uint32_t offset) {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  return read_locked(offset);
}

Status Device::write(uint32_t offset, uint32_t value) {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  return write_locked(offset, value);
}

Result<DeviceInfo> Device::info() {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  uint32_t v[6];
  const uint32_t offsets[6] = {regs::kId,      regs::kVersion,   regs::kCapabilities,
                               regs::kGitHash, regs::kBuildDate, regs::kBoardId};
  for (int i = 0; i < 6; ++i) {
    auto r = read_locked(offsets[i]);
    if (!r.ok()) {
      return r.status();
    }
    v[i] = *r;
  }
  DeviceInfo info;
  info.vendor = static_cast<uint16_t>(regs::kIdVendor.get(v[0]));
  info.device = static_cast<uint16_t>(regs::kIdDevice.get(v[0]));
  info.version_major = static_cast<uint8_t>(regs::kVersionMajor.get(v[1]));
  info.version_minor = static_cast<uint8_t>(regs::kVersionMinor.get(v[1]));
  info.version_patch = static_cast<uint16_t>(regs::kVersionPatch.get(v[1]));
  info.capabilities = v[2];
  info.git_hash = v[3];
  info.build_date = v[4];
  info.board = static_cast<uint8_t>(regs::kBoardIdBoard.get(v[5]));
  info.dirty = regs::kBoardIdDirty.get(v[5]) != 0;
  return info;
}

Result<uint64_t> Device::step() {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  auto lo = read_locked(regs::kStepLo);
  if (!lo.ok()) {
    return lo.status();
  }
  auto hi = read_locked(regs::kStepHi);
  if (!hi.ok()) {
    return hi.status();
  }
  return (static_cast<uint64_t>(*hi) << 32) | *lo;
}

Status Device::set_hepc(const HepcSettings& s) {
  if (Status st = check_open(); !st.ok()) {
    return st;
  }
  if (s.evict_tier > 3) {
    return Status(ErrorCode::kInvalidArgument, "evict_tier must be 0..3");
  }
  std::lock_guard<std::mutex> lock(*mu_);
  const std::pair<uint32_t, uint32_t> w[] = {
      {regs::kHepcMode, s.hint_mode ? 1u : 0u},
      {regs::kHepcWR, s.w_r},
      {regs::kHepcWF, s.w_f},
      {regs::kHepcWS, s.w_s},
      {regs::kHepcWD, s.w_d},
      {regs::kHepcWindow, s.window},
      {regs::kHepcEvictT, s.evict_t},
      {regs::kHepcPrefetchT, s.prefetch_t},
      {regs::kHepcT0HighWm, s.t0_high_wm},
      {regs::kHepcPrefetchWindow, s.prefetch_window},
      {regs::kHepcMaxEvictPlans, s.max_evict_plans},
      {regs::kHepcMaxPrefetchPlans, s.max_prefetch_plans},
      {regs::kHepcEvictTier, s.evict_tier},
      {regs::kHepcShortLived, s.short_lived},
  };
  for (const auto& [off, v] : w) {
    if (Status st = write_locked(off, v); !st.ok()) {
      return st;
    }
  }
  return Status();
}

Result<HepcSettings> Device::hepc() {
  if (Status st = check_open(); !st.ok()) {
    return st;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  uint32_t v[14];
  const uint32_t offs[14] = {regs::kHepcMode,         regs::kHepcWR,
                             regs::kHepcWF,           regs::kHepcWS,
                             regs::kHepcWD,           regs::kHepcWindow,
                             regs::kHepcEvictT,       regs::kHepcPrefetchT,
                             regs::kHepcT0HighWm,     regs::kHepcPrefetchWindow,
                             regs::kHepcMaxEvictPlans, regs::kHepcMaxPrefetchPlans,
                             regs::kHepcEvictTier,    regs::kHepcShortLived};
  for (unsigned i = 0; i < 14; ++i) {
    auto r = read_locked(offs[i]);
    if (!r.ok()) {
      return r.status();
    }
    v[i] = *r;
  }
  HepcSettings s;
  s.hint_mode = v[0] & 1;
  s.w_r = static_cast<uint8_t>(v[1]);
  s.w_f = static_cast<uint8_t>(v[2]);
  s.w_s = static_cast<uint8_t>(v[3]);
  s.w_d = static_cast<uint8_t>(v[4]);
  s.window = static_cast<uint16_t>(v[5]);
  s.evict_t = static_cast<uint16_t>(v[6]);
  s.prefetch_t = static_cast<uint16_t>(v[7]);
  s.t0_high_wm = v[8];
  s.prefetch_window = v[9];
  s.max_evict_plans = static_cast<uint16_t>(v[10]);
  s.max_prefetch_plans = static_cast<uint16_t>(v[11]);
  s.evict_tier = static_cast<uint8_t>(v[12]);
  s.short_lived = v[13];
  return s;
}

Result<DirGeometry> Device::dir_geometry() {
  if (Status st = check_open(); !st.ok()) {
    return st;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  auto cap = read_locked(regs::kDirCapacity);
  if (!cap.ok()) {
    return cap.status();
  }
  auto rings = read_locked(regs::kHepcRings);
  if (!rings.ok()) {
    return rings.status();
  }
  DirGeometry g;
  if (*cap == 0) {
    return g;
  }
  g.capacity = *cap;
  while ((8ull << g.set_bits) < *cap) {
    ++g.set_bits;
  }
  g.bucket_shift = regs::kHepcRingsBucketShift.get(*rings);
  g.num_buckets = 1u << regs::kHepcRingsBucketsLog2.get(*rings);
  if ((8ull << g.set_bits) != *cap) {
    return Status(ErrorCode::kDeviceMismatch,
                  "DIR_CAPACITY " + std::to_string(*cap) + " is not 8 x a power of two");
  }
  return g;
}

Result<HepcStats> Device::hepc_stats() {
  if (Status st = check_open(); !st.ok()) {
    return st;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  HepcStats t;
  uint64_t* counters[8] = {&t.ops,      &t.victim_queries, &t.evict_plans, &t.prefetch_plans,
                           &t.discards, &t.dir_full,       &t.hint_stale,  &t.expired_buckets};
  for (unsigned i = 0; i < 8; ++i) {
    // HI, LO, HI again: a carry between the reads shows as a changed HI
    for (;;) {
      auto hi = read_locked(regs::kHepcCountHiAt(i));
      auto lo = read_locked(regs::kHepcCountLoAt(i));
      auto hi2 = read_locked(regs::kHepcCountHiAt(i));
      if (!hi.ok() || !lo.ok() || !hi2.ok()) {
        return !hi.ok() ? hi.status() : !lo.ok() ? lo.status() : hi2.status();
      }
      if (*hi == *hi2) {
        *counters[i] = (uint64_t{*hi} << 32) | *lo;
        break;
      }
    }
  }
  const std::pair<uint32_t, uint32_t*> g[] = {
      {regs::kHepcT0Blocks, &t.t0_blocks},     {regs::kHepcT0Moving, &t.t0_moving},
      {regs::kHepcStep, &t.dir_step},          {regs::kHepcPlanCount, &t.plans_waiting},
      {regs::kHepcPlanDrops, &t.plan_drops},
  };
  for (const auto& [off, out] : g) {
    auto v = read_locked(off);
    if (!v.ok()) {
      return v.status();
    }
    *out = *v;
  }
  return t;
}

Result<std::vector<uint32_t>> Device::pop_plans(unsigned max) {
  if (Status st = check_open(); !st.ok()) {
    return st;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  std::vector<uint32_t> out;
  while (out.size() < max) {
    auto n = read_locked(regs::kHepcPlanCount);
    if (!n.ok()) {
      return n.status();
    }
    if (*n == 0) {
      break;
    }
    auto w = read_locked(regs::kHepcPlanHead);
    if (!w.ok()) {
      return w.status();
    }
    if (Status st = write_locked(regs::kHepcPlanPop, 1); !st.ok()) {
      return st;
    }
    out.push_back(*w);
  }
  return out;
}

Result<Telemetry> Device::telemetry() {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  auto st = step();
  if (!st.ok()) {
    return st.status();
  }
  Telemetry t;
  t.step = *st;
  std::lock_guard<std::mutex> lock(*mu_);
  struct Field {
    uint32_t off;
    uint32_t* out;
  };
  const Field fields[] = {
      {regs::kStepCount, &t.step_count},    {regs::kHintCountAt(0), &t.hot},
      {regs::kHintCountAt(1), &t.evict},    {regs::kHintCountAt(2), &t.prefetch},
      {regs::kHintCountAt(3), &t.share},    {regs::kHintCountAt(4), &t.release},
      {regs::kDirCapacity, &t.dir_capacity}, {regs::kDirLive, &t.dir_live},
      {regs::kDirHits, &t.dir_hits},        {regs::kDirMisses, &t.dir_misses},
  };
  for (const Field& f : fields) {
    auto v = read_locked(f.off);
    if (!v.ok()) {
      return v.status();
    }
    *f.out = *v;
  }
  return t;
}

Status Device::step_advance(uint32_t n) {
  if (n == 0) {
    return Status(ErrorCode::kInvalidArgument, "step advance of 0 (the device rejects it)");
  }
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  return transport_->write32_posted(regs::kBar, regs::kStepInc, n);
}

Status Device::step_set(uint64_t value) {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  if (Status s = write_locked(regs::kStepLo, static_cast<uint32_t>(value)); !s.ok()) {
    return s;
  }
  if (Status s = write_locked(regs::kStepHi, static_cast<uint32_t>(value >> 32)); !s.ok()) {
    return s;
  }
  auto err = read_locked(regs::kErrStatus);
  if (!err.ok()) {
    return err.status();
  }
  if (regs::kErrStatusStepBackwards.get(*err) != 0) {
    if (Status s = write_locked(regs::kErrStatus, regs::kErrStatusStepBackwards.mask()); !s.ok()) {
      return s;
    }
    return Status(ErrorCode::kInvalidArgument,
                  "step " + std::to_string(value) +
                      " is below the current step; the device kept the current step");
  }
  return Status();
}

Result<uint32_t> Device::step_count() { return read(regs::kStepCount); }

Result<uint32_t> Device::error_status() { return read(regs::kErrStatus); }

Result<uint32_t> Device::error_addr() { return read(regs::kErrAddr); }

Status Device::clear_errors(uint32_t mask) { return write(regs::kErrStatus, mask); }

Status Device::reset() {
  if (Status s = check_open(); !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(*mu_);
  return transport_->reset();
}

Result<uint32_t> Device::clock_hz() { return read(regs::kClockHz); }

Result<std::unique_ptr<DmaBuffer>> Device::alloc_dma(size_t bytes) {
  if (Status s = check_open(); !s.ok()) return s;
  if (bytes == 0 || bytes > (1ull << 32)) {
    return Status(ErrorCode::kInvalidArgument, "DMA buffer size must be 1 B .. 4 GiB");
  }
  const uint64_t size = (static_cast<uint64_t>(bytes) + 4095) & ~uint64_t{4095};
  const int fd = memfd_create("kvcpu-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Status(ErrorCode::kInternal, std::string("memfd_create: ") + std::strerror(errno));
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    close(fd);
    return Status(ErrorCode::kInternal, std::string("ftruncate: ") + std::strerror(errno));
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return Status(ErrorCode::kInternal, std::string("mmap: ") + std::strerror(errno));
  }
  std::lock_guard<std::mutex> lock(*mu_);
  const uint64_t iova = host_->next_iova;
  if (Status s = transport_->map_memory(fd, iova, size, 0); !s.ok()) {
    munmap(p, size);
    close(fd);
    return s;
  }
  host_->next_iova += size + 4096;  // a guard page between regions: overruns hit nothing
  return std::unique_ptr<DmaBuffer>(
      new DmaBuffer(transport_.get(), mu_.get(), fd, static_cast<uint8_t*>(p), iova, size));
}

Result<std::unique_ptr<QueuePair>> Device::create_queue(const QueueOptions& o) {
  if (Status s = check_open(); !s.ok()) return s;
  if (o.depth_log2 < 1 || o.depth_log2 > 12) {
    return Status(ErrorCode::kInvalidArgument, "queue depth_log2 must be 1..12");
  }
  if (o.coalesce_time_cycles >= (1u << 24)) {
    return Status(ErrorCode::kInvalidArgument, "coalesce_time_cycles must be below 2^24");
  }
  if (o.coalesce_count > 1 && o.coalesce_time_cycles == 0 && o.interrupts) {
    return Status(ErrorCode::kInvalidArgument,
                  "coalesce_count > 1 needs a coalesce_time_cycles, or a partial batch never interrupts");
  }
  unsigned q = 0;
  {
    std::lock_guard<std::mutex> lock(*mu_);
    while (q < regs::kQCtrlInstances && (host_->queues & (1u << q)) != 0) ++q;
    if (q == regs::kQCtrlInstances) return Status(ErrorCode::kBusy, "all device queues are in use");
    host_->queues |= 1u << q;
  }
  std::unique_ptr<QueuePair> qp(new QueuePair());
  qp->t_ = transport_.get();
  qp->mu_ = mu_.get();
  qp->qmask_ = &host_->queues;
  qp->qid_ = q;
  auto mem = alloc_dma(QueuePair::layout(o.depth_log2).bytes);
  if (!mem.ok()) return mem.status();  // ~QueuePair releases the queue id
  qp->mem_ = std::move(*mem);
  if (Status s = qp->setup(o); !s.ok()) return s;
  return qp;
}

}  // namespace kvcpu
