"""Backfill = N single runs: 24 hourly windows of capture backfilled in one Spark job give the same files
(statistics, constraints, violations, profile state, CloudWatch metric file, rejected sample, run summary) and
execution records as 24 separate monitoring runs of the same parameters (runner.run_job, another root); the
input is read by one Spark stage, every capture line once (counted against Python's count of the files' lines);
re-running skips everything, --reprocess failed reruns only the Failed window, --reprocess all reruns every one.

The capture has rejected records (25 in one hour: the first-20 sample is a choice), records in the previous hour's
folder (outside_window there, unseen by their own hour's run), an hour without files (NoData) and a drifted hour
(CompletedWithViolations). Each window holds fewer values than a KLL sketch keeps (2048): no compaction, so the
sketches are exact and equal, not only within their error.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from helpers import capture_line

from monitor_lib.runner import run_job
from monitor_lib.schedule import backfill as bf
from monitor_lib.schedule.model import COMPLETED, COMPLETED_WITH_VIOLATIONS, FAILED, NO_DATA
from monitor_lib.schedule.spec import ScheduleSpec, schedule_from_dict
from monitor_lib.schedule.store import open_store
from monitor_lib.schedule.tick import status_from_summary
from monitor_lib.timefmt import iso_utc

DAY = datetime(2026, 11, 20, tzinfo=UTC)
NOW = datetime(2026, 11, 22, tzinfo=UTC)
EMPTY_HOUR, DRIFT_HOUR, BAD_HOUR = 5, 9, 3
IGNORED = {"run_id", "seconds", "backfill", "eventTime", "runId"}  # run-specific, or the backfill's own entry


def _t(hour: int, second: int) -> str:
    return iso_utc(DAY + timedelta(hours=hour, seconds=second))


def _write_capture(root: Path) -> int:
    """24 hours of capture under root/ep/AllTraffic/yyyy/mm/dd/hh; returns the number of lines written."""
    rng = np.random.default_rng(15)
    lines_written = 0
    for hour in range(24):
        if hour == EMPTY_HOUR:
            continue
        folder = root / "ep" / "AllTraffic" / (DAY + timedelta(hours=hour)).strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True)
        n = 30 + hour
        shift = 50.0 if hour == DRIFT_HOUR else 0.0
        lines = []
        for i in range(n):
            a, b = rng.normal(10 + shift, 2), rng.integers(0, 5)
            c = rng.choice(["x", "y", "z"])
            lines.append(capture_line(f"{a:.4f},{b},{c}", str(int(a > 10 + shift)), _t(hour, 60 * i + 7),
                                      event_id=f"{hour}-{i}"))
        bad = 25 if hour == BAD_HOUR else hour % 3
        for i in range(bad):  # wrong field count and a truncated line, mixed in
            text = capture_line("1.0,2", "0", _t(hour, 90 + i)) if i % 2 else capture_line("1,2,x", "1")[:40]
            lines.insert(3 * i % len(lines), text)
        if hour + 1 < 24 and hour % 4 == 2:  # late: a record of the next hour in this hour's folder
            lines.append(capture_line("11.0,1,y", "1", _t(hour + 1, 120), event_id=f"late-{hour}"))
        cut = len(lines) // 3
        for j, part in enumerate((lines[:cut], lines[cut:])):
            (folder / f"part-{j}.jsonl").write_text("".join(x + "\n" for x in part))
            lines_written += len(part)
    return lines_written


@pytest.fixture(scope="module")
def world(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("backfill")
    rng = np.random.default_rng(3)
    a = rng.normal(10, 2, 400)
    rows = [f"{int(x > 10)},{x:.4f},{rng.integers(0, 5)},{rng.choice(['x', 'y', 'z'])}" for x in a]
    (root / "baseline.csv").write_text("p,a,b,c\n" + "\n".join(rows) + "\n")
    run_job("data-quality", {"dataset_source": str(root / "baseline.csv"),
                             "dataset_format": '{"csv": {"header": true}}', "output_path": str(root / "baseline")},
            spark=spark)
    lines = _write_capture(root / "capture")
    return {"root": root, "lines": lines}


def _spec(root: Path, name: str) -> ScheduleSpec:
    return schedule_from_dict({
        "name": "bf-hourly", "monitor_type": "data-quality", "cron": "0 * * * *",
        "start_date": "2026-11-20T01:00:00Z", "output_root": str(root / name / "out"),
        "state_store": str(root / name / "state"),
        "params": {"dataset_source": str(root / "capture"), "dataset_format": "capture",
                   "baseline_statistics": str(root / "baseline" / "statistics.json"),
                   "baseline_constraints": str(root / "baseline" / "constraints.json"),
                   "sagemaker_endpoint_name": "ep", "publish_cloudwatch_metrics": "Enabled"}}, "test schedule")


def differences(a, b, path: str = "") -> list[str]:
    """JSON paths where two documents differ: floats within 1e-9 relative, run-specific keys ignored, the items of
    an uncompacted KLL level as multisets (their order follows the order Spark fed the rows in)."""
    if path.endswith(".kll.sketch.data") and isinstance(a, list) and isinstance(b, list):
        a, b = [sorted(level) for level in a], [sorted(level) for level in b]
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) if k not in IGNORED
                for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return []
    return [] if a == b else [f"{path}: {str(a)[:100]} != {str(b)[:100]}"]


def _sketches(doc: dict) -> dict:
    """profile.json with its sketches decoded: the items a KLL holds uncompacted, the HLL's estimate, the frequent
    items with their counts (their bytes follow the order Spark fed the rows in)."""
    import base64

    import datasketches as dsk

    for column in doc.get("columns", []):
        if column.get("kll"):
            kll = dsk.kll_doubles_sketch.deserialize(base64.b64decode(column["kll"]))
            column["kll"] = {"n": kll.n, "retained": kll.num_retained, "items": sorted(v for v, _ in kll)}
        if column.get("hll"):
            column["hll"] = dsk.hll_sketch.deserialize(base64.b64decode(column["hll"])).get_estimate()
        if column.get("frequent"):
            fi = dsk.frequent_strings_sketch.deserialize(base64.b64decode(column["frequent"]))
            column["frequent"] = sorted((x[0], x[1]) for x in fi.get_frequent_items(
                dsk.frequent_items_error_type.NO_FALSE_POSITIVES))
    return doc


def _documents(folder: Path, root: Path) -> dict[str, object]:
    """Every JSON / JSON-lines file of a run folder, its root spelled ROOT."""
    docs: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".json", ".jsonl") or path.name.startswith("."):
            continue
        text = path.read_text().replace(str(root), "ROOT")
        rel = str(path.relative_to(folder))
        docs[rel] = json.loads(text) if path.suffix == ".json" else [json.loads(x) for x in text.splitlines()]
        if path.name == "profile.json":
            docs[rel] = _sketches(docs[rel])
    return docs


@pytest.fixture(scope="module")
def runs(world, spark):
    """The backfill (one shared job) and the 24 single runs of the same parameters."""
    root = world["root"]
    spec = _spec(root, "backfill")
    plan, records = bf.backfill(spec, DAY, DAY + timedelta(days=1), now=NOW, spark=spark)
    single = _spec(root, "single")
    for t in plan.run:
        run_job("data-quality", single.run_params(t), spark=spark)
    return spec, single, plan, records


def test_backfill_writes_what_24_single_runs_write(runs, world):
    spec, single, plan, records = runs
    assert [iso_utc(t) for t in plan.run] == [iso_utc(DAY + timedelta(hours=h)) for h in range(1, 25)]
    assert plan.skipped == []
    statuses = {}
    for t, record in zip(plan.run, records, strict=True):
        a, b = Path(spec.output_for(t)), Path(single.output_for(t))
        assert sorted(p.name for p in a.rglob("*")) == sorted(p.name for p in b.rglob("*")), t
        docs_a, docs_b = _documents(a, Path(spec.output_root)), _documents(b, Path(single.output_root))
        assert sorted(docs_a) == sorted(docs_b)
        for name in docs_a:
            assert differences(docs_a[name], docs_b[name]) == [], f"{iso_utc(t)} {name}"
        # the execution record: as the single run's summary says, the window and folder of its scheduled time
        summary_a, summary_b = docs_a["run_summary.json"], docs_b["run_summary.json"]
        status, reason, extra = status_from_summary(summary_b)
        w = spec.window_for(t)
        assert (record.status, record.failure_reason, record.extra["violations"], record.extra["records"]) == \
            (status, reason, extra["violations"], extra["records"])
        assert (record.window_start, record.window_end, record.output_uri, record.attempts, record.run_id) == \
            (w.start, w.end, spec.output_for(t), 1, summary_a["run_id"])
        assert open_store(spec).get(t).to_json() == record.to_json()
        statuses[(t - DAY) // timedelta(hours=1) - 1] = record.status
        # one shared job read the input: one stage, every capture line once
        assert summary_a["backfill"]["windows"] == 24
        assert summary_a["backfill"]["input_reads"] == 1
        assert summary_a["backfill"]["input_records"] == world["lines"]
    assert statuses[EMPTY_HOUR] == NO_DATA and statuses[DRIFT_HOUR] == COMPLETED_WITH_VIOLATIONS
    assert statuses[0] == COMPLETED
    bad = _documents(Path(spec.output_for(DAY + timedelta(hours=BAD_HOUR + 1))), Path(spec.output_root))
    assert len(bad["rejected_records_sample.jsonl"]) == 20
    assert bad["run_summary.json"]["records_rejected"] == {"malformed_json": 13, "wrong_field_count": 12}
    late = _documents(Path(spec.output_for(DAY + timedelta(hours=3))), Path(spec.output_root))
    assert late["run_summary.json"]["records_skipped"] == {"outside_window": 1}


def test_rerun_skips_and_reprocess_reruns(runs, spark):
    spec, _, _, first = runs
    store = open_store(spec)
    end = DAY + timedelta(days=1)
    plan, records = bf.backfill(spec, DAY, end, now=NOW, spark=spark)
    assert (plan.run, records) == ([], [])
    assert {why.split(" ")[0] for _, why in plan.skipped} == {COMPLETED, COMPLETED_WITH_VIOLATIONS, NO_DATA}

    target = first[11].scheduled_time  # mark one window Failed with no retry left
    old = store.get(target)
    assert store.replace(old, replace(old, status=FAILED, failure_reason="test", attempts=3))
    plan, records = bf.backfill(spec, DAY, end, now=NOW, spark=spark)
    assert records == [] and (target, "Failed after 3 attempt(s), no retry left (--reprocess failed runs it)") \
        in plan.skipped
    before = json.loads(Path(spec.output_for(target), "statistics.json").read_text())
    plan, records = bf.backfill(spec, DAY, end, reprocess="failed", now=NOW, spark=spark)
    assert [r.scheduled_time for r in records] == [target] and records[0].status == COMPLETED
    assert records[0].attempts == 4
    assert differences(json.loads(Path(spec.output_for(target), "statistics.json").read_text()), before) == []

    plan, records = bf.backfill(spec, DAY, end, reprocess="all", now=NOW, spark=spark)
    assert [r.scheduled_time for r in records] == [r.scheduled_time for r in first]
    assert [r.status for r in records] == [r.status for r in first]
    assert [r.attempts for r in records] == [5 if r.scheduled_time == target else 2 for r in first]
    summary = json.loads(Path(spec.output_for(target), "run_summary.json").read_text())
    assert summary["backfill"]["input_reads"] == 1
