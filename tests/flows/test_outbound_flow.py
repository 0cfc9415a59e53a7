"""PO → 850 end to end in one process: real agent over HTTPS, real sandbox over HTTP, real store (SQLite, PG)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

import mlconnector.x12 as x12
from mlconnector.sage.models import ChangeCursor
from mlconnector.sage.sim.seed import stamp
from mlconnector.store.models import AuditEntry, ExceptionRecord, OutboundDocument
from mlconnector.store.models import GLAccount as CachedGLAccount
from mlconnector.store.ops import get_cursor, map_vendor

from .conftest import World


def run_once(world: World) -> list[str]:
    """One PO tick without the scheduler: stage, then send every pending document."""
    work = world.connector.collect_purchase_orders()
    return [world.connector.send_outbound(item) for item in work]


def open_exceptions(world: World, kind: str) -> list[ExceptionRecord]:
    with world.store.transaction() as session:
        return list(
            session.scalars(
                select(ExceptionRecord).where(ExceptionRecord.kind == kind, ExceptionRecord.status == "open")
            )
        )


def test_each_po_reaches_cleo_once_and_rereading_sends_nothing(world: World) -> None:
    pos = [world.create_po("01-V0001"), world.create_po("01-V0002"), world.create_po("01-V0001", lines=12)]
    assert run_once(world) == ["sent", "sent", "sent"]
    messages = world.outbound_messages()
    assert sorted(m["partner"] for m in messages) == ["ALPHA", "ALPHA", "BRAVO"]
    for message in messages:
        assert x12.validate(message["payload"]).valid, message["payload"]
        (received,) = x12.read_documents(message["payload"])
        assert received.document.po_number in pos
        assert received.receiver_id == f"{message['partner']}EDI"
    # The partners' first interchanges both carry ICN 1: control numbers are per partner, and that is fine.
    assert sorted(m["icn"] for m in messages) == ["000000001", "000000001", "000000002"]
    assert run_once(world) == []
    assert len(world.outbound_messages()) == 3


def test_a_change_sends_exactly_one_replacement(world: World) -> None:
    po = world.create_po("01-V0001")
    run_once(world)
    world.clerk.change_po(po, "000001", 99)
    assert run_once(world) == ["sent"]
    assert run_once(world) == []
    docs = [x12.read_documents(m["payload"])[0].document for m in world.outbound_messages()]
    assert [(d.po_number, d.purpose.value) for d in docs] == [(po, "00"), (po, "05")]
    assert docs[1].lines[0].quantity == 99


def test_a_partner_that_wants_860s_gets_one(world: World) -> None:
    with world.store.transaction() as session:
        map_vendor(session, "01-V0002", "BRAVO", change_document="860")
    po = world.create_po("01-V0002")
    run_once(world)
    world.clerk.change_po(po, "000002", 7)
    run_once(world)
    last = world.outbound_messages()[-1]
    assert last["document_type"] == "860" and x12.validate(last["payload"]).valid
    change = x12.read_documents(last["payload"])[0].document
    assert [(c.line_number, c.change_type) for c in change.lines] in ([("2", "QI")], [("2", "QD")])


def test_unmapped_vendor_is_held_then_sent_once_mapped(world: World) -> None:
    held_po = world.create_po("01-V0004")
    assert run_once(world) == []
    (exception,) = open_exceptions(world, "unmapped_vendor")
    assert "Vendor 01-V0004 has no Cleo trading partner" in exception.why
    assert exception.suggested_fix.startswith("ml-connector map vendor 01-V0004")
    assert run_once(world) == [], "still held: nothing sent, no second exception"
    assert len(open_exceptions(world, "unmapped_vendor")) == 1
    with world.store.transaction() as session:
        map_vendor(session, "01-V0004", "CHARLIE")
    assert run_once(world) == ["sent"]
    (message,) = world.outbound_messages()
    assert message["partner"] == "CHARLIE"
    assert x12.read_documents(message["payload"])[0].document.po_number == held_po
    assert open_exceptions(world, "unmapped_vendor") == []


def test_replaying_everything_sends_no_new_message(world: World) -> None:
    for vendor in ("01-V0001", "01-V0002", "01-V0001"):
        world.create_po(vendor)
    run_once(world)
    with world.store.transaction() as session:
        keys = list(session.scalars(select(OutboundDocument.idempotency_key)))
    outcome = world.connector.replay(keys)
    assert set(outcome.values()) == {"already in Cleo"}
    assert len(world.outbound_messages()) == 3


def test_a_post_that_was_never_recorded_is_not_sent_twice(world: World) -> None:
    """The crash window between Cleo's 201 and our commit: the re-send meets the ICN and is recorded as sent."""
    world.create_po("01-V0001")
    (work,) = world.connector.collect_purchase_orders()
    with world.store.transaction() as session:
        row = session.scalars(select(OutboundDocument)).one()
        partner, payload = row.partner, row.payload
    world.cleo.send_document(partner, payload)  # the first attempt got through; its answer was lost
    assert world.connector.send_outbound(work) == "sent"
    assert len(world.outbound_messages()) == 1
    with world.store.transaction() as session:
        notes = session.scalars(select(AuditEntry.message).where(AuditEntry.status == "sent")).all()
        assert any("409" in (n or "") for n in notes)


