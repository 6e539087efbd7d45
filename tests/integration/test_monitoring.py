"""The data-quality monitoring run end to end: capture files → Spark decoding → profile → checks → reports.

References: the real SageMaker fixtures (statistics.json, good/bad constraints, capture samples),
pandas/numpy over the same values, scipy's exact two-sample KS statistic.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FIXTURES, capture_line, simple_constraints
from scipy import stats as sps

from monitor_lib.checks.data_quality import check_data_quality
from monitor_lib.cli import main
from monitor_lib.formats.constraints import parse_constraints
from monitor_lib.formats.statistics import read_statistics
from monitor_lib.profile.state import read_profile
from monitor_lib.runner import run_job

DQ = FIXTURES / "sdk-pipeline-dq-baseline"
SAMPLES = FIXTURES / "sdk-capture-and-groundtruth-samples"
WINDOW = {"start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
CAPTURE_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'


def hour_dir(root: Path, hour: int = 10) -> Path:
    d = root / "my-endpoint" / "AllTraffic" / "2026" / "11" / "20" / f"{hour:02d}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_json(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def monitor(tmp: Path, capture: Path, constraints: Path, statistics: Path | None = None, **params):
    config = ({
        "dataset_source": str(capture), "dataset_format": CAPTURE_FORMAT, "output_path": str(tmp / "out"),
        "baseline_constraints": str(constraints), "baseline_statistics": str(statistics) if statistics else None,
        **WINDOW, **params})
    return run_job("data-quality", config)


def dq_rows() -> list[list[str]]:
    with open(DQ / "baseline_dataset.csv", newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def dq_capture(root: Path) -> Path:
    """The SDK's data-quality baseline rows sent back as CSV captures: _c0 is the model output (START)."""
    lines = [capture_line(",".join(r[1:]), r[0], f"2026-11-20T10:{i % 60:02d}:{i % 7:02d}Z", event_id=str(i))
             for i, r in enumerate(dq_rows())]
    write_lines(hour_dir(root) / "00-00-000-a.jsonl", lines[:60])
    write_lines(hour_dir(root) / "30-00-000-b.jsonl", lines[60:])
    return root


# ---------------------------------------------------------------- conformance with the real container


def test_real_baseline_rows_as_captures_give_no_violation(spark, tmp_path):
    result = monitor(tmp_path, dq_capture(tmp_path / "capture"), DQ / "good_cases" / "constraints.json",
                     DQ / "statistics.json")
    assert result.message == "Completed: Job completed successfully with no violations."
    assert json.loads((tmp_path / "out" / "constraint_violations.json").read_text()) == {"violations": []}
    assert result.records == 100 and result.rejected == {} and result.skipped == {}
    # the window's statistics are the real container's numbers for the same rows
    ours, real = read_statistics(tmp_path / "out" / "statistics.json"), read_statistics(DQ / "statistics.json")
    assert ours.item_count == real.item_count == 100
    for f in real.features:
        mine = ours.feature(f.name)
        assert mine.inferred_type == f.inferred_type
        for key in ("num_present", "num_missing", "mean", "sum", "min", "max"):
            assert getattr(mine.numerical, key) == pytest.approx(getattr(f.numerical, key), rel=1e-12), (f.name, key)
        assert mine.numerical.std_dev == pytest.approx(f.numerical.std_dev, rel=1e-9)
    assert [f.drift_distance for f in result.artifacts.check.features] == [0.0] * 6
    # the baseline constraints are re-emitted unchanged
    assert (json.loads((tmp_path / "out" / "constraints.json").read_text())
            == json.loads((DQ / "good_cases" / "constraints.json").read_text()))


def test_real_bad_cases_give_exactly_one_data_type_violation_on_c5(spark, tmp_path):
    result = monitor(tmp_path, dq_capture(tmp_path / "capture"), DQ / "bad_cases" / "constraints.json",
                     DQ / "statistics.json")
    assert json.loads((tmp_path / "out" / "constraint_violations.json").read_text()) == {"violations": [{
        "feature_name": "_c5", "constraint_check_type": "data_type_check",
        "description": "Data type match requirement is not met. Expected data type: String, Expected match: "
                       "100.0%. Observed: Only 0.0% of data is String."}]}
    assert result.message == "CompletedWithViolations: Job completed successfully with 1 violations."


