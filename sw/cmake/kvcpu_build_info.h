// Identity of this build, for the GIT_HASH / BUILD_DATE / BOARD_ID registers.
#pragma once
#include <cstdint>
namespace kvcpu::build {
uint32_t git_hash();    // first 8 hex digits of HEAD, 0 outside a git checkout
uint32_t build_date();  // BCD 0xYYYYMMDD (UTC)
bool dirty();           // tracked files modified
}  // namespace kvcpu::build
