"""856 ship notice: one receipt of goods per PO of the ASN (a PO with any problem gets none), written to Sage with
the key partner + BSN02 + PO, so the same shipment under any ICN never makes a second receipt. The receipt register
posts them once per poll (`posting`)."""

from __future__ import annotations

from collections.abc import Iterable

from mlconnector.flows.matching import Problem, ReceiptPlan, partner_problem, plan_receipt, with_unposted
from mlconnector.sage.errors import SageValidationError
from mlconnector.sage.models import SageDocument
from mlconnector.x12.documents import ShipmentOrder, ShipNotice

from .common import Context, Outcome, receipt_row, sage_refused


def sage_key(partner: str, shipment_id: str, po_number: str) -> str:
    return f"asn:{partner}:{shipment_id}:{po_number}"


def apply(ctx: Context, ref: str, notice: ShipNotice, *, check_sage: bool) -> Outcome:
    outcome = Outcome(ref, "856")
    # plan every PO first: a problem anywhere in a PO writes nothing for that PO
    plans: list[ReceiptPlan] = []
    found: list[SageDocument] = []
    for order in orders_by_po(notice.orders):
        key = sage_key(ctx.partner, notice.shipment_id, order.po_number)
        existing = ctx.written.get(key)  # the same shipment earlier in this interchange
        if existing is None and check_sage:
            existing = ctx.sage.find_by_source_key(key)
        if existing is not None:
            found.append(existing)
            continue
        po = ctx.purchase_order(order.po_number)
        if po is not None:
            mapped = ctx.mapped_partners.get(po.vendor_key)
            if (wrong := partner_problem(f"ASN {notice.shipment_id}", po, ctx.partner, mapped)) is not None:
                outcome.problems.append(wrong)
                continue
            po = with_unposted(po, ctx.unposted.get(po.purchase_order_no, {}))
        result = plan_receipt(
            order, po, shipment_id=notice.shipment_id, over_shipment_percent=ctx.tolerances.over_shipment_percent
        )
        if isinstance(result, ReceiptPlan):
            plans.append(result)
        else:
            outcome.problems.extend(result)
    # apply, each with its key
    written: list[tuple[SageDocument, dict[str, float]]] = []
    for plan in plans:
        key = sage_key(ctx.partner, notice.shipment_id, plan.po_number)
        try:
            doc = ctx.sage.receive_goods(plan.po_number, list(plan.lines), key)
        except SageValidationError as exc:
            what = f"Sage refused the receipt of ASN {notice.shipment_id} for PO {plan.po_number}"
            outcome.problems.append(sage_refused(what, exc, {"po": plan.po_number}))
            continue
        written.append((doc, {line.line_key: line.quantity for line in plan.lines}))
    ctx.fault("inbound_after_receipt")
    # what to record
    # A receipt found in Sage (written before a crash) waits for the register without its quantities: an invoice
    # for the PO in the same poll then waits for the posting instead of being matched against it.
    for doc, quantities in [*written, *((doc, {}) for doc in found)]:
        key = sage_key(ctx.partner, notice.shipment_id, doc.purchase_order_no)
        outcome.receipts.append(receipt_row(ctx.key, key, doc, quantities))
        outcome.documents.append(doc)
        outcome.reopen_invoices_of.add(doc.purchase_order_no)
        outcome.audits.append(
            dict(
                direction="IN",
                document_type="856",
                source_id=ctx.key,
                target_id=f"{doc.purchase_order_no}/G-{doc.receipt_no}",
                status="received" if doc.created else "already_in_sage",
                idempotency_key=key,
                message=f"ASN {notice.shipment_id}: receipt of goods {doc.receipt_no} for PO "
                f"{doc.purchase_order_no}" + ("" if doc.created else " was already in Sage; not written again"),
            )
        )
    return outcome


def orders_by_po(orders: Iterable[ShipmentOrder]) -> list[ShipmentOrder]:
    """One order per PO, even when the ASN lists a PO at two order levels (quantities are checked together)."""
    merged: dict[str, ShipmentOrder] = {}
    for order in orders:
        if order.po_number in merged:
            first = merged[order.po_number]
            merged[order.po_number] = ShipmentOrder(
                first.po_number, first.po_date, items=first.all_items() + order.all_items()
            )
        else:
            merged[order.po_number] = order
    return list(merged.values())


__all__ = ["Problem", "apply", "orders_by_po", "sage_key"]