def test_sdk_capture_samples_decode(spark, tmp_path):
    # capture.jsonl: 7 CSV input fields + 1 CSV output per record; its inferenceTime is a template
    names = ["prediction"] + [f"f{i}" for i in range(7)]
    text = (SAMPLES / "capture.jsonl").read_text().replace("{%s}", "2026-11-20T10:30:00Z")
    (hour_dir(tmp_path / "a") / "capture.jsonl").write_text(text)
    constraints = write_json(tmp_path / "c.json", simple_constraints(names))
    result = monitor(tmp_path, tmp_path / "a", constraints)
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    inputs = pd.DataFrame([[float(v) for v in r["captureData"]["endpointInput"]["data"].split(",")] for r in records],
                          columns=names[1:])
    inputs.insert(0, "prediction", [float(r["captureData"]["endpointOutput"]["data"]) for r in records])
    stats = read_statistics(tmp_path / "out" / "statistics.json")
    assert result.records == len(records) == stats.item_count and result.rejected == {}
    assert [f.name for f in stats.features] == names
    for name in names:
        n = stats.feature(name).numerical
        assert (n.sum, n.min, n.max) == (pytest.approx(inputs[name].sum(), rel=1e-12), inputs[name].min(),
                                         inputs[name].max())
    assert stats.feature("prediction").inferred_type == "Fractional"
    assert stats.feature("f0").inferred_type == "Integral"

    # captured-data.jsonl: TF-Serving JSON, {"instances": [1.0, 2.0, 5.0]} -> three one-value records
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "captured-data.jsonl").write_text((SAMPLES / "captured-data.jsonl").read_text())
    constraints = write_json(tmp_path / "c2.json", simple_constraints(["y", "x"]))
    result = monitor(tmp_path / "run2", tmp_path / "b", constraints, start_time="2019-11-24T00:00:00Z",
                     end_time="2019-11-25T00:00:00Z")
    stats = read_statistics(tmp_path / "run2" / "out" / "statistics.json")
    assert result.records == 6 and result.rejected == {}
    assert stats.feature("x").numerical.sum == 2 * (1.0 + 2.0 + 5.0)
    assert stats.feature("y").numerical.sum == 2 * (3.5 + 4.0 + 5.5)
    assert result.violations == []


# ---------------------------------------------------------------- the window


def test_only_overlapping_hour_folders_are_read_and_records_filtered_by_time(spark, tmp_path):
    root = tmp_path / "capture"
    names = ["y", "a"]

    def rec(t, v):
        return capture_line(str(v), "0.5", t)

    write_lines(hour_dir(root, 10) / "x.jsonl", [
        rec("2026-11-20T09:59:59Z", 1), rec("2026-11-20T10:00:00Z", 2), rec("2026-11-20T10:59:59Z", 3),
        rec("2026-11-20T11:00:00Z", 4)])
    # folders of other hours are never opened: these files would fail the run if Spark read them
    for hour in (9, 11):
        (hour_dir(root, hour) / "x.jsonl.gz").write_bytes(b"not gzip")
    (root / "my-endpoint" / "AllTraffic" / "2026" / "10").mkdir(parents=True)
    (root / "my-endpoint" / "AllTraffic" / "2026" / "10" / "x.jsonl.gz").write_bytes(b"not gzip")
    # a file outside the date layout is read, its records filtered by time
    write_lines(root / "flat.jsonl", [rec("2026-11-20T10:30:00Z", 5), rec("2026-11-21T10:30:00Z", 6)])
    result = monitor(tmp_path, root, write_json(tmp_path / "c.json", simple_constraints(names, "Integral")))
    assert result.files_read == 2
    assert result.records == 3 and result.skipped == {"outside_window": 3}
    stats = read_statistics(tmp_path / "out" / "statistics.json")
    assert stats.feature("a").numerical.sum == 2 + 3 + 5


