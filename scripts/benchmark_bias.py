"""Model-bias benchmark: the model-bias baseline as a ratio to a bare scan of the same file, in the same run.

    make bench            # or: .venv/bin/python scripts/benchmark_bias.py [--rows 10000000] [--parquet]

Seeded data (``--rows`` rows, default 10,000,000) is written once as CSV with header into ``--data-dir`` and
reused by later runs: ``label`` and ``predicted_label`` (0/1, positive = 1), three facets — ``sex`` (0/1,
value_or_threshold [0]: a category with a value), ``region`` (1..5, no value: one-vs-rest, 5 entries),
``income`` (a float, threshold 60000: continuous) — a group variable ``county`` (20 values, for CDDL /
CDDPL) and four numeric features. The first ``--small-rows`` rows (default 1,000,000) are a second CSV file.

Measured, every timing the median of ``--repeats`` runs after a small warm-up of every case:

* **bare scan** — ``spark.read.csv(header=True).agg(count, sum(cast(c as double)) of every column)``, timed
  from the path to the result (as ``scripts/benchmark_model_quality.py``): the cheapest query that reads every
  value. It is the denominator of the ratios of its file.
* **model-bias baseline, all metrics but FT** — ``run_job("model-bias", …)`` with every pre-training metric
  and every post-training metric except FT listed in ``methods``: the job that claims one pass over the input.
  For each run the Spark UI's REST API (on 127.0.0.1 only) gives the jobs that ran and their stages:
  *jobs reading the file* are the jobs with an executed stage whose ``inputRecords`` are at least half the
  file's rows (other stages with input read persisted data: Spark's cache counts 10,000-row batches), and
  *file reads* is the rows the file scan nodes of the run's SQL executions returned, divided by the file's
  rows. Both must be 1.
* **FT** (the flip test, a kNN per facet entry) on the small file: the same job with all post-training
  metrics (FT included) minus the same job without FT, both run here.
* **smclarify 0.5** ``bias_report`` (pandas, one process) on the small file: pre-training "all" and
  post-training "all" but FT for the same three facets and group variable; its FT alone separately
  (``--skip-smclarify-ft`` leaves it out). Its metrics are also compared with the Spark run's analysis.json
  for the small file (relative 1e-9; FT left out: the monitor fits FT's kNN on a 100,000-row sample of group a).
* ``--parquet``: the same rows as Parquet, bare scan (sum of every column) and the no-FT baseline.

Machines are noisy: compare ratios, not seconds; the load average is printed at the start, the end and as
the range sampled every 10 s during the run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import numpy as np
from bench_common import load, source_state

DATA_VERSION = 1
CSV_FORMAT = '{"csv": {"header": true}}'
PARQUET_FORMAT = '{"parquet": {}}'
COLUMNS = ["label", "predicted_label", "sex", "region", "income", "county", "f0", "f1", "f2", "f3"]
FACETS = [("sex", [0]), ("region", None), ("income", [60000])]
GROUP = "county"
PRE = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
POST = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE"]
POST_NO_FT = [m for m in POST if m != "FT"]
REL = 1e-9


# ------------------------------------------------------------------ data


def make_data(rows: int, seed: int) -> dict[str, np.ndarray]:
    """A credit-style table whose labels and predictions depend on the facets (so the metrics are not ~0)."""
    rng = np.random.default_rng(seed)
    sex = (rng.random(rows) >= 0.48).astype(np.int64)  # 48 % are 0, the sensitive value
    region = rng.choice(np.arange(1, 6), rows, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    income = np.round(rng.lognormal(np.log(45_000.0), 0.5, rows), 2)
    county = rng.integers(0, 20, rows)
    f = [np.round(rng.normal(0.0, 1.0 + i / 2, rows), 4) for i in range(4)]
    logit = -0.7 + 0.8 * f[0] - 0.4 * f[1] + 0.35 * sex + 0.5 * (income > 60_000) + 0.1 * (region - 3) \
        + 0.02 * (county - 10)
    label = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    model = logit + 0.3 * sex + rng.normal(0.0, 0.8, rows)
    predicted = (rng.random(rows) < 1.0 / (1.0 + np.exp(-model))).astype(np.int64)
    return {"label": label, "predicted_label": predicted, "sex": sex, "region": region, "income": income,
            "county": county, "f0": f[0], "f1": f[1], "f2": f[2], "f3": f[3]}


def _write_atomic(path: str, write) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_csv(path: str, data: dict[str, np.ndarray], rows: int) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table({c: data[c][:rows] for c in COLUMNS})

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write((",".join(COLUMNS) + "\n").encode("ascii"))
            pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, batch_size=100_000))

    _write_atomic(path, write)


def write_parquet(path: str, data: dict[str, np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _write_atomic(path, lambda tmp: pq.write_table(pa.table({c: data[c] for c in COLUMNS}), tmp,
                                                    row_group_size=1_000_000))


@dataclass
class Files:
    full: str
    small: str
    warmup: str
    parquet: str | None = None


def ensure_data(data_dir: str, rows: int, small: int, warmup: int, seed: int, parquet: bool) -> Files:
    """The CSV files (and Parquet), written once per (rows, seed) and reused; the small and warm-up files are
    the first rows of the full one."""
    os.makedirs(data_dir, exist_ok=True)
    stem = os.path.join(data_dir, f"bias-v{DATA_VERSION}-seed{seed}-{rows}")
    files = Files(f"{stem}.csv", f"{stem}-head{small}.csv", f"{stem}-head{warmup}.csv",
                  f"{stem}.parquet" if parquet else None)
    wanted = [files.full, files.small, files.warmup] + ([files.parquet] if parquet else [])
    missing = [p for p in wanted if not os.path.exists(p)]
    if not missing:
        print(f"data: reusing {stem}.*", flush=True)
        return files
    t0 = time.perf_counter()
    data = make_data(rows, seed)
    for path, n in ((files.full, rows), (files.small, small), (files.warmup, warmup)):
        if path in missing:
            write_csv(path, data, n)
    if files.parquet in missing:
        write_parquet(files.parquet, data)
    print(f"data: wrote {', '.join(os.path.basename(p) for p in missing)} in {time.perf_counter() - t0:.1f} s",
          flush=True)
    return files


def analysis_config(folder: str, name: str, post: list[str]) -> str:
    path = os.path.join(folder, f"{name}.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"label": "label", "predicted_label": "predicted_label", "label_values_or_threshold": [1],
                   "facet": [{"name_or_index": n} | ({} if v is None else {"value_or_threshold": v})
                             for n, v in FACETS],
                   "group_variable": GROUP,
                   "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": post}}},
                  fh)
    return path


# ------------------------------------------------------------------ the Spark UI (loopback only)


@dataclass
class Reads:
    """What one run read, from the Spark UI: every executed stage with input, by the job that ran it."""

    jobs: int = 0  # Spark jobs the run started
    stages: list[tuple[int, int, int, int]] = field(default_factory=list)  # (job, stage, inputBytes, inputRecords)
    file_jobs: int = 0  # jobs with a stage that read at least half the file's rows
    scanned_rows: int | None = None  # rows returned by the file scan nodes of the run's SQL executions
    file_reads: float | None = None
    file_job_ids: set[int] = field(default_factory=set)

    def text(self) -> str:
        if not self.jobs:
            return "n/a (Spark UI disabled)"
        rest = [s for s in self.stages if s[0] not in self.file_job_ids]
        return (f"{self.file_jobs} job(s) reading the file, which was read {self.file_reads:.2f}x "
                f"({self.scanned_rows:,} rows from the scan); {len(rest)} more stage(s) reading persisted data "
                f"({sum(s[2] for s in rest):,} bytes, {sum(s[3] for s in rest):,} cached batches); "
                f"{self.jobs} Spark jobs in all")

    def cell(self) -> str:
        return f"{self.file_jobs} (file read {self.file_reads:.2f}×)" if self.jobs else "n/a"


class SparkUi:
    """The application's REST API on 127.0.0.1 (the UI binds every interface; we only talk to loopback)."""

    def __init__(self, sc) -> None:
        url = sc.uiWebUrl
        self.base = None
        if url:
            port = urllib.parse.urlsplit(url).port
            self.base = f"http://127.0.0.1:{port}/api/v1/applications/{sc.applicationId}"
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy

    def get(self, path: str):
        with self.opener.open(self.base + path, timeout=60) as r:
            return json.load(r)

    def mark(self) -> tuple[set, set]:
        if self.base is None:
            return set(), set()
        return {j["jobId"] for j in self.get("/jobs")}, {e["id"] for e in self.get("/sql?offset=0&length=100000")}

    def reads(self, mark: tuple[set, set], rows: int) -> Reads:
        """A stage reads the file when its input records are at least half the file's rows: a stage reading
        persisted data (Spark's in-memory columnar cache) counts cached batches (10,000 rows each), and its
        input bytes can be as large as the file's."""
        if self.base is None:
            return Reads()
        before_jobs, before_sql = mark
        for _ in range(60):  # the UI's listener runs behind the driver: wait until every new job has ended
            jobs = [j for j in self.get("/jobs") if j["jobId"] not in before_jobs]
            execs = [e for e in self.get("/sql?offset=0&length=100000&details=true&planDescription=false")
                     if e["id"] not in before_sql]
            if all(j["status"] != "RUNNING" for j in jobs) and all(e["status"] != "RUNNING" for e in execs):
                break
            time.sleep(0.5)
        owner: dict[int, int] = {}  # a stage is run by the first job that needs it; later jobs skip it
        for j in sorted(jobs, key=lambda j: j["jobId"]):
            for s in j["stageIds"]:
                owner.setdefault(s, j["jobId"])
        out = Reads(jobs=len(jobs))
        for s in self.get("/stages?status=complete"):
            if s["stageId"] in owner and s["inputBytes"] > 0:
                out.stages.append((owner[s["stageId"]], s["stageId"], s["inputBytes"], s["inputRecords"]))
        out.stages.sort()
        out.file_job_ids = {job for job, _, _, records in out.stages if records >= rows / 2}
        out.file_jobs = len(out.file_job_ids)
        scanned = 0
        for e in execs:
            for node in e.get("nodes", []):
                if node["nodeName"].startswith("Scan "):
                    for m in node["metrics"]:
                        if m["name"] == "number of output rows":
                            scanned += int(m["value"].replace(",", ""))
        out.scanned_rows = scanned
        out.file_reads = scanned / rows
        return out


