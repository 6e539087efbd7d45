"""The model-quality sections of a run report: metrics against their constraints, the confusion matrix, the ROC
and precision-recall curves, the ground-truth merge counts. Pure Python."""

from __future__ import annotations

from monitor_lib.formats.model_quality import ModelQualityConstraints, ModelQualityStatistics
from monitor_lib.formats.violations import Violation
from monitor_lib.html import svg
from monitor_lib.html.page import esc, section, table, violations_list


def metric_sections(q: ModelQualityStatistics | None, constraints: ModelQualityConstraints | None,
                    violations: list[Violation], baseline_run: bool) -> list[str]:
    """Every metric with its std against its constraint (violated ones first), the confusion matrix, the curves."""
    if q is None:
        return []
    limits = constraints.constraints if constraints else {}
    violated = {v.metric_name: v for v in violations if v.metric_name}
    names = sorted(q.metrics, key=lambda k: (k not in violated, k not in limits))
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
                     violations_list(list(violated.values())))]
    if q.confusion_matrix:
        parts.append(section("Confusion matrix", _confusion(q.confusion_matrix)))
    curves = []
    if q.roc_curve is not None:
        auc = q.metrics.get("auc")
        title = "ROC curve" + (f" (AUC {svg.num(auc.value)})" if auc else "")
        roc = svg.curve(q.roc_curve[0], q.roc_curve[1], "false positive rate", "true positive rate", diagonal=True)
        curves.append(f"<div><b>{title}</b><br>{roc}</div>")
    if q.pr_curve is not None:
        precisions, recalls = q.pr_curve
        curves.append(f"<div><b>Precision–recall curve</b><br>"
                      f"{svg.curve(recalls, precisions, 'recall', 'precision')}</div>")
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


def merge_section(m: dict | None) -> str:
    """The ground-truth merge counts of a model-quality run that merged first."""
    if not m:
        return ""
    keys = ("predictions", "labels", "matched", "matched_by_inference_id", "matched_by_event_id",
            "unmatched_predictions", "unmatched_labels", "duplicate_labels")
    rows = [(esc(k.replace("_", " ")), esc(m[k])) for k in keys if k in m]
    return section("Ground-truth merge", table(("", ""), rows, numeric=(1,)), f"<p>{esc(m.get('message', ''))}</p>")
