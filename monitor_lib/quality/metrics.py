"""Model-quality metrics from small per-replica tallies (no Spark here; spec §2.3 and §8.1).

The Spark side reduces the merged data to one tally per replica: index 0 is every row, indexes
1..REPLICAS are bootstrap replicas (independent Bernoulli samples of about SAMPLE_FRACTION of the rows).
Each metric's ``value`` comes from tally 0; its ``standard_deviation`` is the population standard
deviation (ddof=0) of the metric over the replicas, given only when tally 0 has at least
MIN_ROWS_FOR_STD rows ("Standard deviation for metrics are provided only when at least 200 samples are
available ... randomly sampling 80% of the data 5 times" — DG). Whether SageMaker uses the population
or the sample standard deviation is unknown; we use the population one.

Formulas follow the DG example exactly (it is reproduced to the last bit): f-beta is
``(1+β²)·P·R / (β²·P + R)`` from precision and recall (Spark MLlib's form; scikit-learn's
``(1+β²)·tp / (…)`` differs in the last bit), the negative rates are ``1 - rate``, and any 0/0 is 0.0
(scikit-learn's ``zero_division=0``). Regression r2 is ``1 - SSE/SS_tot`` with SS_tot about the
ground-truth mean, and, as scikit-learn's ``r2_score`` (``force_finite=True``), 1.0 for a perfect fit
of a constant truth and 0.0 otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

# the statistics file's record types (defined with the file format), re-exported with the formulas that
# fill them
from monitor_lib.formats.model_quality import PROBLEM_TYPES, Metric  # noqa: F401

REPLICAS = 5
MIN_ROWS_FOR_STD = 200
SAMPLE_FRACTION = 0.8

BETAS = (("f0_5", 0.5), ("f1", 1.0), ("f2", 2.0))


@dataclass(frozen=True)
class RegressionTally:
    count: int
    sum_abs_error: float  # Σ|y - ŷ|
    sum_squared_error: float  # Σ(y - ŷ)²
    truth_sum_squares: float  # Σ(y - ȳ)², ȳ the mean of the ground truth in this replica
    truth_sum: float | None = None  # Σy (with the count, ȳ: what merging two tallies' Σ(y - ȳ)² needs)


@dataclass(frozen=True)
class BinaryTally:
    tp: int
    fp: int
    tn: int
    fn: int
    auc: float | None  # exact ROC AUC of this replica (None: not computable, e.g. one class only)

    @property
    def count(self) -> int:
        return self.tp + self.fp + self.tn + self.fn


T = TypeVar("T")


def standard_deviation(values: Sequence[float]) -> float:
    """Population standard deviation (ddof=0) of the replica values."""
    return float(np.std(np.asarray(values, dtype=float), ddof=0))


def _div(a: float, b: float) -> float:
    """a / b, with 0/0 (and anything/0) as 0.0 — scikit-learn's zero_division=0."""
    return a / b if b else 0.0


