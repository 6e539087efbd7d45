"""Drift distances between a baseline and a current distribution: a small registry of named methods.

Each :class:`DriftMethod` names itself as ``constraints.json`` spells it, says which kind of feature it
applies to (``numeric`` or ``categorical``) and how its number compares with the threshold; adding a
method is one :func:`register` call (Evidently's stattest registry, not a chain of ``if``).

Registered methods (spec §6.2, Deequ ``analyzers/Distance.scala``):

* numeric ``LInfinity`` — :func:`numeric_linf`, Deequ ``numericalDistance``: the L∞ distance between
  the two CDFs rebuilt from KLL sketches, evaluated at the union of both sketches' retained items
  (``cdf(x) = rank_inclusive(x) / n``). Baseline sketches may come from the real container's Deequ
  layout (``statistics.json`` ``sketch.data``) or from our DataSketches KLL; both are
  :class:`~monitor_lib.profile.sketches.WeightedItems`.
* categorical ``LInfinity`` — :func:`categorical_linf`, Deequ ``categoricalLInfinityDistance``:
  ``max |p1(c) − p2(c)|`` over the union of categories, of relative frequencies.
* categorical ``ChiSquared`` — :func:`chi_squared`, Deequ ``categoricalChiSquareTest``.

``comparison_method`` (``Simple`` / ``Robust``) applies to both L∞ methods: ``Simple`` is the plain
distance (``linf_simple``), ``Robust`` is :func:`robust` — ``max(0, d − 1.8·sqrt((n+m)/(n·m)))``
(``linf_robust``, Deequ's hard-coded ``c_α = 1.8``), with ``n`` and ``m`` the total weights (counts)
of the baseline and the current sample. A violation is ``distance > threshold``.

ChiSquared — how SageMaker compares its number with ``categorical_comparison_threshold`` is UNKNOWN
(spec §6.2). Deequ returns the test's p-value (or the statistic when ``correctForLowNumberOfSamples``);
a raw p-value cannot be read as "distance > threshold", and the statistic is unbounded. Our choice:

* the test is Deequ's: the baseline counts are the expected distribution, rescaled to the number of
  current values that fall in baseline categories (current values of categories unseen in the
  baseline are left out of the test, as Deequ does); small expected categories are merged into the
  next smallest one until Cochran's rule (2 categories: every expected count ≥ 10) or Yates' rule
  (more categories: at most ``int(0.2·k)`` expected counts < 5) holds; Pearson's goodness-of-fit
  statistic with ``k − 1`` degrees of freedom. Ties between equally small categories are broken by
  category name (Deequ's order is a hash map's). :func:`chi_squared_p_value` returns that p-value, or
  None where Deequ returns NaN (fewer than 2 categories left after merging). When the current data has
  values but none in a baseline category, the p-value is 0 (Spark's test would fail on all-zero vectors).
* the reported drift **distance is ``1 − p``** (:func:`chi_squared`), so "higher is more drift" holds
  for every method, for the CloudWatch ``feature_baseline_drift_<f>`` metric as for L∞;
* ``categorical_comparison_threshold`` is read as the **significance level α**: a violation iff
  ``p < α``, i.e. ``1 − p > 1 − α``. :class:`DriftResult` carries the compared threshold ``1 − α``,
  so the description ``distance: <1−p> exceeds threshold: <1−α>`` is literally true and still parses
  with AWS's ``distance: (.+) exceeds threshold: (.+)`` regex.
* ``comparison_method`` does not apply to ChiSquared (Deequ's flag would switch to the unbounded
  statistic).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor_lib.errors import FormatError
from monitor_lib.profile.sketches import WeightedItems

NUMERIC, CATEGORICAL = "numeric", "categorical"
C_ALPHA = 1.8  # Deequ's default c(α), α = 0.003

# Deequ ChisquareMethod defaults.
YATES_MIN_EXPECTED, YATES_MAX_SHARE_BELOW, COCHRAN_MIN_EXPECTED = 5.0, 0.2, 10.0


# ---------------------------------------------------------------- distances


def numeric_linf(baseline: WeightedItems, current: WeightedItems) -> float:
    """L∞ between the two inclusive CDFs at the union of both samples' items (Deequ numericalDistance)."""
    if not baseline.total_weight or not current.total_weight:
        raise ValueError("numeric_linf needs two non-empty samples")
    xs = np.union1d(baseline.items, current.items)
    return float(np.max(np.abs(baseline.cdf(xs) - current.cdf(xs))))


def categorical_linf(baseline: Mapping[str, float], current: Mapping[str, float]) -> float:
    """``max |p1(c) − p2(c)|`` over the union of categories (Deequ categoricalLInfinityDistance)."""
    n, m = float(sum(baseline.values())), float(sum(current.values()))
    if not n or not m:
        raise ValueError("categorical_linf needs two non-empty samples")
    return max(abs(baseline.get(c, 0.0) / n - current.get(c, 0.0) / m) for c in baseline.keys() | current.keys())


def robust(distance: float, n: float, m: float) -> float:
    """``linf_robust``: the distance minus the two-sample KS critical value at c_α = 1.8, floored at 0."""
    return max(0.0, distance - C_ALPHA * math.sqrt((n + m) / (n * m)))


