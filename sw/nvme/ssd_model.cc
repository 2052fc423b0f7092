#include "ssd_model.h"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace kvcpu::nvme {

// A resource used by one transfer at a time (a NAND channel, one direction of the host
// link): busy intervals [start, end), non-overlapping, sorted. A reservation takes the
// earliest gap at or after its ready time that is long enough, so a transfer booked later
// can still use an idle gap before an earlier booking (the channel is idle there in reality).
class SsdModel::Timeline {
 public:
  uint64_t Reserve(uint64_t ready, uint64_t dur) {
    if (dur == 0) {
      return ready;
    }
    uint64_t start = ready;
    auto it = busy_.upper_bound(start);
    if (it != busy_.begin()) {
      auto prev = std::prev(it);
      if (prev->second > start) {
        start = prev->second;
      }
    }
    while (it != busy_.end() && it->first < start + dur) {
      start = std::max(start, it->second);
      ++it;
    }
    // Merge with touching neighbours to keep the map small.
    uint64_t s = start;
    uint64_t e = start + dur;
    auto next = busy_.find(e);
    if (next != busy_.end()) {
      e = next->second;
      busy_.erase(next);
    }
    auto after = busy_.upper_bound(s);
    if (after != busy_.begin()) {
      auto prev = std::prev(after);
      if (prev->second == s) {
        s = prev->first;
        busy_.erase(prev);
      }
    }
    busy_[s] = e;
    return start;
  }
  // Forgets intervals that ended at or before t (no reservation is ever ready before now).
  void Prune(uint64_t t) {
    while (!busy_.empty() && busy_.begin()->second <= t) {
      busy_.erase(busy_.begin());
    }
  }

 private:
  std::map<uint64_t, uint64_t> busy_;
};

struct SsdModel::Stored {
  std::vector<uint8_t> data;
  uint64_t buffered_from = 0;   // the write's data is in the buffer from here ...
  uint64_t buffered_until = 0;  // ... until its program completes
};

struct SsdModel::Pending {
  SsdCompletion completion;
};

SsdConfig SsdConfig::Samsung970Pro() {
  SsdConfig c;
  c.name = "Samsung 970 PRO 512GB (NVMeVirt calibration)";
  c.channels = 8;          // NAND_CHANNELS
  c.dies_per_channel = 2;  // LUNS_PER_NAND_CH
  c.lba_bytes = 4096;
  c.page_bytes = 32768;  // FLASH_PAGE_SIZE KB(32)
  c.pages_per_block = 128;
  c.capacity_lbas = 125026902;  // 512,110,190,592 bytes / 4096
  c.max_transfer_lbas = 64;     // MDTS 6: 2^6 * 4 KiB
  c.max_queue_depth = 1024;
  c.t_read_4k_ns = 35760;    // NAND_4KB_READ_LATENCY_{LSB,MSB} = 35760 -/+ 6000
  c.t_read_page_ns = 36013;  // NAND_READ_LATENCY_{LSB,MSB} = 36013 -/+ 6000
  c.t_read_spread_ns = 6000;
  c.t_prog_ns = 185000;                         // NAND_PROG_LATENCY
  c.t_erase_ns = 0;                             // NAND_ERASE_LATENCY (0 in the calibration)
  c.channel_mbps = 800;                         // NAND_CHANNEL_BANDWIDTH
  c.host_link_mbps = 3360;                      // PCIE_BANDWIDTH
  c.fw_read_4k_ns = 21500;                      // FW_4KB_READ_LATENCY
  c.fw_read_ns = 30490;                         // FW_READ_LATENCY
  c.fw_write_ns = 4000;                         // FW_WBUF_LATENCY0
  c.fw_write_per_lba_ns = 460;                  // FW_WBUF_LATENCY1 (per 4 KiB)
  c.fw_dsm_ns = 4000;                           // not calibrated: taken equal to FW_WBUF_LATENCY0
  c.write_buffer_bytes = 8ull * 2 * 32768 * 2;  // GLOBAL_WB_SIZE = 1 MiB
  return c;
}

