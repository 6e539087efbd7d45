"""``model-monitor report OUTPUT_ROOT``: one HTML page with the history of every run under a monitoring
output root (SageMaker's ``{endpoint}/{schedule}/yyyy/mm/dd/hh`` layout).

A run folder is one with a ``run_summary.json`` (ours) or a ``constraint_violations.json`` (the real
container's, which writes no summary). Incomplete folders are left out and counted (:func:`run_folder_state`):
those with the ``_INCOMPLETE`` marker (an ``s3://`` run killed while uploading, downloaded) and those with
files only this tool writes but no ``run_summary.json``. Per schedule the page draws a status strip (one square per run,
linked to that run's ``report.html``), then per feature the drift distance and the completeness over time
and per model metric its value over time, each with its threshold as a dashed step line and the runs that
violated it as red dots. Features and metrics that were ever violated come first.

From our summaries every measured feature has its drift distance and completeness; for the real
container's folders completeness comes from ``statistics.json`` and a drift distance only from the
violation text (``distance: d exceeds threshold: t``), since the container does not write the others.
Baseline folders are not runs of a schedule and are left out.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor_lib import filenames
from monitor_lib.errors import ConfigError
from monitor_lib.formats.jsonfmt import load_json_file
from monitor_lib.formats.violations import parse_violations
from monitor_lib.html import svg
from monitor_lib.html.page import esc, legend, page, section, status_badge, table
from monitor_lib.monitors.base import RunOutcome
from monitor_lib.timefmt import parse_time

log = logging.getLogger(__name__)

_HOUR_PATH = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}$")


@dataclass
class RunPoint:
    """What the history page needs of one run."""

    folder: str  # relative to the root, "/"-separated
    schedule: str  # "endpoint / schedule" (the folders above yyyy/mm/dd/hh)
    when: datetime
    status: str
    kind: str  # the monitor's registry name: data-quality, model-quality, …
    values: dict[str, dict] = field(default_factory=dict)  # series (feature, metric) -> Monitor.history_values
    violated: dict[str, list[str]] = field(default_factory=dict)  # feature or metric -> check types
    report: str | None = None  # path of the run's report.html, when it has one


# ---------------------------------------------------------------- reading


# Files only this tool writes into a run folder: with one of them and no run_summary.json, a folder is one of
# our runs whose summary was never written (killed by an older version that wrote in place), not the real
# container's.
_OURS_ONLY = (filenames.REPORT, filenames.PROFILE, filenames.REJECTED_SAMPLE)


def run_folder_state(files) -> str | None:
    """What the file names of a folder say: ``"run"`` (a whole run: ours with its ``run_summary.json``, or the
    real container's — ``constraint_violations.json`` and no file only we write), ``"incomplete"`` (the
    :data:`~monitor_lib.filenames.INCOMPLETE` marker of a run being or killed while published, or our files
    without their summary) or None (not a run folder)."""
    files = set(files)
    if filenames.INCOMPLETE in files:
        return "incomplete"
    if filenames.RUN_SUMMARY in files:
        return "run"
    if filenames.VIOLATIONS in files:
        return "incomplete" if files & set(_OURS_ONLY) else "run"
    return None


def scan_run_folders(root: str) -> tuple[list[str], list[str]]:
    """(whole run folders, incomplete run folders) under ``root``, in path order (skips ``_``/``.`` folders:
    staging folders of runs being written are hidden)."""
    found: list[str] = []
    incomplete: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        state = run_folder_state(files)
        if state == "run":
            found.append(folder)
        elif state == "incomplete":
            incomplete.append(folder)
    return found, incomplete


def find_run_folders(root: str) -> list[str]:
    """Every folder under ``root`` holding a whole run's reports, in path order (see :func:`scan_run_folders`)."""
    return scan_run_folders(root)[0]


def _time(value) -> datetime | None:
    try:
        return parse_time(value, "time") if isinstance(value, str) else None
    except ConfigError:  # a hand-edited summary
        return None


def _place(root: str, folder: str, summary: dict) -> tuple[str, datetime]:
    """The run's schedule (the folders above ``yyyy/mm/dd/hh``) and its time on the page: its scheduled time
    (``run_summary.json``), else the hour its folder names — SageMaker names an execution's folder by its
    scheduled hour, and writes no summary — else its window start, else the folder's modification time. So
    SageMaker's runs and ours (folders named by the scheduled hour, from ``--scheduled-time``) line up."""
    rel = os.path.relpath(folder, root).replace(os.sep, "/")
    parts = rel.split("/")
    tail = "/".join(parts[-4:])
    scheduled = _time(summary.get("scheduled_time"))
    if len(parts) >= 4 and _HOUR_PATH.match(tail):
        y, m, d, h = (int(x) for x in parts[-4:])
        return (" / ".join(parts[:-4]) or os.path.basename(os.path.abspath(root)),
                scheduled or datetime(y, m, d, h, tzinfo=UTC))
    when = (scheduled or _time((summary.get("window") or {}).get("start_time"))
            or datetime.fromtimestamp(os.path.getmtime(folder), UTC))
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
    from monitor_lib.monitors.registry import DEFAULT, get, monitors
    from monitor_lib.sinks.report.run import load_outcome

    if os.path.exists(os.path.join(folder, filenames.RUN_SUMMARY)):
        try:
            outcome, monitor, _ = load_outcome(folder)
        except (ValueError, OSError) as e:
            log.warning("%s skipped: %s", os.path.join(folder, filenames.RUN_SUMMARY), e)
            return None
        if outcome.phase != "monitoring":
            return None
        summary = outcome.summary()
    else:  # the real container's folder: no summary
        cv = _read(os.path.join(folder, filenames.VIOLATIONS), parse_violations)
        violations = cv.violations if cv else []
        raw = _read(os.path.join(folder, filenames.STATISTICS), lambda d, _: d) or {}
        monitor = next((m for m in monitors() if m.claims_folder(raw, violations)), None) or get(DEFAULT)
        outcome = RunOutcome(monitor.name, "monitoring", "", violations=violations, output_path=folder)
        outcome.status = "CompletedWithViolations" if violations else "Completed"
        notes = monitor.load_artifacts(outcome, folder)
        for note in notes:
            log.warning("%s: %s", folder, note)
        outcome.violations, summary = violations, {}
    schedule, when = _place(root, folder, summary)
    point = RunPoint(os.path.relpath(folder, root).replace(os.sep, "/"), schedule, when, outcome.status,
                     monitor.name, report=_existing(os.path.join(folder, filenames.REPORT)))
    for v in outcome.violations:
        point.violated.setdefault(monitor.history_series(v), []).append(v.constraint_check_type)
    point.values = monitor.history_values(outcome)
    return point


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


