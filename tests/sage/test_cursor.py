"""The change cursor: many records sharing one DateUpdated$/TimeUpdated$ are neither lost nor repeated."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mlconnector.sage.gateway import SageGateway
from mlconnector.sage.sim.script import SimBackend, SimKnobs

from .conftest import COMPANY, PASSWORD, USER, no_wait_policy
from .helpers import Clerk


class FrozenClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 30, 0)

    def __call__(self) -> datetime:
        return self.now


def test_records_sharing_one_stamp_are_not_lost_or_duplicated(tmp_path: Path) -> None:
    clock = FrozenClock()
    sim = SimBackend(tmp_path, knobs=SimKnobs(clock=clock))
    sim.init_company(purchase_orders=0)
    clerk = Clerk(sim)
    gw = SageGateway(sim, USER, PASSWORD, COMPANY, policy=no_wait_policy(), batch_size=4)
    first = {clerk.create_po() for _ in range(9)}
    poll1 = gw.changed_purchase_orders(None)
    assert {p.purchase_order_no for p in poll1.items} == first

    second = {clerk.create_po() for _ in range(7)}  # same stamp as the first nine
    clerk.change_qty(sorted(first)[0], 99)  # rewritten within the same stamp: content differs
    poll2 = gw.changed_purchase_orders(poll1.cursor)
    assert sorted(p.purchase_order_no for p in poll2.items) == sorted(second | {sorted(first)[0]})

    poll3 = gw.changed_purchase_orders(poll2.cursor)
    assert poll3.items == []

    clock.now = datetime(2026, 3, 1, 11, 0, 0)
    clerk.change_qty(sorted(second)[0], 5)
    poll4 = gw.changed_purchase_orders(poll3.cursor)
    assert [p.purchase_order_no for p in poll4.items] == [sorted(second)[0]]
    assert poll4.cursor.time.startswith("11.0")
    assert gw.changed_purchase_orders(poll4.cursor).items == []
    gw.close()
    clerk.close()


def test_limit_pages_through_a_shared_stamp_without_gaps(tmp_path: Path) -> None:
    sim = SimBackend(tmp_path, knobs=SimKnobs(clock=FrozenClock()))
    sim.init_company(purchase_orders=0)
    clerk = Clerk(sim)
    created = {clerk.create_po() for _ in range(6)}
    gw = SageGateway(sim, USER, PASSWORD, COMPANY, policy=no_wait_policy())
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = gw.changed_purchase_orders(cursor, limit=2)
        seen += [p.purchase_order_no for p in page.items]
        cursor = page.cursor
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    gw.close()
    clerk.close()


def test_late_commit_inside_the_overlap_window_is_picked_up(tmp_path: Path) -> None:
    clock = FrozenClock()
    sim = SimBackend(tmp_path, knobs=SimKnobs(clock=clock))
    sim.init_company(purchase_orders=0)
    clerk = Clerk(sim)
    gw = SageGateway(sim, USER, PASSWORD, COMPANY, policy=no_wait_policy())
    clock.now = datetime(2026, 3, 1, 10, 0, 0)
    clerk.create_po()
    cursor = gw.changed_purchase_orders(None).cursor
    clock.now = datetime(2026, 3, 1, 9, 59, 30)  # a write stamped earlier that commits after the poll
    late = clerk.create_po()
    assert [p.purchase_order_no for p in gw.changed_purchase_orders(cursor).items] == [late]
    gw.close()
    clerk.close()
