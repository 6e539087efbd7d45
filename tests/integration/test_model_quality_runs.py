"""Model-quality runs end to end: conformance with the real regression fixture, monitoring of merged
records (sagemakerMergeJson), bad records, empty windows, the merger then the analyzer through `analyze`
(the container's entrypoint from processingjobconfig.json alone: test_container_contract.py)."""

from __future__ import annotations

import base64
import json
import math

import pandas as pd
import pytest
from helpers import FIXTURES, capture_line

from monitor_lib.monitors.model_quality import ModelQualityParams
from monitor_lib.params import from_params
from monitor_lib.runner import run_job

MQ = FIXTURES / "sdk-pipeline-mq-regression"
HOUR = "2026-11-20T10"


def merged_line(out: str, label: str | None, time: str = f"{HOUR}:15:00Z", *, out_type: str = "text/csv",
                out_encoding: str = "CSV", label_encoding: str = "CSV", **meta) -> str:
    """A sagemakerMergeJson record: a capture record plus groundTruthData."""
    record = json.loads(capture_line("1,2,3", out, time, out_type=out_type, out_encoding=out_encoding, **meta))
    if label is not None:
        record["groundTruthData"] = {"data": label, "encoding": label_encoding}
    return json.dumps(record)


def write_merged(root, lines: list[str], hour: str = "2026/11/20/10") -> None:
    folder = root / "endpoint" / "AllTraffic" / hour
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "merged-00000.jsonl").write_text("\n".join(lines) + "\n")


def fixture_as_merged(root) -> pd.DataFrame:
    """The fixture's 100 rows as merged records: the prediction (Label, as the SDK job named it) is the
    endpoint's CSV output, the ground truth (Prediction) the label."""
    df = pd.read_csv(MQ / "baseline_dataset.csv")
    lines = [merged_line(repr(float(r.Label)), repr(float(r.Prediction)), event_id=f"e{i}")
             for i, r in enumerate(df.itertuples())]
    write_merged(root, lines)
    return df


def model_quality_config_from_params(params: dict) -> ModelQualityParams:
    return from_params(ModelQualityParams, params, "parameters", strict=False)

def mq_config(tmp_path, source, **params):
    base = {"dataset_source": str(source), "dataset_format": '{"sagemakerMergeJson": {"captureIndexNames": '
            '["endpointOutput"]}}', "output_path": str(tmp_path / "out"), "problem_type": "Regression",
            "inference_attribute": "0", "start_time": f"{HOUR}:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
    base.update(params)
    return model_quality_config_from_params(base)


@pytest.mark.parametrize("case, expected", [("good_cases", []), ("bad_cases", ["mse"])])
def test_monitoring_merged_records_against_the_fixture_constraints(spark, tmp_path, case, expected):
    df = fixture_as_merged(tmp_path / "merged")
    metrics_dir = tmp_path / "cw"
    config = mq_config(tmp_path, tmp_path / "merged", baseline_constraints=str(MQ / case / "constraints.json"),
                       publish_cloudwatch_metrics="Enabled", CLOUDWATCH_METRICS_DIRECTORY=str(metrics_dir),
                       sagemaker_endpoint_name="abalone", sagemaker_monitoring_schedule_name="hourly")
    result = run_job("model-quality", config, spark=spark)
    real = json.loads((MQ / "statistics.json").read_text())["regression_metrics"]
    ours = json.loads((tmp_path / "out" / "statistics.json").read_text())["regression_metrics"]
    assert ours == real
    violations = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())["violations"]
    assert [v["metric_name"] for v in violations] == expected
    if expected:
        assert violations == [{"metric_name": "mse", "constraint_check_type": "GreaterThanThreshold",
                               "description": "Metric mse with 0.33364933609800973 was GreaterThanThreshold "
                                              "0.03364933609800973"}]
        assert result.message == "CompletedWithViolations: Job completed successfully with 1 violations."
    else:
        assert result.message == "Completed: Job completed successfully with no violations."
    assert (tmp_path / "out" / "constraints.json").read_text() == (MQ / case / "constraints.json").read_text()
    # CloudWatch model metrics: one datum per metric, pandas as the reference
    e = df["Prediction"] - df["Label"]
    mse = float((e * e).mean())
    lines = [json.loads(x) for x in (metrics_dir / "cloudwatch_metrics.jsonl").read_text().splitlines()]
    by_name = {m["MetricName"]: m for m in lines}
    assert sorted(by_name) == ["mae", "mse", "r2", "rmse"]
    assert math.isclose(by_name["mse"]["Value"], mse, rel_tol=1e-12)
    assert math.isclose(by_name["mae"]["Value"], float(e.abs().mean()), rel_tol=1e-12)
    assert by_name["rmse"]["Timestamp"] == f"{HOUR}:00:00Z"
    assert by_name["rmse"]["Dimensions"] == [{"Name": "Endpoint", "Value": "abalone"},
                                             {"Name": "MonitoringSchedule", "Value": "hourly"}]
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["status"] == result.status and summary["records_evaluated"] == 100


