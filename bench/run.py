#!/usr/bin/env python3
"""rill against storey, Polars, DuckDB and the hand-written W1 limit program: measured in the same
run, on the same files and the same number of events, with every run's result checked.

  python3 bench/run.py [--n 200000] [--k 10000] [--w3-n 1000000] [--runs 7] [--storey-runs 1]
                       [--rill PATH] [--limit PATH] [--peer-python PATH] [--no-peers]

Workloads (../shared/bench/README.md):
  W1  keyed sliding aggregates + checksum reduce (bench/w1.yaml) on the generated W1 file: rill
      from CSV and from Parquet; storey from CSV (../shared/bench/storey_bench.py); Polars (both
      APIs of ../shared/bench/peers/w1_polars.py) and DuckDB (peers/w1_duckdb.py) from Parquet,
      one thread each; the limit program (`w1-limit --mode bucketed`) from Parquet.
  W3  map(x + 1) then reduce(sum) over the integers 0..N-1: rill (bench/w3.yaml, reading a CSV of
      them) and storey (SyncEmitSource), both on the same N (--w3-n).
  CSV -> filter -> map -> Parquet over the W1 CSV file: rill (bench/csv_pipeline.yaml) and storey
      (bench/storey_csv_pipeline.py, the same flow).

What a figure is. Each run is one whole process under /usr/bin/time. events/s = events / the
engine's own timed region (rill: source open to last flush; storey, the peers and the limit
program: their scripts' timers, which leave out interpreter start and imports). "wall s" is the
whole process, start to exit; peak RSS is time's %M. Each engine's row shows its median run (by
timed seconds).

Interleaving. The VM's speed drifts by tens of percent from one minute to the next, so each
workload runs in rounds: a round runs each of its engines once, one after the other (storey only
in the first --storey-runs rounds: it is slow). A ratio "rill / X" is taken per round, between two
runs that saw the same machine, and the median over the rounds where both ran is printed.

Checks. Each run's result is checked as soon as it ends, before the next run starts:
  * rill, limit: W1 checksums = ../shared/bench/w1_reference.py's "sliding" values (10-minute
    buckets); W3 sum = N(N+1)/2; CSV pipeline rows written = rows with click == 1;
  * storey: W1 checksums = w1_reference.py's values *with storey's stale-filter bug*
    (failed_activities_count_1h keeps the value of the key's last 'fail' event), so storey is
    held to its own expected output; the same W3 and CSV pipeline checks as rill;
  * Polars, DuckDB: they compute exact RANGE windows [t - W, t] (closed='both'), not bucketed
    windows, so they are checked against peers/w1_expected.py's "range" values and their
    difference from the bucketed reference is printed beside the table;
  * every run must have processed the workload's number of events.
A failing process or a wrong result stops the script with exit status 1 and a message naming the
run (workload, engine, round).

Set-up: a venv with storey (default bench/.venv, or $STOREY_VENV); it also runs the data generator
and the two references:
  python3 -m venv bench/.venv && bench/.venv/bin/pip install storey==1.14.1 pandas pyarrow packaging
Polars and DuckDB run under --peer-python (default: this interpreter) when it can import them.
Without --rill (or $RILL_BIN) the script builds rill and the limit program with cargo; given a rill
binary it builds nothing, and the limit program runs only if --limit (or $LIMIT_BIN) names one.
Data goes to bench/data (git-ignored).
"""
import argparse
import csv
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared", "bench")
PEERS = os.path.join(SHARED, "peers")
DATA = os.path.join(HERE, "data")
REL = 1e-9  # relative tolerance of float checksums: engines sum in different orders


