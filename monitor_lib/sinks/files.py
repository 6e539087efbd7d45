"""The file sinks of a run's output folder: the SageMaker files of the phase, the rejected-records sample and
``run_summary.json``. They are written into the run's staging folder (``storage.output_location(run=True)``),
which is published whole: re-running into the same folder replaces the previous run's files and removes the
ones this run did not write (a window with no data leaves no stale statistics behind)."""

from __future__ import annotations

import json
import os

from monitor_lib import filenames
from monitor_lib.formats.jsonfmt import write_json_atomic
from monitor_lib.io.storage import pause_for_tests
from monitor_lib.sinks.base import Sink, SinkContext


def remove_stale(out: str, names) -> None:
    for name in names:
        path = os.path.join(out, name)
        if os.path.exists(path):
            os.remove(path)


def _sagemaker_files(ctx: SinkContext) -> None:
    outcome, written = ctx.outcome, set()
    for doc in outcome.documents:
        path = os.path.join(ctx.out, doc.name)
        doc.write(path)
        outcome.files[doc.key] = ctx.public(path)
        written.add(doc.name)
    remove_stale(ctx.out, [n for n in ctx.phase.files if n not in written])
    pause_for_tests("written")  # a test hook: the run's SageMaker files written, its summary not yet


def _rejected_sample(ctx: SinkContext) -> None:
    path = os.path.join(ctx.out, filenames.REJECTED_SAMPLE)
    sample = ctx.outcome.rejected_sample
    if sample:
        write_json_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample))
        ctx.outcome.files["rejected_sample"] = ctx.public(path)
    else:
        remove_stale(ctx.out, (filenames.REJECTED_SAMPLE,))


def _summary(ctx: SinkContext) -> None:
    path = os.path.join(ctx.out, ctx.phase.summary_file)
    ctx.outcome.files["summary"] = ctx.public(path)
    write_json_atomic(path, json.dumps(ctx.outcome.summary(), indent=2, ensure_ascii=False) + "\n")


SAGEMAKER_FILES_SINK = Sink("sagemaker-files", _sagemaker_files)
REJECTED_SAMPLE_SINK = Sink("rejected-sample", _rejected_sample)
SUMMARY_SINK = Sink("run-summary", _summary)
