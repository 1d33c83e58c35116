#!/usr/bin/env bash
# Exact, repeatable cost of W1 for comparing hot-path changes on a noisy machine: instructions and
# simulated cache misses (L1d 32 KiB, L2 1 MiB as the last level) of one whole `rill run`.
#   bench/cachegrind.sh [RILL_BINARY] [csv|parquet] [extra `rill run` args…]
# Needs bench/data from `python3 bench/run.py` (or ../shared/bench/gen_data.py).
set -euo pipefail
cd "$(dirname "$0")/.."
rill=${1:-target/release/rill}
kind=${2:-parquet}
shift $(( $# < 2 ? $# : 2 ))
data=bench/data/w1_n200000_k10000_s42
if [ "$kind" = csv ]; then src=(--input "$data.csv"); else src=(--set "source={parquet: {path: $data.parquet, key: user, time: time}}"); fi
valgrind --tool=cachegrind --cache-sim=yes --I1=65536,8,64 --D1=32768,8,64 --LL=1048576,16,64 \
  --cachegrind-out-file=/dev/null "$rill" run bench/w1.yaml -q "${src[@]}" "$@" 2>&1 |
  python3 -c '
import re, sys
t = sys.stdin.read()
def g(name):
    m = re.search(name + r":\s+([\d,]+)", t)
    return int(m.group(1).replace(",", "")) if m else 0
ir, d1, ll = g(r"I\s+refs"), g("D1  misses"), g("LL misses")
print(f"instructions {ir/1e6:.1f}M  L1d misses {d1/1e6:.2f}M  L2 misses {ll/1e6:.2f}M  (~{(ir + 10*d1 + 60*ll)/1e6:.0f}M cycles)")'
