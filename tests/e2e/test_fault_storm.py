"""A fault storm over real processes: `ml-connector run` SIGKILLed about ten times at random moments, the agent and
the Cleo sandbox killed and restarted, Cleo 500s and dropped connections — during a full cycle of dozens of POs with
partners answering 997/855/856/810. After a quiet period: every effect exactly once, nothing left open, nothing
unread in Cleo. SQLite with one worker, PostgreSQL with two. The seed is printed; rerun one with MLC_STORM_SEED."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from mlconnector.cleo import CleoClient, CleoCredentials
from mlconnector.cleo.sandbox.server import SandboxAdmin
from mlconnector.demo import (
    Stack,
    cleo_outbound_messages,
    create_purchase_orders,
    demo_environment,
    start_stack,
    wait_for_port,
)
from mlconnector.store.models import ControlNumberCounter, InboundDocument, OutboundDocument

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # set-up, a 45 s storm, up to 150 s to settle

POS = 24
STORM_SECONDS = 45.0
QUIET_TIMEOUT = 300.0  # for a loaded machine (load 27 needed more than 150 s); it ends as soon as everything settled
DELAYS = {
    "delivered": 0.1,
    "functional_ack": 0.5,
    "acknowledgment": 0.8,
    "ship_notice": 1.2,
    "second_ship_notice": 2.0,
    "invoice": 1.6,
}


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[Stack]:
    with demo_environment(tmp_path / "stack") as processes:
        built = start_stack(tmp_path / "stack", processes, database_url=database_url, partner_delays=DELAYS)
        try:
            yield built
        finally:
            built.store.close()


class Storm:
    """Starts, kills and restarts the stack's processes; counts what it did."""

    def __init__(self, stack: Stack, rng: random.Random, workers: int) -> None:
        self.stack, self.rng = stack, rng
        self.processes = stack.processes
        self.args = {name: list(p.args)[4:] for name, p in self.processes.running.items()}  # type: ignore[arg-type]
        self.sandbox_env = {"MLC_CLEO_SANDBOX_USERS": f"demo:{stack.cleo_password}"}
        self.workers = [f"connector-{n}" for n in range(1, workers + 1)]
        self.kills: Counter[str] = Counter()
        self.started: dict[str, float] = {}
        self.env = stack.connector_env(
            MLC_SCHEDULE__PURCHASE_ORDERS_SECONDS="2",
            MLC_SCHEDULE__INBOUND_SECONDS="2",
            MLC_SCHEDULE__VENDORS_SECONDS="30",
            MLC_SCHEDULE__GL_SECONDS="30",
            MLC_RETRY__FIRST_SECONDS="1",
            MLC_RETRY__MAX_SECONDS="4",
            MLC_CLEO__TIMEOUT_SECONDS="5",
            MLC_AGENT__TIMEOUT_SECONDS="5",
        )

    def start_worker(self, name: str) -> None:
        env = {**self.env, "MLC_WORKER_ID": f"storm-{name}"}
        self.processes.start(name, ["run"], env=env, cwd=self.stack.config.parent)
        self.started[name] = time.monotonic()

    def kill(self, name: str) -> None:
        process = self.processes.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.kills[name.split("-")[0] if name.startswith("connector") else name] += 1

    def restart(self, name: str) -> None:
        """Start it again and wait until it listens (under load a start-up takes seconds; the storm goes on after)."""
        env = self.sandbox_env if name == "cleo-sandbox" else None
        process = self.processes.start(name, self.args[name], env=env)
        port = int(self.args[name][self.args[name].index("--port") + 1])
        wait_for_port(port, process, name, self.processes.logs / f"{name}.log", timeout=60)

    def cleo_faults(self) -> None:
        """500s on the next calls and dropped connections on the next POSTs (half of them after the POST was
        stored, so the connector never learns it arrived). A fresh admin client each time: the sandbox may have
        been restarted since, and a pooled connection to the old process would fail."""
        admin = SandboxAdmin(self.stack.cleo_url, "demo", ca_file=self.stack.cleo_ca_file)
        try:
            admin.add_fault("500", count=self.rng.randint(2, 6))
            when = self.rng.choice(["before", "after"])
            admin.add_fault("drop", count=self.rng.randint(1, 3), method="POST", when=when)
            self.kills["cleo-faults"] += 1
        except (httpx.HTTPError, RuntimeError) as exc:
            self.kills["cleo-faults-missed"] += 1  # the sandbox was down at that moment: nothing to arm
            print(f"cleo faults not armed: {exc!r}")
        finally:
            admin.close()

    def run(self, seconds: float, connector_kills: int, agent_kills: int, sandbox_kills: int) -> None:
        plan = (
            ["connector"] * connector_kills + ["agent"] * agent_kills + ["cleo-sandbox"] * sandbox_kills + ["cleo"] * 4
        )
        self.rng.shuffle(plan)
        gap = seconds / len(plan)
        for event in plan:
            time.sleep(self.rng.uniform(0.4 * gap, 1.6 * gap))
            if event == "connector":
                worker = self.rng.choice(self.workers)
                # A random moment of its life, but not always during start-up (DBOS and the imports take seconds):
                # most kills land while it collects, stages, sends or applies.
                alive = time.monotonic() - self.started[worker]
                time.sleep(max(0.0, self.rng.uniform(1.0, 8.0) - alive))
                self.kill(worker)
                time.sleep(self.rng.uniform(0.0, 0.5))
                self.start_worker(worker)
            elif event == "cleo":
                self.cleo_faults()
            else:
                self.kill(event)
                time.sleep(self.rng.uniform(0.5, 2.0))
                self.restart(event)


