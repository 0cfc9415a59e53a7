"""Validation results: every error knows where it is and which 997 code it maps to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Levels say which acknowledgment field `code` belongs to: element → AK403, segment → AK304, set → AK502,
# group → AK905, interchange → TA105 (the TA1 note code, "001" … "027").
ELEMENT, SEGMENT, SET, GROUP, INTERCHANGE = "element", "segment", "set", "group", "interchange"
MAX_ERRORS_PER_SET = 200


@dataclass(frozen=True, slots=True)
class X12Error:
    """One problem: segment ID, segment position (in the set, ST = 1; envelope problems: segment number in the
    file), element position, 997 code, and a message a clerk can act on."""

    segment: str
    position: int
    element: int | None
    code: str
    message: str
    level: str = ELEMENT
    component: int | None = None
    reference: str | None = None
    bad_value: str | None = None
    loop_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "position": self.position,
            "element": self.element,
            "code": self.code,
            "message": self.message,
        }

    def __str__(self) -> str:
        return self.message


@dataclass(slots=True)
class SetResult:
    """One transaction set (ST … SE)."""

    set_id: str
    control: str
    position: int
    errors: list[X12Error] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)
    segment_count: int = 0
    supported: bool = True
    dropped_errors: int = 0
    trailer_control: str = ""

    @property
    def valid(self) -> bool:
        return not self.errors

    def add(self, error: X12Error) -> None:
        if len(self.errors) < MAX_ERRORS_PER_SET:
            self.errors.append(error)
        else:
            self.dropped_errors += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.set_id,
            "control": self.control,
            "valid": self.valid,
            "errors": [e.to_dict() for e in self.errors],
        }


@dataclass(slots=True)
class GroupResult:
    """One functional group (GS … GE)."""

    functional_id: str
    control: str
    version: str
    application_sender: str = ""
    application_receiver: str = ""
    base_version: str | None = None
    sets: list[SetResult] = field(default_factory=list)
    errors: list[X12Error] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)
    declared_sets: int | None = None
    trailer_control: str = ""

    @property
    def valid(self) -> bool:
        return not self.errors and all(s.valid for s in self.sets)

    def to_dict(self) -> dict[str, Any]:
        return {
            "functional_id": self.functional_id,
            "control": self.control,
            "version": self.version,
            "sets": [s.to_dict() for s in self.sets],
        }


@dataclass(slots=True)
class InterchangeResult:
    """One interchange (ISA … IEA) and who sent it to whom."""

    control: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    version: str
    usage: str
    groups: list[GroupResult] = field(default_factory=list)
    errors: list[X12Error] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)
    separators: Any = None  # reader.Separators of this interchange
    date: str = ""
    time: str = ""
    ack_requested: str = ""
    ta1s: list[list[str]] = field(default_factory=list)  # TA1 segments (elements) found in this interchange

    @property
    def valid(self) -> bool:
        return not self.errors and all(g.valid for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "groups": [g.to_dict() for g in self.groups]}


@dataclass(slots=True)
class ValidationReport:
    """Everything found in one file or stream; `.valid` only when there is at least one clean interchange."""

    interchanges: list[InterchangeResult] = field(default_factory=list)
    errors: list[X12Error] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.interchanges) and not self.errors and all(i.valid for i in self.interchanges)

    def all_errors(self) -> list[X12Error]:
        """File, interchange, group and set errors, in file order per level."""
        out = list(self.errors)
        for ic in self.interchanges:
            out.extend(ic.errors)
            for group in ic.groups:
                out.extend(group.errors)
                for ts in group.sets:
                    out.extend(ts.errors)
        return out

    def all_warnings(self) -> list[X12Error]:
        out = list(self.warnings)
        for ic in self.interchanges:
            out.extend(ic.warnings)
            for group in ic.groups:
                out.extend(group.warnings)
                for ts in group.sets:
                    out.extend(ts.warnings)
        return out

    def set_count(self) -> int:
        return sum(len(g.sets) for ic in self.interchanges for g in ic.groups)

    def to_dict(self) -> dict[str, Any]:
        """The `x12 validate --json` object (without "file"): set errors sit with their set; file, interchange and
        group errors in the top-level list."""
        envelope_errors = list(self.errors)
        envelope_warnings = list(self.warnings)
        for ic in self.interchanges:
            envelope_errors.extend(ic.errors)
            envelope_warnings.extend(ic.warnings)
            for group in ic.groups:
                envelope_errors.extend(group.errors)
                envelope_warnings.extend(group.warnings)
                for ts in group.sets:
                    envelope_warnings.extend(ts.warnings)
        return {
            "valid": self.valid,
            "interchanges": [ic.to_dict() for ic in self.interchanges],
            "errors": [e.to_dict() for e in envelope_errors],
            "warnings": [w.to_dict() for w in envelope_warnings],
        }
