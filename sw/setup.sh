#!/usr/bin/env bash
# Installs what KV-CPU needs from Debian's packages. Idempotent and silent when
# everything is present; a package that cannot be installed stops with a clear message.
#   sw/setup.sh            install what is missing
#   sw/setup.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

# What each package is for (all from Debian 12):
#   verilator              RTL -> C++ model, lint           (>= 5.006)
#   yosys                  synthesis, post-synthesis netlists
#   nextpnr-ice40, fpga-icestorm   iCE40 place & route, bitstreams
#   z3                     SMT solver for yosys-smtbmc bounded model checking
#   cmake, ninja-build, g++, ccache, pkg-config   C++ build
#   libboost-dev           Boost.Asio (cosim server)
#   libgtest-dev, libgmock-dev     GoogleTest
#   libsystemc-dev         SystemC TLM-2.0 wrapper
#   zlib1g-dev             FST waves
#   gtkwave                wave viewer for +trace / --trace output
#   gnuplot-nox            PNG plots of the benchmarks (kvtrace --plot, kvbench)
#   python3                register generator (tomllib: Python >= 3.11)
PKGS=(verilator yosys nextpnr-ice40 fpga-icestorm z3 cmake ninja-build g++ ccache pkg-config
      libboost-dev libgtest-dev libgmock-dev libsystemc-dev zlib1g-dev gtkwave gnuplot-nox python3)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${1:-} == --check ]]; then
  if ((${#missing[@]})); then
    echo "setup: missing: ${missing[*]}"
    exit 1
  fi
  exit 0
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
      SUDO=(sudo)
    else
      echo "setup: need root to install: ${missing[*]} (run: apt-get install ${missing[*]})" >&2
      exit 1
    fi
  fi
  log=$(mktemp)
  if ! { "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" \
          apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "setup: could not install: ${missing[*]} (apt-get output above)" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi

# Versions the project relies on.
vl=$(verilator --version | awk '{print $2}')
if [[ $(printf '%s\n' 5.006 "$vl" | sort -V | head -1) != 5.006 ]]; then
  echo "setup: Verilator $vl is too old; 5.006 or newer is needed" >&2
  exit 1
fi
if ! python3 -c 'import sys, tomllib; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: python3 >= 3.11 (with tomllib) is needed for sw/reggen" >&2
  exit 1
fi
