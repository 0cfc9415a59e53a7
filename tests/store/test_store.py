"""The store keeps its guarantees on SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import func, inspect, select

from mlconnector.store import Store
from mlconnector.store.models import AuditEntry, ExceptionRecord, OutboundDocument
from mlconnector.store.ops import (
    allocate_control_numbers,
    audit,
    get_cursor,
    map_vendor,
    partner_for_vendor,
    raise_exception,
    resolve_exceptions,
    set_cursor,
)


@pytest.fixture
def store(database_url: str):  # type: ignore[no-untyped-def]
    s = Store(database_url)
    yield s
    s.close()


def test_migrations_create_every_table_and_are_idempotent(database_url: str) -> None:
    first = Store(database_url)
    again = Store(database_url)  # a second start-up must not fail or duplicate anything
    tables = set(inspect(again.engine).get_table_names())
    assert {
        "cursors",
        "outbound_documents",
        "inbound_documents",
        "audit_log",
        "control_numbers",
        "partner_mappings",
        "gl_accounts",
        "exceptions",
        "credentials",
        "purchase_order_state",
        "alembic_version",
    } <= tables
    first.close()
    again.close()


def test_control_numbers_count_up_per_partner(store: Store) -> None:
    with store.transaction() as session:
        a1 = allocate_control_numbers(session, "ACME")
        a2 = allocate_control_numbers(session, "ACME")
        b1 = allocate_control_numbers(session, "GLOBEX")
    assert (a1.interchange, a2.interchange, b1.interchange) == (1, 2, 1)
    assert (a1.group, a2.group) == (1, 2)


def test_rolled_back_allocation_returns_the_number(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as session:
        allocate_control_numbers(session, "ACME")
        raise RuntimeError("crash before the outbox row is committed")
    with store.transaction() as session:
        assert allocate_control_numbers(session, "ACME").interchange == 1


def test_control_numbers_with_outbox_row_never_duplicate_under_concurrency(store: Store) -> None:
    """Eight writers at once: every ISA13 unique and without gaps (the unique constraint would catch a repeat)."""
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(10):
                with store.transaction() as session:
                    controls = allocate_control_numbers(session, "ACME")
                    session.add(
                        OutboundDocument(
                            idempotency_key=f"PO{worker}-{n}:hash",
                            document_type="850",
                            po_number=f"PO{worker}-{n}",
                            vendor_no="01-ACME",
                            version_hash="hash",
                            purpose="00",
                            partner="ACME",
                            interchange_control=controls.interchange,
                            group_control=controls.group,
                        )
                    )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.transaction() as session:
        numbers = sorted(session.scalars(select(OutboundDocument.interchange_control)))
    assert numbers == list(range(1, 81))


def test_cursor_round_trip(store: Store) -> None:
    with store.transaction() as session:
        assert get_cursor(session, "purchase_orders") is None
        set_cursor(session, "purchase_orders", "20261126:10.5")
    with store.transaction() as session:
        set_cursor(session, "purchase_orders", "20261126:11.0")
    with store.transaction() as session:
        assert get_cursor(session, "purchase_orders") == "20261126:11.0"


def test_audit_log_hashes_payload(store: Store) -> None:
    with store.transaction() as session:
        entry = audit(session, direction="OUT", document_type="850", source_id="PO0001", status="sent", payload="ISA*")
    assert entry.payload_hash == hashlib.sha256(b"ISA*").hexdigest()
    with pytest.raises(ValueError, match="IN or OUT"), store.transaction() as session:
        audit(session, direction="SIDEWAYS", document_type="850", source_id="x", status="sent")
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_one_open_exception_per_kind_and_document(store: Store) -> None:
    for _ in range(3):
        with store.transaction() as session:
            raise_exception(
                session,
                kind="unmapped_vendor",
                what="PO 0000123 is held",
                why="Vendor 01-ACME has no Cleo trading partner",
                suggested_fix="ml-connector map vendor 01-ACME PARTNER",
                document_ref="PO:0000123",
            )
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ExceptionRecord)) == 1
        assert resolve_exceptions(session, kind="unmapped_vendor", document_ref="PO:0000123") == 1
        assert resolve_exceptions(session, kind="unmapped_vendor", document_ref="PO:0000123") == 0


def test_vendor_mapping_upsert(store: Store) -> None:
    with store.transaction() as session:
        assert partner_for_vendor(session, "01-ACME") is None
        map_vendor(session, "01-ACME", "ACME")
    with store.transaction() as session:
        map_vendor(session, "01-ACME", "ACME-EDI", change_document="860")
    with store.transaction() as session:
        mapping = partner_for_vendor(session, "01-ACME")
        assert mapping is not None
        assert (mapping.partner, mapping.change_document) == ("ACME-EDI", "860")


def test_migrations_match_the_models(database_url: str) -> None:
    """A model change without its Alembic migration fails here, not on a customer's upgrade."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mlconnector.store.models import Base

    store = Store(database_url)
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    store.close()
    assert diff == []


def test_gl_refresh_writes_only_what_changed_in_the_chart(store: Store) -> None:
    """A refresh of an unchanged chart writes nothing; a changed account is updated, a new one added, one gone from
    Sage deleted, and the cache ends equal to the pull (on both databases)."""
    from datetime import UTC, datetime

    from sqlalchemy import event

    from mlconnector.store.models import GLAccount
    from mlconnector.store.ops import GLAccountRow, replace_gl_cache

    def row(key: str, department: str | None, active: bool = True) -> GLAccountRow:
        return GLAccountRow(key, key, key[:4], "01", department, f"Account {key}", active)

    def cache() -> dict[str, tuple[str | None, bool, datetime]]:
        with store.transaction() as session:
            return {  # SQLite hands the time back without its zone (stored as UTC)
                a.account_key: (
                    a.department,
                    a.active,
                    a.refreshed_at.astimezone(UTC) if a.refreshed_at.tzinfo else a.refreshed_at.replace(tzinfo=UTC),
                )
                for a in session.scalars(select(GLAccount))
            }

    first = datetime(2026, 1, 1, tzinfo=UTC)
    with store.transaction() as session:
        assert (
            replace_gl_cache(session, [row("6000-01-10", "10"), row("6100-01-20", "20"), row("6200", None)], at=first)
            == 3
        )
    writes: list[str] = []
    listener = lambda *args: writes.append(args[2].split()[0])  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        with store.transaction() as session:
            replace_gl_cache(session, [row("6000-01-10", "10"), row("6100-01-20", "20"), row("6200", None)])
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)
    assert writes == ["SELECT"], writes  # read the cache, nothing written
    later = datetime(2026, 2, 1, tzinfo=UTC)
    with store.transaction() as session:
        fresh = [row("6000-01-10", "10"), row("6100-01-20", "30", active=False), row("6300-01-40", "40")]
        assert replace_gl_cache(session, fresh, at=later) == 3
    got = cache()
    assert {k: v[:2] for k, v in got.items()} == {
        "6000-01-10": ("10", True),
        "6100-01-20": ("30", False),
        "6300-01-40": ("40", True),
    }
    assert got["6000-01-10"][2] == first and got["6100-01-20"][2] == later and got["6300-01-40"][2] == later
