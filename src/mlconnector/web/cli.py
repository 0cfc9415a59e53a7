"""`ml-connector web` and `ml-connector users …`: FastAPI and uvicorn are imported only when the console starts."""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from mlconnector.commands.context import TENANT_ENV, Context, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mlconnector.web.app import ConsoleServices

console = Console()
users_app = typer.Typer(
    help="Who may sign in to the web console (roles: viewer, clerk, admin; hosted: and to which tenants).",
    no_args_is_help=True,
)


def _hosted_users() -> bool:
    """Hosted (`hosted = true`, or `--tenant ID`): users are the platform's, each with the tenants they may see."""
    from mlconnector.config import load_settings

    return load_settings().hosted or bool(os.environ.get(TENANT_ENV, "").strip())


@contextmanager
def _user_db() -> Iterator[Session]:
    """A transaction on the console's users: the store's (single site) or the platform's (hosted)."""
    if _hosted_users():
        from mlconnector.config import load_settings
        from mlconnector.store.platform import Platform

        platform = Platform(load_settings().store_url)
        try:
            with platform.users() as session:
                yield session
        finally:
            platform.close()
        return
    ctx = Context.open()
    try:
        with ctx.store.transaction() as session:
            yield session
    finally:
        ctx.store.close()


def _tenant_ids(given: str | None, all_tenants: bool) -> list[str]:
    """The tenants named on the command line (`--tenants a,b`, `--all-tenants`, or the `--tenant ID` in force),
    each checked against the registry."""
    from mlconnector.config import load_settings
    from mlconnector.store.platform import ALL_TENANTS, Platform

    if all_tenants:
        return [ALL_TENANTS]
    ids = [t.strip() for t in (given or os.environ.get(TENANT_ENV, "")).split(",") if t.strip()]
    if not ids:
        fail(
            "Say which tenants this user may see.",
            hint="Add --tenants acme,beta (or --all-tenants for a platform admin); `ml-connector tenants list`.",
        )
    platform = Platform(load_settings().store_url)
    try:
        for tenant_id in ids:
            platform.get(tenant_id)  # TenantError: "No tenant 'x'." as one line
    finally:
        platform.close()
    return ids


TENANTS_OPTION = typer.Option(
    "--tenants", help="Hosted: the tenants the user may see, comma-separated (default: the --tenant in force)."
)
ALL_TENANTS_OPTION = typer.Option("--all-tenants", help="Hosted: every tenant, present and future (platform staff).")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option(help="viewer, clerk or admin (operator: the earlier name of clerk).")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    tenants: Annotated[str | None, TENANTS_OPTION] = None,
    all_tenants: Annotated[bool, ALL_TENANTS_OPTION] = False,
) -> None:
    """Add a console user (the password is prompted without echo)."""
    from mlconnector.web.users import UserError, add_user, grant

    hosted = _hosted_users()
    if not hosted and (tenants or all_tenants):
        fail("--tenants and --all-tenants are for hosted deployments (hosted = true).")
    ids = _tenant_ids(tenants, all_tenants) if hosted else []
    try:
        with _user_db() as session:
            add_user(session, username, _password(password_stdin), role)
            if hosted:
                grant(session, username, ids)
    except UserError as exc:
        fail(str(exc))
    where = f", tenants: {', '.join(ids)}" if hosted else ""
    console.print(f"Added {username} ({role}{where}).")


T = TypeVar("T")


def _change_tenants(change: Callable[[Any], T]) -> T:
    """Hosted only: one change to a user's tenants in the user database, its refusal as one line."""
    from mlconnector.web.users import UserError

    if not _hosted_users():
        fail("Tenants are for hosted deployments (hosted = true); a single site has one.")
    try:
        with _user_db() as session:
            return change(session)
    except UserError as exc:
        fail(str(exc))


@users_app.command("grant")
def users_grant(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    tenants: Annotated[str | None, TENANTS_OPTION] = None,
    all_tenants: Annotated[bool, ALL_TENANTS_OPTION] = False,
) -> None:
    """Hosted: let a user see more tenants."""
    from mlconnector.web.users import grant

    ids = _tenant_ids(tenants, all_tenants)
    _change_tenants(lambda session: grant(session, username, ids))
    console.print(f"{username} may now see {', '.join(ids)}.")


@users_app.command("revoke")
def users_revoke(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    tenants: Annotated[str | None, TENANTS_OPTION] = None,
    all_tenants: Annotated[bool, ALL_TENANTS_OPTION] = False,
) -> None:
    """Hosted: take tenants away from a user (their open sessions lose them at the next click)."""
    from mlconnector.web.users import revoke

    ids = ["*"] if all_tenants else [t.strip() for t in (tenants or "").split(",") if t.strip()]
    if not ids:
        fail("Say which tenants to take away: --tenants acme,beta (or --all-tenants).")
    removed = _change_tenants(lambda session: revoke(session, username, ids))
    console.print(f"{username}: {removed} tenant(s) taken away.")


