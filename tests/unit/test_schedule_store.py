"""Execution records and their claims, without Spark: the local store's create-if-absent and compare-and-swap,
the record's JSON, stale detection with an injected clock (and a really dead pid), statuses from outcomes, the
flags a remote execution runs with (checked by the parser of `model-monitor monitor` itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor_lib.errors import ConfigError
from monitor_lib.formats.violations import Violation
from monitor_lib.monitors.base import RunOutcome
from monitor_lib.schedule import tick
from monitor_lib.schedule.model import ExecutionRecord
from monitor_lib.schedule.spec import schedule_from_dict
from monitor_lib.schedule.store import ExecutionConflictError, LocalExecutionStore, open_store, record_name

T = datetime(2026, 11, 20, 11, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def make_spec(tmp_path, **overrides):
    constraints = tmp_path / "constraints.json"
    constraints.write_text(json.dumps({"version": 0.0, "features": [{"name": "a", "inferred_type": "Fractional"}]}))
    doc = {"name": "credit-hourly", "monitor_type": "data-quality", "cron": "0 * * * *",
           "start_date": "2026-11-20T11:00:00Z", "output_root": str(tmp_path / "runs"),
           "state_store": str(tmp_path / "state"), "max_retries": 1,
           "params": {"dataset_source": str(tmp_path / "capture"), "dataset_format": "capture",
                      "baseline_constraints": str(constraints), "sagemaker_endpoint_name": "credit"}}
    doc.update(overrides)
    return schedule_from_dict(doc, "schedule test.yaml")


def me(pid: int = 4242, host: str = "host-a") -> tick.Owner:
    return tick.Owner(host, pid, "abc123")


# ---------------------------------------------------------------- store


def test_claim_is_create_if_absent_and_the_record_round_trips(tmp_path):
    spec = make_spec(tmp_path)
    store = open_store(spec)
    assert isinstance(store, LocalExecutionStore)
    assert store.location == str(tmp_path / "state" / "credit-hourly" / "executions")
    first = tick.new_record(spec, T, me(), NOW)
    assert store.claim(first) is True
    assert store.claim(replace(first, owner="host-b:1:zzz")) is False  # the second claim loses
    path = tmp_path / "state" / "credit-hourly" / "executions" / "20261120T110000Z.json"
    assert record_name(T) == path.name
    doc = json.loads(path.read_text())
    assert doc == {
        "MonitoringScheduleName": "credit-hourly", "ScheduledTime": "2026-11-20T11:00:00Z",
        "MonitoringType": "data-quality", "MonitoringExecutionStatus": "InProgress",
        "CreationTime": "2026-11-20T14:30:00Z", "LastModifiedTime": "2026-11-20T14:30:00Z", "FailureReason": "",
        "ProcessingJobArn": "", "EmrStepId": "", "EndpointName": "credit", "WindowStart": "2026-11-20T10:00:00Z",
        "WindowEnd": "2026-11-20T11:00:00Z", "OutputUri": str(tmp_path / "runs" / "credit" / "credit-hourly" / "2026"
                                                               / "11" / "20" / "11"),
        "Attempts": 1, "Owner": "host-a:4242:abc123", "RunId": "", "Extra": {}}
    got = store.get(T)
    assert got == first and ExecutionRecord.from_json(doc) == first
    assert store.list() == [first] and store.get(T + timedelta(hours=1)) is None
    # no temporary files left behind, only the record and the lock
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_replace_is_compare_and_swap_and_update_raises_on_a_lost_race(tmp_path):
    spec = make_spec(tmp_path)
    claimant = open_store(spec)
    record = tick.new_record(spec, T, me(), NOW)
    assert claimant.claim(record)
    # two other ticks read the record, both decide it is stale: only the first replace wins
    a, b = open_store(spec), open_store(spec)
    seen_a, seen_b = a.get(T), b.get(T)
    failed_a = replace(seen_a, status="Failed", failure_reason="by a")
    failed_b = replace(seen_b, status="Failed", failure_reason="by b")
    assert a.replace(seen_a, failed_a) is True
    assert b.replace(seen_b, failed_b) is False
    assert claimant.get(T).failure_reason == "by a"
    # the claimant's own write now loses: it holds the version it claimed
    record.status = "Completed"
    with pytest.raises(ExecutionConflictError, match=r"changed by another tick while this one ran it: it is now "
                                                     r"Failed \(owner host-a:4242:abc123\)"):
        claimant.update(record)
    assert open_store(spec).get(T).status == "Failed"
    # a record updated by its owner keeps updating (the version follows each write)
    mine = a.get(T)
    mine.status = "InProgress"
    a.update(mine)
    mine.status = "Completed"
    a.update(mine)
    assert open_store(spec).get(T).status == "Completed"


def test_an_unreadable_record_names_the_file_and_the_fix(tmp_path):
    spec = make_spec(tmp_path)
    folder = tmp_path / "state" / "credit-hourly" / "executions"
    folder.mkdir(parents=True)
    (folder / record_name(T)).write_text("{not json")
    with pytest.raises(Exception, match=r"execution record .*20261120T110000Z.json is not valid JSON .*delete it to "
                                        r"run that window again"):
        open_store(spec).list()


# ---------------------------------------------------------------- claims and retries


def test_claim_window_retries_failed_records_up_to_max_retries(tmp_path):
    spec = make_spec(tmp_path)  # max_retries 1
    store = open_store(spec)
    first = tick.claim_window(spec, store, T, now=NOW, owner=me())
    assert first.attempts == 1 and first.status == "InProgress"
    assert tick.claim_window(spec, store, T, now=NOW, owner=me(5)) is None  # running: nobody else claims it
    first.status, first.failure_reason = "Failed", "boom"
    store.update(first)
    second = tick.claim_window(spec, store, T, now=NOW + timedelta(minutes=5), owner=me(6))
    assert (second.attempts, second.owner, second.extra) == (2, "host-a:6:abc123", {"previous_failure": "boom"})
    assert second.creation_time == NOW and second.last_modified_time == NOW + timedelta(minutes=5)
    second.status = "Failed"
    store.update(second)
    assert tick.claim_window(spec, store, T, now=NOW, owner=me()) is None  # attempts 2 > max_retries 1
    third = tick.claim_window(spec, store, T, reprocess="failed", now=NOW, owner=me())
    assert third.attempts == 3
    third.status = "Completed"
    store.update(third)
    assert tick.claim_window(spec, store, T, reprocess="failed", now=NOW, owner=me()) is None
    assert tick.claim_window(spec, store, T, reprocess="all", now=NOW, owner=me()).attempts == 4


def test_retryable_rules():
    rec = ExecutionRecord("s", T, "data-quality", status="Failed", attempts=3)
    assert not tick.retryable(rec, 2) and tick.retryable(rec, 3) and tick.retryable(rec, 0, "failed")
    assert tick.retryable(replace(rec, status="Stopped", attempts=1), 1)
    for status in ("Completed", "CompletedWithViolations", "NoData"):
        assert not tick.retryable(replace(rec, status=status), 5, "failed")
        assert tick.retryable(replace(rec, status=status), 5, "all")
    for status in ("InProgress", "Pending"):
        assert not tick.retryable(replace(rec, status=status), 5, "all")


# ---------------------------------------------------------------- stale records


def test_stale_detection_with_an_injected_clock_and_a_dead_pid(tmp_path):
    hour = timedelta(hours=1)
    rec = ExecutionRecord("s", T, "data-quality", status="InProgress", creation_time=NOW, last_modified_time=NOW,
                          owner="host-a:4242:abc123", attempts=1)
    alive, dead = (lambda o: True), (lambda o: False)
    assert tick.stale_reason(rec, NOW + timedelta(minutes=5), hour, "host-a", alive) is None
    assert tick.stale_reason(rec, NOW + timedelta(minutes=5), hour, "host-a", dead) == (
        "the tick host-a:4242:abc123 that ran it ended without recording a result (killed?)")
    # another host's owner cannot be asked: only max_runtime tells
    assert tick.stale_reason(rec, NOW + timedelta(minutes=59), hour, "host-b", dead) is None
    assert tick.stale_reason(rec, NOW + timedelta(minutes=61), hour, "host-b", dead) == (
        "the tick host-a:4242:abc123 that ran it recorded no result within max_runtime PT1H (last change "
        "2026-11-20T14:30:00Z)")
    # final records and submitted remote runs are never stale (the latter are followed through their job)
    assert tick.stale_reason(replace(rec, status="Failed"), NOW + 9 * hour, hour, "host-a", dead) is None
    assert tick.stale_reason(replace(rec, emr_step_id="j-1/s-1"), NOW + 9 * hour, hour, "host-a", dead) is None
    # a real process that has ended, on this host: the default liveness check (signal 0 on its pid)
    import socket

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    gone = replace(rec, owner=f"{socket.gethostname()}:{child.pid}:t1")
    assert tick.stale_reason(gone, NOW, hour, socket.gethostname()) == (
        f"the tick {socket.gethostname()}:{child.pid}:t1 that ran it ended without recording a result (killed?)")
    mine = tick.Owner.me()
    assert tick.stale_reason(replace(rec, owner=mine.text, extra={"owner_started": mine.started}), NOW, hour,
                             socket.gethostname()) is None
    # a live pid that is another process now (its start time differs): stale
    reused = replace(rec, owner=mine.text, extra={"owner_started": "1"})
    assert "ended without recording a result" in tick.stale_reason(reused, NOW, hour, socket.gethostname())


def test_owner_text_round_trips():
    owner = tick.Owner("ip-10-0-0-1.ec2.internal", 77, "deadbeef", "123")
    assert tick.Owner.parse(owner.text, "123") == owner
    assert tick.Owner.parse("garbage") is None


# ---------------------------------------------------------------- statuses


def outcome(status: str, **kw) -> RunOutcome:
    return RunOutcome(monitor="data-quality", phase="monitoring", job="data_quality_monitoring", status=status, **kw)


def test_status_from_outcomes():
    v = Violation(feature_name="a", constraint_check_type="data_type_check", description="d")
    assert tick.status_from_outcome(outcome("Completed", message="Completed: ok.", records=5)) == (
        "Completed", "", {"violations": 0, "message": "Completed: ok.", "records": 5})
    assert tick.status_from_outcome(outcome("CompletedWithViolations", violations=[v, v], records=9))[:2] == (
        "CompletedWithViolations", "")
    assert tick.status_from_outcome(outcome("CompletedWithViolations", violations=[v, v]))[2]["violations"] == 2
    assert tick.status_from_outcome(outcome("NoData", no_data_reason="no files"))[::2] == (
        "NoData", {"violations": 0, "message": "", "records": 0, "no_data_reason": "no files"})
    failed = outcome("Failed", failure_reason="30 of 30 record(s)\nrejected", rejected={"malformed_json": 30})
    assert tick.status_from_outcome(failed) == ("Failed", "30 of 30 record(s) rejected", {
        "violations": 0, "message": "", "records": 0, "records_rejected": {"malformed_json": 30}})
    # what a remote run's run_summary.json says
    assert tick.status_from_summary({"status": "CompletedWithViolations", "violations": 3, "message": "m",
                                     "records": 10}) == ("CompletedWithViolations", "", {
                                         "violations": 3, "message": "m", "records": 10})
    assert tick.status_from_summary({"status": "Failed", "failure_reason": "all rejected"})[:2] == (
        "Failed", "all rejected")
    # errors: ours are user-facing, anything else is named as a bug; never a traceback
    assert tick.failure_text(ConfigError("baseline_constraints x.json does not exist")) == (
        "baseline_constraints x.json does not exist")
    assert tick.failure_text(KeyError("k")) == "internal error (KeyError: 'k')"


# ---------------------------------------------------------------- remote executions


def test_job_flags_parse_back_as_the_execution_params(tmp_path):
    """The flags a remote step / job runs: `model-monitor monitor`'s own parser reads them back into exactly
    the parameters of the execution."""
    spec = make_spec(tmp_path, params={
        "dataset_source": "s3://data/capture/credit", "dataset_format": "capture",
        "baseline_constraints": "s3://data/baseline/constraints.json", "sagemaker_endpoint_name": "credit",
        "publish_cloudwatch_metrics": "Enabled", "html_report": "Disabled", "max_rejected_fraction": 0.2},
        output_root="s3://out/runs")
    flags = tick.job_flags(spec, T)
    assert flags[:2] == ["--type", "data-quality"]
    assert "--no-html-report" in flags and "--publish-cloudwatch-metrics" in flags
    job = tick.job_spec(spec, T)
    assert (job.monitor.name, job.phase.name) == ("data-quality", "monitoring")
    expected = dict(spec.run_params(T))
    assert {k: str(v) for k, v in job.params.items() if k in expected} == {k: str(v) for k, v in expected.items()}
    assert job.params["output_path"] == "s3://out/runs/credit/credit-hourly/2026/11/20/11"
    from monitor_lib.params import from_params

    typed = from_params(job.phase.params, job.params, "flags")
    assert (typed.start_time, typed.end_time) == (datetime(2026, 11, 20, 10, tzinfo=UTC), T)
    assert typed == spec.typed_params(T)


def test_target_options_are_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"schedule test.yaml: target emr needs target_options cluster_id, code_uri"):
        tick.check_target_options(make_spec(tmp_path, target="emr"))
    with pytest.raises(ConfigError, match=r"target_options image do\(es\) not apply to target sagemaker; it reads "
                                          r"image_uri, role_arn"):
        tick.check_target_options(make_spec(tmp_path, target="sagemaker", target_options={"image": "x"}))


def test_processing_job_names_are_unique_per_attempt(tmp_path):
    spec = make_spec(tmp_path, name="a" * 63)
    rec = tick.new_record(spec, T, me(), NOW)
    name = tick.processing_job_name(spec, rec)
    assert len(name) == 63 and name.endswith("-20261120-1100-a1")
    assert tick.processing_job_name(spec, replace(rec, attempts=2)).endswith("-a2")


def test_executions_filters():
    recs = [ExecutionRecord("s", T + timedelta(hours=i), "data-quality", status=s)
            for i, s in enumerate(["Completed", "Failed", "NoData", "Failed"])]
    assert [r.status for r in tick.filter_records(recs, ["Failed"])] == ["Failed", "Failed"]
    got = tick.filter_records(recs, None, T + timedelta(hours=1), T + timedelta(hours=3))
    assert [r.scheduled_time.hour for r in got] == [12, 13]  # --from inclusive, --to exclusive


def test_negative_offsets_reach_a_remote_job_as_values(tmp_path):
    """`--end-offset -P1D` as two arguments would read as a flag: the flags carry their values after `=`, and the
    job's window is the one the schedule gives (the hour a day before the scheduled time)."""
    spec = make_spec(tmp_path, end_offset="-P1D", start_offset="-P1DT1H")
    assert "--end-offset=-P1D" in tick.job_flags(spec, T) and "--start-offset=-P1DT1H" in tick.job_flags(spec, T)
    from monitor_lib.params import from_params

    job = tick.job_spec(spec, T)
    typed = from_params(job.phase.params, job.params, "flags")
    assert (typed.start_time, typed.end_time) == (datetime(2026, 11, 19, 10, tzinfo=UTC),
                                                  datetime(2026, 11, 19, 11, tzinfo=UTC))