def test_empty_window_is_a_clear_outcome(spark, tmp_path, capsys):
    root = dq_capture(tmp_path / "capture")
    out = tmp_path / "out"
    out.mkdir()
    (out / "constraint_violations.json").write_text('{"violations": []}')  # a stale report of an earlier run
    code = main(["-q", "monitor", "--dataset", str(root), "--baseline-constraints",
                 str(DQ / "good_cases" / "constraints.json"), "--output", str(out),
                 "--start-time", "2026-11-20T12:00:00Z", "--end-time", "2026-11-20T13:00:00Z"])
    assert code == 0
    message = ("Completed: No data in window [2026-11-20T12:00:00Z, 2026-11-20T13:00:00Z): "
               f"no capture files under {root} for this window.")
    assert message in capsys.readouterr().out
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "NoData" and summary["records_profiled"] == 0 and summary["message"] == message
    assert not (out / "constraint_violations.json").exists()

    # files in the window, every record outside it: still no data
    write_lines(hour_dir(root, 12) / "late.jsonl", [capture_line("1", "2", "2026-11-20T13:05:00Z"), ""])
    assert main(["-q", "monitor", "--dataset", str(root), "--baseline-constraints",
                 str(DQ / "good_cases" / "constraints.json"), "--output", str(out),
                 "--start-time", "2026-11-20T12:00:00Z", "--end-time", "2026-11-20T13:00:00Z"]) == 0
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["message"] == ("Completed: No data in window [2026-11-20T12:00:00Z, 2026-11-20T13:00:00Z): "
                                  "1 capture file(s) read, no record to profile: "
                                  "2 skipped (blank_line: 1, outside_window: 1).")
    # ... and one broken: the window could not be read, a failure (issue 17; exit code 3)
    write_lines(hour_dir(root, 12) / "late.jsonl", [capture_line("1", "2", "2026-11-20T13:05:00Z"), "{oops"])
    assert main(["-q", "monitor", "--dataset", str(root), "--baseline-constraints",
                 str(DQ / "good_cases" / "constraints.json"), "--output", str(out),
                 "--start-time", "2026-11-20T12:00:00Z", "--end-time", "2026-11-20T13:00:00Z"]) == 3
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "Failed"
    assert summary["message"] == ("Failed: 1 of 1 record(s) in window [2026-11-20T12:00:00Z, 2026-11-20T13:00:00Z) "
                                  "rejected (malformed_json: 1), none could be profiled; "
                                  "1 skipped (outside_window: 1).")


# ---------------------------------------------------------------- decoding and bad input


def test_payload_shapes_and_bad_records_are_counted_by_kind(spark, tmp_path):
    names = ["y", "a", "b"]
    t = "2026-11-20T10:20:00Z"
    js = {"in_encoding": "JSON", "in_type": "application/json"}
    jout = {"out_encoding": "JSON", "out_type": "application/json"}
    good = [
        capture_line("1,2", "0.5"),                                                   # y=0.5 a=1 b=2
        capture_line("3,4\n", "0.25"),                                                # trailing newline
        capture_line('"5",6\r\n7,8', "0.1\n0.2"),                                     # two records, quoted field
        capture_line(base64.b64encode(b"9,10").decode(), "0.3", in_encoding="BASE64"),
        capture_line(json.dumps({"a": 11, "b": 12, "zz": "new"}), "0.4", **js),       # by key + an extra key
        capture_line(json.dumps({"instances": [[13, 14], [15, 16]]}), json.dumps({"predictions": [0.6, 0.7]}),
                     **js, **jout),
        capture_line(json.dumps([17, 18]), "0.8", **js),                              # bare array: one record
        capture_line(json.dumps({"instances": [{"features": [19, 20]}]}), "0.9", **js),
        capture_line('{"a": 21, "b": 22}\n{"a": 23, "b": null}', "1.0\n1.1",
                     in_encoding="JSON", in_type="application/jsonlines"),
    ]
    bad = {
        "malformed_json": ["this is not json", "[1, 2]"],
        "not_a_capture_record": [json.dumps({"hello": "world"})],
        "missing_inference_time": [capture_line("1,2", "0.5", None), capture_line("1,2", "0.5", "yesterday")],
        "invalid_base64": [capture_line("@@@", "0.5", in_encoding="BASE64")],
        "invalid_utf8": [capture_line(base64.b64encode(b"\xff\xfe,1").decode(), "0.5", in_encoding="BASE64")],
        "wrong_field_count": [capture_line("1,2,3", "0.5"), capture_line("1", "0.5")],
        "malformed_payload": [capture_line("{not json", "0.5", **js)],
        "unsupported_content_type": [capture_line(base64.b64encode(b"<b>").decode(), "0.5", in_encoding="BASE64",
                                                  in_type="text/html")],
        "record_count_mismatch": [capture_line("1,2\n3,4", "0.5")],
    }
    skipped = [capture_line("1,2", "0.5", t, invocationSource="ShadowExperiment"),
               capture_line(json.dumps({"instances": []}), json.dumps({"predictions": []}), **js, **jout)]
    root = tmp_path / "capture"
    write_lines(hour_dir(root) / "good.jsonl", good + skipped)
    bad_file = write_lines(hour_dir(root) / "bad.jsonl", [line for lines in bad.values() for line in lines])
    with open(bad_file, "ab") as fh:  # a raw line that is not UTF-8 at all
        fh.write(b'{"captureData": {"endpointInput": {"data": "1,\xff", "encoding": "CSV"}}}\n')
    constraints = write_json(tmp_path / "c.json", simple_constraints(names))
    result = monitor(tmp_path, root, constraints)

    expected_bad = {k: len(v) for k, v in bad.items()}
    expected_bad["invalid_utf8"] += 1
    assert result.rejected == dict(sorted(expected_bad.items()))
    assert result.skipped == {"empty_payload": 1, "shadow_experiment": 1}
    stats = read_statistics(tmp_path / "out" / "statistics.json")
    a = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]
    b = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]
    y = [0.5, 0.25, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]
    assert result.records == stats.item_count == len(a)
    for name, values in (("a", a), ("b", b), ("y", y)):
        n = stats.feature(name).numerical
        assert (n.num_present, n.sum, n.min, n.max) == (len(values), pytest.approx(sum(values)), min(values),
                                                        max(values)), name
    assert [f.name for f in stats.features] == ["y", "a", "b", "zz"]
    found = {(v.constraint_check_type, v.feature_name) for v in result.violations}
    assert found == {("completeness_check", "b"), ("extra_column_check", "zz")}

    sample = [json.loads(line)
              for line in (tmp_path / "out" / "rejected_records_sample.jsonl").read_text().splitlines()]
    assert len(sample) == sum(expected_bad.values())
    assert {s["kind"] for s in sample} == set(expected_bad)
    assert all(s["file"].endswith("bad.jsonl") for s in sample)
    assert {s["record"] for s in sample if s["kind"] == "wrong_field_count"} == set(bad["wrong_field_count"])
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["records_rejected"] == result.rejected and summary["records_skipped"] == result.skipped


