"""Lineage end to end: a data-quality baseline and a monitoring run of a capture window emit OpenLineage START and
COMPLETE events into openlineage_events.jsonl and to an HTTP receiver on 127.0.0.1 (OPENLINEAGE_URL), with the
same bodies; lineage.json lists what the run read.

References: openlineage-python's event classes (tests/lineage_reference.py: every event is structured into them
and must come back equal), pandas over the same values (columnMetrics), numpy's exact quantiles (within the KLL
bound), constraint_violations.json (assertions), hashlib and os.stat on the files (digests), the receiver's
recorded requests (headers, paths, bodies)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import capture_line
from lineage_reference import round_trip
from receivers import start_receiver

from monitor_lib.errors import FormatError
from monitor_lib.profile.sketches import kll_rank_error
from monitor_lib.runner import run_job

API_KEY = "ol-api-key-5ecret-7d1f"
SLACK_SECRET = "sl4ck-t0ken-9c2e"
PARENT_RUN = str(uuid.uuid4())
WINDOW = {"start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
CAPTURE_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}'


# ---------------------------------------------------------------- an OpenLineage receiver on 127.0.0.1


@pytest.fixture
def receiver():
    rec = start_receiver(answer=b"{}")
    yield rec
    rec.stop()


@pytest.fixture
def openlineage(receiver, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", API_KEY)
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "ml-monitoring")
    monkeypatch.setenv("OPENLINEAGE_PARENT_ID", f"airflow/monitor_dag.monitor_task/{PARENT_RUN}")
    monkeypatch.delenv("OPENLINEAGE_ENDPOINT", raising=False)
    monkeypatch.delenv("OPENLINEAGE_DISABLED", raising=False)
    return receiver


def file_events(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "openlineage_events.jsonl").read_text().splitlines()]


def check_events(events: list[dict], types: list[str]) -> None:
    assert [e["eventType"] for e in events] == types
    assert len({e["run"]["runId"] for e in events}) == 1
    for e in events:
        assert round_trip(e) == e


def check_no_secret(folders: list[Path], log_text: str) -> None:
    assert API_KEY not in log_text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert API_KEY.encode() not in path.read_bytes(), path


def check_quantiles(quantiles: dict[str, float], values: np.ndarray) -> None:
    bound = kll_rank_error(2048) + 1 / len(values)
    assert set(quantiles) == {"0.1", "0.25", "0.5", "0.75", "0.9"}
    for q, x in quantiles.items():
        assert x in values  # a value of the data
        # x is a q-quantile up to the bound: below it at most q of the values, at or below it at least q
        assert (values < x).mean() <= float(q) + bound and (values <= x).mean() >= float(q) - bound, (q, x)


def pandas_metrics(df: pd.DataFrame) -> dict[str, dict]:
    out = {}
    for col in df.columns:
        s = df[col]
        m = {"nullCount": int(s.isna().sum()), "count": int(s.notna().sum())}
        if pd.api.types.is_numeric_dtype(s):
            m.update(sum=float(s.sum()), min=float(s.min()), max=float(s.max()))
        out[col] = m
    return out


def assert_metrics(got: dict[str, dict], df: pd.DataFrame) -> None:
    reference = pandas_metrics(df)
    assert set(got) == set(reference)
    for col, ref in reference.items():
        for key, value in ref.items():
            assert got[col][key] == pytest.approx(value), (col, key)
        if "sum" in ref:
            check_quantiles(got[col]["quantiles"], df[col].dropna().to_numpy())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- data


def baseline_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    df = pd.DataFrame({"a": rng.normal(5, 1, 60).round(3), "b": rng.integers(0, 4, 60).astype(float),
                       "c": rng.choice(["red", "blue"], 60)})
    df.loc[[4, 17], "a"] = np.nan
    return df


def window_rows(seed: int, n: int, shift: float) -> list[tuple]:
    rng = np.random.default_rng(seed)
    return [(round(float(rng.normal(5 + shift, 1)), 3), int(rng.integers(0, 4)), str(rng.choice(["red", "blue"])))
            for _ in range(n)]


def write_capture(folder: Path, name: str, rows: list[tuple], hour: int = 10) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(capture_line(",".join("" if v is None else str(v) for v in r),
                                         time=f"2026-11-20T{hour:02d}:{10 + i % 40:02d}:00Z") + "\n"
                            for i, r in enumerate(rows)))
    return path


@pytest.fixture(scope="module")
def baseline_and_capture(tmp_path_factory):
    root = tmp_path_factory.mktemp("lineage")
    df = baseline_frame()
    df.to_csv(root / "train.csv", index=False)
    hour10 = root / "capture" / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    rows = window_rows(1, 25, 3.0) + [(None, 1, "red")]
    files = [write_capture(hour10, "a.jsonl", rows[:13]), write_capture(hour10, "b.jsonl", rows[13:])]
    write_capture(root / "capture" / "ep" / "AllTraffic" / "2026" / "11" / "20" / "11", "c.jsonl",
                  window_rows(2, 5, 0.0), hour=11)  # outside the window: neither read nor listed
    return root, df, rows, files


# ---------------------------------------------------------------- the tests


def test_baseline_and_monitoring_runs_emit_start_and_complete(spark, openlineage, baseline_and_capture, caplog):
    caplog.set_level(logging.INFO)
    root, df, rows, files = baseline_and_capture

    # the baseline: COMPLETE with the dataset's metrics, no window
    base = root / "base"
    run_job("data-quality", {"dataset_source": str(root / "train.csv"), "dataset_format": '{"csv": {"header": true}}',
                             "output_path": str(base)}, spark=spark)
    events = file_events(base)
    check_events(events, ["START", "COMPLETE"])
    assert openlineage.events() == events  # the same documents over HTTP, in order
    for request in openlineage.received:
        path, headers = request.path, request.headers
        assert path == "/api/v1/lineage"
        assert headers["authorization"] == f"Bearer {API_KEY}" and headers["content-type"] == "application/json"
    complete = events[1]
    assert complete["job"] == {"namespace": "ml-monitoring", "name": "train.data-quality.baseline", "facets": {}}
    assert "nominalTime" not in complete["run"]["facets"]
    parent = complete["run"]["facets"]["parent"]
    assert (parent["job"]["name"], parent["run"]["runId"]) == ("monitor_dag.monitor_task", PARENT_RUN)
    data = complete["inputs"][0]
    assert (data["namespace"], data["name"]) == ("file", str(root / "train.csv"))
    metrics = data["inputFacets"]["dataQualityMetrics"]
    size = os.path.getsize(root / "train.csv")
    assert (metrics["rowCount"], metrics["fileCount"], metrics["bytes"]) == (60, 1, size)
    assert_metrics(metrics["columnMetrics"], df)
    assert "dataQualityAssertions" not in data["inputFacets"]  # a baseline evaluates no check
    assert complete["outputs"][0]["name"] == str(base)

    # the monitoring run of the window: nominalTime, inputs (capture + baseline files), assertions
    openlineage.received.clear()
    out = root / "monitor"
    outcome = run_job("data-quality", {
        "dataset_source": str(root / "capture"), "dataset_format": CAPTURE_FORMAT, "output_path": str(out),
        "baseline_constraints": str(base / "constraints.json"), "baseline_statistics": str(base / "statistics.json"),
        "sagemaker_endpoint_name": "ep", "sagemaker_monitoring_schedule_name": "hourly", **WINDOW}, spark=spark)
    assert outcome.status == "CompletedWithViolations"
    events = file_events(out)
    check_events(events, ["START", "COMPLETE"])
    assert openlineage.events() == events
    start, complete = events
    assert complete["run"]["runId"] == outcome.run_id
    assert complete["job"]["name"] == "ep.hourly.data-quality.monitoring"
    for e in events:
        assert e["run"]["facets"]["nominalTime"] == {
            **{k: e["run"]["facets"]["nominalTime"][k] for k in ("_producer", "_schemaURL")},
            "nominalStartTime": "2026-11-20T10:00:00.000Z", "nominalEndTime": "2026-11-20T11:00:00.000Z"}
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        ("file", str(root / "capture")), ("file", str(base / "constraints.json")),
        ("file", str(base / "statistics.json"))]
    assert [d["name"] for d in start["inputs"]] == [d["name"] for d in complete["inputs"]]
    data = complete["inputs"][0]["inputFacets"]
    window = pd.DataFrame(rows, columns=["a", "b", "c"]).astype({"a": float, "b": float})
    metrics = data["dataQualityMetrics"]
    assert (metrics["rowCount"], metrics["fileCount"]) == (len(rows), 2)
    assert metrics["bytes"] == sum(os.path.getsize(f) for f in files)
    assert_metrics(metrics["columnMetrics"], window)
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    assertions = data["dataQualityAssertions"]["assertions"]
    assert {(a["assertion"], a.get("column")) for a in assertions if not a["success"]} == {
        (v["constraint_check_type"], v["feature_name"]) for v in violations}
    assert ("baseline_drift_check", "a") in {(v["constraint_check_type"], v["feature_name"]) for v in violations}
    measured = {m["name"] for m in outcome.details["features_measured"]}
    assert {a["column"] for a in assertions if a["assertion"] == "completeness_check"} == measured

    # lineage.json: manifests of the window's files, sha256 of the baseline files, code, parameters
    lineage = json.loads((out / "lineage.json").read_text())
    assert (lineage["run_id"], lineage["status"]) == (outcome.run_id, "CompletedWithViolations")
    assert lineage["window"] == WINDOW
    capture, constraints, statistics = lineage["inputs"]
    assert [(f["path"], f["size"]) for f in capture["files"]] == [(str(f), os.path.getsize(f)) for f in files]
    manifest = "".join(f"{f['path']}\t{f['size']}\t{f['mtime']}\n" for f in capture["files"])
    assert capture["manifest_sha256"] == hashlib.sha256(manifest.encode()).hexdigest()
    assert constraints["sha256"] == sha256(base / "constraints.json")
    assert statistics["sha256"] == sha256(base / "statistics.json")
    assert lineage["code"]["version"] == "0.1.0" and lineage["code"]["spark"] == spark.version
    assert lineage["parameters"]["sagemaker_monitoring_schedule_name"] == "hourly"
    summary = json.loads((out / "run_summary.json").read_text())
    assert not {"lineage", "openlineage_events"} & set(summary["files"])  # the report lists files: drawn before
    delivered = summary["deliveries"]["openlineage"]
    assert delivered["status"] == "sent" and delivered["destination"] == f"OpenLineage endpoint {openlineage.url}"
    assert [(e["eventType"], e["status"], e["http_status"]) for e in delivered["events"]] == [
        ("START", "sent", 200), ("COMPLETE", "sent", 200)]
    check_no_secret([base, out], caplog.text)


def test_no_data_window_is_complete_with_zero_rows_and_a_failed_delivery_is_recorded(
        spark, openlineage, baseline_and_capture, tmp_path):
    root, *_ = baseline_and_capture
    (tmp_path / "c.json").write_text(json.dumps({"version": 0.0, "features": [{"name": "a",
                                                                               "inferred_type": "Fractional"}]}))
    openlineage.statuses = [503] * 10  # never accepted
    outcome = run_job("data-quality", {
        "dataset_source": str(root / "capture"), "dataset_format": CAPTURE_FORMAT, "output_path": str(tmp_path / "o"),
        "baseline_constraints": str(tmp_path / "c.json"), "start_time": "2026-11-20T14:00:00Z",
        "end_time": "2026-11-20T15:00:00Z", "notify_max_retries": 1,
        "slack_webhook_url": f"http://127.0.0.1:9/services/T0/B0/{SLACK_SECRET}"}, spark=spark)  # loopback only
    assert outcome.status == "NoData"
    events = file_events(tmp_path / "o")
    check_events(events, ["START", "COMPLETE"])
    metrics = events[1]["inputs"][0]["inputFacets"]["dataQualityMetrics"]
    assert (metrics["rowCount"], metrics["fileCount"], metrics["bytes"], metrics["columnMetrics"]) == (0, 0, 0, {})
    assert [e["eventType"] for e in openlineage.events()] == ["START", "START", "COMPLETE", "COMPLETE"]  # 1 retry
    summary = json.loads((tmp_path / "o" / "run_summary.json").read_text())
    delivered = summary["deliveries"]["openlineage"]
    assert delivered["status"] == "failed"
    assert [(e["status"], e["http_status"], e["attempts"]) for e in delivered["events"]] == [("failed", 503, 2)] * 2
    assert sorted(os.listdir(tmp_path / "o")) == ["lineage.json", "openlineage_events.jsonl", "report.html",
                                                   "run_summary.json"]
    lineage = json.loads((tmp_path / "o" / "lineage.json").read_text())
    assert lineage["parameters"]["slack_webhook_url"] == "<redacted>"
    assert lineage["parameters"]["notify_max_retries"] == 1
    for path in (tmp_path / "o").iterdir():
        assert SLACK_SECRET.encode() not in path.read_bytes(), path

    # the same window again with lineage Disabled: nothing sent, the earlier run's lineage files removed
    openlineage.received.clear()
    run_job("data-quality", {
        "dataset_source": str(root / "capture"), "dataset_format": CAPTURE_FORMAT, "output_path": str(tmp_path / "o"),
        "baseline_constraints": str(tmp_path / "c.json"), "start_time": "2026-11-20T14:00:00Z",
        "end_time": "2026-11-20T15:00:00Z", "lineage": "Disabled"}, spark=spark)
    assert openlineage.received == []
    assert sorted(os.listdir(tmp_path / "o")) == ["report.html", "run_summary.json"]


def test_a_failed_run_is_fail_with_its_error_message(spark, openlineage, baseline_and_capture, tmp_path):
    root, *_ = baseline_and_capture
    hour = tmp_path / "cap" / "2026" / "11" / "20" / "10"
    hour.mkdir(parents=True)
    (hour / "x.jsonl").write_text("not json\n{also not}\n")
    outcome = run_job("data-quality", {
        "dataset_source": str(tmp_path / "cap"), "dataset_format": CAPTURE_FORMAT, "output_path": str(tmp_path / "o"),
        "baseline_constraints": str(root / "base" / "constraints.json"), **WINDOW}, spark=spark)
    assert outcome.status == "Failed"
    events = file_events(tmp_path / "o")
    check_events(events, ["START", "FAIL"])
    assert openlineage.events() == events
    assert events[1]["run"]["facets"]["errorMessage"]["message"] == outcome.failure_reason
    assert events[1]["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python"
    assert json.loads((tmp_path / "o" / "lineage.json").read_text())["status"] == "Failed"


def test_a_phase_that_raises_posts_fail_and_logs_it(openlineage, baseline_and_capture, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="monitor_lib.sinks.lineage")
    root, *_ = baseline_and_capture
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(FormatError) as raised:
        run_job("data-quality", {"dataset_source": str(root / "capture"), "dataset_format": CAPTURE_FORMAT,
                                 "output_path": str(tmp_path / "o"),
                                 "baseline_constraints": str(tmp_path / "broken.json"), **WINDOW})
    assert not (tmp_path / "o").exists()  # the run folder is discarded: the events went over HTTP and to the log
    events = openlineage.events()
    check_events(events, ["START", "FAIL"])
    error = events[1]["run"]["facets"]["errorMessage"]["message"]
    assert error.startswith("FormatError: ") and str(raised.value).split()[0] in error
    logged = [r.getMessage() for r in caplog.records if "OpenLineage FAIL event" in r.getMessage()]
    assert len(logged) == 1 and json.loads(logged[0].split(": ", 1)[1]) == events[1]
    check_no_secret([tmp_path], caplog.text)
