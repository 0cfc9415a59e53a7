"""The agent over real HTTPS: signing, replay, pinning, error mapping, locks, and a crash after the Sage write."""

from __future__ import annotations

import inspect
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mlconnector.sage.agent.client import AgentAuthError, AgentClient, pinned_context
from mlconnector.sage.agent.signing import signed_headers
from mlconnector.sage.agent.testing import RunningAgent, running_agent
from mlconnector.sage.errors import SageAuthError, SageLockedError, SageNotFoundError, SageValidationError
from mlconnector.sage.gateway import SageGateway
from mlconnector.sage.models import ReceiptLine
from mlconnector.sage.sim.script import SimBackend

from .conftest import COMPANY, PASSWORD, USER, no_wait_policy
from .helpers import Clerk


@pytest.fixture
def agent(sim: SimBackend, tmp_path: Path) -> Iterator[RunningAgent]:
    with running_agent(sim, tmp_path / "agent", policy=no_wait_policy()) as running:
        yield running


def _raw(agent: RunningAgent) -> httpx.Client:
    return httpx.Client(
        base_url=agent.url,
        verify=pinned_context(agent.fingerprint),
        timeout=10,
        headers={"content-type": "application/json"},
    )


def _body(**args: object) -> bytes:
    return json.dumps({"credentials": {"user": USER, "password": PASSWORD, "company": COMPANY}, **args}).encode()


def test_client_mirrors_the_gateway_exactly() -> None:
    ops = [
        "changed_purchase_orders",
        "changed_vendors",
        "gl_accounts",
        "purchase_order",
        "receive_goods",
        "receive_invoice",
        "post_receipts",
        "find_by_source_key",
    ]
    for name in ops:
        assert inspect.signature(getattr(AgentClient, name)) == inspect.signature(getattr(SageGateway, name)), name


def test_operations_round_trip_over_https(agent: RunningAgent, sim: SimBackend) -> None:
    with agent.client(USER, PASSWORD, COMPANY) as client:
        changed = client.changed_purchase_orders()
        assert len(changed.items) == 6 and changed.cursor.date
        assert client.changed_purchase_orders(changed.cursor).items == []
        po = client.purchase_order("0000001")
        doc = client.receive_goods("0000001", [ReceiptLine(line_key=po.lines[0].line_key, quantity=1)], key="k-1")
        assert doc.created and client.find_by_source_key("k-1") == doc.model_copy(update={"created": False})
        assert client.post_receipts().posted == [f"G-{doc.receipt_no}"]
        assert any(a.department == "10" for a in client.gl_accounts())
        assert len(client.changed_vendors().items) >= 40


@pytest.mark.parametrize("case", ["unsigned", "wrong_key", "tampered_body", "stale", "replayed", "unknown_path"])
def test_bad_signatures_get_401_and_run_nothing(agent: RunningAgent, sim: SimBackend, case: str) -> None:
    path = "/v1/receive_goods" if case != "unknown_path" else "/v1/drop_all_tables"
    body = _body(purchase_order_no="0000001", lines=[{"line_key": "000001", "quantity": 1}], key="evil")
    key = b"\x00" * 32 if case == "wrong_key" else agent.hmac_key
    headers = signed_headers(key, "POST", path, body, now=time.time() - 301 if case == "stale" else None)
    with _raw(agent) as http:
        if case == "replayed":
            first = http.post(path, content=body, headers=headers)
            assert first.status_code == 200
            sim.counter.reset()
        sent = body.replace(b'"quantity": 1', b'"quantity": 9') if case == "tampered_body" else body
        resp = http.post(path, content=sent, headers={} if case in ("unsigned", "unknown_path") else headers)
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthorized"
    assert sim.counter.total() == 0 if case != "replayed" else sim.counter.snapshot() == {}
    receipts = sqlite3.connect(sim.db_path).execute("SELECT COUNT(*) FROM PO_ReceiptHeader").fetchone()[0]
    assert receipts == (1 if case == "replayed" else 0)


def test_plain_http_is_not_served(agent: RunningAgent) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.post(agent.url.replace("https", "http") + "/v1/health", timeout=5)


def test_client_refuses_a_certificate_that_does_not_match_the_pin(agent: RunningAgent) -> None:
    client = AgentClient(agent.url, agent.hmac_key, "00" * 32, USER, PASSWORD, COMPANY, sleep=lambda _s: None)
    with pytest.raises(AgentAuthError, match="fingerprint"):
        client.purchase_order("0000001")


