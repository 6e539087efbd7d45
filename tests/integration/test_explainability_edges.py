"""The feature-attribution monitor (``--type model-explainability``) at its edges: the command line's baseline and
monitoring runs over SageMaker capture files (CSV, JSON ``instances``, JSON objects by name, a features attribute
inside the request), ``analyze`` playing the Clarify processing container and the monitoring container, the
CloudWatch metric file against botocore's PutMetricData model, the report and the history page, and bad
configurations as one line.

Every number is checked against an independent reference: the ``shap`` library's ``KernelExplainer`` run here in
one process (``l1_reg=False``, each record seeded by ``record_seed`` as kernel.py documents — with num_samples =
2^M − 2 = 14 shap enumerates every coalition and no seed matters), the model's own ``predict_proba``, numpy
means, and sklearn's ``ndcg_score``. The numbers of the explanation itself are studied in
test_explain_numbers.py."""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
import warnings
from pathlib import Path

import botocore.session
import joblib
import numpy as np
import pandas as pd
import pytest
from botocore.validate import ParamValidator
from helpers import analyze_in_process as _analyze
from helpers import capture_line, page_dom, run_process
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import ndcg_score

from monitor_lib.cli import main
from monitor_lib.explain.kernel import record_seed

MODEL_MONITOR = str(Path(sys.executable).parent / "model-monitor")
FEATURES = ["age", "income", "tenure", "calls"]
HEADER = ["age", "income", "churn", "tenure", "calls"]  # the label sits among the features
CENTERS = np.array([[25.0, 2.0, 1.0, 3.0], [45.0, 5.0, 4.0, 1.0], [65.0, 3.5, 7.0, 2.0]])  # 3 far-apart groups
ENDPOINT, SCHEDULE = "churn-ep", "churn-attribution"
SEED = 7
COMPLETED = "Completed: Job completed successfully with no violations."


# ---------------------------------------------------------------- data, model and the shap reference


