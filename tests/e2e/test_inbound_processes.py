"""The inbound guarantees over real processes: the agent and the Cleo sandbox (with partner profiles) as servers,
the connector as a command (`sync now …`, `exceptions retry`), kill -9 while applying, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mlconnector.demo import Stack, cleo_outbound_messages, demo_environment, start_stack
from mlconnector.sage.sim.demo import PurchasingClerk
from mlconnector.store.models import ExceptionRecord, InboundDocument, OutboundDocument

pytestmark = pytest.mark.slow

PROFILES = ("perfect", "partial-shipper", "price-variance", "sloppy", "silent")
FAST = {
    "delivered": 0.1,
    "functional_ack": 0.5,
    "acknowledgment": 0.5,
    "ship_notice": 1.0,
    "second_ship_notice": 2.0,
    "invoice": 1.5,
}


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[Stack]:
    with demo_environment(tmp_path / "stack") as processes:
        built = start_stack(
            tmp_path / "stack", processes, database_url=database_url, partner_delays=FAST, profiles=PROFILES
        )
        try:
            yield built
        finally:
            built.store.close()


def sync(stack: Stack, *jobs: str, env: dict[str, str] | None = None, expect: int = 0) -> str:
    result = stack.connector("sync", "now", *jobs, env=env)
    assert result.returncode == expect, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def create_pos(stack: Stack, vendors: list[str], lines: int = 3) -> dict[str, str]:
    """One PO per vendor through BOI; returns PO number → vendor."""
    rng = random.Random(17)
    clerk = PurchasingClerk(stack.sim)
    try:
        return {clerk.create_po(rng, vendor=v.split("-", 1)[1], lines=lines): v for v in vendors}
    finally:
        clerk.close()


def count(stack: Stack, model, *where) -> int:  # type: ignore[no-untyped-def]
    with stack.store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def inbound_until_settled(
    stack: Stack, *, invoices: int, timeout: float = 120, env: dict[str, str] | None = None, never_shipped: int = 0
) -> None:
    """`sync now inbound` until `invoices` 810s are stored and nothing is left to apply or waiting for goods."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sync(stack, "inbound", env=env)
        stored = count(stack, InboundDocument, InboundDocument.document_type == "810")
        waiting = count(stack, InboundDocument, InboundDocument.status.in_(("received", "applying")))
        # An invoice applied in parallel with its ASN may wait for goods until the next poll retries it.
        waiting += count(
            stack, ExceptionRecord, ExceptionRecord.kind == "not_received", ExceptionRecord.status == "open"
        )
        if stored >= invoices and waiting <= never_shipped:
            return
        time.sleep(0.5)
    raise AssertionError("inbound did not settle")


