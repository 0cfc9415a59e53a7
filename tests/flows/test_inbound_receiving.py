"""The inbound flow into Sage with the sandbox's partner profiles: 855 recorded, 856 received and posted, 810
invoiced after price and GL checks, every inbound group answered with our 997."""

from __future__ import annotations

import re
import sqlite3

import pytest
from sqlalchemy import select

from mlconnector.flows.inbound import Tolerances
from mlconnector.flows.matching import sage_invoice_no
from mlconnector.store.models import PurchaseOrderLineAck
from mlconnector.x12 import read_documents
from mlconnector.x12.documents import FunctionalAck

from .conftest import World
from .inbound_helpers import (
    exception_summaries,
    open_exceptions,
    our_997s,
    process_until,
    sage_po,
    sage_receipts,
    send_all,
    statuses,
)


def ack_statuses(world: World) -> dict[str, str]:
    with world.store.transaction() as session:
        return {f"{a.po_number}/{a.line_number}": a.status for a in session.scalars(select(PurchaseOrderLineAck))}


@pytest.mark.partners("perfect", 0.0)
def test_perfect_partner_po_is_received_invoiced_and_closed(world: World) -> None:
    po = world.create_po("01-V0001", lines=3)
    send_all(world)
    process_until(world, {"997": 1, "855": 1, "856": 1, "810": 1})
    assert exception_summaries(world) == []
    assert statuses(world, "856") == ["applied"] and statuses(world, "810") == ["applied"]
    receipts = sage_receipts(world)
    assert [(r.receipt_type, r.po_number, r.posted) for r in receipts] == [("G", po, True), ("I", po, True)]
    assert receipts[1].invoice_no == sage_invoice_no(f"INV-{po}-1")
    order = sage_po(world, po)
    assert order.order_status == "X"
    assert all(line.quantity_received == line.quantity_ordered for line in order.lines)
    assert set(ack_statuses(world).values()) == {"accepted"}
    with sqlite3.connect(world.sim.db_path) as conn:
        notes = [
            r[0] for r in conn.execute("SELECT CommentText FROM PO_PurchaseOrderDetail WHERE PurchaseOrderNo=?", (po,))
        ]
    assert len(notes) == 3 and all(n.startswith("EDI 855 from ALPHA: accepted (IA)") for n in notes), notes
    assert exception_summaries(world) == []
    answered = [d.document for p in our_997s(world) for d in read_documents(p)]
    assert len(answered) == 3  # 855, 856, 810; the partner's own 997 is not answered
    assert all(isinstance(a, FunctionalAck) and a.status == "A" for a in answered)


@pytest.mark.partners("partial-shipper", 0.0)
def test_partial_shipper_leaves_lines_open_until_the_backorder_ships(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    send_all(world)
    after_each_asn: list[str] = []

    def look(_key: str, document_type: str, status: str) -> None:
        if document_type == "856" and status == "applied":
            world.connector.post_inbound()  # the register on demand (the engine runs it once at the end of a poll)
            after_each_asn.append(sage_po(world, po).order_status)

    process_until(world, {"855": 1, "856": 2, "810": 2}, after=look)
    assert after_each_asn == ["B", "X"]  # partially received: still open; complete after the backorder
    assert "backordered" in ack_statuses(world).values()
    assert statuses(world, "810") == ["applied", "applied"]
    assert sorted(r.receipt_type for r in sage_receipts(world)) == ["G", "G", "I", "I"]
    assert exception_summaries(world) == []


@pytest.mark.partners("price-variance", 0.0)
def test_price_variance_is_an_exception_until_the_tolerance_allows_it_then_retry_applies(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    send_all(world)
    process_until(world, {"855": 1, "856": 1, "810": 1})
    assert statuses(world, "810") == ["exception"]
    [variance] = open_exceptions(world, "price_variance")
    assert variance.what.startswith("Invoice INV-") and "tolerance 2%" in variance.why
    assert variance.document_ref == f"810:ALPHA:INV-{po}-1"
    [changed] = open_exceptions(world, "po_changed_by_supplier")
    assert re.search(r"accepted with changes: line \d+: IP quantity \S+ at ", changed.why), changed.why
    assert [r.receipt_type for r in sage_receipts(world)] == ["G"]  # goods received, no invoice written

    world.connector.receiving.tolerances = Tolerances(price_variance_percent=10.0)
    assert world.connector.retry_exception(variance.id) == "applied"
    assert open_exceptions(world, "price_variance") == []
    assert sorted(r.receipt_type for r in sage_receipts(world)) == ["G", "I"]
    assert world.connector.retry_exception(variance.id) == "applied"  # again: a no-op
    assert sorted(r.receipt_type for r in sage_receipts(world)) == ["G", "I"]


@pytest.mark.partners("sloppy", 0.0)
def test_sloppy_partner_gets_a_rejecting_997_and_nothing_is_received(world: World) -> None:
    po = world.create_po("01-V0001", lines=3)
    send_all(world)
    process_until(world, {"855": 1, "856": 1, "810": 1})
    assert statuses(world, "856") == ["exception"]
    [invalid] = open_exceptions(world, "invalid_document")
    assert "ALPHA's 856" in invalid.what and "997" in invalid.why
    rejected = [
        d.document
        for p in our_997s(world)
        for d in read_documents(p)
        if isinstance(d.document, FunctionalAck) and d.document.functional_id == "SH"
    ]
    assert [a.status for a in rejected] == ["R"]
    assert [r.receipt_type for r in sage_receipts(world)] == []
    assert statuses(world, "810") == ["exception"]  # billed goods never received
    assert open_exceptions(world, "not_received")
    acks = ack_statuses(world)
    assert acks[f"{po}/1"] == "changed" and acks[f"{po}/3"] == "rejected"
    assert open_exceptions(world, "po_line_rejected") and open_exceptions(world, "po_changed_by_supplier")
