"""The agent's HTTPS API: every gateway operation as `POST /v1/<operation>` with signed JSON.

Every request, to any path, is checked by `SignatureMiddleware` before routing; unsigned, tampered, stale or
replayed requests get 401 and run nothing. Sage credentials travel in the signed body and never reach a log.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from mlconnector.sage.agent.operations import HEALTH_PATH, MAX_BODY, OPERATIONS, Call, Operation
from mlconnector.sage.agent.pool import SessionPool
from mlconnector.sage.agent.signing import NonceCache, Nonces, SignatureError, verify
from mlconnector.sage.boi import BoiBackend
from mlconnector.sage.errors import (
    RetryPolicy,
    SageAuthError,
    SageError,
    SageLockedError,
    SageNotFoundError,
    SageValidationError,
)
from mlconnector.sage.gateway import SageGateway

log = structlog.get_logger("mlconnector.agent")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class SignatureMiddleware:
    """Pure ASGI: reads the whole body, verifies the signature, then replays the body to the app."""

    def __init__(self, app: Any, key: bytes, nonces: Nonces) -> None:
        self.app, self.key, self.nonces = app, key, nonces
        self.pool: SessionPool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return  # the client left (or its connection timed out) before sending the whole request
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > MAX_BODY:
                await _reply(send, 413, {"error": "too_large", "message": "Request body is larger than 5 MB."})
                return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            path += "?" + scope["query_string"].decode("latin-1")
        try:
            verify(self.key, scope["method"], path, body, headers, self.nonces)
        except SignatureError as exc:
            log.warning("agent.unauthorized", path=scope["path"], reason=str(exc))
            await _reply(send, 401, {"error": "unauthorized", "message": str(exc)})
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reply(send: Send, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


STATUS = {SageLockedError: 503, SageNotFoundError: 404, SageValidationError: 422, SageAuthError: 403}


def create_app(
    backend: BoiBackend,
    hmac_key: bytes,
    *,
    policy: RetryPolicy | None = None,
    fault_hook: Callable[[str], None] | None = None,
    max_sessions: int = 8,
    nonces: Nonces | None = None,
) -> SignatureMiddleware:
    """The agent ASGI app (signature check wrapping FastAPI); `fault_hook` is for crash tests ("after_sage_write").

    `nonces` remembers the signed requests already served: pass a `NonceStore` so that survives a restart.
    """
    policy = policy or RetryPolicy()
    pool = SessionPool(backend, policy, max_sessions=max_sessions, fault_hook=fault_hook)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(
        title="ml-connector Sage 100 agent", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )

    @app.exception_handler(SageError)
    async def sage_error(_request: Request, exc: SageError) -> JSONResponse:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 502)
        headers = {"Retry-After": str(policy.retry_after)} if status == 503 else None
        log.info("agent.sage_error", kind=exc.kind, status=status)
        return JSONResponse({"error": exc.kind, "message": exc.message, "field": exc.field}, status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        message = " ".join("; ".join(problems).split())[:500]  # one line, whatever the input held
        return JSONResponse({"error": "bad_request", "message": message, "field": None}, 400)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        """FastAPI's own refusals (a body that is not JSON it can parse, an unknown path) in our error shape."""
        kind = "bad_request" if exc.status_code == 400 else "http_error"
        return JSONResponse({"error": kind, "message": str(exc.detail), "field": None}, exc.status_code)

    def run(call: Call, op: Callable[[SageGateway], Any]) -> Any:
        c = call.credentials
        started = time.monotonic()
        result = pool.run(c.user, c.password.get_secret_value(), c.company, op)
        log.info("agent.call", company=c.company, ms=round((time.monotonic() - started) * 1000))
        return result

    for op in OPERATIONS.values():
        app.add_api_route(op.path, _endpoint(op, run), methods=["POST"], response_model=op.response, name=op.name)

    @app.get(HEALTH_PATH)
    def health() -> dict[str, Any]:
        """Signed like everything else: the backend, pooled BOI sessions and BOI calls made so far."""
        return {"ok": True, "backend": backend.name, "sessions": len(pool), "boi_calls": backend.counter.total()}

    agent = SignatureMiddleware(app, hmac_key, nonces or NonceCache())
    agent.pool = pool
    return agent


def _endpoint(op: Operation[..., Any], run: Callable[[Call, Callable[[SageGateway], Any]], Any]) -> Callable[..., Any]:
    """A sync FastAPI endpoint (so BOI's blocking calls run in the threadpool) taking `op.request` as its body."""

    def endpoint(req: Call) -> Any:
        return run(req, lambda g: op.call(g, **op.arguments(req)))

    endpoint.__name__ = op.name
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("req", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=op.request)]
    )
    return endpoint
