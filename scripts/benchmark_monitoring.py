"""Data-quality monitoring benchmark: a monitoring run over SageMaker capture files, as a ratio to a bare scan.

    make bench            # or: .venv/bin/python scripts/benchmark_monitoring.py [--records 1000000]

A seeded credit-style table (10 features: 4 integer, 4 float, 2 categorical strings; one model output)
is profiled as a 200k-row CSV baseline (``run_baseline``), then 1M records of it are written as SageMaker
data capture (JSON Lines, ``<root>/<endpoint>/AllTraffic/yyyy/mm/dd/hh/<name>.jsonl``, 4 hour folders
of 4 files) with CSV payloads and, as a second case, with JSON payloads. Each case times the bare scan
of its capture files (``sum(length(line))``: reads every line, decodes nothing), the capture decoding on
its own (``capture_entries``, the sum of the entry counts) and the whole ``run_data_quality`` (list,
decode, profile, check, write the reports). For context the same records as a plain CSV file with
header are profiled (``profile_dataset``) and compared to the same capture bare scan. Every timing is
the best of 2 after one warm-up. Machines are noisy: compare ratios, not seconds. The last lines sum the cases
up: decode-only and whole-run ratios for CSV and JSON payloads beside issue 18's goal (the whole run <= 5x).
``--reference-decoder`` also times the decoding with the fast path off (every line through every stage).

A decode or monitoring run that takes longer than ``--timeout`` seconds (default 1200) has its Spark jobs
cancelled and is reported as a lower bound, so a pathological plan shows up as a number instead of a
``make bench`` that never ends. ``--spark-conf KEY=VALUE`` sets a runtime SQL option for diagnostics.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

ENDPOINT = "credit-default-endpoint"
VARIANT = "AllTraffic"
OUTPUT = "prediction"
FIRST_HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)


# ------------------------------------------------------------------ data


def make_table(rows: int, seed: int) -> pd.DataFrame:
    """The model output first (output_columns_position START), then the 10 features in payload order."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        OUTPUT: np.round(rng.beta(2, 5, rows), 2),
        "limit_bal": rng.integers(1, 80, rows) * 10_000,
        "age": rng.integers(21, 76, rows),
        "pay_delay": rng.integers(-2, 9, rows),
        "num_cards": rng.poisson(2.5, rows),
        "bill_amt": np.round(rng.gamma(2.0, 25_000, rows), 2),
        "pay_amt": np.round(rng.gamma(1.2, 3_000, rows), 2),
        "utilization": np.round(rng.beta(2, 3, rows), 4),
        "income": np.round(rng.lognormal(10.5, 0.6, rows), 2),
        "education": rng.choice(["graduate_school", "university", "high_school", "others"], rows,
                                 p=[0.35, 0.45, 0.15, 0.05]),
        "housing": rng.choice(["own", "rent", "mortgage"], rows),
    })


def _text(values: np.ndarray):
    """Values as text, as pandas' CSV writer prints them: floats keep their ``.0`` (``3.0``, not ``3``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(pa.array(values), pa.large_string())  # 64-bit offsets: no 2 GiB limit on the lines
    if values.dtype.kind == "f":
        whole = pc.invert(pc.match_substring_regex(text, r"[.eEn]"))  # no point, exponent, nan or inf
        text = pc.if_else(whole, _join(text, ".0"), text)
    return text


def _join(*parts, sep: str = ""):
    """Element-wise concatenation of arrow (large) string arrays and plain strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(p):
        return pa.scalar(p, pa.large_string()) if isinstance(p, str) else p

    return pc.binary_join_element_wise(*map(arrow, parts), arrow(sep))