std::string SsdConfig::Validate() const {
  if (channels == 0 || dies_per_channel == 0) {
    return "channels and dies_per_channel must be >= 1";
  }
  if (lba_bytes != 4096) {
    return "lba_bytes must be 4096";
  }
  if (page_bytes == 0 || page_bytes % lba_bytes != 0) {
    return "page_bytes must be a non-zero multiple of lba_bytes";
  }
  if (capacity_lbas == 0 || capacity_lbas > (uint64_t{1} << 48)) {
    return "capacity_lbas must be 1 ..= 2^48";
  }
  if (nsid == 0 || nsid == 0xFFFFFFFF) {
    return "nsid must be 1 ..= 0xFFFFFFFE";
  }
  if (max_transfer_lbas == 0 || max_transfer_lbas > 65536) {
    return "max_transfer_lbas must be 1 ..= 65536";
  }
  if (max_queue_depth == 0 || max_queue_depth > 65535) {
    return "max_queue_depth must be 1 ..= 65535";
  }
  if (t_read_spread_ns > t_read_4k_ns || t_read_spread_ns > t_read_page_ns) {
    return "t_read_spread_ns must not exceed the read latencies";
  }
  if (channel_mbps == 0 || host_link_mbps == 0) {
    return "bandwidths must be >= 1 MB/s";
  }
  if (write_buffer_bytes % lba_bytes != 0 || write_buffer_bytes / lba_bytes < max_transfer_lbas) {
    return "write_buffer_bytes must be a multiple of lba_bytes holding max_transfer_lbas LBAs";
  }
  return {};
}

std::unique_ptr<SsdModel> SsdModel::Create(const SsdConfig& config, const SsdFaults& faults,
                                           uint64_t seed, std::string* error) {
  std::string why = config.Validate();
  if (why.empty() && (faults.read_error_rate < 0.0 || faults.read_error_rate > 1.0)) {
    why = "read_error_rate must be within [0, 1]";
  }
  if (!why.empty()) {
    if (error != nullptr) {
      *error = why;
    }
    return nullptr;
  }
  return std::unique_ptr<SsdModel>(new SsdModel(config, faults, seed));
}

SsdModel::SsdModel(const SsdConfig& config, const SsdFaults& faults, uint64_t seed)
    : cfg_(config),
      faults_(faults),
      rng_(seed),
      die_free_(config.dies(), 0),
      die_programs_(config.dies(), 0),
      link_to_host_(std::make_unique<Timeline>()),
      link_from_host_(std::make_unique<Timeline>()),
      wbuf_slots_(config.write_buffer_bytes / config.lba_bytes) {
  for (uint32_t c = 0; c < cfg_.channels; ++c) {
    channel_.push_back(std::make_unique<Timeline>());
  }
}

SsdModel::~SsdModel() = default;

uint64_t SsdModel::TransferNs(uint64_t bytes, uint32_t mbps) {
  return (bytes * 1000 + mbps - 1) / mbps;
}

SsdModel::Location SsdModel::Locate(uint64_t lba) const {
  // Flash pages are striped over channels first, then over the dies of a channel:
  // fp = lba / lbas_per_page; channel = fp % channels; die = (fp / channels) % dies;
  // page within the die = fp / (channels * dies).
  const uint64_t fp = lba / cfg_.lbas_per_page();
  Location l;
  l.channel = static_cast<uint32_t>(fp % cfg_.channels);
  l.die = static_cast<uint32_t>((fp / cfg_.channels) % cfg_.dies_per_channel);
  l.page = fp / (uint64_t{cfg_.channels} * cfg_.dies_per_channel);
  return l;
}

