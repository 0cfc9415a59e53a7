"""`agent connect`: the agent dials out to the hub over WSS and serves the requests it relays; no listening socket.

Each request frame goes to the agent's own ASGI app in this process (signature, replay log and strict request
models checked exactly as over HTTPS); BOI's blocking calls run in the app's thread pool, at most `max_concurrent`
at once. The hub's certificate is pinned (SHA-256) or verified against a CA file, and checked before anything
about the agent is sent. Lost connections are redialled with jittered exponential backoff (capped at 30 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
import websockets
from websockets.asyncio.client import ClientConnection, connect

from mlconnector.tls import trust_context
from mlconnector.tunnel import frames

log = structlog.get_logger("mlconnector.tunnel.agent")
Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class HubRefusedError(Exception):
    """The hub would not take this agent (unknown tenant or wrong key), or the hub is not who it should be."""


@dataclass(frozen=True)
class TunnelOptions:
    """Timings and bounds of the agent's side; the defaults suit a WAN link."""

    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    open_timeout: float = 10.0
    request_timeout: float = 300.0
    max_concurrent: int = 8
    max_queued: int = 256
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass(frozen=True)
class HubTrust:
    """How the agent knows the hub: its certificate's SHA-256 fingerprint, or a CA file; never neither."""

    fingerprint: str | None = None
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        if bool(self.fingerprint) == bool(self.ca_file):
            raise ValueError("Give the hub's certificate as exactly one of --hub-fingerprint or --hub-ca.")
        if self.fingerprint and len(self.pin) != 64:
            raise ValueError("--hub-fingerprint must be the SHA-256 of the hub certificate (64 hex digits).")

    @property
    def pin(self) -> str:
        return (self.fingerprint or "").lower().replace(":", "")

    def context(self) -> ssl.SSLContext:
        if self.ca_file:
            return trust_context(self.ca_file)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # trust comes from the pin, checked right after the handshake
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def check(self, ws: ClientConnection) -> None:
        """After the TLS handshake and before the agent says who it is: the certificate must be the pinned one."""
        if not self.fingerprint:
            return  # the CA context verified chain and host name during the handshake
        ssl_object = ws.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der or hashlib.sha256(der).hexdigest() != self.pin:
            raise HubRefusedError("the hub's TLS certificate does not match --hub-fingerprint; not connecting")


def backoff_delays(initial: float, cap: float) -> Any:
    """Full-jitter exponential backoff: a random wait up to initial·2ⁿ, the ceiling capped at `cap`."""
    attempt = 0
    while True:
        yield random.uniform(initial / 2, min(cap, initial * 2**attempt))
        attempt += 1


async def asgi_call(app: Asgi, request: frames.Request) -> frames.Response:
    """Run one relayed request through the agent's ASGI app in this process and capture its answer."""
    body = request.content()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "https",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()],
        "client": ("tunnel", 0),
        "server": ("agent", 0),
    }
    answered = asyncio.Event()
    sent = False
    status, headers, chunks = 500, {}, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for k, v in message.get("headers", []):
                name = k.decode("latin-1").lower()
                if name in frames.RESPONSE_HEADERS:
                    headers[name] = v.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    await app(scope, receive, send)
    answered.set()
    return frames.Response(id=request.id, status=status, headers=headers, body=frames.body_text(b"".join(chunks)))


