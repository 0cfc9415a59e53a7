"""Document state changes, reported once their transaction commits.

`store.ops.audit` is the one place every state change passes through; it calls `record`, which parks the change in
the session. Only when that transaction commits are the subscribers (the log, the metrics) told — a rolled-back
change never shows in a log line or a counter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "mlconnector.changes"
log = logging.getLogger("mlconnector.observability")


@dataclass(frozen=True, slots=True)
class Change:
    """One committed audit line: a document (or exception) moved to `status`."""

    kind: str  # "document" or "exception"
    direction: str
    document_type: str
    source_id: str
    status: str
    key: str | None = None
    target_id: str | None = None
    message: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, Any] = field(default_factory=dict)
    tenant: str | None = None  # the hosted tenant whose store committed it (None: a single site)


Subscriber = Callable[[Change], None]
Enricher = Callable[[Session, Change], None]
_subscribers: list[Subscriber] = []
_enrichers: list[Enricher] = []


def subscribe(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def enrich(enricher: Enricher) -> None:
    """Run `enricher(session, change)` just before the commit, while the transaction can still be read."""
    if enricher not in _enrichers:
        _enrichers.append(enricher)


def record_change(session: Session, change: Change) -> None:
    """Park a change until the session's transaction commits (nothing to do when no one listens).

    A hosted tenant's store names its tenant in `session.info["tenant"]`; the change carries it to the observers."""
    if _subscribers:
        tenant = session.info.get("tenant")
        if tenant and change.tenant is None:
            change = replace(change, tenant=tenant)
        session.info.setdefault(_PENDING, []).append(change)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    for change in session.info.get(_PENDING, ()):
        for enricher in list(_enrichers):
            try:
                enricher(session, change)
            except Exception:  # observing must never fail the transaction
                log.warning("could not enrich a state change for the metrics", exc_info=True)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for change in pending or ():
        for subscriber in list(_subscribers):
            try:
                subscriber(change)
            except Exception:  # a failing observer must never undo or block the work it observes
                log.warning("a state-change observer failed", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
