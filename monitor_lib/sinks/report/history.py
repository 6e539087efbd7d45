"""``model-monitor report OUTPUT_ROOT``: one HTML page with the history of every run under a monitoring
output root (SageMaker's ``{endpoint}/{schedule}/yyyy/mm/dd/hh`` layout).

A run folder is one with a ``run_summary.json`` (ours) or a ``constraint_violations.json`` (the real
container's, which writes no summary). Per schedule the page draws a status strip (one square per run,
linked to that run's ``report.html``), then per feature the drift distance and the completeness over time
and per model metric its value over time, each with its threshold as a dashed step line and the runs that
violated it as red dots. Features and metrics that were ever violated come first.

From our summaries every measured feature has its drift distance and completeness; for the real
container's folders completeness comes from ``statistics.json`` and a drift distance only from the
violation text (``distance: d exceeds threshold: t``), since the container does not write the others.
Baseline folders are not runs of a schedule and are left out.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor_lib.formats.jsonfmt import load_json_file
from monitor_lib.formats.model_quality import parse_model_quality_constraints, parse_model_quality_statistics
from monitor_lib.formats.statistics import parse_statistics
from monitor_lib.formats.violations import parse_violations
from monitor_lib.sinks.report import svg
from monitor_lib.sinks.report.page import esc, legend, page, section, status_badge, table
from monitor_lib.sinks.report.run import MQ_JOBS, REPORT_FILE, SUMMARY_FILE

log = logging.getLogger(__name__)

HISTORY_FILE = "history.html"
VIOLATIONS_FILE = "constraint_violations.json"
STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
MONITORING_JOBS = ("data_quality_monitoring", "model_quality_monitoring")
_HOUR_PATH = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}$")
_DRIFT_TEXT = re.compile(r"distance: (\S+) exceeds threshold: (\S+)")


@dataclass
class RunPoint:
    """What the history page needs of one run."""

    folder: str  # relative to the root, "/"-separated
    schedule: str  # "endpoint / schedule" (the folders above yyyy/mm/dd/hh)
    when: datetime
    status: str
    kind: str  # "data_quality" or "model_quality"
    features: dict[str, dict] = field(default_factory=dict)  # name -> drift/completeness and thresholds
    metrics: dict[str, tuple[float, float | None]] = field(default_factory=dict)  # name -> (value, threshold)
    violated: dict[str, list[str]] = field(default_factory=dict)  # feature or metric -> check types
    report: str | None = None  # path of the run's report.html, when it has one


# ---------------------------------------------------------------- reading


def find_run_folders(root: str) -> list[str]:
    """Every folder under ``root`` holding a run's reports, in path order (skips ``_``/``.`` folders)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        if SUMMARY_FILE in files or VIOLATIONS_FILE in files:
            found.append(folder)
    return found


def _place(root: str, folder: str, summary: dict) -> tuple[str, datetime]:
    rel = os.path.relpath(folder, root).replace(os.sep, "/")
    parts = rel.split("/")
    tail = "/".join(parts[-4:])
    if len(parts) >= 4 and _HOUR_PATH.match(tail):
        y, m, d, h = (int(x) for x in parts[-4:])
        return " / ".join(parts[:-4]) or os.path.basename(os.path.abspath(root)), datetime(y, m, d, h, tzinfo=UTC)
    start = (summary.get("window") or {}).get("start_time")
    when = (datetime.fromisoformat(start.replace("Z", "+00:00")) if start
            else datetime.fromtimestamp(os.path.getmtime(folder), UTC))
    parent = "/".join(parts[:-1])
    return parent or os.path.basename(os.path.abspath(root)), when


def _existing(path: str) -> str | None:
    return path if os.path.exists(path) else None


def _read(path: str, parse):
    try:
        return parse(load_json_file(path), path) if os.path.exists(path) else None
    except (ValueError, OSError) as e:
        log.warning("%s skipped: %s", path, e)
        return None