class CheckFailed(Exception):
    """A run failed or computed a wrong result; the message names the run."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------- running
def measure(cmd, env=None):
    """Runs one command under /usr/bin/time. Returns (its last stdout line as JSON, peak RSS in
    KiB, wall seconds of the whole process)."""
    tf = os.path.join(DATA, ".time")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-o", tf, "-f", "%M"] + cmd, capture_output=True, text=True,
                       cwd=ROOT, env=dict(os.environ, BENCH_DATA_DIR=DATA, **(env or {})))
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise CheckFailed(f"exit status {p.returncode} from {' '.join(cmd)}\n{p.stderr[-3000:]}")
    with open(tf) as f:
        rss = int(f.read().split()[-1])
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise CheckFailed(f"no JSON line on stdout of {' '.join(cmd)}:\n{p.stdout[-1000:]}")
    return out, rss, wall


@dataclass
class Engine:
    """One engine on one workload: its command, how to read its output, how to check it."""
    name: str                        # as printed: "rill", "storey 1.14.1", ...
    input: str                       # "CSV" / "Parquet" / "ints": rill's run on the same input is its partner
    cmd: list
    read: Callable[[dict], tuple]    # output -> (events processed, timed seconds)
    check: Callable[[dict], list]    # output -> mismatches (empty when correct)
    runs: int
    env: dict = field(default_factory=dict)
    done: list = field(default_factory=list)  # per run: round, out, events, seconds, rate, rss_kb, wall

    def median(self):
        r = sorted(self.done, key=lambda d: d["seconds"])
        return r[len(r) // 2]


def run_rounds(workload, engines, events):
    """Runs the engines in interleaved rounds; checks each run's result right after it."""
    for rnd in range(max(e.runs for e in engines)):
        for e in engines:
            if rnd >= e.runs:
                continue
            where = f"{workload}, {e.name} ({e.input}), round {rnd + 1}"
            try:
                out, rss, wall = measure(e.cmd, e.env)
            except CheckFailed as x:
                raise CheckFailed(f"{where}: {x}")
            try:
                n, seconds = e.read(out)
                bad = e.check(out)
            except (KeyError, TypeError) as x:
                raise CheckFailed(f"{where}: unexpected output ({x!r}): {json.dumps(out)[:1000]}")
            if n != events:
                bad.insert(0, f"processed {n:,} events, expected {events:,}")
            if bad:
                raise CheckFailed(f"{where}: " + "; ".join(bad))
            e.done.append(dict(round=rnd, out=out, events=n, seconds=seconds, rate=n / seconds, rss_kb=rss, wall=wall))
            log(f"  {where}: {n / seconds:,.0f} events/s, wall {wall:.2f} s, {rss / 1024:.0f} MiB, result ok")


def ratio(a, b):
    """Median over the rounds where both ran of a's events/s over b's, or None."""
    rb = {d["round"]: d["rate"] for d in b.done}
    rs = [d["rate"] / rb[d["round"]] for d in a.done if d["round"] in rb]
    return statistics.median(rs) if rs else None


# ------------------------------------------------------------------------------------- checks
def compare(got, want, pairs, what):
    """Mismatches between got[g] and want[w] for each (g, w) in pairs (relative tolerance REL)."""
    bad = []
    for g, w in pairs:
        if g not in got:
            bad.append(f"{g} missing from the output")
        elif abs(got[g] - want[w]) > REL * abs(want[w]):
            bad.append(f"{g} = {got[g]!r}, expected {want[w]!r} ({what} {w})")
    return bad


W1_FEATURES = ["sum_number_of_clicks_count_1h", "sum_purchases_avg_24h", "sum_purchases_min_1h", "sum_purchases_max_2h"]
FAIL = "sum_failed_activities_count_1h"
# the limit program's and the peers' names for rill's checksum columns
LIMIT = {"sum_number_of_clicks_count_1h": "sum_count_1h", "sum_purchases_avg_24h": "sum_purchases_avg_24h",
         "sum_purchases_min_1h": "sum_min_1h", "sum_purchases_max_2h": "sum_max_2h", FAIL: "sum_fail_1h"}
PEER = dict(LIMIT, sum_purchases_avg_24h="sum_avg_24h")


def check_rill_w1(ref):
    pairs = [("events", "events")] + [(k, k) for k in W1_FEATURES] + [(FAIL, FAIL + "__sliding")]
    return lambda d: compare(d.get("result", {}), ref, pairs, "w1_reference.py")


def check_storey_w1(ref):
    pairs = [("events", "events")] + [(k, k) for k in W1_FEATURES] + [(FAIL, FAIL + "__storey")]
    return lambda d: compare(d.get("result", {}), ref, pairs, "w1_reference.py, storey's variant:")


def check_limit_w1(ref):
    pairs = [(LIMIT[k], k) for k in W1_FEATURES] + [(LIMIT[FAIL], FAIL + "__sliding")]
    return lambda d: compare(d, ref, pairs, "w1_reference.py")


def check_peer_w1(expected, threads=None):
    """Peers compute RANGE windows: held to w1_expected.py's "range" values."""
    def check(d):
        bad = compare(d, expected["range"], [(k, k) for k in PEER.values()], "w1_expected.py range")
        if threads is not None and d.get("threads") != threads:
            bad.append(f"ran on {d.get('threads')} threads, asked for {threads}")
        return bad
    return check