def test_merged_records_json_paths_base64_and_bad_records(spark, tmp_path):
    """Binary classification from JSON outputs (probability by JSON path), every rejection kind counted."""
    def out(score):
        return json.dumps({"predictions": [{"score": score, "label": int(score >= 0.5)}]})

    good = [(0.9, "1"), (0.8, "0"), (0.6, "1"), (0.4, "1"), (0.3, "0"), (0.1, "0"), (0.7, "1")]
    lines = [merged_line(out(s), y, out_type="application/json", out_encoding="JSON", event_id=f"g{i}")
             for i, (s, y) in enumerate(good)]
    # the same JSON, base64-encoded
    lines.append(merged_line(base64.b64encode(out(0.2).encode()).decode(), "1", out_type="application/json",
                             out_encoding="BASE64", event_id="b64"))
    bad = [
        merged_line(out(0.5), None, out_type="application/json", out_encoding="JSON"),  # missing_ground_truth
        merged_line(out(0.5), "maybe", out_type="application/json", out_encoding="JSON"),  # invalid_label
        merged_line(json.dumps({"predictions": [{}]}), "1", out_type="application/json",
                    out_encoding="JSON"),  # missing_probability
        merged_line(json.dumps({"predictions": [{"score": "high"}]}), "1", out_type="application/json",
                    out_encoding="JSON"),  # non_numeric_probability
        "{not json",  # malformed_json
        merged_line(out(0.5), "1", time=None, out_type="application/json", out_encoding="JSON"),
    ]
    skipped = [merged_line(out(0.5), "1", time="2026-11-20T12:00:00Z", out_type="application/json",
                           out_encoding="JSON")]
    write_merged(tmp_path / "merged", lines + bad + skipped)
    config = mq_config(tmp_path, tmp_path / "merged", problem_type="BinaryClassification",
                       inference_attribute="", probability_attribute="$.predictions[0].score",
                       probability_threshold_attribute="0.5")
    result = run_job("model-quality", config, spark=spark)
    t = result.artifacts.tallies
    assert t.records == 8
    assert t.rejected == {"invalid_label": 1, "malformed_json": 1, "missing_ground_truth": 1,
                          "missing_inference_time": 1, "missing_probability": 1, "non_numeric_probability": 1}
    assert t.skipped == {"outside_window": 1}
    m = json.loads((tmp_path / "out" / "statistics.json").read_text())["binary_classification_metrics"]
    # scores 0.9 .. 0.1 and 0.2 (base64); labels as listed: a pandas / sklearn reference
    from sklearn.metrics import confusion_matrix, roc_auc_score

    scores = [s for s, _ in good] + [0.2]
    labels = [int(y) for _, y in good] + [1]
    pred = [int(s >= 0.5) for s in scores]
    (tn, fp), (fn, tp) = confusion_matrix(labels, pred)
    assert m["confusion_matrix"] == {"0": {"0": int(tn), "1": int(fp)}, "1": {"0": int(fn), "1": int(tp)}}
    assert math.isclose(m["auc"]["value"], roc_auc_score(labels, scores), rel_tol=1e-12)
    assert m["auc"]["standard_deviation"] == "NaN"  # fewer than 200 records
    sample = [json.loads(x) for x in (tmp_path / "out" / "rejected_records_sample.jsonl").read_text().splitlines()]
    assert sorted(s["kind"] for s in sample) == sorted(t.rejected)
    assert all(s["file"].endswith("merged-00000.jsonl") for s in sample)


