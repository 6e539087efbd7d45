"""How a model-bias run reads: the terminal summary and the report sections (per facet: this window's metrics
against the baseline's, violations first). Pure Python."""

from __future__ import annotations

from monitor_lib.bias.analysis import baseline_lookup
from monitor_lib.bias.metrics import DESCRIPTIONS
from monitor_lib.formats.clarify import STAGE_NAMES, MetricValue, metric_values
from monitor_lib.html.page import esc, section, table
from monitor_lib.monitors.base import RunOutcome
from monitor_lib.monitors.common import counts_text, record_lines
from monitor_lib.monitors.model_quality_report import merge_section


def _shown(v: MetricValue | None) -> str:
    if v is None:
        return ""
    if v.value is None:
        return "null"
    if v.value in (float("inf"), float("-inf")):
        return "Infinity" if v.value > 0 else "-Infinity"
    return f"{v.value:.6g}"


def _rows(outcome: RunOutcome):
    """(metric, baseline metric or None, violated) of the run, in file order."""
    art = outcome.artifacts
    if art is None or art.analysis is None:
        return []
    lookup = baseline_lookup(art.baseline)
    violated = {(v.facet, v.facet_value, v.metric_name) for v in outcome.violations}
    out = []
    for v in metric_values(art.analysis):
        b = lookup(v)
        out.append((v, b, (v.facet, v.facet_value, v.name) in violated))
    return out


def summary_lines(outcome: RunOutcome) -> list[str]:
    d = outcome.details
    lines = []
    if d.get("merge"):
        lines.append("  merge: " + str(d["merge"].get("message", "")).removeprefix("Completed: "))
    types = d.get("facet_types") or {}
    lines += record_lines(outcome, f"{outcome.records} analysed" + (f" (label {d['label_type']}; facets "
                                                                     f"{counts_text(types)})" if types else ""))
    for note in d.get("notes") or []:
        lines.append(f"  note: {note}")
    if "metrics_compared" in d:
        skipped = d.get("not_compared") or []
        lines.append(f"  against the baseline: {d['metrics_compared']} metric(s) compared"
                     + (f", {len(skipped)} not ({_reasons(skipped)})" if skipped else ""))
    current = None
    for v, b, bad in _rows(outcome):
        head = (v.stage, v.facet, v.facet_value)
        if head != current:
            lines.append(f"  {STAGE_NAMES[v.stage]} {v.facet} = {v.facet_value}")
            current = head
        base = f"  (baseline {_shown(b)})" if b is not None else ""
        error = f"  {v.error}" if v.value is None and v.error else ""
        lines.append(f"    {v.name:<6}{_shown(v):>14}{base}{error}{'  VIOLATION' if bad else ''}")
    return lines


def _reasons(skipped: list[dict]) -> str:
    counts: dict[str, int] = {}
    for s in skipped:
        counts[s["why"]] = counts.get(s["why"], 0) + 1
    return counts_text(counts)


def report_sections(outcome: RunOutcome) -> list[str]:
    rows = _rows(outcome)
    parts = [merge_section(outcome.details.get("merge"))]
    notes = outcome.details.get("notes") or []
    if notes:
        parts.append(section("Notes", "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"))
    by_facet: dict[tuple[str, str], list] = {}
    for v, b, bad in rows:
        by_facet.setdefault((v.facet, v.facet_value), []).append((v, b, bad))
    monitoring = outcome.phase == "monitoring"
    for (facet, facet_value), items in by_facet.items():
        items.sort(key=lambda t: (not t[2], t[0].stage != "pre_training_bias_metrics", t[0].name))
        body = []
        for v, b, bad in items:
            verdict = ("<span class='bad'>violation</span>" if bad else
                       "<span class='ok'>ok</span>" if monitoring and b is not None and v.value is not None
                       and b.value is not None else "")
            shown = (f"<b>{esc(_shown(v))}</b>" if v.value is not None
                     else f"<span class='muted'>null — {esc(v.error or '')}</span>")
            body.append((f"<abbr title='{esc(DESCRIPTIONS.get(v.name, v.name))}'>{esc(v.name)}</abbr>",
                         esc(STAGE_NAMES[v.stage]), shown, esc(_shown(b)) if monitoring else "", verdict))
        n_bad = sum(1 for _, _, bad in items if bad)
        head = ("metric", "stage", "this window" if monitoring else "value", "baseline" if monitoring else "", "")
        title = esc(f"Facet {facet} = {facet_value}" + (f" — {n_bad} violation(s)" if n_bad else ""))
        parts.append(section(title, table(head, body, numeric=(2, 3))))
    return parts
