"""Model-quality core without Spark: metrics from tallies against scikit-learn / numpy, the
statistics and constraints files against the real container's, suggestion, checks, CloudWatch."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sklearn.metrics as skm
from helpers import FIXTURES

from monitor_lib.errors import ConfigError
from monitor_lib.formats.cloudwatch import model_quality_metrics
from monitor_lib.formats.jsonfmt import FormatError, dumps_jackson
from monitor_lib.formats.model_quality import (
    MetricConstraint,
    ModelQualityConstraints,
    ModelQualityStatistics,
    check_model_quality,
    model_quality_constraints_to_dict,
    model_quality_statistics_to_dict,
    parse_model_quality_constraints,
    parse_model_quality_statistics,
    read_model_quality_constraints,
    read_model_quality_statistics,
    suggest_model_quality_constraints,
    write_model_quality_constraints,
    write_model_quality_statistics,
)
from monitor_lib.formats.violations import ConstraintViolations, violations_to_dict
from monitor_lib.quality.metrics import (
    MIN_ROWS_FOR_STD,
    REPLICAS,
    SAMPLE_FRACTION,
    BinaryTally,
    Metric,
    RegressionTally,
    binary_confusion,
    binary_metrics,
    confusion_matrix_dict,
    multiclass_metrics,
    regression_metrics,
    standard_deviation,
)

MQ = FIXTURES / "sdk-pipeline-mq-regression"
MQ_STATS = MQ / "statistics.json"
MQ_GOOD = MQ / "good_cases" / "constraints.json"
MQ_BAD = MQ / "bad_cases" / "constraints.json"
MODEL_CARD_STATS = FIXTURES / "sdk-model-card-mq-regression" / "statistics.json"

N = 100_000
REL = 1e-9

BINARY_KEYS = [
    "recall",
    "precision",
    "accuracy",
    "recall_best_constant_classifier",
    "precision_best_constant_classifier",
    "accuracy_best_constant_classifier",
    "true_positive_rate",
    "true_negative_rate",
    "false_positive_rate",
    "false_negative_rate",
    "auc",
    "f0_5",
    "f1",
    "f2",
    "f0_5_best_constant_classifier",
    "f1_best_constant_classifier",
    "f2_best_constant_classifier",
]
MULTICLASS_KEYS = [
    "accuracy",
    "weighted_recall",
    "weighted_precision",
    "weighted_f0_5",
    "weighted_f1",
    "weighted_f2",
    "accuracy_best_constant_classifier",
    "weighted_recall_best_constant_classifier",
    "weighted_precision_best_constant_classifier",
    "weighted_f0_5_best_constant_classifier",
    "weighted_f1_best_constant_classifier",
    "weighted_f2_best_constant_classifier",
]


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def replica_masks(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Index 0: every row; 1..5: Bernoulli(0.8) bootstrap replicas."""
    return [np.ones(n, dtype=bool)] + [rng.random(n) < SAMPLE_FRACTION for _ in range(REPLICAS)]


def assert_matches_reference(
    metrics: dict[str, Metric], masks: list[np.ndarray], reference: Callable[[np.ndarray], dict[str, float]]
) -> None:
    """Every value equals the reference on all rows; every std is numpy's ddof=0 std over the replicas."""
    full = reference(masks[0])
    replicas = [reference(m) for m in masks[1:]]
    assert set(metrics) == set(full)
    for name, metric in metrics.items():
        assert metric.value == pytest.approx(full[name], rel=REL), name
        expected_std = float(np.std([r[name] for r in replicas], ddof=0))
        assert metric.standard_deviation is not None, name
        assert metric.standard_deviation == pytest.approx(expected_std, rel=REL, abs=1e-15), name


# ---------------------------------------------------------------- binary classification


def sklearn_binary(
    truth: np.ndarray, predicted: np.ndarray, prob: np.ndarray | None = None
) -> dict[str, float]:
    tn, fp, fn, tp = skm.confusion_matrix(truth, predicted, labels=[0, 1]).ravel()
    ones = np.ones_like(truth)
    d = {
        "recall": skm.recall_score(truth, predicted, zero_division=0),
        "precision": skm.precision_score(truth, predicted, zero_division=0),
        "accuracy": skm.accuracy_score(truth, predicted),
        "recall_best_constant_classifier": skm.recall_score(truth, ones, zero_division=0),
        "precision_best_constant_classifier": skm.precision_score(truth, ones, zero_division=0),
        "accuracy_best_constant_classifier": skm.accuracy_score(truth, ones),
        "true_positive_rate": tp / (tp + fn) if tp + fn else 0.0,
        "true_negative_rate": tn / (tn + fp) if tn + fp else 1.0,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "false_negative_rate": fn / (fn + tp) if fn + tp else 1.0,
    }
    if prob is not None:
        d["auc"] = skm.roc_auc_score(truth, prob)
    for name, beta in (("f0_5", 0.5), ("f1", 1.0), ("f2", 2.0)):
        d[name] = skm.fbeta_score(truth, predicted, beta=beta, zero_division=0)
        d[f"{name}_best_constant_classifier"] = skm.fbeta_score(truth, ones, beta=beta, zero_division=0)
    return {k: float(v) for k, v in d.items()}


