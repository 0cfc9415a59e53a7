"""850 Purchase Order, 860 Purchase Order Change and 855 Purchase Order Acknowledgment ⇄ typed documents."""

from __future__ import annotations

from typing import Any

from mlconnector.x12.documents import (
    Contact,
    DateReference,
    LineAckStatus,
    Party,
    PurchaseOrder,
    PurchaseOrderAck,
    PurchaseOrderAckLine,
    PurchaseOrderChange,
    PurchaseOrderChangeLine,
    PurchaseOrderLine,
    Purpose,
    Reference,
)
from mlconnector.x12.mapping.common import (
    MappingError,
    Segment,
    contact_in,
    contact_out,
    date_in,
    dates_out,
    el,
    fmt_date,
    fmt_decimal,
    pairs_in,
    pairs_out,
    parse_date,
    parse_decimal,
    party_in,
    party_out,
    reference_in,
    references_out,
    req,
)


def _purpose(code: str) -> Purpose:
    try:
        return Purpose(code)
    except ValueError as exc:
        raise MappingError(f"purpose code {code!r} is not one the connector handles (00, 01, 04, 05, 07)") from exc


def _header_out(doc: PurchaseOrder | PurchaseOrderChange) -> list[Segment]:
    if len(doc.contacts) > 3:
        raise MappingError("at most 3 contacts (PER) fit in the header")
    if len(doc.dates) > 10:
        raise MappingError("at most 10 dates (DTM) fit in the header")
    segments: list[Segment] = []
    if isinstance(doc, PurchaseOrder) and doc.currency:
        segments.append(["CUR", "BY", doc.currency])
    segments += references_out(doc.references)
    segments += [contact_out(c) for c in doc.contacts]
    segments += dates_out(doc.dates)
    for party in doc.parties:
        segments += party_out(party)
    return segments


def _description_out(description: str | None) -> list[Segment]:
    return [["PID", "F", None, None, None, description]] if description else []


def purchase_order_out(po: PurchaseOrder) -> list[Segment]:
    """850: BEG, CUR, REF, PER, DTM, N1 loops, PO1 loops (PID, DTM 002), CTT."""
    segments: list[Segment] = [
        ["BEG", po.purpose.value, po.po_type, po.po_number, po.release_number, fmt_date(po.po_date)]
    ]
    segments += _header_out(po)
    if not po.lines:
        raise MappingError(f"purchase order {po.po_number} has no lines")
    for line in po.lines:
        basis = line.price_basis if line.unit_price is not None else None
        segments.append(
            [
                "PO1",
                line.line_number,
                fmt_decimal(line.quantity),
                line.uom,
                fmt_decimal(line.unit_price),
                basis,
                *pairs_out(line.product_ids, 10),
            ]
        )
        segments += _description_out(line.description)
        if line.required_date:
            segments.append(["DTM", "002", fmt_date(line.required_date)])
    segments.append(_ctt(len(po.lines), [line.quantity for line in po.lines]))
    return segments


def _ctt(count: int, quantities: list[Any]) -> Segment:
    total = fmt_decimal(sum(quantities))
    digits = sum(ch.isdigit() for ch in total or "")
    return ["CTT", str(count), total if digits <= 10 else None]


class _Header:
    """Header pieces common to 850/860/855 while walking a set."""

    def __init__(self) -> None:
        self.currency: str | None = None
        self.references: list[Reference] = []
        self.contacts: list[Contact] = []
        self.dates: list[DateReference] = []
        self.parties: list[Party] = []

    def take(self, segments: list[list[str]], i: int) -> int | None:
        """Consume a header segment at `i`; returns the next index, or None when `i` is not a header segment."""
        seg = segments[i]
        tag = seg[0]
        if tag == "CUR":
            self.currency = el(seg, 2)
        elif tag == "REF":
            self.references.append(reference_in(seg))
        elif tag == "PER":
            self.contacts.append(contact_in(seg))
        elif tag == "DTM":
            found = date_in(seg)
            if found:
                self.dates.append(found)
        elif tag == "N1":
            party, nxt = party_in(segments, i)
            self.parties.append(party)
            return nxt
        else:
            return None
        return i + 1


