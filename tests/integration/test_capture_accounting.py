"""Issue 17, defects 1 and 5: every capture line read ends profiled, rejected (by kind) or skipped (by kind) —
duplicate keys, blank lines, lines over the size limit, JSON nested too deep — and a window whose records were
read but could not be profiled is a failure (status Failed, exit code 3; 255 for ``analyze``), not "No data".

References: the lines as written here (counted in Python), pandas over the good records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FIXTURES, capture_line, run_process, simple_constraints

from monitor_lib.errors import EXIT_ANALYZER_FAILED, EXIT_RUN_FAILED, ConfigError
from monitor_lib.formats.statistics import read_statistics
from monitor_lib.formats.violations import read_violations
from monitor_lib.io import capture_stages
from monitor_lib.runner import run_job

WINDOW = {"start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
JSON_INPUT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}'
CAPTURE_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
JS = {"in_encoding": "JSON", "in_type": "application/json"}


def hour_dir(root: Path) -> Path:
    d = root / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    d.mkdir(parents=True, exist_ok=True)
    return d


def when(i: int) -> str:
    return f"2026-11-20T10:{i % 60:02d}:{i % 13:02d}Z"


def constraints(tmp: Path, names: list[str], **kw) -> Path:
    path = tmp / "constraints.json"
    path.write_text(json.dumps(simple_constraints(names, **kw)))
    return path


def run(tmp: Path, capture: Path, names: list[str], fmt: str = JSON_INPUT, spark=None, **params):
    config = {"dataset_source": str(capture), "dataset_format": fmt, "output_path": str(tmp / "out"),
              "baseline_constraints": str(constraints(tmp, names)), **WINDOW, **params}
    return run_job("data-quality", config, spark=spark)


def summary(tmp: Path) -> dict:
    return json.loads((tmp / "out" / "run_summary.json").read_text())


def lines_of(path: Path) -> int:
    """Lines as Hadoop's text reader splits them (\\n, \\r\\n, \\r), a final newline ending the last one."""
    return len(path.read_bytes().splitlines())


# ---------------------------------------------------------------- duplicate keys


def test_duplicate_keys_are_a_rejection_kind_and_never_double_count(spark, tmp_path):
    """20 of 320 records name "amount" twice, 20 others lack it: before, num_present 340 of 320 (completeness
    1.0625) hid the missing values and no completeness_check fired."""
    rng = np.random.default_rng(17)
    amounts, bs = np.round(rng.normal(50, 10, 320), 3), np.round(rng.random(320), 4)
    lines, good = [], []
    for i in range(320):
        if i < 20:  # the duplicate key: a JSON text no Python dict can produce
            payload = f'{{"amount": {float(amounts[i])!r}, "b": {float(bs[i])!r}, "amount": "dup"}}'
        elif i < 40:
            payload = json.dumps({"b": float(bs[i])})
            good.append({"amount": np.nan, "b": bs[i]})
        else:
            payload = json.dumps({"amount": float(amounts[i]), "b": float(bs[i])})
            good.append({"amount": amounts[i], "b": bs[i]})
        lines.append(capture_line(payload, None, when(i), **JS))
    (hour_dir(tmp_path / "capture") / "a.jsonl").write_text("\n".join(lines) + "\n")
    outcome = run(tmp_path, tmp_path / "capture", ["amount", "b"], spark=spark)
    assert outcome.status == "CompletedWithViolations"
    assert outcome.rejected == {"duplicate_key": 20} and outcome.skipped == {} and outcome.records == 300
    truth = pd.DataFrame(good)
    amount = read_statistics(tmp_path / "out" / "statistics.json").feature("amount")
    assert amount.numerical.num_present == truth["amount"].notna().sum() == 280
    assert amount.numerical.num_missing == 20  # completeness 280 / 300, within [0, 1]
    assert amount.numerical.sum == pytest.approx(truth["amount"].sum(), rel=1e-12)
    assert amount.numerical.mean == pytest.approx(truth["amount"].mean(), rel=1e-12)
    assert amount.numerical.min == truth["amount"].min() and amount.numerical.max == truth["amount"].max()
    violations = read_violations(tmp_path / "out" / "constraint_violations.json").violations
    assert [(v.feature_name, v.constraint_check_type) for v in violations] == [("amount", "completeness_check")]
    assert f"Observed: Only {280 / 300 * 100}% of data is non-null" in violations[0].description
    sample = [json.loads(x) for x in (tmp_path / "out" / "rejected_records_sample.jsonl").read_text().splitlines()]
    assert {s["kind"] for s in sample} == {"duplicate_key"}
    assert json.loads(sample[0]["record"])["captureData"]["endpointInput"]["data"].endswith('"amount": "dup"}')


