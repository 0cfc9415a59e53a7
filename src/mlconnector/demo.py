"""`ml-connector demo`: the whole purchasing cycle on one machine, with real processes talking real HTTP.

It seeds the simulated Sage company, starts the agent (simulator backend, HTTPS) and the Cleo sandbox (with one
simulated partner per demo vendor) as their own processes, sets up a demo tenant with its credentials in the
vault, creates POs in Sage (one for a deliberately unmapped vendor), runs `ml-connector run` on accelerated
schedules until every mapped PO is in Cleo, acknowledged (997, 855), shipped (856 → receipt of goods, posted),
invoiced (810 → receipt of invoice, posted) and closed in Sage, prints a summary, and stops what it started.
"""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from sqlalchemy import func, select

from mlconnector.cleo.sandbox.server import CERT_FILE as SANDBOX_CERT
from mlconnector.config import write_config
from mlconnector.sage.agent.tls import AgentFiles, init_agent
from mlconnector.sage.sim.demo import PurchasingClerk
from mlconnector.sage.sim.script import SimBackend
from mlconnector.sage.sim.seed import DEMO_USERS, catalog
from mlconnector.store import Store
from mlconnector.store.models import ExceptionRecord, InboundDocument, OutboundDocument
from mlconnector.store.ops import map_vendor
from mlconnector.tls import trust_context
from mlconnector.vault import Vault, load_master_key

console = Console()
TENANT = "demo"
SAGE_USER = "ml"


@dataclass
class DemoSummary:
    pos: int
    sent_850: int
    held: int
    ack_997: int
    exceptions: int
    seconds: float
    receipts: int = 0
    invoices: int = 0
    closed_pos: int = 0
    passwords: list[str] = field(default_factory=list, repr=False)

    def line(self) -> str:
        return (
            f"pos={self.pos} sent_850={self.sent_850} held={self.held} ack_997={self.ack_997} "
            f"receipts={self.receipts} invoices={self.invoices} closed_pos={self.closed_pos} "
            f"exceptions={self.exceptions}"
        )


DEMO_SCHEDULE = {"purchase_orders": 2, "inbound": 2, "vendors": 30, "gl": 30}
"""The demo's accelerated schedules in seconds (the README quotes them; tests/test_readme.py checks it)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, log: Path, timeout: float = 120) -> None:
    """Wait until `process` listens on `port` (generous: a busy machine can take long to start Python)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start-up; see {log}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start listening on port {port}; see {log}")


