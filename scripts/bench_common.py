"""What the benchmark scripts share: the load average and the source state they record with their numbers.

Imported as ``from bench_common import load, source_state`` (a script run as ``python scripts/<name>.py`` has
``scripts/`` first on its path).
"""

from __future__ import annotations

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load() -> str:
    """``load average 1.23 1.10 0.98`` (1, 5 and 15 minutes)."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def source_state() -> str:
    """The commit measured, and whether monitor_lib differs from it (others may be editing it)."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "monitor_lib"],
                               capture_output=True, text=True, timeout=30).stdout.split("\n")
    except OSError:
        return "unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"commit {head}" + (f", monitor_lib with uncommitted changes in {', '.join(changed)}" if changed else "")
