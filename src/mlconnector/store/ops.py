"""The store operations the flows call, each inside the caller's transaction.

They are small on purpose: the guarantee lives in *where* they run (control numbers and the outbox row in one
transaction; the audit line beside the state change it describes), not in clever code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mlconnector.observability.changes import Change, record_change
from mlconnector.store.models import (
    AuditEntry,
    ControlNumberCounter,
    Cursor,
    ExceptionRecord,
    GLAccount,
    OutboundDocument,
    PartnerMapping,
    utcnow,
)


def payload_hash(payload: str | bytes) -> str:
    data = payload.encode() if isinstance(payload, str) else payload
    return hashlib.sha256(data).hexdigest()


def insert_for(session: Session):  # type: ignore[no-untyped-def]
    """The dialect's INSERT, which has ON CONFLICT (upserts: a race between two runs resolves without an error).

    Imported here, not at the top: the engine has loaded its own dialect by now, and importing PostgreSQL's (with its
    asyncpg, pg8000 … modules) costs every SQLite command ~60 ms of start-up (`status`, `--help` of a sub-command)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


_insert = insert_for


# ------------------------------------------------------------------------------------------------ cursors


def get_cursor(session: Session, name: str) -> str | None:
    row = session.get(Cursor, name)
    return row.value if row else None


def set_cursor(session: Session, name: str, value: str) -> None:
    """Upsert: a recovered run and a new one may save the same cursor at once."""
    stmt = _insert(session)(Cursor).values(name=name, value=value, updated_at=utcnow())
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": utcnow()}))


# ------------------------------------------------------------------------------------------ control numbers


@dataclass(frozen=True, slots=True)
class AllocatedControls:
    interchange: int
    group: int


def lock_control_numbers(session: Session, partner: str) -> None:
    """Hold the partner's counter row for the rest of the caller's transaction (SQLite: the write lock; PostgreSQL:
    the row lock), so a check made after it cannot be overtaken by another worker staging for the same partner."""
    stmt = _insert(session)(ControlNumberCounter).values(partner=partner, last_interchange=0, last_group=0)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["partner"]))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(ControlNumberCounter.partner).where(ControlNumberCounter.partner == partner).with_for_update()
        )


def allocate_control_numbers(session: Session, partner: str) -> AllocatedControls:
    """Take the partner's next ISA13 and GS06 in the caller's transaction (row-locked on PostgreSQL).

    If the transaction rolls back, the numbers return with it: no gap, no reuse.
    """
    stmt = _insert(session)(ControlNumberCounter).values(partner=partner, last_interchange=0, last_group=0)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["partner"]))
    row = session.execute(
        update(ControlNumberCounter)
        .where(ControlNumberCounter.partner == partner)
        .values(
            last_interchange=ControlNumberCounter.last_interchange + 1,
            last_group=ControlNumberCounter.last_group + 1,
        )
        .returning(ControlNumberCounter.last_interchange, ControlNumberCounter.last_group)
    ).one()
    return AllocatedControls(interchange=row[0], group=row[1])


class PreallocatedControls:
    """A `ControlNumbers` for the X12 writer that hands out numbers already allocated in the store."""

    def __init__(self, allocated: AllocatedControls) -> None:
        self._allocated = allocated

    def next_interchange(self) -> int:
        return self._allocated.interchange

    def next_group(self) -> int:
        return self._allocated.group


# ------------------------------------------------------------------------------------------------- audit


def audit(
    session: Session,
    *,
    direction: str,
    document_type: str,
    source_id: str,
    status: str,
    target_id: str | None = None,
    idempotency_key: str | None = None,
    message: str | None = None,
    payload: str | None = None,
) -> AuditEntry:
    """Append one audit line (never updated, never deleted)."""
    if direction not in ("IN", "OUT"):
        raise ValueError(f"audit direction must be IN or OUT, not {direction!r}")
    entry = AuditEntry(
        direction=direction,
        document_type=document_type,
        source_id=source_id,
        target_id=target_id,
        idempotency_key=idempotency_key,
        status=status,
        message=message,
        payload=payload,
        payload_hash=payload_hash(payload) if payload is not None else None,
    )
    session.add(entry)
    change = Change("document", direction, document_type, source_id, status, idempotency_key, target_id, message)
    record_change(session, change)  # logged and counted once the transaction commits
    return entry


# --------------------------------------------------------------------------------------------- exceptions


def raise_exception(
    session: Session,
    *,
    kind: str,
    what: str,
    why: str,
    suggested_fix: str,
    document_ref: str,
    idempotency_key: str | None = None,
    details: dict | None = None,
) -> ExceptionRecord:
    """Open an exception, or refresh the one already open for the same kind and document (no pile-ups)."""
    existing = session.scalars(
        select(ExceptionRecord).where(
            ExceptionRecord.kind == kind,
            ExceptionRecord.document_ref == document_ref,
            ExceptionRecord.status == "open",
        )
    ).first()
    if existing is not None:
        existing.why = why
        existing.what = what
        existing.suggested_fix = suggested_fix
        existing.details = details
        return existing
    record = ExceptionRecord(
        kind=kind,
        what=what,
        why=why,
        suggested_fix=suggested_fix,
        document_ref=document_ref,
        idempotency_key=idempotency_key,
        details=details,
    )
    session.add(record)
    record_change(session, Change("exception", "", kind, document_ref, "open", idempotency_key, None, what))
    return record