def load_point(root: str, folder: str) -> RunPoint | None:
    """The run in ``folder``, or None for a baseline folder or one that cannot be read."""
    summary = {}
    summary_path = os.path.join(folder, SUMMARY_FILE)
    if os.path.exists(summary_path):
        try:
            with open(summary_path, encoding="utf-8") as fh:
                summary = json.load(fh)
        except (ValueError, OSError) as e:
            log.warning("%s skipped: %s", summary_path, e)
            return None
        if summary.get("job") not in MONITORING_JOBS:
            return None
    schedule, when = _place(root, folder, summary)
    cv = _read(os.path.join(folder, VIOLATIONS_FILE), parse_violations)
    violations = cv.violations if cv else []
    raw = _read(os.path.join(folder, STATISTICS_FILE), lambda d, _: d) or {}
    is_quality = summary.get("job") in MQ_JOBS or (not summary and "features" not in raw and bool(raw))
    point = RunPoint(os.path.relpath(folder, root).replace(os.sep, "/"), schedule, when,
                     summary.get("status") or ("CompletedWithViolations" if violations else "Completed"),
                     "model_quality" if is_quality or any(v.metric_name for v in violations) else "data_quality",
                     report=_existing(os.path.join(folder, REPORT_FILE)))
    for v in violations:
        point.violated.setdefault(v.feature_name or v.metric_name or "", []).append(v.constraint_check_type)
    if point.kind == "model_quality":
        _quality_values(folder, raw, point)
    else:
        _feature_values(folder, raw, summary, violations, point)
    return point


def _quality_values(folder: str, raw: dict, point: RunPoint) -> None:
    if not raw:
        return
    try:
        stats = parse_model_quality_statistics(raw, os.path.join(folder, STATISTICS_FILE))
    except ValueError as e:
        log.warning("%s", e)
        return
    limits = _read(os.path.join(folder, CONSTRAINTS_FILE), parse_model_quality_constraints)
    for name, metric in stats.metrics.items():
        c = limits.constraints.get(name) if limits else None
        point.metrics[name] = (float(metric.value), c.threshold if c else None)


def _feature_values(folder: str, raw: dict, summary: dict, violations, point: RunPoint) -> None:
    measured = summary.get("features_measured")
    if measured is not None:
        point.features = {m["name"]: m for m in measured}
        return
    # the real container's folder: completeness from statistics.json, drift only from violation texts
    if raw:
        try:
            stats = parse_statistics(raw, os.path.join(folder, STATISTICS_FILE))
        except ValueError as e:
            log.warning("%s", e)
            stats = None
        for f in stats.features if stats else []:
            s = f.numerical or f.string
            total = s.num_present + s.num_missing if s else 0
            point.features[f.name] = {"completeness": s.num_present / total if total else None}
    for v in violations:
        match = _DRIFT_TEXT.search(v.description)
        if v.feature_name and match:
            try:
                distance, threshold = float(match.group(1)), float(match.group(2))
            except ValueError:
                continue
            entry = point.features.setdefault(v.feature_name, {})
            entry.update(drift_distance=distance, drift_threshold=threshold)


def load_history(root: str) -> list[RunPoint]:
    """Every monitoring run under ``root``, ordered by schedule and time."""
    points = [p for folder in find_run_folders(root) if (p := load_point(root, folder)) is not None]
    return sorted(points, key=lambda p: (p.schedule, p.kind, p.when, p.folder))


# ---------------------------------------------------------------- drawing


