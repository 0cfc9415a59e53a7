"""The agent's HTTPS API: every gateway operation as `POST /v1/<operation>` with signed JSON.

Every request, to any path, is checked by `SignatureMiddleware` before routing; unsigned, tampered, stale or
replayed requests get 401 and run nothing. Sage credentials travel in the signed body and never reach a log.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr
from starlette.exceptions import HTTPException

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
from mlconnector.sage.models import (
    ChangeCursor,
    ChangedPurchaseOrders,
    ChangedVendors,
    GLAccount,
    InvoiceLine,
    LineNote,
    PostingResult,
    PurchaseOrder,
    ReceiptLine,
    SageDocument,
)

log = structlog.get_logger("mlconnector.agent")
MAX_BODY = 5 * 1024 * 1024

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


MAX_QUANTITY = 1_000_000_000.0
"""Quantities, costs and amounts must be finite and below this: no purchase order comes near it."""

_TIME = re.compile(r" *(\d{1,2}(\.\d*)?|\.\d+) *")


def _sage_date(value: str) -> str:
    """Sage dates are YYYYMMDD and must be a real day."""
    try:
        if len(value) == 8 and value.isascii() and value.isdigit():
            datetime.strptime(value, "%Y%m%d")
            return value
    except ValueError:
        pass
    raise ValueError(f"must be a date as YYYYMMDD, e.g. 20260301, not {value[:20]!r}")


def _sage_time(value: str) -> str:
    """Sage times (TimeUpdated$) are decimal hours below 24, e.g. 14.50250 (padding spaces allowed)."""
    if value == "" or (value.isascii() and _TIME.fullmatch(value) and float(value) < 24):
        return value
    raise ValueError(f"must be a time as decimal hours, e.g. 14.50250, not {value[:20]!r}")


def _seen_entry(value: str) -> str:
    """A cursor's `seen` entry, "<date><time>:<content hash>" (the stamp may be empty)."""
    stamp, sep, digest = value.partition(":")
    if not sep or len(digest) > 64 or not all(c in "0123456789abcdef" for c in digest):
        raise ValueError("must be '<YYYYMMDD><decimal hours>:<hex hash>'")
    if stamp:
        _sage_date(stamp[:8])
        _sage_time(stamp[8:])
    return value


SageDate = Annotated[str, AfterValidator(_sage_date)]
CursorDate = Annotated[str, AfterValidator(lambda v: v and _sage_date(v))]
SageTime = Annotated[str, AfterValidator(_sage_time)]
Quantity = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]
Amount = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]


class Strict(BaseModel):
    """Every request model (and what it nests): numbers finite, so `1e309`, `NaN` and `Infinity` are a 400."""

    model_config = ConfigDict(allow_inf_nan=False)


class CursorIn(Strict, ChangeCursor):
    date: CursorDate = ""
    time: SageTime = ""
    seen: dict[Annotated[str, Field(max_length=64)], Annotated[str, AfterValidator(_seen_entry)]] = Field(
        default_factory=dict
    )


LineKey = Annotated[str, Field(min_length=1, max_length=30)]
SourceKey = Annotated[str, Field(min_length=1, max_length=1000)]


class ReceiptLineIn(Strict, ReceiptLine):
    line_key: LineKey
    quantity: Quantity


class InvoiceLineIn(Strict, InvoiceLine):
    line_key: LineKey
    quantity: Quantity
    unit_cost: Amount | None = None
    account: Annotated[str, Field(max_length=30)] | None = None


class LineNoteIn(Strict, LineNote):
    line_key: LineKey


class Credentials(Strict):
    """Sage logon for this call: opens (or reuses) a pooled BOI session for (user, company)."""

    user: str = Field(min_length=1, max_length=30)
    password: SecretStr = Field(max_length=256)
    company: str = Field(min_length=1, max_length=3)


class Call(Strict):
    credentials: Credentials


class ChangedRequest(Call):
    since: CursorIn | None = None
    limit: int | None = Field(None, ge=1, le=100_000)


class PurchaseOrderRequest(Call):
    purchase_order_no: str = Field(min_length=1, max_length=7)


class ReceiveGoodsRequest(Call):
    purchase_order_no: str = Field(min_length=1, max_length=7)
    lines: list[ReceiptLineIn]
    key: SourceKey
    receipt_date: SageDate | None = None


class ReceiveInvoiceRequest(Call):
    purchase_order_no: str = Field(min_length=1, max_length=7)
    invoice_no: str = Field(min_length=1, max_length=10)
    invoice_date: SageDate
    lines: list[InvoiceLineIn]
    key: SourceKey
    freight_amount: Amount = 0.0


class NoteLinesRequest(Call):
    purchase_order_no: str = Field(min_length=1, max_length=7)
    notes: list[LineNoteIn] = Field(max_length=1000)


class PostRequest(Call):
    posting_date: SageDate | None = None


class KeyRequest(Call):
    key: SourceKey


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

    @app.post("/v1/changed_purchase_orders")
    def changed_purchase_orders(req: ChangedRequest) -> ChangedPurchaseOrders:
        return run(req, lambda g: g.changed_purchase_orders(req.since, req.limit))

    @app.post("/v1/changed_vendors")
    def changed_vendors(req: ChangedRequest) -> ChangedVendors:
        return run(req, lambda g: g.changed_vendors(req.since, req.limit))

    @app.post("/v1/gl_accounts")
    def gl_accounts(req: Call) -> list[GLAccount]:
        return run(req, lambda g: g.gl_accounts())

    @app.post("/v1/purchase_order")
    def purchase_order(req: PurchaseOrderRequest) -> PurchaseOrder:
        return run(req, lambda g: g.purchase_order(req.purchase_order_no))

    @app.post("/v1/receive_goods")
    def receive_goods(req: ReceiveGoodsRequest) -> SageDocument:
        return run(req, lambda g: g.receive_goods(req.purchase_order_no, req.lines, req.key, req.receipt_date))

    @app.post("/v1/receive_invoice")
    def receive_invoice(req: ReceiveInvoiceRequest) -> SageDocument:
        return run(
            req,
            lambda g: g.receive_invoice(
                req.purchase_order_no, req.invoice_no, req.invoice_date, req.lines, req.key, req.freight_amount
            ),
        )

    @app.post("/v1/note_po_lines")
    def note_po_lines(req: NoteLinesRequest) -> int:
        return run(req, lambda g: g.note_po_lines(req.purchase_order_no, req.notes))

    @app.post("/v1/post_receipts")
    def post_receipts(req: PostRequest) -> PostingResult:
        return run(req, lambda g: g.post_receipts(req.posting_date))

    @app.post("/v1/find_by_source_key")
    def find_by_source_key(req: KeyRequest) -> SageDocument | None:
        return run(req, lambda g: g.find_by_source_key(req.key))

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        """Signed like everything else: the backend, pooled BOI sessions and BOI calls made so far."""
        return {"ok": True, "backend": backend.name, "sessions": len(pool), "boi_calls": backend.counter.total()}

    agent = SignatureMiddleware(app, hmac_key, nonces or NonceCache())
    agent.pool = pool
    return agent
