"""CloudWatch for real, against the moto server on 127.0.0.1: a data-quality run with put_metric_data publishes its
metrics (read back with get_metric_statistics / list_metrics and compared with pandas over the window's data and
with the metric file); requests stay within the API's limits (the bodies botocore sends, measured on the wire);
timestamps CloudWatch refuses are left out and recorded; an unreachable CloudWatch fails only the delivery.
``alarms create`` against the same server: describe_alarms has the thresholds of the constraints (ours and the real
SageMaker fixtures, read here with json)."""

from __future__ import annotations

import json
import math
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.config import Config
from helpers import FIXTURES

from monitor_lib.alarms import AlarmSettings, create_alarms, data_quality_plan, put_metric_alarm_requests
from monitor_lib.cli import main
from monitor_lib.runner import run_job
from monitor_lib.sinks.cloudwatch_api import batches, publish, publishable, request_size

NS = "aws/sagemaker/Endpoints/data-metrics"
CSV = '{"csv": {"header": true}}'
TOPIC = "arn:aws:sns:us-east-1:123456789012:model-monitor-alerts"
STATS = ["SampleCount", "Sum", "Minimum", "Maximum"]


def _frames(n: int = 400, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    baseline = pd.DataFrame({"amount": np.round(rng.normal(100, 15, n), 3), "age": rng.integers(18, 80, n),
                             "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.5, 0.3, 0.2])})
    current = pd.DataFrame({"amount": np.round(rng.normal(130, 15, n), 3), "age": rng.integers(18, 80, n),
                            "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.1, 0.3, 0.6])})
    current.loc[rng.random(n) < 0.1, "amount"] = np.nan  # completeness ~0.9
    return baseline, current


@dataclass
class Published:
    current: pd.DataFrame
    baseline_dir: Path
    data: Path
    output: Path
    metrics_file: Path
    endpoint: str
    start: datetime

    def summary(self, output: Path | None = None) -> dict:
        return json.loads(((output or self.output) / "run_summary.json").read_text())


def monitoring(w_data: Path, baseline: Path, out: Path, start: datetime, endpoint: str, spark, **extra):
    params = {"dataset_source": str(w_data), "dataset_format": CSV, "output_path": str(out),
              "baseline_constraints": str(baseline / "constraints.json"),
              "baseline_statistics": str(baseline / "statistics.json"),
              "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "end_time": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "sagemaker_endpoint_name": endpoint, "sagemaker_monitoring_schedule_name": "hourly",
              "publish_cloudwatch_metrics": "Enabled", "CLOUDWATCH_METRICS_DIRECTORY": str(out / "cloudwatch"),
              "put_metric_data": "Enabled", **extra}
    return run_job("data-quality", params, spark=spark)


@pytest.fixture(scope="module")
def published(spark, aws_server, tmp_path_factory) -> Published:
    root = tmp_path_factory.mktemp("cloudwatch_api")
    baseline, current = _frames()
    (root / "baseline.csv").write_text(baseline.to_csv(index=False))
    (root / "current.csv").write_text(current.to_csv(index=False))
    run_job("data-quality", {"dataset_source": str(root / "baseline.csv"), "dataset_format": CSV,
                             "output_path": str(root / "baseline")}, spark=spark)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    endpoint = f"credit-{uuid.uuid4().hex[:8]}"  # the moto server lives for the whole session
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", aws_server.endpoint)
        monitoring(root / "current.csv", root / "baseline", root / "out", start, endpoint, spark)
    return Published(current, root / "baseline", root / "current.csv", root / "out",
                     root / "out" / "cloudwatch" / "cloudwatch_metrics.jsonl", endpoint, start)


def _statistics(cw, p: Published, name: str) -> list[dict]:
    return cw.get_metric_statistics(
        Namespace=NS, MetricName=name, Period=3600, Statistics=STATS, StartTime=p.start - timedelta(hours=1),
        EndTime=p.start + timedelta(hours=2),
        Dimensions=[{"Name": "Endpoint", "Value": p.endpoint}, {"Name": "MonitoringSchedule", "Value": "hourly"}],
    )["Datapoints"]


def test_the_runs_metrics_come_back_from_cloudwatch_with_the_windows_numbers(published, aws_server):
    p, cw = published, aws_server.client("cloudwatch")
    amount = p.current["amount"].dropna()
    expected = {  # pandas over the window's data
        "feature_data_amount": {"SampleCount": len(amount), "Sum": amount.sum(), "Minimum": amount.min(),
                                "Maximum": amount.max()},
        "feature_data_age": {"SampleCount": len(p.current), "Sum": float(p.current["age"].sum()),
                             "Minimum": float(p.current["age"].min()), "Maximum": float(p.current["age"].max())},
    }
    completeness = {f"feature_non_null_{c}": p.current[c].notna().mean() for c in p.current.columns}
    assert 0.85 < completeness["feature_non_null_amount"] < 0.95
    for name, stats in expected.items():
        (point,) = _statistics(cw, p, name)
        assert point["Timestamp"] == p.start
        for stat, value in stats.items():
            assert point[stat] == pytest.approx(value, rel=1e-12), (name, stat)
    for name, value in completeness.items():
        (point,) = _statistics(cw, p, name)
        assert point["Timestamp"] == p.start and point["SampleCount"] == 1
        assert point["Maximum"] == pytest.approx(value, abs=1e-12)
    # the categorical drift of city: Robust L-infinity (c = 1.8) from pandas' value counts
    base = pd.read_csv(p.data.parent / "baseline.csv")["city"].value_counts(normalize=True)
    now = p.current["city"].value_counts(normalize=True)
    n, m = 400, 400
    linf = max(abs(base.get(c, 0.0) - now.get(c, 0.0)) for c in set(base.index) | set(now.index))
    (point,) = _statistics(cw, p, "feature_baseline_drift_city")
    assert point["Maximum"] == pytest.approx(max(0.0, linf - 1.8 * math.sqrt((n + m) / (n * m))), abs=1e-12)
    assert point["Maximum"] > 0.2  # it drifted: above the 0.1 threshold


def test_cloudwatch_holds_exactly_the_metric_file(published, aws_server):
    p, cw = published, aws_server.client("cloudwatch")
    lines = [json.loads(line) for line in p.metrics_file.read_text().splitlines()]
    listed = cw.list_metrics(Namespace=NS, Dimensions=[{"Name": "Endpoint", "Value": p.endpoint}])["Metrics"]
    assert sorted(m["MetricName"] for m in listed) == sorted(r["MetricName"] for r in lines)
    for m in listed:
        assert sorted(m["Dimensions"], key=lambda d: d["Name"]) == [
            {"Name": "Endpoint", "Value": p.endpoint}, {"Name": "MonitoringSchedule", "Value": "hourly"}]
    for r in lines:
        (point,) = _statistics(cw, p, r["MetricName"])
        assert point["Timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ") == r["Timestamp"]
        if "Value" in r:
            assert point["Maximum"] == r["Value"] and point["SampleCount"] == 1
        else:
            assert {s: point[s] for s in STATS} == r["StatisticValues"]
    delivery = p.summary()["deliveries"]["cloudwatch"]
    assert delivery == {"status": "sent", "namespace": NS, "metrics": len(lines), "requests": 1,
                        "skipped_too_old": 0, "skipped_too_new": 0}
    assert len(lines) == 8  # 2 numeric features x (data, non-null, drift) + city (non-null, drift)


def test_old_windows_are_not_published_and_say_so(published, spark, aws_server, tmp_path, caplog):
    p = published
    start = p.start - timedelta(days=20)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", aws_server.endpoint)
        monitoring(p.data, p.baseline_dir, tmp_path / "old", start, p.endpoint, spark)
    lines = (tmp_path / "old" / "cloudwatch" / "cloudwatch_metrics.jsonl").read_text().splitlines()
    delivery = p.summary(tmp_path / "old")["deliveries"]["cloudwatch"]
    assert delivery["status"] == "skipped" and delivery["metrics"] == 0 and delivery["requests"] == 0
    assert delivery["skipped_too_old"] == len(lines) == 8
    assert [r.getMessage() for r in caplog.records if "older than 14 days" in r.getMessage()] == [
        f"CloudWatch: {len(lines)} metric(s) left out: {len(lines)} older than 14 days, 0 more than 2 hours ahead "
        "(CloudWatch refuses them); the metric file has them"]
    points = aws_server.client("cloudwatch").get_metric_statistics(
        Namespace=NS, MetricName="feature_non_null_amount", Period=3600, Statistics=["SampleCount"],
        StartTime=start - timedelta(hours=1), EndTime=start + timedelta(hours=2),
        Dimensions=[{"Name": "Endpoint", "Value": p.endpoint}, {"Name": "MonitoringSchedule", "Value": "hourly"}])
    assert points["Datapoints"] == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_an_unreachable_cloudwatch_fails_the_delivery_not_the_run(published, spark, tmp_path):
    p = published
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", f"http://127.0.0.1:{_closed_port()}")
        outcome = monitoring(p.data, p.baseline_dir, tmp_path / "down", p.start, p.endpoint, spark)
    out = tmp_path / "down"
    assert outcome.status == "CompletedWithViolations"
    for name in ("statistics.json", "constraints.json", "constraint_violations.json", "run_summary.json",
                 "cloudwatch/cloudwatch_metrics.jsonl"):
        assert (out / name).is_file(), name
    delivery = p.summary(out)["deliveries"]["cloudwatch"]
    assert delivery["status"] == "failed" and delivery["metrics"] == 0 and delivery["requests"] == 0
    assert delivery["namespace"] == NS and "Could not connect to the endpoint URL" in delivery["error"]
    assert p.summary(out)["violations"] == p.summary()["violations"] > 0


def test_wide_runs_are_split_within_the_api_limits_on_the_wire(aws_server):
    """1,500 metrics with 30 long dimensions each: every body botocore sends (compression off, to see its size)
    holds at most 1000 metrics and 1,000,000 bytes, is the size the sink measured, and moto stores all."""
    cw = boto3.client("cloudwatch", endpoint_url=aws_server.endpoint, region_name="us-east-1",
                      config=Config(disable_request_compression=True))
    sent: list[int] = []
    cw.meta.events.register("before-send.cloudwatch.PutMetricData", lambda request, **kw: sent.append(
        len(request.body)))
    schedule = f"wide-{uuid.uuid4().hex[:8]}"
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    dims = [{"Name": "MonitoringSchedule", "Value": schedule}] + [
        {"Name": f"D{i:02d}", "Value": f"{i:02d}" * 100} for i in range(29)]
    records = [{"MetricName": f"feature_non_null_f{i}", "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Dimensions": dims, "Value": i / 1500, "Unit": "None"} for i in range(1500)]
    info = publish(records, "model-monitor/test-wide", cw, datetime.now(UTC))
    assert info["metrics"] == 1500 and info["requests"] == len(sent) >= 3
    assert max(sent) <= 1_000_000 and sum(sent) > 2 * 1_000_000  # the byte limit, not the count, cut them
    size = request_size(cw)  # what the sink measured for each request is what went on the wire
    ready = publishable(records, datetime.now(UTC)).data
    assert sent == [size("model-monitor/test-wide", part) for part in batches("model-monitor/test-wide", ready, size)]
    names = set()
    for page in cw.get_paginator("list_metrics").paginate(Namespace="model-monitor/test-wide",
                                                          Dimensions=[{"Name": "MonitoringSchedule",
                                                                       "Value": schedule}]):
        names.update(m["MetricName"] for m in page["Metrics"])
    assert len(names) == 1500


# ---------------------------------------------------------------- alarms create


def _describe(cw, prefix: str) -> dict[str, dict]:
    alarms = {}
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix):
        alarms.update({a["AlarmName"]: a for a in page["MetricAlarms"]})
    return alarms


def test_alarms_from_our_baseline_have_its_thresholds(published, aws_server, capsys):
    p, cw = published, aws_server.client("cloudwatch")
    constraints = json.loads((p.baseline_dir / "constraints.json").read_text())
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    args = ["alarms", "create", "--baseline-constraints", str(p.baseline_dir / "constraints.json"),
            "--sns-topic-arn", TOPIC, "--endpoint", p.endpoint, "--schedule", "hourly", "--prefix", prefix]
    assert main(args) == 0
    assert main(args) == 0  # again: the same alarms are updated, none added
    out = capsys.readouterr().out
    assert out.count("alarm(s) in aws/sagemaker/Endpoints/data-metrics") == 2
    alarms = _describe(cw, prefix)
    drift = constraints["monitoring_config"]["distribution_constraints"]
    expected = {}
    for f in constraints["features"]:
        t = drift["comparison_threshold"] if f["inferred_type"] != "String" else drift.get(
            "categorical_comparison_threshold", drift["comparison_threshold"])
        expected[f"feature_baseline_drift_{f['name']}"] = ("GreaterThanThreshold", t, "Maximum")
        expected[f"feature_non_null_{f['name']}"] = ("LessThanThreshold", f["completeness"], "Minimum")
    assert {a["MetricName"]: (a["ComparisonOperator"], a["Threshold"], a["Statistic"]) for a in alarms.values()} \
        == expected
    assert set(alarms) == {f"{prefix}/{p.endpoint}/hourly/{m}" for m in expected}
    for a in alarms.values():
        assert a["Namespace"] == NS and a["Period"] == 3600 and a["EvaluationPeriods"] == 1
        assert a["DatapointsToAlarm"] == 1 and a["TreatMissingData"] == "notBreaching"
        assert a["AlarmActions"] == [TOPIC] and a["OKActions"] == [TOPIC] and a["ActionsEnabled"]
        assert sorted(a["Dimensions"], key=lambda d: d["Name"]) == [
            {"Name": "Endpoint", "Value": p.endpoint}, {"Name": "MonitoringSchedule", "Value": "hourly"}]
    # the alarms watch exactly the metrics the run published
    listed = cw.list_metrics(Namespace=NS, Dimensions=[{"Name": "Endpoint", "Value": p.endpoint}])["Metrics"]
    published_names = {m["MetricName"] for m in listed}
    assert {a["MetricName"] for a in alarms.values()} == published_names - {
        n for n in published_names if n.startswith("feature_data_")}


def test_alarms_from_the_real_sagemaker_constraints(aws_server, capsys):
    cw = aws_server.client("cloudwatch")
    mq = FIXTURES / "sdk-pipeline-mq-regression" / "bad_cases" / "constraints.json"
    dq = FIXTURES / "sdk-pipeline-dq-baseline" / "good_cases" / "constraints.json"
    prefix = f"real-{uuid.uuid4().hex[:8]}"
    assert main(["alarms", "create", "--type", "model-quality", "--baseline-constraints", str(mq),
                 "--sns-topic-arn", TOPIC, "--schedule", "batch-mq", "--prefix", prefix]) == 0
    doc = json.loads(mq.read_text())["regression_constraints"]
    alarms = _describe(cw, prefix)
    assert {a["MetricName"]: (a["Threshold"], a["ComparisonOperator"]) for a in alarms.values()} == {
        name: (c["threshold"], c["comparison_operator"]) for name, c in doc.items()}
    for a in alarms.values():  # a batch schedule (no endpoint): the ModelMonitoring namespace, one dimension
        assert a["Namespace"] == "aws/sagemaker/ModelMonitoring/model-metrics"
        assert a["Dimensions"] == [{"Name": "MonitoringSchedule", "Value": "batch-mq"}]
    requests = put_metric_alarm_requests(data_quality_plan(json.loads(dq.read_text()), str(dq), "e", "s"),
                                         AlarmSettings(namespace=NS, sns_topic_arn=TOPIC, endpoint="e", schedule="s",
                                                       prefix=prefix + "-dq"))
    create_alarms(requests, cw)
    dq_alarms = _describe(cw, prefix + "-dq")
    features = json.loads(dq.read_text())["features"]
    assert len(dq_alarms) == 2 * len(features)
    for f in features:
        assert dq_alarms[f"{prefix}-dq/e/s/feature_non_null_{f['name']}"]["Threshold"] == f["completeness"]
        assert dq_alarms[f"{prefix}-dq/e/s/feature_baseline_drift_{f['name']}"]["Threshold"] == 0.1


def test_a_model_quality_run_publishes_what_its_alarms_watch(spark, aws_server, tmp_path):
    """The real SageMaker regression baseline: a monitoring run over its labelled dataset publishes mae, mse, rmse
    and r2 (numpy over the file) to the model-metrics namespace, and the alarms made from its constraints watch
    exactly those metrics, with those dimensions."""
    mq = FIXTURES / "sdk-pipeline-mq-regression"
    df = pd.read_csv(mq / "baseline_dataset.csv")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    endpoint = f"abalone-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", aws_server.endpoint)
        run_job("model-quality", {
            "dataset_source": str(mq / "baseline_dataset.csv"), "dataset_format": CSV, "problem_type": "Regression",
            "inference_attribute": "Label", "ground_truth_attribute": "Prediction",  # as the SDK's test named them
            "baseline_constraints": str(mq / "good_cases" / "constraints.json"), "output_path": str(tmp_path / "out"),
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_time": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sagemaker_endpoint_name": endpoint, "sagemaker_monitoring_schedule_name": "hourly",
            "put_metric_data": "Enabled"}, spark=spark)
    error = df["Label"] - df["Prediction"]
    truth = df["Prediction"]
    mse = float((error ** 2).mean())
    expected = {"mae": float(error.abs().mean()), "mse": mse, "rmse": math.sqrt(mse),
                "r2": 1 - float((error ** 2).sum()) / float(((truth - truth.mean()) ** 2).sum())}
    cw = aws_server.client("cloudwatch")
    namespace = "aws/sagemaker/Endpoints/model-metrics"
    dims = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": "hourly"}]
    for name, value in expected.items():
        (point,) = cw.get_metric_statistics(Namespace=namespace, MetricName=name, Dimensions=dims, Period=3600,
                                            StartTime=start, EndTime=start + timedelta(hours=1),
                                            Statistics=["Maximum"])["Datapoints"]
        assert point["Timestamp"] == start and point["Maximum"] == pytest.approx(value, rel=1e-9), name
    delivery = json.loads((tmp_path / "out" / "run_summary.json").read_text())["deliveries"]["cloudwatch"]
    assert delivery["status"] == "sent" and delivery["namespace"] == namespace
    published = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
                 for m in cw.list_metrics(Namespace=namespace, Dimensions=dims[:1])["Metrics"]}
    assert delivery["metrics"] == len(published)
    prefix = f"mq-{uuid.uuid4().hex[:8]}"
    assert main(["alarms", "create", "--type", "model-quality", "--baseline-constraints",
                 str(mq / "good_cases" / "constraints.json"), "--sns-topic-arn", TOPIC, "--endpoint", endpoint,
                 "--schedule", "hourly", "--prefix", prefix]) == 0
    watched = {(a["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in a["Dimensions"])))
               for a in _describe(cw, prefix).values() if a["Namespace"] == namespace}
    assert len(watched) == 4 and watched <= published
