"""Setting up and looking after a tenant: init, credentials, vendor mapping, audit log, exceptions."""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
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
from mlconnector.config import DEFAULT_AGENT_URL, DEFAULT_CLEO_URL, Settings, config_path, load_settings, write_config
from mlconnector.store.mapping_csv import CSV_COLUMNS, MappingCSVError, apply_mappings, parse_mappings
from mlconnector.store.models import AuditEntry, ExceptionRecord, PartnerMapping, utcnow
from mlconnector.store.ops import map_vendor, mark_not_edi, remove_mapping
from mlconnector.vault import ENTRY_NAMES, write_key_file

console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts and monitoring.")]

FIELDS: dict[str, tuple[tuple[str, bool, str], ...]] = {
    # name → (JSON field, secret?, the prompt a person answers)
    "sage": (
        ("user", False, "Sage user name"),
        ("password", True, "Sage password"),
        ("company", False, "Sage company code"),
    ),
    "cleo": (
        ("username", False, "Cleo user name"),
        ("password", True, "Cleo password"),
        ("totp_secret", True, "Cleo TOTP secret (empty if none)"),
    ),
    "agent": (("key", True, "Agent key (the hex text of the agent's agent-hmac.key)"),),
    "smtp": (("user", False, "SMTP user name"), ("password", True, "SMTP password")),  # alert email login
    "webhook": (("url", True, "Webhook URL (it carries the token, so it is kept secret)"),),
    "slack": (("url", True, "Slack incoming-webhook URL"),),
    "metrics": (("token", True, "Bearer token Prometheus must send to scrape /metrics"),),
    "hub": (("token", True, "Hub relay token (the text of the hub's hub-relay.token)"),),  # [agent] hub_url
}
OPTIONAL = {"totp_secret"}
EXAMPLES = {
    "sage": '{"user": "ml", "password": "…", "company": "ABC"}',
    "cleo": '{"username": "acme", "password": "…", "totp_secret": "…" (optional)}',
    "agent": '{"key": "<the 64 hex digits in agent-hmac.key>"}',
    "smtp": '{"user": "alerts", "password": "…"}',
    "webhook": '{"url": "https://hooks.example.com/…"}',
    "slack": '{"url": "https://hooks.slack.com/services/…"}',
    "metrics": '{"token": "…"}',
    "hub": '{"token": "<the text of hub-relay.token>"}',
}


