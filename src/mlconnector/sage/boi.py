"""The BOI surface shared by the simulator and the COM backend: ByRef holders, SEP, return codes, call counts.

The gateway is written only against this surface, so it cannot tell the simulator from ProvideX.Script over COM.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

SEP = "\u0160"
"""ProvideX SEP (0x8A); over COM it arrives as U+0160 'Š' (reference §2)."""

FIELD_SEP = "\u00a6"
"""Our own field delimiter inside one `nGetResultSets` record ('¦'); ProvideX itself joins records with SEP."""

RET_FAIL = 0
RET_OK = 1
RET_NEW = 2
RET_WARNING = -1


@dataclass
class ByRef:
    """An out-parameter holder: BOI methods write the result into `.value`, as a pywin32 VARIANT ByRef does."""

    value: Any = ""


@dataclass
class CallCounter:
    """Counts every BOI call per (object, method); thread-safe because the agent's sessions run on their own threads."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hit(self, obj: str, method: str) -> None:
        with self._lock:
            self.counts[(obj, method)] += 1

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def snapshot(self) -> dict[str, int]:
        """`{"Object.method": n}`, easy to print and to diff."""
        with self._lock:
            return {f"{o}.{m}": n for (o, m), n in sorted(self.counts.items())}

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()


class BoiBackend(Protocol):
    """What the gateway and the agent need from a backend (simulator or COM)."""

    name: str
    counter: CallCounter

    def create_script(self) -> Any:
        """A fresh `ProvideX.Script` object (not yet `Init`-ed)."""
        ...

    def home(self) -> str:
        """The MAS90\\Home path passed to `Init`."""
        ...

    def thread_init(self) -> None:
        """Run once on each worker thread before BOI calls (CoInitialize on Windows)."""
        ...
