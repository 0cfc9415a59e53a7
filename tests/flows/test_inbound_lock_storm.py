"""A lock storm in Sage (half of all writes find their record in use): every receipt and invoice is still written
exactly once — lock errors retry inside the agent, and a document whose budget ran out is resumed next poll."""

from __future__ import annotations

import sqlite3

from mlconnector.sage.agent.client import AgentError
from mlconnector.sage.errors import SageError

from .conftest import World
from .inbound_helpers import exception_summaries, interchange, invoice, po_lines, sage_receipts, ship_notice


def test_lock_storm_writes_every_receipt_and_invoice_exactly_once(world: World) -> None:
    conn = sqlite3.connect(world.sim.db_path)
    conn.execute("UPDATE GL_Account SET Status='A'")  # this test is about locks, not GL accounts
    conn.commit()
    conn.close()
    pos = [world.create_po("01-V0001", lines=2) for _ in range(6)]
    for number, po in enumerate(pos):
        lines = po_lines(world, po)
        asn = ship_notice(f"STORM-{number}", {po: [(n, item, qty) for n, item, qty, _ in lines]})
        world.sandbox.admin().drop_in("ALPHA", interchange([asn], 800 + 2 * number))
        world.sandbox.admin().drop_in("ALPHA", interchange([invoice(f"ST-{number}", po, lines)], 801 + 2 * number))
    world.sim.knobs.lock_probability = 0.5
    rolls: list[bool] = []
    roll = world.sim.roll_contention

    def counted() -> bool:
        hit = roll()
        rolls.append(hit)
        return hit

    world.sim.roll_contention = counted  # type: ignore[method-assign]
    gave_up = 0
    for _poll in range(60):  # the engine's schedule: each poll picks up what is still open
        try:
            keys = world.connector.collect_inbound()
        except (SageError, AgentError):
            gave_up += 1
            continue
        if not keys:
            break
        for key in keys:
            try:
                world.connector.process_inbound(key)
            except (SageError, AgentError):
                gave_up += 1  # retry budget spent: the document stays open and is resumed next poll
    world.sim.knobs.lock_probability = 0.0
    assert any(rolls), "the storm really hit the writes"
    assert world.connector.collect_inbound() == []
    assert exception_summaries(world) == []
    receipts = sage_receipts(world)
    for po in pos:
        assert sorted(r.receipt_type for r in receipts if r.po_number == po) == ["G", "I"], po
    assert all(r.posted for r in receipts)
