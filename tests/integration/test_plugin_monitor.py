"""A monitor is one registration: a toy ``row-count`` monitor (analysis type ``ROW_COUNT``), written into a
temporary folder as an installed-looking distribution (a module plus a ``*.dist-info`` with an
``entry_points.txt`` in the ``model_monitor.monitors`` group), is found by every edge — ``baseline`` and
``monitor --type row-count``, ``analyze`` from processingjobconfig.json, ``spark-submit jobs/model_monitor.py``,
``submit --target local``, ``model-monitor report`` and ``model-monitor monitors`` — with that folder on
PYTHONPATH and no file of monitor_lib edited.

Every command runs as a subprocess, so the registry loads the plug-in fresh. The Spark runs (one baseline, then
five monitoring runs side by side) happen once in the module's fixture; the tests assert on their files, exit
codes and messages. Record counts are checked against pandas' row counts of the generated data."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyspark
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODEL_MONITOR = str(BIN / "model-monitor")

ENDPOINT, SCHEDULE = "shop-ep", "hourly-rows"
MIN_FRACTION = 0.9
WITH_VIOLATIONS_1 = "CompletedWithViolations: Job completed successfully with 1 violations."
SUCCESS = "Completed: Job completed successfully with no violations."

# ---------------------------------------------------------------- the plug-in, as a third party would write it

PLUGIN = '''
"""row-count: a monitor that checks a window holds at least a share of the baseline's records."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor_lib.errors import ConfigError, FormatError
from monitor_lib.formats.cloudwatch import dimensions, metric
from monitor_lib.formats.jsonfmt import load_json_file, write_json_atomic
from monitor_lib.formats.violations import ConstraintViolations, Violation, write_violations
from monitor_lib.html.page import esc, section, table
from monitor_lib.monitors.base import Document, Monitor, Phase, RunOutcome, Trend
from monitor_lib.monitors.common import DatasetParams, MonitoringParams
from monitor_lib.params import number, param
from monitor_lib.timefmt import iso_utc

CONSTRAINTS_FILE = "row_count_constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"
CHECK = "row_count_check"
SERIES = "row_count"


@dataclass(frozen=True)
class BaselineParams(DatasetParams):
    min_fraction: float = param("min_fraction", "a window needs at least this share of the baseline's records",
                                flag="--min-fraction", parse=number, default=0.9)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.min_fraction <= 1:
            raise ConfigError(f"min_fraction must be in (0, 1], got {self.min_fraction}")


@dataclass(frozen=True)
class MonitoringRunParams(MonitoringParams):
    baseline_constraints: str = param("baseline_constraints", "row_count_constraints.json of the baseline",
                                      required=True)


def _frame(spark, params):
    fmt = params.dataset_format
    if fmt.kind == "csv":
        return spark.read.option("header", fmt.header).csv(params.dataset_source)
    if fmt.kind == "json":
        return spark.read.option("multiLine", not fmt.lines).json(params.dataset_source)
    if fmt.kind == "parquet":
        return spark.read.parquet(params.dataset_source)
    raise ConfigError(f"dataset_format: row-count reads csv, json or parquet, got {fmt.kind}")


def run_baseline(params, ctx):
    frame = _frame(ctx.spark, params)
    count = frame.count()
    min_records = math.floor(count * params.min_fraction)
    doc = {"records": count, "min_fraction": params.min_fraction, "min_records": min_records}
    outcome = RunOutcome(
        monitor=MONITOR.name, phase="baseline", job="row_count_baseline", files_read=len(frame.inputFiles()),
        records=count, details={"records_counted": count, "min_fraction": params.min_fraction,
                                "min_records": min_records},
        documents=[Document("constraints", CONSTRAINTS_FILE,
                            lambda p: write_json_atomic(p, json.dumps(doc, indent=2) + "\\n"))])
    return outcome.finish()


