"""Coarse Sage 100 operations written only against the BOI surface (simulator and COM alike).

Reads go through `nGetResultSets` in batches (changed keys first, then records), never one `nGetValue` per field.
Writes take their document number from the next-number helper, carry the idempotency token in the Sage record and
look for it first, so a retried or replayed write never makes a second document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mlconnector.sage.boi import RET_FAIL, RET_NEW, RET_OK, RET_WARNING, BoiBackend, ByRef
from mlconnector.sage.cursor import merge_poll, stamp_hours
from mlconnector.sage.errors import (
    RetryPolicy,
    SageAuthError,
    SageError,
    SageNotFoundError,
    SageValidationError,
    classify,
)
from mlconnector.sage.models import (
    ChangeCursor,
    ChangedPurchaseOrders,
    ChangedVendors,
    GLAccount,
    InvoiceLine,
    LineNote,
    PostingResult,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLine,
    SageDocument,
    Vendor,
)
from mlconnector.sage.resultsets import (
    PO_LINE,
    VENDOR,
    any_of,
    expression,
    header_columns,
    parse_rows,
    quote,
    receipt_columns,
)
from mlconnector.sage.unconfirmed import UNCONFIRMED, Unconfirmed


def source_key_token(key: str) -> str:
    """The idempotency token stored in the Sage record: short enough for a 30-char comment, unique in practice."""
    if not key.strip():
        raise SageValidationError("An idempotency key is required for every Sage write.", "key")
    return "ML:" + hashlib.sha256(key.encode()).hexdigest()[:24]


class SageGateway:
    """One BOI session (one Sage user in one company) and the coarse operations the connector needs."""

    def __init__(
        self,
        backend: BoiBackend,
        user: str,
        password: str,
        company: str,
        *,
        policy: RetryPolicy | None = None,
        unconfirmed: Unconfirmed = UNCONFIRMED,
        batch_size: int = 250,
        overlap_seconds: float = 120.0,
        today: Callable[[], str] | None = None,
    ) -> None:
        self.backend = backend
        self.company = company
        self.policy = policy or RetryPolicy()
        self.u = unconfirmed
        self.batch_size = batch_size
        self.overlap_hours = overlap_seconds / 3600
        self.today = today or (lambda: datetime.now().strftime("%Y%m%d"))
        self.fault_hook: Callable[[str], None] | None = None
        """Test hook called at named points ("after_sage_write") to simulate a crash."""
        self._objects: dict[str, Any] = {}
        self._po_parties: dict[str, tuple[str, str]] = {}
        """PO number → (division, vendor) from the latest read: Sage does not change a PO's vendor, and a receipt
        is usually written right after its PO was read for matching, so the write need not read it again."""
        self._module = ""
        self._date = ""
        self._task = ""
        self._task_ids: dict[str, int] = {}
        """Task name → id from `nLookupTask`, once per session: a lookup in Sage's task table, not a setting."""
        self._script = backend.create_script()
        self._script.Init(backend.home())
        self._ss = self._script.NewObject("SY_Session")
        self._session_call("nSetUser", user, password, error=SageAuthError)
        del password
        self._session_call("nSetCompany", company, error=SageAuthError)

    # -- session plumbing ---------------------------------------------------------------------------------------
    def _session_call(self, method: str, *args: Any, error: type[SageError] | None = None) -> Any:
        ret = getattr(self._ss, method)(*args)
        if ret == RET_FAIL:
            msg = self._ss.sLastErrorMsg
            raise error(msg) if error else classify(msg)
        return ret

    def _program(self, module: str, task: str) -> None:
        """Put module, date and task (and so its role rights) on the session before using its objects.

        Only what changed is set again (reference §1: `nSetModule`/`nSetDate` per module, `nSetProgram` per task):
        a receipt after an 855's PO note costs one `nSetProgram`, not four calls, and a session pooled past midnight
        gets the new date (receipts take it as their default date).
        """
        today = self.today()
        if self._task == task and self._module == module and self._date == today:
            return
        if self._module != module:
            self._session_call("nSetModule", module)
            self._module, self._date = module, ""
        if self._date != today:
            self._session_call("nSetDate", module, today)
            self._date = today
        if self._task != task:
            task_id = self._task_ids.get(task) or self._ss.nLookupTask(task)
            if not task_id:
                raise SageAuthError(f"Task {task} is not known to this Sage installation.")
            self._task_ids[task] = int(task_id)
            self._session_call("nSetProgram", int(task_id), error=SageAuthError)
            self._task = task

    def _object(self, name: str, module: str, task: str | None = None, *, cached: bool = True) -> Any:
        if task:
            self._program(module, task)
        if cached and name in self._objects:
            return self._objects[name]
        try:
            obj = self._script.NewObject(name, self._ss)
        except Exception as exc:
            raise classify(self._ss.sLastErrorMsg or str(exc)) from None
        if cached:
            self._objects[name] = obj
        return obj

    @staticmethod
    def _check(
        obj: Any, ret: Any, field: str | None = None, expect: tuple[int, ...] = (1,), warnings: list[str] | None = None
    ) -> int:
        ret = int(ret)
        if ret in expect:
            return ret
        if ret == RET_WARNING and warnings is not None:
            warnings.append(str(obj.sLastErrorMsg))
            return ret
        raise classify(str(obj.sLastErrorMsg), field)

    def _result_sets(self, obj: Any, columns: list[str], key: str, filter_: str) -> str:
        out, keys = ByRef(""), ByRef("")
        self._check(obj, obj.nGetResultSets(expression(columns), key, out, keys, filter_, "", ""))
        return str(out.value)

    def close(self) -> None:
        """Drop every business object and the session (releases Sage locks and the user seat)."""
        for name, obj in self._objects.items():
            if not name.endswith(".oLines"):  # lines belong to their header object
                obj.DropObject()
        self._objects.clear()
        self._ss.nCleanup()
        self._ss.DropObject()

    def __enter__(self) -> SageGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads --------------------------------------------------------------------------------------------------
    def _po_service(self) -> Any:
        return self._object("PO_PurchaseOrder_svc", "P/O")

    def _po_lines(self) -> Any:
        return self._lines_of("PO_PurchaseOrder_svc", self._po_service())

    def _read_purchase_orders(self, numbers: list[str]) -> list[PurchaseOrder]:
        svc = self._po_service()
        header = header_columns(self.u)
        hnames, hcols = list(header), list(header.values())
        lnames, lcols = ["purchase_order_no", *PO_LINE], ["PurchaseOrderNo$", *PO_LINE.values()]
        orders: list[PurchaseOrder] = []
        for i in range(0, len(numbers), self.batch_size):
            batch = numbers[i : i + self.batch_size]
            heads = parse_rows(
                self._result_sets(svc, hcols, "PurchaseOrderNo$", any_of("PurchaseOrderNo$", batch)), hnames, hcols
            )
            lines_obj = self._po_lines()
            raw = self._result_sets(lines_obj, lcols, "LineKey$", any_of("PurchaseOrderNo$", batch))
            if len(self._po_parties) > 10_000:
                self._po_parties.clear()
            self._po_parties.update({h["purchase_order_no"]: (h["ap_division_no"], h["vendor_no"]) for h in heads})
            by_po: dict[str, list[PurchaseOrderLine]] = {}
            for row in parse_rows(raw, lnames, lcols):
                by_po.setdefault(row.pop("purchase_order_no"), []).append(PurchaseOrderLine(**row))
            orders += [PurchaseOrder(**h, lines=by_po.get(h["purchase_order_no"], [])) for h in heads]
        return orders

    def purchase_order(self, purchase_order_no: str) -> PurchaseOrder:
        """One PO with its lines; unknown numbers raise SageNotFoundError with a message a clerk can act on."""
        found = self._read_purchase_orders([purchase_order_no])
        if not found:
            raise SageNotFoundError(f"Purchase order {purchase_order_no} is not on file in company {self.company}.")
        return found[0]

    def note_po_lines(self, purchase_order_no: str, notes: list[LineNote]) -> int:
        """Put a comment on PO lines (`CommentText$`, e.g. the supplier's 855 answer); writing it again is harmless.

        A line key the PO does not have fails with Sage's message; a PO held by another user is retried like any
        record lock.
        """
        if not notes:
            return 0

        def attempt() -> int:
            bus = self._object("PO_PurchaseOrder_bus", "P/O", "PO_PurchaseOrder_ui")
            try:
                self._check(bus, bus.nSetKey(purchase_order_no), "PurchaseOrderNo$", expect=(RET_OK,))
                lines = self._lines_of("PO_PurchaseOrder_bus", bus)
                for note in notes:
                    self._check(lines, lines.nEditLine(note.line_key), "LineKey$")
                    self._check(lines, lines.nSetValue("CommentText$", note.text), "CommentText$")
                    self._check(lines, lines.nWrite(), "line")
                self._check(bus, bus.nWrite())
            except BaseException:
                bus.nClear()
                raise
            return len(notes)

        return self.policy.run(attempt)

    def _changed_keys(self, obj: Any, key_cols: list[str], since: ChangeCursor | None) -> list[tuple[str, str, str]]:
        """Step 1: (key, date, time) of records updated at or after the cursor minus the overlap window."""
        filter_ = ""
        if since and since.date:
            low = stamp_hours(since.date, since.time) - self.overlap_hours
            low_date = datetime.fromordinal(max(int(low // 24), 1)).strftime("%Y%m%d")
            filter_ = f"DateUpdated$>={quote(low_date)}"
        cols = [*key_cols, "DateUpdated$", "TimeUpdated$"]
        rows = parse_rows(self._result_sets(obj, cols, key_cols[-1], filter_), [*key_cols, "d", "t"], cols)
        return [("-".join(r[k] for k in key_cols), r["d"], r["t"]) for r in rows]

    def changed_purchase_orders(
        self, since: ChangeCursor | None = None, limit: int | None = None
    ) -> ChangedPurchaseOrders:
        """POs created or changed since the cursor (all POs when `since` is None), with the next cursor."""
        keyed = self._changed_keys(self._po_service(), ["PurchaseOrderNo$"], since)

        def fetch(keys: list[str]) -> dict[str, Any]:
            return {p.purchase_order_no: p for p in self._read_purchase_orders(keys)}

        items, cursor = merge_poll(keyed, since, limit, fetch, self.overlap_hours)
        return ChangedPurchaseOrders(items=items, cursor=cursor)

    def _read_vendors(self, keys: list[str]) -> dict[str, Vendor]:
        svc = self._object("AP_Vendor_svc", "A/P")
        names, cols = list(VENDOR), list(VENDOR.values())
        out: dict[str, Vendor] = {}
        for i in range(0, len(keys), self.batch_size):
            batch = [k.split("-", 1) for k in keys[i : i + self.batch_size]]
            filter_ = " OR ".join(f"(APDivisionNo$={quote(d)} AND VendorNo$={quote(v)})" for d, v in batch)
            for row in parse_rows(self._result_sets(svc, cols, "VendorNo$", filter_), names, cols):
                vendor = Vendor(**row)
                out[vendor.vendor_key] = vendor
        return out

    def changed_vendors(self, since: ChangeCursor | None = None, limit: int | None = None) -> ChangedVendors:
        """Vendors created or changed since the cursor, keyed `division-vendor`."""
        keyed = self._changed_keys(self._object("AP_Vendor_svc", "A/P"), ["APDivisionNo$", "VendorNo$"], since)
        items, cursor = merge_poll(keyed, since, limit, self._read_vendors, self.overlap_hours)
        return ChangedVendors(items=items, cursor=cursor)

    def gl_accounts(self) -> list[GLAccount]:
        """The chart of accounts with main/division/department segments and their descriptions (cost centres)."""
        subs = self._object("GL_SubAccount_svc", "G/L")
        sub_cols = ["SegmentNo$", "SubAccountCode$", "SubAccountDesc$"]
        desc = {
            (r["s"], r["c"]): r["d"]
            for r in parse_rows(self._result_sets(subs, sub_cols, "SubAccountCode$", ""), ["s", "c", "d"], sub_cols)
        }
        svc = self._object("GL_Account_svc", "G/L")
        cols = ["AccountKey$", "Account$", "MainAccountCode$", "AccountDesc$", "AccountType$", "Status$"]
        accounts = []
        for r in parse_rows(self._result_sets(svc, cols, "AccountKey$", ""), ["k", "a", "m", "d", "t", "s"], cols):
            parts = r["a"].split("-")
            div, dept = [*parts, "", ""][1:3]
            accounts.append(
                GLAccount(
                    account_key=r["k"],
                    account=r["a"],
                    main_account=r["m"] or parts[0],
                    division=div,
                    department=dept,
                    division_description=desc.get(("02", div), ""),
                    department_description=desc.get(("03", dept), ""),
                    description=r["d"],
                    account_type=r["t"],
                    active=r["s"] == "A",
                )
            )
        return accounts

    def _account_keys(self, accounts: list[str]) -> dict[str, str]:
        """Formatted account → `AccountKey$`, read fresh in one call per invoice (not one per line: the lines of an
        invoice for a cost centre mostly share an account); an unknown or inactive account is refused by name."""
        wanted = list(dict.fromkeys(a for a in accounts if a))
        svc = self._object("GL_Account_svc", "G/L") if wanted else None
        cols = ["Account$", "AccountKey$", "Status$"]
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), self.batch_size):
            raw = self._result_sets(svc, cols, "AccountKey$", any_of("Account$", wanted[i : i + self.batch_size]))
            found |= {r["a"]: r for r in parse_rows(raw, ["a", "k", "s"], cols)}
        for account in wanted:
            if account not in found:
                raise SageValidationError(f"GL account {account} is not on file.", "account")
            if found[account]["s"] != "A":
                raise SageValidationError(f"GL account {account} is inactive.", "account")
        return {account: str(found[account]["k"]) for account in wanted}

    # -- idempotency --------------------------------------------------------------------------------------------
    def _receipt_bus(self) -> Any:
        return self._object("PO_Receipt_bus", "P/O", self.u.receipt_ui_task)

    def _receipt_lines(self) -> Any:
        return self._lines_of("PO_Receipt_bus", self._receipt_bus())

    def _lines_of(self, name: str, header: Any) -> Any:
        """A header object's `oLines`, fetched once (each property get is a COM round trip)."""
        if f"{name}.oLines" not in self._objects:
            self._objects[f"{name}.oLines"] = header.oLines
        return self._objects[f"{name}.oLines"]

    def _find_receipts(self, filter_: str, history: bool = False) -> list[SageDocument]:
        """Receipts matching a filter: pending ones (receipt entry) or posted ones (receipt history)."""
        obj = self._object(self.u.receipt_history_object, "P/O") if history else self._receipt_bus()
        receipt = receipt_columns(self.u)
        names, cols = list(receipt), list(receipt.values())
        docs = []
        for r in parse_rows(self._result_sets(obj, cols, "ReceiptNo$", filter_), names, cols):
            kind = "receipt_of_goods" if r["receipt_type"] == "G" else "receipt_of_invoice"
            docs.append(SageDocument(kind=kind, posted=history, created=False, **r))
        return docs

    def find_by_source_key(self, key: str) -> SageDocument | None:
        """The receipt (goods or invoice) written earlier with this idempotency key, pending or posted, if any."""
        where = f"{self.u.source_key_column}={quote(source_key_token(key))}"
        found = self._find_receipts(where) or self._find_receipts(where, history=True)
        return found[0] if found else None

    # -- writes -------------------------------------------------------------------------------------------------
    def _fault(self, point: str) -> None:
        if self.fault_hook:
            self.fault_hook(point)

    def _write_receipt(
        self,
        receipt_type: str,
        po: tuple[str, str, str],
        key: str,
        header: dict[str, Any],
        lines: list[dict[str, Any]],
    ) -> SageDocument:
        """Enter one receipt (number from the next-number helper, token in the record) and write it once."""
        purchase_order_no, div, vendor = po
        token = source_key_token(key)
        bus = self._receipt_bus()
        warnings: list[str] = []
        no = ByRef("")
        try:
            self._check(bus, getattr(bus, self.u.next_receipt_no_method)(no))
            self._check(bus, bus.nSetKeyValue("ReceiptType$", receipt_type), "ReceiptType$")
            self._check(bus, bus.nSetKeyValue("ReceiptNo$", str(no.value)), "ReceiptNo$")
            self._check(bus, bus.nSetKey(), "ReceiptNo$", expect=(RET_NEW,))
            self._check(bus, bus.nSetValue("PurchaseOrderNo$", purchase_order_no), "PurchaseOrderNo$")
            for column, value in header.items():
                self._check(bus, bus.nSetValue(column, value), column, warnings=warnings)
            self._check(bus, bus.nSetValue(self.u.source_key_column, token), self.u.source_key_column)
            lines_obj = self._receipt_lines()
            for line in lines:
                self._check(lines_obj, lines_obj.nAddLine(), "line", expect=(RET_NEW,))
                for column, value in line.items():
                    self._check(lines_obj, lines_obj.nSetValue(column, value), column, warnings=warnings)
                self._check(lines_obj, lines_obj.nWrite(), "line")
            self._check(bus, bus.nWrite(), None, warnings=warnings)
        except BaseException:
            bus.nClear()
            raise
        self._fault("after_sage_write")
        return SageDocument(
            kind="receipt_of_goods" if receipt_type == "G" else "receipt_of_invoice",
            receipt_type=receipt_type,
            receipt_no=str(no.value),
            purchase_order_no=purchase_order_no,
            ap_division_no=div,
            vendor_no=vendor,
            invoice_no=str(header.get("InvoiceNo$", "")),
            source_key_token=token,
            warnings=warnings,
        )

    def purchase_order_header(self, purchase_order_no: str) -> tuple[str, str]:
        """(division, vendor) of a PO."""
        if (known := self._po_parties.get(purchase_order_no)) is not None:
            return known
        cols = ["APDivisionNo$", "VendorNo$"]
        rows = parse_rows(
            self._result_sets(
                self._po_service(), cols, "PurchaseOrderNo$", f"PurchaseOrderNo$={quote(purchase_order_no)}"
            ),
            ["d", "v"],
            cols,
        )
        if not rows:
            raise SageNotFoundError(f"Purchase order {purchase_order_no} is not on file in company {self.company}.")
        return rows[0]["d"], rows[0]["v"]

    def receive_goods(
        self, purchase_order_no: str, lines: list[ReceiptLine], key: str, receipt_date: str | None = None
    ) -> SageDocument:
        """Receipt of goods (type G) against PO lines; the same key returns the same receipt, never a second one."""
        if not lines:
            raise SageValidationError("A receipt of goods needs at least one line.", "lines")
        _check_date(receipt_date, "receipt_date")

        def attempt() -> SageDocument:
            existing = self.find_by_source_key(key)
            if existing:
                return existing
            div, vendor = self.purchase_order_header(purchase_order_no)
            header = {"ReceiptDate$": receipt_date} if receipt_date else {}
            rows = [{self.u.receipt_line_po_line_column: ln.line_key, "QuantityReceived": ln.quantity} for ln in lines]
            return self._write_receipt("G", (purchase_order_no, div, vendor), key, header, rows)

        return self.policy.run(attempt)

    def receive_invoice(
        self,
        purchase_order_no: str,
        invoice_no: str,
        invoice_date: str,
        lines: list[InvoiceLine],
        key: str,
        freight_amount: float = 0.0,
    ) -> SageDocument:
        """Receipt of invoice (type I): on posting it becomes an AP open invoice with GL distribution.

        A vendor invoice number already in Sage is refused here (Sage itself would turn it into an adjustment).
        """
        if not lines:
            raise SageValidationError("A receipt of invoice needs at least one line.", "lines")
        if not invoice_no.strip():
            raise SageValidationError("The vendor's invoice number is required.", "invoice_no")
        _check_date(invoice_date, "invoice_date")

        def attempt() -> SageDocument:
            div, vendor = self.purchase_order_header(purchase_order_no)
            token = quote(source_key_token(key))
            same_invoice = (
                f"APDivisionNo$={quote(div)} AND VendorNo$={quote(vendor)} AND InvoiceNo$={quote(invoice_no)}"
            )
            # One look at pending receipts answers both "written before with this key?" and "invoice number taken?"
            pending = self._find_receipts(
                f'{self.u.source_key_column}={token} OR (ReceiptType$="I" AND {same_invoice})'
            )
            mine = [d for d in pending if d.source_key_token == source_key_token(key)]
            if mine:
                return mine[0]
            posted = self._find_receipts(f"{self.u.source_key_column}={token}", history=True)
            if posted:
                return posted[0]
            self._refuse_duplicate_invoice(div, vendor, invoice_no, pending_found=bool(pending))
            account_keys = self._account_keys([ln.account for ln in lines if ln.account])
            rows = []
            for ln in lines:
                row: dict[str, Any] = {self.u.receipt_line_po_line_column: ln.line_key, "QuantityInvoiced": ln.quantity}
                if ln.unit_cost is not None:
                    row["UnitCost"] = ln.unit_cost
                if ln.account:
                    row["PurchasesAcctKey$"] = account_keys[ln.account]
                rows.append(row)
            header: dict[str, Any] = {"InvoiceNo$": invoice_no, "InvoiceDate$": invoice_date}
            if freight_amount:  # a new receipt's freight is 0 already
                header["FreightAmt"] = freight_amount
            return self._write_receipt("I", (purchase_order_no, div, vendor), key, header, rows)

        return self.policy.run(attempt)

    def _refuse_duplicate_invoice(self, div: str, vendor: str, invoice_no: str, *, pending_found: bool) -> None:
        """Refuse an invoice number the vendor already has: pending (found by the caller) or open in A/P."""
        where = f"APDivisionNo$={quote(div)} AND VendorNo$={quote(vendor)} AND InvoiceNo$={quote(invoice_no)}"
        pending = pending_found
        cols = ["InvoiceNo$"]
        open_inv = parse_rows(
            self._result_sets(self._object("AP_OpenInvoice_svc", "A/P"), cols, "InvoiceNo$", where), ["i"], cols
        )
        if pending or open_inv:
            raise SageValidationError(
                f"Invoice {invoice_no} already exists for vendor {div}-{vendor}; Sage would "
                "enter it as an adjustment, so it was not written.",
                "invoice_no",
            )

    def post_receipts(self, posting_date: str | None = None) -> PostingResult:
        """Run the receipt register update: posts every pending receipt (quantities, statuses, GL, AP)."""
        _check_date(posting_date, "posting_date")
        date = posting_date or self.today()

        def attempt() -> PostingResult:
            pending = [f"{d.receipt_type}-{d.receipt_no}" for d in self._find_receipts("")]
            if not pending:  # nothing to post: the register update (a heavy batch job in Sage) is not run
                return PostingResult(posted=[], posting_date=date)
            upd = self._object("PO_ReceiptRegister_upd", "P/O", self.u.receipt_register_ui_task, cached=False)
            try:
                self._check(upd, upd.nSetPostingDate(date), "posting_date")
                self._check(upd, upd.nUpdate())
            finally:
                upd.DropObject()
            return PostingResult(posted=pending, posting_date=date)

        return self.policy.run(attempt)


def _check_date(value: str | None, field: str) -> None:
    """Sage dates are YYYYMMDD strings; say so plainly instead of letting Sage store a wrong one."""
    if value is None:
        return
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise SageValidationError(f"{field} must be a date as YYYYMMDD, e.g. 20260301; got {value!r}.", field) from None
    if len(value) != 8:
        raise SageValidationError(f"{field} must be a date as YYYYMMDD, e.g. 20260301; got {value!r}.", field)


__all__ = ["SageGateway", "source_key_token"]
