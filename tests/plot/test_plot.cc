// kvcpu_plot: the PNG gnuplot renders is a real PNG of the requested size; bad input and a
// missing output directory are reported, not crashed on.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "plot.h"

namespace kvcpu::plot {
namespace {

std::vector<unsigned char> ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

uint32_t Be32(const std::vector<unsigned char>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | b[at + 3];
}

Plot Sample() {
  Plot p;
  p.title = "it's a test";  // a quote in a gnuplot string
  p.xlabel = "x";
  p.ylabel = "y";
  p.logx = true;
  p.series = {{"a", {{500, 0.1}, {1000, 0.2}, {2000, 0.4}}}, {"b", {{500, 0.2}, {2000, 0.5}}}};
  p.width = 640;
  p.height = 480;
  return p;
}

TEST(Plot, WritesAPngOfTheRequestedSize) {
  const std::string out = ::testing::TempDir() + "/kvcpu_plot_test.png";
  std::filesystem::remove(out);
  const auto err = WritePng(Sample(), out);
  ASSERT_FALSE(err.has_value()) << *err;
  const auto b = ReadAll(out);
  ASSERT_GE(b.size(), 33u);
  const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  EXPECT_TRUE(std::equal(sig, sig + 8, b.begin()));
  EXPECT_EQ(std::string(b.begin() + 12, b.begin() + 16), "IHDR");
  EXPECT_EQ(Be32(b, 16), 640u);
  EXPECT_EQ(Be32(b, 20), 480u);
  std::filesystem::remove(out);
}

TEST(Plot, ScriptQuotesTitlesAndUsesLogScaleWhenAsked) {
  const std::string s = Script(Sample(), "/d", "/o.png");
  EXPECT_NE(s.find("set title 'it''s a test'"), std::string::npos) << s;
  EXPECT_NE(s.find("set logscale x"), std::string::npos);
  EXPECT_NE(s.find("set termoption noenhanced"), std::string::npos);  // '_' in file names
  EXPECT_NE(s.find("'/d/data_1.dat' using 1:2 with linespoints title 'b'"), std::string::npos) << s;
}

TEST(Plot, EmptyInputAndAnUnwritablePathAreErrors) {
  Plot p = Sample();
  p.series.clear();
  EXPECT_TRUE(WritePng(p, ::testing::TempDir() + "/x.png").has_value());
  p = Sample();
  p.series[1].points.clear();
  EXPECT_TRUE(WritePng(p, ::testing::TempDir() + "/x.png").has_value());
  const auto err = WritePng(Sample(), "/nonexistent-dir-kvcpu/x.png");
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("cannot write"), std::string::npos) << *err;
}

}  // namespace
}  // namespace kvcpu::plot