double SsdModel::NextUniform() {
  // splitmix64
  uint64_t z = (rng_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

Status SsdModel::Validate(const Sqe& sqe, std::span<const uint8_t> data,
                          std::vector<DsmRange>* ranges) const {
  const uint8_t op = sqe.opcode();
  const bool rw =
      op == static_cast<uint8_t>(Opcode::kRead) || op == static_cast<uint8_t>(Opcode::kWrite);
  const bool dsm = op == static_cast<uint8_t>(Opcode::kDatasetManagement);
  if (!rw && !dsm) {
    return kInvalidOpcode;
  }
  if (sqe.fuse() != 0 || sqe.psdt() != 0) {
    return kInvalidField;  // no fused operations, PRPs only
  }
  if (sqe.nsid != cfg_.nsid) {
    return kInvalidNamespace;
  }
  if (rw) {
    if (sqe.prinfo() != 0) {
      return kInvalidField;  // formatted without protection information
    }
    const uint8_t dtype = sqe.dtype();
    if (op == static_cast<uint8_t>(Opcode::kRead) ? dtype != 0 : dtype > 2) {
      return kInvalidField;  // directives on writes only: Streams (1), Data Placement (2)
    }
    if (sqe.nblocks() > cfg_.max_transfer_lbas) {
      return kInvalidField;  // exceeds MDTS
    }
    const uint64_t slba = sqe.slba();
    if (slba >= cfg_.capacity_lbas || sqe.nblocks() > cfg_.capacity_lbas - slba) {
      return kLbaOutOfRange;
    }
    if (op == static_cast<uint8_t>(Opcode::kWrite) &&
        data.size() != uint64_t{sqe.nblocks()} * cfg_.lba_bytes) {
      return kDataTransferError;
    }
    return kSuccess;
  }
  if ((sqe.cdw10 & ~0xFFu) != 0) {
    return kInvalidField;
  }
  auto parsed = DsmRangesFromBytes(data, sqe.dsm_nranges());
  if (!parsed) {
    return kDataTransferError;
  }
  if (sqe.dsm_deallocate()) {
    for (const DsmRange& r : *parsed) {
      if (r.nlb != 0 && (r.slba >= cfg_.capacity_lbas || r.nlb > cfg_.capacity_lbas - r.slba)) {
        return kLbaOutOfRange;
      }
    }
  }
  *ranges = std::move(*parsed);
  return kSuccess;
}

bool SsdModel::Touches(const Sqe& sqe, const std::vector<DsmRange>& ranges,
                       const std::set<uint64_t>& lbas) const {
  if (lbas.empty()) {
    return false;
  }
  auto hit = [&](uint64_t slba, uint64_t n) {
    auto it = lbas.lower_bound(slba);
    return it != lbas.end() && *it < slba + n;
  };
  if (sqe.opcode() == static_cast<uint8_t>(Opcode::kDatasetManagement)) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const DsmRange& r) { return r.nlb != 0 && hit(r.slba, r.nlb); });
  }
  return hit(sqe.slba(), sqe.nblocks());
}

void SsdModel::Prune(uint64_t now_ns) {
  for (auto& ch : channel_) {
    ch->Prune(now_ns);
  }
  link_to_host_->Prune(now_ns);
  link_from_host_->Prune(now_ns);
  wbuf_release_.erase(wbuf_release_.begin(), wbuf_release_.upper_bound(now_ns));
}

