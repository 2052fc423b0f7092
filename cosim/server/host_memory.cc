#include "host_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "kvcpu_proto.h"

namespace kvcpu::cosim {
namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIX64, v);
  return b;
}

}  // namespace

std::optional<std::string> HostMemory::map(int fd, uint64_t iova, uint64_t size,
                                           uint64_t fd_offset) {
  constexpr uint64_t kMask = proto::kPageSize - 1;
  if (size == 0) {
    return "size is zero";
  }
  if ((iova & kMask) != 0 || (size & kMask) != 0 || (fd_offset & kMask) != 0) {
    return "iova " + hex(iova) + ", size " + hex(size) + " and fd_offset " + hex(fd_offset) +
           " must all be multiples of 4096";
  }
  if (size > UINT64_MAX - iova) {
    return "iova " + hex(iova) + " + size " + hex(size) + " overflows 64 bits";
  }
  for (const Region& r : regions_) {
    if (iova < r.iova + r.size && r.iova < iova + size) {
      return "[" + hex(iova) + ", " + hex(iova + size) + ") overlaps the mapped region [" +
             hex(r.iova) + ", " + hex(r.iova + r.size) + ")";
    }
  }
  if (regions_.size() >= proto::kMaxRegions) {
    return "too many regions (at most " + std::to_string(proto::kMaxRegions) + ")";
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::string("fstat of the fd failed: ") + std::strerror(errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return "the fd is not a regular file (a memfd is expected)";
  }
  const auto fits = [&](const struct stat& s) {
    const uint64_t file_size = static_cast<uint64_t>(s.st_size);
    return fd_offset <= file_size && size <= file_size - fd_offset;
  };
  if (!fits(st)) {
    return "fd_offset " + hex(fd_offset) + " + size " + hex(size) + " is beyond the file (" +
           hex(static_cast<uint64_t>(st.st_size)) + " bytes)";
  }
  // A file shrunk under a live mapping turns the device's next access into SIGBUS: the
  // file must not be able to shrink while it is mapped. Sealed only once everything else
  // checked out; re-checked after sealing (the client may have shrunk it meanwhile).
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & F_SEAL_SHRINK) == 0) {
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
      return "the fd cannot be sealed against shrinking (F_SEAL_SHRINK): create the memfd "
             "with MFD_ALLOW_SEALING, or seal it yourself";
    }
    if (::fstat(fd, &st) != 0 || !fits(st)) {
      return "the file shrank below fd_offset + size while being mapped";
    }
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                   static_cast<off_t>(fd_offset));
  if (p == MAP_FAILED) {
    return std::string("mmap failed: ") + std::strerror(errno);
  }
  Region r{iova, size, static_cast<uint8_t*>(p)};
  regions_.insert(std::upper_bound(regions_.begin(), regions_.end(), r,
                                   [](const Region& a, const Region& b) { return a.iova < b.iova; }),
                  r);
  return std::nullopt;
}

std::optional<std::string> HostMemory::unmap(uint64_t iova) {
  auto it = std::find_if(regions_.begin(), regions_.end(),
                         [&](const Region& r) { return r.iova == iova; });
  if (it == regions_.end()) {
    return "no region is mapped at " + hex(iova) + " (MEM_UNMAP takes a region's base)";
  }
  ::munmap(it->base, it->size);
  regions_.erase(it);
  return std::nullopt;
}

void HostMemory::clear() {
  for (const Region& r : regions_) {
    ::munmap(r.base, r.size);
  }
  regions_.clear();
}

uint8_t* HostMemory::translate(uint64_t iova, uint64_t len) const {
  if (len == 0 || len - 1 > UINT64_MAX - iova) {
    return nullptr;
  }
  // The last region whose base is <= iova.
  auto it = std::upper_bound(regions_.begin(), regions_.end(), iova,
                             [](uint64_t a, const Region& r) { return a < r.iova; });
  if (it == regions_.begin()) {
    return nullptr;
  }
  --it;
  const uint64_t off = iova - it->iova;
  if (off >= it->size || len > it->size - off) {
    return nullptr;
  }
  return it->base + off;
}

bool HostMemory::read(uint64_t iova, void* out, size_t len) const {
  const uint8_t* p = translate(iova, len);
  if (p == nullptr) {
    return false;
  }
  std::memcpy(out, p, len);
  return true;
}

bool HostMemory::write(uint64_t iova, const void* in, size_t len) {
  uint8_t* p = translate(iova, len);
  if (p == nullptr) {
    return false;
  }
  std::memcpy(p, in, len);
  return true;
}

}  // namespace kvcpu::cosim
