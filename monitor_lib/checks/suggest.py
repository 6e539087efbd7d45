"""Constraint suggestion, as SageMaker's analyzer does it (spec §5.2) — plain Python over statistics.

SageMaker's suggester is built on Deequ's rules; each choice below names the rule it follows:

* ``completeness``: 1.0 for a complete column (Deequ ``CompleteIfCompleteRule``, what every real file
  shows). For a column with missing values the real value is not documented; we follow Deequ's
  ``RetainCompletenessRule``: the lower bound of the 95 % interval ``p - 1.96·sqrt(p(1-p)/n)``,
  rounded down to two decimals, so ordinary sampling noise does not raise a completeness violation.
* ``num_constraints.is_non_negative``: ``true`` when the minimum is >= 0 (Deequ ``NonNegativeNumbersRule``);
  ``false`` for numeric columns with negative values (the key is written so the knob is visible).
* ``string_constraints.domains``: for String columns with categorical buckets (at most
  ``max_categories`` distinct values) where at most 10 % of the distinct values were seen only once
  (Deequ ``CategoricalRangeRule``); the domain lists the values in bucket order.
* ``monitoring_config``: the real container's defaults (1.0, 1.0, Enabled, 0.1, Robust, 0.1, LInfinity);
  ``categorical_drift_method`` may be overridden; our extension key ``string_accepts_numeric: true`` is
  written only when asked for (String features then accept numeric-looking values in data_type_check).
"""

from __future__ import annotations

import math

from monitor_lib.formats.constraints import (
    Constraints,
    DistributionConstraints,
    FeatureConstraint,
    MonitoringConfig,
)
from monitor_lib.formats.statistics import DatasetStatistics, FeatureStatistics
from monitor_lib.profile.types import NUMERIC_TYPES, T_STRING

UNIQUE_VALUE_RATIO_MAX = 0.1  # Deequ CategoricalRangeRule
COMPLETENESS_Z = 1.96  # Deequ RetainCompletenessRule


def suggested_completeness(completeness: float, n: int) -> float:
    if completeness >= 1.0 or n == 0:
        return 1.0 if n else 0.0
    bound = completeness - COMPLETENESS_Z * math.sqrt(completeness * (1 - completeness) / n)
    return max(0.0, math.floor(round(bound * 100, 9)) / 100)


def suggested_domain(feature: FeatureStatistics) -> list[str] | None:
    s = feature.string
    if feature.inferred_type != T_STRING or s is None or not s.buckets:
        return None
    seen_once = sum(1 for b in s.buckets if b.count == 1)
    if seen_once / len(s.buckets) > UNIQUE_VALUE_RATIO_MAX:
        return None
    return [b.value for b in s.buckets]


def suggest_constraints(stats: DatasetStatistics, categorical_drift_method: str | None = None,
                        string_accepts_numeric: bool = False) -> Constraints:
    features = []
    for f in stats.features:
        common = f.numerical or f.string
        present = common.num_present if common else 0
        completeness = present / stats.item_count if stats.item_count else 0.0
        fc = FeatureConstraint(
            name=f.name,
            inferred_type=f.inferred_type,
            completeness=suggested_completeness(completeness, stats.item_count),
        )
        if f.inferred_type in NUMERIC_TYPES and f.numerical is not None:
            fc.is_non_negative = f.numerical.min >= 0
        else:
            fc.domains = suggested_domain(f)
        features.append(fc)
    config = MonitoringConfig(
        distribution_constraints=DistributionConstraints(
            categorical_drift_method=categorical_drift_method or DistributionConstraints().categorical_drift_method
        ),
        string_accepts_numeric=True if string_accepts_numeric else None,
    )
    return Constraints(features=features, monitoring_config=config)