SubmitResult SsdModel::Submit(const Sqe& sqe, std::span<const uint8_t> data, uint64_t now_ns) {
  SubmitResult r;
  if (now_ns < now_) {
    r.outcome = SubmitOutcome::kTimeBackwards;
    return r;
  }
  if (in_flight_.size() >= cfg_.max_queue_depth) {
    r.outcome = SubmitOutcome::kQueueFull;
    return r;
  }
  now_ = now_ns;
  Prune(now_ns);
  ++sqhd_;  // the SQE is consumed from here on

  Cqe cqe;
  cqe.sqid = cfg_.sq_id;
  cqe.sqhd = sqhd_;
  cqe.cid = sqe.cid();

  Status st = kSuccess;
  std::vector<DsmRange> ranges;
  if (in_flight_.contains(sqe.cid())) {
    st = kCommandIdConflict;
  } else {
    st = Validate(sqe, data, &ranges);
  }
  if (!st.ok()) {
    ++stats_.rejected;
    cqe.set_status(st);
    r.outcome = SubmitOutcome::kRejected;
    r.cqe = cqe;
    return r;
  }
  ++stats_.accepted;

  const bool hang =
      (faults_.timeout_every_n != 0 && stats_.accepted % faults_.timeout_every_n == 0) ||
      Touches(sqe, ranges, faults_.timeout_lbas);
  if (hang) {
    ++stats_.timeouts;
    in_flight_[sqe.cid()] = std::nullopt;
    return r;
  }

  SsdCompletion c;
  uint64_t done = now_ns;
  switch (static_cast<Opcode>(sqe.opcode())) {
    case Opcode::kRead:
      ++stats_.reads;
      done = ExecRead(sqe, now_ns, &st, &c.data);
      break;
    case Opcode::kWrite:
      ++stats_.writes;
      done = ExecWrite(sqe, data, now_ns, &st);
      break;
    default:
      ++stats_.dsms;
      done = ExecDsm(sqe, ranges, now_ns);
      break;
  }
  cqe.set_status(st);
  c.cqe = cqe;
  c.time_ns = done;
  const auto key = std::make_pair(done, seq_++);
  pending_[key] = Pending{std::move(c)};
  in_flight_[sqe.cid()] = key;
  return r;
}

uint64_t SsdModel::DieFreeAt(uint64_t lba) const {
  const Location l = Locate(lba);
  return die_free_[l.channel * cfg_.dies_per_channel + l.die];
}

uint64_t SsdModel::NandRead(uint64_t lba, uint32_t nlbas, uint64_t ready) {
  const Location l = Locate(lba);
  const uint32_t d = l.channel * cfg_.dies_per_channel + l.die;
  uint64_t t_r = nlbas == 1 ? cfg_.t_read_4k_ns : cfg_.t_read_page_ns;
  t_r = (l.page % 2 == 0) ? t_r - cfg_.t_read_spread_ns : t_r + cfg_.t_read_spread_ns;
  const uint64_t sense_end = std::max(ready, die_free_[d]) + t_r;
  const uint64_t xfer = TransferNs(uint64_t{nlbas} * cfg_.lba_bytes, cfg_.channel_mbps);
  const uint64_t ch_end = channel_[l.channel]->Reserve(sense_end, xfer) + xfer;
  die_free_[d] = ch_end;  // the die holds the data in its page register until transferred
  ++stats_.nand_reads;
  return ch_end;
}

uint64_t SsdModel::NandProgram(uint64_t lba, uint32_t nlbas, uint64_t ready) {
  const Location l = Locate(lba);
  const uint32_t d = l.channel * cfg_.dies_per_channel + l.die;
  const uint64_t start = std::max(ready, die_free_[d]);
  const uint64_t xfer = TransferNs(uint64_t{nlbas} * cfg_.lba_bytes, cfg_.channel_mbps);
  const uint64_t ch_end = channel_[l.channel]->Reserve(start, xfer) + xfer;
  uint64_t end = ch_end + cfg_.t_prog_ns;
  ++stats_.nand_programs;
  const uint64_t programmed = end;  // the data is on NAND here
  if (cfg_.pages_per_block != 0 && ++die_programs_[d] == cfg_.pages_per_block) {
    // The die filled a block: the next one is erased before the die takes more work.
    die_programs_[d] = 0;
    if (cfg_.t_erase_ns != 0) {
      end += cfg_.t_erase_ns;
      ++stats_.nand_erases;
    }
  }
  die_free_[d] = end;
  return programmed;
}

