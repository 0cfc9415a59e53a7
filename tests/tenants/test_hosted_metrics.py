"""A hosted worker's /metrics is per tenant: one real `ml-connector run` (hosted = true) on PostgreSQL serves two
tenants, each with its own simulated Sage, agent and Cleo sandbox; the scrape counts each tenant's schema under
`tenant` (never the deployment's default schema), and the job and PO → 850 latency metrics carry the tenant too."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from mlconnector.demo import Processes, Stack, create_purchase_orders, free_port, start_stack
from mlconnector.store.models import OutboundDocument
from mlconnector.store.ops import raise_exception

from .hosting import Hosted
from .test_killed_worker import _register

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
POS = {"acme": 2, "bolt": 3}  # different counts, so figures swapped between tenants fail the test

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    text = httpx.get(url, timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(scraped: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in scraped.items() if n == name and all((k, x) in ls for k, x in labels.items()))


def _sent(hosted: Hosted, tenant: str) -> int:
    with hosted.store(tenant).transaction() as session:
        query = select(func.count()).select_from(OutboundDocument).where(OutboundDocument.status == "sent")
        return int(session.scalar(query) or 0)


def test_a_hosted_workers_metrics_are_per_tenant(hosted: Hosted, tmp_path: Path) -> None:
    with ExitStack() as cleanup:
        stacks: dict[str, Stack] = {}
        for tenant in POS:
            processes = Processes(tmp_path / tenant / "stack" / "logs")
            cleanup.callback(processes.stop_all)
            stacks[tenant] = start_stack(tmp_path / tenant / "stack", processes, database_url=hosted.database_url)
            cleanup.callback(stacks[tenant].store.close)
            _register(hosted, tenant, stacks[tenant], tmp_path)
        for tenant, count in POS.items():
            create_purchase_orders(stacks[tenant], count, unmapped=1 if tenant == "acme" else 0, seed=5)
        # The deployment's own (default) schema holds an open exception no tenant has: it must not be counted.
        with stacks["acme"].store.transaction() as session:
            raise_exception(session, kind="stalled", what="w", why="y", suggested_fix="f", document_ref="DEFAULT")

        port = free_port()
        workers = Processes(tmp_path / "workers")
        (tmp_path / "workers").mkdir()
        cleanup.callback(workers.stop_all)
        env = hosted.env(
            MLC_HOSTED="true",
            MLC_ENGINE__RECONCILE_SECONDS="1",
            MLC_METRICS__ENABLED="true",
            MLC_METRICS__PORT=str(port),
            MLC_WORKER_ID="w1",
        )
        worker = workers.start("w1", ["run"], env=env)
        log = tmp_path / "workers" / "w1.log"
        url = f"http://127.0.0.1:{port}/metrics"

        def settled() -> bool:
            if any(_sent(hosted, t) < n for t, n in POS.items()):
                return False
            scraped = scrape(url)
            return all(total(scraped, "mlc_po_to_cleo_seconds_count", tenant=t) == n for t, n in POS.items())

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and worker.poll() is None and not settled():
            time.sleep(1)
        assert worker.poll() is None, log.read_text()[-3000:]
        assert settled(), log.read_text()[-3000:]
        scraped = scrape(url)
        logged = log.read_text()

    # The state-change log lines name their tenant too (console format: key=value).
    assert all(re.search(rf"document .*status=sent .*tenant={t}\b", logged) for t in POS), logged[-3000:]
    for tenant, count in POS.items():
        sent = ("mlc_documents", (("direction", "out"), ("status", "sent"), ("tenant", tenant), ("type", "850")))
        assert scraped[sent] == count
        assert total(scraped, "mlc_job_duration_seconds_count", tenant=tenant, job="pos", phase="document") == count
        assert total(scraped, "mlc_job_duration_seconds_count", tenant=tenant, job="pos", phase="collect") >= 1
        assert total(scraped, "mlc_upstream_calls_total", tenant=tenant, system="sage", outcome="ok") >= 1
        assert total(scraped, "mlc_upstream_calls_total", tenant=tenant, system="cleo", outcome="ok") >= count
        assert total(scraped, "mlc_document_changes_total", tenant=tenant, type="850", status="sent") == count
    assert scraped[("mlc_open_exceptions", (("kind", "unmapped_vendor"), ("tenant", "acme")))] == 1
    assert not [key for key in scraped if key[0] == "mlc_open_exceptions" and ("tenant", "bolt") in key[1]]
    assert not [key for key in scraped if ("kind", "stalled") in key[1]]  # the default schema is not a tenant
    labelled = ("mlc_documents", "mlc_open_exceptions", "mlc_job_duration_seconds_count", "mlc_po_to_cleo_seconds_sum")
    assert all(dict(labels).get("tenant") for name, labels in scraped if name in labelled)
    assert scraped[("mlc_store_up", ())] == 1
