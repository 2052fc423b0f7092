// Seed of the random GoogleTest suites: +seed=N on the command line (or KVCPU_FUZZ_SEED),
// else a fixed default; the shared main (seed_main.cc, library kvcpu_test_main) prints it.
#pragma once

#include <cstdint>

namespace kvcpu::testing {

uint64_t Seed();

}  // namespace kvcpu::testing
