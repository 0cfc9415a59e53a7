"""Running the connector: run, sync now, status, replay, and `credentials test`."""

from __future__ import annotations

import base64
import binascii
import logging
import signal
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from mlconnector.cleo import CleoClient, CleoCredentials, CleoError
from mlconnector.commands.context import Context, fail, guarded
from mlconnector.engine import next_run
from mlconnector.flows.connector import Connector
from mlconnector.flows.outbound import Sender
from mlconnector.flows.purchase_orders import Buyer
from mlconnector.flows.receiving import Tolerances
from mlconnector.flows.status import store_status
from mlconnector.sage.agent.client import AgentClient, AgentError
from mlconnector.sage.errors import SageError
from mlconnector.store.models import AuditEntry, ExceptionRecord

if TYPE_CHECKING:
    from mlconnector.engine.runtime import Engine

console = Console()
JOB_NAMES = ("pos", "vendors", "gl", "inbound")


def agent_key(text: str) -> bytes:
    """The agent's HMAC key as stored in the vault: the hex text of the agent's `agent-hmac.key` file (or base64)."""
    text = text.strip()
    try:
        return bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        fail(
            "The stored agent key is neither hex nor base64.",
            hint="Set it again from the agent's agent-hmac.key: `ml-connector credentials set agent`.",
        )


def sage_client(ctx: Context) -> AgentClient:
    sage = ctx.vault.get("sage")
    agent = ctx.vault.get("agent")
    if not ctx.settings.agent.fingerprint:
        fail(
            "The agent's certificate fingerprint is not configured.",
            hint="Set [agent] fingerprint in ml-connector.toml.",
        )
    return AgentClient(
        ctx.settings.agent.url,
        agent_key(agent["key"].reveal()),
        ctx.settings.agent.fingerprint,
        sage["user"].reveal(),
        sage["password"].reveal(),
        sage["company"].reveal() if "company" in sage else ctx.settings.sage_company,
        timeout=ctx.settings.agent.timeout_seconds,
    )


def cleo_client(ctx: Context) -> CleoClient:
    cleo = ctx.vault.get("cleo")
    totp = cleo.get("totp_secret")
    return CleoClient.connect(
        ctx.settings.cleo.base_url,
        CleoCredentials(cleo["username"].reveal(), cleo["password"].reveal(), totp.reveal() if totp else None),
        default_token_ttl=ctx.settings.cleo.default_token_lifetime_seconds,
        timeout=ctx.settings.cleo.timeout_seconds,
        ca_file=ctx.settings.cleo.ca_file,
    )


def open_connector(ctx: Context) -> Connector:
    edi = ctx.settings.edi
    sender = Sender(
        qualifier=edi.sender_qualifier,
        id=edi.sender_id,
        application_id=edi.application_sender,
        usage=edi.usage,
        buyer=Buyer(name=edi.buyer_name, id_code=edi.sender_id),
    )
    tolerances = ctx.settings.tolerances
    return Connector(
        ctx.store,
        sage_client(ctx),
        cleo_client(ctx),
        sender,
        fa_overdue_hours=tolerances.fa_overdue_hours,
        tolerances=Tolerances(
            over_shipment_percent=tolerances.over_shipment_percent,
            price_variance_percent=tolerances.price_variance_percent,
            post_invoices=tolerances.post_invoices,
        ),
    )


def system_database_url(ctx: Context) -> str:
    """DBOS's own tables: beside the store on PostgreSQL (schema `dbos`), a second file on SQLite."""
    if ctx.settings.database_url and not ctx.settings.database_url.startswith("sqlite"):
        return ctx.settings.database_url
    return f"sqlite:///{(ctx.settings.data_dir / 'engine.sqlite').resolve()}"


def make_engine(ctx: Context, connector: Connector) -> Engine:
    from mlconnector.engine.runtime import Engine  # DBOS is heavy to import; only the commands that run jobs need it

    schedule = ctx.settings.schedule
    jobs = connector.jobs(
        purchase_orders=schedule.purchase_orders_seconds,
        vendors=schedule.vendors_seconds,
        gl=schedule.gl_seconds,
        inbound=schedule.inbound_seconds,
    )
    return Engine(
        system_database_url(ctx),
        jobs,
        concurrency=ctx.settings.engine.workers,
        queue_poll_seconds=ctx.settings.engine.queue_poll_seconds,
    )