def capture_lines(table: pd.DataFrame, hours: int, payload: str, seed: int):
    """One capture line per row (vectorised with pyarrow: no Python loop over the rows), each row's hour
    index and its second in that hour. Row i falls in hour ``i * hours // n``, time-sorted within the hour."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(table)
    rng = np.random.default_rng(seed)
    text = {c: _text(table[c].to_numpy()) for c in table.columns}
    features = [c for c in table.columns if c != OUTPUT]
    if payload == "csv":
        data = _join(*[text[c] for c in features], sep=",")
        part_in = ('{"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", '
                   '"data": "')
        part_out = ('", "encoding": "CSV"}, "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", '
                    '"mode": "OUTPUT", "data": "')
        part_end = '", "encoding": "CSV"}}, '
    else:  # a JSON object by feature name inside the JSON string "data": its quotes escaped
        pieces: list = ["{"]
        for i, c in enumerate(features):
            quote = '\\"' if table[c].dtype.kind in "OSUT" else ""
            pieces += [(", " if i else "") + f'\\"{c}\\": {quote}', text[c], quote]
        data = _join(*pieces, "}")
        part_in = ('{"captureData": {"endpointInput": {"observedContentType": "application/json", '
                   '"mode": "INPUT", "data": "')
        part_out = ('", "encoding": "JSON"}, "endpointOutput": {"observedContentType": "application/json", '
                    '"mode": "OUTPUT", "data": "')
        part_end = '", "encoding": "JSON"}}, '
    hour = np.arange(n) * hours // n
    seconds = np.empty(n, dtype=np.int64)
    for h in range(hours):
        block = hour == h
        seconds[block] = np.sort(rng.integers(0, 3600, int(block.sum())))
    prefixes = np.array([f"{FIRST_HOUR + timedelta(hours=h):%Y-%m-%dT%H}:" for h in range(hours)])
    stamp = _join(pa.array(prefixes[hour], pa.large_string()), pc.utf8_lpad(_text(seconds // 60), 2, "0"), ":",
                  pc.utf8_lpad(_text(seconds % 60), 2, "0"), "Z")
    hexes = pa.array(np.frombuffer(rng.bytes(16 * n).hex().encode("ascii"), dtype="S32")).cast(pa.large_string())

    def cut(start: int, stop: int):
        return pc.utf8_slice_codeunits(hexes, start, stop)

    event_id = _join(cut(0, 8), "-", cut(8, 12), "-4", cut(13, 16), "-a", cut(17, 20), "-", cut(20, 32))
    lines = _join(part_in, data, part_out, text[OUTPUT], part_end, '"eventMetadata": {"eventId": "', event_id,
                  '", "inferenceTime": "', stamp, '"}, "eventVersion": "0"}\n')
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    return lines, hour, seconds


def write_capture(root: str, lines, hour: np.ndarray, seconds: np.ndarray,
                  files_per_hour: int) -> list[str]:
    """SageMaker's layout: ``<root>/<endpoint>/AllTraffic/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<id>.jsonl``.
    ``lines`` (each ending in a newline) is one arrow array: a file is a slice of its data buffer."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
    buffer = memoryview(lines.buffers()[2])
    written = []
    for h in np.unique(hour):
        start = FIRST_HOUR + timedelta(hours=int(h))
        folder = os.path.join(root, ENDPOINT, VARIANT, start.strftime("%Y/%m/%d/%H"))
        os.makedirs(folder, exist_ok=True)
        rows = np.flatnonzero(hour == h)
        for k, chunk in enumerate(np.array_split(rows, files_per_hour)):
            mm, ss = divmod(int(seconds[chunk[0]]), 60)
            path = os.path.join(folder, f"{mm:02d}-{ss:02d}-000-{h:04d}{k:04d}-0000-4000-a000-000000000000.jsonl")
            with open(path, "wb") as fh:
                fh.write(buffer[offsets[chunk[0]]:offsets[chunk[-1] + 1]])
            written.append(path)
    return written


# ------------------------------------------------------------------ timed steps


class TimedOut(Exception):
    """A timed step ran past ``--timeout`` and its Spark jobs were cancelled."""


def best(fn, spark=None, limit: float | None = None, repeats: int = 2):
    """One warm-up (JIT, file cache), then the best of ``repeats``: (seconds, last result). With ``limit``
    every run is cancelled (``cancelAllJobs``) after ``limit`` seconds and :class:`TimedOut` raised."""

    def run():
        if limit is None:
            return fn()
        fired = threading.Event()

        def cancel() -> None:
            fired.set()
            spark.sparkContext.cancelAllJobs()

        timer = threading.Timer(limit, cancel)
        timer.start()
        try:
            return fn()
        except Exception:
            if fired.is_set():
                raise TimedOut from None
            raise
        finally:
            timer.cancel()

    run()
    runs = [run() for _ in range(repeats)]
    return min(r[0] for r in runs), runs[-1][1]


def bare_scan(spark, files: list[str]):
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    total = spark.read.text(files).agg(F.sum(F.length("value"))).collect()[0][0]
    return time.perf_counter() - t0, total


