"""Clarify's bias metrics from counts (pure Python; clarify-contract §3).

Every metric but FT is a function of the counts of one facet entry: rows by (in the sensitive group ``d``,
positive label ``y``, positive predicted label ``ŷ``, group variable). The arithmetic, the order of the
checks and the error texts follow AWS's open-source ``smclarify`` 0.5 (``bias/metrics/{common,pretraining,
posttraining}.py``), so a metric that cannot be computed carries the same ``error`` text as Clarify's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from monitor_lib.formats.clarify import json_value

INFINITY = float("inf")
UNIQUENESS_THRESHOLD = 0.05  # smclarify: an integer column with this share of distinct values is continuous

PRE_TRAINING = ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
POST_TRAINING = ("AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE")
STAGES = {"pre_training_bias": PRE_TRAINING, "post_training_bias": POST_TRAINING}

DESCRIPTIONS = {
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "KL": "Kullback-Liebler Divergence (KL)",  # sic, as Clarify writes it
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "DI": "Disparate Impact (DI)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "FT": "Flip Test (FT)",
    "GE": "Generalized Entropy (GE)",
    "RD": "Recall Difference (RD)",
    "SD": "Specificity Difference (SD)",
    "TE": "Treatment Equality (TE)",
}


class MetricError(ValueError):
    """A metric that cannot be computed: written as ``"value": null, "error": <text>``."""


def divide(a, b):
    """smclarify's division: 0/0 is 0.0, x/0 is ±infinity."""
    if b == 0 and a == 0:
        return 0.0
    if b == 0:
        return -INFINITY if a < 0 else INFINITY
    return a / b


@dataclass
class FacetCounts:
    """The rows of one facet entry by (d, y, ŷ, group): ``d`` the sensitive group, ``y`` / ``ŷ`` the positive
    (predicted) label — ``ŷ`` is None before training — and ``group`` the group variable's value (None
    without one). ``groups`` orders the group values as numpy's ``np.unique`` would."""

    cells: dict[tuple[bool, bool, bool | None, object], int] = field(default_factory=dict)
    groups: list = field(default_factory=list)
    has_group_variable: bool = False

    def add(self, d: bool, y: bool, yhat: bool | None, group, n: int) -> None:
        key = (bool(d), bool(y), None if yhat is None else bool(yhat), group)
        self.cells[key] = self.cells.get(key, 0) + int(n)

    def n(self, d: bool | None = None, y: bool | None = None, yhat: bool | None = None, group=...) -> int:
        """Rows matching every condition given (None: any)."""
        return sum(c for (cd, cy, cp, cg), c in self.cells.items()
                   if (d is None or cd == d) and (y is None or cy == y) and (yhat is None or cp == yhat)
                   and (group is ... or cg == group))


# ------------------------------------------------------------------ pre-training


def ci(c: FacetCounts) -> float:
    pos, neg = c.n(d=True), c.n(d=False)
    if neg == 0:
        raise MetricError("CI: negated facet set is empty. Check that x[~facet] has non-zero length.")
    if pos == 0:
        raise MetricError("CI: facet set is empty. Check that x[facet] has non-zero length.")
    return float(neg - pos) / (pos + neg)


def _dpl(c: FacetCounts, predicted: bool) -> float:
    key = "yhat" if predicted else "y"
    na, nd = c.n(d=False), c.n(d=True)
    na_pos, nd_pos = c.n(d=False, **{key: True}), c.n(d=True, **{key: True})
    if na == 0:
        raise MetricError("Negative facet set is empty.")
    if nd == 0:
        raise MetricError("Facet set is empty.")
    return na_pos / na - nd_pos / nd


def _pdf(counts: dict[bool, int]) -> dict[bool, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items() if v}


def _aligned(c: FacetCounts) -> tuple[np.ndarray, np.ndarray]:
    """smclarify's ``pdfs_aligned_nonzero`` over the label (False < True): only label values present in both."""
    pa = _pdf({y: c.n(d=False, y=y) for y in (False, True)})
    pd_ = _pdf({y: c.n(d=True, y=y) for y in (False, True)})
    keys = [k for k in (False, True) if pa.get(k, 0) != 0 and pd_.get(k, 0) != 0]
    pa_arr, pd_arr = np.array([pa[k] for k in keys]), np.array([pd_[k] for k in keys])
    if len(pa_arr) == 0 or len(pd_arr) == 0:
        raise MetricError("No instance of common facet found, dataset may be too small")
    return pa_arr, pd_arr


def kl(c: FacetCounts) -> float:
    pa, pd_ = _aligned(c)
    return float(np.sum(pa * np.log(pa / pd_)))


def js(c: FacetCounts) -> float:
    pa, pd_ = _aligned(c)
    p = 1 / 2 * (pa + pd_)
    return float(0.5 * (np.sum(pa * np.log(pa / p)) + np.sum(pd_ * np.log(pd_ / p))))


def _lp(c: FacetCounts, order) -> float:
    pa, pd_ = _aligned(c)
    return float(np.linalg.norm(pa - pd_, order))


