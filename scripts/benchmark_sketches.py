"""Sketch backends: the Python fallback (Spark 3.5) vs the native aggregates, same data, same process.

    .venv/bin/python scripts/benchmark_sketches.py [--rows 1000000] [--csv-rows 1000000]

The profile of a 10-column file (8 numeric, 2 string columns; the data of scripts/benchmark.py) is
timed with ``sketches="native"`` (Spark 4.1's kll_sketch_agg_double / approx_top_k_accumulate) and
``sketches="python"`` (mapInArrow + datasketches, what Spark 3.5 runs), alternating, best of 2 after a
warm-up of each, and reported as a ratio; a bare scan (sum of every column) is the common reference.
Machines are noisy: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark import bare_scan, make_narrow  # noqa: E402


def profile(spark, path: str, sketches: str) -> float:
    from monitor_lib.io.dataset_format import DatasetFormat
    from monitor_lib.io.readers import read_dataset
    from monitor_lib.profile.options import ProfileOptions
    from monitor_lib.profile.profiler import profile_dataset

    fmt = DatasetFormat("csv", header=True) if path.endswith(".csv") else DatasetFormat("parquet")
    ds = read_dataset(spark, path, fmt)
    t0 = time.perf_counter()
    profile_dataset(ds, ProfileOptions(sketches=sketches))
    return time.perf_counter() - t0


def case(spark, label: str, path: str) -> None:
    bare_scan(spark, path)
    scan = min(bare_scan(spark, path) for _ in range(2))
    for backend in ("native", "python"):  # warm-up: JIT, Python workers
        profile(spark, path, backend)
    runs: dict[str, list[float]] = {"native": [], "python": []}
    for _ in range(2):
        for backend in runs:
            runs[backend].append(profile(spark, path, backend))
    native, python = min(runs["native"]), min(runs["python"])
    print(f"\n{label}: bare scan {scan:.2f} s (best of 2)", flush=True)
    print(f"  native aggregates      {native:7.2f} s   {native / scan:5.1f}x bare scan", flush=True)
    print(f"  Python sketches        {python:7.2f} s   {python / scan:5.1f}x bare scan", flush=True)
    print(f"  fallback / native      {python / native:7.2f}x", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--csv-rows", type=int, default=1_000_000)
    args = ap.parse_args()
    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    from monitor_lib.spark import get_spark

    spark = get_spark("model-monitor-benchmark-sketches")
    print(f"Spark {spark.version}, master {spark.sparkContext.master}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        narrow = os.path.join(tmp, "narrow.parquet")
        make_narrow(narrow, args.rows)
        case(spark, f"{args.rows:,} rows x 10 columns (Parquet)", narrow)
        csv = os.path.join(tmp, "narrow.csv")
        pd.read_parquet(narrow).head(args.csv_rows).to_csv(csv, index=False)
        case(spark, f"{args.csv_rows:,} rows x 10 columns (CSV)", csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
