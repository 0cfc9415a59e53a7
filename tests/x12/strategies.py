"""Hypothesis strategies for every typed document, within the lengths and pairings X12 allows."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from hypothesis import strategies as st

from mlconnector.x12.documents import (
    Charge,
    Contact,
    DateReference,
    ElementError,
    FunctionalAck,
    Invoice,
    InvoiceLine,
    LineAckStatus,
    Party,
    ProductId,
    PurchaseOrder,
    PurchaseOrderAck,
    PurchaseOrderAckLine,
    PurchaseOrderChange,
    PurchaseOrderChangeLine,
    PurchaseOrderLine,
    Purpose,
    Reference,
    SegmentError,
    SetAck,
    ShipmentItem,
    ShipmentOrder,
    ShipmentPack,
    ShipNotice,
)

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


def token(lo: int = 1, hi: int = 12, alphabet: str = UPPER + DIGITS) -> st.SearchStrategy[str]:
    """Values without delimiters and without leading/trailing blanks (X12 drops neither, but trims segment ends)."""
    inner = st.text(alphabet + " .-", min_size=max(lo - 2, 0), max_size=max(hi - 2, 0))
    edge = st.sampled_from(alphabet)
    if hi == 1:
        return edge
    return st.one_of(
        st.text(alphabet, min_size=max(lo, 1), max_size=hi),
        st.builds(lambda a, b, c: a + b + c, edge, inner, edge).filter(lambda s: lo <= len(s) <= hi),
    )


digits = lambda lo, hi: st.text(DIGITS, min_size=lo, max_size=hi)  # noqa: E731
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
amounts = st.integers(0, 10**7).map(lambda n: Decimal(n) / 100)
quantities = st.one_of(st.integers(1, 10**6).map(Decimal), st.integers(1, 10**6).map(lambda n: Decimal(n) / 1000))
opt = st.none().__or__

product_ids = st.lists(
    st.builds(ProductId, st.sampled_from(["VP", "VN", "BP", "UP", "IN", "SK", "EN"]), token(1, 20)), max_size=3
).map(tuple)
references = st.lists(
    st.builds(Reference, st.sampled_from(["DP", "IA", "VR", "CR", "PD", "BM"]), token(1, 30)), max_size=3
).map(tuple)
date_refs = st.lists(st.builds(DateReference, st.sampled_from(["002", "010", "037", "011"]), dates), max_size=3).map(
    tuple
)
contacts = st.lists(
    st.builds(
        Contact,
        st.sampled_from(["BD", "IC"]),
        st.one_of(st.just(""), token(1, 30)),
        opt(digits(7, 12)),
        opt(st.builds(lambda a, b: f"{a}@{b}.COM", token(1, 8, UPPER), token(1, 8, UPPER))),
    ),
    max_size=3,
).map(tuple)


@st.composite
def parties(draw: st.DrawFn) -> Party:
    has_id = draw(st.booleans())
    return Party(
        role=draw(st.sampled_from(["ST", "BT", "BY", "VN", "SF", "SE", "RI"])),
        name=draw(token(1, 40)),
        id_qualifier="92" if has_id else None,
        id_code=draw(token(2, 20)) if has_id else None,
        address_lines=tuple(draw(st.lists(token(1, 40), max_size=4))),
        city=draw(opt(token(2, 30))),
        state=draw(opt(token(2, 2, UPPER))),
        postal_code=draw(opt(token(3, 10, DIGITS + UPPER))),
        country=draw(opt(st.sampled_from(["US", "CA", "USA"]))),
    )


party_lists = st.lists(parties(), max_size=3).map(tuple)
uoms = st.sampled_from(["EA", "CA", "BX", "PC"])


@st.composite
def purchase_order_lines(draw: st.DrawFn) -> PurchaseOrderLine:
    price = draw(opt(amounts))
    return PurchaseOrderLine(
        line_number=draw(digits(1, 6)),
        quantity=draw(quantities),
        uom=draw(uoms),
        unit_price=price,
        price_basis=draw(st.sampled_from(["PE", "CP"])) if price is not None else None,
        product_ids=draw(product_ids),
        description=draw(opt(token(1, 60))),
        required_date=draw(opt(dates)),
    )


purchase_orders = st.builds(
    PurchaseOrder,
    po_number=token(1, 22),
    po_date=dates,
    lines=st.lists(purchase_order_lines(), min_size=1, max_size=4).map(tuple),
    purpose=st.sampled_from([Purpose.ORIGINAL, Purpose.CANCELLATION, Purpose.REPLACE]),
    po_type=st.sampled_from(["SA", "NE", "BK", "RL", "DS"]),
    release_number=opt(token(1, 30)),
    currency=opt(st.sampled_from(["USD", "CAD", "EUR"])),
    references=references,
    contacts=contacts,
    dates=date_refs,
    parties=party_lists,
)


@st.composite
def change_lines(draw: st.DrawFn) -> PurchaseOrderChangeLine:
    price = draw(opt(amounts))
    return PurchaseOrderChangeLine(
        line_number=draw(digits(1, 6)),
        change_type=draw(st.sampled_from(["AI", "CA", "DI", "PC", "QD", "QI"])),
        quantity_ordered=draw(opt(quantities)),
        quantity_left_to_receive=draw(opt(st.integers(0, 10**6).map(Decimal))),
        uom=draw(uoms) if price is not None else draw(opt(uoms)),
        unit_price=price,
        price_basis=draw(st.sampled_from(["PE", "CP"])) if price is not None else None,
        product_ids=draw(product_ids),
        description=draw(opt(token(1, 60))),
    )


purchase_order_changes = st.builds(
    PurchaseOrderChange,
    po_number=token(1, 22),
    po_date=dates,
    lines=st.lists(change_lines(), min_size=1, max_size=4).map(tuple),
    purpose=st.sampled_from([Purpose.CHANGE, Purpose.CANCELLATION, Purpose.REPLACE]),
    po_type=st.sampled_from(["SA", "NE"]),
    change_sequence=opt(token(1, 8)),
    change_date=opt(dates),
    references=references,
    contacts=contacts,
    dates=date_refs,
    parties=party_lists,
)


@st.composite
def line_statuses(draw: st.DrawFn) -> LineAckStatus:
    with_qty = draw(st.booleans())
    return LineAckStatus(
        status=draw(st.sampled_from(["IA", "IB", "IC", "ID", "IP", "IQ", "IR", "DR"])),
        quantity=draw(quantities) if with_qty else None,
        uom=draw(uoms) if with_qty else None,
        date=draw(opt(dates)),
    )


ack_lines = st.builds(
    PurchaseOrderAckLine,
    line_number=digits(1, 6),
    quantity=quantities,
    uom=uoms,
    unit_price=opt(amounts),
    product_ids=product_ids,
    statuses=st.lists(line_statuses(), max_size=3).map(tuple),
)
purchase_order_acks = st.builds(
    PurchaseOrderAck,
    po_number=token(1, 22),
    po_date=dates,
    ack_type=st.sampled_from(["AC", "AD", "AE", "AK", "RD", "RJ"]),
    lines=st.lists(ack_lines, max_size=4).map(tuple),
    purpose=st.sampled_from([Purpose.ORIGINAL, Purpose.REPLACE]),
    seller_order_number=opt(token(1, 30)),
    ack_date=opt(dates),
    references=references,
    parties=party_lists,
)

shipment_items = st.builds(
    ShipmentItem,
    line_number=digits(1, 6),
    quantity_shipped=quantities,
    uom=uoms,
    product_ids=product_ids.filter(bool),
    quantity_ordered=opt(quantities),
    lot_number=opt(token(1, 20)),
    serial_numbers=st.lists(token(1, 20), max_size=2).map(tuple),
    description=opt(token(1, 60)),
)


@st.composite
def packs(draw: st.DrawFn) -> ShipmentPack:
    marked = draw(st.booleans())
    return ShipmentPack(
        items=tuple(draw(st.lists(shipment_items, min_size=1, max_size=2))),
        marks_qualifier=draw(st.sampled_from(["GM", "CP"])) if marked else None,
        marks=draw(digits(18, 20)) if marked else None,
    )


shipment_orders = st.builds(
    ShipmentOrder,
    po_number=token(1, 22),
    po_date=opt(dates),
    packs=st.lists(packs(), max_size=2).map(tuple),
    items=st.lists(shipment_items, max_size=2).map(tuple),
)


@st.composite
def ship_notices(draw: st.DrawFn) -> ShipNotice:
    with_td1 = draw(st.booleans())
    with_weight = draw(st.booleans())
    return ShipNotice(
        shipment_id=draw(token(2, 30)),
        ship_date=draw(dates),
        ship_time=draw(st.builds(time, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))),
        orders=tuple(draw(st.lists(shipment_orders, min_size=1, max_size=3))),
        purpose=draw(st.sampled_from([Purpose.ORIGINAL, Purpose.REPLACE])),
        structure=draw(st.sampled_from(["0001", "0002", "0004"])),
        dates=draw(date_refs),
        packaging_code=draw(st.sampled_from(["CTN25", "PLT90", "CTN"])) if with_td1 else None,
        lading_quantity=Decimal(draw(st.integers(1, 9999))) if with_td1 else None,
        gross_weight=draw(amounts) if with_weight else None,
        weight_uom=draw(st.sampled_from(["LB", "KG"])) if with_weight else None,
        carrier_scac=draw(opt(token(2, 4, UPPER))),
        transport_method=draw(opt(st.sampled_from(["M", "U", "A"]))),
        references=draw(references),
        parties=draw(party_lists),
    )


invoices = st.builds(
    Invoice,
    invoice_number=token(1, 22),
    invoice_date=dates,
    po_number=opt(token(1, 22)),
    lines=st.lists(
        st.builds(
            InvoiceLine,
            line_number=digits(1, 6),
            quantity=quantities,
            uom=uoms,
            unit_price=amounts,
            product_ids=product_ids,
            description=opt(token(1, 60)),
        ),
        min_size=1,
        max_size=4,
    ).map(tuple),
    total_amount=amounts,
    po_date=opt(dates),
    transaction_type=opt(st.sampled_from(["CN", "DI", "DR"])),
    currency=opt(st.sampled_from(["USD", "CAD"])),
    references=references,
    parties=party_lists,
    charges=st.lists(
        st.builds(
            Charge,
            indicator=st.sampled_from(["A", "C"]),
            code=st.sampled_from(["D240", "C310", "H850"]),
            amount=amounts,
            description=opt(token(1, 40)),
        ),
        max_size=2,
    ).map(tuple),
    terms_net_days=opt(st.integers(0, 999)),
)

element_errors = st.builds(
    ElementError,
    position=st.integers(1, 30),
    code=st.sampled_from([str(n) for n in range(1, 11)]),
    reference=opt(digits(1, 4)),
    bad_value=opt(token(1, 20)),
    component=opt(st.integers(1, 5)),
)
segment_errors = st.builds(
    SegmentError,
    segment_id=st.sampled_from(["PO1", "N1", "REF", "BEG"]),
    position=st.integers(1, 9999),
    code=opt(st.sampled_from([str(n) for n in range(1, 9)])),
    loop_id=opt(st.sampled_from(["PO1", "N1"])),
    elements=st.lists(element_errors, max_size=2).map(tuple),
)


@st.composite
def functional_acks_docs(draw: st.DrawFn) -> FunctionalAck:
    """A 997 whose AK9 agrees with its AK5s (the validator holds a 997 to that), with any mix of statuses."""
    sets = draw(
        st.lists(
            st.builds(
                SetAck,
                set_id=st.sampled_from(["850", "856", "810"]),
                control_number=digits(4, 9),
                status=st.sampled_from(["A", "E", "R"]),
                segment_errors=st.lists(segment_errors, max_size=2).map(tuple),
                error_codes=st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), max_size=2).map(tuple),
            ),
            max_size=3,
        ).map(tuple)
    )
    received = len(sets) + draw(st.integers(0, 3))  # AK2 loops may be left out for some sets
    accepted = sum(1 for a in sets if a.status != "R")
    if accepted and accepted == received:
        status = "A" if all(a.status == "A" for a in sets) else "E"
    elif accepted:
        status = "P"
    else:
        status = "R"
    return FunctionalAck(
        functional_id=draw(st.sampled_from(["PO", "SH", "IN", "PR"])),
        group_control_number=draw(digits(1, 9)),
        status=status,
        sets=sets,
        sets_included=draw(st.integers(0, 999)),
        sets_received=received,
        sets_accepted=accepted,
        error_codes=tuple(draw(st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), max_size=2))),
    )


any_document = st.one_of(
    purchase_orders, purchase_order_changes, purchase_order_acks, ship_notices(), invoices, functional_acks_docs()
)