uint64_t SsdModel::ExecRead(const Sqe& sqe, uint64_t now_ns, Status* status,
                            std::vector<uint8_t>* data) {
  const uint64_t slba = sqe.slba();
  const uint32_t n = sqe.nblocks();
  const uint64_t lb = cfg_.lba_bytes;
  const uint64_t t0 = now_ns + (n == 1 ? cfg_.fw_read_4k_ns : cfg_.fw_read_ns);
  data->assign(n * lb, 0);

  // Which LBAs come from NAND; the rest (write buffer, unmapped) are ready without it.
  std::vector<bool> from_nand(n, false);
  uint64_t other_ready = 0;
  bool any_other = false;
  bool media_hit = false;
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t lba = slba + i;
    auto it = store_.find(lba);
    if (it != store_.end()) {
      std::memcpy(data->data() + i * lb, it->second->data.data(), lb);
      if (t0 < it->second->buffered_until) {
        ++stats_.buffer_read_hits;
        other_ready = std::max(other_ready, std::max(t0, it->second->buffered_from));
        any_other = true;
        continue;
      }
      from_nand[i] = true;
    } else if (cfg_.unmapped_reads_use_nand) {
      from_nand[i] = true;
    } else {
      other_ready = std::max(other_ready, t0);
      any_other = true;
      continue;
    }
    media_hit = media_hit || faults_.read_error_lbas.contains(lba);
  }

  uint64_t done = t0;
  bool any_nand = false;
  // One NAND read per run of LBAs of the same flash page; each page's data goes to the host
  // as soon as it leaves the channel.
  for (uint32_t i = 0; i < n;) {
    if (!from_nand[i]) {
      ++i;
      continue;
    }
    const uint64_t page = (slba + i) / cfg_.lbas_per_page();
    uint32_t j = i;
    while (j < n && from_nand[j] && (slba + j) / cfg_.lbas_per_page() == page) {
      ++j;
    }
    any_nand = true;
    const uint64_t ch_end = NandRead(slba + i, j - i, t0);
    const uint64_t x = TransferNs((j - i) * lb, cfg_.host_link_mbps);
    done = std::max(done, link_to_host_->Reserve(ch_end, x) + x);
    i = j;
  }
  if (any_other) {
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; ++i) {
      bytes += from_nand[i] ? 0 : lb;
    }
    const uint64_t x = TransferNs(bytes, cfg_.host_link_mbps);
    done = std::max(done, link_to_host_->Reserve(other_ready, x) + x);
  }

  if (any_nand) {
    ++nand_read_cmds_;
    bool err = media_hit;
    if (faults_.read_error_every_n != 0 && nand_read_cmds_ % faults_.read_error_every_n == 0) {
      err = true;
    }
    if (faults_.read_error_rate > 0.0 && NextUniform() < faults_.read_error_rate) {
      err = true;
    }
    if (err) {
      ++stats_.media_errors;
      *status = kUnrecoveredReadError;
      data->clear();
    }
  }
  return done;
}

