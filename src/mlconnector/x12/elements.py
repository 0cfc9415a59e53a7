"""Element checks for one segment: a compiled regular expression accepts a clean segment in one C-level call;
only a segment it rejects is split and walked element by element to say exactly what is wrong.

The slow path is the definition (types, lengths, code lists, characters); the regex is built to accept exactly
what the slow path accepts (a property test holds them to that), minus calendar checks and syntax notes, which
run in Python for the few segments that have them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from mlconnector.x12.report import ELEMENT, X12Error
from mlconnector.x12.schemas import AN, COMPOSITE, DT, ID, NUM, TM, ElementDef, SegmentDef, SyntaxNote
from mlconnector.x12.schemas import R as REAL

_CONTROL = "\x00-\x1f\x7f\ufffd"
_ANY_SEPARATOR = "\x00SEP\x00"  # placeholder in element patterns, replaced by the escaped element separator
_NUMERIC = re.compile(r"-?\d+", re.ASCII)
_REAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)", re.ASCII)
_TIME = re.compile(r"(?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d\d{0,2})?", re.ASCII)


def _char_class(banned: str) -> str:
    return "[^" + _CONTROL + re.escape(banned) + "]"


def _time_pattern(lo: int, hi: int) -> str:
    lengths = [n for n in (4, 6, 7, 8) if lo <= n <= hi]
    tails = {4: "", 6: "[0-5]\\d", 7: "[0-5]\\d\\d", 8: "[0-5]\\d\\d\\d"}
    return "(?:[01]\\d|2[0-3])[0-5]\\d(?:" + "|".join(tails[n] for n in lengths) + ")" if lengths else "(?!)"


def _date_pattern(el: ElementDef) -> str:
    century = "\\d{4}" if el.max_len >= 8 else "\\d\\d"
    return century + "(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\\d|3[01])" if el.min_len in (6, 8) else "(?!)"


def _composite_pattern(el: ElementDef, cls: str, component: str) -> str:
    """Components joined by the component separator, built like a segment: trailing optional ones may be left off."""
    sep = re.escape(component)
    first, *rest = el.components
    suffix = ""
    all_optional = True
    for comp in reversed(rest):
        pat = _element_pattern(comp, cls, cls)
        piece = f"{sep}(?:{pat})" if comp.mandatory else f"{sep}(?:{pat})?"
        all_optional = all_optional and not comp.mandatory
        suffix = f"(?:{piece}{suffix})?" if all_optional else f"{piece}{suffix}"
    head = _element_pattern(first, cls, cls)
    return f"(?:{head}){suffix}" if first.mandatory else f"(?:{head})?{suffix}"


def _element_pattern(el: ElementDef, cls: str, composite_cls: str, component: str = "") -> str:
    if el.kind == NUM:
        return f"-?\\d{{{el.min_len},{el.max_len}}}"
    if el.kind == REAL:
        lo = max(el.min_len, 1)
        return (
            f"-?(?:\\d{{{lo},{el.max_len}}}|(?=[\\d.]{{{lo + 1},{el.max_len + 1}}}(?![\\d.]))(?:\\d+\\.\\d*|\\.\\d+))"
        )
    if el.kind == DT:
        return _date_pattern(el)
    if el.kind == TM:
        return _time_pattern(el.min_len, el.max_len)
    if el.kind == COMPOSITE:
        return _composite_pattern(el, cls, component) if el.components and component else composite_cls + "+"
    if el.codes is not None:
        return codes_pattern(el.codes)
    if el.coded:
        return f"[A-Z0-9]{{{el.min_len},{el.max_len}}}"
    if el.kind == AN and el.mandatory:
        return f"(?! *(?:{_ANY_SEPARATOR}|$)){cls}{{{el.min_len},{el.max_len}}}"  # not only spaces
    return f"{cls}{{{el.min_len},{el.max_len}}}"


def codes_pattern(codes: frozenset[str]) -> str:
    """A regex matching exactly `codes`, shaped as a trie: a 1,300-code list costs a few character tests per value
    instead of a scan of every alternative."""
    if not codes:
        return "(?!)"
    return _trie(sorted(codes))


def _trie(codes: list[str]) -> str:
    """Pattern for the non-empty sorted `codes` (the empty string among them means: may end here)."""
    ends = "" in codes
    branches: dict[str, list[str]] = {}
    for code in codes:
        if code:
            branches.setdefault(code[0], []).append(code[1:])
    if not branches:
        return ""
    parts = []
    leaves = [ch for ch, rest in branches.items() if rest == [""]]
    if len(leaves) > 1:
        parts.append("[" + "".join(re.escape(ch) for ch in leaves) + "]")
    else:
        leaves = []
    for ch, rest in branches.items():
        if ch not in leaves:
            parts.append(re.escape(ch) + _trie(rest))
    body = parts[0] if len(parts) == 1 and not ends else "(?:" + "|".join(parts) + ")"
    return body + "?" if ends else body


def build_pattern(seg: SegmentDef, element: str, component: str, repetition: str | None) -> str:
    """Regex for a whole clean segment (tag included) with these delimiters."""
    sep = re.escape(element)
    cls = _char_class(element + component + (repetition or ""))
    composite_cls = _char_class(element + (repetition or ""))
    elements = seg.elements
    suffix = ""
    all_optional = True
    for el in reversed(elements):
        pat = _element_pattern(el, cls, composite_cls, component).replace(_ANY_SEPARATOR, sep)
        piece = f"{sep}(?:{pat})" if el.mandatory else f"{sep}(?:{pat})?"
        all_optional = all_optional and not el.mandatory
        suffix = f"(?:{piece}{suffix})?" if all_optional else f"{piece}{suffix}"
    return re.escape(seg.tag) + suffix


_KNOWN_DATES: dict[str, bool] = {}


def _valid_date(value: str) -> bool:
    """Calendar check; a file repeats a handful of dates, so verdicts are remembered (bounded)."""
    known = _KNOWN_DATES.get(value)
    if known is None:
        known = _calendar_date(value)
        if len(_KNOWN_DATES) < 4096:
            _KNOWN_DATES[value] = known
    return known


def _calendar_date(value: str) -> bool:
    if not (value.isascii() and value.isdigit()) or len(value) not in (6, 8):
        return False
    year = int(value[:-4]) if len(value) == 8 else 2000 + int(value[:2])
    try:
        date(year, int(value[-4:-2]), int(value[-2:]))
    except ValueError:
        return False
    return True


def _digits(value: str) -> int:
    return sum(ch in "0123456789" for ch in value)


@dataclass(frozen=True, slots=True)
class Context:
    """Where a segment sits, for messages: tag, position in the set, and the order line it belongs to."""

    tag: str
    position: int
    line: str | None = None

    def describe(self) -> str:
        if self.line:
            return f"{self.tag} line {self.line}" if self.tag in _LINE_TAGS else f"{self.tag} in line {self.line}"
        return f"{self.tag} (segment {self.position})"


_LINE_TAGS = frozenset({"PO1", "IT1", "POC", "LIN", "SN1", "ACK"})
_CLEAN_LIMIT = 2048  # clean segment texts remembered per segment type and delimiter set


class SegmentChecker:
    """Checks one segment type under one set of delimiters."""

    __slots__ = (
        "banned",
        "clean",
        "component",
        "composite_notes",
        "dates",
        "fast",
        "full_ok",
        "notes",
        "plain",
        "quick_notes",
        "repetition",
        "required_notes",
        "seg",
        "sep",
    )

    def __init__(self, seg: SegmentDef, element: str, component: str, repetition: str | None) -> None:
        self.seg = seg
        self.sep = element
        self.component = component
        self.composite_notes = tuple(el for el in seg.elements if el.component_notes)
        self.plain = not seg.notes and not any(el.kind == DT for el in seg.elements) and not self.composite_notes
        self.banned = set(component + (repetition or ""))
        self.repetition = repetition
        pattern = build_pattern(seg, element, component, repetition)
        self.fast = re.compile(pattern, re.ASCII).fullmatch if seg.described else None
        self.dates = tuple(el.position for el in seg.elements if el.kind == DT)
        self.notes = seg.notes
        # For the quick test: non-R notes sorted by their lowest position (all absent → satisfied), R notes apart.
        self.quick_notes = tuple(
            sorted(((min(n.positions), n.kind, n.positions) for n in seg.notes if n.kind != "R"), key=lambda t: t[0])
        )
        self.required_notes = tuple(n.positions for n in seg.notes if n.kind == "R")
        self.full_ok: dict[int, bool] = {}  # element count → do the notes hold when no element is empty
        # Segments already found clean, verbatim: a file repeats many (DTM*036*…, PID*F****…, PO4*1*1*EA), and a
        # clean verdict depends on nothing but the text and the delimiters this checker was built for.
        self.clean: set[str] = set()

    def _notes_hold(self, els: list[str]) -> bool:
        """True when every syntax note holds. A segment without empty elements depends only on its length."""
        if "" in els:
            return self._notes_hold_slow(els)
        n = len(els)
        ok = self.full_ok.get(n)
        if ok is None:
            ok = self.full_ok[n] = self._notes_hold_slow(els)
        return ok

    def _notes_hold_slow(self, els: list[str]) -> bool:
        """True when every syntax note holds; only a False sends the segment to `check_notes` for messages."""
        n = len(els)
        for positions in self.required_notes:
            if not any(p < n and els[p] for p in positions):
                return False
        for lowest, kind, positions in self.quick_notes:
            if lowest >= n:
                break
            present = [p < n and els[p] != "" for p in positions]
            if kind == "P":
                if any(present) and not all(present):
                    return False
            elif kind == "C":
                if present[0] and not all(present):
                    return False
            elif kind == "L":
                if present[0] and not any(present[1:]):
                    return False
            elif kind == "E" and sum(present) > 1:
                return False
        return True

    def check(self, raw: str, ctx_line: str | None, position: int) -> list[X12Error] | None:
        """None when the segment is clean; otherwise its element errors (AK403 codes)."""
        if raw in self.clean:
            return None
        if self.fast is None:
            return self._characters_only(raw, ctx_line, position)
        if self.fast(raw) is not None and raw[-1] != self.sep and raw.isprintable():
            if self.plain or (not self.notes and not self.dates and self.component not in raw):
                if len(self.clean) < _CLEAN_LIMIT and len(raw) <= 256:
                    self.clean.add(raw)
                return None
            els = raw.split(self.sep)
            errors = self._dates(els, ctx_line, position) if self.dates else None
            if self.notes and not self._notes_hold(els):
                note_errors = check_notes(self.seg, self.notes, els, Context(self.seg.tag, position, ctx_line))
                if note_errors:
                    errors = (errors or []) + note_errors
            if self.composite_notes and self.component in raw:
                ctx = Context(self.seg.tag, position, ctx_line)
                for el in self.composite_notes:
                    if el.position < len(els) and self.component in els[el.position]:
                        found = self._composite_notes(el, els[el.position].split(self.component), ctx)
                        if found:
                            errors = (errors or []) + found
            if errors is None:
                self._remember(raw)
            return errors
        els = raw.split(self.sep)
        ctx = Context(self.seg.tag, position, ctx_line)
        errors = self.slow(els, ctx)
        errors.extend(check_notes(self.seg, self.notes, els, ctx))
        return errors or None

    def _remember(self, raw: str) -> None:
        """Keep a clean segment's text (bounded: a file of unique segments costs at most this much memory)."""
        if len(self.clean) < _CLEAN_LIMIT and len(raw) <= 256:
            self.clean.add(raw)

    def _characters_only(self, raw: str, ctx_line: str | None, position: int) -> list[X12Error] | None:
        ctx = Context(self.seg.tag, position, ctx_line)
        if raw.endswith(self.sep):
            msg = f"{ctx.describe()}: the segment ends with an element separator (nothing after it)"
            return [_err(ctx, raw.count(self.sep), "3", msg, None)]
        if raw.isprintable() and "\ufffd" not in raw:
            return None
        for i, value in enumerate(raw.split(self.sep)[1:], 1):
            if not value.isprintable() or "\ufffd" in value:
                return [_err(ctx, i, "6", f"{ctx.describe()}: {self.seg.tag}{i:02d} holds an invalid character", value)]
        return None

    def _dates(self, els: list[str], ctx_line: str | None, position: int) -> list[X12Error] | None:
        errors = None
        for p in self.dates:
            if p < len(els) and els[p] and not _valid_date(els[p]):
                ctx = Context(self.seg.tag, position, ctx_line)
                msg = f"{ctx.describe()}: {self.seg.tag}{p:02d} {els[p]!r} is not a calendar date (CCYYMMDD)"
                errors = (errors or []) + [_err(ctx, p, "8", msg, els[p])]
        return errors

    def slow(self, els: list[str], ctx: Context) -> list[X12Error]:
        """Element-by-element check; the reference definition the fast path mirrors."""
        seg = self.seg
        tag = seg.tag
        where = ctx.describe()
        errors: list[X12Error] = []
        defs = seg.elements
        if len(els) - 1 > len(defs):
            extra = len(defs) + 1
            errors.append(
                _err(ctx, extra, "3", f"{where}: too many elements ({len(els) - 1}, {tag} has {len(defs)})", els[extra])
            )
        for el in defs:
            value = els[el.position] if el.position < len(els) else ""
            name = f"{tag}{el.position:02d} {el.name}"
            if not value or (el.mandatory and el.kind == AN and not value.strip(" ")):
                if el.mandatory:
                    errors.append(_err(ctx, el.position, "1", f"{where}: {name} is required but missing", None, el))
                continue
            if el.components:
                errors.extend(self._composite(el, value, ctx))
                continue
            problem = element_problem(el, value, self.banned, self.repetition)
            if problem:
                code, text = problem
                errors.append(_err(ctx, el.position, code, f"{where}: {name} {value!r} {text}", value, el))
        if len(els) > 1 and els[-1] == "":
            errors.append(
                _err(
                    ctx,
                    len(els) - 1,
                    "3",
                    f"{where}: the segment ends with an element separator (nothing after it)",
                    None,
                )
            )
        return errors

    def _composite(self, el: ElementDef, value: str, ctx: Context) -> list[X12Error]:
        """Component by component: types, lengths, codes, then the composite's own syntax notes."""
        where = ctx.describe()
        name = f"{ctx.tag}{el.position:02d} {el.name}"
        if self.repetition and self.repetition in value:
            return [_err(ctx, el.position, "6", f"{where}: {name} {value!r} holds the repetition separator", value, el)]
        parts = value.split(self.component)
        comps = el.components
        if len(parts) > len(comps):
            msg = f"{where}: {name} {value!r} has {len(parts)} components; {el.ref} has at most {len(comps)}"
            return [_err(ctx, el.position, "3", msg, value, el, len(comps) + 1)]
        errors: list[X12Error] = []
        for i, comp in enumerate(comps, 1):
            part = parts[i - 1] if i <= len(parts) else ""
            label = f"{name} component {i} ({comp.name})"
            if not part:
                if comp.mandatory:
                    errors.append(_err(ctx, el.position, "1", f"{where}: {label} is required", None, comp, i))
                continue
            problem = element_problem(comp, part, self.banned, self.repetition)
            if problem:
                code, text = problem
                errors.append(_err(ctx, el.position, code, f"{where}: {label} {part!r} {text}", part, comp, i))
        if el.component_notes:
            errors.extend(self._composite_notes(el, parts, ctx))
        return errors

    def _composite_notes(self, el: ElementDef, parts: list[str], ctx: Context) -> list[X12Error]:
        pseudo = SegmentDef(el.ref, el.name, el.components, el.component_notes)
        found = check_notes(pseudo, el.component_notes, [el.ref, *parts], Context(el.ref, ctx.position, ctx.line))
        where = ctx.describe()
        return [
            X12Error(
                ctx.tag,
                ctx.position,
                el.position,
                e.code,
                f"{where}: {ctx.tag}{el.position:02d} " + e.message.split(": ", 1)[-1],
                ELEMENT,
                component=e.element,
                reference=e.reference,
                bad_value=e.bad_value,
            )
            for e in found
        ]


