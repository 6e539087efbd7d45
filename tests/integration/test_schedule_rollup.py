"""model-monitor rollup: a schedule's hourly executions merged into a day (P1D) or an ISO week (P7D) equal ONE
monitoring run over the whole period.

References: a separate monitoring run (runner.run_job) over the day's data for the statistics, violations and
CloudWatch files (floats within 1e-9; the sketches are exact here, see below), pandas for record counts,
scikit-learn's roc_auc_score for the AUC of the merged score histograms (within the bound the roll-up reports).

Why sketch-based numbers are compared for equality: a day holds 920 values per column, fewer than the KLL sketch
keeps (k = 2048, nothing is compacted, so merged and single-pass quantiles are the exact ones) and a few distinct
values per column (HLL in its exact list mode, frequent items below the sketch's capacity).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from helpers import FIXTURES, capture_line
from sklearn.metrics import roc_auc_score

from monitor_lib.cli import main
from monitor_lib.runner import run, run_job
from monitor_lib.schedule.backfill import backfill
from monitor_lib.schedule.model import FAILED
from monitor_lib.schedule.rollup import rollup_periods
from monitor_lib.schedule.spec import schedule_from_dict
from monitor_lib.schedule.store import open_store

DQ = FIXTURES / "sdk-pipeline-dq-baseline"
DAY = datetime(2026, 11, 20, tzinfo=UTC)
NO_DATA_HOUR = 10  # the window 10:00-11:00 has no capture: its execution is NoData
DRIFT_HOURS = tuple(range(12, 24))  # half the day: beyond the robust drift test's margin for 100 rows
MQ_HOURS = 6  # model quality: the executions of 01:00 … 06:00 ran, the day's other 18 did not
MERGED_FORMAT = "merged"


def _close(a, b, where: str = "") -> None:
    """JSON trees equal, floats within 1e-9 (relative, or absolute near 0)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), (where, sorted(a), sorted(b))
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (where, a, b)
    else:
        assert a == b, (where, a, b)


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _statistics(path: Path) -> dict:
    """statistics.json with each KLL sketch's items sorted: a sketch that compacted nothing holds every value, in
    the order they arrived (hour by hour in a merge, by partition in one run)."""
    doc = _json(path)
    for f in doc["features"]:
        sketch = f.get("numerical_statistics", {}).get("distribution", {}).get("kll", {}).get("sketch")
        if sketch is not None:
            sketch["data"] = [sorted(level) for level in sketch["data"]]
    return doc


def _violations(path: Path) -> list[tuple[str, str, list[float]]]:
    """constraint_violations.json as (feature or metric, check, the numbers of its description)."""
    out = []
    for v in _json(path)["violations"]:
        numbers = [float(x) for x in re.findall(r"-?\d+\.\d+(?:[eE][-+]?\d+)?", v["description"])]
        out.append((v.get("feature_name") or v.get("metric_name"), v["constraint_check_type"], numbers))
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _hour_folder(root: Path, t: datetime) -> Path:
    d = root / "ep" / "AllTraffic" / f"{t:%Y/%m/%d/%H}"
    d.mkdir(parents=True, exist_ok=True)
    return d


# ---------------------------------------------------------------- data quality: 24 hours of capture


def _dq_capture(root: Path) -> int:
    """40 captures an hour (the SDK's baseline rows; drift in two hours, non-numbers in one), none at 10:00.
    Returns the number of records."""
    rows = [line.strip().split(",") for line in (DQ / "baseline_dataset.csv").read_text().splitlines()[1:]]
    rng = np.random.default_rng(15)
    n = 0
    for h in range(24):
        if h == NO_DATA_HOUR:
            continue
        start = DAY + timedelta(hours=h)
        lines = []
        for i, k in enumerate(rng.integers(0, len(rows), 40)):
            r = list(rows[k])
            if h in DRIFT_HOURS:
                r[2] = repr(float(r[2]) * 3 + 1)
            if h == 17 and i < 3:
                r[4] = "x"
            t = start + timedelta(seconds=int(rng.integers(0, 3600)))
            lines.append(capture_line(",".join(r[1:]), r[0], f"{t:%Y-%m-%dT%H:%M:%SZ}", event_id=f"{h}-{i}"))
        (_hour_folder(root, start) / "capture.jsonl").write_text("\n".join(lines) + "\n")
        n += len(lines)
    return n


