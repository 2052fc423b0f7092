// Verilator testbench harness: owns the VerilatedContext and the model through
// std::unique_ptr, drives clk_i/rst_ni, optionally writes FST waves, prints the seed, and
// bounds every wait. Never exits the process once running: failures are returned to the
// caller (only a malformed KVCPU_SEED stops it, at argument parsing, with exit code 2).
//
// Plusargs understood by SimOptions::from_args:
//   +seed=N        random seed (default: $KVCPU_SEED, else from std::random_device; always
//                  printed)
//   +trace[=FILE]  write FST waves (default FILE: <name>.fst)
//   +timeout=N     cycle budget for a whole run (default 50,000,000)
#pragma once

#include <verilated.h>
#include <verilated_fst_c.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>

namespace kvcpu::sim {

// A wide port (VlWide, 32-bit words) as the little-endian byte image the RTL's structs use:
// byte i is bits [8*i +: 8].
template <class W>
void put_bytes(W& port, std::span<const uint8_t> bytes) {
  for (size_t w = 0; w < bytes.size() / 4; ++w) {
    port[w] = uint32_t{bytes[4 * w]} | (uint32_t{bytes[4 * w + 1]} << 8) | (uint32_t{bytes[4 * w + 2]} << 16) |
              (uint32_t{bytes[4 * w + 3]} << 24);
  }
}
template <class W>
void get_bytes(const W& port, std::span<uint8_t> bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(port[i / 4] >> (8 * (i % 4)));
}

struct SimOptions {
  std::string name = "sim";
  uint64_t seed = 0;
  bool seed_given = false;
  std::string trace_path;  // empty: no waves
  uint64_t timeout_cycles = 50'000'000;
  uint64_t clock_period_ps = 4000;  // 250 MHz core clock

  static SimOptions from_args(int argc, char** argv, std::string_view name) {
    SimOptions o;
    o.name = std::string(name);
    for (int i = 1; i < argc; ++i) {
      std::string_view a(argv[i]);
      if (a.starts_with("+seed=")) {
        o.seed = std::stoull(std::string(a.substr(6)), nullptr, 0);
        o.seed_given = true;
      } else if (a == "+trace") {
        o.trace_path = o.name + ".fst";
      } else if (a.starts_with("+trace=")) {
        o.trace_path = std::string(a.substr(7));
      } else if (a.starts_with("+timeout=")) {
        o.timeout_cycles = std::stoull(std::string(a.substr(9)), nullptr, 0);
      }
    }
    // No +seed: KVCPU_SEED from the environment (`make test` pins it so that CI is
    // repeatable; "random" or unset draws one, as `make regress` does).
    if (!o.seed_given) {
      const char* env = std::getenv("KVCPU_SEED");
      if (env != nullptr && *env != '\0' && std::string_view(env) != "random") {
        char* end = nullptr;
        errno = 0;
        o.seed = std::strtoull(env, &end, 0);
        if (errno != 0 || *end != '\0' || *env == '-') {
          std::fprintf(stderr, "[%s] KVCPU_SEED=%s: not a number (or \"random\")\n", o.name.c_str(), env);
          std::exit(2);
        }
        o.seed_given = true;
      }
    }
    return o;
  }

  // Value of a numeric plusarg `+key=N` (decimal or 0x-hex), or `fallback` when absent.
  static uint64_t plusarg(int argc, char** argv, std::string_view key, uint64_t fallback) {
    const std::string prefix = "+" + std::string(key) + "=";
    for (int i = 1; i < argc; ++i) {
      std::string_view a(argv[i]);
      if (a.starts_with(prefix)) {
        return std::stoull(std::string(a.substr(prefix.size())), nullptr, 0);
      }
    }
    return fallback;
  }
};

template <class Model>
class Sim {
 public:
  explicit Sim(SimOptions opt, bool quiet = false)
      : opt_(std::move(opt)), ctx_(std::make_unique<VerilatedContext>()) {
    if (!opt_.seed_given) {
      opt_.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    }
    rng_.seed(opt_.seed);
    if (!quiet) {
      std::printf("[%s] seed=%llu (rerun with +seed=%llu)\n", opt_.name.c_str(),
                  static_cast<unsigned long long>(opt_.seed), static_cast<unsigned long long>(opt_.seed));
    }
    ctx_->randReset(2);  // uninitialised state random (--x-initial unique), from the seed
    ctx_->randSeed(static_cast<int>(opt_.seed & 0x7FFFFFFF));
    ctx_->assertOn(true);
    ctx_->fatalOnError(false);  // an SVA failure is counted and reported, not an abort()
    ctx_->traceEverOn(kCanTrace);
    dut_ = std::make_unique<Model>(ctx_.get(), "TOP");
    if (!opt_.trace_path.empty() && set_trace(opt_.trace_path) && !quiet) {
      std::printf("[%s] writing waves to %s\n", opt_.name.c_str(), opt_.trace_path.c_str());
    }
    dut_->clk_i = 0;
    dut_->rst_ni = 1;
    dut_->eval();
  }

  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;

