"""Inbound problems: duplicates under the same or a new ICN, unknown/closed/over-shipped POs, invoices before their
goods, GL accounts, restarts after a Sage write, and every sample file (and mutations) through the pipeline."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mlconnector.store.models import AuditEntry, GLAccount, InboundDocument

from .conftest import World
from .inbound_helpers import (
    exception_summaries,
    interchange,
    invoice,
    open_exceptions,
    po_lines,
    process_until,
    sage_receipts,
    ship_notice,
    statuses,
    with_icn,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "edi"  # copied from shared/ with their SOURCES.md


def drop(world: World, payload: str, partner: str = "ALPHA", document_type: str | None = None) -> None:
    world.sandbox.admin().drop_in(partner, payload, document_type)


def process_all(world: World) -> list[str]:
    return [world.connector.process_inbound(key) for key in world.connector.collect_inbound()]


def full_asn(world: World, po: str, shipment_id: str, icn: int) -> str:
    return interchange(
        [ship_notice(shipment_id, {po: [(n, item, qty) for n, item, qty, _ in po_lines(world, po)]})], icn
    )


def full_invoice(world: World, po: str, number: str, icn: int) -> str:
    return interchange([invoice(number, po, po_lines(world, po))], icn)


def audit_lines(world: World, status: str) -> list[AuditEntry]:
    with world.store.transaction() as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.status == status)))
        session.expunge_all()
        return rows


def test_an_asn_resent_under_the_same_or_a_new_icn_is_received_once(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    asn = full_asn(world, po, "SHIP-1", 500)
    drop(world, asn)
    assert process_all(world) == ["applied"]
    drop(world, asn)  # the same interchange again: stored once
    assert process_all(world) == []
    drop(world, with_icn(asn, 501))  # a new envelope around the same BSN02
    assert process_all(world) == ["duplicate"]
    assert [r.receipt_type for r in sage_receipts(world)] == ["G"]
    why = [a.message for a in audit_lines(world, "duplicate") if a.document_type == "856"]
    assert any("kept the first copy" in (m or "") for m in why)  # same ICN
    assert any("already received under another interchange" in (m or "") for m in why)  # new ICN, same BSN02


def test_an_invoice_resent_under_a_new_icn_is_entered_once(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    drop(world, full_asn(world, po, "SHIP-2", 510))
    bill = full_invoice(world, po, "A-77", 511)
    drop(world, bill)
    assert process_all(world) == ["applied", "applied"]
    drop(world, with_icn(bill, 512))
    assert process_all(world) == ["duplicate"]
    assert sorted(r.receipt_type for r in sage_receipts(world)) == ["G", "I"]
    assert any("A-77" in (a.message or "") for a in audit_lines(world, "duplicate"))


def test_a_po_with_any_problem_gets_no_receipt_while_the_good_po_of_the_asn_is_received(world: World) -> None:
    good = world.create_po("01-V0001", lines=2)
    bad = world.create_po("01-V0001", lines=2)
    over = [(n, item, qty + 5) for n, item, qty, _ in po_lines(world, bad)]
    fine = [(n, item, qty) for n, item, qty, _ in po_lines(world, good)]
    unknown_item = [("1", "NO-SUCH-ITEM", Decimal(1))]
    drop(world, interchange([ship_notice("SHIP-3", {good: fine, bad: over, "9999999": unknown_item})], 520))
    assert process_all(world) == ["exception"]
    assert [(r.receipt_type, r.po_number) for r in sage_receipts(world)] == [("G", good)]
    kinds = sorted(e.kind for e in open_exceptions(world))
    assert kinds == ["over_shipment", "unknown_po"]
    [over_shipped] = open_exceptions(world, "over_shipment")
    assert f"PO {bad}" in over_shipped.what and "(and 1 more like it)" in over_shipped.what
    assert over_shipped.document_ref == "856:ALPHA:SHIP-3" and over_shipped.suggested_fix
    # The buyer raises nothing; the supplier corrects its ASN under the same BSN02: only the missing PO is received.
    corrected = [(n, item, qty) for n, item, qty, _ in po_lines(world, bad)]
    drop(world, interchange([ship_notice("SHIP-3", {good: fine, bad: corrected})], 521))
    assert process_all(world) == ["applied"]
    assert sorted((r.receipt_type, r.po_number) for r in sage_receipts(world)) == [("G", good), ("G", bad)]


def test_an_unknown_item_writes_nothing_for_its_po(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    lines = [(n, item, qty) for n, item, qty, _ in po_lines(world, po)] + [("", "NO-SUCH-ITEM", Decimal(1))]
    drop(world, interchange([ship_notice("SHIP-4", {po: lines})], 530))
    assert process_all(world) == ["exception"]
    assert sage_receipts(world) == []
    [unknown] = open_exceptions(world, "unknown_item")
    assert "NO-SUCH-ITEM" in unknown.why


def test_an_invoice_that_arrives_before_its_goods_waits_and_is_entered_when_they_are_received(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    drop(world, full_invoice(world, po, "EARLY-1", 540))
    assert process_all(world) == ["exception"]
    [waiting] = open_exceptions(world, "not_received")
    assert "retry after the goods are received" in waiting.suggested_fix
    drop(world, full_asn(world, po, "SHIP-5", 541))
    assert process_all(world) == ["applied"]
    # The ASN reopened the invoice waiting for its goods: the next poll hands it to the engine as a new attempt.
    assert statuses(world, "810") == ["applying"]
    assert process_all(world) == ["applied"]
    assert exception_summaries(world) == []
    assert statuses(world, "810") == ["applied"]
    assert sorted(r.receipt_type for r in sage_receipts(world)) == ["G", "I"]


def test_an_inactive_gl_account_stops_the_invoice_until_fixed_then_retry_enters_it(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    world.connector.refresh_gl()
    account_key = world.agent_client.purchase_order(po).lines[0].purchases_acct_key
    with world.store.transaction() as session:
        session.execute(update(GLAccount).where(GLAccount.account_key == account_key).values(active=False))
        account = session.get(GLAccount, account_key).account
    drop(world, full_asn(world, po, "SHIP-6", 550))
    drop(world, full_invoice(world, po, "GL-1", 551))
    assert process_all(world) == ["applied", "exception"]
    [gl] = open_exceptions(world, "gl_account")
    assert account in gl.what and "inactive" in gl.what
    assert [r.receipt_type for r in sage_receipts(world)] == ["G"]
    with world.store.transaction() as session:
        session.execute(update(GLAccount).where(GLAccount.account_key == account_key).values(active=True))
    assert world.connector.retry_exception(gl.id) == "applied"
    assert open_exceptions(world) == []
    assert sorted(r.receipt_type for r in sage_receipts(world)) == ["G", "I"]


def test_a_restart_after_the_sage_write_finds_the_receipt_and_invoice_and_writes_nothing_twice(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    drop(world, full_asn(world, po, "SHIP-7", 560))
    drop(world, full_invoice(world, po, "RS-1", 561))
    assert process_all(world) == ["applied", "applied"]
    # As if killed after Sage wrote (and posted) but before the store recorded it (status and time recorded together).
    with world.store.transaction() as session:
        session.execute(update(InboundDocument).values(status="applying", processed_at=None))
    assert sorted(process_all(world)) == ["applied", "applied"]
    assert sorted(r.receipt_type for r in sage_receipts(world)) == ["G", "I"]
    assert len(audit_lines(world, "already_in_sage")) == 2
    assert open_exceptions(world) == []


def test_a_closed_po_refuses_the_asn(world: World) -> None:
    po = world.create_po("01-V0001", lines=1)
    drop(world, full_asn(world, po, "SHIP-8", 570))
    assert process_all(world) == ["applied"]
    drop(world, full_asn(world, po, "SHIP-9", 571))  # a second shipment of a complete PO
    assert process_all(world) == ["exception"]
    [closed] = open_exceptions(world, "closed_po")
    assert "complete" in closed.what
    assert [r.receipt_type for r in sage_receipts(world)] == ["G"]


def test_a_message_that_is_not_x12_ends_as_an_exception_not_as_applied(world: World) -> None:
    drop(world, "Hello, please find our ASN attached as PDF.", "ALPHA", "856")
    assert process_all(world) == ["exception"]
    [unreadable] = open_exceptions(world, "unreadable_document")
    assert "ALPHA" in unreadable.what and unreadable.suggested_fix


def _mutations(payload: str) -> list[str]:
    element = payload[3] if payload.startswith("ISA") else "*"
    return [
        payload[: len(payload) // 2],  # cut in the middle
        payload.replace(f"SE{element}", f"SE{element}9", 1),  # wrong segment count
        payload.replace(f"ST{element}", f"ST{element}X", 1),  # unknown set id
        payload.replace(f"GS{element}", f"GS{element}ZZ{element}", 1),  # shifted GS
    ]


def test_every_inbound_sample_and_its_mutations_end_stored_answered_and_applied_or_excepted(world: World) -> None:
    files = sorted(
        p for p in SAMPLES.glob("*.edi") if p.name.split("_")[0] in ("855", "856", "810", "997") or "856" in p.name
    )
    assert files
    payloads: list[tuple[str, str]] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff")
        kind = "856" if "856" in path.name else path.name.split("_")[0]
        payloads.extend((kind, variant) for variant in [text, *_mutations(text)])
    for index, (kind, payload) in enumerate(payloads):
        # A new ICN each, so every variant is its own interchange (a real partner would never reuse one).
        fresh = with_icn(payload, 700 + index) if payload.startswith("ISA") and len(payload) > 106 else payload
        drop(world, fresh, "ALPHA", kind)
    done = process_until(world, {})
    assert done and all(status in ("applied", "exception", "duplicate") for _, _, status in done)
    with world.store.transaction() as session:
        rows = session.execute(select(InboundDocument.document_type, InboundDocument.ack_status)).all()
    assert len(rows) == len(payloads)
    # Every interchange with a readable non-997 group got our 997; the partners' own 997s are not answered.
    assert {ack for _, ack in rows} <= {"sent", "not_needed"}
    assert sum(ack == "sent" for _, ack in rows) >= sum(not path.name.startswith("997") for path in files)
    with world.store.transaction() as session:
        originals = session.scalars(
            select(InboundDocument.ack_status).where(
                InboundDocument.interchange_control.in_(
                    [f"{700 + i:09d}" for i, (kind, _) in enumerate(payloads) if kind == "997" and i % 5 == 0]
                )
            )
        ).all()
    assert originals and set(originals) == {"not_needed"}
    assert sage_receipts(world) == []  # the samples name POs this company does not have


def test_an_asn_from_another_vendors_partner_is_refused(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)  # V0001 trades as ALPHA
    drop(world, full_asn(world, po, "SHIP-10", 580), "BRAVO")
    assert process_all(world) == ["exception"]
    [wrong] = open_exceptions(world, "wrong_partner")
    assert "BRAVO" in wrong.what and "ALPHA" in wrong.why
    assert sage_receipts(world) == []


def test_retry_says_plainly_when_an_exception_is_not_about_an_inbound_document(world: World) -> None:
    from mlconnector.store.ops import raise_exception

    with world.store.transaction() as session:
        record = raise_exception(
            session, kind="fa_overdue", what="No 997", why="late", suggested_fix="ask", document_ref="PO:0000001"
        )
        session.flush()
        record_id = record.id
    with pytest.raises(ValueError, match="not about an inbound document"):
        world.connector.retry_exception(record_id)
    with pytest.raises(LookupError):
        world.connector.retry_exception(record_id + 1000)


def test_two_asns_in_one_interchange_cannot_together_ship_more_than_the_po_has_open(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    full = [(n, item, qty) for n, item, qty, _ in po_lines(world, po)]
    # Each set alone ships exactly what is open; the second must see the first's receipt, written but not posted.
    drop(world, interchange([ship_notice("SHIP-A", {po: full}), ship_notice("SHIP-B", {po: full})], 530))
    assert process_all(world) == ["exception"]
    assert [(r.receipt_type, r.po_number) for r in sage_receipts(world)] == [("G", po)]
    [over] = open_exceptions(world, "over_shipment")
    assert over.document_ref == "856:ALPHA:SHIP-B" and f"PO {po}" in over.what


def test_an_invoice_in_the_same_interchange_as_its_goods_is_matched_against_them(world: World) -> None:
    po = world.create_po("01-V0001", lines=2)
    lines = po_lines(world, po)
    asn = ship_notice("SHIP-D", {po: [(n, item, qty) for n, item, qty, _ in lines]})
    # the same shipment and the same invoice twice in one interchange: written once each, no exception
    bill = invoice("INV-D", po, lines)
    drop(world, interchange([asn, bill, asn, bill], 540))
    reads = world.sim.counter.snapshot().get("PO_PurchaseOrder_svc.oLines.nGetResultSets", 0)
    assert process_all(world) == ["applied"]
    # the PO is read from Sage once for the four sets that name it
    assert world.sim.counter.snapshot()["PO_PurchaseOrder_svc.oLines.nGetResultSets"] - reads == 1
    assert sorted((r.receipt_type, r.po_number) for r in sage_receipts(world)) == [("G", po), ("I", po)]
    assert open_exceptions(world) == []
    assert [a.status for a in audit_lines(world, "already_in_sage")] == ["already_in_sage"] * 2
