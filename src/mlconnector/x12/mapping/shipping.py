"""856 Ship Notice/Manifest ⇄ ShipNotice: the S/O/P/I (or S/O/I) hierarchy rebuilt from HL parent links."""

from __future__ import annotations

from mlconnector.x12.documents import Purpose, ShipmentItem, ShipmentOrder, ShipmentPack, ShipNotice
from mlconnector.x12.mapping.common import (
    MappingError,
    Segment,
    date_in,
    dates_out,
    el,
    fmt_date,
    fmt_decimal,
    fmt_time,
    pairs_in,
    pairs_out,
    parse_date,
    parse_decimal,
    parse_time,
    party_in,
    party_out,
    reference_in,
    references_out,
    req,
)


def _item_out(item: ShipmentItem) -> list[Segment]:
    if not item.product_ids:
        raise MappingError(f"shipped line {item.line_number}: LIN needs at least one product ID")
    segments: list[Segment] = [["LIN", item.line_number or None, *pairs_out(item.product_ids, 15)]]
    sn1: Segment = ["SN1", item.line_number or None, fmt_decimal(item.quantity_shipped), item.uom]
    if item.quantity_ordered is not None:
        sn1 += [None, fmt_decimal(item.quantity_ordered), item.uom]
    segments.append(sn1)
    if item.description:
        segments.append(["PID", "F", None, None, None, item.description])
    if item.lot_number:
        segments.append(["REF", "LT", item.lot_number])
    segments += [["REF", "SE", serial] for serial in item.serial_numbers]
    return segments


def ship_notice_out(notice: ShipNotice) -> list[Segment]:
    """856: BSN, DTM, HL S (TD1, TD5, REF, N1), HL O (PRF), HL P (MAN), HL I (LIN, SN1, PID, REF LT/SE), CTT."""
    if len(notice.dates) > 10:
        raise MappingError("at most 10 dates (DTM) fit in the header")
    segments: list[Segment] = [
        [
            "BSN",
            notice.purpose.value,
            notice.shipment_id,
            fmt_date(notice.ship_date),
            fmt_time(notice.ship_time),
            notice.structure,
        ]
    ]
    segments += dates_out(notice.dates)
    counter = 0

    def hl(parent: int | None, level: str, has_children: bool) -> int:
        nonlocal counter
        counter += 1
        segments.append(["HL", str(counter), str(parent) if parent else None, level, "1" if has_children else "0"])
        return counter

    shipment = hl(None, "S", bool(notice.orders))
    if notice.packaging_code or notice.lading_quantity is not None or notice.gross_weight is not None:
        if (notice.packaging_code is None) != (notice.lading_quantity is None):
            raise MappingError("TD1: packaging code and lading quantity go together")
        if (notice.gross_weight is None) != (notice.weight_uom is None):
            raise MappingError("TD1: gross weight and its unit of measure go together")
        lading = fmt_decimal(notice.lading_quantity)
        weight = fmt_decimal(notice.gross_weight)
        segments.append(
            ["TD1", notice.packaging_code, lading, None, None, None, "G" if weight else None, weight, notice.weight_uom]
        )
    if notice.carrier_scac or notice.transport_method:
        segments.append(
            ["TD5", None, "2" if notice.carrier_scac else None, notice.carrier_scac, notice.transport_method]
        )
    segments += references_out(notice.references)
    for party in notice.parties:
        segments += party_out(party)
    for order in notice.orders:
        order_hl = hl(shipment, "O", bool(order.items or order.packs))
        segments.append(["PRF", order.po_number, None, None, fmt_date(order.po_date)])
        for item in order.items:
            hl(order_hl, "I", False)
            segments += _item_out(item)
        for pack in order.packs:
            pack_hl = hl(order_hl, "P", bool(pack.items))
            if pack.marks:
                segments.append(["MAN", pack.marks_qualifier or "GM", pack.marks])
            for item in pack.items:
                hl(pack_hl, "I", False)
                segments += _item_out(item)
    segments.append(["CTT", str(counter)])
    return segments


class _Builder:
    """Mutable pieces of one HL level while the set is read."""

    def __init__(self, level: str, parent: str | None) -> None:
        self.level = level
        self.parent = parent
        self.segments: list[list[str]] = []
        self.children: list[_Builder] = []


