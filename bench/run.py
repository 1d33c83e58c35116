#!/usr/bin/env python3
"""rill vs storey (and the hand-written limit program), measured in the same run on the same files.

  python3 bench/run.py [--n 200000] [--k 10000] [--w3-n 1000000] [--runs 7] [--storey-runs 1]

Needs a venv with storey (default bench/.venv, or $STOREY_VENV):
  python3 -m venv bench/.venv && bench/.venv/bin/pip install storey==1.14.1 pandas pyarrow packaging
Writes data under bench/data (git-ignored). Prints a markdown table (events/s, peak RSS, ratios)
and checks rill's W1 checksums against ../shared/bench/w1_reference.py (the correct "sliding"
values). Every rill figure is a whole `rill run` process; events/s uses the run's own timer
(source open to last flush) and the wall time of the process is shown beside it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared", "bench")
DATA = os.path.join(HERE, "data")
RILL = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "rill")


def sh(cmd, **kw):
    """Runs a command under /usr/bin/time; returns (stdout, peak RSS in KiB, wall seconds)."""
    tf = os.path.join(DATA, ".time")
    env = dict(os.environ, BENCH_DATA_DIR=DATA)
    p = subprocess.run(["/usr/bin/time", "-o", tf, "-f", "%M %e"] + cmd, capture_output=True, text=True, cwd=ROOT, env=env, **kw)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rss, wall = open(tf).read().split()[-2:]
    return p.stdout, int(rss), float(wall)


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def one_run(cmd):
    out, rss, wall = sh(cmd)
    d = last_json(out)
    d["rss_kb"], d["wall"] = rss, wall
    d.setdefault("seconds", d.get("elapsed_s"))
    return d


def rate(d):
    return d.get("records_read", d.get("n")) / d["seconds"]


def interleaved(cmds, runs):
    """Runs the commands in turn, `runs` rounds, so that each round sees the same machine (a
    shared VM's speed drifts by tens of percent between minutes). Returns, per command, its
    median run, and the per-round rate of each command relative to the first (median)."""
    rows = [[] for _ in cmds]
    for _ in range(runs):
        for i, c in enumerate(cmds):
            rows[i].append(one_run(c))
    med = []
    for r in rows:
        r = sorted(r, key=lambda d: d["seconds"])
        med.append(r[len(r) // 2])
    rel = [statistics.median(rate(b) / rate(a) for a, b in zip(rows[0], r)) for r in rows]
    return med, rel


def median_run(cmd, runs):
    rows = []
    for _ in range(runs):
        out, rss, wall = sh(cmd)
        d = last_json(out)
        d["rss_kb"], d["wall"] = rss, wall
        d.setdefault("seconds", d.get("elapsed_s"))
        rows.append(d)
    rows.sort(key=lambda d: d["seconds"])
    return rows[len(rows) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--k", type=int, default=10_000)
    ap.add_argument("--w3-n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--storey-runs", type=int, default=1)
    a = ap.parse_args()
    venv = os.environ.get("STOREY_VENV", os.path.join(HERE, ".venv"))
    py = os.path.join(venv, "bin", "python")
    env = dict(os.environ, BENCH_DATA_DIR=DATA)
    os.makedirs(os.path.join(DATA, "out"), exist_ok=True)

    stem = f"w1_n{a.n}_k{a.k}_s42"
    csv, pq = os.path.join(DATA, stem + ".csv"), os.path.join(DATA, stem + ".parquet")
    if not os.path.exists(pq):
        subprocess.run([py, os.path.join(SHARED, "gen_data.py"), "--n", str(a.n), "--k", str(a.k)], env=env, check=True)
    w3 = os.path.join(DATA, f"w3_n{a.w3_n}.csv")
    if not os.path.exists(w3):
        with open(w3, "w") as f:
            f.write("x\n")
            f.write("\n".join(str(i) for i in range(a.w3_n)))
            f.write("\n")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "rill-cli"], cwd=ROOT, check=True)
    limit_target = os.path.join(DATA, ".limit-target")
    subprocess.run(["cargo", "build", "--release", "-q", "--manifest-path", os.path.join(SHARED, "limit", "Cargo.toml")],
                   env=dict(os.environ, CARGO_TARGET_DIR=limit_target), check=True)

    rows = []
    # ---- W1
    ref = json.loads(subprocess.run([py, os.path.join(SHARED, "w1_reference.py"), "--n", str(a.n), "--k", str(a.k)],
                                    env=env, capture_output=True, text=True, check=True).stdout)
    w1 = ["bench/w1.yaml", "--json-summary"]
    limit_cmd = [os.path.join(limit_target, "release", "w1-limit"), "--mode", "bucketed", pq]
    (limit, r_csv, r_pq), (_, csv_share, pq_share) = interleaved(
        [limit_cmd, [RILL, "run", *w1, "--input", csv],
         [RILL, "run", *w1, "--set", f"source={{parquet: {{path: {pq}, key: user, time: time}}}}"]], a.runs)
    for r in (r_csv, r_pq):
        res = r["result"]
        for k in ["sum_number_of_clicks_count_1h", "sum_purchases_avg_24h", "sum_purchases_min_1h", "sum_purchases_max_2h"]:
            assert abs(res[k] - ref[k]) <= 1e-9 * abs(ref[k]), f"W1 checksum {k}: rill {res[k]} vs reference {ref[k]}"
        assert res["sum_failed_activities_count_1h"] == ref["sum_failed_activities_count_1h__sliding"]
    s_w1 = median_run([py, os.path.join(SHARED, "storey_bench.py"), "--single", "--workload", "w1", "--source", "csv",
                       "--n", str(a.n), "--k", str(a.k)], a.storey_runs)
    s_w1["seconds"] = s_w1["elapsed_s"]
    rows.append(("W1 keyed sliding aggregates, CSV in", a.n, r_csv, s_w1))
    rows.append(("W1, Parquet in", a.n, r_pq, None))
    # ---- W3
    r_w3 = median_run([RILL, "run", "bench/w3.yaml", "--json-summary", "--input", w3], a.runs)
    assert r_w3["result"] == a.w3_n * (a.w3_n + 1) // 2, r_w3["result"]
    s_n = min(a.w3_n, 200_000)
    s_w3 = median_run([py, os.path.join(SHARED, "storey_bench.py"), "--single", "--workload", "w3", "--source", "sync", "--n", str(s_n)], a.storey_runs)
    s_w3["seconds"] = s_w3["elapsed_s"]
    rows.append(("W3 map+reduce", a.w3_n, r_w3, s_w3))
    # ---- CSV -> filter -> map -> Parquet
    r_cp = median_run([RILL, "run", "bench/csv_pipeline.yaml", "--json-summary", "--input", csv], a.runs)
    s_cp = median_run([py, os.path.join(HERE, "storey_csv_pipeline.py"), csv, os.path.join(DATA, "out", "storey_csv_pipeline.parquet")], a.storey_runs)
    rows.append(("CSV → filter → map → Parquet", a.n, r_cp, s_cp))

    print(f"\n| workload | events | rill events/s | rill peak RSS | storey events/s | storey peak RSS | rill / storey |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, n, r, s in rows:
        reps = r["records_read"] / r["seconds"]
        if s:
            seps = s["events_per_s"]
            print(f"| {name} | {n:,} | {reps:,.0f} | {r['rss_kb'] / 1024:.0f} MiB | {seps:,.0f} | {s['rss_kb'] / 1024:.0f} MiB | **{reps / seps:,.0f}×** |")
        else:
            print(f"| {name} | {n:,} | {reps:,.0f} | {r['rss_kb'] / 1024:.0f} MiB | – | – | – |")
    print(f"\nW1 limit program (bucketed, Parquet, single-purpose): {limit['events_per_s']:,.0f} events/s (median run). "
          f"Per round (limit and rill run back to back), rill reaches {100 * pq_share:.0f} % of it from Parquet "
          f"and {100 * csv_share:.0f} % from CSV (medians over {a.runs} rounds).")
    print(f"W1 checksums equal w1_reference.py's sliding values (count_1h {ref['sum_number_of_clicks_count_1h']:.0f}, "
          f"fail_1h {ref['sum_failed_activities_count_1h__sliding']:.0f}); storey's stale-filter value is {ref['sum_failed_activities_count_1h__storey']:.0f}.")
    print(f"(storey W3 measured on {s_n:,} events; storey's figures are single runs unless --storey-runs is raised.)")


if __name__ == "__main__":
    main()
