// gtest main for the random suites (tests/trace, tests/model, tests/nvme): takes +seed=N (the testbenches' convention) and prints the seed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "test_seed.h"

namespace kvcpu::testing {
namespace {
uint64_t g_seed = 0x4B5654524143ULL;  // "KVTRAC"
}  // namespace

uint64_t Seed() { return g_seed; }

}  // namespace kvcpu::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (const char* env = std::getenv("KVCPU_FUZZ_SEED")) {
    kvcpu::testing::g_seed = std::strtoull(env, nullptr, 0);
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("+seed=")) {
      kvcpu::testing::g_seed = std::strtoull(argv[i] + 6, nullptr, 0);
    } else {
      std::fprintf(stderr, "unknown argument '%s' (expected +seed=N or gtest flags)\n", argv[i]);
      return 2;
    }
  }
  std::printf("seed %llu (replay with +seed=N)\n",
              static_cast<unsigned long long>(kvcpu::testing::g_seed));
  return RUN_ALL_TESTS();
}
