"""Model-quality metrics through Spark against scikit-learn, on generated sets of 100,000 rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from monitor_lib.quality.aggregate import CURVE_BUCKETS
from monitor_lib.runner import run_job

N = 100_000
REL = 1e-9


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def run(tmp_path, frame: pd.DataFrame, name: str, **params):
    data = tmp_path / f"{name}.csv"
    frame.to_csv(data, index=False)
    config = ({
        "dataset_source": str(data), "dataset_format": '{"csv": {"header": true}}',
        "output_path": str(tmp_path / f"{name}-out"), **params})
    result = run_job("model-quality", config)
    stats = json.loads((tmp_path / f"{name}-out" / "statistics.json").read_text())
    constraints = json.loads((tmp_path / f"{name}-out" / "constraints.json").read_text())
    return result, stats, constraints


@pytest.fixture(scope="module")
def binary_set():
    rng = np.random.default_rng(11)
    y = (rng.random(N) < 0.3).astype(int)
    # scores rounded to 3 decimals: many ties, inside and across the curve buckets
    prob = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 3)
    return pd.DataFrame({"label": y, "prob": prob})


def test_binary_metrics_equal_scikit_learn(spark, tmp_path, binary_set):
    result, stats, constraints = run(tmp_path, binary_set, "binary", problem_type="BinaryClassification",
                                     ground_truth_attribute="label", probability_attribute="prob",
                                     probability_threshold_attribute="0.5")
    y, prob = binary_set["label"].to_numpy(), binary_set["prob"].to_numpy()
    pred = (prob >= 0.5).astype(int)
    m = stats["binary_classification_metrics"]
    assert stats["dataset"]["item_count"] == N
    (tn, fp), (fn, tp) = skm.confusion_matrix(y, pred)
    # outer key = actual label, inner key = predicted label
    assert m["confusion_matrix"] == {"0": {"0": int(tn), "1": int(fp)}, "1": {"0": int(fn), "1": int(tp)}}
    expected = {
        "recall": skm.recall_score(y, pred), "precision": skm.precision_score(y, pred),
        "accuracy": skm.accuracy_score(y, pred), "true_positive_rate": tp / (tp + fn),
        "true_negative_rate": tn / (tn + fp), "false_positive_rate": fp / (fp + tn),
        "false_negative_rate": fn / (fn + tp), "f0_5": skm.fbeta_score(y, pred, beta=0.5),
        "f1": skm.f1_score(y, pred), "f2": skm.fbeta_score(y, pred, beta=2),
    }
    ones = np.ones_like(y)
    for suffix, beta in (("f0_5", 0.5), ("f1", 1.0), ("f2", 2.0)):
        expected[f"{suffix}_best_constant_classifier"] = skm.fbeta_score(y, ones, beta=beta)
    expected["recall_best_constant_classifier"] = skm.recall_score(y, ones)
    expected["precision_best_constant_classifier"] = skm.precision_score(y, ones)
    expected["accuracy_best_constant_classifier"] = skm.accuracy_score(y, ones)
    for key, value in expected.items():
        assert close(m[key]["value"], value), (key, m[key]["value"], value)
        std = m[key]["standard_deviation"]
        assert isinstance(std, float) and 0.0 <= std < 0.02, (key, std)
    # exact AUC (Mann–Whitney with ties counted 1/2): scikit-learn's value, not just within 1e-4
    assert close(m["auc"]["value"], skm.roc_auc_score(y, prob))
    assert 0 < m["auc"]["standard_deviation"] < 0.01
    # accuracy's spread over 80 % subsamples: about sqrt(p(1-p)/(0.8 n) * 0.2) — within the chi(4) noise of 5 draws
    p = expected["accuracy"]
    theory = math.sqrt(p * (1 - p) / (0.8 * N) * 0.2)
    assert 0.15 * theory < m["accuracy"]["standard_deviation"] < 3 * theory

    # curves: read at the bucket edges b/1000, MLlib's end points; an independent numpy evaluation
    fprs = m["receiver_operating_characteristic_curve"]["false_positive_rates"]
    tprs = m["receiver_operating_characteristic_curve"]["true_positive_rates"]
    precisions, recalls = m["precision_recall_curve"]["precisions"], m["precision_recall_curve"]["recalls"]
    bucket = np.clip(np.floor(prob * CURVE_BUCKETS), 0, CURVE_BUCKETS - 1)
    edges = np.unique(bucket)[::-1]
    exp_fpr = [float(((bucket >= b) & (y == 0)).sum() / (y == 0).sum()) for b in edges]
    exp_tpr = [float(((bucket >= b) & (y == 1)).sum() / (y == 1).sum()) for b in edges]
    exp_prec = [float(((bucket >= b) & (y == 1)).sum() / (bucket >= b).sum()) for b in edges]
    assert len(fprs) == len(edges) + 2 <= CURVE_BUCKETS + 2
    assert fprs == pytest.approx([0.0, *exp_fpr, 1.0], rel=1e-12)
    assert tprs == pytest.approx([0.0, *exp_tpr, 1.0], rel=1e-12)
    assert precisions == pytest.approx([exp_prec[0], *exp_prec], rel=1e-12)
    assert recalls == pytest.approx([0.0, *exp_tpr], rel=1e-12)

    # suggested constraints: thresholds are the baseline values, quality metrics may not drop
    bc = constraints["binary_classification_constraints"]
    assert bc["f2"] == {"threshold": m["f2"]["value"], "comparison_operator": "LessThanThreshold"}
    assert bc["false_positive_rate"]["comparison_operator"] == "GreaterThanThreshold"
    assert result.message == "Completed: Job completed successfully with no violations."


def test_binary_from_predicted_labels_and_positive_label(spark, tmp_path):
    rng = np.random.default_rng(5)
    n = 20_000
    actual = np.where(rng.random(n) < 0.4, "yes", "no")
    flip = rng.random(n) < 0.2
    predicted = np.where(flip, np.where(actual == "yes", "no", "yes"), actual)
    frame = pd.DataFrame({"truth": actual, "guess": predicted})
    _, stats, _ = run(tmp_path, frame, "labels", problem_type="BinaryClassification",
                      ground_truth_attribute="truth", inference_attribute="guess", positive_label="yes")
    m = stats["binary_classification_metrics"]
    y, pred = (actual == "yes").astype(int), (predicted == "yes").astype(int)
    assert close(m["f1"]["value"], skm.f1_score(y, pred))
    assert close(m["auc"]["value"], skm.roc_auc_score(y, pred))  # the hard labels as scores
    assert m["confusion_matrix"]["1"]["0"] == int(((y == 1) & (pred == 0)).sum())


def test_multiclass_metrics_equal_scikit_learn(spark, tmp_path):
    rng = np.random.default_rng(3)
    classes = np.array(["bird", "cat", "dog", "fish", "horse"])
    actual = classes[rng.choice(5, N, p=[0.05, 0.4, 0.3, 0.15, 0.1])]
    wrong = rng.random(N) < 0.35
    predicted = np.where(wrong, classes[rng.choice(5, N, p=[0.3, 0.1, 0.2, 0.2, 0.2])], actual)
    frame = pd.DataFrame({"predicted": predicted, "actual": actual})
    _, stats, constraints = run(tmp_path, frame, "multi", problem_type="MulticlassClassification",
                                ground_truth_attribute="actual", inference_attribute="predicted")
    m = stats["multiclass_classification_metrics"]
    cm = skm.confusion_matrix(actual, predicted, labels=classes)
    assert m["confusion_matrix"] == {a: {p: int(cm[i, j]) for j, p in enumerate(classes)}
                                     for i, a in enumerate(classes)}
    p, r, _, _ = skm.precision_recall_fscore_support(actual, predicted, average="weighted", zero_division=0)
    expected = {"accuracy": skm.accuracy_score(actual, predicted), "weighted_recall": r, "weighted_precision": p}
    for name, beta in (("weighted_f0_5", 0.5), ("weighted_f1", 1.0), ("weighted_f2", 2.0)):
        expected[name] = skm.fbeta_score(actual, predicted, beta=beta, average="weighted", zero_division=0)
    constant = np.full(N, "cat")  # the most frequent class
    expected["accuracy_best_constant_classifier"] = skm.accuracy_score(actual, constant)
    bp, br, _, _ = skm.precision_recall_fscore_support(actual, constant, average="weighted", zero_division=0)
    expected["weighted_recall_best_constant_classifier"] = br
    expected["weighted_precision_best_constant_classifier"] = bp
    expected["weighted_f1_best_constant_classifier"] = skm.f1_score(actual, constant, average="weighted",
                                                                    zero_division=0)
    for key, value in expected.items():
        assert close(m[key]["value"], value), (key, m[key]["value"], value)
        assert isinstance(m[key]["standard_deviation"], float)
    assert list(constraints["multiclass_classification_constraints"]) == [
        "accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1", "weighted_f2"]


def test_regression_metrics_equal_scikit_learn(spark, tmp_path):
    rng = np.random.default_rng(8)
    truth = rng.normal(50, 12, N)
    prediction = truth + rng.normal(0.5, 4, N)
    frame = pd.DataFrame({"y": [repr(float(x)) for x in truth], "yhat": [repr(float(x)) for x in prediction]})
    result, stats, constraints = run(tmp_path, frame, "regression", problem_type="Regression",
                                     ground_truth_attribute="y", inference_attribute="yhat")
    m = stats["regression_metrics"]
    mse = skm.mean_squared_error(truth, prediction)
    expected = {"mae": skm.mean_absolute_error(truth, prediction), "mse": mse, "rmse": math.sqrt(mse),
                "r2": skm.r2_score(truth, prediction)}
    for key, value in expected.items():
        assert close(m[key]["value"], value), (key, m[key]["value"], value)
    # the 5 replicas are ~80 % Bernoulli samples of the same pass
    replicas = result.artifacts.tallies.regression
    assert len(replicas) == 6 and replicas[0].count == N
    assert all(0.79 * N < t.count < 0.81 * N for t in replicas[1:])
    assert len({t.count for t in replicas[1:]}) == 5
    theory = 4 * math.sqrt(2) / math.sqrt(0.8 * N) * math.sqrt(0.2)  # sd of a subsample mean of e² ≈ σ²·√2
    assert 0.1 * theory < m["mse"]["standard_deviation"] < 3 * theory * 4
    assert constraints["regression_constraints"]["rmse"] == {"threshold": m["rmse"]["value"],
                                                             "comparison_operator": "GreaterThanThreshold"}
