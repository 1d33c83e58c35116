#!/usr/bin/env python3
"""W1 with `workers: 1` and `workers: 2` against Polars on 1 and 2 threads, in the same
interleaved rounds.

    python3 bench/workers.py [--rill target/release/rill]
        [--data bench/data/w1_n2000000_k100000_s42.parquet] [--runs 3]

Data: `BENCH_DATA_DIR=bench/data python3 ../shared/bench/gen_data.py --n 2000000 --k 100000`.
rill runs `bench/w1.yaml` from Parquet (the whole process, as a user runs it: read, aggregate,
checksum); each run's checksum must equal the one-worker run's. Polars runs
`../shared/bench/peers/w1_polars.py` (both of its APIs, the faster one counted per round) with
POLARS_MAX_THREADS set; its time is its own timed region (read_parquet to the materialised
features), which excludes interpreter start and `import polars` — rill's includes everything.
Ratios are taken per round (both saw the same machine) and their median printed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "..", "shared", "bench", "peers")


def rill(binary, data, workers):
    args = [binary, "run", os.path.join(HERE, "w1.yaml"), "--json-summary",
            "--set", f"source={{parquet: {{path: {data}, key: user, time: time}}}}",
            "--set", f"workers={workers}"]
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"rill workers={workers} failed: {p.stderr}")
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    if any("workers:" in w for w in summary.get("warnings", [])):
        sys.exit(f"rill workers={workers} fell back: {summary['warnings']}")
    return summary["result"], summary["records_read"], wall


def polars(data, threads, variant):
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads))
    p = subprocess.run([sys.executable, os.path.join(PEERS, "w1_polars.py"), "--variant", variant,
                        data], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"polars {threads} threads {variant} failed: {p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])["seconds"]


def main():
    ap = argparse.ArgumentParser()
    cargo_target = os.environ.get("CARGO_TARGET_DIR", os.path.join(HERE, "..", "target"))
    ap.add_argument("--rill", default=os.path.join(cargo_target, "release", "rill"))
    ap.add_argument("--data", default=os.path.join(HERE, "data", "w1_n2000000_k100000_s42.parquet"))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    engines = ["rill 1 worker", "rill 2 workers", "Polars 1 thread", "Polars 2 threads"]
    times = {e: [] for e in engines}
    expected, n = None, 0
    for _ in range(a.runs):
        for w in (1, 2):
            result, n, wall = rill(a.rill, a.data, w)
            if expected is None:
                expected = result
            if result != expected:
                sys.exit(f"workers={w}: checksum {result} differs from the one-worker run's {expected}")
            times[engines[w - 1]].append(wall)
        for t in (1, 2):
            times[engines[1 + t]].append(min(polars(a.data, t, v) for v in ("rolling", "over")))
    print(f"W1 on {os.path.basename(a.data)}: {n:,} events, {a.runs} interleaved rounds, "
          "rill's checksums equal for 1 and 2 workers")
    print("| engine | median s | events/s |")
    print("|---|---:|---:|")
    for e in engines:
        med = statistics.median(times[e])
        print(f"| {e} | {med:.2f} | {n / med:,.0f} |")
    def ratio(x, y):
        return statistics.median(b / a for a, b in zip(times[x], times[y]))
    print(f"\nrill 2 workers / rill 1 worker (speed): {ratio('rill 2 workers', 'rill 1 worker'):.2f}")
    print(f"Polars 2 threads / 1 thread (speed): {ratio('Polars 2 threads', 'Polars 1 thread'):.2f}")
    print(f"rill 2 workers / Polars 2 threads (speed): {ratio('rill 2 workers', 'Polars 2 threads'):.2f}")
    print(f"rill 1 worker / Polars 1 thread (speed): {ratio('rill 1 worker', 'Polars 1 thread'):.2f}")


if __name__ == "__main__":
    main()
