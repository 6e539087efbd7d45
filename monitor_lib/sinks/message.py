"""The termination message SageMaker shows as ``ExitMessage`` (spec §3.5)."""

from __future__ import annotations

import os

EXIT_OK = 0
EXIT_FAILED = 255  # what the real analyzer exits with on any exception


def completed_message(n_violations: int) -> str:
    if n_violations:
        return f"CompletedWithViolations: Job completed successfully with {n_violations} violations."
    return "Completed: Job completed successfully with no violations."


def write_message(root: str, text: str, overwrite: bool = True) -> str:
    """Write ``<root>/output/message``. Like the real image, a failure never overwrites a message that
    is already there (``overwrite=False``)."""
    path = os.path.join(root, "output", "message")
    if not overwrite and os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path
