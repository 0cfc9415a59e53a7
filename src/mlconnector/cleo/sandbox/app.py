"""The Cleo sandbox HTTP surface: cleo-api.md §8–9 plus admin endpoints (★ sandbox only) for faults and drop-ins.

Every error is `{"message": ...}` with 400/401/404/409/422; nothing ever answers with a stack trace.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from mlconnector.cleo.client import interchange_control_number
from mlconnector.cleo.sandbox.faults import FaultSpec, SandboxMiddleware
from mlconnector.cleo.sandbox.store import MESSAGE_COLUMNS, Duplicate, SandboxStore
from mlconnector.cleo.totp import verify_totp

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """A tenant login; with `totp_secret` set, the login also needs a current `otp` code."""

    name: str
    password: str = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)


class Simulator(Protocol):
    """What the app needs from the simulated trading partners (see `partners.PartnerSimulator`)."""

    def seed_partners(self) -> list[dict[str, Any]]: ...

    def on_outbound(
        self, store: SandboxStore, tenant: str, message: dict[str, Any], partner: dict[str, Any]
    ) -> None: ...


class ApiError(Exception):
    """Ends a request with `status` and `{"message"}`; extra keys (e.g. the known message's id on a 409) ride along."""

    def __init__(self, status: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra or {}


# ------------------------------------------------------------------------------------------------------ bodies


class MessageIn(BaseModel):
    partner: str = Field(min_length=1, max_length=64)
    documentType: str = Field(pattern=r"^(\d{3}|TA1)$")
    format: str = Field(default="x12", pattern=r"^x12$")
    payload: str = Field(min_length=106)


class PartnerIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    alias: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(default="", max_length=120)
    isaQualifier: str = Field(default="ZZ", pattern=r"^[0-9A-Z]{2}$")
    isaId: str = Field(min_length=1, max_length=15)
    gsId: str = Field(min_length=2, max_length=15)
    as2Id: str | None = Field(default=None, max_length=128)
    address: dict[str, Any] = Field(default_factory=dict)
    erpVendor: str | None = Field(default=None, max_length=64)


class LookupIn(BaseModel):
    columns: list[str] = Field(min_length=1)
    rows: list[list[str | int | float]]

    @field_validator("rows")
    @classmethod
    def _rows_fit_columns(cls, rows: list[list[Any]], info: Any) -> list[list[Any]]:
        width = len(info.data.get("columns") or [])
        for number, row in enumerate(rows, start=1):
            if len(row) != width:
                raise ValueError(f"row {number} has {len(row)} values for {width} columns")
        return rows


class InboundIn(BaseModel):
    """Admin drop-in: a document arriving as if `partner` had sent it."""

    partner: str = Field(min_length=1)
    payload: str = Field(min_length=1)
    documentType: str | None = Field(default=None, pattern=r"^(\d{3}|TA1)$")


# ----------------------------------------------------------------------------------------------------- filters

_CLAUSE = re.compile(r'\s*([A-Za-z][A-Za-z0-9]*)\s+(eq|ne|sw|co)\s+"((?:[^"\\]|\\.)*)"\s*')
_AND = re.compile(r"and\b", re.IGNORECASE)


def parse_filter(text: str | None, allowed: set[str]) -> list[tuple[str, str, str]]:
    """SCIM-like `attr op "value" [and …]` with eq/ne/sw/co, as Cleo's collections take; 400 on anything else."""
    if not text or not text.strip():
        return []
    clauses: list[tuple[str, str, str]] = []
    pos = 0
    while True:
        match = _CLAUSE.match(text, pos)
        if match is None:
            raise ApiError(400, f'filter not understood at position {pos}: expected attr eq|ne|sw|co "value"')
        attr, op, value = match.group(1), match.group(2), re.sub(r"\\(.)", r"\1", match.group(3))
        if attr not in allowed:
            raise ApiError(400, f"cannot filter on {attr!r}; filterable: {', '.join(sorted(allowed))}")
        clauses.append((attr, op, value))
        pos = match.end()
        if pos == len(text):
            return clauses
        joined = _AND.match(text, pos)
        if joined is None:
            raise ApiError(400, f"filter not understood at position {pos}: clauses are joined with 'and'")
        pos = joined.end()


def _matches(record: dict[str, Any], clauses: list[tuple[str, str, str]]) -> bool:
    for attr, op, value in clauses:
        actual = "" if record.get(attr) is None else str(record[attr])
        ok = {
            "eq": actual == value,
            "ne": actual != value,
            "sw": actual.startswith(value),
            "co": value in actual,
        }[op]
        if not ok:
            return False
    return True


def _sql(clauses: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    def like(value: str) -> str:
        return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    out = []
    for attr, op, value in clauses:
        column = MESSAGE_COLUMNS[attr]
        if op in ("eq", "ne"):
            out.append((column, "=" if op == "eq" else "IS NOT", value))
        else:
            pattern = like(value) + "%" if op == "sw" else "%" + like(value) + "%"
            out.append((column, "LIKE", pattern))
    return out


# ------------------------------------------------------------------------------------------------------ JSON


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def message_json(message: dict[str, Any]) -> dict[str, Any]:
    href = f"/api/messages/{message['id']}"
    return {
        "id": message["id"],
        "direction": message["direction"],
        "partner": message["partner"],
        "documentType": message["document_type"],
        "status": message["status"],
        "faStatus": message["fa_status"],
        "icn": message["icn"],
        "receivedAt": _iso(message["created_at"]),
        "inReplyTo": message["in_reply_to"],
        "_links": {"self": {"href": href}, "content": {"href": f"{href}/content"}},
    }


def partner_json(partner: dict[str, Any]) -> dict[str, Any]:
    return {**partner, "_links": {"self": {"href": f"/api/partners/{partner['id']}"}}}


def _page(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    body: dict[str, Any] = {"totalResults": total, "startIndex": start, "itemsPerPage": len(resources)}
    body["resources"] = resources
    if start + len(resources) < total:
        body["nextStartIndex"] = start + len(resources)
    return body


# -------------------------------------------------------------------------------------------------- dependencies


def current_tenant(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The tenant behind a valid bearer token; 401 with a reason otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Missing bearer token")
    known = request.app.state.store.token_tenant(token.strip())
    if known is None:
        raise ApiError(401, "Invalid token")
    if not known[1]:
        raise ApiError(401, "Token expired")
    return str(known[0])


def admin_tenant(request: Request, tenant: str) -> str:
    if tenant not in request.app.state.users:
        raise ApiError(404, f"No tenant {tenant!r}")
    return tenant


Tenant = Annotated[str, Depends(current_tenant)]
AdminTenant = Annotated[str, Depends(admin_tenant)]
Start = Annotated[int, Query(alias="startIndex", ge=0)]
Count = Annotated[int, Query(alias="count", ge=1, le=1000)]


# ------------------------------------------------------------------------------------------------------- app


def create_app(
    store: SandboxStore,
    users: list[SandboxUser],
    *,
    simulator: Simulator | None = None,
    token_ttl: float = 3600.0,
    send_expires_in: bool = True,
) -> ASGIApp:
    """The sandbox ASGI app; configured partners are seeded into every tenant (existing aliases are kept)."""
    by_name = {user.name: user for user in users}
    for user in users:
        for seed in simulator.seed_partners() if simulator else []:
            with contextlib.suppress(Duplicate):
                store.create_partner(user.name, seed)

    app = FastAPI(title="Cleo sandbox (ml-connector)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.users = by_name

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"message": exc.message, **exc.extra}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse({"message": "; ".join(parts) or "invalid request"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        log.error("sandbox error answered as 500", exc_info=exc)
        return JSONResponse({"message": "internal sandbox error"}, status_code=500)

    # ---------------------------------------------------------------------------------------------- login

    @app.post("/api/authentication")
    async def authentication(request: Request) -> JSONResponse:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise ApiError(400, "Send the login as application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "password":
            raise ApiError(400, "grant_type must be password")
        user = by_name.get(form.get("username", ""))
        if user is None or not hmac.compare_digest(user.password.encode(), form.get("password", "").encode()):
            raise ApiError(401, "Invalid credentials")
        if user.totp_secret and not verify_totp(user.totp_secret, form.get("otp", "")):
            raise ApiError(401, "A valid one-time code (otp) is required")
        body: dict[str, Any] = {"access_token": store.issue_token(user.name, token_ttl), "token_type": "bearer"}
        if send_expires_in:
            body["expires_in"] = int(token_ttl)
        return JSONResponse(body)

    # ------------------------------------------------------------------------------------------- messages

    @app.post("/api/messages", status_code=201)
    def post_message(
        body: MessageIn, tenant: Tenant, idempotency_key: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        partner = store.find_partner(tenant, body.partner)
        if partner is None:
            raise ApiError(422, f"Unknown partner {body.partner!r}")
        try:
            icn = interchange_control_number(body.payload)
        except ValueError as exc:
            raise ApiError(422, f"payload: {exc}") from None

        def answers(message: dict[str, Any]) -> None:
            if simulator is not None:
                simulator.on_outbound(store, tenant, message, partner)

        try:
            message, _replayed = store.create_outbound(
                tenant, partner["alias"], body.documentType, body.payload, icn, idempotency_key, on_created=answers
            )
        except Duplicate as dup:
            known = dup.existing
            raise ApiError(
                409,
                f"Interchange {icn} was already received as message {known['id']}",
                {"id": known["id"], "status": known["status"]},
            ) from None
        return JSONResponse(message_json(message), status_code=201)

    @app.get("/api/messages")
    def list_messages(tenant: Tenant, start: Start = 0, count: Count = 100, filter: str | None = None) -> dict:
        clauses = _sql(parse_filter(filter, set(MESSAGE_COLUMNS)))
        rows, total = store.query_messages(tenant, clauses, start, count)
        return _page([message_json(row) for row in rows], total, start)

    def _get(tenant: str, message_id: str) -> dict[str, Any]:
        message = store.get_message(tenant, message_id)
        if message is None:
            raise ApiError(404, f"No message {message_id!r}")
        return message

    @app.get("/api/messages/{message_id}")
    def get_message(message_id: str, tenant: Tenant) -> dict:
        return message_json(_get(tenant, message_id))

    @app.get("/api/messages/{message_id}/content")
    def get_content(message_id: str, tenant: Tenant) -> Response:
        return PlainTextResponse(_get(tenant, message_id)["payload"], media_type="application/edi-x12")

    @app.post("/api/messages/{message_id}/acknowledge")
    def acknowledge(message_id: str, tenant: Tenant) -> dict:
        if _get(tenant, message_id)["direction"] != "inbound":
            raise ApiError(400, "Only inbound messages can be acknowledged")
        message = store.acknowledge(tenant, message_id)
        assert message is not None
        return {"id": message["id"], "status": message["status"]}

    # ------------------------------------------------------------------------------------------- partners

    partner_fields = {"id", "alias", "name", "isaQualifier", "isaId", "gsId", "as2Id", "erpVendor"}

    @app.get("/api/partners")
    def list_partners(tenant: Tenant, start: Start = 0, count: Count = 100, filter: str | None = None) -> dict:
        clauses = parse_filter(filter, partner_fields)
        chosen = [p for p in store.list_partners(tenant) if _matches(p, clauses)]
        return _page([partner_json(p) for p in chosen[start : start + count]], len(chosen), start)

    @app.post("/api/partners", status_code=201)
    def create_partner(body: PartnerIn, tenant: Tenant) -> JSONResponse:
        try:
            partner = store.create_partner(tenant, body.model_dump())
        except Duplicate as dup:
            raise ApiError(409, f"Partner alias {body.alias!r} exists", {"id": dup.existing["id"]}) from None
        return JSONResponse(partner_json(partner), status_code=201)

    @app.get("/api/partners/{partner_id}")
    def get_partner(partner_id: str, tenant: Tenant) -> dict:
        partner = store.find_partner(tenant, partner_id)
        if partner is None or partner["id"] != partner_id:
            raise ApiError(404, f"No partner {partner_id!r}")
        return partner_json(partner)

    @app.put("/api/partners/{partner_id}")
    def update_partner(partner_id: str, body: PartnerIn, tenant: Tenant) -> dict:
        try:
            partner = store.update_partner(tenant, partner_id, body.model_dump())
        except Duplicate as dup:
            raise ApiError(409, f"Partner alias {body.alias!r} exists", {"id": dup.existing["id"]}) from None
        if partner is None:
            raise ApiError(404, f"No partner {partner_id!r}")
        return partner_json(partner)

    # -------------------------------------------------------------------------------------------- lookups

    @app.put("/api/lookups/{name}")
    def put_lookup(name: str, body: LookupIn, tenant: Tenant) -> dict:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", name):
            raise ApiError(400, "Lookup names use letters, digits, '.', '_' and '-' (at most 64)")
        stored = {"columns": body.columns, "rows": [[str(v) for v in row] for row in body.rows]}
        store.put_lookup(tenant, name, stored)
        return {"name": name, **stored}

    @app.get("/api/lookups/{name}")
    def get_lookup(name: str, tenant: Tenant) -> dict:
        stored = store.get_lookup(tenant, name)
        if stored is None:
            raise ApiError(404, f"No lookup {name!r}")
        return {"name": name, **stored}

    # ---------------------------------------------------------------------------------- admin (★ sandbox)

    @app.post("/admin/tenants/{tenant}/expire-tokens")
    def expire_tokens(tenant: AdminTenant) -> dict:
        return {"expired": store.expire_tokens(tenant)}

    @app.post("/admin/tenants/{tenant}/faults", status_code=201)
    def add_fault(body: FaultSpec, tenant: AdminTenant) -> JSONResponse:
        store.add_fault(tenant, body.model_dump(exclude={"count"}, exclude_none=True), body.count)
        return JSONResponse({"faults": store.list_faults(tenant)}, status_code=201)

    @app.get("/admin/tenants/{tenant}/faults")
    def list_faults(tenant: AdminTenant) -> dict:
        return {"faults": store.list_faults(tenant)}

    @app.delete("/admin/tenants/{tenant}/faults", status_code=204)
    def clear_faults(tenant: AdminTenant) -> Response:
        store.clear_faults(tenant)
        return Response(status_code=204)

    @app.get("/admin/tenants/{tenant}/stats")
    def stats(tenant: AdminTenant) -> dict:
        return {**store.stats(tenant), "pendingPartnerEvents": store.pending_events(tenant)}

    @app.post("/admin/tenants/{tenant}/inbound", status_code=201)
    def drop_in(body: InboundIn, tenant: AdminTenant) -> JSONResponse:
        return JSONResponse(
            message_json(drop_inbound(store, tenant, body.partner, body.payload, body.documentType)), 201
        )

    return SandboxMiddleware(app, store)


def sniff_document_type(payload: str) -> str | None:
    """ST01 of the first transaction set, read with the interchange's own element separator ("TA1" for an
    interchange that holds only TA1s)."""
    text = payload.lstrip()
    if not text.startswith("ISA") or len(text) < 106:
        return None
    element, terminator = text[3], text[105]
    found = None
    for segment in text.split(terminator):
        fields = segment.strip().split(element)
        if fields[0] == "ST" and len(fields) > 1:
            return fields[1]
        if fields[0] == "TA1":
            found = "TA1"  # an interchange acknowledgment, alone in its interchange unless an ST follows
    return found


def drop_inbound(
    store: SandboxStore, tenant: str, partner: str, payload: str, document_type: str | None = None
) -> dict[str, Any]:
    """Store `payload` as a new inbound message from `partner`, as if the partner had sent it (CLI and admin API)."""
    known = store.find_partner(tenant, partner)
    if known is None:
        raise ApiError(422, f"Unknown partner {partner!r}")
    doc_type = document_type or sniff_document_type(payload)
    if doc_type is None:
        raise ApiError(422, "Cannot tell the document type (no ST segment); pass documentType")
    try:
        icn: str | None = interchange_control_number(payload)
    except ValueError:
        icn = None
    return store.add_inbound(tenant, known["alias"], doc_type, payload, icn)
