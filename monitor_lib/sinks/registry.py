"""Registered outputs of a run. Each sink is enabled by the run's parameters and writes from the
:class:`~monitor_lib.monitors.base.RunOutcome`; the runner calls them in order:

==================  ===========  ==================================================================
sink                stage        enabled
==================  ===========  ==================================================================
sagemaker-files     output       always: the phase's documents (statistics, constraints, violations,
                                 profile), stale ones of an earlier run into the same folder removed
rejected-sample     output       always: rejected_records_sample.jsonl when records were rejected
cloudwatch          output       ``publish_cloudwatch_metrics``: cloudwatch_metrics.jsonl
html-report         output       ``html_report`` (default Enabled) and the phase draws one
run-summary         output       always: run_summary.json (the merge phase: _merge_summary.json)
exit-message        published    in the SageMaker container (``analyze``): /opt/ml/output/message
==================  ===========  ==================================================================

``output`` sinks write into the run's output folder before it is published (an ``s3://`` output is staged
locally and uploaded once the block ends, the summary and report last); ``published`` sinks run after that.
Other packages add sinks through the ``model_monitor.sinks`` entry-point group (a :class:`Sink` instance).
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from monitor_lib.errors import ConfigError
from monitor_lib.sinks.base import (  # noqa: F401  (the sinks' interface)
    FAILED,
    OUTPUT,
    PUBLISHED,
    SENT,
    SKIPPED,
    Sink,
    SinkContext,
    record_delivery,
)

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "model_monitor.sinks"


def _builtin() -> list[Sink]:
    from monitor_lib.sinks import cloudwatch_api, lineage, notify
    from monitor_lib.sinks.cloudwatch import SINK as cloudwatch
    from monitor_lib.sinks.files import REJECTED_SAMPLE_SINK, SAGEMAKER_FILES_SINK, SUMMARY_SINK
    from monitor_lib.sinks.message import SINK as exit_message
    from monitor_lib.sinks.report.run import SINK as report

    return [SAGEMAKER_FILES_SINK, REJECTED_SAMPLE_SINK, cloudwatch, report, *cloudwatch_api.SINKS, *notify.SINKS,
            *lineage.SINKS, SUMMARY_SINK, exit_message]


_sinks: list[Sink] | None = None  # loaded once per process: a cache of what is installed


def sinks() -> list[Sink]:
    """Every registered sink, in the order they run: the built-in ones, then the entry points by name."""
    global _sinks
    if _sinks is None:
        found = _builtin()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                sink = ep.load()
            except Exception as e:
                raise ConfigError(f"entry point {ep.name} = {ep.value} ({ENTRY_POINT_GROUP}) cannot be loaded: "
                                  f"{type(e).__name__}: {e}") from None
            if not isinstance(sink, Sink):
                raise ConfigError(f"entry point {ep.name} = {ep.value} ({ENTRY_POINT_GROUP}) is not a "
                                  "monitor_lib.sinks.registry.Sink")
            found.append(sink)
        _sinks = found
    return list(_sinks)


def write(ctx: SinkContext, stage: str) -> None:
    for sink in sinks():
        if sink.stage == stage and sink.enabled(ctx):
            if sink.best_effort:
                _guarded(sink, ctx, sink.write, ctx)
            else:
                sink.write(ctx)


def started(ctx: SinkContext) -> None:
    """Every sink's ``check`` (a ConfigError stops the run before its phase), then the ``start`` of every enabled
    sink that has one (never fails the run)."""
    for sink in sinks():
        if sink.check is not None:
            sink.check(ctx)
    for sink in sinks():
        if sink.start is not None and sink.enabled(ctx):
            _guarded(sink, ctx, sink.start, ctx)


def failed(ctx: SinkContext, error: BaseException) -> None:
    """The ``fail`` of every enabled sink that has one: the phase raised ``error`` (never raises itself)."""
    for sink in sinks():
        if sink.fail is not None:
            try:
                if sink.enabled(ctx):
                    sink.fail(ctx, error)
            except Exception as e:  # the run's own error is the one to show
                log.warning("sink %s: %s", sink.name, _one_line(e))


def _guarded(sink: Sink, ctx: SinkContext, call, *args) -> None:
    try:
        call(*args)
    except Exception as e:
        log.warning("sink %s failed, the run goes on: %s", sink.name, _one_line(e))
        record_delivery(ctx, sink.name, FAILED, error=_one_line(e))


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())}"[:500]
