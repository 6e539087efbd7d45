"""The monitor interface and the typed outcome of a run.

A :class:`Monitor` is one kind of analysis (data quality, model quality, …): a name for ``--type``, its SageMaker
``analysis_type``, its phases (baseline, monitoring, …), each with a parameter dataclass (declared with
:func:`monitor_lib.params.param`) and a ``run`` function, plus how its outcome reads in the terminal, in the
HTML report, in the history page and as CloudWatch metrics. The edges (CLI, ``analyze``, ``submit``, the
report, the sinks) only ever talk to this interface; :mod:`monitor_lib.monitors.registry` finds the monitors.

:class:`RunOutcome` is the one contract between a phase's ``run``, the sinks (SageMaker files,
``run_summary.json``, CloudWatch metrics, the HTML report, the exit message), the terminal summary and the
report. ``model-monitor report`` rebuilds outcomes from run folders (:meth:`RunOutcome.from_summary` and
:meth:`Monitor.load_artifacts`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor_lib.formats.violations import Violation
from monitor_lib.timefmt import iso_utc, parse_time

COMPLETED = "Completed"
WITH_VIOLATIONS = "CompletedWithViolations"
NO_DATA = "NoData"
FAILED = "Failed"  # records were read but (too many of them) could not be analysed: exit code EXIT_RUN_FAILED


def completed_message(n_violations: int) -> str:
    """SageMaker's exit message of a completed analysis."""
    if n_violations:
        return f"{WITH_VIOLATIONS}: Job completed successfully with {n_violations} violations."
    return f"{COMPLETED}: Job completed successfully with no violations."


@dataclass
class Document:
    """A file a phase writes into its output folder: its key in ``files``, its name, how to write it."""

    key: str  # statistics, constraints, violations, profile, …
    name: str  # file name (monitor_lib.filenames)
    write: Callable[[str], None]  # writes the file at the given path (atomically)


