"""Global attributions, ``analysis.json``'s ``explanations`` and the feature attribution drift check
(clarify-contract §2.1, §5), pure Python over the explained records' SHAP values.

The drift score is Clarify's NDCG per label: the features ranked by the baseline's attribution a(·) give the
ideal order; ranked by this window's attribution they give the live order; DCG sums a(f'_i)/log2(i+1) over the
live order, iDCG over the ideal one, NDCG = DCG/iDCG — it equals ``sklearn.metrics.ndcg_score([base], [live])``.
A label violates when NDCG < threshold (0.9 by default).

Where the contract is silent we chose:

* **ties** in this window's values are averaged the way ``ndcg_score`` does (each tied group gets the mean
  gain of its members over its positions): the score does not depend on the order features are listed in,
  and equals ``ndcg_score`` with or without ties;
* **negative attributions** (possible with ``agg_method`` median) rank and weigh by magnitude, ``|a|``: a
  feature pushing predictions down strongly is important, and NDCG's gains must not be negative;
* **features missing on one side** count as attribution 0 there (ranked last by this window, no gain from the
  baseline) and are listed in the run summary; a label key missing on one side is not compared (listed too);
* iDCG = 0 (every baseline attribution 0): nothing to drift from, NDCG = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

CHECK_TYPE = "feature_attribution_drift_check"
DEFAULT_THRESHOLD = 0.9


def global_values(phi: np.ndarray, agg_method: str) -> np.ndarray:
    """Per output and feature (L × M) from local values ``phi`` (n × M × L): mean |φ|, median φ or mean φ²."""
    if agg_method == "mean_abs":
        out = np.mean(np.abs(phi), axis=0)
    elif agg_method == "median":
        out = np.median(phi, axis=0)
    elif agg_method == "mean_sq":
        out = np.mean(phi * phi, axis=0)
    else:
        raise ValueError(f"agg_method {agg_method!r}")
    return out.T


def explanations(labels: list[str], features: list[str], values: np.ndarray, expected: np.ndarray) -> dict:
    """analysis.json's ``explanations`` (Clarify's layout): per label its global SHAP values in feature
    order and its expected value."""
    return {"kernel_shap": {
        label: {"global_shap_values": {f: float(values[i, j]) for j, f in enumerate(features)},
                "expected_value": float(expected[i])}
        for i, label in enumerate(labels)}}


def kernel_shap(doc: dict | None, source: str = "analysis.json") -> dict[str, dict]:
    """``explanations.kernel_shap`` of an analysis.json: label → {global_shap_values, expected_value}."""
    from monitor_lib.errors import ConfigError

    if not isinstance(doc, dict):
        raise ConfigError(f"{source} is not an analysis.json: expected a JSON object")
    section = (doc.get("explanations") or {}).get("kernel_shap")
    if not isinstance(section, dict) or not section:
        raise ConfigError(f"{source} has no explanations.kernel_shap: it is not the analysis.json of a "
                          "feature-attribution baseline")
    for label, entry in section.items():
        values = entry.get("global_shap_values") if isinstance(entry, dict) else None
        if not isinstance(values, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   for v in values.values()):
            raise ConfigError(f"{source}: explanations.kernel_shap.{label}.global_shap_values must be an object of "
                              "feature → number")
    return section


def ndcg(baseline: dict[str, float], current: dict[str, float]) -> float:
    """NDCG of the current ranking against the baseline's (module docstring: magnitudes, ties averaged,
    missing features 0)."""
    features = list(dict.fromkeys([*baseline, *current]))
    gain = np.array([abs(float(baseline.get(f, 0.0))) for f in features])
    score = np.array([abs(float(current.get(f, 0.0))) for f in features])
    discount = 1.0 / np.log2(np.arange(len(features)) + 2.0)
    ideal = float(np.sum(np.sort(gain)[::-1] * discount))
    if ideal == 0.0:
        return 1.0
    order = np.argsort(-score, kind="stable")
    dcg, pos = 0.0, 0
    while pos < len(order):  # tied groups share the mean gain over their positions
        end = pos + 1
        while end < len(order) and score[order[end]] == score[order[pos]]:
            end += 1
        dcg += float(np.mean(gain[order[pos:end]])) * float(np.sum(discount[pos:end]))
        pos = end
    return dcg / ideal


@dataclass
class AttributionDrift:
    ndcg: dict[str, float] = field(default_factory=dict)  # label → score
    violations: list[dict] = field(default_factory=list)
    not_compared: list[dict] = field(default_factory=list)  # label, why
    missing: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # label → {only_baseline, only_current}
    threshold: float = DEFAULT_THRESHOLD


def score_text(value: float) -> str:
    return repr(float(value))


def check_attribution_drift(baseline: dict, current: dict, threshold: float = DEFAULT_THRESHOLD,
                            baseline_source: str = "analysis.json") -> AttributionDrift:
    """``feature_attribution_drift_check`` violations (DG's shape and words), one per label whose NDCG is
    below ``threshold``."""
    base = kernel_shap(baseline, baseline_source)
    now = kernel_shap(current)
    out = AttributionDrift(threshold=threshold)
    for label, entry in now.items():
        if label not in base:
            out.not_compared.append({"label": label, "why": "not in the baseline"})
            continue
        b, c = base[label]["global_shap_values"], entry["global_shap_values"]
        only_b, only_c = [f for f in b if f not in c], [f for f in c if f not in b]
        if only_b or only_c:
            out.missing[label] = {"only_baseline": only_b, "only_current": only_c}
        score = ndcg(b, c)
        out.ndcg[label] = score
        if score < threshold and not math.isclose(score, threshold, rel_tol=1e-12):
            out.violations.append({
                "label": label, "metric_name": "shap", "constraint_check_type": CHECK_TYPE,
                "description": f"Feature attribution drift {score_text(score)} exceeds threshold "
                               f"{score_text(threshold)}"})
    for label in base:
        if label not in now:
            out.not_compared.append({"label": label, "why": "not in this window"})
    return out


def ranking(values: dict[str, float]) -> list[tuple[str, float]]:
    """Features by decreasing magnitude (the order NDCG ranks them in)."""
    return sorted(values.items(), key=lambda kv: -abs(kv[1]))
