"""Shared steps for the inbound tests: poll like the inbound job, read what Sage and the store hold."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from mlconnector.sage.models import PurchaseOrder as SagePurchaseOrder
from mlconnector.store.models import ExceptionRecord, InboundDocument
from mlconnector.x12 import SequentialControlNumbers, write_interchange
from mlconnector.x12.documents import (
    Document,
    EnvelopeParties,
    Invoice,
    InvoiceLine,
    ProductId,
    ShipmentItem,
    ShipmentOrder,
    ShipNotice,
)

from .conftest import World


def send_all(world: World) -> None:
    for item in world.connector.collect_purchase_orders():
        world.connector.send_outbound(item)


def process_until(
    world: World,
    wanted: dict[str, int],
    timeout: float = 30,
    after: Callable[[str, str, str], None] | None = None,
) -> list[tuple[str, str, str]]:
    """Run the inbound job until `wanted` counts of each type are stored and none is left open; `after` sees
    each (key, type, status) as it is processed. Returns them in processing order."""
    done: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key in world.connector.collect_inbound():
            status = world.connector.process_inbound(key)
            done.append((key, document_type(world, key), status))
            if after is not None:
                after(*done[-1])
        world.connector.post_inbound()  # as the engine does at the end of each inbound poll
        counts = stored_counts(world)
        if all(counts.get(t, 0) >= n for t, n in wanted.items()) and not world.connector.collect_inbound():
            return done
        time.sleep(0.05)
    raise AssertionError(f"wanted {wanted}, stored {stored_counts(world)}")


def document_type(world: World, key: str) -> str:
    key = key.rsplit("#", 1)[0]  # work items are `key#attempt`
    with world.store.transaction() as session:
        query = select(InboundDocument.document_type).where(InboundDocument.idempotency_key == key)
        return session.scalars(query).one()


def stored_counts(world: World) -> dict[str, int]:
    with world.store.transaction() as session:
        counts: dict[str, int] = {}
        for doc_type in session.scalars(select(InboundDocument.document_type)):
            counts[doc_type] = counts.get(doc_type, 0) + 1
        return counts


def statuses(world: World, document_type: str) -> list[str]:
    with world.store.transaction() as session:
        return sorted(
            session.scalars(select(InboundDocument.status).where(InboundDocument.document_type == document_type))
        )


def open_exceptions(world: World, kind: str | None = None) -> list[ExceptionRecord]:
    with world.store.transaction() as session:
        query = select(ExceptionRecord).where(ExceptionRecord.status == "open").order_by(ExceptionRecord.id)
        if kind:
            query = query.where(ExceptionRecord.kind == kind)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


@dataclass(frozen=True, order=True)
class SageReceipt:
    receipt_type: str
    receipt_no: str
    po_number: str
    invoice_no: str
    posted: bool


def sage_receipts(world: World) -> list[SageReceipt]:
    """Every receipt of goods (G) and of invoice (I) in the simulated company, pending or posted."""
    conn = sqlite3.connect(world.sim.db_path)
    try:
        rows = conn.execute(
            "SELECT ReceiptType, ReceiptNo, PurchaseOrderNo, InvoiceNo, 0 FROM PO_ReceiptHeader UNION ALL "
            "SELECT ReceiptType, ReceiptNo, PurchaseOrderNo, InvoiceNo, 1 FROM PO_ReceiptHistoryHeader"
        ).fetchall()
    finally:
        conn.close()
    return sorted(SageReceipt(t, n, p, i or "", bool(h)) for t, n, p, i, h in rows)


def sage_po(world: World, po_number: str) -> SagePurchaseOrder:
    return world.agent_client.purchase_order(po_number)


def our_997s(world: World) -> list[str]:
    return [m["payload"] for m in world.outbound_messages() if m["document_type"] == "997"]


def partner_parties(partner: str = "ALPHA") -> EnvelopeParties:
    return EnvelopeParties("ZZ", f"{partner}EDI", "ZZ", "ABCDIST", f"{partner}EDI", "ABCDIST")


def interchange(documents: list[Document], icn: int, partner: str = "ALPHA") -> str:
    return write_interchange(
        documents, partner_parties(partner), SequentialControlNumbers(icn), when=datetime(2026, 11, 26, 12, 0)
    )


def with_icn(payload: str, icn: int) -> str:
    """The same interchange under a new ISA13/IEA02 (what a partner's resend with a fresh envelope looks like)."""
    element = payload[3]
    parts = payload.split(element, 16)
    parts[13] = f"{icn:09d}"
    text = element.join(parts)
    trailer = rf"IEA\{element}(\d+)\{element}\d{{9}}"
    return re.sub(trailer, lambda m: f"IEA{element}{m.group(1)}{element}{icn:09d}", text)


def ship_notice(shipment_id: str, orders: dict[str, list[tuple[str, str, Decimal]]]) -> ShipNotice:
    """An ASN: {po: [(line number, item code, quantity), ...]}."""
    return ShipNotice(
        shipment_id=shipment_id,
        ship_date=date(2026, 11, 26),
        ship_time=datetime(2026, 11, 26, 12, 0).time(),
        orders=tuple(
            ShipmentOrder(
                po,
                items=tuple(ShipmentItem(line, qty, "EA", (ProductId("BP", item),)) for line, item, qty in lines),
            )
            for po, lines in orders.items()
        ),
    )


def invoice(number: str, po: str, lines: list[tuple[str, str, Decimal, Decimal]]) -> Invoice:
    """An 810: [(line number, item code, quantity, unit price), ...]."""
    items = tuple(InvoiceLine(line, qty, "EA", price, (ProductId("BP", item),)) for line, item, qty, price in lines)
    total = sum((i.quantity * i.unit_price for i in items), Decimal(0))
    return Invoice(number, date(2026, 11, 26), po, items, total)


def po_lines(world: World, po_number: str) -> list[tuple[str, str, Decimal, Decimal]]:
    """(line number as the 850 sent it, item, quantity ordered, unit cost) for each line of a Sage PO."""
    po = sage_po(world, po_number)
    return [
        (str(int(ln.line_key)), ln.item_code, Decimal(str(ln.quantity_ordered)), Decimal(str(ln.unit_cost)))
        for ln in po.lines
    ]


def exception_summaries(world: World) -> list[str]:
    """Open exceptions as `kind: what — why`, so a failing assertion says what went wrong."""
    return [f"{e.kind}: {e.what} — {e.why}" for e in open_exceptions(world)]
