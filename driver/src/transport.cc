#include "kvcpu/transport.h"

namespace kvcpu {

// Defaults: a transport without a simulated host side has no memory to map and delivers
// no interrupts.
Status Transport::map_memory(int, uint64_t, uint64_t, uint64_t) {
  return Status(ErrorCode::kUnsupported, describe() + " has no host memory to map");
}
Status Transport::unmap_memory(uint64_t) {
  return Status(ErrorCode::kUnsupported, describe() + " has no host memory to unmap");
}
Status Transport::bind_irq(uint32_t, int) {
  return Status(ErrorCode::kUnsupported, describe() + " delivers no interrupts");
}
Status Transport::unbind_irq(uint32_t) {
  return Status(ErrorCode::kUnsupported, describe() + " delivers no interrupts");
}

}  // namespace kvcpu
