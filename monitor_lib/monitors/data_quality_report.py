"""The data-quality sections of a run report: the features table and one card per feature, with the baseline
and current distributions on the same bins. Pure Python.

Numeric features: the baseline and the current histogram on the same bins, rebuilt from the two KLL sketches
(shares of the non-null values; integral features with a small range get one bin per integer). Categorical
features: the baseline and current shares of the most frequent categories. Features with violations come
first, then the most drifted ones. On wide or hostile data the page stays bounded: the table lists at most
``MAX_TABLE_ROWS`` features and at most ``MAX_CARDS`` get a card (the rest are counted: "and N more").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor_lib.formats.constraints import Constraints
from monitor_lib.formats.statistics import DatasetStatistics, FeatureStatistics, NumericalStatistics
from monitor_lib.formats.violations import Violation
from monitor_lib.html import svg
from monitor_lib.html.page import against, esc, legend, section, table, violations_list
from monitor_lib.profile.sketches import WeightedItems

NUMERIC_BINS = 20
MAX_INTEGER_BINS = 40
TOP_CATEGORIES = 10
MAX_TABLE_ROWS = 500  # features listed in the features table
MAX_CARDS = 100  # features drawn as cards (violated and most drifted first)


@dataclass
class _Run:
    statistics: DatasetStatistics | None
    constraints: Constraints | None
    baseline: DatasetStatistics | None
    violations: list[Violation]


@dataclass(frozen=True)
class Histogram:
    edges: list[float]
    baseline: list[float] | None  # shares per bin
    current: list[float] | None
    integral: bool = False  # one bin per integer: label the bins' centres

    @property
    def ticks(self) -> list[float] | None:
        if not self.integral:
            return None
        centres = [(a + b) / 2 for a, b in zip(self.edges, self.edges[1:], strict=False)]
        step = max(1, math.ceil(len(centres) / 8))
        return centres[::step]


def _shares(stats: NumericalStatistics, edges: list[float]) -> list[float]:
    """Share of the sketch's weight in each ``[e_i, e_i+1)``, the last bin closed (numpy.histogram's rule)."""
    ranks = WeightedItems.from_levels(stats.sketch.data)
    total = ranks.total_weight or 1.0
    below = [ranks.rank_exclusive(e) for e in edges[:-1]] + [ranks.rank_inclusive(edges[-1])]
    return [(b - a) / total for a, b in zip(below, below[1:], strict=False)]


def numeric_histogram(baseline: NumericalStatistics | None, current: NumericalStatistics | None,
                      integral: bool) -> Histogram | None:
    """Both sides on the same bins, from their KLL sketches; None when neither has a sketch."""
    sides = [s if s is not None and s.sketch is not None and s.num_present else None for s in (baseline, current)]
    present = [s for s in sides if s is not None]
    if not present:
        return None
    lo, hi = min(s.min for s in present), max(s.max for s in present)
    per_integer = integral and hi - lo < MAX_INTEGER_BINS and float(lo).is_integer() and float(hi).is_integer()
    if per_integer:
        lo, hi, n = lo - 0.5, hi + 0.5, int(hi - lo) + 1
    elif hi == lo:
        lo, hi, n = lo - 0.5, hi + 0.5, 1
    else:
        n = NUMERIC_BINS
    edges = [lo + (hi - lo) * i / n for i in range(n)] + [hi]
    b, c = (_shares(s, edges) if s is not None else None for s in sides)
    return Histogram(edges, b, c, per_integer)


def category_shares(baseline: FeatureStatistics | None, current: FeatureStatistics | None,
                    top: int = TOP_CATEGORIES) -> tuple[list[str], list[float] | None, list[float] | None]:
    """The ``top`` categories by their larger share on either side, then one "(other values)" row."""
    def shares(f: FeatureStatistics | None) -> dict[str, float] | None:
        s = f.string if f is not None else None
        if s is None or not s.buckets or not s.num_present:
            return None
        return {b.value: b.count / s.num_present for b in s.buckets}

    b, c = shares(baseline), shares(current)
    sides = [s for s in (b, c) if s is not None]
    if not sides:
        return [], None, None
    names = sorted({k for s in sides for k in s}, key=lambda k: (-max(s.get(k, 0.0) for s in sides), k))
    shown, rest = names[:top], names[top:]
    labels = list(shown)
    if rest:
        labels.append(f"(other {len(rest)} values)")

    def row(s: dict[str, float] | None) -> list[float] | None:
        if s is None:
            return None
        values = [s.get(k, 0.0) for k in shown]
        return values + [sum(s.get(k, 0.0) for k in rest)] if rest else values

    return labels, row(b), row(c)


def _ratio(m: dict) -> float:
    d, t = m.get("drift_distance"), m.get("drift_threshold")
    if d is None:
        return -1.0
    return d / t if t else d


def _distribution(kind: str, base: FeatureStatistics | None, cur: FeatureStatistics | None) -> str:
    both = base is not None and cur is not None
    if kind in ("Integral", "Fractional"):
        h = numeric_histogram(base.numerical if base else None, cur.numerical if cur else None, kind == "Integral")
        if h is None:
            return "<p class='muted'>no numeric values to draw</p>"
        return svg.histogram(h.edges, h.baseline, h.current, x_ticks=h.ticks) + (_legend() if both else "")
    labels, b, c = category_shares(base, cur)
    if not labels:
        return "<p class='muted'>no category counts (too many distinct values, or no values)</p>"
    return svg.category_bars(labels, b, c) + (_legend() if both else "")


def _legend() -> str:
    return legend((svg.BASELINE, "baseline"), (svg.CURRENT, "current"))


def _feature_card(index: int, name: str, view: _Run, m: dict | None, violations: list[Violation]) -> str:
    cur = view.statistics.feature(name) if view.statistics else None
    base = view.baseline.feature(name) if view.baseline else None
    fc = view.constraints.feature(name) if view.constraints else None
    kind = (fc.inferred_type if fc else None) or (cur.inferred_type if cur else "Unknown")
    tags = "".join(f"<span class='tag'>{esc(v.constraint_check_type)}</span>" for v in violations)
    now = (m or {}).get("inferred_type")
    facts = [f"type <b>{esc(kind)}</b>" + (f" → now <b class='bad'>{esc(now)}</b>" if now and now != kind else "")]
    if m is not None:
        facts.append("completeness " + against(m.get("completeness"), m.get("completeness_threshold"), False))
        if m.get("drift_distance") is not None:
            facts.append(f"drift ({esc(m.get('drift_method'))}) "
                         + against(m["drift_distance"], m.get("drift_threshold"), True, svg.num))
        if m.get("type_match") is not None:
            facts.append("type match " + against(m["type_match"], m.get("type_match_threshold"), False))
        if m.get("type_mismatch_examples"):
            facts.append(f"values not {esc(kind)}, e.g. "
                         + ", ".join(f"<code class='example'>{esc(v)}</code>" for v in m["type_mismatch_examples"]))
        if m.get("in_domain") is not None:
            facts.append("in baseline domain " + against(m["in_domain"], m.get("in_domain_threshold"), False))
    elif cur is not None:
        facts.append("completeness " + against(completeness(cur), fc.completeness if fc else None, False))
    if cur is not None and cur.numerical is not None and cur.numerical.num_present:
        n = cur.numerical
        facts.append(f"mean <b>{svg.num(n.mean)}</b> std <b>{svg.num(n.std_dev)}</b> "
                     f"min <b>{svg.num(n.min)}</b> max <b>{svg.num(n.max)}</b>")
    if fc is not None and fc.domains is not None:
        facts.append(f"domain of <b>{len(fc.domains)}</b> values")
    chart = _distribution(kind, base, cur) if (cur is not None or base is not None) else ""
    if cur is None and not violations:
        chart = "<p class='muted'>not in the data</p>"
    return section("", f"<h3>{esc(name)}</h3>{tags}", "<div class='facts'>" + " · ".join(facts) + "</div>",
                   chart, violations_list(violations), cls="feature" + (" violated" if violations else ""),
                   anchor=f"f{index}")


def completeness(f: FeatureStatistics) -> float | None:
    s = f.numerical or f.string
    if s is None:
        return None
    total = s.num_present + s.num_missing
    return s.num_present / total if total else None


def feature_sections(statistics: DatasetStatistics | None, constraints: Constraints | None,
                     baseline: DatasetStatistics | None, features_measured: list[dict],
                     violations: list[Violation]) -> list[str]:
    """The features table, then one card per feature: violated ones first, then the most drifted."""
    view = _Run(statistics, constraints, baseline, violations)
    measured = {m["name"]: m for m in features_measured}
    order: list[str] = []
    for names in ([f.name for f in view.constraints.features] if view.constraints else [],
                  [f.name for f in view.statistics.features] if view.statistics else [],
                  [v.feature_name for v in view.violations if v.feature_name]):
        order += [n for n in names if n not in order]
    by_feature: dict[str, list[Violation]] = {}
    for v in view.violations:
        if v.feature_name:
            by_feature.setdefault(v.feature_name, []).append(v)
    position = {n: i for i, n in enumerate(order)}
    order.sort(key=lambda n: (-len(by_feature.get(n, [])), -_ratio(measured.get(n, {})), position[n]))
    if not order:
        return []
    rows = []
    for i, name in enumerate(order[:MAX_TABLE_ROWS]):
        m = measured.get(name)
        cur = view.statistics.feature(name) if view.statistics else None
        share = m.get("completeness") if m else (completeness(cur) if cur else None)
        drift = svg.num(m["drift_distance"]) if m and m.get("drift_distance") is not None else "–"
        limit = f" / {svg.num(m['drift_threshold'])}" if m and m.get("drift_threshold") is not None else ""
        vs = by_feature.get(name, [])
        rows.append((f"<a href='#f{i}'>{esc(name)}</a>", esc(cur.inferred_type if cur else "missing"),
                     svg.pct(share), drift + limit,
                     f"<span class='bad'>{esc(', '.join(v.constraint_check_type for v in vs))}</span>" if vs else ""))
    headers = ("feature", "type", "completeness", "drift / threshold" if measured else "drift", "violations")
    overview = section(f"Features ({len(order)})", table(headers, rows, numeric=(2, 3)),
                       _more(len(order) - MAX_TABLE_ROWS, "listed"))
    cards = [_feature_card(i, n, view, measured.get(n), by_feature.get(n, []))
             for i, n in enumerate(order[:MAX_CARDS])]
    if len(order) > MAX_CARDS:
        cards.append(section("", _more(len(order) - MAX_CARDS, "drawn")))
    return [overview] + cards


def _more(hidden: int, verb: str) -> str:
    if hidden <= 0:
        return ""
    return (f"<p class='muted'>… and {hidden} more feature{'s' if hidden != 1 else ''} not {verb} here "
            "(see statistics.json and constraint_violations.json)</p>")
