"""Acknowledgments: 997 functional acknowledgments and TA1 interchange acknowledgments from a validation report,
and TA1s read back from partners.

Every inbound group except 997 groups is answered: one AK2/AK5 per set (A accepted, E accepted with errors noted,
R rejected), AK3/AK4 for segment and element errors with the codes the validator assigned, and AK9 with A, E, P
(some sets accepted) or R. An interchange with an envelope error gets a TA1 (R, or E when only its trailer counts
are off); its groups get no 997 when the TA1 rejects it. Nothing the partner sent is echoed unless it fits the
element it goes into: an unusable control number is replaced by the trailer's (with the AK502 7 / AK905 6 code),
and a group or set that cannot be named at all is left to the TA1 (code 024).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from mlconnector.x12.documents import (
    ControlNumbers,
    Delimiters,
    ElementError,
    EnvelopeParties,
    FunctionalAck,
    InterchangeAck,
    SegmentError,
    SetAck,
)
from mlconnector.x12.mapping.common import Segment
from mlconnector.x12.mapping.fa997 import functional_ack_segments
from mlconnector.x12.reader import Separators
from mlconnector.x12.report import (
    ELEMENT,
    GROUP,
    INTERCHANGE,
    SEGMENT,
    SET,
    GroupResult,
    InterchangeResult,
    SetResult,
    ValidationReport,
    X12Error,
)
from mlconnector.x12.schemas import FUNCTIONAL_IDS, ISA_CODES, TA1_NOTES, segment_def
from mlconnector.x12.validate import validate
from mlconnector.x12.writer import render_interchange

MAX_AK4_PER_AK3 = 99
# TA1 note codes that leave the interchange accepted with errors noted (its groups are still read and answered).
TA1_ACCEPT_WITH_ERRORS = frozenset({"001", "021"})
# AK905 for an element error in the GS itself: GS06 → 6, GS08 → 2, anything else → 1 (group not supported).
_GS_ELEMENT_CODES = {6: "6", 8: "2"}
_FUNCTIONAL_CODES = segment_def("AK1").elements[0].codes or frozenset()  # type: ignore[union-attr]


def _digits(value: str, width: int) -> bool:
    return 0 < len(value) <= width and value.isascii() and value.isdigit()


# Punctuation an echoed value may keep; the 997's delimiters are never one of these (see `_delimiters_for`).
_SAFE_PUNCTUATION = " -./_#&()%$,;=?@"


def _an(value: str, lo: int, hi: int) -> bool:
    """A value that can be echoed unchanged into an AN element: printable ASCII letters, digits and plain
    punctuation, no edge blanks."""
    return (
        lo <= len(value) <= hi
        and value.isascii()
        and value == value.strip()
        and all(ch.isalnum() or ch in _SAFE_PUNCTUATION for ch in value)
    )


def _segment_id(value: str) -> bool:
    return 2 <= len(value) <= 3 and value.isascii() and value.isalnum() and value == value.upper()


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


def set_ack(result: SetResult) -> SetAck | None:
    """AK2 … AK5 for one set; None when the set cannot be named in an AK2 (no usable ST01, nor ST02/SE02)."""
    set_id = result.set_id
    if not (len(set_id) == 3 and set_id.isascii() and set_id.isalnum()):
        return None
    set_codes: list[str] = []
    control = result.control
    if not _an(control, 4, 9):
        if not _an(result.trailer_control, 4, 9):
            return None
        control = result.trailer_control
        set_codes.append("7")
    by_segment: dict[tuple[int, str], list[X12Error]] = {}
    for error in result.errors:
        if error.level == SET:
            if error.code and error.code not in set_codes:
                set_codes.append(error.code)
            continue
        key = (error.position, error.segment)
        by_segment.setdefault(key, []).append(error)
    segment_errors: list[SegmentError] = []
    for (position, segment_id), errors in by_segment.items():
        if not _segment_id(segment_id) or not 0 < position <= 999_999:
            continue  # AK301/AK302 cannot carry it; AK502 5 still says the set has segment errors
        structural = [e for e in errors if e.level == SEGMENT]
        elements = tuple(
            ElementError(
                position=e.element,
                code=e.code,
                reference=e.reference if e.reference and _digits(e.reference, 4) else None,
                bad_value=_bad_copy(e.bad_value),
                component=e.component if e.component and 0 < e.component <= 99 else None,
            )
            for e in errors
            if e.level == ELEMENT and e.element and 0 < e.element <= 99 and e.code
        )[:MAX_AK4_PER_AK3]
        for s in structural:
            loop_id = s.loop_id if s.loop_id and _an(s.loop_id, 1, 6) else None
            segment_errors.append(SegmentError(segment_id, position, s.code, loop_id))
        if elements:
            loop_id = next((e.loop_id for e in errors if e.loop_id and _an(e.loop_id, 1, 6)), None)
            segment_errors.append(SegmentError(segment_id, position, "8", loop_id, elements))
    if (segment_errors or any(e.level in (SEGMENT, ELEMENT) for e in result.errors)) and "5" not in set_codes:
        set_codes.append("5")
    if result.errors or "7" in set_codes:
        status = "R"
    elif result.warnings:
        status = "E"
    else:
        status = "A"
    return SetAck(
        set_id=set_id,
        control_number=control,
        status=status,
        segment_errors=tuple(segment_errors),
        error_codes=tuple(set_codes[:5]) if status == "R" else (),
    )


def _bad_copy(value: str | None) -> str | None:
    """AK404 is AN 1/99: printable ASCII letters, digits and plain punctuation only, no edge blanks."""
    if not value:
        return None
    clean = "".join(ch for ch in value if ch.isascii() and (ch.isalnum() or ch in _SAFE_PUNCTUATION))
    clean = clean.strip()[:99].strip()
    return clean or None


def _group_ids(group: GroupResult) -> tuple[str, str, list[str]] | None:
    """(AK101, AK102, extra AK905 codes) when the group can be named in an AK1, else None."""
    codes: list[str] = []
    functional_id = group.functional_id
    if functional_id not in _FUNCTIONAL_CODES:
        implied = {FUNCTIONAL_IDS.get(s.set_id) for s in group.sets}
        if len(implied) != 1 or None in implied:
            return None
        functional_id = implied.pop()  # type: ignore[assignment]
        codes.append("1")
    control = group.control.lstrip("0") or "0" if _digits(group.control, 9) else ""
    if not control:
        if not _digits(group.trailer_control, 9):
            return None
        control = group.trailer_control.lstrip("0") or "0"
        codes.append("6")
    return functional_id, control, codes


def answerable(group: GroupResult) -> bool:
    """Whether a 997 can name this group (AK101 and AK102 representable)."""
    return _group_ids(group) is not None


def group_ack(group: GroupResult) -> FunctionalAck:
    """AK1 … AK9 for one group; AK9 always agrees with the AK5s and names every group-level error."""
    ids = _group_ids(group)
    if ids is None:
        raise ValueError(f"group {group.control!r} cannot be named in a 997 (use a TA1)")
    functional_id, control, group_codes = ids
    for e in group.errors:
        if e.level == GROUP and e.code:
            code = e.code
        elif e.segment == "GS" and e.element:
            code = _GS_ELEMENT_CODES.get(e.element, "1")
        else:
            code = "1"
        if code not in group_codes:
            group_codes.append(code)
    rejected = bool(group_codes)
    sets: list[SetAck] = []
    for result in group.sets:
        ack = set_ack(result)
        if ack is None:
            continue
        if rejected and ack.status != "R":
            # The whole group is rejected: no set in it is accepted, and the AK5s must say so.
            ack = SetAck(ack.set_id, ack.control_number, "R", ack.segment_errors, ack.error_codes)
        sets.append(ack)
    received = min(len(group.sets), 999_999)
    accepted = sum(1 for s in sets if s.status in ("A", "E"))
    if rejected or accepted == 0:
        status = "R"
    elif accepted < received:
        status = "P"
    elif all(s.status == "A" for s in sets):
        status = "A"
    else:
        status = "E"
    declared = group.declared_sets
    return FunctionalAck(
        functional_id=functional_id,
        group_control_number=control,
        status=status,
        sets=tuple(sets),
        sets_included=declared if declared is not None and declared <= 999_999 else received,
        sets_received=received,
        sets_accepted=accepted,
        error_codes=tuple(group_codes)[:5],
    )


def interchange_status(ic: InterchangeResult) -> tuple[str, str]:
    """(TA104, TA105) for one interchange: R with the first envelope error's code, E when only the trailer counts
    or control number disagree, A "000" when clean."""
    codes = [e.code if e.code in TA1_NOTES else "022" for e in ic.errors if e.level == INTERCHANGE]
    if any(not (g.functional_id or g.sets) or not answerable(g) for g in ic.groups if g.functional_id != "FA"):
        codes.append("024")
    if not codes:
        return "A", "000"
    if all(c in TA1_ACCEPT_WITH_ERRORS for c in codes):
        return "E", codes[0]
    return "R", next(c for c in codes if c not in TA1_ACCEPT_WITH_ERRORS)


def _answerable(report: ValidationReport) -> Iterator[tuple[int, GroupResult]]:
    for i, ic in enumerate(report.interchanges):
        if interchange_status(ic)[0] == "R":
            continue  # the TA1 rejects the whole interchange; its groups are not processed
        for group in ic.groups:
            if group.functional_id != "FA" and group.functional_id and answerable(group):
                yield i, group


def functional_ack_documents(report: ValidationReport) -> list[FunctionalAck]:
    """One FunctionalAck per inbound group that is not itself a 997 group (in interchanges a TA1 does not
    reject)."""
    return [group_ack(group) for _, group in _answerable(report)]


def _parties(ic: InterchangeResult) -> EnvelopeParties:
    version = ic.version if ic.version in ("00401", "00501") else "00401"
    delimiters = _delimiters_for(ic.separators, version)
    return EnvelopeParties(
        sender_qualifier=_isa_value(ic.receiver_qualifier, 2, "ZZ", delimiters),
        sender_id=_isa_value(ic.receiver_id, 15, "UNKNOWN", delimiters),
        receiver_qualifier=_isa_value(ic.sender_qualifier, 2, "ZZ", delimiters),
        receiver_id=_isa_value(ic.sender_id, 15, "UNKNOWN", delimiters),
        usage=ic.usage if ic.usage in ("P", "T") else "P",
        version=version,
        delimiters=delimiters,
    )


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
        parties = _parties(ic)
        rendered_groups = []
        for group in groups:
            ack = group_ack(group)
            gs08 = (group.base_version or "004010") if parties.version == "00501" else "004010"
            rendered_groups.append(
                (
                    "FA",
                    _gs_value(group.application_receiver, parties.sender_id, parties.delimiters),
                    _gs_value(group.application_sender, parties.receiver_id, parties.delimiters),
                    gs08,
                    [("997", functional_ack_segments(ack))],
                )
            )
        out.append(render_interchange(rendered_groups, parties, numbers, when=when, scrub=True))
    return "".join(out)


def interchange_ack_documents(
    report: ValidationReport, *, when: datetime | None = None, only_errors: bool = False
) -> list[tuple[InterchangeResult, InterchangeAck]]:
    """A TA1 for every interchange with an envelope error, and (unless `only_errors`) for every interchange that
    asks for one (ISA14 = 1). TA101–TA103 echo the ISA13/ISA09/ISA10 when they are valid; an invalid ISA13 is
    answered as 000000000 and an invalid date or time with our own, the note code saying which was wrong."""
    moment = when or datetime.now(timezone.utc)  # noqa: UP017
    out = []
    for ic in report.interchanges:
        status, code = interchange_status(ic)
        if status == "A" and (only_errors or ic.ack_requested != "1"):
            continue
        control = ic.control if _digits(ic.control, 9) and len(ic.control) == 9 else "000000000"
        date = ic.date if _digits(ic.date, 6) and _valid_yymmdd(ic.date) else moment.strftime("%y%m%d")
        time = ic.time if _valid_hhmm(ic.time) else moment.strftime("%H%M")
        out.append(
            (
                ic,
                InterchangeAck(
                    control, date, time, status, code, TA1_NOTES[code], ic.receiver_qualifier, ic.receiver_id
                ),
            )
        )
    return out


def interchange_acks(
    data: bytes | str,
    *,
    control_numbers: ControlNumbers | None = None,
    when: datetime | None = None,
    lenient: bool = False,
    only_errors: bool = False,
) -> str:
    """The TA1 interchange(s) answering `data` (see `interchange_ack_documents`); "" when none is due."""
    report = validate(data, lenient=lenient)
    numbers = control_numbers or SequentialControlNumbers()
    out: list[str] = []
    for ic, ack in interchange_ack_documents(report, when=when, only_errors=only_errors):
        segment: Segment = ["TA1", ack.interchange_control, ack.date, ack.time, ack.status, ack.note_code]
        out.append(render_interchange([], _parties(ic), numbers, when=when, scrub=True, leading=[segment]))
    return "".join(out)


def read_interchange_acks(data: bytes | str) -> list[InterchangeAck]:
    """Every TA1 in a partner's file: which of our interchanges (TA101) it answers, A/E/R, and the reason in plain
    words. A TA1 the partner garbled is still reported (reason says what could not be read)."""
    report = validate(data, lenient=True)
    out: list[InterchangeAck] = []
    for ic in report.interchanges:
        for els in ic.ta1s:
            els = els + [""] * (6 - len(els))
            control, date, time, status, code = els[1:6]
            if code in TA1_NOTES:
                reason = TA1_NOTES[code]
            else:
                reason = f"the partner's TA1 carries an unknown note code {code[:10]!r}"
            if status not in ("A", "E", "R"):
                reason += f" (and an unknown acknowledgment code {status[:10]!r}: treated as rejected)"
                status = "R"
            out.append(
                InterchangeAck(control[:9], date, time, status, code[:3], reason, ic.sender_qualifier, ic.sender_id)
            )
    return out


def _valid_yymmdd(value: str) -> bool:
    from mlconnector.x12.elements import _valid_date

    return _valid_date(value)


def _valid_hhmm(value: str) -> bool:
    return len(value) == 4 and value.isascii() and value.isdigit() and value[:2] < "24" and value[2:] < "60"


def _printable(value: str, delimiters: Delimiters) -> str:
    """Only ASCII letters, digits and plain punctuation survive; none of them is ever a delimiter of ours."""
    return "".join(ch for ch in value if ch.isascii() and (ch.isalnum() or ch in _SAFE_PUNCTUATION)).strip()


def _isa_value(value: str, width: int, fallback: str, delimiters: Delimiters) -> str:
    """Echoed ISA IDs must fit their fixed width; a broken inbound value falls back rather than block the 997."""
    clean = _printable(value, delimiters)
    if width == 2:
        return clean if clean in ISA_CODES[5] else fallback
    return clean if 0 < len(clean) <= width else fallback


def _gs_value(value: str, fallback: str, delimiters: Delimiters) -> str:
    clean = _printable(value, delimiters)[:15]
    return clean if len(clean) >= 2 else fallback


def _delimiters_for(seps: Separators | None, version: str = "00401") -> Delimiters:
    """Answer in the partner's own delimiters when they are safe to reuse (distinct, not letters, digits, blanks,
    line breaks or characters our values use); otherwise in the common * > ~ ^."""
    default = Delimiters(segment_suffix="\n")
    if seps is None:
        return default
    repetition = seps.repetition or "^"
    chars = [seps.element, seps.component, seps.segment] + ([repetition] if version >= "00403" else [])
    if len(set(chars)) != len(chars) or any(
        len(c) != 1 or c.isalnum() or c in _SAFE_PUNCTUATION or c in "\r\n" or (not c.isprintable() and c != "\x07")
        for c in chars
    ):
        return default
    return Delimiters(
        element=seps.element,
        component=seps.component,
        segment=seps.segment,
        repetition=repetition,
        segment_suffix="\n",
    )