class Processes:
    """The processes the demo starts, each logging to its own file, all stopped on the way out."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(
        self, name: str, args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen:
        log = self.logs / f"{name}.log"
        handle = log.open("ab")
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "mlconnector", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        self.running[name] = process
        return process

    def stop(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.running)[::-1]:
            self.stop(name)


# Seconds after an 850 until each simulated partner answer (fast, so the demo finishes in under a minute).
DEMO_DELAYS = {
    "delivered": 0.2,
    "functional_ack": 1,
    "acknowledgment": 2,
    "ship_notice": 3,
    "second_ship_notice": 6,
    "invoice": 5,
}


def partner_file(
    vendors: list[str],
    path: Path,
    delays: dict[str, float] | None = None,
    profiles: dict[str, str] | None = None,
) -> dict[str, str]:
    """One simulated partner per vendor (profile `perfect` unless `profiles` names another, fast answers);
    returns vendor → alias."""
    aliases = {vendor: f"P{vendor.split('-', 1)[1]}" for vendor in vendors}
    book = {
        "defaults": {"profile": "perfect", "delays": {**DEMO_DELAYS, **(delays or {})}},
        "partners": [
            {
                "alias": alias,
                "name": f"{alias} Trading",
                "isa_id": f"{alias}EDI",
                "gs_id": f"{alias}EDI",
                "erp_vendor": vendor,
                **({"profile": (profiles or {})[vendor]} if vendor in (profiles or {}) else {}),
            }
            for vendor, alias in aliases.items()
        ],
    }
    path.write_text(json.dumps(book, indent=1))
    return aliases


@contextmanager
def demo_environment(workdir: Path) -> Iterator[Processes]:
    processes = Processes(workdir / "logs")
    try:
        yield processes
    finally:
        processes.stop_all()


@dataclass
class Stack:
    """Sage (simulator) behind a running agent, a running Cleo sandbox, and a connector tenant set up for both."""

    workdir: Path
    processes: Processes
    sim: SimBackend
    store: Store
    config: Path
    database_url: str
    aliases: dict[str, str]
    unmapped: str
    cleo_port: int
    cleo_password: str
    agent_files: AgentFiles
    profiles: dict[str, str] = field(default_factory=dict)
    cleo_ca_file: Path | None = None

    @property
    def cleo_url(self) -> str:
        return f"{'https' if self.cleo_ca_file else 'http'}://127.0.0.1:{self.cleo_port}"

    def cleo_http(self, **options: Any) -> httpx.Client:
        """An httpx client on the sandbox that trusts its certificate (for checks independent of our Cleo client)."""
        verify = trust_context(self.cleo_ca_file) if self.cleo_ca_file else True
        return httpx.Client(base_url=self.cleo_url, verify=verify, **options)

    def connector_env(self, **extra: str) -> dict[str, str]:
        return {"MLC_CONFIG": str(self.config), "MLC_DATABASE_URL": self.database_url, **extra}

    def connector(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """Run one `ml-connector …` command against this tenant, as its own process."""
        return subprocess.run(
            [sys.executable, "-P", "-m", "mlconnector", *args],
            env={**os.environ, **self.connector_env(), **(env or {})},
            cwd=self.config.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def secrets(self) -> list[str]:
        return [DEMO_USERS[SAGE_USER], self.cleo_password, base64.b64encode(self.agent_files.hmac_key()).decode()]


def start_stack(
    workdir: Path,
    processes: Processes,
    *,
    database_url: str | None = None,
    partner_delays: dict[str, float] | None = None,
    profiles: Sequence[str] = (),
) -> Stack:
    """Seed Sage, start the agent and the sandbox, and set up tenant `demo` (every vendor but the last mapped).

    `profiles` are the simulated partners' profiles, given to the vendors in order (the rest are `perfect`).
    """
    if workdir.exists():
        shutil.rmtree(workdir)
    for sub in ("sage", "agent", "cleo", "connector/var", "logs"):
        (workdir / sub).mkdir(parents=True)
    console.print("[bold]1/6[/bold] Seeding Sage 100 company ABC (simulator) …")
    sim = SimBackend(workdir / "sage")
    sim.init_company(purchase_orders=0)
    vendors = [f"{div}-{no}" for div, no in catalog(sim.connect()).vendors]
    unmapped = vendors[-1]

    console.print("[bold]2/6[/bold] Creating the agent identity and the trading partners …")
    init_agent(workdir / "agent")
    agent_files = AgentFiles(workdir / "agent")
    assigned = {vendor: profile for vendor, profile in zip(vendors, profiles, strict=False)}
    aliases = partner_file(vendors, workdir / "partners.json", partner_delays, assigned)
    cleo_password = secrets.token_urlsafe(16)
    agent_port, cleo_port = free_port(), free_port()

    console.print("[bold]3/6[/bold] Starting the agent and the Cleo sandbox (both HTTPS, self-signed) …")
    agent = processes.start(
        "agent",
        [
            "agent",
            "serve",
            "--backend",
            "simulator",
            "--data",
            str(workdir / "sage"),
            "--dir",
            str(workdir / "agent"),
            "--port",
            str(agent_port),
        ],
    )
    sandbox = processes.start(
        "cleo-sandbox",
        [
            "cleo-sandbox",
            "serve",
            "--data",
            str(workdir / "cleo"),
            "--port",
            str(cleo_port),
            "--partners",
            str(workdir / "partners.json"),
            "--tls",
        ],
        env={"MLC_CLEO_SANDBOX_USERS": f"{TENANT}:{cleo_password}"},
    )
    wait_for_port(agent_port, agent, "the agent", workdir / "logs" / "agent.log")
    wait_for_port(cleo_port, sandbox, "the Cleo sandbox", workdir / "logs" / "cleo-sandbox.log")

    console.print("[bold]4/6[/bold] Setting up tenant 'demo': config, master key, credentials in the vault …")
    connector_dir = workdir / "connector"
    config = connector_dir / "ml-connector.toml"
    write_config(
        config,
        tenant=TENANT,
        data_dir=str(connector_dir / "var"),
        agent_url=f"https://127.0.0.1:{agent_port}",
        cleo_url=f"https://127.0.0.1:{cleo_port}",
        fingerprint=agent_files.fingerprint(),
    )
    cleo_ca_file = workdir / "cleo" / SANDBOX_CERT  # written by the sandbox before it listens
    trust_cleo_certificate(config, cleo_ca_file)
    url = database_url or f"sqlite:///{connector_dir / 'var' / 'ml-connector.sqlite'}"
    store = Store(url)
    vault = Vault(store, load_master_key(connector_dir / "var", TENANT, create=True), TENANT)
    vault.put("sage", {"user": SAGE_USER, "password": DEMO_USERS[SAGE_USER], "company": "ABC"})
    vault.put("cleo", {"username": TENANT, "password": cleo_password})
    vault.put("agent", {"key": base64.b64encode(agent_files.hmac_key()).decode()})
    with store.transaction() as session:
        for vendor, alias in aliases.items():
            if vendor != unmapped:
                map_vendor(session, vendor, alias)
    stack = Stack(workdir, processes, sim, store, config, url, aliases, unmapped, cleo_port, cleo_password, agent_files)
    stack.profiles = {vendor: assigned.get(vendor, "perfect") for vendor in vendors}
    stack.cleo_ca_file = cleo_ca_file
    return stack


def trust_cleo_certificate(config: Path, ca_file: Path) -> None:
    """Name the sandbox's self-signed certificate as the one CA the connector trusts for Cleo (`[cleo] ca_file`)."""
    text = config.read_text()
    section = text.index("[cleo]\n") + len("[cleo]\n")
    line = f'ca_file = "{ca_file}"  # the Cleo sandbox\'s self-signed certificate, trusted explicitly\n'
    config.write_text(text[:section] + line + text[section:])


