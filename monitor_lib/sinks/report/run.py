"""``report.html`` of one run (data-quality baseline or monitoring, model-quality baseline or monitoring).

The report is drawn from the files the run wrote (``run_summary.json``, ``statistics.json``,
``constraints.json``, ``constraint_violations.json``, the rejected-records sample) and, for a data-quality
monitoring run, the baseline ``statistics.json`` named in the summary — so it always shows what the files
say, and ``model-monitor report RUN_FOLDER`` can draw it again later. Everything here is pure Python.

Numeric features: the baseline and the current histogram on the same bins, rebuilt from the two KLL
sketches (shares of the non-null values; integral features with a small range get one bin per integer).
Categorical features: the baseline and current shares of the most frequent categories. Features with
violations come first, then the most drifted ones.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

from monitor_lib.formats.constraints import Constraints, parse_constraints
from monitor_lib.formats.jsonfmt import load_json_file
from monitor_lib.formats.model_quality import (
    ModelQualityConstraints,
    ModelQualityStatistics,
    parse_model_quality_constraints,
    parse_model_quality_statistics,
)
from monitor_lib.formats.statistics import (
    DatasetStatistics,
    FeatureStatistics,
    NumericalStatistics,
    parse_statistics,
)
from monitor_lib.formats.violations import Violation, parse_violations
from monitor_lib.io.uri import is_s3
from monitor_lib.profile.sketches import WeightedItems
from monitor_lib.sinks.report import svg
from monitor_lib.sinks.report.page import esc, legend, page, section, status_badge, table

REPORT_FILE = "report.html"
SUMMARY_FILE = "run_summary.json"
NUMERIC_BINS = 20
MAX_INTEGER_BINS = 40
TOP_CATEGORIES = 10
SAMPLE_SHOWN = 5
DQ_JOBS = ("baseline", "data_quality_monitoring")
MQ_JOBS = ("model_quality_baseline", "model_quality_monitoring")
TITLES = {
    "baseline": "Data-quality baseline",
    "data_quality_monitoring": "Data-quality monitoring",
    "model_quality_baseline": "Model-quality baseline",
    "model_quality_monitoring": "Model-quality monitoring",
}


@dataclass
class RunView:
    """Everything a run report shows, read from one run's output folder."""

    folder: str
    summary: dict
    violations: list[Violation] = field(default_factory=list)
    statistics: DatasetStatistics | None = None
    constraints: Constraints | None = None
    baseline: DatasetStatistics | None = None
    quality: ModelQualityStatistics | None = None
    quality_constraints: ModelQualityConstraints | None = None
    rejected_sample: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be read, shown in the report

    @property
    def job(self) -> str:
        return str(self.summary.get("job", ""))

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "Completed"))


def _optional(path: str, parse, notes: list[str]):
    if not is_s3(path) and not os.path.exists(path):
        return None
    try:
        return parse(load_json_file(path), path)
    except (ValueError, OSError) as e:
        notes.append(f"{os.path.basename(path)} could not be read: {e}")
        return None


def load_run(folder: str, summary: dict | None = None) -> RunView:
    """The run in ``folder``; ``summary`` defaults to its ``run_summary.json``."""
    if summary is None:
        summary = json.loads(open(os.path.join(folder, SUMMARY_FILE), encoding="utf-8").read())
    view = RunView(folder, summary)
    notes = view.notes
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    cv = _optional(path("constraint_violations.json"), parse_violations, notes)
    view.violations = cv.violations if cv else []
    if view.job in MQ_JOBS:
        view.quality = _optional(path("statistics.json"), parse_model_quality_statistics, notes)
        view.quality_constraints = _optional(path("constraints.json"), parse_model_quality_constraints, notes)
    else:
        view.statistics = _optional(path("statistics.json"), parse_statistics, notes)
        view.constraints = _optional(path("constraints.json"), parse_constraints, notes)
        baseline_path = summary.get("baseline_statistics")
        if baseline_path:
            view.baseline = _optional(baseline_path, parse_statistics, notes)
            if view.baseline is None and not is_s3(baseline_path) and not os.path.exists(baseline_path):
                notes.append(f"baseline statistics {baseline_path} not found: baseline distributions not shown")
    sample = path("rejected_records_sample.jsonl")
    if os.path.exists(sample):
        with open(sample, encoding="utf-8") as fh:
            view.rejected_sample = [json.loads(line) for line in fh if line.strip()][:SAMPLE_SHOWN]
    return view


