"""The feature attribution drift score (monitor_lib/explain/analysis.py) against ``sklearn.metrics.ndcg_score``,
which the SageMaker Developer Guide links for it (clarify-contract §5), and the violations it gives
(clarify-contract §2.2): random rankings with and without ties, negative attributions (by magnitude), features
missing on one side (attribution 0), the Developer Guide's college-admission example."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from monitor_lib.explain.analysis import CHECK_TYPE, check_attribution_drift, explanations, ndcg

CASES = 400


def named(values: np.ndarray, order: np.ndarray | None = None) -> dict[str, float]:
    """Feature f<i> → values[i], listed in ``order`` (the score must not depend on the listing order)."""
    idx = range(len(values)) if order is None else order
    return {f"f{i}": float(values[i]) for i in idx}


def sklearn_ndcg(base: np.ndarray, live: np.ndarray, **kw) -> float:
    return float(ndcg_score(np.asarray([base]), np.asarray([live]), **kw))


def test_equals_sklearn_on_random_rankings_without_ties():
    rng = np.random.default_rng(1)
    for _ in range(CASES):
        m = int(rng.integers(2, 20))
        base, live = rng.exponential(size=m), rng.exponential(size=m)
        want = sklearn_ndcg(base, live)
        assert ndcg(named(base), named(live)) == pytest.approx(want, abs=1e-12)
        assert ndcg(named(base, rng.permutation(m)), named(live, rng.permutation(m))) == pytest.approx(want,
                                                                                                      abs=1e-12)


def test_equals_sklearn_with_ties_averaged():
    rng = np.random.default_rng(2)
    differs_from_stable_order = 0
    for _ in range(CASES):
        m = int(rng.integers(2, 12))
        base = rng.integers(0, 4, size=m).astype(float)  # ties on the baseline side too
        base[rng.integers(m)] += 1.0  # not all zero (sklearn scores an all-zero ideal 0, analysis.py 1)
        live = rng.integers(0, 3, size=m) * 0.25  # many ties, zeros among them
        want = sklearn_ndcg(base, live)
        assert ndcg(named(base), named(live)) == pytest.approx(want, abs=1e-12)
        assert ndcg(named(base, rng.permutation(m)), named(live, rng.permutation(m))) == pytest.approx(want,
                                                                                                      abs=1e-12)
        if abs(sklearn_ndcg(base, live, ignore_ties=True) - want) > 1e-6:
            differs_from_stable_order += 1
    assert differs_from_stable_order > CASES // 4, "the cases have ties that matter"


def test_negative_attributions_rank_by_magnitude():
    rng = np.random.default_rng(3)
    for _ in range(CASES):
        m = int(rng.integers(2, 15))
        base, live = rng.normal(size=m), rng.normal(size=m)  # median aggregation can give negative values
        want = sklearn_ndcg(np.abs(base), np.abs(live))
        assert ndcg(named(base), named(live)) == pytest.approx(want, abs=1e-12)


def test_missing_features_count_as_zero():
    rng = np.random.default_rng(4)
    checked = 0
    for _ in range(CASES):
        m = int(rng.integers(3, 15))
        base, live = rng.exponential(size=m), rng.exponential(size=m)
        only_base = rng.random(m) < 0.25
        only_live = ~only_base & (rng.random(m) < 0.25)
        if only_live.all():
            continue  # nothing in the baseline: not a ranking
        b = {f"f{i}": float(base[i]) for i in range(m) if not only_live[i]}
        c = {f"f{i}": float(live[i]) for i in range(m) if not only_base[i]}
        want = sklearn_ndcg(np.where(only_live, 0.0, base), np.where(only_base, 0.0, live))
        assert ndcg(b, c) == pytest.approx(want, abs=1e-12)
        checked += 1
    assert checked > CASES * 0.9


def test_developer_guide_college_admission_example():
    # DG clarify-model-monitor-feature-attribution-drift: attribution in training data and in live data
    base = {"SAT score": 0.70, "GPA": 0.50, "Class rank": 0.05}
    live = {"SAT score": 0.10, "GPA": 0.20, "Class rank": 0.70}
    a = np.array(list(base.values()))
    discount = 1 / np.log2(np.arange(2, 5))
    dcg = float(np.sum(a[np.argsort(-np.array(list(live.values())))] * discount))
    idcg = float(np.sum(np.sort(a)[::-1] * discount))
    got = ndcg(base, live)
    assert got == pytest.approx(dcg / idcg, abs=1e-12)
    assert got == pytest.approx(sklearn_ndcg(a, np.array(list(live.values()))), abs=1e-12)
    assert round(got, 5) == 0.68764  # clarify-contract §5: ndcg_score on the DG example


def test_all_zero_baseline_has_nothing_to_drift_from():
    # analysis.py's documented choice (sklearn would say 0): iDCG = 0 ⇒ NDCG = 1
    assert ndcg({"a": 0.0, "b": 0.0}, {"a": 0.3, "b": 0.1}) == 1.0


# ---------------------------------------------------------------- the drift check


def analysis(per_label: dict[str, dict[str, float]]) -> dict:
    """An analysis.json of these global SHAP values, written by analysis.explanations."""
    doc = {"version": "1.0", "explanations": {"kernel_shap": {}}}
    for label, values in per_label.items():
        section = explanations([label], list(values), np.array([list(values.values())]), np.array([0.25]))
        doc["explanations"]["kernel_shap"].update(section["kernel_shap"])
    return doc


BASE = {"a": 0.70, "b": 0.50, "c": 0.20, "d": 0.05}
REORDERED = {"a": 0.05, "b": 0.20, "c": 0.50, "d": 0.70}
SAME_ORDER = {"a": 0.40, "b": 0.39, "c": 0.02, "d": 0.01}  # other magnitudes, the same ranking


def reference(base: dict, live: dict) -> float:
    return sklearn_ndcg(np.array(list(base.values())), np.array([live[f] for f in base]))


def test_a_reordered_ranking_violates_and_a_stable_one_does_not():
    drift = check_attribution_drift(analysis({"label0": BASE, "label1": BASE}),
                                    analysis({"label0": REORDERED, "label1": SAME_ORDER}))
    want = reference(BASE, REORDERED)
    assert want < 0.9
    assert drift.ndcg["label0"] == pytest.approx(want, abs=1e-12)
    assert drift.ndcg["label1"] == pytest.approx(reference(BASE, SAME_ORDER), abs=1e-12)
    assert reference(BASE, SAME_ORDER) == pytest.approx(1.0, abs=1e-12)
    assert drift.violations == [{
        "label": "label0", "metric_name": "shap", "constraint_check_type": "feature_attribution_drift_check",
        "description": f"Feature attribution drift {drift.ndcg['label0']!r} exceeds threshold 0.9"}]
    assert CHECK_TYPE == "feature_attribution_drift_check"
    shown = re.fullmatch(r"Feature attribution drift (\S+) exceeds threshold 0\.9", drift.violations[0]["description"])
    assert float(shown.group(1)) == pytest.approx(want, abs=1e-12)
    assert drift.not_compared == [] and drift.missing == {}


def test_the_threshold_is_configurable():
    base, now = analysis({"label0": BASE}), analysis({"label0": REORDERED})
    score = reference(BASE, REORDERED)
    below, above = round(score - 0.05, 2), round(score + 0.05, 2)
    assert check_attribution_drift(base, now, threshold=below).violations == []
    drift = check_attribution_drift(base, now, threshold=above)
    assert drift.threshold == above
    assert [v["description"] for v in drift.violations] == [
        f"Feature attribution drift {drift.ndcg['label0']!r} exceeds threshold {above!r}"]
    assert check_attribution_drift(base, analysis({"label0": SAME_ORDER}), threshold=0.999).violations == []


def test_labels_on_one_side_only_are_not_compared():
    drift = check_attribution_drift(analysis({"label0": BASE, "gone": BASE}),
                                    analysis({"label0": REORDERED, "new": REORDERED}))
    assert list(drift.ndcg) == ["label0"]
    assert [v["label"] for v in drift.violations] == ["label0"]
    assert sorted(drift.not_compared, key=lambda d: d["label"]) == [
        {"label": "gone", "why": "not in this window"}, {"label": "new", "why": "not in the baseline"}]


def test_features_missing_on_one_side_are_scored_as_zero_and_listed():
    current = {"a": 0.70, "b": 0.50, "e": 0.60}  # c, d gone; e new
    drift = check_attribution_drift(analysis({"label0": BASE}), analysis({"label0": current}))
    union = ["a", "b", "c", "d", "e"]
    want = sklearn_ndcg(np.array([BASE.get(f, 0.0) for f in union]), np.array([current.get(f, 0.0) for f in union]))
    assert drift.ndcg["label0"] == pytest.approx(want, abs=1e-12)
    assert drift.missing == {"label0": {"only_baseline": ["c", "d"], "only_current": ["e"]}}
