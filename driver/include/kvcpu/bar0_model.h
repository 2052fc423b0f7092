// Behavioural model of kvcpu_core's BAR0, written from docs/registers.md and
// docs/host-interface.md (not from the RTL): what every 32-bit access answers and what it
// changes, including the sticky error bookkeeping, the queue-configuration rules and the
// doorbell checks. One model, two users: the BAR0 testbench compares the RTL against it, and
// MockTransport serves it as the `mock:` device.
//
// The model has no host memory: no SQE is ever fetched and no CQE posted, so Q_STATUS,
// Q_CPL_COUNT, Q_IRQ_COUNT, HINT_COUNT and MSIX_PBA read 0 (what the device shows while its
// host-memory port never answers; the testbench runs it that way). TIME_LO/HI is the
// model's own cycle counter: it advances by one per bus access (and by advance()); the
// testbench checks the device's TIME as a property instead of by value.
#pragma once

#include <array>
#include <cstdint>
#include <map>

#include "kvcpu/regs.h"

namespace kvcpu {

// AXI responses.
inline constexpr uint8_t kRespOkay = 0, kRespSlvErr = 2, kRespDecErr = 3;

struct BusResult {
  uint32_t data = 0;
  uint8_t resp = kRespOkay;
};

class Bar0Model {
 public:
  struct Identity {
    uint32_t git_hash = 0;
    uint32_t build_date = 0;
    uint32_t board_id = 0;
    uint32_t clock_hz = 250'000'000;  // CLOCK_HZ (the cosim core clock)
    uint32_t dir_capacity = 0;        // DIR_CAPACITY (a build parameter; 0: no directory, the mock)
    uint32_t io_contexts = 0;         // IO_CONTEXTS, IO_SLOTS (build parameters; 0: no I/O unit)
    uint32_t io_slots = 0;
    uint32_t hepc_rings = 0;          // HEPC_RINGS (build parameters; 0 with no directory)
  };

  static constexpr unsigned kNumQueues = regs::kQCtrlInstances;
  static constexpr unsigned kSizeLog2Max = 12;

  // What the last write() did: applied, refused (and why) or a bus error. For coverage
  // and tests; the register state is the contract, this is only a label.
  enum class Outcome : uint8_t {
    kApplied,          // took effect (including a no-op re-enable, see kReenableSame)
    kBusError,         // unaligned, unmapped, partial strobe or read-only: SLVERR/DECERR
    kStepBackwards,    // STEP_HI commit below the current step
    kStepZero,         // STEP_INC of 0
    kQcfgEnabled,      // base register write to an enabled queue
    kQcfgMisaligned,   // base LO with its must-be-zero bits set
    kQcfgSize,         // ENABLE = 1 to a disabled queue with SIZE_LOG2 outside 1..12
    kQcfgReserved,     // Q_CTRL write with bits outside ENABLE/PROV_EN/SIZE_LOG2
    kQcfgChanged,      // ENABLE = 1 to an enabled queue with other fields changed
    kReenableSame,     // ENABLE = 1 to an enabled queue with the same fields: no-op
    kDbDisabled,       // doorbell to a disabled queue
    kDbRange,          // doorbell value >= 2^SIZE_LOG2 (but < 2^16)
    kDbWide,           // doorbell value with bits above [15:0]
  };

  explicit Bar0Model(Identity id) : id_(id) { reset(); }

  // Device reset: every register to its reset value (identity and pokes of constants stay).
  void reset() {
    scratch_ = regs::kScratchReset;
    control_ = regs::kControlReset;
    intr_mask_ = regs::kIntrMaskReset;
    intr_status_ = regs::kIntrStatusReset;
    err_status_ = regs::kErrStatusReset;
    err_addr_ = 0;
    step_ = 0;
    step_lo_stage_ = 0;
    step_staged_ = false;
    step_count_ = 0;
    time_ = 0;
    queues_.fill(Queue{});
    vectors_.fill(Vector{});
    config_.clear();
    for (const regs::RegInfo& r : regs::kRegisters) {
      if (is_block_config(r)) {
        config_[r.offset] = r.reset;
      }
    }
    last_ = Outcome::kApplied;
  }

