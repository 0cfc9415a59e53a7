"""The demo's counts say what Sage holds: `closed_pos` is a PO closed *and* invoiced, not one whose invoice is held."""

from __future__ import annotations

import random
from pathlib import Path

from mlconnector.demo import sage_cycle
from mlconnector.sage.sim.demo import PurchasingClerk
from mlconnector.sage.sim.script import SimBackend


def test_a_po_closed_on_receipt_but_not_invoiced_is_not_counted_done(tmp_path: Path) -> None:
    sim = SimBackend(tmp_path / "sage")
    sim.init_company(purchase_orders=0)
    clerk = PurchasingClerk(sim)
    try:
        invoiced, held = (clerk.create_po(random.Random(1), vendor="01-V0001", lines=1) for _ in range(2))
    finally:
        clerk.close()
    conn = sim.connect()
    try:
        # Both fully received (Sage closes a PO on its last receipt of goods); only one has its receipt of invoice —
        # the other's invoice stopped on a GL exception.
        conn.execute("UPDATE PO_PurchaseOrderHeader SET OrderStatus = 'X'")
        for no, (kind, po) in enumerate((("G", invoiced), ("G", held), ("I", invoiced)), start=1):
            conn.execute(
                "INSERT INTO PO_ReceiptHistoryHeader (ReceiptType, ReceiptNo, PurchaseOrderNo) VALUES (?, ?, ?)",
                (kind, f"{no:07d}", po),
            )
    finally:
        conn.close()
    cycle = sage_cycle(sim, [invoiced, held])
    assert (cycle.receipts, cycle.invoices, cycle.closed, cycle.completed) == (2, 1, 2, 1)