def _walk_lines(segments: list[list[str]], line_tag: str) -> tuple[list[str], _Header, list[list[list[str]]]]:
    """Split a set into its beginning segment, header pieces and per-line segment groups."""
    header = _Header()
    begin: list[str] | None = None
    lines: list[list[list[str]]] = []
    i = 0
    while i < len(segments):
        seg = segments[i]
        tag = seg[0]
        if tag == line_tag:
            lines.append([seg])
        elif lines:
            if tag in ("CTT", "AMT", "SE"):
                pass
            else:
                lines[-1].append(seg)
        elif tag in ("BEG", "BCH", "BAK"):
            begin = seg
        else:
            nxt = header.take(segments, i)
            if nxt is not None:
                i = nxt
                continue
        i += 1
    if begin is None:
        raise MappingError("the beginning segment (BEG/BCH/BAK) is missing")
    return begin, header, lines


def _line_extras(group: list[list[str]]) -> tuple[str | None, Any]:
    description = next((el(s, 5) for s in group if s[0] == "PID" and el(s, 5)), None)
    required = next((parse_date(el(s, 2)) for s in group if s[0] == "DTM" and el(s, 2)), None)
    return description, required


def purchase_order_in(segments: list[list[str]]) -> PurchaseOrder:
    beg, header, groups = _walk_lines(segments, "PO1")
    lines: list[PurchaseOrderLine] = []
    for group in groups:
        po1 = group[0]
        description, required = _line_extras(group)
        quantity = parse_decimal(el(po1, 2))
        if quantity is None or el(po1, 3) is None:
            raise MappingError(f"PO1 line {el(po1, 1)}: quantity and unit of measure are required")
        lines.append(
            PurchaseOrderLine(
                line_number=el(po1, 1) or str(len(lines) + 1),
                quantity=quantity,
                uom=req(po1, 3),
                unit_price=parse_decimal(el(po1, 4)),
                price_basis=el(po1, 5),
                product_ids=pairs_in(po1, 6, 10),
                description=description,
                required_date=required,
            )
        )
    po_date = parse_date(req(beg, 5))
    assert po_date is not None
    return PurchaseOrder(
        po_number=req(beg, 3),
        po_date=po_date,
        lines=tuple(lines),
        purpose=_purpose(req(beg, 1)),
        po_type=req(beg, 2),
        release_number=el(beg, 4),
        currency=header.currency,
        references=tuple(header.references),
        contacts=tuple(header.contacts),
        dates=tuple(header.dates),
        parties=tuple(header.parties),
    )


# ----------------------------------------------------------------------------------------------------------- 860


def purchase_order_change_out(change: PurchaseOrderChange) -> list[Segment]:
    """860: BCH, REF, PER, DTM, N1 loops, POC loops (PID), CTT."""
    segments: list[Segment] = [
        [
            "BCH",
            change.purpose.value,
            change.po_type,
            change.po_number,
            None,
            change.change_sequence,
            fmt_date(change.po_date),
            None,
            None,
            None,
            fmt_date(change.change_date),
        ]
    ]
    segments += _header_out(change)
    for line in change.lines:
        if line.unit_price is not None and not line.uom:
            raise MappingError(f"POC line {line.line_number}: a unit price needs a unit of measure")
        segments.append(
            [
                "POC",
                line.line_number,
                line.change_type,
                fmt_decimal(line.quantity_ordered),
                fmt_decimal(line.quantity_left_to_receive),
                (line.uom,) if line.uom else None,
                fmt_decimal(line.unit_price),
                line.price_basis if line.unit_price is not None else None,
                *pairs_out(line.product_ids, 10),
            ]
        )
        segments += _description_out(line.description)
    segments.append(["CTT", str(len(change.lines))])
    return segments