# ------------------------------------------------------------------ steps


def bare_scan(spark, path: str) -> float:
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    df = spark.read.parquet(path) if path.endswith(".parquet") else spark.read.csv(path, header=True)
    row = df.select(*COLUMNS).agg(F.count(F.lit(1)), *[F.sum(F.col(c).cast("double")) for c in COLUMNS]).collect()[0]
    secs = time.perf_counter() - t0
    assert row[0] > 0, row
    return secs


def run_bias(spark, ui: SparkUi, path: str, config: str, out: str, rows: int):
    """One timed model-bias baseline; (seconds, outcome, what it read)."""
    from monitor_lib.runner import run_job

    mark = ui.mark()
    t0 = time.perf_counter()
    result = run_job("model-bias", {"dataset_source": path, "analysis_config": config, "output_path": out,
                                    "dataset_format": PARQUET_FORMAT if path.endswith(".parquet") else CSV_FORMAT},
                     spark=spark)
    secs = time.perf_counter() - t0
    assert result.records == rows and not result.rejected, (result.records, result.rejected, result.message)
    return secs, result, ui.reads(mark, rows)


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def _post_names(result) -> set[str]:
    post = result.artifacts.analysis["post_training_bias_metrics"]["facets"]
    return {m["name"] for entries in post.values() for e in entries for m in e["metrics"]}


