"""Interchange writer: typed documents → one ISA/IEA interchange, one GS/GE group per functional ID.

The ISA is always fixed width (IDs padded to 15, 9-digit control number) in the partner's delimiters, and the
writer refuses values that contain a delimiter rather than emit an interchange the partner cannot read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import cast

from mlconnector.x12.documents import ControlNumbers, Document, EnvelopeParties
from mlconnector.x12.mapping import Segment, functional_id, to_segments

GroupSpec = tuple[str, str, str, str, list[tuple[str, list[Segment]]]]


class WriterError(ValueError):
    """The document or envelope cannot be written as valid X12 (message says which value and why)."""


def write_interchange(
    documents: Sequence[Document],
    parties: EnvelopeParties,
    control_numbers: ControlNumbers,
    *,
    when: datetime | None = None,
) -> str:
    """One interchange holding `documents`: a group per functional ID (in first-seen order), ST02 0001, 0002 …"""
    if not documents:
        raise WriterError("nothing to write: no documents")
    gs08 = "005010" if parties.version >= "00501" else "004010"
    by_group: dict[str, list[tuple[str, list[Segment]]]] = {}
    for document in documents:
        set_id, segments = to_segments(document, version=gs08)
        by_group.setdefault(functional_id(set_id), []).append((set_id, segments))
    sender = parties.application_sender or parties.sender_id
    receiver = parties.application_receiver or parties.receiver_id
    groups: list[GroupSpec] = [(fid, sender, receiver, gs08, sets) for fid, sets in by_group.items()]
    return render_interchange(groups, parties, control_numbers, when=when)


def _check_delimiters(parties: EnvelopeParties) -> None:
    d = parties.delimiters
    chars = [d.element, d.component, d.segment] + ([d.repetition] if parties.version >= "00403" else [])
    if any(len(c) != 1 or c.isalnum() or c == " " for c in chars) or len(set(chars)) != len(chars):
        raise WriterError(f"delimiters {chars!r} must be distinct single non-alphanumeric characters")


def _isa_id(value: str, what: str) -> str:
    if not value or len(value) > 15:
        raise WriterError(f"{what} {value!r} must be 1 to 15 characters")
    return value.ljust(15)


def render_interchange(
    groups: Sequence[GroupSpec],
    parties: EnvelopeParties,
    control_numbers: ControlNumbers,
    *,
    when: datetime | None = None,
    scrub: bool = False,
    leading: Sequence[Segment] = (),
) -> str:
    """Render already-mapped sets as an interchange (used by the writer and the 997 generator).

    `leading` segments (TA1s) go right after the ISA.
    `scrub` drops delimiter and control characters from values instead of refusing them: a 997 echoes the
    partner's own (possibly broken) control numbers and IDs and must still be sendable.
    """
    _check_delimiters(parties)
    d = parties.delimiters
    moment = when or datetime.now(timezone.utc)  # noqa: UP017 - explicit for readers on 3.11
    isa13 = control_numbers.next_interchange()
    if not 0 < isa13 <= 999_999_999:
        raise WriterError(f"interchange control number {isa13} must be 1 … 999999999")
    if len(parties.sender_qualifier) != 2 or len(parties.receiver_qualifier) != 2:
        raise WriterError("ISA05/ISA07 ID qualifiers must be 2 characters (ZZ, 01, 08, 12 …)")
    if len(parties.version) != 5 or not parties.version.isdigit():
        raise WriterError(f"ISA12 version {parties.version!r} must be 5 digits (00401, 00501)")
    banned = {d.element, d.segment, d.component} | ({d.repetition} if parties.version >= "00403" else set())
    end = d.segment + d.segment_suffix
    isa = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        parties.sender_qualifier,
        _isa_id(parties.sender_id, "sender ID"),
        parties.receiver_qualifier,
        _isa_id(parties.receiver_id, "receiver ID"),
        moment.strftime("%y%m%d"),
        moment.strftime("%H%M"),
        d.repetition if parties.version >= "00403" else "U",
        parties.version,
        f"{isa13:09d}",
        "1" if parties.ack_requested else "0",
        parties.usage,
        d.component,
    ]
    for position, value in enumerate(isa[1:16], 1):
        if position == 11:  # ISA11 is the repetition separator itself from 00403 on
            continue
        for ch in banned:
            if ch in value:
                raise WriterError(f"ISA value {value!r} contains the delimiter {ch!r}")
    out = [d.element.join(isa) + end]
    for segment in leading:  # TA1s sit between the ISA and the first GS
        out.append(_render(segment, d.element, d.component, banned, scrub) + end)
    for fid, sender, receiver, gs08, sets in groups:
        for what, value in (("GS02 application sender", sender), ("GS03 application receiver", receiver)):
            if not 2 <= len(value) <= 15 and not scrub:
                raise WriterError(f"{what} {value!r} must be 2 to 15 characters")
        gs06 = control_numbers.next_group()
        if not 0 < gs06 <= 999_999_999:
            raise WriterError(f"group control number {gs06} must be 1 … 999999999")
        gs: Segment = [
            "GS",
            fid,
            sender,
            receiver,
            moment.strftime("%Y%m%d"),
            moment.strftime("%H%M"),
            str(gs06),
            "X",
            gs08,
        ]
        out.append(_render(gs, d.element, d.component, banned, scrub) + end)
        for number, (set_id, segments) in enumerate(sets, 1):
            control = f"{number:04d}"
            out.append(_render(["ST", set_id, control], d.element, d.component, banned, scrub) + end)
            for segment in segments:
                out.append(_render(segment, d.element, d.component, banned, scrub) + end)
            out.append(_render(["SE", str(len(segments) + 2), control], d.element, d.component, banned) + end)
        out.append(_render(["GE", str(len(sets)), str(gs06)], d.element, d.component, banned, scrub) + end)
    out.append(_render(["IEA", str(len(groups)), f"{isa13:09d}"], d.element, d.component, banned, scrub) + end)
    return "".join(out)


def _render(segment: Segment, element: str, component: str, banned: set[str], scrub: bool = False) -> str:
    values: list[str] = []
    tag = cast(str, segment[0])  # a segment ID is always a plain string; only later elements may be composites
    for position, value in enumerate(segment):
        if isinstance(value, tuple):
            parts = [_clean(tag, position, v, banned, scrub) for v in value]
            while parts and not parts[-1]:
                parts.pop()
            values.append(component.join(parts))
        elif tag == "AK4" and position == 4:
            # A copy of bad data may itself hold delimiters or control characters; those are dropped.
            values.append("".join(ch for ch in value or "" if ch not in banned and ch.isprintable()))
        else:
            values.append(_clean(tag, position, value, banned, scrub))
    while len(values) > 1 and not values[-1]:
        values.pop()
    return element.join(values)


def _clean(tag: str, position: int, value: str | None, banned: set[str], scrub: bool = False) -> str:
    if value is None:
        return ""
    if scrub:
        return "".join(ch for ch in value if ch not in banned and ch.isprintable())
    for ch in value:
        if ch in banned:
            raise WriterError(f"{tag}{position:02d} value {value!r} contains the delimiter {ch!r}")
        if not ch.isprintable():
            raise WriterError(f"{tag}{position:02d} value {value!r} contains a control character")
    return value