def decode_only(spark, root: str, names: list[str], start: datetime, end: datetime, fast: bool = True):
    """The capture decoding alone: every entry built (their count summed), nothing profiled. ``fast=False``: the
    decoder without its fast path (every line through every stage), for comparison."""
    from pyspark.sql import functions as F

    from monitor_lib.io import capture as cap
    from monitor_lib.io.dataset_format import DatasetFormat

    t0 = time.perf_counter()
    files = cap.list_capture_files(root, start, end)
    spec = cap.CaptureSpec(tuple(names), DatasetFormat.parse({"sagemakerCaptureJson": {}}), start, end)
    entries = cap.capture_entries(cap.read_capture_lines(spark, files), spec, fast=fast)
    total = entries.agg(F.sum(F.size("entries"))).collect()[0][0]
    return time.perf_counter() - t0, total


def monitor(spark, root: str, baseline: str, out: str, start: datetime, end: datetime):
    from monitor_lib.runner import run_job

    config = ({
        "dataset_source": root,
        "dataset_format": json.dumps({"sagemakerCaptureJson": {}}),
        "output_path": out,
        "baseline_constraints": os.path.join(baseline, "constraints.json"),
        "baseline_statistics": os.path.join(baseline, "statistics.json"),
        "start_time": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "end_time": f"{end:%Y-%m-%dT%H:%M:%SZ}",
    })
    t0 = time.perf_counter()
    result = run_job("data-quality", config, spark=spark)
    return time.perf_counter() - t0, result


def profile_csv(spark, path: str):
    from monitor_lib.io.dataset_format import DatasetFormat
    from monitor_lib.io.readers import read_dataset
    from monitor_lib.profile.profiler import profile_dataset

    t0 = time.perf_counter()
    run = profile_dataset(read_dataset(spark, path, DatasetFormat("csv", header=True)))
    return time.perf_counter() - t0, run


def csv_scan(spark, path: str):
    from pyspark.sql import functions as F

    df = spark.read.option("header", True).csv(path)
    t0 = time.perf_counter()
    df.agg(*[F.sum(F.length(c)) for c in df.columns]).collect()
    return time.perf_counter() - t0, None


# ------------------------------------------------------------------ report


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


GOAL = 5.0
"""Issue 18: a monitoring run over 1M captured records within 5x a bare read of the capture files."""


def row(label: str, secs: float, scan: float, records: int | None = None, goal: float | None = None) -> None:
    rate = f"{records / secs:>10,.0f} rec/s" if records else " " * 16
    verdict = "" if goal is None else f"   (goal <= {goal:.0f}x: {'met' if secs / scan <= goal else 'NOT met'})"
    print(f"  {label:<52} {secs:8.2f} s  {rate}   ratio to bare scan {secs / scan:6.1f}x{verdict}", flush=True)


def timed_out(label: str, limit: float, scan: float) -> None:
    print(f"  {label:<52} > {limit:.0f} s (cancelled)   ratio to bare scan > {limit / scan:.1f}x", flush=True)


