#!/usr/bin/env bash
# narb_bmc.sh YOSYS SMTBMC RTL_DIR HARNESS_DIR WORK_DIR DEPTH [SED_MUTATION]
# Bounded model check of kvcpu_narb (tiny configuration) with yosys-smtbmc and z3. SYNTHESIS is
# defined so that the concurrent KV_ASSERTs (Verilator only) stay out; the FORMAL block stays.
# The design is bit-blasted to AND/NOT gates before write_smt2: z3 stalls on the word-level
# problem (no step finished in 10 minutes) and solves the gate-level one in seconds. Fails if
# Yosys or smtbmc fails, or smtbmc does not report PASSED for the whole depth.
# With SED_MUTATION, the check runs on a copy of kvcpu_narb.sv edited by that sed expression
# (a planted bug) and passes only if smtbmc reports FAILED: the harness can catch a bug.
set -euo pipefail
yosys=$1 smtbmc=$2 rtl=$3 harness=$4 work=$5 depth=$6 mutation=${7:-}
mkdir -p "$work"
cd "$work"
src=$rtl/narb/kvcpu_narb.sv
if [[ -n $mutation ]]; then
  sed "$mutation" "$src" > mutant.sv
  if cmp -s "$src" mutant.sv; then
    echo "narb_bmc: the mutation changed nothing" >&2
    exit 1
  fi
  src=$work/mutant.sv
fi
start=$(date +%s.%N)
"$yosys" -q -l yosys.log -p "read_verilog -sv -formal -DSYNTHESIS -I$rtl/common $src $harness/kvcpu_narb_formal.sv; \
  prep -top kvcpu_narb_formal; flatten; memory_map; opt -full; async2sync; \
  techmap; opt -fast; abc -g AND; opt_clean; dffunmap; tee -q -o stat.txt stat; write_smt2 -wires narb.smt2"
set +e
"$smtbmc" -s z3 -t "$depth" --dump-vcd narb_cex.vcd narb.smt2 2>/dev/null | tr '\r' '\n' > smtbmc.log
rc=$?
set -e
end=$(date +%s.%N)
tail -n 5 smtbmc.log
if [[ -n $mutation ]]; then
  if grep -q "Status: FAILED" smtbmc.log; then
    echo "narb_bmc: the planted bug was found, as it must be"
    exit 0
  fi
  echo "narb_bmc: the planted bug was NOT found" >&2
  exit 1
fi
if [[ $rc -ne 0 ]] || ! grep -q "Status: PASSED" smtbmc.log; then
  echo "narb_bmc: FAILED (rc=$rc; see $work/smtbmc.log, counterexample $work/narb_cex.vcd)" >&2
  exit 1
fi
ands=$(awk '/\$_AND_/ {print $2}' stat.txt) ffs=$(awk '/\$_DFF_P_/ {print $2}' stat.txt)
asserts=$(awk '/\$assert/ {print $2}' stat.txt)
printf 'narb_bmc: PASSED, depth %s, %s assertions, %s AND gates, %s flip-flops, %.1f s\n' \
  "$depth" "$asserts" "$ands" "$ffs" "$(echo "$end - $start" | bc)"
