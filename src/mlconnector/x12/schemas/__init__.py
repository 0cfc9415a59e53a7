"""Compiled X12 schemas: the segment dictionary and transaction set structures, built once from the text tables.

Everything here is data plus the small parsers that turn the text tables into lookup structures the validator
walks without allocation (tuples, dicts of child indices).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache

from mlconnector.x12.schemas.codes import (
    CHECKED_BEFORE_VERSION,
    CODE_LISTS,
    FRIENDLY,
    ISA_CODES,
    TA1_NOTES,
    VERSION_5010_CODES,
)
from mlconnector.x12.schemas.element_codes import ELEMENT_CODES_004010
from mlconnector.x12.schemas.element_codes_5010 import ELEMENT_CODES_005010
from mlconnector.x12.schemas.segments import (
    COMPOSITE_TEXT,
    SEGMENT_TEXT,
    SEGMENT_TEXT_5010,
    SHORT_TEXT,
    SHORT_TEXT_5010,
)
from mlconnector.x12.schemas.sets import SET_TEXT, SET_TEXT_5010

AN, ID, NUM, R, DT, TM, COMPOSITE = range(7)
_KINDS = {"AN": AN, "ID": ID, "N0": NUM, "N1": NUM, "N2": NUM, "N3": NUM, "N4": NUM, "R": R, "DT": DT, "TM": TM}

SUPPORTED_SETS = ("810", "850", "855", "856", "860", "997")
FUNCTIONAL_IDS = {"810": "IN", "850": "PO", "855": "PR", "856": "SH", "860": "PC", "997": "FA"}
SUPPORTED_VERSIONS = ("004010", "005010")
ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
# ID elements whose codes are maintained outside X12 (postal codes, industry codes) and may hold any characters.
EXTERNAL_CODE_SOURCES = frozenset({"116", "1271"})
__all__ = ["ISA_CODES", "TA1_NOTES"]


@dataclass(frozen=True, slots=True)
class ElementDef:
    """One simple (or composite) data element of a segment."""

    position: int
    mandatory: bool
    kind: int
    type_name: str
    min_len: int
    max_len: int
    ref: str
    name: str
    codes: frozenset[str] | None = None
    components: tuple[ElementDef, ...] = ()  # a composite's component elements (C001, C040 …)
    component_notes: tuple[SyntaxNote, ...] = ()

    @property
    def coded(self) -> bool:
        """An ID element whose codes come from an X12 code list: a code is upper-case letters and digits even
        where the full list is not in our tables (postal and industry codes come from outside X12)."""
        return self.kind == ID and self.ref not in EXTERNAL_CODE_SOURCES

    @property
    def label(self) -> str:
        """Clerk-facing name ("product ID qualifier") for messages."""
        return FRIENDLY.get(self.ref, self.name[:1].lower() + self.name[1:])


@dataclass(frozen=True, slots=True)
class SyntaxNote:
    """X12 syntax note: P paired, R required (one of), C conditional, E exclusion, L list conditional."""

    kind: str
    positions: tuple[int, ...]

    @property
    def text(self) -> str:
        return self.kind + "".join(f"{p:02d}" for p in self.positions)


@dataclass(frozen=True, slots=True)
class SegmentDef:
    """A segment from the dictionary; `elements` is empty for segments known only by position in a set."""

    tag: str
    name: str
    elements: tuple[ElementDef, ...]
    notes: tuple[SyntaxNote, ...] = ()
    described: bool = True


@dataclass(slots=True)
class Loop:
    """A loop (or the body of a set): ordered entries; entry 0 of a real loop is its trigger segment."""

    loop_id: str
    entries: list[Entry] = field(default_factory=list)
    index: dict[str, tuple[int, ...]] = field(default_factory=dict)
    required: tuple[int, ...] = ()
    required_from: tuple[tuple[int, ...], ...] = ()  # for each entry: the required entries at or after it
    fresh_counts: tuple[int, ...] = ()  # the entry counts of a new iteration (its trigger seen once)


@dataclass(slots=True)
class Entry:
    """A segment or loop slot inside a loop: how often it may occur and whether it must."""

    tag: str
    mandatory: bool
    max_use: int
    loop: Loop | None = None


@dataclass(frozen=True, slots=True)
class SetSchema:
    """A transaction set: its body loop (between ST and SE) and every segment tag it may contain."""

    set_id: str
    version: str
    body: Loop
    tags: frozenset[str]


def _parse_notes(text: str) -> tuple[SyntaxNote, ...]:
    notes = []
    for token in text.split():
        digits = token[1:]
        notes.append(SyntaxNote(token[0], tuple(int(digits[i : i + 2]) for i in range(0, len(digits), 2))))
    return tuple(notes)


def _widen(own: frozenset[str] | None, listed: frozenset[str] | None) -> frozenset[str] | None:
    """A position list the connector acts on, widened by its element's dictionary list: a listed code never fails."""
    if own is not None and listed is not None:
        return own | listed
    return own if own is not None else listed


