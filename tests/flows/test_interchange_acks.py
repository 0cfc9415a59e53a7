"""TA1s both ways: an inbound interchange with an envelope error is answered with a TA1 (staged with its ICN, sent
through Cleo, retried with backoff); a partner's TA1 rejecting an interchange we sent is an exception naming why."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from mlconnector.flows.liveness import Backoff
from mlconnector.store.models import AuditEntry, InboundDocument, OutboundDocument
from mlconnector.x12 import interchange_acks, read_interchange_acks, validate

from .conftest import World
from .inbound_helpers import interchange, open_exceptions, send_all, ship_notice

ASN_ICN = 600


def broken_date(payload: str) -> str:
    """ISA09 set to a date that does not exist: the whole interchange is rejected (TA1 R, note code 014)."""
    return payload[:70] + "261399" + payload[76:]


def asn(icn: int = ASN_ICN) -> str:
    return interchange([ship_notice("SHIP-TA1", {"0000001": [("1", "ITEM", Decimal(1))]})], icn)


def drop(world: World, payload: str, partner: str = "ALPHA", document_type: str | None = None) -> None:
    world.sandbox.admin().drop_in(partner, payload, document_type)


def process_all(world: World) -> list[str]:
    return [world.connector.process_inbound(key) for key in world.connector.collect_inbound()]


def ours(world: World, document_type: str) -> list[str]:
    return [m["payload"] for m in world.outbound_messages() if m["document_type"] == document_type]


def inbound_row(world: World) -> InboundDocument:
    with world.store.transaction() as session:
        row = session.scalars(select(InboundDocument)).one()
        session.expunge(row)
        return row


def test_an_interchange_with_a_broken_envelope_is_answered_with_a_ta1_through_cleo(world: World) -> None:
    drop(world, broken_date(asn()), document_type="856")
    assert process_all(world) == ["exception"]
    [ta1] = ours(world, "TA1")
    assert ours(world, "997") == []  # a rejected interchange's groups are not answered
    [answer] = read_interchange_acks(ta1)
    assert (answer.interchange_control, answer.status, answer.note_code) == (f"{ASN_ICN:09d}", "R", "014")
    report = validate(ta1)
    assert report.valid, report
    [envelope] = report.interchanges
    assert (envelope.sender_id.strip(), envelope.receiver_id.strip()) == ("ABCDIST", "ALPHAEDI")
    row = inbound_row(world)
    assert row.ack_status == "sent" and int(envelope.control) == row.ack_interchange
    [invalid] = open_exceptions(world, "invalid_document")
    assert "ISA09" in invalid.why and "Our TA1 told the partner" in invalid.why
    assert list(world.cleo.iter_inbound()) == []
    # The next answer to ALPHA takes the next control number: the TA1's was allocated in the store.
    drop(world, broken_date(asn(ASN_ICN + 1)), document_type="856")
    assert process_all(world) == ["exception"]
    icns = sorted(int(validate(p).interchanges[0].control) for p in ours(world, "TA1"))
    assert icns == [icns[0], icns[0] + 1]


def test_a_trailer_error_gets_a_ta1_and_the_997_in_one_message(world: World) -> None:
    payload = asn().replace(f"IEA*1*{ASN_ICN:09d}", f"IEA*1*{ASN_ICN + 9:09d}")
    drop(world, payload, document_type="856")
    assert process_all(world) == ["exception"]
    [message] = [m for m in world.outbound_messages() if m["partner"] == "ALPHA"]
    assert message["document_type"] == "997"
    [answer] = read_interchange_acks(message["payload"])
    assert (answer.status, answer.note_code) == ("E", "001")
    assert "ST*997*" in message["payload"]
    [invalid] = open_exceptions(world, "invalid_document")
    assert "Our TA1 and 997 told the partner" in invalid.why


@pytest.mark.partners("perfect", 0.0)
def test_our_ta1_waits_for_cleo_with_backoff_and_goes_once_with_the_icn_it_was_staged_with(world: World) -> None:
    connector = world.connector
    connector.backoff = connector.receiving.backoff = Backoff(first_seconds=3600, max_seconds=3600)
    drop(world, broken_date(asn()), document_type="856")
    work = connector.collect_inbound()
    admin = world.sandbox.admin()
    admin.add_fault("500", count=10_000, method="POST", path="/api/messages")
    assert [connector.process_inbound(w) for w in work] == ["exception"]
    row = inbound_row(world)
    assert row.ack_status == "pending" and row.ack_attempts == 1 and "CleoUnavailable" in (row.ack_last_error or "")
    staged_icn, staged_payload = row.ack_interchange, row.ack_payload
    admin.clear_faults()
    connector.collect_inbound()  # Cleo answers again: sent at once, not after the hour of backoff
    connector.collect_inbound()
    [ta1] = ours(world, "TA1")
    assert ta1 == staged_payload and int(validate(ta1).interchanges[0].control) == staged_icn
    assert inbound_row(world).ack_status == "sent"


def test_an_envelope_too_broken_to_name_the_partner_gets_no_ta1_and_the_exception_says_so(world: World) -> None:
    good = asn()
    shifted = good[:35] + "ALP*AEDI       " + good[50:]  # ISA06–ISA08 garbled: who would a TA1 go to?
    drop(world, shifted, document_type="856")
    assert process_all(world) == ["exception"]
    assert ours(world, "TA1") == [] and ours(world, "997") == []
    [invalid] = open_exceptions(world, "invalid_document")
    assert "No 997 or TA1 could answer it" in invalid.why and "ISA05–ISA08" in invalid.why
    assert inbound_row(world).ack_status == "not_needed"


# ------------------------------------------------------------------------------------------ partners' TA1s


def partner_ta1(world: World, status: str, note: str) -> tuple[str, OutboundDocument]:
    """ALPHA's TA1 for the 850 we sent it: made by breaking our ISA09 and answering that, then set to `status`."""
    with world.store.transaction() as session:
        row = session.scalars(select(OutboundDocument).where(OutboundDocument.partner == "ALPHA")).one()
        session.expunge(row)
    assert row.payload is not None
    text = interchange_acks(broken_date(row.payload), when=None, only_errors=True)
    assert "*R*014" in text
    return text.replace("*R*014", f"*{status}*{note}"), row


