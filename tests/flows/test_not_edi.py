"""A vendor that does not trade by EDI: its POs are skipped and audited, never sent, never an exception."""

from __future__ import annotations

from sqlalchemy import select

from mlconnector.store.models import AuditEntry, ExceptionRecord, OutboundDocument
from mlconnector.store.ops import mark_not_edi

from .conftest import World
from .test_outbound_flow import run_once

VENDOR = "02-V0003"  # the full key (division-vendor), as the connector and `sage-sim po create --vendor` take it


def _rows(world: World, po: str) -> list[tuple[str, str]]:
    with world.store.transaction() as session:
        docs = session.scalars(select(OutboundDocument.status).where(OutboundDocument.po_number == po)).all()
        audit = session.scalars(select(AuditEntry.status).where(AuditEntry.source_id == po)).all()
    return [("doc", s) for s in docs] + [("audit", s) for s in audit]


def _open_exceptions(world: World) -> list[str]:
    with world.store.transaction() as session:
        return list(session.scalars(select(ExceptionRecord.kind).where(ExceptionRecord.status == "open")))


def test_pos_of_a_non_edi_vendor_are_skipped_and_audited_once(world: World) -> None:
    with world.store.transaction() as session:
        mark_not_edi(session, VENDOR)
    po = world.clerk.create_po(world.rng, vendor=VENDOR, lines=2)
    assert run_once(world) == []
    assert run_once(world) == []  # read again: nothing new, no second audit line
    assert sorted(_rows(world, po)) == [("audit", "skipped"), ("doc", "skipped")]
    assert _open_exceptions(world) == []
    assert world.outbound_messages() == []


def test_marking_a_vendor_not_edi_clears_its_held_pos(world: World) -> None:
    po = world.clerk.create_po(world.rng, vendor=VENDOR, lines=2)  # not mapped: held with an unmapped_vendor exception
    assert run_once(world) == []
    assert _open_exceptions(world) == ["unmapped_vendor"]
    with world.store.transaction() as session:
        assert mark_not_edi(session, VENDOR) == (1, 1)
    assert _open_exceptions(world) == []
    assert ("doc", "skipped") in _rows(world, po)
    assert run_once(world) == []  # released as skipped, never sent
    assert world.outbound_messages() == []
