"""Running the connector: run, sync now, status, replay, and `credentials test`.

The flows are imported inside the commands that run them, so `status` and `credentials test` load only the store
and the two clients.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from sqlalchemy import func, select

from mlconnector.cleo import CleoClient, CleoCredentials
from mlconnector.cleo.session import RetryPolicy
from mlconnector.commands.context import Context, fail
from mlconnector.commands.errors import explain
from mlconnector.engine import next_run
from mlconnector.flows.status import store_status, waiting_documents
from mlconnector.sage.agent.client import AgentClient
from mlconnector.store.models import AuditEntry, ExceptionRecord

if TYPE_CHECKING:
    from mlconnector.engine import Job
    from mlconnector.engine.runtime import Engine
    from mlconnector.flows.connector import Connector
    from mlconnector.store import Store
    from mlconnector.store.platform import Platform

console = Console()
JOB_NAMES = ("pos", "vendors", "gl", "inbound")
HOSTED_PAGE = 100
"""POs a hosted tenant's PO run reads (and stages) at most: its next run, seconds later, reads on from there."""
CHECK_TIMEOUT = httpx.Timeout(5.0, connect=1.0)
"""`status` and `credentials test`: one attempt each, one second to connect, so a dead host answers in ~1 s."""
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts and monitoring.")]


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


def sage_client(ctx: Context, *, quick: bool = False) -> AgentClient:
    sage = ctx.vault.get("sage")
    agent = ctx.vault.get("agent")
    settings = ctx.settings.agent
    if settings.hub_url:
        if not (settings.hub_fingerprint or settings.hub_ca_file):
            fail("The hub's certificate is not configured.", hint="Set [agent] hub_fingerprint or hub_ca_file.")
        return AgentClient.via_hub(
            settings.hub_url,
            ctx.settings.tenant,
            ctx.vault.get("hub")["token"].reveal(),
            agent_key(agent["key"].reveal()),
            sage["user"].reveal(),
            sage["password"].reveal(),
            sage["company"].reveal() if "company" in sage else ctx.settings.sage_company,
            hub_fingerprint=settings.hub_fingerprint,
            hub_ca_file=str(settings.hub_ca_file) if settings.hub_ca_file else None,
            timeout=CHECK_TIMEOUT if quick else settings.timeout_seconds,
            attempts=1 if quick else 4,
        )
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
        timeout=CHECK_TIMEOUT if quick else ctx.settings.agent.timeout_seconds,  # type: ignore[arg-type]
        attempts=1 if quick else 4,
    )


def cleo_client(ctx: Context, *, quick: bool = False) -> CleoClient:
    cleo = ctx.vault.get("cleo")
    totp = cleo.get("totp_secret")
    return CleoClient.connect(
        ctx.settings.cleo.base_url,
        CleoCredentials(cleo["username"].reveal(), cleo["password"].reveal(), totp.reveal() if totp else None),
        default_token_ttl=ctx.settings.cleo.default_token_lifetime_seconds,
        timeout=CHECK_TIMEOUT if quick else ctx.settings.cleo.timeout_seconds,  # type: ignore[arg-type]
        retry=RetryPolicy(attempts=1, total_timeout=5.0) if quick else None,
        ca_file=ctx.settings.cleo.ca_file,
    )


def open_connector(ctx: Context) -> Connector:
    from mlconnector.flows import faults
    from mlconnector.flows.connector import Connector
    from mlconnector.flows.inbound import Tolerances
    from mlconnector.flows.liveness import Backoff
    from mlconnector.flows.outbound import Sender
    from mlconnector.flows.purchase_orders import Buyer

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
        backoff=Backoff(
            first_seconds=ctx.settings.retry.first_seconds,
            max_seconds=ctx.settings.retry.max_seconds,
            stalled_after=timedelta(hours=ctx.settings.retry.stalled_after_hours),
        ),
        tolerances=Tolerances(
            over_shipment_percent=tolerances.over_shipment_percent,
            price_variance_percent=tolerances.price_variance_percent,
            price_variance_amount=tolerances.price_variance_amount,
            post_invoices=tolerances.post_invoices,
        ),
        fault=faults.point,  # the kill -9 tests arm it with MLC_FAULT_AT; otherwise nothing happens
    )