def element_problem(
    el: ElementDef, value: str, banned: set[str], repetition: str | None = None
) -> tuple[str, str] | None:
    """(AK403 code, what is wrong) for a non-empty value, or None when it is acceptable."""
    if not value.isprintable() or "\ufffd" in value:
        return "6", "holds a control or undecodable character"
    if el.kind == COMPOSITE:
        return ("6", "holds the repetition separator") if repetition and repetition in value else None
    if banned and any(ch in banned for ch in value):
        return "6", "holds a delimiter character"
    kind = el.kind
    if kind == NUM:
        if not _NUMERIC.fullmatch(value):
            return "6", f"is not a whole number ({el.type_name})"
        n = _digits(value)
    elif kind == REAL:
        if not _REAL.fullmatch(value):
            return "6", "is not a decimal number"
        n = _digits(value)
    elif kind == DT:
        if not _valid_date(value) or not el.min_len <= len(value) <= el.max_len:
            return "8", f"is not a valid date ({'CCYYMMDD' if el.max_len == 8 else 'YYMMDD'})"
        return None
    elif kind == TM:
        if not _TIME.fullmatch(value) or not el.min_len <= len(value) <= el.max_len or len(value) == 5:
            return "9", "is not a valid time (HHMM, HHMMSS)"
        return None
    else:
        n = len(value)
    if n < el.min_len:
        return "4", f"is too short (at least {el.min_len} characters)"
    if n > el.max_len:
        return "5", f"is too long (at most {el.max_len} characters)"
    if kind == ID and el.codes is not None and value not in el.codes:
        return "7", "is not a valid code here"
    if (
        kind == ID
        and el.codes is None
        and el.coded
        and not (value.isascii() and value.isalnum() and value == value.upper())
    ):
        return "7", "is not a valid code (X12 codes are upper-case letters and digits)"
    return None


