"""Backfill benchmark (issue 15): a week of hourly windows in one Spark job, against one window of the same volume
and against one run per window.

    make bench            # or: .venv/bin/python scripts/benchmark_backfill.py [--windows 168 --per-window 600]

The capture: ``--windows`` hourly folders (default 168, a week) of ``--per-window`` records each (CSV payloads,
an output and 6 features: 3 numeric, 2 integer, 1 categorical), 2 files per hour. Three timings, each the best of
``--repeat`` (default 2) after one warm-up, every repetition into fresh output and state folders:

* **backfill, one job**: ``backfill.backfill`` of the whole week — list every window's files, one Spark job
  reading and profiling all of them grouped by window, then every window's checks, files and execution record;
* **one window, same volume**: the same files, all records' times moved into ONE hour folder, one
  ``monitor`` run of that hour (the same bytes, the same number of files);
* **sequential runs**: ``backfill(..., sequential=True)`` — one monitoring run per window, each listing and
  reading its own files — over the first ``--sequential-windows`` windows (default 24), extrapolated linearly to
  all windows (said so in the output).

The goal (issue 15): the week in one job costs at most 3x one window of the same total volume.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import load, source_state  # noqa: E402

START = datetime(2026, 11, 2, tzinfo=UTC)
NAMES = ["p", "x1", "x2", "x3", "n1", "n2", "cat"]


def capture_line(values: str, output: str, when: datetime, event: str) -> str:
    return ('{"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "'
            + values + '", "encoding": "CSV"}, "endpointOutput": {"observedContentType": "text/csv", "mode": '
            '"OUTPUT", "data": "' + output + '", "encoding": "CSV"}}, "eventMetadata": {"eventId": "' + event
            + '", "inferenceTime": "' + when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + 'Z"}, "eventVersion": "0"}')


def records(rng, n: int) -> list[tuple[str, str]]:
    x = rng.normal(0, 1, (n, 3))
    ints = rng.integers(0, 100, (n, 2))
    cats = rng.choice(["a", "b", "c", "d"], n)
    out = rng.random(n)
    return [(f"{x[i, 0]:.5f},{x[i, 1]:.5f},{x[i, 2]:.5f},{ints[i, 0]},{ints[i, 1]},{cats[i]}", f"{out[i]:.4f}")
            for i in range(n)]


def write_capture(root: Path, windows: int, per_window: int, one_hour: bool) -> int:
    """The capture: per window two files; ``one_hour``: every file in the first hour's folder, times in it."""
    rng = np.random.default_rng(7)
    for w in range(windows):
        hour = START + timedelta(hours=0 if one_hour else w)
        folder = root / "ep" / "AllTraffic" / hour.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True, exist_ok=True)
        rows = records(rng, per_window)
        step = 3600 / per_window
        lines = [capture_line(v, o, hour + timedelta(seconds=(i * step) if not one_hour
                                                     else (w * per_window + i) * step / windows), f"{w}-{i}")
                 for i, (v, o) in enumerate(rows)]
        half = len(lines) // 2
        for j, part in enumerate((lines[:half], lines[half:])):
            (folder / f"{w:04d}-{j}.jsonl").write_text("\n".join(part) + "\n")
    return windows * per_window


def baseline(spark, root: Path) -> Path:
    from monitor_lib.runner import run_job

    rng = np.random.default_rng(1)
    rows = records(rng, 5000)
    (root / "baseline.csv").write_text(",".join(NAMES) + "\n" + "\n".join(f"{o},{v}" for v, o in rows) + "\n")
    run_job("data-quality", {"dataset_source": str(root / "baseline.csv"),
                             "dataset_format": '{"csv": {"header": true}}', "output_path": str(root / "baseline")},
            spark=spark)
    return root / "baseline"


def schedule(root: Path, capture: Path, base: Path, tag: str):
    from monitor_lib.schedule.spec import schedule_from_dict

    return schedule_from_dict({
        "name": "bench-hourly", "monitor_type": "data-quality", "cron": "0 * * * *",
        "start_date": (START + timedelta(hours=1)).isoformat(), "output_root": str(root / tag / "out"),
        "state_store": str(root / tag / "state"),
        "params": {"dataset_source": str(capture), "dataset_format": "capture", "sagemaker_endpoint_name": "ep",
                   "baseline_statistics": str(base / "statistics.json"),
                   "baseline_constraints": str(base / "constraints.json")}}, "benchmark schedule")


def best(label: str, fn, repeat: int) -> tuple[float, object]:
    fn("warm-up")
    times, result = [], None
    for i in range(repeat):
        started = time.monotonic()
        result = fn(f"r{i}")
        times.append(time.monotonic() - started)
    print(f"  {label}: {' '.join(f'{t:.2f}' for t in times)} s -> best {min(times):.2f} s   ({load()})", flush=True)
    return min(times), result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=168)
    ap.add_argument("--per-window", type=int, default=600)
    ap.add_argument("--sequential-windows", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    from monitor_lib.runner import run_job
    from monitor_lib.schedule import backfill as bf
    from monitor_lib.spark import get_spark

    spark = get_spark("benchmark-backfill")
    root = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    print(f"backfill benchmark: {args.windows} hourly windows x {args.per_window} records; {source_state()}; "
          f"spark {spark.version}, master {spark.sparkContext.master}", flush=True)
    total = write_capture(root / "week", args.windows, args.per_window, one_hour=False)
    write_capture(root / "hour", args.windows, args.per_window, one_hour=True)
    base = baseline(spark, root)
    end = START + timedelta(hours=args.windows)
    now = end + timedelta(days=1)
    size = sum(p.stat().st_size for p in (root / "week").rglob("*.jsonl"))
    print(f"  {total:,} records, {size / 2**20:.1f} MiB of capture in {2 * args.windows} files", flush=True)

    def week(tag: str):
        plan, done = bf.backfill(schedule(root, root / "week", base, "bf-" + tag), START, end, now=now, spark=spark)
        assert len(done) == args.windows and sum(r.extra.get("records", 0) for r in done) == total, done[:2]
        return done

    def hour(tag: str):
        spec = schedule(root, root / "hour", base, "one-" + tag)
        outcome = run_job("data-quality", spec.run_params(START + timedelta(hours=1)), spark=spark)
        assert outcome.records == total, outcome.records
        return outcome

    n_seq = min(args.sequential_windows, args.windows)

    def sequential(tag: str):
        _, done = bf.backfill(schedule(root, root / "week", base, "seq-" + tag), START,
                              START + timedelta(hours=n_seq), now=now, spark=spark, sequential=True)
        assert len(done) == n_seq
        return done

    t_week, done = best(f"backfill of {args.windows} windows, one job", week, args.repeat)
    t_hour, _ = best("one window, same volume", hour, args.repeat)
    t_seq, _ = best(f"{n_seq} sequential runs", sequential, args.repeat)
    info = done[0].extra
    import json

    summary = json.loads(Path(done[0].output_uri, "run_summary.json").read_text())["backfill"]
    seq_all = t_seq * args.windows / n_seq
    print(f"  shared job: {summary['spark_jobs']} Spark job(s), input read by {summary['input_reads']} stage(s) "
          f"({summary['input_records']:,} records), {summary['seconds']:.2f} s of the backfill; first window "
          f"{info.get('records')} records")
    print(f"  backfill / one window of the same volume: {t_week / t_hour:.2f}x (goal <= 3x)")
    print(f"  {args.windows} sequential runs, extrapolated from {n_seq}: {seq_all:.1f} s = "
          f"{seq_all / t_week:.1f}x the one-job backfill")
    return 0


if __name__ == "__main__":
    sys.exit(main())