def check_equal(get, want, what):
    def check(d):
        got = get(d)
        return [] if got == want else [f"{what} = {got!r}, expected {want!r}"]
    return check


def rows_written(d):
    """rill's summary: the rows_written counter of its Parquet target."""
    return sum(v for s in d.get("steps", []) for k, v in s.get("counters", []) if k == "rows_written")


def read_rill(d):
    return d["records_read"], d["seconds"]


# ------------------------------------------------------------------------------------- set-up
def sh_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, BENCH_DATA_DIR=DATA))
    if p.returncode != 0:
        raise CheckFailed(f"set-up step failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return json.loads(p.stdout)


def binaries(a):
    """(rill, limit or None). Builds with cargo only when no rill binary was given."""
    rill = a.rill or os.environ.get("RILL_BIN")
    limit = a.limit or os.environ.get("LIMIT_BIN")
    if rill:
        return rill, limit
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "rill-cli"], cwd=ROOT, check=True)
    rill = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "rill")
    if not limit:
        target = os.path.join(DATA, ".limit-target")
        subprocess.run(["cargo", "build", "--release", "-q", "--manifest-path", os.path.join(SHARED, "limit", "Cargo.toml")],
                       env=dict(os.environ, CARGO_TARGET_DIR=target), check=True)
        limit = os.path.join(target, "release", "w1-limit")
    return rill, limit