def _element(position: int, spec: str, name: str | None, tag: str) -> ElementDef:
    req, type_name, lengths, *rest = spec.split(maxsplit=4)
    ref = rest[0] if rest else ""
    label = rest[1] if len(rest) > 1 else (name or f"{tag}{position:02d}")
    lo, hi = (int(x) for x in lengths.split("/"))
    kind = COMPOSITE if type_name == "C" else _KINDS[type_name]
    codes = _widen(CODE_LISTS.get((tag, position)), ELEMENT_CODES_004010.get(ref))  # 005010: `_codes_5010`
    if (tag, position) in CHECKED_BEFORE_VERSION:
        codes = _widen(codes, ELEMENT_CODES_005010.get(ref))
    components: tuple[ElementDef, ...] = ()
    component_notes: tuple[SyntaxNote, ...] = ()
    if kind == COMPOSITE and ref in COMPOSITES:
        components, component_notes = COMPOSITES[ref]
        label = rest[1] if len(rest) > 1 else COMPOSITE_NAMES[ref]
    return ElementDef(position, req == "M", kind, type_name, lo, hi, ref, label, codes, components, component_notes)


def _parse_composites() -> tuple[dict[str, tuple[tuple[ElementDef, ...], tuple[SyntaxNote, ...]]], dict[str, str]]:
    found: dict[str, tuple[tuple[ElementDef, ...], tuple[SyntaxNote, ...]]] = {}
    names: dict[str, str] = {}
    ref = ""
    elements: list[ElementDef] = []
    notes: list[SyntaxNote] = []
    for raw in COMPOSITE_TEXT.strip().splitlines():
        line = raw.strip()
        if not raw.startswith(" "):
            ref, _, name = line.partition(" ")
            names[ref] = name
            elements, notes = [], []
        elif line.startswith("="):
            notes.extend(_parse_notes(line[1:]))
        else:
            elements.append(_element(len(elements) + 1, line, None, ref))
        found[ref] = (tuple(elements), tuple(notes))
    return found, names


def _parse_dictionary(text: str | None = None) -> dict[str, SegmentDef]:
    segments: dict[str, SegmentDef] = {}
    tag = ""
    name = ""
    elements: list[ElementDef] = []
    notes: list[SyntaxNote] = []

    def flush() -> None:
        if tag:
            segments[tag] = SegmentDef(tag, name, tuple(elements), tuple(notes))

    for raw in (text or SEGMENT_TEXT).strip().splitlines():
        line = raw.strip()
        if not raw.startswith(" "):
            flush()
            tag, _, name = line.partition(" ")
            elements, notes = [], []
        elif line.startswith("="):
            notes.extend(_parse_notes(line[1:]))
        elif line.startswith("+PAIRS"):
            _, count, q_ref, id_ref, id_max = line.split()
            for _ in range(int(count)):
                p = len(elements) + 1
                elements.append(_element(p, f"X ID 2/2 {q_ref} Product/Service ID Qualifier", None, tag))
                elements.append(_element(p + 1, f"X AN 1/{id_max} {id_ref} Product/Service ID", None, tag))
                notes.append(SyntaxNote("P", (p, p + 1)))
        else:
            elements.append(_element(len(elements) + 1, line, None, tag))
    flush()
    if text is not None:
        return segments
    segments.update(_parse_short(SHORT_TEXT))
    return segments


def _parse_short(text: str) -> dict[str, SegmentDef]:
    """The compact rows: `TAG spec, spec, … = NOTES`, one segment a line (a trailing backslash continues it)."""
    segments = {}
    for line in text.replace("\\\n", "").strip().splitlines():
        tag, _, rest = line.partition(" ")
        rest, _, note_text = rest.partition("=")
        specs = [s.strip() for s in rest.split(",")]
        elements = [_element(i, spec, None, tag) for i, spec in enumerate(specs, 1)]
        segments[tag] = SegmentDef(tag, tag, tuple(elements), _parse_notes(note_text))
    return segments


