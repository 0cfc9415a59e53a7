"""The change cursor: overlap, then de-duplicate by key + content hash (pure, so tests can reason about it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mlconnector.sage.models import ChangeCursor


def stamp_hours(date: str, time: str) -> float:
    """Sage date + decimal-hours time as hours since year 1, for comparisons and the overlap window."""
    if not date:
        return 0.0
    return datetime.strptime(date, "%Y%m%d").toordinal() * 24.0 + float(time or 0)


def merge_poll(
    keyed: list[tuple[str, str, str]],
    since: ChangeCursor | None,
    limit: int | None,
    fetch: Callable[[list[str]], dict[str, Any]],
    overlap_hours: float,
) -> tuple[list[Any], ChangeCursor]:
    """Merge one poll's (key, DateUpdated$, TimeUpdated$) list into the cursor and fetch what really changed.

    Everything stamped at or after the high-water mark minus the overlap window is read, and dropped again when its
    content hash equals the one already delivered. So records sharing one stamp, a record rewritten within the same
    tick, and a write stamped earlier but committed after the last poll are never lost, and none is delivered twice.
    The price: records changed within the window are re-read (not re-delivered) by the next poll.
    With `limit`, a pass is read in pages of at most `limit` records (even inside one shared stamp); the cursor's
    `pass_read` says what the pass has read so far.
    """
    since = since or ChangeCursor()
    hw = stamp_hours(since.date, since.time)
    low = hw - overlap_hours if since.date else float("-inf")
    candidates = []
    for key, d, t in keyed:
        s = stamp_hours(d, t)
        if s < low:
            continue
        candidates.append((s, key, d, t))
    candidates.sort()
    read_this_pass = set(since.pass_read)
    if read_this_pass:
        # Part-way through a paged pass: skip what this pass already read, unless it has been rewritten since.
        candidates = [
            c
            for c in candidates
            if not (c[1] in read_this_pass and (since.seen.get(c[1]) or "").startswith(f"{c[2]}{c[3]}:"))
        ]
    more = limit is not None and len(candidates) > limit
    if more:
        candidates = candidates[:limit]
    records = fetch([c[1] for c in candidates]) if candidates else {}
    items, seen = [], dict(since.seen)
    new_hw, new_date, new_time = hw, since.date, since.time
    for s, key, d, t in candidates:
        rec = records.get(key)
        if rec is None:
            continue  # deleted between the two reads
        h = rec.content_hash()
        if (since.seen.get(key) or ":").split(":")[1] != h:
            items.append(rec)
        seen[key] = f"{d}{t}:{h}"
        if s > new_hw:
            new_hw, new_date, new_time = s, d, t
    window = new_hw - overlap_hours
    keep = {k: v for k, v in seen.items() if _seen_hours(v) >= window}
    pass_read = sorted(read_this_pass | {c[1] for c in candidates}) if more else []
    return items, ChangeCursor(date=new_date, time=new_time, seen=keep, pass_read=pass_read)


def _seen_hours(entry: str) -> float:
    stamp = entry.split(":")[0]
    return stamp_hours(stamp[:8], stamp[8:])