def test_output_columns_position_end_and_input_only_capture(spark, tmp_path):
    root = tmp_path / "capture"
    write_lines(hour_dir(root) / "x.jsonl", [capture_line("1,2", "0.5"), capture_line("3,4", "0.25")])
    constraints = write_json(tmp_path / "c.json", simple_constraints(["a", "b", "y"]))
    monitor(tmp_path, root, constraints, output_columns_position="END")
    stats = read_statistics(tmp_path / "out" / "statistics.json")
    assert [stats.feature(n).numerical.sum for n in ("a", "b", "y")] == [4.0, 6.0, 0.75]
    # only the input captured: the label column is missing, the inputs keep their names
    result = monitor(tmp_path / "in-only", root, constraints, output_columns_position="END",
                     dataset_format='{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}')
    assert [(v.constraint_check_type, v.feature_name) for v in result.violations] == [("missing_column_check", "y")]
    assert result.violations[0].description == ("Column presence requirement is not met. Expected column: y. "
                                                "Observed: the column is missing from the current data.")


# ---------------------------------------------------------------- drift against scipy's exact KS


def test_drift_distances_agree_with_exact_ks(spark, tmp_path):
    n = 100_000
    rng = np.random.default_rng(5)
    base = pd.DataFrame({c: rng.normal(0.0, 1.0, n) for c in ("shift", "scale", "mixture", "same")})
    cur = pd.DataFrame({
        "shift": rng.normal(0.4, 1.0, n),
        "scale": rng.normal(0.0, 1.3, n),
        "mixture": np.where(rng.random(n) < 0.7, rng.normal(0.0, 1.0, n), rng.normal(2.0, 0.5, n)),
        "same": rng.normal(0.0, 1.0, n),
    })
    base.insert(0, "y", rng.random(n))
    cur.insert(0, "y", base["y"].to_numpy()[rng.permutation(n)])  # the output: same values, shuffled
    base.to_csv(tmp_path / "train.csv", index=False)
    assert main(["-q", "baseline", "--dataset", str(tmp_path / "train.csv"), "--format", "csv", "--header",
                 "--output", str(tmp_path / "baseline")]) == 0
    root = tmp_path / "capture"
    inputs = cur[["shift", "scale", "mixture", "same"]].astype(str).agg(",".join, axis=1)
    lines = [capture_line(i, repr(float(o)), f"2026-11-20T10:{k % 60:02d}:00Z")
             for k, (i, o) in enumerate(zip(inputs, cur["y"], strict=True))]
    write_lines(hour_dir(root) / "x.jsonl", lines)
    result = monitor(tmp_path, root, tmp_path / "baseline" / "constraints.json",
                     tmp_path / "baseline" / "statistics.json")

    exact = {c: sps.ks_2samp(base[c], cur[c]).statistic for c in ("y", "shift", "scale", "mixture", "same")}
    robust = 1.8 * math.sqrt(2 * n / (n * n))
    expected = {c for c, d in exact.items() if d - robust > 0.1}
    assert expected == {"shift", "mixture"}  # the reference decides which features drift at the defaults
    assert {v.feature_name for v in result.violations} == expected
    assert {v.constraint_check_type for v in result.violations} == {"baseline_drift_check"}

    # Simple L-inf from the two sketches, recomputed from the run's profile state, vs the exact KS statistic
    constraints = parse_constraints({
        **json.loads((tmp_path / "baseline" / "constraints.json").read_text()),
        "monitoring_config": {"distribution_constraints": {"comparison_method": "Simple"}}})
    simple = check_data_quality(constraints, read_statistics(tmp_path / "baseline" / "statistics.json"),
                                read_profile(tmp_path / "out" / "profile.json"))
    for f in simple.features:
        assert f.drift.method == "linf_simple"
        assert abs(f.drift_distance - exact[f.name]) < 0.01, (f.name, f.drift_distance, exact[f.name])
    for v in result.violations:
        d = next(f.drift for f in result.artifacts.check.features if f.name == v.feature_name)
        assert v.description == f"Baseline drift distance: {d.distance!r} exceeds threshold: 0.1"


