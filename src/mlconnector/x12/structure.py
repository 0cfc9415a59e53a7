"""Segment order inside one transaction set: a small state machine over the compiled set structure.

A stack of frames (loop, current entry, per-entry counts) is kept. A segment is looked for from the current entry
onward in the innermost loop, then outward; finding it further up closes the inner loops (and reports their
missing mandatory segments). A loop's trigger segment, found one level up at the entry already current, starts
a new iteration. Nothing is allocated per segment except a frame when a loop starts.
"""

from __future__ import annotations

from mlconnector.x12.report import SEGMENT, X12Error
from mlconnector.x12.schemas import DICTIONARY, STRUCTURE_TAGS, Loop, SetSchema


class _Frame:
    """One open loop: the loop, the entry last landed on, and how often each entry has occurred."""

    __slots__ = ("counts", "loop", "pos")

    def __init__(self, loop: Loop, counts: list[int]) -> None:
        self.loop = loop
        self.pos = 0
        self.counts = counts


class StructureState:
    """Tracks where in the set the last segment landed and reports AK304 structure errors."""

    __slots__ = ("frames", "previous", "schema", "spare")

    def __init__(self, schema: SetSchema) -> None:
        self.schema = schema
        body = schema.body
        self.frames: list[_Frame] = [_Frame(body, [0] * len(body.entries))]
        self.previous = "ST"
        # Closed frames kept for the next iteration of their loop (by the loop's id): a set with 65,000 HL loops
        # then allocates a handful of frames instead of 65,000 (fewer objects for the garbage collector to track).
        self.spare: dict[int, _Frame] = {}

    def step(self, tag: str, position: int) -> list[X12Error] | None:
        """Place `tag`; None when it fits, else the AK3 errors (missing mandatory segments or this one misplaced)."""
        frames = self.frames
        depth = len(frames) - 1
        # Fast path: a plain segment of the innermost loop at or after the current entry, within its repeat
        # limit, skipping no required entry (the usual case); everything else goes through `_land`.
        frame = frames[depth]
        candidates = frame.loop.index.get(tag)
        if candidates is not None:
            pos = frame.pos
            for j in candidates:
                if j >= pos:
                    loop = frame.loop
                    entry = loop.entries[j]
                    counts = frame.counts
                    if entry.loop is None and counts[j] < entry.max_use:
                        if j > pos or counts[pos] == 0:
                            for k in loop.required_from[pos]:
                                if k >= j:
                                    break
                                if counts[k] == 0:
                                    return self._land(depth, j, tag, position)
                        frame.pos = j
                        counts[j] += 1
                        self.previous = tag
                        return None
                    return self._land(depth, j, tag, position)
            depth -= 1
        while depth >= 0:
            frame = frames[depth]
            candidates = frame.loop.index.get(tag)
            if candidates is not None:
                pos = frame.pos
                for j in candidates:
                    if j >= pos:
                        return self._land(depth, j, tag, position)
            depth -= 1
        return [self._misplaced(tag, position)]

    def _land(self, depth: int, j: int, tag: str, position: int) -> list[X12Error] | None:
        frames = self.frames
        errors: list[X12Error] | None = None
        spare = self.spare
        while len(frames) - 1 > depth:
            closed = frames.pop()
            missing = self._close(closed, position)
            if missing:
                errors = (errors or []) + missing
            spare[id(closed.loop)] = closed
        frame = frames[depth]
        loop = frame.loop
        pos = frame.pos
        counts = frame.counts
        if j > pos or counts[pos] == 0:
            for k in loop.required_from[pos]:
                if k >= j:
                    break
                if counts[k] == 0:
                    errors = (errors or []) + [self._missing(loop, k, position)]
        frame.pos = j
        counts[j] += 1
        entry = loop.entries[j]
        self.previous = tag
        if entry.loop is not None:
            if counts[j] > entry.max_use:
                message = (
                    f"{tag} loop (segment {position}): the {tag} loop may repeat at most {entry.max_use} times here"
                )
                errors = (errors or []) + [X12Error(tag, position, None, "4", message, SEGMENT, loop_id=tag)]
            inner = entry.loop
            reused = spare.pop(id(inner), None)
            if reused is None:
                new_counts = [0] * len(inner.entries)
                new_counts[0] = 1
                frames.append(_Frame(inner, new_counts))
            else:
                counts = reused.counts
                counts[:] = inner.fresh_counts
                reused.pos = 0
                frames.append(reused)
        elif counts[j] > entry.max_use:
            message = f"{tag} (segment {position}): {tag} may occur at most {entry.max_use} time(s) here"
            errors = (errors or []) + [
                X12Error(tag, position, None, "5", message, SEGMENT, loop_id=loop.loop_id or None)
            ]
        return errors

    def _close(self, frame: _Frame, position: int) -> list[X12Error]:
        loop = frame.loop
        pos, counts = frame.pos, frame.counts
        return [self._missing(loop, k, position) for k in loop.required if k >= pos and counts[k] == 0]

    def _missing(self, loop: Loop, k: int, position: int) -> X12Error:
        entry = loop.entries[k]
        where = f"in the {loop.loop_id} loop" if loop.loop_id else f"in the {self.schema.set_id}"
        what = f"{entry.tag} loop" if entry.loop else f"{entry.tag} segment"
        message = f"{what} is required {where} but missing (expected before segment {position})"
        return X12Error(entry.tag, position, None, "3", message, SEGMENT, loop_id=loop.loop_id or None)

    def _misplaced(self, tag: str, position: int) -> X12Error:
        loop_id = self.frames[-1].loop.loop_id or None
        set_id = self.schema.set_id
        if tag in self.schema.tags:
            message = f"{tag} (segment {position}): {tag} is out of order here (after {self.previous})"
            code = "7"
        elif tag in DICTIONARY or tag in STRUCTURE_TAGS:
            message = f"{tag} (segment {position}): a {set_id} does not use {tag} segments"
            code = "6"
        else:
            message = f"{tag[:10]!r} (segment {position}): not a known X12 segment ID"
            code = "1"
        return X12Error(tag[:3], position, None, code, message, SEGMENT, loop_id=loop_id)

    def finish(self, position: int) -> list[X12Error]:
        """At SE: every open loop and the set body must have had their mandatory segments."""
        errors: list[X12Error] = []
        while self.frames:
            errors.extend(self._close(self.frames.pop(), position))
        return errors
