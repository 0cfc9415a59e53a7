"""How the agent is served: TLS with a handshake deadline, deadlines for a request's headers and body, a keep-alive
limit, and a cap on open connections, so idle or slow clients cannot starve the connector's signed requests.

uvicorn alone bounds none of these: asyncio gives a TLS handshake 60 s, a connection that never sends a request is
kept for ever, a request that trickles in is read for as long as it trickles, and `limit_concurrency` answers 503 only
after a connection was accepted and its headers read. So uvicorn serves plain TCP here and `GuardedConnection` does
the rest, for every connection from accept to close: it counts it against `max_connections`, upgrades it to TLS
(`loop.start_tls`, with the handshake deadline), then hands it to uvicorn's HTTP/1.1 protocol with deadlines added.
At the cap, a new connection closes the oldest one that is not being answered (handshaking, idle, or still sending
its request), so held-open connections cannot lock the connector out; only if every connection is being answered is
the newcomer closed. Deadlines abort the connection (no TLS goodbye an idle client could stall).

The cap is enforced where descriptors are spent, in `accept()` itself (`GatedListener`): asyncio accepts up to a
whole listen backlog in one go and closes an evicted connection only a loop iteration later, so a cap checked when a
connection is set up can be overrun by several bursts at once ("Too many open files"). At the cap the listener
evicts first and accepts once the evicted descriptor is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from mlconnector.ports import AGENT_PORT
from mlconnector.sage.agent.tls import AgentFiles

log = logging.getLogger("mlconnector.agent.serving")
FD_RESERVE = 64
"""File descriptors kept for the agent itself (SQLite, logs, Sage) when the cap is fitted to the process limit."""
EVICTION_GRACE = 5.0
"""Seconds after which an evicted connection not reported closed is counted as closed."""
BACKLOG = 128
"""Listen queue: connections the kernel holds, without a descriptor of ours, until the agent accepts them."""


@dataclass(frozen=True)
class ServerLimits:
    """The agent's connection limits (seconds); the defaults leave a LAN or tunnel client ample time."""

    max_connections: int = 1000
    handshake_timeout: float = 10.0
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0


def raise_open_file_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (POSIX); the soft limit in force afterwards."""
    try:
        import resource
    except ImportError:  # Windows: no per-process descriptor limit to raise
        return sys.maxsize
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return sys.maxsize if soft == resource.RLIM_INFINITY else soft


def fitted_cap(limits: ServerLimits, open_files: int) -> int:
    """`max_connections`, lowered if the process may not open that many descriptors, so the agent never meets
    "Too many open files"."""
    return max(1, min(limits.max_connections, open_files - FD_RESERVE))


class Connections:
    """Every connection from accept to close, in arrival order, and the cap with its eviction rule.

    `accepted` counts descriptors handed out by `accept()` whose connection object asyncio has not created yet;
    `live` holds every connection whose descriptor may still be open; `open` the ones admitted (evictable unless
    being answered); `evicting` those aborted whose descriptor is not closed yet.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.accepted = 0
        self.live: set[GuardedConnection] = set()
        self.open: dict[GuardedConnection, None] = {}
        self.evicting: dict[GuardedConnection, float] = {}
        self.evicted = 0
        self.refused = 0

    @property
    def descriptors(self) -> int:
        """Connections holding a descriptor now (accepted, set up or closing)."""
        return self.accepted + len(self.live)

    def arrived(self, conn: GuardedConnection) -> None:
        self.accepted = max(0, self.accepted - 1)
        self.live.add(conn)

    def make_room(self) -> bool:
        """Before one more accept at the cap: evict the oldest connection not being answered, unless enough are
        already on their way out. False when every connection is being answered (the newcomer must be refused)."""
        self._forget_stale_evictions()
        if len(self.evicting) > self.descriptors - self.cap:
            return True
        victim = self._oldest_idle()
        if victim is None:
            return False
        self.evict(victim)
        return True

    def _oldest_idle(self) -> GuardedConnection | None:
        """The oldest admitted connection not being answered (an evicted one has already left `open`)."""
        return next((c for c in self.open if not c.answering), None)

    def evict(self, victim: GuardedConnection) -> None:
        self.evicted += 1
        self.open.pop(victim, None)
        self.evicting[victim] = time.monotonic()
        victim.abort()

    def admit(self, conn: GuardedConnection) -> bool:
        if len(self.open) >= self.cap:
            victim = self._oldest_idle()
            if victim is None:
                self.refused += 1
                return False
            self.evict(victim)
        self.open[conn] = None
        return True

    def release(self, conn: GuardedConnection) -> None:
        self.open.pop(conn, None)
        self.live.discard(conn)
        self.evicting.pop(conn, None)

    def _forget_stale_evictions(self) -> None:
        """An aborted connection's descriptor is closed within a loop iteration; one not reported closed after
        `EVICTION_GRACE` seconds is taken as closed, so a lost close report can never keep the listener waiting."""
        stale = time.monotonic() - EVICTION_GRACE
        for conn in [c for c, at in self.evicting.items() if at < stale]:
            self.release(conn)


