"""Model-quality benchmark: ``run_model_quality`` as a ratio to a bare scan of the same files, same run.

    make bench            # or: .venv/bin/python scripts/benchmark_model_quality.py [--rows 1000000]

Seeded data is written once to a temp dir:

* three labelled CSV files with header, ``--rows`` rows each: Regression (``prediction,label``),
  BinaryClassification (``label,probability``, predicted label = probability >= 0.5) and
  MulticlassClassification (``prediction,label``, 5 classes). Each is a model-quality **baseline**
  (``run_model_quality`` without constraints: read, type, one grouped aggregation with 5 bootstrap
  replicas, metrics, reports). Its reference is a bare scan of the same file:
  ``spark.read.csv(header=True).agg(count, sum(col cast double) of every column)``.
* for the binary case, the exact AUC part alone (``monitor_lib.quality.aggregate._auc``, timed by
  wrapping it during the baseline runs) and, as a comparison point, scikit-learn's ``roc_auc_score`` on
  the same rows already in memory (numpy arrays from the pandas frame).
* ``--merged-records`` merged records (sagemakerMergeJson: a capture record with a CSV ``endpointOutput``
  plus a top-level ``groundTruthData``), one hour folder of 4 files, monitored as Regression against
  the constraints of the Regression baseline above; its reference is
  ``spark.read.text(files).agg(count, sum(length(value)))``.

One small warm-up run of every case first, then each measurement is the median of ``--repeats`` runs
(default 2). Every run's metrics are checked against numpy / scikit-learn (relative 1e-9, confusion
matrices exactly), so a fast-but-wrong change fails here. Machines are noisy: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd

REL = 1e-9
HOUR = "2026-11-20T10"
CSV_FORMAT = '{"csv": {"header": true}}'
MERGE_FORMAT = '{"sagemakerMergeJson": {"captureIndexNames": ["endpointOutput"]}}'


# ------------------------------------------------------------------ data


def make_regression(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = np.round(rng.gamma(2.0, 5.0, rows), 4)
    return pd.DataFrame({"prediction": np.round(label + rng.normal(0.0, 1.5, rows), 4), "label": label})


def make_binary(rows: int, seed: int) -> pd.DataFrame:
    """About 30 % positives; the probability has 7 decimals (many distinct scores, some ties)."""
    rng = np.random.default_rng(seed)
    label = (rng.random(rows) < 0.3).astype(np.int64)
    logit = 1.6 * label - 1.2 + rng.normal(0.0, 1.0, rows)
    return pd.DataFrame({"label": label, "probability": np.round(1.0 / (1.0 + np.exp(-logit)), 7)})


def make_multiclass(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(5, rows, p=[0.35, 0.25, 0.2, 0.12, 0.08])
    prediction = np.where(rng.random(rows) < 0.75, label, rng.integers(0, 5, rows))
    return pd.DataFrame({"prediction": prediction, "label": label})


MAKERS = {"Regression": make_regression, "BinaryClassification": make_binary,
          "MulticlassClassification": make_multiclass}


def write_merged(root: str, table: pd.DataFrame, seed: int, files: int = 4) -> list[str]:
    """Merged records under ``<root>/ep/AllTraffic/2026/11/20/10/``: endpointOutput = the prediction (CSV),
    groundTruthData = the label (CSV), inferenceTime inside the hour, a short CSV endpointInput."""
    rng = np.random.default_rng(seed)
    n = len(table)
    seconds = np.sort(rng.integers(0, 3600, n))
    features = rng.integers(0, 100, (n, 3))
    ids = rng.bytes(16 * n).hex()
    folder = os.path.join(root, "ep", "AllTraffic", "2026", "11", "20", "10")
    os.makedirs(folder, exist_ok=True)
    lines = []
    for i, (pred, label) in enumerate(zip(table["prediction"].tolist(), table["label"].tolist(), strict=True)):
        s = int(seconds[i])
        f = features[i]
        h = ids[32 * i:32 * i + 32]
        lines.append(
            '{"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", '
            f'"data": "{f[0]},{f[1]},{f[2]}", "encoding": "CSV"}}, "endpointOutput": {{"observedContentType": '
            f'"text/csv; charset=utf-8", "mode": "OUTPUT", "data": "{pred!r}", "encoding": "CSV"}}}}, '
            f'"eventMetadata": {{"eventId": "{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", '
            f'"inferenceTime": "{HOUR}:{s // 60:02d}:{s % 60:02d}Z"}}, "eventVersion": "0", '
            f'"groundTruthData": {{"data": "{label!r}", "encoding": "CSV"}}}}\n')
    written = []
    for k, chunk in enumerate(np.array_split(np.arange(n), files)):
        path = os.path.join(folder, f"{k:02d}-00-000-merged-{k:04d}.jsonl")
        with open(path, "w", encoding="ascii") as fh:
            fh.writelines(lines[chunk[0]:chunk[-1] + 1])
        written.append(path)
    return written


# ------------------------------------------------------------------ steps


def median_of(fn, repeats: int):
    """(median seconds, last result, every run's seconds) of ``repeats`` runs; ``fn`` returns (seconds, result)."""
    runs = [fn() for _ in range(repeats)]
    times = [r[0] for r in runs]
    return statistics.median(times), runs[-1][1], times


def csv_scan(spark, path: str, columns: list[str]):
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    df = spark.read.csv(path, header=True).select(*columns)
    row = df.agg(F.count(F.lit(1)), *[F.sum(F.col(c).cast("double")) for c in columns]).collect()[0]
    return time.perf_counter() - t0, int(row[0])


def text_scan(spark, files: list[str]):
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    row = spark.read.text(files).agg(F.count(F.lit(1)), F.sum(F.length("value"))).collect()[0]
    return time.perf_counter() - t0, int(row[0])


def quality_params(problem: str, source: str, out: str) -> dict:
    params = {"dataset_source": source, "dataset_format": CSV_FORMAT, "output_path": out,
              "problem_type": problem, "ground_truth_attribute": "label"}
    if problem == "BinaryClassification":
        params.update(probability_attribute="probability", probability_threshold_attribute="0.5")
    else:
        params["inference_attribute"] = "prediction"
    return params


def run_quality(spark, params: dict, expected: pd.DataFrame):
    """One timed ``run_model_quality``; its metrics are then checked (untimed) against ``expected``."""
    from monitor_lib.runner import run_job

    t0 = time.perf_counter()
    result = run_job("model-quality", params, spark=spark)
    secs = time.perf_counter() - t0
    check(params["problem_type"], expected, result)
    return secs, result


def merged_params(root: str, out: str, constraints: str) -> dict:
    return {"dataset_source": root, "dataset_format": MERGE_FORMAT, "output_path": out,
            "problem_type": "Regression", "inference_attribute": "0", "baseline_constraints": constraints,
            "start_time": f"{HOUR}:00:00Z", "end_time": "2026-11-20T11:00:00Z"}


# ------------------------------------------------------------------ checks


def _close(name: str, ours: float, expected: float) -> None:
    assert math.isclose(ours, expected, rel_tol=REL, abs_tol=1e-15), f"{name}: {ours!r} != {expected!r}"


def check(problem: str, table: pd.DataFrame, result) -> None:
    """The run's metrics against numpy / scikit-learn on the same rows."""
    from sklearn import metrics as sk

    t = result.artifacts.tallies
    assert t is not None and not t.rejected and not t.skipped, (t.rejected, t.skipped) if t else None
    stats = result.artifacts.statistics
    assert stats.item_count == len(table), (stats.item_count, len(table))
    m = {k: v.value for k, v in stats.metrics.items()}
    y = table["label"].to_numpy()
    if problem == "Regression":
        p = table["prediction"].to_numpy()
        e = y - p
        mse = float(np.mean(e * e))
        _close("mse", m["mse"], mse)
        _close("mae", m["mae"], float(np.mean(np.abs(e))))
        _close("rmse", m["rmse"], math.sqrt(mse))
        _close("r2", m["r2"], float(sk.r2_score(y, p)))
    elif problem == "BinaryClassification":
        s = table["probability"].to_numpy()
        yhat = (s >= 0.5).astype(np.int64)
        tn, fp, fn, tp = (int(x) for x in sk.confusion_matrix(y, yhat, labels=[0, 1]).ravel())
        assert stats.confusion_matrix == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}, stats.confusion_matrix
        _close("auc", m["auc"], float(sk.roc_auc_score(y, s)))
        _close("accuracy", m["accuracy"], float(sk.accuracy_score(y, yhat)))
        _close("precision", m["precision"], float(sk.precision_score(y, yhat)))
        _close("recall", m["recall"], float(sk.recall_score(y, yhat)))
        _close("f1", m["f1"], float(sk.f1_score(y, yhat)))
    else:
        p = table["prediction"].to_numpy()
        labels = sorted(set(y.tolist()) | set(p.tolist()))
        matrix = sk.confusion_matrix(y, p, labels=labels)
        expected = {str(a): {str(b): int(matrix[i, j]) for j, b in enumerate(labels)} for i, a in enumerate(labels)}
        assert stats.confusion_matrix == expected, stats.confusion_matrix
        _close("accuracy", m["accuracy"], float(sk.accuracy_score(y, p)))
        for name, fn in (("recall", sk.recall_score), ("precision", sk.precision_score), ("f1", sk.f1_score)):
            _close(f"weighted_{name}", m[f"weighted_{name}"], float(fn(y, p, average="weighted")))


