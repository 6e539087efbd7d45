"""The termination message SageMaker shows as ``ExitMessage`` (spec §3.5): ``<opt/ml root>/output/message``."""

from __future__ import annotations

import os

from monitor_lib import filenames
from monitor_lib.sinks.base import PUBLISHED, Sink


def write_message(root: str, text: str, overwrite: bool = True) -> str:
    """Write ``<root>/output/message``. Like the real image, a failure never overwrites a message that
    is already there (``overwrite=False``)."""
    path = os.path.join(root, filenames.EXIT_MESSAGE)
    if not overwrite and os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


SINK = Sink("exit-message", lambda ctx: write_message(ctx.analyzer_root, ctx.outcome.message),
            enabled=lambda ctx: ctx.analyzer_root is not None, stage=PUBLISHED)
