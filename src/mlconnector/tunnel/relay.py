"""How workers reach the hub: `GET|POST /relay/<tenant>/v1/<operation>` over HTTPS with a worker token, or an
httpx transport calling the hub in-process when the hub is embedded.

The request is forwarded as the client signed it (path `/v1/<operation>`, its signature headers, its body), so the
agent checks the very signature the worker made; the relay only checks the worker's token.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from typing import Any

import httpx

from mlconnector.sage.agent.operations import MAX_BODY, PATHS
from mlconnector.tunnel import frames
from mlconnector.tunnel.hub import Hub, Reply, hub_error

RELAY_PATH = re.compile(r"^/relay/([^/]{1,64})(/v1/[a-z_]{1,40})$")
TOKEN_HEADER = "authorization"


def route(method: str, path: str) -> tuple[str, str] | Reply:
    """(tenant, agent path) of a relay URL path, or the hub's 404 for anything else."""
    match = RELAY_PATH.match(path)
    if not match or not frames.valid_tenant(match[1]) or PATHS.get(match[2]) != method:
        return hub_error(404, "http_error", "Not an operation the hub relays.")
    return match[1], match[2]


class RelayApp:
    """Pure ASGI: token check, bounded body, then `hub.relay`. Served by the agent's guarded HTTPS server."""

    def __init__(self, hub: Hub, token: str) -> None:
        self.hub, self._token = hub, f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                await send({"type": f"{kind}.complete"})
                if kind == "lifespan.shutdown":
                    return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reply = await self._answer(scope, receive, headers)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.encode(), v.encode()) for k, v in reply.headers.items()]
                + [(b"content-length", str(len(reply.body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    async def _answer(self, scope: dict[str, Any], receive: Any, headers: dict[str, str]) -> Reply:
        if not hmac.compare_digest(headers.get(TOKEN_HEADER, "").encode(), self._token):
            return hub_error(401, "hub_unauthorized", "The hub refused this worker's relay token.")
        routed = route(scope["method"], scope["path"])
        if isinstance(routed, Reply):
            return routed
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return hub_error(400, "bad_request", "The worker left before sending its request.")
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                return hub_error(413, "too_large", "Request body is larger than 5 MB.")
        return await self.hub.relay(routed[0], scope["method"], routed[1], headers, body)


class HubTransport(httpx.BaseTransport):
    """An AgentClient transport for a hub embedded in this process (its loop runs in another thread)."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.hub, self.loop = hub, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        loop = self.loop or self.hub.loop
        if loop is None:
            raise httpx.ConnectError("The embedded hub is not running.", request=request)
        routed = route(request.method, request.url.path)
        if isinstance(routed, Reply):
            reply = routed
        else:
            headers = {k.lower(): v for k, v in request.headers.items()}
            call = self.hub.relay(routed[0], request.method, routed[1], headers, request.read())
            reply = asyncio.run_coroutine_threadsafe(call, loop).result()
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body, request=request)
