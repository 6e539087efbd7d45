"""Feature-attribution benchmark: KernelSHAP over Spark (``monitor_lib.explain.job.explain``) in ``local[1]`` and
``local[2]`` against single-process ``shap`` on the same model, background, records and settings.

    make bench            # or: .venv/bin/python scripts/benchmark_explain.py [--cases logistic-12,boosting-12]

Seeded data per case (written to a temporary directory): a training set (5,000 rows, numeric features of
different scales, a logistic label), a scikit-learn model fitted on it and saved with joblib, the background
(10 K-means centroids of the training set, Clarify's default ``num_clusters``, given to both sides as
``methods.shap.baseline``) and the records to explain (another sample of the same distribution, a Parquet
file). The explained output is the positive-class probability (``predictor.probability`` 1), link identity,
``l1_reg`` off, ``num_samples`` shap's "auto" 2M + 2048 unless the case says otherwise, seed 0.

Every measurement runs in its own fresh process (this script with ``--child``), one after the other:

* **shap** — ``shap.KernelExplainer(f, background)``, ``f`` the model's ``predict_proba(X)[:, 1]``, in one
  Python process: each record explained on its own with NumPy's global generator seeded by
  ``kernel.record_seed`` (as the executors do), after a warm-up of 20 records (not timed).
* **Spark local[1] / local[2]** — a new SparkSession (``monitor_lib.spark.get_spark``, master from
  ``PYSPARK_SUBMIT_ARGS``) reads the Parquet file, then ``job.explain(spark, records, config, features,
  background, max_records=N)`` with the config a user would write (``model_uri`` of the joblib file). Three
  calls: a cold one (``--warmup-records``: starts the Python workers, imports shap, loads the model), a small
  one (one record per partition: the fixed cost of a call), then the timed call of all N records. Only that
  last call is the throughput; the session start and the first two are reported beside it.

Reported per measurement: records/s, records/s per core (the master's cores; 1 for shap), the ratio of that to
shap's, the speedup of local[2] over local[1], model calls per explained record (``Explained.model_calls / n``;
shap's count is of its predict function), the CPU time of the measurement's own process tree (driver, JVM,
Python workers) and the machine's busy cores (``/proc/stat``) during the timed call, records per CPU-second of
the own processes (less sensitive to other work on the machine than records/s), and the load average before
and after. The SHAP values of
every Spark run are compared with shap's, record by record: the largest absolute difference must be ≤ 1e-9,
or the script fails (a benchmark that explains something else proves nothing).

Results: a Markdown table on stdout and ``bench-output/benchmark_explain-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass

import numpy as np
from bench_common import load, source_state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-9
SEED = 0
TRAIN_ROWS = 5_000
BACKGROUND_ROWS = 10
REFERENCE_WARMUP = 20


@dataclass(frozen=True)
class Case:
    name: str
    model: str  # logistic | boosting
    features: int
    records: int  # chosen for about 25 s of single-process shap on the project machine
    num_samples: int | None = None  # None: shap's auto, 2M + 2048
    note: str = ""


CASES = {c.name: c for c in [
    Case("logistic-12", "logistic", 12, 1200, note="2,072 of the 4,094 coalitions sampled per record"),
    Case("boosting-12", "boosting", 12, 800, note="GradientBoostingClassifier, 100 trees of depth 3; 2,072 of "
                                                  "the 4,094 coalitions sampled"),
    Case("logistic-8-exact", "logistic", 8, 6000, note="auto 2,064 ≥ 2^8 − 2: every one of the 254 coalitions "
                                                       "(exact), cheap records"),
]}


# ------------------------------------------------------------------ data


def make_case(case: Case, folder: str) -> dict:
    """The case's files: model.joblib, background.npy, records.npy and records.parquet; returns their facts."""
    import joblib
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.cluster import KMeans

    rng = np.random.default_rng([SEED, case.features, case.records])
    M = case.features
    scale = 1.0 + np.arange(M) / 2.0
    weights = rng.normal(0.0, 1.0, M) / scale

    def sample(n: int) -> np.ndarray:
        return np.round(rng.normal(0.0, 1.0, (n, M)) * scale, 6)

    train = sample(TRAIN_ROWS)
    logit = train @ weights + 0.5 * np.sin(train[:, 0]) - 0.3
    label = (rng.random(TRAIN_ROWS) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    if case.model == "logistic":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=1000).fit(train, label)
    else:
        from sklearn.ensemble import GradientBoostingClassifier

        model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=SEED).fit(train, label)
    joblib.dump(model, os.path.join(folder, "model.joblib"))
    background = KMeans(BACKGROUND_ROWS, random_state=SEED, n_init=10).fit(train).cluster_centers_
    np.save(os.path.join(folder, "background.npy"), background)
    records = sample(case.records)
    np.save(os.path.join(folder, "records.npy"), records)
    pq.write_table(pa.table({"x": pa.array(list(records), type=pa.list_(pa.float64()))}),
                   os.path.join(folder, "records.parquet"))
    return {"train_rows": TRAIN_ROWS, "background_rows": len(background), "records": len(records),
            "distinct_records": len({r.tobytes() for r in records})}


