"""A catalog of single, known-invalid mutations of valid X12 files (used by the mutation test and by hand).

Each mutant breaks exactly one rule of the standard: a mandatory value blanked or made of spaces, a code changed,
a value too long or with a control character, a bad date or time, a syntax-note pair broken, a count or control
number wrong, a duplicate control number, a mandatory segment removed or a single one repeated, an unknown
segment, a trailing separator, a broken composite, a broken hierarchy, an ISA value outside its code list, an AK9
that contradicts its AK5s. Files are rebuilt with the same delimiters, so the unmutated rebuild is still valid.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlconnector.x12.schemas import AN, COMPOSITE, DT, ID, NUM, TM, segment_def


@dataclass
class Parsed:
    element: str
    component: str
    terminator: str
    segments: list[list[str]]

    def render(self) -> bytes:
        end = self.terminator + ("" if self.terminator == "\n" else "\n")
        return "".join(self.element.join(s) + end for s in self.segments).encode()

    def copy(self) -> Parsed:
        return Parsed(self.element, self.component, self.terminator, [list(s) for s in self.segments])

    @property
    def version(self) -> str:
        """The base release named in GS08: element definitions (code lists) are looked up in it."""
        gs = next((s for s in self.segments if s[0] == "GS" and len(s) > 8), None)
        return "005010" if gs is not None and gs[8].startswith("005010") else "004010"


def parse(data: bytes) -> Parsed:
    text = data.decode("utf-8-sig")
    element, component, terminator = text[3], text[104], text[105]
    segments = [s.strip("\r\n ") for s in text.split(terminator)]
    return Parsed(element, component, terminator, [s.split(element) for s in segments if s])


def to_5010(data: bytes) -> bytes:
    """The same interchange as 005010 (ISA11 repetition separator ^, ISA12 00501, GS08 005010)."""
    p = parse(data)
    for seg in p.segments:
        if seg[0] == "ISA":
            seg[11], seg[12] = "^", "00501"
        elif seg[0] == "GS":
            seg[8] = "005010"
    return p.render()


def _body(p: Parsed) -> list[int]:
    """Indexes of segments inside transaction sets (not ST/SE)."""
    out, inside = [], False
    for i, seg in enumerate(p.segments):
        if seg[0] == "ST":
            inside = True
        elif seg[0] == "SE":
            inside = False
        elif inside:
            out.append(i)
    return out


def _elements(p: Parsed, rnd: random.Random, want) -> Iterator[tuple[int, int]]:  # type: ignore[no-untyped-def]
    spots = []
    for i in _body(p):
        seg = p.segments[i]
        definition = segment_def(seg[0], p.version)
        if definition is None or not definition.described:
            continue
        for el in definition.elements:
            value = seg[el.position] if el.position < len(seg) else ""
            if want(el, value, seg):
                spots.append((i, el.position))
    rnd.shuffle(spots)
    yield from spots


def _set_element(seg: list[str], position: int, value: str) -> None:
    while len(seg) <= position:
        seg.append("")
    seg[position] = value
    while len(seg) > 1 and seg[-1] == "":
        seg.pop()


def mutants(data: bytes, seed: int, per_kind: int = 3) -> Iterator[tuple[str, bytes]]:
    """(kind, mutated bytes) — up to `per_kind` of each kind for this file."""
    base = parse(data)
    rnd = random.Random(seed)

    def element_kind(kind: str, want, change) -> Iterator[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
        for n, (i, pos) in enumerate(_elements(base, rnd, want)):
            if n >= per_kind:
                return
            p = base.copy()
            seg = p.segments[i]
            value = seg[pos] if pos < len(seg) else ""
            _set_element(seg, pos, change(value, seg))
            yield kind, p.render()

    def simple(el) -> bool:  # type: ignore[no-untyped-def]
        return el.kind != COMPOSITE

    # Element values.
    yield from element_kind("mandatory blanked", lambda el, v, s: el.mandatory and v, lambda v, s: "")
    yield from element_kind(
        "mandatory all spaces", lambda el, v, s: el.mandatory and el.kind == AN and v, lambda v, s: " " * len(v)
    )
    yield from element_kind(
        "code changed",
        lambda el, v, s: el.kind == ID and v and any(c.isalpha() for c in v) and el.coded,
        lambda v, s: v.lower(),
    )
    yield from element_kind(
        "code not in list",
        # the guard tests the value the mutation writes (a 1-character code becomes "Q", which 735 lists)
        lambda el, v, s: el.codes is not None and v and "QQ"[: max(1, min(2, len(v)))] not in el.codes,
        lambda v, s: "QQ"[: max(1, min(2, len(v)))],
    )
    yield from element_kind(
        "too long",
        lambda el, v, s: simple(el) and v and el.kind in (AN, ID, NUM) and el.max_len < 60,
        lambda v, s: v + "9" * 61,
    )
    yield from element_kind("control character", lambda el, v, s: simple(el) and v, lambda v, s: v[:1] + "\x01" + v[1:])
    yield from element_kind("bad date", lambda el, v, s: el.kind == DT and v, lambda v, s: v[:-4] + "1345")
    yield from element_kind("bad time", lambda el, v, s: el.kind == TM and v, lambda v, s: "2561")
    yield from element_kind("not a number", lambda el, v, s: el.kind == NUM and v, lambda v, s: v + "A")
    # Syntax notes: blank one side of a pair that is present.
    for n, (i, _note, pos) in enumerate(_present_pairs(base, rnd)):
        if n >= per_kind:
            break
        p = base.copy()
        _set_element(p.segments[i], pos, "")
        yield "syntax note broken", p.render()
    # Segments.
    for i in rnd.sample(_body(base), min(per_kind, len(_body(base)))):
        p = base.copy()
        p.segments[i].append("")  # joined, the empty last element leaves a separator at the end
        yield "trailing separator", p.render()
    for tag in ("BEG", "BAK", "BSN", "BIG", "AK1", "AK9", "TDS"):
        indexes = [i for i in _body(base) if base.segments[i][0] == tag]
        if indexes:
            p = base.copy()
            del p.segments[indexes[0]]
            yield "mandatory segment removed", _recount(p)
            p = base.copy()
            p.segments.insert(indexes[0] + 1, list(base.segments[indexes[0]]))
            yield "single segment repeated", _recount(p)
    p = base.copy()
    p.segments.insert(_body(base)[0] + 1, ["ZZZ", "1"])
    yield "unknown segment", _recount(p)
    # Envelope counts and control numbers.
    for tag, position, kind in (
        ("SE", 1, "count wrong"),
        ("GE", 1, "count wrong"),
        ("IEA", 1, "count wrong"),
        ("CTT", 1, "count wrong"),
        ("SE", 2, "control number mismatch"),
        ("GE", 2, "control number mismatch"),
        ("IEA", 2, "control number mismatch"),
    ):
        p = base.copy()
        seg = next((s for s in p.segments if s[0] == tag), None)
        if seg is None or len(seg) <= position or not seg[position].isdigit():
            continue
        seg[position] = str(int(seg[position]) + 1).zfill(len(seg[position]))
        yield kind, p.render()
    # A second copy of the first set (same ST02) in its group.
    st = next(i for i, s in enumerate(base.segments) if s[0] == "ST")
    se = next(i for i, s in enumerate(base.segments) if s[0] == "SE")
    p = base.copy()
    p.segments[se + 1 : se + 1] = [list(s) for s in base.segments[st : se + 1]]
    ge = next(s for s in p.segments if s[0] == "GE")
    ge[1] = str(int(ge[1]) + 1)
    yield "ST02 twice in a group", p.render()
    # A second copy of the whole group (same GS06) in the interchange.
    gs = next(i for i, s in enumerate(base.segments) if s[0] == "GS")
    ge_i = next(i for i, s in enumerate(base.segments) if s[0] == "GE")
    p = base.copy()
    p.segments[ge_i + 1 : ge_i + 1] = [list(s) for s in base.segments[gs : ge_i + 1]]
    iea = p.segments[-1]
    iea[1] = str(int(iea[1]) + 1)
    yield "GS06 twice in an interchange", p.render()
    # ISA code lists.
    for position, value in ((1, "99"), (3, "77"), (5, "XX"), (7, "X9"), (12, "00999"), (14, "2"), (15, "Q")):
        p = base.copy()
        p.segments[0][position] = value.ljust(len(p.segments[0][position]))[: len(p.segments[0][position])]
        yield "ISA code", p.render()
    p = base.copy()
    if p.segments[0][12] < "00403":
        p.segments[0][11] = "^"
        yield "ISA11 repetition separator before 00403", p.render()
    # Hierarchy.
    hls = [i for i in _body(base) if base.segments[i][0] == "HL"]
    if len(hls) > 2:
        p = base.copy()
        _set_element(p.segments[hls[-1]], 2, "999")
        yield "HL02 names no parent", p.render()
        p = base.copy()
        p.segments[hls[-1]][1] = base.segments[hls[1]][1]
        yield "HL01 reused", p.render()
    # Composites present in the file.
    for i in _body(base):
        seg = base.segments[i]
        definition = segment_def(seg[0], base.version)
        for el in definition.elements if definition else ():
            if el.components and el.position < len(seg) and seg[el.position]:
                p = base.copy()
                p.segments[i][el.position] = seg[el.position] + base.component + "X" * 3
                yield "composite broken", p.render()
    # 997: AK9 that contradicts its AK5s.
    for i in _body(base):
        seg = base.segments[i]
        if seg[0] == "AK9":
            p = base.copy()
            p.segments[i][1] = "R" if seg[1] != "R" else "A"
            yield "AK9 contradicts AK5", p.render()


def _present_pairs(p: Parsed, rnd: random.Random) -> list[tuple[int, object, int]]:
    found = []
    for i in _body(p):
        seg = p.segments[i]
        definition = segment_def(seg[0], p.version)
        for note in definition.notes if definition else ():
            if note.kind == "P" and all(q < len(seg) and seg[q] for q in note.positions):
                found.append((i, note, note.positions[-1]))
    rnd.shuffle(found)
    return found


def _recount(p: Parsed) -> bytes:
    """Fix SE01 after adding or removing a segment, so only the intended rule is broken."""
    count = 0
    for seg in p.segments:
        if seg[0] == "ST":
            count = 1
        elif seg[0] == "SE":
            seg[1] = str(count + 1)
        else:
            count += 1
    return p.render()


def valid_sources(directory: Path) -> list[tuple[str, bytes]]:
    """The valid samples, and 005010 copies of the purchasing, shipping and invoice ones."""
    out = []
    for path in sorted(directory.glob("*.edi")):
        if path.name.startswith("ERR_") or path.name == "997_4010_sd_fa997.edi":
            continue
        data = path.read_bytes()
        out.append((path.name, data))
        if path.name[:3] in ("850", "855", "856", "810"):
            out.append((path.name + " as 005010", to_5010(data)))
    return out