def cdd(c: FacetCounts, predicted: bool) -> float:
    """Conditional demographic disparity (CDDL on labels, CDDPL on predicted labels)."""
    key = "yhat" if predicted else "y"
    if not c.has_group_variable or not c.groups:
        raise MetricError("Group variable is empty or not provided")
    if c.n(**{key: True}) == 0:
        raise MetricError("No positive labels in set")
    if c.n(**{key: False}) == 0:
        raise MetricError("No negative labels in set")
    by_group: dict = {}  # group -> [rows, positives in d, positives, negatives in d, negatives]
    for (cd, cy, cp, cg), n in c.cells.items():
        t = by_group.setdefault(cg, [0, 0, 0, 0, 0])
        positive = cp if predicted else cy
        t[0] += n
        t[2 if positive else 4] += n
        if cd:
            t[1 if positive else 3] += n
    counts, disparities = [], []
    for g in c.groups:
        rows, num_a, den_a, num_d, den_d = by_group.get(g, [0, 0, 0, 0, 0])
        counts.append(float(rows))
        a = num_a / den_a if den_a != 0 else 0
        d = num_d / den_d if den_d != 0 else 0
        disparities.append(d - a)
    counts_arr, cdd_arr = np.array(counts), np.array(disparities, dtype=float)
    return float(divide(np.sum(counts_arr * cdd_arr), np.sum(counts_arr)))


# ------------------------------------------------------------------ post-training


def di(c: FacetCounts) -> float:
    na = c.n(d=False)
    if na == 0:
        raise MetricError("Negated facet set is empty")
    qa = c.n(d=False, yhat=True) / na
    nd = c.n(d=True)
    if nd == 0:
        raise MetricError("Facet set is empty")
    qd = c.n(d=True, yhat=True) / nd
    return divide(qd, qa)


def _require_both(c: FacetCounts, prefix: str) -> None:
    if c.n(d=True) == 0:
        raise MetricError(f"{prefix}Facet set is empty")
    if c.n(d=False) == 0:
        raise MetricError(f"{prefix}Negated Facet set is empty")


def _dco(c: FacetCounts) -> tuple[float, float]:
    _require_both(c, "DCO: ")
    rr_a = divide(c.n(d=False, y=False), c.n(d=False, yhat=False))
    rr_d = divide(c.n(d=True, y=False), c.n(d=True, yhat=False))
    ca = divide(c.n(d=False, y=True), c.n(d=False, yhat=True))
    cd = divide(c.n(d=True, y=True), c.n(d=True, yhat=True))
    dca, dcr = ca - cd, rr_d - rr_a
    if ca == cd and ca == INFINITY:
        dca = 0
    if rr_a == rr_d and rr_a == INFINITY:
        dcr = 0
    return dca, dcr


def _dlr(c: FacetCounts) -> tuple[float, float]:
    _require_both(c, "DLR: ")
    ar_a = divide(c.n(d=False, y=True, yhat=True), c.n(d=False, yhat=True))
    ar_d = divide(c.n(d=True, y=True, yhat=True), c.n(d=True, yhat=True))
    rr_a = divide(c.n(d=False, y=False, yhat=False), c.n(d=False, yhat=False))
    rr_d = divide(c.n(d=True, y=False, yhat=False), c.n(d=True, yhat=False))
    dar, drr = ar_a - ar_d, rr_d - rr_a
    if ar_a == ar_d and ar_a == INFINITY:
        dar = 0
    if rr_a == rr_d and rr_a == INFINITY:
        drr = 0
    return dar, drr


def _confusion(c: FacetCounts, d: bool | None) -> tuple[int, int, int, int]:
    return (c.n(d=d, y=True, yhat=True), c.n(d=d, y=False, yhat=True), c.n(d=d, y=True, yhat=False),
            c.n(d=d, y=False, yhat=False))


def _dla(c: FacetCounts) -> tuple[float, float]:
    _require_both(c, "DLA: ")
    tp_a, fp_a, fn_a, tn_a = _confusion(c, False)
    tp_d, fp_d, fn_d, tn_d = _confusion(c, True)
    rec_a, sp_a = divide(tp_a, tp_a + fn_a), divide(tn_a, tn_a + fp_a)
    rec_d, sp_d = divide(tp_d, tp_d + fn_d), divide(tn_d, tn_d + fp_d)
    rd, sd = rec_a - rec_d, sp_d - sp_a
    if rec_a == rec_d and rec_a == INFINITY:
        rd = 0
    if sp_a == sp_d and sp_a == INFINITY:
        sd = 0
    return rd, sd


def ad(c: FacetCounts) -> float:
    _require_both(c, "")
    tp_a, fp_a, fn_a, tn_a = _confusion(c, False)
    tp_d, fp_d, fn_d, tn_d = _confusion(c, True)
    acc_a = divide(tp_a + tn_a, tp_a + tn_a + fp_a + fn_a)
    acc_d = divide(tp_d + tn_d, tp_d + tn_d + fp_d + fn_d)
    value = acc_a - acc_d
    return 0.0 if acc_a == acc_d and acc_a == INFINITY else value