def _f_beta(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    denominator = b2 * precision + recall
    return (1 + b2) * precision * recall / denominator if denominator else 0.0


def _is_missing(x: float | None) -> bool:
    return x is None or math.isnan(x)


def _metrics(
    items: Sequence[T],
    rows: Callable[[T], int],
    compute: Callable[[T], dict[str, float | None]],
) -> dict[str, Metric]:
    """Every metric of ``compute`` on items[0], with the std over items[1:] when items[0] is large enough."""
    if not items:
        raise ValueError("no tallies: expected the full-data tally first, then the replicas")
    values = [compute(item) for item in items]
    with_std = rows(items[0]) >= MIN_ROWS_FOR_STD and len(items) > 1
    out: dict[str, Metric] = {}
    for name, value in values[0].items():
        std = None
        if with_std:
            replica_values = [v[name] for v in values[1:]]
            if not any(_is_missing(v) for v in replica_values):
                std = standard_deviation(replica_values)  # type: ignore[arg-type]
        out[name] = Metric(math.nan if value is None else float(value), std)
    return out


# ---------------------------------------------------------------- regression


def _regression(t: RegressionTally) -> dict[str, float | None]:
    if t.count <= 0:
        return {"mae": math.nan, "mse": math.nan, "rmse": math.nan, "r2": math.nan}
    mse = t.sum_squared_error / t.count
    if t.truth_sum_squares:
        r2 = 1.0 - t.sum_squared_error / t.truth_sum_squares
    else:
        r2 = 1.0 if t.sum_squared_error == 0 else 0.0
    return {"mae": t.sum_abs_error / t.count, "mse": mse, "rmse": math.sqrt(mse), "r2": r2}


def regression_metrics(tallies: Sequence[RegressionTally]) -> dict[str, Metric]:
    """mae, mse, rmse, r2 (in that order) of tallies[0], with bootstrap stds over tallies[1:]."""
    return _metrics(tallies, lambda t: t.count, _regression)


# ---------------------------------------------------------------- binary classification


def _binary(t: BinaryTally) -> dict[str, float | None]:
    n = t.count
    positives = t.tp + t.fn
    recall = _div(t.tp, positives)
    precision = _div(t.tp, t.tp + t.fp)
    false_positive_rate = _div(t.fp, t.fp + t.tn)
    # Best constant classifier: always predict the positive class.
    best_precision = _div(positives, n)
    best_recall = 1.0 if positives else 0.0
    d: dict[str, float | None] = {
        "recall": recall,
        "precision": precision,
        "accuracy": _div(t.tp + t.tn, n),
        "recall_best_constant_classifier": best_recall,
        "precision_best_constant_classifier": best_precision,
        "accuracy_best_constant_classifier": _div(positives, n),
        "true_positive_rate": recall,
        "true_negative_rate": 1.0 - false_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": 1.0 - recall,
        "auc": t.auc,
    }
    for name, beta in BETAS:
        d[name] = _f_beta(precision, recall, beta)
    for name, beta in BETAS:
        d[f"{name}_best_constant_classifier"] = _f_beta(best_precision, best_recall, beta)
    return d


def binary_metrics(tallies: Sequence[BinaryTally]) -> dict[str, Metric]:
    """The binary-classification metrics (positive class "1") in SageMaker's documented key order."""
    return _metrics(tallies, lambda t: t.count, _binary)


def binary_confusion(t: BinaryTally, positive: str = "1", negative: str = "0") -> dict[tuple[str, str], int]:
    """The (actual, predicted) counts of a binary tally, for :func:`confusion_matrix_dict`."""
    return {(negative, negative): t.tn, (negative, positive): t.fp, (positive, negative): t.fn,
            (positive, positive): t.tp}


# ---------------------------------------------------------------- multiclass classification


def _weighted(confusion: Mapping[tuple[str, str], int]) -> dict[str, float]:
    """accuracy, and recall, precision and f-scores averaged as scikit-learn's average="weighted"."""
    support: dict[str, int] = {}
    predicted: dict[str, int] = {}
    correct: dict[str, int] = {}
    for (actual, pred), count in confusion.items():
        support[actual] = support.get(actual, 0) + count
        predicted[pred] = predicted.get(pred, 0) + count
        if actual == pred:
            correct[actual] = correct.get(actual, 0) + count
    n = sum(support.values())
    names = ["weighted_recall", "weighted_precision"] + [f"weighted_{name}" for name, _ in BETAS]
    sums = dict.fromkeys(names, 0.0)
    for label, weight in support.items():  # classes only ever predicted have weight 0
        tp = correct.get(label, 0)
        recall = _div(tp, weight)
        precision = _div(tp, predicted.get(label, 0))
        sums["weighted_recall"] += recall * weight
        sums["weighted_precision"] += precision * weight
        for name, beta in BETAS:
            sums[f"weighted_{name}"] += _f_beta(precision, recall, beta) * weight
    return {"accuracy": _div(sum(correct.values()), n), **{k: _div(v, n) for k, v in sums.items()}}


def _multiclass(confusion: Mapping[tuple[str, str], int]) -> dict[str, float | None]:
    support: dict[str, int] = {}
    for (actual, _), count in confusion.items():
        support[actual] = support.get(actual, 0) + count
    d: dict[str, float | None] = dict(_weighted(confusion))
    if support:
        # Best constant classifier: always predict the most frequent actual class (ties: smallest label).
        best = min(support, key=lambda label: (-support[label], label))
        constant = {(actual, best): count for actual, count in support.items()}
    else:
        constant = {}
    for name, value in _weighted(constant).items():
        d[f"{name}_best_constant_classifier"] = value
    return d


def multiclass_metrics(confusions: Sequence[Mapping[tuple[str, str], int]]) -> dict[str, Metric]:
    """The multiclass metrics in SageMaker's documented key order.

    Each confusion maps (actual label, predicted label) to a count.
    """
    return _metrics(confusions, lambda c: sum(c.values()), _multiclass)


# ---------------------------------------------------------------- confusion matrix

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _label_key(label: str) -> tuple[int, float, str]:
    if _NUMBER.fullmatch(label.strip()):
        value = float(label)
        if math.isfinite(value):
            return (0, value, label)
    return (1, 0.0, label)


def sort_labels(labels: Iterable[str]) -> list[str]:
    """Numeric-looking labels numerically first, then the others as strings."""
    return sorted(set(labels), key=_label_key)


def confusion_matrix_dict(
    confusion: Mapping[tuple[str, str], int], labels: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """``{actual: {predicted: count}}`` with a row and a column for every label (zeros filled).

    ``labels`` fixes the order; labels of ``confusion`` it does not name follow, sorted.
    """
    seen = {label for pair in confusion for label in pair}
    order = list(labels) if labels is not None else []
    order += sort_labels(seen - set(order))
    return {actual: {pred: int(confusion.get((actual, pred), 0)) for pred in order} for actual in order}
