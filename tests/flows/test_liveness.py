"""Liveness: a transient failure is retried with per-document backoff and never cached as final; documents waiting
on the agent or Cleo go at the first poll after it answers; a `stalled` exception names the cause and closes when
they move; one unreadable file blocks nothing; a PO version staged twice at once reaches Cleo once."""

from __future__ import annotations

import socket
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from mlconnector.cleo.errors import CleoAuthError, CleoHTTPError, CleoProtocolError, CleoUnavailable
from mlconnector.flows.liveness import STALLED, Backoff, Cause, classify
from mlconnector.flows.outbound import render
from mlconnector.flows.purchase_orders import content_hash
from mlconnector.flows.status import waiting_documents
from mlconnector.sage.agent.client import AgentClient, AgentUnavailableError
from mlconnector.sage.errors import SageAuthError, SageLockedError, SageNotFoundError, SageValidationError
from mlconnector.store.models import ControlNumberCounter, InboundDocument, OutboundDocument, PartnerMapping
from mlconnector.store.models import TradingPartner as StoredPartner

from .conftest import SENDER, World
from .inbound_helpers import exception_summaries, open_exceptions, process_until, sage_receipts, send_all, statuses


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (AgentUnavailableError("connection refused"), Cause.SAGE_AGENT),
        (SageLockedError("Record is locked by another user"), Cause.SAGE_LOCK),
        (SageAuthError("Invalid user logon"), Cause.SAGE_LOGIN),
        (CleoUnavailable("Cleo POST /messages", attempts=6, last="HTTP 503"), Cause.CLEO),
        (CleoHTTPError(503, "busy"), Cause.CLEO),
        (CleoHTTPError(429, "slow down"), Cause.CLEO),
        (CleoProtocolError("an HTML page"), Cause.CLEO),
        (CleoAuthError("login refused"), Cause.CLEO_LOGIN),
        (httpx.ReadTimeout("timed out"), Cause.CLEO),
        (RuntimeError("a bug"), Cause.UNEXPECTED),
        (SageValidationError("Invalid GL account"), None),
        (SageNotFoundError("No such PO"), None),
        (CleoHTTPError(400, "bad partner"), None),
    ],
)
def test_one_table_says_transient_with_its_cause_or_permanent(error: Exception, cause: Cause | None) -> None:
    failure = classify(error)
    assert failure.cause == cause
    assert failure.transient is (cause is not None)
    assert type(error).__name__ in failure.message


