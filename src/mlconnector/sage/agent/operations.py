"""The agent's operations, declared once: name, request model, response model and the gateway call.

The HTTPS routes (`server.py`), the client's methods (`client.py`) and the tunnel's dispatcher (`tunnel/`) are all
derived from `OPERATIONS`; the request models below are what the agent accepts (strict: every field bounded).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Concatenate, Generic, ParamSpec, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from mlconnector.sage.gateway import SageGateway
from mlconnector.sage.models import (
    ChangeCursor,
    ChangedPurchaseOrders,
    ChangedVendors,
    GLAccount,
    InvoiceLine,
    LineNote,
    PostingResult,
    PurchaseOrder,
    ReceiptLine,
    SageDocument,
)

MAX_BODY = 5 * 1024 * 1024
"""The largest request body the agent reads (over HTTPS or through the tunnel)."""

P = ParamSpec("P")
R = TypeVar("R")

MAX_QUANTITY = 1_000_000_000.0
"""Quantities, costs and amounts must be finite and below this: no purchase order comes near it."""

_TIME = re.compile(r" *(\d{1,2}(\.\d*)?|\.\d+) *")


def _sage_date(value: str) -> str:
    """Sage dates are YYYYMMDD and must be a real day."""
    try:
        if len(value) == 8 and value.isascii() and value.isdigit():
            datetime.strptime(value, "%Y%m%d")
            return value
    except ValueError:
        pass
    raise ValueError(f"must be a date as YYYYMMDD, e.g. 20260301, not {value[:20]!r}")


def _sage_time(value: str) -> str:
    """Sage times (TimeUpdated$) are decimal hours below 24, e.g. 14.50250 (padding spaces allowed)."""
    if value == "" or (value.isascii() and _TIME.fullmatch(value) and float(value) < 24):
        return value
    raise ValueError(f"must be a time as decimal hours, e.g. 14.50250, not {value[:20]!r}")


def _seen_entry(value: str) -> str:
    """A cursor's `seen` entry, "<date><time>:<content hash>" (the stamp may be empty)."""
    stamp, sep, digest = value.partition(":")
    if not sep or len(digest) > 64 or not all(c in "0123456789abcdef" for c in digest):
        raise ValueError("must be '<YYYYMMDD><decimal hours>:<hex hash>'")
    if stamp:
        _sage_date(stamp[:8])
        _sage_time(stamp[8:])
    return value


SageDate = Annotated[str, AfterValidator(_sage_date)]
CursorDate = Annotated[str, AfterValidator(lambda v: v and _sage_date(v))]
SageTime = Annotated[str, AfterValidator(_sage_time)]
Quantity = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]
Amount = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]


class Strict(BaseModel):
    """Every request model (and what it nests): numbers finite, so `1e309`, `NaN` and `Infinity` are a 400."""

    model_config = ConfigDict(allow_inf_nan=False)


class CursorIn(Strict, ChangeCursor):
    date: CursorDate = ""
    time: SageTime = ""
    seen: dict[Annotated[str, Field(max_length=64)], Annotated[str, AfterValidator(_seen_entry)]] = Field(
        default_factory=dict
    )


LineKey = Annotated[str, Field(min_length=1, max_length=30)]
SourceKey = Annotated[str, Field(min_length=1, max_length=1000)]


class ReceiptLineIn(Strict, ReceiptLine):
    line_key: LineKey
    quantity: Quantity


class InvoiceLineIn(Strict, InvoiceLine):
    line_key: LineKey
    quantity: Quantity
    unit_cost: Amount | None = None
    account: Annotated[str, Field(max_length=30)] | None = None


class LineNoteIn(Strict, LineNote):
    line_key: LineKey


class Credentials(Strict):
    """Sage logon for this call: opens (or reuses) a pooled BOI session for (user, company)."""

    user: str = Field(min_length=1, max_length=30)
    password: SecretStr = Field(max_length=256)
    company: str = Field(min_length=1, max_length=3)


class Call(Strict):
    credentials: Credentials