def test_no_labels_in_the_window_is_a_clear_outcome(spark, tmp_path):
    write_merged(tmp_path / "merged", [merged_line("1.0", "2.0")], hour="2026/11/20/09")
    # a stale report from an earlier run of the same window is removed
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "constraint_violations.json").write_text("{}")
    config = mq_config(tmp_path, tmp_path / "merged", baseline_constraints=str(MQ / "good_cases" / "constraints.json"))
    result = run_job("model-quality", config, spark=spark)
    assert result.status == "NoData"
    assert result.message == (f"Completed: No data in window [{HOUR}:00:00Z, 2026-11-20T11:00:00Z): "
                              f"no merged records under {tmp_path / 'merged'} for this window.")
    assert not (tmp_path / "out" / "constraint_violations.json").exists()
    assert json.loads((tmp_path / "out" / "run_summary.json").read_text())["status"] == "NoData"


def test_configuration_errors_name_the_field(tmp_path):
    from monitor_lib.errors import ConfigError

    base = {"dataset_source": "d.csv", "dataset_format": '{"csv": {"header": true}}', "output_path": "o"}
    with pytest.raises(ConfigError, match="problem_type must be one of BinaryClassification"):
        model_quality_config_from_params({**base, "problem_type": "Ranking"})
    with pytest.raises(ConfigError, match="Regression needs inference_attribute"):
        model_quality_config_from_params({**base, "problem_type": "Regression", "ground_truth_attribute": "y"})
    with pytest.raises(ConfigError, match="ground_truth_attribute is required for a csv dataset"):
        model_quality_config_from_params({**base, "problem_type": "Regression", "inference_attribute": "p"})
    with pytest.raises(ConfigError, match="probability_threshold_attribute must be a number, got 'half'"):
        model_quality_config_from_params({**base, "problem_type": "BinaryClassification",
                                          "probability_attribute": "p", "probability_threshold_attribute": "half"})


def test_unknown_attribute_names_the_columns(spark, tmp_path):
    from monitor_lib.errors import ConfigError

    config = model_quality_config_from_params({
        "dataset_source": str(MQ / "baseline_dataset.csv"), "dataset_format": '{"csv": {"header": true}}',
        "output_path": str(tmp_path / "out"), "problem_type": "Regression", "inference_attribute": "Labl",
        "ground_truth_attribute": "Prediction"})
    with pytest.raises(ConfigError, match=r"inference_attribute 'Labl' is not a column of .*\(F1, F2, F3, F4, F5, F6, "
                                          r"F7, Label, Prediction\)"):
        run_job("model-quality", config, spark=spark)


