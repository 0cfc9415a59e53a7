"""Post once per poll: the receipt register (PO_ReceiptRegister_upd, a heavy batch job in a real Sage company) runs
once for every receipt the connector wrote during an inbound poll, not once per ASN or invoice.

Crash guarantees, with the `sage_receipts` journal (a row per receipt written, recorded with its document):
- written, then a crash before the journal row: the document stays `applying`, is resumed, finds the receipt in
  Sage by its key and records it — then it is posted with that poll;
- journal row recorded, then a crash before the register ran: the next poll (or the end of this one, on recovery)
  finds the row still `written` and posts;
- the register ran, then a crash before the journal was updated: the next post finds nothing pending in Sage for
  it, and marks it posted. Sage moves a posted receipt to history, so nothing is ever posted twice.
"""

from __future__ import annotations

from sqlalchemy import func, select

from mlconnector.flows.faults import FaultHook, no_fault
from mlconnector.sage.models import PostingResult
from mlconnector.store import Store
from mlconnector.store.models import PostingStatus, SageReceipt, utcnow
from mlconnector.store.ops import audit

from .common import SageReceiving, Tolerances


def waiting(store: Store, tolerances: Tolerances) -> int | None:
    """The newest journal row the register must post (None: nothing to post)."""
    with store.transaction() as session:
        query = select(func.max(SageReceipt.id)).where(SageReceipt.status == PostingStatus.WRITTEN)
        if not tolerances.post_invoices:
            query = query.where(SageReceipt.receipt_type == "G")
        return session.scalar(query)


def post(
    store: Store, sage: SageReceiving, tolerances: Tolerances, fault: FaultHook = no_fault
) -> PostingResult | None:
    """Run the receipt register once if any receipt the connector wrote is still unposted; None when none is."""
    newest = waiting(store, tolerances)
    if newest is None:
        return None
    result = sage.post_receipts()
    fault("inbound_after_post")
    with store.transaction() as session:
        # Every receipt written before the register started is posted now (by this run, or an earlier one
        # that crashed before recording it): Sage's register takes all pending receipts.
        rows = session.scalars(
            select(SageReceipt).where(SageReceipt.status == PostingStatus.WRITTEN, SageReceipt.id <= newest)
        ).all()
        for row in rows:
            row.status, row.posted_at = PostingStatus.POSTED, utcnow()
        audit(
            session,
            direction="IN",
            document_type="register",
            source_id="PO_ReceiptRegister_upd",
            status="posted",
            message=f"{len(result.posted)} receipt(s) posted on {result.posting_date}: "
            + (", ".join(result.posted[:20]) or "none pending in Sage")
            + (f" and {len(result.posted) - 20} more" if len(result.posted) > 20 else ""),
        )
    return result