class AgentTunnel:
    """One agent's connection to the hub for one tenant, redialled for as long as `run` runs."""

    def __init__(
        self,
        app: Asgi,
        hub_url: str,
        tenant: str,
        agent_key: bytes,
        trust: HubTrust,
        options: TunnelOptions | None = None,
    ) -> None:
        if urlsplit(hub_url).scheme != "wss":
            raise ValueError(f"--hub must be a wss:// address (TLS), not {hub_url!r}.")
        if not frames.valid_tenant(tenant):
            raise ValueError(f"Tenant {tenant!r} is not a tenant name (letters, digits, - and _, 64 at most).")
        self.app, self.hub_url, self.tenant, self.key, self.trust = app, hub_url, tenant, agent_key, trust
        self.tls = trust.context()  # a missing or unreadable CA file is an error now, not a reason to redial
        self.options = options or TunnelOptions()
        self.connected = asyncio.Event()
        self.sessions = 0
        """Connections the hub accepted so far (a test sees a reconnect by this going up)."""

    async def run(self) -> None:
        """Connect, serve, and on any loss wait (jittered, growing, capped) and connect again; until cancelled."""
        delays = backoff_delays(self.options.backoff_initial, self.options.backoff_max)
        while True:
            try:
                await self.session()
                delays = backoff_delays(self.options.backoff_initial, self.options.backoff_max)
            except HubRefusedError as exc:
                log.error("tunnel.refused", hub=self.hub_url, tenant=self.tenant, reason=str(exc))
            except (OSError, TimeoutError, websockets.WebSocketException, frames.FrameError) as exc:
                log.warning("tunnel.lost", hub=self.hub_url, reason=_words(exc))
            self.connected.clear()
            delay = next(delays)
            log.info("tunnel.redial", seconds=round(delay, 1))
            await asyncio.sleep(delay)

    async def session(self) -> None:
        """One connection: TLS (pin checked), challenge–response, then requests until the connection ends."""
        o = self.options
        async with connect(
            self.hub_url,
            ssl=self.tls,
            open_timeout=o.open_timeout,
            ping_interval=o.ping_interval,
            ping_timeout=o.ping_timeout,
            max_size=frames.MAX_FRAME,
            compression=None,  # secrets travel in bodies: no compression side channel
            user_agent_header="ml-connector-agent",
        ) as ws:
            self.trust.check(ws)  # only the WebSocket upgrade (no name, no key, no proof) went out before this
            await self._authenticate(ws)
            self.sessions += 1
            self.connected.set()
            log.info("tunnel.connected", hub=self.hub_url, tenant=self.tenant)
            await self._serve(ws)

    async def _authenticate(self, ws: ClientConnection) -> None:
        try:
            challenge = frames.decode(await asyncio.wait_for(ws.recv(), self.options.open_timeout), frames.Challenge)
            mine = frames.new_nonce()
            proof = frames.proof(self.key, "agent", self.tenant, challenge.nonce, mine)
            await ws.send(frames.encode(frames.Hello(tenant=self.tenant, nonce=mine, proof=proof)))
            welcome = frames.decode(await asyncio.wait_for(ws.recv(), self.options.open_timeout), frames.Welcome)
        except websockets.ConnectionClosed as exc:
            if exc.rcvd and exc.rcvd.code == frames.REFUSED:
                raise HubRefusedError(f"the hub refused this agent: {exc.rcvd.reason}") from None
            raise
        expected = frames.proof(self.key, "hub", self.tenant, challenge.nonce, mine)
        if not frames.proof_matches(expected, welcome.proof):
            raise HubRefusedError("the hub does not hold this agent's key (its proof does not match); not serving it")

    async def _serve(self, ws: ClientConnection) -> None:
        slots = asyncio.Semaphore(self.options.max_concurrent)
        sending = asyncio.Lock()
        tasks: set[asyncio.Task[None]] = set()

        async def answer(request: frames.Request) -> None:
            try:
                async with slots:
                    response = await asyncio.wait_for(asgi_call(self.app, request), self.options.request_timeout)
            except TimeoutError:
                response = _error(request.id, 504, "agent_timeout", "The agent took too long to answer.")
            async with sending:
                with contextlib.suppress(websockets.ConnectionClosed):
                    await ws.send(frames.encode(response))

        try:
            async for raw in ws:
                request = frames.decode(raw, frames.Request)  # a bad frame ends the connection (FrameError)
                if len(tasks) >= self.options.max_queued:
                    response = _error(request.id, 503, "agent_busy", "The agent has too many requests waiting.")
                    async with sending:
                        await ws.send(frames.encode(response))
                    continue
                task = asyncio.create_task(answer(request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()


def _error(request_id: str, status: int, code: str, message: str) -> frames.Response:
    body = f'{{"error": "{code}", "message": "{message}", "field": null}}'.encode()
    return frames.Response(
        id=request_id, status=status, headers={"content-type": "application/json"}, body=frames.body_text(body)
    )


def _words(exc: BaseException) -> str:
    if isinstance(exc, websockets.ConnectionClosed):
        return f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
    return f"{type(exc).__name__}: {exc}"[:200]


class TunnelRunner:
    """The tunnel on a loop of its own, stoppable from another thread (the Windows service's SvcStop)."""

    def __init__(self, tunnel: AgentTunnel) -> None:
        self.tunnel = tunnel
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def run(self, signals: bool = False) -> None:
        """Serve until `stop()` (or SIGINT/SIGTERM when `signals`), then return."""

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            if signals:
                import signal

                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C still raises
                        self._loop.add_signal_handler(sig, self.stop)
            if self._stopped:
                return
            with contextlib.suppress(asyncio.CancelledError):
                await self.tunnel.run()

        asyncio.run(main())

    def stop(self) -> None:
        self._stopped = True
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop has just finished on its own
                loop.call_soon_threadsafe(task.cancel)


def connect_forever(
    app: Asgi, hub_url: str, tenant: str, agent_key: bytes, trust: HubTrust, options: TunnelOptions
) -> None:
    """`agent connect`: run the tunnel until SIGINT/SIGTERM (then finish cleanly, exit 0)."""
    TunnelRunner(AgentTunnel(app, hub_url, tenant, agent_key, trust, options)).run(signals=True)
