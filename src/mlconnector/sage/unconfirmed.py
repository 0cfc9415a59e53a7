"""Everything the BOI reference marks [U] (unconfirmed) lives here, behind one switch class.

Verify each value against a real Sage 100 server (see docs/sage.md) and change it here only; the gateway reads
nothing unconfirmed from anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unconfirmed:
    """Names not confirmed by a source (reference `sage100-boi.md`, marked [U]).

    Also unconfirmed, and built into the gateway's shape rather than a name: PO lines are batch-read with
    `oLines.nGetResultSets` on `PO_PurchaseOrder_svc`, over the whole detail table.
    """

    next_receipt_no_method: str = "nGetNextReceiptNo"
    receipt_ui_task: str = "PO_Receipt_ui"
    receipt_register_ui_task: str = "PO_ReceiptRegister_ui"
    receipt_line_po_line_column: str = "OrderLineKey$"
    """How a receipt line names the PO line it receives (the reference found no copy-lines method)."""
    source_key_column: str = "Comment$"
    """Where the idempotency token is stored on the receipt header (a UDF is the alternative)."""
    buyer_column: str = "RequisitorName$"
    """Sage 100 has no standard buyer field on the PO header; the requisitor is the closest."""
    receipt_history_object: str = "PO_ReceiptHistory_svc"
    """Posted receipts leave PO_ReceiptHeader for history; the idempotency lookup reads this object too."""
    lock_message_fragment: str = "in use"
    """The wording of Sage's record-lock message; the error table matches it case-insensitively."""


UNCONFIRMED = Unconfirmed()