# ---------------------------------------------------------------- blank lines, size and depth limits


def test_blank_lines_are_skipped_and_counted(spark, tmp_path):
    """600 blank lines (empty, spaces, tabs, CRLF) among 300 records: each one counted as skipped blank_line."""
    blanks = ["", "   ", "\t", " \t "]
    parts = []
    for i in range(300):
        parts.append(capture_line(f"{i},{i * 0.5}", None, when(i)) + "\n")
        parts.append(blanks[i % 4] + "\n" + blanks[(i + 1) % 4] + ("\r\n" if i % 3 == 0 else "\n"))
    path = hour_dir(tmp_path / "capture") / "a.jsonl"
    path.write_text("".join(parts), newline="")
    assert lines_of(path) == 900
    outcome = run(tmp_path, tmp_path / "capture", ["a", "b"], spark=spark)
    assert outcome.status == "Completed" and outcome.records == 300
    assert outcome.rejected == {} and outcome.skipped == {"blank_line": 600}
    doc = summary(tmp_path)
    assert doc["records_skipped"] == {"blank_line": 600} and doc["records_profiled"] == 300
    stats = read_statistics(tmp_path / "out" / "statistics.json")
    assert stats.feature("a").numerical.sum == sum(range(300))


def test_blank_lines_are_counted_by_the_s3_reader_too(spark, tmp_path, aws_server):
    """The boto3 reader in the executors keeps blank lines for the capture stages, as Spark's text reader."""
    client = aws_server.client("s3")
    client.create_bucket(Bucket="accounting")
    body = "".join(capture_line(f"{i},{i}", None, when(i)) + "\n" + "\n" * (i % 3) + "  \r\n" for i in range(40))
    client.put_object(Bucket="accounting", Key="c/ep/AllTraffic/2026/11/20/10/a.jsonl", Body=body.encode())
    expected_blank = sum(i % 3 + 1 for i in range(40))
    assert len(body.encode().splitlines()) == 40 + expected_blank
    config = {"dataset_source": "s3://accounting/c", "dataset_format": JSON_INPUT, "output_path": str(tmp_path / "out"),
              "baseline_constraints": str(constraints(tmp_path, ["a", "b"])), **WINDOW}
    outcome = run_job("data-quality", config, spark=spark)
    assert outcome.records == 40 and outcome.skipped == {"blank_line": expected_blank} and outcome.rejected == {}


def test_size_and_depth_limits_have_their_own_kinds(spark, tmp_path):
    """A valid line over MAX_LINE_BYTES is record_too_large (a 50 MB line was malformed_json); one of exactly
    MAX_LINE_BYTES is profiled. A line nested 5,000 deep is too_deeply_nested, one nested to Spark's limit
    (1,000 levels) is profiled; so is a JSON payload nested too deep."""
    limit = capture_stages.MAX_LINE_BYTES
    assert limit == 16 * 1024 * 1024 and capture_stages.MAX_JSON_DEPTH == 1000

    def padded(i: int, size: int) -> str:
        base = json.loads(capture_line(f"{i},{i}", None, when(i)))
        base["padding"] = ""
        overhead = len(json.dumps(base).encode())
        base["padding"] = "x" * (size - overhead)
        text = json.dumps(base)
        assert len(text.encode()) == size
        return text

    def nested(i: int, depth: int) -> str:  # the record object is level 1, "deep" adds depth - 1 arrays
        text = capture_line(f"{i},{i}", None, when(i))
        return text[:-1] + ', "deep": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    deep_payload = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    lines = [capture_line(f"{i},{i}", None, when(i)) for i in range(10)] + [
        padded(10, limit),  # profiled
        padded(11, limit + 1),  # record_too_large
        nested(12, 1000),  # profiled: Spark parses 1,000 levels
        nested(13, 1001),  # too_deeply_nested
        "[" * 5000 + "]" * 5000,  # too_deeply_nested (and not an object)
        nested(15, 5000)[:-3],  # too deep and truncated: the depth names it
        '{"captureData": [[[[',  # malformed_json: shallow
        '{"x": "' + "[" * 2000 + '"}',  # brackets inside a string are not nesting: not_a_capture_record
        capture_line(deep_payload, None, when(18), **JS),  # the payload nests too deep
        capture_line('{"a": [[1]}', None, when(19), **JS),  # a malformed payload
    ]
    path = hour_dir(tmp_path / "capture") / "a.jsonl"
    path.write_text("\n".join(lines) + "\n")
    outcome = run(tmp_path, tmp_path / "capture", ["a", "b"], spark=spark)
    assert outcome.records == 12
    assert outcome.rejected == {"record_too_large": 1, "too_deeply_nested": 4, "malformed_json": 1,
                                "not_a_capture_record": 1, "malformed_payload": 1}
    assert outcome.records + sum(outcome.rejected.values()) + sum(outcome.skipped.values()) == lines_of(path)
    stats = read_statistics(tmp_path / "out" / "statistics.json")
    assert stats.feature("a").numerical.sum == sum(range(10)) + 10 + 12