def numpy_binary_tally(truth: np.ndarray, predicted: np.ndarray, prob: np.ndarray | None) -> BinaryTally:
    t, p = truth.astype(bool), predicted.astype(bool)
    return BinaryTally(
        tp=int(np.sum(t & p)),
        fp=int(np.sum(~t & p)),
        tn=int(np.sum(~t & ~p)),
        fn=int(np.sum(t & ~p)),
        auc=None if prob is None else float(skm.roc_auc_score(truth, prob)),
    )


@pytest.fixture(scope="module")
def binary_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(20261120)
    truth = (rng.random(N) < 0.3).astype(int)
    prob = np.clip(0.25 + 0.35 * truth + rng.normal(0, 0.2, N), 0, 1)
    predicted = ((prob >= 0.5) ^ (rng.random(N) < 0.03)).astype(int)
    return truth, prob, predicted, replica_masks(rng, N)


def test_binary_metrics_match_sklearn(binary_data) -> None:
    truth, prob, predicted, masks = binary_data
    tallies = [numpy_binary_tally(truth[m], predicted[m], prob[m]) for m in masks]
    metrics = binary_metrics(tallies)
    assert list(metrics) == BINARY_KEYS
    assert_matches_reference(metrics, masks, lambda m: sklearn_binary(truth[m], predicted[m], prob[m]))
    # Sanity: the data is not degenerate.
    assert 0.5 < metrics["accuracy"].value < 0.95 and 0.6 < metrics["auc"].value < 0.99
    assert 0 < metrics["f1"].standard_deviation < 0.01


def test_binary_dg_example_exact_floats() -> None:
    # DG:model-monitor-model-quality-metrics: confusion {"0":{"0":1,"1":2},"1":{"0":0,"1":1}}.
    tally = BinaryTally(tp=1, fp=2, tn=1, fn=0, auc=None)
    assert confusion_matrix_dict(binary_confusion(tally)) == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    m = binary_metrics([tally])
    expected = {
        "recall": 1.0,
        "precision": 0.3333333333333333,
        "accuracy": 0.5,
        "recall_best_constant_classifier": 1.0,
        "precision_best_constant_classifier": 0.25,
        "accuracy_best_constant_classifier": 0.25,
        "true_positive_rate": 1.0,
        "true_negative_rate": 0.33333333333333337,
        "false_positive_rate": 0.6666666666666666,
        "false_negative_rate": 0.0,
        "f0_5": 0.3846153846153846,
        "f1": 0.5,
        "f2": 0.7142857142857143,
        "f0_5_best_constant_classifier": 0.29411764705882354,
        "f1_best_constant_classifier": 0.4,
        "f2_best_constant_classifier": 0.625,
    }
    for name, value in expected.items():
        assert m[name].value == value, name  # exact, not approximate
        assert m[name].standard_deviation is None
    assert math.isnan(m["auc"].value)


@pytest.mark.parametrize(
    ("truth", "predicted"),
    [
        ([1, 1, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]),  # no predicted positives
        ([0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0, 0, 0]),  # no positives at all
        ([0, 0, 0, 0], [0, 0, 0, 0]),  # neither
        ([1, 1, 1], [1, 1, 1]),  # no negatives
    ],
)
def test_binary_zero_division_is_zero_like_sklearn(truth: list[int], predicted: list[int]) -> None:
    t, p = np.array(truth), np.array(predicted)
    m = binary_metrics([numpy_binary_tally(t, p, None)])
    ref = sklearn_binary(t, p)
    for name, value in ref.items():
        assert m[name].value == pytest.approx(value, rel=REL, abs=1e-15), name
    assert all(math.isfinite(m[k].value) for k in BINARY_KEYS if k != "auc")


