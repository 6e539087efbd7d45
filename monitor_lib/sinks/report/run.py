"""``report.html`` of one run, drawn from its :class:`~monitor_lib.monitors.base.RunOutcome` in memory: the
run's overview (status, window, records by kind, violations by check, the rejected-record sample, the files),
then the monitor's own sections (:meth:`Monitor.report_sections`). ``model-monitor report RUN_FOLDER`` rebuilds
the outcome from the folder (:func:`load_outcome`) and draws the same page. Everything here is pure Python.
"""

from __future__ import annotations

import json
import logging
import os

from monitor_lib import filenames
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.formats.violations import parse_violations
from monitor_lib.html.page import esc, page, section, status_badge, table
from monitor_lib.monitors.base import RunOutcome
from monitor_lib.sinks.base import Sink, SinkContext

log = logging.getLogger(__name__)

SAMPLE_SHOWN = 5


def _records(summary: dict) -> str:
    rows = []
    if "records_read" in summary:
        rows.append(("records read", esc(summary["records_read"])))
    named = (("records_profiled", "records profiled"), ("records_evaluated", "records evaluated"),
             ("records_explained", "records explained"))
    for key, label in named:
        if key in summary:
            rows.append((label, esc(summary[key])))
    if not any(key in summary for key, _ in named) and "records" in summary:  # any other monitor's count
        rows.append(("records analysed", esc(summary["records"])))
    if "files_read" in summary:
        rows.append(("files read", esc(summary["files_read"])))
    for key, label in (("records_rejected", "rejected"), ("records_skipped", "skipped")):
        counts = summary.get(key) or {}
        total = sum(counts.values())
        detail = ", ".join(f"{esc(k)}: {esc(v)}" for k, v in counts.items())
        rows.append((f"records {label}", f'<span class="{"bad" if total and label == "rejected" else ""}">'
                                         f"{total}</span>"
                                         + (f" <span class='muted'>({detail})</span>" if detail else "")))
    return table(("", ""), rows)


def _overview(outcome: RunOutcome, title: str, notes: list[str]) -> str:
    s = outcome.summary()
    facts = [("job", esc(title)), ("status", status_badge(outcome.status)),
             ("message", esc(s.get("message", "")))]
    window = s.get("window") or {}
    if window.get("start_time") or window.get("end_time"):
        facts.append(("window", f"{esc(window.get('start_time') or 'beginning')} to "
                                f"{esc(window.get('end_time') or 'end')}"))
    for key in ("endpoint", "schedule", "problem_type", "profile_strategy", "spark_master"):
        if s.get(key):
            facts.append((key.replace("_", " "), esc(s[key])))
    if "seconds" in s:
        facts.append(("duration", f"{esc(s['seconds'])} s"))
    parts = [table(("", ""), facts), "<h2 style='margin-top:14px'>Records</h2>", _records(s)]
    if outcome.violations:
        by_check: dict[str, list[str]] = {}
        for v in outcome.violations:
            by_check.setdefault(v.constraint_check_type, []).append(v.feature_name or v.metric_name or "")
        rows = [(esc(k), f'<span class="bad">{len(names)}</span>',
                 esc(", ".join(names[:8]) + (" …" if len(names) > 8 else "")))
                for k, names in by_check.items()]
        parts += ["<h2 style='margin-top:14px'>Violations by check</h2>",
                  table(("check", "violations", "features / metrics"), rows, numeric=(1,))]
    if outcome.rejected_sample[:SAMPLE_SHOWN]:
        shown = "".join(f"<div><b>{esc(r.get('kind', ''))}</b> <span class='muted'>{esc(r.get('file', ''))}</span>"
                        f"<pre>{esc(str(r.get('record', ''))[:300])}</pre></div>"
                        for r in outcome.rejected_sample[:SAMPLE_SHOWN])
        parts += ["<h2 style='margin-top:14px'>Rejected records (sample)</h2>", shown]
    for note in notes:
        parts.append(f"<p class='bad'>{esc(note)}</p>")
    files = s.get("files") or {}
    if files:
        parts += ["<h2 style='margin-top:14px'>Files</h2>",
                  f"<p class='muted'>in {esc(_folder(outcome.output_path))}</p>",
                  table(("", ""), ((esc(k), esc(_relative(v, outcome.output_path))) for k, v in files.items()))]
    return section("Run", *parts)