@users_app.command("list")
def users_list() -> None:
    """Console users and their roles (never their passwords)."""
    from mlconnector.web.users import list_users, tenants_of

    hosted = _hosted_users()
    with _user_db() as session:
        people = list_users(session)
        member = {p.username: sorted(tenants_of(session, p.username)) for p in people} if hosted else {}
    table = Table("user", "role", *(["tenants"] if hosted else []), "created", "last sign-in")
    for p in people:
        seen = member.get(p.username, [])
        table.add_row(
            p.username,
            p.role,
            *([("all" if "*" in seen else ", ".join(seen) or "(none)")] if hosted else []),
            f"{p.created_at:%Y-%m-%d}",
            f"{p.last_login_at:%Y-%m-%d %H:%M}" if p.last_login_at else "",
        )
    console.print(table if people else "No console users yet: `ml-connector users add NAME --role admin`.")


@users_app.command("remove")
def users_remove(username: Annotated[str, typer.Argument(help="Sign-in name.")]) -> None:
    """Remove a console user (their open sessions stop working at once)."""
    from mlconnector.web.users import UserError, remove_user

    try:
        with _user_db() as session:
            remove_user(session, username)
    except UserError as exc:
        fail(str(exc))
    console.print(f"Removed {username}.")


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Set a new password for a console user."""
    from mlconnector.web.users import UserError, set_password

    try:
        with _user_db() as session:
            set_password(session, username, _password(password_stdin))
    except UserError as exc:
        fail(str(exc))
    console.print(f"Password of {username} changed.")


def session_secret(data_dir: Path) -> bytes:
    """The key that signs session cookies, kept beside the database (0600) so sign-ins survive a restart."""
    path = data_dir / "console-session.key"
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    key = secrets.token_bytes(32)
    path.touch(mode=0o600)
    path.write_text(key.hex())
    return key


def connection_test(ctx: Context) -> list[tuple[str, bool, str]]:
    """The agent and Sage (a real BOI session: the GL chart is read) and Cleo (a login and a list call)."""
    from mlconnector.cleo import CleoError
    from mlconnector.commands.context import CommandError
    from mlconnector.commands.running import cleo_client, sage_client
    from mlconnector.sage.agent.client import AgentError
    from mlconnector.sage.errors import SageError
    from mlconnector.vault import VaultError

    results: list[tuple[str, bool, str]] = []
    try:
        with sage_client(ctx) as sage:
            accounts = sage.gl_accounts()
        results.append(
            ("Agent and Sage", True, f"signed in to {ctx.settings.sage_company}; {len(accounts)} GL accounts")
        )
    except (AgentError, SageError, VaultError, CommandError, OSError) as exc:
        results.append(("Agent and Sage", False, str(exc)))
    try:
        with cleo_client(ctx) as cleo:
            cleo.list_inbound(count=1)
        results.append(("Cleo", True, "login accepted, inbox readable"))
    except (CleoError, VaultError, CommandError, OSError) as exc:
        results.append(("Cleo", False, str(exc)))
    return results


def services_for(ctx: Context, reopen: Callable[[], Context] = Context.open) -> ConsoleServices:
    """The console's wiring to a tenant: retries, GL refresh and partner checks use the same Connector the CLI
    builds from the vault, so the console and `ml-connector exceptions retry` do exactly the same thing.
    `reopen` opens the tenant's context afresh (after its credentials change)."""
    from mlconnector.commands.running import open_connector
    from mlconnector.web.app import ConsoleServices

    s = ctx.settings
    return ConsoleServices(
        store=ctx.store,
        connector=lambda: open_connector(reopen()),
        vault=ctx.vault,
        test_connection=lambda: connection_test(reopen()),
        schedule={
            "pos": s.schedule.purchase_orders_seconds,
            "inbound": s.schedule.inbound_seconds,
            "vendors": s.schedule.vendors_seconds,
            "gl": s.schedule.gl_seconds,
        },
        settings_summary={
            "tenant": s.tenant,
            "Sage company": s.sage_company,
            "agent": s.agent.url,
            "agent fingerprint": s.agent.fingerprint or "(not set)",
            "Cleo": s.cleo.base_url,
            "price variance %": str(s.tolerances.price_variance_percent),
            "price variance per unit": str(s.tolerances.price_variance_amount),
            "over-shipment %": str(s.tolerances.over_shipment_percent),
            "997 overdue after (h)": str(s.tolerances.fa_overdue_hours),
        },
        secret=session_secret(s.data_dir),
    )


