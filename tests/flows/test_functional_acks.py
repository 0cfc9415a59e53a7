"""997s reconcile with the 850s they answer: accepted, rejected (segment and element named), or overdue."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from mlconnector.store.models import ExceptionRecord, InboundDocument, OutboundDocument

from .conftest import World


def send_all(world: World) -> None:
    for item in world.connector.collect_purchase_orders():
        world.connector.send_outbound(item)


def inbound_until(world: World, document_type: str, count: int) -> list[str]:
    """Poll Cleo the way the inbound job does until `count` documents of a type have been stored."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        keys = world.connector.collect_inbound()
        for key in keys:
            world.connector.process_inbound(key)
        with world.store.transaction() as session:
            stored = session.scalars(
                select(InboundDocument.idempotency_key).where(InboundDocument.document_type == document_type)
            ).all()
        if len(stored) >= count:
            return list(stored)
        time.sleep(0.1)
    raise AssertionError(f"no {count} {document_type}(s) arrived")


def fa_statuses(world: World) -> list[str]:
    with world.store.transaction() as session:
        return sorted(session.scalars(select(OutboundDocument.fa_status)))


@pytest.mark.partners("perfect", 0.0)
def test_partner_997s_mark_each_850_accepted(world: World) -> None:
    world.create_po("01-V0001")
    world.create_po("01-V0002")
    send_all(world)
    assert fa_statuses(world) == ["waiting", "waiting"]
    inbound_until(world, "997", 2)
    assert fa_statuses(world) == ["accepted", "accepted"]


def test_a_rejecting_997_names_segment_and_element(world: World) -> None:
    world.create_po("01-V0001")
    send_all(world)
    with world.store.transaction() as session:
        row = session.scalars(select(OutboundDocument)).one()
        group = row.group_control
    body = [
        "ST*997*0001",
        f"AK1*PO*{group}",
        "AK2*850*0001",
        "AK3*PO1*9**8",
        "AK4*3*355*7*GAL",
        "AK5*R*5",
        "AK9*R*1*1*0",
    ]
    body.append(f"SE*{len(body) + 1}*0001")
    payload = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{'ALPHAEDI':<15}*ZZ*{'ABCDIST':<15}*261126*1200*U*00401*000000077*0*P*>~"
        f"GS*FA*ALPHAEDI*ABCDIST*20261126*1200*77*X*004010~" + "~".join(body) + "~GE*1*77~IEA*1*000000077~"
    )
    world.sandbox.admin().drop_in("ALPHA", payload, "997")
    inbound_until(world, "997", 1)
    assert fa_statuses(world) == ["rejected"]
    with world.store.transaction() as session:
        exception = session.scalars(select(ExceptionRecord).where(ExceptionRecord.kind == "fa_rejected")).one()
    assert "segment PO1 at position 9" in exception.why and "PO103 (AK4 code 7)" in exception.why


def test_the_same_interchange_delivered_twice_is_stored_once(world: World) -> None:
    payload = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{'ALPHAEDI':<15}*ZZ*{'ABCDIST':<15}*261126*1200*U*00401*000000078*0*P*>~"
        "GS*FA*ALPHAEDI*ABCDIST*20261126*1200*78*X*004010~ST*997*0001~AK1*PO*999~AK9*A*1*1*1~SE*4*0001~"
        "GE*1*78~IEA*1*000000078~"
    )
    world.sandbox.admin().drop_in("ALPHA", payload, "997")
    world.sandbox.admin().drop_in("ALPHA", payload, "997")
    assert len(inbound_until(world, "997", 1)) == 1
    assert world.connector.collect_inbound() == []


def test_no_997_in_time_is_overdue(world: World) -> None:
    world.create_po("01-V0001")
    send_all(world)
    world.connector.fa_overdue_hours = 0.0
    world.connector.collect_inbound()
    assert fa_statuses(world) == ["overdue"]
    with world.store.transaction() as session:
        exception = session.scalars(select(ExceptionRecord).where(ExceptionRecord.kind == "fa_overdue")).one()
    assert "No 997 from ALPHA" in exception.what