  // The blocks' configuration registers (rw): the arbiter's tunables (NARB_*, 0x118..0x1FC)
  // and HEPC's (0x200..0x2FF): plain storage here. The arbiter's counters and the I/O
  // unit's read 0 (no I/O commands). The HEPC counters, gauges and plan FIFO read 0 (no
  // block commands) except HEPC_STEP and HEPC_COUNT_*[0] (ops), which follow the step some
  // cycles later, one directory STEP_ADVANCE per step change or per burst of them: a model
  // of the register file cannot predict them (tests/e2e/test_blocks.cc checks them end to
  // end).
  static bool is_block_config(const regs::RegInfo& r) {
    return r.offset >= regs::kNarbMode && r.offset < regs::kHepcMode + 0x100 && r.access == regs::Access::kRw;
  }
  static bool is_hepc_step_driven(uint32_t addr) {
    return addr == regs::kHepcStep || addr == regs::kHepcCountLoAt(0) || addr == regs::kHepcCountHiAt(0);
  }

  BusResult read(uint32_t addr) {
    ++time_;
    if (addr & 3) {
      error(regs::kErrStatusUnaligned, addr);
      return {0, kRespSlvErr};
    }
    const regs::RegInfo* r = regs::find(addr);
    if (r == nullptr) {
      error(regs::kErrStatusDecerr, addr);
      return {0, kRespDecErr};
    }
    return {peek(addr), kRespOkay};
  }

  // A 32-bit write with byte strobes; returns the response. A write refused by a rule
  // (step, queue configuration, doorbell) is still OKAY on the bus: it was accepted, then
  // ignored, and recorded in ERR_STATUS/ERR_ADDR with its offset.
  uint8_t write(uint32_t addr, uint32_t data, uint8_t strb = 0xF) {
    ++time_;
    last_ = Outcome::kBusError;
    if (addr & 3) {
      error(regs::kErrStatusUnaligned, addr);
      return kRespSlvErr;
    }
    const regs::RegInfo* r = regs::find(addr);
    if (r == nullptr) {
      error(regs::kErrStatusDecerr, addr);
      return kRespDecErr;
    }
    if (strb != 0xF) {
      error(regs::kErrStatusPartial, addr);
      return kRespSlvErr;
    }
    if (r->access == regs::Access::kRo) {
      error(regs::kErrStatusRoWrite, addr);
      return kRespSlvErr;
    }
    last_ = Outcome::kApplied;
    switch (addr) {
      case regs::kScratch: scratch_ = data; break;
      case regs::kControl: control_ = data & r->mask; break;
      case regs::kIntrMask: intr_mask_ = data; break;
      case regs::kIntrStatus: intr_status_ &= ~data; break;
      case regs::kErrStatus: err_status_ &= ~data; break;
      case regs::kStepLo:
        step_lo_stage_ = data;
        step_staged_ = true;
        break;
      case regs::kStepHi: {
        const uint64_t v = (static_cast<uint64_t>(data) << 32) | step_lo_stage_;
        step_staged_ = false;
        if (v < step_) {
          refuse(Outcome::kStepBackwards, regs::kErrStatusStepBackwards, addr);
        } else {
          step_ = v;
          ++step_count_;
        }
        break;
      }
      case regs::kStepInc:
        if (data == 0) {
          refuse(Outcome::kStepZero, regs::kErrStatusStepZero, addr);
        } else {
          step_ += data;
          ++step_count_;
        }
        break;
      default:
        if (is_block_config(*r)) {
          config_[addr] = data & r->mask;
        } else if (addr >= regs::kQSqBaseLo && addr < regs::kSqTailDb) {
          queue_write(addr, data);
        } else if (addr >= regs::kSqTailDb && addr < regs::kMsixAddrLo) {
          doorbell(addr, data);
        } else if (addr >= regs::kMsixAddrLo && addr < regs::kMsixPba) {
          Vector& v = vectors_[(addr - regs::kMsixAddrLo) / regs::kMsixAddrLoStride];
          switch ((addr - regs::kMsixAddrLo) % regs::kMsixAddrLoStride) {
            case 0x0: v.addr_lo = data; break;
            case 0x4: v.addr_hi = data; break;
            case 0x8: v.data = data; break;
            default: v.ctrl = data & regs::kMsixCtrlMask.mask(); break;
          }
        }
        break;
    }
    return kRespOkay;
  }

  // What a read of a mapped, aligned `addr` returns, without side effects.
  uint32_t peek(uint32_t addr) const {
    const regs::RegInfo* r = regs::find(addr);
    if (r == nullptr) {
      return 0;
    }
    if (auto it = forced_.find(addr); it != forced_.end()) {
      return it->second & r->mask;
    }
    return value(addr) & r->mask;
  }

