// The one transport seam: everything above it is identical for simulation and hardware.
#pragma once

#include <cstdint>
#include <string>

#include "kvcpu/result.h"
#include "kvcpu/status.h"

namespace kvcpu {

// 32-bit register access to a device BAR. Implementations map the device's AXI
// responses SLVERR/DECERR to ErrorCode::kBusSlvErr/kBusDecErr. Not thread-safe by itself:
// Device serialises calls.
class Transport {
 public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  virtual Result<uint32_t> read32(uint32_t bar, uint32_t offset) = 0;
  // Returns once the device answered the write.
  virtual Status write32(uint32_t bar, uint32_t offset, uint32_t value) = 0;
  // Returns once the write is on its way; ordering with later accesses is kept. Bus errors
  // of a posted write are not reported here (the device records them in ERR_STATUS).
  virtual Status write32_posted(uint32_t bar, uint32_t offset, uint32_t value) = 0;
  // Pulses the device reset.
  virtual Status reset() = 0;
  // Human-readable description, e.g. "cosim:/tmp/kvcpu.sock".
  virtual std::string describe() const = 0;

  // Host memory and interrupts (transports that simulate the host side; cosim protocol
  // 1.1). The defaults answer ErrorCode::kUnsupported.
  //
  // Makes [iova, iova + size) of device-visible host memory the bytes of `fd` (a memfd
  // created with MFD_ALLOW_SEALING; it gets sealed against shrinking) from `fd_offset` on.
  // iova, size and fd_offset are multiples of 4096; regions must not overlap. The caller
  // keeps its fd. A refused mapping is kInvalidArgument and changes nothing.
  virtual Status map_memory(int fd, uint64_t iova, uint64_t size, uint64_t fd_offset);
  // Unmaps the region mapped at exactly `iova`.
  virtual Status unmap_memory(uint64_t iova);
  // MSI-X messages to the interrupt window with data `irq_id` (< 2048) signal `eventfd`
  // (the caller keeps its fd); binding again replaces the earlier eventfd.
  virtual Status bind_irq(uint32_t irq_id, int eventfd);
  virtual Status unbind_irq(uint32_t irq_id);
};

}  // namespace kvcpu