class GatedListener(socket.socket):
    """The agent's listening socket: `accept()` spends a descriptor only below the cap (see the module docstring).

    asyncio calls `accept()` in a loop until it raises; BlockingIOError and ConnectionAbortedError end that burst
    quietly, and the loop calls again while a client waits, by which time an evicted descriptor is closed.
    """

    connections: Connections

    def accept(self) -> tuple[socket.socket, Any]:
        gate = self.connections
        if gate.descriptors >= gate.cap:
            if gate.make_room():
                raise BlockingIOError("at the connection cap: waiting for an evicted connection to close")
            conn, _ = super().accept()  # every connection is being answered: the newcomer is refused
            conn.close()
            gate.refused += 1
            raise ConnectionAbortedError("at the connection cap, every connection being answered")
        conn, address = super().accept()
        gate.accepted += 1
        return conn, address


def listener(host: str, port: int, connections: Connections) -> GatedListener:
    """A bound (not yet listening) `GatedListener` for host:port; uvicorn/asyncio call `listen(BACKLOG)`."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    sock = GatedListener(family, kind, proto)
    sock.connections = connections
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class _Http(H11Protocol):
    """uvicorn's HTTP/1.1 protocol plus deadlines: headers within `header_timeout` of the handshake or of the
    request's first byte, the body within `body_timeout` of the headers; idle keep-alive ends in an abort."""

    def __init__(self, guard: GuardedConnection, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = guard
        self.lost = False
        self._early: list[bytes] = []
        self._phase: str | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._track()
        early, self._early = b"".join(self._early), []
        if early:
            self.data_received(early)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._set_phase(None)
        self.guard.closed()
        if self.transport is not None:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport is None:  # TLS delivers the first bytes before `start_tls` hands us its transport
            self._early.append(data)
            return
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:
            self._set_phase(None)  # idle between requests: the keep-alive timer governs
        else:
            self._track()  # a pipelined request is already under way

    def timeout_keep_alive_handler(self) -> None:
        self.transport.abort()

    @property
    def answering(self) -> bool:
        """The whole request is in and its answer is not finished: the one state never evicted."""
        return self.conn.their_state in (h11.DONE, h11.MUST_CLOSE) and self.conn.our_state in (
            h11.SEND_RESPONSE,
            h11.SEND_BODY,
        )

    def _track(self) -> None:
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._phase != "headers":
                self._set_phase("headers")
        elif state is h11.SEND_BODY:
            if self._phase != "body":
                self._set_phase("body")
        else:
            self._set_phase(None)

    def _set_phase(self, phase: str | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = phase
        if phase is not None:
            limits = self.guard.limits
            seconds = limits.header_timeout if phase == "headers" else limits.body_timeout
            self._deadline = self.loop.call_later(seconds, self._expired)

    def _expired(self) -> None:
        log.debug("agent connection closed: its request %s took too long", self._phase)
        self._deadline = None
        self.transport.abort()


class GuardedConnection(asyncio.Protocol):
    """One accepted TCP connection: counted, upgraded to TLS within the handshake deadline, then served by `_Http`.

    uvicorn creates one per connection (`Config(http=...)`); `guarded(limits, tls, connections)` binds the
    server's settings in a subclass.
    """

    limits: ClassVar[ServerLimits]
    tls: ClassVar[ssl.SSLContext]
    connections: ClassVar[Connections]

    def __init__(self, config: uvicorn.Config, server_state: Any, app_state: dict[str, Any], _loop: Any = None) -> None:
        self.loop = _loop or asyncio.get_event_loop()
        self.http = _Http(self, config, server_state, app_state, _loop)
        self.transport: asyncio.BaseTransport | None = None
        self._upgrade: asyncio.Task[None] | None = None
        self.connections.arrived(self)

    @property
    def answering(self) -> bool:
        return self.http.transport is not None and self.http.answering

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if not self.connections.admit(self):
            log.warning("agent connection refused: all %d connections are being answered", len(self.connections.open))
            transport.abort()
            return
        transport.pause_reading()  # type: ignore[attr-defined]  # nothing may reach us before TLS takes over
        self._upgrade = self.loop.create_task(self._start_tls(transport))

    async def _start_tls(self, tcp: asyncio.BaseTransport) -> None:
        try:
            tls = await self.loop.start_tls(
                tcp,  # type: ignore[arg-type]
                self.http,
                self.tls,
                server_side=True,
                ssl_handshake_timeout=self.limits.handshake_timeout,
                ssl_shutdown_timeout=self.limits.handshake_timeout,
            )
        except Exception as exc:  # handshake timed out, failed, or the client left: nothing to serve
            log.debug("agent TLS handshake failed: %s", type(exc).__name__)
            tcp.abort()  # type: ignore[attr-defined]
            self.closed()
            return
        if tls is None or self.http.lost:
            self.closed()
            return
        self.transport = tls
        self.http.connection_made(tls)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed()  # only before the TLS upgrade takes the connection over

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()  # type: ignore[attr-defined]

    def closed(self) -> None:
        self.connections.release(self)


def guarded(limits: ServerLimits, tls: ssl.SSLContext, connections: Connections) -> type[GuardedConnection]:
    return type("AgentConnection", (GuardedConnection,), {"limits": limits, "tls": tls, "connections": connections})


def tls_context(files: AgentFiles) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(files.cert), str(files.key))
    return ctx


class AgentServer(uvicorn.Server):
    """uvicorn's server with the agent's connection guard; `connections` shows what is open right now."""

    def __init__(self, config: uvicorn.Config, connections: Connections, label: str = "Agent") -> None:
        super().__init__(config)
        self.connections, self.label = connections, label

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if sockets is None:
            sockets = [listener(self.config.host, self.config.port, self.connections)]
        await super().startup(sockets=sockets)

    def _log_started_message(self, listeners: Sequence[socket.SocketType]) -> None:
        host, port = listeners[0].getsockname()[:2]
        logging.getLogger("uvicorn.error").info("%s serving HTTPS on %s:%d", self.label, host, port)


def agent_server(
    app: Any,
    files: AgentFiles,
    *,
    host: str = "127.0.0.1",
    port: int = AGENT_PORT,
    limits: ServerLimits | None = None,
    log_level: str = "info",
    label: str = "Agent",
) -> AgentServer:
    """An HTTPS-only server for the agent app (plain HTTP is never served), guarded by `limits`."""
    limits = limits or ServerLimits()
    cap = fitted_cap(limits, raise_open_file_limit())
    if cap < limits.max_connections:
        log.warning("agent connection cap lowered to %d (open-file limit); %d asked", cap, limits.max_connections)
    connections = Connections(cap)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded(limits, tls_context(files), connections),
        loop="asyncio",
        backlog=BACKLOG,
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]
        access_log=False,
        log_level=log_level,
        lifespan="on",
    )
    return AgentServer(config, connections, label)