  // For tests of software above the device: set the state behind a register (a step half,
  // STEP_COUNT, a rw/w1c register, ERR_ADDR, a queue's Q_COAL, an MSI-X table entry), or
  // force what any other register reads (ID, VERSION, build identity, STATUS, the queue
  // counters, MSIX_PBA, queue configuration) — e.g. to present a foreign device.
  void poke(uint32_t addr, uint32_t v) {
    switch (addr) {
      case regs::kStepLo: step_ = (step_ & ~0xFFFFFFFFull) | v; break;
      case regs::kStepHi: step_ = (step_ & 0xFFFFFFFFull) | (static_cast<uint64_t>(v) << 32); break;
      case regs::kStepCount: step_count_ = v; break;
      case regs::kScratch: scratch_ = v; break;
      case regs::kControl: control_ = v; break;
      case regs::kIntrMask: intr_mask_ = v; break;
      case regs::kIntrStatus: intr_status_ = v; break;
      case regs::kErrStatus: err_status_ = v; break;
      case regs::kErrAddr: err_addr_ = v; break;
      default:
        if (const regs::RegInfo* r = regs::find(addr);
            r != nullptr && r->access == regs::Access::kRw && addr >= regs::kQSqBaseLo) {
          write_state(addr, v);  // Q_COAL, MSIX_*: the stored value
        } else {
          forced_[addr] = v;
        }
        break;
    }
  }

  // A host-memory access got SLVERR/DECERR (SQE fetch, DMA read: HOST_RD; CQE, record, DMA
  // write: HOST_WR). It has no BAR offset: from all-clear it records ERR_ADDR 0xFFFFFFFF.
  void host_memory_error(bool write) {
    error(write ? regs::kErrStatusHostWr : regs::kErrStatusHostRd, 0xFFFFFFFFu);
  }

  // Lets `cycles` device clock cycles pass (TIME_LO/HI).
  void advance(uint64_t cycles) { time_ += cycles; }

  uint64_t step() const { return step_; }
  uint64_t time() const { return time_; }
  Outcome last_outcome() const { return last_; }
  bool queue_enabled(unsigned q) const { return queues_.at(q).enabled; }
  unsigned queue_size_log2(unsigned q) const { return queues_.at(q).size_log2; }
  // The last accepted doorbell values of queue q (0 while disabled).
  uint16_t sq_tail(unsigned q) const { return queues_.at(q).sq_tail; }
  uint16_t cq_head(unsigned q) const { return queues_.at(q).cq_head; }

 private:
  struct Queue {
    uint64_t sq_base = 0, cq_base = 0, prov_base = 0;
    bool enabled = false, prov_en = false;
    uint32_t size_log2 = 0;  // SIZE_LOG2 as last accepted (4 bits)
    uint16_t sq_tail = 0, cq_head = 0;
    uint32_t coal = regs::kQCoalReset;
    uint32_t ctrl() const {
      uint32_t c = regs::kQCtrlEnable.put(0, enabled ? 1 : 0);
      c = regs::kQCtrlProvEn.put(c, prov_en ? 1 : 0);
      return regs::kQCtrlSizeLog2.put(c, size_log2);
    }
  };
  struct Vector {
    uint32_t addr_lo = regs::kMsixAddrLoReset, addr_hi = regs::kMsixAddrHiReset;
    uint32_t data = regs::kMsixDataReset, ctrl = regs::kMsixCtrlReset;
  };

  static void set_half(uint64_t& v, bool hi, uint32_t half) {
    v = hi ? ((v & 0xFFFFFFFFull) | (static_cast<uint64_t>(half) << 32))
           : ((v & ~0xFFFFFFFFull) | half);
  }

