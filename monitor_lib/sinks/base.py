"""The sink interface: a named writer of a run's outcome, enabled by the run's parameters."""

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
    outcome: Any  # RunOutcome
    out: str  # the local output folder (staged for s3://)
    public: Callable[[str], str]  # where a file written under ``out`` ends up
    analyzer_root: str | None = None  # the /opt/ml root when running as the SageMaker container


@dataclass(frozen=True)
class Sink:
    name: str
    write: Callable[[SinkContext], None]
    enabled: Callable[[SinkContext], bool] = lambda ctx: True
    stage: str = OUTPUT
