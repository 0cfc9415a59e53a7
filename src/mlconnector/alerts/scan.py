"""One alerts pass: probe the agent and Cleo, find what is open, tell each channel about what it was not told yet.

Causes: every open exception (`exception:<id>` — new exceptions, `fa_overdue`, `stalled` and any other kind alike)
and every health check failing for longer than `unreachable_minutes` (`unreachable:<name>`). A cause is told once
per channel; the `alerts_sent` row is written only after the channel delivered, so a channel that is down is tried
again next pass and one that worked is not repeated. When a cause goes away its rows are cleared, so if it comes
back it is told again. More than `digest_over` new causes for a channel in one pass go out as one digest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mlconnector.alerts.channels import Alert, Channel, DeliveryError
from mlconnector.store import Store
from mlconnector.store.models import AlertSent, Cursor, ExceptionRecord, HealthCheck

log = logging.getLogger("mlconnector.alerts")

PLAIN_NAMES = {"agent": "The Sage agent", "cleo": "Cleo"}
LEASE = "alerts_pass_lease"


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time the store keeps is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Alerter:
    """Everything an alerts pass needs; `run_pass` is the engine job's collect step."""

    def __init__(
        self,
        store: Store,
        channels: Sequence[Channel],
        *,
        probes: Mapping[str, Callable[[], object]] | None = None,
        unreachable_after: timedelta = timedelta(minutes=15),
        digest_over: int = 5,
        console_url: str = "",
        ignore_kinds: Sequence[str] = (),
        lease: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.channels = list(channels)
        self.probes = dict(probes or {})
        self.unreachable_after = unreachable_after
        self.digest_over = digest_over
        self.console_url = console_url.rstrip("/")
        self.ignore_kinds = set(ignore_kinds)
        self.lease = lease
        self.clock = clock

    # --------------------------------------------------------------------------------------------- probes

    def probe(self) -> None:
        """Run each health check; keep since when it fails (until it answers again) and how long it took."""
        for name, check in self.probes.items():
            error = None
            started = time.monotonic()
            try:
                check()
            except Exception as exc:
                error = str(exc) or type(exc).__name__
            latency_ms = round((time.monotonic() - started) * 1000)
            now = self.clock()
            with self.store.transaction() as session:
                row = session.get(HealthCheck, name)
                if row is None:
                    row = HealthCheck(name=name)
                    session.add(row)
                row.last_checked_at = now
                row.last_error = error
                row.last_latency_ms = latency_ms
                if error is None:
                    row.failing_since = None
                elif row.failing_since is None:
                    row.failing_since = now
                    log.warning("health check failing", extra={"check": name, "error": error})

    # --------------------------------------------------------------------------------------------- causes

    def _link(self, path: str) -> str | None:
        return f"{self.console_url}{path}" if self.console_url else None

    def open_causes(self) -> list[Alert]:
        """What needs somebody now, oldest first."""
        now = self.clock()
        alerts = []
        with self.store.transaction() as session:
            for record in session.scalars(
                select(ExceptionRecord).where(ExceptionRecord.status == "open").order_by(ExceptionRecord.id)
            ):
                if record.kind in self.ignore_kinds:
                    continue
                alerts.append(
                    Alert(
                        cause=f"exception:{record.id}",
                        kind=record.kind,
                        title=f"{record.kind.replace('_', ' ')}: {record.document_ref}",
                        what=record.what,
                        why=record.why,
                        fix=record.suggested_fix,
                        document=record.document_ref,
                        link=self._link(f"/exceptions/{record.id}"),
                        po_link=self._link(f"/po/{record.document_ref[3:]}")
                        if record.document_ref.startswith("PO:")
                        else None,
                        since=_aware(record.created_at),
                    )
                )
            for check in session.scalars(select(HealthCheck).where(HealthCheck.failing_since.is_not(None))):
                since = _aware(check.failing_since)  # type: ignore[arg-type]
                if now - since < self.unreachable_after:
                    continue
                who = PLAIN_NAMES.get(check.name, check.name)
                minutes = int((now - since).total_seconds() // 60)
                alerts.append(
                    Alert(
                        cause=f"unreachable:{check.name}",
                        kind="unreachable",
                        title=f"{who} unreachable for {minutes} minutes",
                        what=f"{who} has not answered since {since:%Y-%m-%d %H:%M} UTC; no documents move through it.",
                        why=check.last_error or "no answer",
                        fix=f"Check that {who} is running and reachable from the connector "
                        "(`ml-connector status` shows the same check).",
                        link=self._link("/"),
                        since=since,
                    )
                )
        return alerts

    # ----------------------------------------------------------------------------------------------- pass

    def _take_lease(self) -> str | None:
        """Only one pass at a time across every worker: a lease in the store, taken by compare-and-set."""
        now = self.clock()
        try:
            with self.store.transaction() as session:
                if session.get(Cursor, LEASE) is None:
                    session.add(Cursor(name=LEASE, value=""))
        except IntegrityError:  # another worker created it at the same moment
            pass
        with self.store.transaction() as session:
            current = session.scalars(select(Cursor.value).where(Cursor.name == LEASE)).one()
            if current and datetime.fromisoformat(current) > now:
                return None
            lease = (now + self.lease).isoformat()
            taken = session.execute(
                update(Cursor).where(Cursor.name == LEASE, Cursor.value == current).values(value=lease)
            )
            return lease if taken.rowcount == 1 else None

    def _release(self, lease: str) -> None:
        with self.store.transaction() as session:
            session.execute(update(Cursor).where(Cursor.name == LEASE, Cursor.value == lease).values(value=""))

    def run_pass(self) -> list[str]:
        """Probe, then tell each channel what it has not been told; returns the causes delivered this pass.

        A pass that finds another still running (a slow SMTP server, a probe waiting for its timeout) does nothing,
        so two passes never tell the same cause twice.
        """
        lease = self._take_lease()
        if lease is None:
            log.info("alerts pass skipped: another pass is running")
            return []
        try:
            return self._pass()
        finally:
            self._release(lease)

    def _pass(self) -> list[str]:
        self.probe()
        alerts = self.open_causes()
        open_now = {a.cause for a in alerts}
        delivered: list[str] = []
        with self.store.transaction() as session:
            told = {
                (row.cause, row.channel): row
                for row in session.scalars(select(AlertSent).where(AlertSent.cleared_at.is_(None)))
            }
            gone = [key for key in told if key[0] not in open_now]
            for cause, channel in gone:
                session.execute(
                    update(AlertSent)
                    .where(AlertSent.cause == cause, AlertSent.channel == channel)
                    .values(cleared_at=self.clock())
                )
        for channel in self.channels:
            due = [a for a in alerts if (a.cause, channel.name) not in told]
            if not due:
                continue
            digest = len(due) > self.digest_over
            batches = [due] if digest else [[a] for a in due]
            for batch in batches:
                try:
                    channel.deliver(batch, digest=digest)
                except DeliveryError as exc:
                    log.error(
                        "alert not delivered; trying again next pass",
                        extra={"channel": channel.name, "alerts": len(batch), "error": str(exc)},
                    )
                    break  # the channel is down: the rest waits for the next pass too
                self._record(channel.name, batch)
                delivered.extend(f"{channel.name}:{a.cause}" for a in batch)
                log.info(
                    "alert sent",
                    extra={"channel": channel.name, "digest": digest, "causes": [a.cause for a in batch]},
                )
        return delivered

    def _record(self, channel: str, batch: Sequence[Alert]) -> None:
        now = self.clock()
        with self.store.transaction() as session:
            for alert in batch:
                row = session.get(AlertSent, (alert.cause, channel))
                if row is None:
                    session.add(AlertSent(cause=alert.cause, channel=channel, kind=alert.kind, sent_at=now))
                else:  # the cause came back after it had cleared
                    row.sent_at, row.cleared_at, row.kind = now, None, alert.kind
