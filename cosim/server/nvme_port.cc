#include "nvme_port.h"

#include <algorithm>
#include <span>

namespace kvcpu::cosim {

namespace {
constexpr uint64_t kPage = 4096;
}  // namespace

std::unique_ptr<NvmePort> NvmePort::Create(HostMemory* memory, const nvme::SsdConfig& config,
                                           const nvme::SsdFaults& faults, std::string* error) {
  auto m = nvme::SsdModel::Create(config, faults, /*seed=*/1, error);
  if (!m) return nullptr;
  return std::unique_ptr<NvmePort>(new NvmePort(memory, std::move(m)));
}

bool NvmePort::sq_ready() const { return model_->in_flight() < model_->config().max_queue_depth; }

bool NvmePort::gather(const nvme::Sqe& s, size_t len, std::vector<uint8_t>* out) const {
  out->resize(len);
  const size_t first = std::min<size_t>(len, kPage - (s.prp1 % kPage));
  if (!memory_->read(s.prp1, out->data(), first)) return false;
  if (first == len) return true;
  if (len - first > kPage || (s.prp2 % kPage) != 0) return false;  // would need a PRP list
  return memory_->read(s.prp2, out->data() + first, len - first);
}

bool NvmePort::scatter(const nvme::Sqe& s, const std::vector<uint8_t>& data) {
  const size_t len = data.size();
  const size_t first = std::min<size_t>(len, kPage - (s.prp1 % kPage));
  if (first < len && (len - first > kPage || (s.prp2 % kPage) != 0)) return false;
  if (!memory_->translate(s.prp1, first) || (first < len && !memory_->translate(s.prp2, len - first))) {
    return false;
  }
  memory_->write(s.prp1, data.data(), first);
  if (first < len) memory_->write(s.prp2, data.data() + first, len - first);
  return true;
}

void NvmePort::post(nvme::Cqe cqe) { cq_.push_back(nvme::ToBytes(cqe)); }

void NvmePort::clock(const std::array<uint8_t, 64>* sq, bool cq_taken, uint64_t now_ns) {
  if (cq_taken && !cq_.empty()) {
    cq_.pop_front();
    ++stats_.completed;
  }
  if (sq) {
    ++stats_.submitted;
    const nvme::Sqe s = nvme::SqeFromBytes(std::span<const uint8_t, 64>(*sq));
    const uint32_t lba = model_->config().lba_bytes;
    std::vector<uint8_t> data;
    bool reachable = true;
    const auto op = static_cast<nvme::Opcode>(s.opcode());
    if (op == nvme::Opcode::kWrite) {
      reachable = gather(s, size_t{s.nblocks()} * lba, &data);
    } else if (op == nvme::Opcode::kDatasetManagement) {
      reachable = gather(s, size_t{s.dsm_nranges()} * sizeof(nvme::DsmRange), &data);
    } else if (op == nvme::Opcode::kRead) {
      // checked before submission so that a bad buffer has no effect
      const size_t len = size_t{s.nblocks()} * lba;
      const size_t first = std::min<size_t>(len, kPage - (s.prp1 % kPage));
      reachable = memory_->translate(s.prp1, first) != nullptr &&
                  (first == len || (len - first <= kPage && s.prp2 % kPage == 0 &&
                                    memory_->translate(s.prp2, len - first) != nullptr));
    }
    if (!reachable) {
      nvme::Cqe c;
      c.cid = s.cid();
      c.sqid = model_->config().sq_id;
      c.set_status(nvme::kDataTransferError);
      ++stats_.transfer_errors;
      post(c);
    } else {
      const nvme::SubmitResult r = model_->Submit(s, data, now_ns);
      if (r.outcome == nvme::SubmitOutcome::kRejected) {
        ++stats_.rejected;
        post(r.cqe);
      } else if (r.outcome == nvme::SubmitOutcome::kAccepted && op == nvme::Opcode::kRead) {
        reads_[s.cid()] = s;
      } else if (r.outcome != nvme::SubmitOutcome::kAccepted) {
        // sq_ready() kept the queue from filling and time never goes back: not reached
        nvme::Cqe c;
        c.cid = s.cid();
        c.set_status(nvme::kInternalError);
        post(c);
      }
    }
  }
  const auto next = model_->NextEventTime();
  if (!next || *next > now_ns) return;
  for (nvme::SsdCompletion& c : model_->Advance(now_ns)) {
    auto it = reads_.find(c.cqe.cid);
    if (it != reads_.end()) {
      if (c.cqe.status().ok() && !scatter(it->second, c.data)) {
        c.cqe.set_status(nvme::kDataTransferError);  // the client unmapped the buffer meanwhile
        ++stats_.transfer_errors;
      }
      reads_.erase(it);
    }
    post(c.cqe);
  }
}

}  // namespace kvcpu::cosim
