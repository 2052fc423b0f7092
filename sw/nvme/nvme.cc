#include "nvme.h"

#include <algorithm>
#include <cstdio>

namespace kvcpu::nvme {

std::string StatusName(const Status& s) {
  const char* name = nullptr;
  if (s.sct == 0) {
    switch (s.sc) {
      case 0x00:
        name = "Successful Completion";
        break;
      case 0x01:
        name = "Invalid Command Opcode";
        break;
      case 0x02:
        name = "Invalid Field in Command";
        break;
      case 0x03:
        name = "Command ID Conflict";
        break;
      case 0x04:
        name = "Data Transfer Error";
        break;
      case 0x06:
        name = "Internal Error";
        break;
      case 0x07:
        name = "Command Abort Requested";
        break;
      case 0x0B:
        name = "Invalid Namespace or Format";
        break;
      case 0x80:
        name = "LBA Out of Range";
        break;
      default:
        break;
    }
  } else if (s.sct == 2) {
    switch (s.sc) {
      case 0x80:
        name = "Write Fault";
        break;
      case 0x81:
        name = "Unrecovered Read Error";
        break;
      default:
        break;
    }
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "SCT %u SC 0x%02X %s%s", s.sct, s.sc, name ? name : "(unknown)",
                s.dnr ? " (DNR)" : "");
  return buf;
}

std::vector<uint8_t> DsmRangesToBytes(std::span<const DsmRange> ranges) {
  std::vector<uint8_t> out(ranges.size() * sizeof(DsmRange));
  if (!ranges.empty()) {
    std::memcpy(out.data(), ranges.data(), out.size());
  }
  return out;
}

std::optional<std::vector<DsmRange>> DsmRangesFromBytes(std::span<const uint8_t> bytes,
                                                        uint32_t count) {
  if (bytes.size() < size_t{count} * sizeof(DsmRange)) {
    return std::nullopt;
  }
  std::vector<DsmRange> out(count);
  if (count != 0) {
    std::memcpy(out.data(), bytes.data(), size_t{count} * sizeof(DsmRange));
  }
  return out;
}

const char* BuildErrorName(BuildError e) {
  switch (e) {
    case BuildError::kNone:
      return "none";
    case BuildError::kZeroLength:
      return "zero length";
    case BuildError::kTooLong:
      return "more than 65536 blocks";
    case BuildError::kTooManyRanges:
      return "more than 256 ranges";
    case BuildError::kBadPlacement:
      return "bad placement hint";
  }
  return "?";
}

namespace {

BuildResult BuildRw(Opcode op, const RwArgs& a, const Placement& p) {
  BuildResult r;
  if (a.nblocks == 0) {
    r.error = BuildError::kZeroLength;
    return r;
  }
  if (a.nblocks > 65536) {
    r.error = BuildError::kTooLong;
    return r;
  }
  if (p.type != DirectiveType::kNone && p.type != DirectiveType::kStreams &&
      p.type != DirectiveType::kDataPlacement) {
    r.error = BuildError::kBadPlacement;
    return r;
  }
  Sqe& s = r.sqe;
  s.set_opcode(static_cast<uint8_t>(op));
  s.set_cid(a.cid);
  s.nsid = a.nsid;
  s.prp1 = a.prp1;
  s.prp2 = a.prp2;
  s.cdw10 = static_cast<uint32_t>(a.slba);
  s.cdw11 = static_cast<uint32_t>(a.slba >> 32);
  s.cdw12 =
      (a.nblocks - 1) | (uint32_t{static_cast<uint8_t>(p.type)} << 20) | (a.fua ? (1u << 30) : 0u);
  if (p.type != DirectiveType::kNone) {
    s.cdw13 = uint32_t{p.dspec} << 16;
  }
  return r;
}

}  // namespace

BuildResult BuildRead(const RwArgs& a) { return BuildRw(Opcode::kRead, a, {}); }

BuildResult BuildWrite(const RwArgs& a, const Placement& placement) {
  return BuildRw(Opcode::kWrite, a, placement);
}

BuildResult BuildDsmDeallocate(uint16_t cid, uint32_t nsid, uint32_t nranges, uint64_t prp1,
                               uint64_t prp2) {
  BuildResult r;
  if (nranges == 0) {
    r.error = BuildError::kZeroLength;
    return r;
  }
  if (nranges > kMaxDsmRanges) {
    r.error = BuildError::kTooManyRanges;
    return r;
  }
  Sqe& s = r.sqe;
  s.set_opcode(static_cast<uint8_t>(Opcode::kDatasetManagement));
  s.set_cid(cid);
  s.nsid = nsid;
  s.prp1 = prp1;
  s.prp2 = prp2;
  s.cdw10 = nranges - 1;
  s.cdw11 = 1u << 2;  // AD
  return r;
}

DecodedCommand Decode(const Sqe& s) {
  DecodedCommand d;
  d.cid = s.cid();
  d.nsid = s.nsid;
  d.prp1 = s.prp1;
  d.prp2 = s.prp2;
  const uint8_t op = s.opcode();
  d.opcode = static_cast<Opcode>(op);
  switch (op) {
    case static_cast<uint8_t>(Opcode::kRead):
    case static_cast<uint8_t>(Opcode::kWrite):
      d.known_opcode = true;
      d.slba = s.slba();
      d.nblocks = s.nblocks();
      d.placement.type = static_cast<DirectiveType>(s.dtype());
      d.placement.dspec = d.placement.type == DirectiveType::kNone ? 0 : s.dspec();
      break;
    case static_cast<uint8_t>(Opcode::kDatasetManagement):
      d.known_opcode = true;
      d.nranges = s.dsm_nranges();
      d.deallocate = s.dsm_deallocate();
      break;
    case static_cast<uint8_t>(Opcode::kFlush):
      d.known_opcode = true;
      break;
    default:
      break;
  }
  return d;
}

std::string Describe(const Sqe& s) {
  const DecodedCommand d = Decode(s);
  char buf[160];
  switch (s.opcode()) {
    case static_cast<uint8_t>(Opcode::kRead):
    case static_cast<uint8_t>(Opcode::kWrite):
      std::snprintf(buf, sizeof buf, "%s cid=%u nsid=%u slba=%llu nlb=%u dtype=%u dspec=%u",
                    s.opcode() == 0x02 ? "READ" : "WRITE", d.cid, d.nsid,
                    static_cast<unsigned long long>(d.slba), d.nblocks,
                    static_cast<unsigned>(d.placement.type), d.placement.dspec);
      break;
    case static_cast<uint8_t>(Opcode::kDatasetManagement):
      std::snprintf(buf, sizeof buf, "DSM cid=%u nsid=%u nr=%u%s", d.cid, d.nsid, d.nranges,
                    d.deallocate ? " AD" : "");
      break;
    default:
      std::snprintf(buf, sizeof buf, "OPC 0x%02X cid=%u nsid=%u", s.opcode(), d.cid, d.nsid);
      break;
  }
  return buf;
}

CidAllocator::CidAllocator(uint32_t depth)
    : depth_(std::clamp<uint32_t>(depth, 1, 0xFFFF)), slots_(depth_) {
  for (uint32_t c = 0; c < depth_; ++c) {
    free_.push_back(static_cast<uint16_t>(c));
  }
}

std::optional<uint16_t> CidAllocator::Allocate(uint64_t tag) {
  if (free_.empty()) {
    return std::nullopt;
  }
  const uint16_t cid = free_.front();
  free_.pop_front();
  slots_[cid] = tag;
  ++in_flight_;
  return cid;
}

bool CidAllocator::Claim(uint16_t cid, uint64_t tag) {
  if (cid >= depth_ || slots_[cid].has_value()) {
    return false;
  }
  free_.erase(std::find(free_.begin(), free_.end(), cid));
  slots_[cid] = tag;
  ++in_flight_;
  return true;
}

CidAllocator::Match CidAllocator::Complete(const Cqe& cqe) {
  Match m;
  if (!InUse(cqe.cid)) {
    m.error = MatchError::kUnknownCid;
    return m;
  }
  m.tag = *slots_[cqe.cid];
  m.status = cqe.status();
  (void)Release(cqe.cid);
  return m;
}

bool CidAllocator::Release(uint16_t cid) {
  if (!InUse(cid)) {
    return false;
  }
  slots_[cid].reset();
  free_.push_back(cid);
  --in_flight_;
  return true;
}

}  // namespace kvcpu::nvme