def console_services(ctx: Context) -> ConsoleServices:
    """The single site's services, or hosted (`hosted = true` or `--tenant ID`) one console for every tenant:
    platform users, the registry, and each tenant opened on first use from its own config, schema and vault
    (`--tenant ID` limits it to that tenant)."""
    from mlconnector.config import load_settings
    from mlconnector.store.platform import Platform
    from mlconnector.vault import load_master_key
    from mlconnector.web.app import ConsoleServices, HostedConsole, TenantChoice

    one = ctx.store.schema is not None
    if not (ctx.settings.hosted or one):
        return services_for(ctx)
    base = load_settings()
    if base.store_url.startswith("sqlite"):
        fail("hosted = true needs PostgreSQL.", hint='Set database_url = "postgresql+psycopg://…" in the toml.')
    platform = Platform(base.store_url)
    key = ctx.key if one else load_master_key(base.data_dir, "hosted")  # the key `Context.hosted` uses

    def open_tenant(tenant_id: str) -> ConsoleServices:
        return services_for(
            Context.hosted(base, tenant_id, key=key), reopen=lambda: Context.hosted(base, tenant_id, key=key)
        )

    return ConsoleServices(
        store=None,
        hosted=HostedConsole(
            users=platform.users,
            tenants=lambda: [TenantChoice(t.id, t.name, t.enabled) for t in platform.registered()],
            open_tenant=open_tenant,
            only=ctx.settings.tenant if one else None,
        ),
        secret=session_secret(base.data_dir),
    )


def serve(services: ConsoleServices, host: str, port: int, *, certfile: str | None = None, keyfile: str | None = None):  # type: ignore[no-untyped-def]
    """A uvicorn server for the console (not started): slow clients are cut off, connections are bounded."""
    import uvicorn

    from mlconnector.web.app import create_app

    if certfile:
        services.secure_cookies = True
    config = uvicorn.Config(
        create_app(services),
        host=host,
        port=port,
        log_level="warning",
        timeout_keep_alive=5,
        limit_concurrency=64,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        server_header=False,
    )
    return uvicorn.Server(config)


def start_in_background(ctx: Context, *, wait_seconds: float = 15.0) -> tuple[Any, threading.Thread, int] | None:
    """The console inside `ml-connector run` when [web] enabled: uvicorn in a daemon thread of the same process,
    like the metrics endpoint. Returns (server, thread, bound port), or None when off or the port is taken (the
    connector runs on without a console; the log says why). Stop it with `stop_background`."""
    import logging
    import time

    settings = ctx.settings.web
    if not settings.enabled:
        return None
    if bool(settings.certfile) != bool(settings.keyfile):
        fail("[web] certfile and keyfile: give both, or neither.")
    server = serve(
        console_services(ctx),
        settings.host,
        settings.port,
        certfile=settings.certfile or None,
        keyfile=settings.keyfile or None,
    )
    thread = threading.Thread(target=server.run, name="web-console", daemon=True)
    thread.start()
    deadline = time.monotonic() + wait_seconds
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        logging.getLogger("mlconnector.web").warning(
            "web console not started", extra={"host": settings.host, "port": settings.port}
        )
        return None
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


def stop_background(started: tuple[Any, threading.Thread, int] | None, timeout: float = 10.0) -> None:
    if started is not None:
        server, thread, _port = started
        server.should_exit = True
        thread.join(timeout)


def web(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default [web] host: 127.0.0.1, this machine only).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default [web] port: 8720).")] = None,
    certfile: Annotated[str | None, typer.Option(help="TLS certificate (PEM) to serve HTTPS.")] = None,
    keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
) -> None:
    """Serve the web console (sign in with a user from `ml-connector users add`)."""
    if bool(certfile) != bool(keyfile):
        fail("Give both --certfile and --keyfile, or neither.")
    ctx = Context.open()
    host = host or ctx.settings.web.host
    port = ctx.settings.web.port if port is None else port
    from mlconnector.web.users import list_users

    services = console_services(ctx)
    with services.hosted.users() if services.hosted else ctx.store.transaction() as session:
        if not list_users(session):
            console.print("No console users yet; add one first: `ml-connector users add NAME --role admin`.")
    server = serve(services, host, port, certfile=certfile, keyfile=keyfile)
    scheme = "https" if certfile else "http"
    console.print(f"Console on {scheme}://{host}:{port} — Ctrl-C to stop.")
    server.run()