def test_sage_answers_map_to_4xx_with_sages_message(agent: RunningAgent, capfd: pytest.CaptureFixture[str]) -> None:
    with agent.client(USER, "not-the-password", COMPANY) as bad, pytest.raises(SageAuthError, match="Invalid user"):
        bad.purchase_order("0000001")
    with agent.client(USER, PASSWORD, COMPANY) as client:
        with pytest.raises(SageNotFoundError, match="0000999 is not on file"):
            client.purchase_order("0000999")
        with pytest.raises(SageValidationError, match="not on purchase order") as info:
            client.receive_goods("0000001", [ReceiptLine(line_key="000777", quantity=1)], key="bad")
        assert info.value.field == "OrderLineKey$"
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err and "not-the-password" not in out + err


def test_lock_retries_then_succeeds_when_released(sim: SimBackend, tmp_path: Path) -> None:
    desk = ThreadPoolExecutor(max_workers=1)  # the clerk's own thread: SQLite connections are per thread
    clerk = desk.submit(Clerk, sim).result()
    desk.submit(clerk.hold, "0000002").result()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            desk.submit(clerk.release).result()

    policy = no_wait_policy(attempts=5, sleep=sleep)
    with (
        running_agent(sim, tmp_path / "agent", policy=policy) as agent,
        agent.client(USER, PASSWORD, COMPANY) as client,
    ):
        doc = client.receive_goods("0000002", [ReceiptLine(line_key="000001", quantity=1)], key="lock-1")
    assert doc.created and len(waits) == 2
    desk.submit(clerk.close).result()
    desk.shutdown()


def test_lock_beyond_the_budget_is_503_with_retry_after(sim: SimBackend, tmp_path: Path) -> None:
    clerk = Clerk(sim)
    clerk.hold("0000002")
    with running_agent(sim, tmp_path / "agent", policy=no_wait_policy(attempts=3)) as agent:
        body = _body(purchase_order_no="0000002", lines=[{"line_key": "000001", "quantity": 1}], key="lock-2")
        with _raw(agent) as http:
            resp = http.post(
                "/v1/receive_goods",
                content=body,
                headers=signed_headers(agent.hmac_key, "POST", "/v1/receive_goods", body),
            )
        assert resp.status_code == 503 and resp.headers["retry-after"] == "7"
        assert "in use" in resp.json()["message"]
        waits: list[float] = []
        with (
            agent.client(USER, PASSWORD, COMPANY, attempts=2, sleep=waits.append) as client,
            pytest.raises(SageLockedError),
        ):
            client.receive_goods("0000002", [ReceiptLine(line_key="000001", quantity=1)], key="lock-2")
        assert waits == [7.0]  # the client honoured Retry-After once, then gave up
    assert sqlite3.connect(sim.db_path).execute("SELECT COUNT(*) FROM PO_ReceiptHeader").fetchone()[0] == 0
    clerk.close()


def test_crash_after_sage_write_then_retry_returns_the_same_document(sim: SimBackend, tmp_path: Path) -> None:
    crashes: list[str] = []

    def crash_once(point: str) -> None:
        if point == "after_sage_write" and not crashes:
            crashes.append(point)
            raise RuntimeError("agent died after the Sage write")

    with (
        running_agent(sim, tmp_path / "agent", policy=no_wait_policy(), fault_hook=crash_once) as agent,
        agent.client(USER, PASSWORD, COMPANY, sleep=lambda _s: None) as client,
    ):
        doc = client.receive_goods("0000003", [ReceiptLine(line_key="000001", quantity=2)], key="asn-crash")
    assert crashes == ["after_sage_write"]
    rows = sqlite3.connect(sim.db_path).execute("SELECT ReceiptNo FROM PO_ReceiptHeader").fetchall()
    assert rows == [(doc.receipt_no,)]
    assert not doc.created  # found by its idempotency key, not written twice
    assert sim.counter.snapshot()["SY_Session.nSetUser"] == 2  # the failed session was dropped and reopened


def test_sessions_are_pooled_per_user_and_company_and_serialised(agent: RunningAgent, sim: SimBackend) -> None:
    errors: list[BaseException] = []

    def work(user: str, password: str) -> None:
        try:
            with agent.client(user, password, COMPANY) as client:
                for _ in range(5):
                    assert client.purchase_order("0000001").lines
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(USER, PASSWORD)) for _ in range(3)]
    threads.append(threading.Thread(target=work, args=("viewer", "viewer-demo")))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert agent.app.pool is not None and len(agent.app.pool) == 2  # (ml, ABC) and (viewer, ABC)
    assert sim.counter.snapshot()["SY_Session.nSetUser"] == 2  # one logon per pooled session, not per call
    body = b""
    with _raw(agent) as http:
        health = http.get("/v1/health", headers=signed_headers(agent.hmac_key, "GET", "/v1/health", body)).json()
    assert health["sessions"] == 2 and health["boi_calls"] == sim.counter.total()
