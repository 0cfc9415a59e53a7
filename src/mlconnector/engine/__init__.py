"""Jobs and their schedules, without the engine: the flows declare jobs here and never import DBOS.

The engine itself (`mlconnector.engine.runtime`) is the only code that imports DBOS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Job:
    """A scheduled piece of work: `collect` finds the items, `handle` does one (None: collecting is the work), and
    `finish` runs once after every item of a run is done (e.g. one register update for all of them)."""

    name: str
    every_seconds: int
    collect: Callable[[], Sequence[str]]
    handle: Callable[[str], str] | None = None
    finish: Callable[[], object] | None = None


def cron_every(seconds: int) -> str:
    """A six-field cron (seconds first) that fires every `seconds`; intervals must divide their unit evenly."""
    if seconds <= 0:
        raise ValueError("a schedule interval must be positive")
    if seconds < 60 and 60 % seconds == 0:
        return f"*/{seconds} * * * * *"
    if seconds % 60 == 0 and seconds < 3600 and 60 % (seconds // 60) == 0:
        return f"0 */{seconds // 60} * * * *"
    if seconds % 3600 == 0 and seconds < 86400 and 24 % (seconds // 3600) == 0:
        return f"0 0 */{seconds // 3600} * * *"
    if seconds == 86400:
        return "0 0 0 * * *"
    raise ValueError(
        f"a schedule of {seconds} s does not divide a minute, hour or day evenly; use e.g. 5, 30, 300, 900 or 14400"
    )


def next_run(seconds: int, after: datetime) -> datetime:
    """When a job on this interval fires next: what the scheduler's cron (`cron_every`) gives.

    Every valid interval divides a day, so its cron fires on the multiples of `seconds` since midnight; for UTC (or
    naive) times that is plain arithmetic, which spares `status` importing croniter. Other zones (DST days are not
    86,400 s long) ask croniter itself; tests/engine check the two agree."""
    cron = cron_every(seconds)
    offset = after.utcoffset()
    if offset is not None and offset != timedelta(0):
        from croniter import croniter

        return croniter(cron, after, second_at_beginning=True).get_next(datetime)
    midnight = after.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (after - midnight) // timedelta(seconds=1)  # whole seconds: a fraction does not reach the next tick
    return midnight + timedelta(seconds=(elapsed // seconds + 1) * seconds)
