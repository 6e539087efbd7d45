"""Schedules' time logic, pure (no Spark, the clock injected): cron forms → scheduled times → due windows, SageMaker's
window rule with offsets, grace, start date, retries and reprocessing, daylight-saving days, the schedule file's
errors, and ``--scheduled-time`` in the monitors' parameters (CLI, submit, the SageMaker environment).

Expected times are computed in the tests from first principles (``datetime`` + ``timedelta`` arithmetic, ``zoneinfo``
for local times), never with the functions under test."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from monitor_lib.errors import ConfigError
from monitor_lib.schedule.due import due_times, scheduled_times
from monitor_lib.schedule.model import (
    COMPLETED,
    COMPLETED_WITH_VIOLATIONS,
    FAILED,
    IN_PROGRESS,
    NO_DATA,
    PENDING,
    STOPPED,
    ExecutionRecord,
)
from monitor_lib.schedule.spec import read_schedule, schedule_from_dict
from monitor_lib.schedule.windows import execution_folder, parse_duration, scheduled_hour

REPO = Path(__file__).resolve().parents[2]
H = timedelta(hours=1)
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours(first: datetime, last: datetime, step: timedelta = H) -> list[datetime]:
    """first, first + step, …, last (inclusive)."""
    out, t = [], first
    while t <= last:
        out.append(t)
        t += step
    return out


def spec(**keys):
    doc = {"name": "credit-hourly", "monitor_type": "data-quality", "cron": "cron(0 * ? * * *)",
           "start_date": "2026-11-20T00:00:00Z", "output_root": "/runs", "state_store": "/state",
           "params": {"dataset_source": "capture", "dataset_format": "capture",
                      "baseline_constraints": "baseline/constraints.json", "sagemaker_endpoint_name": "ep"}}
    doc.update(keys)
    return schedule_from_dict({k: v for k, v in doc.items() if v is not None}, "schedule test.yaml")


def record(t: datetime, status: str, attempts: int = 1) -> ExecutionRecord:
    return ExecutionRecord("credit-hourly", t, "data-quality", status=status, attempts=attempts)


# ---------------------------------------------------------------- cron forms → scheduled times → due windows


def test_hourly_sagemaker_cron_gives_every_hour_and_the_hour_before_it():
    s = spec()
    now = utc(2026, 11, 20, 5, 25)  # 05:00 is due at 05:20 (grace 20 min), 06:00 not yet
    due = due_times(s, now, {})
    assert due == hours(utc(2026, 11, 20, 0), utc(2026, 11, 20, 5))
    w = s.window_for(utc(2026, 11, 20, 5))
    assert (w.start, w.end, w.metric_time) == (utc(2026, 11, 20, 4), utc(2026, 11, 20, 5), utc(2026, 11, 20, 4))
    # the execution folder is named by the scheduled hour (SageMaker's), not the window's start
    assert s.output_for(utc(2026, 11, 20, 5)) == "/runs/ep/credit-hourly/2026/11/20/05"
    assert execution_folder("s3://b/out/", None, "s", utc(2026, 1, 2, 3, 59)) == "s3://b/out/s/2026/01/02/03"


@pytest.mark.parametrize("cron", ["cron(0 5 ? * * *)", "0 5 * * *"])
def test_daily_cron_at_hour_5_with_a_day_long_window(cron):
    s = spec(cron=cron, window="P1D", start_date="2026-11-01T00:00:00Z")
    due = due_times(s, utc(2026, 11, 4, 6), {})
    assert due == [utc(2026, 11, d, 5) for d in (1, 2, 3, 4)]
    w = s.window_for(due[-1])
    assert (w.start, w.end) == (utc(2026, 11, 3, 5), utc(2026, 11, 4, 5))


@pytest.mark.parametrize("cron", ["cron(0 1/6 ? * * *)", "0 1/6 * * *"])
def test_every_six_hours_from_1(cron):
    s = spec(cron=cron, window="PT6H")
    due = due_times(s, utc(2026, 11, 21, 7, 20), {})
    assert due == [utc(2026, 11, 20, h) for h in (1, 7, 13, 19)] + [utc(2026, 11, 21, 1), utc(2026, 11, 21, 7)]
    assert s.window_for(utc(2026, 11, 20, 7)).start == utc(2026, 11, 20, 1)


def test_scheduled_times_are_whole_hours_after_and_until():
    s = spec(cron="7 * * * *")  # fires at hh:07; the execution is the hour hh:00
    assert scheduled_times(s, utc(2026, 11, 20, 2), utc(2026, 11, 20, 5)) == hours(utc(2026, 11, 20, 3),
                                                                                  utc(2026, 11, 20, 5))
    assert scheduled_times(s, utc(2026, 11, 20, 5), utc(2026, 11, 20, 5)) == []


@pytest.mark.parametrize("cron", [
    "cron(0/15 * ? * * *)",  # minutes
    "cron(30 * ? * * *)",  # SageMaker's forms start on the hour
    "cron(0 12 * * ? *)",  # the ? in day-of-month
    "cron(0 12 ? * MON-FRI *)",  # days of the week
    "cron(0 12 ? * * 2027)",  # a year
    "rate(1 hour)",
    "0 * * *",  # four fields
    "*/15 * * * *", "0,30 * * * *", "0-59 * * * *", "* * * * *",  # more than once an hour
])
def test_other_cron_forms_are_refused_naming_the_accepted_ones(cron):
    with pytest.raises(ConfigError) as e:
        spec(cron=cron)
    message = str(e.value)
    assert message.startswith("schedule test.yaml: cron ") and repr(cron) in message
    assert "cron(0 * ? * * *)" in message and "cron(0 H ? * * *)" in message and "cron(0 H/N ? * * *)" in message


@pytest.mark.parametrize("cron, what", [("cron(0 24 ? * * *)", "the hour must be 0-23"),
                                        ("cron(0 1/25 ? * * *)", "every 1 to 24 hours"),
                                        ("0 * * * MON-SUN-X", "not a valid cron expression")])
def test_out_of_range_cron_fields_say_why(cron, what):
    with pytest.raises(ConfigError, match=re.escape(what)):
        spec(cron=cron)


# ---------------------------------------------------------------- offsets (SageMaker's rule)


def test_sagemaker_model_quality_offsets_example():
    """DG model-monitor-model-quality-schedule: with -P8D / -P1D 'a job at 2020-01-09T13:00 analyzes data from
    between 2020-01-01T13:00 and 2020-01-08T13:00'."""
    s = spec(start_offset="-P8D", end_offset="-P1D", start_date="2020-01-01T00:00:00Z")
    w = s.window_for(utc(2020, 1, 9, 13))
    assert (w.start, w.end) == (utc(2020, 1, 1, 13), utc(2020, 1, 8, 13))
    params = s.run_params(utc(2020, 1, 9, 13))
    assert {k: params[k] for k in ("scheduled_time", "start_offset", "end_offset")} == {
        "scheduled_time": "2020-01-09T13:00:00Z", "start_offset": "-P8D", "end_offset": "-P1D"}
    assert "start_time" not in params and "end_time" not in params  # the job derives them
    typed = s.typed_params(utc(2020, 1, 9, 13, 40))  # what the execution runs with
    assert (typed.start_time, typed.end_time, typed.metric_time) == (utc(2020, 1, 1, 13), utc(2020, 1, 8, 13),
                                                                     utc(2020, 1, 1, 13))
    assert typed.output_path == "/runs/ep/credit-hourly/2020/01/09/13"