# ---------------------------------------------------------------- a window that could not be read is a failure


def _gzip_capture(root: Path) -> Path:
    """300 good capture records gzipped into a file named .jsonl (Spark reads it as text, not gunzipped)."""
    text = "".join(capture_line(f"{i},{i * 2}", str(i % 2), when(i)) + "\n" for i in range(300))
    path = hour_dir(root) / "a.jsonl"
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return path


def test_a_window_of_gzip_bytes_fails_through_the_cli(tmp_path):
    """Every line rejected (invalid_utf8): status Failed, exit code 3, the counts in the message; the summary,
    the rejected sample and the report are written, no statistics or violations."""
    path = _gzip_capture(tmp_path / "capture")
    n_lines = lines_of(path)
    names = ["label", "a", "b"]
    out = tmp_path / "out"
    done = run_process([".venv/bin/model-monitor", "-q", "monitor", "--dataset", str(tmp_path / "capture"),
                        "--baseline-constraints", str(constraints(tmp_path, names)), "--output", str(out),
                        "--start-time", WINDOW["start_time"], "--end-time", WINDOW["end_time"]])
    assert done.returncode == EXIT_RUN_FAILED == 3, done.stderr[-3000:]
    doc = json.loads((out / "run_summary.json").read_text())
    rejected = doc["records_rejected"]
    assert doc["status"] == "Failed" and doc["records"] == 0 and sum(rejected.values()) == n_lines
    assert set(rejected) <= {"invalid_utf8", "malformed_json", "blank_line"} and rejected["invalid_utf8"] > 0
    counts = ", ".join(f"{k}: {v}" for k, v in rejected.items())
    message = (f"Failed: {n_lines} of {n_lines} record(s) in window [2026-11-20T10:00:00Z, 2026-11-20T11:00:00Z) "
               f"rejected ({counts}), none could be profiled" + (
                   f"; {sum(doc['records_skipped'].values())} skipped (" + ", ".join(
                       f"{k}: {v}" for k, v in doc["records_skipped"].items()) + ")"
                   if doc["records_skipped"] else "") + ".")
    assert doc["message"] == message and doc["failure_reason"] == message[len("Failed: "):-1]
    assert done.stdout.splitlines()[0] == message
    assert "Traceback" not in done.stderr
    sample = [json.loads(x) for x in (out / "rejected_records_sample.jsonl").read_text().splitlines()]
    assert sample and {s["kind"] for s in sample} <= set(rejected)
    assert (out / "report.html").exists()
    assert not (out / "statistics.json").exists() and not (out / "constraint_violations.json").exists()


