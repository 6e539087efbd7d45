"""What ``submit`` runs: a job (baseline / monitor / merge) and its flags, checked here before anything is
submitted, turned into the entry script + arguments a cluster runs and the flat SageMaker parameters a
Processing job gets."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

from monitor_lib.errors import ConfigError

JOBS = ("baseline", "monitor", "merge")


@dataclass(frozen=True)
class JobSpec:
    job: str  # baseline | monitor | merge
    flags: tuple[str, ...]  # the job flags as given (those of `model-monitor <job>`)
    model_quality: bool
    params: dict = field(hash=False)  # SageMaker parameter names -> values, e.g. dataset_source, output_path
    uses_config_file: bool = False

    @property
    def kind(self) -> str:
        """A short name for job names and messages: data-quality-baseline, model-quality-monitor, merge, …"""
        if self.job == "merge":
            return "ground-truth-merge"
        return f"{'model' if self.model_quality else 'data'}-quality-{self.job}"

    @property
    def script(self) -> str:
        """The ``jobs/*.py`` entry script that runs this job."""
        if self.model_quality or self.job == "merge":
            return "model_quality.py"
        return "baseline.py" if self.job == "baseline" else "data_quality.py"

    @property
    def script_args(self) -> list[str]:
        """The entry script's arguments: the job flags (``model_quality.py`` takes the job first and implies
        ``--analysis-type model-quality``)."""
        if self.script == "model_quality.py":
            return [self.job, *_without_analysis_type(list(self.flags))]
        return list(self.flags)

    @property
    def output_path(self) -> str:
        return str(self.params["output_path"])


def _without_analysis_type(flags: list[str]) -> list[str]:
    out, skip = [], False
    for i, flag in enumerate(flags):
        if skip:
            skip = False
        elif flag == "--analysis-type" and i + 1 < len(flags):
            skip = True
        elif not flag.startswith("--analysis-type="):
            out.append(flag)
    return out


def parse_job(job: str, flags: list[str]) -> JobSpec:
    """Parse and check the job flags exactly as ``model-monitor <job>`` would, without running anything."""
    from monitor_lib import cli
    from monitor_lib.config import (
        baseline_config_from_params,
        merge_config_from_params,
        model_quality_config_from_params,
        monitoring_config_from_params,
    )

    if job not in JOBS:
        raise ConfigError(f"job must be one of {', '.join(JOBS)}, got {job!r}")
    if flags and flags[0] == "--":
        flags = flags[1:]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = cli.build_parser().parse_args([job, *flags])
    except SystemExit as e:
        if e.code in (0, None):
            raise
        text = err.getvalue().strip().splitlines()
        raise ConfigError(f"the flags after `--` are not valid for `model-monitor {job}`: "
                          f"{text[-1] if text else flags}") from None
    source = "submit's job flags"
    model_quality = getattr(args, "analysis_type", None) == "model-quality"
    if job == "merge":
        params = cli.merge_params_from_args(args)
        merge_config_from_params(params, source=source)
    elif model_quality:
        params = cli.model_quality_params_from_args(args, monitoring=job == "monitor")
        model_quality_config_from_params(params, source=source)
    elif job == "baseline":
        cli._reject_model_quality_flags(args)
        params = cli.baseline_params_from_args(args)
        baseline_config_from_params(params, source=source)
    else:
        cli._reject_model_quality_flags(args)
        if args.format == "merged":
            raise ConfigError("--format merged is the model-quality input: add --analysis-type model-quality")
        params = cli.monitoring_params_from_args(args)
        monitoring_config_from_params(params, source=source)
    if job != "merge" and args.analysis_type == "model-quality":
        params["analysis_type"] = "MODEL_QUALITY"
    return JobSpec(job, tuple(flags), model_quality, params, uses_config_file=bool(getattr(args, "config", None)))

