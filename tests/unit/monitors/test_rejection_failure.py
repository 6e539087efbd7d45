"""The rule that turns a window of rejected records into a failure (issue 17), and the Failed outcome: pure
functions, no Spark."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor_lib.errors import EXIT_RUN_FAILED, ConfigError
from monitor_lib.monitors.base import FAILED, NO_DATA, RunOutcome
from monitor_lib.monitors.common import fraction, merge_rejected, rejection_failure

W = "[2026-11-20T10:00:00Z, 2026-11-20T11:00:00Z)"


@pytest.mark.parametrize("analysed, rejected, skipped, limit, fails", [
    (0, {}, {}, 1.0, False),  # nothing read: no data, not a failure
    (0, {}, {"blank_line": 5, "outside_window": 3}, 1.0, False),  # only skipped lines: no data
    (0, {"invalid_utf8": 44}, {}, 1.0, True),  # every record rejected: always a failure
    (0, {"invalid_utf8": 1}, {}, 0.0, True),
    (1, {"malformed_json": 99}, {}, 1.0, False),  # the default fails only a window with nothing profiled
    (70, {"malformed_json": 30}, {"outside_window": 500}, 0.3, False),  # 30 / 100, skipped lines left out
    (70, {"malformed_json": 30}, {"outside_window": 500}, 0.29, True),
    (100, {}, {}, 0.0, False),  # nothing rejected never fails
    (99, {"malformed_json": 1}, {}, 0.0, True),
])
def test_when_a_window_fails(analysed, rejected, skipped, limit, fails):
    assert bool(rejection_failure(analysed, rejected, skipped, limit, W)) is fails


def test_failure_texts_give_the_counts():
    assert rejection_failure(0, {"invalid_utf8": 40, "malformed_json": 4}, {"blank_line": 2}, 1.0, W) == (
        f"44 of 44 record(s) in window {W} rejected (invalid_utf8: 40, malformed_json: 4), none could be "
        "profiled; 2 skipped (blank_line: 2)")
    assert rejection_failure(70, {"malformed_json": 30}, {}, 0.25, W, "evaluated") == (
        f"30 of 100 record(s) in window {W} rejected (malformed_json: 30), a share of 0.3, more than "
        "max_rejected_fraction 0.25; 70 evaluated")


def test_merge_rejections_of_captures_count_not_of_labels():
    class Merge:
        rejected = {"capture_invalid_utf8": 3, "label_malformed_json": 7}

    assert merge_rejected(Merge()) == {"capture_invalid_utf8": 3}
    assert merge_rejected(None) == {}


def test_max_rejected_fraction_is_a_share():
    assert fraction("0.05", "max_rejected_fraction") == 0.05 and fraction(1, "x") == 1.0
    for bad in ("-0.1", "1.01", "nan", "most"):
        with pytest.raises(ConfigError, match="max_rejected_fraction"):
            fraction(bad, "max_rejected_fraction")


def test_a_failed_outcome_and_its_summary():
    outcome = RunOutcome(monitor="data-quality", phase="monitoring", job="data_quality_monitoring",
                         start_time=datetime(2026, 11, 20, 10, tzinfo=UTC), end_time=datetime(2026, 11, 20, 11,
                                                                                              tzinfo=UTC),
                         rejected={"invalid_utf8": 44})
    outcome.failure_reason = rejection_failure(0, outcome.rejected, {}, 1.0, outcome.window_text)
    outcome.finish(has_data=False)  # a failure wins over "no data"
    assert outcome.status == FAILED == "Failed" and EXIT_RUN_FAILED == 3
    assert outcome.message == f"Failed: 44 of 44 record(s) in window {W} rejected (invalid_utf8: 44), none could " \
                              "be profiled."
    doc = outcome.summary()
    assert doc["status"] == "Failed" and doc["failure_reason"] == outcome.failure_reason
    assert doc["records_rejected"] == {"invalid_utf8": 44} and "no_data_reason" not in doc
    again = RunOutcome.from_summary(doc)
    assert (again.status, again.failure_reason, again.message) == (FAILED, outcome.failure_reason, outcome.message)
    assert "failure_reason" not in again.details
    empty = RunOutcome(monitor="data-quality", phase="monitoring", job="j", no_data_reason="nothing")
    assert empty.finish(has_data=False).status == NO_DATA and "failure_reason" not in empty.summary()