@dataclass
class RunOutcome:
    """What a run did: status and message, window, counts, violations, files, timings, the monitor's details."""

    monitor: str  # registry name, e.g. data-quality
    phase: str  # baseline | monitoring | merge | …
    job: str  # run_summary.json "job": baseline, data_quality_monitoring, model_quality_baseline, …
    status: str = COMPLETED
    message: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    # the execution's scheduled time (--scheduled-time, a schedule's execution): the window was derived from it
    scheduled_time: datetime | None = None
    endpoint: str | None = None
    schedule: str | None = None
    files_read: int = 0
    records: int = 0  # records profiled / evaluated / merged
    rejected: dict[str, int] = field(default_factory=dict)  # kind -> records never analysed
    skipped: dict[str, int] = field(default_factory=dict)  # kind -> records left out on purpose
    violations: list[Violation] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # key -> where it is (s3:// URIs for s3 outputs)
    seconds: float = 0.0
    spark_master: str = ""
    output_path: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # the monitor's own run_summary.json entries
    rejected_sample: list[dict] = field(default_factory=list)  # up to 20 rejected records with their file
    documents: list[Document] = field(default_factory=list)  # SageMaker files to write (not serialised)
    artifacts: Any = None  # the monitor's in-memory results, for the report and the API (not serialised)
    no_data_reason: str = ""
    failure_reason: str = ""  # set: the run ends Failed (see monitor_lib.monitors.common.rejection_failure)
    run_id: str = ""  # the run's UUID (RunContext.run_id): run_summary.json, lineage events, notifications
    # the data files of dataset_source the run read (local paths or s3:// URIs; not serialised): the lineage
    # sink's manifest of the inputs ([]: none in the window). None when the monitor does not list them (the
    # inputs are then named only).
    data_files: list[str] | None = None

    # ---------------------------------------------------------------- derived

    def finish(self, has_data: bool = True) -> RunOutcome:
        """Set status and message from the violations (or the missing data, or the failure)."""
        if self.failure_reason:
            self.status = FAILED
            self.message = f"{FAILED}: {self.failure_reason}."
        elif not has_data:
            self.status = NO_DATA
            self.message = f"{COMPLETED}: No data in window {self.window_text}: {self.no_data_reason}."
        else:
            self.status = WITH_VIOLATIONS if self.violations else COMPLETED
            self.message = completed_message(len(self.violations))
        return self

    @property
    def window_text(self) -> str:
        return f"[{iso_utc(self.start_time) or 'beginning'}, {iso_utc(self.end_time) or 'end'})"

    @property
    def has_window(self) -> bool:
        return self.start_time is not None or self.end_time is not None

    @property
    def violations_by_check(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for v in self.violations:
            counts[v.constraint_check_type] = counts.get(v.constraint_check_type, 0) + 1
        return counts

    # ---------------------------------------------------------------- run_summary.json

    def summary(self) -> dict[str, Any]:
        """``run_summary.json``: the common entries, then the monitor's ``details``."""
        doc: dict[str, Any] = {"job": self.job, "monitor": self.monitor, "phase": self.phase, "status": self.status}
        if self.run_id:
            doc["run_id"] = self.run_id
        if self.endpoint is not None or self.schedule is not None or self.phase != "baseline":
            doc.update(endpoint=self.endpoint, schedule=self.schedule)
        if self.scheduled_time is not None:
            doc["scheduled_time"] = iso_utc(self.scheduled_time)
        if self.phase != "baseline":
            doc["window"] = {"start_time": iso_utc(self.start_time), "end_time": iso_utc(self.end_time)}
        doc.update({"files_read": self.files_read, "records": self.records, "records_rejected": dict(self.rejected),
                    "records_skipped": dict(self.skipped)})
        doc.update(self.details)
        doc.update({"violations": len(self.violations), "violations_by_check": self.violations_by_check,
                    "spark_master": self.spark_master, "seconds": round(self.seconds, 3), "files": dict(self.files),
                    "message": self.message})
        if self.no_data_reason:
            doc["no_data_reason"] = self.no_data_reason
        if self.failure_reason:
            doc["failure_reason"] = self.failure_reason
        return doc

    COMMON = ("job", "monitor", "phase", "status", "run_id", "endpoint", "schedule", "scheduled_time", "window",
              "files_read", "records",
              "records_rejected", "records_skipped", "violations", "violations_by_check", "spark_master", "seconds",
              "files", "message", "no_data_reason", "failure_reason")

    @classmethod
    def from_summary(cls, doc: dict[str, Any], folder: str = "") -> RunOutcome:
        """The outcome a ``run_summary.json`` describes (violations and artifacts are read by the monitor)."""
        window = doc.get("window") or {}

        def when(key: str, where: dict = window) -> datetime | None:
            try:
                return parse_time(where.get(key), key)
            except Exception:  # a hand-edited summary: show the run without its window
                return None

        counts = lambda key: {str(k): int(v) for k, v in (doc.get(key) or {}).items()}  # noqa: E731
        return cls(monitor=str(doc.get("monitor") or ""), phase=str(doc.get("phase") or ""),
                   job=str(doc.get("job") or ""), status=str(doc.get("status") or COMPLETED),
                   message=str(doc.get("message") or ""), start_time=when("start_time"), end_time=when("end_time"),
                   scheduled_time=when("scheduled_time", doc),
                   endpoint=doc.get("endpoint"), schedule=doc.get("schedule"),
                   files_read=int(doc.get("files_read") or 0), records=int(doc.get("records") or 0),
                   rejected=counts("records_rejected"), skipped=counts("records_skipped"),
                   files=dict(doc.get("files") or {}), seconds=float(doc.get("seconds") or 0.0),
                   spark_master=str(doc.get("spark_master") or ""), output_path=folder,
                   details={k: v for k, v in doc.items() if k not in cls.COMMON},
                   no_data_reason=str(doc.get("no_data_reason") or ""),
                   failure_reason=str(doc.get("failure_reason") or ""), run_id=str(doc.get("run_id") or ""))


@dataclass
class RunContext:
    """What a phase's ``run`` gets besides its parameters."""

    out: str  # the local output folder (an s3:// output is staged here and uploaded afterwards)
    spark_factory: Callable[[], Any]  # the SparkSession, started on first use
    public: Callable[[str], str] = lambda path: path  # where a file written under ``out`` ends up
    # run another phase into a subfolder of this output (same Spark session, same staging): set by the runner
    run_nested: Callable[..., RunOutcome] | None = None
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # one per run (a nested phase shares it)
    # what the phase's ``precompute`` made for this run in a job shared with other windows (a backfill); None:
    # the run reads its data itself
    precomputed: Any = None
    _spark: Any = None

    @property
    def spark(self):
        if self._spark is None:
            self._spark = self.spark_factory()
        return self._spark

    @property
    def spark_master(self) -> str:
        """The master of the session the run used ("" when it never started one)."""
        return self._spark.sparkContext.master if self._spark is not None else ""

    def path(self, name: str) -> str:
        return os.path.join(self.out, name)


@dataclass(frozen=True)
class Trend:
    """One chart per series (feature, metric) on the history page: a value of ``Monitor.history_values`` over
    the runs, its threshold as a dashed line, red dots where the run violated ``check`` (None: any check)."""

    value: str  # key of the series' values, e.g. drift_distance
    threshold: str | None  # key of its threshold
    check: str | None  # the violation check type that marks a run red (None: any violation of the series)
    caption: str
    percent: bool = False
    rank: bool = False  # series are ordered by their worst value / threshold of this trend


@dataclass(frozen=True)
class Phase:
    """One phase of a monitor: what ``model-monitor <command> --type <monitor>`` runs."""

    name: str  # baseline | monitoring | merge | …
    command: str  # the CLI command that runs it: baseline | monitor | merge
    params: type  # the parameter dataclass (fields declared with monitor_lib.params.param)
    run: Callable[[Any, RunContext], RunOutcome]
    job: str  # run_summary.json "job"
    title: str  # "Data-quality baseline"
    help: str = ""
    files: tuple[str, ...] = ()  # names of the SageMaker files it may write: stale ones are removed
    summary_file: str = "run_summary.json"
    report: bool = True  # draws report.html
    processing_input: tuple[str, str] = ("input_data", "/opt/ml/processing/input_data")  # SageMaker dataset input
    validate: Callable[[Any], None] | None = None  # phase-specific rules on the parameters (ConfigError)
    # SageMaker environment entries ``submit --target sagemaker`` sets unless given (as the SDK does)
    environment_defaults: dict[str, str] = field(default_factory=lambda: {"publish_cloudwatch_metrics": "Disabled"})
    # many windows in one Spark job (``model-monitor backfill``): ``precompute(spark, [params, …])`` reads the
    # data of every window once and returns one object per params (same order), each handed to ``run`` as
    # ``RunContext.precomputed`` so that N runs write exactly what N separate runs would. None: a backfill runs
    # the windows one after the other.
    precompute: Callable[[Any, list[Any]], list[Any]] | None = None


class Monitor:
    """Subclass it and register an instance (built-in: monitor_lib.monitors.registry; others: the
    ``model_monitor.monitors`` entry-point group)."""

    name: str = ""  # --type name, e.g. data-quality
    analysis_type: str = ""  # SageMaker's analysis_type, e.g. DATA_QUALITY
    title: str = ""  # "data quality"
    phases: tuple[Phase, ...] = ()
    history_trends: tuple[Trend, ...] = ()  # the history page's charts per series
    history_cards: bool = True  # a card per series with its charts (else one grid of charts)
    # the last part of the CloudWatch namespace SageMaker publishes this monitor's metrics to (data-metrics, ...);
    # "" means ``<name>-metrics``
    cloudwatch_metric_group: str = ""

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def phase_for_command(self, command: str) -> Phase | None:
        return next((p for p in self.phases if p.command == command), None)

    def environment_phase(self, params: dict[str, str], explicit: bool) -> str | None:
        """The phase a SageMaker environment asks for. ``explicit``: its ``analysis_type`` names this monitor;
        otherwise return a phase only when the environment is unmistakably this monitor's (else None).
        Default: monitoring with ``baseline_constraints``, a baseline without."""
        if not explicit:
            return None
        return "monitoring" if params.get("baseline_constraints") else "baseline"

    def container_params(self, root: str) -> dict[str, str]:
        """Parameters the container layout under the ``/opt/ml`` root implies for this monitor (``analyze`` adds
        them unless the environment gives them; only when ``analysis_type`` is unset or this monitor's).
        Default: none."""
        return {}

    # ---------------------------------------------------------------- presentation

    def summary_lines(self, outcome: RunOutcome) -> list[str]:
        """The terminal summary after the message line."""
        return []

    def report_sections(self, outcome: RunOutcome) -> list[str]:
        """HTML sections of ``report.html`` after the overview (monitor_lib.html.page helpers)."""
        return []

    def load_artifacts(self, outcome: RunOutcome, folder: str) -> list[str]:
        """Rebuild ``outcome.violations`` and ``outcome.artifacts`` from a run folder (for
        ``model-monitor report``); return notes on what could not be read."""
        return []

    def cloudwatch_metrics(self, outcome: RunOutcome, params: Any) -> list[dict] | None:
        """PutMetricData-shaped metric data of the run (monitor_lib.sinks.cloudwatch helpers), or None when the
        phase publishes none (a baseline)."""
        return None

    def cloudwatch_namespace(self, endpoint: str | None) -> str:
        """The namespace PutMetricData publishes to by default: the spelling of AWS's own notebooks,
        ``aws/sagemaker/Endpoints/<group>`` for an endpoint's schedule, ``aws/sagemaker/ModelMonitoring/<group>``
        for a batch-transform (or any endpoint-less) schedule."""
        group = self.cloudwatch_metric_group or f"{self.name}-metrics"
        return f"aws/sagemaker/{'Endpoints' if endpoint else 'ModelMonitoring'}/{group}"

    def alarm_plan(self, baseline: Any, source: str, endpoint: str | None, schedule: str | None) -> Any:
        """The CloudWatch alarms (a :class:`monitor_lib.alarms.AlarmPlan`) that ``model-monitor alarms create``
        makes from this monitor's baseline constraints ``baseline`` (parsed JSON, read from ``source``), on
        the metrics :meth:`cloudwatch_metrics` publishes. Default: none can be made (a ConfigError)."""
        from monitor_lib.alarms import not_alarmable

        raise not_alarmable(self.name, "this monitor type defines no alarms")

    def history_values(self, outcome: RunOutcome) -> dict[str, dict]:
        """Per series (a feature, a metric): ``{"value": …, "threshold": …}`` or several named values, for the
        history page. Default: none."""
        return {}

    def history_series(self, violation: Violation) -> str:
        """The history series (a key of :meth:`history_values`) a violation marks. Default: its feature, else its
        metric."""
        return violation.feature_name or violation.metric_name or ""

    def claims_folder(self, statistics: dict, violations: list[Violation]) -> bool:
        """A run folder without ``run_summary.json`` (the real container's): is it this monitor's?"""
        return False

    def __repr__(self) -> str:
        return f"<monitor {self.name} ({self.analysis_type})>"
