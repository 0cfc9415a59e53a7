"""`ml-connector run` as a real process with metrics, JSON logs and alerts on: scraped, read and received."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from mlconnector.demo import Stack, create_purchase_orders, free_port
from mlconnector.store.models import HealthCheck, OutboundDocument
from mlconnector.vault import Vault, load_master_key

from .receivers import smtp_server, webhook_receiver

pytestmark = pytest.mark.slow
CONSOLE = "https://connector.example.com"


def wait_for(what: str, check, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(scraped: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in scraped.items() if n == name and all((k, x) in ls for k, x in labels.items()))


def test_run_serves_metrics_writes_json_logs_and_alerts_once(stack: Stack) -> None:
    data_dir = stack.config.parent / "var"
    vault = Vault(stack.store, load_master_key(data_dir, "demo"), "demo")
    metrics_port = free_port()
    with smtp_server() as smtp, webhook_receiver() as hooks:
        vault.put("webhook", {"url": f"{hooks.url}/generic/WEBHOOK-TOKEN-123"})
        vault.put("slack", {"url": f"{hooks.url}/slack/SLACK-TOKEN-456"})
        pos = create_purchase_orders(stack, 3, unmapped=1)
        env = stack.connector_env(
            MLC_SCHEDULE__PURCHASE_ORDERS_SECONDS="2",
            MLC_SCHEDULE__INBOUND_SECONDS="30",
            MLC_SCHEDULE__VENDORS_SECONDS="30",
            MLC_SCHEDULE__GL_SECONDS="30",
            MLC_LOG_FORMAT="json",
            MLC_METRICS__ENABLED="true",
            MLC_METRICS__PORT=str(metrics_port),
            MLC_ALERTS__ENABLED="true",
            MLC_ALERTS__EVERY_SECONDS="2",
            MLC_ALERTS__EMAIL_TO='["desk@example.com"]',
            MLC_ALERTS__SMTP_HOST="127.0.0.1",
            MLC_ALERTS__SMTP_PORT=str(smtp.port),
            MLC_ALERTS__WEBHOOK="true",
            MLC_ALERTS__SLACK="true",
            MLC_ALERTS__CONSOLE_URL=CONSOLE,
            MLC_ALERTS__UNREACHABLE_MINUTES="0.05",  # 3 s, so the test sees Cleo "down for long"
        )
        process = stack.processes.start("connector", ["run"], env=env, cwd=stack.config.parent)

        def sent() -> int:
            with stack.store.transaction() as session:
                return session.scalar(
                    select(func.count()).select_from(OutboundDocument).where(OutboundDocument.status == "sent")
                )

        wait_for("three 850s in Cleo", lambda: sent() == 3 or process.poll() is not None, timeout=120)
        assert process.poll() is None, (stack.workdir / "logs" / "connector.log").read_text()[-2000:]
        wait_for("the unmapped-vendor alert by email", lambda: len(smtp.mailbox.messages) >= 1)

        url = f"http://127.0.0.1:{metrics_port}/metrics"
        wait_for("the latency of the three 850s", lambda: total(samples(url), "mlc_po_to_cleo_seconds_count") == 3)
        scraped = samples(url)
        assert scraped[("mlc_documents", (("direction", "out"), ("status", "sent"), ("type", "850")))] == 3
        assert scraped[("mlc_open_exceptions", (("kind", "unmapped_vendor"),))] == 1
        assert total(scraped, "mlc_job_duration_seconds_count", job="pos", phase="collect") >= 1
        assert total(scraped, "mlc_job_duration_seconds_count", job="pos", phase="document", outcome="ok") == 3
        assert total(scraped, "mlc_upstream_calls_total", system="sage", outcome="ok") >= 1
        assert total(scraped, "mlc_upstream_calls_total", system="cleo", outcome="ok") >= 3
        assert total(scraped, "mlc_agent_round_trip_seconds_count") >= 1
        assert 0 < total(scraped, "mlc_po_to_cleo_seconds_sum") < 120

        with stack.store.transaction() as session:
            checks = {c.name: c.failing_since for c in session.scalars(select(HealthCheck))}
        assert checks == {"agent": None, "cleo": None}, "both probes answered"

        time.sleep(5)  # two more alert passes: nothing is told twice
        assert len(smtp.mailbox.messages) == 1

        stack.processes.stop("cleo-sandbox")  # Cleo goes away: told once it has been down for 3 s
        wait_for("the Cleo-unreachable alert", lambda: len(smtp.mailbox.messages) >= 2, timeout=30)
        time.sleep(4)
        stack.processes.stop("connector")

    first, second = smtp.mailbox.messages
    assert "unmapped vendor: PO:" in str(first["Subject"])
    assert f"{CONSOLE}/exceptions/" in first.get_content()
    assert "Cleo unreachable" in str(second["Subject"])
    assert len(smtp.mailbox.messages) == 2
    assert [b["alerts"][0]["kind"] for b in hooks.bodies("/generic/WEBHOOK-TOKEN-123")] == [
        "unmapped_vendor",
        "unreachable",
    ]
    assert len(hooks.bodies("/slack/SLACK-TOKEN-456")) == 2

    log_file = data_dir / "ml-connector.log"
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    sent_lines = [line for line in lines if line["event"] == "document" and line["status"] == "sent"]
    # the partners answer within seconds, so an inbound run (every 30 s) may have sent our 997s to them as well
    sent_850s = [line for line in sent_lines if line["type"] == "850"]
    assert sorted(line["document"] for line in sent_850s) == sorted(pos[:3])
    assert {line["type"] for line in sent_lines} <= {"850", "997"}, sent_lines
    assert all(line["idempotency_key"] for line in sent_lines)
    assert any(line["event"] == "alert sent" for line in lines)

    secrets = [*stack.secrets(), "WEBHOOK-TOKEN-123", "SLACK-TOKEN-456"]
    for path in (log_file, stack.workdir / "logs" / "connector.log"):
        text = path.read_text()
        for secret in secrets:
            assert secret not in text, f"a secret is in {path.name}"
