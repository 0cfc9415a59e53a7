"""The overview's agent/Cleo health: the alerts probe records each state and round trip; the console shows them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from mlconnector.alerts.scan import Alerter
from mlconnector.engine import next_run
from mlconnector.store import Store
from mlconnector.store.models import HealthCheck
from mlconnector.web import queries


def test_the_probe_records_its_round_trip_and_the_overview_reads_it(database_url: str) -> None:
    store = Store(database_url)

    def slow_agent() -> None:
        time.sleep(0.05)

    def cleo_down() -> None:
        raise ConnectionError("Cleo could not be reached (ConnectError)")

    Alerter(store, [], probes={"agent": slow_agent, "cleo": cleo_down}).probe()
    with store.transaction() as session:
        agent, cleo = session.get(HealthCheck, "agent"), session.get(HealthCheck, "cleo")
        assert agent is not None and cleo is not None
        assert agent.failing_since is None and agent.last_latency_ms is not None and agent.last_latency_ms >= 50
        assert cleo.failing_since is not None and "ConnectError" in (cleo.last_error or "")
        assert cleo.last_latency_ms is not None and cleo.last_latency_ms < 50
        o = queries.overview(session, datetime.now(UTC) + timedelta(seconds=1), {}, next_run)
        assert sorted(o.health) == ["agent", "cleo"] and o.health["agent"].last_latency_ms == agent.last_latency_ms
    store.close()
