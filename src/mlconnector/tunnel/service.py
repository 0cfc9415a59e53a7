"""Running the hub: its identity files, both listeners in one event loop, and an embedded hub in a thread.

The agents' listener (WSS) faces the customers' agents; the relay (HTTPS, the agent's guarded server: handshake,
header and body deadlines, a connection cap) faces the workers and should stay on a private address.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlconnector.sage.agent.serving import AgentServer, ServerLimits, agent_server, tls_context
from mlconnector.sage.agent.tls import AgentFiles, cert_fingerprint
from mlconnector.tls import ensure_self_signed, write_private
from mlconnector.tunnel.hub import Hub, HubOptions, KeyLookup
from mlconnector.tunnel.relay import RelayApp


@dataclass(frozen=True)
class HubFiles(AgentFiles):
    """The hub's certificate and key (what agents pin or trust) and the workers' relay token, all 0600."""

    @property
    def cert(self) -> Path:
        return self.directory / "hub-cert.pem"

    @property
    def key(self) -> Path:
        return self.directory / "hub-key.pem"

    @property
    def token_file(self) -> Path:
        return self.directory / "hub-relay.token"

    def ensure(self, hostnames: list[str] | None = None) -> HubFiles:
        ensure_self_signed(self.cert, self.key, "ml-connector hub", hostnames)
        if not self.token_file.exists():
            write_private(self.token_file, secrets.token_hex(32).encode() + b"\n")
        return self

    def token(self) -> str:
        return self.token_file.read_text().strip()

    def fingerprint(self) -> str:
        return cert_fingerprint(self.cert.read_bytes())


async def run_hub(
    hub: Hub,
    files: HubFiles,
    agents: socket.socket,
    relay: socket.socket,
    *,
    limits: ServerLimits | None = None,
    log_level: str = "info",
    started: threading.Event | None = None,
    servers: list[AgentServer] | None = None,
) -> None:
    """Serve agents on `agents` and workers on `relay` until the relay server is told to exit."""
    agents_server = await hub.serve(None, None, tls_context(files), sock=agents)
    server = agent_server(RelayApp(hub, files.token()), files, limits=limits, log_level=log_level, label="Hub relay")
    if servers is not None:
        servers.append(server)
    if started is not None:
        asyncio.get_running_loop().call_later(0, lambda: _when_started(server, started))
    try:
        await server.serve(sockets=[relay])
    finally:
        agents_server.close()
        await agents_server.wait_closed()


def _when_started(server: AgentServer, started: threading.Event) -> None:
    if server.started:
        started.set()
    else:
        asyncio.get_running_loop().call_later(0.01, lambda: _when_started(server, started))


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket; `IPPROTO_TCP` named so asyncio turns Nagle off on what it accepts (with proto 0 it
    does not, and every small answer waits ~40 ms for the peer's delayed ACK)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@dataclass
class RunningHub:
    hub: Hub
    files: HubFiles
    agents_url: str
    relay_url: str
    loop: asyncio.AbstractEventLoop

    @property
    def fingerprint(self) -> str:
        return self.files.fingerprint()

    @property
    def token(self) -> str:
        return self.files.token()

    def wait_for(self, tenant: str, timeout: float = 15.0) -> None:
        """Block until `tenant`'s agent is connected (tests)."""
        deadline = time.monotonic() + timeout
        while tenant not in self.hub.tunnels:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no agent connected for tenant {tenant}")
            time.sleep(0.02)


@contextmanager
def running_hub(
    key_for: KeyLookup, directory: Path, *, host: str = "127.0.0.1", options: HubOptions | None = None
) -> Iterator[RunningHub]:
    """An embedded hub on free ports in a background thread, until the block ends."""
    files = HubFiles(Path(directory)).ensure()
    hub = Hub(key_for, options)
    agents, relay = listen(host, 0), listen(host, 0)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[AgentServer] = []
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(
            run_hub(hub, files, agents, relay, log_level="warning", started=started, servers=servers)
        ),
        daemon=True,
        name="hub",
    )
    thread.start()
    if not started.wait(15):
        raise RuntimeError("The hub did not start.")
    try:
        yield RunningHub(
            hub,
            files,
            f"wss://{host}:{agents.getsockname()[1]}/agents",
            f"https://{host}:{relay.getsockname()[1]}",
            loop,
        )
    finally:
        servers[0].should_exit = True
        thread.join(15)
        loop.close()
        agents.close()
        relay.close()
