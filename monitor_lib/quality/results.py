"""From the aggregation's tallies to SageMaker's model-quality statistics (pure Python)."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor_lib.formats.model_quality import ModelQualityStatistics
from monitor_lib.quality.metrics import (
    BinaryTally,
    RegressionTally,
    binary_confusion,
    binary_metrics,
    confusion_matrix_dict,
    multiclass_metrics,
    regression_metrics,
)


@dataclass
class QualityTallies:
    """What the Spark aggregation hands to the driver: counts and sums, never rows."""

    problem_type: str
    records: int = 0  # records evaluated
    rejected: dict[str, int] = field(default_factory=dict)  # kind -> records
    skipped: dict[str, int] = field(default_factory=dict)  # kind -> records
    regression: list[RegressionTally] | None = None  # per replica, 0 = all records
    binary: list[BinaryTally] | None = None  # per replica
    confusions: list[dict[tuple[str, str], int]] | None = None  # per replica, (actual, predicted) -> n
    roc_curve: tuple[list[float], list[float]] | None = None  # (false positive rates, true positive rates)
    pr_curve: tuple[list[float], list[float]] | None = None  # (precisions, recalls)
    # binary: the AUC regroup's non-empty score buckets, highest first (aggregate.score_buckets), for the
    # mergeable state (monitor_lib.quality.state)
    score_buckets: list[dict] | None = None
    sample: list[dict] = field(default_factory=list)  # rejected records: kind, file, record


def statistics_from_tallies(t: QualityTallies, evaluation_time: str | None = None) -> ModelQualityStatistics:
    if t.problem_type == "Regression":
        return ModelQualityStatistics(t.problem_type, t.records, regression_metrics(t.regression or []),
                                      evaluation_time=evaluation_time)
    if t.problem_type == "BinaryClassification":
        tallies = t.binary or []
        return ModelQualityStatistics(
            t.problem_type, t.records, binary_metrics(tallies),
            confusion_matrix=confusion_matrix_dict(binary_confusion(tallies[0]), ["0", "1"]),
            roc_curve=t.roc_curve, pr_curve=t.pr_curve, evaluation_time=evaluation_time)
    confusions = t.confusions or [{}]
    return ModelQualityStatistics(t.problem_type, t.records, multiclass_metrics(confusions),
                                  confusion_matrix=confusion_matrix_dict(confusions[0]),
                                  evaluation_time=evaluation_time)