def write_run_report(folder: str, summary: dict | None = None) -> str:
    """Render ``report.html`` into ``folder`` (atomically) and return its path."""
    from monitor_lib.formats.jsonfmt import write_json_atomic

    target = os.path.join(folder, REPORT_FILE)
    write_json_atomic(target, render_run_report(load_run(folder, summary)))
    return target


# ---------------------------------------------------------------- distributions (pure)


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


# ---------------------------------------------------------------- sections


def _records(summary: dict) -> str:
    rows = []
    if "records_read" in summary:
        rows.append(("records read", esc(summary["records_read"])))
    for key, label in (("records_profiled", "records profiled"), ("records_evaluated", "records evaluated")):
        if key in summary:
            rows.append((label, esc(summary[key])))
    if "files_read" in summary:
        rows.append(("files read", esc(summary["files_read"])))
    for key, label in (("records_rejected", "rejected"), ("records_skipped", "skipped")):
        counts = summary.get(key) or {}
        total = sum(counts.values())
        detail = ", ".join(f"{esc(k)}: {esc(v)}" for k, v in counts.items())
        rows.append((f"records {label}", f'<span class="{"bad" if total and label == "rejected" else ""}">'
                                         f"{total}</span>" + (f" <span class='muted'>({detail})</span>" if detail else "")))
    return table(("", ""), rows)


def _overview(view: RunView) -> str:
    s = view.summary
    facts = [("job", esc(TITLES.get(view.job, view.job))), ("status", status_badge(view.status)),
             ("message", esc(s.get("message", "")))]
    window = s.get("window") or {}
    if window.get("start_time") or window.get("end_time"):
        facts.append(("window", f"{esc(window.get('start_time') or 'beginning')} to {esc(window.get('end_time') or 'end')}"))
    for key in ("endpoint", "schedule", "problem_type", "profile_strategy", "spark_master"):
        if s.get(key):
            facts.append((key.replace("_", " "), esc(s[key])))
    if "seconds" in s:
        facts.append(("duration", f"{esc(s['seconds'])} s"))
    parts = [table(("", ""), facts), "<h2 style='margin-top:14px'>Records</h2>", _records(s)]
    if view.violations:
        by_check: dict[str, list[str]] = {}
        for v in view.violations:
            by_check.setdefault(v.constraint_check_type, []).append(v.feature_name or v.metric_name or "")
        rows = [(esc(k), f'<span class="bad">{len(names)}</span>', esc(", ".join(names[:8]) + (" …" if len(names) > 8 else "")))
                for k, names in by_check.items()]
        parts += ["<h2 style='margin-top:14px'>Violations by check</h2>",
                  table(("check", "violations", "features / metrics"), rows, numeric=(1,))]
    if view.rejected_sample:
        shown = "".join(f"<div><b>{esc(r.get('kind', ''))}</b> <span class='muted'>{esc(r.get('file', ''))}</span>"
                        f"<pre>{esc(str(r.get('record', ''))[:300])}</pre></div>" for r in view.rejected_sample)
        parts += ["<h2 style='margin-top:14px'>Rejected records (sample)</h2>", shown]
    for note in view.notes:
        parts.append(f"<p class='bad'>{esc(note)}</p>")
    files = s.get("files") or {}
    if files:
        parts += ["<h2 style='margin-top:14px'>Files</h2>", f"<p class='muted'>in {esc(os.path.abspath(view.folder))}</p>",
                  table(("", ""), ((esc(k), esc(_relative(v, view.folder))) for k, v in files.items()))]
    return section("Run", *parts)


