"""Validation of whole interchanges: envelopes, control numbers and counts, set structure, elements, syntax notes.

The driver consumes the tokenizer's stream segment by segment and keeps only the open set's state, so memory does
not grow with the file. A `SetSink` may receive each finished set with its segments (used by `read_documents`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from mlconnector.x12.elements import Context, _valid_date, checker
from mlconnector.x12.reader import InterchangeStart, Junk, Note, Separators, Token, tokens_from_data, tokens_from_stream
from mlconnector.x12.report import (
    ELEMENT,
    GROUP,
    INTERCHANGE,
    SET,
    GroupResult,
    InterchangeResult,
    SetResult,
    ValidationReport,
    X12Error,
)
from mlconnector.x12.schemas import FUNCTIONAL_IDS, ISA_CODES, SUPPORTED_SETS, base_version, segment_def, set_schema
from mlconnector.x12.structure import StructureState

_LINE_TAGS = frozenset({"PO1", "IT1", "POC", "LIN"})
_SPECIAL = _LINE_TAGS | {"HL", "CTT", "AK5", "AK9"}
_ENVELOPE = frozenset({"SE", "ST", "GE", "GS", "IEA", "ISA"})
# What CTT01 counts in each set (the transaction set notes of the standard): line items, or HL segments in an 856.
_COUNTED = {"850": "PO1", "855": "PO1", "860": "POC", "810": "IT1", "856": "HL"}
# 997 004010 has no AK403 code for a broken semantic note; these are reported as "7" (invalid value) on the element.
SEMANTIC = "7"


@dataclass(slots=True)
class SetContext:
    """What a sink learns about a finished set besides its result."""

    interchange: InterchangeResult
    group: GroupResult
    separators: Separators
    segments: list[list[str]]


SetSink = Callable[[SetResult, SetContext], None]


_UNSEEN: Any = object()
_END: Any = object()  # the end of the token stream


class _OpenSet:
    __slots__ = (
        "ak5",
        "ak9",
        "checkers",
        "count",
        "counted",
        "ctt",
        "hl_ids",
        "line",
        "lines",
        "result",
        "segments",
        "state",
        "version",
    )

    def __init__(
        self, result: SetResult, state: StructureState | None, version: str, keep: bool, checkers: dict[str, Any]
    ) -> None:
        self.checkers = checkers
        self.result = result
        self.state = state
        self.version = version
        self.count = 1
        self.line: str | None = None
        self.segments: list[list[str]] | None = [] if keep else None
        self.counted = _COUNTED.get(result.set_id, "")
        self.lines = 0
        self.ctt: tuple[int, str] | None = None
        self.hl_ids: set[str] = set()
        self.ak5: list[str] = []
        self.ak9: tuple[int, list[str]] | None = None


class Validator:
    """One pass over the tokens of a file or stream."""

    def __init__(self, *, lenient: bool = False, sink: SetSink | None = None) -> None:
        self.lenient = lenient
        self.sink = sink
        self.report = ValidationReport()
        self.ic: InterchangeResult | None = None
        self.group: GroupResult | None = None
        self.open_set: _OpenSet | None = None
        self.seps = Separators("*", ">", "~")
        self.number = 0
        self._checkers: dict[str, dict[str, Any]] = {}
        self._fresh: set[Any] = set()  # checkers whose clean-segment memory this run has reset
        self._group_controls: set[str] = set()

    # ------------------------------------------------------------------------------------------------ driver
    def run(self, stream: Iterator[Token]) -> ValidationReport:
        envelope = _ENVELOPE
        tokens = iter(stream)
        pending: Token | None = None
        while True:
            if pending is not None:
                token, pending = pending, None
            else:
                token = next(tokens, _END)
                if token is _END:
                    break
            if type(token) is str:
                self.number += 1
                cut = token.find(self.seps.element)
                tag = token[:cut] if cut >= 0 else token
                if self.open_set is None or tag in envelope:
                    self._envelope(token, tag)
                    continue
                pending = self._set_body(token, tag, tokens)
            elif isinstance(token, InterchangeStart):
                self.number = token.segment_number
                self._start_interchange(token)
            elif isinstance(token, Junk):
                self.number = token.segment_number
                self.report.errors.append(
                    X12Error(
                        "ISA",
                        token.segment_number,
                        None,
                        "022",
                        f"expected an ISA interchange header, found {token.text[:30]!a}: this is not X12",
                        INTERCHANGE,
                    )
                )
            elif isinstance(token, Note):
                self.report.warnings.append(X12Error("", token.segment_number, None, "", token.message, INTERCHANGE))
        self._end_of_data()
        if not self.report.interchanges and not self.report.errors:
            self.report.errors.append(X12Error("ISA", 0, None, "022", "no X12 interchange (ISA) found", INTERCHANGE))
        return self.report

    def _set_body(self, token: str, tag: str, tokens: Iterator[Token]) -> Token | None:
        """The hot path: the segments of one open set, from `token` (already counted) up to the next envelope
        segment or event, which is handed back (None at the end of the data). Per segment: the structure step,
        then the element check, with everything the loop touches held in locals."""
        open_set = self.open_set
        assert open_set is not None
        sep = self.seps.element
        envelope = _ENVELOPE
        special = _SPECIAL
        checkers = open_set.checkers
        segments = open_set.segments
        state = open_set.state
        step = state.step if state is not None else None
        frames = state.frames if state is not None else []
        add = open_set.result.add
        position = open_set.count
        number = self.number
        handed_back: Token | None = None
        while True:
            position += 1
            if segments is not None:
                segments.append(token.split(sep))
            if step is not None:
                if len(tag) > 3 or not tag.isalnum():
                    stripped = tag.strip()
                    tag = stripped if stripped.isalnum() and len(stripped) <= 3 else tag
                # StructureState.step's fast path, inlined: a plain segment of the innermost loop at or after the
                # current entry, within its repeat limit, skipping no required entry. Anything else (a new loop,
                # a closed loop, an error) goes through `step`, which decides it from the same unchanged state.
                landed = False
                frame = frames[-1]
                loop = frame.loop
                candidates = loop.index.get(tag)
                if candidates is not None:
                    pos = frame.pos
                    for j in candidates:
                        if j >= pos:
                            entry = loop.entries[j]
                            counts = frame.counts
                            if entry.loop is None and counts[j] < entry.max_use:
                                landed = True
                                if j > pos or counts[pos] == 0:
                                    for k in loop.required_from[pos]:
                                        if k >= j:
                                            break
                                        if counts[k] == 0:
                                            landed = False
                                            break
                                if landed:
                                    frame.pos = j
                                    counts[j] += 1
                                    state.previous = tag  # type: ignore[union-attr]
                            break
                skip = False
                if not landed:
                    errors = step(tag, position)
                    if errors:
                        for e in errors:
                            add(e)
                        skip = errors[-1].position == position and errors[-1].code in ("1", "6", "7")
                if not skip:
                    if tag in special:
                        open_set.count = position
                        self._special(open_set, token, tag, position)
                    chk = checkers.get(tag, _UNSEEN)
                    if chk is _UNSEEN:
                        chk = self._checker(open_set, tag)
                    if chk is not None and token not in chk.clean:
                        problems = chk.check(token, open_set.line, position)
                        if problems:
                            for p in problems:
                                add(p)
            nxt = next(tokens, _END)
            if type(nxt) is not str:
                handed_back = None if nxt is _END else nxt
                break
            cut = nxt.find(sep)
            tag = nxt[:cut] if cut >= 0 else nxt
            if tag in envelope:
                handed_back = nxt  # the caller counts it
                break
            number += 1
            token = nxt
        open_set.count = position
        self.number = number
        return handed_back

    def _special(self, open_set: _OpenSet, raw: str, tag: str, position: int) -> None:
        """Segments that carry state across the set: line numbers for messages, counts, the HL tree, AK5/AK9."""
        sep = self.seps.element
        if tag == open_set.counted:
            open_set.lines += 1
        if tag in _LINE_TAGS:
            parts = raw.split(sep, 2)
            open_set.line = parts[1] if len(parts) > 1 and parts[1] else None
        elif tag == "HL":
            open_set.line = None
            self._hierarchy(open_set, raw, position)
        elif tag == "CTT":
            parts = raw.split(sep, 2)
            open_set.ctt = (position, parts[1] if len(parts) > 1 else "")
        elif tag == "AK5":
            parts = raw.split(sep, 2)
            open_set.ak5.append(parts[1] if len(parts) > 1 else "")
        elif tag == "AK9":
            open_set.ak9 = (position, raw.split(sep))

    def _checker(self, open_set: _OpenSet, tag: str) -> Any:
        seg = segment_def(tag, open_set.version)
        seps = self.seps
        chk = checker(seg, seps.element, seps.component, seps.repetition) if seg else None
        if chk is not None and chk not in self._fresh:
            # The checkers are shared; their memory of clean segments starts afresh with each validation, so
            # one run's verdicts never speed up (or are mistaken for) another's.
            chk.clean.clear()
            self._fresh.add(chk)
        open_set.checkers[tag] = chk
        return chk

    def _hierarchy(self, open_set: _OpenSet, raw: str, position: int) -> None:
        """HL01 is unique in the set; HL02 names an HL that came before (the HL segment's semantic notes)."""
        parts = raw.split(self.seps.element, 3)
        hl01 = parts[1] if len(parts) > 1 else ""
        hl02 = parts[2] if len(parts) > 2 else ""
        ids = open_set.hl_ids
        if hl01 and hl01 in ids:
            open_set.result.add(
                X12Error("HL", position, 1, SEMANTIC, f"HL (segment {position}): HL01 {hl01!r} is used twice", ELEMENT)
            )
        if hl02 and hl02 not in ids:
            message = f"HL (segment {position}): HL02 parent {hl02!r} is not an HL01 that comes before it"
            open_set.result.add(X12Error("HL", position, 2, SEMANTIC, message, ELEMENT, bad_value=hl02[:99]))
        ids.add(hl01)

    def _semantics(self, open_set: _OpenSet) -> None:
        """Counts and totals the transaction set notes require: CTT01, and a 997's AK9 against its AK5s."""
        result = open_set.result
        if open_set.ctt is not None and open_set.counted:
            position, value = open_set.ctt
            if _is_count(value, 6) and int(value) != open_set.lines:
                what = "HL segments" if open_set.counted == "HL" else f"{open_set.counted} line items"
                message = f"CTT (segment {position}): CTT01 says {value} but the set has {open_set.lines} {what}"
                result.add(X12Error("CTT", position, 1, SEMANTIC, message, ELEMENT, bad_value=value))
        if open_set.ak9 is not None:
            for element, message in ak9_problems(open_set.ak9[1], open_set.ak5):
                position = open_set.ak9[0]
                result.add(
                    X12Error("AK9", position, element, SEMANTIC, f"AK9 (segment {position}): {message}", ELEMENT)
                )

    # --------------------------------------------------------------------------------------------- envelope
    def _envelope(self, raw: str, tag: str) -> None:
        els = raw.split(self.seps.element)
        if tag == "ST":
            self._start_set(els)
        elif tag == "SE":
            self._end_set(els)
        elif tag == "GS":
            self._start_group(els)
        elif tag == "GE":
            self._end_group(els)
        elif tag == "IEA":
            self._end_interchange(els)
        elif tag == "ISA":
            target = self.ic.errors if self.ic else self.report.errors
            target.append(
                self._env_error(
                    INTERCHANGE,
                    "ISA",
                    "023",
                    f"a new ISA (file segment {self.number}) starts before the IEA trailer of "
                    "the interchange it sits in",
                )
            )
        elif tag == "TA1" and self.ic is not None and self.group is None:
            self._ta1(els)
        else:
            target = self.ic.errors if self.ic else self.report.errors
            target.append(
                X12Error(
                    tag[:3],
                    self.number,
                    None,
                    "024",
                    f"segment {tag[:10]!r} (file segment {self.number}) sits outside any transaction set (ST … SE)",
                    INTERCHANGE,
                )
            )

    def _env_error(self, level: str, seg: str, code: str, message: str, element: int | None = None) -> X12Error:
        return X12Error(seg, self.number, element, code, message, level)

    def _start_interchange(self, token: InterchangeStart) -> None:
        if self.ic is not None:
            self._close_interchange_missing_trailer()
        self.seps = token.separators
        self._checkers = {}
        els = token.elements + [""] * (17 - len(token.elements))
        ic = InterchangeResult(
            control=els[13],
            sender_qualifier=els[5],
            sender_id=els[6].strip(),
            receiver_qualifier=els[7],
            receiver_id=els[8].strip(),
            version=els[12],
            usage=els[15],
            separators=token.separators,
            date=els[9],
            time=els[10],
            ack_requested=els[14],
        )
        duplicate = any(
            other.control == ic.control
            and (other.sender_qualifier, other.sender_id) == (ic.sender_qualifier, ic.sender_id)
            for other in self.report.interchanges
        )
        self.report.interchanges.append(ic)
        self.ic = ic
        self._group_controls = set()
        if not token.fixed_width:
            detail = "; ".join(token.width_problems)
            message = (
                f"ISA is not fixed width ({detail}). Every ISA element has a fixed length (the ISA is 106 "
                "characters); pad the IDs with spaces, or ask the partner to."
            )
            if self.lenient:
                ic.warnings.append(self._env_error(INTERCHANGE, "ISA", "", message + " Accepted in lenient mode."))
            else:
                ic.errors.append(self._env_error(INTERCHANGE, "ISA", "022", message))
        for position, code, message in isa_problems(els, token.separators):
            ic.errors.append(self._env_error(INTERCHANGE, "ISA", code, message, position))
        if duplicate:
            ic.errors.append(
                self._env_error(
                    INTERCHANGE,
                    "ISA",
                    "025",
                    f"interchange control number {ic.control} from {ic.sender_id} is used twice in this file",
                    13,
                )
            )

    def _ta1(self, els: list[str]) -> None:
        """A TA1 (interchange acknowledgment) sits between ISA and the first GS."""
        assert self.ic is not None
        ic = self.ic
        if ic.groups:
            ic.errors.append(self._env_error(INTERCHANGE, "TA1", "024", "TA1 after a functional group (GS … GE)"))
        ic.ta1s.append(els)
        seg = segment_def("TA1")
        assert seg is not None
        for p in checker(seg, self.seps.element, self.seps.component, self.seps.repetition).slow(
            els, Context("TA1", self.number)
        ):
            ic.errors.append(X12Error("TA1", self.number, p.element, "024", p.message, INTERCHANGE))

    def _start_group(self, els: list[str]) -> None:
        if self.ic is None:
            self.report.errors.append(self._env_error(INTERCHANGE, "GS", "024", "GS group header before any ISA"))
            return
        if self.group is not None:
            self._close_group_missing_trailer()
        els = els + [""] * (9 - len(els))
        version = els[8]
        group = GroupResult(
            functional_id=els[1],
            control=els[6],
            version=version,
            application_sender=els[2],
            application_receiver=els[3],
            base_version=base_version(version),
        )
        self.ic.groups.append(group)
        self.group = group
        if els[6] and els[6] in self._group_controls:
            self.ic.errors.append(
                self._env_error(
                    INTERCHANGE,
                    "GS",
                    "024",
                    f"group control number {els[6]} (GS06) is used twice in interchange {self.ic.control}",
                    6,
                )
            )
        self._group_controls.add(els[6])
        seg = segment_def("GS")
        assert seg is not None
        problems = checker(seg, self.seps.element, self.seps.component, self.seps.repetition).slow(
            els, Context("GS", self.number)
        )
        for p in problems:
            # Element-level (AK403-style) codes: they reject the group but are not AK905 group codes.
            group.errors.append(X12Error("GS", self.number, p.element, p.code, p.message, ELEMENT))
        if group.base_version is None:
            group.errors.append(
                self._env_error(
                    GROUP,
                    "GS",
                    "2",
                    f"unsupported version {version!r} in GS08 (group {els[6]}): this connector reads 004010 and 005010 "
                    "(implementation suffixes such as 004010VICS or 005010X231 are read as their base version)",
                    8,
                )
            )

    def _start_set(self, els: list[str]) -> None:
        if self.open_set is not None:
            self._close_set_missing_trailer()
        if self.group is None:
            target = self.ic.errors if self.ic else self.report.errors
            target.append(self._env_error(INTERCHANGE, "ST", "024", "ST set header outside a functional group (no GS)"))
            if self.ic is None:
                return
            self.group = GroupResult("", "", "", base_version="004010")
            self.ic.groups.append(self.group)
        group = self.group
        set_id = els[1] if len(els) > 1 else ""
        control = els[2] if len(els) > 2 else ""
        result = SetResult(set_id, control, self.number)
        group.sets.append(result)
        version = group.base_version or "004010"
        schema = set_schema(set_id, version) if group.base_version else None
        keep = self.sink is not None
        checkers = self._checkers.setdefault(version, {})
        self.open_set = _OpenSet(result, StructureState(schema) if schema else None, version, keep, checkers)
        if keep:
            self.open_set.segments.append(els)  # type: ignore[union-attr]
        st = segment_def("ST", version)
        assert st is not None
        for p in checker(st, self.seps.element, self.seps.component, self.seps.repetition).slow(els, Context("ST", 1)):
            result.add(X12Error("ST", 1, p.element, p.code, p.message, ELEMENT, bad_value=p.bad_value))
        if group.base_version is None:
            result.supported = False
            result.add(
                X12Error(
                    "ST",
                    1,
                    None,
                    "1",
                    f"set {set_id} {control} not checked: its group's version {group.version!r} is not supported",
                    SET,
                )
            )
        elif schema is None:
            result.supported = False
            supported = ", ".join(SUPPORTED_SETS)
            result.add(
                X12Error("ST", 1, 1, "1", f"transaction set {set_id!r} is not supported (supported: {supported})", SET)
            )
        expected_gs01 = FUNCTIONAL_IDS.get(set_id)
        if expected_gs01 and group.functional_id and group.functional_id != expected_gs01:
            result.warnings.append(
                X12Error(
                    "ST",
                    1,
                    1,
                    "",
                    f"set {set_id} {control} sits in a group with GS01 {group.functional_id!r}; a {set_id} belongs in "
                    f"a {expected_gs01!r} group",
                    SET,
                )
            )
        if any(s.control == control for s in group.sets[:-1]):
            result.add(
                X12Error("ST", 1, 2, "23", f"set control number {control} is used twice in group {group.control}", SET)
            )

    def _end_set(self, els: list[str]) -> None:
        open_set = self.open_set
        if open_set is None:
            target = self.ic.errors if self.ic else self.report.errors
            target.append(self._env_error(INTERCHANGE, "SE", "024", "SE set trailer without a matching ST"))
            return
        open_set.count += 1
        position = open_set.count
        result = open_set.result
        result.segment_count = position
        if open_set.segments is not None:
            open_set.segments.append(els)
        if open_set.state is not None:
            for e in open_set.state.finish(position):
                result.add(e)
            self._semantics(open_set)
        declared = els[1] if len(els) > 1 else ""
        if declared != str(position):
            result.add(
                X12Error(
                    "SE",
                    position,
                    1,
                    "4",
                    f"SE01 says {declared or 'nothing'} segments but set {result.control} has {position} (ST to SE)",
                    SET,
                )
            )
        trailer_control = els[2] if len(els) > 2 else ""
        result.trailer_control = trailer_control
        if trailer_control != result.control:
            result.add(
                X12Error(
                    "SE",
                    position,
                    2,
                    "3",
                    f"SE02 control number {trailer_control!r} does not match ST02 {result.control!r}",
                    SET,
                )
            )
        seg = segment_def("SE")
        assert seg is not None
        extra = checker(seg, self.seps.element, self.seps.component, self.seps.repetition).slow(
            els, Context("SE", position)
        )
        for p in extra:
            if p.element and p.element > 2:
                result.add(p)
        self._emit(open_set)
        self.open_set = None

    def _emit(self, open_set: _OpenSet) -> None:
        if self.sink is not None and self.ic is not None and self.group is not None:
            self.sink(open_set.result, SetContext(self.ic, self.group, self.seps, open_set.segments or []))

    def _end_group(self, els: list[str]) -> None:
        if self.open_set is not None:
            self._close_set_missing_trailer()
        group = self.group
        if group is None:
            target = self.ic.errors if self.ic else self.report.errors
            target.append(self._env_error(INTERCHANGE, "GE", "024", "GE group trailer without a matching GS"))
            return
        declared = els[1] if len(els) > 1 else ""
        # isdigit() alone admits "²" and other Unicode digits, and int() refuses more than 4,300 digits.
        group.declared_sets = int(declared) if _is_count(declared, 6) else None
        group.trailer_control = els[2] if len(els) > 2 else ""
        if declared != str(len(group.sets)):
            group.errors.append(
                self._env_error(
                    GROUP,
                    "GE",
                    "5",
                    f"GE01 says {declared or 'nothing'} sets but group {group.control} has {len(group.sets)}",
                    1,
                )
            )
        control = els[2] if len(els) > 2 else ""
        if control != group.control:
            group.errors.append(
                self._env_error(
                    GROUP, "GE", "4", f"GE02 control number {control!r} does not match GS06 {group.control!r}", 2
                )
            )
        self.group = None

    def _end_interchange(self, els: list[str]) -> None:
        if self.group is not None:
            self._close_group_missing_trailer()
        ic = self.ic
        if ic is None:
            self.report.errors.append(self._env_error(INTERCHANGE, "IEA", "022", "IEA trailer without a matching ISA"))
            return
        declared = els[1] if len(els) > 1 else ""
        if declared != str(len(ic.groups)):
            ic.errors.append(
                self._env_error(
                    INTERCHANGE,
                    "IEA",
                    "021",
                    f"IEA01 says {declared or 'nothing'} groups but interchange {ic.control} has {len(ic.groups)}",
                    1,
                )
            )
        control = els[2] if len(els) > 2 else ""
        if control != ic.control:
            ic.errors.append(
                self._env_error(
                    INTERCHANGE,
                    "IEA",
                    "001",
                    f"IEA02 control number {control!r} does not match ISA13 {ic.control!r}",
                    2,
                )
            )
        self.ic = None

    def _close_set_missing_trailer(self) -> None:
        open_set = self.open_set
        assert open_set is not None
        open_set.result.add(
            X12Error(
                "SE",
                open_set.count + 1,
                None,
                "2",
                f"set {open_set.result.set_id} {open_set.result.control} has no SE trailer",
                SET,
            )
        )
        open_set.result.segment_count = open_set.count
        self._emit(open_set)
        self.open_set = None

    def _close_group_missing_trailer(self) -> None:
        if self.open_set is not None:
            self._close_set_missing_trailer()
        assert self.group is not None
        self.group.errors.append(self._env_error(GROUP, "GE", "3", f"group {self.group.control} has no GE trailer"))
        self.group = None

    def _close_interchange_missing_trailer(self) -> None:
        if self.group is not None:
            self._close_group_missing_trailer()
        assert self.ic is not None
        self.ic.errors.append(
            self._env_error(INTERCHANGE, "IEA", "023", f"interchange {self.ic.control} has no IEA trailer")
        )
        self.ic = None

    def _end_of_data(self) -> None:
        if self.ic is not None:
            self._close_interchange_missing_trailer()
        elif self.group is not None:
            self._close_group_missing_trailer()
        elif self.open_set is not None:
            self._close_set_missing_trailer()


def _valid_time4(value: str) -> bool:
    return len(value) == 4 and value.isascii() and value.isdigit() and int(value[:2]) < 24 and int(value[2:]) < 60


def isa_problems(els: list[str], seps: Separators) -> list[tuple[int | None, str, str]]:
    """(element, TA105 code, message) for every ISA value outside its code list or format, and for delimiters that
    collide. `els` holds the 16 ISA elements after the tag."""
    problems: list[tuple[int | None, str, str]] = []
    version = els[12]
    for position, code, ok, message in (
        (1, "010", els[1] in ISA_CODES[1], "ISA01 authorization qualifier {v!r} is not a code of list I01 (00 … 06)"),
        (3, "012", els[3] in ISA_CODES[3], "ISA03 security qualifier {v!r} is not 00 or 01"),
        (5, "005", els[5] in ISA_CODES[5], "ISA05 sender ID qualifier {v!r} is not a code of list I05 (01, ZZ …)"),
        (6, "006", bool(els[6].strip()), "ISA06 sender ID is blank"),
        (7, "007", els[7] in ISA_CODES[5], "ISA07 receiver ID qualifier {v!r} is not a code of list I05 (01, ZZ …)"),
        (8, "008", bool(els[8].strip()), "ISA08 receiver ID is blank"),
        (9, "014", _valid_isa_date(els[9]), "ISA09 date {v!r} is not YYMMDD"),
        (10, "015", _valid_time4(els[10]), "ISA10 time {v!r} is not HHMM"),
        (
            11,
            "016",
            (els[11] == "U") if version < "00403" else seps.repetition is not None,
            "ISA11 {v!r} must be U (before 00403) or a repetition separator that is not a letter or digit",
        ),
        (12, "017", version in ISA_CODES[12], "ISA12 version {v!r} is not a known control version (00401, 00501 …)"),
        (13, "018", _is_count(els[13], 9) and len(els[13]) == 9, "ISA13 control number {v!r} is not 9 digits"),
        (14, "019", els[14] in ("0", "1"), "ISA14 acknowledgment requested {v!r} must be 0 or 1"),
        (15, "020", els[15] in ("P", "T", "I"), "ISA15 usage indicator {v!r} must be P (production) or T (test)"),
    ):
        if not ok:
            problems.append((position, code, message.format(v=els[position])))
    chars = [seps.element, seps.component, seps.segment] + ([seps.repetition] if seps.repetition else [])
    if seps.component == seps.element or seps.component.isalnum() or seps.component == " ":
        problems.append(
            (
                16,
                "027",
                f"ISA16 component separator {seps.component!r} is not usable: it must be a single character that is "
                "neither a letter, a digit, a space nor the element separator",
            )
        )
    elif len(set(chars)) != len(chars):
        problems.append((11, "026", f"the delimiters {chars!r} (element, component, segment, repetition) repeat"))
    return problems


def ak9_problems(ak9: list[str], ak5: list[str]) -> list[tuple[int, str]]:
    """Where an AK9 contradicts itself or the AK5s of its 997 (AK904 counts the AK5 A and E)."""
    els = ak9 + [""] * (5 - len(ak9))
    status, received, accepted = els[1], els[3], els[4]
    if not all(_is_count(v, 6) for v in (received, accepted)):
        return []  # the element checks already reject these
    got, ok = int(received), int(accepted)
    passed = sum(1 for a in ak5 if a in ("A", "E"))
    problems: list[tuple[int, str]] = []
    if ok > got:
        problems.append((4, f"AK904 says {ok} sets accepted but AK903 says only {got} received"))
    if passed > ok:
        problems.append((4, f"AK904 says {ok} sets accepted but {passed} AK5s say A or E"))
    if status == "R" and (ok or passed):
        problems.append((1, f"AK901 R (group rejected) but {max(ok, passed)} set(s) accepted"))
    elif status in ("A", "E") and ok != got:
        problems.append((1, f"AK901 {status} (group accepted) but only {ok} of {got} sets accepted"))
    elif status == "P" and not 0 < ok < got:
        problems.append(
            (1, f"AK901 P (partially accepted) needs some but not all sets accepted; AK904 is {ok} of {got}")
        )
    if status == "A" and any(a in ("E", "R") for a in ak5):
        problems.append((1, "AK901 A but an AK5 says E or R"))
    return problems


def _valid_isa_date(value: str) -> bool:
    return len(value) == 6 and value.isascii() and value.isdigit() and _valid_date(value)


def _is_count(value: str, width: int) -> bool:
    """ASCII digits only, at most `width` of them (what an N0 count or control number may hold)."""
    return 0 < len(value) <= width and value.isascii() and value.isdigit()


def validate(data: bytes | str, *, lenient: bool = False) -> ValidationReport:
    """Validate X12 held in memory (bytes or text); never raises on bad input."""
    return Validator(lenient=lenient).run(tokens_from_data(data))


def validate_stream(stream: BinaryIO, *, lenient: bool = False, sink: SetSink | None = None) -> ValidationReport:
    """Validate a binary stream chunk by chunk (memory stays flat however large the file)."""
    return Validator(lenient=lenient, sink=sink).run(tokens_from_stream(stream))


def validate_with_sink(data: bytes | str, sink: SetSink, *, lenient: bool = False) -> ValidationReport:
    """Validate in-memory data and hand every finished set, with its segments, to `sink`."""
    return Validator(lenient=lenient, sink=sink).run(tokens_from_data(data))


__all__ = ["SetContext", "SetSink", "Validator", "validate", "validate_stream", "validate_with_sink"]