@pytest.mark.parametrize("keys, start, end", [
    ({"end_offset": "-P1D"}, utc(2026, 11, 20, 10), utc(2026, 11, 20, 11)),  # the hour a day late
    ({"end_offset": "-PT1H", "window": "PT2H"}, utc(2026, 11, 21, 8), utc(2026, 11, 21, 10)),
    ({"start_offset": "-PT5H"}, utc(2026, 11, 21, 6), utc(2026, 11, 21, 11)),  # "the five hours that precede"
    ({"window": "P1D"}, utc(2026, 11, 20, 11), utc(2026, 11, 21, 11)),
])
def test_window_and_offsets(keys, start, end):
    w = spec(**keys).window_for(utc(2026, 11, 21, 11))
    assert (w.scheduled_time, w.start, w.end) == (utc(2026, 11, 21, 11), start, end)


@pytest.mark.parametrize("keys, message", [
    ({"end_offset": "P1D"}, "end_offset must be zero or negative"),
    ({"start_offset": "-PT1H", "end_offset": "-PT2H"}, "give an empty window"),
    ({"window": "P32D"}, "at most 31 days"),
    ({"window": "P1M"}, "window P1M: months and years have no fixed length"),
    ({"end_offset": "-P1Y"}, "end_offset -P1Y: months and years"),
    ({"grace": "twenty minutes"}, "grace must be an ISO-8601 duration"),
])
def test_impossible_windows_are_refused_naming_the_key(keys, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as e:
        spec(**keys)
    assert "schedule test.yaml" in str(e.value)


def test_durations():
    assert parse_duration("-P1D", "x") == -timedelta(days=1)
    assert parse_duration("PT1H30M", "x") == timedelta(minutes=90)
    assert parse_duration("P1W", "x") == timedelta(days=7)
    with pytest.raises(ConfigError, match="^end_offset P1M: months and years have no fixed length"):
        parse_duration("P1M", "end_offset")


def test_now_is_truncated_to_the_hour():
    before = datetime.now(UTC)
    t = scheduled_hour("now")
    after = datetime.now(UTC)
    assert t in {before.replace(minute=0, second=0, microsecond=0), after.replace(minute=0, second=0, microsecond=0)}
    assert scheduled_hour("2026-11-20T11:59:59.9+01:00") == utc(2026, 11, 20, 10)
    assert scheduled_hour(" NOW ").minute == 0


# ---------------------------------------------------------------- grace, start date, records


def test_a_window_is_not_due_before_its_grace_has_passed():
    s = spec(grace="PT20M", start_date="2026-11-20T11:00:00Z")
    assert due_times(s, utc(2026, 11, 20, 11, 19, 59), {}) == []
    assert due_times(s, utc(2026, 11, 20, 11, 20), {}) == [utc(2026, 11, 20, 11)]
    s0 = spec(grace="PT0S", start_date="2026-11-20T11:00:00Z")
    assert due_times(s0, utc(2026, 11, 20, 11), {}) == [utc(2026, 11, 20, 11)]


def test_nothing_is_scheduled_before_the_start_date():
    s = spec(start_date="2026-11-20T10:30:00Z")  # not on the hour: the first execution is 11:00
    assert due_times(s, utc(2026, 11, 20, 13, 30), {}) == hours(utc(2026, 11, 20, 11), utc(2026, 11, 20, 13))
    assert scheduled_times(s, utc(2026, 1, 1), utc(2026, 11, 20, 11)) == [utc(2026, 11, 20, 11)]
    assert due_times(s, utc(2026, 11, 20, 10), {}) == []


def test_records_decide_what_is_due():
    s = spec(start_date="2026-11-20T00:00:00Z", max_retries=2)
    t = hours(utc(2026, 11, 20, 0), utc(2026, 11, 20, 11))
    records = {t[0]: record(t[0], COMPLETED), t[1]: record(t[1], COMPLETED_WITH_VIOLATIONS),
               t[2]: record(t[2], NO_DATA), t[3]: record(t[3], IN_PROGRESS), t[4]: record(t[4], PENDING),
               t[5]: record(t[5], FAILED, attempts=1), t[6]: record(t[6], FAILED, attempts=2),
               t[7]: record(t[7], FAILED, attempts=3),  # tried 3 times = 2 retries: given up
               t[8]: record(t[8], STOPPED, attempts=1), t[9]: record(t[9], STOPPED, attempts=3)}
    now = utc(2026, 11, 20, 11, 30)
    assert due_times(s, now, records) == [t[5], t[6], t[8], t[10], t[11]]
    assert due_times(s, now, records, reprocess="failed") == [t[5], t[6], t[7], t[8], t[9], t[10], t[11]]
    assert due_times(s, now, records, reprocess="all") == [x for x in t if x != t[3]]  # never a running one
    no_retries = spec(start_date="2026-11-20T00:00:00Z", max_retries=0)
    assert due_times(no_retries, now, records) == [t[10], t[11]]
    with pytest.raises(ConfigError, match="--reprocess must be one of none, failed, all, got 'completed'"):
        due_times(s, now, records, reprocess="completed")


def test_records_are_matched_by_instant_whatever_their_zone():
    s = spec(start_date="2026-11-20T10:00:00Z")
    local = datetime(2026, 11, 20, 11, tzinfo=BERLIN)  # = 10:00 UTC
    assert due_times(s, utc(2026, 11, 20, 11, 30), {local: record(local, COMPLETED)}) == [utc(2026, 11, 20, 11)]


# ---------------------------------------------------------------- daylight-saving days


def local_day_utc_hours(zone: ZoneInfo, year: int, month: int, day: int) -> list[datetime]:
    """Every UTC whole hour from the local midnight of that day to the next (zoneinfo's arithmetic; both zones
    are whole hours off UTC, so each is a local whole hour too)."""
    start = datetime(year, month, day, tzinfo=zone).astimezone(UTC)
    end = (datetime(year, month, day, tzinfo=zone) + timedelta(days=1)).astimezone(UTC)  # wall-clock + 1 day
    return hours(start, end - H)


@pytest.mark.parametrize("zone, day, n", [
    (BERLIN, (2026, 3, 29), 23),  # CET → CEST: 02:00 does not exist
    (BERLIN, (2026, 10, 25), 25),  # CEST → CET: 02:00 twice
    (NEW_YORK, (2026, 3, 8), 23),
    (NEW_YORK, (2026, 11, 1), 25),  # EDT → EST: 01:00 twice, both run (Debian's cron: a wildcard hour runs again)
])
def test_hourly_local_schedule_keeps_every_utc_hour_on_a_daylight_saving_day(zone, day, n):
    s = spec(cron="0 * * * *", timezone=zone.key, start_date="2026-01-01T00:00:00Z")
    expected = local_day_utc_hours(zone, *day)
    assert len(expected) == n
    assert scheduled_times(s, expected[0] - timedelta(seconds=1), expected[-1]) == expected


def test_daily_berlin_schedule_moves_in_utc_when_the_clocks_change():
    s = spec(cron="cron(0 5 ? * * *)", timezone="Europe/Berlin", start_date="2026-03-27T00:00:00Z", window="P1D")
    expected = [datetime(2026, 3, d, 5, tzinfo=BERLIN).astimezone(UTC) for d in (27, 28, 29, 30)]
    assert expected == [utc(2026, 3, 27, 4), utc(2026, 3, 28, 4), utc(2026, 3, 29, 3), utc(2026, 3, 30, 3)]
    assert due_times(s, utc(2026, 3, 30, 12), {}) == expected
    w = s.window_for(expected[2])  # a fixed 24 h duration, as SageMaker's offsets
    assert (w.start, w.end) == (utc(2026, 3, 28, 3), utc(2026, 3, 29, 3))


def test_berlin_job_in_the_skipped_hour_runs_right_after_the_change():
    """Debian's cron: a job whose time was skipped (02:30 on the spring-forward day) runs soon after the change,
    i.e. at 03:00 CEST; on the other days at 02:30 local, the scheduled hour being 02:00 local."""
    s = spec(cron="30 2 * * *", timezone="Europe/Berlin", start_date="2026-03-28T00:00:00Z")
    got = scheduled_times(s, utc(2026, 3, 28), utc(2026, 3, 30, 23))
    assert got == [datetime(2026, 3, 28, 2, tzinfo=BERLIN).astimezone(UTC),
                   datetime(2026, 3, 29, 3, tzinfo=BERLIN).astimezone(UTC),
                   datetime(2026, 3, 30, 2, tzinfo=BERLIN).astimezone(UTC)]
    assert got == [utc(2026, 3, 28, 1), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0)]


