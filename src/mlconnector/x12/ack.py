"""997 functional acknowledgments from a validation report.

Every inbound group except 997 groups is answered: one AK2/AK5 per set (A accepted, E accepted with errors noted,
R rejected), AK3/AK4 for segment and element errors with the codes the validator assigned, and AK9 with A, E, P
(some sets accepted) or R. The answering interchange swaps sender and receiver of the inbound one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from mlconnector.x12.documents import (
    ControlNumbers,
    Delimiters,
    ElementError,
    EnvelopeParties,
    FunctionalAck,
    SegmentError,
    SetAck,
)
from mlconnector.x12.mapping.fa997 import functional_ack_segments
from mlconnector.x12.reader import Separators
from mlconnector.x12.report import ELEMENT, GROUP, SEGMENT, SET, GroupResult, SetResult, ValidationReport
from mlconnector.x12.validate import validate
from mlconnector.x12.writer import render_interchange

MAX_AK4_PER_AK3 = 99


class SequentialControlNumbers:
    """A plain in-memory counter for callers without a store (CLI, tests); the connector passes its own."""

    def __init__(self, start: int = 1) -> None:
        self._interchange = start
        self._group = start

    def next_interchange(self) -> int:
        value = self._interchange
        self._interchange += 1
        return value

    def next_group(self) -> int:
        value = self._group
        self._group += 1
        return value


def set_ack(result: SetResult) -> SetAck:
    """AK2 … AK5 for one set."""
    by_segment: dict[tuple[int, str], list] = {}
    set_codes: list[str] = []
    for error in result.errors:
        if error.level == SET:
            if error.code and error.code not in set_codes:
                set_codes.append(error.code)
            continue
        key = (error.position, error.segment)
        by_segment.setdefault(key, []).append(error)
    segment_errors: list[SegmentError] = []
    for (position, segment_id), errors in by_segment.items():
        structural = [e for e in errors if e.level == SEGMENT]
        elements = tuple(
            ElementError(
                position=e.element or 1,
                code=e.code,
                reference=e.reference,
                bad_value=e.bad_value,
                component=e.component,
            )
            for e in errors
            if e.level == ELEMENT
        )[:MAX_AK4_PER_AK3]
        for s in structural:
            segment_errors.append(SegmentError(segment_id, position, s.code, s.loop_id))
        if elements:
            loop_id = next((e.loop_id for e in errors if e.loop_id), None)
            segment_errors.append(SegmentError(segment_id, position, "8", loop_id, elements))
    if segment_errors and "5" not in set_codes:
        set_codes.append("5")
    if result.errors:
        status = "R"
    elif result.warnings:
        status = "E"
    else:
        status = "A"
    return SetAck(
        set_id=result.set_id,
        control_number=result.control,
        status=status,
        segment_errors=tuple(segment_errors),
        error_codes=tuple(set_codes[:5]),
    )


def group_ack(group: GroupResult) -> FunctionalAck:
    """AK1 … AK9 for one group."""
    sets = tuple(set_ack(s) for s in group.sets)
    accepted = sum(1 for s in sets if s.status in ("A", "E"))
    group_codes = [e.code for e in group.errors if e.level == GROUP and e.code]
    if group_codes or group.errors:
        status = "R"
        accepted = 0
    elif accepted == len(sets) and all(s.status == "A" for s in sets):
        status = "A"
    elif accepted == len(sets):
        status = "E"
    elif accepted:
        status = "P"
    else:
        status = "R"
    return FunctionalAck(
        functional_id=group.functional_id,
        group_control_number=group.control,
        status=status,
        sets=sets,
        sets_included=group.declared_sets if group.declared_sets is not None else len(group.sets),
        sets_received=len(group.sets),
        sets_accepted=accepted,
        error_codes=tuple(dict.fromkeys(group_codes))[:5],
    )


def _answerable(report: ValidationReport) -> Iterator[tuple[int, GroupResult]]:
    for i, ic in enumerate(report.interchanges):
        for group in ic.groups:
            if group.functional_id != "FA" and group.functional_id:
                yield i, group


def functional_ack_documents(report: ValidationReport) -> list[FunctionalAck]:
    """One FunctionalAck per inbound group that is not itself a 997 group."""
    return [group_ack(group) for _, group in _answerable(report)]


def functional_acks(
    data: bytes | str,
    *,
    control_numbers: ControlNumbers | None = None,
    when: datetime | None = None,
    lenient: bool = False,
) -> str:
    """The 997 interchange(s) answering every group in `data` ("" when nothing needs an answer)."""
    report = validate(data, lenient=lenient)
    numbers = control_numbers or SequentialControlNumbers()
    out: list[str] = []
    for index, ic in enumerate(report.interchanges):
        groups = [g for i, g in _answerable(report) if i == index]
        if not groups:
            continue
        version = ic.version if ic.version in ("00401", "00501") else "00401"
        delimiters = _delimiters_for(ic.separators)
        parties = EnvelopeParties(
            sender_qualifier=_isa_value(ic.receiver_qualifier, 2, "ZZ", delimiters),
            sender_id=_isa_value(ic.receiver_id, 15, "UNKNOWN", delimiters),
            receiver_qualifier=_isa_value(ic.sender_qualifier, 2, "ZZ", delimiters),
            receiver_id=_isa_value(ic.sender_id, 15, "UNKNOWN", delimiters),
            usage=ic.usage if ic.usage in ("P", "T") else "P",
            version=version,
            delimiters=delimiters,
        )
        rendered_groups = []
        for group in groups:
            ack = group_ack(group)
            gs08 = (group.base_version or "004010") if version == "00501" else "004010"
            rendered_groups.append(
                (
                    "FA",
                    _gs_value(group.application_receiver, parties.sender_id, delimiters),
                    _gs_value(group.application_sender, parties.receiver_id, delimiters),
                    gs08,
                    [("997", functional_ack_segments(ack))],
                )
            )
        out.append(render_interchange(rendered_groups, parties, numbers, when=when, scrub=True))
    return "".join(out)


def _printable(value: str, delimiters: Delimiters) -> str:
    banned = {delimiters.element, delimiters.component, delimiters.segment, delimiters.repetition}
    return "".join(ch for ch in value if ch.isprintable() and ch not in banned).strip()


def _isa_value(value: str, width: int, fallback: str, delimiters: Delimiters) -> str:
    """Echoed ISA IDs must fit their fixed width; a broken inbound value falls back rather than block the 997."""
    clean = _printable(value, delimiters)
    return clean if 0 < len(clean) <= width and (width != 2 or len(clean) == 2) else fallback


def _gs_value(value: str, fallback: str, delimiters: Delimiters) -> str:
    clean = _printable(value, delimiters)[:15]
    return clean if len(clean) >= 2 else fallback


def _delimiters_for(seps: Separators | None) -> Delimiters:
    """Answer in the partner's own delimiters when they are safe to reuse."""
    if seps is None or seps.segment in "\r\n" or seps.component in "\r\n ":
        return Delimiters(segment_suffix="\n")
    return Delimiters(
        element=seps.element,
        component=seps.component,
        segment=seps.segment,
        repetition=seps.repetition or "^",
        segment_suffix="\n",
    )