def _folder(path: str) -> str:
    return path if "://" in path else os.path.abspath(path)


def _relative(path: str, folder: str) -> str:
    """``path`` relative to the run folder when it lies inside it, else as given."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    return path if rel.startswith("..") else rel


def monitor_of(outcome: RunOutcome):
    """The registered monitor of an outcome (summaries before monitors were named: by their job)."""
    from monitor_lib.monitors.registry import get, monitors

    if outcome.monitor:
        return get(outcome.monitor)
    for m in monitors():
        for p in m.phases:
            if p.job == outcome.job:
                outcome.monitor, outcome.phase = m.name, p.name
                return m
    raise ValueError(f"run_summary.json of job {outcome.job!r}: no registered monitor wrote it")


def _title(monitor, outcome: RunOutcome) -> str:
    try:
        return monitor.phase(outcome.phase).title
    except KeyError:
        return outcome.job or "Run report"


def render_run_report(outcome: RunOutcome, monitor=None, notes: list[str] | None = None) -> str:
    """The page of one run."""
    monitor = monitor or monitor_of(outcome)
    title = _title(monitor, outcome)
    where = " / ".join(str(x) for x in (outcome.endpoint, outcome.schedule) if x)
    window = outcome.summary().get("window", {}).get("start_time")
    subtitle = " · ".join(esc(x) for x in (where, window, outcome.status) if x)
    sections = [_overview(outcome, title, notes or [])]
    sections += [s for s in monitor.report_sections(outcome) if s]
    return page(title, subtitle, sections)


def load_outcome(folder: str) -> tuple[RunOutcome, object, list[str]]:
    """The outcome of the run in ``folder`` (from its ``run_summary.json`` and files), its monitor, and notes on
    what could not be read."""
    with open(os.path.join(folder, filenames.RUN_SUMMARY), encoding="utf-8") as fh:
        outcome = RunOutcome.from_summary(json.load(fh), folder)
    monitor = monitor_of(outcome)
    notes = monitor.load_artifacts(outcome, folder)
    path = os.path.join(folder, filenames.VIOLATIONS)
    if os.path.exists(path):
        from monitor_lib.monitors.common import read_optional

        cv = read_optional(path, parse_violations, notes)
        outcome.violations = cv.violations if cv else []
    sample = os.path.join(folder, filenames.REJECTED_SAMPLE)
    if os.path.exists(sample):
        with open(sample, encoding="utf-8") as fh:
            outcome.rejected_sample = [json.loads(line) for line in fh if line.strip()][:SAMPLE_SHOWN]
    return outcome, monitor, notes


def write_run_report(folder: str, output: str | None = None) -> str:
    """Draw the report of the run in ``folder`` again, into ``output`` (default its report.html)."""
    outcome, monitor, notes = load_outcome(folder)
    target = output or os.path.join(folder, filenames.REPORT)
    write_json_atomic(target, render_run_report(outcome, monitor, notes))
    return target


def _write(ctx: SinkContext) -> None:
    """The report sink: ``report.html`` from the outcome in memory. A report that cannot be drawn is logged and
    left out: the SageMaker outputs the platform reads are complete by then."""
    outcome = ctx.outcome
    path = os.path.join(ctx.out, filenames.REPORT)
    outcome.files["summary"] = ctx.public(os.path.join(ctx.out, ctx.phase.summary_file))
    outcome.files["report"] = ctx.public(path)
    try:
        html = render_run_report(outcome, ctx.monitor)
    except Exception:
        log.exception("%s could not be drawn; the run's other outputs are complete", outcome.files.pop("report"))
        return
    write_json_atomic(path, html)
    log.info("report: %s (%d kB)", outcome.files["report"], len(html.encode()) // 1024)


SINK = Sink("html-report", _write, enabled=lambda ctx: ctx.phase.report and getattr(ctx.params, "html_report", True))