def test_new_york_daily_job_in_the_repeated_hour_runs_once():
    """A daily 01:30 job on the fall-back day: 01:30 happens twice (EDT, then EST); Debian's cron runs a
    fixed-time job once, at the first."""
    s = spec(cron="30 1 * * *", timezone="America/New_York", start_date="2026-10-31T00:00:00Z")
    got = scheduled_times(s, utc(2026, 10, 31), utc(2026, 11, 3))
    first = [datetime(2026, 10, 31, 1, 30, tzinfo=NEW_YORK), datetime(2026, 11, 1, 1, 30, fold=0, tzinfo=NEW_YORK),
             datetime(2026, 11, 2, 1, 30, tzinfo=NEW_YORK)]
    assert got == [t.astimezone(UTC).replace(minute=0) for t in first]
    assert got == [utc(2026, 10, 31, 5), utc(2026, 11, 1, 5), utc(2026, 11, 2, 6)]
    repeated = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK).astimezone(UTC)
    assert repeated == utc(2026, 11, 1, 6, 30) and repeated.replace(minute=0) not in got


# ---------------------------------------------------------------- the schedule file


@pytest.mark.parametrize("change, message", [
    ({"cron": None}, "schedule test.yaml: cron is required"),
    ({"state_store": ""}, "schedule test.yaml: state_store is required"),
    ({"crn": "0 * * * *"}, "schedule test.yaml: unknown key(s) crn; known keys: name, monitor_type"),
    ({"timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus' is not an IANA time zone"),
    ({"start_date": "yesterday"}, "schedule test.yaml: start_date must be an ISO-8601 UTC time"),
    ({"max_retries": -1}, "schedule test.yaml: max_retries must be an integer between 0 and 100, got -1"),
    ({"target": "lambda"}, "schedule test.yaml: target must be one of local, standalone, emr, sagemaker"),
    ({"name": "credit_hourly"}, "name 'credit_hourly' must be 1-63 letters, digits and '-'"),
    ({"monitor_type": "data-qualty"}, "data-qualty"),
    ({"params": {"dataset_source": "c", "dataset_format": "capture", "baseline_constraints": "b.json",
                 "start_time": "2026-11-20T10:00:00Z"}}, "params must not set start_time"),
    ({"params": {"dataset_source": "c", "dataset_format": "capture"}}, "baseline_constraints is required"),
    ({"params": {"dataset_source": "c", "dataset_format": "capture", "baseline_constraints": "b.json",
                 "no_such_param": 1}}, "unknown key(s) no_such_param"),
])
def test_schedule_file_errors_name_the_key(change, message):
    with pytest.raises(ConfigError) as e:
        spec(**change) if "crn" not in change else schedule_from_dict(
            {"name": "n", "monitor_type": "data-quality", **change}, "schedule test.yaml")
    assert message in str(e.value)


def test_schedule_file_errors_name_the_file(tmp_path):
    path = tmp_path / "hourly.yaml"
    path.write_text("name: x\ncrn: 0 * * * *\n")
    with pytest.raises(ConfigError, match=re.escape(f"schedule {path}: unknown key(s) crn; known keys: cron, ")):
        read_schedule(str(path))
    path.write_text("name: [x\n")
    with pytest.raises(ConfigError, match=re.escape(f"schedule {path} is not valid YAML")):
        read_schedule(str(path))
    with pytest.raises(ConfigError, match=re.escape(f"schedule {tmp_path / 'none.yaml'} cannot be read")):
        read_schedule(str(tmp_path / "none.yaml"))


def test_schedule_defaults():
    s = spec()
    assert (s.window, s.start_offset, s.end_offset, s.grace, s.max_retries, s.max_runtime, s.target) == (
        H, None, None, timedelta(minutes=20), 2, H, "local")
    assert s.cron.unix == "0 * * * *" and s.cron.timezone == "UTC"


def test_the_example_schedule_and_its_model_quality_variant_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its paths are the demo's (need not exist: nothing runs)
    s = read_schedule(str(REPO / "conf" / "schedule.example.yaml"))
    assert (s.name, s.monitor_type, s.cron.unix, s.grace, s.max_retries) == (
        "credit-default-hourly", "data-quality", "0 * * * *", timedelta(minutes=20), 2)
    first = due_times(s, utc(2026, 11, 20, 15, 20), {})
    assert first == hours(utc(2026, 11, 20, 11), utc(2026, 11, 20, 15))  # the demo's five hours of capture
    typed = s.typed_params(first[0])
    assert (typed.start_time, typed.end_time) == (utc(2026, 11, 20, 10), utc(2026, 11, 20, 11))
    assert typed.output_path == "demo-output/scheduled/credit-default-endpoint/credit-default-hourly/2026/11/20/11"

    text = (REPO / "conf" / "schedule.example.yaml").read_text()
    variant = text.split("As its own file:\n")[1]
    doc = yaml.safe_load("\n".join(line[2:] for line in variant.splitlines() if line.startswith("# ")
                                   or line == "#"))
    mq = schedule_from_dict(doc, "the model-quality variant")
    assert mq.monitor_type == "model-quality" and mq.end_offset == -timedelta(days=1)
    w = mq.window_for(utc(2026, 11, 21, 11))
    assert (w.start, w.end) == (utc(2026, 11, 20, 10), utc(2026, 11, 20, 11))
    assert mq.typed_params(utc(2026, 11, 21, 11)).ground_truth_source == "demo-output/ground-truth"


# ---------------------------------------------------------------- --scheduled-time in every monitoring job


def _dq_flags(tmp_path: Path, *window: str) -> list[str]:
    (tmp_path / "constraints.json").write_text("{}")
    return ["--dataset", str(tmp_path), "--format", "capture", "--baseline-constraints",
            str(tmp_path / "constraints.json"), "--output", str(tmp_path / "out"), *window]


def test_scheduled_time_flag_gives_the_window_and_metric_time(tmp_path):
    from monitor_lib.commands import parse_job

    job = parse_job("monitor", _dq_flags(tmp_path, "--scheduled-time", "2026-11-20T11:07:00Z"))
    typed = job.typed("test")
    assert (typed.scheduled_time, typed.start_time, typed.end_time, typed.metric_time) == (
        utc(2026, 11, 20, 11), utc(2026, 11, 20, 10), utc(2026, 11, 20, 11), utc(2026, 11, 20, 10))
    job = parse_job("monitor", _dq_flags(tmp_path, "--scheduled-time", "2020-01-09T13:00:00Z",
                                         "--start-offset=-P8D", "--end-offset=-P1D"))
    typed = job.typed("test")
    assert (typed.start_time, typed.end_time) == (utc(2020, 1, 1, 13), utc(2020, 1, 8, 13))
    job = parse_job("monitor", _dq_flags(tmp_path, "--scheduled-time", "2026-11-20T11:00:00Z", "--window", "PT6H",
                                         "--metric-time", "2026-11-20T11:00:00Z"))
    typed = job.typed("test")
    assert (typed.start_time, typed.end_time, typed.metric_time) == (
        utc(2026, 11, 20, 5), utc(2026, 11, 20, 11), utc(2026, 11, 20, 11))  # an explicit metric_time stays


@pytest.mark.parametrize("window, message", [
    (["--scheduled-time", "2026-11-20T11:00:00Z", "--start-time", "2026-11-20T09:00:00Z"],
     "scheduled_time and start_time both set the window"),
    (["--scheduled-time", "2026-11-20T11:00:00Z", "--start-time", "2026-11-20T09:00:00Z", "--end-time",
      "2026-11-20T10:00:00Z"], "scheduled_time and start_time and end_time both set the window"),
    (["--window", "PT2H"], "window applies only with scheduled_time (--scheduled-time)"),
    (["--start-time", "2026-11-20T09:00:00Z", "--end-offset=-P1D"], "end_offset applies only with scheduled_time"),
    (["--scheduled-time", "2026-11-20T11:00:00Z", "--end-offset=P1D"], "end_offset must be zero or negative"),
    (["--scheduled-time", "soon"], "scheduled_time must be an ISO-8601 UTC time"),
    (["--scheduled-time", "2026-11-20T11:00:00Z", "--window", "P1M"], "window P1M: months and years"),
])
def test_scheduled_time_conflicts_are_config_errors(tmp_path, window, message):
    from monitor_lib.commands import parse_job

    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_job("monitor", _dq_flags(tmp_path, *window)).typed("test")


def test_scheduled_time_reaches_every_monitor_and_the_merge():
    from monitor_lib.monitors.registry import monitors
    from monitor_lib.params import env_names

    for m in monitors():
        for phase in m.phases:
            if phase.name in ("monitoring", "merge"):
                assert {"scheduled_time", "window", "start_offset", "end_offset"} <= set(env_names(phase.params)), \
                    (m.name, phase.name)


def test_merge_scheduled_time(tmp_path):
    from monitor_lib.commands import parse_job

    job = parse_job("merge", ["--type", "model-quality", "--dataset", str(tmp_path), "--ground-truth", str(tmp_path),
                              "--output", str(tmp_path / "m"), "--scheduled-time", "2026-11-21T11:00:00Z",
                              "--end-offset=-P1D"])
    typed = job.typed("test")
    assert (typed.start_time, typed.end_time) == (utc(2026, 11, 20, 10), utc(2026, 11, 20, 11))


def test_a_rebuilt_parameter_object_keeps_its_window(tmp_path):
    """dataclasses.replace (a backfill changing the output, say) re-runs the checks: the derived window is no
    conflict with the scheduled time it came from."""
    from dataclasses import replace

    from monitor_lib.commands import parse_job

    job = parse_job("monitor", _dq_flags(tmp_path, "--scheduled-time", "2026-11-20T11:00:00Z", "--end-offset=-PT1H"))
    typed = job.typed("test")
    again = replace(typed, output_path=str(tmp_path / "elsewhere"))
    assert (again.start_time, again.end_time, again.scheduled_time) == (utc(2026, 11, 20, 9), utc(2026, 11, 20, 10),
                                                                        utc(2026, 11, 20, 11))


def test_submit_passes_the_scheduled_time_through_to_every_target(tmp_path):
    """The flags after `--` reach spark-submit and EMR as given; a Processing job gets them as its environment,
    which the container (analyze) reads back into the same window."""
    from monitor_lib.container import ACCEPTED_UNUSED, sagemaker_environment
    from monitor_lib.driver.jobspec import parse_job
    from monitor_lib.driver.sagemaker import ProcessingOptions, processing_job_request
    from monitor_lib.monitors import registry
    from monitor_lib.params import from_params

    flags = ["--", "--type", "model-quality", "--dataset", "s3://cap/ep", "--ground-truth", "s3://gt/ep",
             "--baseline-constraints", "s3://b/mq/constraints.json", "--problem-type", "BinaryClassification",
             "--inference-attribute", "0", "--scheduled-time", "2026-11-21T11:00:00Z", "--end-offset=-P1D",
             "--output", "s3://out/ep/mq/2026/11/21/11"]
    spec = parse_job("monitor", flags)
    assert spec.script_args == ["monitor", *flags[1:]]  # spark-submit and the EMR step run these
    request = processing_job_request(spec, ProcessingOptions(image_uri="img", role_arn="arn:aws:iam::1:role/r",
                                                             job_name="j"))
    env = request["Environment"]
    assert {k: env[k] for k in ("scheduled_time", "end_offset")} == {"scheduled_time": "2026-11-21T11:00:00Z",
                                                                     "end_offset": "-P1D"}
    assert "start_time" not in env and "end_time" not in env  # derived in the container, from the same rule

    root = tmp_path / "opt_ml"
    (root / "config").mkdir(parents=True)
    (root / "config" / "processingjobconfig.json").write_text(json.dumps({"Environment": {
        **env, "baseline_constraints": str(tmp_path / "constraints.json")}}))
    params = sagemaker_environment(registry.environment_names() + list(ACCEPTED_UNUSED), str(root), environ={})
    monitor, phase = registry.for_environment(params)
    typed = from_params(phase.params, {k: v for k, v in params.items() if k != "analysis_type"}, "env",
                        strict=False)
    assert (monitor.name, phase.name) == ("model-quality", "monitoring")
    assert (typed.start_time, typed.end_time, typed.metric_time) == (utc(2026, 11, 20, 10), utc(2026, 11, 20, 11),
                                                                     utc(2026, 11, 20, 10))


# ---------------------------------------------------------------- the history page's time of a run


def test_history_places_a_run_at_its_scheduled_time(tmp_path):
    """Scheduled time from run_summary.json first; else the folder's hour (SageMaker's folders, named by the
    scheduled hour, have no summary); else the window's start."""
    from monitor_lib.sinks.report.history import _place

    hour_folder = tmp_path / "ep" / "hourly" / "2026" / "11" / "20" / "10"
    window = {"window": {"start_time": "2026-11-20T09:00:00Z", "end_time": "2026-11-20T10:00:00Z"}}
    assert _place(str(tmp_path), str(hour_folder), {"scheduled_time": "2026-11-20T11:00:00Z", **window}) == (
        "ep / hourly", utc(2026, 11, 20, 11))
    assert _place(str(tmp_path), str(hour_folder), window) == ("ep / hourly", utc(2026, 11, 20, 10))
    flat = tmp_path / "runs" / "latest"
    flat.mkdir(parents=True)
    assert _place(str(tmp_path), str(flat), window) == ("runs", utc(2026, 11, 20, 9))
    assert _place(str(tmp_path), str(flat), {"scheduled_time": "2026-11-20T10:00:00Z", **window}) == (
        "runs", utc(2026, 11, 20, 10))


def test_each_local_execution_writes_its_cloudwatch_file_in_its_own_folder():
    """The analyzer's default metric folder would be one file every execution overwrites: a local or standalone
    execution writes into {execution folder}/cloudwatch; a given folder is kept; a SageMaker job keeps the
    container's own."""
    t = utc(2026, 11, 20, 11)
    assert spec().run_params(t)["CLOUDWATCH_METRICS_DIRECTORY"] == "/runs/ep/credit-hourly/2026/11/20/11/cloudwatch"
    given = spec(params={**spec().params, "CLOUDWATCH_METRICS_DIRECTORY": "/metrics"})
    assert given.run_params(t)["CLOUDWATCH_METRICS_DIRECTORY"] == "/metrics"
    remote = spec(target="sagemaker", output_root="s3://b/runs",
                  target_options={"image_uri": "1.dkr.ecr.us-east-1.amazonaws.com/mm:1",
                                  "role_arn": "arn:aws:iam::123456789012:role/r"})
    assert "CLOUDWATCH_METRICS_DIRECTORY" not in remote.run_params(t)