def _dq_schedule(tmp: Path, name: str) -> dict:
    return {"name": name, "monitor_type": "data-quality", "cron": "cron(0 * ? * * *)",
            "start_date": "2026-11-15T00:00:00Z", "output_root": str(tmp / "runs"), "state_store": str(tmp / "state"),
            "params": {"dataset_source": str(tmp / "capture"), "dataset_format": "capture",
                       "baseline_constraints": str(DQ / "good_cases" / "constraints.json"),
                       "baseline_statistics": str(DQ / "statistics.json"), "sagemaker_endpoint_name": "ep",
                       "publish_cloudwatch_metrics": "Enabled", "CLOUDWATCH_METRICS_DIRECTORY": str(tmp / "cw")}}


@pytest.fixture(scope="module")
def dq(spark, tmp_path_factory):
    """24 hourly executions of the day (each the monitoring run a tick makes), then ONE run over the day."""
    tmp = tmp_path_factory.mktemp("dq-rollup")
    records = _dq_capture(tmp / "capture")
    doc = _dq_schedule(tmp, "dq-hourly")
    (tmp / "schedule.yaml").write_text(json.dumps(doc))  # JSON is YAML
    spec = schedule_from_dict(doc, "dq schedule")
    hours = [DAY + timedelta(hours=h + 1) for h in range(24)]
    # the hours as a backfill writes them: one Spark job, each hour's folder and record exactly as its own run
    # (tests/integration/test_backfill.py proves that), so this test spends its time on the roll-up
    _, executions = backfill(spec, DAY, DAY + timedelta(hours=24), spark=spark)
    statuses = {r.scheduled_time: r.status for r in executions}
    assert sorted(statuses) == hours
    day = run_job("data-quality", {
        **{k: v for k, v in doc["params"].items() if k != "dataset_format"},
        "dataset_format": '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}',
        "start_time": "2026-11-20T00:00:00Z", "end_time": "2026-11-21T00:00:00Z", "output_path": str(tmp / "day"),
        "sagemaker_monitoring_schedule_name": "dq-hourly-P1D", "CLOUDWATCH_METRICS_DIRECTORY": str(tmp / "day-cw")},
        phase="monitoring", spark=spark)
    return {"tmp": tmp, "spec": spec, "doc": doc, "hours": hours, "statuses": statuses, "day": day,
            "records": records}


