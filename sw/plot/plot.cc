#include "plot.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kvcpu::plot {
namespace {

// gnuplot string literal: single quotes, '' for a quote.
std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    q += c;
    if (c == '\'') q += '\'';
  }
  return q + "'";
}

}  // namespace

std::string Script(const Plot& p, const std::string& dir, const std::string& png) {
  std::ostringstream s;
  s << "set terminal png size " << p.width << "," << p.height << "\n";
  s << "set termoption noenhanced\n";  // titles are literal text: '_' is not a subscript
  s << "set output " << Quote(png) << "\n";
  s << "set title " << Quote(p.title) << "\n";
  s << "set xlabel " << Quote(p.xlabel) << "\n";
  s << "set ylabel " << Quote(p.ylabel) << "\n";
  s << "set grid\nset key left top\n";
  if (p.logx) s << "set logscale x\n";
  if (p.yrange) s << "set yrange [" << p.yrange->first << ":" << p.yrange->second << "]\n";
  s << "plot ";
  for (size_t i = 0; i < p.series.size(); ++i) {
    if (i) s << ", ";
    s << Quote(dir + "/data_" + std::to_string(i) + ".dat") << " using 1:2 with linespoints title "
      << Quote(p.series[i].name);
  }
  s << "\n";
  return s.str();
}

std::optional<std::string> WritePng(const Plot& p, const std::string& png_path) {
  namespace fs = std::filesystem;
  if (p.series.empty()) return "nothing to plot";
  for (const Series& se : p.series) {
    if (se.points.empty()) return "series '" + se.name + "' has no points";
  }
  char tmpl[] = "/tmp/kvcpu-plot-XXXXXX";
  if (!mkdtemp(tmpl)) return "cannot create a temporary directory";
  const std::string dir = tmpl;
  auto cleanup = [&dir] {
    std::error_code ec;
    fs::remove_all(dir, ec);
  };
  const std::string tmp_png = dir + "/out.png";
  for (size_t i = 0; i < p.series.size(); ++i) {
    std::ofstream d(dir + "/data_" + std::to_string(i) + ".dat");
    d.precision(10);
    for (const auto& [x, y] : p.series[i].points) d << x << ' ' << y << '\n';
    if (!d) {
      cleanup();
      return "cannot write plot data";
    }
  }
  {
    std::ofstream sc(dir + "/plot.gp");
    sc << Script(p, dir, tmp_png);
    if (!sc) {
      cleanup();
      return "cannot write the gnuplot script";
    }
  }
  const std::string log = dir + "/gnuplot.log";
  std::fflush(nullptr);  // or the child's exit would write our unflushed output again
  const pid_t pid = fork();
  if (pid < 0) {
    cleanup();
    return "fork failed";
  }
  if (pid == 0) {
    std::FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    std::freopen("/dev/null", "w", stdout);
    const std::string script = dir + "/plot.gp";
    execlp("gnuplot", "gnuplot", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::string msg = WIFEXITED(st) && WEXITSTATUS(st) == 127
                          ? "gnuplot not found (run sw/setup.sh: Debian package gnuplot-nox)"
                          : "gnuplot failed";
    std::ifstream l(log);
    std::string line;
    while (std::getline(l, line)) {
      if (!line.empty()) msg += "\n  gnuplot: " + line;
    }
    cleanup();
    return msg;
  }
  std::error_code ec;
  if (!fs::exists(tmp_png, ec) || fs::file_size(tmp_png, ec) == 0) {
    cleanup();
    return "gnuplot wrote no image";
  }
  fs::copy_file(tmp_png, png_path, fs::copy_options::overwrite_existing, ec);
  cleanup();
  if (ec) return "cannot write '" + png_path + "': " + ec.message();
  return std::nullopt;
}

}  // namespace kvcpu::plot