def create_purchase_orders(stack: Stack, count: int, *, unmapped: int = 0, seed: int = 11) -> list[str]:
    """`count` POs for random mapped vendors and `unmapped` for the unmapped one, through BOI like a buyer."""
    rng = random.Random(seed)
    mapped = [v for v in stack.aliases if v != stack.unmapped]
    clerk = PurchasingClerk(stack.sim)
    try:
        made = [
            clerk.create_po(rng, vendor=rng.choice(mapped).split("-", 1)[1], lines=rng.randint(1, 10))
            for _ in range(count)
        ]
        made += [clerk.create_po(rng, vendor=stack.unmapped.split("-", 1)[1], lines=3) for _ in range(unmapped)]
    finally:
        clerk.close()
    return made


def run_demo(
    workdir: Path,
    *,
    purchase_orders: int = 12,
    timeout: float = 150.0,
    observe: Callable[[Processes], None] | None = None,
    serve: bool = False,
) -> DemoSummary:
    """Run the demo in `workdir` (wiped first); `observe` is called once while every process is up (tests)."""
    started = time.monotonic()
    with demo_environment(workdir) as processes:
        stack = start_stack(workdir, processes)
        console.print(
            f"[bold]5/6[/bold] Creating {purchase_orders} POs in Sage (+1 for unmapped vendor {stack.unmapped}) …"
        )
        made = create_purchase_orders(stack, purchase_orders, unmapped=1)
        mapped = made[:purchase_orders]
        console.print(
            f"[bold]6/6[/bold] Running the connector (POs and inbound every {DEMO_SCHEDULE['purchase_orders']} s) "
            "until every PO is in Cleo and received in Sage, and every invoice is entered in Sage or stopped as an "
            "exception …"
        )
        env = stack.connector_env(
            **{f"MLC_SCHEDULE__{job.upper()}_SECONDS": str(seconds) for job, seconds in DEMO_SCHEDULE.items()}
        )
        processes.start("connector", ["run"], env=env, cwd=stack.config.parent)
        observed = False
        deadline = started + timeout
        columns = (SpinnerColumn(), TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console) as bar:
            stages = {
                name: bar.add_task(name, total=purchase_orders)
                for name in ("850s sent to Cleo", "850s accepted (997)", "POs received, invoiced, closed")
            }
            while time.monotonic() < deadline:
                sent, acked = _progress(stack.store)
                if not observed and sent:
                    if observe:
                        observe(processes)
                    observed = True
                cycle = sage_cycle(stack.sim, mapped)
                for name, done in zip(stages, (sent, acked, cycle.completed), strict=True):
                    bar.update(stages[name], completed=min(done, purchase_orders))
                if (
                    sent >= purchase_orders
                    and acked >= purchase_orders
                    and cycle.closed >= purchase_orders
                    and _invoices_settled(stack.store, purchase_orders)
                ):
                    break
                if processes.running["connector"].poll() is not None:
                    raise RuntimeError(f"the connector stopped; see {workdir / 'logs' / 'connector.log'}")
                time.sleep(0.5)
        processes.stop("connector")
        summary = _summary(stack.store, purchase_orders + 1, time.monotonic() - started)
        cycle = sage_cycle(stack.sim, made)
        summary.receipts, summary.invoices, summary.closed_pos = cycle.receipts, cycle.invoices, cycle.completed
        _print_table(stack.store, stack.config)
        # The Cleo sandbox lists what arrived, independently of our own bookkeeping.
        arrived = cleo_outbound_count(stack)
        console.print(
            f"Cleo sandbox holds {arrived} outbound message(s) for tenant {TENANT}: our 850s and the 997s answering "
            "the partners' 855s, ASNs and invoices."
        )
        summary.passwords = stack.secrets()
        if serve:  # `demo --serve`: the stack, the connector and the console stay up until Ctrl-C / SIGTERM
            from mlconnector.web.demo import keep_serving

            keep_serving(stack, processes)
        stack.store.close()
    return summary


