"""Which windows a backfill runs (pure, the clock injected): (A, B] of scheduled times, the due rules of
``schedule due`` with --reprocess none|failed|all, the grace period, the 14-day CloudWatch count, refused
targets; and the file names the backfill matches between the listing and Spark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor_lib.errors import ConfigError
from monitor_lib.io.capture import spark_file_name
from monitor_lib.schedule import backfill as bf
from monitor_lib.schedule.model import (
    COMPLETED,
    COMPLETED_WITH_VIOLATIONS,
    FAILED,
    IN_PROGRESS,
    NO_DATA,
    STOPPED,
    ExecutionRecord,
)
from monitor_lib.schedule.spec import ScheduleSpec
from monitor_lib.schedule.windows import window_for

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def _spec(tmp_path, **keys) -> ScheduleSpec:
    from monitor_lib.schedule.cron import parse_cron

    values = {"name": "hourly", "monitor_type": "data-quality", "cron": parse_cron("0 * * * *"),
              "start_date": T0 + timedelta(hours=1), "output_root": str(tmp_path / "out"),
              "state_store": str(tmp_path / "state"), "max_retries": 2, **keys}
    return ScheduleSpec(**values)


def _record(t: datetime, status: str, attempts: int = 1) -> ExecutionRecord:
    return ExecutionRecord("hourly", t, "data-quality", status=status, attempts=attempts)


def _h(n: int) -> datetime:
    return T0 + timedelta(hours=n)


def test_the_windows_of_a_day_are_its_24_scheduled_hours(tmp_path):
    spec = _spec(tmp_path)
    plan = bf.plan_windows(spec, T0, T0 + timedelta(days=1), {}, now=T0 + timedelta(days=2))
    assert plan.run == [_h(n) for n in range(1, 25)] and plan.skipped == []
    # the windows cover [A, B) exactly: SageMaker's rule, the hour before each scheduled time
    windows = [window_for(t) for t in plan.run]
    assert (windows[0].start, windows[-1].end) == (T0, T0 + timedelta(days=1))
    assert all(a.end == b.start for a, b in zip(windows, windows[1:], strict=False))


def test_start_date_and_grace_bound_the_windows(tmp_path):
    spec = _spec(tmp_path, start_date=_h(5), grace=timedelta(minutes=20))
    now = _h(9) + timedelta(minutes=10)  # 09:00 is not due before 09:20
    plan = bf.plan_windows(spec, T0, _h(12), {}, now=now)
    assert plan.run == [_h(5), _h(6), _h(7), _h(8)]
    assert [t for t, _ in plan.skipped] == [_h(9), _h(10), _h(11), _h(12)]
    assert plan.skipped[0][1] == "not due before 2026-11-20T09:20:00Z (grace)"


@pytest.mark.parametrize(("reprocess", "expected"), [
    ("none", [1, 5, 7]),  # no record; Failed and Stopped with retries left
    ("failed", [1, 5, 6, 7]),  # every Failed / Stopped
    ("all", [1, 2, 3, 4, 5, 6, 7]),  # everything not InProgress
])
def test_skip_and_reprocess_rules(tmp_path, reprocess, expected):
    spec = _spec(tmp_path)
    records = {_h(2): _record(_h(2), COMPLETED), _h(3): _record(_h(3), COMPLETED_WITH_VIOLATIONS),
               _h(4): _record(_h(4), NO_DATA), _h(5): _record(_h(5), FAILED, attempts=2),
               _h(6): _record(_h(6), FAILED, attempts=3), _h(7): _record(_h(7), STOPPED),
               _h(8): _record(_h(8), IN_PROGRESS)}
    plan = bf.plan_windows(spec, T0, _h(8), records, reprocess, now=_h(30))
    assert plan.run == [_h(n) for n in expected]
    assert sorted(plan.run + [t for t, _ in plan.skipped]) == [_h(n) for n in range(1, 9)]
    reasons = dict(plan.skipped)
    assert reasons[_h(8)] == "InProgress (--reprocess all runs it)"
    if reprocess == "none":
        assert reasons[_h(6)] == "Failed after 3 attempt(s), no retry left (--reprocess failed runs it)"
        assert reasons[_h(2)] == "Completed (--reprocess all runs it)"


def test_bad_reprocess_and_range_are_config_errors(tmp_path):
    spec = _spec(tmp_path)
    with pytest.raises(ConfigError, match="--reprocess must be one of none, failed, all, got 'completed'"):
        bf.plan_windows(spec, T0, _h(3), {}, "completed", now=_h(5))
    with pytest.raises(ConfigError, match="--to 2026-11-20T01:00:00Z must be after --from 2026-11-20T03:00:00Z"):
        bf.backfill(spec, _h(3), _h(1), now=_h(5))


@pytest.mark.parametrize("target", ["emr", "sagemaker"])
def test_remote_targets_are_refused_before_anything_runs(tmp_path, target):
    spec = _spec(tmp_path, target=target)
    with pytest.raises(ConfigError, match=f"target {target}: a backfill runs where its Spark driver is"):
        bf.backfill(spec, T0, _h(3), now=_h(5))
    assert not (tmp_path / "state").exists()


def test_windows_older_than_14_days_are_counted_once(tmp_path):
    spec = _spec(tmp_path)
    now = _h(24 * 15 + 1)  # the window of 01:00 started at 00:00, 15 days + 1 h before now
    assert bf.old_windows(spec, [_h(1), _h(2), _h(24), _h(24 * 2)], now) == 3


@pytest.mark.parametrize(("spark", "listed"), [
    ("file:///tmp/cap/a%20b/x%201.jsonl", "/tmp/cap/a b/x 1.jsonl"),
    ("file:/tmp/cap/h/x.jsonl", "/tmp/cap/h/x.jsonl"),
    ("s3a://bucket/cap/x.jsonl", "s3://bucket/cap/x.jsonl"),
])
def test_spark_file_names_match_the_listing(spark, listed):
    assert spark_file_name(spark) == spark_file_name(listed) == listed


def test_a_relative_listing_matches_spark_s_absolute_names(tmp_path, monkeypatch):
    """A schedule's dataset_source may be relative (demo-output/capture): Spark names its files absolutely."""
    monkeypatch.chdir(tmp_path)
    assert spark_file_name("capture/h/x.jsonl") == spark_file_name(f"file:{tmp_path}/capture/h/x.jsonl") == \
        f"{tmp_path}/capture/h/x.jsonl"