def _parse_structure(set_id: str, text: str) -> tuple[Loop, set[str]]:
    root = Loop(loop_id="")
    tags: set[str] = set()
    stack: list[tuple[int, Loop]] = [(-1, root)]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for i, raw in enumerate(lines):
        indent = len(raw) - len(raw.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        items = [item.split() for item in raw.strip().split(",")]
        next_indent = len(lines[i + 1]) - len(lines[i + 1].lstrip()) if i + 1 < len(lines) else -1
        for j, (tag, req, max_use) in enumerate(items):
            tags.add(tag)
            mx = 10**9 if max_use == ">1" else int(max_use)
            entry = Entry(tag, req == "M", mx)
            if j == len(items) - 1 and next_indent > indent:
                entry.loop = Loop(loop_id=tag, entries=[Entry(tag, True, 1)])
                stack.append((indent, entry.loop))
            parent.entries.append(entry)
    _index(root)
    return root, tags


def _index(loop: Loop) -> None:
    """Child lookup by tag; a loop's own trigger (entry 0) is matched one level up, as a new iteration."""
    start = 1 if loop.loop_id else 0
    index: dict[str, list[int]] = {}
    for i, entry in enumerate(loop.entries[start:], start):
        index.setdefault(entry.tag, []).append(i)
        if entry.loop:
            _index(entry.loop)
    loop.index = {tag: tuple(ix) for tag, ix in index.items()}
    loop.required = tuple(i for i, e in enumerate(loop.entries) if e.mandatory and i >= start)
    loop.required_from = tuple(tuple(k for k in loop.required if k >= i) for i in range(len(loop.entries)))
    loop.fresh_counts = (1,) + (0,) * (len(loop.entries) - 1) if loop.entries else ()


def _all_structure_tags() -> frozenset[str]:
    tags: set[str] = set()
    for set_id, text in [*SET_TEXT.items(), *SET_TEXT_5010.items()]:
        tags |= _parse_structure(set_id, text)[1]
    return frozenset(tags)


COMPOSITES, COMPOSITE_NAMES = _parse_composites()
DICTIONARY: dict[str, SegmentDef] = _parse_dictionary()
DICTIONARY_5010: dict[str, SegmentDef] = {
    **DICTIONARY,
    **_parse_short(SHORT_TEXT_5010),
    **_parse_dictionary(SEGMENT_TEXT_5010),
}
STRUCTURE_TAGS: frozenset[str] = _all_structure_tags()


def base_version(gs08: str) -> str | None:
    """004010VICS, 004010X357, 005010X231 … validate against their base release; anything else is unsupported."""
    for version in SUPPORTED_VERSIONS:
        if gs08.startswith(version):
            return version
    return None


@cache
def segment_def(tag: str, version: str = "004010") -> SegmentDef | None:
    """The dictionary entry for `tag` in `version`, or a position-only entry for a tag that sets use."""
    seg = (DICTIONARY_5010 if version == "005010" else DICTIONARY).get(tag)
    if version == "005010" and seg is not None:
        seg = _codes_5010(seg)
    if seg is None and tag in STRUCTURE_TAGS:
        return SegmentDef(tag, tag, (), (), described=False)
    return seg


def _codes_5010(seg: SegmentDef) -> SegmentDef:
    """005010's own code lists: an element with a 005010 dictionary list (`element_codes_5010.py`) gets that list,
    never the 004010 one; a position list the connector acts on (`codes.py`) is widened by the 005010 dictionary
    list of its element (353 gains 57, GS01/AK101 the whole 479 list), so a code 005010 lists is never rejected;
    the 997 error code lists are the 005010 ones (`VERSION_5010_CODES`)."""
    elements = tuple(_element_5010(seg.tag, el) for el in seg.elements)
    return seg if elements == seg.elements else replace(seg, elements=elements)


def _element_5010(tag: str, el: ElementDef) -> ElementDef:
    codes = _list_5010((tag, el.position), el.ref)
    comps = tuple(
        replace(c, codes=_list_5010((el.ref, c.position), c.ref)) if c.kind == ID else c for c in el.components
    )
    if el.kind != ID:
        codes = el.codes
    return replace(el, codes=codes, components=comps) if (codes, comps) != (el.codes, el.components) else el


def _list_5010(position: tuple[str, int], ref: str) -> frozenset[str] | None:
    return _widen(VERSION_5010_CODES.get(position, CODE_LISTS.get(position)), ELEMENT_CODES_005010.get(ref))


@cache
def set_schema(set_id: str, version: str) -> SetSchema | None:
    """The structure of a supported transaction set in a supported base version, else None."""
    if set_id not in SET_TEXT or version not in SUPPORTED_VERSIONS:
        return None
    text = SET_TEXT_5010.get(set_id, SET_TEXT[set_id]) if version == "005010" else SET_TEXT[set_id]
    body, tags = _parse_structure(set_id, text)
    return SetSchema(set_id, version, body, frozenset(tags))


def element_name(tag: str, position: int, version: str = "004010") -> str:
    """Human name of element `position` of `tag` (for `x12 show`)."""
    seg = segment_def(tag, version)
    if seg and 0 < position <= len(seg.elements):
        return seg.elements[position - 1].name
    return ""
