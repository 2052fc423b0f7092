#!/usr/bin/env bash
# The `make run` demo: start the cosim device server on a private socket, attach the driver
# through kvctl, run a short session (info, STEP_ADVANCEs, read-back, an error case), print
# a report, and stop the server cleanly. Exit 0 only if every check held.
#   sw/demo/kvcpu_demo.sh [BUILD_DIR]
set -uo pipefail
build=${1:-build}
server=$build/cosim/kvcpu-cosim
kvctl=$build/sw/kvctl/kvctl
for b in "$server" "$kvctl"; do
  [[ -x $b ]] || { echo "demo: $b not built (run: make build)" >&2; exit 1; }
done

tmp=$(mktemp -d)
sock=$tmp/kvcpu.sock
pid=
cleanup() {
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

checks=0 failed=0
check() {  # check DESCRIPTION EXPECTED ACTUAL
  checks=$((checks + 1))
  if [[ $2 == "$3" ]]; then
    printf '  [ok]   %s\n' "$1"
  else
    failed=$((failed + 1))
    printf '  [FAIL] %s: expected %s, got %s\n' "$1" "$2" "$3"
  fi
}
run() {  # run kvctl ARGS...; shows the command and its output, sets $out and $rc
  printf '\n$ kvctl %s\n' "$*"
  out=$("$kvctl" "$@" 2>&1)
  rc=$?
  printf '%s\n' "$out" | sed 's/^/  /'
  [[ $rc -eq 0 ]] || printf '  (exit %d)\n' "$rc"
}
value() {  # value REG -> the register's value as a decimal number
  local v
  v=$("$kvctl" regs read "$1" 2>/dev/null | grep -oE '0x[0-9A-Fa-f]{8}' | tail -1)
  printf '%d' "${v:-0}"
}

echo "== KV-CPU cosim demo =="
echo "starting $server on $sock"
"$server" --socket "$sock" >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!
for _ in $(seq 200); do
  grep -q "listening on" "$tmp/server.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if ! grep -q "listening on" "$tmp/server.out"; then
  echo "demo: the server did not start:" >&2
  cat "$tmp/server.err" >&2
  exit 1
fi
export KVCPU_DEVICE=cosim:$sock

echo
echo "-- 1. identify the device"
run info
check "kvctl info succeeds" 0 "$rc"
check "PCI id 0x1DE5:0x0A10" "$(printf '%d' 0x0A101DE5)" "$(value ID)"

echo
echo "-- 2. decode steps: STEP_ADVANCE is one posted MMIO write"
start=$(value STEP_LO)
count0=$(value STEP_COUNT)
for n in 1 1 5 16; do
  run step "$n"
done
run step
check "step advanced by 1+1+5+16" $((start + 23)) "$(value STEP_LO)"
check "STEP_COUNT counted 4 commits" $((count0 + 4)) "$(value STEP_COUNT)"
run step --set 1000
check "step set to 1000" 1000 "$(value STEP_LO)"

echo
echo "-- 3. read-back through the register file"
run regs write SCRATCH 0xC0FFEE
run regs read SCRATCH
check "SCRATCH reads back 0xC0FFEE" "$(printf '%d' 0xC0FFEE)" "$(value SCRATCH)"

echo
echo "-- 4. error cases: the device answers, records, and keeps going"
run errors --clear
run regs read 0x0FF0
check "read of unmapped offset 0x0FF0 fails (exit 1)" 1 "$rc"
run step --set 10
check "moving the step backwards is refused (exit 1)" 1 "$rc"
run errors
# The driver reported STEP_BACKWARDS to its caller and cleared that bit; DECERR stays.
check "ERR_STATUS holds DECERR" $((0x01)) "$(value ERR_STATUS)"
check "ERR_ADDR holds the first bad offset" "$(printf '%d' 0x0FF0)" "$(value ERR_ADDR)"
check "the step is unchanged" 1000 "$(value STEP_LO)"
run errors --clear
check "ERR_STATUS clears (write 1 to clear)" 0 "$(value ERR_STATUS)"

echo
echo "-- 5. telemetry (GET_TELEMETRY): step, hint and block-directory counters"
run telemetry
check "kvctl telemetry succeeds" 0 "$rc"
check "it shows the step set above" 1 "$(grep -c '^current_step=1000$' <<<"$out")"
check "the block directory has 65536 entries" 1 "$(grep -c '^dir_capacity=65536$' <<<"$out")"

echo
echo "-- 6. host queues: commands in host memory, DMA, completions with provenance"
run queue-test 200
check "200 commands and a 4 KiB DMA copy complete, each checked" 0 "$rc"
check "every completion as asked" 1 "$(grep -c ' 0 wrong, DMA data verified' <<<"$out")"

echo
echo "-- 7. I/O through the NVMe arbiter to the SSD model: many in flight, out of order"
run io-test 64
check "64 writes and 64 reads of 4 KiB complete, data read back" 0 "$rc"
check "the data verified, nothing failed" 1 "$(grep -c ' 0 failed, .* data verified' <<<"$out")"
check "the arbiter dispatched 64 decode and 64 prefill" 1 "$(grep -c 'decode=64 prefetch=0 prefill=64' <<<"$out")"

echo
echo "-- 8. stop the server"
kill -TERM "$pid"
wait "$pid"
src=$?
pid=
check "server exited cleanly" 0 "$src"
check "socket removed" absent "$([[ -e $sock ]] && echo present || echo absent)"

echo
echo "== report: $((checks - failed))/$checks checks passed =="
[[ $failed -eq 0 ]]
