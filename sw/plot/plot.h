// PNG line plots for the benchmarks' figures (kvtrace hit rates, kvbench latency CDFs),
// rendered by gnuplot (Debian package gnuplot-nox, installed by sw/setup.sh). The data and
// the script are written to a temporary directory; nothing is left behind.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kvcpu::plot {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in this order
};

struct Plot {
  std::string title, xlabel, ylabel;
  bool logx = false;
  std::optional<std::pair<double, double>> yrange;  // default: gnuplot's autoscale
  std::vector<Series> series;
  unsigned width = 1000, height = 650;
};

// The gnuplot script that draws `p` from data files data_0.dat, data_1.dat, ... in `dir`
// into `png` (exposed for tests).
std::string Script(const Plot& p, const std::string& dir, const std::string& png);

// Renders `p` to `png_path`. On failure returns a message (gnuplot missing, gnuplot's own
// error, nothing written) and leaves no partial file.
std::optional<std::string> WritePng(const Plot& p, const std::string& png_path);

}  // namespace kvcpu::plot
