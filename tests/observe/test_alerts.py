"""Alerts over real channels: an SMTP server (aiosmtpd) and an HTTP webhook receiver, both on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mlconnector.alerts import Alerter, EmailChannel, WebhookChannel
from mlconnector.store import Store
from mlconnector.store.models import AlertSent, HealthCheck
from mlconnector.store.ops import raise_exception, resolve_exceptions

from .receivers import Hooks, SmtpServer, free_port, smtp_server, webhook_receiver

CONSOLE = "https://connector.example.com"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    with webhook_receiver() as receiver:
        yield receiver


def make_alerter(store: Store, smtp: SmtpServer, hooks: Hooks, **kwargs) -> Alerter:  # type: ignore[no-untyped-def]
    channels = [
        EmailChannel(
            host="127.0.0.1", port=smtp.port, sender="mlc@example.com", recipients=["desk@example.com"], timeout=5
        ),
        WebhookChannel(f"{hooks.url}/generic/T0KEN", style="generic", timeout=5),
        WebhookChannel(f"{hooks.url}/slack/T0KEN", style="slack", timeout=5),
    ]
    return Alerter(store, channels, console_url=CONSOLE, digest_over=5, **kwargs)


def open_exception(store: Store, kind: str, ref: str) -> int:
    with store.transaction() as session:
        record = raise_exception(
            session,
            kind=kind,
            what=f"{ref} needs a look",
            why="because",
            suggested_fix="do the thing",
            document_ref=ref,
        )
        session.flush()
        return record.id


def test_one_alert_per_cause_on_every_channel(store: Store, smtp: SmtpServer, hooks: Hooks) -> None:
    first = open_exception(store, "unmapped_vendor", "PO:0000101")
    overdue = open_exception(store, "fa_overdue", "PO:0000102")
    stalled = open_exception(store, "stalled", "PO:0000103")
    alerter = make_alerter(store, smtp, hooks)

    delivered = alerter.run_pass()
    assert len(delivered) == 9  # three causes on three channels
    assert len(smtp.mailbox.messages) == 3
    subjects = smtp.mailbox.subjects()
    assert any("fa overdue: PO:0000102" in s for s in subjects)
    assert any("stalled: PO:0000103" in s for s in subjects)
    body = smtp.mailbox.messages[0].get_content()
    assert f"Open: {CONSOLE}/exceptions/{first}" in body and "Fix: do the thing" in body
    assert f"PO: {CONSOLE}/po/0000101" in body
    generic = hooks.bodies("/generic/T0KEN")
    assert [b["alerts"][0]["cause"] for b in generic] == [f"exception:{i}" for i in (first, overdue, stalled)]
    assert generic[0]["alerts"][0]["link"] == f"{CONSOLE}/exceptions/{first}" and generic[0]["digest"] is False
    slack = hooks.bodies("/slack/T0KEN")
    assert len(slack) == 3 and f"<{CONSOLE}/exceptions/{overdue}|" in slack[1]["text"]

    # The same exception refreshed by the flow (still open) is not told again, on any channel.
    open_exception(store, "unmapped_vendor", "PO:0000101")
    assert alerter.run_pass() == []
    assert len(smtp.mailbox.messages) == 3 and len(hooks.bodies("/generic/T0KEN")) == 3


def test_ignored_kinds_are_not_told(store: Store, smtp: SmtpServer, hooks: Hooks) -> None:
    open_exception(store, "not_received", "INV:1")
    told = open_exception(store, "price_variance", "INV:2")
    alerter = make_alerter(store, smtp, hooks, ignore_kinds=["not_received"])
    assert sorted(alerter.run_pass()) == sorted(f"{c}:exception:{told}" for c in ("email", "webhook", "slack"))


def test_a_burst_goes_out_as_one_digest(store: Store, smtp: SmtpServer, hooks: Hooks) -> None:
    ids = [open_exception(store, "unmapped_vendor", f"PO:{n:07d}") for n in range(7)]
    alerter = make_alerter(store, smtp, hooks)
    assert len(alerter.run_pass()) == 21
    assert len(smtp.mailbox.messages) == 1
    message = smtp.mailbox.messages[0]
    assert "7 new problems" in str(message["Subject"])
    text = message.get_content()
    assert all(f"{CONSOLE}/exceptions/{i}" in text for i in ids)
    (generic,) = hooks.bodies("/generic/T0KEN")
    assert generic["digest"] is True and len(generic["alerts"]) == 7
    (slack,) = hooks.bodies("/slack/T0KEN")
    assert slack["text"].count("• ") == 7
    assert alerter.run_pass() == []  # nothing re-sent on the next pass


def test_resolved_then_reopened_alerts_again(store: Store, smtp: SmtpServer, hooks: Hooks) -> None:
    alerter = make_alerter(store, smtp, hooks)
    first = open_exception(store, "gl_not_published", "GL")
    alerter.run_pass()
    with store.transaction() as session:
        resolve_exceptions(session, kind="gl_not_published", document_ref="GL")
    assert alerter.run_pass() == []
    with store.transaction() as session:
        assert {row.cleared_at is not None for row in session.query(AlertSent)} == {True}
    again = open_exception(store, "gl_not_published", "GL")
    assert again != first
    assert len(alerter.run_pass()) == 3
    assert len(smtp.mailbox.messages) == 2 and len(hooks.bodies("/slack/T0KEN")) == 2


def test_smtp_down_is_retried_next_pass_without_duplicates(store: Store, smtp: SmtpServer, hooks: Hooks) -> None:
    alerter = make_alerter(store, smtp, hooks)
    open_exception(store, "refused", "PO:0000201")
    smtp.stop()
    delivered = alerter.run_pass()
    assert sorted(d.split(":", 1)[0] for d in delivered) == ["slack", "webhook"]  # email is due, not lost
    assert alerter.run_pass() == []  # still down: nothing delivered, webhooks not repeated
    smtp.start()
    assert [d.split(":", 1)[0] for d in alerter.run_pass()] == ["email"]
    assert len(smtp.mailbox.messages) == 1
    assert alerter.run_pass() == []
    assert len(smtp.mailbox.messages) == 1 and len(hooks.bodies("/generic/T0KEN")) == 1


def test_unreachable_for_longer_than_the_set_time(store: Store, smtp: SmtpServer, hooks: Hooks) -> None:
    now = [datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    cleo_up = [False]

    def cleo() -> None:
        if not cleo_up[0]:
            raise ConnectionError("Cleo could not be reached (ConnectError)")

    alerter = make_alerter(
        store, smtp, hooks, probes={"cleo": cleo}, unreachable_after=timedelta(minutes=15), clock=lambda: now[0]
    )
    assert alerter.run_pass() == []  # failing, but not for long yet
    with store.transaction() as session:
        check = session.get(HealthCheck, "cleo")
        assert check is not None and check.failing_since is not None and "ConnectError" in (check.last_error or "")
    now[0] += timedelta(minutes=16)
    assert len(alerter.run_pass()) == 3
    assert "Cleo unreachable for 16 minutes" in smtp.mailbox.subjects()[0]
    now[0] += timedelta(minutes=5)
    assert alerter.run_pass() == []  # still down: told once
    cleo_up[0] = True
    now[0] += timedelta(minutes=1)
    assert alerter.run_pass() == []
    cleo_up[0] = False
    now[0] += timedelta(minutes=1)
    assert alerter.run_pass() == []  # down again, the clock starts again
    now[0] += timedelta(minutes=15)
    assert len(alerter.run_pass()) == 3
    assert len(smtp.mailbox.messages) == 2


def test_a_webhook_nobody_answers_stays_due(store: Store) -> None:
    nowhere = WebhookChannel(f"http://127.0.0.1:{free_port()}/hook/T0KEN", timeout=2)
    alerter = Alerter(store, [nowhere], digest_over=5)
    open_exception(store, "refused", "PO:0000301")
    assert alerter.run_pass() == []
    with store.transaction() as session:
        assert session.query(AlertSent).count() == 0


def test_one_pass_at_a_time_across_workers(store: Store, smtp: SmtpServer, hooks: Hooks) -> None:
    now = [datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    worker_a = make_alerter(store, smtp, hooks, clock=lambda: now[0])
    worker_b = make_alerter(store, smtp, hooks, clock=lambda: now[0])
    open_exception(store, "stalled", "PO:0000401")
    lease = worker_a._take_lease()  # worker A is in the middle of a (slow) pass
    assert lease is not None
    assert worker_b.run_pass() == []  # B does nothing meanwhile
    assert smtp.mailbox.messages == []
    now[0] += timedelta(minutes=11)  # A died without releasing: its lease runs out
    assert len(worker_b.run_pass()) == 3
    assert worker_a.run_pass() == []  # and A, back, has nothing left to tell
    assert len(smtp.mailbox.messages) == 1