def te(c: FacetCounts) -> float:
    _require_both(c, "")
    _, fp_a, fn_a, _ = _confusion(c, False)
    _, fp_d, fn_d, _ = _confusion(c, True)
    tau_a, tau_d = divide(fn_a, fp_a), divide(fn_d, fp_d)
    value = tau_d - tau_a
    return 0.0 if tau_a == tau_d and tau_a == INFINITY else value


def ge(c: FacetCounts) -> float:
    """Generalized entropy with α = 2 of the benefit ŷ − y + 1 over all rows (facet-independent)."""
    tp, fp, fn, tn = _confusion(c, None)
    n = tp + fp + fn + tn
    if n <= 0:
        raise MetricError("dataset must be non-empty")
    counts = {0: fn, 1: tp + tn, 2: fp}  # benefit -> rows
    mean_benefit = (counts[1] + 2 * counts[2]) / n
    if mean_benefit == 0:
        raise MetricError("All predicted labels are false negatives. There should be at least one prediction "
                          "that is not false negative.")
    total = math.fsum(k * ((b / mean_benefit) ** 2 - 1) for b, k in counts.items())
    return total / (n * 2 * (2 - 1))


METRICS: dict[str, Callable[[FacetCounts], float]] = {
    "CI": ci,
    "DPL": lambda c: _dpl(c, predicted=False),
    "KL": kl,
    "JS": js,
    "LP": lambda c: _lp(c, 2),
    "TVD": lambda c: 0.5 * _lp(c, 1),
    "KS": lambda c: _lp(c, np.inf),
    "CDDL": lambda c: cdd(c, predicted=False),
    "DPPL": lambda c: _dpl(c, predicted=True),
    "DI": di,
    "DCA": lambda c: _dco(c)[0],
    "DCR": lambda c: _dco(c)[1],
    "DAR": lambda c: _dlr(c)[0],
    "DRR": lambda c: _dlr(c)[1],
    "RD": lambda c: _dla(c)[0],
    "SD": lambda c: _dla(c)[1],
    "AD": ad,
    "TE": te,
    "CDDPL": lambda c: cdd(c, predicted=True),
    "GE": ge,
}  # FT needs the rows of group a: see monitor_lib.bias.flip


def metric_entry(name: str, compute: Callable[[], float]) -> dict:
    """One entry of an analysis.json ``metrics`` list: the value, or ``null`` and the error text."""
    try:
        value = compute()
    except MetricError as e:
        return {"name": name, "description": DESCRIPTIONS[name], "value": None, "error": str(e)}
    if isinstance(value, np.floating):
        value = float(value)
    return {"name": name, "description": DESCRIPTIONS[name], "value": json_value(value)}


# ------------------------------------------------------------------ columns: type and positive values


CATEGORICAL, CONTINUOUS = "categorical", "continuous"


def column_type(kind: str, distinct: int | None, count: int, values: list | None, category: bool = False) -> str:
    """smclarify's ``series_datatype``: categorical or continuous.

    ``kind``: ``int`` (every value an integer, or an integer-castable string), ``float``, or ``text``.
    More than one listed value makes a column categorical; floats are continuous; integers are continuous
    when at least 5 % of their values are distinct."""
    if category or (isinstance(values, list) and len(values) > 1):
        return CATEGORICAL
    if kind == "float":
        return CONTINUOUS
    if kind == "int" and distinct is not None and divide(distinct, count) >= UNIQUENESS_THRESHOLD:
        return CONTINUOUS
    return CATEGORICAL


def threshold_of(values: list | None, what: str) -> float | int:
    """The single numeric threshold of a continuous column (smclarify converts a string to float)."""
    if not values:
        raise MetricError(f"{what}: threshold values must be provided for continuous data")
    v = values[0]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        try:
            return float(v)
        except (TypeError, ValueError):
            raise MetricError(f"{what}: value provided must be a single numeric threshold for continuous data") \
                from None
    return v


def interval_text(threshold: float | int, maximum: float | int) -> str:
    """The ``(t, max]`` string Clarify writes (pandas ``IntervalIndex.from_breaks`` of the threshold and the
    column's maximum, which is left out when ``abs(max)`` equals the threshold)."""
    breaks = [threshold] if abs(maximum) == threshold else sorted([threshold, maximum])
    if len(breaks) < 2:
        return ""
    integral = all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in breaks)
    shown = [str(int(b)) if integral else repr(float(b)) for b in breaks]
    return f"({shown[0]}, {shown[1]}]"


def values_text(values: Iterable) -> str:
    """Listed values as Clarify joins them."""
    return ",".join(str(v) for v in values)


def group_order(values: Iterable) -> list:
    """Group-variable values in ``np.unique`` order: numerically when every value is a number, else as text."""
    present = [v for v in values if v is not None]
    try:
        return sorted(present, key=float)
    except (TypeError, ValueError):
        return sorted(present, key=str)
