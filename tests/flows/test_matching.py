"""ASN and invoice matching: plans to write, or clear reasons not to (pure, no servers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mlconnector.flows.matching import (
    GLEntry,
    InvoicePlan,
    Problem,
    ReceiptPlan,
    Unposted,
    plan_invoice,
    plan_receipt,
    with_unposted,
)
from mlconnector.sage.models import PurchaseOrder, PurchaseOrderLine
from mlconnector.x12.documents import (
    Charge,
    Invoice,
    InvoiceLine,
    ProductId,
    Reference,
    ShipmentItem,
    ShipmentOrder,
    ShipmentPack,
)

GL = {
    "K6000001": GLEntry("K6000001", "6000-01-10", "10", True),
    "K6000002": GLEntry("K6000002", "6000-01-99", "99", True),
    "K6000003": GLEntry("K6000003", "6100-01-10", "10", False),
}
CENTRES = {"10", "20"}


def make_po(status: str = "O", received: float = 0, invoiced: float = 0, account: str = "K6000001") -> PurchaseOrder:
    return PurchaseOrder(
        purchase_order_no="0000123",
        order_status=status,
        ap_division_no="01",
        vendor_no="ACME",
        lines=[
            PurchaseOrderLine(
                line_key="000001",
                item_code="WIDGET-1",
                vendor_alias_item_no="AC-100",
                unit_of_measure="EA",
                quantity_ordered=10,
                quantity_received=received,
                quantity_invoiced=invoiced,
                unit_cost=2.5,
                purchases_acct_key=account,
            ),
            PurchaseOrderLine(
                line_key="000002",
                item_code="BOLT-7",
                unit_of_measure="BX",
                quantity_ordered=4,
                unit_cost=12.0,
                purchases_acct_key="K6000001",
            ),
        ],
    )


def shipment(*items: ShipmentItem, po_number: str = "0000123") -> ShipmentOrder:
    return ShipmentOrder(po_number=po_number, packs=(ShipmentPack(items=items),))


def item(line: str, qty: str, *ids: ProductId) -> ShipmentItem:
    return ShipmentItem(line_number=line, quantity_shipped=Decimal(qty), uom="EA", product_ids=ids)


def kinds(result: object) -> list[str]:
    assert isinstance(result, list)
    return [p.kind for p in result if isinstance(p, Problem)]


def test_partial_shipment_receives_partial_quantities_summed_across_cartons() -> None:
    result = plan_receipt(
        shipment(item("1", "4"), item("1", "2"), item("2", "4")), make_po(), shipment_id="S1", over_shipment_percent=0
    )
    assert isinstance(result, ReceiptPlan)
    assert [(ln.line_key, ln.quantity) for ln in result.lines] == [("000001", 6.0), ("000002", 4.0)]


def test_lines_match_by_item_code_or_vendor_part_when_no_line_number() -> None:
    by_part = shipment(item("", "3", ProductId("VP", "AC-100")), item("", "1", ProductId("BP", "BOLT-7")))
    result = plan_receipt(by_part, make_po(), shipment_id="S1", over_shipment_percent=0)
    assert isinstance(result, ReceiptPlan)
    assert [ln.line_key for ln in result.lines] == ["000001", "000002"]


def test_over_shipment_beyond_tolerance_writes_nothing_for_the_po() -> None:
    result = plan_receipt(
        shipment(item("1", "8"), item("2", "1")), make_po(received=5), shipment_id="S1", over_shipment_percent=10
    )
    assert kinds(result) == ["over_shipment"]
    assert "8 EA shipped, 5 open" in result[0].why  # type: ignore[index]
    within = plan_receipt(shipment(item("1", "6")), make_po(received=5), shipment_id="S1", over_shipment_percent=10)
    assert isinstance(within, ReceiptPlan)


@pytest.mark.parametrize(
    ("po", "kind"), [(None, "unknown_po"), (make_po("X"), "closed_po"), (make_po("Z"), "closed_po")]
)
def test_unknown_or_closed_po(po: PurchaseOrder | None, kind: str) -> None:
    assert kinds(plan_receipt(shipment(item("1", "1")), po, shipment_id="S1", over_shipment_percent=0)) == [kind]


def test_unknown_item() -> None:
    result = plan_receipt(
        shipment(item("9", "1", ProductId("VP", "NOPE"))), make_po(), shipment_id="S1", over_shipment_percent=0
    )
    assert kinds(result) == ["unknown_item"]
    assert "VP NOPE" in result[0].why  # type: ignore[index]


def invoice(price: str = "2.5", qty: str = "4", po_number: str | None = "0000123") -> Invoice:
    return Invoice(
        invoice_number="INV-1",
        invoice_date=date(2026, 11, 26),
        po_number=po_number,
        lines=(InvoiceLine(line_number="1", quantity=Decimal(qty), uom="EA", unit_price=Decimal(price)),),
        total_amount=Decimal(qty) * Decimal(price),
        charges=(Charge("C", "D240", Decimal("15.00")),),
    )


def test_matching_invoice_plans_a_receipt_of_invoice_with_freight() -> None:
    result = plan_invoice(invoice(), make_po(received=4), GL, CENTRES, price_variance_percent=2)
    assert isinstance(result, InvoicePlan)
    assert result.freight == Decimal("15.00")
    # The PO price: Sage takes the cost from the PO line, so none is written.
    assert [(ln.line_key, ln.quantity, ln.unit_cost) for ln in result.lines] == [("000001", 4.0, None)]
    tolerated = plan_invoice(invoice("2.52"), make_po(received=4), GL, CENTRES, price_variance_percent=2)
    assert isinstance(tolerated, InvoicePlan)
    assert [ln.unit_cost for ln in tolerated.lines] == [2.52]  # a tolerated other price is the invoice's


def test_unposted_receipts_count_as_received_and_invoiced() -> None:
    po = make_po(received=0)
    assert kinds(plan_invoice(invoice(), po, GL, CENTRES, price_variance_percent=2)) == ["not_received"]
    goods_written = with_unposted(po, {"000001": Unposted(received=4)})
    assert isinstance(plan_invoice(invoice(), goods_written, GL, CENTRES, price_variance_percent=2), InvoicePlan)
    also_invoiced = with_unposted(po, {"000001": Unposted(received=4, invoiced=4)})
    assert kinds(plan_invoice(invoice(), also_invoiced, GL, CENTRES, price_variance_percent=2)) == ["not_received"]
    assert kinds(plan_receipt(shipment(item("1", "10")), goods_written, shipment_id="S2", over_shipment_percent=0)) == [
        "over_shipment"
    ]


def test_price_variance_beyond_tolerance() -> None:
    assert kinds(plan_invoice(invoice("2.60"), make_po(received=4), GL, CENTRES, price_variance_percent=2)) == [
        "price_variance"
    ]
    assert isinstance(
        plan_invoice(invoice("2.54"), make_po(received=4), GL, CENTRES, price_variance_percent=2), InvoicePlan
    )


@pytest.mark.parametrize("tolerance", [0, 2, 100, 1000])
def test_a_price_against_a_zero_cost_po_line_is_a_price_exception_whatever_the_percentage(tolerance: float) -> None:
    """A percentage of nothing is nothing: an invoice that charges for a no-charge PO line never passes unseen."""
    free = make_po(received=4)
    free.lines[0].unit_cost = 0.0
    result = plan_invoice(invoice("2.50"), free, GL, CENTRES, price_variance_percent=tolerance)
    assert kinds(result) == ["price_variance"]
    (problem,) = result  # type: ignore[misc]
    assert "PO price 0 — the PO line is at no charge" in problem.why
    assert problem.details["invoiced"] == "2.50" and problem.details["po_price"] == "0"


def test_a_zero_cost_po_line_invoiced_at_zero_passes() -> None:
    free = make_po(received=4)
    free.lines[0].unit_cost = 0.0
    result = plan_invoice(invoice("0"), free, GL, CENTRES, price_variance_percent=0)
    assert isinstance(result, InvoicePlan)
    # The invoice's price equals the PO's, so no cost is written: Sage takes it from the PO line.
    assert [(ln.line_key, ln.unit_cost) for ln in result.lines] == [("000001", None)]


def test_invoice_ahead_of_receipt() -> None:
    assert kinds(plan_invoice(invoice(), make_po(received=2), GL, CENTRES, price_variance_percent=2)) == [
        "not_received"
    ]


@pytest.mark.parametrize(
    ("account", "words"),
    [("K9999999", "not in the chart"), ("K6000003", "inactive"), ("K6000002", "not a cost centre")],
)
def test_gl_validation_names_the_account(account: str, words: str) -> None:
    result = plan_invoice(invoice(), make_po(received=4, account=account), GL, CENTRES, price_variance_percent=2)
    assert kinds(result) == ["gl_account"]
    assert words in result[0].why  # type: ignore[index]


def test_invoice_without_po_number() -> None:
    assert kinds(plan_invoice(invoice(po_number=None), None, GL, CENTRES, price_variance_percent=2)) == ["unknown_po"]


GL_CENTRES = {
    **GL,
    "K6000020": GLEntry("K6000020", "6000-01-20", "20", True),
    "K6000030": GLEntry("K6000030", "6000-01-30", "30", False),
}


def invoice_naming(centre: str) -> Invoice:
    base = invoice()
    return Invoice(
        invoice_number=base.invoice_number,
        invoice_date=base.invoice_date,
        po_number=base.po_number,
        lines=base.lines,
        total_amount=base.total_amount,
        references=(Reference("DP", centre),),
    )


def test_an_invoice_naming_a_cost_centre_accrues_there() -> None:
    result = plan_invoice(invoice_naming("20"), make_po(received=4), GL_CENTRES, {"10", "20"}, price_variance_percent=2)
    assert isinstance(result, InvoicePlan)
    assert result.lines[0].account == "6000-01-20"
    same = plan_invoice(invoice_naming("10"), make_po(received=4), GL_CENTRES, {"10", "20"}, price_variance_percent=2)
    assert isinstance(same, InvoicePlan) and same.lines[0].account is None, "the PO line's own cost centre"


@pytest.mark.parametrize(("centre", "words"), [("40", "has no 6000-01-40"), ("30", "inactive")])
def test_a_named_cost_centre_must_have_an_active_account(centre: str, words: str) -> None:
    result = plan_invoice(
        invoice_naming(centre), make_po(received=4), GL_CENTRES, {"10", "20", "30"}, price_variance_percent=2
    )
    assert kinds(result) == ["gl_account"]
    assert words in result[0].why  # type: ignore[index]


def test_an_amount_per_unit_lets_a_zero_cost_line_carry_a_small_charge_and_no_more() -> None:
    """`[tolerances] price_variance_amount`: the tolerance that "says otherwise" for a line at no charge."""
    free = make_po(received=4)
    free.lines[0].unit_cost = 0.0
    within = plan_invoice(invoice("0.25"), free, GL, CENTRES, price_variance_percent=2, price_variance_amount=0.25)
    assert isinstance(within, InvoicePlan)
    beyond = plan_invoice(invoice("0.26"), free, GL, CENTRES, price_variance_percent=2, price_variance_amount=0.25)
    assert kinds(beyond) == ["price_variance"]
    assert "(tolerance 2% or 0.25 per unit)" in beyond[0].why  # type: ignore[index]


def test_the_larger_of_the_share_and_the_amount_applies() -> None:
    po = make_po(received=4)  # PO price 2.50: 2 % is 0.05
    share = plan_invoice(invoice("2.55"), po, GL, CENTRES, price_variance_percent=2, price_variance_amount=0.01)
    assert isinstance(share, InvoicePlan)
    amount = plan_invoice(invoice("2.60"), po, GL, CENTRES, price_variance_percent=2, price_variance_amount=0.10)
    assert isinstance(amount, InvoicePlan)
    neither = plan_invoice(invoice("2.61"), po, GL, CENTRES, price_variance_percent=2, price_variance_amount=0.10)
    assert kinds(neither) == ["price_variance"]