# ------------------------------------------------------------------ smclarify


def smclarify_reports(frame, post: list[str]) -> dict:
    """smclarify's reports for every facet: {(stage, facet): [entries]}. ``post`` empty: pre-training only."""
    from smclarify.bias.report import FacetColumn, LabelColumn, StageType, bias_report

    out = {}
    for name, values in FACETS:
        label = LabelColumn("label", frame["label"], [1])
        if post:
            out["post", name] = bias_report(frame, FacetColumn(name, values), label, StageType.POST_TRAINING,
                                            LabelColumn("predicted_label", frame["predicted_label"], [1]),
                                            metrics=post, group_variable=frame[GROUP])
        else:
            out["pre", name] = bias_report(frame, FacetColumn(name, values), label, StageType.PRE_TRAINING,
                                           metrics=["all"], group_variable=frame[GROUP])
    return out


def _value(v):
    if isinstance(v, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}.get(v, v)
    return v


def compare(analysis: dict, reports: dict) -> list[str]:
    """Differences between the monitor's analysis.json and smclarify's reports (FT left out)."""
    problems = []
    for stage, key in (("pre", "pre_training_bias_metrics"), ("post", "post_training_bias_metrics")):
        for name, _ in FACETS:
            ours = {e["value_or_threshold"]: e for e in analysis[key]["facets"][name]}
            theirs = {e["value_or_threshold"]: e for e in reports[stage, name]}
            if list(ours) != list(theirs):
                problems.append(f"{stage} {name}: entries {list(ours)} != smclarify {list(theirs)}")
                continue
            for value, entry in theirs.items():
                mine = {m["name"]: m for m in ours[value]["metrics"]}
                for m in entry["metrics"]:
                    if m["name"] == "FT":
                        continue
                    got, want = _value(mine.get(m["name"], {}).get("value")), _value(m["value"])
                    same = (got is None and want is None) or (
                        got is not None and want is not None and (
                            got == want or math.isclose(got, want, rel_tol=REL, abs_tol=1e-12)))
                    if not same:
                        problems.append(f"{stage} {name}={value} {m['name']}: {got!r} != smclarify {want!r}")
    return problems