def read_min_records(path: str) -> int:
    doc = load_json_file(path)
    value = doc.get("min_records") if isinstance(doc, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise FormatError(path, "min_records", "required key is missing or not an integer")
    return value


def run_monitoring(params, ctx):
    min_records = read_min_records(params.baseline_constraints)
    frame = _frame(ctx.spark, params)
    count = frame.count()
    violations = []
    if count < min_records:
        violations.append(Violation(None, CHECK, f"Row count {count} is below the baseline minimum {min_records}",
                                    metric_name=SERIES))
    outcome = RunOutcome(
        monitor=MONITOR.name, phase="monitoring", job="row_count_monitoring", start_time=params.start_time,
        end_time=params.end_time, endpoint=params.endpoint_name, schedule=params.schedule_name,
        files_read=len(frame.inputFiles()), records=count, violations=violations,
        details={"baseline_constraints": params.baseline_constraints, "records_counted": count,
                 "min_records": min_records},
        documents=[Document("violations", VIOLATIONS_FILE,
                            lambda p: write_violations(ConstraintViolations(list(violations)), p))])
    return outcome.finish()


class RowCountMonitor(Monitor):
    name = "row-count"
    analysis_type = "ROW_COUNT"
    title = "row count"
    phases = (
        Phase("baseline", "baseline", BaselineParams, run_baseline, job="row_count_baseline",
              title="Row-count baseline", help="count a dataset's records; write row_count_constraints.json",
              files=(CONSTRAINTS_FILE,)),
        Phase("monitoring", "monitor", MonitoringRunParams, run_monitoring, job="row_count_monitoring",
              title="Row-count monitoring", help="check a window holds enough records",
              files=(VIOLATIONS_FILE,)),
    )
    history_trends = (Trend("value", "threshold", CHECK, "records counted"),)

    def summary_lines(self, outcome):
        d = outcome.details
        if outcome.phase == "baseline":
            return [f"  row count: {d['records_counted']} records in {outcome.files_read} file(s); "
                    f"windows need at least {d['min_records']}"]
        return ([f"  row count: {d['records_counted']} records in {outcome.files_read} file(s), "
                 f"baseline minimum {d['min_records']}"]
                + [f"    {v.constraint_check_type}: {v.description}" for v in outcome.violations])

    def report_sections(self, outcome):
        d = outcome.details
        verdict = "below the baseline minimum" if outcome.violations else "enough records"
        rows = [("records counted", esc(d.get("records_counted"))), ("baseline minimum", esc(d.get("min_records")))]
        return [section("Row count", table(("", ""), rows), f"<p class='row-count-verdict'>{esc(verdict)}</p>",
                        anchor="row-count")]

    def cloudwatch_metrics(self, outcome, params):
        if outcome.phase != "monitoring":
            return None
        when = iso_utc(params.metric_time or params.start_time or datetime.now(UTC))
        dims = dimensions(params.endpoint_name, params.schedule_name)
        return [metric("row_count", when, dims, Value=float(outcome.records)),
                metric("row_count_minimum", when, dims, Value=float(outcome.details["min_records"]))]

    def history_values(self, outcome):
        d = outcome.details
        if "records_counted" not in d:
            return {}
        return {SERIES: {"value": d["records_counted"], "threshold": d.get("min_records")}}


MONITOR = RowCountMonitor()
'''

METADATA = "Metadata-Version: 2.1\nName: rowcount-monitor\nVersion: 0.1\nSummary: a toy row-count monitor\n"
ENTRY_POINTS = "[model_monitor.monitors]\nrow-count = rowcount_monitor:MONITOR\n"

# analyzer parameters that must not leak from the test's environment into the subprocesses
ANALYZER_KEYS = ("dataset_source", "dataset_format", "output_path", "baseline_constraints", "baseline_statistics",
                 "analysis_type", "start_time", "end_time", "metric_time", "publish_cloudwatch_metrics",
                 "sagemaker_endpoint_name", "sagemaker_monitoring_schedule_name", "CLOUDWATCH_METRICS_DIRECTORY",
                 "PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET", "PYSPARK_SUBMIT_ARGS", "SPARK_CONF_DIR")


# ---------------------------------------------------------------- data and runs


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": np.arange(n), "amount": np.round(rng.lognormal(3, 1, n), 2),
                         "country": rng.choice(["DE", "FR", "US, CA", "JP"], n),  # "US, CA" is quoted in the CSV
                         "label": rng.integers(0, 2, n)})


@dataclass
class Run:
    proc: subprocess.CompletedProcess
    out: Path | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class World:
    tmp: Path
    site: Path  # the plug-in's "site-packages": rowcount_monitor.py + rowcount_monitor-0.1.dist-info
    env: dict[str, str]
    data: dict[str, Path]
    rows: dict[str, int]  # pandas' row count of each dataset
    out_root: Path
    baseline_dir: Path
    runs: dict[str, Run] = field(default_factory=dict)

    @property
    def min_records(self) -> int:
        return math.floor(self.rows["baseline"] * MIN_FRACTION)

    def hour(self, h: int) -> Path:
        return self.out_root / ENDPOINT / SCHEDULE / "2026" / "11" / "20" / f"{h:02d}"


def _env(site: Path, conf_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ANALYZER_KEYS}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]]) if env.get("PYTHONPATH") else str(site)
    env.update({"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                "MODEL_MONITOR_SPARK_LOG_LEVEL": "ERROR", "MODEL_MONITOR_DRIVER_MEMORY": "1g",
                "SPARK_CONF_DIR": str(conf_dir)})
    return env


def _run(cmd: list[str], w: World, extra_env: dict[str, str] | None = None, env: dict | None = None):
    """``cmd`` in the world's scratch folder (Spark's files stay out of the repository)."""
    return subprocess.run(cmd, capture_output=True, text=True, env={**(env or w.env), **(extra_env or {})},
                          cwd=w.tmp, timeout=900)


def _window(h: int) -> list[str]:
    return ["--start-time", f"2026-11-20T{h:02d}:00:00Z", "--end-time", f"2026-11-20T{h + 1:02d}:00:00Z",
            "--endpoint", ENDPOINT, "--schedule", SCHEDULE]


def _write_world(tmp: Path) -> World:
    site = tmp / "site"
    site.mkdir()
    (site / "rowcount_monitor.py").write_text(textwrap.dedent(PLUGIN).lstrip())
    info = site / "rowcount_monitor-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(METADATA)
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    conf = tmp / "spark-conf"
    conf.mkdir()
    # short-lived JVMs side by side: no Spark UI, the C1 compiler only (about halves a run's start-up)
    (conf / "spark-defaults.conf").write_text("spark.ui.enabled false\nspark.sql.shuffle.partitions 2\n"
                                              "spark.driver.extraJavaOptions -XX:TieredStopAtLevel=1 "
                                              "-XX:+UseSerialGC\n")

    data = tmp / "data"
    data.mkdir()
    n_baseline = 1003  # floor(1003 * 0.9) = 902: the minimum is rounded down
    paths = {"baseline": data / "baseline.csv", "at_minimum": data / "at_minimum.csv",
             "low_json": data / "low.jsonl", "folder": data / "folder", "just_below": data / "just_below.csv"}
    _frame(n_baseline, 1).to_csv(paths["baseline"], index=False)
    minimum = math.floor(n_baseline * MIN_FRACTION)
    _frame(minimum, 2).to_csv(paths["at_minimum"], index=False)  # exactly the minimum: no violation
    _frame(412, 3).to_json(paths["low_json"], orient="records", lines=True)  # far below, JSON lines
    paths["folder"].mkdir()
    _frame(600, 4).to_csv(paths["folder"] / "part-a.csv", index=False)  # two files: 950 records
    _frame(350, 5).to_csv(paths["folder"] / "part-b.csv", index=False)
    _frame(minimum - 1, 6).to_csv(paths["just_below"], index=False)  # one record short: a violation
    rows = {"baseline": len(pd.read_csv(paths["baseline"])), "at_minimum": len(pd.read_csv(paths["at_minimum"])),
            "low_json": len(pd.read_json(paths["low_json"], lines=True)),
            "folder": sum(len(pd.read_csv(p)) for p in sorted(paths["folder"].glob("*.csv"))),
            "just_below": len(pd.read_csv(paths["just_below"]))}
    return World(tmp, site, _env(site, conf), paths, rows, tmp / "monitoring", tmp / "monitoring" / "baseline")


def _analyze_root(w: World) -> tuple[Path, dict]:
    root = w.tmp / "opt_ml"
    (root / "config").mkdir(parents=True)
    environment = {
        "analysis_type": "ROW_COUNT", "dataset_source": str(w.data["folder"]),
        "dataset_format": '{"csv": {"header": true}}', "output_path": str(w.hour(12)),
        "baseline_constraints": str(w.baseline_dir / "row_count_constraints.json"),
        "publish_cloudwatch_metrics": "Enabled", "sagemaker_endpoint_name": ENDPOINT,
        "sagemaker_monitoring_schedule_name": SCHEDULE, "start_time": "2026-11-20T12:00:00Z",
        "end_time": "2026-11-20T13:00:00Z", "team": "payments"}  # a custom key: the scripts' environment
    (root / "config" / "processingjobconfig.json").write_text(json.dumps({
        "ProcessingJobName": "row-count-job", "Environment": environment, "ProcessingInputs": [],
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                  "VolumeSizeInGB": 30}}}))
    return root, environment


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    """The plug-in, the data, the baseline, then the five monitoring runs side by side (one per hour folder):

    10 `monitor` CLI, csv at the minimum · 11 `monitor` CLI, JSON lines far below (CloudWatch file) ·
    12 `analyze` over a folder of two csv files · 13 `spark-submit jobs/model_monitor.py monitor`, one short ·
    14 `submit --target local monitor` over the folder."""
    w = _write_world(tmp_path_factory.mktemp("plugin"))
    cfg = w.tmp / "baseline.yaml"
    cfg.write_text(f"min_fraction: {MIN_FRACTION}\n")  # the plug-in's parameter as a YAML key
    w.runs["baseline"] = Run(_run([MODEL_MONITOR, "baseline", "--type", "row-count", "--config", str(cfg),
                                   "--dataset", str(w.data["baseline"]), "--format", "csv", "--header",
                                   "--output", str(w.baseline_dir)], w), w.baseline_dir)
    assert w.runs["baseline"].proc.returncode == 0, w.runs["baseline"].proc.stderr[-3000:]
    constraints = str(w.baseline_dir / "row_count_constraints.json")
    monitor = ["monitor", "--type", "row-count", "--baseline-constraints", constraints]
    root, environment = _analyze_root(w)
    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"  # pyspark's own
    jobs = {
        "cli_ok": ([MODEL_MONITOR, *monitor, "--dataset", str(w.data["at_minimum"]), "--format", "csv",
                    "--header", "--output", str(w.hour(10)), *_window(10)], None, w.hour(10)),
        "cli_low": ([MODEL_MONITOR, *monitor, "--dataset", str(w.data["low_json"]), "--format", "json",
                     "--output", str(w.hour(11)), *_window(11), "--publish-cloudwatch-metrics",
                     "--cloudwatch-metrics-directory", str(w.tmp / "cloudwatch-11")], None, w.hour(11)),
        "analyze": ([MODEL_MONITOR, "analyze"], {"MODEL_MONITOR_OPT_ML": str(root)}, w.hour(12)),
        "spark_submit": ([str(spark_submit), "--master", "local[2]", str(REPO / "jobs" / "model_monitor.py"), *monitor,
                          "--dataset", str(w.data["just_below"]), "--format", "csv", "--header",
                          "--output", str(w.hour(13)), *_window(13)], None, w.hour(13)),
        "submit": ([MODEL_MONITOR, "submit", "--target", "local", "--master", "local[2]", "monitor", "--",
                    "--type", "row-count", "--baseline-constraints", constraints, "--dataset", str(w.data["folder"]),
                    "--format", "csv", "--header", "--output", str(w.hour(14)), *_window(14)], None, w.hour(14)),
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(_run, cmd, w, extra) for name, (cmd, extra, _) in jobs.items()}
        for name, future in futures.items():
            w.runs[name] = Run(future.result(), jobs[name][2])
    w.runs["analyze"].extra = {"root": root, "environment": environment}
    return w


def _ok(run: Run) -> subprocess.CompletedProcess:
    proc = run.proc
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    return proc


def _summary(folder: Path) -> dict:
    return json.loads((folder / "run_summary.json").read_text())


def _violations(folder: Path) -> list[dict]:
    return json.loads((folder / "constraint_violations.json").read_text())["violations"]


def _below(count: int, minimum: int) -> list[dict]:
    return [{"metric_name": "row_count", "constraint_check_type": "row_count_check",
             "description": f"Row count {count} is below the baseline minimum {minimum}"}]


# ---------------------------------------------------------------- a. baseline and monitor through the CLI


def test_baseline_through_the_cli(world):
    w = world
    proc = _ok(w.runs["baseline"])
    n = w.rows["baseline"]
    assert json.loads((w.baseline_dir / "row_count_constraints.json").read_text()) == {
        "records": n, "min_fraction": MIN_FRACTION, "min_records": w.min_records}
    assert w.min_records == 902 and n == 1003  # floor, not round
    summary = _summary(w.baseline_dir)
    assert summary["monitor"] == "row-count" and summary["phase"] == "baseline"
    assert summary["job"] == "row_count_baseline" and summary["status"] == "Completed"
    assert summary["records"] == n and summary["files_read"] == 1 and summary["min_records"] == w.min_records
    assert summary["files"]["constraints"] == str(w.baseline_dir / "row_count_constraints.json")
    lines = proc.stdout.splitlines()
    assert lines[0] == SUCCESS
    assert lines[1] == f"  row count: {n} records in 1 file(s); windows need at least {w.min_records}"
    report = (w.baseline_dir / "report.html").read_text()
    assert "<title>Row-count baseline</title>" in report and '<section id="row-count"><h2>Row count</h2>' in report
    assert f"<td>records counted</td><td>{n}</td>" in report


def test_monitor_through_the_cli_healthy_and_below(world):
    w = world
    ok, low = _ok(w.runs["cli_ok"]), _ok(w.runs["cli_low"])
    n_ok, n_low = w.rows["at_minimum"], w.rows["low_json"]
    assert n_ok == w.min_records  # at the minimum: healthy

    # the healthy window: Completed, an empty violations file, the plug-in's summary line
    assert ok.stdout.splitlines()[:2] == [
        SUCCESS, f"  row count: {n_ok} records in 1 file(s), baseline minimum {w.min_records}"]
    assert _violations(w.hour(10)) == []
    s = _summary(w.hour(10))
    assert (s["monitor"], s["phase"], s["job"], s["status"]) == ("row-count", "monitoring", "row_count_monitoring",
                                                                 "Completed")
    assert s["records"] == s["records_counted"] == n_ok and s["violations"] == 0
    assert s["window"] == {"start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
    assert (s["endpoint"], s["schedule"]) == (ENDPOINT, SCHEDULE)
    assert "cloudwatch_metrics" not in s["files"]  # not asked for
    report = (w.hour(10) / "report.html").read_text()
    assert "<p class='row-count-verdict'>enough records</p>" in report and "Violations by check" not in report

    # the window far below: CompletedWithViolations, our violation in constraint_violations.json
    assert low.stdout.splitlines()[:3] == [
        WITH_VIOLATIONS_1, f"  row count: {n_low} records in 1 file(s), baseline minimum {w.min_records}",
        f"    row_count_check: Row count {n_low} is below the baseline minimum {w.min_records}"]
    assert _violations(w.hour(11)) == _below(n_low, w.min_records)
    s = _summary(w.hour(11))
    assert s["status"] == "CompletedWithViolations" and s["message"] == WITH_VIOLATIONS_1
    assert s["monitor"] == "row-count" and s["records"] == n_low
    assert s["violations"] == 1 and s["violations_by_check"] == {"row_count_check": 1}
    report = (w.hour(11) / "report.html").read_text()
    assert '<section id="row-count"><h2>Row count</h2>' in report
    assert f"<tr><td>records counted</td><td>{n_low}</td></tr>" in report
    assert f"<tr><td>baseline minimum</td><td>{w.min_records}</td></tr>" in report
    assert "<p class='row-count-verdict'>below the baseline minimum</p>" in report
    assert "Violations by check" in report and "row_count_check" in report
    # the plug-in's CloudWatch metrics, in the directory given
    metrics_file = w.tmp / "cloudwatch-11" / "cloudwatch_metrics.jsonl"
    assert s["files"]["cloudwatch_metrics"] == str(metrics_file)
    dims = [{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": SCHEDULE}]
    assert [json.loads(line) for line in metrics_file.read_text().splitlines()] == [
        {"MetricName": "row_count", "Timestamp": "2026-11-20T11:00:00Z", "Dimensions": dims, "Value": float(n_low),
         "Unit": "None"},
        {"MetricName": "row_count_minimum", "Timestamp": "2026-11-20T11:00:00Z", "Dimensions": dims,
         "Value": float(w.min_records), "Unit": "None"}]


# ---------------------------------------------------------------- b. analyze: the SageMaker container contract


def test_analyze_from_processingjobconfig(world):
    w = world
    proc = _ok(w.runs["analyze"])
    root = w.runs["analyze"].extra["root"]
    n = w.rows["folder"]
    assert (root / "output" / "message").read_text() == SUCCESS
    assert proc.stdout.splitlines()[:2] == [SUCCESS, f"  row count: {n} records in 2 file(s), baseline minimum "
                                                     f"{w.min_records}"]
    s = _summary(w.hour(12))
    assert (s["monitor"], s["phase"], s["status"]) == ("row-count", "monitoring", "Completed")
    assert s["records"] == n and s["files_read"] == 2
    assert s["window"] == {"start_time": "2026-11-20T12:00:00Z", "end_time": "2026-11-20T13:00:00Z"}
    assert _violations(w.hour(12)) == []
    assert '<section id="row-count">' in (w.hour(12) / "report.html").read_text()
    # publish_cloudwatch_metrics Enabled: the metric file in the container's default directory
    metrics_file = root / "output" / "metrics" / "cloudwatch" / "cloudwatch_metrics.jsonl"
    metrics = [json.loads(line) for line in metrics_file.read_text().splitlines()]
    assert [(m["MetricName"], m["Value"], m["Timestamp"]) for m in metrics] == [
        ("row_count", float(n), "2026-11-20T12:00:00Z"), ("row_count_minimum", float(w.min_records),
                                                          "2026-11-20T12:00:00Z")]
    assert metrics[0]["Dimensions"] == [{"Name": "Endpoint", "Value": ENDPOINT},
                                        {"Name": "MonitoringSchedule", "Value": SCHEDULE}]


# ---------------------------------------------------------------- c. spark-submit jobs/model_monitor.py


def test_spark_submit_entry_point(world):
    w = world
    proc = _ok(w.runs["spark_submit"])
    n = w.rows["just_below"]
    assert n == w.min_records - 1  # one record short
    assert WITH_VIOLATIONS_1 in proc.stdout and "Spark master local[2]" in proc.stdout
    assert f"  row count: {n} records in 1 file(s), baseline minimum {w.min_records}" in proc.stdout
    s = _summary(w.hour(13))
    assert s["monitor"] == "row-count" and s["spark_master"] == "local[2]" and s["records"] == n
    assert _violations(w.hour(13)) == _below(n, w.min_records)


# ---------------------------------------------------------------- d. model-monitor submit --target local


def test_submit_target_local(world):
    w = world
    proc = _ok(w.runs["submit"])
    n = w.rows["folder"]
    command = next(line for line in proc.stderr.splitlines() if line.startswith("$ "))
    assert "--master local[2]" in command and "model_monitor.py monitor --type row-count" in command
    assert SUCCESS in proc.stdout and f"  row count: {n} records in 2 file(s)" in proc.stdout
    assert proc.stdout.splitlines()[-2:] == ["row-count-monitoring on local[2]: completed",
                                             f"  outputs  {w.hour(14)}"]
    s = _summary(w.hour(14))
    assert (s["monitor"], s["status"], s["records"], s["spark_master"]) == ("row-count", "Completed", n, "local[2]")
    assert _violations(w.hour(14)) == []


# ---------------------------------------------------------------- e. report and monitors


def test_history_report_names_the_runs(world):
    w = world
    for name in ("cli_ok", "cli_low", "analyze", "spark_submit", "submit"):
        _ok(w.runs[name])
    proc = _ok(Run(_run([MODEL_MONITOR, "report", str(w.out_root)], w)))
    history = w.out_root / "history.html"
    assert proc.stdout.splitlines() == [
        f"history of 5 run(s) in 1 schedule(s): {history}",
        f"  {ENDPOINT} / {SCHEDULE} (row count): 5 runs, 2 with violations; last 2026-11-20 14:00 Completed; "
        "most violated: row_count (2)"]
    page = history.read_text()
    assert f"{ENDPOINT} / {SCHEDULE} <span class='muted'>(row count, 5 runs)</span>" in page
    for h, status in ((10, "Completed"), (11, "CompletedWithViolations"), (12, "Completed"),
                      (13, "CompletedWithViolations"), (14, "Completed")):
        link = f"{ENDPOINT}/{SCHEDULE}/2026/11/20/{h:02d}/report.html"
        assert re.search(f'<a class="{status}" title="2026-11-20 {h:02d}:00: {status}[^"]*" href="{link}">', page), h
    assert "<h3>row_count</h3><span class='tag'>row_count_check × 2</span>" in page
    assert "row_count: records counted" in page  # the plug-in's trend chart
    assert "2026-11-20 10:00 to 2026-11-20 14:00" in page  # the baseline folder is not a run of the schedule

    # one run's report drawn again from its folder: the plug-in's section from run_summary.json
    again = w.tmp / "again.html"
    proc = _ok(Run(_run([MODEL_MONITOR, "report", str(w.hour(13)), "--output", str(again)], w)))
    assert proc.stdout.strip() == f"report of the run in {w.hour(13)}: {again}"
    page = again.read_text()
    assert f"<tr><td>records counted</td><td>{w.rows['just_below']}</td></tr>" in page
    assert "<p class='row-count-verdict'>below the baseline minimum</p>" in page and "row_count_check" in page


def test_monitors_lists_the_plugin_and_its_flags(world):
    w = world
    proc = _ok(Run(_run([MODEL_MONITOR, "monitors"], w)))
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert ["row-count", "ROW_COUNT", "baseline", "(baseline),", "monitor", "(monitoring)"] in rows
    assert [r[0] for r in rows] == ["data-quality", "model-quality", "model-bias", "model-explainability",
                                    "row-count"]  # built-ins first
    # without the plug-in on the path it is not there
    bare = {k: v for k, v in w.env.items() if k != "PYTHONPATH"}
    assert "row-count" not in _run([MODEL_MONITOR, "monitors"], w, env=bare).stdout
    # the plug-in's parameter is parsed by its declaration, before Spark starts
    proc = _run([MODEL_MONITOR, "baseline", "--type", "row-count", "--dataset", str(w.data["baseline"]), "--format",
                 "csv", "--output", str(w.tmp / "never"), "--min-fraction", "most"], w)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == ["error: min_fraction must be a number, got 'most' (flags / --config)"]
    assert not (w.tmp / "never").exists()
