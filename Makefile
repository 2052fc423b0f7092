# KV-CPU user jobs. CMake/ctest do the work; this file only names the jobs.
#
#   make run       set up, build, start the cosim device, run the driver demo, stop it
#   make test      set up, build, run the regression (exit 0 only if all pass)
#   make regress   longer random regressions (not part of `make test`)
#   make lint      verilator --lint-only -Wall on every RTL module
#   make synth     Yosys iCE40 synthesis of every RTL module
#   make regs      regenerate register outputs from rtl/regs/kvcpu_regs.toml
#   make bench     bridge/simulation benchmark (figures in docs/performance.md)
#   make replay    the Mooncake trace through LRU, OPT and the HEPC modes, fast and on the
#                  cosim device (TRACE=FILE, CAPACITY=N,N...; docs/trace-replay.md)
#   make asan      C++ tests under AddressSanitizer + UBSan (build-asan/)
#   make clean

BUILD  ?= build
JOBS   ?= $(shell nproc)
GEN    := $(shell command -v ninja >/dev/null 2>&1 && echo -G Ninja)
CTEST  := ctest --test-dir $(BUILD) --output-on-failure --timeout 600 -j $(JOBS)

.PHONY: all setup configure build run test regress lint synth regs bench replay asan clean

all: build

setup:
	@bash sw/setup.sh

# Configure once; afterwards `cmake --build` re-configures by itself when a CMakeLists or
# RTL source changes (verilate() runs Verilator at configure time, ~1 min on 2 cores).
configure: setup
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(GEN) -Wno-dev >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@bash sw/demo/kvcpu_demo.sh $(BUILD)

# The random testbenches and tests take their seed from KVCPU_SEED: `make test` pins it, so
# that a CI run repeats; `make regress` draws new ones. Both take SEED=N (or SEED=random);
# every run prints its seed, and `+seed=N` on a testbench's command line reruns it.
test: SEED ?= 1
regress: SEED ?= random

test: build
	@KVCPU_SEED=$(SEED) $(CTEST) -LE regress

# The soaks, plus the post-synthesis twin of the whole core (tb_bar0_gl), which makes the
# configure step minutes longer and so is left out of `make test`, and the end-to-end tests
# again against a server whose model keeps its assertions (KVCPU_COSIM_ASSERT).
regress: configure
	@cmake -S . -B $(BUILD) -DKVCPU_GL_CORE=ON -DKVCPU_COSIM_ASSERT=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@KVCPU_SEED=$(SEED) $(CTEST) -L "regress|e2e"

lint: configure
	@$(CTEST) -L lint

synth: configure
	@$(CTEST) -R rtl_synth -V | grep -E "Test #|SB_|Number of cells|Passed|Failed"

regs:
	@python3 sw/reggen/reggen.py

bench: build
	@$(BUILD)/sw/bench/kvcpu-bench
	@$(BUILD)/sw/bench/kvcpu-qbench
	@$(BUILD)/sw/bench/kvbench --compare fifo,rr,wrr,kairo
	@$(BUILD)/sw/bench/kvbench --device --compare fifo,kairo --ms 50

TRACE    ?= ../shared/data/mooncake/synthetic_trace.jsonl
CAPACITY ?= 2000,8000
replay: build
	@$(BUILD)/sw/trace/kvtrace --trace $(TRACE) --capacity $(CAPACITY) --policy lru,opt,hepc-seed,hepc-hint --device

asan: setup
	@test -f $(BUILD)-asan/CMakeCache.txt || \
	  cmake -S . -B $(BUILD)-asan $(GEN) -Wno-dev -DKVCPU_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	@ctest --test-dir $(BUILD)-asan --output-on-failure -j $(JOBS) -LE "regress|rtl"

clean:
	rm -rf $(BUILD) $(BUILD)-asan