def customers(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Features from three well separated groups (so K-means finds them exactly) and a churn label."""
    group = np.arange(n) % 3
    X = np.round(CENTERS[group] + rng.normal(size=(n, 4)) * [2.0, 0.5, 0.5, 0.5], 2)
    logit = 0.08 * (X[:, 0] - 45) + 0.9 * (X[:, 1] - 3.5) - 0.4 * (X[:, 2] - 4) + 0.1 * (X[:, 3] - 2)
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    return X, y


def csv_row(x) -> str:
    return ",".join(repr(float(v)) for v in x)


def shap_reference(predict, background: np.ndarray, X: np.ndarray, nsamples: int, seed: int = SEED) -> np.ndarray:
    """Local SHAP values (n × M, or n × M × L for a multi-output ``predict``): single-process shap, every record
    seeded the way kernel.py documents."""
    import shap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.KernelExplainer(predict, background)
        out = []
        for x in X:
            np.random.seed(record_seed(seed, x))
            out.append(explainer.shap_values(x.reshape(1, -1), nsamples=nsamples, l1_reg=False, silent=True)[0])
    return np.asarray(out, dtype=np.float64)


def churn_score(model):
    return lambda X: model.predict_proba(X)[:, 1]


def global_shap(analysis: dict, label: str = "label0") -> dict[str, float]:
    return analysis["explanations"]["kernel_shap"][label]["global_shap_values"]


def read_json(path: Path):
    return json.loads(path.read_text())


def assert_close(a, b, tol: float = 1e-9) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=0, atol=tol)


def matching_rows(rows: np.ndarray, reference: np.ndarray, tol: float = 1e-9) -> list[int]:
    """For each row, the index of the one reference row it equals within ``tol`` (asserting there is exactly
    one, and that no reference row is matched twice): the tool writes local values in an order of its own."""
    found = []
    for row in rows:
        hits = np.flatnonzero(np.all(np.abs(reference - row) <= tol, axis=1))
        assert len(hits) == 1, (row, hits)
        found.append(int(hits[0]))
    assert len(set(found)) == len(found)
    return found


# ---------------------------------------------------------------- the world: a baseline and four monitored hours


class World:
    def __init__(self, root: Path):
        self.root = root
        self.capture = root / "capture"
        self.runs = root / "monitoring"
        self.windows: dict[int, np.ndarray] = {}  # hour -> the records a run should explain

    def hour_dir(self, hour: int) -> Path:
        d = self.capture / ENDPOINT / "AllTraffic" / "2026" / "11" / "20" / f"{hour:02d}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def out(self, hour: int) -> Path:
        return self.runs / ENDPOINT / SCHEDULE / "2026" / "11" / "20" / f"{hour:02d}"

    def window(self, hour: int) -> list[str]:
        return ["--start-time", f"2026-11-20T{hour:02d}:00:00Z", "--end-time", f"2026-11-20T{hour + 1:02d}:00:00Z"]

    def monitor_args(self, hour: int, config: Path | None = None) -> list[str]:
        return ["monitor", "--type", "model-explainability", "--dataset", str(self.capture), "--analysis-config",
                str(config or self.monitor_config), "--baseline-constraints", str(self.baseline / "analysis.json"),
                "--output", str(self.out(hour)), "--endpoint", ENDPOINT, "--schedule", SCHEDULE, *self.window(hour)]


@pytest.fixture(scope="module")
def world(spark, tmp_path_factory):
    w = World(tmp_path_factory.mktemp("explain"))
    rng = np.random.default_rng(20261120)
    X, y = customers(150, rng)
    w.train_X, w.train_y = X, y
    w.model = LogisticRegression(max_iter=2000).fit(X, y)
    w.model_file = w.root / "churn.joblib"
    joblib.dump(w.model, w.model_file)
    frame = pd.DataFrame(X, columns=FEATURES)
    frame.insert(2, "churn", y)
    w.train = w.root / "train.csv"
    w.train.write_text(",".join(HEADER) + "\n" + "".join(
        f"{csv_row(r[:2])},{int(r[2])},{csv_row(r[3:])}\n" for r in frame.itertuples(index=False)))

    # the baseline: a labelled CSV with a header line (the label among the columns), K-means background of 3 rows
    w.baseline_config = w.root / "baseline_config.json"
    w.baseline_config.write_text(json.dumps({
        "label": "churn", "methods": {"shap": {"num_clusters": 3, "num_samples": 14, "seed": SEED,
                                               "save_local_shap_values": True}},
        "predictor": {"model_uri": str(w.model_file), "probability": 1}}))
    w.baseline = w.root / "baseline"
    assert main(["baseline", "--type", "model-explainability", "--dataset", str(w.train), "--format", "csv",
                 "--header", "--analysis-config", str(w.baseline_config), "--output", str(w.baseline)]) == 0

    # the monitor's config, as the SDK writes it: features-only headers, the model's name, no baseline rows
    w.monitor_config = w.root / "monitor_config.json"
    w.monitor_config.write_text(json.dumps({
        "headers": FEATURES, "methods": {"shap": {"num_samples": 14, "seed": SEED}},
        "predictor": {"model_name": "churn-model", "model_uri": str(w.model_file), "probability": 1}}))

    # 10:00 — clean CSV requests, and three bad lines
    clean, _ = customers(100, rng)
    lines = [capture_line(csv_row(x), "0.5", time=f"2026-11-20T10:{i % 60:02d}:00Z", event_id=f"a{i}")
             for i, x in enumerate(clean)]
    lines[10:10] = ["this is not a capture record {",
                    capture_line("41.0,abc,2.0,1.0", "0.5", time="2026-11-20T10:30:00Z", event_id="bad-number"),
                    capture_line("41.0,3.0,2.0", "0.5", time="2026-11-20T10:31:00Z", event_id="short")]
    (w.hour_dir(10) / "capture-10.jsonl").write_text("\n".join(lines) + "\n")
    w.windows[10] = clean
    w.lines_10 = len(lines)
    assert main(w.monitor_args(10)) == 0

    # 11:00 — a unit bug upstream: calls arrive in seconds (× 60) and age is stuck at one value; played by
    # `analyze` with the monitoring container's environment, CloudWatch metrics published
    broken, _ = customers(100, rng)
    broken[:, 3] = np.round(broken[:, 3] * 60, 2)
    broken[:, 0] = 45.0
    (w.hour_dir(11) / "capture-11.jsonl").write_text("".join(
        capture_line(csv_row(x), "0.5", time="2026-11-20T11:20:00Z", event_id=f"b{i}") + "\n"
        for i, x in enumerate(broken)))
    w.windows[11] = broken
    w.cloudwatch = w.root / "cloudwatch"
    w.message_11 = _analyze_env(w, {
        "analysis_type": "MODEL_EXPLAINABILITY", "dataset_source": str(w.capture),
        "analysis_config": str(w.monitor_config), "baseline_constraints": str(w.baseline / "analysis.json"),
        "output_path": str(w.out(11)), "publish_cloudwatch_metrics": "Enabled",
        "sagemaker_endpoint_name": ENDPOINT, "sagemaker_monitoring_schedule_name": SCHEDULE,
        "CLOUDWATCH_METRICS_DIRECTORY": str(w.cloudwatch),
        "start_time": "2026-11-20T11:00:00Z", "end_time": "2026-11-20T12:00:00Z"})

    # 12:00 — JSON requests: several records per request ({"instances": [...]}) and objects by feature name
    batched, _ = customers(30, rng)
    by_name, _ = customers(12, rng)
    lines = [capture_line(json.dumps({"instances": batched[i:i + 3].tolist()}), "[0.5, 0.5, 0.5]",
                          time="2026-11-20T12:05:00Z", in_type="application/json", in_encoding="JSON",
                          event_id=f"c{i}") for i in range(0, 30, 3)]
    lines += [capture_line(json.dumps({"calls": x[3], "tenure": x[2], "age": x[0], "income": x[1], "channel": "web"}),
                           "0.5", time="2026-11-20T12:06:00Z", in_type="application/json", in_encoding="JSON",
                           event_id=f"d{i}") for i, x in enumerate(by_name)]
    lines.append(capture_line(json.dumps({"age": 30.0, "income": 2.0, "tenure": 1.0}), "0.5",
                              time="2026-11-20T12:07:00Z", in_type="application/json", in_encoding="JSON",
                              event_id="no-calls"))
    lines.append(capture_line('{"age": 30.0, "income": 2.0, "tenure": 1.0, "calls": 3.0, "age": 99.0}', "0.5",
                              time="2026-11-20T12:08:00Z", in_type="application/json", in_encoding="JSON",
                              event_id="age-twice"))  # a key named twice: never explained with either value
    (w.hour_dir(12) / "capture-12.jsonl").write_text("\n".join(lines) + "\n")
    w.windows[12] = np.vstack([batched, by_name])
    assert main(w.monitor_args(12)) == 0

    # 13:00 — the features inside the request ({"data": {"features": [...]}}), more records than are explained,
    # fewer coalitions than 2^M − 2 (random ones, seeded per record)
    inner, _ = customers(40, rng)
    (w.hour_dir(13) / "capture-13.jsonl").write_text("".join(
        capture_line(json.dumps({"id": i, "data": {"features": x.tolist()}}), "0.5", time="2026-11-20T13:40:00Z",
                     in_type="application/json", in_encoding="JSON", event_id=f"e{i}") + "\n"
        for i, x in enumerate(inner)))
    w.windows[13] = inner
    w.sampled_config = w.root / "sampled_config.json"
    w.sampled_config.write_text(json.dumps({
        "headers": FEATURES, "methods": {"shap": {"num_samples": 10, "seed": SEED, "save_local_shap_values": True}},
        "predictor": {"model_uri": str(w.model_file), "probability": 1}}))
    assert main([*w.monitor_args(13, w.sampled_config), "--features-attribute", "data.features",
                 "--max-explained-records", "15"]) == 0
    return w


def _analyze_env(w: World, env: dict) -> str:
    with pytest.MonkeyPatch.context() as mp:
        return _analyze(w.root / "opt_ml_11", mp, env)


# ---------------------------------------------------------------- 1. the baseline


def test_baseline_is_clarifys_analysis_json_with_shaps_values(world):
    w = world
    analysis = read_json(w.baseline / "analysis.json")
    assert list(analysis) == ["version", "explanations"] and analysis["version"] == "1.0"
    assert list(analysis["explanations"]) == ["kernel_shap"]
    assert list(analysis["explanations"]["kernel_shap"]) == ["label0"]
    entry = analysis["explanations"]["kernel_shap"]["label0"]
    assert list(entry) == ["global_shap_values", "expected_value"]
    assert list(entry["global_shap_values"]) == FEATURES  # header order, the label left out

    background = np.loadtxt(w.baseline / "explanations_shap" / "baseline.csv", delimiter=",", ndmin=2)
    # K-means of 3 far-apart groups: the centroids are the groups' means
    assert background.shape == (3, 4)
    means = np.array([w.train_X[np.arange(150) % 3 == g].mean(axis=0) for g in range(3)])
    assert_close(background[np.argsort(background[:, 0])], means, 1e-9)

    phi = shap_reference(churn_score(w.model), background, w.train_X, nsamples=14)
    assert_close(list(entry["global_shap_values"].values()), np.abs(phi).mean(axis=0))
    assert math.isclose(entry["expected_value"], float(w.model.predict_proba(background)[:, 1].mean()),
                        rel_tol=0, abs_tol=1e-12)
    local = pd.read_csv(w.baseline / "explanations_shap" / "out.csv")
    assert list(local.columns) == FEATURES and len(local) == 150
    assert len(matching_rows(local.to_numpy(), phi)) == 150  # one row per record, in an order of the tool's

    summary = read_json(w.baseline / "run_summary.json")
    assert (summary["status"], summary["files_read"], summary["records"]) == ("Completed", 1, 150)
    assert (summary["records_rejected"], summary["records_skipped"]) == ({}, {})
    assert (summary["features"], summary["labels"], summary["num_samples"]) == (FEATURES, ["label0"], 14)
    assert (summary["background_rows"], summary["background"]) == (3, "K-means, 3 centroids")
    assert summary["additivity_error"] < 1e-12
    assert not (w.baseline / "constraint_violations.json").exists()


def test_real_sagemaker_capture_records_explained_by_a_model_factory(spark, fixtures, tmp_path, monkeypatch):
    """The SDK's real capture records (7 CSV features) as a baseline dataset (``--format capture``), the model a
    ``model_factory`` shipped to the executors: a linear f(x) = w·x + c, whose Shapley values are exactly
    w_j (x_j − b_j) against a one-row background b — a reference that owes nothing to shap."""
    weights = [0.5, -1.0, 0.25, 2.0, -0.125, 0.75, 1.5]
    module = tmp_path / "edge_capture_model.py"
    module.write_text("import numpy as np\n\n\ndef build():\n"
                      f"    return lambda X: np.asarray(X, dtype=float) @ np.array({weights!r}) + 0.5\n")
    spark.sparkContext.addPyFile(str(module))
    monkeypatch.syspath_prepend(str(tmp_path))
    hour = tmp_path / "capture" / "xgb-churn" / "AllTraffic" / "2026" / "11" / "20" / "15"
    hour.mkdir(parents=True)
    real = (fixtures / "sdk-capture-and-groundtruth-samples" / "capture.jsonl").read_text()
    (hour / "capture.jsonl").write_text(real.replace("{%s}", "2026-11-20T15:10:00Z"))  # the SDK's time template
    X = np.array([[float(v) for v in json.loads(line)["captureData"]["endpointInput"]["data"].split(",")]
                  for line in real.splitlines()])
    b = np.round(X.mean(axis=0), 1)
    names = [f"f{i}" for i in range(7)]
    (tmp_path / "config.json").write_text(json.dumps({
        "headers": names, "methods": {"shap": {"baseline": [b.tolist()], "num_samples": 2 ** 7 - 2}},
        "predictor": {"model_factory": "edge_capture_model:build"}}))
    assert main(["baseline", "--type", "model-explainability", "--dataset", str(tmp_path / "capture"), "--format",
                 "capture", "--analysis-config", str(tmp_path / "config.json"), "--output", str(tmp_path / "out"),
                 "--start-time", "2026-11-20T15:00:00Z", "--end-time", "2026-11-20T16:00:00Z"]) == 0
    analysis = read_json(tmp_path / "out" / "analysis.json")
    entry = analysis["explanations"]["kernel_shap"]["label0"]
    assert list(entry["global_shap_values"]) == names
    exact = np.abs(np.array(weights) * (X - b)).mean(axis=0)
    assert_close(list(entry["global_shap_values"].values()), exact)
    assert math.isclose(entry["expected_value"], float(np.dot(weights, b) + 0.5), rel_tol=0, abs_tol=1e-12)
    summary = read_json(tmp_path / "out" / "run_summary.json")
    assert (summary["records"], summary["records_rejected"], summary["files_read"]) == (44, {}, 1) == (len(X), {}, 1)
    assert (summary["model"], summary["num_samples"]) == ("model_factory edge_capture_model:build", 126)


# ---------------------------------------------------------------- 2. monitoring runs over captured requests


def test_clean_hour_completes_without_violations_file_and_counts_every_line(world):
    w = world
    out = w.out(10)
    assert (out / "analysis.json").exists() and not (out / "constraint_violations.json").exists()
    summary = read_json(out / "run_summary.json")
    assert (summary["status"], summary["message"]) == ("Completed", COMPLETED)
    assert summary["records_rejected"] == {"feature_not_numeric": 1, "malformed_json": 1, "wrong_field_count": 1}
    assert summary["records_skipped"] == {}
    assert summary["records"] + sum(summary["records_rejected"].values()) == w.lines_10 == 103
    sample = [json.loads(line) for line in (out / "rejected_records_sample.jsonl").read_text().splitlines()]
    lines = (w.hour_dir(10) / "capture-10.jsonl").read_text().splitlines()
    assert sorted((s["kind"], s["record"]) for s in sample) == [
        ("feature_not_numeric", lines[11]), ("malformed_json", lines[10]), ("wrong_field_count", lines[12])]
    assert {s["file"] for s in sample} == {(w.hour_dir(10) / "capture-10.jsonl").as_uri()}

    background = np.loadtxt(w.baseline / "explanations_shap" / "baseline.csv", delimiter=",", ndmin=2)
    phi = shap_reference(churn_score(w.model), background, w.windows[10], nsamples=14)
    analysis = read_json(out / "analysis.json")
    window = global_shap(analysis)
    assert list(window) == FEATURES
    assert_close(list(window.values()), np.abs(phi).mean(axis=0))
    # the background is the baseline's explanations_shap/baseline.csv: the expected value is the model's mean on it
    assert math.isclose(analysis["explanations"]["kernel_shap"]["label0"]["expected_value"],
                        float(w.model.predict_proba(background)[:, 1].mean()), rel_tol=0, abs_tol=1e-12)
    assert summary["background"] == str(w.baseline / "explanations_shap" / "baseline.csv")
    base = global_shap(read_json(w.baseline / "analysis.json"))
    expected = ndcg_score([list(base.values())], [list(window.values())])
    assert summary["ndcg"] == {"label0": pytest.approx(expected, abs=1e-12)} and expected >= 0.9
    assert summary["threshold"] == 0.9 and summary["violations"] == 0


def test_a_reordered_ranking_is_a_feature_attribution_drift_violation(world):
    w = world
    out = w.out(11)
    background = np.loadtxt(w.baseline / "explanations_shap" / "baseline.csv", delimiter=",", ndmin=2)
    phi = shap_reference(churn_score(w.model), background, w.windows[11], nsamples=14)
    analysis = read_json(out / "analysis.json")
    window = global_shap(analysis)
    assert_close(list(window.values()), np.abs(phi).mean(axis=0))
    base = global_shap(read_json(w.baseline / "analysis.json"))
    score = float(ndcg_score([list(base.values())], [list(window.values())]))
    assert score < 0.9
    doc = read_json(out / "constraint_violations.json")
    assert doc["version"] == "1.0" and len(doc["violations"]) == 1
    ndcg = read_json(out / "run_summary.json")["ndcg"]["label0"]
    assert math.isclose(ndcg, score, rel_tol=0, abs_tol=1e-12)
    assert doc["violations"][0] == {
        "label": "label0", "metric_name": "shap", "constraint_check_type": "feature_attribution_drift_check",
        "description": f"Feature attribution drift {ndcg!r} exceeds threshold 0.9"}
    assert w.message_11 == "CompletedWithViolations: Job completed successfully with 1 violations."


def test_json_requests_batched_and_by_name(world):
    w = world
    out = w.out(12)
    summary = read_json(out / "run_summary.json")
    assert summary["records"] == 42 and summary["records_rejected"] == {"missing_feature": 1, "duplicate_key": 1}
    assert summary["records_skipped"] == {}
    assert summary["records"] + 2 == 10 * 3 + 12 + 2  # every record of every request: 10 × 3 batched, 14 objects
    background = np.loadtxt(w.baseline / "explanations_shap" / "baseline.csv", delimiter=",", ndmin=2)
    phi = shap_reference(churn_score(w.model), background, w.windows[12], nsamples=14)
    assert_close(list(global_shap(read_json(out / "analysis.json")).values()), np.abs(phi).mean(axis=0))


def test_features_attribute_and_max_explained_records(world):
    w = world
    out = w.out(13)
    summary = read_json(out / "run_summary.json")
    assert summary["records"] == 15
    assert summary["records_skipped"] == {"beyond_max_explained_records": 25}  # 15 + 25 = the window's 40
    assert summary["records_rejected"] == {} and summary["records_to_explain"] == 40
    assert summary["num_samples"] == 10
    background = np.loadtxt(w.baseline / "explanations_shap" / "baseline.csv", delimiter=",", ndmin=2)
    phi = shap_reference(churn_score(w.model), background, w.windows[13], nsamples=10)
    local = pd.read_csv(out / "explanations_shap" / "out.csv").to_numpy()
    assert local.shape == (15, 4)
    # each explained record's values are single-process shap's (seeded by record_seed) for one record of the window
    assert len(matching_rows(local, phi)) == 15
    assert_close(list(global_shap(read_json(out / "analysis.json")).values()), np.abs(local).mean(axis=0))


def put_metric_data_errors(data: list[dict]) -> str:
    """What botocore's own PutMetricData input model finds wrong with these metric data ('' when nothing).
    ``ParamValidator.validate`` returns its report; it raises nothing."""
    model = botocore.session.get_session().get_service_model("cloudwatch")
    shape = model.operation_model("PutMetricData").input_shape
    report = ParamValidator().validate({"Namespace": "aws/sagemaker/Endpoints/explainability-metrics",
                                        "MetricData": data}, shape)
    return report.generate_report() if report.has_errors() else ""


def test_cloudwatch_metrics_are_the_analysis_values_in_put_metric_data_shape(world):
    w = world
    data = [json.loads(line) for line in (w.cloudwatch / "cloudwatch_metrics.jsonl").read_text().splitlines()]
    assert put_metric_data_errors(data) == ""  # every datum is a valid PutMetricData MetricDatum
    # … and the check would see a bad one: a string value, a field PutMetricData does not have
    assert "Invalid type for parameter MetricData[0].Value" in put_metric_data_errors([{**data[0], "Value": "0.1"}])
    assert 'Unknown parameter in MetricData[0]: "Label"' in put_metric_data_errors([{**data[0], "Label": "label0"}])
    entry = read_json(w.out(11) / "analysis.json")["explanations"]["kernel_shap"]["label0"]
    assert [d["MetricName"] for d in data] == [f"feature_{f}" for f in FEATURES] + ["expected_value"]
    dims = [{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": SCHEDULE},
            {"Name": "ExplainabilityMethod", "Value": "KernelShap"}, {"Name": "Label", "Value": "label0"}]
    for d, f in zip(data, FEATURES, strict=False):
        assert d["Dimensions"] == dims + [{"Name": "ValueType", "Value": "GlobalShapValues"}]
        assert d["Value"] == entry["global_shap_values"][f] and "StatisticValues" not in d
    assert data[-1]["Dimensions"] == dims + [{"Name": "ValueType", "Value": "ExpectedValue"}]
    assert data[-1]["Value"] == entry["expected_value"]
    assert {d["Timestamp"] for d in data} == {"2026-11-20T11:00:00Z"}  # metric_time defaults to start_time
    # no metric file for the runs that did not ask for one
    summary = read_json(w.out(10) / "run_summary.json")
    assert "cloudwatch_metrics" not in summary["files"]
    assert read_json(w.out(11) / "run_summary.json")["files"]["cloudwatch_metrics"] == str(
        w.cloudwatch / "cloudwatch_metrics.jsonl")


# ---------------------------------------------------------------- 3. where the monitoring background comes from


def test_missing_baseline_background_is_one_line_naming_it(world, tmp_path, capsys):
    w = world
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(w.baseline / "analysis.json", bare / "analysis.json")  # without explanations_shap/baseline.csv
    args = w.monitor_args(10)
    args[args.index("--baseline-constraints") + 1] = str(bare / "analysis.json")
    args[args.index("--output") + 1] = str(tmp_path / "out")
    capsys.readouterr()
    code = main(args)  # no -q: it would leave monitor_lib's logger at WARNING for the tests after this one
    err = capsys.readouterr().err.splitlines()
    assert code == 2, err
    assert err == [f"error: the baseline's background {bare / 'explanations_shap' / 'baseline.csv'} does not exist "
                   "— the background rows of the baseline are needed to explain this window the same way: keep "
                   "explanations_shap/baseline.csv beside its analysis.json, or give methods.shap.baseline"]
    assert not (tmp_path / "out" / "analysis.json").exists()


# ---------------------------------------------------------------- 5. analyze playing the Clarify containers


def _clarify_root(tmp_path: Path, config: dict, rows: str) -> Path:
    root = tmp_path / "opt_ml"
    (root / "processing" / "input" / "config").mkdir(parents=True)
    (root / "processing" / "input" / "data").mkdir(parents=True)
    (root / "processing" / "input" / "data" / "dataset.csv").write_text(rows)
    (root / "processing" / "input" / "config" / "analysis_config.json").write_text(json.dumps(config))
    return root


def test_analyze_plays_the_clarify_processing_container(world, tmp_path, monkeypatch):
    """A Clarify processing job's layout: the config in processing/input/config, a header-less CSV whose columns
    the config's headers name (the label among them), two model outputs named by label_headers, agg_method
    mean_sq; analysis.json, the background and the local values in processing/output."""
    w = world
    row = w.train_X.mean(axis=0).round(3)
    root = _clarify_root(tmp_path, {
        "version": "1.0", "dataset_type": "text/csv", "headers": HEADER, "label": "churn",
        "methods": {"shap": {"baseline": [row.tolist()], "num_samples": 14, "agg_method": "mean_sq",
                             "save_local_shap_values": True, "seed": SEED},
                    "report": {"name": "report", "title": "Analysis Report"}},
        "predictor": {"model_uri": str(w.model_file), "label_headers": ["stay", "churn"]}},
        w.train.read_text().split("\n", 1)[1])
    assert _analyze(root, monkeypatch) == COMPLETED
    out = root / "processing" / "output"
    analysis = read_json(out / "analysis.json")
    assert list(analysis["explanations"]["kernel_shap"]) == ["stay", "churn"]
    phi = shap_reference(w.model.predict_proba, row.reshape(1, -1), w.train_X, nsamples=14)  # n × M × 2
    expected = w.model.predict_proba(row.reshape(1, -1))[0]
    for i, label in enumerate(["stay", "churn"]):
        entry = analysis["explanations"]["kernel_shap"][label]
        assert list(entry["global_shap_values"]) == FEATURES
        assert_close(list(entry["global_shap_values"].values()), (phi[:, :, i] ** 2).mean(axis=0), 1e-12)
        assert math.isclose(entry["expected_value"], float(expected[i]), rel_tol=0, abs_tol=1e-12)
    assert_close(np.loadtxt(out / "explanations_shap" / "baseline.csv", delimiter=",", ndmin=2), [row], 0)
    local = pd.read_csv(out / "explanations_shap" / "out.csv")
    assert list(local.columns) == [f"{label}/{f}" for label in ("stay", "churn") for f in FEATURES]
    assert len(matching_rows(local.to_numpy(), np.hstack([phi[:, :, 0], phi[:, :, 1]]))) == 150
    assert not (out / "constraint_violations.json").exists()


def test_a_bias_config_in_the_clarify_layout_still_goes_to_the_bias_monitor(world, tmp_path, monkeypatch):
    w = world
    root = _clarify_root(tmp_path, {
        "dataset_type": "text/csv", "headers": HEADER, "label": "churn", "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "age", "value_or_threshold": [40]}],
        "methods": {"pre_training_bias": {"methods": ["CI", "DPL"]}}}, w.train.read_text().split("\n", 1)[1])
    assert _analyze(root, monkeypatch) == COMPLETED
    analysis = read_json(root / "processing" / "output" / "analysis.json")
    assert set(analysis) == {"version", "pre_training_bias_metrics"}  # no explanations
    [entry] = analysis["pre_training_bias_metrics"]["facets"]["age"]
    d = w.train_X[:, 0] > 40
    values = {m["name"]: m["value"] for m in entry["metrics"]}
    assert math.isclose(values["CI"], ((~d).sum() - d.sum()) / len(d), rel_tol=1e-12)
    assert math.isclose(values["DPL"], w.train_y[~d].mean() - w.train_y[d].mean(), rel_tol=1e-12)


# ---------------------------------------------------------------- 6. report and history


def test_report_of_a_violating_run_shows_label_ndcg_and_both_rankings(world, tmp_path):
    w = world
    dom, requests = page_dom(w.out(11) / "report.html", tmp_path)
    assert requests == []
    base = global_shap(read_json(w.baseline / "analysis.json"))
    now = global_shap(read_json(w.out(11) / "analysis.json"))
    ndcg = float(ndcg_score([list(base.values())], [list(now.values())]))
    assert (f"<h2>Label label0 — NDCG {ndcg:.4f} vs threshold 0.9: feature_attribution_drift_check violation</h2>"
            in dom)
    section = dom[dom.index("<h2>Label label0"):]
    body = section[section.index("<tbody>"):section.index("</tbody>")]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in body.split("</tr>") if "<td" in r]
    by_window = sorted(now, key=lambda f: -now[f])
    by_baseline = sorted(base, key=lambda f: -base[f])
    assert by_window != by_baseline  # the drift this run reports
    assert [r[1] for r in rows] == by_window and [r[4] for r in rows] == by_baseline
    assert [r[2] for r in rows] == [f"{now[f]:.6g}" for f in by_window]
    assert [r[5] for r in rows] == [f"{base[f]:.6g}" for f in by_baseline]
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    expected = read_json(w.out(11) / "analysis.json")["explanations"]["kernel_shap"]["label0"]["expected_value"]
    assert f"<p>expected value {expected:.6g}</p>" in dom
    assert 'class="status CompletedWithViolations"' in dom
    explained = read_json(w.out(11) / "run_summary.json")["records_explained"]
    assert f"<tr><td>records explained</td><td>{explained}</td></tr>" in dom
    assert ('<tr><td>feature_attribution_drift_check</td><td class="n"><span class="bad">1</span></td><td>shap</td>'
            '</tr>') in dom
    # a clean run's section says so
    clean = (w.out(10) / "report.html").read_text()
    ndcg = read_json(w.out(10) / "run_summary.json")["ndcg"]["label0"]
    assert f"<h2>Label label0 — NDCG {ndcg:.4f} vs threshold 0.9: ok</h2>" in clean


def test_history_page_draws_the_ndcg_of_every_run(world, tmp_path):
    from monitor_lib.html.svg import num as svg_num

    w = world
    result = run_process([MODEL_MONITOR, "report", str(w.runs), "--output", str(tmp_path / "history.html")])
    assert result.returncode == 0, result.stderr
    assert (f"{ENDPOINT} / {SCHEDULE} (model explainability): 4 runs, 1 with violations; last 2026-11-20 13:00 "
            "Completed; most violated: label0 (1)") in result.stdout
    page = (tmp_path / "history.html").read_text()
    assert "label0 — violated in 1 run(s)" in page
    base = global_shap(read_json(w.baseline / "analysis.json"))
    for hour in (10, 11, 12, 13):
        now = global_shap(read_json(w.out(hour) / "analysis.json"))
        ndcg = float(ndcg_score([list(base.values())], [list(now.values())]))
        title = f"2026-11-20 {hour}:00: {svg_num(ndcg)} (threshold 0.9)" + (" — violation" if hour == 11 else "")
        assert f"<title>{title}</title>" in page, title
    assert page.count('class="viol"') == 1


# ---------------------------------------------------------------- 7. bad configurations: one line, exit 2


def _config(w: World, **changes) -> dict:
    config = {"label": "churn", "methods": {"shap": {"baseline": [[45.0, 3.5, 4.0, 2.0]], "num_samples": 14}},
              "predictor": {"model_uri": str(w.model_file), "probability": 1}}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        target = config if not field else config["methods"]["shap"] if section == "shap" else config[section]
        name = field or section
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return config


@pytest.mark.parametrize("changes, message", [
    pytest.param({"predictor": None}, "predictor is required — the model to explain: model_uri, model_factory, "
                 "endpoint_name or endpoint_url", id="no-predictor"),
    pytest.param({"predictor__endpoint_url": "http://127.0.0.1:9/invocations"},
                 "predictor gives model_uri and endpoint_url: name one model — model_factory, model_uri, "
                 "endpoint_name, endpoint_url", id="two-models"),
    pytest.param({"shap__agg_method": "max"}, "methods.shap.agg_method 'max' — choose from mean_abs, median, mean_sq",
                 id="agg-method"),
    pytest.param({"shap__num_clusters": 3}, "methods.shap: give baseline or num_clusters, not both",
                 id="clusters-and-baseline"),
])
def test_bad_configurations_fail_before_spark_with_one_line(world, tmp_path, changes, message):
    """The real command in its own process: the config is read before any Spark work, one line, exit 2."""
    (tmp_path / "config.json").write_text(json.dumps(_config(world, **changes)))
    result = run_process([MODEL_MONITOR, "baseline", "--type", "model-explainability", "--dataset", str(world.train),
                          "--format", "csv", "--header", "--analysis-config", str(tmp_path / "config.json"),
                          "--output", str(tmp_path / "out")])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"error: {tmp_path / 'config.json'}: {message}"]


@pytest.fixture(scope="module")
def small_dataset(world) -> Path:
    path = world.root / "small.csv"
    path.write_text("".join(world.train.read_text().splitlines(keepends=True)[:13]))  # header and 12 rows
    return path


def _regressor(w: World) -> Path:
    """A linear regression of the 0/1 label: outputs near (0, 1) on average, outside it for some records."""
    path = w.root / "regressor.joblib"
    if not path.exists():
        joblib.dump(LinearRegression().fit(w.train_X, w.train_y), path)
    return path


@pytest.mark.parametrize("case", ["missing-model", "missing-background-file", "factory-not-module-function",
                                  "background-width", "logit-background", "logit-records", "model-fails-in-executors"])
def test_bad_configurations_found_at_run_time_are_one_line(spark, world, small_dataset, tmp_path, capsys, case):
    """Found once the records are counted (the model is loaded, the background checked against the features):
    the command's entry point in this process (the shared SparkSession) returns 2 with one line on stderr."""
    w = world
    config = tmp_path / "config.json"
    missing = tmp_path / "no-such-model.joblib"
    regressor_file = _regressor(w)
    regressor = joblib.load(regressor_file)
    X = pd.read_csv(small_dataset).drop(columns="churn").to_numpy()
    inside = w.train_X.mean(axis=0).reshape(1, -1)  # the regressor says ≈ mean(churn) here, inside (0, 1)
    outside = np.array([[70.0, 6.0, 0.0, 4.0]])
    logit = {"predictor__model_uri": str(regressor_file), "predictor__probability": None, "shap__use_logit": True}
    logit_text = (f"error: {config}: methods.shap.use_logit needs model outputs in (0, 1) (probabilities); the "
                  f"model (model_uri {regressor_file}) returned ")
    changes, message = {
        "missing-model": ({"predictor__model_uri": str(missing)},
                          f"error: predictor.model_uri {missing} cannot be read: No such file or directory"),
        "missing-background-file": ({"shap__baseline": str(tmp_path / "rows.csv")},
                                    f"error: methods.shap.baseline {tmp_path / 'rows.csv'} does not exist"),
        "factory-not-module-function": ({"predictor__model_uri": None, "predictor__model_factory": "churn_model.build"},
                                        "error: predictor.model_factory 'churn_model.build' must be module:function"),
        "background-width": ({"shap__baseline": [[45.0, 3.5, 4.0]]},
                             f"error: {config}: methods.shap.baseline: background rows have 3 values, the records 4 "
                             "features (age, income, tenure, calls)"),
        "logit-background": ({**logit, "shap__baseline": outside.tolist()}, logit_text),
        "logit-records": ({**logit, "shap__baseline": inside.tolist()}, logit_text),
        "model-fails-in-executors": (
            {"predictor__model_uri": None, "predictor__model_factory": "explain_models:fails_on_large_batches",
             "predictor__probability": None, "shap__baseline": inside.tolist()},
            "error: explaining the records failed: the model (model_factory explain_models:fails_on_large_batches) "
            "failed on a batch of 14 rows: RuntimeError: out of GPU memory for 14 rows"),
    }[case]
    if case == "model-fails-in-executors":  # the executors import the factory's module
        import explain_models

        spark.sparkContext.addPyFile(str(Path(explain_models.__file__).resolve()))
    config.write_text(json.dumps(_config(w, **changes)))
    capsys.readouterr()
    code = main(["baseline", "--type", "model-explainability", "--dataset", str(small_dataset), "--format",
                 "csv", "--header", "--analysis-config", str(config), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(message), err
    assert not (tmp_path / "out" / "analysis.json").exists()
    if case.startswith("logit"):
        # the range the model returned, where: on the background (before explaining), else on the records
        lo, hi, where = re.fullmatch(r"(\S+) … (\S+) on the (background|explained records)",
                                     err[0][len(message):]).groups()
        outputs = regressor.predict(outside if case == "logit-background" else X)
        if case == "logit-records":  # the background alone passes the check: the records' outputs fail it
            assert 0 < regressor.predict(inside)[0] < 1
        assert np.any((outputs <= 0) | (outputs >= 1))
        assert where == ("background" if case == "logit-background" else "explained records")
        assert_close([float(lo), float(hi)], [outputs.min(), outputs.max()], 1e-12)