  ~Sim() {
    dut_->final();
    set_trace("");
  }

  Model& dut() { return *dut_; }
  std::mt19937_64& rng() { return rng_; }
  uint64_t seed() const { return opt_.seed; }
  uint64_t cycle() const { return cycle_; }
  uint64_t time_ps() const { return static_cast<uint64_t>(ctx_->time()); }
  uint64_t clock_period_ps() const { return opt_.clock_period_ps; }
  const SimOptions& options() const { return opt_; }
  bool timed_out() const { return cycle_ >= opt_.timeout_cycles; }
  // Assertion failures reported by the model ($error, failed SVA) so far.
  bool assertion_failed() const { return Verilated::gotError(); }

  // Settle combinational logic after inputs changed, with the clock low: sample
  // handshakes (valid && ready) after this and before tick().
  void settle() {
    dut_->clk_i = 0;
    dut_->eval();
  }

  // One clock cycle: falling half, then the rising edge.
  void tick() {
    dut_->clk_i = 0;
    dut_->eval();
    tick_settled();
  }

  // tick() for a caller that has just settle()d and changed no input since: the falling
  // half's evaluation would repeat settle()'s, so only the rising edge is evaluated. Half
  // the evaluations per cycle of settle() + tick() (the cosim server's loop).
  void tick_settled() {
    dump();
    ctx_->timeInc(opt_.clock_period_ps / 2);
    dut_->clk_i = 1;
    dut_->eval();
    dump();
    ctx_->timeInc(opt_.clock_period_ps / 2);
    ++cycle_;
  }

  // Asynchronous active-low reset held for `cycles` clock cycles.
  void reset(unsigned cycles = 4) {
    dut_->rst_ni = 0;
    dut_->eval();
    for (unsigned i = 0; i < cycles; ++i) {
      tick();
    }
    dut_->rst_ni = 1;
    tick();
  }

  // Whether this model was verilated with waves (the post-synthesis netlist is not).
  static constexpr bool kCanTrace = requires(Model& m, VerilatedFstC* t) { m.trace(t, 99); };

  // Start (path) or stop (empty path) waves while running. False if the model cannot
  // trace or the file cannot be opened.
  bool set_trace(const std::string& path) {
    if constexpr (kCanTrace) {
      if (tfp_) {
        tfp_->close();
        tfp_.reset();
      }
      if (path.empty()) {
        return true;
      }
      tfp_ = std::make_unique<VerilatedFstC>();
      dut_->trace(tfp_.get(), 99);
      tfp_->open(path.c_str());
      return tfp_->isOpen();
    } else {
      if (path.empty()) {
        return true;
      }
      std::fprintf(stderr, "[%s] this model was built without waves\n", opt_.name.c_str());
      return false;
    }
  }

 private:
  void dump() {
    if constexpr (kCanTrace) {
      if (tfp_) {
        tfp_->dump(ctx_->time());
      }
    }
  }

  SimOptions opt_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Model> dut_;
  // Only a model verilated with waves links the FST writer; the member's type says so.
  std::conditional_t<kCanTrace, std::unique_ptr<VerilatedFstC>, std::nullptr_t> tfp_{};
  std::mt19937_64 rng_;
  uint64_t cycle_ = 0;
};

}  // namespace kvcpu::sim
