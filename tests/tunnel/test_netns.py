"""The agent in a network namespace of its own that takes no inbound connection: it still serves POs and receipts,
because it dials out to the hub. Needs root (or CAP_NET_ADMIN) to create the namespace; skipped, saying so, if not."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlconnector.sage.models import ReceiptLine

from .conftest import Proc, make_site, start_agent, start_hub


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@pytest.fixture
def namespace() -> Iterator[tuple[str, str, str]]:
    """(namespace, hub-side address, agent-side address): a veth pair, the agent's end in the namespace, and a
    firewall in the namespace dropping every new inbound connection where iptables or nft exists."""
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2) to create a network namespace")
    tag = os.getpid() % 200 + 20
    name, outside, inside = f"mlc-tnl-{os.getpid()}", f"mlcH{os.getpid()}"[:15], f"mlcA{os.getpid()}"[:15]
    made = _ip("netns", "add", name, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {made.stderr.strip() or 'ip netns add failed'}")
    hub_addr, agent_addr = f"10.231.{tag}.1", f"10.231.{tag}.2"
    try:
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", name)
        _ip("addr", "add", f"{hub_addr}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        for cmd in (["addr", "add", f"{agent_addr}/30", "dev", inside], ["link", "set", inside, "up"]):
            _ip("netns", "exec", name, "ip", *cmd)
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        if shutil.which("iptables"):
            _ip("netns", "exec", name, "iptables", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP")
        yield name, hub_addr, agent_addr
    finally:
        _ip("link", "del", outside, check=False)
        _ip("netns", "del", name, check=False)


def _refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
    except OSError:
        return True
    return False


def test_an_agent_that_accepts_no_inbound_connection_serves_pos_and_receipts(
    tmp_path: Path, stopping: list[Proc], namespace: tuple[str, str, str]
) -> None:
    name, hub_addr, agent_addr = namespace
    site = make_site(tmp_path, "abc")
    hub = start_hub(tmp_path)
    stopping.append(hub.proc)
    hub.register(site)
    agent = start_agent(
        site,
        hub,
        tmp_path / "agent.log",
        hub_url=f"wss://{hub_addr}:{hub.agents_port}/agents",
        prefix=["ip", "netns", "exec", name],
    )
    stopping.append(agent)
    hub.proc.wait_for(rf"hub.agent_connected\s+peer={re.escape(agent_addr)}:\d+ tenant=abc")

    sockets = subprocess.run(  # every TCP socket in the agent's namespace: state, local, peer
        ["ip", "netns", "exec", name, "ss", "-Htan"], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    rows = [line.split() for line in sockets if line.strip()]
    assert [r for r in rows if r[0] == "LISTEN"] == []  # nothing in the agent's namespace listens on TCP at all
    (tunnel,) = [r for r in rows if r[0] == "ESTAB"]
    assert tunnel[4] == f"{hub_addr}:{hub.agents_port}" and tunnel[3].startswith(f"{agent_addr}:")
    tunnel_port = int(tunnel[3].rsplit(":", 1)[1])
    assert _refused(agent_addr, 8711) and _refused(agent_addr, tunnel_port)  # no way in, not even the tunnel's

    with hub.client(site) as client:
        po = client.purchase_order("0000002")
        doc = client.receive_goods("0000002", [ReceiptLine(line_key=po.lines[0].line_key, quantity=1)], key="ns-1")
        assert doc.created and doc.purchase_order_no == "0000002"
        assert client.post_receipts().posted == [f"G-{doc.receipt_no}"]
