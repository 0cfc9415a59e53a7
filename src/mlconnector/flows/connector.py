"""The connector's jobs, wired to Sage (through the agent), Cleo and the store; the engine schedules them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mlconnector.cleo import CleoClient, CleoError, CleoHTTPError
from mlconnector.engine import Job
from mlconnector.flows import faults, inbound
from mlconnector.flows.outbound import Sender, outbox_row, pending_work, release_held, send, stage
from mlconnector.flows.receiving import Receiving, SageReceiving, Tolerances
from mlconnector.flows.reference import (
    COST_CENTRE_LOOKUP,
    GL_LOOKUP,
    cost_centre_lookup,
    gl_lookup,
    gl_rows,
    partner_record,
)
from mlconnector.sage.models import ChangeCursor, ChangedPurchaseOrders, ChangedVendors, GLAccount
from mlconnector.store import Store
from mlconnector.store.models import (
    ExceptionRecord,
    InboundDocument,
    OutboundDocument,
    PartnerMapping,
    TradingPartner,
    utcnow,
)
from mlconnector.store.models import GLAccount as CachedGLAccount
from mlconnector.store.ops import audit, get_cursor, raise_exception, replace_gl_cache, resolve_exceptions, set_cursor

PO_CURSOR = "purchase_orders"
VENDOR_CURSOR = "vendors"


class SageReader(SageReceiving, Protocol):
    """The gateway operations the connector needs (the agent client and the gateway both have them)."""

    def changed_purchase_orders(
        self, since: ChangeCursor | None = None, limit: int | None = None
    ) -> ChangedPurchaseOrders: ...

    def changed_vendors(self, since: ChangeCursor | None = None, limit: int | None = None) -> ChangedVendors: ...

    def gl_accounts(self) -> list[GLAccount]: ...


class Connector:
    """One tenant's connector: each public method is a job step the engine runs (and tests call directly)."""

    def __init__(
        self,
        store: Store,
        sage: SageReader,
        cleo: CleoClient,
        sender: Sender,
        *,
        fa_overdue_hours: float = 24.0,
        page_size: int = 500,
        tolerances: Tolerances | None = None,
    ) -> None:
        self.page_size = page_size
        self.store = store
        self.sage = sage
        self.cleo = cleo
        self.sender = sender
        self.fa_overdue_hours = fa_overdue_hours
        self.receiving = Receiving(store, sage, cleo, tolerances or Tolerances())

    # ------------------------------------------------------------------------------------------------ outbound

    def _cursor(self, name: str) -> ChangeCursor | None:
        with self.store.transaction() as session:
            value = get_cursor(session, name)
        return ChangeCursor.model_validate_json(value) if value else None

    def _trading_partners(self) -> dict[str, TradingPartner]:
        """Every mapped partner Cleo knows, looked up in Cleo once and kept (envelope IDs rarely change)."""
        with self.store.transaction() as session:
            wanted = set(session.scalars(select(PartnerMapping.partner)))
            known = {p.alias: p for p in session.scalars(select(TradingPartner))}
        for alias in sorted(wanted - set(known)):
            found = self.cleo.list_partners(alias=alias)
            if not found:
                continue
            partner = TradingPartner(
                alias=alias,
                cleo_id=found[0].id,
                isa_qualifier=found[0].isa_qualifier,
                isa_id=found[0].isa_id,
                gs_id=found[0].gs_id,
            )
            with self.store.transaction() as session:
                known[alias] = session.merge(partner)
        return known

    def _departments(self) -> dict[str, str]:
        with self.store.transaction() as session:
            rows = session.execute(select(CachedGLAccount.account_key, CachedGLAccount.department))
            return {key: dept for key, dept in rows if dept}

    def collect_purchase_orders(self) -> list[str]:
        """Stage every new or changed PO (and held ones now mapped); return the outbox work to send."""
        partners = self._trading_partners()
        departments = self._departments()
        with self.store.transaction() as session:
            release_held(session, sender=self.sender, partners=partners.get, departments=departments)
        cursor = self._cursor(PO_CURSOR)
        while True:
            # Pages of at most `page_size` POs keep memory flat whatever the size of a burst of changes in Sage;
            # the cursor is saved after each page, so a crash resumes mid-pass.
            changed = self.sage.changed_purchase_orders(cursor, limit=self.page_size)
            for po in changed.items:
                try:
                    with self.store.transaction() as session:
                        stage(session, po, sender=self.sender, partners=partners.get, departments=departments)
                except IntegrityError:
                    # Another worker (or a recovered run) staged this version at the same moment; read again.
                    with self.store.transaction() as session:
                        stage(session, po, sender=self.sender, partners=partners.get, departments=departments)
                faults.point("mid_batch")
            cursor = changed.cursor
            with self.store.transaction() as session:
                set_cursor(session, PO_CURSOR, cursor.model_dump_json())
            if cursor.complete:
                break
        with self.store.transaction() as session:
            return pending_work(session)

    def send_outbound(self, work: str) -> str:
        return send(self.store, self.cleo, work)

    # ------------------------------------------------------------------------------------------------- inbound

    def collect_inbound(self) -> list[str]:
        """Flag overdue 997s, resend our 997s Cleo did not take, retry invoices still waiting for their goods, then
        store (and acknowledge in Cleo) every new inbound message; returns the documents to apply."""
        inbound.flag_overdue(self.store, hours=self.fa_overdue_hours)
        for key in self.receiving.pending_acks():
            self.receiving.send_ack(key)
        self.receiving.retry_waiting_invoices()
        return inbound.receive(self.store, self.cleo)

    def process_inbound(self, key: str) -> str:
        """Answer one stored interchange with our 997 and apply it (997 / 855 / 856 / 810)."""
        return self.receiving.process(key)

    def retry_exception(self, exception_id: int) -> str:
        """Re-run the document behind an exception after its cause was fixed; a no-op where Sage already has it.

        An outbound document Cleo refused is posted again, as stored, with its own ICN (safe: Cleo de-duplicates).
        """
        with self.store.transaction() as session:
            record = session.get(ExceptionRecord, exception_id)
            if record is None:
                raise LookupError(f"No exception {exception_id}.")
            key = record.idempotency_key
            known = (
                key is not None
                and session.scalars(select(InboundDocument.id).where(InboundDocument.idempotency_key == key)).first()
            )
            refused = (
                None
                if known or key is None
                else session.scalars(
                    select(OutboundDocument).where(
                        OutboundDocument.idempotency_key == key, OutboundDocument.status == "failed"
                    )
                ).first()
            )
            if not known and refused is None:
                raise ValueError(
                    f"Exception {exception_id} ({record.kind}) is not about an inbound document or an outbound one "
                    "Cleo refused, so there is nothing to run again: fix the cause and resolve it "
                    "(`ml-connector replay` resends a document that was sent)."
                )
            record.retries += 1
            if refused is not None:
                refused.status, refused.attempts = "pending", refused.attempts + 1
                work = f"{key}#{refused.attempts}"
        assert key is not None
        if refused is not None:
            status = send(self.store, self.cleo, work)
            direction = "OUT"
        else:
            status = self.receiving.retry(key)
            direction = "IN"
        with self.store.transaction() as session:
            record = session.get(ExceptionRecord, exception_id)
            if direction == "OUT" and status == "sent" and record is not None and record.status == "open":
                record.status, record.resolved_at = "resolved", utcnow()
            audit(
                session,
                direction=direction,
                document_type="exception",
                source_id=key,
                target_id=str(exception_id),
                status="retried",
                message=f"retry {record.retries if record else '?'}: document now {status}",
            )
        return status

    # ----------------------------------------------------------------------------------------------- reference

    def sync_vendors(self) -> list[str]:
        """New or changed vendors that have a trading partner → their Cleo partner record."""
        changed = self.sage.changed_vendors(self._cursor(VENDOR_CURSOR))
        partners = self._trading_partners()
        with self.store.transaction() as session:
            mappings = {m.vendor_no: m.partner for m in session.scalars(select(PartnerMapping))}
        updated = []
        for vendor in changed.items:
            alias = mappings.get(vendor.vendor_key)
            if alias is None or alias not in partners:
                continue
            try:
                self.cleo.upsert_partner(partner_record(vendor, partners[alias]))
            except CleoHTTPError as exc:
                with self.store.transaction() as session:
                    raise_exception(
                        session,
                        kind="vendor_not_synced",
                        what=f"Vendor {vendor.vendor_key} was not updated in Cleo",
                        why=f"Cleo refused the partner record for {alias}: {exc}",
                        suggested_fix="Check the partner in Cleo; the vendor is sent again when it next changes.",
                        document_ref=f"VENDOR:{vendor.vendor_key}",
                    )
                continue
            with self.store.transaction() as session:
                audit(
                    session,
                    direction="OUT",
                    document_type="vendor",
                    source_id=vendor.vendor_key,
                    target_id=alias,
                    status="synced",
                    idempotency_key=f"vendor:{vendor.vendor_key}:{vendor.content_hash()}",
                )
            updated.append(vendor.vendor_key)
        with self.store.transaction() as session:
            set_cursor(session, VENDOR_CURSOR, changed.cursor.model_dump_json())
        return updated

    def refresh_gl(self) -> list[str]:
        """GL accounts and cost centres: replace the local cache, then publish both as Cleo lookups."""
        accounts = self.sage.gl_accounts()
        with self.store.transaction() as session:
            count = replace_gl_cache(session, gl_rows(accounts))
            audit(
                session,
                direction="IN",
                document_type="gl",
                source_id="GL_Account",
                status="cached",
                message=f"{count} accounts",
            )
        try:
            self.cleo.put_lookup(GL_LOOKUP, gl_lookup(accounts))
            self.cleo.put_lookup(COST_CENTRE_LOOKUP, cost_centre_lookup(accounts))
        except CleoError as exc:
            with self.store.transaction() as session:
                raise_exception(
                    session,
                    kind="gl_not_published",
                    what="GL accounts were cached but not published to Cleo",
                    why=str(exc),
                    suggested_fix="It is retried at the next GL refresh, or now with `ml-connector sync now gl`.",
                    document_ref="GL",
                )
            return []
        with self.store.transaction() as session:
            resolve_exceptions(session, kind="gl_not_published", document_ref="GL")
            audit(
                session,
                direction="OUT",
                document_type="gl",
                source_id="GL_Account",
                target_id=GL_LOOKUP,
                status="published",
                message=f"{count} accounts",
            )
        return [a.account_key for a in accounts]

    # ------------------------------------------------------------------------------------------------- replay

    def replay(self, keys: Sequence[str]) -> dict[str, str]:
        """Post stored interchanges again; Cleo's ICN de-duplication makes it a no-op where they arrived."""
        outcome = {}
        for key in keys:
            with self.store.transaction() as session:
                row = session.scalars(select(OutboundDocument).where(OutboundDocument.idempotency_key == key)).first()
                if row is None or row.payload is None or row.partner is None:
                    outcome[key] = "nothing to replay (held or unknown)"
                    continue
                partner, payload, icn, doc_type, po = (
                    row.partner,
                    row.payload,
                    f"{row.interchange_control:09d}",
                    row.document_type,
                    row.po_number,
                )
            result = self.cleo.send_document(partner, payload, document_type=doc_type, icn=icn)
            status = "already in Cleo" if result.already_sent else "re-sent"
            with self.store.transaction() as session:
                if not result.already_sent:
                    row = outbox_row(session, key)
                    row.status, row.cleo_message_id = "sent", result.message_id
                audit(
                    session,
                    direction="OUT",
                    document_type=doc_type,
                    source_id=po,
                    target_id=result.message_id,
                    status="replayed",
                    idempotency_key=key,
                    message=status,
                )
            outcome[key] = status
        return outcome

    # --------------------------------------------------------------------------------------------------- jobs

    def jobs(self, *, purchase_orders: int, vendors: int, gl: int, inbound: int) -> list[Job]:
        return [
            Job("pos", purchase_orders, self.collect_purchase_orders, self.send_outbound),
            Job("inbound", inbound, self.collect_inbound, self.process_inbound),
            Job("vendors", vendors, self.sync_vendors),
            Job("gl", gl, self.refresh_gl),
        ]
