"""The model-bias monitor at its edges: `analyze` playing the Clarify container (its /opt/ml/processing layout)
and the monitoring container (analysis_type MODEL_BIAS), the CloudWatch metric file against botocore's model,
the report and the history page, and bad configurations through the command line (one line, no traceback).
The metric values themselves are checked against smclarify in test_model_bias.py."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import botocore.session
import numpy as np
import pandas as pd
import pytest
from botocore.validate import ParamValidator
from helpers import FIXTURES
from helpers import analyze_in_process as _analyze

MODEL_MONITOR = str(Path(sys.executable).parent / "model-monitor")
CLARIFY = FIXTURES / "sdk-clarify-data-bias"
HEADERS = ["Label", "F1", "F2", "F3", "F4"]


@pytest.mark.parametrize("with_shap", [False, True])
def test_analyze_plays_the_clarify_container(spark, tmp_path, monkeypatch, with_shap):
    """The SDK's ClarifyCheckStep data-bias job: config and data where the Clarify container finds them, the
    analysis.json in processing/output — value for value the one SageMaker's own integration test expects. A
    config that also asks for SHAP is a bias job that says, in its run summary, how to get the explanations."""
    root = tmp_path / "opt_ml"
    (root / "processing" / "input" / "config").mkdir(parents=True)
    (root / "processing" / "input" / "data").mkdir(parents=True)
    shutil.copy(CLARIFY / "dataset.csv", root / "processing" / "input" / "data" / "dataset.csv")
    (root / "processing" / "input" / "config" / "analysis_config.json").write_text(json.dumps({
        "dataset_type": "text/csv", "headers": HEADERS, "label": "Label", "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "F1", "value_or_threshold": [0.5]}], "group_variable": "F2",
        "methods": {"pre_training_bias": {"methods": "all"}, "report": {"name": "report", "title": "Analysis"},
                    **({"shap": {"num_samples": 10}} if with_shap else {})}}))
    assert _analyze(root, monkeypatch) == "Completed: Job completed successfully with no violations."
    notes = json.loads((root / "processing" / "output" / "run_summary.json").read_text())["notes"]
    assert [n for n in notes if "methods.shap" in n] == ([
        "the analysis config also asks for methods.shap, which this run does not compute: run --type "
        "model-explainability (analysis_type MODEL_EXPLAINABILITY) with the same config"] if with_shap else [])
    ours = json.loads((root / "processing" / "output" / "analysis.json").read_text())
    theirs = json.loads((CLARIFY / "good_cases" / "analysis.json").read_text())
    assert ours.pop("run_summary", None) == ({"notes": notes} if with_shap else None)  # our notes, when any
    assert ours.keys() == theirs.keys() == {"version", "pre_training_bias_metrics"}
    a, b = ours["pre_training_bias_metrics"], theirs["pre_training_bias_metrics"]
    assert (a["label"], a["label_value_or_threshold"]) == (b["label"], b["label_value_or_threshold"])
    [entry], [expected] = a["facets"]["F1"], b["facets"]["F1"]
    assert entry["value_or_threshold"] == expected["value_or_threshold"] == "(0.5, 0.9936148802477393]"
    assert [m["name"] for m in entry["metrics"]] == [m["name"] for m in expected["metrics"]]
    for m, e in zip(entry["metrics"], expected["metrics"], strict=True):
        assert m["description"] == e["description"]
        assert math.isclose(m["value"], e["value"], rel_tol=1e-12), m


def _credit(n: int, seed: int, miss_rate_for_women: float, false_alarms_for_women: float) -> pd.DataFrame:
    """sex (1 = the sensitive group), age, income, label y and the model's prediction yhat: the model misses a
    share of the women's defaults (false negatives) and predicts a share of defaults they do not have."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    age = rng.integers(18, 80, n)
    income = np.round(rng.normal(50, 12, n), 2)
    y = (rng.random(n) < 0.3).astype(int)
    flip = rng.random(n)
    yhat = np.where(sex == 1, np.where(y == 1, (flip >= miss_rate_for_women).astype(int),
                                       (flip < false_alarms_for_women).astype(int)),
                    np.where(flip < 0.1, 1 - y, y))
    return pd.DataFrame({"sex": sex, "age": age, "income": income, "y": y, "yhat": yhat})