def purchase_order_change_in(segments: list[list[str]], component: str = ">") -> PurchaseOrderChange:
    bch, header, groups = _walk_lines(segments, "POC")
    lines: list[PurchaseOrderChangeLine] = []
    for group in groups:
        poc = group[0]
        description, _ = _line_extras(group)
        uom = el(poc, 5)
        lines.append(
            PurchaseOrderChangeLine(
                line_number=el(poc, 1) or str(len(lines) + 1),
                change_type=req(poc, 2),
                quantity_ordered=parse_decimal(el(poc, 3)),
                quantity_left_to_receive=parse_decimal(el(poc, 4)),
                uom=uom.split(component)[0] or None if uom else None,
                unit_price=parse_decimal(el(poc, 6)),
                price_basis=el(poc, 7),
                product_ids=pairs_in(poc, 8, 10),
                description=description,
            )
        )
    po_date = parse_date(req(bch, 6))
    assert po_date is not None
    return PurchaseOrderChange(
        po_number=req(bch, 3),
        po_date=po_date,
        lines=tuple(lines),
        purpose=_purpose(req(bch, 1)),
        po_type=req(bch, 2),
        change_sequence=el(bch, 5),
        change_date=parse_date(el(bch, 10)),
        references=tuple(header.references),
        contacts=tuple(header.contacts),
        dates=tuple(header.dates),
        parties=tuple(header.parties),
    )


# ----------------------------------------------------------------------------------------------------------- 855


def purchase_order_ack_out(ack: PurchaseOrderAck) -> list[Segment]:
    """855: BAK, REF, N1 loops, PO1 loops with ACK line statuses, CTT."""
    segments: list[Segment] = [
        [
            "BAK",
            ack.purpose.value,
            ack.ack_type,
            ack.po_number,
            fmt_date(ack.po_date),
            None,
            None,
            None,
            ack.seller_order_number,
            fmt_date(ack.ack_date),
        ]
    ]
    segments += references_out(ack.references)
    for party in ack.parties:
        segments += party_out(party)
    for line in ack.lines:
        segments.append(
            [
                "PO1",
                line.line_number,
                fmt_decimal(line.quantity),
                line.uom,
                fmt_decimal(line.unit_price),
                None,
                *pairs_out(line.product_ids, 10),
            ]
        )
        for status in line.statuses:
            if (status.quantity is None) != (status.uom is None):
                raise MappingError(f"ACK on line {line.line_number}: quantity and unit of measure go together")
            segments.append(
                [
                    "ACK",
                    status.status,
                    fmt_decimal(status.quantity),
                    status.uom,
                    "068" if status.date else None,
                    fmt_date(status.date),
                ]
            )
    if ack.lines:
        segments.append(["CTT", str(len(ack.lines))])
    return segments


def purchase_order_ack_in(segments: list[list[str]]) -> PurchaseOrderAck:
    bak, header, groups = _walk_lines(segments, "PO1")
    lines: list[PurchaseOrderAckLine] = []
    for group in groups:
        po1 = group[0]
        statuses = tuple(
            LineAckStatus(req(s, 1), parse_decimal(el(s, 2)), el(s, 3), parse_date(el(s, 5)))
            for s in group
            if s[0] == "ACK"
        )
        quantity = parse_decimal(el(po1, 2))
        if quantity is None or el(po1, 3) is None:
            raise MappingError(f"PO1 line {el(po1, 1)}: quantity and unit of measure are required")
        lines.append(
            PurchaseOrderAckLine(
                line_number=el(po1, 1) or str(len(lines) + 1),
                quantity=quantity,
                uom=req(po1, 3),
                unit_price=parse_decimal(el(po1, 4)),
                product_ids=pairs_in(po1, 6, 10),
                statuses=statuses,
            )
        )
    po_date = parse_date(req(bak, 4))
    assert po_date is not None
    return PurchaseOrderAck(
        po_number=req(bak, 3),
        po_date=po_date,
        ack_type=req(bak, 2),
        lines=tuple(lines),
        purpose=_purpose(req(bak, 1)),
        seller_order_number=el(bak, 8),
        ack_date=parse_date(el(bak, 9)),
        references=tuple(header.references),
        parties=tuple(header.parties),
    )