def test_every_step_is_audited(world: World) -> None:
    po = world.create_po("01-V0002")
    run_once(world)
    with world.store.transaction() as session:
        steps = session.execute(
            select(AuditEntry.status, func.count()).where(AuditEntry.source_id == po).group_by(AuditEntry.status)
        ).all()
    assert dict(steps) == {"staged": 1, "sent": 1}


def test_gl_reference_is_cached_and_published_and_feeds_the_850_cost_centre(world: World) -> None:
    accounts = world.connector.refresh_gl()
    assert len(accounts) >= 50
    lookup = world.cleo.get_lookup("sage-gl-accounts")
    assert lookup.columns[:2] == ("account", "description") and len(lookup.rows) == len(accounts)
    centres = world.cleo.get_lookup("sage-cost-centres")
    assert centres.rows and all(len(row[0]) > 0 for row in centres.rows)
    with world.store.transaction() as session:
        cached = session.scalar(select(func.count()).select_from(CachedGLAccount))
        inactive = session.scalar(
            select(func.count()).select_from(CachedGLAccount).where(CachedGLAccount.active.is_(False))
        )
    assert cached == len(accounts) and inactive >= 1, "inactive accounts are cached as inactive, not dropped"
    po = world.create_po("01-V0001")
    run_once(world)
    (message,) = world.outbound_messages()
    document = x12.read_documents(message["payload"])[0].document
    assert document.po_number == po and document.reference("DP"), "REF*DP carries the line account's cost centre"


def test_mapped_vendors_reach_cleo_as_partner_records(world: World) -> None:
    updated = world.connector.sync_vendors()
    assert sorted(updated) == ["01-V0001", "01-V0002"], "only vendors with a trading partner"
    (alpha,) = world.cleo.list_partners(alias="ALPHA")
    assert alpha.erp_vendor == "01-V0001" and alpha.isa_id == "ALPHAEDI"
    assert alpha.address, "the vendor's address came from Sage"
    assert world.connector.sync_vendors() == [], "nothing changed since the cursor"


def test_a_cancelled_po_goes_out_as_a_cancellation_once(world: World) -> None:
    po = world.create_po("01-V0001")
    never_sent = world.create_po("01-V0002")
    cancel_in_sage(world, never_sent)  # cancelled before the vendor saw it: nothing to send
    run_once(world)
    cancel_in_sage(world, po)
    assert run_once(world) == ["sent"]
    assert run_once(world) == []
    docs = [x12.read_documents(m["payload"])[0].document for m in world.outbound_messages()]
    assert [(d.po_number, d.purpose.value) for d in docs] == [(po, "00"), (po, "01")]


def cancel_in_sage(world: World, po_number: str) -> None:
    """Sage marks a cancelled PO with OrderStatus$ Z; the simulator's clerk cannot cancel, so set it as Sage does."""
    later = datetime.now() + timedelta(seconds=2)
    date, time = stamp(later)
    with world.sim.connect() as conn:
        conn.execute(
            "UPDATE PO_PurchaseOrderHeader SET OrderStatus='Z', DateUpdated=?, TimeUpdated=? WHERE PurchaseOrderNo=?",
            (date, time, po_number),
        )


