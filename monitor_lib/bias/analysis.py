"""``analysis.json`` (clarify-contract §2.1) and the bias drift check (§4), pure Python.

The drift rule: a metric violates its baseline when its current value is farther from the metric's neutral
value than the baseline's (``|current − n| > |baseline − n|``; equal — to 12 significant digits, so float noise
between implementations is no drift — is not a violation). The neutral value
is 0 for every metric but DI (Disparate Impact, a ratio), where it is 1 — the contract leaves DI open and a
ratio of 1 is parity. Not compared (and listed as such in the run summary): a metric that is null (an
error) on either side, and a facet entry the baseline does not have. A continuous facet's entry is matched
by position, since its ``(t, max]`` text follows the current maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from monitor_lib.bias.metrics import (
    METRICS,
    STAGES,
    FacetCounts,
    MetricError,
    metric_entry,
)
from monitor_lib.formats.clarify import STAGE_KEYS, MetricValue, json_value, metric_values

CHECK_TYPE = "bias_drift_check"
NEUTRAL = {"DI": 1.0}


@dataclass
class FacetEntry:
    """One entry of a facet: its value_or_threshold text, counts, and the flip test's result (a value, a
    :class:`MetricError`, or None when FT was not asked for)."""

    value_text: str
    counts: FacetCounts
    flip: float | MetricError | None = None
    flip_note: str | None = None


@dataclass
class BiasResult:
    label: str
    label_value_text: str
    facets: dict[str, list[FacetEntry]] = field(default_factory=dict)  # facet name -> entries, in order


def _metric(name: str, entry: FacetEntry) -> dict:
    if name == "FT":
        def flip() -> float:
            if isinstance(entry.flip, MetricError):
                raise entry.flip
            if entry.flip is None:
                raise MetricError("FT was not computed")
            return entry.flip
        return metric_entry(name, flip)
    return metric_entry(name, lambda: METRICS[name](entry.counts))


def stage_section(result: BiasResult, metrics: tuple[str, ...]) -> dict:
    return {
        "label": result.label,
        "facets": {name: [{"value_or_threshold": e.value_text, "metrics": [_metric(m, e) for m in sorted(metrics)]}
                          for e in entries]
                   for name, entries in result.facets.items()},
        "label_value_or_threshold": result.label_value_text,
    }


def analysis_document(result: BiasResult, methods: dict[str, tuple[str, ...]]) -> dict:
    doc: dict[str, Any] = {"version": "1.0"}
    for stage in STAGES:
        if methods.get(stage):
            doc[STAGE_KEYS[stage]] = stage_section(result, methods[stage])
    return doc


# ------------------------------------------------------------------ the drift check


def value_text(value: Any) -> str:
    """A value as the violation description prints it: Python's repr, infinities as ``Infinity``."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isinf(value):
        return json_value(value)
    return repr(value)


@dataclass
class DriftCheck:
    violations: list[dict] = field(default_factory=list)
    compared: int = 0
    not_compared: list[dict] = field(default_factory=list)  # metric, facet, facet_value, why
    # (metric_name, facet, facet_value) of a violation → (this window's value, the baseline's): for notifications
    measured: dict[tuple, tuple[float, float]] = field(default_factory=dict)


def _continuous(text: str) -> bool:
    return text.startswith("(") and text.endswith("]")


def baseline_lookup(baseline: dict | None, source: str = "analysis.json"):
    """``lookup(metric) -> the baseline's metric it is compared with`` (None: not in the baseline): the same
    stage, facet, facet value and metric; a continuous facet's entry by position, since its ``(t, max]`` text
    follows each window's maximum."""
    base: dict[tuple, MetricValue] = {}
    for v in metric_values(baseline, source) if baseline is not None else []:
        base[(v.stage, v.facet, v.facet_value, v.name)] = v
        if _continuous(v.facet_value):
            base.setdefault((v.stage, v.facet, f"#{v.position}", v.name), v)

    def lookup(v: MetricValue) -> MetricValue | None:
        found = base.get((v.stage, v.facet, v.facet_value, v.name))
        if found is None and _continuous(v.facet_value):
            found = base.get((v.stage, v.facet, f"#{v.position}", v.name))
        return found

    return lookup


def check_bias_drift(baseline: dict, current: dict, baseline_source: str = "analysis.json") -> DriftCheck:
    """``bias_drift_check`` violations of the current analysis against the baseline's, ordered by metric name."""
    lookup = baseline_lookup(baseline, baseline_source)
    out = DriftCheck()
    for v in metric_values(current, "analysis.json"):
        b = lookup(v)
        where = {"metric_name": v.name, "facet": v.facet, "facet_value": v.facet_value}
        if b is None:
            out.not_compared.append({**where, "why": "not in the baseline"})
            continue
        if v.value is None or b.value is None:
            side = "this window" if v.value is None else "the baseline"
            out.not_compared.append({**where, "why": f"no value in {side}"})
            continue
        out.compared += 1
        neutral = NEUTRAL.get(v.name, 0.0)
        if _farther(v.value, b.value, neutral):
            out.measured[(v.name, v.facet, v.facet_value)] = (v.value, b.value)
            out.violations.append({
                "facet": v.facet, "facet_value": v.facet_value, "metric_name": v.name,
                "constraint_check_type": CHECK_TYPE,
                "description": f"Metric value {value_text(v.raw)} doesn't meet the baseline constraint requirement "
                               f"{value_text(b.raw)}"})
    out.violations.sort(key=lambda e: e["metric_name"])
    return out


TOLERANCE = 1e-12  # relative: values equal to 12 significant digits are equal (float noise between implementations)


def _farther(current: float, baseline: float, neutral: float) -> bool:
    if math.isnan(current) or math.isnan(baseline):
        return False
    now, then = abs(current - neutral), abs(baseline - neutral)
    if math.isinf(now) or math.isinf(then):
        return now > then
    return now - then > TOLERANCE * max(now, then)


def series_name(facet: str, facet_value: str, metric: str) -> str:
    """A metric of a facet entry across runs (the history page): ``sex=0 RD``; a continuous facet by its
    threshold (``age>40 RD``), since the maximum in its ``(t, max]`` text changes from window to window."""
    if _continuous(facet_value):
        return f"{facet}>{facet_value[1:].split(',')[0].strip()} {metric}"
    return f"{facet}={facet_value} {metric}"