  // Q_* registers of queue q at 0x400 + 0x40*q (docs/host-interface.md "Queues").
  void queue_write(uint32_t addr, uint32_t data) {
    Queue& q = queues_[(addr - regs::kQSqBaseLo) / regs::kQSqBaseLoStride];
    const uint32_t reg = regs::kQSqBaseLo + (addr - regs::kQSqBaseLo) % regs::kQSqBaseLoStride;
    uint64_t* base = nullptr;
    bool hi = false;
    uint32_t must_be_zero = 0;
    switch (reg) {
      case regs::kQSqBaseLo: base = &q.sq_base; must_be_zero = 0x3F; break;
      case regs::kQSqBaseHi: base = &q.sq_base; hi = true; break;
      case regs::kQCqBaseLo: base = &q.cq_base; must_be_zero = 0xF; break;
      case regs::kQCqBaseHi: base = &q.cq_base; hi = true; break;
      case regs::kQProvBaseLo: base = &q.prov_base; must_be_zero = 0x3F; break;
      case regs::kQProvBaseHi: base = &q.prov_base; hi = true; break;
      case regs::kQCtrl: ctrl_write(q, addr, data); return;
      case regs::kQCoal: q.coal = data; return;
      default: return;  // Q_STATUS, Q_CPL_COUNT, Q_IRQ_COUNT are ro (answered above)
    }
    if (q.enabled) {
      refuse(Outcome::kQcfgEnabled, regs::kErrStatusQcfg, addr);
    } else if ((data & must_be_zero) != 0) {
      refuse(Outcome::kQcfgMisaligned, regs::kErrStatusQcfg, addr);
    } else {
      set_half(*base, hi, data);
    }
  }

  void ctrl_write(Queue& q, uint32_t addr, uint32_t data) {
    const uint32_t fields = regs::kQCtrlEnable.mask() | regs::kQCtrlProvEn.mask() |
                            regs::kQCtrlSizeLog2.mask();
    const bool enable = regs::kQCtrlEnable.get(data) != 0;
    const uint32_t size = regs::kQCtrlSizeLog2.get(data);
    if ((data & ~fields) != 0) {
      refuse(Outcome::kQcfgReserved, regs::kErrStatusQcfg, addr);
      return;
    }
    if (enable && q.enabled) {
      if (data != q.ctrl()) {
        refuse(Outcome::kQcfgChanged, regs::kErrStatusQcfg, addr);
      } else {
        last_ = Outcome::kReenableSame;
      }
      return;
    }
    if (enable && (size < 1 || size > kSizeLog2Max)) {
      refuse(Outcome::kQcfgSize, regs::kErrStatusQcfg, addr);
      return;
    }
    // Enable of a disabled queue, or ENABLE = 0: at once, with the fields of the write. A
    // disabled queue is empty (head = tail = 0, phase 1, Q_CPL_COUNT = 0).
    q.enabled = enable;
    q.prov_en = regs::kQCtrlProvEn.get(data) != 0;
    q.size_log2 = size;
    if (!enable) {
      q.sq_tail = 0;
      q.cq_head = 0;
    }
  }

  // SQ_TAIL_DB[q] at 0x1000 + 8*q, CQ_HEAD_DB[q] at 0x1004 + 8*q.
  void doorbell(uint32_t addr, uint32_t data) {
    Queue& q = queues_[(addr - regs::kSqTailDb) / regs::kSqTailDbStride];
    const bool is_cq = (addr - regs::kSqTailDb) % regs::kSqTailDbStride != 0;
    if ((data >> 16) != 0) {
      refuse(Outcome::kDbWide, regs::kErrStatusBadDoorbell, addr);
    } else if (!q.enabled) {
      refuse(Outcome::kDbDisabled, regs::kErrStatusBadDoorbell, addr);
    } else if (data >= (1u << q.size_log2)) {
      refuse(Outcome::kDbRange, regs::kErrStatusBadDoorbell, addr);
    } else {
      (is_cq ? q.cq_head : q.sq_tail) = static_cast<uint16_t>(data);
    }
  }

  // Sets the stored value of an rw register in the queue or MSI-X blocks.
  void write_state(uint32_t addr, uint32_t v) {
    if (addr < regs::kSqTailDb) {
      queues_[(addr - regs::kQSqBaseLo) / regs::kQSqBaseLoStride].coal = v;
      return;
    }
    Vector& e = vectors_[(addr - regs::kMsixAddrLo) / regs::kMsixAddrLoStride];
    switch ((addr - regs::kMsixAddrLo) % regs::kMsixAddrLoStride) {
      case 0x0: e.addr_lo = v; break;
      case 0x4: e.addr_hi = v; break;
      case 0x8: e.data = v; break;
      default: e.ctrl = v; break;
    }
  }