# ------------------------------------------------------------------ report


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _runs(times: list[float]) -> str:
    return " / ".join(f"{t:.2f}" for t in times)


def scan_line(label: str, secs: float, times: list[float]) -> None:
    print(f"  {label:<56} {secs:8.2f} s {'':>19}   (runs {_runs(times)} s)", flush=True)


class Table:
    """The measurements: printed as they come, and as a Markdown table at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float, list[float], float, int]] = []

    def add(self, case: str, step: str, secs: float, times: list[float], scan: float, rows: int) -> None:
        self.rows.append((case, step, secs, times, scan, rows))
        print(f"  {step:<56} {secs:8.2f} s {rows / secs:>12,.0f} rows/s   ratio {secs / scan:6.2f}x   "
              f"(runs {_runs(times)} s)", flush=True)

    def markdown(self) -> str:
        out = ["| case | bare scan | step | time (median) | runs | rows/s | ratio to bare scan |",
               "| --- | --- | --- | --- | --- | --- | --- |"]
        for case, step, secs, times, scan, rows in self.rows:
            out.append(f"| {case} | {scan:.2f} s | {step} | {secs:.2f} s | {_runs(times)} s | {rows / secs:,.0f} "
                       f"| {secs / scan:.2f}× |")
        return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="labelled rows per baseline case")
    ap.add_argument("--merged-records", type=int, default=200_000)
    ap.add_argument("--warmup-rows", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per measurement (the median is reported)")
    args = ap.parse_args()
    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    from sklearn.metrics import roc_auc_score

    from monitor_lib.quality import aggregate
    from monitor_lib.spark import get_spark

    started = time.perf_counter()
    spark = get_spark("model-monitor-benchmark-model-quality")
    print(f"Spark {spark.version}, master {spark.sparkContext.master}, {os.cpu_count()} cores, {_load()}",
          flush=True)

    auc_seconds: list[float] = []
    original_auc = aggregate._auc

    def timed_auc(grouped, tallies):
        t0 = time.perf_counter()
        try:
            return original_auc(grouped, tallies)
        finally:
            auc_seconds.append(time.perf_counter() - t0)

    aggregate._auc = timed_auc  # _classification looks the name up at call time
    table = Table()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            data, paths = {}, {}
            for k, (problem, make) in enumerate(MAKERS.items()):
                for size, tag in ((args.warmup_rows, "warmup"), (args.rows, "full")):
                    frame = make(size, seed=10 * k + (1 if tag == "full" else 0))
                    path = os.path.join(tmp, f"{problem}-{tag}.csv")
                    frame.to_csv(path, index=False)
                    data[problem, tag], paths[problem, tag] = frame, path
            merged_tables = {tag: make_regression(size, seed=99 + i) for i, (size, tag) in
                             enumerate(((args.warmup_rows, "warmup"), (args.merged_records, "full")))}
            merged_roots = {tag: os.path.join(tmp, f"merged-{tag}") for tag in merged_tables}
            merged_files = {tag: write_merged(merged_roots[tag], merged_tables[tag], seed=7) for tag in merged_tables}
            sizes = ", ".join(f"{p}: {os.path.getsize(paths[p, 'full']) / 2**20:.0f} MiB" for p in MAKERS)
            merged_mib = sum(os.path.getsize(f) for f in merged_files["full"]) / 2**20
            print(f"data written in {time.perf_counter() - t0:.1f} s: {args.rows:,} rows per CSV ({sizes}); "
                  f"{args.merged_records:,} merged records ({merged_mib:.0f} MiB, {len(merged_files['full'])} files)",
                  flush=True)
            binary = data["BinaryClassification", "full"]
            print(f"binary: {binary['probability'].nunique():,} distinct probabilities, "
                  f"{binary['label'].mean():.1%} positives", flush=True)

            # warm-up: every case once, small
            t0 = time.perf_counter()
            for problem in MAKERS:
                path = paths[problem, "warmup"]
                csv_scan(spark, path, list(data[problem, "warmup"].columns))
                run_quality(spark, quality_params(problem, path, os.path.join(tmp, f"out-warm-{problem}")),
                            data[problem, "warmup"])
            text_scan(spark, merged_files["warmup"])
            warm_constraints = os.path.join(tmp, "out-warm-Regression", "constraints.json")
            run_quality(spark, merged_params(merged_roots["warmup"], os.path.join(tmp, "out-warm-merged"),
                                             warm_constraints), merged_tables["warmup"])
            auc_seconds.clear()
            print(f"warm-up: {time.perf_counter() - t0:.1f} s\n", flush=True)

            # baselines of the labelled CSV files
            for problem in MAKERS:
                frame, path = data[problem, "full"], paths[problem, "full"]
                case = f"{args.rows:,} rows CSV, {problem}"
                print(case, flush=True)
                scan, n, times = median_of(lambda: csv_scan(spark, path, list(frame.columns)),  # noqa: B023
                                           args.repeats)
                assert n == len(frame), n
                scan_line("bare scan: read.csv, count, sum(cast double) per column", scan, times)
                out = os.path.join(tmp, f"out-{problem}")
                params = quality_params(problem, path, out)
                auc_seconds.clear()
                secs, result, times = median_of(lambda: run_quality(spark, params, frame), args.repeats)  # noqa: B023
                table.add(case, "run_model_quality baseline", secs, times, scan, len(frame))
                if problem == "BinaryClassification":
                    assert len(auc_seconds) == args.repeats, auc_seconds
                    auc = statistics.median(auc_seconds)
                    table.add(case, "of which the exact AUC (_auc)", auc, list(auc_seconds), scan, len(frame))
                    print(f"    (AUC part: {auc / secs:.0%} of the baseline run)", flush=True)
                    y, s = frame["label"].to_numpy(), frame["probability"].to_numpy()

                    def sklearn_auc(y=y, s=s):
                        t = time.perf_counter()
                        value = roc_auc_score(y, s)
                        return time.perf_counter() - t, value

                    sk_secs, value, sk_times = median_of(sklearn_auc, args.repeats)
                    _close("auc", result.artifacts.statistics.metrics["auc"].value, float(value))
                    table.add(case, "context: sklearn roc_auc_score, in memory", sk_secs, sk_times, scan, len(frame))

            # monitoring of merged records against the Regression baseline's constraints
            files, frame = merged_files["full"], merged_tables["full"]
            case = f"{args.merged_records:,} merged records (sagemakerMergeJson), Regression"
            print(case, flush=True)
            scan, n, times = median_of(lambda: text_scan(spark, files), args.repeats)
            assert n == len(frame), n
            scan_line("bare scan: read.text, count, sum(length(value))", scan, times)
            constraints = os.path.join(tmp, "out-Regression", "constraints.json")
            params = merged_params(merged_roots["full"], os.path.join(tmp, "out-merged"), constraints)
            secs, result, times = median_of(lambda: run_quality(spark, params, frame), args.repeats)
            table.add(case, "run_model_quality monitoring", secs, times, scan, len(frame))
            s = result.summary()
            print(f"    {s['status']}: {s['records_evaluated']:,} evaluated, {s['violations']} violation(s) "
                  f"{s['violations_by_metric']}", flush=True)
    finally:
        aggregate._auc = original_auc
    print(f"\nall metrics checked against numpy / scikit-learn (relative {REL:g}); "
          f"total {time.perf_counter() - started:.0f} s, {_load()}\n", flush=True)
    print(table.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
