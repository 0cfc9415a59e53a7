"""Fault injection for the sandbox, per tenant: 429 bursts, 500s, slow answers, dropped connections, HTML pages and
malformed JSON. A pure ASGI middleware, because dropping a connection means leaving a response half-sent, which only
the raw ASGI `send` can do.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlconnector.cleo.sandbox.store import SandboxStore

FaultKind = Literal["429", "500", "slow", "drop", "html", "malformed-json"]


class FaultSpec(BaseModel):
    """One armed fault: it hits the next `count` matching API calls of the tenant (`method`/`path` narrow it).

    `when="after"` lets the request do its work first (a POST is stored) and then fails the answer, which is how
    a client learns whether its retries create duplicates.
    """

    kind: FaultKind
    count: int = Field(default=1, ge=1, le=10_000)
    when: Literal["before", "after"] = "before"
    method: str | None = None
    path: str | None = None
    retryAfter: float | None = Field(default=None, ge=0)
    delay: float = Field(default=1.0, ge=0, le=600)
    status: int = Field(default=502, ge=200, le=599)


HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>The upstream server is not responding.</p></body></html>"
)


async def _respond(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class SandboxMiddleware:
    """Before each API call: deliver due partner answers, count the call, and apply the tenant's next fault."""

    def __init__(self, app: ASGIApp, store: SandboxStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.store.run_due()
        path: str = scope["path"]
        token = _bearer(scope) if path.startswith("/api/") else None
        known = self.store.token_tenant(token) if token else None
        if known is None:
            await self.app(scope, receive, send)
            return
        tenant = known[0]
        self.store.bump(tenant, "requests")
        raw = self.store.take_fault(tenant, scope["method"], path)
        if raw is None:
            await self.app(scope, receive, send)
            return
        await self._apply(FaultSpec.model_validate(raw), scope, receive, send)

    async def _apply(self, fault: FaultSpec, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
            return
        if fault.when == "after":

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
        if fault.kind == "429":
            retry_after = [] if fault.retryAfter is None else [(b"retry-after", f"{fault.retryAfter:g}".encode())]
            await _respond(send, 429, _message("Too many requests (injected)"), "application/json", retry_after)
        elif fault.kind == "500":
            await _respond(send, 500, _message("Internal server error (injected)"), "application/json", [])
        elif fault.kind == "html":
            await _respond(send, fault.status, HTML_PAGE.encode(), "text/html; charset=utf-8", [])
        elif fault.kind == "malformed-json":
            await _respond(send, 200, b'{"totalResults": 3, "resources": [{"id": "m-', "application/json", [])
        elif fault.kind == "drop":
            # Promise a body, send part of it, and return: uvicorn closes the connection mid-response.
            start: dict[str, Any] = {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
            await send(start)
            await send({"type": "http.response.body", "body": b'{"id": "', "more_body": True})


def _message(text: str) -> bytes:
    return json.dumps({"message": text}).encode()