def _recall_difference(df: pd.DataFrame) -> float:
    a, d = df[df.sex == 0], df[df.sex == 1]
    recall = lambda g: ((g.y == 1) & (g.yhat == 1)).sum() / (g.y == 1).sum()  # noqa: E731
    return float(recall(a) - recall(d))


def _put_metric_data_validator():
    model = botocore.session.get_session().get_service_model("cloudwatch")
    shape = model.operation_model("PutMetricData").input_shape

    def check(data):  # ParamValidator.validate returns its report: it raises nothing
        report = ParamValidator().validate({"Namespace": "aws/sagemaker/Endpoints/bias-metrics", "MetricData": data},
                                           shape)
        assert not report.has_errors(), report.generate_report()
        assert ParamValidator().validate({"MetricData": [{"Value": "x"}]}, shape).has_errors()  # it does catch

    return check


def test_monitoring_container_cloudwatch_report_and_history(spark, tmp_path, monkeypatch, capsys):
    from monitor_lib.runner import run_job

    config = tmp_path / "analysis_config.json"
    config.write_text(json.dumps({"label": "y", "label_values_or_threshold": [1], "predicted_label": "yhat",
                                  "facet": [{"name_or_index": "sex", "value_or_threshold": [1]}],
                                  "methods": {"pre_training_bias": {"methods": ["CI", "DPL"]},
                                              "post_training_bias": {"methods": ["CDDPL", "DI", "RD", "TE"]}}}))
    train, live = _credit(600, 1, 0.05, 0.1), _credit(600, 2, 0.5, 0.0)
    (tmp_path / "train.csv").write_text(train.to_csv(index=False))
    (tmp_path / "live.csv").write_text(live.to_csv(index=False))
    run_job("model-bias", {"dataset_source": str(tmp_path / "train.csv"), "dataset_format": '{"csv": {"header": true}}',
                           "analysis_config": str(config), "output_path": str(tmp_path / "baseline")}, spark=spark)
    baseline = tmp_path / "baseline" / "analysis.json"

    runs = tmp_path / "monitoring" / "credit" / "bias-hourly" / "2026" / "11" / "20"
    env = {"analysis_type": "MODEL_BIAS", "dataset_format": '{"csv": {"header": true}}',
           "analysis_config": str(config), "baseline_constraints": str(baseline),
           "publish_cloudwatch_metrics": "Enabled", "sagemaker_endpoint_name": "credit",
           "sagemaker_monitoring_schedule_name": "bias-hourly", "CLOUDWATCH_METRICS_DIRECTORY": str(tmp_path / "cw"),
           "start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}
    clean = _analyze(tmp_path / "opt_ml_clean", monkeypatch, {
        **env, "dataset_source": str(tmp_path / "train.csv"), "output_path": str(runs / "09")})
    assert clean == "Completed: Job completed successfully with no violations."
    message = _analyze(tmp_path / "opt_ml", monkeypatch, {
        **env, "dataset_source": str(tmp_path / "live.csv"), "output_path": str(runs / "10")})
    capsys.readouterr()

    violations = json.loads((runs / "10" / "constraint_violations.json").read_text())["violations"]
    assert message == f"CompletedWithViolations: Job completed successfully with {len(violations)} violations."
    assert [v["metric_name"] for v in violations] == sorted(v["metric_name"] for v in violations)
    rd = next(v for v in violations if v["metric_name"] == "RD")
    post = json.loads(baseline.read_text())["post_training_bias_metrics"]
    base_rd = next(m["value"] for m in post["facets"]["sex"][0]["metrics"] if m["name"] == "RD")
    current = _recall_difference(live)
    assert math.isclose(base_rd, _recall_difference(train), rel_tol=1e-12) and abs(current) > abs(base_rd)
    assert rd == {"facet": "sex", "facet_value": "1", "metric_name": "RD", "constraint_check_type": "bias_drift_check",
                  "description": f"Metric value {current!r} doesn't meet the baseline constraint requirement "
                                 f"{base_rd!r}"}
    te = next(v for v in violations if v["metric_name"] == "TE")  # live women: no false positive, FN/FP = ∞
    assert te["description"].startswith("Metric value Infinity doesn't meet the baseline constraint requirement ")

    # CloudWatch: bias_metric_<NAME>, the contract's dimensions, ∞ as 2.348543e108, no metric for an error
    lines = (tmp_path / "cw" / "cloudwatch_metrics.jsonl").read_text().splitlines()
    data = [json.loads(line) for line in lines]
    _put_metric_data_validator()(data)  # botocore's own PutMetricData model accepts every record
    names = {d["MetricName"] for d in data}
    assert names == {"bias_metric_CI", "bias_metric_DPL", "bias_metric_DI", "bias_metric_RD", "bias_metric_TE"}
    by_name = {d["MetricName"]: d for d in data}
    assert by_name["bias_metric_TE"]["Value"] == 2.348543e108
    assert math.isclose(by_name["bias_metric_RD"]["Value"], current, rel_tol=1e-12)
    assert by_name["bias_metric_RD"]["Dimensions"] == [
        {"Name": "Endpoint", "Value": "credit"}, {"Name": "MonitoringSchedule", "Value": "bias-hourly"},
        {"Name": "BiasStage", "Value": "Post-Training"}, {"Name": "Label", "Value": "y"},
        {"Name": "LabelValue", "Value": "1"}, {"Name": "Facet", "Value": "sex"}, {"Name": "FacetValue", "Value": "1"}]
    assert by_name["bias_metric_CI"]["Dimensions"][2] == {"Name": "BiasStage", "Value": "Pre-training"}
    assert by_name["bias_metric_RD"]["Timestamp"] == "2026-11-20T10:00:00Z"
    analysis = json.loads((runs / "10" / "analysis.json").read_text())
    cddpl = next(m for m in analysis["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]
                 if m["name"] == "CDDPL")
    assert cddpl == {"name": "CDDPL", "description": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
                     "value": None, "error": "Group variable is empty or not provided"}

    # the report: the facet's violated metrics first, the baseline beside each value
    html = (runs / "10" / "report.html").read_text()
    analysed = json.loads((runs / "10" / "run_summary.json").read_text())["records"]
    assert f"<tr><td>records analysed</td><td>{analysed}</td></tr>" in html and analysed > 0
    section = html[html.index("Facet sex = 1"):]
    rows = section[section.index("<tbody>"):section.index("</tbody>")].split("</tr>")
    assert "violation" in rows[0] and "violation" in rows[len(violations) - 1]
    assert "violation" not in rows[len(violations)]
    assert "Group variable is empty or not provided" in section

    # the history page: both runs, the RD series marked in the violating one
    result = subprocess.run([MODEL_MONITOR, "report", str(tmp_path / "monitoring"), "--output",
                             str(tmp_path / "history.html")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "bias-hourly (model bias): 2 runs, 1 with violations" in result.stdout
    history = (tmp_path / "history.html").read_text()
    assert "sex=1 RD — violated in 1 run(s)" in history


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MODEL_MONITOR, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("config, message", [
    ({"facet": [{"name_or_index": "gender", "value_or_threshold": [1]}]},
     "facet[0].name_or_index 'gender' is not a column of"),
    ({"group_variable": "region"}, "group_variable 'region' is not a column of"),
    ({"label": "default"}, "label 'default' is not a column of"),
    ({"methods": {"post_training_bias": {"methods": ["RD", "EOD"]}}},
     "methods.post_training_bias.methods: unknown metric 'EOD'"),
    ({"methods": {"post_training_bias": {"methods": ["RD"]}}, "predicted_label": None},
     "post_training_bias needs predicted labels"),
])
def test_bad_configurations_fail_before_spark_with_one_line(tmp_path, config, message):
    (tmp_path / "data.csv").write_text("sex,age,y,yhat\n1,30,1,0\n0,40,0,0\n")
    base = {"label": "y", "label_values_or_threshold": [1], "predicted_label": "yhat",
            "facet": [{"name_or_index": "sex", "value_or_threshold": [1]}]}
    (tmp_path / "config.json").write_text(json.dumps({k: v for k, v in {**base, **config}.items() if v is not None}))
    result = _cli("baseline", "--type", "model-bias", "--dataset", str(tmp_path / "data.csv"), "--format", "csv",
                  "--header", "--analysis-config", str(tmp_path / "config.json"), "--output", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr  # no Spark started, no traceback
    assert result.stderr.startswith("error: ") and message in result.stderr


def test_a_continuous_facet_without_a_threshold_names_the_facet(tmp_path):
    """The type is the data's (floats are continuous): known after the aggregation, still one clear line."""
    (tmp_path / "data.csv").write_text("income,y,yhat\n" + "".join(f"{i * 1.5},{i % 2},{i % 3 % 2}\n"
                                                                   for i in range(40)))
    (tmp_path / "config.json").write_text(json.dumps({"label": "y", "label_values_or_threshold": [1],
                                                      "predicted_label": "yhat",
                                                      "facet": [{"name_or_index": "income"}]}))
    result = _cli("baseline", "--type", "model-bias", "--dataset", str(tmp_path / "data.csv"), "--format", "csv",
                  "--header", "--analysis-config", str(tmp_path / "config.json"), "--output", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: facet 'income' is continuous (float values, 40 distinct of 40): give value_or_threshold with "
        "exactly one threshold (the sensitive group is the values above it)")


def test_json_object_requests_are_read_by_name(spark, tmp_path):
    """Captured JSON requests holding an object: the features are taken by the config's headers (a field the
    headers lack is ignored, a missing facet is rejected by kind); the metrics are pandas' on the merged rows."""
    from helpers import capture_line

    from monitor_lib.runner import run_job

    rng = np.random.default_rng(5)
    rows = pd.DataFrame({"SEX": rng.integers(1, 3, 200), "AGE": rng.integers(21, 80, 200),
                         "pred": rng.integers(0, 2, 200), "label": rng.integers(0, 2, 200)})
    capture = tmp_path / "capture" / "ep" / "AllTraffic" / "2026" / "11" / "20" / "10"
    labels = tmp_path / "labels" / "2026" / "11" / "21" / "10"
    capture.mkdir(parents=True)
    labels.mkdir(parents=True)
    lines, truth = [], []
    for i, r in enumerate(rows.itertuples()):
        request = {"AGE": int(r.AGE), "SEX": int(r.SEX), "CHANNEL": "web"}  # any order, an extra field
        lines.append(capture_line(json.dumps(request), str(r.pred), event_id=f"e{i}", in_type="application/json",
                                  in_encoding="JSON"))
        truth.append(json.dumps({"groundTruthData": {"data": str(r.label), "encoding": "CSV"},
                                 "eventMetadata": {"eventId": f"e{i}"}, "eventVersion": "0"}))
    lines.append(capture_line(json.dumps({"AGE": 30}), "1", event_id="no-sex", in_type="application/json",
                              in_encoding="JSON"))
    truth.append(json.dumps({"groundTruthData": {"data": "1", "encoding": "CSV"},
                             "eventMetadata": {"eventId": "no-sex"}, "eventVersion": "0"}))
    (capture / "c.jsonl").write_text("\n".join(lines) + "\n")
    (labels / "g.jsonl").write_text("\n".join(truth) + "\n")
    config = tmp_path / "analysis_config.json"
    config.write_text(json.dumps({"label": "label", "label_values_or_threshold": [1],
                                  "headers": ["SEX", "AGE", "label"],
                                  "facet": [{"name_or_index": "SEX", "value_or_threshold": [2]}],
                                  "methods": {"post_training_bias": {"methods": ["DPPL", "RD"]}}}))
    outcome = run_job("model-bias", {
        "dataset_source": str(tmp_path / "capture"), "ground_truth_source": str(tmp_path / "labels"),
        "analysis_config": str(config), "inference_attribute": "0", "output_path": str(tmp_path / "out"),
        "start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T11:00:00Z"}, phase="baseline", spark=spark)
    assert outcome.records == 200 and outcome.rejected == {"missing_facet": 1}
    post = json.loads((tmp_path / "out" / "analysis.json").read_text())["post_training_bias_metrics"]
    [entry] = post["facets"]["SEX"]
    values = {m["name"]: m["value"] for m in entry["metrics"]}
    a, d = rows[rows.SEX != 2], rows[rows.SEX == 2]
    dppl = (a.pred == 1).mean() - (d.pred == 1).mean()
    recall = lambda g: ((g.pred == 1) & (g.label == 1)).sum() / (g.label == 1).sum()  # noqa: E731
    assert math.isclose(values["DPPL"], float(dppl), rel_tol=1e-12)
    assert math.isclose(values["RD"], float(recall(a) - recall(d)), rel_tol=1e-12)
