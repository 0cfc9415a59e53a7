"""BOI calls per changed purchase order: the batched gateway against a naive per-field reader.

Run by hand (never from the tests):  .venv/bin/python bench/boi_calls.py [--pos 100000] [--changed 1000]

Seeds company ABC straight into SQLite (bulk insert), changes `--changed` POs through PO_PurchaseOrder_bus (10
lines each), then counts every BOI call of one gateway poll, of a poll where nothing changed (at 10,000 POs and at
the full size, to show it does not grow; and right after the changed poll, when the overlap window re-reads what just
changed), and of a naive reader that reads each field with nGetValue.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from mlconnector.sage.boi import ByRef
from mlconnector.sage.gateway import SageGateway
from mlconnector.sage.models import ChangeCursor
from mlconnector.sage.resultsets import PO_HEADER, PO_LINE
from mlconnector.sage.sim.demo import PurchasingClerk
from mlconnector.sage.sim.schema import connect
from mlconnector.sage.sim.script import SimBackend
from mlconnector.sage.sim.seed import bulk_purchase_orders

SEEDED = datetime(2026, 1, 5, 8, 0, 0)


def naive_read(gw: SageGateway, po_no: str) -> int:
    """Read one PO the naive way: nFind, one nGetValue per header field, then per line per field."""
    svc = gw._po_service()
    assert svc.nFind(po_no) == 1
    holder = ByRef()
    for column in PO_HEADER.values():
        svc.nGetValue(column, holder)
    lines = svc.oLines
    lines.nMoveFirst()
    count = 0
    while not lines.nEOF:
        for column in PO_LINE.values():
            lines.nGetValue(column, holder)
        count += 1
        lines.nMoveNext()
    return count


def naive_detect(gw: SageGateway, cursor_date: str) -> list[str]:
    """Find changed POs the naive way: browse every header and read its stamp."""
    svc = gw._po_service()
    changed, d, no = [], ByRef(), ByRef()
    svc.nMoveFirst()
    while not svc.nEOF:
        svc.nGetValue("DateUpdated$", d)
        if d.value >= cursor_date:
            svc.nGetValue("PurchaseOrderNo$", no)
            changed.append(no.value)
        svc.nMoveNext()
    return changed


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pos", type=int, default=100_000)
    ap.add_argument("--changed", type=int, default=1_000)
    ap.add_argument("--lines", type=int, default=10)
    args = ap.parse_args(argv)
    small = min(10_000, args.pos)
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimBackend(Path(tmp))
        sim.init_company(purchase_orders=0)
        conn = connect(sim.db_path)
        t0 = time.perf_counter()
        bulk_purchase_orders(conn, small, when=SEEDED, lines=args.lines)
        cursor = ChangeCursor.at("20260106")
        gw = SageGateway(sim, "ml", "ml-demo", "ABC")

        sim.counter.reset()
        assert gw.changed_purchase_orders(cursor).items == []
        no_change_small = sim.counter.total()

        sim.counter.reset()
        small_detect = naive_detect(gw, "20260106")
        naive_detect_small = sim.counter.total()
        assert small_detect == []

        bulk_purchase_orders(conn, args.pos - small, when=SEEDED, lines=args.lines)
        print(f"seeded {args.pos} POs x {args.lines} lines in {time.perf_counter() - t0:.1f} s", flush=True)

        sim.counter.reset()
        assert gw.changed_purchase_orders(cursor).items == []
        no_change_full = sim.counter.total()

        rng = random.Random(3)
        targets = sorted(rng.sample([f"{n:07d}" for n in range(1, args.pos + 1)], args.changed))
        clerk = PurchasingClerk(sim)
        for po_no in targets:
            clerk.change_po(po_no, "000001", float(rng.randint(1, 500)))
        clerk.close()

        sim.counter.reset()
        result = gw.changed_purchase_orders(cursor)
        poll_calls = sim.counter.snapshot()
        changed_calls = sim.counter.total()
        assert sorted(p.purchase_order_no for p in result.items) == targets, "poll missed or repeated POs"
        changed_lines = sum(len(p.lines) for p in result.items)

        sim.counter.reset()
        assert gw.changed_purchase_orders(result.cursor).items == []
        no_change_after = sim.counter.total()

        sample = targets[:100]
        sim.counter.reset()
        naive_lines = sum(naive_read(gw, po_no) for po_no in sample)
        naive_per_po = sim.counter.total() / len(sample)
        gw.close()

    per_po = changed_calls / len(targets)
    per_line = changed_calls / changed_lines
    print(f"changed poll: {changed_calls} BOI calls for {len(targets)} POs / {changed_lines} lines: {poll_calls}")
    print(
        f"no-change poll (quiet company): {no_change_small} calls at {small} POs (the first poll also opens the "
        f"service object), {no_change_full} at {args.pos} POs; right after the changed poll: {no_change_after} calls, "
        "because what changed within the 2-minute overlap window is re-read (not re-delivered)"
    )
    print(
        f"naive reader: {naive_per_po:.1f} calls per PO read field by field ({naive_lines / len(sample):.0f} lines "
        f"each), plus {naive_detect_small} calls to find changes by browsing {small} POs (grows with the company)"
    )
    print(
        f"calls_per_changed_po={per_po:.4f} calls_per_changed_line={per_line:.5f} "
        f"calls_no_change={max(no_change_small, no_change_full)} naive_calls_per_changed_po={naive_per_po:.1f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