def test_a_p1d_rollup_of_24_hourly_profiles_equals_one_run_over_the_day(dq, capsys):
    tmp, statuses = dq["tmp"], dq["statuses"]
    assert statuses[DAY + timedelta(hours=NO_DATA_HOUR + 1)] == "NoData"
    assert sum(s == "CompletedWithViolations" for s in statuses.values()) >= 4  # the drifted hours

    code = main(["rollup", "--schedule", str(tmp / "schedule.yaml"), "--period", "P1D",
                 "--now", "2026-11-21T00:30:00Z"])
    printed = capsys.readouterr().out
    assert code == 0
    folder = tmp / "runs" / "ep" / "dq-hourly-P1D" / "2026" / "11" / "21" / "00"  # named by the period's end
    assert printed.strip() == (f"P1D 2026-11-20: {dq['day'].message} 23 of 24 executions merged; 1 missing "
                               f"(NoData: 1). -> {folder}")
    day = tmp / "day"
    assert dq["day"].records == dq["records"] == 23 * 40
    # statistics, violations: equal to the one run over the day (floats within 1e-9, sketches exact here)
    _close(_statistics(folder / "statistics.json"), _statistics(day / "statistics.json"))
    _close(_violations(folder / "constraint_violations.json"), _violations(day / "constraint_violations.json"))
    assert {v["constraint_check_type"] for v in _json(day / "constraint_violations.json")["violations"]} >= {
        "baseline_drift_check", "data_type_check"}
    assert _json(folder / "constraints.json") == _json(day / "constraints.json")
    # the CloudWatch metric file: the schedule's directory gets the roll-up's, stamped with the period's start
    _close(_jsonl(tmp / "cw" / "cloudwatch_metrics.jsonl"), _jsonl(tmp / "day-cw" / "cloudwatch_metrics.jsonl"))
    # the merged profile: exact counts and moments
    ours, theirs = _json(folder / "profile.json"), _json(day / "profile.json")
    assert ours["item_count"] == theirs["item_count"] == 920
    for a, b in zip(ours["columns"], theirs["columns"], strict=True):
        _close({k: v for k, v in a.items() if k not in ("kll", "hll", "frequent")},
               {k: v for k, v in b.items() if k not in ("kll", "hll", "frequent")}, a["name"])

    summary, day_summary = _json(folder / "run_summary.json"), _json(day / "run_summary.json")
    assert summary["status"] == day_summary["status"] == "CompletedWithViolations"
    assert summary["window"] == {"start_time": "2026-11-20T00:00:00Z", "end_time": "2026-11-21T00:00:00Z"}
    assert (summary["schedule"], summary["job"], summary["phase"]) == ("dq-hourly-P1D", "data_quality_rollup",
                                                                       "monitoring")
    assert summary["records"] == 920 and summary["violations"] == day_summary["violations"]
    assert summary["scheduled_time"] == "2026-11-21T00:00:00Z"  # the period's end, as its folder
    _close(summary["features_measured"], day_summary["features_measured"])
    rollup = summary["rollup"]
    assert (rollup["period"], rollup["executions"], rollup["merged"], rollup["missing"]) == ("P1D", 24, 23, 1)
    assert rollup["executions_merged"] == [f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in dq["hours"]
                                           if t != DAY + timedelta(hours=NO_DATA_HOUR + 1)]
    assert rollup["executions_missing"][0]["scheduled_time"] == "2026-11-20T11:00:00Z"
    assert rollup["executions_missing"][0]["status"] == "NoData"
    assert "no capture files" in rollup["executions_missing"][0]["reason"]
    assert rollup["hourly_files_read"] == 23 == day_summary["files_read"]
    assert (folder / "report.html").exists()


def test_d_rollups_are_idempotent_and_list_missing_executions(dq, capsys):
    tmp, spec = dq["tmp"], dq["spec"]
    folder = tmp / "runs" / "ep" / "dq-hourly-P1D" / "2026" / "11" / "21" / "00"
    if not (folder / "run_summary.json").exists():
        rollup_periods(spec, "P1D", now=datetime(2026, 11, 21, 1, tzinfo=UTC))
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    again = rollup_periods(spec, "P1D", now=datetime(2026, 11, 22, 12, tzinfo=UTC))
    # the day is skipped; 2026-11-21 has no execution at all: not a period of this schedule's history
    assert [(r.start, r.action) for r in again] == [(DAY, "skipped")]
    assert "already rolled up" in again[0].note
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before

    # not complete yet: the last execution (24:00) is due at 00:20 (grace PT20M)
    early = rollup_periods(spec, "P1D", now=datetime(2026, 11, 21, 0, 10, tzinfo=UTC), first=DAY,
                           last=DAY + timedelta(days=1), reprocess=True)
    assert [(r.action, r.note) for r in early] == [("incomplete", "not complete until 2026-11-21T00:20:00Z")]

    # the 03:00 execution is recorded Failed (a retry that failed): its folder's profile is left out
    failed_at = DAY + timedelta(hours=3)
    store = open_store(spec)
    done = store.get(failed_at)
    assert store.replace(done, dataclasses.replace(done, status=FAILED, attempts=3,
                                                   failure_reason="UnreadableInputError: capture cannot be read"))
    redo = rollup_periods(spec, "P1D", now=datetime(2026, 11, 22, tzinfo=UTC), first=DAY,
                          last=DAY + timedelta(days=1), reprocess=True)
    assert [r.action for r in redo] == ["written"]
    summary = _json(folder / "run_summary.json")
    hour3 = _jsonl(next((tmp / "capture" / "ep" / "AllTraffic" / "2026" / "11" / "20" / "02").glob("*.jsonl")))
    assert summary["records"] == 920 - len(hour3) == 880
    assert summary["rollup"]["executions_missing"] == [
        {"scheduled_time": "2026-11-20T03:00:00Z", "status": "Failed",
         "reason": "UnreadableInputError: capture cannot be read"},
        {"scheduled_time": "2026-11-20T11:00:00Z", "status": "NoData",
         "reason": summary["rollup"]["executions_missing"][1]["reason"]}]
    assert summary["message"].endswith("22 of 24 executions merged; 2 missing (Failed: 1, NoData: 1).")

    # a period without any execution's state is NoData (written, so that it is not rolled up again)
    empty = rollup_periods(spec, "P1D", now=datetime(2026, 11, 22, tzinfo=UTC),
                           first=datetime(2026, 11, 16, tzinfo=UTC), last=datetime(2026, 11, 17, tzinfo=UTC))
    assert [r.action for r in empty] == ["written"]
    assert empty[0].outcome.status == "NoData"
    assert empty[0].outcome.message == (
        "Completed: No data in window [2026-11-16T00:00:00Z, 2026-11-17T00:00:00Z): none of the 24 execution(s) "
        "of the period has a mergeable state (NotRun: 24).")
    nodata = tmp / "runs" / "ep" / "dq-hourly-P1D" / "2026" / "11" / "17" / "00"
    assert _json(nodata / "run_summary.json")["status"] == "NoData"
    assert not (nodata / "statistics.json").exists() and not (nodata / "constraint_violations.json").exists()


