"""The connector's jobs, wired to Sage (through the agent), Cleo and the store; the engine schedules them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Protocol, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mlconnector.cleo import CleoClient, CleoError, CleoHTTPError
from mlconnector.engine import Job
from mlconnector.flows import inbound
from mlconnector.flows.faults import FaultHook, no_fault
from mlconnector.flows.inbound import Receiving, SageReceiving, Tolerances
from mlconnector.flows.liveness import (
    Backoff,
    Cause,
    Failure,
    classify,
    mark_moved,
    mark_waiting,
    review_stalled,
    waiting,
    waiting_causes,
    wake,
)
from mlconnector.flows.outbound import Sender, outbox_row, pending_work, release_held, send, stage
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
    OPEN_INBOUND,
    ExceptionRecord,
    InboundDocument,
    InboundStatus,
    OutboundDocument,
    OutboundStatus,
    PartnerMapping,
    TradingPartner,
    utcnow,
)
from mlconnector.store.models import GLAccount as CachedGLAccount
from mlconnector.store.ops import (
    audit,
    get_cursor,
    insert_for,
    raise_exception,
    replace_gl_cache,
    resolve_exceptions,
    set_cursor,
)

PO_CURSOR = "purchase_orders"
DOCUMENT_FAILED = "document_failed"  # a permanent failure outside the flows' own checks; `exceptions retry` reruns it
VENDOR_CURSOR = "vendors"
log = logging.getLogger("mlconnector.connector")


def _work_key(work: str) -> str:
    """The document key of a work item `key#attempt` (the attempt only makes the workflow id new)."""
    key, sep, attempt = work.rpartition("#")
    return key if sep and attempt.isdigit() else work


class SageReader(SageReceiving, Protocol):
    """The gateway operations the connector needs (the agent client and the gateway both have them)."""

    def changed_purchase_orders(
        self, since: ChangeCursor | None = None, limit: int | None = None
    ) -> ChangedPurchaseOrders: ...

    def changed_vendors(self, since: ChangeCursor | None = None, limit: int | None = None) -> ChangedVendors: ...

    def gl_accounts(self) -> list[GLAccount]: ...


class _OnFirstUse(Mapping[str, str]):
    """A mapping read from the store the first time it is looked at (a PO run that renders nothing never reads it)."""

    def __init__(self, load: Callable[[], dict[str, str]]) -> None:
        self._load = load
        self._rows: dict[str, str] | None = None

    def _get(self) -> dict[str, str]:
        if self._rows is None:
            self._rows = self._load()
        return self._rows

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


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
        backoff: Backoff | None = None,
        fault: FaultHook = no_fault,
        pages_per_run: int | None = None,
    ) -> None:
        self.page_size = page_size
        self.pages_per_run = pages_per_run
        """None: a PO run reads every page of changes; N: at most N pages, so a burst's first POs are sent while
        later pages are still in Sage (hosted: the next run, seconds later, goes on from the saved cursor)."""
        self.backoff = backoff or Backoff()
        self.store = store
        self.sage = sage
        self.cleo = cleo
        self.sender = sender
        self.fa_overdue_hours = fa_overdue_hours
        self.fault = fault
        """Called at named points; the kill -9 tests inject `flows.faults.point` (production: nothing happens)."""
        self.receiving = Receiving(store, sage, cleo, tolerances or Tolerances(), self.backoff, fault=fault)

    # ------------------------------------------------------------------------------------------------ outbound

    def _cursor(self, name: str) -> ChangeCursor | None:  # the vendors' cursor
        with self.store.transaction() as session:
            value = get_cursor(session, name)
        return ChangeCursor.model_validate_json(value) if value else None

    def _known_partners(self, session: Session) -> tuple[dict[str, TradingPartner], set[str]]:
        """The trading partners already looked up, and the mapped aliases not looked up yet."""
        wanted = set(session.scalars(select(PartnerMapping.partner)))
        known = {p.alias: p for p in session.scalars(select(TradingPartner))}
        return known, wanted - set(known)

    def _look_up_partners(self, aliases: set[str]) -> dict[str, TradingPartner]:
        """Look mapped partners up in Cleo once and keep them (envelope IDs rarely change); no transaction is open
        while Cleo answers."""
        found_partners = {}
        for alias in sorted(aliases):
            found = self.cleo.list_partners(alias=alias)
            if not found:
                continue
            values = {
                "alias": alias,
                "cleo_id": found[0].id,
                "isa_qualifier": found[0].isa_qualifier,
                "isa_id": found[0].isa_id,
                "gs_id": found[0].gs_id,
                "refreshed_at": utcnow(),
            }
            with self.store.transaction() as session:
                # An upsert: a recovered tick and a new one may look the same partner up at the same moment.
                session.execute(insert_for(session)(TradingPartner).values(**values).on_conflict_do_nothing())
                found_partners[alias] = session.get(TradingPartner, alias, populate_existing=True) or TradingPartner(
                    **values
                )
        return found_partners

    def _trading_partners(self) -> dict[str, TradingPartner]:
        """Every mapped partner Cleo knows."""
        with self.store.transaction() as session:
            known, missing = self._known_partners(session)
        return {**known, **self._look_up_partners(missing)} if missing else known

    def _departments(self) -> dict[str, str]:
        with self.store.transaction() as session:
            rows = session.execute(select(CachedGLAccount.account_key, CachedGLAccount.department))
            return {key: dept for key, dept in rows if dept}

    def collect_purchase_orders(self) -> list[str]:
        """Stage every new or changed PO (and held ones now mapped); return the outbox work to send.

        A run with nothing new costs two store transactions around one Sage read (it runs every few seconds for
        every tenant) and writes nothing; each staged PO is its own transaction, and the cursor is saved after each
        page. The cost centres (the GL cache) are read only when a PO is rendered."""
        departments = _OnFirstUse(self._departments)
        with self.store.transaction() as session:
            partners, missing = self._known_partners(session)
            value = get_cursor(session, PO_CURSOR)
            if not missing:
                release_held(
                    session, sender=self.sender, partners=partners.get, departments=departments, fault=self.fault
                )
        if missing:  # a newly mapped partner: looked up in Cleo outside any transaction, then the held POs
            partners.update(self._look_up_partners(missing))
            with self.store.transaction() as session:
                release_held(
                    session, sender=self.sender, partners=partners.get, departments=departments, fault=self.fault
                )
        cursor = ChangeCursor.model_validate_json(value) if value else None
        stage_one = partial(stage, sender=self.sender, partners=partners.get, departments=departments, fault=self.fault)
        pages = 0
        while True:
            # Pages of at most `page_size` POs keep memory flat whatever the size of a burst of changes in Sage;
            # the cursor is saved after each page, so a crash resumes mid-pass.
            changed = self.sage.changed_purchase_orders(cursor, limit=self.page_size)
            for po in changed.items:
                try:
                    with self.store.transaction() as session:
                        stage_one(session, po)
                except IntegrityError:
                    # Another worker (or a recovered run) staged this version at the same moment; read again.
                    with self.store.transaction() as session:
                        stage_one(session, po)
                self.fault("mid_batch")
            cursor = changed.cursor
            pages += 1
            if cursor.complete or (self.pages_per_run is not None and pages >= self.pages_per_run):
                break
            with self.store.transaction() as session:
                set_cursor(session, PO_CURSOR, cursor.model_dump_json())
        with self.store.transaction() as session:
            saved = cursor.model_dump_json()
            if saved != value:
                set_cursor(session, PO_CURSOR, saved)
            groups = waiting(session)
            causes = {group.cause for group in groups}
            if Cause.SAGE_AGENT in causes:
                woken = wake(session, {Cause.SAGE_AGENT})  # Sage just answered through the agent
                if woken:
                    log.info("%s answered again: %d document(s) due now", Cause.SAGE_AGENT, woken)
            if Cause.CLEO not in causes:
                review_stalled(session, self.backoff, groups=groups)
                return pending_work(session)
        self._probe_cleo()
        with self.store.transaction() as session:
            review_stalled(session, self.backoff)
            return pending_work(session)

    def send_outbound(self, work: str) -> str:
        """Send one outbox row (`key#attempt`); whatever goes wrong leaves it due again later, never stuck."""
        try:
            return send(self.store, self.cleo, work, self.backoff, fault=self.fault)
        except Exception as exc:
            return self._waiting(OutboundDocument, work, exc)

    # ---------------------------------------------------------------------------------------------- liveness

    def _wake(self, causes: set[Cause]) -> None:
        with self.store.transaction() as session:
            woken = wake(session, causes)
        if woken:
            log.info("%s answered again: %d document(s) due now", ", ".join(sorted(causes)), woken)

    def _probe_cleo(self) -> None:
        """When documents wait on Cleo, ask it something cheap: if it answers they all go now."""
        with self.store.transaction() as session:
            if Cause.CLEO not in waiting_causes(session):
                return
        try:
            self.cleo.list_inbound(start=0, count=1)
        except CleoError:
            return
        self._wake({Cause.CLEO})

    def _probe_agent(self) -> None:
        """When documents wait on the Sage agent, ask it something cheap: if it answers they all go now."""
        with self.store.transaction() as session:
            if Cause.SAGE_AGENT not in waiting_causes(session):
                return
        try:
            self.sage.changed_vendors(None, limit=1)
        except Exception as exc:  # the probe only decides whether to wake
            log.info("Sage agent still not answering: %s", exc)
            return
        self._wake({Cause.SAGE_AGENT})

    def _waiting(self, model: type[OutboundDocument] | type[InboundDocument], work: str, exc: Exception) -> str:
        """A document's attempt failed outside the flow's own handling: transient → backoff, permanent → exception."""
        key = _work_key(work)
        failure = classify(exc)
        if failure.cause == Cause.UNEXPECTED:
            log.error("document %s: unexpected failure, retried later: %s", key, failure.message)
        else:
            log.warning("document %s waits (%s): %s", key, failure.cause or "permanent", failure.message)
        with self.store.transaction() as session:
            row = cast(
                "OutboundDocument | InboundDocument",
                session.scalars(select(model).where(model.idempotency_key == key)).one(),
            )
            if row.status not in (OutboundStatus.PENDING, *OPEN_INBOUND):
                return str(row.status)  # another worker finished it meanwhile: nothing waits
            if failure.transient:
                mark_waiting(row, failure, self.backoff, utcnow())
                return "retrying"
            mark_moved(row)
            row.status = InboundStatus.EXCEPTION if model is InboundDocument else OutboundStatus.FAILED
            raise_exception(
                session,
                kind=DOCUMENT_FAILED,
                what=f"Document {key} could not be processed",
                why=f"It failed in a way a retry will not fix: {failure.message}",
                suggested_fix="Correct the cause named above (in Sage or Cleo), then `ml-connector exceptions retry`.",
                document_ref=f"DOC:{key}",
                idempotency_key=key,
            )
            return str(row.status)

    # ------------------------------------------------------------------------------------------------- inbound

    def collect_inbound(self) -> list[str]:
        """Wake documents whose service answers again, flag overdue 997s, resend our 997s Cleo did not take, store (and
        acknowledge in Cleo) every new inbound message, post what earlier polls left unposted, and reopen invoices
        whose goods may have come (a new attempt each); returns the documents due to apply as `key#attempt`."""
        self._probe_cleo()
        self._probe_agent()
        inbound.flag_overdue(self.store, hours=self.fa_overdue_hours)
        for key in self.receiving.pending_acks():
            self.receiving.send_ack(key)
        self._post_now()  # what earlier polls (or a crash) left unposted
        self.receiving.reopen_waiting_invoices()
        keys = inbound.receive(self.store, self.cleo)
        with self.store.transaction() as session:
            review_stalled(session, self.backoff)
        return keys

    def process_inbound(self, work: str) -> str:
        """Answer one stored interchange (`key#attempt`) with our 997 and apply it (997 / 855 / 856 / 810)."""
        key = _work_key(work)
        try:
            status = self.receiving.process(key)
        except Exception as exc:
            return self._waiting(InboundDocument, work, exc)
        with self.store.transaction() as session:
            row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
            if row.status in OPEN_INBOUND:  # not finished: a new attempt (and workflow id) later
                mark_waiting(row, Failure(Cause.UNEXPECTED, "processing did not finish"), self.backoff, utcnow())
            else:
                mark_moved(row)
        return status

    def _post_now(self) -> None:
        """Post what the connector wrote and Sage has not posted yet (each poll, and after a clerk's retry, so the
        invoice it entered closes its PO now); a failure leaves it for the next poll."""
        try:
            self.receiving.post()
        except Exception as exc:  # what stays unposted is posted by the next poll
            log.warning("receipts not posted after the retry: %s", classify(exc).message)

    def post_inbound(self) -> str:
        """Post the receipt register once for every receipt this poll wrote (the end of each inbound poll, and on
        demand); a crash before it leaves them for the next poll's `collect_inbound`."""
        result = self.receiving.post()
        if result is None:
            return "nothing to post"
        return f"{len(result.posted)} receipt(s) posted"

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
                        OutboundDocument.idempotency_key == key, OutboundDocument.status == OutboundStatus.FAILED
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
                refused.status, refused.attempts = OutboundStatus.PENDING, refused.attempts + 1
                work = f"{key}#{refused.attempts}"
        assert key is not None
        if refused is not None:
            status = send(self.store, self.cleo, work, self.backoff, fault=self.fault)
            direction = "OUT"
        else:
            try:
                status = self.receiving.retry(key)
            except Exception as exc:
                status = self._waiting(InboundDocument, key, exc)
            direction = "IN"
            if status == InboundStatus.APPLIED:
                self._post_now()
        with self.store.transaction() as session:
            record = session.get(ExceptionRecord, exception_id)
            # The document went through: an exception that only said "it failed, retry it" is done. (Inbound
            # exceptions about the content are settled by the flow itself, by their own document reference.)
            went_through = (direction == "OUT" and status == "sent") or (
                direction == "IN"
                and status in (InboundStatus.APPLIED, InboundStatus.DUPLICATE)
                and record is not None
                and record.kind == DOCUMENT_FAILED
            )
            if went_through and record is not None and record.status == "open":
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
                    row.status, row.cleo_message_id = OutboundStatus.SENT, result.message_id
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
            Job("inbound", inbound, self.collect_inbound, self.process_inbound, finish=self.post_inbound),
            Job("vendors", vendors, self.sync_vendors),
            Job("gl", gl, self.refresh_gl),
        ]
