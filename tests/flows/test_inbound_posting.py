"""The receipt register once per inbound poll, not once per document — and every crash guarantee kept: a receipt
written and not posted is found and posted by the next poll, nothing is posted twice."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from mlconnector.flows.connector import Connector
from mlconnector.store.models import PostingStatus, SageReceipt

from .conftest import SENDER, World
from .inbound_helpers import exception_summaries, interchange, invoice, po_lines, sage_receipts, ship_notice

REGISTER_RUNS = "PO_ReceiptRegister_upd.nUpdate"


class Crash(BaseException):
    """What a kill -9 at a crash point leaves behind: nothing after it runs, nothing catches it."""


def crashing_at(world: World, point: str) -> Connector:
    """The test's connector with a fault hook that crashes at `point` (the commands inject an env-driven one)."""

    def fault(name: str) -> None:
        if name == point:
            raise Crash(name)

    return Connector(world.store, world.agent_client, world.cleo, SENDER, fault=fault)


def drop_asn_and_invoice(world: World, po: str, number: int) -> None:
    lines = po_lines(world, po)
    asn = ship_notice(f"POST-{number}", {po: [(n, item, qty) for n, item, qty, _ in lines]})
    world.sandbox.admin().drop_in("ALPHA", interchange([asn], 900 + 2 * number))
    world.sandbox.admin().drop_in("ALPHA", interchange([invoice(f"PI-{number}", po, lines)], 901 + 2 * number))


def poll(connector: Connector) -> list[str]:
    """One inbound poll as the engine runs it: collect, each document, then the register once."""
    statuses = [connector.process_inbound(key) for key in connector.collect_inbound()]
    connector.post_inbound()
    return statuses


def register_runs(world: World) -> int:
    return world.sim.counter.snapshot().get(REGISTER_RUNS, 0)


def journal(world: World) -> list[tuple[str, str]]:
    with world.store.transaction() as session:
        return sorted((r.receipt_type, r.status) for r in session.scalars(select(SageReceipt)))


def sage_po_state(world: World, po: str) -> tuple[str, list[tuple[float, float, float]]]:
    conn = sqlite3.connect(world.sim.db_path)
    try:
        status = conn.execute("SELECT OrderStatus FROM PO_PurchaseOrderHeader WHERE PurchaseOrderNo=?", (po,))
        lines = conn.execute(
            "SELECT QuantityOrdered, QuantityReceived, QuantityInvoiced FROM PO_PurchaseOrderDetail "
            "WHERE PurchaseOrderNo=? ORDER BY LineKey",
            (po,),
        ).fetchall()
        return status.fetchone()[0], lines
    finally:
        conn.close()


def test_one_register_run_posts_every_receipt_and_invoice_of_the_poll(world: World) -> None:
    pos = [world.create_po("01-V0001", lines=2) for _ in range(3)]
    for number, po in enumerate(pos):
        drop_asn_and_invoice(world, po, number)
    before = register_runs(world)
    # ASNs first: each invoice is matched against its receipt of goods written in the same poll, not yet posted.
    assert poll(world.connector) == ["applied"] * 6
    assert register_runs(world) - before == 1
    assert exception_summaries(world) == []
    assert all(r.posted for r in sage_receipts(world)) and len(sage_receipts(world)) == 6
    for po in pos:
        status, lines = sage_po_state(world, po)
        assert status == "X" and all(ordered == received == invoiced for ordered, received, invoiced in lines)
    assert journal(world) == [("G", PostingStatus.POSTED)] * 3 + [("I", PostingStatus.POSTED)] * 3
    assert poll(world.connector) == [] and register_runs(world) - before == 1  # nothing written: no register run


def test_a_receipt_written_before_a_crash_is_found_and_posted_by_the_next_poll(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    drop_asn_and_invoice(world, po, 10)
    crashing = crashing_at(world, "inbound_after_receipt")
    keys = crashing.collect_inbound()
    with pytest.raises(Crash):
        crashing.process_inbound(keys[0])  # the receipt is in Sage; nothing of it is recorded
    assert [(r.receipt_type, r.posted) for r in sage_receipts(world)] == [("G", False)]
    assert journal(world) == []
    poll(world.connector)  # resumes the ASN (found in Sage by its key), applies the invoice, posts both
    poll(world.connector)
    assert exception_summaries(world) == []
    assert sorted((r.receipt_type, r.posted) for r in sage_receipts(world)) == [("G", True), ("I", True)]
    status, lines = sage_po_state(world, po)
    assert status == "X" and all(ordered == received == invoiced for ordered, received, invoiced in lines)


def test_a_poll_that_ends_before_the_register_leaves_it_to_the_next_poll(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    drop_asn_and_invoice(world, po, 20)
    before = register_runs(world)
    assert [world.connector.process_inbound(k) for k in world.connector.collect_inbound()] == ["applied"] * 2
    # The run died before its end (no `post_inbound`): both receipts are written and waiting in Sage.
    assert [r.posted for r in sage_receipts(world)] == [False, False]
    assert journal(world) == [("G", PostingStatus.WRITTEN), ("I", PostingStatus.WRITTEN)]
    assert world.connector.collect_inbound() == []  # the next poll posts them before anything else
    assert [r.posted for r in sage_receipts(world)] == [True, True]
    assert journal(world) == [("G", PostingStatus.POSTED), ("I", PostingStatus.POSTED)]
    assert register_runs(world) - before == 1
    assert sage_po_state(world, po)[0] == "X"


def test_a_crash_after_the_register_ran_posts_nothing_twice(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    drop_asn_and_invoice(world, po, 30)
    crashing = crashing_at(world, "inbound_after_post")
    for key in crashing.collect_inbound():
        crashing.process_inbound(key)
    with pytest.raises(Crash):
        crashing.post_inbound()  # Sage posted both; the journal still says written
    assert [r.posted for r in sage_receipts(world)] == [True, True]
    assert journal(world) == [("G", PostingStatus.WRITTEN), ("I", PostingStatus.WRITTEN)]
    posted_once = sage_po_state(world, po)
    before = register_runs(world)
    assert poll(world.connector) == []
    assert journal(world) == [("G", PostingStatus.POSTED), ("I", PostingStatus.POSTED)]
    assert register_runs(world) == before  # nothing pending in Sage: the register is not run again
    assert sage_po_state(world, po) == posted_once  # quantities received and invoiced not counted twice
    assert len(sage_receipts(world)) == 2