def test_binary_no_predicted_positives_values() -> None:
    m = binary_metrics([BinaryTally(tp=0, fp=0, tn=5, fn=3, auc=0.7)])
    assert (m["precision"].value, m["recall"].value, m["f1"].value) == (0.0, 0.0, 0.0)
    assert (m["false_positive_rate"].value, m["true_negative_rate"].value) == (0.0, 1.0)
    assert m["false_negative_rate"].value == 1.0
    assert m["precision_best_constant_classifier"].value == 3 / 8
    assert m["auc"].value == 0.7


def test_binary_no_positives_values() -> None:
    m = binary_metrics([BinaryTally(tp=0, fp=2, tn=6, fn=0, auc=None)])
    assert (m["precision"].value, m["recall"].value, m["f2"].value) == (0.0, 0.0, 0.0)
    assert m["recall_best_constant_classifier"].value == 0.0
    assert m["precision_best_constant_classifier"].value == 0.0
    assert m["f1_best_constant_classifier"].value == 0.0
    assert m["false_positive_rate"].value == 0.25


def test_binary_auc_std_none_when_a_replica_has_no_auc() -> None:
    full = BinaryTally(tp=100, fp=50, tn=80, fn=20, auc=0.8)
    replicas = [BinaryTally(tp=80, fp=40, tn=64, fn=16, auc=a) for a in (0.79, 0.81, None, 0.8, 0.82)]
    m = binary_metrics([full, *replicas])
    assert m["auc"].value == 0.8 and m["auc"].standard_deviation is None
    assert m["recall"].standard_deviation == 0.0  # the other metrics keep theirs


# ---------------------------------------------------------------- multiclass classification

CLASSES = np.array(["cat", "dog", "bird", "fish", "horse", "zebra"])  # "zebra" is only ever predicted


@pytest.fixture(scope="module")
def multiclass_data() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(7)
    truth = rng.choice(5, size=N, p=[0.45, 0.25, 0.15, 0.1, 0.05])
    noise = rng.choice(6, size=N, p=[0.1, 0.3, 0.3, 0.1, 0.1, 0.1])
    predicted = np.where(rng.random(N) < 0.65, truth, noise)
    return CLASSES[truth], CLASSES[predicted], replica_masks(rng, N)


