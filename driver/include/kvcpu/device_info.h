// Identity of an opened device, decoded from the BAR0 identity registers.
#pragma once

#include <cstdint>

namespace kvcpu {

struct DeviceInfo {
  uint16_t vendor = 0;         // ID.VENDOR
  uint16_t device = 0;         // ID.DEVICE
  uint8_t version_major = 0;   // VERSION.MAJOR (register map)
  uint8_t version_minor = 0;   // VERSION.MINOR
  uint16_t version_patch = 0;  // VERSION.PATCH
  uint32_t capabilities = 0;   // CAPABILITIES bits
  uint32_t git_hash = 0;       // first 8 hex digits of the commit
  uint32_t build_date = 0;     // BCD 0xYYYYMMDD
  uint8_t board = 0;           // BOARD_ID.BOARD: 0 cosim, 1 iCE40 UP5K, 2 PCIe
  bool dirty = false;          // BOARD_ID.DIRTY
};

}  // namespace kvcpu
