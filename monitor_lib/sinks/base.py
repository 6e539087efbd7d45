"""The sink interface: a named writer of a run's outcome, enabled by the run's parameters.

A sink's ``write`` runs once the phase has an outcome (stage ``output``: into the run folder before it is
published; ``published``: after). Sinks that follow a run from its start (lineage) also give ``start`` (before the
phase runs; ``ctx.outcome`` is None) and ``fail`` (the phase raised; the run folder will not be published). A
sink's ``check`` runs before anything else of the run starts (Spark included): settings that can only be read
where the run executes (a secret in the environment) raise a ConfigError there, naming the variable.

A ``best_effort`` sink (CloudWatch PutMetricData, notifications, lineage) never fails the run: an exception it
raises is logged as one line and recorded with :func:`record_delivery` under its name, and the run goes on.
Channels record what they did the same way: ``run_summary.json`` ``deliveries`` maps each channel to
``{"status": "sent" | "failed" | "skipped", …}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OUTPUT, PUBLISHED = "output", "published"


@dataclass
class SinkContext:
    """What a sink gets: the monitor, phase and parameters of the run, its outcome, where to write."""

    monitor: Any  # Monitor
    phase: Any  # Phase
    params: Any
    outcome: Any  # RunOutcome (None in a sink's ``start`` and ``fail``)
    out: str  # the local output folder (staged for s3://)
    public: Callable[[str], str]  # where a file written under ``out`` ends up
    analyzer_root: str | None = None  # the /opt/ml root when running as the SageMaker container
    run_id: str = ""  # this run's UUID (the same in start, write and fail)


@dataclass(frozen=True)
class Sink:
    name: str
    write: Callable[[SinkContext], None]
    enabled: Callable[[SinkContext], bool] = lambda ctx: True
    stage: str = OUTPUT
    check: Callable[[SinkContext], None] | None = None  # before the phase runs: a ConfigError stops the run
    start: Callable[[SinkContext], None] | None = None  # before the phase runs
    fail: Callable[[SinkContext, BaseException], None] | None = None  # the phase raised (best effort)
    best_effort: bool = False  # an exception is recorded in the run summary, never fails the run


SENT, FAILED, SKIPPED = "sent", "failed", "skipped"


def record_delivery(ctx: SinkContext, channel: str, status: str, **info: Any) -> None:
    """What a channel did for this run, in ``run_summary.json`` ``deliveries.<channel>`` (never a secret)."""
    if ctx.outcome is not None:
        ctx.outcome.details.setdefault("deliveries", {})[channel] = {"status": status, **info}
