"""810 invoice: a receipt of invoice after price, quantity and GL checks, written to Sage with the key partner +
BIG02, so the same invoice under any ICN is never entered twice. The receipt register posts it (AP open invoice and
GL) once per poll (`posting`)."""

from __future__ import annotations

from mlconnector.flows.matching import InvoicePlan, Problem, partner_problem, plan_invoice, with_unposted
from mlconnector.sage.errors import SageValidationError
from mlconnector.sage.models import SageDocument
from mlconnector.x12.documents import Invoice

from .common import Context, Outcome, receipt_row


def sage_key(partner: str, invoice_number: str) -> str:
    return f"inv:{partner}:{invoice_number}"


def apply(ctx: Context, ref: str, invoice: Invoice, *, check_sage: bool) -> Outcome:
    key = sage_key(ctx.partner, invoice.invoice_number)
    doc = ctx.written.get(key)  # the same invoice earlier in this interchange
    if doc is None and check_sage:
        doc = ctx.sage.find_by_source_key(key)
    quantities: dict[str, float] = {}
    if doc is None:
        # plan
        po = ctx.purchase_order(invoice.po_number) if invoice.po_number else None
        if po is not None:
            mapped = ctx.mapped_partners.get(po.vendor_key)
            if (wrong := partner_problem(f"Invoice {invoice.invoice_number}", po, ctx.partner, mapped)) is not None:
                return Outcome(ref, "810", problems=[wrong])
            po = with_unposted(po, ctx.unposted.get(po.purchase_order_no, {}))
        gl, centres = ctx.gl()
        plan = plan_invoice(
            invoice,
            po,
            gl,
            centres,
            price_variance_percent=ctx.tolerances.price_variance_percent,
            price_variance_amount=ctx.tolerances.price_variance_amount,
        )
        if not isinstance(plan, InvoicePlan):
            return Outcome(ref, "810", problems=plan)
        # apply with its key
        try:
            doc = ctx.sage.receive_invoice(
                plan.po_number,
                plan.invoice_number,
                invoice.invoice_date.strftime("%Y%m%d"),
                list(plan.lines),
                key,
                freight_amount=float(plan.freight),
            )
        except SageValidationError as exc:
            return Outcome(ref, "810", problems=[_refused(invoice, plan.po_number, exc)])
        quantities = {line.line_key: line.quantity for line in plan.lines}
    ctx.fault("inbound_after_invoice")
    return Outcome(
        ref,
        "810",
        receipts=[receipt_row(ctx.key, key, doc, quantities)],
        documents=[doc],
        audits=[_audit(ctx, key, invoice, doc)],
    )


def _audit(ctx: Context, key: str, invoice: Invoice, doc: SageDocument) -> dict[str, object]:
    return dict(
        direction="IN",
        document_type="810",
        source_id=ctx.key,
        target_id=f"{doc.purchase_order_no}/I-{doc.receipt_no}",
        status="invoiced" if doc.created else "already_in_sage",
        idempotency_key=key,
        message=f"Invoice {invoice.invoice_number} (Sage {doc.invoice_no}): receipt of invoice "
        f"{doc.receipt_no} for PO {doc.purchase_order_no}"
        + ("" if doc.created else " was already in Sage; not written again"),
    )


def _refused(invoice: Invoice, po_number: str, exc: SageValidationError) -> Problem:
    duplicate = "already exists" in exc.message
    return Problem(
        "duplicate_invoice" if duplicate else "sage_refused",
        f"Sage refused invoice {invoice.invoice_number} for PO {po_number}",
        exc.message,
        "Check the vendor's invoices in Sage: if it was keyed by hand, resolve this exception; otherwise correct "
        "the cause and retry."
        if duplicate
        else "Correct the cause in Sage (named above), then retry this exception.",
        {"po": po_number, "invoice": invoice.invoice_number, "field": exc.field},
    )
