#include "nvme_port.h"

#include <algorithm>
#include <cstring>
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

std::optional<NvmePort::Buffer> NvmePort::buffer(const nvme::Sqe& s, size_t len) const {
  Buffer b;
  const size_t first = std::min<size_t>(len, kPage - (s.prp1 % kPage));
  b.part[0] = {memory_->translate(s.prp1, first), first};
  if (!b.part[0].host) return std::nullopt;
  if (first == len) return b;
  if (len - first > kPage || (s.prp2 % kPage) != 0) return std::nullopt;  // would need a PRP list
  b.part[1] = {memory_->translate(s.prp2, len - first), len - first};
  if (!b.part[1].host) return std::nullopt;
  return b;
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
    const auto op = static_cast<nvme::Opcode>(s.opcode());
    // The data's host memory, checked before submission so that a bad buffer has no
    // effect; a write's data and a DSM range list are taken now.
    size_t len = 0;
    if (op == nvme::Opcode::kWrite || op == nvme::Opcode::kRead) {
      len = size_t{s.nblocks()} * lba;
    } else if (op == nvme::Opcode::kDatasetManagement) {
      len = size_t{s.dsm_nranges()} * sizeof(nvme::DsmRange);
    }
    const std::optional<Buffer> buf = len ? buffer(s, len) : Buffer{};
    std::vector<uint8_t> data;
    if (buf && op != nvme::Opcode::kRead) {
      for (const Buffer::Part& part : buf->part) data.insert(data.end(), part.host, part.host + part.n);
    }
    if (!buf) {
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
      if (c.cqe.status().ok()) {
        const std::optional<Buffer> buf = buffer(it->second, c.data.size());
        if (buf) {
          std::memcpy(buf->part[0].host, c.data.data(), buf->part[0].n);
          if (buf->part[1].n) std::memcpy(buf->part[1].host, c.data.data() + buf->part[0].n, buf->part[1].n);
        } else {
          c.cqe.set_status(nvme::kDataTransferError);  // the client unmapped the buffer meanwhile
          ++stats_.transfer_errors;
        }
      }
      reads_.erase(it);
    }
    post(c.cqe);
  }
}

}  // namespace kvcpu::cosim
