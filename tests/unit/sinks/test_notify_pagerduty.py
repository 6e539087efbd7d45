"""PagerDuty without Spark: dedup keys, what a run triggers and resolves (clean, violations, NoData, Failed),
the previous run of a schedule found in its hour folders, the sink against a receiver that never answers;
the alert settings' errors (never showing a secret)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from receivers import start_receiver

from monitor_lib.errors import ConfigError
from monitor_lib.formats.violations import Violation
from monitor_lib.monitors.base import RunOutcome
from monitor_lib.sinks.base import SinkContext
from monitor_lib.sinks.notify import message, pagerduty, previous, settings

NOW = datetime(2026, 11, 20, 11, 5, tzinfo=UTC)
KEY = "routingkeySECRET0000000000000032"


def outcome(violations=(), status="CompletedWithViolations", output="/o/ep/s/2026/11/20/10", **kw) -> RunOutcome:
    return RunOutcome("data-quality", "monitoring", "data_quality_monitoring", status=status,
                      start_time=datetime(2026, 11, 20, 10, tzinfo=UTC),
                      end_time=datetime(2026, 11, 20, 11, tzinfo=UTC), endpoint="ep", schedule="s",
                      violations=list(violations), output_path=output, run_id="r1", **kw)


def v(feature: str, check: str = "baseline_drift_check") -> Violation:
    return Violation(feature, check, f"drift of {feature}", value=0.3, threshold=0.1)


def keys(events) -> list[str]:
    return [e["dedup_key"] for e in events]


def test_dedup_key_is_schedule_check_feature_and_at_most_255():
    assert pagerduty.dedup_key("ep", "s", "completeness_check", "age") == "ep/s/completeness_check/age"
    assert pagerduty.dedup_key(None, None, "GreaterThanThreshold", "mae") == "-/-/GreaterThanThreshold/mae"
    a, b = (pagerduty.dedup_key("ep", "s", "data_type_check", "x" * 300 + tail) for tail in "ab")
    assert len(a) == len(b) == 255 and a != b and a.startswith("ep/s/data_type_check/xxx")


def plan(o: RunOutcome, open_before: list[str]) -> pagerduty.Plan:
    n = message.build(o, None, NOW)
    return pagerduty.plan(KEY, n, message.violation_entries(o.violations), open_before)


def test_violations_trigger_and_the_previous_keys_now_clean_resolve():
    p = plan(outcome([v("a"), v("b"), v("a")]), ["ep/s/baseline_drift_check/a", "ep/s/completeness_check/c"])
    assert keys(p.triggers) == ["ep/s/baseline_drift_check/a", "ep/s/baseline_drift_check/b"]
    assert p.resolves == ["ep/s/completeness_check/c"] and p.carried == []
    event = p.triggers[0]
    assert event["routing_key"] == KEY and event["event_action"] == "trigger"
    assert event["payload"]["summary"] == ("baseline_drift_check on a: value 0.3, threshold 0.1 (ep / s, window "
                                           "2026-11-20T10:00:00Z to 2026-11-20T11:00:00Z)")
    assert "links" not in event  # a local report is no link
    clean = plan(outcome([], status="Completed"), ["ep/s/baseline_drift_check/a", "ep/s/run_status/Failed"])
    assert clean.triggers == [] and clean.resolves == ["ep/s/baseline_drift_check/a", "ep/s/run_status/Failed"]


def test_failed_triggers_its_own_alert_and_no_data_resolves_only_that():
    failed = plan(outcome([], status="Failed", failure_reason="every record rejected"), ["ep/s/data_type_check/a"])
    assert keys(failed.triggers) == ["ep/s/run_status/Failed"] and failed.resolves == []
    assert failed.carried == ["ep/s/data_type_check/a"]
    assert failed.triggers[0]["payload"]["severity"] == "critical"
    no_data = plan(outcome([], status="NoData"), ["ep/s/data_type_check/a", "ep/s/run_status/Failed"])
    assert no_data.triggers == [] and no_data.resolves == ["ep/s/run_status/Failed"]
    assert no_data.carried == ["ep/s/data_type_check/a"]


def test_triggers_are_capped():
    p = plan(outcome([v(f"f{i}") for i in range(80)]), [])
    assert len(p.triggers) == pagerduty.MAX_TRIGGERS and p.omitted == 80 - pagerduty.MAX_TRIGGERS


def test_links_to_an_http_report():
    n = message.build(outcome([v("a")]), "https://reports.example/run/10", NOW)
    event = pagerduty.trigger(KEY, n, message.violation_entries([v("a")])[0])
    assert event["links"] == [{"href": "https://reports.example/run/10", "text": "Model monitor report"}]
    assert event["client_url"] == "https://reports.example/run/10"


# ---------------------------------------------------------------- the previous run of a schedule


def _run(root: Path, hour: str, *names: str, summary: dict | None = None) -> Path:
    folder = root.joinpath(*hour.split("/"))
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(json.dumps(summary or {}) if name == "run_summary.json" else "{}")
    return folder


def test_previous_and_later_runs_in_hour_folders(tmp_path):
    root = tmp_path / "ep" / "s"
    _run(root, "2025/12/31/23", "run_summary.json")
    older = _run(root, "2026/11/19/23", "run_summary.json")
    _run(root, "2026/11/20/09", "run_summary.json", "_INCOMPLETE")  # killed while published: not a run
    _run(root, "2026/11/20/08", "statistics.json")  # no run here
    (root / "2026" / "11" / "20" / ".10.staging").mkdir()
    current = root / "2026" / "11" / "20" / "10"
    found = previous.neighbours(str(current))
    assert found == previous.Neighbours(str(older), None)
    later = _run(root, "2027/01/01/00", "constraint_violations.json")  # the real container's folder counts
    assert previous.neighbours(str(current)) == previous.Neighbours(str(older), str(later))
    assert previous.neighbours(str(tmp_path / "custom-output")) is None
    assert previous.schedule_folder("s3://b/out/ep/s/2026/11/20/10/") == ("s3://b/out/ep/s", ("2026", "11", "20", "10"))


def test_the_sink_reads_the_open_keys_of_the_previous_run_and_gives_up_on_a_silent_receiver(tmp_path, monkeypatch):
    root = tmp_path / "ep" / "s"
    _run(root, "2026/11/20/09", "run_summary.json", summary={"deliveries": {"pagerduty": {
        "status": "sent", "open": ["ep/s/baseline_drift_check/z"]}}})
    silent = start_receiver(hang=True)
    try:
        monkeypatch.setenv("MODEL_MONITOR_PAGERDUTY_URL", silent.url + "/v2/enqueue")
        params = type("P", (), {"pagerduty_routing_key": KEY, "notify_on": "violations", "report_url": None,
                                "notify_timeout_seconds": 0.3, "notify_max_retries": 0})()
        o = outcome([v("a"), v("b")], output=str(root / "2026" / "11" / "20" / "10"))
        ctx = SinkContext(None, None, params, o, o.output_path, lambda p: p, run_id="r1")
        pagerduty.SINK.write(ctx)
    finally:
        silent.stop()
    assert len(silent.received) == 1  # no answer: the other events are not tried
    record = o.details["deliveries"]["pagerduty"]
    assert record == {"status": "failed", "triggered": 0, "resolved": 0, "failed": 3, "attempts": 1,
                      "open": ["ep/s/baseline_drift_check/a", "ep/s/baseline_drift_check/b",
                               "ep/s/baseline_drift_check/z"],
                      "previous_run": str(root / "2026" / "11" / "20" / "09"),
                      "error": f"PagerDuty Events API {silent.url} did not answer within 0.3 s (after 1 attempt)"}
    assert KEY not in json.dumps(record)


# ---------------------------------------------------------------- settings


def test_settings_errors_name_the_parameter_never_the_secret(monkeypatch):
    monkeypatch.setenv("MODEL_MONITOR_WEBHOOK_SECRET", "whsec_not*base64SECRET")
    with pytest.raises(ConfigError) as e:
        settings.webhook_secret()
    assert str(e.value).startswith("MODEL_MONITOR_WEBHOOK_SECRET is not whsec_ followed by base64: set ")
    assert "SECRET" not in str(e.value).replace("MODEL_MONITOR_WEBHOOK_SECRET", "")
    monkeypatch.setenv("MODEL_MONITOR_WEBHOOK_SECRET", "whsec_c2VjcmV0IGtleSBvZiAyNCBieXRlcyEhIQ==")
    assert settings.webhook_secret() == b"secret key of 24 bytes!!!"
    monkeypatch.setenv("MODEL_MONITOR_SLACK_WEBHOOK_URL", "hooks.slack.com/services/SECRET")
    with pytest.raises(ConfigError, match=r"^MODEL_MONITOR_SLACK_WEBHOOK_URL must be an http:// or https:// URL$"):
        settings.slack_url(object())
    assert settings.sns_region("arn:aws:sns:eu-west-1:123456789012:alerts") == "eu-west-1"


@pytest.mark.parametrize(("given", "error"), [
    ({"sns_topic_arn": "my-topic"}, "sns_topic_arn 'my-topic' is not an SNS topic ARN: expected "
                                    "arn:aws:sns:<region>:<account id>:<topic name>"),
    ({"slack_webhook_url": "ftp://hooks.slack.com/services/SECRET"},
     "slack_webhook_url must be an http:// or https:// URL"),
    ({"webhook_url": "hooks.example.com/x"}, "webhook_url must be an http:// or https:// URL"),
    ({"notify_timeout_seconds": "0"}, "notify_timeout_seconds must be a positive number of seconds, got 0.0")])
def test_alert_parameters_are_checked_when_read(given, error, tmp_path):
    """Before any run: the parameters' shapes, in one line naming the parameter (a secret never shown)."""
    from monitor_lib.monitors.registry import get
    from monitor_lib.params import from_params

    params_class = get("data-quality").phase("monitoring").params
    (tmp_path / "constraints.json").write_text("{}")
    base = {"dataset_source": "/data", "dataset_format": '{"csv": {}}', "output_path": "/out",
            "baseline_constraints": str(tmp_path / "constraints.json")}
    with pytest.raises(ConfigError) as e:
        from_params(params_class, {**base, **given}, "parameters")
    assert str(e.value) == error + " (parameters)"