def test_analyze_exits_255_with_the_failure_in_the_message_file(spark, tmp_path, monkeypatch):
    from monitor_lib.cli import main

    _gzip_capture(tmp_path / "capture")
    root = tmp_path / "opt_ml"
    (root / "config").mkdir(parents=True)
    env = {"dataset_source": str(tmp_path / "capture"), "output_path": str(tmp_path / "out"),
           "baseline_constraints": str(constraints(tmp_path, ["label", "a", "b"])), "analysis_type": "DATA_QUALITY",
           **WINDOW}
    (root / "config" / "processingjobconfig.json").write_text(json.dumps({"Environment": env}))
    monkeypatch.setenv("MODEL_MONITOR_OPT_ML", str(root))
    assert main(["-q", "analyze"]) == EXIT_ANALYZER_FAILED
    message = (root / "output" / "message").read_text()
    assert message == summary(tmp_path)["message"] and message.startswith("Failed: ")
    assert "none could be profiled" in message and "invalid_utf8: " in message


def test_max_rejected_fraction(spark, tmp_path):
    """70 good records, 30 rejected, 50 skipped: the share is 30 / 100 (skipped lines do not count)."""
    lines = ([capture_line(f"{i},{i}", None, when(i)) for i in range(70)] + ["{broken"] * 30
             + [capture_line("1,1", None, "2026-11-20T12:00:00Z")] * 50)
    (hour_dir(tmp_path / "capture") / "a.jsonl").write_text("\n".join(lines) + "\n")
    src = tmp_path / "capture"
    fmt = JSON_INPUT
    default = run(tmp_path, src, ["a", "b"], fmt=fmt, spark=spark)
    assert default.status == "Completed" and default.records == 70
    assert run(tmp_path, src, ["a", "b"], fmt=fmt, spark=spark, max_rejected_fraction="0.3").status == "Completed"
    failed = run(tmp_path, src, ["a", "b"], fmt=fmt, spark=spark, max_rejected_fraction="0.25")
    assert failed.status == "Failed" and failed.records == 70
    assert failed.message == ("Failed: 30 of 100 record(s) in window [2026-11-20T10:00:00Z, 2026-11-20T11:00:00Z) "
                              "rejected (malformed_json: 30), a share of 0.3, more than max_rejected_fraction 0.25; "
                              "70 profiled; 50 skipped (outside_window: 50).")
    doc = summary(tmp_path)
    assert doc["status"] == "Failed" and doc["records_profiled"] == 70 and doc["records_rejected"] == {
        "malformed_json": 30}
    with pytest.raises(ConfigError, match="max_rejected_fraction must be between 0 and 1, got '1.5'"):
        run(tmp_path, src, ["a", "b"], fmt=fmt, spark=spark, max_rejected_fraction="1.5")


def test_a_window_of_skipped_lines_only_stays_no_data(spark, tmp_path):
    lines = ["", "  ", capture_line("1,1", None, "2026-11-20T12:00:00Z"),
             capture_line("1,1", None, when(1), invocationSource="ShadowExperiment")]
    (hour_dir(tmp_path / "capture") / "a.jsonl").write_text("\n".join(lines) + "\n")
    outcome = run(tmp_path, tmp_path / "capture", ["a", "b"], spark=spark)
    assert outcome.status == "NoData" and outcome.rejected == {}
    assert outcome.skipped == {"blank_line": 2, "outside_window": 1, "shadow_experiment": 1}
    assert outcome.message.startswith("Completed: No data in window")


def test_model_quality_window_of_rejected_records_fails(spark, tmp_path):
    """The same rule for model quality: merged records of the window, every one rejected (gzip bytes)."""
    text = "".join(json.dumps({**json.loads(capture_line("1,2", f"{i}.5", when(i))),
                               "groundTruthData": {"data": f"{i}", "encoding": "CSV"}}) + "\n" for i in range(300))
    path = hour_dir(tmp_path / "merged") / "merged-00000.jsonl"
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    merged = '{"sagemakerMergeJson": {"captureIndexNames": ["endpointOutput"]}}'
    config = {"dataset_source": str(tmp_path / "merged"), "dataset_format": merged,
              "output_path": str(tmp_path / "out"), "problem_type": "Regression", "inference_attribute": "0",
              "baseline_constraints": str(FIXTURES / "sdk-pipeline-mq-regression" / "good_cases" / "constraints.json"),
              **WINDOW}
    outcome = run_job("model-quality", config, spark=spark)
    assert outcome.status == "Failed" and outcome.records == 0
    assert sum(outcome.rejected.values()) + sum(outcome.skipped.values()) == lines_of(path)
    assert "none could be evaluated" in outcome.message and "invalid_utf8: " in outcome.message
    assert summary(tmp_path)["status"] == "Failed"
