// Seed of the random tests in tests/trace: +seed=N on the command line (or KVCPU_FUZZ_SEED),
// else a fixed default; seed_main.cc prints it.
#pragma once

#include <cstdint>

namespace kvcpu::trace::testing {

uint64_t Seed();

}  // namespace kvcpu::trace::testing