@dataclass(frozen=True)
class SageCycle:
    """What Sage itself holds for the demo's POs (read from the simulated company, not from our bookkeeping)."""

    receipts: int
    invoices: int
    closed: int
    invoiced_pos: int
    completed: int = 0
    """Closed in Sage *and* invoiced: a PO whose invoice is held on an exception is not done, though Sage closed it
    on receipt."""


def sage_cycle(sim: SimBackend, po_numbers: list[str]) -> SageCycle:
    """Receipts of goods and of invoice (pending or posted) and complete POs among `po_numbers`."""
    if not po_numbers:
        return SageCycle(0, 0, 0, 0, 0)
    marks = ",".join("?" * len(po_numbers))
    conn = sim.connect()
    try:
        rows = conn.execute(
            f"SELECT ReceiptType, PurchaseOrderNo FROM PO_ReceiptHeader WHERE PurchaseOrderNo IN ({marks}) "
            f"UNION ALL SELECT ReceiptType, PurchaseOrderNo FROM PO_ReceiptHistoryHeader "
            f"WHERE PurchaseOrderNo IN ({marks})",
            [*po_numbers, *po_numbers],
        ).fetchall()
        closed = {
            r[0]
            for r in conn.execute(
                f"SELECT PurchaseOrderNo FROM PO_PurchaseOrderHeader WHERE OrderStatus = 'X' "
                f"AND PurchaseOrderNo IN ({marks})",
                po_numbers,
            )
        }
    finally:
        conn.close()
    invoiced = {po for kind, po in rows if kind == "I"}
    return SageCycle(
        receipts=sum(kind == "G" for kind, _ in rows),
        invoices=sum(kind == "I" for kind, _ in rows),
        closed=len(closed),
        invoiced_pos=len(invoiced),
        completed=len(closed & invoiced),
    )


