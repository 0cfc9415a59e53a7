"""Liveness: every outbound row, inbound document and 997 of ours always has a way forward.

One table (`FAILURES`) says which failures are transient (retried on later ticks with per-document backoff kept in
the store, never cached as final) and which are permanent (an exception at once). A document that failed for a
transient cause remembers the cause (`waiting_on`); when that service answers again (`wake`) every document waiting
on it is due at once, not only when its own backoff runs out. Documents waiting longer than `stalled_after` open one
`stalled` exception per cause, in plain words, which closes by itself when they move (`review_stalled`).

The attempt count is part of each document's workflow id (`key#attempts`), so a new attempt is a new workflow; the
effects stay once because of the keys stored in Sage records and the ICNs Cleo de-duplicates on.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

import httpx
from sqlalchemy import ColumnElement, CursorResult, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session

from mlconnector.cleo.errors import CleoAuthError, CleoError, CleoHTTPError, CleoProtocolError, CleoUnavailable
from mlconnector.sage.agent.client import AgentAuthError, AgentError
from mlconnector.sage.errors import SageAuthError, SageError, SageLockedError
from mlconnector.store.models import InboundDocument, OutboundDocument, utcnow
from mlconnector.store.ops import raise_exception, resolve_exceptions

log = logging.getLogger("mlconnector.liveness")

STALLED = "stalled"
OPEN_INBOUND = ("received", "applying")


class Cause(StrEnum):
    """What a waiting document waits on (stored in `waiting_on`)."""

    SAGE_AGENT = "sage_agent"
    SAGE_LOCK = "sage_lock"
    SAGE_LOGIN = "sage_login"
    CLEO = "cleo"
    CLEO_LOGIN = "cleo_login"
    DATABASE = "database"
    UNEXPECTED = "unexpected"


# How a clerk would name the cause, and what to do about it (the `stalled` exception's words).
PLAIN: dict[Cause, tuple[str, str]] = {
    Cause.SAGE_AGENT: (
        "Sage agent unreachable",
        "Check that the Sage server and the ml-connector agent service are running and reachable; "
        "the documents go at the first run after it answers.",
    ),
    Cause.SAGE_LOCK: (
        "Sage records locked by another user or task",
        "Ask who holds the PO or receipt open in Sage (or whether a register update is running); "
        "the documents go as soon as the lock is released.",
    ),
    Cause.SAGE_LOGIN: (
        "Sage refused the connector's logon",
        "Check the Sage user, its role rights and the company code (`ml-connector credentials set sage`).",
    ),
    Cause.CLEO: (
        "Cleo unreachable or busy",
        "Check Cleo's status page and the network; the documents go at the first run after Cleo answers.",
    ),
    Cause.CLEO_LOGIN: (
        "Cleo refused the connector's login",
        "Check the Cleo API credentials (`ml-connector credentials set cleo`, then `credentials test`).",
    ),
    Cause.DATABASE: (
        "The connector's database was busy or unreachable",
        "Check the database server and disk; the documents are retried automatically.",
    ),
    Cause.UNEXPECTED: (
        "An unexpected error",
        "Send the connector's log to support; the documents are retried automatically.",
    ),
}

# Causes a person must fix: the `stalled` exception opens at once instead of after `stalled_after`.
ALERT_AT_ONCE = frozenset({Cause.SAGE_LOGIN, Cause.CLEO_LOGIN})


@dataclass(frozen=True)
class Rule:
    """A failure type (and optional test) → transient with its cause, or permanent (cause None)."""

    error: type[BaseException]
    cause: Cause | None
    when: Callable[[BaseException], bool] = lambda _exc: True

    @property
    def transient(self) -> bool:
        return self.cause is not None


def _retryable_status(exc: BaseException) -> bool:
    return isinstance(exc, CleoHTTPError) and (exc.status in (408, 425, 429) or exc.status >= 500)


# The one classification table, first match wins. Anything not listed is treated as transient-unexpected: retried
# (and logged at error level) rather than silently dropped, and it surfaces as `stalled` after `stalled_after`.
FAILURES: tuple[Rule, ...] = (
    Rule(SageLockedError, Cause.SAGE_LOCK),  # a lock still held after the gateway's own retry budget
    Rule(SageAuthError, Cause.SAGE_LOGIN),
    Rule(SageError, None),  # validation, not found, business rules, quarantine: a person must look
    Rule(AgentAuthError, Cause.SAGE_LOGIN),
    Rule(AgentError, Cause.SAGE_AGENT),  # unreachable, 5xx, dropped connection after the client's retries
    Rule(CleoAuthError, Cause.CLEO_LOGIN),
    Rule(CleoUnavailable, Cause.CLEO),  # 429 / 5xx / timeout / dropped connection after the session's retries
    Rule(CleoHTTPError, Cause.CLEO, _retryable_status),
    Rule(CleoHTTPError, None),  # Cleo refused the request itself (4xx)
    Rule(CleoProtocolError, Cause.CLEO),  # an HTML error page from a proxy, a half-written answer
    Rule(CleoError, Cause.CLEO),
    Rule(httpx.TransportError, Cause.CLEO),
    Rule(OperationalError, Cause.DATABASE),
    Rule(sqlite3.OperationalError, Cause.DATABASE),
    Rule(ConnectionError, Cause.SAGE_AGENT),
    Rule(TimeoutError, Cause.SAGE_AGENT),
)


@dataclass(frozen=True)
class Failure:
    cause: Cause | None
    message: str

    @property
    def transient(self) -> bool:
        return self.cause is not None


def classify(exc: BaseException) -> Failure:
    """Transient (with what it waits on) or permanent, by the first matching rule of `FAILURES`."""
    message = f"{type(exc).__name__}: {exc}"[:2000]
    for rule in FAILURES:
        if isinstance(exc, rule.error) and rule.when(exc):
            return Failure(rule.cause, message)
    return Failure(Cause.UNEXPECTED, message)


@dataclass(frozen=True)
class Backoff:
    """Per-document retry spacing: first_seconds, doubling, capped; `stalled_after` opens the exception."""

    first_seconds: float = 30.0
    max_seconds: float = 1800.0
    stalled_after: timedelta = timedelta(hours=4)

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_seconds, self.first_seconds * 2 ** max(0, attempts - 1)))


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time in the store is UTC."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------- per document


def mark_waiting(row: OutboundDocument | InboundDocument, failure: Failure, backoff: Backoff, now: datetime) -> None:
    """A transient failure: one more attempt counted, due again after the backoff, cause and error kept."""
    row.attempts = (row.attempts or 0) + 1
    row.next_attempt_at = now + backoff.delay(row.attempts)
    row.last_error = failure.message
    row.waiting_on = str(failure.cause or Cause.UNEXPECTED)
    row.waiting_since = aware(row.waiting_since) or now


def mark_moved(row: OutboundDocument | InboundDocument) -> None:
    """The document moved on: nothing waits any more (`attempts` stays, it is part of past workflow ids)."""
    row.next_attempt_at = row.waiting_on = row.waiting_since = None


def mark_ack_waiting(row: InboundDocument, failure: Failure, backoff: Backoff, now: datetime) -> None:
    row.ack_attempts = (row.ack_attempts or 0) + 1
    row.ack_next_attempt_at = now + backoff.delay(row.ack_attempts)
    row.ack_last_error = failure.message
    row.ack_waiting_since = aware(row.ack_waiting_since) or now


def mark_ack_moved(row: InboundDocument) -> None:
    row.ack_next_attempt_at = row.ack_waiting_since = None


def due(column: InstrumentedAttribute[Any], now: datetime) -> ColumnElement[bool]:
    return or_(column.is_(None), column <= now)


# ------------------------------------------------------------------------------------------------ per cause


def wake(session: Session, causes: set[Cause], now: datetime | None = None) -> int:
    """These services answer again: every document waiting on them is due now. Returns how many were woken."""
    now = now or utcnow()
    names = [str(c) for c in causes]
    woken = 0
    for model in (OutboundDocument, InboundDocument):
        result = session.execute(
            update(model)
            .where(model.waiting_on.in_(names), model.next_attempt_at > now)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        woken += cast("CursorResult[Any]", result).rowcount or 0
    if Cause.CLEO in causes:
        result = session.execute(
            update(InboundDocument)
            .where(InboundDocument.ack_status == "pending", InboundDocument.ack_next_attempt_at > now)
            .values(ack_next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        woken += cast("CursorResult[Any]", result).rowcount or 0
    return woken


@dataclass(frozen=True)
class Waiting:
    """Documents of one kind waiting on one cause."""

    cause: Cause
    count: int
    since: datetime
    last_error: str | None


def waiting(session: Session) -> list[Waiting]:
    """Every document still waiting after a transient failure, grouped by cause (outbound, inbound, our 997s)."""
    groups: dict[Cause, tuple[int, datetime, str | None]] = {}

    def add(cause: str | None, count: int, since: datetime | None, error: str | None) -> None:
        try:
            key = Cause(cause or "")
        except ValueError:
            key = Cause.UNEXPECTED
        since = aware(since) or utcnow()
        before = groups.get(key)
        if before is None:
            groups[key] = (count, since, error)
        else:
            groups[key] = (before[0] + count, min(before[1], since), before[2] or error)

    for model, open_status in (
        (OutboundDocument, OutboundDocument.status == "pending"),
        (InboundDocument, InboundDocument.status.in_(OPEN_INBOUND)),
    ):
        rows = session.execute(
            select(model.waiting_on, func.count(), func.min(model.waiting_since), func.max(model.last_error))
            .where(open_status, model.waiting_on.is_not(None))
            .group_by(model.waiting_on)
        ).all()
        for cause, count, since, error in rows:
            add(cause, count, since, error)
    acks = session.execute(
        select(
            func.count(), func.min(InboundDocument.ack_waiting_since), func.max(InboundDocument.ack_last_error)
        ).where(InboundDocument.ack_status == "pending", InboundDocument.ack_waiting_since.is_not(None))
    ).one()
    if acks[0]:
        add(Cause.CLEO, acks[0], acks[1], acks[2])
    return [Waiting(cause, n, since, error) for cause, (n, since, error) in sorted(groups.items())]


def stalled_ref(cause: Cause) -> str:
    return f"STALLED:{cause}"


def review_stalled(
    session: Session, backoff: Backoff, now: datetime | None = None, groups: list[Waiting] | None = None
) -> list[Cause]:
    """Open (or refresh) one `stalled` exception per cause whose oldest document waits longer than allowed; close
    the ones whose documents moved. Returns the causes that are stalled. `groups`: `waiting(session)`, when the
    caller has just read it in the same transaction."""
    now = now or utcnow()
    stalled = []
    for group in waiting(session) if groups is None else groups:
        if group.cause in ALERT_AT_ONCE or now - group.since >= backoff.stalled_after:
            stalled.append(group.cause)
            plain, fix = PLAIN[group.cause]
            noun = "document" if group.count == 1 else "documents"
            raise_exception(
                session,
                kind=STALLED,
                what=f"{plain} since {group.since:%Y-%m-%d %H:%M} UTC; {group.count} {noun} waiting",
                why=f"The connector keeps retrying. Last error: {group.last_error or 'none recorded'}",
                suggested_fix=fix,
                document_ref=stalled_ref(group.cause),
                details={"cause": str(group.cause), "waiting": group.count, "since": group.since.isoformat()},
            )
    resolve_exceptions(session, kind=STALLED, document_ref=[stalled_ref(c) for c in Cause if c not in stalled])
    return stalled


def waiting_causes(session: Session) -> set[Cause]:
    return {group.cause for group in waiting(session)}