def init(
    tenant: Annotated[str | None, typer.Option(help="Tenant name (one per Sage company / Cleo tenant).")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Where the database and key file live.  [default: var]")] = None,
    company: Annotated[str | None, typer.Option(help="Sage 100 company code.  [default: ABC]")] = None,
    agent_url: Annotated[
        str | None, typer.Option(help=f"The agent on the Sage server.  [default: {DEFAULT_AGENT_URL}]")
    ] = None,
    cleo_url: Annotated[str | None, typer.Option(help=f"Cleo API base URL.  [default: {DEFAULT_CLEO_URL}]")] = None,
    agent_fingerprint: Annotated[
        str | None, typer.Option(help="The agent certificate's SHA-256 (`ml-connector agent fingerprint`).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rewrite an existing ml-connector.toml.")] = False,
) -> None:
    """Write a commented ml-connector.toml, create the master key (0600) and the database."""
    path = config_path()
    given = {
        "tenant": tenant,
        "data_dir": data_dir,
        "sage_company": company,
        "agent.url": agent_url,
        "cleo.base_url": cleo_url,
        "agent.fingerprint": agent_fingerprint,
    }
    if path.exists() and not force:
        current = load_settings()
        differ = [
            f"{key} is {_setting(current, key)!r}, not {value!r}"
            for key, value in given.items()
            if value is not None and str(_setting(current, key)) != value
        ]
        if differ:
            fail(
                f"{path} exists and {'; '.join(differ)}.",
                hint="Add --force to rewrite it with the new values (stored credentials stay), or edit the file.",
            )
        console.print(f"{path} exists; keeping it.")
    else:
        write_config(
            path,
            tenant=tenant or "default",
            data_dir=data_dir or "var",
            company=company or "ABC",
            agent_url=agent_url or DEFAULT_AGENT_URL,
            cleo_url=cleo_url or DEFAULT_CLEO_URL,
            fingerprint=agent_fingerprint,
        )
        console.print(f"Wrote {path}.")
    ctx = Context.open(create_key=True)
    console.print(f"Master key {ctx.key.key_id} ({ctx.key.source}); database {ctx.settings.store_url}.")
    console.print("Next: `ml-connector credentials set sage`, `… set cleo`, `… set agent`.")


def _setting(settings: Settings, dotted: str) -> object:
    value: object = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


credentials_app = typer.Typer(help="Credentials, encrypted at rest.", no_args_is_help=True)


def _read_fields(name: str, from_stdin: bool) -> dict[str, str]:
    example = EXAMPLES[name]
    if from_stdin:
        try:
            given = json.loads(sys.stdin.read())
        except json.JSONDecodeError:
            fail("Standard input is not a JSON object.", hint=f"For {name}: {example}")
        if not isinstance(given, dict):
            fail("Standard input is not a JSON object.", hint=f"For {name}: {example}")
        fields = {k: str(v) for k, v in given.items() if v is not None}
    elif not sys.stdin.isatty():
        # Answers piped in, one per line in prompt order (getpass would warn that it cannot hide them).
        answers = sys.stdin.read().splitlines()
        fields = {f: a.strip() for (f, _, _), a in zip(FIELDS[name], answers, strict=False) if a.strip()}
    else:
        fields = {}
        for field, secret, prompt in FIELDS[name]:
            value = typer.prompt(prompt, hide_input=secret, default="" if field in OPTIONAL else None)
            if value:
                fields[field] = value
    missing = [f for f, _, _ in FIELDS[name] if f not in fields and f not in OPTIONAL]
    if missing:
        fail(f"Missing {', '.join(missing)} for {name} credentials.", hint=f"For {name}: {example}")
    unknown = sorted(set(fields) - {f for f, _, _ in FIELDS[name]})
    if unknown:
        fail(f"Unknown field(s) for {name}: {', '.join(unknown)}.", hint=f"For {name}: {example}")
    if name == "agent":
        check_agent_key(fields["key"])
    return fields


def check_agent_key(text: str) -> bytes:
    """The agent's HMAC key: 64 hex digits (the text of agent-hmac.key) or the same 32 bytes in base64."""
    text = text.strip()
    key: bytes | None = None
    if len(text) == 64:
        with contextlib.suppress(ValueError):
            key = bytes.fromhex(text)
    if key is None:
        with contextlib.suppress(binascii.Error, ValueError):
            key = base64.b64decode(text, validate=True)
    if key is None or len(key) != 32:
        fail(
            f"That agent key is not the 64 hex digits of agent-hmac.key ({len(text)} characters given).",
            hint="Copy the one line of agent-hmac.key from the agent's directory (`ml-connector agent init` wrote it).",
        )
    return key


@credentials_app.command("set")
def credentials_set(
    name: Annotated[str, typer.Argument(help="sage, cleo or agent")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read a JSON object from standard input.")] = False,
) -> None:
    """Store credentials (prompted without echo, or read from stdin)."""
    if name not in ENTRY_NAMES:
        fail(f"Unknown credential {name!r}.", hint=f"Use one of: {', '.join(ENTRY_NAMES)}.")
    ctx = Context.open()
    fields = _read_fields(name, stdin)
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


CheckOption = Annotated[
    bool, typer.Option("--no-check", help="Do not ask Cleo whether the partner exists (e.g. Cleo is down).")
]


def _check_partners(ctx: Context, aliases: set[str]) -> None:
    """Every alias must be a trading partner in Cleo now, not at the first PO (one login, one partner listing)."""
    if not aliases:
        return
    from mlconnector.commands.running import cleo_client

    with cleo_client(ctx) as cleo:
        known = {p.alias for p in cleo.list_partners()}
    missing = sorted(aliases - known)
    if missing:
        fail(
            f"Cleo has no trading partner {', '.join(missing)}.",
            hint="Check the alias in Cleo (partners are case-sensitive), or add --no-check to map it anyway.",
        )


@map_app.command("vendor")
def map_vendor_command(
    vendor_no: Annotated[str, typer.Argument(help="Sage vendor number, e.g. 01-ACME")],
    partner: Annotated[str, typer.Argument(help="Cleo trading partner alias")],
    change_document: Annotated[str | None, typer.Option(help="How PO changes go out: 850 (BEG01 05) or 860.")] = None,
    no_check: CheckOption = False,
) -> None:
    """Address a vendor's POs to a Cleo trading partner (held POs go out at the next run)."""
    if change_document not in (None, "850", "860"):
        fail(f"--change-document {change_document} is not 850 or 860.", hint="Use 850 (BEG01 05) or 860.")
    ctx = Context.open()
    if not no_check:
        _check_partners(ctx, {partner})
    with ctx.store.transaction() as session:
        map_vendor(session, vendor_no, partner, change_document=change_document)
    console.print(f"Vendor {vendor_no} → Cleo partner {partner}.")


@map_app.command("not-edi")
def map_not_edi(vendor_no: Annotated[str, typer.Argument(help="Sage vendor number, e.g. 01-V0038")]) -> None:
    """Mark a vendor as not trading by EDI: its POs are skipped (audited), never held as exceptions."""
    ctx = Context.open()
    with ctx.store.transaction() as session:
        skipped, resolved = mark_not_edi(session, vendor_no)
    console.print(
        f"Vendor {vendor_no} does not trade by EDI: {skipped} held PO(s) skipped, {resolved} exception(s) resolved."
    )


@map_app.command("remove")
def map_remove(vendor_no: Annotated[str, typer.Argument(help="Sage vendor number")]) -> None:
    """Forget a vendor's mapping (its next POs are held as unmapped; nothing already sent changes)."""
    ctx = Context.open()
    with ctx.store.transaction() as session:
        if not remove_mapping(session, vendor_no):
            fail(f"Vendor {vendor_no} is not mapped.", hint="`ml-connector map list` shows the mapped vendors.")
    console.print(f"Vendor {vendor_no} is no longer mapped.")


def _mapping_rows(ctx: Context) -> list[dict[str, str]]:
    with ctx.store.transaction() as session:
        return [
            {
                "vendor_no": m.vendor_no,
                "partner": m.partner,
                "change_document": m.change_document,
                "edi": "yes" if m.trades_by_edi else "no",
            }
            for m in session.scalars(select(PartnerMapping).order_by(PartnerMapping.vendor_no))
        ]


@map_app.command("list")
def map_list(as_json: JsonOption = False) -> None:
    """Every mapped vendor: its partner, how changes go out, whether it trades by EDI."""
    rows = _mapping_rows(Context.open())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("vendor", "partner", "changes as", "EDI")
    for row in rows:
        table.add_row(row["vendor_no"], row["partner"], row["change_document"], row["edi"])
    console.print(table if rows else "No vendor is mapped yet.")


@map_app.command("export")
def map_export(output: Annotated[Path, typer.Option("--output", "-o", help="CSV file to write.")]) -> None:
    """Write every mapping as CSV (vendor_no, partner, change_document, edi) for a spreadsheet."""
    rows = _mapping_rows(Context.open())
    with output.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    console.print(f"Wrote {len(rows)} mapping(s) to {output}.")


@map_app.command("import")
def map_import(
    source: Annotated[Path, typer.Argument(help="CSV with columns vendor_no, partner, change_document, edi.")],
    no_check: CheckOption = False,
) -> None:
    """Map many vendors at once from CSV (all rows or none); edi = no marks a vendor as not trading by EDI."""
    try:
        rows = parse_mappings(source.read_text(encoding="utf-8-sig"), str(source))
    except OSError as exc:  # no such file, a directory, no permission: the system's own words
        fail(f"Cannot read {source}: {(exc.strerror or str(exc)).lower()}.", hint="Check the path and try again.")
    except UnicodeDecodeError:
        fail(f"Cannot read {source}: it is not UTF-8 text.", hint="Save it as CSV (UTF-8) from the spreadsheet.")
    except MappingCSVError as exc:
        fail(exc.message, hint=exc.hint or None)
    ctx = Context.open()
    if not no_check:
        _check_partners(ctx, {row.partner for row in rows if row.edi})
    with ctx.store.transaction() as session:
        apply_mappings(session, rows)
    console.print(f"Imported {len(rows)} mapping(s) from {source}.")


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
    as_json: JsonOption = False,
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
        entries = list(session.scalars(query))
        if as_json:
            fields = ("id", "at", "direction", "document_type", "source_id", "target_id", "status", "message")
            typer.echo(json.dumps([{f: getattr(e, f) for f in fields} for e in entries], default=str, indent=2))
            return
        for e in entries:
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
    as_json: JsonOption = False,
) -> None:
    """Open exceptions, oldest first."""
    ctx = Context.open()
    query = select(ExceptionRecord).order_by(ExceptionRecord.id)
    if not all_:
        query = query.where(ExceptionRecord.status == "open")
    table = Table("id", "kind", "document", "what", "fix", "status")
    with ctx.store.transaction() as session:
        rows = list(session.scalars(query))
        if as_json:
            fields = ("id", "kind", "status", "document_ref", "what", "why", "suggested_fix", "created_at", "details")
            typer.echo(json.dumps([{f: getattr(x, f) for f in fields} for x in rows], default=str, indent=2))
            return
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
def credentials_test(as_json: JsonOption = False) -> None:
    """Check Sage (through the agent) and Cleo with the stored credentials; exit 1 when either cannot be used."""
    from mlconnector.commands.running import credentials_test as test

    test(as_json)


@exceptions_app.command("retry")
def exceptions_retry(
    exception_id: Annotated[int, typer.Argument(help="Exception id (from `exceptions list`).")],
) -> None:
    """Run the document behind an exception again after its cause is fixed (a mapping, a GL account, a PO).

    Safe to repeat: what Sage already holds is found by its idempotency key and not written twice.
    """
    from mlconnector.commands.running import exceptions_retry as retry

    retry(exception_id)