def nsamples_of(case: Case) -> int:
    from monitor_lib.explain.kernel import default_nsamples

    return case.num_samples or default_nsamples(case.features)


def feature_names(case: Case) -> list[str]:
    return [f"f{i}" for i in range(case.features)]


# ------------------------------------------------------------------ CPU accounting (Linux /proc)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of every CPU since boot."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [float(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system, with reaped children) of ``root`` and every process below it."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        rest = text[text.rfind(")") + 2:].split()
        pid = int(entry)
        parents[pid] = int(rest[1])
        times[pid] = sum(float(v) for v in rest[11:15])
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(times.get(pid, 0.0) for pid in tree) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall time, this process tree's CPU time and the machine's busy cores over a block."""

    def __enter__(self) -> Meter:
        self.load_before = os.getloadavg()
        self.busy0, self.total0 = machine_cpu()
        self.cpu0 = tree_cpu_seconds(os.getpid())
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.cpu = tree_cpu_seconds(os.getpid()) - self.cpu0
        busy, total = machine_cpu()
        self.machine_busy_cores = (busy - self.busy0) / max(total - self.total0, 1.0) * (os.cpu_count() or 1)
        self.load_after = os.getloadavg()

    def facts(self) -> dict:
        return {"seconds": self.seconds, "tree_cpu_seconds": self.cpu, "tree_cores": self.cpu / self.seconds,
                "machine_busy_cores": self.machine_busy_cores, "load_before": list(self.load_before),
                "load_after": list(self.load_after)}


# ------------------------------------------------------------------ the children


def child_reference(case: Case, folder: str) -> dict:
    """Single-process shap: the same records, background, nsamples and per-record seeds as the executors."""
    import warnings

    import joblib
    import shap

    from monitor_lib.explain.kernel import record_seed

    model = joblib.load(os.path.join(folder, "model.joblib"))
    background = np.load(os.path.join(folder, "background.npy"))
    records = np.load(os.path.join(folder, "records.npy"))
    nsamples = nsamples_of(case)
    calls = [0]

    def f(X: np.ndarray) -> np.ndarray:
        calls[0] += 1
        return model.predict_proba(X)[:, 1]

    def run(rows: np.ndarray) -> list:
        out = []
        for x in rows:
            np.random.seed(record_seed(SEED, x))
            out.append(explainer.shap_values(x.reshape(1, -1), nsamples=nsamples, l1_reg=False, silent=True))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.KernelExplainer(f, background)
        run(records[:REFERENCE_WARMUP])
        calls[0] = 0
        with Meter() as m:
            values = run(records)
    phi = np.asarray(values, dtype=np.float64).reshape(len(records), case.features, -1)
    np.save(os.path.join(folder, "phi-shap.npy"), phi)
    return {"run": "shap", "cores": 1, "records": len(records), "nsamples": nsamples, "model_calls": calls[0],
            "shap_version": shap.__version__, **m.facts()}


def child_spark(case: Case, folder: str, master: str, warmup_records: int) -> dict:
    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--master {master} pyspark-shell"
    os.environ.setdefault("MODEL_MONITOR_SPARK_LOG_LEVEL", "ERROR")
    from monitor_lib.explain import job
    from monitor_lib.explain.config import parse_explain_config
    from monitor_lib.spark import get_spark

    background = np.load(os.path.join(folder, "background.npy"))
    features = feature_names(case)
    config = parse_explain_config({
        "headers": features,
        "methods": {"shap": {"baseline": background.tolist(), "num_samples": nsamples_of(case), "seed": SEED}},
        "predictor": {"model_uri": os.path.join(folder, "model.joblib"), "probability": 1}}, "benchmark config")
    given = job.given_background(config, features)
    assert np.array_equal(given, background)
    with Meter() as start:
        spark = get_spark("model-monitor-benchmark-explain")
    sc = spark.sparkContext
    assert sc.master == master, (sc.master, master)
    records = spark.read.parquet(os.path.join(folder, "records.parquet")).select("x")
    with Meter() as cold:
        warm = job.explain(spark, records, config, features, given, warmup_records)
    small_n = 4 * sc.defaultParallelism  # the library's partitions: one record each
    with Meter() as small:
        tiny = job.explain(spark, records, config, features, given, small_n)
    with Meter() as m:
        e = job.explain(spark, records, config, features, given, case.records)
    assert e.n == case.records, (e.n, case.records)
    np.save(os.path.join(folder, f"phi-{master}.npy"), e.phi)
    np.save(os.path.join(folder, f"x-{master}.npy"), e.x)
    facts = {"run": f"Spark {master}", "master": master, "cores": int(master[len("local["):-1]),
             "spark_version": spark.version, "default_parallelism": sc.defaultParallelism,
             "partitions": 4 * sc.defaultParallelism, "records": e.n, "nsamples": e.nsamples,
             "model_calls": e.model_calls, "additivity_error": job.additivity_error(e, False),
             "session_start_seconds": start.seconds,
             "cold_call": {"records": warm.n, "model_calls": warm.model_calls, **cold.facts()},
             "small_call": {"records": tiny.n, "model_calls": tiny.model_calls, **small.facts()}, **m.facts()}
    spark.stop()
    return facts


# ------------------------------------------------------------------ the parent


class LoadSampler(threading.Thread):
    """The 1-minute load average every 5 s, for the noise note."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.time(), os.getloadavg()[0]))
            self.stop.wait(5)

    def between(self, t0: float, t1: float) -> list[float]:
        return [v for t, v in self.samples if t0 <= t <= t1] or [os.getloadavg()[0]]


