"""The types every part of a schedule shares: a window, an execution's status, its record."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from monitor_lib.timefmt import iso_utc, parse_time

# SageMaker's MonitoringExecutionStatus values (ListMonitoringExecutions), plus NoData: a window with no
# capture completes as SageMaker's "Completed" with a no-data message; we keep it apart so that `executions`
# can filter it (it is final, like Completed).
PENDING = "Pending"
IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
COMPLETED_WITH_VIOLATIONS = "CompletedWithViolations"
NO_DATA = "NoData"
FAILED = "Failed"
STOPPED = "Stopped"
STATUSES = (PENDING, IN_PROGRESS, COMPLETED, COMPLETED_WITH_VIOLATIONS, NO_DATA, FAILED, STOPPED)
FINAL = (COMPLETED, COMPLETED_WITH_VIOLATIONS, NO_DATA, FAILED, STOPPED)
DONE = (COMPLETED, COMPLETED_WITH_VIOLATIONS, NO_DATA)  # a window that never runs again (unless --reprocess all)


@dataclass(frozen=True)
class Window:
    """The data a scheduled time analyses: ``[start, end)``, UTC-aware datetimes."""

    scheduled_time: datetime  # the execution's scheduled time (UTC, whole hour)
    start: datetime  # inclusive
    end: datetime  # exclusive

    @property
    def metric_time(self) -> datetime:
        """CloudWatch timestamp of the window's metrics: its start, as SageMaker."""
        return self.start


@dataclass
class ExecutionRecord:
    """One scheduled time's execution: SageMaker's ``MonitoringExecutionSummary`` plus the window, the output
    and our bookkeeping. Serialised with SageMaker's field names (``to_json`` / ``from_json``)."""

    monitoring_schedule_name: str
    scheduled_time: datetime
    monitoring_type: str  # the registered monitor type, e.g. data-quality
    status: str = PENDING  # one of STATUSES
    creation_time: datetime | None = None
    last_modified_time: datetime | None = None
    failure_reason: str = ""
    processing_job_arn: str = ""  # target sagemaker
    emr_step_id: str = ""  # target emr ("<cluster id>/<step id>")
    endpoint_name: str = ""
    window_start: datetime | None = None
    window_end: datetime | None = None
    output_uri: str = ""  # the execution folder (local path or s3:// URI)
    attempts: int = 0  # how many times the window was claimed to run
    owner: str = ""  # who claimed it: "<host>:<pid>:<tick uuid>" (a dead owner's InProgress record is Failed)
    run_id: str = ""  # the run's UUID (run_summary.json) once it ran
    extra: dict[str, Any] = field(default_factory=dict)  # anything else (violations count, message, ...)

    _KEYS = {  # ours -> SageMaker's MonitoringExecutionSummary names (others keep ours)
        "monitoring_schedule_name": "MonitoringScheduleName", "scheduled_time": "ScheduledTime",
        "creation_time": "CreationTime", "last_modified_time": "LastModifiedTime",
        "status": "MonitoringExecutionStatus", "processing_job_arn": "ProcessingJobArn",
        "endpoint_name": "EndpointName", "failure_reason": "FailureReason", "monitoring_type": "MonitoringType",
    }
    _TIMES = ("scheduled_time", "creation_time", "last_modified_time", "window_start", "window_end")

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key in self._TIMES:
                value = iso_utc(value)
            name = self._KEYS.get(key, "".join(part.title() for part in key.split("_")))
            doc[name] = value
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], source: str = "execution record") -> ExecutionRecord:
        back = {v: k for k, v in cls._KEYS.items()}
        values: dict[str, Any] = {}
        for name, value in doc.items():
            key = back.get(name) or "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
            if key not in cls.__dataclass_fields__:
                continue
            if key in cls._TIMES and value is not None:
                value = parse_time(value, f"{source} {name}")
            values[key] = value
        return cls(**values)
