"""Logs and metrics of the outbound flow in one process: the real agent, the real sandbox, a real /metrics scrape."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlconnector.observability import logging as logs
from mlconnector.observability import metrics
from mlconnector.observability.metrics import REGISTRY
from mlconnector.observability.runtime import instrument
from mlconnector.store.ops import audit

from .conftest import World


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def cleo_retries() -> float:
    """Retries inside Cleo calls, whatever the operation."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == "mlc_upstream_retries_total" and sample.labels.get("system") == "cleo"
    )


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = logs.configure(level="INFO", json=True, data_dir=tmp_path / "var", console=False)
    assert path is not None
    try:
        yield path
    finally:
        logs.shutdown()
        logs.register_secrets([])


@pytest.fixture
def endpoint(world: World) -> Iterator[str]:
    server, port = metrics.serve(world.store, host="127.0.0.1", port=0)
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def test_outbound_pass_is_logged_and_measured(world: World, log_file: Path, endpoint: str) -> None:
    metrics.install()
    instrument(world.connector)
    pos = [world.create_po("01-V0001"), world.create_po("01-V0002")]
    held = world.create_po("01-V0004")  # no trading partner: an unmapped_vendor exception
    world.sandbox.admin().add_fault("500", count=1, method="POST", path="/api/messages")
    before = {
        "sent": value("mlc_document_changes_total", direction="OUT", type="850", status="sent"),
        "latency": value("mlc_po_to_cleo_seconds_count"),
        "retries": cleo_retries(),
        "sage_calls": value(
            "mlc_upstream_calls_total", system="sage", operation="changed_purchase_orders", outcome="ok"
        ),
        "round_trips": value("mlc_agent_round_trip_seconds_count", operation="changed_purchase_orders"),
    }

    work = world.connector.collect_purchase_orders()
    assert [world.connector.send_outbound(item) for item in work] == ["sent", "sent"]

    assert value("mlc_document_changes_total", direction="OUT", type="850", status="sent") - before["sent"] == 2
    assert value("mlc_po_to_cleo_seconds_count") - before["latency"] == 2
    assert 0 <= value("mlc_po_to_cleo_seconds_sum") < 3600
    retries = cleo_retries()
    assert retries - before["retries"] == 1  # the armed 500 was retried once
    assert (
        value("mlc_upstream_calls_total", system="sage", operation="changed_purchase_orders", outcome="ok")
        > before["sage_calls"]
    )
    assert value("mlc_agent_round_trip_seconds_count", operation="changed_purchase_orders") > before["round_trips"]

    scraped = scrape(endpoint)
    assert scraped[("mlc_documents", (("direction", "out"), ("status", "sent"), ("type", "850")))] == 2
    assert scraped[("mlc_documents", (("direction", "out"), ("status", "held"), ("type", "850")))] == 1
    assert scraped[("mlc_open_exceptions", (("kind", "unmapped_vendor"),))] == 1
    assert scraped[("mlc_store_up", ())] == 1
    assert any(name == "mlc_cleo_request_seconds_count" for name, _ in scraped)

    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    sent = [line for line in lines if line["event"] == "document" and line["status"] == "sent"]
    assert sorted(line["document"] for line in sent) == sorted(pos)
    assert all(line["idempotency_key"].startswith(line["document"] + ":1:") for line in sent)
    assert any(line["event"] == "exception opened" and line["document"] == f"PO:{held}" for line in lines)


def test_a_rolled_back_change_is_neither_logged_nor_counted(world: World, log_file: Path) -> None:
    metrics.install()
    before = value("mlc_document_changes_total", direction="OUT", type="850", status="test-rollback")
    with pytest.raises(RuntimeError), world.store.transaction() as session:
        audit(session, direction="OUT", document_type="850", source_id="X1", status="test-rollback")
        raise RuntimeError("abandon")
    with world.store.transaction() as session:
        audit(session, direction="OUT", document_type="850", source_id="X2", status="test-rollback")
    assert value("mlc_document_changes_total", direction="OUT", type="850", status="test-rollback") - before == 1
    logged = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["document"] for line in logged if line.get("status") == "test-rollback"] == ["X2"]


def test_secrets_are_masked_in_every_line(world: World, log_file: Path) -> None:
    logs.register_secrets(["demo-password", "s3cr3t-agent-key"])
    log = logging.getLogger("mlconnector.test")
    log.error("login failed for demo with demo-password")
    log.warning("retrying", extra={"password": "anything", "token": "abc", "detail": "key s3cr3t-agent-key"})
    try:
        raise RuntimeError("bad key s3cr3t-agent-key")
    except RuntimeError:
        log.exception("boom")
    text = log_file.read_text()
    assert "demo-password" not in text and "s3cr3t-agent-key" not in text and "anything" not in text
    assert text.count(logs.MASK) >= 5