def test_merger_container_then_analyzer_container(spark, tmp_path, monkeypatch):
    """The platform's two jobs through `model-monitor analyze`: the merger (ground_truth_source set) writes
    merged records; the analyzer (analysis_type=MODEL_QUALITY, sagemakerMergeJson) reads them back."""
    from monitor_lib.cli import main

    df = pd.read_csv(MQ / "baseline_dataset.csv")
    capture = tmp_path / "input_data" / "abalone-endpoint" / "AllTraffic" / "2026" / "11" / "20" / "10"
    capture.mkdir(parents=True)
    lines, labels = [], []
    for i, r in enumerate(df.itertuples()):
        # half of the requests carry an inferenceId: their label is keyed by it, the others by eventId
        meta = {"inferenceId": f"inf-{i}"} if i % 2 else {}
        lines.append(capture_line("1,2,3", repr(float(r.Label)), f"{HOUR}:{i % 60:02d}:00Z", event_id=f"ev-{i}",
                                  **meta))
        key = f"inf-{i}" if i % 2 else f"ev-{i}"
        labels.append(json.dumps({"groundTruthData": {"data": repr(float(r.Prediction)), "encoding": "CSV"},
                                  "eventMetadata": {"eventId": key}, "eventVersion": "0"}))
    (capture / "capture.jsonl").write_text("\n".join(lines) + "\n")
    late = tmp_path / "groundtruth" / "2026" / "11" / "21" / "09"  # uploaded the next day
    late.mkdir(parents=True)
    (late / "0000.jsonl").write_text("\n".join(labels[:-1]) + "\n")  # the last prediction is never labelled
    (late / "0001.jsonl").write_text(labels[0] + "\n" + json.dumps(
        {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "stranger"}}) + "\n")

    def analyze(env: dict) -> str:
        root = tmp_path / f"opt_ml_{len(list(tmp_path.glob('opt_ml_*')))}"
        (root / "config").mkdir(parents=True)
        (root / "config" / "processingjobconfig.json").write_text(json.dumps({"Environment": env}))
        monkeypatch.setenv("MODEL_MONITOR_OPT_ML", str(root))
        assert main(["analyze"]) == 0
        return (root / "output" / "message").read_text()

    merged = tmp_path / "merge"
    message = analyze({"dataset_source": str(tmp_path / "input_data"),
                       "ground_truth_source": str(tmp_path / "groundtruth"),
                       "output_path": str(merged), "start_time": f"{HOUR}:00:00Z", "end_time": "2026-11-20T11:00:00Z"})
    assert message == ("Completed: Merged 99 of 100 predictions with ground truth (1 without a label, "
                       "1 unmatched labels, 1 duplicate labels).")
    summary = json.loads((merged / "_merge_summary.json").read_text())
    # #99 (inferenceId) unlabelled
    assert (summary["matched_by_inference_id"], summary["matched_by_event_id"]) == (49, 50)
    assert sorted(p.relative_to(merged).parent.as_posix() for p in merged.rglob("merged-*.jsonl")) == [
        "abalone-endpoint/AllTraffic/2026/11/20/10"]

    message = analyze({"analysis_type": "MODEL_QUALITY", "problem_type": "Regression", "inference_attribute": "0",
                       "dataset_source": str(merged), "output_path": str(tmp_path / "report"),
                       "dataset_format": '{"sagemakerMergeJson": {"captureIndexNames": ["endpointOutput"]}}',
                       "baseline_constraints": str(MQ / "bad_cases" / "constraints.json"),
                       "start_time": f"{HOUR}:00:00Z", "end_time": "2026-11-20T11:00:00Z"})
    assert message == "CompletedWithViolations: Job completed successfully with 1 violations."
    kept = df.iloc[:-1]
    e = kept["Prediction"] - kept["Label"]
    stats = json.loads((tmp_path / "report" / "statistics.json").read_text())
    assert stats["dataset"]["item_count"] == 99
    assert math.isclose(stats["regression_metrics"]["mse"]["value"], float((e * e).mean()), rel_tol=1e-12)
    assert math.isclose(stats["regression_metrics"]["mae"]["value"], float(e.abs().mean()), rel_tol=1e-12)


def test_monitor_command_merges_and_reports_no_labels_yet(spark, tmp_path, capsys):
    """`model-monitor monitor --analysis-type model-quality --ground-truth …` before any label arrived."""
    from monitor_lib.cli import main

    capture = tmp_path / "capture" / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    capture.mkdir(parents=True)
    (capture / "c.jsonl").write_text("\n".join(capture_line("1", "0.5", event_id=f"e{i}") for i in range(3)) + "\n")
    (tmp_path / "labels").mkdir()
    code = main(["monitor", "--analysis-type", "model-quality", "--problem-type", "Regression",
                 "--dataset", str(tmp_path / "capture"), "--ground-truth", str(tmp_path / "labels"),
                 "--inference-attribute", "0", "--baseline-constraints", str(MQ / "good_cases" / "constraints.json"),
                 "--start-time", f"{HOUR}:00:00Z", "--end-time", "2026-11-20T11:00:00Z",
                 "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == (f"Completed: No data in window [{HOUR}:00:00Z, 2026-11-20T11:00:00Z): none of the "
                                   f"3 predictions has a ground-truth label yet (0 label(s) read from "
                                   f"{tmp_path / 'labels'}, 0 of other records).")
    assert "merge: Merged 0 of 3 predictions" in out
    # data-quality flags and model-quality flags do not mix silently
    assert main(["monitor", "--problem-type", "Regression", "--dataset", "x", "--output", "y",
                 "--baseline-constraints", "c"]) == 2
    assert "--problem-type belong(s) to model quality: add --type model-quality" in capsys.readouterr().err
