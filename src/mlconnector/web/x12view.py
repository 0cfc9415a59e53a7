"""Raw X12 as a clerk can read it: one segment per row with its element names, and every validation message
placed on the segment (and element) it is about."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlconnector.x12 import validate
from mlconnector.x12.reader import InterchangeStart, Junk, Note, tokens_from_data
from mlconnector.x12.report import X12Error
from mlconnector.x12.schemas import base_version, element_name, segment_def


@dataclass
class Element:
    reference: str
    name: str
    value: str
    errors: list[str] = field(default_factory=list)


@dataclass
class Segment:
    number: int
    tag: str
    title: str
    elements: list[Element]
    errors: list[str] = field(default_factory=list)


@dataclass
class X12View:
    segments: list[Segment]
    valid: bool
    messages: list[str]


def _place(errors: list[X12Error]) -> dict[tuple[int, str], list[X12Error]]:
    placed: dict[tuple[int, str], list[X12Error]] = {}
    for error in errors:
        placed.setdefault((error.position, error.segment), []).append(error)
    return placed


def render(payload: str) -> X12View:
    """Segments with names; set errors are matched by their position in the set (ST = 1), envelope errors by the
    segment number in the file."""
    report = validate(payload, lenient=True)
    envelope: list[X12Error] = list(report.errors)
    set_errors: list[list[X12Error]] = []
    for ic in report.interchanges:
        envelope.extend(ic.errors)
        for group in ic.groups:
            envelope.extend(group.errors)
            for ts in group.sets:
                set_errors.append(ts.errors + ts.warnings)
    by_file = _place(envelope)
    segments: list[Segment] = []
    messages: list[str] = []
    version, separator = "004010", "*"
    set_index, position = -1, 0
    for number, token in enumerate(tokens_from_data(payload), 1):
        if isinstance(token, Note):
            messages.append(token.message)
            continue
        if isinstance(token, Junk):
            segments.append(Segment(number, "???", "not X12", [], [f"not X12: {token.text[:60]!r}"]))
            continue
        if isinstance(token, InterchangeStart):
            separator = token.separators.element
            els = list(token.elements)
        else:
            els = token.split(separator)
        tag = els[0]
        if tag == "GS" and len(els) > 8:
            version = base_version(els[8]) or version
        if tag == "ST":
            set_index, position = set_index + 1, 1
        elif position:
            position += 1
        placed: list[X12Error] = list(by_file.get((number, tag), []))
        if position and 0 <= set_index < len(set_errors):
            placed += [e for e in set_errors[set_index] if e.position == position and e.segment == tag]
        seg = segment_def(tag, version) if len(tag) <= 3 else None
        title = seg.name if seg and seg.name != tag else ("" if seg else "(unknown segment)")
        elements = []
        for index, value in enumerate(els[1:], 1):
            name = element_name(tag, index, version) or "(beyond the segment's elements)"
            notes = [e.message for e in placed if e.element == index]
            if value or notes:
                elements.append(Element(f"{tag}{index:02d}", name, value, notes))
        segment_notes = [e.message for e in placed if e.element is None or e.element > len(els) - 1]
        segments.append(Segment(number, tag, title, elements, segment_notes))
        if tag == "SE":
            position = 0
    placed_messages = {m for s in segments for m in s.errors} | {
        m for s in segments for e in s.elements for m in e.errors
    }
    messages += [e.message for e in report.all_errors() if e.message not in placed_messages]
    return X12View(segments, report.valid, messages)
