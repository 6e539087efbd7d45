"""Model-quality ``statistics.json`` and ``constraints.json`` (spec §8), suggestion and checks.

Files are written in the real container's layout (Jackson pretty printer, no trailing newline):

* statistics: ``{"version": 0.0, "dataset": {"item_count": n[, "evaluation_time": t]}, "<group>": {...}}``
  with the group ``regression_metrics``, ``binary_classification_metrics`` or
  ``multiclass_classification_metrics``; each scalar metric is ``{"value": x, "standard_deviation": x}``
  where a missing value or standard deviation is the string ``"NaN"``. The group starts with
  ``confusion_matrix`` (classification); the binary curves ``receiver_operating_characteristic_curve``
  and ``precision_recall_curve`` come right before ``auc``, as in the DG example.
* constraints: ``{"version": 0.0, "<problem>_constraints": {metric: {"threshold": x,
  "comparison_operator": op}}}``.

Suggestion. Regression is measured (SDK pipeline fixture): every threshold is the baseline value;
``mae``, ``mse``, ``rmse`` get ``GreaterThanThreshold`` and ``r2`` gets ``LessThanThreshold``.
For classification the real rule is unknown (spec §8.2); our documented choice, in the same spirit:
the threshold is the baseline value, and

* binary: ``recall``, ``precision``, ``accuracy``, ``true_positive_rate``, ``true_negative_rate``, ``auc``,
  ``f0_5``, ``f1``, ``f2`` get ``LessThanThreshold``; ``false_positive_rate`` and ``false_negative_rate``
  get ``GreaterThanThreshold``;
* multiclass: ``accuracy``, ``weighted_recall``, ``weighted_precision``, ``weighted_f0_5``, ``weighted_f1``,
  ``weighted_f2`` get ``LessThanThreshold``.

No constraint is suggested for the ``*_best_constant_classifier`` metrics, nor for a metric whose
baseline value is NaN. Constraints follow the statistics' key order.

Check. A constraint is violated when the current value compares to the threshold as its operator says
(``GreaterThanThreshold``: value > threshold, ``GreaterThanOrEqualToThreshold``: >=, ``LessThanThreshold``: <,
``LessThanOrEqualToThreshold``: <=); a NaN value violates nothing. The description is
``Metric <name> with <value> was <operator> <threshold>`` (inferred, spec §8.2), numbers as Java prints them.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Any

from monitor_lib.errors import ConfigError
from monitor_lib.formats.jsonfmt import (
    FormatError,
    JsonNode,
    dumps_jackson,
    java_double,
    json_number,
    load_json_file,
    write_json_atomic,
)
from monitor_lib.formats.violations import Violation

log = logging.getLogger(__name__)

PROBLEM_TYPES = ("BinaryClassification", "MulticlassClassification", "Regression")


@dataclass(frozen=True)
class Metric:
    """One scalar metric of a model-quality ``statistics.json`` (computed by :mod:`monitor_lib.quality.metrics`)."""

    value: float  # NaN when it cannot be computed (written as "NaN")
    standard_deviation: float | None  # None is written as "NaN"

_GROUP_PREFIX = {
    "Regression": "regression",
    "BinaryClassification": "binary_classification",
    "MulticlassClassification": "multiclass_classification",
}

CONFUSION_MATRIX = "confusion_matrix"
ROC_CURVE = "receiver_operating_characteristic_curve"
PR_CURVE = "precision_recall_curve"

GREATER = "GreaterThanThreshold"
GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
LESS = "LessThanThreshold"
LESS_OR_EQUAL = "LessThanOrEqualToThreshold"
COMPARISON_OPERATORS = (GREATER, GREATER_OR_EQUAL, LESS, LESS_OR_EQUAL)
_COMPARE = {
    GREATER: lambda v, t: v > t,
    GREATER_OR_EQUAL: lambda v, t: v >= t,
    LESS: lambda v, t: v < t,
    LESS_OR_EQUAL: lambda v, t: v <= t,
}

# metric -> suggested operator, per problem type (see the module docstring).
SUGGESTED_OPERATORS: dict[str, dict[str, str]] = {
    "Regression": {"mae": GREATER, "mse": GREATER, "rmse": GREATER, "r2": LESS},
    "BinaryClassification": {
        **dict.fromkeys(
            ("recall", "precision", "accuracy", "true_positive_rate", "true_negative_rate", "auc"), LESS
        ),
        "false_positive_rate": GREATER,
        "false_negative_rate": GREATER,
        **dict.fromkeys(("f0_5", "f1", "f2"), LESS),
    },
    "MulticlassClassification": dict.fromkeys(
        ("accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1", "weighted_f2"),
        LESS,
    ),
}


def _prefix(problem_type: str) -> str:
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"unknown problem type {problem_type!r}: expected one of {', '.join(PROBLEM_TYPES)}")
    return _GROUP_PREFIX[problem_type]


def metrics_group(problem_type: str) -> str:
    """``regression_metrics`` | ``binary_classification_metrics`` | ``multiclass_classification_metrics``."""
    return f"{_prefix(problem_type)}_metrics"


def constraints_group(problem_type: str) -> str:
    """``regression_constraints`` | ``binary_classification_constraints`` | ``multiclass_…_constraints``."""
    return f"{_prefix(problem_type)}_constraints"


def _child(parent: JsonNode, key: str) -> JsonNode:
    """The object-or-value under an existing key; a null there is reported as such."""
    node = parent.get(key)
    if node is None:
        path = f"{parent.path}.{key}" if parent.path else key
        raise FormatError(parent.source, path, "expected a value, got null")
    return node


def _find_group(root: JsonNode, suffix: str) -> tuple[str, JsonNode]:
    """The problem type and node of the single ``<prefix><suffix>`` group of the file."""
    found = [(p, root.get(f"{prefix}{suffix}")) for p, prefix in _GROUP_PREFIX.items()]
    present = [(p, node) for p, node in found if node is not None]
    names = ", ".join(f"{prefix}{suffix}" for prefix in _GROUP_PREFIX.values())
    if not present:
        raise root.error(f"no model-quality group: expected one of {names}")
    if len(present) > 1:
        raise root.error(f"more than one model-quality group ({', '.join(n.path for _, n in present)})")
    problem_type, node = present[0]
    node.as_dict()
    return problem_type, node  # type: ignore[return-value]


# ---------------------------------------------------------------- statistics


@dataclass
class ModelQualityStatistics:
    problem_type: str
    item_count: int
    metrics: dict[str, Metric]  # ordered as returned by the metric functions
    confusion_matrix: dict[str, dict[str, int]] | None = None
    roc_curve: tuple[list[float], list[float]] | None = None  # (false_positive_rates, true_positive_rates)
    pr_curve: tuple[list[float], list[float]] | None = None  # (precisions, recalls)
    evaluation_time: str | None = None  # "2023-03-30T21:08:34.729Z"


def _metric_to_dict(m: Metric) -> dict[str, Any]:
    std = "NaN" if m.standard_deviation is None else json_number(float(m.standard_deviation))
    return {"value": json_number(float(m.value)), "standard_deviation": std}


def _curves(s: ModelQualityStatistics) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if s.roc_curve is not None:
        fprs, tprs = s.roc_curve
        d[ROC_CURVE] = {
            "false_positive_rates": [json_number(float(x)) for x in fprs],
            "true_positive_rates": [json_number(float(x)) for x in tprs],
        }
    if s.pr_curve is not None:
        precisions, recalls = s.pr_curve
        d[PR_CURVE] = {
            "precisions": [json_number(float(x)) for x in precisions],
            "recalls": [json_number(float(x)) for x in recalls],
        }
    return d


def model_quality_statistics_to_dict(s: ModelQualityStatistics) -> dict[str, Any]:
    dataset: dict[str, Any] = {"item_count": int(s.item_count)}
    if s.evaluation_time is not None:
        dataset["evaluation_time"] = s.evaluation_time
    group: dict[str, Any] = {}
    if s.confusion_matrix is not None:
        group[CONFUSION_MATRIX] = {
            actual: {pred: int(count) for pred, count in row.items()}
            for actual, row in s.confusion_matrix.items()
        }
    curves = _curves(s)
    for name, metric in s.metrics.items():
        if name == "auc":
            group.update(curves)
            curves = {}
        group[name] = _metric_to_dict(metric)
    group.update(curves)  # no auc metric: the curves go last
    return {"version": 0.0, "dataset": dataset, metrics_group(s.problem_type): group}


def write_model_quality_statistics(s: ModelQualityStatistics, path: str | os.PathLike[str]) -> None:
    write_json_atomic(path, dumps_jackson(model_quality_statistics_to_dict(s)))


def _parse_metric(node: JsonNode) -> Metric:
    std = node.get("standard_deviation")
    std_value = None if std is None else std.as_float()
    return Metric(
        value=node.req("value").as_float(),
        standard_deviation=None if std_value is None or math.isnan(std_value) else std_value,
    )


def _parse_curve(node: JsonNode, x_key: str, y_key: str) -> tuple[list[float], list[float]]:
    xs = [x.as_float() for x in node.req(x_key).items()]
    ys = [y.as_float() for y in node.req(y_key).items()]
    if len(xs) != len(ys):
        raise node.error(f"{x_key} has {len(xs)} points but {y_key} has {len(ys)}")
    return xs, ys


def parse_model_quality_statistics(d: Any, source: str = "statistics.json") -> ModelQualityStatistics:
    """Typed model-quality statistics; FormatError names ``source`` and the key path."""
    root = JsonNode(d, "", source)
    problem_type, group = _find_group(root, "_metrics")
    dataset = root.req("dataset")
    evaluation_time = dataset.get("evaluation_time")
    stats = ModelQualityStatistics(
        problem_type=problem_type,
        item_count=dataset.req("item_count").as_int(),
        metrics={},
        evaluation_time=None if evaluation_time is None else evaluation_time.as_str(),
    )
    for key in group.as_dict():
        node = _child(group, key)
        if key == CONFUSION_MATRIX:
            stats.confusion_matrix = {
                actual: {pred: _child(row, pred).as_int() for pred in row.as_dict()}
                for actual, row in ((a, _child(node, a)) for a in node.as_dict())
            }
        elif key == ROC_CURVE:
            stats.roc_curve = _parse_curve(node, "false_positive_rates", "true_positive_rates")
        elif key == PR_CURVE:
            stats.pr_curve = _parse_curve(node, "precisions", "recalls")
        else:
            stats.metrics[key] = _parse_metric(node)
    return stats


def read_model_quality_statistics(path: str | os.PathLike[str]) -> ModelQualityStatistics:
    return parse_model_quality_statistics(load_json_file(path), str(path))


# ---------------------------------------------------------------- constraints


@dataclass(frozen=True)
class MetricConstraint:
    threshold: float
    comparison_operator: str  # one of COMPARISON_OPERATORS


@dataclass
class ModelQualityConstraints:
    problem_type: str
    constraints: dict[str, MetricConstraint]


def parse_model_quality_constraints(d: Any, source: str = "constraints.json") -> ModelQualityConstraints:
    """Typed model-quality constraints; FormatError names ``source`` and the key path."""
    root = JsonNode(d, "", source)
    problem_type, group = _find_group(root, "_constraints")
    constraints = {}
    for name in group.as_dict():
        node = _child(group, name)
        constraints[name] = MetricConstraint(
            threshold=node.req("threshold").as_float(),
            comparison_operator=node.req("comparison_operator").as_choice(COMPARISON_OPERATORS),
        )
    return ModelQualityConstraints(problem_type, constraints)


def read_model_quality_constraints(path: str | os.PathLike[str]) -> ModelQualityConstraints:
    return parse_model_quality_constraints(load_json_file(path), str(path))


def model_quality_constraints_to_dict(c: ModelQualityConstraints) -> dict[str, Any]:
    return {
        "version": 0.0,
        constraints_group(c.problem_type): {
            name: {"threshold": json_number(float(m.threshold)), "comparison_operator": m.comparison_operator}
            for name, m in c.constraints.items()
        },
    }


def write_model_quality_constraints(c: ModelQualityConstraints, path: str | os.PathLike[str]) -> None:
    write_json_atomic(path, dumps_jackson(model_quality_constraints_to_dict(c)))


# ---------------------------------------------------------------- suggestion and checks


def suggest_model_quality_constraints(stats: ModelQualityStatistics) -> ModelQualityConstraints:
    """Baseline constraints: threshold = the baseline value, operator per SUGGESTED_OPERATORS."""
    operators = SUGGESTED_OPERATORS[stats.problem_type]
    return ModelQualityConstraints(
        stats.problem_type,
        {
            name: MetricConstraint(float(metric.value), operators[name])
            for name, metric in stats.metrics.items()
            if name in operators and math.isfinite(metric.value)
        },
    )


def _java_text(x: float) -> str:
    """``Double.toString`` including the non-finite values."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return java_double(x)


