// SsdModel: an NVMe SSD behind one submission port, driven by simulated time in nanoseconds.
// Channels x dies with read/program/erase latencies and per-die FIFO queuing, serialised
// channel and host-link transfers, a write buffer, sparse data storage (what is read back is
// what was written) and fault injection. Calibrated preset: Samsung 970 PRO as NVMeVirt
// publishes it (docs/ssd-model.md has the numbers, their source and what the model leaves out).
//
// Use (the cosim server's NVMe port):
//   auto m = SsdModel::Create(SsdConfig::Samsung970Pro());   // nullptr + message if invalid
//   SubmitResult r = m->Submit(sqe, write_data_or_dsm_ranges, now_ns);
//   while (auto t = m->NextEventTime()) { for (auto& c : m->Advance(*t)) post(c.cqe, c.data); }
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "nvme.h"

namespace kvcpu::nvme {

struct SsdConfig {
  std::string name = "custom";
  // Geometry.
  uint32_t channels = 8;
  uint32_t dies_per_channel = 2;
  uint32_t lba_bytes = 4096;          // the only supported LBA format
  uint32_t page_bytes = 32768;        // flash page: the unit of one NAND read/program
  uint32_t pages_per_block = 128;     // programs per die between two erases (see t_erase_ns)
  uint64_t capacity_lbas = 1u << 20;  // namespace size (NSZE)
  uint32_t nsid = 1;                  // the one namespace
  uint16_t sq_id = 1;                 // reported in every CQE
  uint32_t max_transfer_lbas = 64;    // MDTS: larger Read/Write -> Invalid Field
  uint32_t max_queue_depth = 1024;    // commands in flight (incl. hung ones) before kQueueFull
  // NAND timing (ns). A NAND read of one LBA takes t_read_4k_ns, of more t_read_page_ns;
  // pages alternate LSB/MSB within a die (even page LSB: -spread, odd page MSB: +spread).
  uint64_t t_read_4k_ns = 35760;
  uint64_t t_read_page_ns = 36013;
  uint64_t t_read_spread_ns = 0;
  uint64_t t_prog_ns = 185000;
  uint64_t t_erase_ns = 0;
  // Bandwidths in MB/s (10^6 bytes/s); a transfer of B bytes takes ceil(B * 1000 / MBps) ns.
  uint32_t channel_mbps = 800;
  uint32_t host_link_mbps = 3360;  // per direction (PCIe is full duplex)
  // Firmware overheads (ns).
  uint64_t fw_read_4k_ns = 21500;      // a one-LBA read
  uint64_t fw_read_ns = 30490;         // a longer read
  uint64_t fw_write_ns = 4000;         // per write command ...
  uint64_t fw_write_per_lba_ns = 460;  // ... plus per LBA
  uint64_t fw_dsm_ns = 4000;           // a Dataset Management command
  // Write buffer (bytes, a multiple of lba_bytes, >= max_transfer_lbas LBAs).
  uint64_t write_buffer_bytes = 1 << 20;
  // Reads of never-written or deallocated LBAs return zeros; with this set they still cost a
  // NAND read (a preconditioned drive), else only firmware time and the host transfer.
  bool unmapped_reads_use_nand = false;

  // The calibrated preset: Samsung 970 PRO 512 GB (NVMeVirt ssd_config.h, BASE_SSD ==
  // SAMSUNG_970PRO; see docs/ssd-model.md).
  static SsdConfig Samsung970Pro();
  // Empty when valid, else what is wrong.
  std::string Validate() const;

  uint32_t lbas_per_page() const { return page_bytes / lba_bytes; }
  uint32_t dies() const { return channels * dies_per_channel; }
};

// Fault injection. Counts are 1-based (every_n = 3: the 3rd, 6th, ... qualifying command).
struct SsdFaults {
  // Media error (SCT 2 / SC 0x81 Unrecovered Read Error, no data) on a read that reads NAND:
  uint64_t read_error_every_n = 0;     // every Nth NAND-reading read command
  std::set<uint64_t> read_error_lbas;  // any of these LBAs read from NAND
  double read_error_rate = 0.0;        // probability per NAND-reading read (seeded RNG)
  // Write Fault (SCT 2 / SC 0x80) on a write touching one of these LBAs; nothing is stored.
  std::set<uint64_t> write_fault_lbas;
  // Command timeout: the command is accepted but never completes and has no effect; its CID
  // stays in flight until Abort(). Every Nth accepted command, or any touching these LBAs.
  uint64_t timeout_every_n = 0;
  std::set<uint64_t> timeout_lbas;
};

// One completion: its CQE (phase tag 0; the poster into a CQ ring sets the phase), the time
// it became due, and for a successful read the data (nblocks * lba_bytes bytes).
struct SsdCompletion {
  uint64_t time_ns = 0;
  Cqe cqe;
  std::vector<uint8_t> data;
};

enum class SubmitOutcome : uint8_t {
  kAccepted,       // completes later through Advance() (or never, if a timeout was injected)
  kRejected,       // `cqe` holds the error completion; the command had no effect
  kQueueFull,      // max_queue_depth commands in flight: nothing consumed, submit again later
  kTimeBackwards,  // now_ns is before the model's current time: nothing consumed
};

struct [[nodiscard]] SubmitResult {
  SubmitOutcome outcome = SubmitOutcome::kAccepted;
  Cqe cqe;  // valid for kRejected
};

struct SsdStats {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t dsms = 0;
  uint64_t nand_reads = 0;  // NAND read operations (one per flash page touched)
  uint64_t nand_programs = 0;
  uint64_t nand_erases = 0;
  uint64_t buffer_read_hits = 0;    // LBAs served from the write buffer
  uint64_t write_buffer_waits = 0;  // writes that waited for buffer space
  uint64_t media_errors = 0;
  uint64_t write_faults = 0;
  uint64_t timeouts = 0;
  uint64_t lbas_deallocated = 0;
  std::map<uint32_t, uint64_t> writes_by_placement;  // (dtype << 16 | dspec) -> writes
};

class SsdModel {
 public:
  // nullptr when the config is invalid (the reason in *error when given).
  static std::unique_ptr<SsdModel> Create(const SsdConfig& config, const SsdFaults& faults = {},
                                          uint64_t seed = 1, std::string* error = nullptr);
  ~SsdModel();
  SsdModel(const SsdModel&) = delete;
  SsdModel& operator=(const SsdModel&) = delete;