def _series_sections(monitor, points: list[RunPoint], base: str) -> list[str]:
    """Per series (feature, metric) the monitor's trend charts; ever-violated series first, then (for a ranking
    trend) the worst value / threshold, then constrained ones, then by name."""
    trends = monitor.history_trends
    if not trends:
        return []
    names: list[str] = []
    for p in points:
        for n in [*p.values, *p.violated]:  # a series both measured and violated in one run is one card
            if n not in names:
                names.append(n)
    ranking = [t for t in trends if t.rank]

    def worst(n: str) -> float:
        ratios = [v[t.value] / v[t.threshold] for t in ranking for p in points if (v := p.values.get(n))
                  and v.get(t.value) is not None and t.threshold and v.get(t.threshold)]
        return max(ratios, default=0.0)

    def constrained(n: str) -> bool:
        return any((p.values.get(n) or {}).get(t.threshold) is not None for p in points for t in trends if t.threshold)

    names.sort(key=lambda n: (-_ever(points, n), -worst(n) if ranking else 0.0,
                              False if ranking else not constrained(n), n))

    def value_of(key: str | None, n: str):
        return lambda run: (run.values.get(n) or {}).get(key) if key else None

    def marked(check: str | None, n: str):
        return lambda run: (check in run.violated.get(n, [])) if check else n in run.violated

    def charts(n: str) -> str:
        ever, drawn = _ever(points, n), ""
        for t in trends:
            if monitor.history_cards:  # the card names the series; each chart its trend
                title, caption = f"{n}: {t.caption}", t.caption
            else:
                title, caption = n + (f" — violated in {ever} run(s)" if ever else ""), None
            drawn += _trend(points, base, value_of(t.value, n), value_of(t.threshold, n), marked(t.check, n), title,
                            svg.pct if t.percent else svg.num, caption=caption)
        return drawn

    if not monitor.history_cards:
        grid = "".join(charts(n) for n in names)
        return [section("Metrics", "<div class='grid'>" + grid + "</div>")] if grid else []
    out = []
    for n in names:
        checks: dict[str, int] = {}
        for p in points:
            for c in p.violated.get(n, []):
                checks[c] = checks.get(c, 0) + 1
        tags = "".join(f"<span class='tag'>{esc(c)} × {k}</span>" for c, k in checks.items())
        out.append(section("", f"<h3>{esc(n)}</h3>{tags}", f"<div class='grid'>{charts(n)}</div>",
                           cls="feature" + (" violated" if checks else "")))
    return out


def _monitor(kind: str):
    from monitor_lib.monitors.registry import get

    return get(kind)


def _title(kind: str) -> str:
    return _monitor(kind).title


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
        failed = sum(1 for p in runs if p.status == "Failed")  # records read but (too many) not readable
        rows.append((esc(schedule), esc(_title(kind)), str(len(runs)), f"<span class='bad'>{bad}</span>"
                     if bad else "0", str(nodata), f"<span class='bad'>{failed}</span>" if failed else "0",
                     esc(_label(runs[0].when)), esc(_label(runs[-1].when)), status_badge(runs[-1].status)))
    sections.append(section("Schedules", table(("schedule", "kind", "runs", "with violations", "no data", "failed",
                                                "first", "last", "last status"), rows, numeric=(2, 3, 4, 5)),
                            legend((svg.CURRENT, "value"), (svg.THRESHOLD, "threshold (dashed)"),
                                   (svg.VIOLATION, "violation"))))
    for (schedule, kind), runs in groups.items():
        sections.append(section(f"{esc(schedule)} <span class='muted'>({esc(_title(kind))}, "
                                f"{len(runs)} runs)</span>", _strip(runs, base)))
        sections += _series_sections(_monitor(kind), runs, base)
    if not points:
        sections.append(section("No runs", f"<p>No monitoring run was found under {esc(root)}.</p>"))
    span = f"{_label(points[0].when)} to {_label(points[-1].when)}" if points else "no runs"
    return page("Monitoring history", f"{esc(root)} · {len(points)} runs · {esc(span)}", sections)


def write_history(root: str, output: str | None = None) -> tuple[str, list[RunPoint]]:
    """Draw the history of ``root`` into ``output`` (default ``root/history.html``)."""
    from monitor_lib.formats.jsonfmt import write_json_atomic

    if not os.path.isdir(root):
        raise ConfigError(f"OUTPUT_ROOT {root} is not a folder")
    points = load_history(root)
    target = output or os.path.join(root, filenames.HISTORY)
    write_json_atomic(target, render_history(root, points, os.path.dirname(os.path.abspath(target))))
    return target, points