def test_a_burst_is_read_in_pages_and_each_po_sent_once(world: World) -> None:
    world.connector.page_size = 2
    pos = [world.create_po(v) for v in ("01-V0001", "01-V0002", "01-V0001", "01-V0002", "01-V0001")]
    assert run_once(world) == ["sent"] * 5
    assert sorted(x12.read_documents(m["payload"])[0].document.po_number for m in world.outbound_messages()) == pos
    with world.store.transaction() as session:
        cursor = ChangeCursor.model_validate_json(get_cursor(session, "purchase_orders") or "{}")
    assert cursor.complete, "the pass finished: the next poll starts a new one"
    assert run_once(world) == []


def test_a_run_limited_to_one_page_stages_a_page_and_the_next_run_goes_on_from_there(world: World) -> None:
    """Hosted runs read one page each, so a burst's first POs go out while the rest waits in Sage: every PO is
    staged once, page by page, and the pass ends when the cursor completes."""
    world.connector.page_size, world.connector.pages_per_run = 2, 1
    pos = [world.create_po(v) for v in ("01-V0001", "01-V0002", "01-V0001", "01-V0002", "01-V0001")]
    staged: list[int] = []
    for _ in range(4):
        work = world.connector.collect_purchase_orders()
        staged.append(len(work))
        for item in work:
            world.connector.send_outbound(item)
    assert staged == [2, 2, 1, 0]
    assert sorted(x12.read_documents(m["payload"])[0].document.po_number for m in world.outbound_messages()) == pos


def _change_internally_and_spy(world: World, po: str, assignments: str) -> list[str]:
    """Change `po` in Sage where the 850 does not look (a later update stamp), and record "PO|comment" of every PO
    the next run reads from Sage (so a test can see the content check ran)."""
    date, time = stamp(datetime.now() + timedelta(seconds=2))
    with world.sim.connect() as conn:
        conn.execute(
            f"UPDATE PO_PurchaseOrderHeader SET {assignments}, DateUpdated=?, TimeUpdated=? WHERE PurchaseOrderNo=?",
            (date, time, po),
        )
    reread: list[str] = []
    read = world.connector.sage.changed_purchase_orders

    def spy(cursor, limit):  # type: ignore[no-untyped-def]
        page = read(cursor, limit=limit)
        reread.extend(f"{p.purchase_order_no}|{p.comment}" for p in page.items)
        return page

    world.connector.sage.changed_purchase_orders = spy  # type: ignore[method-assign]
    return reread


def test_a_change_the_vendor_does_not_see_stages_nothing(world: World) -> None:
    """Sage re-reports a PO whose only change is outside the 850 (an internal comment, terms): no new version."""
    po = world.create_po("01-V0001")
    assert run_once(world) == ["sent"]
    reread = _change_internally_and_spy(world, po, "Comment='call before delivery', TermsCode='30'")
    assert run_once(world) == []
    assert reread == [f"{po}|call before delivery"], "the PO was read again, so the content check ran"
    with world.store.transaction() as session:
        rows = session.execute(select(OutboundDocument.status, OutboundDocument.purpose)).all()
        staged = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.source_id == po, AuditEntry.status == "staged")
        )
    assert rows == [("sent", "00")] and staged == 1
    assert len(world.outbound_messages()) == 1


def test_a_held_po_changed_only_where_the_vendor_does_not_look_stays_one_hold(world: World) -> None:
    """A held PO that Sage re-reports with only an internal change is neither held again nor given a second exception
    (the held row's content hash is compared, as a sent PO's is)."""
    po = world.create_po("01-V0004")
    assert run_once(world) == []
    reread = _change_internally_and_spy(world, po, "Comment='internal note'")
    assert run_once(world) == []
    assert reread == [f"{po}|internal note"], "the held PO was read again, so the content check ran"
    with world.store.transaction() as session:
        rows = session.execute(select(OutboundDocument.status).where(OutboundDocument.po_number == po)).all()
        held_audits = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.source_id == po, AuditEntry.status == "held")
        )
    assert rows == [("held",)] and held_audits == 1
    assert len(open_exceptions(world, "unmapped_vendor")) == 1


