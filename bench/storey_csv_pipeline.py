#!/usr/bin/env python3
"""storey's side of the CSV -> filter -> map -> Parquet comparison (same file, same logic as
bench/csv_pipeline.yaml). Prints one JSON line: events in the file, seconds, events/s, peak RSS, rows written.

Usage: .venv/bin/python storey_csv_pipeline.py INPUT.csv OUTPUT.parquet
"""
import json
import resource
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def main():
    from storey import CSVSource, Filter, Map, ParquetTarget, build_flow
    import pandas as pd

    src_path, out_path = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    flow = build_flow([
        CSVSource(src_path, header=True, build_dict=True, key_field="user", time_field="time"),
        Filter(lambda b: b["click"] == 1),
        Map(lambda b: {**b, "amount_eur": b["purchase_amount"] * 0.92}),
        ParquetTarget(out_path, columns=["time", "time_ms", "user", "click", "purchase_amount", "activity_status", "amount_eur"]),
    ])
    flow.run().await_termination()
    elapsed = time.perf_counter() - t0
    rows = len(pd.read_parquet(out_path))
    n = sum(1 for _ in open(src_path)) - 1
    print(json.dumps({"n": n, "seconds": elapsed, "events_per_s": n / elapsed, "rows_written": rows,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
