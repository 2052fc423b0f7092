#!/usr/bin/env bash
# rtl_check.sh lint|synth MODULE INCLUDE_DIR VLT_FILE SOURCES...
#   lint:  verilator --lint-only -Wall with MODULE as top (waivers only from VLT_FILE)
#   synth: Yosys: elaborate MODULE, fail on latches or a structural problem (check -assert),
#          then synth_ice40 and print the cell statistics.
set -euo pipefail
mode=$1 top=$2 inc=$3 vlt=$4
shift 4
case $mode in
  lint)
    exec verilator --lint-only -Wall --assert -I"$inc" "$vlt" "$@" --top-module "$top"
    ;;
  synth)
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    if ! yosys -q -l "$log" -p "read_verilog -sv -I$inc $*; hierarchy -check -top $top; proc; \
        select -assert-none t:\$dlatch t:\$adlatch t:\$dlatchsr; check -assert; \
        synth_ice40 -top $top; tee -q -o /dev/stdout stat" >/dev/null; then
      grep -E "ERROR|Assertion|found and reported|latch" "$log" | head -20 >&2
      echo "rtl_check: Yosys synthesis of $top failed (log above)" >&2
      exit 1
    fi
    sed -n '/Number of cells/,/^$/p' "$log" | tail -n +1
    ;;
  *)
    echo "usage: rtl_check.sh lint|synth MODULE INCLUDE_DIR VLT_FILE SOURCES..." >&2
    exit 2
    ;;
esac