def system_database_url(ctx: Context) -> str:
    """DBOS's own tables: beside the store on PostgreSQL (schema `dbos`), a second file on SQLite."""
    if ctx.settings.database_url and not ctx.settings.database_url.startswith("sqlite"):
        return ctx.settings.database_url
    return f"sqlite:///{(ctx.settings.data_dir / 'engine.sqlite').resolve()}"


def connector_jobs(ctx: Context, connector: Connector) -> list[Job]:
    """The tenant's jobs on its own schedule: timed, plus the alerts job when its [alerts] are enabled."""
    from mlconnector.observability import runtime as observability

    schedule = ctx.settings.schedule
    jobs = connector.jobs(
        purchase_orders=schedule.purchase_orders_seconds,
        vendors=schedule.vendors_seconds,
        gl=schedule.gl_seconds,
        inbound=schedule.inbound_seconds,
    )
    return observability.jobs_with_observers(ctx, jobs)


def make_engine(
    ctx: Context, connector: Connector | None, *, tenants: HostedTenants | None = None, leases: Platform | None = None
) -> Engine:
    from mlconnector.engine.runtime import Engine  # DBOS is heavy to import; only the commands that run jobs need it

    hosted = ctx.store.schema is not None  # `--tenant ID`: its jobs carry its name, so its workflows are its own
    engine = ctx.settings.engine
    return Engine(
        system_database_url(ctx),
        connector_jobs(ctx, connector) if connector is not None else [],
        concurrency=engine.workers,
        queue_poll_seconds=engine.queue_poll_seconds,
        tenant=ctx.settings.tenant if hosted else "default",
        tenants=tenants,
        tenant_concurrency=engine.tenant_workers,
        reconcile_seconds=engine.reconcile_seconds,
        leases=leases,
        heartbeat_seconds=engine.heartbeat_seconds,
        lease_seconds=engine.worker_lease_seconds,
    )


class HostedTenants:
    """The engine's tenant source in a hosted deployment: the registry, and each tenant's connector built from its
    own config, vault and schema (the previous one closed when a tenant is loaded again)."""

    def __init__(self, base: Context, platform: Platform) -> None:
        self.base, self.platform = base, platform
        self.contexts: dict[str, Context] = {}
        self.counted: dict[str, Store] = {}  # the metrics' own handles on the tenants' schemas

    def enabled(self) -> dict[str, str]:
        return {t.id: t.updated_at.isoformat() for t in self.platform.registered() if t.enabled}

    def jobs(self, tenant: str) -> list[Job]:
        from mlconnector.observability import logging as logs
        from mlconnector.observability import runtime as observability

        ctx = Context.hosted(self.base.settings, tenant, key=self.base.key)
        try:
            logs.register_vault(ctx.vault)  # its secrets are masked in every log line too
            connector = open_connector(ctx)
            connector.page_size, connector.pages_per_run = HOSTED_PAGE, 1  # a burst is sent while it is being read
            observability.instrument(connector, tenant=tenant)
            jobs = connector_jobs(ctx, connector)
        except BaseException:
            ctx.store.close()
            raise
        previous = self.contexts.pop(tenant, None)
        if previous is not None:
            previous.store.close()
        self.contexts[tenant] = ctx
        return jobs

    def stores(self) -> dict[str, Store]:
        """Every enabled tenant's store, for the metrics endpoint (called at each scrape, on its thread).

        Its own handles (run_migrations=False: no I/O to open one), not the engine's, which a reload closes."""
        from mlconnector.store import Store

        found: dict[str, Store] = {}
        for tenant in self.platform.registered():
            if tenant.enabled:
                if tenant.id not in self.counted:
                    self.counted[tenant.id] = Store(
                        self.base.settings.store_url, schema=tenant.schema, run_migrations=False
                    )
                found[tenant.id] = self.counted[tenant.id]
        return found

    def close(self) -> None:
        for ctx in self.contexts.values():
            ctx.store.close()
        self.contexts.clear()
        for store in self.counted.values():
            store.close()
        self.counted.clear()


def start_web_console(ctx: Context):  # type: ignore[no-untyped-def]
    """[web] enabled: the console in this process (FastAPI and uvicorn are imported only then)."""
    if not ctx.settings.web.enabled:
        return None
    from mlconnector.web.cli import start_in_background

    return start_in_background(ctx)


def stop_web_console(started) -> None:  # type: ignore[no-untyped-def]
    if started is not None:
        from mlconnector.web.cli import stop_background

        stop_background(started)


