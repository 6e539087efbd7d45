"""The lineage sink's pure parts, without Spark: OpenLineage events checked against openlineage-python's own
classes (tests/lineage_reference.py), the parent run an orchestrator passes (Airflow's Spark confs, the
``OPENLINEAGE_PARENT_ID`` convention), dataset naming, column metrics against numpy over the same values,
assertions against the violations, the HTTP transport's URL and headers as openlineage-python builds them, digests
against hashlib, and the parameters' secrets redacted."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from lineage_reference import round_trip
from openlineage.client.transport.http import HttpConfig, HttpTransport

from monitor_lib.formats.statistics import (
    DatasetStatistics,
    FeatureStatistics,
    KllSketch,
    NumericalStatistics,
    StringStatistics,
)
from monitor_lib.formats.violations import Violation
from monitor_lib.profile.sketches import kll_rank_error
from monitor_lib.sinks.lineage import events as ev
from monitor_lib.sinks.lineage import record as rec
from monitor_lib.sinks.lineage import transport_from

RUN = str(uuid.uuid4())
PARENT = "01931885-2800-7be7-aa8d-aaa15c337267"
ROOT = "01931885-2800-799d-8041-88a263ffa0d8"
AIRFLOW_CONFS = {  # what Airflow's OpenLineage provider injects (providers/openlineage utils/spark.py)
    "spark.openlineage.parentJobNamespace": "airflow", "spark.openlineage.parentJobName": "monitor_dag.monitor_task",
    "spark.openlineage.parentRunId": PARENT, "spark.openlineage.rootParentJobNamespace": "airflow",
    "spark.openlineage.rootParentJobName": "monitor_dag", "spark.openlineage.rootParentRunId": ROOT}
T0, T1 = datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 20, 11, tzinfo=UTC)


def statistics(values: np.ndarray, strings: list[str | None]) -> DatasetStatistics:
    present = values[~np.isnan(values)]
    num = NumericalStatistics(num_present=len(present), num_missing=int(np.isnan(values).sum()),
                              mean=float(present.mean()), sum=float(present.sum()), std_dev=float(present.std()),
                              min=float(present.min()), max=float(present.max()),
                              approximate_num_distinct_values=len(set(present.tolist())),
                              sketch=KllSketch([sorted(present.tolist())]))
    s = StringStatistics(num_present=sum(x is not None for x in strings), num_missing=strings.count(None),
                         distinct_count=float(len({x for x in strings if x is not None})))
    return DatasetStatistics(len(values), [FeatureStatistics("x", "Fractional", numerical=num),
                                           FeatureStatistics("s", "String", string=s)])


def event_with_everything(event_type: str = ev.COMPLETE, error: str | None = None) -> dict:
    values = np.array([1.5, np.nan, 3.0, 2.0, 7.25, 4.0])
    cols = ev.column_metrics(statistics(values, ["a", None, "b", "a", "c", None]))
    violations = [Violation("x", "baseline_drift_check", "Baseline drift distance: 0.4 exceeds threshold: 0.1"),
                  Violation("y", "missing_column_check", "There are missing columns in current dataset.")]
    measured = [{"name": "x", "completeness": 0.83, "completeness_threshold": 1.0, "type_match": 1.0,
                 "type_match_threshold": 1.0, "drift_distance": 0.4, "drift_threshold": 0.1}]
    data = ev.DatasetRef("s3://bucket/capture/my-endpoint/")
    data.input_facets["dataQualityMetrics"] = ev.data_quality_metrics(6, 1234, 2, cols)
    data.input_facets["dataQualityAssertions"] = ev.facet("dataQualityAssertions",
                                                          assertions=ev.assertions(violations, measured))
    return ev.run_event(event_type, T1, RUN, "model-monitor", "ep.hourly.data-quality.monitoring", window=(T0, T1),
                        parent=ev.parent_facet(AIRFLOW_CONFS, {}), inputs=[data, ev.DatasetRef("base/c.json")],
                        outputs=[ev.DatasetRef("/out/run")], spark_version="4.1.4", error=error)


@pytest.mark.parametrize("event_type, error", [(ev.START, None), (ev.COMPLETE, None), (ev.FAIL, "Failed: 3 of 3")])
def test_events_are_openlineage_run_events(event_type, error):
    doc = event_with_everything(event_type, error)
    json.loads(json.dumps(doc, allow_nan=False))  # strict JSON
    assert round_trip(doc) == doc  # every field known to OpenLineage's classes, validated, nothing lost
    assert doc["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    assert doc["eventType"] == event_type and doc["run"]["runId"] == RUN
    nominal = doc["run"]["facets"]["nominalTime"]
    assert (nominal["nominalStartTime"], nominal["nominalEndTime"]) == ("2026-11-20T10:00:00.000Z",
                                                                        "2026-11-20T11:00:00.000Z")
    assert ("errorMessage" in doc["run"]["facets"]) == (error is not None)
    assert [(d["namespace"], d["name"]) for d in doc["inputs"]] == [
        ("s3://bucket", "capture/my-endpoint"), ("file", os.path.abspath("base/c.json"))]
    assert doc["producer"].startswith("https://") and "0.1.0" in doc["producer"]


def test_a_bad_run_id_is_refused_by_the_reference():
    doc = event_with_everything()
    doc["run"]["runId"] = "not-a-uuid"
    with pytest.raises(ValueError):
        round_trip(doc)


def test_parent_from_airflow_spark_confs():
    facet = ev.parent_facet(AIRFLOW_CONFS, {"OPENLINEAGE_PARENT_ID": f"other/job/{ROOT}"})
    assert facet["job"] == {"namespace": "airflow", "name": "monitor_dag.monitor_task", "facets": {}}
    assert facet["run"] == {"runId": PARENT, "facets": {}}
    assert facet["root"] == {"job": {"namespace": "airflow", "name": "monitor_dag", "facets": {}},
                             "run": {"runId": ROOT, "facets": {}}}


def test_parent_from_environment_and_none_without():
    facet = ev.parent_facet({}, {"OPENLINEAGE_PARENT_ID": f"airflow/dag.task/{PARENT}"})
    assert (facet["job"]["namespace"], facet["job"]["name"], facet["run"]["runId"]) == ("airflow", "dag.task",
                                                                                        PARENT)
    assert "root" not in facet
    assert ev.parent_facet({}, {}) is None
    assert ev.parent_facet({}, {"OPENLINEAGE_PARENT_ID": "airflow/dag.task/not-a-uuid"}) is None
    partial = {k: v for k, v in AIRFLOW_CONFS.items() if not k.endswith("parentRunId")}
    assert ev.parent_facet(partial, {}) is None


def test_dataset_names_follow_openlineage_naming():
    assert ev.dataset_name("s3://b/k/x.jsonl") == ("s3://b", "k/x.jsonl")
    assert ev.dataset_name("s3a://b/prefix/") == ("s3://b", "prefix")
    assert ev.dataset_name("file:///data/x.csv") == ("file", "/data/x.csv")
    assert ev.dataset_name("rel/x.csv") == ("file", os.path.abspath("rel/x.csv"))


def test_job_name():
    assert ev.job_name("data-quality", "monitoring", "my-ep", "hourly", "s3://b/c/") == \
        "my-ep.hourly.data-quality.monitoring"
    assert ev.job_name("data-quality", "baseline", None, None, "/data/train.csv") == "train.data-quality.baseline"


def test_column_metrics_equal_numpy_and_quantiles_are_within_the_sketch_bound():
    rng = np.random.default_rng(3)
    values = rng.normal(10, 3, 400)
    values[::17] = np.nan
    cols = ev.column_metrics(statistics(values, ["a"] * 3 + [None]))
    present = values[~np.isnan(values)]
    x = cols["x"]
    assert (x["nullCount"], x["count"]) == (int(np.isnan(values).sum()), len(present))
    assert x["sum"] == pytest.approx(present.sum()) and (x["min"], x["max"]) == (present.min(), present.max())
    bound = kll_rank_error(2048) + 1 / len(present)
    for q, got in x["quantiles"].items():
        # a q-quantile of the exact data up to the bound: below it at most q, at or below it at least q
        assert (present < got).mean() <= float(q) + bound and (present <= got).mean() >= float(q) - bound
    assert cols["s"] == {"nullCount": 1, "count": 3, "distinctCount": 1, "quantiles": {}}


def test_assertions_list_every_check_evaluated_failures_false():
    violations = [Violation("x", "baseline_drift_check", "drift 0.4 > 0.1"),
                  Violation(None, "missing_column_check", "missing columns")]
    measured = [{"name": "x", "completeness": 1.0, "completeness_threshold": 1.0, "type_match": None,
                 "drift_distance": 0.4, "drift_threshold": 0.1},
                {"name": "z", "completeness": 0.5, "completeness_threshold": 0.9}]
    got = [(a["assertion"], a.get("column"), a["success"]) for a in ev.assertions(violations, measured)]
    assert got == [("completeness_check", "x", True), ("baseline_drift_check", "x", False),
                   ("completeness_check", "z", True), ("missing_column_check", None, False)]


def test_http_transport_url_and_headers_match_openlineage_python():
    env = {"OPENLINEAGE_URL": "http://127.0.0.1:5000/base/", "OPENLINEAGE_ENDPOINT": "api/v2/lineage",
           "OPENLINEAGE_API_KEY": "k3y"}
    t = transport_from(env)
    ref = HttpTransport(HttpConfig.from_dict({"url": env["OPENLINEAGE_URL"], "endpoint": env["OPENLINEAGE_ENDPOINT"],
                                              "auth": {"type": "api_key", "apiKey": "k3y"}}))
    from urllib.parse import urljoin

    assert t.url == urljoin(ref.url, ref.endpoint) == "http://127.0.0.1:5000/base/api/v2/lineage"
    assert t.headers["Authorization"] == ref.config.auth.get_bearer() == "Bearer k3y"
    assert "k3y" not in t.where
    assert transport_from({"OPENLINEAGE_URL": "http://h:1"}).url == "http://h:1/api/v1/lineage"
    assert transport_from({}) is None
    assert transport_from({"OPENLINEAGE_URL": "http://h:1", "OPENLINEAGE_DISABLED": "true"}) is None


def test_file_digests_and_manifest(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b"one\n")
    b.write_bytes(b"two lines\nhere\n")
    entries = rec.file_entries([str(b), str(a), str(tmp_path / "gone")])
    assert [(e.path, e.size) for e in entries] == [(str(b), 15), (str(a), 4)]
    doc = rec.data_input("dataset_source", str(tmp_path), entries)
    assert (doc["file_count"], doc["bytes"]) == (2, 19)
    lines = "".join(f"{e.path}\t{e.size}\t{e.version}\n" for e in sorted(entries, key=lambda e: e.path))
    assert doc["manifest_sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert rec.file_digest(str(b)) == {"sha256": hashlib.sha256(b"two lines\nhere\n").hexdigest(), "size": 15}
    os.utime(a, (1, 2))  # touched: another version of the same bytes, another manifest
    assert rec.data_input("d", "x", rec.file_entries([str(b), str(a)]))["manifest_sha256"] != doc["manifest_sha256"]


def test_parameters_are_written_without_secrets():
    flat = {"webhook_url": "https://hooks.example/T/B/SECRET1", "slack_webhook_url": "https://hooks.slack.com/x/S2",
            "pagerduty_routing_key": "R0UTINGKEY000000000000000000000003", "api_token": "tok4",
            "extra_environment": (("DB_PASSWORD", "pw5"),), "output_kms_key": "arn:aws:kms:k", "start_time": T0,
            "notify_timeout_seconds": 10.0}
    out = rec.safe_parameters(flat)
    text = json.dumps(out)
    for secret in ("SECRET1", "S2", "R0UTINGKEY", "tok4", "pw5"):
        assert secret not in text
    assert out["webhook_url"] == out["extra_environment"]["DB_PASSWORD"] == rec.REDACTED
    assert out["output_kms_key"] == "arn:aws:kms:k" and out["start_time"] == "2026-11-20T10:00:00Z"


def test_code_version_names_package_python_and_spark():
    import platform

    import pyspark

    doc = rec.code_version(None)
    assert (doc["version"], doc["python"], doc["spark"]) == ("0.1.0", platform.python_version(), pyspark.__version__)
    commit = rec.git_commit()
    if commit is not None:  # a git checkout: the commit it runs from
        import subprocess

        root = os.path.dirname(os.path.dirname(os.path.abspath(rec.__file__)))
        head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        assert doc["git_commit"] == head.strip()


def test_windows_and_offsets_are_recorded_as_iso_8601_durations():
    """lineage.json's parameters keep a schedule's window and offsets as they are written (PT1H, -P1D), not as
    Python's timedelta text (1:00:00, -1 day, 0:00:00)."""
    from datetime import timedelta

    from monitor_lib.sinks.lineage.record import jsonable

    assert jsonable({"window": timedelta(hours=1), "end_offset": -timedelta(days=1),
                     "start_offset": -timedelta(days=8, hours=1, minutes=30)}) == {
        "window": "PT1H", "end_offset": "-P1D", "start_offset": "-P8DT1H30M"}