  uint32_t value(uint32_t addr) const {
    switch (addr) {
      case regs::kId: return regs::kIdValue;
      case regs::kVersion: return regs::kVersionValue;
      case regs::kCapabilities:
        return regs::kCapabilitiesHif.put(regs::kCapabilitiesStep.put(0, 1), 1);
      case regs::kGitHash: return id_.git_hash;
      case regs::kBuildDate: return id_.build_date;
      case regs::kBoardId: return id_.board_id;
      case regs::kScratch: return scratch_;
      case regs::kStepLo: return static_cast<uint32_t>(step_);
      case regs::kStepHi: return static_cast<uint32_t>(step_ >> 32);
      case regs::kStepCount: return step_count_;
      case regs::kControl: return control_;
      case regs::kStatus: {
        uint32_t s = regs::kStatusReady.put(0, 1);
        s = regs::kStatusStepStaged.put(s, step_staged_);
        return regs::kStatusErr.put(s, err_status_ != 0);
      }
      case regs::kErrStatus: return err_status_;
      case regs::kErrAddr: return err_addr_;
      case regs::kIntrStatus: return intr_status_;
      case regs::kIntrMask: return intr_mask_;
      case regs::kTimeLo: return static_cast<uint32_t>(time_);
      case regs::kTimeHi: return static_cast<uint32_t>(time_ >> 32);
      case regs::kClockHz: return id_.clock_hz;
      case regs::kDirCapacity: return id_.dir_capacity;
      case regs::kHepcRings: return id_.hepc_rings;
      case regs::kIoContexts: return id_.io_contexts;
      case regs::kIoSlots: return id_.io_slots;
      case regs::kNarbStatus:
        // no I/O: nothing outstanding; the adaptive controller is not modelled, so with it
        // off or observing the budgets in force are the tunables
        return regs::kNarbStatusPrefetchBudget.put(
            regs::kNarbStatusDecodeBudget.put(0, config_.at(regs::kNarbDecodeBudget)),
            config_.at(regs::kNarbPrefetchBudget));
      default: break;
    }
    if (auto it = config_.find(addr); it != config_.end()) {
      return it->second;
    }
    if (addr >= regs::kQSqBaseLo && addr < regs::kSqTailDb) {
      const Queue& q = queues_[(addr - regs::kQSqBaseLo) / regs::kQSqBaseLoStride];
      switch (regs::kQSqBaseLo + (addr - regs::kQSqBaseLo) % regs::kQSqBaseLoStride) {
        case regs::kQSqBaseLo: return static_cast<uint32_t>(q.sq_base);
        case regs::kQSqBaseHi: return static_cast<uint32_t>(q.sq_base >> 32);
        case regs::kQCqBaseLo: return static_cast<uint32_t>(q.cq_base);
        case regs::kQCqBaseHi: return static_cast<uint32_t>(q.cq_base >> 32);
        case regs::kQProvBaseLo: return static_cast<uint32_t>(q.prov_base);
        case regs::kQProvBaseHi: return static_cast<uint32_t>(q.prov_base >> 32);
        case regs::kQCtrl: return q.ctrl();
        case regs::kQCoal: return q.coal;
        default: return 0;  // Q_STATUS, Q_CPL_COUNT, Q_IRQ_COUNT: nothing fetched or posted
      }
    }
    if (addr >= regs::kMsixAddrLo && addr < regs::kMsixPba) {
      const Vector& v = vectors_[(addr - regs::kMsixAddrLo) / regs::kMsixAddrLoStride];
      switch ((addr - regs::kMsixAddrLo) % regs::kMsixAddrLoStride) {
        case 0x0: return v.addr_lo;
        case 0x4: return v.addr_hi;
        case 0x8: return v.data;
        default: return v.ctrl;
      }
    }
    return 0;  // STEP_INC, doorbells (write-only), HINT_COUNT, DIR_* counters (no block commands),
               // IO_* and NARB_* counters (no I/O commands), MSIX_PBA
  }

  void error(const regs::Field& bit, uint32_t addr) {
    if (err_status_ == 0) {
      err_addr_ = addr;
    }
    err_status_ |= bit.mask();
  }

  void refuse(Outcome why, const regs::Field& bit, uint32_t addr) {
    last_ = why;
    error(bit, addr);
  }

  Identity id_;
  std::map<uint32_t, uint32_t> forced_;
  uint32_t scratch_, control_, intr_mask_, intr_status_, err_status_, err_addr_;
  uint64_t step_;
  uint32_t step_lo_stage_;
  bool step_staged_;
  uint32_t step_count_;
  uint64_t time_;
  std::array<Queue, kNumQueues> queues_;
  std::array<Vector, kNumQueues> vectors_;
  std::map<uint32_t, uint32_t> config_;  // the blocks' configuration registers (is_block_config)
  Outcome last_;
};

}  // namespace kvcpu