def run(
    log_json: Annotated[bool, typer.Option("--log-json", help="Log one JSON object per line.")] = False,
) -> None:
    """Run the scheduler and workers until Ctrl-C (start more processes on PostgreSQL to share the work)."""
    from mlconnector.observability import runtime as observability
    from mlconnector.store.platform import Platform

    ctx = Context.open()
    observability.start_logging(ctx, json=log_json)
    postgres = not ctx.settings.store_url.startswith("sqlite")
    hosted = ctx.settings.hosted and ctx.store.schema is None
    if ctx.settings.hosted and not postgres:
        fail(
            "hosted = true needs PostgreSQL.", hint='Set database_url = "postgresql+psycopg://…" in ml-connector.toml.'
        )
    # On PostgreSQL every worker writes a heartbeat, so a survivor recovers the work of one that was killed.
    platform = Platform(ctx.settings.store_url) if postgres else None
    tenants = HostedTenants(ctx, platform) if hosted and platform is not None else None
    connector = None if hosted else open_connector(ctx)
    if connector is not None:
        observability.instrument(connector)
    metrics_port = observability.start_metrics(ctx, tenants=tenants.stores if tenants is not None else None)
    web_console = start_web_console(ctx)  # hosted: one console for every tenant (web/cli.console_services)
    engine = make_engine(ctx, connector, tenants=tenants, leases=platform)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    engine.start(schedules=True)
    s = ctx.settings.schedule
    if hosted:
        console.print(
            f"ml-connector running (worker {engine.worker_id}), hosted: {len(engine.served)} tenant(s) served, "
            f"the registry read every {ctx.settings.engine.reconcile_seconds:g}s. Ctrl-C to stop."
        )
    else:
        console.print(
            f"ml-connector running (worker {engine.worker_id}): POs every {s.purchase_orders_seconds}s, inbound "
            f"every {s.inbound_seconds}s, vendors every {s.vendors_seconds}s, GL every {s.gl_seconds}s. Ctrl-C to stop."
        )
    if metrics_port:
        console.print(f"Metrics: http://{ctx.settings.metrics.host}:{metrics_port}/metrics")
    if web_console:
        scheme = "https" if ctx.settings.web.certfile else "http"
        console.print(f"Console: {scheme}://{ctx.settings.web.host}:{web_console[2]}")
    try:
        stop.wait()
    finally:
        engine.stop()
        stop_web_console(web_console)
        if tenants is not None:
            tenants.close()
        if platform is not None:
            platform.close()
        console.print("Stopped.")


sync_app = typer.Typer(help="Run jobs now instead of waiting for their schedule.", no_args_is_help=True)


@sync_app.command("now")
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
    # GL first, so the POs' cost centres come from a fresh cache.
    ordered = [n for n in ("gl", "vendors", "pos", "inbound") if n in names]
    lines: list[str] = []
    held = False
    engine.start(schedules=False)
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("sync", total=len(ordered))
            for name in ordered:
                progress.update(task, description=f"sync {name}")
                before = _last_audit_id(ctx)
                result = engine.run_now([name])[name]
                moved = _audit_since(ctx, before)
                held = held or any(what == "held" for _, what, _ in moved)
                lines.append(_sync_line(name, moved, result))
                progress.advance(task)
    finally:
        engine.stop()
    for line in lines:
        console.print(line, markup=False, highlight=False)
    if held:
        console.print("Held documents wait for a fix: `ml-connector exceptions list`.")


def _last_audit_id(ctx: Context) -> int:
    with ctx.store.transaction() as session:
        return session.scalar(select(func.max(AuditEntry.id))) or 0


def _audit_since(ctx: Context, after: int) -> list[tuple[str, str, int]]:
    with ctx.store.transaction() as session:
        rows = session.execute(
            select(AuditEntry.document_type, AuditEntry.status, func.count())
            .where(AuditEntry.id > after)
            .group_by(AuditEntry.document_type, AuditEntry.status)
            .order_by(AuditEntry.document_type, AuditEntry.status)
        ).all()
    return [(doc, what, n) for doc, what, n in rows]


def _sync_line(name: str, moved: list[tuple[str, str, int]], result: dict[str, int]) -> str:
    """What one job did, from the audit log (`pos: 850 sent 1, 850 skipped 1`), not the workers' item count: held
    and skipped POs are no work for the workers, but a clerk wants them counted (25 held POs are not "0 items")."""
    if result.get("skipped"):
        return f"{name}: not run (this tenant is not served: disabled or gone)"
    return f"{name}: " + (", ".join(f"{doc} {what} {n}" for doc, what, n in moved) or "nothing new")


