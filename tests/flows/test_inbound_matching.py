"""The pure inbound rules added for Sage: invoice numbers Sage can hold, complete POs still invoiceable, the sender
must be the PO's trading partner."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mlconnector.flows.matching import (
    GLEntry,
    InvoicePlan,
    Problem,
    partner_problem,
    plan_invoice,
    plan_receipt,
    sage_invoice_no,
)
from mlconnector.sage.models import PurchaseOrder, PurchaseOrderLine
from mlconnector.x12.documents import Invoice, InvoiceLine, ProductId, ShipmentItem, ShipmentOrder

GL = {"K1": GLEntry("K1", "6000-01-10", "10", True)}


def complete_po() -> PurchaseOrder:
    return PurchaseOrder(
        purchase_order_no="0000123",
        order_status="X",
        ap_division_no="01",
        vendor_no="ACME",
        lines=[
            PurchaseOrderLine(
                line_key="000001",
                item_code="WIDGET-1",
                quantity_ordered=4,
                quantity_received=4,
                unit_cost=2.5,
                purchases_acct_key="K1",
            )
        ],
    )


def test_invoice_numbers_longer_than_sage_holds_keep_their_distinctive_end() -> None:
    assert sage_invoice_no("A-77") == "A-77"
    assert sage_invoice_no("INV-0000001-1") == "NV00000011"
    assert sage_invoice_no("INV-0000001-2") != sage_invoice_no("INV-0000001-1")
    assert all(len(sage_invoice_no(n)) <= 10 for n in ("X" * 40, "12345678901", "  ab  "))


def test_a_complete_po_takes_its_invoice_but_no_more_goods() -> None:
    po = complete_po()
    bill = Invoice(
        "INV-9", date(2026, 11, 26), "0000123", (InvoiceLine("1", Decimal(4), "EA", Decimal("2.5")),), Decimal(10)
    )
    plan = plan_invoice(bill, po, GL, {"10"}, price_variance_percent=2)
    assert isinstance(plan, InvoicePlan) and plan.invoice_number == "INV-9"
    asn = ShipmentOrder("0000123", items=(ShipmentItem("1", Decimal(1), "EA", (ProductId("BP", "WIDGET-1"),)),))
    problems = plan_receipt(asn, po, shipment_id="S1", over_shipment_percent=0)
    assert isinstance(problems, list) and [p.kind for p in problems] == ["closed_po"]


def test_the_sender_must_be_the_pos_trading_partner_when_the_vendor_is_mapped() -> None:
    po = complete_po()
    assert partner_problem("ASN S1", po, "ACME", "ACME") is None
    assert partner_problem("ASN S1", po, "ACME", None) is None  # unmapped vendor: accepted
    problem = partner_problem("ASN S1", po, "OTHER", "ACME")
    assert isinstance(problem, Problem) and problem.kind == "wrong_partner"
    assert "01-ACME" in problem.what and "ACME" in problem.why and "map vendor" in problem.fix
