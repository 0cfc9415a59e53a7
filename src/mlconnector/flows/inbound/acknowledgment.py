"""855 purchase order acknowledgment: the supplier's answer per PO line, kept in the connector and noted on the
Sage PO lines (`CommentText$`); changed or refused lines go to the buyer as exceptions."""

from __future__ import annotations

from mlconnector.flows.matching import AcknowledgmentPlan, Problem, partner_problem, plan_acknowledgment
from mlconnector.sage.errors import SageValidationError
from mlconnector.store.models import PurchaseOrderLineAck
from mlconnector.x12.documents import PurchaseOrderAck

from .common import Context, Outcome


def apply(ctx: Context, ref: str, ack: PurchaseOrderAck) -> Outcome:
    # plan
    po = ctx.purchase_order(ack.po_number)
    if po is not None:
        wrong = partner_problem(
            f"{ctx.partner}'s acknowledgment", po, ctx.partner, ctx.mapped_partners.get(po.vendor_key)
        )
        if wrong is not None:
            return Outcome(ref, "855", problems=[wrong])
    plan = plan_acknowledgment(ack, po, ctx.partner)
    if not isinstance(plan, AcknowledgmentPlan):
        return Outcome(ref, "855", problems=plan)
    # apply: writing the same notes again is harmless, so a resumed 855 needs no key
    problems = list(plan.problems)
    try:
        ctx.sage.note_po_lines(ack.po_number, plan.notes)
    except SageValidationError as exc:
        problems.insert(
            0,
            Problem(
                "po_note_refused",
                f"Sage refused the 855 notes on PO {ack.po_number}",
                f"Sage answered: {exc}.",
                "The answer is kept in the connector (`exceptions show`); fix the PO in Sage and retry.",
                {"po": ack.po_number},
            ),
        )
    changed = sum(a.status == "changed" for a in plan.answers)
    refused = sum(a.status == "rejected" for a in plan.answers)
    return Outcome(
        ref,
        "855",
        problems=problems,
        applied_despite_problems=True,
        line_acks=[
            PurchaseOrderLineAck(
                po_number=ack.po_number,
                line_number=a.line_number,
                partner=ctx.partner,
                status_code="+".join(a.codes)[:4],
                status=a.status,
                quantity=str(a.quantity),
                unit_price=None if a.unit_price is None else str(a.unit_price),
                promised_date=a.promised_date,
                source_key=ctx.key,
            )
            for a in plan.answers
        ],
        audits=[
            dict(
                direction="IN",
                document_type="855",
                source_id=ctx.key,
                target_id=ack.po_number,
                status=f"ack_{ack.ack_type.lower()}",
                message=f"{len(ack.lines)} line(s) answered; {changed} changed, {refused} rejected",
            )
        ],
    )
