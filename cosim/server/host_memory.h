// Host memory as the cosim device sees it: the regions a client mapped with MEM_MAP, each an
// mmap of a file descriptor it sent (a memfd, normally) at an I/O virtual address (IOVA) it
// chose. The device addresses IOVAs only; an access is served when it lies entirely inside
// one region and refused otherwise. Protocol: docs/cosim-protocol.md (MEM_MAP, MEM_UNMAP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvcpu::cosim {

class HostMemory {
 public:
  HostMemory() = default;
  ~HostMemory() { clear(); }  // unmaps every region
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;

  // Validates and maps [iova, iova + size) to `fd` at `fd_offset`. The fd is only used for
  // fstat/fcntl/mmap; the caller keeps (and closes) it. Returns an error message (nothing
  // changed) or std::nullopt once mapped. Refused: zero size; iova, size or fd_offset not
  // 4 KiB aligned; iova + size beyond 2^64; overlap with a mapped region; more than
  // kMaxRegions regions; an fd that is not a regular file, that cannot be sealed against
  // shrinking (F_SEAL_SHRINK: a file truncated under the mapping would crash the server),
  // or whose size is below fd_offset + size; mmap failure.
  [[nodiscard]] std::optional<std::string> map(int fd, uint64_t iova, uint64_t size,
                                               uint64_t fd_offset);
  // Unmaps the region whose base is `iova`; an error message if there is none.
  [[nodiscard]] std::optional<std::string> unmap(uint64_t iova);
  void clear();  // unmaps every region

  size_t region_count() const { return regions_.size(); }

  // Host pointer to [iova, iova + len) when that range lies inside one region, else nullptr
  // (also for len == 0 or a range that wraps).
  uint8_t* translate(uint64_t iova, uint64_t len) const;

  // Bounds-checked accessors; false (nothing touched) when out of bounds.
  bool read(uint64_t iova, void* out, size_t len) const;
  bool write(uint64_t iova, const void* in, size_t len);

 private:
  struct Region {
    uint64_t iova = 0;
    uint64_t size = 0;
    uint8_t* base = nullptr;
  };
  std::vector<Region> regions_;  // sorted by iova, disjoint
};

}  // namespace kvcpu::cosim