def _activate_gl(stack: Stack) -> None:
    """The seeded chart has an inactive account on purpose (a GL exception in the demo); the storm wants a clean
    cycle, so every permanent exception would be a finding."""
    conn = sqlite3.connect(stack.sim.db_path)
    conn.execute("UPDATE GL_Account SET Status='A'")
    conn.commit()
    conn.close()


def _count(stack: Stack, model, *where) -> int:  # type: ignore[no-untyped-def]
    with stack.store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _sage_receipts(stack: Stack) -> Counter[tuple[str, str]]:
    conn = sqlite3.connect(stack.sim.db_path)
    try:
        rows = conn.execute(
            "SELECT ReceiptType, PurchaseOrderNo FROM PO_ReceiptHeader UNION ALL "
            "SELECT ReceiptType, PurchaseOrderNo FROM PO_ReceiptHistoryHeader"
        ).fetchall()
    finally:
        conn.close()
    return Counter((kind, po) for kind, po in rows)


def _settled(stack: Stack, pos: list[str]) -> bool:
    receipts = _sage_receipts(stack)
    return (
        all(receipts[("G", po)] >= 1 and receipts[("I", po)] >= 1 for po in pos)
        and _count(stack, OutboundDocument, OutboundDocument.status == "pending") == 0
        and _count(stack, InboundDocument, InboundDocument.status.in_(("received", "applying"))) == 0
        and _count(stack, InboundDocument, InboundDocument.ack_status == "pending") == 0
    )


def _po_of(payload: str) -> str:
    element = payload[3]
    found = re.search(rf"BEG\{element}\d\d\{element}[A-Z]{{2}}\{element}([^\{element}~\n]+)", payload)
    assert found, payload[:200]
    return found.group(1)


def test_fault_storm_every_effect_once_and_nothing_stuck(stack: Stack, database_url: str) -> None:
    seed = int(os.environ.get("MLC_STORM_SEED") or random.SystemRandom().randrange(1, 1_000_000))
    print(f"\nfault storm seed: {seed}  (rerun: MLC_STORM_SEED={seed})")
    rng = random.Random(seed)
    postgres = not database_url.startswith("sqlite")
    _activate_gl(stack)
    pos = create_purchase_orders(stack, POS, seed=seed)
    storm = Storm(stack, rng, workers=2 if postgres else 1)
    for worker in storm.workers:
        storm.start_worker(worker)
    storm.run(STORM_SECONDS, connector_kills=10, agent_kills=rng.randint(3, 5), sandbox_kills=rng.randint(2, 3))
    print(f"storm: {dict(storm.kills)}")

    storm_ended = time.monotonic()
    deadline = storm_ended + QUIET_TIMEOUT
    while time.monotonic() < deadline and not _settled(stack, pos):
        for name in storm.workers:
            process = stack.processes.running.get(name)
            assert process is not None and process.poll() is None, f"{name} stopped; see {stack.workdir}/logs"
        time.sleep(1.0)
    print(f"settled {time.monotonic() - storm_ended:.0f} s after the storm")
    time.sleep(5)  # a quiet period of a few more ticks
    storm.processes.stop("connector-1")
    for name in storm.workers[1:]:
        storm.processes.stop(name)

    # Nothing left open: no document in a non-final state, no 997 of ours unsent, nothing unread in Cleo.
    with stack.store.transaction() as session:
        open_out = session.execute(
            select(OutboundDocument.idempotency_key, OutboundDocument.status, OutboundDocument.last_error).where(
                OutboundDocument.status.not_in(("sent", "superseded", "released"))
            )
        ).all()
        open_in = session.execute(
            select(InboundDocument.idempotency_key, InboundDocument.status, InboundDocument.last_error).where(
                InboundDocument.status.not_in(("applied", "duplicate"))
            )
        ).all()
        unsent_acks = session.scalars(
            select(InboundDocument.idempotency_key).where(InboundDocument.ack_status.not_in(("sent", "not_needed")))
        ).all()
        counters = {c.partner: c.last_interchange for c in session.scalars(select(ControlNumberCounter))}
    assert open_out == [], f"seed {seed}"
    assert open_in == [], f"seed {seed}"
    assert unsent_acks == [], f"seed {seed}"
    cleo = CleoClient.connect(stack.cleo_url, CleoCredentials("demo", stack.cleo_password), ca_file=stack.cleo_ca_file)
    try:
        assert list(cleo.iter_inbound()) == [], f"seed {seed}: inbound messages left unread in Cleo"
    finally:
        cleo.close()

    # Exactly once at Cleo: one 850 per PO, one 997 of ours per inbound group, no ICN gap per partner.
    messages = cleo_outbound_messages(stack)
    per_po = Counter(_po_of(m["payload"]) for m in messages if m["documentType"] == "850")
    assert per_po == Counter({po: 1 for po in pos}), f"seed {seed}: {per_po - Counter(pos)}"
    ours = [m for m in messages if m["documentType"] == "997"]
    groups = _count(stack, InboundDocument, InboundDocument.document_type != "997")
    assert len(ours) == groups, f"seed {seed}"
    icns: dict[str, list[int]] = {}
    for message in messages:
        icns.setdefault(message["partner"], []).append(int(message["payload"][90:99]))
    for partner, numbers in icns.items():
        assert sorted(numbers) == list(range(1, counters[partner] + 1)), f"seed {seed}: ICN gap for {partner}"

    # Exactly once in Sage: one receipt of goods per ASN, one receipt of invoice per 810.
    receipts = _sage_receipts(stack)
    assert {po: (receipts[("G", po)], receipts[("I", po)]) for po in pos} == {po: (1, 1) for po in pos}, seed
    print(f"fault storm seed {seed}: {len(pos)} POs, {sum(per_po.values())} 850s, {len(ours)} 997s, all once")
