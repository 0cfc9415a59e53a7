"""Sage PO → 850/860: what the vendor sees, and what counts as a change (pure functions, no servers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mlconnector.flows.purchase_orders import (
    Action,
    Buyer,
    UnmappablePurchaseOrder,
    action_for,
    content_hash,
    line_key,
    line_number,
    to_change,
    to_purchase_order,
    unit_code,
)
from mlconnector.sage.models import PurchaseOrder, PurchaseOrderLine
from mlconnector.x12.documents import Purpose

BUYER = Buyer(name="ABC Distribution", id_code="ABC")


def make_po(**changes: object) -> PurchaseOrder:
    lines = [
        PurchaseOrderLine(
            line_key="000001",
            item_code="WIDGET-1",
            item_description="Blue widget",
            unit_of_measure="EA",
            quantity_ordered=10,
            unit_cost=2.5,
            vendor_alias_item_no="AC-100",
            purchases_acct_key="K6000001",
        ),
        PurchaseOrderLine(
            line_key="000002", item_code="BOLT-7", unit_of_measure="BX", quantity_ordered=4, unit_cost=12.3
        ),
        PurchaseOrderLine(line_key="000003", item_code="/C", item_type="4", item_description="call before delivery"),
    ]
    base = PurchaseOrder(
        purchase_order_no="0000123",
        purchase_order_date="20261120",
        order_status="O",
        ap_division_no="01",
        vendor_no="ACME",
        vendor_name="Acme Supply",
        warehouse_code="001",
        ship_to_name="East warehouse",
        ship_to_address1="1 Dock Rd",
        ship_to_city="Boston",
        ship_to_state="MA",
        ship_to_zip_code="02110",
        buyer="Pat Buyer",
        required_date="20261201",
        lines=lines,
    )
    return base.model_copy(update=changes)


def test_850_carries_what_the_vendor_needs() -> None:
    doc = to_purchase_order(make_po(), buyer=BUYER, departments={"K6000001": "10"})
    assert (doc.po_number, doc.po_date, doc.purpose, doc.po_type) == (
        "0000123",
        date(2026, 11, 20),
        Purpose.ORIGINAL,
        "SA",
    )
    assert doc.reference("IA") == "01-ACME" and doc.reference("DP") == "10"
    assert [ln.line_number for ln in doc.lines] == ["1", "2"], "the comment line (type 4) is not a PO1"
    first = doc.lines[0]
    assert (first.quantity, first.uom, first.unit_price) == (Decimal(10), "EA", Decimal("2.5"))
    assert (first.vendor_part, first.buyer_part, first.description) == ("AC-100", "WIDGET-1", "Blue widget")
    assert doc.lines[1].unit_price == Decimal("12.3") and doc.lines[1].vendor_part is None
    ship_to = doc.party("ST")
    assert ship_to is not None and (ship_to.id_code, ship_to.city, ship_to.postal_code) == ("001", "Boston", "02110")
    assert doc.party("VN") is not None and doc.party("BY") is not None
    assert doc.dates[0].qualifier == "002" and doc.dates[0].value == date(2026, 12, 1)
    assert doc.contacts[0].name == "Pat Buyer"


def test_receipts_and_audit_stamps_are_not_changes_for_the_vendor() -> None:
    po = make_po()
    received = po.model_copy(
        update={
            "date_updated": "20261125",
            "time_updated": "10.5",
            "order_status": "B",
            "lines": [po.lines[0].model_copy(update={"quantity_received": 4}), *po.lines[1:]],
        }
    )
    assert content_hash(received) == content_hash(po)
    more = po.model_copy(update={"lines": [po.lines[0].model_copy(update={"quantity_ordered": 12}), *po.lines[1:]]})
    assert content_hash(more) != content_hash(po)


def test_actions() -> None:
    assert action_for(make_po(), previously_sent=False) is Action.NEW
    assert action_for(make_po(), previously_sent=True) is Action.CHANGE
    assert action_for(make_po(order_status="Z"), previously_sent=True) is Action.CANCEL
    assert action_for(make_po(order_status="Z"), previously_sent=False) is None


def test_860_describes_each_changed_line() -> None:
    before = make_po()
    after = before.model_copy(
        update={
            "lines": [
                before.lines[0].model_copy(update={"quantity_ordered": 15}),  # QI
                before.lines[1].model_copy(update={"unit_cost": 11.0}),  # PC
                PurchaseOrderLine(
                    line_key="000004", item_code="NUT-3", unit_of_measure="EA", quantity_ordered=100, unit_cost=0.1
                ),  # AI
            ]
        }
    )
    change = to_change(before, after, buyer=BUYER, sequence=1)
    assert change.purpose is Purpose.CHANGE
    assert [(c.line_number, c.change_type) for c in change.lines] == [("1", "QI"), ("2", "PC"), ("4", "AI")]
    assert change.lines[0].quantity_ordered == Decimal(10) and change.lines[0].quantity_left_to_receive == Decimal(15)
    dropped = to_change(after, before.model_copy(update={"lines": before.lines[:2]}), buyer=BUYER, sequence=2)
    assert ("4", "DI") in [(c.line_number, c.change_type) for c in dropped.lines]
    cancel = to_change(before, make_po(order_status="Z"), buyer=BUYER, sequence=3, cancel=True)
    assert cancel.purpose is Purpose.CANCELLATION and {c.change_type for c in cancel.lines} == {"DI"}


def test_line_references_round_trip() -> None:
    assert line_number("000012") == "12" and line_key("12") == "000012"


def test_sage_units_become_x12_unit_codes() -> None:
    assert [unit_code(u) for u in ("EACH", "gal", "CASE", "BOX", "EA", "")] == ["EA", "GA", "CA", "BX", "EA", "EA"]
    with pytest.raises(UnmappablePurchaseOrder, match="'BUNDLE' has no X12 unit code"):
        unit_code("BUNDLE")
