"""The one entry point of every edge: a monitor, a phase, its typed parameters in; a :class:`RunOutcome` (and its
files) out. The CLI, ``analyze``, ``spark-submit`` of ``jobs/model_monitor.py`` and ``submit`` all end here.

A run: check the phase's rules → take the output's lock and open its staging (a local output is staged in a
hidden folder beside it, an ``s3://`` output in a local folder; see ``storage.output_location(run=True)``) → the
phase's ``run`` (the sinks' ``start`` before it, their ``fail`` if it raises) → the ``output`` sinks (SageMaker files,
rejected sample, CloudWatch files, report, PutMetricData, notifications, lineage, run summary) →
publish the run in one step (nothing changes on failure) and release the lock → the user's
``postprocess_handler`` (it reads the published files) → the ``published`` sinks (the container's exit message).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from monitor_lib.errors import UserScriptError
from monitor_lib.monitors.base import Monitor, Phase, RunContext, RunOutcome
from monitor_lib.sinks import registry as sinks

log = logging.getLogger(__name__)


def _spark_factory(monitor: Monitor, phase: Phase, spark):
    if spark is not None:
        return lambda: spark

    def start():
        from monitor_lib.spark import get_spark

        return get_spark(f"model-monitor-{monitor.name}-{phase.name}")

    return start


def run(monitor: Monitor, phase: Phase, params: Any, spark=None, analyzer_root: str | None = None,
        precomputed: Any = None) -> RunOutcome:
    """Run ``phase`` of ``monitor`` with ``params`` (its parameter dataclass); write every enabled sink.
    ``precomputed``: this window's part of ``phase.precompute`` (a backfill), handed to the phase."""
    from monitor_lib.io.storage import output_location
    from monitor_lib.preflight import check_paths

    if phase.validate is not None:
        phase.validate(params)
    check_paths(params)  # every local input and output, before Spark starts
    started = time.monotonic()
    with output_location(params.output_path, getattr(params, "output_kms_key", None), run=True) as out:
        ctx = RunContext(out=str(out), spark_factory=_spark_factory(monitor, phase, spark), public=out.public,
                         precomputed=precomputed)
        ctx.run_nested = lambda m, p, params, sub: run_nested(m, p, params, ctx, sub)
        before = _sink_context(monitor, phase, params, None, ctx, analyzer_root)
        sinks.started(before)
        try:
            outcome = _execute(monitor, phase, params, ctx, started)
        except BaseException as e:
            sinks.failed(before, e)
            raise
    _postprocess(getattr(params, "post_analytics_processor_script", None))  # it reads the published files
    sinks.write(_sink_context(monitor, phase, params, outcome, ctx, analyzer_root), sinks.PUBLISHED)
    return outcome


def run_nested(monitor: Monitor, phase: Phase, params: Any, parent: RunContext, subfolder: str) -> RunOutcome:
    """A phase run by another one into a subfolder of its output (model quality merges before it evaluates):
    same Spark session, same staging, its own files."""
    folder = os.path.join(parent.out, subfolder)
    os.makedirs(folder, exist_ok=True)
    ctx = RunContext(out=folder, spark_factory=lambda: parent.spark, public=parent.public, run_id=parent.run_id)
    ctx.run_nested = lambda m, p, params, sub: run_nested(m, p, params, ctx, sub)
    return _execute(monitor, phase, params, ctx, time.monotonic())


def _sink_context(monitor, phase, params, outcome, ctx: RunContext, analyzer_root: str | None = None):
    return sinks.SinkContext(monitor, phase, params, outcome, ctx.out, ctx.public, analyzer_root, ctx.run_id)


def _execute(monitor: Monitor, phase: Phase, params: Any, ctx: RunContext, started: float) -> RunOutcome:
    outcome = phase.run(params, ctx)
    outcome.output_path = ctx.public(ctx.out)  # where the run is published, not its staging folder
    outcome.spark_master = ctx.spark_master
    outcome.run_id = ctx.run_id
    outcome.seconds = time.monotonic() - started
    sinks.write(_sink_context(monitor, phase, params, outcome, ctx), sinks.OUTPUT)
    log.info("%s %s: outputs in %s", monitor.name, phase.name, ctx.public(ctx.out))
    return outcome


def _postprocess(script: str | None) -> None:
    """The user's ``postprocess_handler()``, after the reports are written."""
    if script:
        from monitor_lib.io.preprocess import run_postprocessor

        try:
            run_postprocessor(script)
        except RuntimeError as e:
            raise UserScriptError(str(e)) from None


def run_job(monitor_type: str, params: Any, phase: str | None = None, spark=None) -> RunOutcome:
    """The library's front door: run a monitor by its ``--type`` name (or SageMaker analysis type) with flat
    parameters (SageMaker names, as in the environment or YAML) or its typed parameter dataclass. ``phase``
    defaults to what the parameters ask for (monitoring with ``baseline_constraints``, else a baseline)."""
    from monitor_lib.monitors.registry import get
    from monitor_lib.params import from_params, to_params

    monitor = get(monitor_type)
    flat = params if isinstance(params, dict) else to_params(params)
    chosen = monitor.phase(phase or monitor.environment_phase(flat, explicit=True))
    if isinstance(params, dict):  # a typo is an error naming it; analysis_type is the monitor's own name
        given = {k: v for k, v in params.items() if k != "analysis_type"}
        typed = from_params(chosen.params, given, "parameters")
    else:
        typed = params
    return run(monitor, chosen, typed, spark)
