"""Plain typed data the gateway returns: purchasing names, no BOI strings, JSON-ready for the agent API."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field


class PurchaseOrderLine(BaseModel):
    """One PO detail line (`PO_PurchaseOrderDetail`)."""

    line_key: str
    line_seq_no: str = ""
    item_code: str
    item_description: str = ""
    item_type: str = "1"
    vendor_alias_item_no: str = ""
    unit_of_measure: str = ""
    warehouse_code: str = ""
    required_date: str = ""
    purchases_acct_key: str = Field("", description="PurchasesAcctKey$: the 9-char GL AccountKey the line posts to")
    quantity_ordered: float = 0.0
    quantity_received: float = 0.0
    quantity_backordered: float = 0.0
    quantity_invoiced: float = 0.0
    unit_cost: float = 0.0
    extension_amount: float = 0.0

    @property
    def complete(self) -> bool:
        return self.quantity_received >= self.quantity_ordered


class PurchaseOrder(BaseModel):
    """A PO header with its lines (`PO_PurchaseOrderHeader`); `order_status` N/O/B/X(complete)/Z(cancelled)."""

    purchase_order_no: str
    purchase_order_date: str = ""
    order_type: str = "S"
    order_status: str = "N"
    ap_division_no: str = ""
    vendor_no: str = ""
    vendor_name: str = ""
    warehouse_code: str = ""
    ship_to_code: str = ""
    ship_to_name: str = ""
    ship_to_address1: str = ""
    ship_to_city: str = ""
    ship_to_state: str = ""
    ship_to_zip_code: str = ""
    buyer: str = ""
    required_date: str = ""
    terms_code: str = ""
    ship_via: str = ""
    fob: str = ""
    comment: str = ""
    date_updated: str = ""
    time_updated: str = ""
    lines: list[PurchaseOrderLine] = Field(default_factory=list)

    @property
    def vendor_key(self) -> str:
        """How Sage shows a vendor: division-vendor, e.g. `01-V0001`."""
        return f"{self.ap_division_no}-{self.vendor_no}"

    def content_hash(self) -> str:
        """Hash of everything but the audit stamps: equal hashes mean an unchanged order."""
        return _hash(self.model_dump(exclude={"date_updated", "time_updated"}))


class Vendor(BaseModel):
    """An AP vendor (`AP_Vendor`, key APDivisionNo$+VendorNo$)."""

    ap_division_no: str
    vendor_no: str
    vendor_name: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    country_code: str = ""
    telephone_no: str = ""
    email_address: str = ""
    terms_code: str = ""
    primary_contact: str = ""
    date_updated: str = ""
    time_updated: str = ""

    @property
    def vendor_key(self) -> str:
        return f"{self.ap_division_no}-{self.vendor_no}"

    def content_hash(self) -> str:
        return _hash(self.model_dump(exclude={"date_updated", "time_updated"}))


class GLAccount(BaseModel):
    """A GL account split into main-division-department segments; the department is the cost centre."""

    account_key: str
    account: str
    main_account: str
    division: str = ""
    department: str = ""
    department_description: str = ""
    division_description: str = ""
    description: str = ""
    account_type: str = ""
    active: bool = True


class ChangeCursor(BaseModel):
    """High-water `DateUpdated$`/`TimeUpdated$` plus what was seen near it (key → "stamp:hash"), for overlap.

    `pass_read` lists the keys a limited poll has already read in the pass it is part-way through: the next poll
    reads the rest instead of starting again, so a burst of any size is read in pages of bounded memory.
    """

    date: str = ""
    time: str = ""
    seen: dict[str, str] = Field(default_factory=dict)
    pass_read: list[str] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        """False while a paged pass has more records to read."""
        return not self.pass_read

    @classmethod
    def at(cls, date: str, time: str = "00.00000") -> ChangeCursor:
        """A cursor that returns everything updated at or after this Sage date/time."""
        return cls(date=date, time=time)


class ChangedPurchaseOrders(BaseModel):
    items: list[PurchaseOrder]
    cursor: ChangeCursor


class ChangedVendors(BaseModel):
    items: list[Vendor]
    cursor: ChangeCursor


class ReceiptLine(BaseModel):
    """Goods received against one PO line."""

    line_key: str
    quantity: float = Field(ge=0)


class LineNote(BaseModel):
    """A comment for one PO line (`CommentText$`): how the supplier's 855 answer reaches the buyer in Sage."""

    line_key: str
    text: str = Field(max_length=2048)


class InvoiceLine(BaseModel):
    """Invoiced quantity against one PO line; `account` (formatted, e.g. 5100-01-10) overrides the PO line's."""

    line_key: str
    quantity: float = Field(ge=0)
    unit_cost: float | None = Field(None, ge=0)
    account: str | None = None


class SageDocument(BaseModel):
    """A receipt the gateway wrote or found; `created` is False when the idempotency key found an earlier one."""

    kind: Literal["receipt_of_goods", "receipt_of_invoice"]
    receipt_type: Literal["G", "I"]
    receipt_no: str
    purchase_order_no: str
    ap_division_no: str = ""
    vendor_no: str = ""
    invoice_no: str = ""
    source_key_token: str = ""
    posted: bool = False
    created: bool = True
    warnings: list[str] = Field(default_factory=list)


class PostingResult(BaseModel):
    """What a receipt register update posted (`G-000001`, `I-000002` …)."""

    posted: list[str]
    posting_date: str


def _hash(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]