def _item_in(b: _Builder) -> ShipmentItem:
    lin = next((s for s in b.segments if s[0] == "LIN"), None)
    sn1 = next((s for s in b.segments if s[0] == "SN1"), None)
    if sn1 is None:
        raise MappingError("an item level (HL I) has no SN1 quantity")
    quantity = parse_decimal(req(sn1, 2))
    assert quantity is not None
    refs = [s for s in b.segments if s[0] == "REF"]
    return ShipmentItem(
        line_number=(el(lin, 1) if lin else None) or el(sn1, 1) or "",
        quantity_shipped=quantity,
        uom=req(sn1, 3),
        product_ids=pairs_in(lin, 2, 15) if lin else (),
        quantity_ordered=parse_decimal(el(sn1, 5)),
        lot_number=next((el(r, 2) for r in refs if el(r, 1) == "LT"), None),
        serial_numbers=tuple(v for r in refs if el(r, 1) == "SE" and (v := el(r, 2))),
        description=next((el(s, 5) for s in b.segments if s[0] == "PID" and el(s, 5)), None),
    )


def _order_in(b: _Builder) -> ShipmentOrder:
    prf = next((s for s in b.segments if s[0] == "PRF"), None)
    if prf is None:
        raise MappingError("an order level (HL O) has no PRF purchase order reference")
    items: list[ShipmentItem] = []
    packs: list[ShipmentPack] = []
    for child in b.children:
        if child.level == "I":
            items.append(_item_in(child))
        else:
            man = next((s for s in child.segments if s[0] == "MAN"), None)
            pack_items = tuple(_item_in(c) for c in child.children if c.level == "I")
            packs.append(ShipmentPack(pack_items, el(man, 1) if man else None, el(man, 2) if man else None))
    return ShipmentOrder(req(prf, 1), parse_date(el(prf, 4)), tuple(packs), tuple(items))


def ship_notice_in(segments: list[list[str]]) -> ShipNotice:
    bsn = next((s for s in segments if s[0] == "BSN"), None)
    if bsn is None:
        raise MappingError("BSN is missing")
    header: list[list[str]] = []
    levels: dict[str, _Builder] = {}
    order: list[_Builder] = []
    current: _Builder | None = None
    for seg in segments:
        if seg[0] == "HL":
            current = _Builder(req(seg, 3), el(seg, 2))
            levels[req(seg, 1)] = current
            order.append(current)
            parent = levels.get(current.parent or "")
            if parent is not None:
                parent.children.append(current)
        elif current is not None:
            current.segments.append(seg)
        elif seg[0] != "BSN":
            header.append(seg)
    shipment = next((b for b in order if b.level == "S"), None)
    if shipment is None:
        raise MappingError("no shipment level (HL S)")
    s = shipment.segments
    td1 = next((x for x in s if x[0] == "TD1"), None)
    td5 = next((x for x in s if x[0] == "TD5"), None)
    dates = [d for x in header + s if x[0] == "DTM" and (d := date_in(x))]
    parties = []
    i = 0
    while i < len(s):
        if s[i][0] == "N1":
            party, i = party_in(s, i)
            parties.append(party)
        else:
            i += 1
    n1_at = next((k for k, x in enumerate(s) if x[0] == "N1"), len(s))
    ship_date = parse_date(req(bsn, 3))
    assert ship_date is not None
    try:
        purpose = Purpose(req(bsn, 1))
    except ValueError as exc:
        raise MappingError(f"BSN01 purpose {el(bsn, 1)!r} is not one the connector handles") from exc
    return ShipNotice(
        shipment_id=req(bsn, 2),
        ship_date=ship_date,
        ship_time=parse_time(req(bsn, 4)),
        orders=tuple(_order_in(b) for b in shipment.children if b.level == "O"),
        purpose=purpose,
        structure=el(bsn, 5) or "0001",
        dates=tuple(dates),
        packaging_code=el(td1, 1) if td1 else None,
        lading_quantity=parse_decimal(el(td1, 2)) if td1 else None,
        gross_weight=parse_decimal(el(td1, 7)) if td1 else None,
        weight_uom=el(td1, 8) if td1 else None,
        carrier_scac=el(td5, 3) if td5 else None,
        transport_method=el(td5, 4) if td5 else None,
        references=tuple(reference_in(x) for x in s[:n1_at] if x[0] == "REF"),
        parties=tuple(parties),
    )