def capture_case(spark, tmp: str, label: str, table: pd.DataFrame, payload: str, args,
                 baseline: str) -> dict[str, float]:
    """One payload case; returns its ratios to the bare scan (``decode``, ``run``) for the summary."""
    root = os.path.join(tmp, f"capture-{payload}")
    t0 = time.perf_counter()
    lines, hour, seconds = capture_lines(table, args.hours, payload, seed=7)
    built = time.perf_counter() - t0
    files = write_capture(root, lines, hour, seconds, args.files_per_hour)
    size = sum(os.path.getsize(f) for f in files)
    print(f"\n{label}: {len(table):,} records, {len(files)} files in {args.hours} hour folders, "
          f"{size / 2**20:,.0f} MiB (built in {built:.1f} s, written in {time.perf_counter() - t0 - built:.1f} s)",
          flush=True)
    del lines
    start, end = FIRST_HOUR, FIRST_HOUR + timedelta(hours=args.hours)
    scan, _ = best(lambda: bare_scan(spark, files))
    print(f"  {'bare scan: sum(length(line)) of spark.read.text':<52} {scan:8.2f} s", flush=True)
    limit = args.timeout or None
    ratios = {}
    decoders = [] if args.skip_decode else [(True, "decode only: capture_entries, sum(size(entries))")]
    if args.reference_decoder and not args.skip_decode:
        decoders.append((False, "decode only, fast path off (every line staged)"))
    for fast, label in decoders:
        try:
            secs, n_entries = best(lambda fast=fast: decode_only(spark, root, list(table.columns), start, end, fast),
                                   spark, limit)
        except TimedOut:
            timed_out(label, limit, scan)
        else:
            row(label, secs, scan, len(table))
            ratios.setdefault("decode", secs / scan)
            expected = len(table) * (len(table.columns) + 1)
            if n_entries != expected:
                print(f"  !! {n_entries:,} entries, expected {expected:,}", flush=True)
    out = os.path.join(tmp, f"monitoring-{payload}")
    label = "run_data_quality (the whole monitoring run)"
    try:
        secs, result = best(lambda: monitor(spark, root, baseline, out, start, end), spark, limit)
    except TimedOut:
        timed_out(label, limit, scan)
    else:
        row(label, secs, scan, result.records, goal=GOAL)
        ratios["run"] = secs / scan
        s = result.summary()
        print(f"    {s['status']}: {s['records_profiled']:,} profiled, rejected {s['records_rejected']}, "
              f"skipped {s['records_skipped']}, {s['features']} features, {s['violations']} violation(s) "
              f"{s['violations_by_check']}", flush=True)
        if result.records != len(table) or result.rejected:
            print(f"  !! expected {len(table):,} records profiled and none rejected; sample: "
                  f"{result.rejected_sample[:2]}", flush=True)
    if payload == "csv" and not args.skip_csv_profile:
        csv = os.path.join(tmp, "records.csv")
        table.to_csv(csv, index=False)
        own, _ = best(lambda: csv_scan(spark, csv))
        secs, run = best(lambda: profile_csv(spark, csv))
        row("context: profile_dataset of the same records as CSV", secs, scan, run.profile.item_count)
        print(f"    (the CSV file's own bare scan: {own:.2f} s; profile / own scan {secs / own:.1f}x)", flush=True)
    return ratios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000, help="capture records per case")
    ap.add_argument("--baseline-rows", type=int, default=200_000)
    ap.add_argument("--hours", type=int, default=4, help="hour folders of capture")
    ap.add_argument("--files-per-hour", type=int, default=4)
    ap.add_argument("--skip-json", action="store_true", help="only the CSV-payload case")
    ap.add_argument("--skip-decode", action="store_true", help="do not time capture_entries on its own")
    ap.add_argument("--skip-csv-profile", action="store_true", help="do not profile the records as a CSV file")
    ap.add_argument("--reference-decoder", action="store_true",
                    help="also time the decoding with its fast path off (every line through every stage)")
    ap.add_argument("--timeout", type=float, default=1200,
                    help="cancel a decode or monitoring run after this many seconds and report a lower bound "
                         "(0: no limit)")
    ap.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                    help="a runtime SQL setting for the session (diagnostics; repeatable)")
    args = ap.parse_args()
    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    from monitor_lib.runner import run_job
    from monitor_lib.spark import get_spark

    spark = get_spark("model-monitor-benchmark")
    print(f"Spark {spark.version}, master {spark.sparkContext.master}, {os.cpu_count()} cores, {_load()}",
          flush=True)
    for setting in args.spark_conf:
        key, _, value = setting.partition("=")
        spark.conf.set(key.strip(), value.strip())
        print(f"  spark.conf.set({key.strip()!r}, {value.strip()!r})", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        base_csv, baseline = os.path.join(tmp, "baseline.csv"), os.path.join(tmp, "baseline")
        make_table(args.baseline_rows, seed=1).to_csv(base_csv, index=False)
        t0 = time.perf_counter()
        result = run_job("data-quality", {
            "dataset_source": base_csv, "dataset_format": '{"csv": {"header": true}}', "output_path": baseline},
            spark=spark)
        types = result.summary()["inferred_types"]
        print(f"baseline: {args.baseline_rows:,} rows x {len(result.artifacts.statistics.features)} columns (CSV), "
              f"run_baseline {time.perf_counter() - t0:.1f} s (one cold run, not in the ratios), types {types}",
              flush=True)
        table = make_table(args.records, seed=2)
        summary = {"CSV payloads": capture_case(spark, tmp, "CSV payloads (text/csv)", table, "csv", args, baseline)}
        if not args.skip_json:
            summary["JSON payloads"] = capture_case(
                spark, tmp, "JSON payloads (application/json, one object by name)", table, "json", args, baseline)
    print(f"\nSummary, ratios to the bare scan of the same capture files (goal: the whole run <= {GOAL:.0f}x):",
          flush=True)
    for case, ratios in summary.items():
        decode = f"{ratios['decode']:5.1f}x" if "decode" in ratios else "    -"
        run = f"{ratios['run']:5.1f}x" if "run" in ratios else "    -"
        met = "" if "run" not in ratios else ("goal met" if ratios["run"] <= GOAL else "goal NOT met")
        print(f"  {case:<14} decode only {decode}   whole run {run}   {met}", flush=True)
    print(f"\n{_load()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
