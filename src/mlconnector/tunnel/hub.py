"""The hub: accepts agents over WSS, authenticates each for its tenant, and relays workers' signed requests to them.

One connection per tenant (a newer authenticated one replaces the older); requests are multiplexed on it by id, each
with its own deadline. No agent for the tenant → 503 `agent_offline` at once, which the client turns into
`AgentUnavailableError` (transient: the documents wait and are retried). The hub never sees the agent's HMAC key in
transit and never checks request signatures itself: the agent does, as over HTTPS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
import websockets
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

from mlconnector.tunnel import frames

log = structlog.get_logger("mlconnector.tunnel.hub")

KeyLookup = Callable[[str], bytes | None]
"""The agent HMAC key of a tenant, or None for a tenant the hub does not know (the vault or tenant registry)."""
AGENTS_PATH = "/agents"
AGENT_BUSY_LIMIT = 64
"""Requests in flight on one agent's connection at most; past it the hub answers 503 `agent_busy`."""


def keys_from_directory(directory: Path) -> KeyLookup:
    """`<directory>/<tenant>.key`: the hex text of that tenant's agent-hmac.key (read at each connect, so a key
    added or replaced needs no restart)."""

    def key_for(tenant: str) -> bytes | None:
        if not frames.valid_tenant(tenant):
            return None
        path = Path(directory) / f"{tenant}.key"
        try:
            return bytes.fromhex(path.read_text().strip())
        except (OSError, ValueError):
            return None

    return key_for


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def hub_error(status: int, code: str, message: str) -> Reply:
    """The hub's own answers, in the agent's error shape; `code` tells the client it is the hub speaking."""
    body = json.dumps({"error": code, "message": message, "field": None}).encode()
    return Reply(status, {"content-type": "application/json"}, body)


@dataclass(frozen=True)
class HubOptions:
    request_timeout: float = 120.0
    open_timeout: float = 10.0
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    max_agents: int = 10_000


@dataclass(eq=False)
class Tunnel:
    """One authenticated agent connection: pending requests by id, answered by its reader."""

    tenant: str
    ws: ServerConnection
    pending: dict[str, asyncio.Future[Reply]] = field(default_factory=dict)
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def request(self, request: frames.Request, timeout: float) -> Reply:
        if len(self.pending) >= AGENT_BUSY_LIMIT:
            return hub_error(503, "agent_busy", f"The agent of tenant {self.tenant} has too many requests in flight.")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.pending[request.id] = future
        try:
            async with self.sending:
                await self.ws.send(frames.encode(request))
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            message = f"The agent of tenant {self.tenant} did not answer in {timeout:g} s."
            return hub_error(504, "agent_timeout", message)
        except websockets.ConnectionClosed:
            return hub_error(503, "agent_lost", f"The agent of tenant {self.tenant} disconnected.")
        finally:
            self.pending.pop(request.id, None)

    async def read(self) -> None:
        """Answers until the connection ends; a malformed frame ends it (the agent reconnects)."""
        async for raw in self.ws:
            response = frames.decode(raw, frames.Response)
            future = self.pending.get(response.id)
            if future is not None and not future.done():
                future.set_result(Reply(response.status, dict(response.headers), response.content()))

    def fail_pending(self) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_result(hub_error(503, "agent_lost", f"The agent of tenant {self.tenant} disconnected."))