def numpy_confusion(truth: np.ndarray, predicted: np.ndarray) -> dict[tuple[str, str], int]:
    """(actual, predicted) -> count, non-zero cells only (as a group-by would give)."""
    labels, codes = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
    k = len(labels)
    counts = np.bincount(codes[: len(truth)] * k + codes[len(truth) :], minlength=k * k)
    return {(str(labels[i // k]), str(labels[i % k])): int(c) for i, c in enumerate(counts) if c}


def sklearn_multiclass(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    # Integer codes in label order (sklearn is slow on strings; weighted metrics ignore label names).
    _, codes = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
    truth, predicted = codes[: len(truth)], codes[len(truth) :]
    values, counts = np.unique(truth, return_counts=True)
    constant = np.full(len(truth), values[np.argmax(counts)])  # argmax: first (smallest) label on ties
    d = {}
    for suffix, pred in (("", predicted), ("_best_constant_classifier", constant)):
        d[f"accuracy{suffix}"] = skm.accuracy_score(truth, pred)
        for name, beta in (("f0_5", 0.5), ("f1", 1.0), ("f2", 2.0)):
            p, r, f, _ = skm.precision_recall_fscore_support(
                truth, pred, beta=beta, average="weighted", zero_division=0
            )
            d[f"weighted_{name}{suffix}"] = f
        d[f"weighted_recall{suffix}"] = r
        d[f"weighted_precision{suffix}"] = p
    return {k: float(v) for k, v in d.items()}


def test_multiclass_metrics_match_sklearn(multiclass_data) -> None:
    truth, predicted, masks = multiclass_data
    confusions = [numpy_confusion(truth[m], predicted[m]) for m in masks]
    metrics = multiclass_metrics(confusions)
    assert list(metrics) == MULTICLASS_KEYS
    assert_matches_reference(metrics, masks, lambda m: sklearn_multiclass(truth[m], predicted[m]))
    assert 0.5 < metrics["accuracy"].value < 0.9
    assert metrics["accuracy_best_constant_classifier"].value == pytest.approx(0.45, abs=0.01)


def test_confusion_matrix_dict_orientation_matches_sklearn(multiclass_data) -> None:
    truth, predicted, _ = multiclass_data
    cmd = confusion_matrix_dict(numpy_confusion(truth, predicted))
    labels = sorted(CLASSES)
    assert list(cmd) == labels and all(list(row) == labels for row in cmd.values())
    cm = skm.confusion_matrix(truth, predicted, labels=labels)  # rows = actual, columns = predicted
    for i, actual in enumerate(labels):
        for j, pred in enumerate(labels):
            assert cmd[actual][pred] == cm[i, j]
    assert cmd["zebra"] == dict.fromkeys(labels, 0)  # never actual: a row of zeros
    assert sum(row["zebra"] for row in cmd.values()) > 0


def test_confusion_matrix_dict_label_order_and_zero_fill() -> None:
    confusion = {("10", "2"): 1, ("2", "10"): 3, ("x", "1.5"): 2, ("-1", "-1"): 4}
    cmd = confusion_matrix_dict(confusion)
    assert list(cmd) == ["-1", "1.5", "2", "10", "x"]
    assert cmd["10"] == {"-1": 0, "1.5": 0, "2": 1, "10": 0, "x": 0}
    assert cmd["x"]["1.5"] == 2 and cmd["1.5"]["x"] == 0
    assert list(confusion_matrix_dict({("b", "a"): 1}, labels=["b", "a", "c"])) == ["b", "a", "c"]


def test_multiclass_best_constant_tie_takes_the_smallest_label() -> None:
    confusion = {("b", "b"): 2, ("a", "b"): 2, ("c", "c"): 1}
    m = multiclass_metrics([confusion])
    # Constant "a": right for the 2 "a" rows.
    assert m["accuracy_best_constant_classifier"].value == 2 / 5
    assert m["weighted_precision_best_constant_classifier"].value == pytest.approx(2 / 5 * 2 / 5)
    assert m["accuracy"].value == 3 / 5
    t = np.array(["b", "b", "a", "a", "c"])
    p = np.array(["b", "b", "b", "b", "c"])
    for name, value in sklearn_multiclass(t, p).items():
        assert m[name].value == pytest.approx(value, rel=REL), name


# ---------------------------------------------------------------- regression


def numpy_regression_tally(truth: np.ndarray, predicted: np.ndarray) -> RegressionTally:
    e = truth - predicted
    return RegressionTally(
        count=len(truth),
        sum_abs_error=float(np.sum(np.abs(e))),
        sum_squared_error=float(np.sum(e * e)),
        truth_sum_squares=float(np.sum((truth - truth.mean()) ** 2)),
    )


def sklearn_regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "mae": float(skm.mean_absolute_error(truth, predicted)),
        "mse": float(skm.mean_squared_error(truth, predicted)),
        "rmse": float(skm.root_mean_squared_error(truth, predicted)),
        "r2": float(skm.r2_score(truth, predicted)),
    }


@pytest.fixture(scope="module")
def regression_data() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(3)
    truth = rng.normal(10, 3, N)
    predicted = 0.8 * truth + 2 + rng.normal(0.2, 1.5, N)
    return truth, predicted, replica_masks(rng, N)


def test_regression_metrics_match_sklearn(regression_data) -> None:
    truth, predicted, masks = regression_data
    metrics = regression_metrics([numpy_regression_tally(truth[m], predicted[m]) for m in masks])
    assert list(metrics) == ["mae", "mse", "rmse", "r2"]
    assert_matches_reference(metrics, masks, lambda m: sklearn_regression(truth[m], predicted[m]))
    assert 0.5 < metrics["r2"].value < 0.9


@pytest.mark.parametrize(
    ("truth", "predicted"), [([3.0, 3.0, 3.0], [3.0, 3.0, 3.0]), ([3.0, 3.0], [3.0, 4.0])]
)
def test_regression_r2_of_a_constant_truth_is_sklearns(truth: list[float], predicted: list[float]) -> None:
    t, p = np.array(truth), np.array(predicted)
    m = regression_metrics([numpy_regression_tally(t, p)])
    assert m["r2"].value == skm.r2_score(t, p)


def test_regression_std_none_when_a_replica_metric_is_nan() -> None:
    full = RegressionTally(count=300, sum_abs_error=30.0, sum_squared_error=45.0, truth_sum_squares=900.0)
    empty = RegressionTally(count=0, sum_abs_error=0.0, sum_squared_error=0.0, truth_sum_squares=0.0)
    m = regression_metrics([full, full, full, empty, full, full])
    assert m["mae"].value == 0.1 and m["mae"].standard_deviation is None
    assert math.isnan(regression_metrics([empty])["mse"].value)


def test_standard_deviation_is_the_population_one() -> None:
    assert standard_deviation([1.0, 2.0, 3.0, 4.0, 5.0]) == math.sqrt(2.0)
    assert standard_deviation([0.7] * 5) == 0.0


@pytest.mark.parametrize("rows", [MIN_ROWS_FOR_STD - 1, MIN_ROWS_FOR_STD])
def test_standard_deviation_only_from_200_rows(
    regression_data, binary_data, multiclass_data, rows: int
) -> None:
    rng = np.random.default_rng(rows)
    masks = replica_masks(rng, rows)
    truth, predicted, _ = regression_data
    t, p = truth[:rows], predicted[:rows]
    reg = regression_metrics([numpy_regression_tally(t[m], p[m]) for m in masks])
    bt, bprob, bp, _ = binary_data
    binary = binary_metrics([numpy_binary_tally(bt[:rows][m], bp[:rows][m], bprob[:rows][m]) for m in masks])
    mt, mp, _ = multiclass_data
    multi = multiclass_metrics([numpy_confusion(mt[:rows][m], mp[:rows][m]) for m in masks])
    for metrics in (reg, binary, multi):
        stds = [metric.standard_deviation for metric in metrics.values()]
        if rows < MIN_ROWS_FOR_STD:
            assert all(s is None for s in stds)
        else:
            assert all(s is not None for s in stds)
    stats = ModelQualityStatistics("Regression", rows, reg)
    written = model_quality_statistics_to_dict(stats)["regression_metrics"]
    expect_nan = rows < MIN_ROWS_FOR_STD
    assert all((m["standard_deviation"] == "NaN") == expect_nan for m in written.values())
    assert regression_metrics([numpy_regression_tally(t, p)])["mae"].standard_deviation is None  # no replicas


# ---------------------------------------------------------------- statistics files


@pytest.mark.parametrize("path", [MQ_STATS, MODEL_CARD_STATS], ids=["pipeline-2021", "model-card-2023"])
def test_statistics_fixture_round_trip_is_byte_identical(path: Path, tmp_path: Path) -> None:
    stats = read_model_quality_statistics(path)
    assert stats.problem_type == "Regression"
    out = tmp_path / "statistics.json"
    write_model_quality_statistics(stats, out)
    assert text(out) == text(path)


def test_statistics_fixture_values() -> None:
    s = read_model_quality_statistics(MODEL_CARD_STATS)
    assert (s.item_count, s.evaluation_time) == (627, "2023-03-30T21:08:34.729Z")
    assert s.metrics["r2"] == Metric(0.23671182319828743, 0.02946664105374692)
    p = read_model_quality_statistics(MQ_STATS)
    assert p.evaluation_time is None and p.metrics["mse"] == Metric(0.33364933609800973, None)


def test_statistics_built_from_values_equal_the_fixture_text() -> None:
    stats = ModelQualityStatistics(
        problem_type="Regression",
        item_count=100,
        metrics={
            "mae": Metric(0.5040653554420981, None),
            "mse": Metric(0.33364933609800973, None),
            "rmse": Metric(0.5776238707827177, None),
            "r2": Metric(-3.208758170289026, None),
        },
    )
    assert dumps_jackson(model_quality_statistics_to_dict(stats)) == text(MQ_STATS)


def test_binary_statistics_layout_and_round_trip(tmp_path: Path) -> None:
    tally = BinaryTally(tp=1, fp=2, tn=1, fn=0, auc=0.75)
    stats = ModelQualityStatistics(
        problem_type="BinaryClassification",
        item_count=4,
        metrics=binary_metrics([tally]),
        confusion_matrix=confusion_matrix_dict(binary_confusion(tally)),
        roc_curve=([0.0, 0.5, 1.0], [0.0, 1.0, 1.0]),
        pr_curve=([1.0, 0.3333333333333333], [1.0, 1.0]),
        evaluation_time="2026-11-20T10:00:00.000Z",
    )
    d = model_quality_statistics_to_dict(stats)
    assert list(d) == ["version", "dataset", "binary_classification_metrics"]
    group = d["binary_classification_metrics"]
    keys = BINARY_KEYS.copy()
    keys[keys.index("auc") : keys.index("auc")] = [
        "receiver_operating_characteristic_curve",
        "precision_recall_curve",
    ]
    assert list(group) == ["confusion_matrix", *keys]
    written = dumps_jackson(d)
    assert '"confusion_matrix" : {\n      "0" : {\n        "0" : 1,\n        "1" : 2\n      },' in written
    assert (
        '"receiver_operating_characteristic_curve" : {\n      "false_positive_rates" : [ 0.0, 0.5, 1.0 ],\n'
        '      "true_positive_rates" : [ 0.0, 1.0, 1.0 ]\n    },'
    ) in written
    assert '"recall" : {\n      "value" : 1.0,\n      "standard_deviation" : "NaN"\n    },' in written
    path = tmp_path / "statistics.json"
    write_model_quality_statistics(stats, path)
    back = read_model_quality_statistics(path)
    assert back == stats
    write_model_quality_statistics(back, tmp_path / "again.json")
    assert text(tmp_path / "again.json") == written


def test_multiclass_statistics_layout_and_round_trip() -> None:
    confusion = {("cat", "cat"): 5, ("cat", "dog"): 1, ("dog", "dog"): 3, ("bird", "cat"): 1}
    stats = ModelQualityStatistics(
        "MulticlassClassification", 10, multiclass_metrics([confusion]), confusion_matrix_dict(confusion)
    )
    d = model_quality_statistics_to_dict(stats)
    group = d["multiclass_classification_metrics"]
    assert list(group) == ["confusion_matrix", *MULTICLASS_KEYS]
    assert group["confusion_matrix"]["bird"] == {"bird": 0, "cat": 1, "dog": 0}
    assert parse_model_quality_statistics(json.loads(dumps_jackson(d))) == stats


def test_statistics_nan_value_written_as_string() -> None:
    stats = ModelQualityStatistics(
        "BinaryClassification", 4, binary_metrics([BinaryTally(tp=1, fp=2, tn=1, fn=0, auc=None)])
    )
    auc = model_quality_statistics_to_dict(stats)["binary_classification_metrics"]["auc"]
    assert auc == {"value": "NaN", "standard_deviation": "NaN"}


@pytest.mark.parametrize(
    ("doc", "key_path", "problem"),
    [
        ({"version": 0.0, "dataset": {"item_count": 1}}, "", "regression_metrics"),
        (
            {"dataset": {"item_count": 1}, "regression_metrics": {"mae": {"standard_deviation": "NaN"}}},
            "regression_metrics.mae.value",
            "missing",
        ),
        (
            {"dataset": {"item_count": 1}, "regression_metrics": {"mae": {"value": "x"}}},
            "regression_metrics.mae.value",
            "expected a number",
        ),
        (
            {
                "dataset": {"item_count": 1},
                "regression_metrics": {"mae": {"value": 1.0, "standard_deviation": []}},
            },
            "regression_metrics.mae.standard_deviation",
            "expected a number",
        ),
        ({"regression_metrics": {}}, "dataset", "missing"),
        (
            {"dataset": {"item_count": 1}, "regression_metrics": {}, "binary_classification_metrics": {}},
            "",
            "more than one",
        ),
        (
            {
                "dataset": {"item_count": 1},
                "binary_classification_metrics": {"confusion_matrix": {"0": {"1": 0.5}}},
            },
            "binary_classification_metrics.confusion_matrix.0.1",
            "expected an integer",
        ),
    ],
)
def test_malformed_statistics_name_the_key_path(doc: dict, key_path: str, problem: str) -> None:
    with pytest.raises(FormatError) as e:
        parse_model_quality_statistics(doc, "s3://b/statistics.json")
    assert e.value.key_path == key_path
    assert problem in e.value.problem
    assert str(e.value).startswith("s3://b/statistics.json")


# ---------------------------------------------------------------- constraints files, suggestion


@pytest.mark.parametrize("path", [MQ_GOOD, MQ_BAD], ids=["good", "bad"])
def test_constraints_fixture_round_trip_is_byte_identical(path: Path, tmp_path: Path) -> None:
    c = read_model_quality_constraints(path)
    assert c.problem_type == "Regression"
    assert list(c.constraints) == ["mae", "mse", "rmse", "r2"]
    out = tmp_path / "constraints.json"
    write_model_quality_constraints(c, out)
    assert text(out) == text(path)


def test_suggestion_from_the_fixture_statistics_is_the_real_constraints_file() -> None:
    suggested = suggest_model_quality_constraints(read_model_quality_statistics(MQ_STATS))
    assert dumps_jackson(model_quality_constraints_to_dict(suggested)) == text(MQ_GOOD)


def test_suggestion_for_binary_classification() -> None:
    tally = BinaryTally(tp=30, fp=10, tn=50, fn=10, auc=0.9)
    stats = ModelQualityStatistics("BinaryClassification", 100, binary_metrics([tally]))
    c = suggest_model_quality_constraints(stats)
    less, greater = "LessThanThreshold", "GreaterThanThreshold"
    assert [(k, v.comparison_operator) for k, v in c.constraints.items()] == [
        ("recall", less),
        ("precision", less),
        ("accuracy", less),
        ("true_positive_rate", less),
        ("true_negative_rate", less),
        ("false_positive_rate", greater),
        ("false_negative_rate", greater),
        ("auc", less),
        ("f0_5", less),
        ("f1", less),
        ("f2", less),
    ]
    assert all(c.constraints[k].threshold == stats.metrics[k].value for k in c.constraints)
    assert list(model_quality_constraints_to_dict(c)) == ["version", "binary_classification_constraints"]
    # A NaN metric gets no constraint.
    no_auc = ModelQualityStatistics(
        "BinaryClassification", 100, binary_metrics([BinaryTally(30, 10, 50, 10, None)])
    )
    assert "auc" not in suggest_model_quality_constraints(no_auc).constraints


def test_suggestion_for_multiclass_classification() -> None:
    stats = ModelQualityStatistics(
        "MulticlassClassification", 10, multiclass_metrics([{("a", "a"): 6, ("b", "a"): 4}])
    )
    c = suggest_model_quality_constraints(stats)
    assert list(c.constraints) == MULTICLASS_KEYS[:6]
    assert {v.comparison_operator for v in c.constraints.values()} == {"LessThanThreshold"}
    assert c.constraints["accuracy"].threshold == 0.6
    d = model_quality_constraints_to_dict(c)
    assert parse_model_quality_constraints(json.loads(dumps_jackson(d))) == c


@pytest.mark.parametrize(
    ("doc", "key_path", "problem"),
    [
        (
            {
                "version": 0.0,
                "regression_constraints": {"mse": {"threshold": 1.0, "comparison_operator": "Bigger"}},
            },
            "regression_constraints.mse.comparison_operator",
            "expected one of GreaterThanThreshold",
        ),
        (
            {"regression_constraints": {"mae": {"comparison_operator": "GreaterThanThreshold"}}},
            "regression_constraints.mae.threshold",
            "missing",
        ),
        (
            {
                "regression_constraints": {
                    "mae": {"threshold": "high", "comparison_operator": "LessThanThreshold"}
                }
            },
            "regression_constraints.mae.threshold",
            "expected a number",
        ),
        ({"version": 0.0, "features": []}, "", "regression_constraints"),
        ({"regression_constraints": []}, "regression_constraints", "expected an object"),
        ({"regression_constraints": {"mae": None}}, "regression_constraints.mae", "null"),
    ],
)
def test_malformed_constraints_name_the_key_path(
    tmp_path: Path, doc: dict, key_path: str, problem: str
) -> None:
    path = tmp_path / "constraints.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(FormatError) as e:
        read_model_quality_constraints(path)
    assert e.value.key_path == key_path
    assert problem in e.value.problem
    assert str(path) in str(e.value)


def test_comparison_operator_spelling_is_canonicalised() -> None:
    c = parse_model_quality_constraints(
        {
            "multiclass_classification_constraints": {
                "accuracy": {"threshold": 1, "comparison_operator": "lessthanthreshold"}
            }
        }
    )
    assert c.constraints["accuracy"] == MetricConstraint(1.0, "LessThanThreshold")
    assert c.problem_type == "MulticlassClassification"


# ---------------------------------------------------------------- checks


def test_check_against_the_bad_case_gives_the_mse_violation() -> None:
    stats = read_model_quality_statistics(MQ_STATS)
    violations = check_model_quality(read_model_quality_constraints(MQ_BAD), stats)
    assert len(violations) == 1
    v = violations[0]
    assert (v.feature_name, v.metric_name, v.constraint_check_type) == (None, "mse", "GreaterThanThreshold")
    description = "Metric mse with 0.33364933609800973 was GreaterThanThreshold 0.03364933609800973"
    assert v.description == description
    assert violations_to_dict(ConstraintViolations(violations)) == {
        "violations": [
            {
                "metric_name": "mse",
                "constraint_check_type": "GreaterThanThreshold",
                "description": description,
            }
        ]
    }


def test_check_against_the_good_case_gives_nothing() -> None:
    stats = read_model_quality_statistics(MQ_STATS)
    assert check_model_quality(read_model_quality_constraints(MQ_GOOD), stats) == []


@pytest.mark.parametrize(
    ("operator", "value", "fires"),
    [
        ("GreaterThanThreshold", 0.6, True),
        ("GreaterThanThreshold", 0.5, False),
        ("GreaterThanOrEqualToThreshold", 0.5, True),
        ("GreaterThanOrEqualToThreshold", 0.4, False),
        ("LessThanThreshold", 0.4, True),
        ("LessThanThreshold", 0.5, False),
        ("LessThanOrEqualToThreshold", 0.5, True),
        ("LessThanOrEqualToThreshold", 0.6, False),
    ],
)
def test_each_operator_fires_and_holds_at_the_boundary(operator: str, value: float, fires: bool) -> None:
    stats = ModelQualityStatistics("Regression", 10, {"mae": Metric(value, None)})
    constraints = ModelQualityConstraints("Regression", {"mae": MetricConstraint(0.5, operator)})
    violations = check_model_quality(constraints, stats)
    assert len(violations) == int(fires)
    if fires:
        assert violations[0].constraint_check_type == operator
        assert violations[0].description == f"Metric mae with {value} was {operator} 0.5"


def test_check_orders_violations_like_the_constraints_and_formats_numbers_like_java() -> None:
    stats = ModelQualityStatistics(
        "Regression",
        10,
        {"mae": Metric(1.0e-4, None), "mse": Metric(2.0e7, None), "r2": Metric(math.nan, None)},
    )
    constraints = ModelQualityConstraints(
        "Regression",
        {
            "mse": MetricConstraint(1.0, "GreaterThanThreshold"),
            "r2": MetricConstraint(0.5, "LessThanThreshold"),  # NaN violates nothing
            "mae": MetricConstraint(1, "LessThanThreshold"),
        },
    )
    assert [v.description for v in check_model_quality(constraints, stats)] == [
        "Metric mse with 2.0E7 was GreaterThanThreshold 1.0",
        "Metric mae with 1.0E-4 was LessThanThreshold 1.0",
    ]


def test_check_ignores_a_constraint_on_an_absent_metric_with_a_warning(caplog) -> None:
    stats = ModelQualityStatistics("Regression", 10, {"mae": Metric(1.0, None)})
    constraints = ModelQualityConstraints(
        "Regression", {"mape": MetricConstraint(0.1, "GreaterThanThreshold")}
    )
    with caplog.at_level(logging.WARNING, logger="monitor_lib"):
        assert check_model_quality(constraints, stats) == []
    assert "mape" in caplog.text


def test_check_problem_type_mismatch_names_both() -> None:
    stats = read_model_quality_statistics(MQ_STATS)
    constraints = ModelQualityConstraints(
        "BinaryClassification", {"f1": MetricConstraint(0.5, "LessThanThreshold")}
    )
    with pytest.raises(ConfigError) as e:
        check_model_quality(constraints, stats)
    assert "BinaryClassification" in str(e.value) and "Regression" in str(e.value)


# ---------------------------------------------------------------- CloudWatch


def test_cloudwatch_model_quality_metrics() -> None:
    stats = read_model_quality_statistics(MODEL_CARD_STATS)
    ts = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    metrics = model_quality_metrics(stats, ts, endpoint="ep", schedule="sched")
    assert [m["MetricName"] for m in metrics] == ["mae", "mse", "rmse", "r2"]
    assert metrics[3] == {
        "MetricName": "r2",
        "Timestamp": "2026-11-20T10:00:00Z",
        "Dimensions": [{"Name": "Endpoint", "Value": "ep"}, {"Name": "MonitoringSchedule", "Value": "sched"}],
        "Value": 0.23671182319828743,
        "Unit": "None",
    }
    batch = model_quality_metrics(stats, ts, schedule="sched")
    assert all(m["Dimensions"] == [{"Name": "MonitoringSchedule", "Value": "sched"}] for m in batch)


def test_cloudwatch_model_quality_skips_non_finite_and_non_scalar() -> None:
    tally = BinaryTally(tp=1, fp=2, tn=1, fn=0, auc=None)
    stats = ModelQualityStatistics(
        "BinaryClassification",
        4,
        binary_metrics([tally]),
        confusion_matrix=confusion_matrix_dict(binary_confusion(tally)),
        roc_curve=([0.0, 1.0], [0.0, 1.0]),
    )
    metrics = model_quality_metrics(stats, datetime(2026, 1, 1, tzinfo=UTC))
    names = [m["MetricName"] for m in metrics]
    assert names == [k for k in BINARY_KEYS if k != "auc"]
    assert {m["MetricName"]: m["Value"] for m in metrics}["f2"] == 0.7142857142857143
    assert all(m["Dimensions"] == [] for m in metrics)
