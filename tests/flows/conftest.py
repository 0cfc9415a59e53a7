"""A small world for flow tests: the simulated Sage company behind a real agent (HTTPS), the Cleo sandbox (HTTP)
with simulated partners, and the connector's store on SQLite or PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlconnector.cleo import CleoClient, CleoCredentials, RetryPolicy
from mlconnector.cleo.sandbox import RunningSandbox, running_sandbox
from mlconnector.cleo.sandbox.partners import parse_partner_book
from mlconnector.flows.connector import Connector
from mlconnector.flows.liveness import Backoff
from mlconnector.flows.outbound import Sender
from mlconnector.flows.purchase_orders import Buyer
from mlconnector.sage.agent.client import AgentClient
from mlconnector.sage.agent.testing import running_agent
from mlconnector.sage.errors import RetryPolicy as SageRetryPolicy
from mlconnector.sage.sim.demo import PurchasingClerk
from mlconnector.sage.sim.script import SimBackend
from mlconnector.store import Store
from mlconnector.store.ops import map_vendor

PARTNERS = {"01-V0001": "ALPHA", "01-V0002": "BRAVO", "01-V0004": "CHARLIE"}
FAST_CLEO = RetryPolicy(
    attempts=6, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01, total_timeout=30, retry_after_max=0.05
)
# Tests poll in a loop rather than every few minutes: a transient failure is due again almost at once.
FAST_BACKOFF = Backoff(first_seconds=0.01, max_seconds=0.05)
SENDER = Sender(
    qualifier="ZZ", id="ABCDIST", application_id="ABCDIST", usage="T", buyer=Buyer("ABC Distribution", "ABC")
)


def partner_book(profile: str = "perfect", delay: float = 3600.0):  # type: ignore[no-untyped-def]
    """Partners that answer after `delay` seconds (long by default: outbound tests only look at what was sent)."""
    delays = {k: delay for k in ("functional_ack", "acknowledgment", "ship_notice", "second_ship_notice", "invoice")}
    return parse_partner_book(
        {
            "defaults": {"profile": profile, "delays": {"delivered": 0.0, **delays}},
            "partners": [
                {
                    "alias": alias,
                    "name": f"{alias} Supply",
                    "isa_id": f"{alias}EDI",
                    "gs_id": f"{alias}EDI",
                    "erp_vendor": vendor,
                }
                for vendor, alias in PARTNERS.items()
            ],
        }
    )


@dataclass
class World:
    sim: SimBackend
    store: Store
    sandbox: RunningSandbox
    agent_client: AgentClient
    cleo: CleoClient
    connector: Connector
    clerk: PurchasingClerk
    rng: random.Random

    def create_po(self, vendor: str, lines: int = 3) -> str:
        return self.clerk.create_po(self.rng, vendor=vendor.split("-", 1)[1], lines=lines)

    def outbound_messages(self) -> list[dict]:
        rows, _ = self.sandbox.store.query_messages("demo", [("direction", "=", "outbound")], 0, 10_000)
        return rows


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[World]:
    """`@pytest.mark.partners(profile, delay)` sets how the simulated partners answer (default: not within the test)."""
    marker = request.node.get_closest_marker("partners")
    book = partner_book(*marker.args) if marker else partner_book()
    sim = SimBackend(tmp_path / "sage")
    sim.init_company(purchase_orders=0)
    store = Store(database_url)
    with store.transaction() as session:
        for vendor, alias in list(PARTNERS.items())[:2]:  # V0004 stays unmapped until a test maps it
            map_vendor(session, vendor, alias)
    policy = SageRetryPolicy(
        attempts=3, wait_initial=0.0, wait_max=0.0, jitter=0.0, retry_after=1, sleep=lambda _s: None
    )
    with (
        running_agent(sim, tmp_path / "agent", policy=policy) as agent,
        running_sandbox(data_dir=tmp_path / "cleo", partners=book) as sandbox,
    ):
        agent_client = agent.client("ml", "ml-demo", "ABC", wait_initial=0.01, wait_max=0.05)
        cleo = CleoClient.connect(
            sandbox.base_url, CleoCredentials("demo", "demo-password"), retry=FAST_CLEO, timeout=10
        )
        clerk = PurchasingClerk(sim)
        try:
            yield World(
                sim,
                store,
                sandbox,
                agent_client,
                cleo,
                Connector(store, agent_client, cleo, SENDER, backoff=FAST_BACKOFF),
                clerk,
                random.Random(5),
            )
        finally:
            clerk.close()
            cleo.close()
            agent_client.close()
            store.close()
