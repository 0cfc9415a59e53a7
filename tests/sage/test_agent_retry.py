"""The agent client's retries through its `transport=` seam: dropped connections and lost answers against a real
agent, and recorded answers for Retry-After, each attempt freshly signed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlconnector.sage.agent.client import AgentClient, AgentUnavailableError, pinned_context
from mlconnector.sage.agent.signing import NONCE_HEADER
from mlconnector.sage.agent.testing import RunningAgent, running_agent
from mlconnector.sage.errors import SageLockedError
from mlconnector.sage.models import ReceiptLine
from mlconnector.sage.sim.script import SimBackend

from .conftest import COMPANY, PASSWORD, USER, no_wait_policy


class DroppingTransport(httpx.BaseTransport):
    """Plays a script per request: `refuse` (the connection drops before the request leaves), `lose_answer` (the
    agent does the work, then the connection drops before the answer arrives), `pass`."""

    def __init__(self, inner: httpx.BaseTransport, script: list[str]) -> None:
        self.inner, self.script, self.nonces = inner, list(script), []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.nonces.append(request.headers[NONCE_HEADER])
        step = self.script.pop(0) if self.script else "pass"
        if step == "refuse":
            raise httpx.ConnectError("connection refused", request=request)
        response = self.inner.handle_request(request)
        if step == "lose_answer":
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def agent(sim: SimBackend, tmp_path: Path) -> Iterator[RunningAgent]:
    with running_agent(sim, tmp_path / "agent", policy=no_wait_policy()) as running:
        yield running


def _client(agent: RunningAgent, transport: httpx.BaseTransport, waits: list[float]) -> AgentClient:
    return AgentClient(
        agent.url, agent.hmac_key, agent.fingerprint, USER, PASSWORD, COMPANY,
        wait_initial=0.5, wait_max=4, sleep=waits.append, transport=transport,
    )  # fmt: skip


def test_dropped_connections_and_a_lost_answer_are_retried_and_write_once(agent: RunningAgent, sim: SimBackend) -> None:
    waits: list[float] = []
    faults = DroppingTransport(httpx.HTTPTransport(verify=pinned_context(agent.fingerprint)), ["refuse", "lose_answer"])
    with _client(agent, faults, waits) as client:
        doc = client.receive_goods("0000001", [ReceiptLine(line_key="000001", quantity=1)], key="asn-drop")
    assert not doc.created  # the lost answer's write was found again by its key, not written twice
    rows = sqlite3.connect(sim.db_path).execute("SELECT ReceiptNo FROM PO_ReceiptHeader").fetchall()
    assert rows == [(doc.receipt_no,)]
    assert len(faults.nonces) == 3 and len(set(faults.nonces)) == 3  # every attempt signed afresh
    assert len(waits) == 2 and 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 1.5  # exponential, with jitter


def test_an_agent_that_stays_unreachable_is_reported_after_the_last_attempt(agent: RunningAgent) -> None:
    waits: list[float] = []
    faults = DroppingTransport(httpx.HTTPTransport(), ["refuse"] * 10)
    with _client(agent, faults, waits) as client, pytest.raises(AgentUnavailableError, match="Agent unreachable"):
        client.purchase_order("0000001")
    assert len(faults.nonces) == 4 and len(waits) == 3 and all(w <= 4 for w in waits)


def test_retry_after_is_honoured_up_to_wait_max_on_recorded_answers() -> None:
    answers = [
        httpx.Response(503, json={"error": "locked", "message": "PO in use"}, headers={"Retry-After": "2"}),
        httpx.Response(503, json={"error": "locked", "message": "PO in use"}, headers={"Retry-After": "3600"}),
        httpx.Response(503, json={"error": "locked", "message": "PO in use", "field": None}),
        httpx.Response(503, json={"error": "locked", "message": "PO 0000002 is in use by clerk"}),
    ]
    bodies: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return answers[len(bodies) - 1]

    waits: list[float] = []
    client = AgentClient(
        "https://agent.test", b"k" * 32, "00" * 32, USER, PASSWORD, COMPANY,
        wait_initial=0.5, wait_max=4, sleep=waits.append, transport=httpx.MockTransport(answer),
    )  # fmt: skip
    with client, pytest.raises(SageLockedError, match="in use by clerk"):
        client.receive_goods("0000002", [ReceiptLine(line_key="000001", quantity=1)], key="k")
    assert waits[:2] == [2.0, 4.0] and 2.0 <= waits[2] <= 2.5 and len(bodies) == 4
