// Functional coverage for testbenches: named bins with hit counts, a printed table, and a
// check that every required bin was hit at least once. (Verilator has no covergroups;
// style.md.) Bins are created by use: `++cov["read ID OKAY"]`, `cov["x"] += n`.
#pragma once

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace kvcpu::sim {

class Coverage {
 public:
  uint64_t& operator[](const std::string& bin) { return bins_[bin]; }

  uint64_t hits(const std::string& bin) const {
    auto it = bins_.find(bin);
    return it == bins_.end() ? 0 : it->second;
  }

  void print(const std::string& tb_name) const {
    std::printf("[%s] coverage (bin: hits)\n", tb_name.c_str());
    for (const auto& [bin, n] : bins_) {
      std::printf("  %-48s %10" PRIu64 "\n", bin.c_str(), n);
    }
  }

  // How many required bins have no hits (nothing printed).
  size_t holes(const std::vector<std::string>& required) const {
    size_t n = 0;
    for (const auto& bin : required) n += hits(bin) == 0;
    return n;
  }

  // Prints every required bin with no hits; true when there is none.
  bool check(const std::vector<std::string>& required) const {
    bool ok = true;
    for (const auto& bin : required) {
      if (hits(bin) == 0) {
        std::printf("COVERAGE HOLE: %s\n", bin.c_str());
        ok = false;
      }
    }
    return ok;
  }

 private:
  std::map<std::string, uint64_t> bins_;
};

}  // namespace kvcpu::sim