def sage_rows(stack: Stack, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(stack.sim.db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def receipts(stack: Stack, po: str, kind: str) -> int:
    return sum(
        n
        for (n,) in sage_rows(
            stack,
            "SELECT COUNT(*) FROM PO_ReceiptHeader WHERE PurchaseOrderNo=? AND ReceiptType=? UNION ALL "
            "SELECT COUNT(*) FROM PO_ReceiptHistoryHeader WHERE PurchaseOrderNo=? AND ReceiptType=?",
            po,
            kind,
            po,
            kind,
        )
    )


def order_status(stack: Stack, po: str) -> str:
    return sage_rows(stack, "SELECT OrderStatus FROM PO_PurchaseOrderHeader WHERE PurchaseOrderNo=?", po)[0][0]


def open_exceptions(stack: Stack) -> list[ExceptionRecord]:
    with stack.store.transaction() as session:
        rows = list(session.scalars(select(ExceptionRecord).where(ExceptionRecord.status == "open")))
        session.expunge_all()
        return rows


def fix_inactive_gl_accounts_and_retry(stack: Stack) -> None:
    """The clerk's fix for a `gl_account` exception: activate the account in Sage, refresh the cache, retry."""
    for record in [e for e in open_exceptions(stack) if e.kind == "gl_account"]:
        accounts = [p["account"] for p in (record.details or {}).get("problems", []) if "account" in p]
        conn = sqlite3.connect(stack.sim.db_path)
        conn.executemany("UPDATE GL_Account SET Status='A' WHERE Account=?", [(a,) for a in accounts])
        conn.commit()
        conn.close()
        sync(stack, "gl")
        retried = stack.connector("exceptions", "retry", str(record.id))
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert "applied" in retried.stdout


def test_partner_profiles_through_the_whole_cycle(stack: Stack) -> None:
    profiles = dict(list(stack.profiles.items())[: len(PROFILES)])
    assert stack.unmapped not in profiles and sorted(profiles.values()) == sorted(PROFILES)
    pos = create_pos(stack, list(profiles))
    by_profile = {profiles[v]: po for po, v in pos.items()}
    sync(stack, "pos")
    env = {"MLC_TOLERANCES__FA_OVERDUE_HOURS": "0.0003"}  # ~1 s: the silent partner is overdue at once
    # perfect 1, partial-shipper 2, price-variance 1, sloppy 1, silent 1
    inbound_until_settled(stack, invoices=6, env=env, never_shipped=1)  # the sloppy partner's ASN is invalid
    time.sleep(1.2)
    sync(stack, "inbound", env=env)
    fix_inactive_gl_accounts_and_retry(stack)
    kinds = {(e.kind, e.document_ref) for e in open_exceptions(stack)}

    perfect = by_profile["perfect"]
    assert (receipts(stack, perfect, "G"), receipts(stack, perfect, "I"), order_status(stack, perfect)) == (1, 1, "X")

    partial = by_profile["partial-shipper"]
    assert (receipts(stack, partial, "G"), receipts(stack, partial, "I"), order_status(stack, partial)) == (2, 2, "X")

    variance = by_profile["price-variance"]
    assert receipts(stack, variance, "G") == 1 and receipts(stack, variance, "I") == 0
    assert ("price_variance", f"810:{stack.aliases[pos[variance]]}:INV-{variance}-1") in kinds

    sloppy = by_profile["sloppy"]
    assert receipts(stack, sloppy, "G") == 0 and order_status(stack, sloppy) != "X"
    assert any(k == "invalid_document" for k, _ in kinds)
    sloppy_partner = stack.aliases[pos[sloppy]]
    rejecting = [
        m
        for m in cleo_outbound_messages(stack)
        if m["documentType"] == "997" and m["partner"] == sloppy_partner and "AK5*R" in m["payload"]
    ]
    assert len(rejecting) == 1

    silent = by_profile["silent"]
    assert ("fa_overdue", f"PO:{silent}") in kinds
    assert count(stack, OutboundDocument, OutboundDocument.fa_status == "overdue") == 1

    # Every inbound group but the partners' 997s was answered with exactly one 997 of ours.
    answered = count(stack, InboundDocument, InboundDocument.ack_status == "sent")
    assert answered == count(stack, InboundDocument, InboundDocument.document_type != "997")
    ours = [m for m in cleo_outbound_messages(stack, with_payload=False) if m["documentType"] == "997"]
    assert len(ours) == answered


@pytest.mark.parametrize(
    ("fault", "after"),
    [("inbound_after_receipt", "1"), ("inbound_after_invoice", "0"), ("inbound_before_apply", "2")],
)
def test_kill_9_while_applying_then_restart_writes_one_receipt_per_asn_and_one_invoice_per_810(
    stack: Stack, fault: str, after: str
) -> None:
    vendors = [v for v, p in stack.profiles.items() if p == "perfect" and v != stack.unmapped][:1]
    pos = create_pos(stack, vendors * 3, lines=2)
    sync(stack, "pos")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sum(m["document_type"] == "810" for m in _inbound_in_cleo(stack)) < len(pos):
        time.sleep(0.3)
    killed = stack.connector("sync", "now", "inbound", env={"MLC_FAULT_AT": fault, "MLC_FAULT_AFTER": after})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    inbound_until_settled(stack, invoices=len(pos))
    fix_inactive_gl_accounts_and_retry(stack)
    for po in pos:
        assert receipts(stack, po, "G") == 1, po
        assert receipts(stack, po, "I") == 1, po
        assert order_status(stack, po) == "X"
    assert [e.kind for e in open_exceptions(stack)] == []


def _inbound_in_cleo(stack: Stack) -> list[dict]:

    with stack.cleo_http(timeout=10) as http:
        login = {"grant_type": "password", "username": "demo", "password": stack.cleo_password}
        token = http.post("/api/authentication", data=login).json()["access_token"]
        page = http.get(
            "/api/messages",
            params={"filter": 'direction eq "inbound"', "count": 1000},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    return [{"document_type": m["documentType"]} for m in page["resources"]]