def test_c_a_p7d_rollup_merges_the_executions_of_its_iso_week(dq):
    """The day's hourly folders copied to executions spread over the week of Monday 2026-11-16 (and two just
    outside it): the week's roll-up merges exactly the ones inside, so it equals the run over the day."""
    tmp = dq["tmp"]
    doc = _dq_schedule(tmp, "dq-weekly")
    spec = schedule_from_dict(doc, "weekly schedule")
    monday = datetime(2026, 11, 16, tzinfo=UTC)
    sources = [t for t in dq["hours"] if t != DAY + timedelta(hours=NO_DATA_HOUR + 1)]
    targets = [monday + timedelta(hours=1 + 7 * i) for i in range(len(sources) - 1)]
    targets.append(monday + timedelta(days=7))  # 2026-11-23T00:00: the window Sunday 23:00-24:00 is inside
    for source, target in zip(sources, targets, strict=True):
        shutil.copytree(dq["spec"].output_for(source), spec.output_for(target))
    outside = [monday, monday + timedelta(days=7, hours=1)]  # windows Sunday 15th 23:00, Monday 23rd 00:00
    for target in outside:
        shutil.copytree(dq["spec"].output_for(sources[0]), spec.output_for(target))

    results = rollup_periods(spec, "P7D", now=datetime(2026, 11, 24, tzinfo=UTC), first=monday + timedelta(days=3),
                             last=monday + timedelta(days=7))
    assert [(r.start, r.end, r.action) for r in results] == [(monday, monday + timedelta(days=7), "written")]
    folder = tmp / "runs" / "ep" / "dq-weekly-P7D" / "2026" / "11" / "23" / "00"
    assert results[0].outcome.output_path == str(folder)
    summary = _json(folder / "run_summary.json")
    assert summary["window"] == {"start_time": "2026-11-16T00:00:00Z", "end_time": "2026-11-23T00:00:00Z"}
    rollup = summary["rollup"]
    assert (rollup["executions"], rollup["merged"], rollup["missing"]) == (168, 23, 145)
    assert rollup["executions_merged"] == [f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in targets]
    assert {m["status"] for m in rollup["executions_missing"]} == {"NotRun"}
    day = tmp / "day"
    _close(_statistics(folder / "statistics.json"), _statistics(day / "statistics.json"))
    _close(_violations(folder / "constraint_violations.json"), _violations(day / "constraint_violations.json"))


# ---------------------------------------------------------------- model quality


def _merged_line(t: datetime, score: float | None, label: str, event_id: str, prediction: float | None = None) -> str:
    out = f"{score:.3f}" if score is not None else repr(prediction)
    record = json.loads(capture_line("1,2", out, f"{t:%Y-%m-%dT%H:%M:%SZ}", event_id=event_id))
    record["groundTruthData"] = {"data": label, "encoding": "CSV"}
    return json.dumps(record)