def _label(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


def _link(p: RunPoint, base: str) -> str | None:
    return os.path.relpath(p.report, base).replace(os.sep, "/") if p.report else None


def _trend(points: list[RunPoint], base: str, value, threshold, violated, title: str, fmt=svg.num,
           caption: str | None = None) -> str:
    marks = [svg.TrendPoint(p.when.timestamp(), _label(p.when), value(p), threshold(p), violated(p), _link(p, base))
             for p in points]
    return f"<div><b>{esc(caption or title)}</b><br>{svg.trend(marks, title, fmt)}</div>"


def _strip(points: list[RunPoint], base: str) -> str:
    cells = []
    for p in points:
        n = sum(len(v) for v in p.violated.values())
        tip = f"{_label(p.when)}: {p.status}" + (f", {n} violation(s)" if n else "")
        href = f' href="{esc(_link(p, base))}"' if p.report else ""
        cells.append(f'<a class="{esc(p.status)}" title="{esc(tip)}"{href}></a>')
    return "<div class='strip'>" + "".join(cells) + "</div>"


def _ever(points: list[RunPoint], name: str) -> int:
    return sum(1 for p in points if name in p.violated)


def _feature_rows(points: list[RunPoint], base: str) -> list[str]:
    names: list[str] = []
    for p in points:
        names += [n for n in list(p.features) + list(p.violated) if n not in names]

    def worst(n: str) -> float:
        ratios = [f["drift_distance"] / f["drift_threshold"] for p in points if (f := p.features.get(n))
                  and f.get("drift_distance") is not None and f.get("drift_threshold")]
        return max(ratios, default=0.0)

    names.sort(key=lambda n: (-_ever(points, n), -worst(n), n))
    out = []
    for n in names:
        checks: dict[str, int] = {}
        for p in points:
            for c in p.violated.get(n, []):
                checks[c] = checks.get(c, 0) + 1
        tags = "".join(f"<span class='tag'>{esc(c)} × {k}</span>" for c, k in checks.items())

        def field_of(key: str, n: str = n):
            return lambda run: (run.features.get(n) or {}).get(key)

        def check_of(check: str, n: str = n):
            return lambda run: check in run.violated.get(n, [])

        charts = (_trend(points, base, field_of("drift_distance"), field_of("drift_threshold"),
                         check_of("baseline_drift_check"), f"{n}: drift distance", caption="drift distance")
                  + _trend(points, base, field_of("completeness"), field_of("completeness_threshold"),
                           check_of("completeness_check"), f"{n}: completeness", svg.pct, caption="completeness"))
        out.append(section("", f"<h3>{esc(n)}</h3>{tags}", f"<div class='grid'>{charts}</div>",
                           cls="feature" + (" violated" if checks else "")))
    return out


def _metric_rows(points: list[RunPoint], base: str) -> list[str]:
    names: list[str] = []
    for p in points:
        names += [n for n in p.metrics if n not in names]
    constrained = {n for p in points for n, (_, t) in p.metrics.items() if t is not None}
    names.sort(key=lambda n: (-_ever(points, n), n not in constrained))
    charts = []
    for n in names:
        charts.append(_trend(points, base, lambda p, n=n: p.metrics[n][0] if n in p.metrics else None,
                             lambda p, n=n: p.metrics[n][1] if n in p.metrics else None,
                             lambda p, n=n: n in p.violated,
                             f"{n}" + (f" — violated in {_ever(points, n)} run(s)" if _ever(points, n) else "")))
    return [section("Metrics", "<div class='grid'>" + "".join(charts) + "</div>")] if charts else []


def render_history(root: str, points: list[RunPoint], base: str) -> str:
    """The page; links to the runs' reports are relative to ``base`` (the folder the page is written to)."""
    groups: dict[tuple[str, str], list[RunPoint]] = {}
    for p in points:
        groups.setdefault((p.schedule, p.kind), []).append(p)
    sections = []
    rows = []
    for (schedule, kind), runs in groups.items():
        bad = sum(1 for p in runs if p.violated)
        nodata = sum(1 for p in runs if p.status == "NoData")
        rows.append((esc(schedule), esc(kind.replace("_", " ")), str(len(runs)), f"<span class='bad'>{bad}</span>"
                     if bad else "0", str(nodata), esc(_label(runs[0].when)), esc(_label(runs[-1].when)),
                     status_badge(runs[-1].status)))
    sections.append(section("Schedules", table(("schedule", "kind", "runs", "with violations", "no data", "first",
                                                "last", "last status"), rows, numeric=(2, 3, 4)),
                            legend((svg.CURRENT, "value"), (svg.THRESHOLD, "threshold (dashed)"),
                                   (svg.VIOLATION, "violation"))))
    for (schedule, kind), runs in groups.items():
        sections.append(section(f"{esc(schedule)} <span class='muted'>({esc(kind.replace('_', ' '))}, "
                                f"{len(runs)} runs)</span>", _strip(runs, base)))
        sections += _metric_rows(runs, base) if kind == "model_quality" else _feature_rows(runs, base)
    if not points:
        sections.append(section("No runs", f"<p>No monitoring run was found under {esc(root)}.</p>"))
    span = f"{_label(points[0].when)} to {_label(points[-1].when)}" if points else "no runs"
    return page("Monitoring history", f"{esc(root)} · {len(points)} runs · {esc(span)}", sections)


def write_history(root: str, output: str | None = None) -> tuple[str, list[RunPoint]]:
    """Draw the history of ``root`` into ``output`` (default ``root/history.html``)."""
    from monitor_lib.formats.jsonfmt import write_json_atomic

    if not os.path.isdir(root):
        raise FileNotFoundError(f"OUTPUT_ROOT {root} is not a folder")
    points = load_history(root)
    target = output or os.path.join(root, HISTORY_FILE)
    write_json_atomic(target, render_history(root, points, os.path.dirname(os.path.abspath(target))))
    return target, points