def _regroup(sample: dict[str, float], expected: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Deequ regroupCategories: merge the smallest expected category into the next smallest until valid."""
    while len(expected) >= 2:
        if len(expected) > 2:
            floor, allowed = YATES_MIN_EXPECTED, int(YATES_MAX_SHARE_BELOW * len(expected))
        else:
            floor, allowed = COCHRAN_MIN_EXPECTED, 0
        if sum(1 for e in expected.values() if e < floor) <= allowed:
            break
        smallest = min(sorted(expected), key=expected.__getitem__)
        moved_expected, moved_sample = expected.pop(smallest), sample.pop(smallest, 0.0)
        second = min(sorted(expected), key=expected.__getitem__)
        expected[second] += moved_expected
        sample[second] = sample.get(second, 0.0) + moved_sample
    return sample, expected


def _chi2_sf(x: float, df: int) -> float:
    """Survival function of the chi-squared distribution: the regularised upper gamma Q(df/2, x/2)."""
    a, z = df / 2.0, x / 2.0
    if z <= 0.0:
        return 1.0
    log_prefactor = -z + a * math.log(z) - math.lgamma(a)
    if z < a + 1.0:  # series for the lower function P
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= z / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefactor))
    tiny = 1e-300  # continued fraction for Q (modified Lentz)
    b = z + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return min(1.0, math.exp(log_prefactor) * h)


def chi_squared_p_value(baseline: Mapping[str, float], current: Mapping[str, float]) -> float | None:
    """Deequ categoricalChiSquareTest's p-value (baseline = expected); None where Deequ returns NaN."""
    sample_sum = float(sum(v for c, v in current.items() if c in baseline))
    expected_sum = float(sum(baseline.values()))
    if not expected_sum or not sum(current.values()):
        return None
    if not sample_sum:
        return 0.0
    expected = {c: v / expected_sum * sample_sum for c, v in baseline.items()}
    sample, expected = _regroup({c: float(v) for c, v in current.items()}, expected)
    if len(expected) < 2:
        return None
    statistic = 0.0
    for category, e in expected.items():
        dev = sample.get(category, 0.0) - e
        statistic += dev * dev / e
    return _chi2_sf(statistic, len(expected) - 1)


def chi_squared(baseline: Mapping[str, float], current: Mapping[str, float]) -> float | None:
    """The ChiSquared drift distance ``1 − p`` (see the module docstring), or None when not testable."""
    p = chi_squared_p_value(baseline, current)
    return None if p is None else 1.0 - p


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class DriftMethod:
    name: str  # as spelled in constraints.json
    kind: str  # NUMERIC or CATEGORICAL
    distance: Callable[[Any, Any], float | None]
    robust_applies: bool = True  # comparison_method Simple / Robust applies
    threshold_is_significance: bool = False  # threshold α is compared as 1 − α


@dataclass(frozen=True)
class DriftResult:
    method: str  # linf_simple, linf_robust or chi_squared
    distance: float
    threshold: float  # the threshold the distance was compared with
    n_baseline: float
    n_current: float

    @property
    def exceeded(self) -> bool:
        return self.distance > self.threshold


_METHODS: dict[tuple[str, str], DriftMethod] = {}


def register(method: DriftMethod) -> DriftMethod:
    _METHODS[(method.kind, method.name)] = method
    return method


def method_names(kind: str) -> list[str]:
    """The registered drift methods of one kind (``NUMERIC`` or ``CATEGORICAL``), in registration order."""
    return [n for k, n in _METHODS if k == kind]


def drift_method(kind: str, name: str) -> DriftMethod:
    try:
        return _METHODS[(kind, name)]
    except KeyError:
        known = ", ".join(n for k, n in _METHODS if k == kind)
        raise FormatError("constraints.json", "monitoring_config", f"no {kind} drift method {name!r}; "
                          f"known: {known}") from None


register(DriftMethod("LInfinity", NUMERIC, numeric_linf))
register(DriftMethod("LInfinity", CATEGORICAL, categorical_linf))
register(DriftMethod("ChiSquared", CATEGORICAL, chi_squared, robust_applies=False, threshold_is_significance=True))


def sample_size(kind: str, sample: Any) -> float:
    return sample.total_weight if kind == NUMERIC else float(sum(sample.values()))


def measure_drift(
    kind: str, method: str, baseline: Any, current: Any, threshold: float, comparison_method: str = "Simple"
) -> DriftResult | None:
    """The drift of ``current`` from ``baseline`` by the named method; None when either side is empty
    or the method cannot be computed (ChiSquared with fewer than 2 categories)."""
    m = drift_method(kind, method)
    n, k = sample_size(kind, baseline), sample_size(kind, current)
    if not n or not k:
        return None
    value = m.distance(baseline, current)
    if value is None or math.isnan(value):
        return None
    label = "chi_squared"
    if m.robust_applies:
        label = "linf_robust" if comparison_method == "Robust" else "linf_simple"
        if comparison_method == "Robust":
            value = robust(value, n, k)
    compared = 1.0 - threshold if m.threshold_is_significance else threshold
    return DriftResult(label, value, compared, n, k)
