#include "kvcpu/queue.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "kvcpu/regs.h"

namespace kvcpu {
namespace {

constexpr unsigned kSqeBytes = 64, kCqeBytes = 16, kProvBytes = 64;
constexpr uint64_t kPage = 4096;
// The cosim interrupt window (docs/host-interface.md): MSI-X messages to this address
// signal the eventfd bound to their data.
constexpr uint64_t kMsiWindow = 0xFEE00000ull;

uint64_t page_up(uint64_t n) { return (n + kPage - 1) & ~(kPage - 1); }

uint64_t le(const uint8_t* p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

const char* io_class_name(IoClass c) {
  switch (c) {
    case IoClass::kDecodeRead: return "decode";
    case IoClass::kPrefetchRead: return "prefetch";
    case IoClass::kPrefillWrite: return "prefill";
    case IoClass::kEvict: return "evict";
    case IoClass::kNormal: return "normal";
  }
  return "?";
}

const char* cqe_status::name(uint16_t s) {
  switch (s) {
    case kSuccess: return "SUCCESS";
    case kInvalidOpcode: return "INVALID_OPCODE";
    case kInvalidField: return "INVALID_FIELD";
    case kFetchError: return "FETCH_ERROR";
    case kInvalidLength: return "INVALID_LENGTH";
    case kDmaError: return "DMA_ERROR";
    case kStepBackwards: return "STEP_BACKWARDS";
    case kNotFound: return "NOT_FOUND";
    case kDuplicate: return "DUPLICATE";
    case kDirFull: return "DIR_FULL";
    case kRefUnderflow: return "REF_UNDERFLOW";
    case kRefOverflow: return "REF_OVERFLOW";
    case kHintStale: return "HINT_STALE";
    case kBadField: return "BAD_FIELD";
    case kNvmeError: return "NVME_ERROR";
    case kIoTimeout: return "IO_TIMEOUT";
    case kIoBusy: return "IO_BUSY";
    default: return "UNKNOWN";
  }
}

// ---- commands

Command Command::nop() { return Command{}; }

Command Command::step_advance(uint64_t n) {
  Command c;
  c.put(0, static_cast<uint8_t>(Opcode::kStepAdvance), 1).put(32, n, 8);
  return c;
}

Command Command::step_set(uint64_t step) {
  Command c = step_advance(step);
  c.put(40, 1, 1);
  return c;
}

Command Command::hint(Opcode op, uint64_t va, uint32_t len, uint64_t target_step) {
  Command c;
  c.put(0, static_cast<uint8_t>(op), 1).put(12, len, 4).put(16, va, 8);
  if (op == Opcode::kPrefetch) c.put(32, target_step, 8);
  return c;
}

Command Command::echo(uint32_t value) {
  Command c;
  c.put(0, static_cast<uint8_t>(Opcode::kEcho), 1).put(32, value, 4);
  return c;
}

Command Command::dma_copy(uint64_t src_iova, uint64_t dst_iova, uint32_t len) {
  Command c;
  c.put(0, static_cast<uint8_t>(Opcode::kDmaCopy), 1).put(12, len, 4).put(16, src_iova, 8).put(24, dst_iova, 8);
  return c;
}

Command Command::blk_insert(const BlockInsert& b) {
  Command c;
  const unsigned flags = (b.prefix ? 1u : 0u) | (b.dirty ? 2u : 0u) | (b.recompute_ok ? 4u : 0u);
  c.put(0, static_cast<uint8_t>(Opcode::kBlkInsert), 1).put(16, b.key, 8).put(24, b.addr, 8);
  c.put(32, b.tier, 1).put(33, flags, 1).put(34, b.session, 2).put(36, b.model, 1).put(40, b.lifetime_end, 4);
  return c;
}

Command Command::blk_lookup(uint64_t key, uint64_t entry_iova) {
  Command c;
  c.put(0, static_cast<uint8_t>(Opcode::kBlkLookup), 1).put(16, key, 8).put(24, entry_iova, 8);
  return c;
}

Command Command::blk_touch(uint64_t key, uint64_t entry_iova) {
  Command c = blk_lookup(key, entry_iova);
  c.put(0, static_cast<uint8_t>(Opcode::kBlkTouch), 1);
  return c;
}

Command Command::blk_delete(uint64_t key) {
  Command c;
  c.put(0, static_cast<uint8_t>(Opcode::kBlkDelete), 1).put(16, key, 8);
  return c;
}

Command Command::blk_set_tier(uint16_t handle, uint8_t tier, uint64_t addr) {
  Command c;
  c.put(0, static_cast<uint8_t>(Opcode::kBlkSetTier), 1).put(24, addr, 8).put(32, handle, 4).put(36, tier, 1);
  return c;
}

Command Command::blk_victim(uint64_t entry_iova) {
  Command c;
  c.put(0, static_cast<uint8_t>(Opcode::kBlkVictim), 1).put(24, entry_iova, 8);
  return c;
}

Command Command::io(Opcode op, const IoArgs& a) {
  Command c;
  c.put(0, static_cast<uint8_t>(op), 1).put(12, a.bytes, 4).put(16, a.buffer_iova, 8);
  c.put(32, a.slba, 8).put(40, a.session, 2).put(42, a.model, 1).put(43, a.placement_type, 1);
  c.put(44, a.placement_id, 2);
  return c;
}

BlockEntry BlockEntry::decode(const uint8_t* r) {
  auto bits = [r](unsigned lo, unsigned w) {
    uint64_t v = 0;
    for (unsigned i = 0; i < w; ++i) v |= static_cast<uint64_t>((r[(lo + i) / 8] >> ((lo + i) % 8)) & 1) << i;
    return v;
  };
  BlockEntry e;
  e.valid = bits(0, 1);
  e.key = bits(1, 64);
  e.tier = static_cast<uint8_t>(bits(65, 2));
  e.addr = bits(67, 64);
  e.freq = static_cast<uint8_t>(bits(131, 4));
  e.last_access = static_cast<uint32_t>(bits(135, 32));
  e.next_use = static_cast<uint32_t>(bits(167, 32));
  e.hint_bucket = static_cast<uint32_t>(bits(199, 32));
  e.hint = static_cast<uint8_t>(bits(231, 2));
  e.prefix = bits(233, 1);
  e.refcount = static_cast<uint8_t>(bits(234, 8));
  e.dirty = bits(242, 1);
  e.recompute_ok = bits(243, 1);
  e.lifetime_end = static_cast<uint32_t>(bits(244, 32));
  e.session = static_cast<uint16_t>(bits(276, 16));
  e.model = static_cast<uint8_t>(bits(292, 8));
  e.moving = bits(300, 1);
  return e;
}

QueueOptions QueueOptions::for_class(IoClass c) {
  QueueOptions o;
  if (c != IoClass::kDecodeRead) {
    o.coalesce_count = 16;
    o.coalesce_time_cycles = 2000;  // 8 µs at 250 MHz
  }
  return o;
}

// ---- DMA memory

DmaBuffer::~DmaBuffer() {
  if (t_ != nullptr) {
    std::lock_guard<std::mutex> lock(*mu_);
    (void)t_->unmap_memory(iova_);  // a server that went away has nothing left to unmap
  }
  if (data_ != nullptr) munmap(data_, size_);
  if (fd_ >= 0) close(fd_);
}

// ---- queue pairs

Result<uint32_t> QueuePair::read_reg(uint32_t off) {
  std::lock_guard<std::mutex> lock(*mu_);
  return t_->read32(0, off);
}

Status QueuePair::write_reg(uint32_t off, uint32_t v, bool posted) {
  std::lock_guard<std::mutex> lock(*mu_);
  return posted ? t_->write32_posted(0, off, v) : t_->write32(0, off, v);
}

QueuePair::Layout QueuePair::layout(unsigned depth_log2) {
  const uint64_t n = 1ull << depth_log2;
  const uint64_t cq = page_up(n * kSqeBytes);
  const uint64_t prov = cq + page_up(n * kCqeBytes);
  return {cq, prov, prov + page_up(n * kProvBytes)};
}

Status QueuePair::setup(const QueueOptions& o) {
  const unsigned k = o.depth_log2;
  const uint64_t n = 1ull << k;
  const Layout l = layout(k);
  mask_ = static_cast<unsigned>(n - 1);
  prov_ = o.provenance;
  irq_ = o.interrupts;
  recheck_ = std::max(o.recheck, std::chrono::milliseconds(1));
  sq_ = mem_->data();
  cq_ = sq_ + l.cq;
  pv_ = sq_ + l.prov;
  t_submit_ = std::make_unique<uint64_t[]>(n);
  free_cids_.clear();
  for (size_t c = 0; c < n; ++c) free_cids_.push_back(static_cast<uint16_t>(c));
  cid_busy_.assign(n, false);
  const uint64_t sq = mem_->iova(), cq = sq + l.cq, pv = sq + l.prov;
  const unsigned q = qid_;
  struct W {
    uint32_t off, v;
  };
  const W cfg[] = {
      {regs::kQSqBaseLoAt(q), static_cast<uint32_t>(sq)},  {regs::kQSqBaseHiAt(q), static_cast<uint32_t>(sq >> 32)},
      {regs::kQCqBaseLoAt(q), static_cast<uint32_t>(cq)},  {regs::kQCqBaseHiAt(q), static_cast<uint32_t>(cq >> 32)},
      {regs::kQProvBaseLoAt(q), static_cast<uint32_t>(pv)}, {regs::kQProvBaseHiAt(q), static_cast<uint32_t>(pv >> 32)},
      {regs::kQCoalAt(q), regs::kQCoalCount.put(0, o.coalesce_count) | regs::kQCoalTime.put(0, o.coalesce_time_cycles)},
      {regs::kMsixCtrlAt(q), regs::kMsixCtrlMask.put(0, 1)},
  };
  for (const W& w : cfg) {
    if (Status s = write_reg(w.off, w.v, false); !s.ok()) return s;
  }
  if (irq_) {
    efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd_ < 0) return Status(ErrorCode::kInternal, "eventfd failed");
    {
      std::lock_guard<std::mutex> lock(*mu_);
      if (Status s = t_->bind_irq(q, efd_); !s.ok()) return s;
    }
    irq_bound_ = true;
    const W msix[] = {{regs::kMsixAddrLoAt(q), static_cast<uint32_t>(kMsiWindow)},
                      {regs::kMsixAddrHiAt(q), static_cast<uint32_t>(kMsiWindow >> 32)},
                      {regs::kMsixDataAt(q), q},
                      {regs::kMsixCtrlAt(q), 0}};
    for (const W& w : msix) {
      if (Status s = write_reg(w.off, w.v, false); !s.ok()) return s;
    }
  }
  const uint32_t ctrl = regs::kQCtrlEnable.put(0, 1) | regs::kQCtrlProvEn.put(0, prov_ ? 1 : 0) |
                        regs::kQCtrlSizeLog2.put(0, k);
  if (Status s = write_reg(regs::kQCtrlAt(q), ctrl, false); !s.ok()) return s;
  // The device refuses a bad configuration by ERR_STATUS.QCFG, not by a bus error: check
  // that the queue really is on.
  auto rb = read_reg(regs::kQCtrlAt(q));
  if (!rb.ok()) return rb.status();
  if (*rb != ctrl) {
    return Status(ErrorCode::kInvalidArgument, "device refused the configuration of queue " + std::to_string(q));
  }
  enabled_ = true;
  return Status();
}

QueuePair::~QueuePair() {
  if (t_ == nullptr) return;
  // Best effort: against a server that went away every call fails at once.
  if (enabled_) (void)write_reg(regs::kQCtrlAt(qid_), 0, false);
  (void)write_reg(regs::kMsixCtrlAt(qid_), regs::kMsixCtrlMask.put(0, 1), false);
  if (irq_bound_) {
    std::lock_guard<std::mutex> lock(*mu_);
    (void)t_->unbind_irq(qid_);
  }
  if (efd_ >= 0) close(efd_);
  mem_.reset();
  std::lock_guard<std::mutex> lock(*mu_);
  *qmask_ &= ~(1u << qid_);
}

Result<size_t> QueuePair::submit(std::span<const Command> cmds) {
  const size_t room = std::min<size_t>(mask_ - in_flight_, free_cids_.size());
  const size_t n = std::min(room, cmds.size());
  if (n == 0) return size_t{0};
  // The device never finds the CQ full while in flight + unannounced <= 2^k - 1: every
  // command it completes then has a slot it knows is free. Announce first if this batch
  // would break that (the CQ doorbell reaches the device before the SQ doorbell).
  if (cq_unrung_ > 0 && in_flight_ + cq_unrung_ + n > mask_) {
    if (Status s = ring_cq(); !s.ok()) return s;
  }
  const uint64_t now = monotonic_ns();
  for (size_t i = 0; i < n; ++i) {
    uint8_t* slot = sq_ + static_cast<size_t>(sq_tail_) * kSqeBytes;
    // in flight <= capacity(), so one of the capacity() + 1 CIDs is free
    const uint16_t cid = free_cids_.front();
    free_cids_.pop_front();
    cid_busy_[cid] = true;
    std::memcpy(slot, cmds[i].b.data(), kSqeBytes);
    slot[2] = static_cast<uint8_t>(cid);
    slot[3] = static_cast<uint8_t>(cid >> 8);
    t_submit_[cid] = now;
    sq_tail_ = (sq_tail_ + 1) & mask_;
  }
  std::atomic_thread_fence(std::memory_order_release);  // entries before the doorbell
  if (Status s = write_reg(regs::kSqTailDbAt(qid_), sq_tail_, true); !s.ok()) {
    sq_tail_ = (sq_tail_ - static_cast<unsigned>(n)) & mask_;  // nothing was submitted
    for (size_t i = n; i-- > 0;) {
      const uint8_t* slot = sq_ + static_cast<size_t>((sq_tail_ + i) & mask_) * kSqeBytes;
      const uint16_t cid = static_cast<uint16_t>(slot[2] | (slot[3] << 8));
      cid_busy_[cid] = false;
      free_cids_.push_front(cid);
    }
    return s;
  }
  in_flight_ += static_cast<unsigned>(n);
  stats_.submitted += n;
  ++stats_.doorbells;
  return n;
}

// The status/phase half-word of the CQE at the head, loaded before the rest of the entry.
uint16_t QueuePair::head_status_phase() const {
  const uint8_t* e = cq_ + static_cast<size_t>(cq_head_) * kCqeBytes;
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(e + 14), __ATOMIC_ACQUIRE);
}

size_t QueuePair::reap(std::span<Completion> out, uint64_t woken_ns) {
  size_t n = 0;
  while (n < out.size()) {
    const uint16_t sp = head_status_phase();
    if (((sp & 1) != 0) != phase_) break;
    const uint8_t* e = cq_ + static_cast<size_t>(cq_head_) * kCqeBytes;
    Completion& c = out[n++];
    c = Completion{};
    c.result = static_cast<uint32_t>(le(e, 4));
    c.flow_id = static_cast<uint32_t>(le(e + 4, 4));
    c.sq_head = static_cast<uint16_t>(le(e + 8, 2));
    c.sq_id = static_cast<uint16_t>(le(e + 10, 2));
    c.cid = static_cast<uint16_t>(le(e + 12, 2));
    c.status = static_cast<uint16_t>(sp >> 1);
    c.host.seen = monotonic_ns();
    c.host.woken = woken_ns != 0 ? woken_ns : c.host.seen;
    // a CID of no command in flight (a device fault) keeps submitted = 0 and frees nothing
    if (c.cid <= mask_ && cid_busy_[c.cid]) {
      c.host.submitted = t_submit_[c.cid];
      cid_busy_[c.cid] = false;
      free_cids_.push_back(c.cid);
    }
    if (prov_) {
      const uint8_t* r = pv_ + static_cast<size_t>(cq_head_) * kProvBytes;
      c.has_provenance = true;
      c.dev.home_cpu = static_cast<uint16_t>(le(r + 8, 2));
      c.dev.io_class = r[10];
      c.dev.opcode = r[11];
      c.dev.doorbell = le(r + 16, 8);
      c.dev.fetched = le(r + 24, 8);
      c.dev.started = le(r + 32, 8);
      c.dev.done = le(r + 40, 8);
      c.dev.posted = le(r + 48, 8);
    }
    cq_head_ = (cq_head_ + 1) & mask_;
    if (cq_head_ == 0) phase_ = !phase_;
  }
  return n;
}

Status QueuePair::ring_cq() {
  if (Status s = write_reg(regs::kCqHeadDbAt(qid_), cq_head_, true); !s.ok()) return s;
  cq_unrung_ = 0;
  ++stats_.cq_doorbells;
  return Status();
}

Status QueuePair::consumed(size_t n) {
  in_flight_ -= static_cast<unsigned>(n);
  cq_unrung_ += static_cast<unsigned>(n);
  stats_.completed += n;
  // One posted write per half ring rather than per poll: a polling thread that reaps one
  // CQE at a time would otherwise send the server a message per completion.
  return cq_unrung_ >= (mask_ + 1) / 2 ? ring_cq() : Status();
}

Result<size_t> QueuePair::poll(std::span<Completion> out) {
  const size_t n = reap(out, 0);
  if (n > 0) {
    if (Status s = consumed(n); !s.ok()) return s;
  }
  return n;
}

Result<size_t> QueuePair::wait(std::span<Completion> out, std::chrono::milliseconds timeout) {
  auto n = poll(out);
  if (!n.ok() || *n > 0 || out.empty()) return n;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return Status(ErrorCode::kTimeout, "no completion on queue " + std::to_string(qid_));
    const auto slice = std::min(recheck_, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                                              std::chrono::milliseconds(1));
    bool woke = false;
    if (irq_) {
      pollfd p{efd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(slice.count()));
      if (r > 0) {
        uint64_t v = 0;
        if (read(efd_, &v, sizeof v) == sizeof v) {
          woke = true;
          ++stats_.interrupts;
        }
      }
    } else {
      const auto until = std::chrono::steady_clock::now() + slice;
      while (std::chrono::steady_clock::now() < until && ((head_status_phase() & 1) != 0) != phase_) {
        std::this_thread::yield();
      }
    }
    const size_t got = reap(out, woke ? monotonic_ns() : 0);
    if (got > 0) {
      if (irq_ && !woke) stats_.recovered += got;
      if (Status s = consumed(got); !s.ok()) return s;
      return got;
    }
    if (!woke) {
      // Nothing visible after a whole slice: is the device still there? (A lost interrupt
      // with its CQE visible was handled above; this read also tells a dead server.)
      auto cnt = read_reg(regs::kQCplCountAt(qid_));
      if (!cnt.ok()) return cnt.status();
    }
  }
}

}  // namespace kvcpu