def _invoices_settled(store: Store, pos: int) -> bool:
    """Every PO's 810 is in and nothing is left to process (each invoice entered in Sage or an exception)."""
    with store.transaction() as session:
        invoices = session.scalar(
            select(func.count()).select_from(InboundDocument).where(InboundDocument.document_type == "810")
        )
        waiting = session.scalar(
            select(func.count())
            .select_from(InboundDocument)
            .where(InboundDocument.status.in_(("received", "applying")))
        )
    return int(invoices or 0) >= pos and not waiting


def _progress(store: Store) -> tuple[int, int]:
    with store.transaction() as session:
        sent = session.scalar(
            select(func.count()).select_from(OutboundDocument).where(OutboundDocument.status == "sent")
        )
        acked = session.scalar(
            select(func.count()).select_from(OutboundDocument).where(OutboundDocument.fa_status == "accepted")
        )
    return int(sent or 0), int(acked or 0)


def _summary(store: Store, total: int, seconds: float) -> DemoSummary:
    with store.transaction() as session:

        def count(*where) -> int:  # type: ignore[no-untyped-def]
            return int(session.scalar(select(func.count()).select_from(OutboundDocument).where(*where)) or 0)

        sent = count(OutboundDocument.status == "sent", OutboundDocument.document_type == "850")
        held = count(OutboundDocument.status == "held")
        acked = count(OutboundDocument.fa_status == "accepted")
        exceptions = int(
            session.scalar(select(func.count()).select_from(ExceptionRecord).where(ExceptionRecord.status == "open"))
            or 0
        )
    return DemoSummary(total, sent, held, acked, exceptions, seconds)


def _print_table(store: Store, config: Path) -> None:
    table = Table("PO", "vendor", "partner", "document", "status", "997")
    with store.transaction() as session:
        for row in session.scalars(select(OutboundDocument).order_by(OutboundDocument.po_number)):
            table.add_row(
                row.po_number, row.vendor_no, row.partner or "—", row.document_type, row.status, row.fa_status
            )
        for x in session.scalars(select(ExceptionRecord).where(ExceptionRecord.status == "open")):
            console.print(f"[yellow]exception[/yellow] {x.what}: {x.why}\n  fix: {x.suggested_fix}")
    console.print(table)
    console.print(
        f"Look next:  MLC_CONFIG={config} ml-connector status | exceptions list | audit list\n"
        f"            logs in {config.parent.parent / 'logs'}"
    )


def cleo_outbound_messages(stack: Stack, *, with_payload: bool = True) -> list[dict]:
    """Every outbound message the sandbox holds for the tenant, read over its own API."""
    with stack.cleo_http(timeout=10) as http:
        login = {"grant_type": "password", "username": TENANT, "password": stack.cleo_password}
        token = http.post("/api/authentication", data=login).json()["access_token"]
        messages: list[dict] = []
        while True:
            page = http.get(
                "/api/messages",
                params={"filter": 'direction eq "outbound"', "startIndex": len(messages), "count": 500},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            messages.extend(page["resources"])
            if not page["resources"] or len(messages) >= page["totalResults"]:
                break
        if with_payload:
            for message in messages:
                href = message["_links"]["content"]["href"]
                message["payload"] = http.get(href, headers={"Authorization": f"Bearer {token}"}).text
    return messages


def cleo_outbound_count(stack: Stack) -> int:
    return len(cleo_outbound_messages(stack, with_payload=False))