class ChangedRequest(Call):
    since: CursorIn | None = None
    limit: int | None = Field(None, ge=1, le=100_000)


class PurchaseOrderRequest(Call):
    purchase_order_no: str = Field(min_length=1, max_length=7)


class ReceiveGoodsRequest(Call):
    purchase_order_no: str = Field(min_length=1, max_length=7)
    lines: list[ReceiptLineIn]
    key: SourceKey
    receipt_date: SageDate | None = None


class ReceiveInvoiceRequest(Call):
    purchase_order_no: str = Field(min_length=1, max_length=7)
    invoice_no: str = Field(min_length=1, max_length=10)
    invoice_date: SageDate
    lines: list[InvoiceLineIn]
    key: SourceKey
    freight_amount: Amount = 0.0


class NoteLinesRequest(Call):
    purchase_order_no: str = Field(min_length=1, max_length=7)
    notes: list[LineNoteIn] = Field(max_length=1000)


class PostRequest(Call):
    posting_date: SageDate | None = None


class KeyRequest(Call):
    key: SourceKey


@dataclass(frozen=True)
class Operation(Generic[P, R]):
    """One gateway operation as the agent serves it: `POST /v1/<name>` with `request`, answered with `response`.

    `call` is the `SageGateway` method; the request model's fields are its parameters (credentials apart), so
    the client sends its arguments by name and the agent passes the validated fields back by name.
    """

    name: str
    request: type[Call]
    response: Any  # a type pydantic's TypeAdapter reads: a model, `list[GLAccount]`, `SageDocument | None`, `int`
    call: Callable[Concatenate[SageGateway, P], R]

    @property
    def path(self) -> str:
        return f"/v1/{self.name}"

    def arguments(self, request: Call) -> dict[str, Any]:
        """The validated request's fields the gateway call takes (everything but the credentials)."""
        return {name: getattr(request, name) for name in type(request).model_fields if name != "credentials"}


CHANGED_PURCHASE_ORDERS = Operation(
    "changed_purchase_orders", ChangedRequest, ChangedPurchaseOrders, SageGateway.changed_purchase_orders
)
CHANGED_VENDORS = Operation("changed_vendors", ChangedRequest, ChangedVendors, SageGateway.changed_vendors)
GL_ACCOUNTS = Operation("gl_accounts", Call, list[GLAccount], SageGateway.gl_accounts)
PURCHASE_ORDER = Operation("purchase_order", PurchaseOrderRequest, PurchaseOrder, SageGateway.purchase_order)
RECEIVE_GOODS = Operation("receive_goods", ReceiveGoodsRequest, SageDocument, SageGateway.receive_goods)
RECEIVE_INVOICE = Operation("receive_invoice", ReceiveInvoiceRequest, SageDocument, SageGateway.receive_invoice)
NOTE_PO_LINES = Operation("note_po_lines", NoteLinesRequest, int, SageGateway.note_po_lines)
POST_RECEIPTS = Operation("post_receipts", PostRequest, PostingResult, SageGateway.post_receipts)
FIND_BY_SOURCE_KEY = Operation("find_by_source_key", KeyRequest, SageDocument | None, SageGateway.find_by_source_key)

OPERATIONS: dict[str, Operation[..., Any]] = {
    op.name: op
    for op in (
        CHANGED_PURCHASE_ORDERS,
        CHANGED_VENDORS,
        GL_ACCOUNTS,
        PURCHASE_ORDER,
        RECEIVE_GOODS,
        RECEIVE_INVOICE,
        NOTE_PO_LINES,
        POST_RECEIPTS,
        FIND_BY_SOURCE_KEY,
    )
}
"""Every signed `POST /v1/<name>` the agent serves."""

HEALTH_PATH = "/v1/health"
"""The one GET: signed like the rest, no body; the backend, pooled sessions and BOI calls so far."""

PATHS: dict[str, str] = {op.path: "POST" for op in OPERATIONS.values()} | {HEALTH_PATH: "GET"}
"""Path → method of everything the agent serves (what the tunnel lets through)."""
