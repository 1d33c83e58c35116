#!/usr/bin/env python3
"""W1 with each table driver against the memory table, measured in the same interleaved rounds.

    python3 bench/state.py [--rill target/release/rill] [--data bench/data/w1_n200000_k10000_s42.csv]
        [--runs 5] [--redis redis://127.0.0.1:6379/0] [--postgres postgres://postgres@127.0.0.1:5432/test]

Every run is checked: its W1 checksum (the reduce result) must equal the memory run's. Each
persistent run starts from an empty store (a fresh directory, prefix or schema) and flushes
every 5 s and at the end, as `tables: {w1: {url: ...}}` does by default. Ratios are taken per
round (both saw the same machine) and their median printed. With `--keys-bound N` a further run
uses the embedded store with `cache_max_keys: N` and reports peak memory beside the others.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(rill, url, data, extra=()):
    args = [rill, "run", os.path.join(HERE, "w1.yaml"), "--input", data, "--json-summary",
            "--set", f"tables.w1.url={url}", *extra]
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"run on {url} failed: {p.stderr}")
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    peak_kb = int(p.stderr.strip().splitlines()[-1])
    return summary["result"], summary["records_read"], wall, peak_kb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rill", default=os.path.join(HERE, "..", "target", "release", "rill"))
    ap.add_argument("--data", default=os.path.join(HERE, "data", "w1_n200000_k10000_s42.csv"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test")
    ap.add_argument("--keys-bound", type=int, default=0)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rill-state-bench-")
    drivers = ["memory", "embedded", "redis", "postgres"] + (["embedded-bounded"] if a.keys_bound else [])
    times = {d: [] for d in drivers}
    peaks = {d: [] for d in drivers}
    expected = None
    for r in range(a.runs):
        for d in drivers:
            tag = f"rill_bench_{os.getpid()}_{r}"
            extra = ()
            if d == "memory":
                url = "memory://"
            elif d.startswith("embedded"):
                url = os.path.join(tmp, f"{d}-{r}")
                if d == "embedded-bounded":
                    extra = ("--set", f"tables.w1.cache_max_keys={a.keys_bound}")
            elif d == "redis":
                url = f"{a.redis}?prefix={tag}"
            else:
                url = f"{a.postgres}?schema={tag}"
            result, n, wall, peak = run(a.rill, url, a.data, extra)
            if expected is None:
                expected = result
            if result != expected:
                sys.exit(f"{d}: checksum {result} differs from the memory run's {expected}")
            times[d].append(wall)
            peaks[d].append(peak)
            if d == "redis":
                keys = subprocess.run(["redis-cli", "--scan", "--pattern", f"{tag}:*"],
                                      capture_output=True, text=True).stdout.split()
                if keys:
                    subprocess.run(["redis-cli", "DEL", *keys], capture_output=True)
            elif d == "postgres":
                subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
                                f'DROP SCHEMA IF EXISTS "{tag}" CASCADE'], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"W1 on {os.path.basename(a.data)}: {n} events, {a.runs} interleaved rounds, checksums equal")
    print(f"{'driver':<18}{'median s':>10}{'events/s':>12}{'memory / it':>13}{'peak MB':>9}")
    for d in drivers:
        med = statistics.median(times[d])
        ratio = statistics.median(m / t for m, t in zip(times["memory"], times[d]))
        print(f"{d:<18}{med:>10.3f}{n / med:>12,.0f}{ratio:>13.2f}{statistics.median(peaks[d]) / 1024:>9.0f}")


if __name__ == "__main__":
    main()
