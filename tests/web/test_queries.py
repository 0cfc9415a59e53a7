"""The console's queries on both databases (the browser tests run on SQLite): same answers on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlconnector.engine import next_run
from mlconnector.store import Store
from mlconnector.store.models import ExceptionRecord, HealthCheck, InboundDocument, OutboundDocument
from mlconnector.store.ops import audit, map_vendor, mark_not_edi
from mlconnector.web import queries


def seed(store: Store) -> None:
    now = datetime.now(UTC)
    with store.transaction() as session:
        map_vendor(session, "01-V1", "ALPHA")
        for n, (po, status, fa) in enumerate(
            [("P1", "sent", "accepted"), ("P2", "sent", "waiting"), ("P3", "held", "none")], 1
        ):
            session.add(
                OutboundDocument(
                    idempotency_key=f"po:{po}",
                    document_type="850",
                    po_number=po,
                    vendor_no="01-V1" if po != "P3" else "01-V9",
                    version_hash="h",
                    purpose="00",
                    partner="ALPHA" if po != "P3" else None,
                    interchange_control=n if po != "P3" else None,
                    status=status,
                    fa_status=fa,
                    created_at=now - timedelta(days=n - 1),
                )
            )
        session.add(
            InboundDocument(
                idempotency_key="ALPHA:000000701",
                document_type="810",
                partner="ALPHA",
                interchange_control="000000701",
                status="exception",
                payload="ISA*…",
                received_at=now - timedelta(seconds=1),
            )
        )
        session.add(
            ExceptionRecord(
                kind="gl_account",
                what="GL account 6300 is inactive",
                why="inactive",
                suggested_fix="reactivate",
                document_ref="810:ALPHA:INV-1",
                idempotency_key="ALPHA:000000701",
                details={"po": "P1"},
                created_at=now - timedelta(hours=3),
            )
        )
        # An ASN that Sage could not take yet (agent down), retried with backoff.
        session.add(
            InboundDocument(
                idempotency_key="ALPHA:000000702",
                document_type="856",
                partner="ALPHA",
                interchange_control="000000702",
                status="received",
                payload="ISA*…",
                received_at=now - timedelta(seconds=2),
                attempts=3,
                next_attempt_at=now + timedelta(minutes=2),
                last_error="AgentError: connection refused",
                waiting_on="sage_agent",
                waiting_since=now - timedelta(seconds=2),
            )
        )
        session.add(HealthCheck(name="agent", failing_since=now - timedelta(hours=2), last_error="refused"))
        audit(
            session,
            direction="IN",
            document_type="856",
            source_id="ALPHA:000000700",
            target_id="P1/G-000001",
            status="received",
            message="receipt of goods 000001",
        )


def test_every_screen_query_answers_the_same_on_sqlite_and_postgresql(database_url: str) -> None:
    store = Store(database_url)
    seed(store)
    now = datetime.now(UTC)
    with store.transaction() as session:
        o = queries.overview(session, now, {"pos": 900}, next_run)
        assert o.today[("OUT", "850")] == 1 and o.week[("OUT", "850")] == 3 and o.today[("IN", "810")] == 1
        assert o.exceptions_by_kind == [("gl_account", 1)] and o.exceptions_by_partner == [("ALPHA", 1)]
        assert o.fa_status == {"accepted": 1, "waiting": 1}
        assert o.held == 1 and o.stalled == []
        assert [(w.kind, w.waiting, w.retrying, w.last_error) for w in o.waiting_kinds] == [
            ("inbound (into Sage)", 1, 1, "AgentError: connection refused")
        ]
        asn = next(r for r in o.waiting if r.direction == "IN")
        assert (asn.attempts, asn.last_error, asn.waiting_on) == (
            3,
            "AgentError: connection refused",
            "Sage agent unreachable",
        )
        assert asn.next_attempt_at is not None and asn.next_attempt_at > now
        held = next(r for r in o.waiting if r.direction == "OUT")
        assert held.po_numbers == ["P3"] and held.waiting_on == queries.HELD_WAITS_ON
        assert o.health["agent"].last_error == "refused" and o.health["agent"].failing_since is not None
        waiting = queries.search_documents(session, queries.DocumentFilter(waiting=True))
        assert sorted((r.direction, r.status) for r in waiting.rows) == [("IN", "received"), ("OUT", "held")]
        assert sum(out for _, out, _ in o.per_day) == 3 and o.per_day[-1][1:] == (1, 2)
        assert o.last_contact["Cleo"] is None and o.last_contact["Sage (agent)"] is not None

        found = queries.search_documents(session, queries.DocumentFilter(po_number="P1"))
        assert [(r.direction, r.document_type) for r in found.rows] == [("OUT", "850"), ("IN", "810")]
        by_vendor = queries.search_documents(session, queries.DocumentFilter(vendor="01-V1", status="sent"))
        assert by_vendor.total == 2 and {r.po_numbers[0] for r in by_vendor.rows} == {"P1", "P2"}
        paged = queries.search_documents(session, queries.DocumentFilter(), page=3, page_size=2)
        assert paged.total == 5 and paged.pages == 3 and len(paged.rows) == 1

        t = queries.po_timeline(session, "P1")
        titles = [e.title for e in t.events]
        assert "850 sent" in titles and "Sage receipt of goods 000001" in titles and "810 exception" in titles
        assert [x.kind for x in t.exceptions] == ["gl_account"]

        desk = queries.exception_queue(session, now, partner="ALPHA", min_age_hours=2)
        assert [r.po_number for r in desk.rows] == ["P1"] and 2.9 < desk.rows[0].age_hours < 3.1
        assert queries.exception_queue(session, now, min_age_hours=4).rows == []

        vendors = queries.partners_and_vendors(session, {"01-V1": "One", "01-V9": "Nine"})
        assert [(v.vendor_no, v.partner, v.held) for v in vendors] == [("01-V9", None, 1), ("01-V1", "ALPHA", 0)]
        assert mark_not_edi(session, "01-V9") == (1, 0)
        vendors = queries.partners_and_vendors(session, {"01-V1": "One", "01-V9": "Nine"})
        nine = next(v for v in vendors if v.vendor_no == "01-V9")
        assert (nine.edi, nine.partner, nine.held, nine.skipped) == (False, None, 0, 1)

        lines, more = queries.audit_search(session, queries.AuditFilter(text="P1"))
        assert [a.target_id for a in lines] == ["P1/G-000001"] and not more
        assert [r["status"] for r in queries.audit_export(session, queries.AuditFilter(document_type="856"))] == [
            "received"
        ]
    store.close()