@dataclass
class Check:
    """Can the connector use one of the systems it needs, in plain words."""

    name: str
    ok: bool
    detail: str
    hint: str | None = None


def _check(name: str, probe: Any) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as exc:  # every failure is a finding here, said in the error table's words
        problem = explain(exc)
        return Check(name, False, problem.message, problem.hint)


def reachability(ctx: Context) -> list[Check]:
    """Ask the agent (a GL chart read, which needs the Sage logon) and Cleo (a login and one listing) at once."""

    def agent() -> str:
        with sage_client(ctx, quick=True) as sage:
            accounts = sage.gl_accounts()
        return f"reachable, Sage logon accepted ({len(accounts)} GL accounts in {ctx.settings.sage_company})"

    def cleo() -> str:
        with cleo_client(ctx, quick=True) as client:
            client.list_inbound(count=1)
        return "reachable, login accepted"

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_check, "agent", agent), pool.submit(_check, "Cleo", cleo)]
        return [f.result() for f in futures]


def _print_checks(checks: list[Check]) -> None:
    for check in checks:
        mark = "[green]OK[/green]" if check.ok else "[red]NOT USABLE[/red]"
        console.print(f"{check.name}: {mark} — ", end="")
        console.print(check.detail, markup=False, highlight=False)
        if check.hint:
            console.print(f"  hint: {check.hint}", markup=False, highlight=False)


def status(as_json: JsonOption = False) -> None:
    """Counts, open exceptions, last activity, and whether the agent and Cleo answer.

    Exits 1 when the agent or Cleo cannot be used (for monitoring), 0 otherwise.
    """
    ctx = Context.open()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending_checks = pool.submit(reachability, ctx)  # the network checks run while the store is read
        st = store_status(ctx.store)
        waiting = waiting_documents(ctx.store)
        checks = pending_checks.result()
    now = datetime.now(UTC)
    schedule = ctx.settings.schedule
    next_runs = {
        job: (next_run(seconds, now), seconds)
        for job, seconds in (
            ("pos", schedule.purchase_orders_seconds),
            ("inbound", schedule.inbound_seconds),
            ("vendors", schedule.vendors_seconds),
            ("gl", schedule.gl_seconds),
        )
    }
    ok = all(c.ok for c in checks)
    if as_json:
        data = {
            "ok": ok,
            **dataclasses.asdict(st),
            "waiting": [dataclasses.asdict(group) for group in waiting],
            "next_run": {job: {"at": at, "every_seconds": every} for job, (at, every) in next_runs.items()},
            "checks": {c.name.lower(): dataclasses.asdict(c) for c in checks},
        }
        typer.echo(json.dumps(data, default=str, indent=2))
    else:
        table = Table("what", "count")
        for prefix, counts in (("outbound", st.outbound), ("997", st.fa_status), ("inbound", st.inbound)):
            for key, count in sorted(counts.items()):
                table.add_row(f"{prefix} {key}", str(count))
        for key, count in sorted(st.open_exceptions.items()):
            table.add_row(f"[red]exception {key}[/red]", str(count))
        console.print(table if table.row_count else "No documents yet.")
        for group in waiting:
            line = f"waiting {group.kind}: {group.waiting}, oldest {str(group.oldest_age).split('.')[0]}"
            if group.retrying:
                line += f"; {group.retrying} retrying"
                line += f", next {group.next_attempt:%H:%M:%S} UTC" if group.next_attempt else ""
                line += f" — last error: {group.last_error}"
            console.print(line, markup=False)
        for doc_type, at in sorted(st.last_activity.items()):
            console.print(f"last {doc_type}: {at:%Y-%m-%d %H:%M:%S} UTC")
        for job, (at, every) in next_runs.items():
            console.print(f"next {job}: {at:%Y-%m-%d %H:%M:%S} UTC (every {every} s)")
        _print_checks(checks)
    if not ok:
        raise typer.Exit(1)


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


def credentials_test(as_json: bool = False) -> None:
    """Check Sage (through the agent) and Cleo with the stored credentials; exit 1 when either cannot be used."""
    checks = reachability(Context.open())
    if as_json:
        typer.echo(json.dumps({"ok": all(c.ok for c in checks), "checks": [dataclasses.asdict(c) for c in checks]}))
    else:
        _print_checks(checks)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)
