"""`ml-connector cleo-sandbox …`: serve the sandbox, list its messages, drop in a file as if a partner sent it,
arm faults and expire tokens.

Everything but `serve` works on the data directory directly, so it runs with or without the server up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Column, Table

from mlconnector.cleo.sandbox.faults import FaultSpec
from mlconnector.cleo.sandbox.store import SandboxStore
from mlconnector.ports import CLEO_SANDBOX_PORT

if TYPE_CHECKING:
    from mlconnector.cleo.sandbox.app import SandboxUser

cleo_sandbox_app = typer.Typer(
    help="A stand-in Cleo tenant with simulated trading partners and fault injection.", no_args_is_help=True
)

DEFAULT_DATA = Path("var/cleo-sandbox")
DataOption = Annotated[Path, typer.Option("--data", help="Directory holding sandbox.sqlite.")]
TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant (the login user name).")]


def _users(specs: list[str], totp: list[str]) -> list[SandboxUser]:
    from mlconnector.cleo.sandbox.app import SandboxUser

    secrets = dict(spec.split(":", 1) for spec in totp)
    users = []
    for spec in specs:
        name, sep, password = spec.partition(":")
        if not sep or not name or not password:
            raise typer.BadParameter("use NAME:PASSWORD", param_hint="--user")
        users.append(SandboxUser(name, password, secrets.get(name)))
    return users


def _store(data: Path) -> SandboxStore:
    if not (data / "sandbox.sqlite").exists():
        raise typer.BadParameter(f"no sandbox data in {data} (start `cleo-sandbox serve --data {data}` first)")
    return SandboxStore(data / "sandbox.sqlite")


@cleo_sandbox_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", envvar="MLC_CLEO_SANDBOX_PORT")] = CLEO_SANDBOX_PORT,
    data: DataOption = DEFAULT_DATA,
    user: Annotated[
        list[str] | None,
        typer.Option("--user", help="NAME:PASSWORD login (repeatable).", envvar="MLC_CLEO_SANDBOX_USERS"),
    ] = None,
    totp: Annotated[
        list[str] | None, typer.Option("--totp", help="NAME:BASE32SECRET to require a TOTP code for NAME.")
    ] = None,
    partners: Annotated[
        Path | None, typer.Option("--partners", help="Simulated trading partners (TOML or JSON).", exists=True)
    ] = None,
    token_ttl: Annotated[float, typer.Option(help="Token lifetime in seconds.")] = 3600.0,
    fa_overdue_after: Annotated[float, typer.Option(help="Seconds until a missing 997 counts as overdue.")] = 86400.0,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls", help="Serve HTTPS with a self-signed certificate kept in the data directory (clients trust it)."
        ),
    ] = False,
) -> None:
    """Serve the sandbox until interrupted."""
    from mlconnector.cleo.sandbox.server import sandbox_certificate, serve_forever

    users = _users(user or ["demo:demo-password"], totp or [])
    scheme = "https" if tls else "http"
    typer.echo(f"Cleo sandbox on {scheme}://{host}:{port} (data {data}; tenants {', '.join(u.name for u in users)})")
    if tls:
        data.mkdir(parents=True, exist_ok=True)
        typer.echo(f"Certificate to trust: {sandbox_certificate(data, host)} ([cleo] ca_file)")
    serve_forever(
        host,
        port,
        tls_dir=data if tls else None,
        data_dir=data,
        users=users,
        partners=partners,
        token_ttl=token_ttl,
        fa_overdue_after=fa_overdue_after,
    )


@cleo_sandbox_app.command()
def messages(
    data: DataOption = DEFAULT_DATA,
    tenant: TenantOption = "demo",
    direction: Annotated[str | None, typer.Option(help="inbound or outbound.")] = None,
    status: Annotated[str | None, typer.Option(help="new, received, queued, delivered …")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the tenant's messages (partner answers that are due are delivered first)."""
    from mlconnector.cleo.sandbox.app import message_json

    store = _store(data)
    store.run_due()
    where = [(col, "=", val) for col, val in (("direction", direction), ("status", status)) if val]
    rows, _ = store.query_messages(tenant, where, 0, 1_000_000)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(message_json(row)))
        return
    table = Table(Column("id", no_wrap=True), "direction", "partner", "type", "status", "FA", "ICN", "at")
    for row in rows:
        shown = message_json(row)
        table.add_row(
            shown["id"],
            shown["direction"],
            shown["partner"],
            shown["documentType"],
            shown["status"],
            shown["faStatus"] or "",
            shown["icn"] or "",
            shown["receivedAt"],
        )
    Console().print(table)


@cleo_sandbox_app.command()
def show(message_id: str, data: DataOption = DEFAULT_DATA, tenant: TenantOption = "demo") -> None:
    """Print a message's raw X12."""

    message = _store(data).get_message(tenant, message_id)
    if message is None:
        typer.echo(f"no message {message_id} for tenant {tenant}", err=True)
        raise typer.Exit(1)
    typer.echo(message["payload"])


@cleo_sandbox_app.command()
def drop(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="X12 file to deliver.")],
    partner: Annotated[str, typer.Option(help="Alias or id of the partner it comes from.")],
    data: DataOption = DEFAULT_DATA,
    tenant: TenantOption = "demo",
    document_type: Annotated[str | None, typer.Option("--type", help="Document type when there is no ST.")] = None,
) -> None:
    """Deliver FILE to the tenant's inbound messages as if PARTNER had sent it."""
    from mlconnector.cleo.sandbox.app import ApiError, drop_inbound

    try:
        message = drop_inbound(_store(data), tenant, partner, file.read_text(encoding="utf-8"), document_type)
    except ApiError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{message['id']} {message['document_type']} from {message['partner']} is new")


@cleo_sandbox_app.command()
def fault(
    kind: Annotated[str, typer.Argument(help="429, 500, slow, drop, html or malformed-json.")],
    data: DataOption = DEFAULT_DATA,
    tenant: TenantOption = "demo",
    count: Annotated[int, typer.Option(help="How many matching API calls it hits.")] = 1,
    when: Annotated[
        str, typer.Option(help="before: instead of the work; after: the work is done, the answer fails.")
    ] = ("before"),
    method: Annotated[str | None, typer.Option(help="Only this HTTP method.")] = None,
    path: Annotated[str | None, typer.Option(help="Only paths starting with this.")] = None,
    retry_after: Annotated[float | None, typer.Option(help="429: the Retry-After seconds.")] = None,
    delay: Annotated[float, typer.Option(help="slow: seconds before answering.")] = 1.0,
    status: Annotated[int, typer.Option(help="html: the status of the HTML page.")] = 502,
) -> None:
    """Arm a fault for the tenant's next API calls (the running server reads it from the same data directory)."""
    raw = {"kind": kind, "count": count, "when": when, "method": method, "path": path}
    raw |= {"retryAfter": retry_after, "delay": delay, "status": status}
    try:
        spec = FaultSpec.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        typer.echo(f"invalid fault: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    store = _store(data)
    store.add_fault(tenant, spec.model_dump(exclude={"count"}, exclude_none=True), spec.count)
    for armed in store.list_faults(tenant):
        typer.echo(json.dumps(armed))


@cleo_sandbox_app.command("expire-tokens")
def expire_tokens(data: DataOption = DEFAULT_DATA, tenant: TenantOption = "demo") -> None:
    """Expire every current token of the tenant now; the next call of each client gets a 401 and logs in again."""
    typer.echo(f"{_store(data).expire_tokens(tenant)} token(s) expired")