# ------------------------------------------------------------------ report


def _runs(times: list[float]) -> str:
    return " / ".join(f"{t:.2f}" for t in times)


class LoadSampler(threading.Thread):
    """The 1-minute load average every 10 s, for the noise note."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self.stop.wait(10)

    def text(self) -> str:
        s = self.samples or [os.getloadavg()[0]]
        return f"1-min load average sampled every 10 s: min {min(s):.2f}, median {statistics.median(s):.2f}, " \
               f"max {max(s):.2f} ({len(s)} samples)"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, case: str, scan: float | None, step: str, times: list[float], rows: int, reads: str = "") -> float:
        secs = statistics.median(times)
        self.rows.append((case, scan, step, secs, times, rows, reads))
        ratio = f"ratio {secs / scan:6.2f}x" if scan else ""
        print(f"  {step:<58} {secs:8.2f} s {rows / secs:>12,.0f} rows/s   {ratio}   (runs {_runs(times)} s)",
              flush=True)
        return secs

    def markdown(self) -> str:
        out = ["| case | bare scan | step | time (median) | runs | rows/s | ratio to bare scan "
               "| jobs reading the file |",
               "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for case, scan, step, secs, times, rows, reads in self.rows:
            out.append(f"| {case} | {f'{scan:.2f} s' if scan else '—'} | {step} | {secs:.2f} s | {_runs(times)} s "
                       f"| {rows / secs:,.0f} | {f'{secs / scan:.2f}×' if scan else '—'} | {reads or '—'} |")
        return "\n".join(out)


def median_runs(fn, repeats: int) -> list:
    return [fn() for _ in range(repeats)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows of the one-pass case")
    ap.add_argument("--small-rows", type=int, default=1_000_000, help="rows of the FT and smclarify cases")
    ap.add_argument("--warmup-rows", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per measurement (the median is reported)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "spark-model-monitor-bench-bias"),
                    help="where the generated files are cached")
    ap.add_argument("--parquet", action="store_true", help="also the same rows as Parquet (bare scan + no-FT run)")
    ap.add_argument("--skip-ft", action="store_true")
    ap.add_argument("--skip-smclarify", action="store_true")
    ap.add_argument("--skip-smclarify-ft", action="store_true")
    args = ap.parse_args()
    small = min(args.small_rows, args.rows)
    warm = min(args.warmup_rows, small)
    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")

    started = time.perf_counter()
    sampler = LoadSampler()
    sampler.start()
    files = ensure_data(args.data_dir, args.rows, small, warm, args.seed, args.parquet)
    print(f"{args.rows:,} rows: {_size(files.full) / 2**20:.0f} MiB CSV; {small:,} rows: "
          f"{_size(files.small) / 2**20:.0f} MiB", flush=True)

    from monitor_lib.spark import get_spark

    print("source: " + source_state(), flush=True)
    spark = get_spark("model-monitor-benchmark-bias")
    sc = spark.sparkContext
    ui = SparkUi(sc)
    print(f"Spark {spark.version}, master {sc.master}, default parallelism {sc.defaultParallelism}, "
          f"{os.cpu_count()} cores, driver memory {sc.getConf().get('spark.driver.memory', '?')}, {load()}",
          flush=True)
    table = Table()
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        no_ft = analysis_config(tmp, "no-ft", POST_NO_FT)
        with_ft = analysis_config(tmp, "with-ft", ["all"])
        counter = iter(range(10**6))

        def out() -> str:
            return os.path.join(tmp, f"out-{next(counter)}")

        # warm-up: every case once, small
        t0 = time.perf_counter()
        bare_scan(spark, files.warmup)
        run_bias(spark, ui, files.warmup, no_ft, out(), warm)
        if not args.skip_ft:
            run_bias(spark, ui, files.warmup, with_ft, out(), warm)
        print(f"warm-up: {time.perf_counter() - t0:.1f} s\n", flush=True)

        # the one-pass claim: all metrics but FT
        cases = [(files.full, "CSV")] + ([(files.parquet, "Parquet")] if files.parquet else [])
        scans = {}
        for path, kind in cases:
            case = f"{args.rows:,} rows {kind}"
            print(case, flush=True)
            bare_scan(spark, path)  # file cache, scan code
            times = median_runs(lambda: bare_scan(spark, path), args.repeats)  # noqa: B023
            scan = scans[path] = table.add(case, None, "bare scan", times, args.rows)
            runs = median_runs(lambda: run_bias(spark, ui, path, no_ft, out(), args.rows), args.repeats)  # noqa: B023
            reads = [r[2] for r in runs]
            for i, r in enumerate(reads):
                own = runs[i][1].details.get("jobs_reading_input")
                print(f"    run {i + 1}: {r.text()}; the library's own count: {own}", flush=True)
                for job, stage, size, records in r.stages:
                    print(f"      job {job} stage {stage}: input {size:,} bytes, {records:,} records", flush=True)
                if r.jobs and (r.file_jobs != 1 or r.scanned_rows != args.rows):
                    failures.append(f"{case}: {r.text()} — expected one job reading the file once")
            assert "FT" not in _post_names(runs[-1][1])
            table.add(case, scan, "model-bias baseline, all metrics but FT", [r[0] for r in runs], args.rows,
                      reads=" / ".join(r.cell() for r in reads))

        # FT on the small file: with FT minus without, alternating
        case = f"{small:,} rows CSV"
        print(case, flush=True)
        bare_scan(spark, files.small)
        scan = table.add(case, None, "bare scan",
                         median_runs(lambda: bare_scan(spark, files.small), args.repeats), small)
        without, with_ = [], []
        for _ in range(args.repeats):
            without.append(run_bias(spark, ui, files.small, no_ft, out(), small))
            if not args.skip_ft:
                with_.append(run_bias(spark, ui, files.small, with_ft, out(), small))
        r = without[-1][2]
        print(f"    without FT: {r.text()}", flush=True)
        table.add(case, scan, "model-bias baseline, all metrics but FT", [w[0] for w in without], small,
                  reads=r.cell())
        if with_:
            assert "FT" in _post_names(with_[-1][1])
            r = with_[-1][2]
            print(f"    with FT: {r.text()}; notes: {with_[-1][1].details.get('notes')}", flush=True)
            secs = table.add(case, scan, "model-bias baseline, all metrics with FT", [w[0] for w in with_], small,
                             reads=r.cell())
            ft = [a[0] - b[0] for a, b in zip(with_, without, strict=True)]
            table.add(case, scan, "of which FT (with FT − without, per pair)", ft, small)
            print(f"    FT: {statistics.median(ft) / secs:.0%} of the run with FT", flush=True)

        # smclarify on the same small file (pandas)
        if not args.skip_smclarify:
            import pandas as pd

            t0 = time.perf_counter()
            frame = pd.read_csv(files.small)
            read_secs = time.perf_counter() - t0
            table.add(case, scan, "context: pandas read_csv of the file", [read_secs], small)
            runs = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                reports = smclarify_reports(frame, []) | smclarify_reports(frame, POST_NO_FT)
                runs.append(time.perf_counter() - t0)
            table.add(case, scan, "context: smclarify 0.5 bias_report, pre all + post all but FT, in memory", runs,
                      small)
            problems = compare(without[-1][1].artifacts.analysis, reports)
            print(f"    metrics vs the Spark run of this file: "
                  f"{'identical (relative 1e-9)' if not problems else f'{len(problems)} difference(s)'}", flush=True)
            for p in problems[:20]:
                print(f"      {p}", flush=True)
            failures += [f"smclarify differs: {p}" for p in problems]
            if not args.skip_smclarify_ft:
                t0 = time.perf_counter()
                ft_reports = smclarify_reports(frame, ["FT"])
                entries = sum(len(v) for v in ft_reports.values())
                table.add(case, scan, f"context: smclarify 0.5 FT only ({entries} facet entries), in memory",
                          [time.perf_counter() - t0], small)
    sampler.stop.set()
    print(f"\ntotal {time.perf_counter() - started:.0f} s, {load()}, {os.cpu_count()} cores\n{sampler.text()}\n",
          flush=True)
    print(table.markdown())
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
