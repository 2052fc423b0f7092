#!/usr/bin/env python3
"""Runs kvtrace on the Mooncake trace and compares its hit rates with the reference table.

The reference (mooncake_reference.csv) gives three decimals, so a replay of the same model
must agree to within half a unit of the last digit: |ours - reference| <= 0.0005.
Exit 0 on agreement, 1 on a mismatch or a kvtrace failure, 77 (ctest SKIP) when the trace
is not there. A trace with a different sha256 is a failure: the table is for that file only.
"""
import argparse
import csv
import hashlib
import os
import subprocess
import sys
import tempfile

SKIP = 77


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvtrace", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--sha256", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--tolerance", type=float, default=0.0005)
    args = ap.parse_args()

    if not os.path.exists(args.trace):
        print(f"SKIP: no trace at {args.trace}")
        return SKIP
    with open(args.trace, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != args.sha256:
        print(f"FAIL: {args.trace} has sha256 {digest}, the reference is for {args.sha256}")
        return 1

    with open(args.reference) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    policies = [k for k in rows[0] if k != "capacity"]
    capacities = [r["capacity"] for r in rows]

    with tempfile.TemporaryDirectory() as tmp:
        out_csv = os.path.join(tmp, "out.csv")
        cmd = [args.kvtrace, "--trace", args.trace, "--capacity", ",".join(capacities),
               "--policy", ",".join(policies), "--csv", out_csv]
        print("$ " + " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        if proc.returncode != 0:
            print(f"FAIL: kvtrace exited {proc.returncode}")
            return 1
        with open(out_csv) as f:
            ours = {(r["capacity"], r["policy"]): float(r["hit_rate"]) for r in csv.DictReader(f)}

    worst = 0.0
    failed = False
    print(f"\n{'capacity':>10} {'policy':>6} {'ours':>8} {'reference':>9} {'diff':>9}")
    for r in rows:
        for p in policies:
            ref = float(r[p])
            got = ours.get((r["capacity"], p))
            if got is None:
                print(f"FAIL: no result for capacity {r['capacity']} policy {p}")
                return 1
            diff = got - ref
            worst = max(worst, abs(diff))
            bad = abs(diff) > args.tolerance + 1e-9
            failed = failed or bad
            print(f"{r['capacity']:>10} {p:>6} {got:8.5f} {ref:9.3f} {diff:+9.5f}"
                  + ("  <-- outside tolerance" if bad else ""))
    print(f"\nlargest |difference| {worst:.5f}, tolerance {args.tolerance}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
