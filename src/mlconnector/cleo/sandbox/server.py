"""Run the sandbox: in a background thread on a free port (tests, demos) or in the foreground (the CLI).

`running_sandbox()` is the helper other packages' tests reuse: it yields a `RunningSandbox` with the base URL, the
store, and a `SandboxAdmin` per tenant for fault injection and drop-ins.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from mlconnector.cleo.sandbox.app import SandboxUser, create_app
from mlconnector.cleo.sandbox.partners import PartnerBook, PartnerSimulator, load_partner_book
from mlconnector.cleo.sandbox.store import SandboxStore
from mlconnector.tls import ensure_self_signed, trust_context

DEFAULT_USERS = (SandboxUser("demo", "demo-password"),)
CERT_FILE, KEY_FILE = "sandbox-cert.pem", "sandbox-key.pem"


class SandboxAdmin:
    """The admin endpoints (★ sandbox only) for one tenant: faults, token expiry, stats, drop-ins."""

    def __init__(self, base_url: str, tenant: str, *, ca_file: Path | None = None) -> None:
        verify = trust_context(ca_file) if ca_file else True
        self._http = httpx.Client(base_url=f"{base_url}/admin/tenants/{tenant}", timeout=30, verify=verify)

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise RuntimeError(
                f"sandbox admin {response.request.url.path}: HTTP {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    def expire_tokens(self) -> int:
        return int(self._ok(self._http.post("/expire-tokens"))["expired"])

    def add_fault(self, kind: str, *, count: int = 1, **options: Any) -> list[dict[str, Any]]:
        """Arm a fault: kind 429|500|slow|drop|html|malformed-json; options when/method/path/retryAfter/delay/status."""
        return self._ok(self._http.post("/faults", json={"kind": kind, "count": count, **options}))["faults"]

    def faults(self) -> list[dict[str, Any]]:
        return self._ok(self._http.get("/faults"))["faults"]

    def clear_faults(self) -> None:
        self._ok(self._http.delete("/faults"))

    def stats(self) -> dict[str, int]:
        return self._ok(self._http.get("/stats"))

    def drop_in(self, partner: str, payload: str, document_type: str | None = None) -> dict[str, Any]:
        body = {"partner": partner, "payload": payload, "documentType": document_type}
        return self._ok(self._http.post("/inbound", json={k: v for k, v in body.items() if v is not None}))

    def close(self) -> None:
        self._http.close()


@dataclass
class RunningSandbox:
    """A sandbox serving on `base_url`; `admin(tenant)` gives its fault-injection handle; `ca_file` is the
    self-signed certificate a client must trust when it serves HTTPS."""

    base_url: str
    store: SandboxStore
    users: tuple[SandboxUser, ...]
    ca_file: Path | None = None
    _admins: dict[str, SandboxAdmin] = field(default_factory=dict)

    def admin(self, tenant: str | None = None) -> SandboxAdmin:
        name = tenant or self.users[0].name
        if name not in self._admins:
            self._admins[name] = SandboxAdmin(self.base_url, name, ca_file=self.ca_file)
        return self._admins[name]

    def close_admins(self) -> None:
        for admin in self._admins.values():
            admin.close()


def build_sandbox(
    *,
    data_dir: Path | None = None,
    users: Sequence[SandboxUser] = DEFAULT_USERS,
    partners: Path | PartnerBook | None = None,
    token_ttl: float = 3600.0,
    send_expires_in: bool = True,
    fa_overdue_after: float = 86400.0,
) -> tuple[Any, SandboxStore]:
    """The ASGI app and its store; state goes to `data_dir/sandbox.sqlite`, or memory when no directory is given."""
    store = SandboxStore(data_dir / "sandbox.sqlite" if data_dir else ":memory:", fa_overdue_after=fa_overdue_after)
    book = load_partner_book(partners) if isinstance(partners, Path) else partners
    simulator = PartnerSimulator(book) if book is not None else None
    app = create_app(store, list(users), simulator=simulator, token_ttl=token_ttl, send_expires_in=send_expires_in)
    return app, store


@contextmanager
def running_sandbox(
    *,
    data_dir: Path | None = None,
    users: Sequence[SandboxUser] = DEFAULT_USERS,
    partners: Path | PartnerBook | None = None,
    token_ttl: float = 3600.0,
    send_expires_in: bool = True,
    fa_overdue_after: float = 86400.0,
    host: str = "127.0.0.1",
    tls_dir: Path | None = None,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox over real HTTP from a background thread on a free port, and stop it afterwards.

    With `tls_dir` it serves HTTPS with a self-signed certificate kept there (`RunningSandbox.ca_file`).
    """
    app, store = build_sandbox(
        data_dir=data_dir,
        users=users,
        partners=partners,
        token_ttl=token_ttl,
        send_expires_in=send_expires_in,
        fa_overdue_after=fa_overdue_after,
    )
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and without it
    # every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    cert = sandbox_certificate(tls_dir, host) if tls_dir else None
    config = uvicorn.Config(
        app,
        log_level="critical",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=30,
        **(tls_options(cert) if cert else {}),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="cleo-sandbox", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the Cleo sandbox did not start")
        threading.Event().wait(0.01)
    scheme = "https" if cert else "http"
    sandbox = RunningSandbox(f"{scheme}://{host}:{port}", store, tuple(users), ca_file=cert)
    try:
        yield sandbox
    finally:
        sandbox.close_admins()  # before the server stops: an open keep-alive (TLS) connection would hold it up
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()


def sandbox_certificate(tls_dir: Path, host: str = "127.0.0.1") -> Path:
    """The sandbox's self-signed certificate in `tls_dir` (made on first use); clients trust this file."""
    return ensure_self_signed(tls_dir / CERT_FILE, tls_dir / KEY_FILE, "ml-connector Cleo sandbox", [host])


def tls_options(cert: Path) -> dict[str, str]:
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(cert.with_name(KEY_FILE))}


def serve_forever(host: str, port: int, *, tls_dir: Path | None = None, **options: Any) -> None:
    """Foreground server for `ml-connector cleo-sandbox serve` (HTTPS with the certificate in `tls_dir`)."""
    app, _store = build_sandbox(**options)
    tls = tls_options(sandbox_certificate(tls_dir, host)) if tls_dir else {}
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="off", **tls)  # type: ignore[arg-type]
