"""The history page (``model-monitor report``): one card per feature, however the runs name it (issue 17,
defect 6), and which folders count as runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from helpers import FIXTURES

from monitor_lib.sinks.report.history import RunPoint, render_history, run_folder_state, scan_run_folders


def _point(hour: int, values: dict, violated: dict) -> RunPoint:
    return RunPoint(f"ep/s/2026/11/20/{hour:02d}", "ep / s", datetime(2026, 11, 20, hour, tzinfo=UTC),
                    "CompletedWithViolations" if violated else "Completed", "data-quality", values, violated)


def test_a_feature_violated_in_the_earliest_run_gets_one_card():
    measured = {"drift_distance": 0.4, "drift_threshold": 0.1, "completeness": 1.0, "completeness_threshold": 1.0}
    points = [_point(10, {"amount": measured, "age": measured}, {"amount": ["baseline_drift_check"]}),
              _point(11, {"amount": measured, "age": measured}, {}),
              _point(12, {"amount": measured, "age": measured}, {"age": ["baseline_drift_check"]})]
    html = render_history("/root", points, "/root")
    cards = re.findall(r"<h3>([^<]*)</h3>", html)
    assert sorted(cards) == ["age", "amount"]  # before the fix: amount twice (values and violated of run 1)
    # the card counts its violations once per run
    assert html.count("baseline_drift_check × 1") == 2


def test_which_folders_are_runs():
    assert run_folder_state(["run_summary.json", "statistics.json", "report.html"]) == "run"
    # the real container's folder: violations, no summary, none of our own files
    assert run_folder_state(["constraint_violations.json", "statistics.json", "constraints.json"]) == "run"
    # ours, killed before its summary (an older version wrote in place): not a run
    assert run_folder_state(["constraint_violations.json", "statistics.json", "profile.json"]) == "incomplete"
    # the marker of a run being published (or killed while it was): not a run, whatever else is there
    assert run_folder_state(["_INCOMPLETE", "run_summary.json", "constraint_violations.json"]) == "incomplete"
    assert run_folder_state(["statistics.json", "constraints.json"]) is None  # a baseline of the container
    # the real container's folders in the shared fixtures are still read as runs
    runs, incomplete = scan_run_folders(str(FIXTURES))
    assert [r.rsplit("/", 1)[1] for r in runs] == ["sdk-monitor-taxi-violations"] and incomplete == []


def test_a_failed_run_has_its_own_square_and_count():
    """A window whose records could not be read (status Failed, issue 17 defect 5) is neither a clean run nor an
    empty hour: its own colour in the strip and its own column in the schedules table."""
    points = [_point(10, {}, {}), _point(11, {}, {}), _point(12, {}, {})]
    points[1].status, points[2].status = "Failed", "NoData"
    html = render_history("/root", points, "/root")
    squares = re.findall(r'<a class="(\w+)" title="([^"]*)"', html)
    assert [c for c, _ in squares] == ["Completed", "Failed", "NoData"]
    assert squares[1][1].endswith(": Failed")
    table = re.search(r"<h2>Schedules</h2><table>(.*?)</table>", html, re.S).group(1)
    columns = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table)
    row = dict(zip(columns, cells, strict=True))
    assert (row["runs"], row["no data"], row["failed"]) == ("3", "1", "<span class='bad'>1</span>")
    assert ".strip .Failed {" in html
