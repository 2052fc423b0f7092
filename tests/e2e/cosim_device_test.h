// Fixture of the end-to-end tests: a kvcpu-cosim server of the test's own (the real binary,
// KVCPU_COSIM_BIN) and a libkvcpu Device attached to it, and a one-command round trip.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cosim_process.h"
#include "kvcpu/device.h"
#include "kvcpu/queue.h"

namespace kvcpu {

class CosimDeviceTest : public ::testing::Test {
 protected:
  // Starts the server with `args` (fault injection, latencies) and opens the device.
  void start(std::vector<std::string> args = {}) {
    std::string err;
    auto s = CosimProcess::start(KVCPU_COSIM_BIN, args, &err);
    ASSERT_TRUE(s.has_value()) << err;
    server_.emplace(std::move(*s));
    auto d = Device::open(server_->uri());
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    dev_.emplace(std::move(d).value());
  }

  // Submits one command on q and waits for its completion.
  static Completion one(QueuePair& q, const Command& c,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto n = q.submit(std::span<const Command>(&c, 1));
    EXPECT_TRUE(n.ok() && *n == 1u) << (n.ok() ? "queue full" : n.status().to_string());
    std::vector<Completion> got(1);
    auto r = q.wait(got, timeout);
    EXPECT_TRUE(r.ok() && *r == 1u) << (r.ok() ? "no completion" : r.status().to_string());
    return got[0];
  }

  std::optional<CosimProcess> server_;
  std::optional<Device> dev_;
};

}  // namespace kvcpu
