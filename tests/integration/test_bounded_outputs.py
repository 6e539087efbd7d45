"""Bounded outputs (issue 17, defect 7): records with thousands of keys the baseline does not know give one
summarising extra_column_check violation, bounded statistics.json / profile.json / report, and the count named
exactly. References: the generated records themselves (their key count), the file sizes on disk."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import capture_line, simple_constraints

from monitor_lib.checks.data_quality import EXTRA_COLUMNS_CAP, EXTRA_NAMES_SHOWN
from monitor_lib.profile.state import read_profile
from monitor_lib.runner import run_job

WINDOW = {"start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
CAPTURE_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
JS = {"in_encoding": "JSON", "in_type": "application/json"}
BASELINE = ["y", "a", "b"]


def _capture(root: Path, extra_keys: int, records: int = 2) -> Path:
    hour = root / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    hour.mkdir(parents=True)
    lines = []
    for r in range(records):
        payload = {"a": 1.0 + r, "b": 2.0 * r, **{f"extra_{i:05d}": i + r for i in range(extra_keys)}}
        lines.append(capture_line(json.dumps(payload), str(0.5 + r), event_id=str(r), **JS))
    (hour / "c.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return root


def _monitor(tmp: Path, capture: Path):
    constraints = tmp / "constraints.json"
    constraints.write_text(json.dumps(simple_constraints(BASELINE)))
    return run_job("data-quality", {
        "dataset_source": str(capture), "dataset_format": CAPTURE_FORMAT, "output_path": str(tmp / "out"),
        "baseline_constraints": str(constraints), **WINDOW})


def test_ten_thousand_extra_keys_give_one_summary_and_bounded_files(spark, tmp_path):
    n_extra = 10_000
    result = _monitor(tmp_path, _capture(tmp_path / "capture", n_extra))
    out = tmp_path / "out"
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    extra = [v for v in violations if v["constraint_check_type"] == "extra_column_check"]
    assert len(extra) == 1 and len(violations) == 1  # a, b, y are complete and Fractional
    names = [f"extra_{i:05d}" for i in range(n_extra)]  # the current-data order: the other names sorted
    assert extra[0]["feature_name"] == f"({n_extra} extra columns)"
    assert extra[0]["description"] == (
        "Column presence requirement is not met. Expected: only baseline columns. Observed: 10000 columns are "
        f"not in the baseline (more than {EXTRA_COLUMNS_CAP}: one violation for all), the first "
        f"{EXTRA_NAMES_SHOWN}: {', '.join(names[:EXTRA_NAMES_SHOWN])} and {n_extra - EXTRA_NAMES_SHOWN} more.")
    assert result.records == 2
    assert result.details["extra_columns"] == n_extra
    assert result.details["extra_columns_not_written"] == n_extra - EXTRA_COLUMNS_CAP

    # statistics.json and profile.json: the baseline features, then the first EXTRA_COLUMNS_CAP extra columns
    stats = json.loads((out / "statistics.json").read_text())
    assert [f["name"] for f in stats["features"]] == BASELINE + names[:EXTRA_COLUMNS_CAP]
    assert [c.name for c in read_profile(str(out / "profile.json")).columns] == BASELINE + names[:EXTRA_COLUMNS_CAP]
    sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    # was 17.7 MB of statistics.json and a 16 MB report for these two records
    assert sizes["statistics.json"] < 200_000, sizes
    assert sizes["profile.json"] < 400_000, sizes
    assert sizes["constraint_violations.json"] < 2_000, sizes
    assert sizes["run_summary.json"] < 100_000, sizes
    report = (out / "report.html").read_text()
    assert sizes["report.html"] < 1_500_000, sizes
    assert f"({n_extra} extra columns)" in report
    # 3 + 100 features written + the summary row: the table and the cards say how many are not shown
    assert "and 4 more features not drawn here" in report


def test_few_extra_keys_keep_one_violation_each(spark, tmp_path):
    _monitor(tmp_path, _capture(tmp_path / "capture", 3))
    violations = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())["violations"]
    assert violations == [
        {"feature_name": f"extra_{i:05d}", "constraint_check_type": "extra_column_check",
         "description": "Column presence requirement is not met. Expected: only baseline columns. Observed: "
                        f"column extra_{i:05d} is not in the baseline."} for i in range(3)]
    stats = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert [f["name"] for f in stats["features"]] == BASELINE + [f"extra_{i:05d}" for i in range(3)]


def test_exactly_the_cap_is_still_one_violation_each(spark, tmp_path):
    _monitor(tmp_path, _capture(tmp_path / "capture", EXTRA_COLUMNS_CAP, records=1))
    violations = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())["violations"]
    assert [v["feature_name"] for v in violations] == [f"extra_{i:05d}" for i in range(EXTRA_COLUMNS_CAP)]
