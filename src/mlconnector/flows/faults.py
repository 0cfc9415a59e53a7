"""Named crash points for the kill -9 tests. Business code never reads the environment: it calls the fault hook it
was given (`FaultHook`, `no_fault` by default), like the gateway's `fault_hook`. The commands wire `point` in, so
`MLC_FAULT_AT=<name>` makes the process SIGKILL itself there.

Each point sits where a crash is most dangerous (after control numbers are allocated, after the POST to Cleo
before it is recorded, in the middle of a batch). Unset — the only state in production — it does nothing.
`MLC_FAULT_AFTER=N` lets the first N passes through the point go by, to crash mid-batch.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

FaultHook = Callable[[str], None]
"""Called with the name of each crash point the code passes."""

_passes: dict[str, int] = {}


def no_fault(name: str) -> None:
    """The hook of production code and of tests that crash nothing: every point goes by."""


def point(name: str) -> None:
    """The environment-driven hook the commands inject (`MLC_FAULT_AT`, `MLC_FAULT_AFTER`)."""
    if os.environ.get("MLC_FAULT_AT") != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] > int(os.environ.get("MLC_FAULT_AFTER", "0")):
        os.kill(os.getpid(), signal.SIGKILL)
