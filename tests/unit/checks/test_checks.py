"""The six data-quality checks and the drift distances — pure Python, no Spark.

Current profiles are built here from Python values the way the profiler feeds its sketches (Deequ's
regexes per value, KLL k=2048 over the numeric values, HLL lg_k=14, frequent strings with
lg_max_map_size=8 as Spark's approx_top_k(121) builds it). References are scipy, numpy and the real
SageMaker fixture files.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import datasketches as ds
import numpy as np
import pytest
from helpers import FIXTURES
from scipy import stats as sps

from monitor_lib.checks.data_quality import check_data_quality
from monitor_lib.checks.drift import (
    CATEGORICAL,
    NUMERIC,
    categorical_linf,
    chi_squared,
    chi_squared_p_value,
    drift_method,
    measure_drift,
    numeric_linf,
    robust,
)
from monitor_lib.checks.suggest import suggest_constraints
from monitor_lib.formats.constraints import Constraints, parse_constraints, read_constraints
from monitor_lib.formats.statistics import DatasetStatistics, read_statistics
from monitor_lib.profile.sketches import WeightedItems, kll_levels
from monitor_lib.profile.state import ColumnState, Profile
from monitor_lib.profile.summarize import statistics_from_profile

DQ = FIXTURES / "sdk-pipeline-dq-baseline"

# Deequ's classes (spec §4.2), ASCII digits like java.util.regex
_INTEGRAL = re.compile(r"^(-|\+)? ?\d+$", re.ASCII)
_FRACTIONAL = re.compile(r"^(-|\+)? ?\d+((\.\d+)|((?:\.\d+)?[Ee][-+]?\d+))$", re.ASCII)
_BOOLEAN = re.compile(r"^(true|false)$")


def _classify(v: str) -> str:
    if _INTEGRAL.match(v):
        return "int"
    if _FRACTIONAL.match(v):
        return "frac"
    return "bool" if _BOOLEAN.match(v) else "str"


def column(name: str, values: Sequence[str | None]) -> ColumnState:
    """The state the profiler computes for a string column holding ``values`` (None = missing)."""
    present = [v for v in values if v is not None]
    kinds = {v: _classify(v) for v in set(present)}
    counts = Counter(kinds[v] for v in present)
    nums = np.array([float(v.replace(" ", "")) for v in present if kinds[v] in ("int", "frac")], dtype=float)
    kll, hll, frequent = ds.kll_doubles_sketch(2048), ds.hll_sketch(14), ds.frequent_strings_sketch(8)
    if len(nums):
        kll.update(nums)
    for v in present:
        frequent.update(v)
    for v in kinds:
        hll.update(v)
    n = len(nums)
    return ColumnState(
        name=name, source_type="string", present=len(present),
        n_integral=counts["int"], n_fractional=counts["frac"], n_boolean=counts["bool"],
        num_count=n, num_sum=float(nums.sum()) if n else 0.0,
        num_m2=float(((nums - nums.mean()) ** 2).sum()) if n else 0.0,
        num_min=float(nums.min()) if n else None, num_max=float(nums.max()) if n else None,
        kll=bytes(kll.serialize()) if n else None,
        hll=bytes(hll.serialize_compact()),
        frequent=bytes(frequent.serialize()),
    )


def profile(data: dict[str, Sequence[str | None]]) -> Profile:
    lengths = {len(v) for v in data.values()}
    assert len(lengths) == 1
    return Profile(lengths.pop(), [column(k, v) for k, v in data.items()])


def constraints(features: list[dict[str, Any]], **config: Any) -> Constraints:
    dist = {k: config.pop(k) for k in list(config) if k in (
        "perform_comparison", "comparison_threshold", "comparison_method",
        "categorical_comparison_threshold", "categorical_drift_method")}
    return parse_constraints({"version": 0.0, "features": features,
                              "monitoring_config": {**config, "distribution_constraints": dist}})


NO_STATS = DatasetStatistics(0, [])


def found(outcome) -> list[tuple[str | None, str, str]]:
    return [(v.feature_name, v.constraint_check_type, v.description) for v in outcome.violations]


# ---------------------------------------------------------------- data_type_check


def test_data_type_check_fires_with_the_real_text():
    current = profile({"x": ["1"] * 1970 + ["1.5"] * 7})  # 1970 / 1977 Integral
    out = check_data_quality(constraints([{"name": "x", "inferred_type": "Integral"}]), NO_STATS, current)
    assert found(out) == [("x", "data_type_check",
                           "Data type match requirement is not met. Expected data type: Integral, Expected match: "
                           "100.0%. Observed: Only 99.64592817400101% of data is Integral.")]
    assert out.features[0].type_match == 1970 / 1977


def test_data_type_check_does_not_fire():
    c = constraints([{"name": "f", "inferred_type": "Fractional"}, {"name": "s", "inferred_type": "String"},
                     {"name": "i", "inferred_type": "Integral"}], datatype_check_threshold=0.9)
    current = profile({
        "f": ["1", "2", "2.5", None] * 5,  # Integral values match a Fractional baseline
        "s": ["true", "false", "abc", "x"] * 5,  # Boolean values match a String baseline
        "i": ["1"] * 19 + ["x"],  # 95 % >= 90 %
    })
    out = check_data_quality(c, NO_STATS, current)
    assert out.violations == []
    assert [f.type_match for f in out.features] == [1.0, 1.0, 0.95]


def test_string_baseline_receiving_numbers_is_a_type_violation():
    current = profile({"s": ["1", "2.0", "3"]})
    out = check_data_quality(constraints([{"name": "s", "inferred_type": "String"}]), NO_STATS, current)
    assert found(out) == [("s", "data_type_check",
                           "Data type match requirement is not met. Expected data type: String, Expected match: "
                           "100.0%. Observed: Only 0.0% of data is String.")]


# ---------------------------------------------------------------- completeness_check


def test_completeness_check_fires_and_does_not():
    current = profile({"a": ["1"] * 19 + [None], "b": ["1"] * 19 + [None]})
    c = constraints([{"name": "a", "inferred_type": "Integral", "completeness": 1.0},
                     {"name": "b", "inferred_type": "Integral", "completeness": 0.9}])
    out = check_data_quality(c, NO_STATS, current)
    assert found(out) == [("a", "completeness_check",
                           "Completeness requirement is not met. Expected completeness: 100.0%. "
                           "Observed: Only 95.0% of data is non-null.")]
    assert [f.completeness for f in out.features] == [0.95, 0.95]


# ---------------------------------------------------------------- missing / extra columns


def test_missing_and_extra_column_checks():
    c = constraints([{"name": "a", "inferred_type": "Integral"}, {"name": "b", "inferred_type": "Integral"}])
    assert check_data_quality(c, NO_STATS, profile({"a": ["1"], "b": ["2"]})).violations == []
    out = check_data_quality(c, NO_STATS, profile({"a": ["1"], "z": ["2"]}))
    assert found(out) == [
        ("b", "missing_column_check",
         "Column presence requirement is not met. Expected column: b. Observed: the column is missing from the "
         "current data."),
        ("z", "extra_column_check",
         "Column presence requirement is not met. Expected: only baseline columns. Observed: column z is not in "
         "the baseline."),
    ]
    assert [f.name for f in out.features] == ["a"]


# ---------------------------------------------------------------- categorical_values_check


def test_categorical_values_check_fires_and_does_not():
    feature = {"name": "c", "inferred_type": "String", "string_constraints": {"domains": ["a", "b"]}}
    out = check_data_quality(constraints([feature]), NO_STATS, profile({"c": ["a"] * 99 + ["c"]}))
    assert found(out) == [("c", "categorical_values_check",
                           "Categorical values requirement is not met. Expected match: 100.0%. "
                           "Observed: Only 99.0% of data is within the baseline domain.")]
    ok = check_data_quality(constraints([feature]), NO_STATS, profile({"c": ["a", "b", None, "b"]}))
    assert ok.violations == [] and ok.features[0].in_domain == 1.0
    lenient = check_data_quality(constraints([feature], domain_content_threshold=0.95), NO_STATS,
                                 profile({"c": ["a"] * 99 + ["c"]}))
    assert lenient.violations == []
    # no domain, no check
    bare = check_data_quality(constraints([{"name": "c", "inferred_type": "String"}]), NO_STATS, profile({"c": ["z"]}))
    assert bare.violations == [] and bare.features[0].in_domain is None


def test_categorical_values_from_a_purged_sketch_count_only_proven_values():
    values = ["a"] * 10_000 + [f"u{i}" for i in range(500)]  # 500 distinct values purge the sketch
    col = column("c", values)
    sketch = ds.frequent_strings_sketch.deserialize(col.frequent)
    assert sketch.num_active_items < 501 and sketch.get_lower_bound("a") < 10_000
    out = check_data_quality(
        constraints([{"name": "c", "inferred_type": "String", "string_constraints": {"domains": ["a", "b"]}}],
                    domain_content_threshold=0.9), NO_STATS, Profile(len(values), [col]))
    share = out.features[0].in_domain
    assert 10_000 / 10_500 - 0.01 <= share <= 10_000 / 10_500
    assert out.violations == []
    # drift from a purged sketch: its estimates plus the unlisted remainder as one unseen category
    base = statistics_from_profile(profile({"c": ["a"] * 100}))
    drift = check_data_quality(constraints([{"name": "c", "inferred_type": "String"}], comparison_method="Simple"),
                               base, Profile(len(values), [col]))
    assert drift.features[0].drift_distance == pytest.approx(500 / 10_500, abs=0.01)


# ---------------------------------------------------------------- baseline_drift_check


def _drift_case(baseline: dict, current: dict, feature: dict, **config):
    base = statistics_from_profile(profile(baseline))
    return check_data_quality(constraints([feature], **config), base, profile(current))


def test_numeric_drift_fires_simple_and_is_absorbed_by_robust():
    # 128 values a side: every CDF value is a multiple of 1/128, so the distance is exactly 32/128
    base, cur = {"x": [str(i) for i in range(128)]}, {"x": [str(i) for i in range(32, 160)]}
    feature = {"name": "x", "inferred_type": "Integral"}
    out = _drift_case(base, cur, feature, comparison_method="Simple", comparison_threshold=0.1)
    assert found(out) == [("x", "baseline_drift_check", "Baseline drift distance: 0.25 exceeds threshold: 0.1")]
    assert out.features[0].drift.method == "linf_simple"
    assert _drift_case(base, cur, feature, comparison_method="Simple", comparison_threshold=0.3).violations == []
    rob = _drift_case(base, cur, feature, comparison_method="Robust", comparison_threshold=0.1)
    assert rob.violations == []  # 0.25 - 1.8 * sqrt(256 / 128**2) = 0.025
    assert rob.features[0].drift.method == "linf_robust"
    assert rob.features[0].drift_distance == pytest.approx(0.025, abs=1e-15)
    strict = _drift_case(base, cur, feature, comparison_method="Robust", comparison_threshold=0.02)
    assert found(strict) == [("x", "baseline_drift_check",
                              "Baseline drift distance: 0.024999999999999994 exceeds threshold: 0.02")]


def test_categorical_linf_drift_fires_and_does_not():
    feature = {"name": "c", "inferred_type": "String"}
    base = {"c": ["a"] * 50 + ["b"] * 50}
    out = _drift_case(base, {"c": ["a"] * 75 + ["b"] * 25}, feature, comparison_method="Simple")
    assert found(out) == [("c", "baseline_drift_check", "Baseline drift distance: 0.25 exceeds threshold: 0.1")]
    assert _drift_case(base, {"c": ["a"] * 52 + ["b"] * 48}, feature, comparison_method="Simple").violations == []
    # an unseen category counts with its whole frequency
    new = _drift_case(base, {"c": ["a"] * 40 + ["b"] * 40 + ["n"] * 20}, feature, comparison_method="Simple",
                      categorical_comparison_threshold=0.15)
    assert found(new) == [("c", "baseline_drift_check", "Baseline drift distance: 0.2 exceeds threshold: 0.15")]


def test_chi_squared_drift_fires_and_does_not():
    feature = {"name": "c", "inferred_type": "String"}
    base = {"c": ["a"] * 50 + ["b"] * 50}
    out = _drift_case(base, {"c": ["a"] * 75 + ["b"] * 25}, feature, categorical_drift_method="ChiSquared")
    p = sps.chisquare([75, 25], [50, 50]).pvalue
    [(name, kind, text)] = found(out)
    m = re.fullmatch(r"Baseline drift distance: (.+) exceeds threshold: (.+)", text)
    assert (name, kind, m.group(2)) == ("c", "baseline_drift_check", "0.9")
    assert 1 - float(m.group(1)) == pytest.approx(p, rel=1e-9)
    assert out.features[0].drift.method == "chi_squared"
    assert _drift_case(base, {"c": ["a"] * 52 + ["b"] * 48}, feature,
                       categorical_drift_method="ChiSquared").violations == []


def test_drift_distances_against_references():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=1500), rng.normal(0.3, 1.2, size=1700)  # <= k: the sketches hold every value
    wa, wb = (WeightedItems.from_levels([list(x)]) for x in (a, b))
    assert numeric_linf(wa, wb) == pytest.approx(sps.ks_2samp(a, b).statistic, abs=1e-12)
    assert robust(0.3, 100, 100) == pytest.approx(0.3 - 1.8 * np.sqrt(0.02))
    assert robust(0.1, 100, 100) == 0.0
    p = {"a": 10, "b": 30, "c": 60}
    q = {"a": 25, "c": 50, "d": 25}
    assert categorical_linf(p, q) == pytest.approx(max(0.15, 0.3, 0.1, 0.25))
    # chi-squared without regrouping: Deequ rescales the expected counts to the comparable sample size
    base, cur = {"a": 100, "b": 200, "c": 300}, {"a": 120, "b": 190, "c": 280, "new": 40}
    want = sps.chisquare([120, 190, 280], np.array([100, 200, 300]) / 600 * 590).pvalue
    assert chi_squared_p_value(base, cur) == pytest.approx(want, rel=1e-9)
    assert chi_squared(base, cur) == pytest.approx(1 - want, rel=1e-9)
    # Yates regrouping: 3 of 6 expected counts < 5 (> int(0.2*6) = 1): smallest merged into next smallest
    base = {"a": 100, "b": 100, "c": 100, "d": 2, "e": 3, "f": 1}
    cur = {"a": 90, "b": 110, "c": 95, "d": 4, "e": 0, "f": 7}
    # f -> d (d=3, e=3), then d -> e (tie broken by name: d is the smallest), leaving e = 6 >= 5
    want = sps.chisquare([90, 110, 95, 11], np.array([100, 100, 100, 6]) / 306 * 306).pvalue
    assert chi_squared_p_value(base, cur) == pytest.approx(want, rel=1e-9)
    # Cochran: 2 categories with an expected count < 10 merge into one: not testable
    assert chi_squared_p_value({"a": 95, "b": 5}, {"a": 50, "b": 50}) is None
    with pytest.raises(ValueError, match="no numeric drift method 'ChiSquared'"):
        drift_method(NUMERIC, "ChiSquared")
    assert measure_drift(CATEGORICAL, "LInfinity", {"a": 1.0}, {}, 0.1) is None


@pytest.mark.parametrize(("x", "df"), [(0.5, 1), (25.0, 1), (3.0, 2), (10.0, 5), (40.0, 7), (150.0, 120), (90.0, 119)])
def test_chi_squared_survival_function_matches_scipy(x, df):
    from monitor_lib.checks.drift import _chi2_sf

    assert _chi2_sf(x, df) == pytest.approx(sps.chi2.sf(x, df), rel=1e-9, abs=1e-300)


SCENARIOS = {
    "mean shift": lambda r, n: r.normal(0.2, 1.0, n),
    "scale change": lambda r, n: r.normal(0.0, 1.3, n),
    "mixture": lambda r, n: np.where(r.random(n) < 0.7, r.normal(0.0, 1.0, n), r.normal(2.0, 0.5, n)),
}


def _sketch(values: np.ndarray) -> WeightedItems:
    sk = ds.kll_doubles_sketch(2048)
    sk.update(values)
    return WeightedItems.from_levels(kll_levels(sk))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_sketch_linf_agrees_with_exact_ks(scenario):
    rng = np.random.default_rng(11)
    n = 60_000
    baseline, current = rng.normal(0.0, 1.0, n), SCENARIOS[scenario](rng, n)
    exact = sps.ks_2samp(baseline, current).statistic
    approx = numeric_linf(_sketch(baseline), _sketch(current))
    print(f"{scenario}: exact KS {exact:.6f}, sketch L-inf {approx:.6f}, |diff| {abs(approx - exact):.6f}")
    assert abs(approx - exact) < 0.01
    assert exact > 0.05  # a real drift


# ---------------------------------------------------------------- switches and order


def _bad_current() -> Profile:
    return profile({"a": ["x", "1.5"], "b": ["1", None], "z": ["1", "2"]})


FEATURES = [{"name": "a", "inferred_type": "Integral", "completeness": 1.0},
            {"name": "b", "inferred_type": "Integral", "completeness": 1.0},
            {"name": "c", "inferred_type": "Integral"}]


def test_evaluate_constraints_disabled_globally_means_no_violations():
    out = check_data_quality(constraints(FEATURES, evaluate_constraints="Disabled"), NO_STATS, _bad_current())
    assert out.violations == []
    assert [(f.name, f.type_match, f.completeness) for f in out.features] == [("a", 0.0, 1.0), ("b", 1.0, 0.5)]


@pytest.mark.parametrize("spelling", ["feature", "string_constraints"])
def test_per_feature_evaluate_constraints_disabled_in_both_spellings(spelling):
    off = {"evaluate_constraints": "Disabled"}
    features = [dict(f) for f in FEATURES]
    for f in (features[0], features[2]):
        if spelling == "feature":
            f["monitoringConfigOverrides"] = off
        else:
            f["string_constraints"] = {"monitoring_config_overrides": off}
    out = check_data_quality(constraints(features), NO_STATS, _bad_current())
    assert [(v.feature_name, v.constraint_check_type) for v in out.violations] == [
        ("b", "completeness_check"), ("z", "extra_column_check")]


def test_perform_comparison_and_per_feature_thresholds():
    base, cur = {"x": [str(i) for i in range(128)]}, {"x": [str(i) for i in range(32, 160)]}
    feature = {"name": "x", "inferred_type": "Integral"}
    off = _drift_case(base, cur, feature, comparison_method="Simple", perform_comparison="Disabled")
    assert off.violations == [] and off.features[0].drift is None
    raised = _drift_case(base, cur, {**feature, "monitoringConfigOverrides": {"comparison_threshold": 0.3}},
                         comparison_method="Simple")
    assert raised.violations == [] and raised.features[0].drift_distance == 0.25
    per_feature_off = _drift_case(base, cur,
                                  {**feature, "monitoringConfigOverrides": {"perform_comparison": "Disabled"}},
                                  comparison_method="Simple")
    assert per_feature_off.violations == [] and per_feature_off.features[0].drift is None


def test_violations_follow_baseline_feature_order_then_check_type():
    base = statistics_from_profile(profile({"b": [str(i) for i in range(100)], "a": ["u"] * 50 + ["v"] * 50}))
    c = constraints([
        {"name": "b", "inferred_type": "Integral", "completeness": 1.0},
        {"name": "m", "inferred_type": "Integral"},
        {"name": "a", "inferred_type": "String", "completeness": 1.0, "string_constraints": {"domains": ["u", "v"]}},
    ], comparison_method="Simple")
    current = profile({
        "y": ["1"] * 100,
        "a": ["u"] * 50 + ["w"] * 49 + [None],
        "b": [str(i) for i in range(50, 149)] + ["q"],
        "x": ["1"] * 100,
    })
    out = check_data_quality(c, base, current)
    assert [(v.feature_name, v.constraint_check_type) for v in out.violations] == [
        ("b", "data_type_check"), ("b", "baseline_drift_check"),
        ("m", "missing_column_check"),
        ("a", "completeness_check"), ("a", "categorical_values_check"), ("a", "baseline_drift_check"),
        ("y", "extra_column_check"), ("x", "extra_column_check"),
    ]
    assert [f.name for f in out.features] == ["b", "a"]


# ---------------------------------------------------------------- same distribution: no violation


def _population(seed: int, n: int) -> dict[str, list[str | None]]:
    rng = np.random.default_rng(seed)
    cities = np.array([f"city_{i}" for i in range(12)])
    balance = rng.normal(0, 1000, n).round(2)
    missing = rng.random(n) < 0.05
    return {
        "age": rng.integers(18, 91, n).astype(str).tolist(),
        "income": [repr(float(x)) for x in rng.lognormal(10, 0.7, n).round(2)],
        "balance": [None if m else repr(float(b)) for b, m in zip(balance, missing, strict=True)],
        "city": cities[rng.choice(12, n, p=np.arange(1, 13) / 78)].tolist(),
        "flag": np.where(rng.random(n) < 0.3, "true", "false").tolist(),
    }


def test_same_distribution_gives_no_violation_at_the_default_constraints():
    n = 100_000
    baseline = statistics_from_profile(profile(_population(1, n)))
    c = suggest_constraints(baseline)
    assert c.feature("city").domains and c.feature("balance").completeness < 1.0
    out = check_data_quality(c, baseline, profile(_population(2, n)))
    assert out.violations == []
    drift = {f.name: f.drift for f in out.features}
    assert all(d is not None and d.method == "linf_robust" for d in drift.values())
    # Robust absorbs sampling noise (up to ~0.008 here; KLL compaction is randomised, so not exactly 0 always)
    assert all(d.distance < 0.005 for d in drift.values())
    simple = check_data_quality(constraints([{"name": f.name, "inferred_type": f.inferred_type} for f in c.features],
                                            comparison_method="Simple"), baseline, profile(_population(2, n)))
    assert simple.violations == [] and max(f.drift_distance for f in simple.features) < 0.02


# ---------------------------------------------------------------- the real SDK baseline


def _fixture_profile() -> Profile:
    with open(DQ / "baseline_dataset.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return profile({f"_c{i}": [r[i] if r[i] != "" else None for r in rows] for i in range(len(rows[0]))})


def test_real_baseline_good_cases_give_no_violation():
    out = check_data_quality(read_constraints(DQ / "good_cases" / "constraints.json"),
                             read_statistics(DQ / "statistics.json"), _fixture_profile())
    assert out.violations == []
    assert [f.drift_distance for f in out.features] == [0.0] * 6
    assert all(f.type_match == 1.0 and f.completeness == 1.0 for f in out.features)


def test_real_baseline_bad_cases_give_one_data_type_violation_on_c5():
    out = check_data_quality(read_constraints(DQ / "bad_cases" / "constraints.json"),
                             read_statistics(DQ / "statistics.json"), _fixture_profile())
    assert found(out) == [("_c5", "data_type_check",
                           "Data type match requirement is not met. Expected data type: String, Expected match: "
                           "100.0%. Observed: Only 0.0% of data is String.")]


def test_real_deequ_layout_sketch_drift_equals_exact_ks():
    stats = read_statistics(DQ / "statistics.json")
    baseline = np.array(stats.feature("_c2").numerical.sketch.data[0])
    current = baseline + 1.0
    wb = WeightedItems.from_levels(stats.feature("_c2").numerical.sketch.data)
    assert numeric_linf(wb, _sketch(current)) == pytest.approx(sps.ks_2samp(baseline, current).statistic, abs=1e-12)