def _relative(path: str, folder: str) -> str:
    """``path`` relative to the run folder when it lies inside it, else as given."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    return path if rel.startswith("..") else rel


def _ratio(m: dict) -> float:
    d, t = m.get("drift_distance"), m.get("drift_threshold")
    if d is None:
        return -1.0
    return d / t if t else d


def _violations_list(items: list[Violation]) -> str:
    if not items:
        return ""
    return "<ul class='viol'>" + "".join(f"<li><code>{esc(v.constraint_check_type)}</code> {esc(v.description)}</li>"
                                         for v in items) + "</ul>"


def _against(value: float | None, threshold: float | None, higher_is_bad: bool, fmt=svg.pct) -> str:
    if value is None:
        return "<span class='muted'>not measured</span>"
    bad = threshold is not None and (value > threshold if higher_is_bad else value < threshold)
    limit = "" if threshold is None else f" <span class='muted'>({'max' if higher_is_bad else 'min'} {fmt(threshold)})</span>"
    return f"<b class='{'bad' if bad else ''}'>{fmt(value)}</b>{limit}"


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


def _feature_card(index: int, name: str, view: RunView, m: dict | None, violations: list[Violation]) -> str:
    cur = view.statistics.feature(name) if view.statistics else None
    base = view.baseline.feature(name) if view.baseline else None
    fc = view.constraints.feature(name) if view.constraints else None
    kind = (fc.inferred_type if fc else None) or (cur.inferred_type if cur else "Unknown")
    tags = "".join(f"<span class='tag'>{esc(v.constraint_check_type)}</span>" for v in violations)
    now = (m or {}).get("inferred_type")
    facts = [f"type <b>{esc(kind)}</b>" + (f" → now <b class='bad'>{esc(now)}</b>" if now and now != kind else "")]
    if m is not None:
        facts.append("completeness " + _against(m.get("completeness"), m.get("completeness_threshold"), False))
        if m.get("drift_distance") is not None:
            facts.append(f"drift ({esc(m.get('drift_method'))}) "
                         + _against(m["drift_distance"], m.get("drift_threshold"), True, svg.num))
        if m.get("type_match") is not None:
            facts.append("type match " + _against(m["type_match"], m.get("type_match_threshold"), False))
        if m.get("in_domain") is not None:
            facts.append("in baseline domain " + _against(m["in_domain"], m.get("in_domain_threshold"), False))
    elif cur is not None:
        facts.append("completeness " + _against(_completeness(cur), fc.completeness if fc else None, False))
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
                   chart, _violations_list(violations), cls="feature" + (" violated" if violations else ""),
                   anchor=f"f{index}")


def _completeness(f: FeatureStatistics) -> float | None:
    s = f.numerical or f.string
    if s is None:
        return None
    total = s.num_present + s.num_missing
    return s.num_present / total if total else None


def _feature_sections(view: RunView) -> list[str]:
    measured = {m["name"]: m for m in view.summary.get("features_measured", [])}
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
    for i, name in enumerate(order):
        m = measured.get(name)
        cur = view.statistics.feature(name) if view.statistics else None
        completeness = m.get("completeness") if m else (_completeness(cur) if cur else None)
        drift = svg.num(m["drift_distance"]) if m and m.get("drift_distance") is not None else "–"
        limit = f" / {svg.num(m['drift_threshold'])}" if m and m.get("drift_threshold") is not None else ""
        vs = by_feature.get(name, [])
        rows.append((f"<a href='#f{i}'>{esc(name)}</a>", esc(cur.inferred_type if cur else "missing"),
                     svg.pct(completeness), drift + limit,
                     f"<span class='bad'>{esc(', '.join(v.constraint_check_type for v in vs))}</span>" if vs else ""))
    headers = ("feature", "type", "completeness", "drift / threshold" if measured else "drift", "violations")
    overview = section(f"Features ({len(order)})", table(headers, rows, numeric=(2, 3)))
    return [overview] + [_feature_card(i, n, view, measured.get(n), by_feature.get(n, [])) for i, n in enumerate(order)]


# ---------------------------------------------------------------- model quality


def _metric_sections(view: RunView) -> list[str]:
    q = view.quality
    if q is None:
        return []
    limits = view.quality_constraints.constraints if view.quality_constraints else {}
    violated = {v.metric_name: v for v in view.violations if v.metric_name}
    names = sorted(q.metrics, key=lambda k: (k not in violated, k not in limits))
    baseline_run = view.job == "model_quality_baseline"
    rows = []
    for name in names:
        metric, c = q.metrics[name], limits.get(name)
        std = "–" if metric.standard_deviation is None else svg.num(metric.standard_deviation)
        limit = f"{esc(c.comparison_operator)} {svg.num(c.threshold)}" if c else ""
        verdict = ("<span class='bad'>violation</span>" if name in violated
                   else "" if c is None or baseline_run else "<span class='ok'>ok</span>")
        rows.append((esc(name), f"<b>{svg.num(metric.value)}</b>", std, limit, verdict))
    head = ("metric", "value", "std", "suggested constraint (violated when)" if baseline_run
            else "constraint (violated when)", "")
    parts = [section(f"Metrics ({q.problem_type}, {q.item_count} records)", table(head, rows, numeric=(1, 2)),
                     _violations_list(list(violated.values())))]
    if q.confusion_matrix:
        parts.append(section("Confusion matrix", _confusion(q.confusion_matrix)))
    curves = []
    if q.roc_curve is not None:
        auc = q.metrics.get("auc")
        title = "ROC curve" + (f" (AUC {svg.num(auc.value)})" if auc else "")
        curves.append(f"<div><b>{title}</b><br>{svg.curve(q.roc_curve[0], q.roc_curve[1], 'false positive rate', 'true positive rate', diagonal=True)}</div>")
    if q.pr_curve is not None:
        precisions, recalls = q.pr_curve
        curves.append(f"<div><b>Precision–recall curve</b><br>{svg.curve(recalls, precisions, 'recall', 'precision')}</div>")
    if curves:
        parts.append(section("Curves", "<div class='grid'>" + "".join(curves) + "</div>"))
    return parts


def _confusion(matrix: dict[str, dict[str, int]]) -> str:
    labels = list(matrix)
    for row in matrix.values():
        labels += [p for p in row if p not in labels]
    top = max((v for row in matrix.values() for v in row.values()), default=1) or 1
    head = "<tr><th>actual \\ predicted</th>" + "".join(f"<th class='n'>{esc(p)}</th>" for p in labels) + "</tr>"
    body = ""
    for a in labels:
        row = matrix.get(a, {})
        cells = ""
        for p in labels:
            v = row.get(p, 0)
            alpha = 0.08 + 0.6 * v / top if v else 0
            color = "47,111,223" if a == p else "214,51,108"
            cells += f"<td style='background:rgba({color},{alpha:.2f})'>{v}</td>"
        body += f"<tr><th>{esc(a)}</th>{cells}</tr>"
    return f"<table class='cm'><thead>{head}</thead><tbody>{body}</tbody></table>"


def _merge_section(summary: dict) -> str:
    m = summary.get("merge")
    if not m:
        return ""
    keys = ("predictions", "labels", "matched", "matched_by_inference_id", "matched_by_event_id",
            "unmatched_predictions", "unmatched_labels", "duplicate_labels")
    rows = [(esc(k.replace("_", " ")), esc(m[k])) for k in keys if k in m]
    return section("Ground-truth merge", table(("", ""), rows, numeric=(1,)), f"<p>{esc(m.get('message', ''))}</p>")


# ---------------------------------------------------------------- the page


def render_run_report(view: RunView) -> str:
    s = view.summary
    title = TITLES.get(view.job, "Run report")
    where = " / ".join(str(s[k]) for k in ("endpoint", "schedule") if s.get(k))
    window = (s.get("window") or {}).get("start_time")
    subtitle = " · ".join(esc(x) for x in (where, window, view.status) if x)
    sections = [_overview(view)]
    if view.job in MQ_JOBS:
        sections.append(_merge_section(s))
        sections += _metric_sections(view)
    else:
        sections += _feature_sections(view)
    return page(title, subtitle, sections)