def _err(
    ctx: Context,
    position: int,
    code: str,
    message: str,
    value: str | None = None,
    el: ElementDef | None = None,
    component: int | None = None,
) -> X12Error:
    return X12Error(
        segment=ctx.tag,
        position=ctx.position,
        element=position,
        code=code,
        message=message,
        level=ELEMENT,
        component=component,
        reference=el.ref if el and el.ref else None,
        bad_value=value[:99] if value else None,
    )


def check_notes(seg: SegmentDef, notes: tuple[SyntaxNote, ...], els: list[str], ctx: Context) -> list[X12Error]:
    """Syntax notes P, R, C, E, L; a broken note maps to AK403 2 (conditional required) or 10 (exclusion)."""
    errors: list[X12Error] = []
    n = len(els)
    tag = seg.tag
    where = ctx.describe()

    def has(p: int) -> bool:
        return p < n and els[p] != ""

    def label(p: int) -> str:
        el = seg.elements[p - 1] if p <= len(seg.elements) else None
        return el.label if el else f"{tag}{p:02d}"

    for note in notes:
        pos = note.positions
        kind = note.kind
        names = "/".join(f"{tag}{p:02d}" for p in pos)
        if kind == "P":
            present = [p for p in pos if has(p)]
            if present and len(present) != len(pos):
                first = present[0]
                missing = next(p for p in pos if not has(p))
                msg = (
                    f"{where}: {label(first)} {els[first]} given without "
                    f"{_article(label(missing))} ({names} must be paired)"
                )
                errors.append(_err(ctx, missing, "2", msg, None, _def(seg, missing)))
        elif kind == "R":
            if not any(has(p) for p in pos):
                msg = f"{where}: at least one of {names} is required"
                errors.append(_err(ctx, pos[0], "2", msg, None, _def(seg, pos[0])))
        elif kind == "C":
            if has(pos[0]):
                for p in pos[1:]:
                    if not has(p):
                        msg = (
                            f"{where}: {label(pos[0])} {els[pos[0]]} is given, so {tag}{p:02d} {label(p)} "
                            f"is required ({note.text})"
                        )
                        errors.append(_err(ctx, p, "2", msg, None, _def(seg, p)))
        elif kind == "E":
            present = [p for p in pos if has(p)]
            if len(present) > 1:
                msg = f"{where}: only one of {names} may be given"
                errors.append(_err(ctx, present[1], "10", msg, els[present[1]]))
        elif kind == "L" and has(pos[0]) and not any(has(p) for p in pos[1:]):
            others = "/".join(f"{tag}{p:02d}" for p in pos[1:])
            msg = f"{where}: {label(pos[0])} {els[pos[0]]} is given, so one of {others} is required ({note.text})"
            errors.append(_err(ctx, pos[1], "2", msg, None))
    return errors


def _def(seg: SegmentDef, position: int) -> ElementDef | None:
    return seg.elements[position - 1] if 0 < position <= len(seg.elements) else None


def _article(label: str) -> str:
    return ("an " if label[:1].lower() in "aeio" else "a ") + label


@cache
def checker(seg: SegmentDef, element: str, component: str, repetition: str | None) -> SegmentChecker:
    """One compiled checker per segment definition and delimiter set."""
    return SegmentChecker(seg, element, component, repetition)