def version(python, module):
    """The module's version under that interpreter, or None when it cannot import it."""
    p = subprocess.run([python, "-c", f"import {module}; print({module}.__version__)"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def data_files(a, py):
    stem = os.path.join(DATA, f"w1_n{a.n}_k{a.k}_s42")
    if not os.path.exists(stem + ".parquet"):
        subprocess.run([py, os.path.join(SHARED, "gen_data.py"), "--n", str(a.n), "--k", str(a.k)],
                       env=dict(os.environ, BENCH_DATA_DIR=DATA), check=True, stdout=sys.stderr)
    w3 = os.path.join(DATA, f"w3_n{a.w3_n}.csv")
    if not os.path.exists(w3):
        with open(w3 + ".tmp", "w") as f:
            f.write("x\n" + "".join(f"{i}\n" for i in range(a.w3_n)))
        os.replace(w3 + ".tmp", w3)
    return stem + ".csv", stem + ".parquet", w3


def click_rows(path):
    with open(path, newline="") as f:
        return sum(1 for r in csv.DictReader(f) if r["click"] == "1")


# ------------------------------------------------------------------------------------- workloads
def w1_engines(a, rill, limit, py, peer_py, peers, ref, expected, csv_path, pq):
    w1 = [rill, "run", "bench/w1.yaml", "--json-summary"]
    es = []
    if limit:
        es.append(Engine("w1-limit --mode bucketed", "Parquet", [limit, "--mode", "bucketed", pq],
                         lambda d: (d["n"], d["seconds"]), check_limit_w1(ref), a.runs))
    es.append(Engine("rill", "CSV", w1 + ["--input", csv_path], read_rill, check_rill_w1(ref), a.runs))
    es.append(Engine("rill", "Parquet", w1 + ["--set", f"source={{parquet: {{path: {pq}, key: user, time: time}}}}"],
                     read_rill, check_rill_w1(ref), a.runs))
    if "polars" in peers:
        for variant in ("rolling", "over"):
            es.append(Engine(f"Polars {peers['polars']} `{variant}`, 1 thread", "Parquet",
                             [peer_py, os.path.join(PEERS, "w1_polars.py"), "--variant", variant, pq],
                             lambda d: (d["rows"], d["seconds"]), check_peer_w1(expected, threads=1), a.runs,
                             env={"POLARS_MAX_THREADS": "1"}))
    if "duckdb" in peers:
        es.append(Engine(f"DuckDB {peers['duckdb']}, 1 thread", "Parquet",
                         [peer_py, os.path.join(PEERS, "w1_duckdb.py"), "--threads", "1", pq],
                         lambda d: (d["rows"], d["seconds"]), check_peer_w1(expected, threads=1), a.runs))
    es.append(Engine(f"storey {a.storey_version}", "CSV",
                     [py, os.path.join(SHARED, "storey_bench.py"), "--single", "--workload", "w1", "--source", "csv",
                      "--n", str(a.n), "--k", str(a.k)],
                     lambda d: (d["result"]["events"], d["elapsed_s"]), check_storey_w1(ref), a.storey_runs))
    return es


def w3_engines(a, rill, py, w3):
    total = a.w3_n * (a.w3_n + 1) // 2
    return [
        Engine("rill", "ints", [rill, "run", "bench/w3.yaml", "--json-summary", "--input", w3], read_rill,
               check_equal(lambda d: d.get("result"), total, "sum"), a.runs),
        Engine(f"storey {a.storey_version}", "ints",
               [py, os.path.join(SHARED, "storey_bench.py"), "--single", "--workload", "w3", "--source", "sync",
                "--n", str(a.w3_n)],
               lambda d: (d["n"], d["elapsed_s"]), check_equal(lambda d: d.get("result"), total, "sum"), a.storey_runs),
    ]


def csv_pipeline_engines(a, rill, py, csv_path, clicks):
    return [
        Engine("rill", "CSV", [rill, "run", "bench/csv_pipeline.yaml", "--json-summary", "--input", csv_path], read_rill,
               check_equal(rows_written, clicks, "rows written"), a.runs),
        Engine(f"storey {a.storey_version}", "CSV",
               [py, os.path.join(HERE, "storey_csv_pipeline.py"), csv_path,
                os.path.join(DATA, "out", "storey_csv_pipeline.parquet")],
               lambda d: (d["n"], d["seconds"]), check_equal(lambda d: d.get("rows_written"), clicks, "rows written"),
               a.storey_runs),
    ]


# ------------------------------------------------------------------------------------- report
def fmt_ratio(r):
    return "–" if r is None else (f"**{r:,.0f}×**" if r >= 10 else f"{r:.2f}×")


def rill_of(engines, inp):
    return next(e for e in engines if e.name == "rill" and e.input == inp)


def print_w1_table(a, engines):
    print(f"\n### W1 keyed sliding aggregates, {a.n:,} events, {a.k:,} keys: every engine\n")
    print("| engine | input | events | events/s¹ | wall s¹ | peak RSS | rill / this (same input, per round) | result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for e in engines:
        m = e.median()
        r = None if e.name == "rill" else ratio(rill_of(engines, e.input), e)
        if e.name == "rill" or e.name.startswith("w1-limit"):
            res = "= w1_reference sliding"
        elif e.name.startswith("storey"):
            res = "= w1_reference storey variant²"
        else:
            res = "= w1_expected RANGE³"
        print(f"| {e.name} | {e.input} | {m['events']:,} | {m['rate']:,.0f} | {m['wall']:.2f} | "
              f"{m['rss_kb'] / 1024:.0f} MiB | {fmt_ratio(r)} | {res} ({len(e.done)}/{len(e.done)} runs) |")


def print_storey_table(rows):
    print("\n### rill and storey\n")
    print("| workload | events | rill events/s¹ | rill wall s¹ | rill peak RSS | storey events/s | storey wall s | storey peak RSS | rill / storey (per round) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r, s in rows:
        m = r.median()
        cells = f"| {name} | {m['events']:,} | {m['rate']:,.0f} | {m['wall']:.2f} | {m['rss_kb'] / 1024:.0f} MiB |"
        if s:
            sm = s.median()
            assert sm["events"] == m["events"]  # run_rounds checked both against the workload's count
            cells += f" {sm['rate']:,.0f} | {sm['wall']:.2f} | {sm['rss_kb'] / 1024:.0f} MiB | {fmt_ratio(ratio(r, s))} |"
        else:
            cells += " – | – | – | – |"
        print(cells)


def signed(x, digits):
    s = f"{x:+,.{digits}f}"
    return "±0" if float(s.replace(",", "")) == 0 else s.replace("-", "−")


def print_notes(a, w1, ref, expected, limit_given):
    print("\n¹ events/s: events / the engine's own timed region; wall s: the whole process (interpreter "
          "start and imports included); figures of each engine's median run; ratios: median over the "
          f"rounds where both ran ({max(a.runs, a.storey_runs)} round(s), storey in the first {a.storey_runs}).")
    stale, sliding = ref[FAIL + "__storey"], ref[FAIL + "__sliding"]
    print("² storey's W1 checksums equal w1_reference.py's storey variant in every run: the four window features "
          "equal the correct sliding values (rill's); " + (
              f"failed_activities_count_1h sums to {stale:,.0f} where the sliding value is {sliding:,.0f}: storey's "
              "stale-filter bug (a FieldAggregator with aggr_filter does not slide its windows for events the "
              "filter drops)." if stale != sliding else
              f"so does failed_activities_count_1h ({sliding:,.0f}): on this file storey's stale-filter bug "
              "does not show."))
    peers = [e for e in w1 if e.name.split()[0] in ("Polars", "DuckDB")]
    if peers:
        ties = expected["same_ms_pairs_within_key"]
        print(f"³ Polars and DuckDB compute exact RANGE windows [t − W, t] (closed='both'; {ties} same-millisecond "
              "pair(s) within a key, where RANGE also counts the later-arriving event), not rill's 10-minute "
              "buckets; every run equals peers/w1_expected.py's \"range\" values. Their checksums against rill's "
              "(w1_reference sliding):")
        for e in peers:
            d = e.median()["out"]
            diffs = []
            for k in W1_FEATURES + [FAIL]:
                pk = PEER[k]
                rk = k + "__sliding" if k == FAIL else k
                digits = 0 if "count" in k else 2
                diffs.append(f"{pk[4:]} {d[pk]:,.{digits}f} ({signed(d[pk] - ref[rk], digits)})")
            print(f"  * {e.name}: " + ", ".join(diffs))
    else:
        print("³ Polars / DuckDB: not measured (--no-peers, or --peer-python cannot import them).")
    if not limit_given:
        print("The limit program was not measured (no --limit / $LIMIT_BIN binary given, and nothing is built "
              "when --rill is).")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="W1 events")
    ap.add_argument("--k", type=int, default=10_000, help="W1 keys")
    ap.add_argument("--w3-n", type=int, default=1_000_000, help="W3 events (rill and storey alike)")
    ap.add_argument("--runs", type=int, default=7, help="rounds, i.e. runs of rill, the peers and the limit program")
    ap.add_argument("--storey-runs", type=int, default=1)
    ap.add_argument("--rill", help="rill binary to measure (skips cargo build); default $RILL_BIN")
    ap.add_argument("--limit", help="w1-limit binary; default $LIMIT_BIN")
    ap.add_argument("--peer-python", default=sys.executable, help="interpreter with polars / duckdb")
    ap.add_argument("--no-peers", action="store_true", help="skip Polars and DuckDB")
    a = ap.parse_args()
    py = os.path.join(os.environ.get("STOREY_VENV", os.path.join(HERE, ".venv")), "bin", "python")
    a.storey_version = version(py, "storey") or sys.exit(f"no storey in {py} (see the set-up in bench/run.py)")
    os.makedirs(os.path.join(DATA, "out"), exist_ok=True)

    rill, limit = binaries(a)
    csv_path, pq, w3 = data_files(a, py)
    peers = {} if a.no_peers else {m: v for m in ("polars", "duckdb") if (v := version(a.peer_python, m))}
    log(f"rill {rill}, limit {limit or '–'}, storey {a.storey_version}, peers {peers or '–'}; "
        f"load average {os.getloadavg()[0]:.1f}")
    log("references: w1_reference.py" + (", peers/w1_expected.py" if peers else ""))
    ref = sh_json([py, os.path.join(SHARED, "w1_reference.py"), "--n", str(a.n), "--k", str(a.k)])
    expected = sh_json([py, os.path.join(PEERS, "w1_expected.py"), pq]) if peers else None

    log("W1")
    w1 = w1_engines(a, rill, limit, py, a.peer_python, peers, ref, expected, csv_path, pq)
    run_rounds("W1", w1, a.n)
    log("W3")
    w3e = w3_engines(a, rill, py, w3)
    run_rounds("W3", w3e, a.w3_n)
    log("CSV pipeline")
    cp = csv_pipeline_engines(a, rill, py, csv_path, click_rows(csv_path))
    run_rounds("CSV pipeline", cp, a.n)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    print(f"\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, bench/run.py at {commit}, "
          f"rill binary {rill}; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")
    print_storey_table([("W1 keyed sliding aggregates + checksum reduce, CSV in", rill_of(w1, "CSV"), w1[-1]),
                        ("W1, Parquet in", rill_of(w1, "Parquet"), None),
                        ("W3 map + reduce (YAML expressions)", w3e[0], w3e[1]),
                        ("CSV → filter → map → Parquet", cp[0], cp[1])])
    print_w1_table(a, w1)
    print_notes(a, w1, ref, expected, bool(limit))


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as x:
        sys.exit(f"\nbench/run.py: FAILED — {x}")
