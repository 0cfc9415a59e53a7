"""The agent's guarantees hold through the tunnel (signature, replay log, strict models checked by the agent), and
every frame field is validated. An embedded hub (real WSS + HTTPS on loopback) and an agent tunnel in threads."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mlconnector.sage.agent.client import AgentClient, AgentUnavailableError, pinned_context
from mlconnector.sage.agent.server import create_app
from mlconnector.sage.agent.signing import signed_headers
from mlconnector.sage.agent.tls import init_agent
from mlconnector.sage.errors import SageNotFoundError, SageValidationError
from mlconnector.sage.sim.script import SimBackend
from mlconnector.tunnel import frames
from mlconnector.tunnel.agent import AgentTunnel, HubTrust, TunnelOptions, backoff_delays
from mlconnector.tunnel.relay import HubTransport
from mlconnector.tunnel.service import RunningHub, running_hub

from .conftest import CLI, COMPANY, PASSWORD, USER

KEY = bytes(range(32))


@dataclass
class Setup:
    hub: RunningHub
    tunnel: AgentTunnel
    sim: SimBackend

    def client(self, **options: object) -> AgentClient:
        return AgentClient.via_hub(
            self.hub.relay_url,
            "abc",
            self.hub.token,
            KEY,
            USER,
            PASSWORD,
            COMPANY,
            hub_fingerprint=self.hub.fingerprint,
            wait_initial=0.01,
            wait_max=0.05,
            **options,  # type: ignore[arg-type]
        )

    def raw(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.hub.relay_url}/relay/abc",
            verify=pinned_context(self.hub.fingerprint),
            headers={"authorization": f"Bearer {self.hub.token}", "content-type": "application/json"},
            timeout=10,
        )


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    sim = SimBackend(tmp_path / "sage")
    sim.init_company(purchase_orders=3)
    with running_hub(lambda t: KEY if t == "abc" else None, tmp_path / "hub") as hub:
        loop = asyncio.new_event_loop()
        tunnel = AgentTunnel(
            create_app(sim, KEY),
            hub.agents_url,
            "abc",
            KEY,
            HubTrust(fingerprint=hub.fingerprint),
            TunnelOptions(backoff_initial=0.05, backoff_max=0.2),
        )
        task = loop.create_task(tunnel.run())
        thread = threading.Thread(target=lambda: loop.run_until_complete(asyncio.gather(task, return_exceptions=True)))
        thread.start()
        hub.wait_for("abc")
        try:
            yield Setup(hub, tunnel, sim)
        finally:
            loop.call_soon_threadsafe(task.cancel)
            thread.join(10)
            loop.close()


def _body(**args: object) -> bytes:
    return json.dumps({"credentials": {"user": USER, "password": PASSWORD, "company": COMPANY}, **args}).encode()


def test_the_agent_checks_the_signature_and_the_replay_log_through_the_tunnel(setup: Setup) -> None:
    body, path = _body(purchase_order_no="0000001"), "/v1/purchase_order"
    headers = signed_headers(KEY, "POST", path, body)
    calls = setup.sim.counter.total()
    with setup.raw() as http:
        assert http.post(path, content=body, headers=headers).status_code == 200
        replay = http.post(path, content=body, headers=headers)
        assert replay.status_code == 401 and "replayed" in replay.json()["message"]
        other = _body(purchase_order_no="0000002")
        tampered = http.post(path, content=other, headers=signed_headers(KEY, "POST", path, body))
        assert tampered.status_code == 401 and "does not match" in tampered.json()["message"]
        wrong_key = http.post(path, content=body, headers=signed_headers(b"x" * 32, "POST", path, body))
        assert wrong_key.status_code == 401
        assert http.post("/v1/drop_tables", content=body, headers=headers).status_code == 404  # not relayed
    assert setup.sim.counter.total() - calls <= 8  # only the one good call reached Sage (session + read)


def test_sage_answers_and_strict_models_come_back_as_over_https(setup: Setup) -> None:
    with setup.client() as client:
        with pytest.raises(SageNotFoundError, match="9999999"):
            client.purchase_order("9999999")
        with pytest.raises(SageValidationError, match="purchase_order_no"):
            client.purchase_order("12345678")  # longer than Sage's 7 characters: refused by the agent's model
        assert client.gl_accounts()


def test_an_embedded_hub_serves_in_process_and_an_offline_tenant_is_unavailable_at_once(setup: Setup) -> None:
    transport = HubTransport(setup.hub.hub, setup.hub.loop)
    with AgentClient("http://hub/relay/abc", KEY, "", USER, PASSWORD, COMPANY, transport=transport) as client:
        assert client.purchase_order("0000003").purchase_order_no == "0000003"
    with (
        AgentClient(
            "http://hub/relay/nobody", KEY, "", USER, PASSWORD, COMPANY, transport=transport, attempts=1
        ) as client,
        pytest.raises(AgentUnavailableError, match="No agent is connected"),
    ):
        client.purchase_order("0000003")


def test_a_newer_connection_replaces_the_older_and_calls_go_on(setup: Setup) -> None:
    first = setup.tunnel.sessions
    old = setup.hub.hub.tunnels["abc"]
    asyncio.run_coroutine_threadsafe(old.ws.close(), setup.hub.loop).result(5)
    setup.hub.wait_for("abc")
    with setup.client() as client:
        assert client.purchase_order("0000001").lines
    assert setup.tunnel.sessions > first


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ({"type": "request", "id": "AB", "method": "POST", "path": "/v1/purchase_order"}, "id"),
        ({"type": "request", "id": "ab", "method": "DELETE", "path": "/v1/purchase_order"}, "method"),
        ({"type": "request", "id": "ab", "method": "POST", "path": "/v1/../admin"}, "path"),
        ({"type": "request", "id": "ab", "method": "GET", "path": "/v1/health", "headers": {"cookie": "x"}}, "headers"),
        ({"type": "request", "id": "ab", "method": "GET", "path": "/v1/health", "body": "%%%"}, "body"),
        ({"type": "request", "id": "ab", "method": "GET", "path": "/v1/health", "extra": 1}, "extra"),
        ({"type": "request", "id": "ab", "method": "POST", "path": "/v1/health"}, "method"),
        ({"type": "response", "id": "ab", "status": 999}, "status"),
        ({"type": "response", "id": "ab", "status": "200"}, "status"),
        ({"type": "hello", "tenant": "../etc", "nonce": "0" * 64, "proof": "0" * 64}, "tenant"),
        ({"type": "hello", "tenant": "abc", "nonce": "0" * 63, "proof": "0" * 64}, "nonce"),
    ],
)
def test_every_frame_field_is_validated(frame: dict[str, object], problem: str) -> None:
    kind = {"request": frames.Request, "response": frames.Response, "hello": frames.Hello}[str(frame["type"])]
    with pytest.raises(frames.FrameError, match=problem):
        frames.decode(json.dumps(frame), kind)


def test_frames_that_are_not_ours_are_refused() -> None:
    for raw in (b"binary", "not json", "[]", json.dumps({"type": "welcome", "proof": "0" * 64})):
        with pytest.raises(frames.FrameError):
            frames.decode(raw, frames.Request)
    big = base64.b64encode(b"x" * (5 * 1024 * 1024 + 10)).decode()
    with pytest.raises(frames.FrameError, match="body"):
        frames.decode(json.dumps({"type": "response", "id": "a", "status": 200, "body": big}), frames.Response)


def test_proofs_bind_the_tenant_both_nonces_and_the_role() -> None:
    hub_nonce, agent_nonce = frames.new_nonce(), frames.new_nonce()
    agent = frames.proof(KEY, "agent", "abc", hub_nonce, agent_nonce)
    assert agent != frames.proof(KEY, "agent", "abd", hub_nonce, agent_nonce)
    assert agent != frames.proof(KEY, "hub", "abc", hub_nonce, agent_nonce)
    assert agent != frames.proof(KEY, "agent", "abc", frames.new_nonce(), agent_nonce)
    assert agent != frames.proof(b"y" * 32, "agent", "abc", hub_nonce, agent_nonce)


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    delays = backoff_delays(0.5, 30.0)
    waits = [next(delays) for _ in range(12)]
    assert all(0.25 <= w <= 30.0 for w in waits)
    assert max(waits[8:]) > 4 and len(set(waits)) == len(waits)


def test_hub_trust_needs_exactly_one_way_and_a_whole_fingerprint(tmp_path: Path) -> None:
    for bad in ({}, {"fingerprint": "ab" * 32, "ca_file": tmp_path}, {"fingerprint": "abcd"}):
        with pytest.raises(ValueError):
            HubTrust(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="wss://"):
        AgentTunnel(create_app(SimBackend(tmp_path / "s"), KEY), "ws://hub/agents", "abc", KEY, HubTrust("ab" * 32))


def test_a_missing_hub_ca_file_is_an_error_at_start_not_a_reason_to_redial(tmp_path: Path) -> None:
    app = create_app(SimBackend(tmp_path / "s"), KEY)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        AgentTunnel(app, "wss://hub:8713/agents", "abc", KEY, HubTrust(ca_file=tmp_path / "missing.pem"))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--hub", "ws://hub:8713/agents", "--hub-fingerprint", "ab" * 32], "wss://"),
        (["--hub", "wss://hub:8713/agents"], "exactly one of --hub-fingerprint or --hub-ca"),
        (["--hub", "wss://hub:8713/agents", "--hub-fingerprint", "ab" * 32, "--tenant", "../x"], "not a tenant name"),
    ],
)
def test_agent_connect_refuses_bad_options_in_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    init_agent(tmp_path / "agent")
    SimBackend(tmp_path / "sage").init_company(purchase_orders=0)
    argv = [*CLI, "agent", "connect", "--dir", str(tmp_path / "agent"), "--data", str(tmp_path / "sage"), *args]
    if "--tenant" not in args:
        argv += ["--tenant", "abc"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and says in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_the_connector_reaches_the_hub_over_https_only() -> None:
    from pydantic import ValidationError

    from mlconnector.config import AgentSettings

    assert AgentSettings().hub_url is None  # direct HTTPS stays the default
    assert AgentSettings(hub_url="https://hub.internal:8714").hub_url == "https://hub.internal:8714"
    for bad in ("http://hub.internal:8714", "wss://hub:8713/agents", "hub:8714"):
        with pytest.raises(ValidationError, match="https://"):
            AgentSettings(hub_url=bad)