def run_child(args: argparse.Namespace, case: Case, folder: str, kind: str, sampler: LoadSampler,
              master: str | None = None) -> dict:
    out = os.path.join(folder, f"result-{kind}-{master or 'shap'}.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, "--case", case.name, "--folder", folder,
           "--out", out, "--warmup-records", str(args.warmup_records)] + (["--master", master] if master else [])
    label = master or "shap"
    print(f"  {label:<9} {load()} …", end="", flush=True)
    t0 = time.time()
    proc = subprocess.run(cmd, timeout=args.timeout, capture_output=True, text=True)
    t1 = time.time()
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"{case.name} {label}: child failed with exit code {proc.returncode}")
    with open(out, encoding="utf-8") as fh:
        facts = json.load(fh)
    samples = sampler.between(t0, t1)
    facts["load_1min_during"] = {"min": min(samples), "median": statistics.median(samples), "max": max(samples),
                                 "samples": len(samples)}
    facts["process_seconds"] = t1 - t0
    rate = facts["records"] / facts["seconds"]
    extra = ""
    if "cold_call" in facts:
        extra = (f"; session start {facts['session_start_seconds']:.1f} s, cold call "
                 f"{facts['cold_call']['seconds']:.1f} s ({facts['cold_call']['records']} records), small call "
                 f"{facts['small_call']['seconds']:.2f} s ({facts['small_call']['records']} records)")
    print(f" {facts['seconds']:.2f} s, {rate:,.1f} records/s, {facts['model_calls'] / facts['records']:.4f} "
          f"calls/record, own CPU {facts['tree_cores']:.2f} cores, machine busy {facts['machine_busy_cores']:.2f} "
          f"cores, load {facts['load_before'][0]:.2f} → {facts['load_after'][0]:.2f}{extra}", flush=True)
    return facts


def compare(folder: str, master: str) -> float:
    """max |φ_spark − φ_shap| over every record, matched by its features."""
    reference = np.load(os.path.join(folder, "phi-shap.npy"))
    records = np.load(os.path.join(folder, "records.npy"))
    phi = np.load(os.path.join(folder, f"phi-{master}.npy"))
    x = np.load(os.path.join(folder, f"x-{master}.npy"))
    where = {r.tobytes(): i for i, r in enumerate(records)}
    order = np.array([where[np.ascontiguousarray(r).tobytes()] for r in x])
    assert sorted(order.tolist()) == list(range(len(records))), "the Spark run explained other records"
    return float(np.max(np.abs(phi - reference[order].reshape(phi.shape))))


def row_cells(case: Case, facts: dict, shap_rate: float, shap_cpu_rate: float, local1_rate: float | None
              ) -> list[str]:
    rate = facts["records"] / facts["seconds"]
    per_core = rate / facts["cores"]
    cpu_rate = facts["records"] / facts["tree_cpu_seconds"]
    during = facts["load_1min_during"]
    return [case.name, facts["run"], f"{facts['records']:,}", f"{facts['seconds']:.2f} s", f"{rate:,.1f}",
            f"{per_core:,.1f}", f"{per_core / shap_rate:.2f}",
            f"{rate / local1_rate:.2f}×" if local1_rate and facts.get("master") not in (None, "local[1]") else "—",
            f"{facts['model_calls'] / facts['records']:.4f}", f"{cpu_rate:,.1f} ({cpu_rate / shap_cpu_rate:.2f})",
            f"{facts['max_abs_diff']:.1e}" if "max_abs_diff" in facts else "—",
            f"{facts['tree_cores']:.2f} / {facts['machine_busy_cores']:.2f}",
            f"{facts['load_before'][0]:.2f} → {facts['load_after'][0]:.2f} (median {during['median']:.2f})"]


