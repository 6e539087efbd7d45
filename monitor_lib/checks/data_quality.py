"""SageMaker's six data-quality checks (spec §6) — plain Python over (constraints, baseline statistics,
current profile).

The baseline features are ``constraints.features`` in file order; ``statistics.json`` only supplies
the baseline distributions (KLL sketch, categorical buckets) for drift. Per feature the monitoring
configuration is ``FeatureConstraint.effective()`` (both override spellings applied).

Checks and their descriptions (``java_double`` prints numbers as Java's ``Double.toString``):

* ``data_type_check`` — share of the current non-null values whose Deequ class is the baseline
  ``inferred_type``; violation iff share < ``datatype_check_threshold``. Integral values count as
  matching a Fractional baseline (widening; removes a known false alarm), Boolean values as matching a
  String baseline (we report Boolean columns as String); numbers for a String baseline do not match.
  Not evaluated for an ``Unknown`` baseline (no expected type) or a column without non-null values.
  Under our extension ``string_accepts_numeric`` (constraints.json ``monitoring_config`` or a feature's
  overrides) numeric-looking values match a String baseline too: a column mixing ``85086.0`` and
  ``Unknown`` is String for Deequ, and its own rows would otherwise fail the check. The most frequent
  values that did not match (up to ``TYPE_EXAMPLES``, from the current frequent-items sketch) are kept
  for run_summary.json and the report, never for SageMaker's files.
  Real text: ``Data type match requirement is not met. Expected data type: Integral, Expected match:
  100.0%. Observed: Only 99.64592817400101% of data is Integral.``
* ``completeness_check`` — violation iff current completeness (non-null / records) < the feature's
  ``completeness``; not evaluated when the feature has no ``completeness``. Text (ours, same style):
  ``Completeness requirement is not met. Expected completeness: 100.0%. Observed: Only 95.0% of data
  is non-null.``
* ``missing_column_check`` — a baseline feature absent from the current data. Text (ours):
  ``Column presence requirement is not met. Expected column: <f>. Observed: the column is missing from
  the current data.``
* ``extra_column_check`` — a current column absent from the baseline. Text (ours): ``Column presence
  requirement is not met. Expected: only baseline columns. Observed: column <f> is not in the
  baseline.`` Up to ``EXTRA_COLUMNS_CAP`` (100) extra columns get one violation each; more are one
  violation whose ``feature_name`` is ``(<N> extra columns)`` and whose text names the exact count and
  the first ``EXTRA_NAMES_SHOWN`` (10) names, so hostile or wide input cannot blow up the outputs.
* ``categorical_values_check`` — only for features with ``string_constraints.domains``: share of the
  current non-null values inside the domain; violation iff share < ``domain_content_threshold``.
  Counted from the current frequent-items sketch when it is exact; when it is not (it purged, i.e. far
  more distinct values than a domain holds), only what it can prove is counted — each domain value's
  lower-bound count — so the share is a lower bound; a column without a frequent-items state (typed
  numbers) proves nothing (share 0). Text (ours): ``Categorical values requirement is not met.
  Expected match: 100.0%. Observed: Only 99.0% of data is within the baseline domain.``
* ``baseline_drift_check`` — the kind follows the constraint's ``inferred_type``: Integral/Fractional
  compare the baseline KLL sketch with the current one (``comparison_method``,
  ``comparison_threshold``); String compares the baseline categorical buckets with the current value
  counts (``categorical_drift_method``, ``categorical_comparison_threshold``). Not computed when the
  baseline has no such distribution (no sketch; no buckets, i.e. > 120 categories) or the current side
  is empty. When the current frequent-items sketch is not exact, the current counts are its estimates
  plus the unlisted remainder as one category absent from the baseline. Violation iff distance >
  threshold (``drift.py`` explains ChiSquared). Text: ``Baseline drift distance: <d> exceeds
  threshold: <t>`` (AWS parsers match ``distance: (.+) exceeds threshold: (.+)``; the leading words
  are ours).

Switches: global ``evaluate_constraints: Disabled`` means no violations at all (a per-feature
``Enabled`` does not re-enable one feature); a per-feature ``Disabled`` silences every check of that
feature, including ``missing_column_check``. ``perform_comparison: Disabled`` (effective per feature)
skips drift. The measurements in :class:`FeatureOutcome` (for CloudWatch and reports) are computed
whatever ``evaluate_constraints`` says; drift only when comparison is performed.

Order: the baseline features in ``constraints.json`` order, per feature ``missing_column_check``,
``data_type_check``, ``completeness_check``, ``categorical_values_check``, ``baseline_drift_check``;
then ``extra_column_check`` for the extra columns in current-data order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import datasketches as ds

from monitor_lib.checks.drift import CATEGORICAL, NUMERIC, DriftResult, measure_drift
from monitor_lib.formats.constraints import Constraints, EffectiveFeatureConfig, FeatureConstraint
from monitor_lib.formats.jsonfmt import java_double
from monitor_lib.formats.statistics import DatasetStatistics, FeatureStatistics
from monitor_lib.formats.violations import Violation
from monitor_lib.profile.sketches import (
    WeightedItems,
    frequent_from_bytes,
    frequent_items_exact,
    kll_from_bytes,
    kll_levels,
)
from monitor_lib.profile.state import ColumnState, Profile
from monitor_lib.profile.types import (
    BOOLEAN,
    FRACTIONAL,
    INTEGRAL,
    NUMERIC_TYPES,
    STRING,
    T_BOOLEAN,
    T_FRACTIONAL,
    T_INTEGRAL,
    T_STRING,
    sagemaker_type,
    value_class,
)

DATA_TYPE = "data_type_check"
COMPLETENESS = "completeness_check"
BASELINE_DRIFT = "baseline_drift_check"
MISSING_COLUMN = "missing_column_check"
EXTRA_COLUMN = "extra_column_check"
CATEGORICAL_VALUES = "categorical_values_check"

EXTRA_COLUMNS_CAP = 100  # more extra columns than this are one summarising violation
EXTRA_NAMES_SHOWN = 10  # names listed in that violation
NAME_SHOWN_CHARS = 80  # a longer column name is cut in the summary text
TYPE_EXAMPLES = 5  # values that failed data_type_check kept per feature (run_summary.json and the report)
VALUE_SHOWN_CHARS = 100  # a longer example value is cut

UNLISTED = "\x00unlisted values"  # current values a purged frequent-items sketch no longer lists


@dataclass
class FeatureOutcome:
    """What was measured for one baseline feature present in the current data."""

    name: str
    inferred_type: str  # of the current data, as SageMaker reports it
    completeness: float | None  # None: no records
    type_match: float | None  # share of non-null values of the baseline type; None: not evaluated
    in_domain: float | None  # share of non-null values in the baseline domain; None: no domain / no values
    drift: DriftResult | None  # None: comparison disabled or not computable
    emit_metrics: bool
    type_examples: list[str] = field(default_factory=list)  # frequent current values not of the baseline type

    @property
    def drift_distance(self) -> float | None:
        return None if self.drift is None else self.drift.distance


@dataclass
class CheckOutcome:
    violations: list[Violation]
    features: list[FeatureOutcome]


def _pct(share: float) -> str:
    return java_double(share * 100)


# ---------------------------------------------------------------- measurements


# the value classes that match each baseline type (String: + INTEGRAL, FRACTIONAL under string_accepts_numeric)
_MATCHING = {T_INTEGRAL: {INTEGRAL}, T_FRACTIONAL: {INTEGRAL, FRACTIONAL}, T_STRING: {STRING, BOOLEAN},
             T_BOOLEAN: {BOOLEAN}}


def _matching_classes(baseline_type: str, string_accepts_numeric: bool) -> set[int] | None:
    classes = _MATCHING.get(baseline_type)
    if classes is not None and baseline_type == T_STRING and string_accepts_numeric:
        classes = classes | {INTEGRAL, FRACTIONAL}
    return classes


def type_match(baseline_type: str, col: ColumnState, string_accepts_numeric: bool = False) -> float | None:
    classes = _matching_classes(baseline_type, string_accepts_numeric)
    if not col.present or classes is None:
        return None
    counts = {INTEGRAL: col.n_integral, FRACTIONAL: col.n_fractional, BOOLEAN: col.n_boolean,
              STRING: col.present - col.n_integral - col.n_fractional - col.n_boolean}
    return sum(counts[c] for c in classes) / col.present


def type_mismatch_examples(baseline_type: str, col: ColumnState, string_accepts_numeric: bool = False,
                           limit: int = TYPE_EXAMPLES) -> list[str]:
    """Up to ``limit`` of the most frequent current values whose class does not match the baseline type, from
    the frequent-items sketch (none for typed numbers, which always match; a sketch that purged keeps only
    frequent values, so rare failures may have no example)."""
    classes = _matching_classes(baseline_type, string_accepts_numeric)
    sketch = frequent_from_bytes(col.frequent)
    if classes is None or sketch is None or sketch.is_empty():
        return []
    rows = sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
    rows = sorted(rows, key=lambda r: (-r[1], r[0]))  # by count, then value: reproducible
    out = []
    for item, *_ in rows:
        if value_class(item) not in classes:
            out.append(item if len(item) <= VALUE_SHOWN_CHARS else item[:VALUE_SHOWN_CHARS - 1] + "…")
            if len(out) == limit:
                break
    return out


def in_domain(domains: list[str], col: ColumnState) -> float | None:
    if not col.present:
        return None
    sketch = frequent_from_bytes(col.frequent)
    if sketch is None:
        return 0.0
    allowed = set(domains)
    exact = frequent_items_exact(sketch)
    if exact is not None:
        inside = sum(c for v, c in exact if v in allowed)
    else:
        inside = sum(sketch.get_lower_bound(v) for v in allowed)
    return inside / col.present


def current_categories(col: ColumnState) -> dict[str, float] | None:
    sketch = frequent_from_bytes(col.frequent)
    if sketch is None:
        return None
    exact = frequent_items_exact(sketch)
    if exact is not None:
        return {v: float(c) for v, c in exact}
    rows = sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
    counts = {item: float(estimate) for item, estimate, _, _ in rows}
    rest = sketch.total_weight - sum(counts.values())
    if rest > 0:
        counts[UNLISTED] = float(rest)
    return counts


def _drift(fc: FeatureConstraint, eff: EffectiveFeatureConfig, stats: FeatureStatistics | None,
           col: ColumnState) -> DriftResult | None:
    if stats is None:
        return None
    if fc.inferred_type in NUMERIC_TYPES:
        sketch = stats.numerical.sketch if stats.numerical else None
        if sketch is None or not col.kll:
            return None
        baseline = WeightedItems.from_levels(sketch.data)
        current = WeightedItems.from_levels(kll_levels(kll_from_bytes(col.kll)))
        return measure_drift(NUMERIC, "LInfinity", baseline, current, eff.comparison_threshold,
                             eff.comparison_method)
    if fc.inferred_type == T_STRING:
        buckets = stats.string.buckets if stats.string else None
        counts = current_categories(col)
        if not buckets or counts is None:
            return None
        expected = {b.value: float(b.count) for b in buckets}
        return measure_drift(CATEGORICAL, eff.categorical_drift_method, expected, counts,
                             eff.categorical_comparison_threshold, eff.comparison_method)
    return None


def measure_feature(fc: FeatureConstraint, eff: EffectiveFeatureConfig, stats: FeatureStatistics | None,
                    col: ColumnState, item_count: int) -> FeatureOutcome:
    matched = type_match(fc.inferred_type, col, eff.string_accepts_numeric)
    return FeatureOutcome(
        name=fc.name,
        inferred_type=sagemaker_type(col.deequ_type),
        completeness=col.present / item_count if item_count else None,
        type_match=matched,
        in_domain=in_domain(fc.domains, col) if fc.domains is not None else None,
        drift=_drift(fc, eff, stats, col) if eff.perform_comparison else None,
        emit_metrics=eff.emit_metrics,
        type_examples=(type_mismatch_examples(fc.inferred_type, col, eff.string_accepts_numeric)
                       if matched is not None and matched < 1.0 else []),
    )


# ---------------------------------------------------------------- checks (in violation order)


def _data_type(fc: FeatureConstraint, eff: EffectiveFeatureConfig, o: FeatureOutcome) -> str | None:
    if o.type_match is None or o.type_match >= eff.datatype_check_threshold:
        return None
    t = fc.inferred_type
    return (f"Data type match requirement is not met. Expected data type: {t}, Expected match: "
            f"{_pct(eff.datatype_check_threshold)}%. Observed: Only {_pct(o.type_match)}% of data is {t}.")


def _completeness(fc: FeatureConstraint, eff: EffectiveFeatureConfig, o: FeatureOutcome) -> str | None:
    if fc.completeness is None or o.completeness is None or o.completeness >= fc.completeness:
        return None
    return (f"Completeness requirement is not met. Expected completeness: {_pct(fc.completeness)}%. "
            f"Observed: Only {_pct(o.completeness)}% of data is non-null.")


def _categorical_values(fc: FeatureConstraint, eff: EffectiveFeatureConfig, o: FeatureOutcome) -> str | None:
    if o.in_domain is None or o.in_domain >= eff.domain_content_threshold:
        return None
    return (f"Categorical values requirement is not met. Expected match: {_pct(eff.domain_content_threshold)}%. "
            f"Observed: Only {_pct(o.in_domain)}% of data is within the baseline domain.")


def _baseline_drift(fc: FeatureConstraint, eff: EffectiveFeatureConfig, o: FeatureOutcome) -> str | None:
    if o.drift is None or not o.drift.exceeded:
        return None
    return (f"Baseline drift distance: {java_double(o.drift.distance)} exceeds threshold: "
            f"{java_double(o.drift.threshold)}")


FEATURE_CHECKS: tuple[
    tuple[str, Callable[[FeatureConstraint, EffectiveFeatureConfig, FeatureOutcome], str | None]], ...
] = (
    (DATA_TYPE, _data_type),
    (COMPLETENESS, _completeness),
    (CATEGORICAL_VALUES, _categorical_values),
    (BASELINE_DRIFT, _baseline_drift),
)


def measured(check_type: str, fc: FeatureConstraint, eff: EffectiveFeatureConfig,
             o: FeatureOutcome) -> tuple[float | None, float | None]:
    """(value, threshold) a feature check compared (carried in memory by its violation, for notifications)."""
    if check_type == DATA_TYPE:
        return o.type_match, eff.datatype_check_threshold
    if check_type == COMPLETENESS:
        return o.completeness, fc.completeness
    if check_type == CATEGORICAL_VALUES:
        return o.in_domain, eff.domain_content_threshold
    if check_type == BASELINE_DRIFT and o.drift is not None:
        return o.drift.distance, o.drift.threshold
    return None, None


def missing_column(name: str) -> Violation:
    return Violation(name, MISSING_COLUMN, f"Column presence requirement is not met. Expected column: {name}. "
                                           "Observed: the column is missing from the current data.")


def extra_column(name: str) -> Violation:
    return Violation(name, EXTRA_COLUMN, "Column presence requirement is not met. Expected: only baseline "
                                         f"columns. Observed: column {name} is not in the baseline.")


def _short(name: str) -> str:
    return name if len(name) <= NAME_SHOWN_CHARS else name[:NAME_SHOWN_CHARS - 1] + "…"


def extra_columns_summary(names: list[str]) -> Violation:
    """One violation for more than ``EXTRA_COLUMNS_CAP`` extra columns: the exact count and the first names."""
    shown = ", ".join(_short(n) for n in names[:EXTRA_NAMES_SHOWN])
    more = len(names) - EXTRA_NAMES_SHOWN
    return Violation(f"({len(names)} extra columns)", EXTRA_COLUMN,
                     "Column presence requirement is not met. Expected: only baseline columns. Observed: "
                     f"{len(names)} columns are not in the baseline (more than {EXTRA_COLUMNS_CAP}: one violation "
                     f"for all), the first {min(len(names), EXTRA_NAMES_SHOWN)}: {shown}"
                     + (f" and {more} more." if more > 0 else "."))


def extra_column_violations(names: list[str]) -> list[Violation]:
    """One violation per extra column up to ``EXTRA_COLUMNS_CAP`` of them, else one summarising them all."""
    if len(names) > EXTRA_COLUMNS_CAP:
        return [extra_columns_summary(names)]
    return [extra_column(n) for n in names]


def extra_columns(constraints: Constraints, current: Profile) -> list[str]:
    """The current columns absent from the baseline, in current-data order."""
    known = {f.name for f in constraints.features}
    return [c.name for c in current.columns if c.name not in known]


def check_data_quality(constraints: Constraints, baseline: DatasetStatistics, current: Profile) -> CheckOutcome:
    config = constraints.monitoring_config
    evaluate_all = config.evaluate_constraints == "Enabled"
    columns = {c.name: c for c in current.columns}
    violations: list[Violation] = []
    features: list[FeatureOutcome] = []
    for fc in constraints.features:
        eff = fc.effective(config)
        evaluate = evaluate_all and eff.evaluate_constraints
        col = columns.get(fc.name)
        if col is None:
            if evaluate:
                violations.append(missing_column(fc.name))
            continue
        outcome = measure_feature(fc, eff, baseline.feature(fc.name), col, current.item_count)
        features.append(outcome)
        if evaluate:
            for check_type, check in FEATURE_CHECKS:
                if (description := check(fc, eff, outcome)) is not None:
                    value, threshold = measured(check_type, fc, eff, outcome)
                    violations.append(Violation(fc.name, check_type, description, value=value, threshold=threshold))
    if evaluate_all:
        violations.extend(extra_column_violations(extra_columns(constraints, current)))
    return CheckOutcome(violations, features)


def feature_measurements(constraints: Constraints, outcome: CheckOutcome) -> list[dict]:
    """What each present baseline feature measured, with the thresholds it was held to (for run_summary.json,
    the HTML report and the history page). Values are None where a check was not evaluated."""
    config = constraints.monitoring_config
    rows = []
    for o in outcome.features:
        fc = constraints.feature(o.name)
        eff = fc.effective(config) if fc is not None else None
        rows.append({
            "name": o.name,
            "baseline_type": fc.inferred_type if fc is not None else None,
            "inferred_type": o.inferred_type,
            "completeness": o.completeness,
            "completeness_threshold": fc.completeness if fc is not None else None,
            "type_match": o.type_match,
            "type_match_threshold": eff.datatype_check_threshold if eff and o.type_match is not None else None,
            "type_mismatch_examples": o.type_examples,
            "in_domain": o.in_domain,
            "in_domain_threshold": eff.domain_content_threshold if eff and o.in_domain is not None else None,
            "drift_distance": o.drift.distance if o.drift else None,
            "drift_threshold": o.drift.threshold if o.drift else None,
            "drift_method": o.drift.method if o.drift else None,
        })
    return rows
