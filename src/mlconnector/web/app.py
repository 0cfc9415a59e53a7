"""The console's routes: sign-in, signed-cookie sessions, CSRF on every POST, roles, and one handler per screen.

Reads go through `queries` (one function per screen); the actions call what the CLI calls: `Connector.retry_exception`
for a retry, `store.ops.map_vendor` for a mapping, `Vault.put` for credentials.

Hosted (`ConsoleServices.hosted`), one console serves every tenant: users are the platform's, each belongs to some
tenants (or all); the tenant a request acts on is the session's current one, checked against the user's tenants on
every request (`current_user`), and every screen reads and writes through that tenant's own services (its Store,
scoped to its schema; its vault; its connector) — the one place a request gets its tenant. The CSRF token is bound
to the tenant a page was rendered for, so a form from another tab cannot act on the tenant switched to since.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from mlconnector.engine import next_run
from mlconnector.store import Store
from mlconnector.store.mapping_csv import MappingCSVError, apply_mappings, parse_mappings
from mlconnector.store.models import ExceptionRecord, utcnow
from mlconnector.store.ops import audit, map_vendor, mark_not_edi, remove_mapping
from mlconnector.web import queries, users
from mlconnector.web.chart import documents_per_day
from mlconnector.web.x12view import render as render_x12

HERE = Path(__file__).parent
COOKIE = "mlc_console"
SESSION_SECONDS = 8 * 3600
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
CREDENTIAL_FIELDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "sage": (("user", False), ("password", True), ("company", False)),
    "cleo": (("username", False), ("password", True), ("totp_secret", True)),
    "agent": (("key", True),),
}
MAX_UPLOAD = 1_000_000


@dataclass(frozen=True)
class TenantChoice:
    id: str
    name: str
    enabled: bool = True


@dataclass
class HostedConsole:
    """A hosted deployment's console: the platform's users, the tenant registry, and each tenant's own services.

    `users` opens a transaction on the platform's console users (`Platform.users`); `tenants` lists the registry;
    `open_tenant` builds one tenant's ConsoleServices (its store scoped to its schema, its vault, its connector),
    called once per tenant and kept; `only` limits the console to one tenant (`ml-connector --tenant ID web`)."""

    users: Callable[[], AbstractContextManager[Session]]
    tenants: Callable[[], list[TenantChoice]]
    open_tenant: Callable[[str], ConsoleServices]
    only: str | None = None


@dataclass
class ConsoleServices:
    """What the console needs besides the store, supplied by whoever starts it (the CLI, the demo, a test).

    `connector` builds a Connector from the current credentials (called lazily, again after credentials change);
    `test_connection` answers (what, ok, plain-words result) per system. Hosted, the top-level services carry
    `hosted` (and no store); each tenant's are built by `hosted.open_tenant`.
    """

    store: Store | None
    connector: Callable[[], Any] | None = None
    vault: Any | None = None
    test_connection: Callable[[], list[tuple[str, bool, str]]] | None = None
    schedule: dict[str, int] = field(default_factory=dict)
    settings_summary: dict[str, str] = field(default_factory=dict)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    secure_cookies: bool = False
    request_timeout: float = 30.0
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    hosted: HostedConsole | None = None
    tenant: TenantChoice | None = None  # set on a hosted tenant's own services
    cached_connector: Any = field(default=None, repr=False)
    connector_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class LoginRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RateLimiter:
    """At most `attempts` failed sign-ins per user name (and 6x that per client address) in `window` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                q = self._failures.get(key)
                while q and now - q[0] > self.window:
                    q.popleft()
                if q and len(q) >= self.attempts * (6 if key.startswith("ip:") else 1):
                    return True
        return False

    def failed(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(time.monotonic())

    def clear(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def in_words(exc: BaseException) -> str:
    """A failure as the CLI says it (commands/errors.py's one table), never an exception's class name."""
    from mlconnector.commands.errors import explain

    return explain(exc).message.rstrip(".")


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _int(value: str | None, default: int = 1, low: int = 1, high: int = 1_000_000) -> int:
    try:
        return min(high, max(low, int(value or default)))
    except ValueError:
        return default


def create_app(services: ConsoleServices) -> FastAPI:
    app = FastAPI(title="ml-connector console", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["icon"] = _icon
    templates.env.filters["when"] = _when
    templates.env.filters["age"] = _age
    templates.env.filters["qs"] = lambda d: urlencode({k: v for k, v in d.items() if v not in (None, "")})
    signer = URLSafeTimedSerializer(services.secret, salt="mlc-console-session")
    limiter = RateLimiter()
    hosted = services.hosted
    scopes: dict[str, ConsoleServices] = {}
    scopes_lock = threading.Lock()
    log = logging.getLogger("mlconnector.web")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # ------------------------------------------------------------------------------------------ plumbing

    def session_of(request: Request) -> dict[str, str]:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = signer.loads(raw, max_age=SESSION_SECONDS)
                if isinstance(data, dict) and isinstance(data.get("c"), str):
                    return data
            except BadSignature:
                pass
        return {}

    def set_session(response: Response, data: dict[str, str]) -> None:
        response.set_cookie(
            COOKIE,
            signer.dumps(data),
            max_age=SESSION_SECONDS,
            httponly=True,
            secure=services.secure_cookies,
            samesite="strict",
            path="/",
        )

    def user_db() -> AbstractContextManager[Session]:
        """Where the console's users are: the platform's (hosted) or the store's (single site)."""
        assert hosted is not None or services.store is not None
        return hosted.users() if hosted is not None else services.store.transaction()  # type: ignore[union-attr]

    def tenants_for(session: Session, user: users.User) -> list[TenantChoice]:
        """The registered tenants `user` may see (every one for a platform-wide user), in id order."""
        assert hosted is not None
        member = users.tenants_of(session, user.username)
        return [
            t
            for t in hosted.tenants()
            if ("*" in member or t.id in member) and (hosted.only is None or t.id == hosted.only)
        ]

    def tenant_scope(tenant: TenantChoice) -> ConsoleServices:
        assert hosted is not None
        with scopes_lock:
            if tenant.id not in scopes:
                opened = hosted.open_tenant(tenant.id)
                opened.tenant = tenant
                scopes[tenant.id] = opened
            return scopes[tenant.id]

    def current_user(request: Request, role: str = "viewer", *, tenant_needed: bool = True) -> users.User:
        """The signed-in user (read on every request) and, hosted, the tenant this request acts on: the session's
        current tenant if the user still belongs to it, else their first. Sets `request.state.scope`, the services
        (store, vault, connector) every handler uses, so no handler can reach a tenant the user does not have."""
        data = session_of(request)
        if not data.get("u"):
            raise LoginRequired
        with user_db() as session:
            user = users.get_user(session, data["u"])
            allowed = tenants_for(session, user) if user is not None and hosted is not None else []
        if user is None:
            raise LoginRequired
        request.state.user = user
        if hosted is None:
            request.state.scope = services
        else:
            if not allowed:
                request.state.tenants = []
                if not tenant_needed:  # signing out needs no tenant
                    return user
                raise Forbidden(
                    f"{user.username} belongs to no tenant yet; an admin adds one with "
                    f"`ml-connector users grant {user.username} TENANT`."
                )
            chosen = next((t for t in allowed if t.id == data.get("t")), allowed[0])
            request.state.tenants = allowed
            request.state.tenant = chosen
            request.state.scope = tenant_scope(chosen)
        if not user.can(role):
            raise Forbidden(f"Your role ({user.role}) cannot do this; it needs {role} or above.")
        return user

    def scoped(request: Request) -> ConsoleServices:
        """This request's services: the single site's, or the current tenant's (set by `current_user`)."""
        scope: ConsoleServices = request.state.scope
        return scope

    def store_of(request: Request) -> Store:
        store = scoped(request).store
        assert store is not None
        return store

    def bound_token(token: str, tenant: str) -> str:
        mac = hmac.new(token.encode(), f"tenant:{tenant}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{tenant}.{mac}"

    def csrf_token(request: Request) -> str:
        """The session's token; hosted, bound to the tenant the page is for (`acme.<mac>`)."""
        token = session_of(request).get("c", "")
        tenant = getattr(request.state, "tenant", None)
        return bound_token(token, tenant.id) if token and tenant is not None else token

    async def check_csrf(request: Request) -> dict[str, Any]:
        """Every POST carries the session's token (form field or X-CSRF-Token header), else 403. Hosted, the token
        must be the current tenant's: a page left open on tenant A cannot act once the user has switched to B."""
        form = await request.form()
        given = request.headers.get("x-csrf-token") or str(form.get("csrf_token") or "")
        expected = csrf_token(request)
        if not expected or not given or not users.same(given, expected):
            tenant = getattr(request.state, "tenant", None)
            was = given.split(".", 1)[0] if "." in given else ""
            if tenant is not None and was and was != tenant.id:
                raise Forbidden(
                    f"This page was for another tenant; you have switched to {tenant.name} since. "
                    "Reload the page and try again."
                )
            raise Forbidden("This form has expired or did not come from the console (missing CSRF token).")
        return dict(form.multi_items()) | {"_form": form}

    def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        user = getattr(request.state, "user", None)
        response = templates.TemplateResponse(
            request,
            template,
            {
                "user": user,
                "csrf": csrf_token(request),
                "path": request.url.path,
                "tenant": getattr(request.state, "tenant", None),
                "tenants": getattr(request.state, "tenants", []),
                **context,
            },
            status_code=status_code,
        )
        return response

    def is_htmx(request: Request) -> bool:
        return request.headers.get("hx-request") == "true"

    def console_audit(scope: ConsoleServices, user: users.User, action: str, target: str, message: str) -> None:
        """An action in the audit log of the tenant it was done in, with the user's name."""
        assert scope.store is not None
        with scope.store.transaction() as session:
            audit(
                session,
                direction="IN",
                document_type="console",
                source_id=user.username,
                target_id=target,
                status=action,
                message=f"{user.username}: {message}",
            )

    def connector(scope: ConsoleServices) -> Any:
        if scope.connector is None:
            raise Forbidden("The console was started without a connection to Sage and Cleo.")
        with scope.connector_lock:
            if scope.cached_connector is None:
                scope.cached_connector = scope.connector()
            return scope.cached_connector

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Any]) -> Response:
        """Security headers on every answer; a request that takes too long is cut off with 503."""
        try:
            response = await asyncio.wait_for(call_next(request), timeout=services.request_timeout)
        except TimeoutError:
            response = HTMLResponse("The request took too long and was stopped; try again.", status_code=503)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        target = "/login?" + urlencode({"next": request.url.path}) if request.method == "GET" else "/login"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, "error.html", status_code=403, title="Not allowed", message=exc.message)

    # --------------------------------------------------------------------------------------------- sign-in

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/login")
    def login_form(request: Request, next: str = "/") -> Response:
        data = session_of(request)
        token = data.get("c") or secrets.token_urlsafe(32)
        response = page_with_token(request, token, next)
        if not data.get("c"):
            set_session(response, {"c": token})
        return response

    def page_with_token(request: Request, token: str, next: str, error: str | None = None, code: int = 200):
        return templates.TemplateResponse(
            request,
            "login.html",
            {"user": None, "csrf": token, "path": "/login", "next": _safe_next(next), "error": error},
            status_code=code,
        )

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await check_csrf(request)
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        next_url = _safe_next(str(form.get("next", "/")))
        client = f"ip:{request.client.host if request.client else '?'}"
        token = session_of(request)["c"]
        if limiter.blocked(client, f"user:{username}"):
            return page_with_token(
                request, token, next_url, "Too many failed sign-ins; wait five minutes and try again.", 429
            )
        with user_db() as session:
            user = await asyncio.to_thread(users.authenticate, session, username, password)
            allowed = tenants_for(session, user) if user is not None and hosted is not None else []
        if user is None:
            limiter.failed(client, f"user:{username}")
            return page_with_token(request, token, next_url, "Wrong user name or password.", 401)
        limiter.clear(f"user:{username}")
        session_data = {"u": user.username, "c": secrets.token_urlsafe(32)}  # new token after sign-in
        if hosted is None:
            console_audit(services, user, "signed_in", user.username, "signed in")
        elif allowed:  # signed in to their first tenant: its audit log says who came in
            session_data["t"] = allowed[0].id
            console_audit(tenant_scope(allowed[0]), user, "signed_in", user.username, "signed in")
        else:
            log.warning("console sign-in of a user with no tenant", extra={"user": user.username})
        response = RedirectResponse(next_url, status_code=303)
        set_session(response, session_data)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        current_user(request, tenant_needed=False)
        await check_csrf(request)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.post("/tenant")
    async def switch_tenant(request: Request) -> Response:
        """Hosted: work on another of the user's tenants. A tenant they do not belong to (or that does not exist)
        is the same 403, so the answer says nothing about other customers."""
        user = current_user(request)
        form = await check_csrf(request)
        wanted = str(form.get("tenant", "")).strip()
        if hosted is None:
            return page(request, "error.html", 404, title="Not found", message="This console serves one site.")
        target = next((t for t in getattr(request.state, "tenants", []) if t.id == wanted), None)
        if target is None:
            log.warning("console tenant switch refused", extra={"user": user.username, "tenant": wanted[:40]})
            raise Forbidden("You do not have access to that tenant.")
        console_audit(tenant_scope(target), user, "switched_tenant", target.id, f"switched to tenant {target.id}")
        response = RedirectResponse("/", status_code=303)
        set_session(response, {**session_of(request), "t": target.id})
        return response

    # ---------------------------------------------------------------------------------------------- screens

    @app.get("/")
    def overview_screen(request: Request) -> Response:
        current_user(request)
        sc = scoped(request)
        now = services.now()
        with sc.store.transaction() as session:
            data = queries.overview(session, now, sc.schedule, next_run)
        return page(request, "overview.html", o=data, chart=documents_per_day(data.per_day), now=now)

    @app.get("/documents")
    def documents_screen(request: Request) -> Response:
        current_user(request)
        sc = scoped(request)
        q = request.query_params
        flt = queries.DocumentFilter(
            po_number=q.get("po", "").strip(),
            vendor=q.get("vendor", "").strip(),
            partner=q.get("partner", "").strip(),
            document_type=q.get("type", "").strip(),
            status=q.get("status", "").strip(),
            direction=q.get("direction", "") if q.get("direction") in ("IN", "OUT") else "",
            date_from=_date(q.get("from")),
            date_to=_date(q.get("to")),
            waiting=q.get("waiting") == "1",
        )
        number = _int(q.get("page"))
        with sc.store.transaction() as session:
            result = queries.search_documents(session, flt, page=number)
        params = {k: v for k, v in q.items() if k != "page"}
        return page(request, "documents.html", result=result, f=params)

    @app.get("/documents/{direction}/{doc_id}")
    def document_screen(request: Request, direction: str, doc_id: int) -> Response:
        current_user(request)
        sc = scoped(request)
        if direction not in ("IN", "OUT"):
            return page(request, "error.html", 404, title="Not found", message="No such document.")
        with sc.store.transaction() as session:
            doc = queries.document(session, direction, doc_id)
        if doc is None:
            return page(request, "error.html", 404, title="Not found", message=f"No document {direction} {doc_id}.")
        view = render_x12(doc.payload) if doc.payload else None
        ack_view = render_x12(doc.extra["997 we sent"]) if doc.extra.get("997 we sent") else None
        template = "x12_fragment.html" if is_htmx(request) else "document.html"
        return page(request, template, doc=doc, view=view, ack_view=ack_view)

    @app.get("/po")
    def po_lookup(request: Request) -> Response:
        current_user(request)
        number = request.query_params.get("po", "").strip()
        return RedirectResponse(f"/po/{quote(number, safe='')}" if number else "/documents", status_code=303)

    @app.get("/po/{po_number}")
    def timeline_screen(request: Request, po_number: str) -> Response:
        current_user(request)
        sc = scoped(request)
        with sc.store.transaction() as session:
            timeline = queries.po_timeline(session, po_number)
        return page(request, "timeline.html", t=timeline, status_code=200 if timeline.found else 404)

    @app.get("/exceptions")
    def exceptions_screen(request: Request) -> Response:
        current_user(request)
        sc = scoped(request)
        q = request.query_params
        status = q.get("status", "open")
        with sc.store.transaction() as session:
            queue = queries.exception_queue(
                session,
                services.now(),
                kind=q.get("kind", ""),
                partner=q.get("partner", ""),
                min_age_hours=float(_int(q.get("age"), 0, 0, 24 * 365)),
                status=status if status in ("open", "resolved", "") else "open",
            )
        return page(request, "exceptions.html", queue=queue, f=dict(q), results=[])

    @app.get("/exceptions/{exception_id}")
    def exception_screen(request: Request, exception_id: int) -> Response:
        current_user(request)
        return _exception_page(request, exception_id)

    def _exception_page(request: Request, exception_id: int, outcome: str | None = None, ok: bool = True):
        sc = scoped(request)
        with sc.store.transaction() as session:
            row = queries.exception_detail(session, services.now(), exception_id)
            history = queries.exception_history(session, exception_id)
        if row is None:
            return page(request, "error.html", 404, title="Not found", message=f"No exception {exception_id}.")
        template = "exception_fragment.html" if is_htmx(request) else "exception.html"
        return page(request, template, x=row, history=history, outcome=outcome, ok=ok)

    def _retry(sc: ConsoleServices, user: users.User, exception_id: int) -> tuple[bool, str]:
        """What the CLI's `exceptions retry` does, reported in words."""
        try:
            status = connector(sc).retry_exception(exception_id)
        except LookupError as exc:
            return False, str(exc)
        except ValueError as exc:
            return False, str(exc)
        except Exception as exc:  # Sage or Cleo unreachable: say so, the exception stays open
            return False, f"The retry could not run: {in_words(exc)}"
        with sc.store.transaction() as session:
            record = session.get(ExceptionRecord, exception_id)
            still_open = record is not None and record.status == "open"
        console_audit(sc, user, "retry", str(exception_id), f"retried exception {exception_id}: document {status}")
        if status == "applied" and not still_open:
            return True, f"Retried: the document is applied in Sage and exception {exception_id} is resolved."
        return False, f"Retried: the document is {status}; the exception is still open (see why above)."

    @app.post("/exceptions/{exception_id}/retry")
    async def retry_screen(request: Request, exception_id: int) -> Response:
        user = current_user(request, "clerk")
        sc = scoped(request)
        await check_csrf(request)
        ok, outcome = await asyncio.to_thread(_retry, sc, user, exception_id)
        return _exception_page(request, exception_id, outcome, ok)

    @app.post("/exceptions/{exception_id}/resolve")
    async def resolve_screen(request: Request, exception_id: int) -> Response:
        user = current_user(request, "clerk")
        sc = scoped(request)
        form = await check_csrf(request)
        note = str(form.get("note", "")).strip()[:500]
        if not note:
            return _exception_page(request, exception_id, "Say in a note what was done before resolving.", False)
        with sc.store.transaction() as session:
            record = session.get(ExceptionRecord, exception_id)
            was_open = record is not None and record.status == "open"
            if record is not None and was_open:
                record.status, record.resolved_at = "resolved", utcnow()
        if not was_open:
            return _exception_page(request, exception_id, "It is not open; nothing changed.", False)
        console_audit(sc, user, "resolved", str(exception_id), f"resolved exception {exception_id}: {note}")
        return _exception_page(request, exception_id, f"Resolved with the note: {note}", True)

    @app.post("/exceptions/retry")
    async def bulk_retry(request: Request) -> Response:
        user = current_user(request, "clerk")
        sc = scoped(request)
        form = await check_csrf(request)
        ids = [_int(v, 0, 0) for v in form["_form"].getlist("ids")]
        results = []
        for exception_id in [i for i in ids if i][:200]:
            ok, outcome = await asyncio.to_thread(_retry, sc, user, exception_id)
            results.append((exception_id, ok, outcome))
        with sc.store.transaction() as session:
            queue = queries.exception_queue(session, services.now())
        if not results:
            results.append((0, False, "Tick at least one exception to retry."))
        return page(request, "exceptions.html", queue=queue, f={}, results=results)

    @app.post("/gl/refresh")
    async def refresh_gl(request: Request) -> Response:
        user = current_user(request, "clerk")
        sc = scoped(request)
        form = await check_csrf(request)
        try:
            accounts = await asyncio.to_thread(lambda: connector(sc).refresh_gl())
            message, ok = f"GL refreshed from Sage: {len(accounts)} account(s) cached and published.", True
        except Exception as exc:
            message, ok = f"The GL refresh did not run: {in_words(exc)}", False
        console_audit(sc, user, "gl_refresh", "GL", message)
        back = _int(str(form.get("exception", "")), 0, 0)
        if back:
            return _exception_page(request, back, message, ok)
        return page(request, "error.html", title="GL refresh", message=message)

    # ---------------------------------------------------------------------------------------------- partners

    def _sage_vendors(sc: ConsoleServices) -> tuple[dict[str, str] | None, str | None]:
        if sc.connector is None:
            return None, "The console has no connection to Sage; showing the vendors the connector knows."
        try:
            sage = connector(sc).sage
            names: dict[str, str] = {}
            cursor = None
            while True:
                changed = sage.changed_vendors(cursor)
                for v in changed.items:
                    names[v.vendor_key] = v.vendor_name
                cursor = changed.cursor
                if cursor.complete or not changed.items:
                    break
            return names, None
        except Exception as exc:
            return None, f"Sage did not answer ({in_words(exc)}); showing the vendors the connector knows."

    def _partners_page(request: Request, messages: list[tuple[bool, str]]) -> Response:
        sc = scoped(request)
        names, note = _sage_vendors(sc)
        with sc.store.transaction() as session:
            rows = queries.partners_and_vendors(session, names)
        return page(request, "partners.html", rows=rows, note=note, messages=messages)

    @app.get("/partners")
    def partners_screen(request: Request) -> Response:
        current_user(request)
        return _partners_page(request, [])

    def _map(
        sc: ConsoleServices, user: users.User, vendor: str, partner: str, change_document: str | None
    ) -> tuple[bool, str]:
        vendor, partner = vendor.strip(), partner.strip()
        if not vendor or not partner:
            return False, "Give both the Sage vendor number and the Cleo trading partner."
        if len(vendor) > 32 or len(partner) > 64:
            return False, f"{vendor[:40]!r} / {partner[:40]!r} is too long for a vendor number or partner alias."
        if change_document not in (None, "", "850", "860"):
            return False, f"Vendor {vendor}: changes go out as 850 or 860, not {change_document!r}."
        try:
            known = connector(sc).cleo.list_partners(alias=partner)
        except Forbidden:
            raise
        except Exception as exc:
            return False, f"Could not ask Cleo whether {partner} exists ({in_words(exc)}); nothing changed."
        if not known:
            return False, f"Cleo has no trading partner {partner}; vendor {vendor} was not mapped."
        with sc.store.transaction() as session:
            map_vendor(session, vendor, partner, change_document=change_document or None)
        console_audit(sc, user, "mapped", vendor, f"mapped vendor {vendor} to Cleo partner {partner}")
        return True, f"Vendor {vendor} → Cleo partner {partner}; its held POs go out at the next run."

    @app.post("/partners/map")
    async def map_screen(request: Request) -> Response:
        user = current_user(request, "clerk")
        sc = scoped(request)
        form = await check_csrf(request)
        ok, message = await asyncio.to_thread(
            _map,
            sc,
            user,
            str(form.get("vendor_no", "")),
            str(form.get("partner", "")),
            str(form.get("change_document", "")) or None,
        )
        return _partners_page(request, [(ok, message)])

    @app.post("/partners/unmap")
    async def unmap_screen(request: Request) -> Response:
        user = current_user(request, "clerk")
        sc = scoped(request)
        form = await check_csrf(request)
        vendor = str(form.get("vendor_no", "")).strip()
        with sc.store.transaction() as session:
            removed = remove_mapping(session, vendor)
        if removed:
            console_audit(sc, user, "unmapped", vendor, f"removed the trading partner of vendor {vendor}")
        message = (
            (True, f"Vendor {vendor} has no trading partner now; its new POs are held until it is mapped.")
            if removed
            else (False, f"Vendor {vendor} was not mapped.")
        )
        return _partners_page(request, [message])

    @app.post("/partners/upload")
    async def upload_screen(request: Request) -> Response:
        user = current_user(request, "clerk")
        sc = scoped(request)
        form = await check_csrf(request)
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return _partners_page(request, [(False, "Choose a CSV file to upload.")])
        raw = await upload.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            return _partners_page(request, [(False, "The file is larger than 1 MB; split it.")])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _partners_page(request, [(False, "The file is not UTF-8 text; save it as CSV (UTF-8).")])
        ok, message = await asyncio.to_thread(_import, sc, user, text, getattr(upload, "filename", None) or "the file")
        return _partners_page(request, [(ok, message)])

    def _import(sc: ConsoleServices, user: users.User, text: str, name: str) -> tuple[bool, str]:
        """The same CSV and the same rules as `ml-connector map import`: every line checked, every EDI partner
        known to Cleo, then all rows applied in one transaction — or none."""
        try:
            rows = parse_mappings(text, name)
        except MappingCSVError as exc:
            return False, f"{exc.message} {exc.hint} Nothing was changed.".replace("  ", " ")
        if not rows:
            return False, f"{name} has no vendor lines; nothing was changed."
        aliases = sorted({row.partner for row in rows if row.edi})
        if aliases:
            try:
                known = {p.alias for p in connector(sc).cleo.list_partners()}
            except Forbidden:
                raise
            except Exception as exc:
                return (
                    False,
                    f"Could not ask Cleo for its trading partners ({in_words(exc)}); nothing changed.",
                )
            missing = [alias for alias in aliases if alias not in known]
            if missing:
                return False, f"Cleo has no trading partner {', '.join(missing)}; nothing was changed."
        with sc.store.transaction() as session:
            mapped, not_edi, skipped = apply_mappings(session, rows)
        console_audit(
            sc,
            user,
            "imported",
            name,
            f"imported {len(rows)} vendor mapping(s) from {name}: {mapped} mapped, {not_edi} not EDI",
        )
        return True, (
            f"{name}: {mapped} vendor(s) mapped (their held POs go out at the next run), {not_edi} marked as not "
            f"trading by EDI ({skipped} held PO(s) skipped)."
        )

    @app.post("/partners/not-edi")
    async def not_edi_screen(request: Request) -> Response:
        user = current_user(request, "clerk")
        sc = scoped(request)
        form = await check_csrf(request)
        vendor = str(form.get("vendor_no", "")).strip()
        if not vendor or len(vendor) > 32:
            return _partners_page(request, [(False, "Give the Sage vendor number (up to 32 characters).")])
        with sc.store.transaction() as session:
            skipped, resolved = mark_not_edi(session, vendor)
        console_audit(sc, user, "not_edi", vendor, f"marked vendor {vendor} as not trading by EDI")
        return _partners_page(
            request,
            [
                (
                    True,
                    f"Vendor {vendor} does not trade by EDI: {skipped} held PO(s) skipped, {resolved} exception(s) "
                    "resolved; its next POs are skipped without an exception.",
                )
            ],
        )

    # ---------------------------------------------------------------------------------------------- settings

    def _settings_page(request: Request, messages: list[tuple[bool, str]], tests=None) -> Response:
        sc = scoped(request)
        stored = set(sc.vault.names()) if sc.vault is not None else set()
        with user_db() as session:
            people = users.members_of(session, sc.tenant.id) if sc.tenant else users.list_users(session)
        return page(
            request,
            "settings.html",
            fields=CREDENTIAL_FIELDS,
            stored=stored,
            has_vault=sc.vault is not None,
            summary=sc.settings_summary,
            schedule=sc.schedule,
            people=people,
            messages=messages,
            tests=tests,
        )

    @app.get("/settings")
    def settings_screen(request: Request) -> Response:
        current_user(request, "admin")
        return _settings_page(request, [])

    @app.post("/settings/credentials/{name}")
    async def credentials_screen(request: Request, name: str) -> Response:
        user = current_user(request, "admin")
        sc = scoped(request)
        form = await check_csrf(request)
        if name not in CREDENTIAL_FIELDS or sc.vault is None:
            return _settings_page(request, [(False, f"Unknown credential {name!r}.")])
        values = {f: str(form.get(f, "")).strip() for f, _ in CREDENTIAL_FIELDS[name]}
        values = {k: v for k, v in values.items() if v}
        missing = [f for f, _ in CREDENTIAL_FIELDS[name] if f not in values and f != "totp_secret"]
        if missing:
            return _settings_page(request, [(False, f"Missing {', '.join(missing)}; {name} credentials unchanged.")])
        if any(len(v) > 512 for v in values.values()):
            return _settings_page(request, [(False, "A value is longer than 512 characters.")])
        sc.vault.put(name, values)
        with sc.connector_lock:
            sc.cached_connector = None  # the next action connects with the new credentials
        console_audit(sc, user, "credentials_set", name, f"stored {name} credentials (values not logged)")
        return _settings_page(request, [(True, f"Stored {name} credentials, encrypted. They are not shown again.")])

    @app.post("/settings/test")
    async def test_screen(request: Request) -> Response:
        user = current_user(request, "admin")
        sc = scoped(request)
        await check_csrf(request)
        if sc.test_connection is None:
            return _settings_page(request, [(False, "The console was started without connection settings.")])
        results = await asyncio.to_thread(sc.test_connection)
        console_audit(
            sc,
            user,
            "connection_test",
            "settings",
            "; ".join(f"{w}: {'ok' if ok else 'failed'}" for w, ok, _ in results),
        )
        return _settings_page(request, [], tests=results)

    # -------------------------------------------------------------------------------------------------- audit

    def _audit_filter(request: Request) -> queries.AuditFilter:
        q = request.query_params
        return queries.AuditFilter(
            text=q.get("q", "").strip()[:200],
            document_type=q.get("type", "").strip(),
            status=q.get("status", "").strip(),
            direction=q.get("direction", "") if q.get("direction") in ("IN", "OUT") else "",
            date_from=_date(q.get("from")),
            date_to=_date(q.get("to")),
        )

    @app.get("/audit")
    def audit_screen(request: Request) -> Response:
        current_user(request)
        sc = scoped(request)
        number = _int(request.query_params.get("page"))
        with sc.store.transaction() as session:
            rows, more = queries.audit_search(session, _audit_filter(request), page=number)
        params = {k: v for k, v in request.query_params.items() if k != "page"}
        return page(request, "audit.html", rows=rows, more=more, number=number, f=params)

    @app.get("/audit/export")
    def audit_export(request: Request) -> Response:
        user = current_user(request)
        sc = scoped(request)
        flt = _audit_filter(request)
        console_audit(sc, user, "audit_export", "audit", f"exported audit lines ({flt})")

        def lines():  # type: ignore[no-untyped-def]
            with sc.store.transaction() as session:
                for record in queries.audit_export(session, flt):
                    yield json.dumps(record, default=str) + "\n"

        return StreamingResponse(
            lines(),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
        )

    return app


def _safe_next(value: str) -> str:
    """Only a path on this site (no //host or scheme): an open redirect would help a phisher."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


ICONS = {"ok": "✔", "bad": "✖", "wait": "○", "info": "•"}
STATUS_STATE = {
    **queries.OUT_STATE,
    **queries.IN_STATE,
    **queries.FA_STATE,
    "open": "bad",
    "resolved": "ok",
    "released": "wait",
    "not received yet": "wait",
}


def _icon(status: str, state: str | None = None) -> str:
    """A status as a symbol plus its word (never colour alone); CSS colours it by `state`."""
    from markupsafe import Markup, escape

    state = state or STATUS_STATE.get(status, "info")
    return Markup(f'<span class="st st-{state}"><span aria-hidden="true">{ICONS[state]}</span> {escape(status)}</span>')


def _age(value: timedelta) -> str:
    """A wait in the largest unit that reads naturally: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def _when(value: datetime | str | None) -> str:
    if not isinstance(value, datetime):
        return value or ""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return f"{value:%Y-%m-%d %H:%M:%S}"