HEADER = ["case", "run", "records", "time", "records/s", "records/s per core", "per core ÷ shap",
          "speedup vs local[1]", "model calls / record", "records per own CPU-second (÷ shap)", "max \\|Δφ\\| vs shap",
          "cores: own / machine busy", "1-min load before → after"]


def markdown(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def parent(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"unknown case {unknown[0]!r}; known: {', '.join(CASES)}")
    masters = [m.strip() for m in args.masters.split(",") if m.strip()]
    started = time.perf_counter()
    sampler = LoadSampler()
    sampler.start()
    source = source_state()  # others may commit during the run: the state at the start and at the end
    print(f"source: {source}; {os.cpu_count()} cores, {load()}", flush=True)
    rows, results, overheads, failures = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        for name in names:
            case = CASES[name]
            if args.records_scale != 1.0:
                case = Case(case.name, case.model, case.features, max(8, round(case.records * args.records_scale)),
                            case.num_samples, case.note)
            folder = os.path.join(tmp, name)
            os.makedirs(folder)
            t0 = time.perf_counter()
            data = make_case(case, folder)
            print(f"{case.name}: {case.records:,} records × {case.features} features, {case.model} model, "
                  f"num_samples {nsamples_of(case)}, background {data['background_rows']} rows — {case.note} "
                  f"(data and model {time.perf_counter() - t0:.1f} s)", flush=True)
            assert data["distinct_records"] == case.records
            ref = run_child(args, case, folder, "reference", sampler)
            shap_rate = ref["records"] / ref["seconds"]
            shap_cpu_rate = ref["records"] / ref["tree_cpu_seconds"]
            runs = [ref]
            local1 = None
            for master in masters:
                facts = run_child(args, case, folder, "spark", sampler, master)
                facts["max_abs_diff"] = compare(folder, master)
                print(f"    max |Δφ| vs single-process shap: {facts['max_abs_diff']:.2e}; additivity error "
                      f"{facts['additivity_error']:.2e}", flush=True)
                if not facts["max_abs_diff"] <= TOLERANCE:
                    failures.append(f"{case.name} {master}: SHAP values differ from shap's by "
                                    f"{facts['max_abs_diff']:.3e} > {TOLERANCE}")
                if master == "local[1]":
                    local1 = facts["records"] / facts["seconds"]
                runs.append(facts)
                overheads.append([case.name, facts["run"], f"{facts['session_start_seconds']:.1f} s",
                                  f"{facts['cold_call']['seconds']:.1f} s ({facts['cold_call']['records']} records)",
                                  f"{facts['small_call']['seconds']:.2f} s ({facts['small_call']['records']} "
                                  f"records, {facts['small_call']['model_calls']} model calls)",
                                  str(facts["partitions"])])
            for facts in runs:
                rows.append(row_cells(case, facts, shap_rate, shap_cpu_rate, local1))
            results.append({"case": asdict(case), "data": data, "nsamples": nsamples_of(case), "runs": runs})
    sampler.stop.set()
    loads = [v for _, v in sampler.samples]
    summary = (f"total {time.perf_counter() - started:.0f} s, {load()}; 1-min load sampled every 5 s: min "
               f"{min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f}")
    print(f"\n{summary}\n", flush=True)
    table = markdown(rows)
    print(table)
    over = ["| case | run | session start | cold call | small call | partitions |", "|" + " --- |" * 6]
    over += ["| " + " | ".join(r) + " |" for r in overheads]
    print("\n" + "\n".join(over))
    os.makedirs(os.path.join(ROOT, "bench-output"), exist_ok=True)
    path = os.path.join(ROOT, "bench-output", f"benchmark_explain-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
                        ".json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"source": source, "source_at_end": source_state(), "cores": os.cpu_count(),
                   "tolerance": TOLERANCE, "summary": summary, "load_samples": sampler.samples, "cases": results,
                   "markdown": table, "failures": failures}, fh, indent=2)
    print(f"\nwrote {os.path.relpath(path, ROOT)}", flush=True)
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    ap.add_argument("--masters", default="local[1],local[2]")
    ap.add_argument("--records-scale", type=float, default=1.0,
                    help="multiply every case's record count (e.g. 0.05 for a smoke test)")
    ap.add_argument("--warmup-records", type=int, default=32, help="records of the Spark runs' cold call")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per child process")
    ap.add_argument("--child", choices=["reference", "spark"], help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--master", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.child:
        return parent(args)
    case = CASES[args.case]
    records = len(np.load(os.path.join(args.folder, "records.npy")))
    case = Case(case.name, case.model, case.features, records, case.num_samples, case.note)
    if args.child == "reference":
        facts = child_reference(case, args.folder)
    else:
        facts = child_spark(case, args.folder, args.master, args.warmup_records)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(facts, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
