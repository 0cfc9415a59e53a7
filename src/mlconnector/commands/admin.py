"""Setting up and looking after a tenant: init, credentials, vendor mapping, audit log, exceptions."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from mlconnector.commands.context import Context, fail
from mlconnector.config import config_path, write_config
from mlconnector.store.models import AuditEntry, ExceptionRecord, utcnow
from mlconnector.store.ops import map_vendor
from mlconnector.vault import ENTRY_NAMES, write_key_file

console = Console()

FIELDS: dict[str, tuple[tuple[str, bool], ...]] = {
    # name → (field, secret?)
    "sage": (("user", False), ("password", True), ("company", False)),
    "cleo": (("username", False), ("password", True), ("totp_secret", True)),
    "agent": (("key", True),),
}


def init(
    tenant: Annotated[str, typer.Option(help="Tenant name (one per Sage company / Cleo tenant).")] = "default",
    data_dir: Annotated[str, typer.Option(help="Where the database, key file and logs live.")] = "var",
    company: Annotated[str, typer.Option(help="Sage 100 company code.")] = "ABC",
    agent_url: Annotated[str, typer.Option(help="The agent on the Sage server.")] = "https://127.0.0.1:8711",
    cleo_url: Annotated[str, typer.Option(help="Cleo API base URL.")] = "http://127.0.0.1:8712",
    agent_fingerprint: Annotated[
        str | None, typer.Option(help="The agent certificate's SHA-256 (`ml-connector agent fingerprint`).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing ml-connector.toml.")] = False,
) -> None:
    """Write a commented ml-connector.toml, create the master key (0600) and the database."""
    path = config_path()
    if path.exists() and not force:
        console.print(f"{path} exists; keeping it (use --force to rewrite).")
    else:
        write_config(
            path,
            tenant=tenant,
            data_dir=data_dir,
            company=company,
            agent_url=agent_url,
            cleo_url=cleo_url,
            fingerprint=agent_fingerprint,
        )
        console.print(f"Wrote {path}.")
    ctx = Context.open(create_key=True)
    console.print(f"Master key {ctx.key.key_id} ({ctx.key.source}); database {ctx.settings.store_url}.")
    console.print("Next: `ml-connector credentials set sage`, `… set cleo`, `… set agent`.")


credentials_app = typer.Typer(help="Credentials, encrypted at rest.", no_args_is_help=True)


def _read_fields(name: str, from_stdin: bool) -> dict[str, str]:
    if from_stdin:
        try:
            given = json.loads(sys.stdin.read())
        except json.JSONDecodeError:
            fail("Standard input is not a JSON object.", hint='e.g. {"user": "edi", "password": "…", "company": "ABC"}')
        if not isinstance(given, dict):
            fail("Standard input is not a JSON object.")
        fields = {k: str(v) for k, v in given.items() if v is not None}
    else:
        fields = {}
        for field, secret in FIELDS[name]:
            value = typer.prompt(field, hide_input=secret, default="" if field == "totp_secret" else None)
            if value:
                fields[field] = value
    missing = [f for f, _ in FIELDS[name] if f not in fields and f != "totp_secret"]
    if missing:
        fail(f"Missing {', '.join(missing)} for {name} credentials.")
    unknown = sorted(set(fields) - {f for f, _ in FIELDS[name]})
    if unknown:
        fail(f"Unknown field(s) for {name}: {', '.join(unknown)}.")
    return fields


@credentials_app.command("set")
def credentials_set(
    name: Annotated[str, typer.Argument(help="sage, cleo or agent")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read a JSON object from standard input.")] = False,
) -> None:
    """Store credentials (prompted without echo, or read from stdin)."""
    if name not in ENTRY_NAMES:
        fail(f"Unknown credential {name!r}.", hint=f"Use one of: {', '.join(ENTRY_NAMES)}.")
    fields = _read_fields(name, stdin)
    ctx = Context.open()
    ctx.vault.put(name, fields)
    console.print(f"Stored {name} credentials for tenant {ctx.settings.tenant} (encrypted, key {ctx.key.key_id}).")


@credentials_app.command("list")
def credentials_list() -> None:
    """Which credentials are stored (never their values)."""
    ctx = Context.open()
    stored = set(ctx.vault.names())
    for name in ENTRY_NAMES:
        console.print(f"{name:6} {'stored' if name in stored else 'missing'}")


@credentials_app.command("rotate-key")
def credentials_rotate_key() -> None:
    """Re-encrypt every credential under a new master key, then replace the key file."""
    ctx = Context.open()
    if ctx.key.source != "file":
        fail(f"The master key comes from the {ctx.key.source}; rotate it there, then run `credentials set` again.")
    key_file = ctx.settings.data_dir / "master.key"
    staged = key_file.with_name("master.key.new")
    # The new key is on disk before any entry uses it, so a crash mid-rotation never loses the key.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    new_key = write_key_file(staged, AESGCM.generate_key(bit_length=256))
    count = ctx.vault.rotate_key(new_key)
    staged.replace(key_file)
    console.print(f"Re-encrypted {count} credential(s); new master key {new_key.key_id}. Back up {key_file}.")


map_app = typer.Typer(help="Which Sage vendor trades with which Cleo partner.", no_args_is_help=True)


@map_app.command("vendor")
def map_vendor_command(
    vendor_no: Annotated[str, typer.Argument(help="Sage vendor number, e.g. 01-ACME")],
    partner: Annotated[str, typer.Argument(help="Cleo trading partner alias")],
    change_document: Annotated[str | None, typer.Option(help="How PO changes go out: 850 (BEG01 05) or 860.")] = None,
) -> None:
    """Address a vendor's POs to a Cleo trading partner (held POs go out at the next run)."""
    if change_document not in (None, "850", "860"):
        fail("--change-document must be 850 or 860.")
    ctx = Context.open()
    with ctx.store.transaction() as session:
        map_vendor(session, vendor_no, partner, change_document=change_document)
    console.print(f"Vendor {vendor_no} → Cleo partner {partner}.")


