"""Follow a remote run (an EMR step, a SageMaker Processing job) until it ends: one polling loop for both."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection


def poll_until_final(describe: Callable[[], dict], state_of: Callable[[dict], str], final: Collection[str],
                     label: str, *, poll_seconds: float, timeout_seconds: float | None,
                     sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                     log: Callable[[str], None] | None = None) -> dict:
    """Call ``describe`` until ``state_of`` its answer is in ``final`` (or the timeout); log each state change
    as ``<label>: <STATE> (<s> s)``. Returns the last answer."""
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    start, last = clock(), None
    while True:
        answer = describe()
        state = state_of(answer)
        if state != last:
            log(f"{label}: {state} ({clock() - start:.0f} s)")
            last = state
        if state in final or (timeout_seconds is not None and clock() - start >= timeout_seconds):
            return answer
        sleep(poll_seconds)
