#!/usr/bin/env python3
"""Sketch aggregations (p50, p99, count_distinct, approx_count_distinct) cost per event, at two
input sizes, against plain W1 and against Polars' rolling_quantile_by, in the same run.

  python3 bench/sketches.py [--sizes 200000,2000000] [--k 1000] [--runs 3]

The per-event cost must not grow with the input: events/s of `bench/w1_sketches.yaml` should be
about the same at both sizes and at least half of plain W1's (`bench/w1.yaml`). The peer is
Polars (if installed: `pip install polars`) computing p50 and p99 of the purchase amount per user
over rolling 1h and 24h windows (`rolling_quantile_by(...).over('user')`), one row per event,
timed from read_parquet to the materialised result, with POLARS_MAX_THREADS=1 (rill runs on one
core). Data comes from ../shared/bench/gen_data.py (numpy, pandas, pyarrow). Prints a markdown table.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared", "bench")
DATA = os.path.join(HERE, "data")
RILL = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "rill")

POLARS = r'''
import sys, time, json
import polars as pl
t0 = time.perf_counter()
df = pl.read_parquet(sys.argv[1], columns=["time", "user", "purchase_amount"])
amt = pl.col("purchase_amount")
def q(w, p):
    return amt.rolling_quantile_by("time", window_size=w, quantile=p, closed="both").over("user")
out = df.select(q("1h", 0.5).alias("p50_1h"), q("1h", 0.99).alias("p99_1h"),
                q("24h", 0.5).alias("p50_24h"), q("24h", 0.99).alias("p99_24h"))
s = out.sum()
t1 = time.perf_counter()
print(json.dumps({"rows": out.height, "seconds": t1 - t0, "sum_p50_24h": s["p50_24h"][0]}))
'''


def run(cmd, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, **(env or {})))
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    d = json.loads(p.stdout.strip().splitlines()[-1])
    d["wall"], d["rss_mib"] = wall, int(p.stderr.strip().splitlines()[-1]) / 1024
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="200000,2000000")
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "rill-cli"], cwd=ROOT, check=True)
    try:
        import polars  # noqa: F401
        have_polars = True
    except ImportError:
        have_polars = False
    rows = []
    for n in [int(s) for s in a.sizes.split(",")]:
        stem = os.path.join(DATA, f"w1_n{n}_k{a.k}_s42")
        if not os.path.exists(stem + ".parquet"):
            subprocess.run([sys.executable, os.path.join(SHARED, "gen_data.py"), "--n", str(n), "--k", str(a.k)],
                           env=dict(os.environ, BENCH_DATA_DIR=DATA), check=True)
        pq = f"source={{parquet: {{path: {stem}.parquet, key: user, time: time}}}}"
        res = {"plain": [], "sketch": [], "polars": []}
        for _ in range(a.runs):  # interleaved rounds: the VM's speed drifts
            res["plain"].append(run([RILL, "run", "bench/w1.yaml", "--json-summary", "-q", "--set", pq]))
            res["sketch"].append(run([RILL, "run", "bench/w1_sketches.yaml", "--json-summary", "-q", "--set", pq]))
            if have_polars:
                res["polars"].append(run([sys.executable, "-c", POLARS, stem + ".parquet"], {"POLARS_MAX_THREADS": "1"}))
        med = {k: sorted(v, key=lambda d: d["seconds"])[len(v) // 2] for k, v in res.items() if v}
        for k, d in med.items():
            d["eps"] = n / d["seconds"]
        assert med["sketch"]["result"]["events"] == n
        rows.append((n, med))
    print("\n| events | W1 events/s | W1 + sketches events/s | sketches / W1 | sketch run wall s | sketch peak RSS | Polars p50+p99 (1 thread) events/s | rill sketches / Polars |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, m in rows:
        pol = m.get("polars")
        pol_s = f"{pol['eps']:,.0f}" if pol else "–"
        ratio = f"{m['sketch']['eps'] / pol['eps']:.2f}×" if pol else "–"
        print(f"| {n:,} | {m['plain']['eps']:,.0f} | {m['sketch']['eps']:,.0f} | {m['sketch']['eps'] / m['plain']['eps']:.2f} "
              f"| {m['sketch']['wall']:.2f} | {m['sketch']['rss_mib']:.0f} MiB | {pol_s} | {ratio} |")
    if len(rows) == 2:
        (n0, m0), (n1, m1) = rows
        print(f"\nPer-event cost growth from {n0:,} to {n1:,} events: "
              f"{m0['sketch']['eps'] / m1['sketch']['eps']:.2f}× (1.00 = linear total cost).")


if __name__ == "__main__":
    main()