def _mq_schedule(tmp: Path, name: str, source: Path, constraints: Path, **params) -> dict:
    return {"name": name, "monitor_type": "model-quality", "cron": "0 * * * *", "start_date": "2026-11-15T00:00:00Z",
            "output_root": str(tmp / "runs"), "state_store": str(tmp / "state"),
            "params": {"dataset_source": str(source), "dataset_format": MERGED_FORMAT,
                       "baseline_constraints": str(constraints), "sagemaker_endpoint_name": "ep",
                       "publish_cloudwatch_metrics": "Enabled", "CLOUDWATCH_METRICS_DIRECTORY": str(tmp / f"cw-{name}"),
                       **params}}


@pytest.fixture(scope="module")
def mq(spark, tmp_path_factory):
    """Binary classification with probabilities: 6 hourly executions of 40 merged records each, and a regression
    schedule of 3; then one run over the day of each."""
    tmp = tmp_path_factory.mktemp("mq-rollup")
    rng = np.random.default_rng(21)
    scores, labels = [], []
    for h in range(MQ_HOURS):
        start = DAY + timedelta(hours=h)
        lines = []
        for i in range(40):
            s = float(rng.random()).__round__(3)
            y = int(rng.random() < 0.2 + 0.6 * s)
            scores.append(s)
            labels.append(y)
            lines.append(_merged_line(start + timedelta(seconds=60 * i), s, str(y), f"b{h}-{i}"))
        (_hour_folder(tmp / "binary", start) / "merged-00000.jsonl").write_text("\n".join(lines) + "\n")
    reg_truth, reg_pred = [], []
    for h in range(3):
        start = DAY + timedelta(hours=h)
        lines = []
        for i in range(30):
            y = float(rng.normal(10 + h, 2).__round__(4))
            p = float((y + rng.normal(0.5, 1)).__round__(4))
            reg_truth.append(y)
            reg_pred.append(p)
            lines.append(_merged_line(start + timedelta(seconds=60 * i), None, repr(y), f"r{h}-{i}", prediction=p))
        (_hour_folder(tmp / "regression", start) / "merged-00000.jsonl").write_text("\n".join(lines) + "\n")
    binary_constraints = tmp / "binary-constraints.json"
    binary_constraints.write_text(json.dumps({"version": 0.0, "binary_classification_constraints": {
        "accuracy": {"threshold": 0.95, "comparison_operator": "LessThanThreshold"},
        "auc": {"threshold": 0.5, "comparison_operator": "LessThanThreshold"}}}))
    regression_constraints = FIXTURES / "sdk-pipeline-mq-regression" / "bad_cases" / "constraints.json"
    specs = {
        "binary": schedule_from_dict(_mq_schedule(tmp, "mq-binary", tmp / "binary", binary_constraints,
                                                  problem_type="BinaryClassification", probability_attribute="0",
                                                  probability_threshold_attribute=0.5), "binary schedule"),
        "regression": schedule_from_dict(_mq_schedule(tmp, "mq-regression", tmp / "regression",
                                                      regression_constraints, problem_type="Regression",
                                                      inference_attribute="0"), "regression schedule")}
    hours = {"binary": MQ_HOURS, "regression": 3}
    days = {}
    for kind, spec in specs.items():
        for h in range(hours[kind]):
            outcome = run(spec.monitor, spec.phase, spec.typed_params(DAY + timedelta(hours=h + 1)), spark=spark)
            assert outcome.status in ("Completed", "CompletedWithViolations")
        flat = {k: v for k, v in spec.params.items() if k != "dataset_format"}
        days[kind] = run_job("model-quality", {
            **flat, "dataset_format": '{"sagemakerMergeJson": {"captureIndexNames": ["endpointOutput"]}}',
            "start_time": "2026-11-20T00:00:00Z", "end_time": "2026-11-21T00:00:00Z", "output_path": str(tmp / kind),
            "sagemaker_monitoring_schedule_name": f"{spec.name}-P1D",
            "CLOUDWATCH_METRICS_DIRECTORY": str(tmp / f"day-cw-{kind}")}, spark=spark)
    return {"tmp": tmp, "specs": specs, "days": days, "scores": np.array(scores), "labels": np.array(labels),
            "regression": (np.array(reg_truth), np.array(reg_pred))}