def resolve_exceptions(session: Session, *, kind: str | Sequence[str], document_ref: str | Sequence[str]) -> int:
    """Close the open exceptions of one kind (or any of several) for one document (or any of several) — their cause
    went away — in one statement; returns how many."""
    kinds = [kind] if isinstance(kind, str) else list(kind)
    refs = [document_ref] if isinstance(document_ref, str) else list(document_ref)
    if not kinds or not refs:
        return 0
    result = session.execute(
        update(ExceptionRecord)
        .where(
            ExceptionRecord.kind.in_(kinds),
            ExceptionRecord.document_ref.in_(refs),
            ExceptionRecord.status == "open",
        )
        .values(status="resolved", resolved_at=utcnow())
    )
    return result.rowcount or 0


# ----------------------------------------------------------------------------------------------- mappings


def partner_for_vendor(session: Session, vendor_no: str) -> PartnerMapping | None:
    return session.get(PartnerMapping, vendor_no)


def map_vendor(session: Session, vendor_no: str, partner: str, *, change_document: str | None = None) -> None:
    row = session.get(PartnerMapping, vendor_no)
    if row is None:
        session.add(PartnerMapping(vendor_no=vendor_no, partner=partner, change_document=change_document or "850"))
    else:
        row.partner, row.trades_by_edi = partner, True
        if change_document:
            row.change_document = change_document


def mark_not_edi(session: Session, vendor_no: str) -> tuple[int, int]:
    """The vendor does not trade by EDI: its held POs become skipped and their `unmapped_vendor` exceptions are
    resolved (audited). Returns (POs skipped, exceptions resolved)."""
    row = session.get(PartnerMapping, vendor_no)
    if row is None:
        session.add(PartnerMapping(vendor_no=vendor_no, partner="", trades_by_edi=False))
    else:
        row.partner, row.trades_by_edi = "", False
    held = session.scalars(
        select(OutboundDocument).where(OutboundDocument.vendor_no == vendor_no, OutboundDocument.status == "held")
    ).all()
    for doc in held:
        doc.status = "skipped"
        audit(
            session,
            direction="OUT",
            document_type=doc.document_type,
            source_id=doc.po_number,
            status="skipped",
            idempotency_key=doc.idempotency_key,
            message=f"vendor {vendor_no} does not trade by EDI; not sent",
        )
    resolved = 0
    for record in session.scalars(
        select(ExceptionRecord).where(ExceptionRecord.kind == "unmapped_vendor", ExceptionRecord.status == "open")
    ):
        if (record.details or {}).get("vendor") == vendor_no:
            record.status, record.resolved_at = "resolved", utcnow()
            resolved += 1
    return len(held), resolved


def remove_mapping(session: Session, vendor_no: str) -> bool:
    """Forget a vendor's mapping; its next POs are held as unmapped again (nothing already sent changes)."""
    row = session.get(PartnerMapping, vendor_no)
    if row is None:
        return False
    session.delete(row)
    return True


# ----------------------------------------------------------------------------------------------- GL cache


@dataclass(frozen=True, slots=True)
class GLAccountRow:
    account_key: str
    account: str
    main_account: str
    division: str | None
    department: str | None
    description: str
    active: bool


def replace_gl_cache(session: Session, accounts: Iterable[GLAccountRow], *, at: datetime | None = None) -> int:
    """Make the GL cache the fresh pull, in one transaction so readers never see half a chart: accounts gone from
    Sage are deleted, new and changed ones written (one statement each), an unchanged one left as it is — a refresh
    of an unchanged chart writes nothing (`refreshed_at` is when the row last changed). Returns the chart's size."""
    refreshed = at or utcnow()
    fresh = {row.account_key: row for row in accounts}
    current = {
        row.account_key: GLAccountRow(
            row.account_key, row.account, row.main_account, row.division, row.department, row.description, row.active
        )
        for row in session.scalars(select(GLAccount))
    }
    gone = sorted(set(current) - set(fresh))
    if gone:
        session.execute(delete(GLAccount).where(GLAccount.account_key.in_(gone)))
    changed = [{**asdict(row), "refreshed_at": refreshed} for key, row in fresh.items() if current.get(key) != row]
    if changed:
        # An upsert: two workers refreshing at once (a recovered run and a new one) both end with the fresh chart.
        stmt = insert_for(session)(GLAccount)
        columns = [c for c in changed[0] if c != "account_key"]
        session.execute(
            stmt.on_conflict_do_update(index_elements=["account_key"], set_={c: stmt.excluded[c] for c in columns}),
            changed,
        )
    return len(fresh)
