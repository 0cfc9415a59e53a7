"""Register updates (`_upd`): posting receipts and AP invoices, the step that changes quantities, statuses and GL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mlconnector.sage.boi import RET_OK
from mlconnector.sage.sim.objects import Counted, SimRuleError, fetch_one
from mlconnector.sage.sim.schema import TABLES
from mlconnector.sage.sim.seed import stamp


class _Register(Counted):
    """Shared mechanics of the `_upd` register objects: posting date, one transaction, GL entries."""

    task = ""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.posting_date = session.date

    @property
    def conn(self) -> Any:
        assert self._session is not None
        return self._session.conn

    def nSetPostingDate(self, date: str) -> int:
        self._hit("nSetPostingDate")
        if len(date) != 8 or not date.isdigit():
            return self._fail(f"Posting date {date!r} must be YYYYMMDD.")
        self.posting_date = date
        return RET_OK

    def _gl(self, account_key: str, debit: float, credit: float, journal: str, doc: str, comment: str) -> None:
        assert self._session is not None
        entry = f"{self._session.next_number('EntryNo', in_transaction=True):010d}"
        self.conn.execute(
            "INSERT INTO GL_DetailPosting VALUES (?,?,?,?,?,?,?,?)",
            (entry, account_key, self.posting_date, journal, doc, comment, debit, credit),
        )

    def _touch(self, table: str, where: str, *params: Any) -> None:
        assert self._session is not None
        date, tim = stamp(self._session.sim.now())
        self.conn.execute(
            f"UPDATE {table} SET DateUpdated=?, TimeUpdated=?, UserUpdatedKey=? WHERE {where}",
            (date, tim, self._session.user_key, *params),
        )

    def _open_invoice(self, div: str, vendor: str, inv: str, date: str, amount: float, po: str, doc: str) -> None:
        existing = fetch_one(
            self.conn,
            "SELECT 1 FROM AP_OpenInvoice WHERE APDivisionNo=? AND VendorNo=? AND InvoiceNo=?",
            div,
            vendor,
            inv,
        )
        date_now, tim = stamp(self._session.sim.now())  # type: ignore[union-attr]
        if existing:
            self.conn.execute(
                "UPDATE AP_OpenInvoice SET InvoiceAmt=InvoiceAmt+?, Balance=Balance+?, "
                "AdjustmentCount=AdjustmentCount+1, DateUpdated=?, TimeUpdated=? WHERE APDivisionNo=? "
                "AND VendorNo=? AND InvoiceNo=?",
                (amount, amount, date_now, tim, div, vendor, inv),
            )
            return
        terms = fetch_one(
            self.conn,
            "SELECT t.DaysBeforeDue FROM AP_Vendor v JOIN AP_TermsCode t ON t.TermsCode=v.TermsCode"
            " WHERE v.APDivisionNo=? AND v.VendorNo=?",
            div,
            vendor,
        )
        due = (datetime.strptime(date, "%Y%m%d") + timedelta(days=int(terms[0]) if terms else 30)).strftime("%Y%m%d")
        rec = {
            "APDivisionNo$": div,
            "VendorNo$": vendor,
            "InvoiceNo$": inv,
            "InvoiceDate$": date,
            "InvoiceDueDate$": due,
            "PurchaseOrderNo$": po,
            "SourceDocument$": doc,
            "AdjustmentCount": 0.0,
            "InvoiceAmt": amount,
            "Balance": amount,
            "DateCreated$": date_now,
            "TimeCreated$": tim,
            "DateUpdated$": date_now,
            "TimeUpdated$": tim,
        }
        t = TABLES["AP_OpenInvoice"]
        self.conn.execute(
            f"INSERT INTO AP_OpenInvoice VALUES ({', '.join('?' * len(t.columns))})",
            [rec.get(c, t.default(c)) for c in t.columns],
        )

    def _ap_account(self, div: str) -> str:
        return str(fetch_one(self.conn, "SELECT AccountsPayableAcctKey FROM AP_Division WHERE APDivisionNo=?", div)[0])

    def _accrual_account(self, div: str) -> str:
        row = fetch_one(self.conn, "SELECT AccountKey FROM GL_Account WHERE Account=?", f"2100-{div}-00")
        return str(row[0])

    def nUpdate(self) -> int:
        """Post every pending document in one transaction; 0 with "in use" if a record it must change is locked."""
        self._hit("nUpdate")
        assert self._session is not None
        if not self._session.has_right(self.task, "C"):
            return self._fail(f"You do not have Update rights to {self.task} for user {self._session.user}.")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self._post()
            self.conn.execute("COMMIT")
        except SimRuleError as exc:
            self.conn.execute("ROLLBACK")
            return self._fail(str(exc))
        except Exception:
            self.conn.execute("ROLLBACK")
            raise
        return RET_OK

    def _post(self) -> None:
        raise NotImplementedError


class ReceiptRegisterUpd(_Register):
    """Posts receipts: raises QuantityReceived/Invoiced, completes lines and orders, GL accrual, AP open invoices."""

    object_name = "PO_ReceiptRegister_upd"
    task = "PO_ReceiptRegister_ui"

    def _post(self) -> None:
        assert self._session is not None
        pending = self.conn.execute("SELECT * FROM PO_ReceiptHeader ORDER BY ReceiptType, ReceiptNo").fetchall()
        for h in pending:
            po = h["PurchaseOrderNo"]
            if not self._session.lock_free("PO_PurchaseOrderHeader", po):
                raise SimRuleError(self._session.in_use_message("PO_PurchaseOrderHeader", po))
            doc = f"{h['ReceiptType']}-{h['ReceiptNo']}"
            lines = self.conn.execute(
                "SELECT * FROM PO_ReceiptDetail WHERE ReceiptType=? AND ReceiptNo=?", (h["ReceiptType"], h["ReceiptNo"])
            ).fetchall()
            total = 0.0
            for ln in lines:
                amount = float(ln["ExtensionAmt"])
                total += amount
                if h["ReceiptType"] == "G":
                    q = float(ln["QuantityReceived"])
                    self.conn.execute(
                        "UPDATE PO_PurchaseOrderDetail SET QuantityReceived=QuantityReceived+?, "
                        "ReceivedAmt=ReceivedAmt+?, QuantityBackordered=MAX(QuantityOrdered-"
                        "QuantityReceived-?, 0) WHERE PurchaseOrderNo=? AND LineKey=?",
                        (q, amount, q, po, ln["OrderLineKey"]),
                    )
                    self.conn.execute(
                        "UPDATE IM_ItemWarehouse SET QuantityOnHand=QuantityOnHand+? WHERE ItemCode=? "
                        "AND WarehouseCode=?",
                        (q, ln["ItemCode"], ln["WarehouseCode"]),
                    )
                    self._gl(ln["PurchasesAcctKey"], amount, 0.0, "RG", doc, f"Receipt PO {po}")
                    self._gl(self._accrual_account(h["APDivisionNo"]), 0.0, amount, "RG", doc, f"Accrual PO {po}")
                else:
                    self.conn.execute(
                        "UPDATE PO_PurchaseOrderDetail SET QuantityInvoiced=QuantityInvoiced+?, "
                        "InvoicedAmt=InvoicedAmt+? WHERE PurchaseOrderNo=? AND LineKey=?",
                        (float(ln["QuantityInvoiced"]), amount, po, ln["OrderLineKey"]),
                    )
                    self._gl(ln["PurchasesAcctKey"], amount, 0.0, "RI", doc, f"Invoice {h['InvoiceNo']} PO {po}")
            if h["ReceiptType"] == "G":
                open_lines = fetch_one(
                    self.conn,
                    "SELECT COUNT(*) FROM PO_PurchaseOrderDetail WHERE PurchaseOrderNo=? AND "
                    "QuantityReceived < QuantityOrdered",
                    po,
                )[0]
                self.conn.execute(
                    "UPDATE PO_PurchaseOrderHeader SET ReceivedAmt=ReceivedAmt+?, LastReceiptNo=?, "
                    "LastReceiptDate=?, OrderStatus=? WHERE PurchaseOrderNo=?",
                    (total, h["ReceiptNo"], h["ReceiptDate"], "X" if open_lines == 0 else "B", po),
                )
            else:
                total += float(h["FreightAmt"])
                self._gl(self._ap_account(h["APDivisionNo"]), 0.0, total, "RI", doc, f"AP invoice {h['InvoiceNo']}")
                self._open_invoice(h["APDivisionNo"], h["VendorNo"], h["InvoiceNo"], h["InvoiceDate"], total, po, doc)
                self.conn.execute(
                    "UPDATE PO_PurchaseOrderHeader SET InvoicedAmt=InvoicedAmt+?, LastInvoiceNo=?, "
                    "LastInvoiceDate=? WHERE PurchaseOrderNo=?",
                    (total, h["InvoiceNo"], h["InvoiceDate"], po),
                )
            self._touch("PO_PurchaseOrderHeader", "PurchaseOrderNo=?", po)
            for part in ("Header", "Detail"):  # posted receipts move to history, as in real Sage
                self.conn.execute(
                    f"INSERT INTO PO_ReceiptHistory{part} SELECT * FROM PO_Receipt{part} WHERE ReceiptType=? AND "
                    "ReceiptNo=?",
                    (h["ReceiptType"], h["ReceiptNo"]),
                )
                self.conn.execute(
                    f"DELETE FROM PO_Receipt{part} WHERE ReceiptType=? AND ReceiptNo=?",
                    (h["ReceiptType"], h["ReceiptNo"]),
                )


class InvoiceRegisterUpd(_Register):
    """Posts AP invoices: open invoice (or adjustment to it) and GL distribution to the lines' AccountKey$."""

    object_name = "AP_InvoiceRegister_upd"
    task = "AP_InvoiceRegister_ui"

    def _post(self) -> None:
        pending = self.conn.execute("SELECT * FROM AP_InvoiceHeader WHERE InvoiceStatus='N'").fetchall()
        for h in pending:
            doc = f"AP-{h['VendorNo']}-{h['InvoiceNo']}"
            for ln in self.conn.execute(
                "SELECT * FROM AP_InvoiceDetail WHERE APDivisionNo=? AND VendorNo=? AND InvoiceNo=?",
                (h["APDivisionNo"], h["VendorNo"], h["InvoiceNo"]),
            ):
                self._gl(ln["AccountKey"], float(ln["DistributionAmt"]), 0.0, "AP", doc, ln["CommentText"])
            amount = float(h["InvoiceAmt"])
            self._gl(self._ap_account(h["APDivisionNo"]), 0.0, amount, "AP", doc, f"AP invoice {h['InvoiceNo']}")
            self._open_invoice(
                h["APDivisionNo"], h["VendorNo"], h["InvoiceNo"], h["InvoiceDate"], amount, h["PurchaseOrderNo"], doc
            )
            self.conn.execute(
                "UPDATE AP_InvoiceHeader SET InvoiceStatus='P' WHERE APDivisionNo=? AND VendorNo=? AND InvoiceNo=?",
                (h["APDivisionNo"], h["VendorNo"], h["InvoiceNo"]),
            )