def test_b_model_quality_states_merge_into_the_days_metrics(mq):
    tmp = mq["tmp"]
    now = datetime(2026, 11, 21, 1, tzinfo=UTC)
    for kind, spec in mq["specs"].items():
        [result] = rollup_periods(spec, "P1D", now=now)
        assert result.action == "written" and result.outcome.output_path == str(
            tmp / "runs" / "ep" / f"{spec.name}-P1D" / "2026" / "11" / "21" / "00")
        folder, day = Path(result.outcome.output_path), tmp / kind
        ours, theirs = _json(folder / "statistics.json"), _json(day / "statistics.json")
        summary = _json(folder / "run_summary.json")
        n_hours = MQ_HOURS if kind == "binary" else 3
        assert (summary["rollup"]["merged"], summary["rollup"]["missing"]) == (n_hours, 24 - n_hours)
        assert {m["status"] for m in summary["rollup"]["executions_missing"]} == {"NotRun"}
        assert summary["records"] == theirs["dataset"]["item_count"] == (40 * n_hours if kind == "binary" else 90)
        if kind == "regression":
            # error sums: exact; the bootstrap replicas are per-record draws, so their std deviations are too
            truth, pred = mq["regression"]
            metrics = ours["regression_metrics"]
            assert math.isclose(metrics["mae"]["value"], np.mean(np.abs(truth - pred)), rel_tol=1e-9)
            assert math.isclose(metrics["mse"]["value"], np.mean((truth - pred) ** 2), rel_tol=1e-9)
            r2 = 1 - np.sum((truth - pred) ** 2) / np.sum((truth - truth.mean()) ** 2)
            assert math.isclose(metrics["r2"]["value"], r2, rel_tol=1e-9)
            _close({k: v for k, v in ours.items() if k != "dataset"}, {k: v for k, v in theirs.items()
                                                                      if k != "dataset"})
            _close(_violations(folder / "constraint_violations.json"), _violations(day / "constraint_violations.json"))
            assert [v[0] for v in _violations(day / "constraint_violations.json")] == ["mae", "mse", "rmse"]
            continue
        # binary: every confusion-based metric and its std deviation equal the day's; AUC within the bound
        bound = summary["rollup"]["auc_error_bound"]
        assert 0 < bound < 0.01 and summary["rollup"]["auc_pairs"] == int(
            mq["labels"].sum() * (1 - mq["labels"]).sum())
        truth_auc = roc_auc_score(mq["labels"], mq["scores"])
        ours_m, theirs_m = ours["binary_classification_metrics"], theirs["binary_classification_metrics"]
        assert math.isclose(theirs_m["auc"]["value"], truth_auc, rel_tol=1e-12)
        assert abs(ours_m["auc"]["value"] - truth_auc) <= bound
        _close({k: v for k, v in ours_m.items() if k != "auc"}, {k: v for k, v in theirs_m.items() if k != "auc"})
        _close({k: v for k, v in ours.items() if k not in ("binary_classification_metrics", "dataset")},
               {k: v for k, v in theirs.items() if k not in ("binary_classification_metrics", "dataset")})
        violations = _json(folder / "constraint_violations.json")["violations"]
        assert [v["metric_name"] for v in violations] == [
            v["metric_name"] for v in _json(day / "constraint_violations.json")["violations"]] == ["accuracy"]
        cw, day_cw = (_jsonl(tmp / f"cw-{spec.name}" / "cloudwatch_metrics.jsonl"),
                      _jsonl(tmp / f"day-cw-{kind}" / "cloudwatch_metrics.jsonl"))
        _close([m for m in cw if m["MetricName"] != "auc"], [m for m in day_cw if m["MetricName"] != "auc"])
        state = _json(folder / "model_quality_state.json")
        assert (state["records"], state["windows"]) == (40 * MQ_HOURS, MQ_HOURS)
