"""What ``submit`` runs: a command (``baseline`` / ``monitor`` / ``merge``, any monitor type) and its flags,
checked here before anything is submitted, turned into the entry script + arguments a cluster runs and the flat
SageMaker parameters a Processing job gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENTRY_SCRIPT = "model_monitor.py"  # jobs/model_monitor.py: `model-monitor` under spark-submit


@dataclass(frozen=True)
class JobSpec:
    job: str  # the command: baseline | monitor | merge
    flags: tuple[str, ...]  # the job flags as given (those of `model-monitor <job>`)
    monitor: Any = field(hash=False)  # Monitor
    phase: Any = field(hash=False)  # Phase
    params: dict = field(hash=False)  # SageMaker parameter names -> values, e.g. dataset_source, output_path
    uses_config_file: bool = False

    @property
    def kind(self) -> str:
        """A short name for job names and messages: data-quality-baseline, model-quality-monitoring, …"""
        return f"{self.monitor.name}-{self.phase.name}"

    @property
    def script(self) -> str:
        """The ``jobs/*.py`` entry script that runs this job."""
        return ENTRY_SCRIPT

    @property
    def script_args(self) -> list[str]:
        """The entry script's arguments: the command, then its flags (``--type`` included as given)."""
        return [self.job, *self.flags]

    @property
    def output_path(self) -> str:
        return str(self.params["output_path"])

    @property
    def environment(self) -> dict[str, Any]:
        """The SageMaker environment of the job: its parameters, the phase's environment defaults, and
        ``analysis_type`` where the environment alone would not select this monitor and phase."""
        from monitor_lib.monitors.registry import for_environment

        env = {**self.phase.environment_defaults, **self.params}
        monitor, phase = for_environment(env)
        if (monitor.name, phase.name) != (self.monitor.name, self.phase.name):
            env["analysis_type"] = self.monitor.analysis_type
        return env


def parse_job(job: str, flags: list[str]) -> JobSpec:
    """Parse and check the job flags exactly as ``model-monitor <job>`` would, without running anything."""
    from monitor_lib.commands import parse_job as parse_command

    if flags and flags[0] == "--":
        flags = flags[1:]
    parsed = parse_command(job, flags)
    return JobSpec(job, tuple(flags), parsed.monitor, parsed.phase, parsed.params,
                   uses_config_file=bool(parsed.config_file))
