"""The notification of a run built from a RunOutcome without Spark: content, bounds (500 violations), SNS's and
Slack's limits, the Standard Webhooks signature against the ``standardwebhooks`` package, ``notify_on``."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime

import pytest
from receivers import check_block_kit
from standardwebhooks.webhooks import Webhook

from monitor_lib.formats.violations import ConstraintViolations, Violation, violations_to_dict
from monitor_lib.monitors.base import RunOutcome
from monitor_lib.sinks.notify import message, slack, sns, webhook

NOW = datetime(2026, 11, 20, 11, 5, tzinfo=UTC)


def outcome(violations: list[Violation], status: str = "CompletedWithViolations", **kw) -> RunOutcome:
    kw.setdefault("endpoint", "my-endpoint")
    o = RunOutcome("data-quality", "monitoring", "data_quality_monitoring", status=status,
                   start_time=datetime(2026, 11, 20, 10, tzinfo=UTC), end_time=datetime(2026, 11, 20, 11, tzinfo=UTC),
                   schedule="hourly", files_read=2, records=120,
                   rejected={"malformed_json": 3}, skipped={"outside_window": 1, "blank_line": 2},
                   violations=violations, output_path="s3://bucket/out/my-endpoint/hourly/2026/11/20/10",
                   run_id="3f7c1f8e-1111-4222-8333-944445555666", **kw)
    o.files["report"] = o.output_path + "/report.html"
    return o


def drift(i: int, description: str | None = None) -> Violation:
    return Violation(f"f{i}", "baseline_drift_check", description or
                     f"Baseline drift distance: 0.{i:03d} exceeds threshold: 0.1", value=0.1 + i / 1000, threshold=0.1)


def test_content_of_a_run_with_violations():
    vs = [drift(1), Violation("b", "completeness_check", "Completeness requirement is not met.", value=0.75,
                              threshold=1.0), Violation(None, "GreaterThanThreshold", "Metric mae with 3.5 was "
                                                        "GreaterThanThreshold 2.0", metric_name="mae", value=3.5,
                                                        threshold=2.0)]
    n = message.build(outcome(vs), None, NOW)
    doc = json.loads(n.body())
    assert doc["type"] == "model_monitor.run.completed_with_violations" and doc["timestamp"] == "2026-11-20T11:05:00Z"
    data = doc["data"]
    # each violation is its constraint_violations.json entry plus value and threshold
    written = violations_to_dict(ConstraintViolations(vs))["violations"]
    assert data["violations"] == [{**w, "value": v.value, "threshold": v.threshold}
                                  for w, v in zip(written, vs, strict=True)]
    assert data["counts"] == {"files_read": 2, "records": 120, "rejected": 3, "skipped": 3, "violations": 3}
    assert data["violations_by_check"] == {"baseline_drift_check": 1, "completeness_check": 1,
                                           "GreaterThanThreshold": 1}
    assert data["window"] == {"start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
    assert data["report_url"] == "s3://bucket/out/my-endpoint/hourly/2026/11/20/10/report.html"
    assert message.build(outcome(vs), "https://reports.example/run", NOW).report_url == "https://reports.example/run"
    no_report = outcome(vs)
    del no_report.files["report"]
    assert message.build(no_report, None, NOW).report_url == no_report.output_path
    assert n.text().splitlines()[:7] == [
        "data-quality CompletedWithViolations: 3 violations on my-endpoint / hourly, window 2026-11-20T10:00:00Z "
        "to 2026-11-20T11:00:00Z", "", "Status: CompletedWithViolations",
        "Window: 2026-11-20T10:00:00Z to 2026-11-20T11:00:00Z", "Records: 120 analysed, 3 rejected, 3 skipped",
        "Run id: 3f7c1f8e-1111-4222-8333-944445555666", ""]
    assert "- GreaterThanThreshold on mae (value 3.5, threshold 2): Metric mae with 3.5 was GreaterThanThreshold 2.0" \
        in n.text()


def test_500_violations_list_the_first_50_and_count_the_rest():
    n = message.build(outcome([drift(i) for i in range(500)]), None, NOW)
    data = json.loads(n.body())["data"]
    assert len(data["violations"]) == 50 and data["violations"][-1]["feature_name"] == "f49"
    assert (data["violations_total"], data["violations_omitted"]) == (500, 450)
    assert n.text().splitlines()[-3:] == ["… and 450 more", "", "Report: " + n.report_url]


def test_sns_message_stays_within_256_kb_and_subject_is_short_ascii():
    long = "x" * 9000  # an extra-columns summary can be this long
    o = outcome([drift(i, long) for i in range(500)], endpoint="modèle-€-endpoint\nsecond line")
    request = sns.request("arn:aws:sns:eu-west-1:123456789012:alerts", message.build(o, None, NOW))
    assert len(request["Message"].encode("utf-8")) <= 256 * 1024
    structured = json.loads(request["Message"])
    data = json.loads(structured["default"])["data"]
    assert len(data["violations"]) == 50 and data["violations_total"] == 500  # 50 fit once cut to 1,000 characters
    assert all(len(v["description"]) == 1000 for v in data["violations"])
    smaller = message.bounded(message.build(o, None, NOW), 20_000)  # fewer fit a smaller bound
    assert len(smaller.body()) <= 20_000 and 0 < len(smaller.violations) < 50
    assert smaller.violations_omitted == 500 - len(smaller.violations)
    assert f"… and {smaller.violations_omitted} more" in smaller.text()
    assert structured["email"].startswith("data-quality CompletedWithViolations: 500 violations on")
    subject = request["Subject"]
    assert len(subject) <= 99 and subject.isascii() and "\n" not in subject
    assert subject.startswith("data-quality CompletedWithViolations: 500 violations on mod?le-?-endpoint second")
    assert request["MessageAttributes"]["violations"] == {"DataType": "Number", "StringValue": "500"}
    assert request["MessageAttributes"]["status"]["StringValue"] == "CompletedWithViolations"


def test_non_finite_values_travel_as_null():
    v = Violation(None, "bias_drift_check", "Metric value NaN …", metric_name="CI", facet="sex", facet_value="0",
                  value=math.nan, threshold=math.inf)
    data = json.loads(message.build(outcome([v]), None, NOW).body())["data"]
    assert data["violations"][0]["value"] is None and data["violations"][0]["threshold"] is None
    assert message.subject_of(data["violations"][0]) == "sex=0 CI"


@pytest.mark.parametrize(("notify_on", "status", "sent"), [
    ("violations", "CompletedWithViolations", True), ("violations", "Failed", True),
    ("violations", "Completed", False), ("violations", "NoData", False), (None, "Completed", False),
    ("always", "Completed", True), ("always", "NoData", True)])
def test_notify_on(notify_on, status, sent):
    assert message.wants(notify_on, status) is sent


def test_webhook_signature_verifies_with_standardwebhooks():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = message.build(outcome([drift(1)]), None, NOW).body()
    ts = int(datetime.now(UTC).timestamp())
    headers = webhook.signed_headers(key, "msg_abc", ts, body)
    assert Webhook(secret).verify(body, headers)["data"]["violations"][0]["feature_name"] == "f1"
    other = webhook.signed_headers(b"another key of thirty-two bytes!", "msg_abc", ts, body)
    with pytest.raises(Exception):  # noqa: B017  (standardwebhooks' WebhookVerificationError)
        Webhook(secret).verify(body, other)


def test_slack_payload_of_500_violations_is_valid_block_kit():
    n = message.build(outcome([drift(i, "d" * 5000) for i in range(500)]), None, NOW)
    payload = slack.payload(n)
    check_block_kit(payload)
    sections = [b for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert len(sections) == 10
    contexts = [e["text"] for b in payload["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert contexts == ["… and 490 more violations",
                        "Report: `s3://bucket/out/my-endpoint/hourly/2026/11/20/10/report.html`"]
    assert len(payload["text"]) <= 3000
    linked = slack.payload(message.build(outcome([drift(1)]), "https://reports.example/a?b=1&c=<2>", NOW))
    check_block_kit(linked)
    assert linked["blocks"][-1]["elements"][0]["url"] == "https://reports.example/a?b=1&c=<2>"
    assert slack.escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"


def test_failed_and_no_data_runs_say_why():
    failed = outcome([], status="Failed", failure_reason="4 of 4 record(s) in window … rejected")
    n = message.build(failed, None, NOW)
    assert n.event_type == "model_monitor.run.failed"
    assert json.loads(n.body())["data"]["failure_reason"] == "4 of 4 record(s) in window … rejected"
    assert n.title.startswith("data-quality Failed: run failed on my-endpoint / hourly")
    check_block_kit(slack.payload(n))
    empty = message.build(outcome([], status="NoData", no_data_reason="the files hold no records"), None, NOW)
    assert empty.event_type == "model_monitor.run.no_data" and "No data: the files hold no records" in empty.text()
