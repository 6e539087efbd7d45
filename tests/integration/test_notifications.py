"""Notifications of real monitoring runs, received on 127.0.0.1: a webhook verified with the ``standardwebhooks``
package (an independent implementation of Standard Webhooks), Slack's Block Kit checked against Slack's
documented limits, PagerDuty Events v2 (trigger, then resolve in the next clean window), SNS through the moto
server to an HTTP subscription and a filtered SQS subscription.

Two data-quality windows of one schedule (hour 10 with two violations, hour 11 clean) are run once for the
module; the receivers record what every channel sent. The webhook receiver answers 500 twice, then 200 in hour 10
and never answers in hour 11.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from helpers import capture_line, simple_constraints
from receivers import check_block_kit, start_receiver
from standardwebhooks.webhooks import Webhook

from monitor_lib.errors import ConfigError
from monitor_lib.runner import run_job

KEY = b"notification-test-key-0123456789"  # 32 bytes
SECRET = "whsec_" + base64.b64encode(KEY).decode()
SLACK_PATH = "/services/T0SECRET/B0SECRET/slacktokenSECRET"
ROUTING_KEY = "pdroutingkeySECRET00000000000032"
FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
HOUR_10 = [("1.5", "2.5", "0.5"), ("x", "", "0.25"), ("3.5", "5.5", "0.75"), ("4.5", "6.5", "0.5")]
HOUR_11 = [("1.5", "2.5", "0.5"), ("2.5", "3.5", "0.25"), ("3.5", "5.5", "0.75")]
SECRETS = (SECRET, SECRET[6:], "slacktokenSECRET", SLACK_PATH, ROUTING_KEY)


def _capture(root: Path, hour: int, rows) -> Path:
    folder = root / "my-endpoint" / "AllTraffic" / "2026" / "11" / "20" / f"{hour:02d}"
    folder.mkdir(parents=True)
    lines = [capture_line(f"{a},{b}", y, f"2026-11-20T{hour:02d}:{i:02d}:00Z", event_id=str(i))
             for i, (a, b, y) in enumerate(rows)]
    (folder / "capture.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _out(root: Path, hour: int) -> Path:
    return root / "out" / "my-endpoint" / "hourly" / "2026" / "11" / "20" / f"{hour:02d}"


class _Log(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.addFilter(lambda r: r.name.startswith("monitor_lib") or r.levelno >= logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def runs(spark, aws_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("notify")
    constraints = root / "constraints.json"
    constraints.write_text(json.dumps(simple_constraints(["a", "b", "y"])))
    webhook, slack, pagerduty, sns_http = (start_receiver([500, 500]), start_receiver(), start_receiver(status=202),
                                           start_receiver())
    sns, sqs = aws_server.client("sns"), aws_server.client("sqs")
    topic = sns.create_topic(Name="model-monitor-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=sns_http.url + "/sns")
    queue = sqs.create_queue(QueueName="violations-only")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"FilterPolicy": json.dumps({"status": ["CompletedWithViolations"]})})
    log = _Log()  # every record of monitor_lib, and INFO and above of the libraries (what the CLI shows)
    ours = logging.getLogger("monitor_lib")
    logging.getLogger().addHandler(log)
    previous_level = ours.level
    ours.setLevel(logging.DEBUG)

    def monitor(hour: int, rows, **params):
        return run_job("data-quality", {
            "dataset_source": str(_capture(root / "capture", hour, rows)), "dataset_format": FORMAT,
            "output_path": str(_out(root, hour)), "baseline_constraints": str(constraints),
            "output_columns_position": "END", "start_time": f"2026-11-20T{hour:02d}:00:00Z",
            "end_time": f"2026-11-20T{hour + 1:02d}:00:00Z", "sagemaker_endpoint_name": "my-endpoint",
            "sagemaker_monitoring_schedule_name": "hourly", "sns_topic_arn": topic,
            "webhook_url": webhook.url + "/hooks/model-monitor", **params}, spark=spark)

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MODEL_MONITOR_WEBHOOK_SECRET", SECRET)
            mp.setenv("MODEL_MONITOR_SLACK_WEBHOOK_URL", slack.url + SLACK_PATH)
            mp.setenv("MODEL_MONITOR_PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
            mp.setenv("MODEL_MONITOR_PAGERDUTY_URL", pagerduty.url + "/v2/enqueue")
            first = monitor(10, HOUR_10)
            counts = {name: len(r.received) for name, r in
                      (("webhook", webhook), ("slack", slack), ("pagerduty", pagerduty), ("sns", sns_http))}
            webhook.hang = True  # hour 11: accepts the connection, never answers
            second = monitor(11, HOUR_11, notify_on="always", notify_timeout_seconds=0.5, notify_max_retries=0)
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        yield {"root": root, "first": first, "second": second, "counts": counts, "webhook": webhook,
               "slack": slack, "pagerduty": pagerduty, "sns_http": sns_http, "sqs": messages, "topic": topic,
               "log": log.lines}
    finally:
        logging.getLogger().removeHandler(log)
        ours.setLevel(previous_level)
        for r in (webhook, slack, pagerduty, sns_http):
            r.stop()


def _summary(runs, hour: int) -> dict:
    return json.loads((_out(runs["root"], hour) / "run_summary.json").read_text())


def _violations_file(runs, hour: int) -> list[dict]:
    return json.loads((_out(runs["root"], hour) / "constraint_violations.json").read_text())["violations"]


def _expected_measurements() -> dict[tuple[str, str], tuple[float, float]]:
    """pandas over the hour-10 rows: the share of a's values that are numbers, the share of b's present."""
    frame = pd.DataFrame(HOUR_10, columns=["a", "b", "y"]).replace("", None)
    a = frame["a"].dropna()
    return {("data_type_check", "a"): (float(pd.to_numeric(a, errors="coerce").notna().mean()), 1.0),
            ("completeness_check", "b"): (float(frame["b"].notna().mean()), 1.0)}


# ---------------------------------------------------------------- webhook


def test_webhook_verifies_with_standardwebhooks_and_carries_the_violations(runs):
    first = runs["webhook"].received[:runs["counts"]["webhook"]]
    assert len(first) == 3  # 500, 500, then 200: the same message three times
    assert len({(r.body, r.headers["webhook-id"], r.headers["webhook-signature"]) for r in first}) == 1
    request = first[-1]
    assert request.path == "/hooks/model-monitor"
    assert request.headers["content-type"] == "application/json"
    payload = Webhook(SECRET).verify(request.body, {k: request.headers[k] for k in
                                                    ("webhook-id", "webhook-timestamp", "webhook-signature")})
    assert request.headers["webhook-id"] == f"msg_{runs['first'].run_id}"
    with pytest.raises(Exception):  # noqa: B017  (the verifier rejects a body changed in transit)
        Webhook(SECRET).verify(request.body.replace(b"my-endpoint", b"my-endpoinT"), dict(request.headers))
    assert payload["type"] == "model_monitor.run.completed_with_violations"
    data = payload["data"]
    written = _violations_file(runs, 10)
    assert len(written) == 2
    assert [{k: v[k] for k in w} for v, w in zip(data["violations"], written, strict=True)] == written
    measured = {(v["constraint_check_type"], v["feature_name"]): (v["value"], v["threshold"])
                for v in data["violations"]}
    assert measured == _expected_measurements()  # 3 of 4: exact in binary
    summary = _summary(runs, 10)
    assert data["run_id"] == summary["run_id"] == runs["first"].run_id
    assert data["status"] == summary["status"] == "CompletedWithViolations"
    assert (data["endpoint"], data["schedule"], data["monitor"]) == ("my-endpoint", "hourly", "data-quality")
    assert data["window"] == summary["window"] == {"start_time": "2026-11-20T10:00:00Z",
                                                   "end_time": "2026-11-20T11:00:00Z"}
    assert data["counts"] == {"files_read": 1, "records": 4, "rejected": 0, "skipped": 0, "violations": 2}
    assert data["violations_by_check"] == summary["violations_by_check"]
    assert data["report_url"] == str(_out(runs["root"], 10) / "report.html")  # no report_url: the report file
    assert (data["violations_total"], data["violations_omitted"]) == (2, 0)
    assert summary["deliveries"]["webhook"] == {"status": "sent", "http_status": 200, "attempts": 3,
                                                "webhook_id": request.headers["webhook-id"]}


def test_a_webhook_that_never_answers_fails_the_delivery_not_the_run(runs):
    later = runs["webhook"].received[runs["counts"]["webhook"]:]
    assert len(later) == 1  # notify_max_retries 0: one attempt, then given up
    summary = _summary(runs, 11)
    assert summary["status"] == runs["second"].status == "Completed"
    record = summary["deliveries"]["webhook"]
    assert record["status"] == "failed" and record["attempts"] == 1
    assert record["error"] == (f"webhook_url {runs['webhook'].url} did not answer within 0.5 s (after 1 attempt)")
    folder = _out(runs["root"], 11)
    assert {"statistics.json", "constraint_violations.json", "run_summary.json", "report.html"} <= {
        p.name for p in folder.iterdir()}
    assert json.loads((folder / "constraint_violations.json").read_text()) == {"violations": []}
    # the other channels of the same run were delivered
    assert summary["deliveries"]["slack"]["status"] == "sent"
    assert summary["deliveries"]["pagerduty"]["status"] == "sent"


# ---------------------------------------------------------------- Slack


def test_slack_gets_text_and_valid_block_kit(runs):
    received = runs["slack"].received
    assert len(received) == 2  # hour 10 (violations) and hour 11 (notify_on always)
    assert {r.path for r in received} == {SLACK_PATH}
    first, second = (r.json() for r in received)
    for message in (first, second):
        check_block_kit(message)
    header = first["blocks"][0]["text"]["text"]
    assert header == ":warning: CompletedWithViolations: data-quality on my-endpoint / hourly"
    sections = [b["text"]["text"] for b in first["blocks"] if b["type"] == "section" and "text" in b]
    assert sections == [
        "*data_type_check* on `a` — value 0.75, threshold 1\n" + _violations_file(runs, 10)[0]["description"],
        "*completeness_check* on `b` — value 0.75, threshold 1\n" + _violations_file(runs, 10)[1]["description"]]
    fields = [f["text"] for f in first["blocks"][1]["fields"]]
    assert "*Window*\n2026-11-20T10:00:00Z to 2026-11-20T11:00:00Z" in fields
    assert "*Records*\n4 analysed, 0 rejected, 0 skipped" in fields and "*Violations*\n2" in fields
    assert first["text"].startswith("data-quality CompletedWithViolations: 2 violations on my-endpoint / hourly")
    assert second["blocks"][0]["text"]["text"] == ":white_check_mark: Completed: data-quality on my-endpoint / hourly"
    assert _summary(runs, 10)["deliveries"]["slack"] == {"status": "sent", "http_status": 200, "attempts": 1}


# ---------------------------------------------------------------- PagerDuty


def test_pagerduty_triggers_per_violation_then_resolves_when_clean(runs):
    events = [r.json() for r in runs["pagerduty"].received]
    assert {r.path for r in runs["pagerduty"].received} == {"/v2/enqueue"}
    triggers, resolves = events[:runs["counts"]["pagerduty"]], events[runs["counts"]["pagerduty"]:]
    keys = ["my-endpoint/hourly/data_type_check/a", "my-endpoint/hourly/completeness_check/b"]
    assert [e["dedup_key"] for e in triggers] == keys
    written = _violations_file(runs, 10)
    expected = _expected_measurements()
    for event, violation in zip(triggers, written, strict=True):
        assert event["routing_key"] == ROUTING_KEY and event["event_action"] == "trigger"
        p = event["payload"]
        check, feature = violation["constraint_check_type"], violation["feature_name"]
        assert (p["source"], p["group"], p["class"], p["component"], p["severity"]) == (
            "my-endpoint", "hourly", check, feature, "error")
        value, threshold = expected[(check, feature)]
        assert p["summary"] == (f"{check} on {feature}: value {value:.6g}, threshold {threshold:.6g} "
                                "(my-endpoint / hourly, window 2026-11-20T10:00:00Z to 2026-11-20T11:00:00Z)")
        assert len(p["summary"]) <= 1024 and p["timestamp"].endswith("Z")
        details = p["custom_details"]
        assert {k: details["violation"][k] for k in violation} == violation
        assert details["run_id"] == runs["first"].run_id and details["status"] == "CompletedWithViolations"
        assert details["report"] == str(_out(runs["root"], 10) / "report.html")
        assert event["client"] == "spark-model-monitor"
    assert resolves == [{"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": k}
                        for k in sorted(keys)]  # the open keys, as recorded (sorted)
    first, second = _summary(runs, 10)["deliveries"]["pagerduty"], _summary(runs, 11)["deliveries"]["pagerduty"]
    assert first == {"status": "sent", "triggered": 2, "resolved": 0, "failed": 0, "attempts": 2,
                     "open": sorted(keys), "previous_run": None}
    assert second == {"status": "sent", "triggered": 0, "resolved": 2, "failed": 0, "attempts": 2, "open": [],
                      "previous_run": str(_out(runs["root"], 10))}


# ---------------------------------------------------------------- SNS (moto server)


def test_sns_http_subscription_gets_our_message_and_sqs_filters_on_status(runs):
    received = runs["sns_http"].received
    assert len(received) == 2  # hour 10, and hour 11 with notify_on always
    envelope = json.loads(received[0].body)
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == runs["topic"]
    webhook_body = runs["webhook"].received[0].body
    assert json.loads(envelope["Message"]) == json.loads(webhook_body)  # the one notification of the run
    title = ("data-quality CompletedWithViolations: 2 violations on my-endpoint / hourly, window "
             "2026-11-20T10:00:00Z to 2026-11-20T11:00:00Z")
    assert envelope["Subject"] == title[:96] + "..."  # SNS: fewer than 100 characters
    assert len(envelope["Subject"]) <= 99 and envelope["Subject"].isascii()
    assert json.loads(json.loads(received[1].body)["Message"])["data"]["status"] == "Completed"
    record = _summary(runs, 10)["deliveries"]["sns"]
    assert record["status"] == "sent" and record["topic_arn"] == runs["topic"] and record["attempts"] == 1
    assert record["message_id"] == envelope["MessageId"]
    # the SQS subscription's filter policy keeps the run with violations only
    assert len(runs["sqs"]) == 1
    queued = json.loads(runs["sqs"][0]["Body"])
    assert json.loads(queued["Message"])["data"]["run_id"] == runs["first"].run_id
    assert {k: v["Value"] for k, v in queued["MessageAttributes"].items()} == {
        "status": "CompletedWithViolations", "monitor": "data-quality", "endpoint": "my-endpoint",
        "schedule": "hourly", "violations": "2"}


# ---------------------------------------------------------------- secrets


def test_no_secret_in_outputs_or_log(runs):
    files = [p for p in (runs["root"] / "out").rglob("*") if p.is_file()]
    assert len(files) >= 8
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        for secret in SECRETS:
            assert secret not in text, (path, secret)
    log = "\n".join(runs["log"])
    assert "pagerduty: 2 triggered, 0 resolved" in log and "webhook: not delivered" in log
    for secret in SECRETS:
        assert secret not in log


def test_webhook_without_its_secret_is_refused_before_the_run(tmp_path, monkeypatch):
    monkeypatch.delenv("MODEL_MONITOR_WEBHOOK_SECRET", raising=False)
    config = {"dataset_source": str(tmp_path), "dataset_format": FORMAT, "output_path": str(tmp_path / "out"),
              "baseline_constraints": str(tmp_path / "c.json"), "webhook_url": "http://127.0.0.1:9/hook"}
    (tmp_path / "c.json").write_text(json.dumps(simple_constraints(["a"])))
    with pytest.raises(ConfigError, match=r"^webhook_url is set but MODEL_MONITOR_WEBHOOK_SECRET is not: set "):
        run_job("data-quality", config)
    monkeypatch.setenv("MODEL_MONITOR_WEBHOOK_SECRET", "not-a-whsec-secret-value")
    with pytest.raises(ConfigError) as e:
        run_job("data-quality", config)
    assert str(e.value).startswith("MODEL_MONITOR_WEBHOOK_SECRET does not start with whsec_: ")
    assert "not-a-whsec-secret-value" not in str(e.value)
    monkeypatch.setenv("MODEL_MONITOR_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("MODEL_MONITOR_SLACK_WEBHOOK_URL", "hooks.slack.com/services/T0SECRET")
    with pytest.raises(ConfigError) as e:
        run_job("data-quality", config)
    assert str(e.value) == "MODEL_MONITOR_SLACK_WEBHOOK_URL must be an http:// or https:// URL"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_previous_run_of_an_s3_schedule(aws_server):
    """PagerDuty's previous run in s3:// hour folders (moto): listed level by level, the latest whole run before
    this hour, a later one marking a backfill; its run_summary.json read back."""
    from monitor_lib.sinks.notify import previous

    s3 = aws_server.client("s3")
    s3.create_bucket(Bucket="notify-history")
    summary = {"deliveries": {"pagerduty": {"status": "sent", "open": ["ep/s/data_type_check/a"]}}}
    for hour, name in (("2026/11/19/22", "run_summary.json"), ("2026/11/20/08", "run_summary.json"),
                       ("2026/11/20/09", "_INCOMPLETE"), ("2026/11/20/09", "run_summary.json"),
                       ("2026/11/20/13", "constraint_violations.json")):
        s3.put_object(Bucket="notify-history", Key=f"out/ep/s/{hour}/{name}", Body=json.dumps(summary).encode())
    found = previous.neighbours("s3://notify-history/out/ep/s/2026/11/20/10")
    assert found == previous.Neighbours("s3://notify-history/out/ep/s/2026/11/20/08",
                                        "s3://notify-history/out/ep/s/2026/11/20/13")
    assert previous.Storage.of(found.previous).summary(found.previous) == summary
    assert previous.neighbours("s3://notify-history/out/ep/s/2026/11/20/14") == previous.Neighbours(
        "s3://notify-history/out/ep/s/2026/11/20/13", None)
    missing = "s3://notify-history/out/ep/s/2026/11/20/07"
    assert previous.Storage.of(missing).summary(missing) == {}  # no summary there: no keys


def test_a_run_that_raises_sends_a_failed_notification(spark, tmp_path, monkeypatch):
    """The phase raises (malformed baseline constraints): the run fails as before, nothing is published, and the
    webhook hears of it (status Failed, the error's line), as notify_on violations asks for failed runs."""
    from monitor_lib.errors import MonitorError

    receiver = start_receiver()
    monkeypatch.setenv("MODEL_MONITOR_WEBHOOK_SECRET", SECRET)
    constraints = tmp_path / "constraints.json"
    constraints.write_text('{"version": 0.0, "features": "not a list"}')
    out = _out(tmp_path, 10)
    try:
        with pytest.raises(MonitorError) as raised:
            run_job("data-quality", {
                "dataset_source": str(_capture(tmp_path / "capture", 10, HOUR_11)), "dataset_format": FORMAT,
                "output_path": str(out), "baseline_constraints": str(constraints),
                "start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z",
                "sagemaker_endpoint_name": "my-endpoint", "sagemaker_monitoring_schedule_name": "hourly",
                "webhook_url": receiver.url + "/hook"}, spark=spark)
    finally:
        receiver.stop()
    assert len(receiver.received) == 1
    request = receiver.received[0]
    data = Webhook(SECRET).verify(request.body, request.headers)["data"]
    assert request.headers["webhook-id"].endswith("_failed")
    reason = f"{type(raised.value).__name__}: {raised.value}"
    assert (data["status"], data["failure_reason"], data["message"]) == ("Failed", reason, f"Failed: {reason}")
    assert (data["endpoint"], data["schedule"], data["window"]) == (
        "my-endpoint", "hourly", {"start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"})
    assert data["violations"] == [] and data["output"] == str(out)
    assert not out.exists()


def test_sns_failure_is_recorded_not_raised(aws_server):
    """A topic that does not exist (moto answers NotFound): deliveries.sns failed, with the code, nothing raised."""
    from datetime import UTC, datetime

    from monitor_lib.formats.violations import Violation
    from monitor_lib.monitors.base import RunOutcome
    from monitor_lib.sinks.base import SinkContext
    from monitor_lib.sinks.notify import sns

    arn = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    params = type("P", (), {"sns_topic_arn": arn, "notify_on": "violations", "report_url": None,
                            "notify_timeout_seconds": 5.0, "notify_max_retries": 1})()
    outcome = RunOutcome("data-quality", "monitoring", "data_quality_monitoring", status="CompletedWithViolations",
                         start_time=datetime(2026, 11, 20, 10, tzinfo=UTC), run_id="r1", output_path="/out",
                         violations=[Violation("a", "data_type_check", "d", value=0.5, threshold=1.0)])
    sns.SINK.write(SinkContext(None, None, params, outcome, "/out", lambda p: p, run_id="r1"))
    record = outcome.details["deliveries"]["sns"]
    assert record["status"] == "failed" and record["topic_arn"] == arn and record["attempts"] == 1
    assert record["error"].startswith(f"SNS publish to {arn} failed: NotFound: ")