def test_backoff_doubles_and_is_capped() -> None:
    backoff = Backoff(first_seconds=30, max_seconds=300)
    assert [backoff.delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [30, 60, 120, 240, 300, 300]


def _dead_agent(world: World) -> AgentClient:
    """An agent client pointing at a port nothing listens on: a real 'connection refused', as when the Sage
    server restarts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fingerprint = "00" * 32
    return AgentClient(
        f"https://127.0.0.1:{port}", b"k" * 32, fingerprint, "ml", "x", "ABC", attempts=2, wait_initial=0.01
    )


@pytest.mark.partners("perfect", 0.0)
def test_an_agent_outage_waits_with_backoff_then_everything_goes_at_the_first_poll_after_it_answers(
    world: World,
) -> None:
    connector = world.connector
    po = world.create_po("01-V0001", lines=2)
    send_all(world)
    slow = Backoff(first_seconds=3600, max_seconds=3600, stalled_after=timedelta(0))
    connector.backoff = connector.receiving.backoff = slow
    real, dead = connector.sage, _dead_agent(world)
    connector.sage = connector.receiving.sage = dead
    try:
        outcomes: dict[str, str] = {}
        for _ in range(40):  # until the partner's 997, 855, 856 and 810 have all arrived and been tried
            for work in connector.collect_inbound():
                outcomes[work.rsplit("#", 1)[0]] = connector.process_inbound(work)
            if len(outcomes) >= 4:
                break
        assert sorted(outcomes.values()).count("retrying") == 3, outcomes  # 855/856/810 need Sage; the 997 not
        with world.store.transaction() as session:
            waiting = session.scalars(select(InboundDocument).where(InboundDocument.waiting_on.is_not(None))).all()
            assert {d.document_type for d in waiting} == {"855", "856", "810"}
            assert all(d.status == "applying" and d.attempts == 1 and d.next_attempt_at for d in waiting)
            assert all("AgentUnavailableError" in (d.last_error or "") for d in waiting)
        assert connector.collect_inbound() == []  # backed off: the agent is not hammered every poll
        (stalled,) = open_exceptions(world, STALLED)
        assert stalled.what.startswith("Sage agent unreachable since ")
        assert stalled.what.endswith("; 3 documents waiting")
        (inbound,) = [w for w in waiting_documents(world.store) if w.kind.startswith("inbound")]
        assert inbound.waiting == 3 and inbound.retrying == 3
        assert "AgentUnavailableError" in (inbound.last_error or "")
    finally:
        connector.sage = connector.receiving.sage = real
        dead.close()
    # The agent answers again: the next poll wakes all three although their own backoff has an hour to run.
    work = connector.collect_inbound()
    assert sorted(w.rsplit("#", 1)[1] for w in work) == ["1", "1", "1"]  # a new attempt, so a new workflow id
    assert sorted(connector.process_inbound(w) for w in work) == ["applied", "applied", "applied"]
    connector.collect_inbound()
    assert open_exceptions(world, STALLED) == []
    assert exception_summaries(world) == []
    assert [(r.receipt_type, r.po_number) for r in sage_receipts(world)] == [("G", po), ("I", po)]
    assert waiting_documents(world.store) == []


@pytest.mark.partners("perfect", 0.0)
def test_cleo_500s_defer_the_850_with_backoff_and_it_goes_once_cleo_answers(world: World) -> None:
    connector = world.connector
    connector.backoff = Backoff(first_seconds=3600, max_seconds=3600)
    world.create_po("01-V0001", lines=1)
    admin = world.sandbox.admin()
    admin.add_fault("500", count=50, method="POST", path="/api/messages")
    (work,) = connector.collect_purchase_orders()
    assert connector.send_outbound(work) == "deferred"
    with world.store.transaction() as session:
        row = session.scalars(select(OutboundDocument)).one()
        assert (row.status, row.attempts, row.waiting_on) == ("pending", 1, "cleo")
        assert "CleoUnavailable" in (row.last_error or "")
    admin.clear_faults()
    (again,) = connector.collect_purchase_orders()  # Cleo answers the probe: due now, under a new workflow id
    assert again.endswith("#1")
    assert connector.send_outbound(again) == "sent"
    assert len([m for m in world.outbound_messages() if m["document_type"] == "850"]) == 1


def test_a_po_version_staged_by_two_runs_at_once_is_rendered_once(world: World) -> None:
    """The double-850 window: a second run whose 'is this version new?' check ran before the first one committed
    must not render the same content again as a change (new sequence, new ICN)."""
    po_number = world.create_po("01-V0001", lines=2)
    send_all(world)
    po = world.agent_client.purchase_order(po_number)
    with world.store.transaction() as session:
        partner = session.get(StoredPartner, "ALPHA")
        mapping = session.get(PartnerMapping, "01-V0001")
        assert partner is not None and mapping is not None
        before = session.get(ControlNumberCounter, "ALPHA")
        icn_before = before.last_interchange if before else 0
        # What the late run does after its stale check: render the version it read from Sage.
        again = render(session, po, content_hash(po), mapping=mapping, partner=partner, sender=SENDER, departments={})
        assert again is None
    with world.store.transaction() as session:
        rows = session.scalars(select(OutboundDocument).where(OutboundDocument.po_number == po_number)).all()
        counter = session.get(ControlNumberCounter, "ALPHA")
        assert [r.document_type for r in rows] == ["850"]
        assert counter is not None and counter.last_interchange == icn_before  # no ICN taken, so no gap


POISON = {
    "ge01_superscript": "ISA*00*          *00*          *ZZ*BRAVOEDI       *ZZ*ABCDIST        *261126*1200*U*00401*"
    "000000777*0*T*>~GS*PO*BRAVOEDI*ABCDIST*20261126*1200*77*X*004010~ST*997*0001~AK1*PO*1~AK9*A*1*1*1~"
    "SE*4*0001~GE*²*77~IEA*1*000000777~",
    "random_bytes": "\x00\x9f\x13garbage\x00\xff" * 20,
}


@pytest.mark.partners("perfect", 0.0)
def test_one_unreadable_file_among_good_ones_blocks_nothing(world: World) -> None:
    """Good documents from two partners go in the same polls; each bad file is one exception; Cleo's queue empties."""
    pos = [world.create_po("01-V0001", lines=2), world.create_po("01-V0002", lines=2)]
    admin = world.sandbox.admin()
    admin.drop_in("BRAVO", POISON["ge01_superscript"], "997")
    admin.drop_in("ALPHA", POISON["random_bytes"], "856")
    send_all(world)
    process_until(world, {"997": 3, "855": 2, "856": 3, "810": 2})
    assert statuses(world, "855") == ["applied", "applied"]
    assert sorted(r.po_number for r in sage_receipts(world)) == sorted(pos * 2)
    kinds = sorted(e.kind for e in open_exceptions(world))
    assert kinds.count("unreadable_document") + kinds.count("invalid_document") >= 2, kinds
    assert set(kinds) <= {"unreadable_document", "invalid_document", "ack_failed"}, exception_summaries(world)
    assert list(world.cleo.iter_inbound()) == []  # everything acknowledged: nothing left to block a poll
    with world.store.transaction() as session:
        open_docs = session.scalars(
            select(InboundDocument.idempotency_key).where(InboundDocument.status.in_(("received", "applying")))
        ).all()
        assert open_docs == []


def rename_partner_in_cleo(world: World, alias: str, new_alias: str) -> None:
    (found,) = [p for p in world.sandbox.store.list_partners("demo") if p["alias"] == alias]
    body = {k: v for k, v in found.items() if k != "id"}
    world.sandbox.store.update_partner("demo", found["id"], {**body, "alias": new_alias})


@pytest.mark.partners("perfect", 0.0)
def test_our_997_cleo_refuses_is_sent_by_the_fix_its_exception_names(world: World) -> None:
    """`ack_not_sent` says: check the partner in Cleo, then `exceptions retry`. Doing exactly that sends the 997
    (once) and resolves the exception; until then it stays open and nothing is sent."""
    connector = world.connector
    world.create_po("01-V0001", lines=1)
    send_all(world)
    work: list[str] = []
    for _ in range(100):  # store ALPHA's 997, 855, 856 and 810 without applying them
        work = connector.collect_inbound()
        if len(work) == 4:
            break
    assert len(work) == 4
    rename_partner_in_cleo(world, "ALPHA", "ALPHA-OLD")  # Cleo now refuses anything addressed to ALPHA
    assert sorted(connector.process_inbound(w) for w in work) == ["applied"] * 4
    refused = open_exceptions(world, "ack_not_sent")
    assert len(refused) == 3, exception_summaries(world)  # our 997s for the 855, 856 and 810
    assert all("then `ml-connector exceptions retry` this" in x.suggested_fix for x in refused)
    assert [m for m in world.outbound_messages() if m["document_type"] == "997"] == []
    connector.collect_inbound()
    assert len(open_exceptions(world, "ack_not_sent")) == 3, "a refused 997 is not retried on its own"

    rename_partner_in_cleo(world, "ALPHA-OLD", "ALPHA")  # the partner's set-up in Cleo is fixed
    for record in refused:
        connector.retry_exception(record.id)
    connector.collect_inbound()
    assert open_exceptions(world, "ack_not_sent") == [], exception_summaries(world)
    ours = [m for m in world.outbound_messages() if m["document_type"] == "997"]
    assert len(ours) == 3 and {m["partner"] for m in ours} == {"ALPHA"}
    connector.collect_inbound()
    assert len([m for m in world.outbound_messages() if m["document_type"] == "997"]) == 3, "each once"


@pytest.mark.partners("perfect", 0.0)
def test_a_document_that_failed_for_good_is_applied_by_the_retry_its_fix_names(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`document_failed` (a permanent error outside the flow's own checks) says: correct the cause, then
    `exceptions retry`. Once the cause is gone, that retry applies the document and closes the exception."""
    connector = world.connector
    world.create_po("01-V0001", lines=1)
    send_all(world)
    work: list[str] = []
    for _ in range(100):
        work = connector.collect_inbound()
        if len(work) == 4:
            break
    assert len(work) == 4
    process = connector.receiving.process

    def sage_refuses(key: str) -> str:  # the cause: Sage says the PO is not there (say, purged by mistake)
        raise SageNotFoundError("PO_PurchaseOrderHeader: record not found")

    monkeypatch.setattr(connector.receiving, "process", sage_refuses)
    assert [connector.process_inbound(w) for w in work] == ["exception"] * 4
    failed = open_exceptions(world, "document_failed")
    assert len(failed) == 4
    assert all(x.suggested_fix.endswith("then `ml-connector exceptions retry`.") for x in failed)
    monkeypatch.setattr(connector.receiving, "process", process)  # the cause is corrected
    assert sorted(connector.retry_exception(x.id) for x in failed) == ["applied"] * 4
    assert open_exceptions(world, "document_failed") == [], "the retry that worked closed its exception"
    assert exception_summaries(world) == []


@pytest.mark.partners("perfect", 0.0)
def test_our_997s_wait_for_cleo_with_backoff_and_each_goes_once(world: World) -> None:
    connector = world.connector
    world.create_po("01-V0001", lines=1)
    send_all(world)
    admin = world.sandbox.admin()
    process_until(world, {"997": 1, "855": 1, "856": 1, "810": 1})
    admin.add_fault("500", count=10_000, method="POST", path="/api/messages")
    world.create_po("01-V0002", lines=1)
    for work in connector.collect_purchase_orders():
        connector.send_outbound(work)  # deferred: Cleo 500s every post
    with world.store.transaction() as session:
        deferred = session.scalars(select(OutboundDocument).where(OutboundDocument.status == "pending")).one()
        assert deferred.waiting_on == "cleo" and deferred.attempts == 1
    admin.clear_faults()
    for work in connector.collect_purchase_orders():
        assert connector.send_outbound(work) == "sent"
    connector.backoff = connector.receiving.backoff = Backoff(first_seconds=3600, max_seconds=3600)
    work: list[str] = []
    for _ in range(100):  # store BRAVO's 997, 855, 856 and 810 (and acknowledge them in Cleo) without applying
        work = connector.collect_inbound()
        if len(work) == 4:
            break
    assert len(work) == 4
    # Now every POST to /api/messages… fails: our 997s (and acknowledgments, of which none are left to do).
    admin.add_fault("500", count=10_000, method="POST", path="/api/messages")
    assert sorted(connector.process_inbound(w) for w in work) == ["applied"] * 4
    with world.store.transaction() as session:
        pending = session.scalars(select(InboundDocument).where(InboundDocument.ack_status == "pending")).all()
    assert len(pending) == 3  # BRAVO's 855, 856 and 810 are applied; our 997s for them wait for Cleo
    assert all(
        p.ack_attempts == 1 and p.ack_next_attempt_at and "CleoUnavailable" in (p.ack_last_error or "") for p in pending
    )
    (acks,) = [w for w in waiting_documents(world.store) if w.kind.startswith("our 997s")]
    assert acks.waiting == 3 and acks.retrying == 3
    admin.clear_faults()
    connector.collect_inbound()  # Cleo answers: the backoff of an hour does not hold them back
    with world.store.transaction() as session:
        assert (
            session.scalars(select(InboundDocument.ack_status).where(InboundDocument.ack_status == "pending")).all()
            == []
        )
    ours = [m for m in world.outbound_messages() if m["document_type"] == "997"]
    assert len(ours) == 6  # one per inbound group of the two POs, none twice
    assert exception_summaries(world) == []