def test_a_vendor_mapped_to_an_alias_cleo_lacks_is_held_and_its_fix_works(world: World) -> None:
    """The unknown-partner fix names actions that work: create the partner in Cleo (or re-map), and the PO goes out
    at the next run; `exceptions retry`, which has nothing to run for a held PO, is not what it tells the clerk."""
    with world.store.transaction() as session:
        map_vendor(session, "01-V0004", "DELTA")
    po = world.create_po("01-V0004")
    assert run_once(world) == []
    (held,) = open_exceptions(world, "unknown_partner")
    assert held.why == "Vendor 01-V0004 is mapped to DELTA, but Cleo has no partner by that alias."
    assert held.suggested_fix.startswith("Create DELTA in Cleo, or map the vendor to the right alias")
    assert "retry" not in held.suggested_fix
    with pytest.raises(ValueError, match="nothing to run again"):
        world.connector.retry_exception(held.id)
    assert run_once(world) == [], "still no DELTA in Cleo: still held, nothing sent"
    assert [x.id for x in open_exceptions(world, "unknown_partner")] == [held.id]
    (charlie,) = [p for p in world.sandbox.store.list_partners("demo") if p["alias"] == "CHARLIE"]
    body = {k: v for k, v in charlie.items() if k != "id"}
    world.sandbox.store.create_partner("demo", {**body, "alias": "DELTA", "name": "Delta Supply"})
    assert run_once(world) == ["sent"], "the fix as written: the partner exists in Cleo, the PO goes at the next run"
    (message,) = world.outbound_messages()
    assert message["partner"] == "DELTA"
    assert x12.read_documents(message["payload"])[0].document.po_number == po
    assert open_exceptions(world, "unknown_partner") == []
    assert run_once(world) == []


def rename_partner_in_cleo(world: World, alias: str, new_alias: str) -> None:
    """Someone renames the trading partner in Cleo: our cached envelope still names the old alias."""
    (found,) = [p for p in world.sandbox.store.list_partners("demo") if p["alias"] == alias]
    body = {k: v for k, v in found.items() if k != "id"}
    world.sandbox.store.update_partner("demo", found["id"], {**body, "alias": new_alias})


def test_a_po_cleo_refuses_is_sent_by_exceptions_retry_once_the_cause_is_fixed(world: World) -> None:
    po = world.create_po("01-V0001")
    (work,) = world.connector.collect_purchase_orders()
    rename_partner_in_cleo(world, "ALPHA", "ALPHA-OLD")
    assert world.connector.send_outbound(work) == "failed"
    (refused,) = open_exceptions(world, "cleo_refused")
    assert "Unknown partner 'ALPHA'" in refused.why
    assert "`ml-connector exceptions retry` this exception" in refused.suggested_fix
    assert world.connector.retry_exception(refused.id) == "failed", "still wrong in Cleo: refused again"
    assert [x.id for x in open_exceptions(world, "cleo_refused")] == [refused.id], "the same exception, not a second"
    rename_partner_in_cleo(world, "ALPHA-OLD", "ALPHA")
    assert world.connector.retry_exception(refused.id) == "sent"
    assert open_exceptions(world, "cleo_refused") == []
    (message,) = world.outbound_messages()
    assert x12.read_documents(message["payload"])[0].document.po_number == po
    assert run_once(world) == [], "nothing left pending: the PO is not sent a second time"
    with pytest.raises(ValueError, match="nothing to run again"):
        world.connector.retry_exception(refused.id)


def test_exceptions_with_nothing_to_send_again_are_refused_by_retry(world: World) -> None:
    world.create_po("01-V0004")
    run_once(world)
    (held,) = open_exceptions(world, "unmapped_vendor")
    with pytest.raises(ValueError, match="nothing to run again"):
        world.connector.retry_exception(held.id)
    assert held.suggested_fix.startswith("ml-connector map vendor 01-V0004"), "its fix is the mapping, not retry"
