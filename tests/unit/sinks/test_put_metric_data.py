"""The PutMetricData sink's pure steps: which timestamps CloudWatch accepts (an injected clock) and how metric data
are cut into requests, each request validated by botocore's Stubber against CloudWatch's API model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from monitor_lib.sinks.cloudwatch_api import batches, publish, publishable, request_size

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
NS = "aws/sagemaker/Endpoints/data-metrics"


def client():
    return boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def record(name: str, when: datetime, dims: list[dict] | None = None, value: float = 0.5) -> dict:
    return {"MetricName": name, "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "Value": value,
            "Dimensions": dims or [{"Name": "Endpoint", "Value": "e"}], "Unit": "None"}


def test_points_older_than_14_days_or_over_2_hours_ahead_are_left_out_and_counted():
    records = [record("a", NOW - timedelta(days=14, seconds=1)), record("b", NOW - timedelta(days=14)),
               record("c", NOW - timedelta(hours=1)), record("d", NOW + timedelta(hours=2)),
               record("e", NOW + timedelta(hours=2, seconds=1)), record("f", NOW - timedelta(days=30))]
    ready = publishable(records, NOW)
    assert [d["MetricName"] for d in ready.data] == ["b", "c", "d"]
    assert (ready.too_old, ready.too_new) == (2, 1)
    assert ready.data[1]["Timestamp"] == datetime(2026, 12, 2, 8, 30, tzinfo=UTC)  # sent as a datetime


def test_more_than_1000_metrics_are_split_by_count_in_order():
    records = [record(f"feature_non_null_f{i}", NOW, value=i / 2500) for i in range(2500)]
    cw = client()
    data = publishable(records, NOW).data
    with Stubber(cw) as stub:
        for part in (data[:1000], data[1000:2000], data[2000:]):
            stub.add_response("put_metric_data", {}, expected_params={"Namespace": NS, "MetricData": part})
        info = publish(records, NS, cw, NOW)
        stub.assert_no_pending_responses()
    assert info == {"namespace": NS, "metrics": 2500, "requests": 3, "skipped_too_old": 0, "skipped_too_new": 0}


def test_requests_stay_under_one_megabyte_measured_by_the_serializer():
    # 30 dimensions of 1024 characters (CloudWatch's maxima): ~31 KB a datum, so ~32 fit in a request
    dims = [{"Name": f"D{i}", "Value": chr(97 + i % 26) * 1024} for i in range(30)]
    data = publishable([record(f"m{i}", NOW, dims) for i in range(100)], NOW).data
    size = request_size(client())
    parts = batches(NS, data, size)
    assert [d for p in parts for d in p] == data  # nothing lost, order kept
    assert all(size(NS, p) <= 1_000_000 for p in parts)
    assert all(size(NS, p + [data[0]]) > 1_000_000 for p in parts[:-1])  # each request as full as it can be
    assert len(parts) == 4
    cw = client()
    with Stubber(cw) as stub:  # each request is valid for the API model
        for p in parts:
            stub.add_response("put_metric_data", {}, expected_params={"Namespace": NS, "MetricData": p})
        for p in parts:
            cw.put_metric_data(Namespace=NS, MetricData=p)


def test_the_byte_limit_is_checked_on_the_whole_request():
    """A size function whose framing grows with the count: the measured halving keeps every batch in bounds."""
    def size(ns: str, entries: list[dict]) -> int:
        return 10 + 100 * len(entries) + len(entries) ** 2

    parts = batches(NS, [{"MetricName": str(i)} for i in range(50)], size, max_bytes=2000)
    assert all(size(NS, p) <= 2000 for p in parts)
    assert sum(len(p) for p in parts) == 50


def test_a_metric_too_big_for_any_request_is_an_error():
    with pytest.raises(ValueError, match="alone makes a request"):
        batches(NS, [{"MetricName": "x"}], lambda ns, e: 10 + 5000 * len(e), max_bytes=1000)