  // Takes one SQE at simulated time now_ns (>= every earlier now_ns). `data` is the host
  // memory the command's data pointer names: the write data (exactly nblocks * lba_bytes) or
  // the DSM range list (at least (NR+1) * 16 bytes); ignored for reads.
  SubmitResult Submit(const Sqe& sqe, std::span<const uint8_t> data, uint64_t now_ns);

  // Earliest time a completion is due; nullopt when none is pending (hung commands never are).
  std::optional<uint64_t> NextEventTime() const;

  // Completions due at or before now_ns, in (time, submission) order; moves the model's time
  // to now_ns if that is later. (Completions are fixed at submission, so collecting overdue
  // ones late, with a now_ns before the model's time, changes nothing else.)
  std::vector<SsdCompletion> Advance(uint64_t now_ns);

  // The host aborted command `cid` (e.g. after its timeout): if it is in flight, it completes
  // now with Command Abort Requested and its CID is free again (effects of an aborted write or
  // deallocate that was not hung may already have happened, as NVMe allows).
  std::optional<SsdCompletion> Abort(uint16_t cid, uint64_t now_ns);

  const SsdConfig& config() const { return cfg_; }
  const SsdStats& stats() const { return stats_; }
  uint64_t now() const { return now_; }
  uint32_t in_flight() const { return static_cast<uint32_t>(in_flight_.size()); }

  // Static mapping used for queuing: LBA -> flash page -> (channel, die, page within die).
  struct Location {
    uint32_t channel = 0;
    uint32_t die = 0;   // within the channel
    uint64_t page = 0;  // within the die
  };
  Location Locate(uint64_t lba) const;
  // When the die holding `lba` finishes the operations queued on it so far (diagnostics:
  // kvbench reports how long a read finds its die busy).
  uint64_t DieFreeAt(uint64_t lba) const;
  // ceil(bytes * 1000 / mbps)
  static uint64_t TransferNs(uint64_t bytes, uint32_t mbps);

 private:
  class Timeline;
  struct Stored;
  struct Pending;

  SsdModel(const SsdConfig& config, const SsdFaults& faults, uint64_t seed);

  Status Validate(const Sqe& sqe, std::span<const uint8_t> data,
                  std::vector<DsmRange>* ranges) const;
  bool Touches(const Sqe& sqe, const std::vector<DsmRange>& ranges,
               const std::set<uint64_t>& lbas) const;
  void Prune(uint64_t now_ns);
  uint64_t ExecRead(const Sqe& sqe, uint64_t now_ns, Status* status, std::vector<uint8_t>* data);
  uint64_t ExecWrite(const Sqe& sqe, std::span<const uint8_t> data, uint64_t now_ns,
                     Status* status);
  uint64_t ExecDsm(const Sqe& sqe, const std::vector<DsmRange>& ranges, uint64_t now_ns);
  // One die operation; returns when the die (and its channel transfer) is done.
  uint64_t NandRead(uint64_t lba, uint32_t nlbas, uint64_t ready);
  uint64_t NandProgram(uint64_t lba, uint32_t nlbas, uint64_t ready);
  double NextUniform();

  SsdConfig cfg_;
  SsdFaults faults_;
  uint64_t rng_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t nand_read_cmds_ = 0;
  SsdStats stats_;
  uint16_t sqhd_ = 0;

  std::vector<uint64_t> die_free_;                  // per die (channel * dies_per_channel + die)
  std::vector<uint64_t> die_programs_;              // programs since the last erase, per die
  std::vector<std::unique_ptr<Timeline>> channel_;  // per channel
  std::unique_ptr<Timeline> link_to_host_;
  std::unique_ptr<Timeline> link_from_host_;
  // Write buffer: one entry per occupied LBA slot, the time it is released (programmed).
  std::multiset<uint64_t> wbuf_release_;
  uint64_t wbuf_slots_;
  uint64_t last_admit_ = 0;  // FIFO admission of writes into the buffer

  std::unordered_map<uint64_t, std::unique_ptr<Stored>> store_;  // LBA -> data
  std::map<std::pair<uint64_t, uint64_t>, Pending> pending_;     // (time, seq) -> completion
  // CID -> key in pending_, or nullopt for a hung (timed-out) command.
  std::unordered_map<uint16_t, std::optional<std::pair<uint64_t, uint64_t>>> in_flight_;
};

}  // namespace kvcpu::nvme