audit_app = typer.Typer(help="The audit log: every step, both directions.", no_args_is_help=True)


def _parse_since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        return datetime.fromisoformat(since)
    except ValueError:
        fail(f"--since {since!r} is not a date/time.", hint="e.g. 2026-11-26 or 2026-11-26T14:00")


@audit_app.command("list")
def audit_list(
    since: Annotated[str | None, typer.Option(help="ISO date/time.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source id (PO number, message id …).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many lines, newest first.")] = 50,
) -> None:
    """Recent audit lines."""
    ctx = Context.open()
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if (start := _parse_since(since)) is not None:
        query = query.where(AuditEntry.at >= start)
    if source:
        query = query.where(AuditEntry.source_id == source)
    table = Table("id", "at", "dir", "type", "source", "target", "status", "message")
    with ctx.store.transaction() as session:
        for e in session.scalars(query):
            table.add_row(
                str(e.id),
                f"{e.at:%Y-%m-%d %H:%M:%S}",
                e.direction,
                e.document_type,
                e.source_id,
                e.target_id or "",
                e.status,
                (e.message or "")[:60],
            )
    console.print(table)


@audit_app.command("show")
def audit_show(entry_id: int) -> None:
    """One audit line with its payload."""
    ctx = Context.open()
    with ctx.store.transaction() as session:
        e = session.get(AuditEntry, entry_id)
        if e is None:
            fail(f"No audit line {entry_id}.")
        for field in (
            "id",
            "at",
            "direction",
            "document_type",
            "source_id",
            "target_id",
            "idempotency_key",
            "status",
            "message",
            "payload_hash",
        ):
            console.print(f"[bold]{field}[/bold]: {getattr(e, field)}")
        if e.payload:
            console.print(e.payload, markup=False, highlight=False)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="Write JSON lines here.")],
    since: Annotated[str | None, typer.Option(help="ISO date/time.")] = None,
) -> None:
    """Export audit lines as JSON lines (for an auditor or a spreadsheet)."""
    ctx = Context.open()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if (start := _parse_since(since)) is not None:
        query = query.where(AuditEntry.at >= start)
    count = 0
    with ctx.store.transaction() as session, output.open("w") as handle:
        for e in session.scalars(query):
            record = {c.name: getattr(e, c.name) for c in AuditEntry.__table__.columns}
            handle.write(json.dumps(record, default=str) + "\n")
            count += 1
    console.print(f"Wrote {count} audit line(s) to {output}.")


exceptions_app = typer.Typer(help="Exceptions: what went wrong, why, and how to fix it.", no_args_is_help=True)


@exceptions_app.command("list")
def exceptions_list(
    all_: Annotated[bool, typer.Option("--all", help="Include resolved ones.")] = False,
) -> None:
    """Open exceptions, oldest first."""
    ctx = Context.open()
    query = select(ExceptionRecord).order_by(ExceptionRecord.id)
    if not all_:
        query = query.where(ExceptionRecord.status == "open")
    table = Table("id", "kind", "document", "what", "fix", "status")
    with ctx.store.transaction() as session:
        rows = list(session.scalars(query))
        for x in rows:
            table.add_row(str(x.id), x.kind, x.document_ref, x.what, x.suggested_fix, x.status)
    console.print(table if rows else "No open exceptions.")


@exceptions_app.command("show")
def exceptions_show(exception_id: int) -> None:
    """One exception in full."""
    ctx = Context.open()
    with ctx.store.transaction() as session:
        x = session.get(ExceptionRecord, exception_id)
        if x is None:
            fail(f"No exception {exception_id}.", hint="`ml-connector exceptions list` shows the open ones.")
        console.print(f"[bold]#{x.id} {x.kind}[/bold] ({x.status}, {x.created_at:%Y-%m-%d %H:%M})")
        console.print(f"What: {x.what}\nWhy: {x.why}\nDocument: {x.document_ref}\nFix: {x.suggested_fix}")
        if x.details:
            console.print_json(data=x.details)


@exceptions_app.command("resolve")
def exceptions_resolve(exception_id: int) -> None:
    """Mark an exception handled by hand (it stays in the log)."""
    ctx = Context.open()
    with ctx.store.transaction() as session:
        x = session.get(ExceptionRecord, exception_id)
        if x is None:
            fail(f"No exception {exception_id}.")
        x.status, x.resolved_at = "resolved", utcnow()
    console.print(f"Exception {exception_id} resolved.")


@credentials_app.command("test")
def credentials_test() -> None:
    """Check Sage (through the agent) and Cleo with the stored credentials, in plain words."""
    from mlconnector.commands.running import credentials_test as test

    test()


@exceptions_app.command("retry")
def exceptions_retry(
    exception_id: Annotated[int, typer.Argument(help="Exception id (from `exceptions list`).")],
) -> None:
    """Run the document behind an exception again after its cause is fixed (a mapping, a GL account, a PO).

    Safe to repeat: what Sage already holds is found by its idempotency key and not written twice.
    """
    from mlconnector.commands.running import exceptions_retry as retry

    retry(exception_id)
