"""How a feature-attribution run reads: the terminal summary and the report sections (per label: the baseline's
and this window's feature rankings side by side, the NDCG). Pure Python."""

from __future__ import annotations

from monitor_lib.explain.analysis import ranking
from monitor_lib.html.page import esc, section, table
from monitor_lib.monitors.base import RunOutcome
from monitor_lib.monitors.common import counts_text, record_lines


def _labels(doc: dict | None) -> dict[str, dict]:
    return ((doc or {}).get("explanations") or {}).get("kernel_shap") or {}


def summary_lines(outcome: RunOutcome) -> list[str]:
    d = outcome.details
    lines = record_lines(outcome, f"{outcome.records} explained" + (
        f" of {d['records_to_explain']}" if d.get("records_to_explain", outcome.records) != outcome.records else ""))
    if "num_samples" in d:
        lines.append(f"  model: {d.get('model')}; {d['num_samples']} coalitions × {d['background_rows']} background "
                     f"row(s) ({d.get('background')}); {d.get('model_calls_per_record')} model call(s) per record")
    for note in d.get("notes") or []:
        lines.append(f"  note: {note}")
    art = outcome.artifacts
    current = _labels(art.analysis if art else None)
    base = _labels(art.baseline if art else None)
    bad = {v.label for v in outcome.violations}
    for label, entry in current.items():
        score = (d.get("ndcg") or {}).get(label)
        head = f"  {label}: expected value {float(entry.get('expected_value') or 0.0):.6g}"
        if score is not None:
            head += f"; NDCG {score:.4f} (threshold {d.get('threshold')})" + ("  VIOLATION" if label in bad else "")
        lines.append(head)
        b = base.get(label, {}).get("global_shap_values", {})
        b_rank = {f: i + 1 for i, (f, _) in enumerate(ranking(b))}
        for i, (f, v) in enumerate(ranking(entry.get("global_shap_values", {})), 1):
            was = f"  (baseline #{b_rank[f]} {b[f]:.6g})" if f in b_rank else ""
            lines.append(f"    #{i:<3}{f:<24}{v:>14.6g}{was}")
    skipped = d.get("not_compared") or []
    if skipped:
        lines.append("  not compared: " + counts_text({f"{s['label']} ({s['why']})": 1 for s in skipped}))
    return lines


def report_sections(outcome: RunOutcome) -> list[str]:
    d = outcome.details
    art = outcome.artifacts
    parts = []
    notes = list(d.get("notes") or [])
    if "num_samples" in d:
        notes.append(f"KernelSHAP: {d['num_samples']} coalitions per record, {d['background_rows']} background "
                     f"row(s) ({d.get('background')}), aggregation {d.get('agg_method')}"
                     + (", logit link" if d.get("use_logit") else "")
                     + f"; model {d.get('model')}, {d.get('model_calls_per_record')} call(s) per explained record; "
                       f"largest additivity error |Σφ + E[f] − f(x)| = {float(d.get('additivity_error') or 0):.3g}")
    if notes:
        parts.append(section("Notes", "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"))
    current = _labels(art.analysis if art else None)
    base = _labels(art.baseline if art else None)
    bad = {v.label for v in outcome.violations}
    monitoring = outcome.phase == "monitoring"
    for label, entry in current.items():
        now = ranking(entry.get("global_shap_values", {}))
        then = ranking(base.get(label, {}).get("global_shap_values", {})) if monitoring else []
        then_rank = {f: i + 1 for i, (f, _) in enumerate(then)}
        rows = []
        for i in range(max(len(now), len(then))):
            cur = now[i] if i < len(now) else None
            old = then[i] if i < len(then) else None
            moved = ""
            if cur is not None and monitoring:
                was = then_rank.get(cur[0])
                moved = "new" if was is None else ("" if was == i + 1 else f"{'↑' if was > i + 1 else '↓'} from #{was}")
            rows.append((str(i + 1), esc(cur[0]) if cur else "", f"{cur[1]:.6g}" if cur else "", esc(moved),
                         esc(old[0]) if old else "", f"{old[1]:.6g}" if old else ""))
        score = (d.get("ndcg") or {}).get(label)
        title = f"Label {label}"
        if score is not None:
            verdict = "feature_attribution_drift_check violation" if label in bad else "ok"
            title += f" — NDCG {score:.4f} vs threshold {d.get('threshold')}: {verdict}"
        head = ("rank", "this window" if monitoring else "feature", "attribution", "", "baseline" if monitoring else "",
                "attribution" if monitoring else "")
        expected = float(entry.get("expected_value") or 0.0)
        intro = f"<p>expected value {expected:.6g}</p>"
        parts.append(section(esc(title), intro + table(head, rows, numeric=(2, 5))))
    return parts