uint64_t SsdModel::ExecWrite(const Sqe& sqe, std::span<const uint8_t> data, uint64_t now_ns,
                             Status* status) {
  const uint64_t slba = sqe.slba();
  const uint32_t n = sqe.nblocks();
  const uint64_t lb = cfg_.lba_bytes;
  const uint32_t placement = (uint32_t{sqe.dtype()} << 16) | (sqe.dtype() != 0 ? sqe.dspec() : 0);
  ++stats_.writes_by_placement[placement];

  // Admission into the write buffer, in submission order: wait until n slots are free.
  uint64_t admit = std::max(now_ns, last_admit_);
  wbuf_release_.erase(wbuf_release_.begin(), wbuf_release_.upper_bound(admit));
  if (wbuf_release_.size() + n > wbuf_slots_) {
    const uint64_t need = wbuf_release_.size() + n - wbuf_slots_;
    auto it = std::next(wbuf_release_.begin(), static_cast<std::ptrdiff_t>(need - 1));
    admit = *it;
    wbuf_release_.erase(wbuf_release_.begin(), std::next(it));
    ++stats_.write_buffer_waits;
  }
  last_admit_ = admit;

  // Firmware, then the data comes over the host link into the buffer: the write is done.
  const uint64_t t1 = admit + cfg_.fw_write_ns + cfg_.fw_write_per_lba_ns * n;
  const uint64_t x = TransferNs(n * lb, cfg_.host_link_mbps);
  const uint64_t acked = link_from_host_->Reserve(t1, x) + x;

  if (Touches(sqe, {}, faults_.write_fault_lbas)) {
    ++stats_.write_faults;
    *status = kWriteFault;
    // The slots were taken while the data came in; they are free again at the ack.
    for (uint32_t i = 0; i < n; ++i) {
      wbuf_release_.insert(acked);
    }
    return acked;
  }

  // Programmed later: one program per run of LBAs of the same flash page.
  for (uint32_t i = 0; i < n;) {
    const uint64_t page = (slba + i) / cfg_.lbas_per_page();
    uint32_t j = i;
    while (j < n && (slba + j) / cfg_.lbas_per_page() == page) {
      ++j;
    }
    const uint64_t programmed = NandProgram(slba + i, j - i, acked);
    for (uint32_t k = i; k < j; ++k) {
      wbuf_release_.insert(programmed);
      auto& slot = store_[slba + k];
      if (!slot) {
        slot = std::make_unique<Stored>();
      }
      slot->data.assign(data.begin() + static_cast<std::ptrdiff_t>(k * lb),
                        data.begin() + static_cast<std::ptrdiff_t>((k + 1) * lb));
      slot->buffered_from = acked;
      slot->buffered_until = programmed;
    }
    i = j;
  }
  return acked;
}

uint64_t SsdModel::ExecDsm(const Sqe& sqe, const std::vector<DsmRange>& ranges, uint64_t now_ns) {
  // The range list comes over the host link, then firmware updates the mapping.
  const uint64_t x = TransferNs(ranges.size() * sizeof(DsmRange), cfg_.host_link_mbps);
  const uint64_t done = link_from_host_->Reserve(now_ns, x) + x + cfg_.fw_dsm_ns;
  if (sqe.dsm_deallocate()) {
    for (const DsmRange& r : ranges) {
      for (uint64_t i = 0; i < r.nlb; ++i) {
        stats_.lbas_deallocated += store_.erase(r.slba + i);
      }
    }
  }
  return done;
}

std::optional<uint64_t> SsdModel::NextEventTime() const {
  if (pending_.empty()) {
    return std::nullopt;
  }
  return pending_.begin()->first.first;
}

std::vector<SsdCompletion> SsdModel::Advance(uint64_t now_ns) {
  std::vector<SsdCompletion> out;
  if (now_ns > now_) {
    now_ = now_ns;
    Prune(now_ns);
  }
  while (!pending_.empty() && pending_.begin()->first.first <= now_ns) {
    SsdCompletion c = std::move(pending_.begin()->second.completion);
    pending_.erase(pending_.begin());
    in_flight_.erase(c.cqe.cid);
    out.push_back(std::move(c));
  }
  return out;
}

std::optional<SsdCompletion> SsdModel::Abort(uint16_t cid, uint64_t now_ns) {
  auto it = in_flight_.find(cid);
  if (it == in_flight_.end()) {
    return std::nullopt;
  }
  if (it->second) {
    pending_.erase(*it->second);
  }
  in_flight_.erase(it);
  SsdCompletion c;
  c.time_ns = std::max(now_ns, now_);
  c.cqe.sqid = cfg_.sq_id;
  c.cqe.sqhd = sqhd_;
  c.cqe.cid = cid;
  c.cqe.set_status(kAbortRequested);
  return c;
}

}  // namespace kvcpu::nvme
