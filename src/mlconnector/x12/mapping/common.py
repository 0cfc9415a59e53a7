"""Shared pieces of the document ⇄ segment mappings: values, dates, references, parties, product ID pairs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from decimal import Decimal, InvalidOperation

from mlconnector.x12.documents import Contact, DateReference, Party, ProductId, Reference

Segment = list[str | tuple[str | None, ...] | None]


class MappingError(ValueError):
    """A valid set that cannot become the typed document (or a document that cannot become X12)."""


def el(segment: list[str], position: int) -> str | None:
    """Element `position` (1-based) or None when absent or empty."""
    if position < len(segment):
        value = segment[position]
        return value if value != "" else None
    return None


def req(segment: list[str], position: int) -> str:
    value = el(segment, position)
    if value is None:
        raise MappingError(f"{segment[0]}{position:02d} is required")
    return value


def fmt_date(value: date | None) -> str | None:
    return value.strftime("%Y%m%d") if value is not None else None


def parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if len(value) == 8:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        if len(value) == 6:
            return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
    except ValueError as exc:
        raise MappingError(f"{value!r} is not a date") from exc
    raise MappingError(f"{value!r} is not a date")


def fmt_time(value: time) -> str:
    return value.strftime("%H%M%S") if value.second else value.strftime("%H%M")


def parse_time(value: str) -> time:
    try:
        return time(int(value[:2]), int(value[2:4]), int(value[4:6]) if len(value) >= 6 else 0)
    except ValueError as exc:
        raise MappingError(f"{value!r} is not a time") from exc


def fmt_decimal(value: Decimal | None) -> str | None:
    """R values: plain notation, no exponent, no trailing zeros."""
    if value is None:
        return None
    if not value.is_finite():
        raise MappingError(f"{value} is not a number")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise MappingError(f"{value!r} is not a number") from exc


def fmt_cents(value: Decimal) -> str:
    """N2: implied two decimals (123.45 → 12345); more than two decimals cannot be carried."""
    cents = value * 100
    if cents != cents.to_integral_value():
        raise MappingError(f"{value} has more than two decimals; N2 amounts carry cents only")
    return str(int(cents))


def parse_cents(value: str | None) -> Decimal | None:
    if value is None:
        return None
    if not value.lstrip("-").isdigit():
        raise MappingError(f"{value!r} is not an N2 amount")
    return Decimal(int(value)) / 100


def pairs_out(product_ids: Iterable[ProductId], limit: int) -> list[str | None]:
    out: list[str | None] = []
    for pid in list(product_ids)[:limit]:
        out += [pid.qualifier, pid.value]
    if len(list(product_ids)) > limit:
        raise MappingError(f"at most {limit} product IDs fit in one line")
    return out


def pairs_in(segment: list[str], start: int, limit: int) -> tuple[ProductId, ...]:
    ids = []
    for i in range(limit):
        q, v = el(segment, start + 2 * i), el(segment, start + 2 * i + 1)
        if q and v:
            ids.append(ProductId(q, v))
    return tuple(ids)


def references_out(references: Iterable[Reference]) -> list[Segment]:
    return [["REF", r.qualifier, r.value] for r in references]


def reference_in(segment: list[str]) -> Reference:
    return Reference(req(segment, 1), el(segment, 2) or el(segment, 3) or "")


def dates_out(dates: Iterable[DateReference]) -> list[Segment]:
    return [["DTM", d.qualifier, fmt_date(d.value)] for d in dates]


def date_in(segment: list[str]) -> DateReference | None:
    value = parse_date(el(segment, 2))
    return DateReference(req(segment, 1), value) if value else None


def contact_out(contact: Contact) -> Segment:
    segment: Segment = ["PER", contact.function, contact.name or None]
    if contact.phone:
        segment += ["TE", contact.phone]
    if contact.email:
        segment += ["EM", contact.email]
    return segment


def contact_in(segment: list[str]) -> Contact:
    numbers = {el(segment, i): el(segment, i + 1) for i in (3, 5, 7) if el(segment, i)}
    return Contact(req(segment, 1), el(segment, 2) or "", numbers.get("TE"), numbers.get("EM"))


def party_out(party: Party) -> list[Segment]:
    if not party.name and not party.id_code:
        raise MappingError(f"party {party.role} needs a name or an ID code")
    if bool(party.id_qualifier) != bool(party.id_code):
        raise MappingError(f"party {party.role}: ID qualifier and ID code go together")
    segments: list[Segment] = [["N1", party.role, party.name or None, party.id_qualifier, party.id_code]]
    lines = list(party.address_lines)
    if len(lines) > 4:
        raise MappingError(f"party {party.role}: at most 4 address lines fit in two N3 segments")
    for i in range(0, len(lines), 2):
        segments.append(["N3", *lines[i : i + 2]])
    if party.city or party.state or party.postal_code or party.country:
        segments.append(["N4", party.city, party.state, party.postal_code, party.country])
    return segments


_N1_LOOP = frozenset({"N2", "N3", "N4", "NX2", "REF", "PER", "DMG", "SI", "FOB", "G61"})


def party_in(segments: list[list[str]], start: int) -> tuple[Party, int]:
    """Read the N1 loop starting at `start`; returns the party and the index after the loop."""
    n1 = segments[start]
    lines: list[str] = []
    city = state = postal = country = None
    i = start + 1
    while i < len(segments) and segments[i][0] in _N1_LOOP:
        seg = segments[i]
        if seg[0] == "N3":
            lines += [v for v in (el(seg, 1), el(seg, 2)) if v]
        elif seg[0] == "N4":
            city, state, postal, country = el(seg, 1), el(seg, 2), el(seg, 3), el(seg, 4)
        i += 1
    party = Party(req(n1, 1), el(n1, 2) or "", el(n1, 3), el(n1, 4), tuple(lines), city, state, postal, country)
    return party, i
