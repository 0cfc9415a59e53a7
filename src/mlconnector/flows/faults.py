"""Named crash points for the kill -9 tests: `MLC_FAULT_AT=<name>` makes the process SIGKILL itself there.

Each point sits where a crash is most dangerous (after control numbers are allocated, after the POST to Cleo
before it is recorded, in the middle of a batch). Unset — the only state in production — it does nothing.
`MLC_FAULT_AFTER=N` lets the first N passes through the point go by, to crash mid-batch.
"""

from __future__ import annotations

import os
import signal

_passes: dict[str, int] = {}


def point(name: str) -> None:
    if os.environ.get("MLC_FAULT_AT") != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] > int(os.environ.get("MLC_FAULT_AFTER", "0")):
        os.kill(os.getpid(), signal.SIGKILL)
