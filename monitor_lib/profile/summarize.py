"""From a Profile to SageMaker's statistics.json — plain Python over the small per-column states."""

from __future__ import annotations

import math

from monitor_lib.formats.statistics import (
    CategoricalBucket,
    DatasetStatistics,
    FeatureStatistics,
    KllBucket,
    KllSketch,
    NumericalStatistics,
    StringStatistics,
)
from monitor_lib.profile.sketches import (
    DEEQU_SHRINKING_FACTOR,
    WeightedItems,
    equal_width_buckets,
    frequent_from_bytes,
    frequent_items_exact,
    hll_estimate,
    hll_from_bytes,
    kll_from_bytes,
    kll_levels,
)
from monitor_lib.profile.state import ColumnState, Profile
from monitor_lib.profile.types import NUMERIC_TYPES, sagemaker_type


def categorical_counts(col: ColumnState, max_categories: int) -> list[tuple[str, int]] | None:
    """Exact value counts of a string column with at most ``max_categories`` distinct values, else None.

    Ordered by count (descending), then value, so files are reproducible.
    """
    items = frequent_items_exact(frequent_from_bytes(col.frequent)) if col.frequent else None
    if items is None or len(items) > max_categories:
        return None
    return sorted(items, key=lambda kv: (-kv[1], kv[0]))


def numeric_statistics(col: ColumnState, item_count: int) -> NumericalStatistics:
    kll = kll_from_bytes(col.kll)
    levels = kll_levels(kll)
    lo, hi = col.num_min, col.num_max
    buckets = None
    if lo is not None and hi is not None:
        buckets = [KllBucket(a, b, float(round(c))) for a, b, c in
                   equal_width_buckets(lo, hi, WeightedItems.from_levels(levels))]
    n = col.num_count
    return NumericalStatistics(
        num_present=col.present,
        num_missing=item_count - col.present,
        mean=col.num_mean,
        sum=col.num_sum,
        std_dev=math.sqrt(max(col.num_m2, 0.0) / n) if n else 0.0,
        min=lo if lo is not None else 0.0,
        max=hi if hi is not None else 0.0,
        approximate_num_distinct_values=int(hll_estimate(hll_from_bytes(col.hll))),
        completeness=col.present / item_count if item_count else 0.0,
        buckets=buckets,
        sketch=KllSketch(data=levels, c=DEEQU_SHRINKING_FACTOR, k=float(kll.k if kll is not None else 2048)),
    )


def string_statistics(col: ColumnState, item_count: int, max_categories: int) -> StringStatistics:
    counts = categorical_counts(col, max_categories) if col.present else None
    return StringStatistics(
        num_present=col.present,
        num_missing=item_count - col.present,
        distinct_count=hll_estimate(hll_from_bytes(col.hll)) if col.present else 0.0,
        completeness=col.present / item_count if item_count else 0.0,
        buckets=[CategoricalBucket(v, c) for v, c in counts] if counts else None,
    )


def feature_statistics(col: ColumnState, item_count: int, max_categories: int) -> FeatureStatistics:
    deequ = col.deequ_type
    if deequ in NUMERIC_TYPES:
        return FeatureStatistics(col.name, deequ, numerical=numeric_statistics(col, item_count))
    # String, Boolean (reported as String) and Unknown (all values missing) carry string statistics.
    return FeatureStatistics(col.name, sagemaker_type(deequ),
                             string=string_statistics(col, item_count, max_categories))


def statistics_from_profile(profile: Profile) -> DatasetStatistics:
    return DatasetStatistics(
        item_count=profile.item_count,
        features=[feature_statistics(c, profile.item_count, profile.max_categories) for c in profile.columns],
    )