class Hub:
    """Agents by tenant, and `relay` for workers (over the HTTPS relay, or in-process when embedded)."""

    def __init__(self, key_for: KeyLookup, options: HubOptions | None = None) -> None:
        self.key_for, self.options = key_for, options or HubOptions()
        self.tunnels: dict[str, Tunnel] = {}
        self.refused = 0
        self.loop: asyncio.AbstractEventLoop | None = None

    def connected(self) -> list[str]:
        return sorted(self.tunnels)

    async def relay(
        self, tenant: str, method: str, path: str, headers: dict[str, str], body: bytes, timeout: float | None = None
    ) -> Reply:
        """Forward one signed request to the tenant's agent and wait for its answer (or a hub error)."""
        tunnel = self.tunnels.get(tenant)
        if tunnel is None:
            return hub_error(503, "agent_offline", f"No agent is connected to the hub for tenant {tenant}.")
        try:
            request = frames.Request(
                id=frames.new_id(),
                method=method,  # type: ignore[arg-type]  # validated by the model
                path=path,
                headers={k: v for k, v in headers.items() if k in frames.REQUEST_HEADERS},
                body=frames.body_text(body),
            )
        except ValueError as exc:
            return hub_error(400, "bad_request", f"The hub cannot relay this request: {exc}".splitlines()[0])
        return await tunnel.request(request, timeout or self.options.request_timeout)

    async def serve(self, host: str | None, port: int | None, tls: ssl.SSLContext, **kwargs: object) -> Server:
        """The agents' WSS listener (TLS only); returns the started websockets server."""
        self.loop = asyncio.get_running_loop()
        o = self.options
        return await serve(
            self.handler,
            host,
            port,
            ssl=tls,
            open_timeout=o.open_timeout,
            ping_interval=o.ping_interval,
            ping_timeout=o.ping_timeout,
            max_size=frames.MAX_FRAME,
            compression=None,
            server_header="ml-connector-hub",
            process_request=_only_agents_path,
            **kwargs,  # type: ignore[arg-type]
        )

    async def handler(self, ws: ServerConnection) -> None:
        """One agent connection: challenge, verify the proof against the tenant's key, then carry its requests."""
        peer = _peer(ws)
        if len(self.tunnels) >= self.options.max_agents:
            await ws.close(1013, "hub full")
            return
        hub_nonce = frames.new_nonce()
        try:
            await ws.send(frames.encode(frames.Challenge(nonce=hub_nonce)))
            hello = frames.decode(await asyncio.wait_for(ws.recv(), self.options.open_timeout), frames.Hello)
        except (TimeoutError, websockets.ConnectionClosed, frames.FrameError) as exc:
            log.warning("hub.agent_refused", peer=peer, reason=f"no valid hello: {type(exc).__name__} {exc}"[:200])
            await ws.close(frames.REFUSED, "no valid hello")
            return
        try:
            key = await asyncio.to_thread(self.key_for, hello.tenant)
        except Exception as exc:  # the registry is down: refuse now, the agent redials
            log.error("hub.key_lookup_failed", tenant=hello.tenant, reason=f"{type(exc).__name__}: {exc}"[:200])
            await ws.close(1011, "cannot check this agent's key right now")
            return
        expected = frames.proof(key, "agent", hello.tenant, hub_nonce, hello.nonce) if key else ""
        if not key or not frames.proof_matches(expected, hello.proof):
            self.refused += 1
            why = "unknown tenant" if key is None else "wrong key"
            log.warning("hub.agent_refused", tenant=hello.tenant, peer=peer, reason=why)
            await ws.close(frames.REFUSED, f"tenant {hello.tenant}: unknown tenant or wrong key")
            return
        welcome = frames.Welcome(proof=frames.proof(key, "hub", hello.tenant, hub_nonce, hello.nonce))
        await ws.send(frames.encode(welcome))
        tunnel = Tunnel(hello.tenant, ws)
        older = self.tunnels.get(hello.tenant)
        self.tunnels[hello.tenant] = tunnel
        if older is not None:
            log.info("hub.agent_replaced", tenant=hello.tenant)
            older.fail_pending()
            await older.ws.close(frames.REPLACED, "replaced by a newer connection of this tenant's agent")
        log.info("hub.agent_connected", tenant=hello.tenant, peer=peer)
        try:
            await tunnel.read()
        except frames.FrameError as exc:
            log.warning("hub.bad_frame", tenant=hello.tenant, reason=str(exc))
            await ws.close(1008, "invalid frame")
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.tunnels.get(hello.tenant) is tunnel:
                del self.tunnels[hello.tenant]
            tunnel.fail_pending()
            log.info("hub.agent_disconnected", tenant=hello.tenant, peer=peer)


def _only_agents_path(ws: ServerConnection, request: WsRequest) -> WsResponse | None:
    return None if request.path == AGENTS_PATH else ws.respond(404, "Not found\n")


def _peer(ws: ServerConnection) -> str:
    with contextlib.suppress(Exception):
        host, port = ws.remote_address[:2]
        return f"{host}:{port}"
    return "?"