def test_monitor_from_yaml_with_flag_override(spark, tmp_path, capsys):
    root = dq_capture(tmp_path / "capture")
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"dataset_source: {root}\n"
        "dataset_format: {sagemakerCaptureJson: {captureIndexNames: [endpointInput, endpointOutput]}}\n"
        f"baseline_statistics: {DQ / 'statistics.json'}\n"
        f"baseline_constraints: {DQ / 'bad_cases' / 'constraints.json'}\n"
        "start_time: 2026-11-20T10:00:00Z\n"  # YAML reads this as a timestamp: accepted too
        "end_time: '2026-11-20T11:00:00Z'\n"
        f"output_path: {tmp_path / 'ignored'}\n"
        "sagemaker_endpoint_name: ep\nsagemaker_monitoring_schedule_name: hourly\n"
        "publish_cloudwatch_metrics: Enabled\n"
        f"CLOUDWATCH_METRICS_DIRECTORY: {tmp_path / 'cw'}\n")
    assert main(["-q", "monitor", "--config", str(cfg), "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "CompletedWithViolations: Job completed successfully with 1 violations." in printed
    assert "data_type_check: 1" in printed and str(tmp_path / "out") in printed
    assert not (tmp_path / "ignored").exists()
    metric = json.loads((tmp_path / "cw" / "cloudwatch_metrics.jsonl").read_text().splitlines()[0])
    assert metric["Timestamp"] == "2026-11-20T10:00:00Z"
    assert metric["Dimensions"] == [{"Name": "Endpoint", "Value": "ep"},
                                    {"Name": "MonitoringSchedule", "Value": "hourly"}]
    bad = tmp_path / "bad.yaml"
    bad.write_text("baseline_constraint: x\n")
    assert main(["-q", "monitor", "--config", str(bad)]) == 2
    assert "unknown key(s) baseline_constraint" in capsys.readouterr().err


def test_batch_dataset_monitoring_csv(spark, tmp_path):
    """Batch-transform style: the monitored data is a plain CSV dataset, not capture JSON."""
    result = monitor(tmp_path, DQ / "baseline_dataset.csv", DQ / "bad_cases" / "constraints.json",
                     DQ / "statistics.json", dataset_format='{"csv": {"header": false}}', start_time=None,
                     end_time=None)
    assert result.records == 100 and result.files_read == 1
    assert [(v.feature_name, v.constraint_check_type) for v in result.violations] == [("_c5", "data_type_check")]
    assert [f.drift_distance for f in result.artifacts.check.features[:5]] == [0.0] * 5
