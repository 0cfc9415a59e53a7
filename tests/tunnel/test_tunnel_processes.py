"""Connector → hub → agent over real processes and real TLS: the agent listens on nothing and still serves."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from mlconnector.sage.agent.client import AgentAuthError, AgentUnavailableError
from mlconnector.sage.agent.tls import cert_fingerprint
from mlconnector.sage.models import ReceiptLine
from mlconnector.tls import self_signed_certificate

from .conftest import CLI, Proc, connected, make_site, start_agent, start_hub


def _sockets(pid: int) -> list[psutil._common.pconn]:
    return psutil.Process(pid).net_connections(kind="inet")


def test_agent_listens_on_nothing_and_serves_a_po_a_receipt_and_posting(tmp_path: Path, stopping: list[Proc]) -> None:
    site = make_site(tmp_path, "abc")
    hub, agent = connected(site, tmp_path, stopping)

    sockets = _sockets(agent.pid)
    assert [s for s in sockets if s.status == psutil.CONN_LISTEN] == []
    assert [s.raddr.port for s in sockets if s.status == psutil.CONN_ESTABLISHED] == [hub.agents_port]

    with hub.client(site) as client:
        po = client.purchase_order("0000001")
        assert po.purchase_order_no == "0000001" and po.lines
        line = ReceiptLine(line_key=po.lines[0].line_key, quantity=1)
        doc = client.receive_goods("0000001", [line], key="asn-1:1")
        assert doc.created and client.receive_goods("0000001", [line], key="asn-1:1").created is False
        assert client.post_receipts().posted == [f"G-{doc.receipt_no}"]
        assert client.find_by_source_key("asn-1:1") is not None
    assert [s for s in _sockets(agent.pid) if s.status == psutil.CONN_LISTEN] == []
    assert agent.stop() == 0  # SIGTERM: a clean exit
    hub.proc.wait_for(r"hub.agent_disconnected.*tenant=abc")


def test_concurrent_requests_share_one_connection_and_run_at_once(tmp_path: Path, stopping: list[Proc]) -> None:
    """Two Sage users' reads overlap on the one tunnel (BOI latency 300 ms a call); 24 mixed calls all get their
    own answer back (request ids)."""
    site = make_site(tmp_path, "abc", purchase_orders=6)
    subprocess.run([*CLI, "sage-sim", "knobs", "--data", str(site.data), "--latency-ms", "300"], check=True)
    hub, agent = connected(site, tmp_path, stopping)
    ml, viewer = hub.client(site), hub.client(site, user="viewer", password="viewer-demo")
    with ThreadPoolExecutor(2) as pool:  # open both sessions (8 BOI calls each) at once
        list(pool.map(lambda c: c.purchase_order("0000001"), (ml, viewer)))

    started = time.monotonic()
    ml.purchase_order("0000002")
    alone = time.monotonic() - started
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        assert [p.purchase_order_no for p in pool.map(lambda c: c.purchase_order("0000002"), (ml, viewer))] == [
            "0000002",
            "0000002",
        ]
    together = time.monotonic() - started
    assert together < 1.7 * alone, (alone, together)  # serialised they would take 2×

    numbers = [f"{n:07d}" for n in range(1, 7)] * 4
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda no: (viewer if int(no) % 2 else ml).purchase_order(no).purchase_order_no, numbers))
    assert got == numbers
    assert len([s for s in _sockets(agent.pid) if s.status == psutil.CONN_ESTABLISHED]) == 1
    ml.close()
    viewer.close()


def test_agent_killed_calls_fail_as_unavailable_then_its_restart_serves_again(
    tmp_path: Path, stopping: list[Proc]
) -> None:
    site = make_site(tmp_path, "abc")
    hub, agent = connected(site, tmp_path, stopping, trust=lambda hub: ["--hub-ca", str(hub.files.cert)])  # by CA file
    trust = ["--hub-ca", str(hub.files.cert)]
    with hub.client(site, attempts=2) as client:
        assert client.purchase_order("0000001").lines
        agent.kill()
        hub.proc.wait_for(r"hub.agent_disconnected.*tenant=abc")
        started = time.monotonic()
        with pytest.raises(AgentUnavailableError, match="No agent is connected to the hub for tenant abc"):
            client.purchase_order("0000001")
        assert time.monotonic() - started < 3  # at once: no waiting on a dead agent
        again = start_agent(site, hub, tmp_path / "agent2.log", trust=trust)
        stopping.append(again)
        hub.proc.wait_for(r"hub.agent_connected.*tenant=abc", count=2)
        assert client.purchase_order("0000001").lines


def test_hub_restarted_the_agent_redials_with_backoff(tmp_path: Path, stopping: list[Proc]) -> None:
    site = make_site(tmp_path, "abc")
    hub, agent = connected(site, tmp_path, stopping)
    hub.proc.kill()
    agent.wait_for(r"tunnel.lost")
    agent.wait_for(r"tunnel.redial", count=3)  # the hub is away: the agent keeps trying, further apart
    back = start_hub(tmp_path, hub.agents_port, hub.relay_port, log="hub2.log")
    stopping.append(back.proc)
    back.proc.wait_for(r"hub.agent_connected.*tenant=abc", timeout=30)
    with back.client(site) as client:
        assert client.purchase_order("0000003").purchase_order_no == "0000003"


def test_a_wrong_key_is_refused_at_connect_and_logged_on_both_sides(tmp_path: Path, stopping: list[Proc]) -> None:
    site, impostor = make_site(tmp_path, "abc"), make_site(tmp_path, "other")
    hub = start_hub(tmp_path)
    stopping.append(hub.proc)
    hub.register(site)
    agent = start_agent(impostor, hub, tmp_path / "agent.log", tenant="abc")
    stopping.append(agent)
    hub.proc.wait_for(r"hub.agent_refused.*reason=wrong key.*tenant=abc|hub.agent_refused.*tenant=abc")
    agent.wait_for(r"tunnel.refused.*unknown tenant or wrong key")
    assert "wrong key" in hub.proc.output()
    with hub.client(site, attempts=1) as client, pytest.raises(AgentUnavailableError):
        client.purchase_order("0000001")
    assert "Traceback" not in agent.output() + hub.proc.output()


def test_an_agent_holding_a_key_cannot_serve_another_tenant(tmp_path: Path, stopping: list[Proc]) -> None:
    a, b = make_site(tmp_path, "aaa"), make_site(tmp_path, "bbb")
    hub = start_hub(tmp_path)
    stopping.append(hub.proc)
    hub.register(a)
    hub.register(b)
    agent_a = start_agent(a, hub, tmp_path / "a.log")
    stopping.append(agent_a)
    hub.proc.wait_for(r"hub.agent_connected.*tenant=aaa")
    as_b = start_agent(a, hub, tmp_path / "a-as-b.log", tenant="bbb")  # A's identity claiming B
    stopping.append(as_b)
    hub.proc.wait_for(r"hub.agent_refused.*tenant=bbb")
    as_b.wait_for(r"tunnel.refused")
    with hub.client(b, attempts=1) as client, pytest.raises(AgentUnavailableError, match="tenant bbb"):
        client.purchase_order("0000001")
    with hub.client(a) as client:
        assert client.purchase_order("0000001").lines  # A still served, by its own agent
    with hub.client(a, tenant="bbb", attempts=1) as client, pytest.raises(AgentUnavailableError):
        client.purchase_order("0000001")  # B's relay never reaches A's agent


def test_a_hub_certificate_not_matching_the_pin_is_refused_before_anything_is_sent(
    tmp_path: Path, stopping: list[Proc]
) -> None:
    site = make_site(tmp_path, "abc")
    hub = start_hub(tmp_path)
    stopping.append(hub.proc)
    hub.register(site)
    other_pin = cert_fingerprint(self_signed_certificate("elsewhere")[0])
    agent = start_agent(site, hub, tmp_path / "agent.log", trust=["--hub-fingerprint", other_pin])
    stopping.append(agent)
    agent.wait_for(r"tunnel.refused.*does not match --hub-fingerprint")
    time.sleep(0.5)
    assert "agent_connected" not in hub.proc.output()
    assert "tenant=abc" not in hub.proc.output()  # the hub never learnt who was dialling
    with hub.client(site, attempts=1) as client, pytest.raises(AgentUnavailableError):
        client.purchase_order("0000001")


def test_a_worker_without_the_relay_token_is_refused(tmp_path: Path, stopping: list[Proc]) -> None:
    site = make_site(tmp_path, "abc")
    hub, _ = connected(site, tmp_path, stopping)
    client = hub.client(site, attempts=1)
    client._http.headers["authorization"] = "Bearer " + "0" * 64
    with client, pytest.raises(AgentAuthError, match="relay token"):
        client.purchase_order("0000001")