@guarded
def run() -> None:
    """Run the scheduler and workers until Ctrl-C (start more processes on PostgreSQL to share the work)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    ctx = Context.open()
    connector = open_connector(ctx)
    engine = make_engine(ctx, connector)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    engine.start(schedules=True)
    s = ctx.settings.schedule
    console.print(
        f"ml-connector running (worker {engine.worker_id}): POs every {s.purchase_orders_seconds}s, inbound every "
        f"{s.inbound_seconds}s, vendors every {s.vendors_seconds}s, GL every {s.gl_seconds}s. Ctrl-C to stop."
    )
    try:
        stop.wait()
    finally:
        engine.stop()
        console.print("Stopped.")


sync_app = typer.Typer(help="Run jobs now instead of waiting for their schedule.", no_args_is_help=True)


@sync_app.command("now")
@guarded
def sync_now(
    jobs: Annotated[list[str] | None, typer.Argument(help="pos, vendors, gl, inbound (default: all)")] = None,
) -> None:
    """Run jobs at once and wait for every document they produce."""
    names = jobs or list(JOB_NAMES)
    unknown = [n for n in names if n not in JOB_NAMES]
    if unknown:
        fail(f"Unknown job {', '.join(unknown)}.", hint=f"Use one of: {', '.join(JOB_NAMES)}.")
    ctx = Context.open()
    connector = open_connector(ctx)
    engine = make_engine(ctx, connector)
    engine.start(schedules=False)
    try:
        with console.status("Syncing …"):
            # GL first, so the POs' cost centres come from a fresh cache.
            ordered = [n for n in ("gl", "vendors", "pos", "inbound") if n in names]
            results = engine.run_now(ordered)
    finally:
        engine.stop()
    for name, result in results.items():
        console.print(f"{name}: {result['items']} item(s), {result['done']} done")


@guarded
def status() -> None:
    """Counts, open exceptions, last activity, and whether the agent and Cleo answer."""
    ctx = Context.open()
    st = store_status(ctx.store)
    table = Table("what", "count")
    for key, count in sorted(st.outbound.items()):
        table.add_row(f"outbound {key}", str(count))
    for key, count in sorted(st.fa_status.items()):
        table.add_row(f"997 {key}", str(count))
    for key, count in sorted(st.open_exceptions.items()):
        table.add_row(f"[red]exception {key}[/red]", str(count))
    console.print(table)
    for doc_type, at in sorted(st.last_activity.items()):
        console.print(f"last {doc_type}: {at:%Y-%m-%d %H:%M:%S} UTC")
    now = datetime.now(UTC)
    schedule = ctx.settings.schedule
    for job, seconds in (
        ("pos", schedule.purchase_orders_seconds),
        ("inbound", schedule.inbound_seconds),
        ("vendors", schedule.vendors_seconds),
        ("gl", schedule.gl_seconds),
    ):
        console.print(f"next {job}: {next_run(seconds, now):%Y-%m-%d %H:%M:%S} UTC (every {seconds} s)")
    _reachability(ctx)


def _reachability(ctx: Context) -> None:
    try:
        with sage_client(ctx) as sage:
            accounts = sage.gl_accounts()
        console.print(f"agent: [green]reachable[/green] ({len(accounts)} GL accounts in {ctx.settings.sage_company})")
    except (AgentError, SageError) as exc:
        console.print(f"agent: [red]not usable[/red] — {exc}")
    try:
        with cleo_client(ctx) as cleo:
            cleo.list_inbound(count=1)
        console.print("Cleo: [green]reachable[/green], login accepted")
    except CleoError as exc:
        console.print(f"Cleo: [red]not usable[/red] — {exc}")


@guarded
def replay(
    entry: Annotated[int | None, typer.Argument(help="Audit line id (from `audit list`).")] = None,
    since: Annotated[str | None, typer.Option(help="Replay every outbound document since this ISO time.")] = None,
) -> None:
    """Send documents again from the audit log; idempotency keys make it a no-op where they already arrived."""
    if (entry is None) == (since is None):
        fail("Give an audit line id or --since, not both.", hint="e.g. `ml-connector replay --since 2026-11-26`")
    ctx = Context.open()
    with ctx.store.transaction() as session:
        query = select(AuditEntry.idempotency_key).where(
            AuditEntry.direction == "OUT", AuditEntry.idempotency_key.is_not(None), AuditEntry.status == "staged"
        )
        if entry is not None:
            line = session.get(AuditEntry, entry)
            if line is None or not line.idempotency_key:
                fail(f"Audit line {entry} names no document to replay.")
            keys = [line.idempotency_key]
        else:
            try:
                start = datetime.fromisoformat(since or "")
            except ValueError:
                fail(f"--since {since!r} is not a date/time.")
            keys = list(dict.fromkeys(session.scalars(query.where(AuditEntry.at >= start).order_by(AuditEntry.id))))
    connector = open_connector(ctx)
    outcome = connector.replay([k for k in keys if k])
    counts: dict[str, int] = {}
    for result in outcome.values():
        counts[result] = counts.get(result, 0) + 1
    console.print(", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "Nothing to replay.")


@guarded
def exceptions_retry(
    exception_id: Annotated[int, typer.Argument(help="Exception id (from `exceptions list`).")],
) -> None:
    """Run the document behind an exception again after its cause is fixed (a mapping, a GL account, a PO).

    Safe to repeat: what Sage already holds is found by its idempotency key and not written twice.
    """
    ctx = Context.open()
    connector = open_connector(ctx)
    try:
        status = connector.retry_exception(exception_id)
    except LookupError as exc:
        fail(str(exc), hint="`ml-connector exceptions list` shows the open ones.")
    except ValueError as exc:
        fail(str(exc), hint=f"`ml-connector exceptions resolve {exception_id}` once it is handled.")
    with ctx.store.transaction() as session:
        record = session.get(ExceptionRecord, exception_id)
        still_open = record is not None and record.status == "open"
        others = session.scalars(
            select(ExceptionRecord).where(
                ExceptionRecord.idempotency_key == (record.idempotency_key if record else None),
                ExceptionRecord.status == "open",
            )
        ).all()
        lines = [f"  #{x.id} {x.kind}: {x.what}" for x in others]
    if status in ("applied", "sent") and not still_open:
        console.print(f"Exception {exception_id} retried: the document is applied and the exception resolved.")
    else:
        console.print(f"Exception {exception_id} retried: the document is {status}; still open:")
        console.print("\n".join(lines) or "  (none)")


def credentials_test() -> None:
    """Check Sage (through the agent) and Cleo with the stored credentials, in plain words."""
    ctx = Context.open()
    _reachability(ctx)


def register(app: typer.Typer, credentials_app: typer.Typer) -> None:
    app.command()(run)
    app.add_typer(sync_app, name="sync")
    app.command()(status)
    app.command()(replay)
    credentials_app.command("test")(guarded(credentials_test))
    from mlconnector.commands.admin import exceptions_app  # the `exceptions` group is admin's; retry runs the flows

    exceptions_app.command("retry")(exceptions_retry)