def check_model_quality(
    constraints: ModelQualityConstraints, stats: ModelQualityStatistics
) -> list[Violation]:
    """The violations of ``constraints`` by ``stats``, in the constraints' order."""
    if constraints.problem_type != stats.problem_type:
        raise ConfigError(
            f"the model-quality constraints are for problem type {constraints.problem_type} "
            f"({constraints_group(constraints.problem_type)}) but the statistics are for "
            f"{stats.problem_type} ({metrics_group(stats.problem_type)}); "
            "use constraints suggested from a baseline of the same problem type"
        )
    violations = []
    for name, c in constraints.constraints.items():
        metric = stats.metrics.get(name)
        if metric is None:
            log.warning("constraint on metric %r ignored: the %s statistics have no such metric",
                        name, stats.problem_type)
            continue
        compare = _COMPARE.get(c.comparison_operator)
        if compare is None:
            raise ConfigError(f"constraint on metric {name!r}: unknown comparison_operator "
                              f"{c.comparison_operator!r}, expected one of {', '.join(COMPARISON_OPERATORS)}")
        value = float(metric.value)
        if compare(value, c.threshold):
            violations.append(Violation(
                feature_name=None,
                metric_name=name,
                constraint_check_type=c.comparison_operator,
                description=(f"Metric {name} with {_java_text(value)} was {c.comparison_operator} "
                             f"{_java_text(float(c.threshold))}"),
                value=value, threshold=float(c.threshold),
            ))
    return violations


__all__ = [
    "COMPARISON_OPERATORS",
    "FormatError",
    "MetricConstraint",
    "ModelQualityConstraints",
    "ModelQualityStatistics",
    "SUGGESTED_OPERATORS",
    "check_model_quality",
    "constraints_group",
    "metrics_group",
    "model_quality_constraints_to_dict",
    "model_quality_statistics_to_dict",
    "parse_model_quality_constraints",
    "parse_model_quality_statistics",
    "read_model_quality_constraints",
    "read_model_quality_statistics",
    "suggest_model_quality_constraints",
    "write_model_quality_constraints",
    "write_model_quality_statistics",
]