def test_a_partner_ta1_rejecting_our_interchange_is_an_exception_naming_the_reason(world: World) -> None:
    world.create_po("01-V0001", lines=1)
    send_all(world)
    text, sent = partner_ta1(world, "R", "008")
    drop(world, text)  # a TA1 alone in its interchange: the sandbox files it as a TA1
    assert process_all(world) == []  # recorded as it is stored: nothing left for Sage
    with world.store.transaction() as session:
        assert session.scalars(select(OutboundDocument.fa_status)).one() == "rejected"
        row = session.scalars(select(InboundDocument)).one()
        assert (row.document_type, row.status, row.ack_status) == ("TA1", "applied", "not_needed")
        staged = session.scalar(
            select(AuditEntry.id).where(
                AuditEntry.idempotency_key == sent.idempotency_key, AuditEntry.status == "staged"
            )
        )
    [rejected] = open_exceptions(world, "interchange_rejected")
    assert f"interchange {sent.interchange_control:09d}" in rejected.what and f"PO {sent.po_number}" in rejected.what
    assert "receiver ID (ISA08)" in rejected.why and "TA1 code 008" in rejected.why
    assert "Cleo trading-partner record" in rejected.suggested_fix
    assert f"ml-connector replay {staged}" in rejected.suggested_fix
    assert list(world.cleo.iter_inbound()) == []
    drop(world, text)  # Cleo delivers the same TA1 again: stored once, one exception
    assert process_all(world) == []
    assert len(open_exceptions(world, "interchange_rejected")) == 1
    assert ours(world, "997") == [] and ours(world, "TA1") == []  # a TA1 is never answered


def test_a_partner_ta1_accepting_our_interchange_is_audited_only(world: World) -> None:
    world.create_po("01-V0001", lines=1)
    send_all(world)
    text, sent = partner_ta1(world, "A", "000")
    drop(world, text)
    assert process_all(world) == []
    assert open_exceptions(world) == []
    with world.store.transaction() as session:
        assert session.scalars(select(OutboundDocument.fa_status)).one() == "waiting"  # the 997 is still to come
        lines = session.scalars(
            select(AuditEntry).where(AuditEntry.document_type == "TA1", AuditEntry.direction == "IN")
        ).all()
        assert [(a.status, a.target_id) for a in lines] == [("received", None), ("accepted", sent.po_number)]
        assert lines[1].message and "accepted interchange" in lines[1].message
