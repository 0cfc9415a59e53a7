"""The Sage business rules the connector depends on, as simulated business objects (registers: `registers.py`)."""

from __future__ import annotations

from typing import Any

from mlconnector.sage.boi import RET_FAIL, RET_OK, RET_WARNING
from mlconnector.sage.sim.documents import HeaderObject
from mlconnector.sage.sim.objects import RecordObject, SimRuleError, fetch_one
from mlconnector.sage.sim.registers import InvoiceRegisterUpd, ReceiptRegisterUpd


class _Accounts:
    """GL account checks shared by PO lines, receipts and AP invoices."""

    conn: Any

    def active_account(self, account_key: str) -> None:
        row = fetch_one(self.conn, "SELECT Status, Account FROM GL_Account WHERE AccountKey=?", account_key)
        if row is None:
            raise SimRuleError(f"GL account key {account_key} is not on file.")
        if row["Status"] != "A":
            raise SimRuleError(f"GL account {row['Account']} is inactive.")


class PurchaseOrderBus(HeaderObject, _Accounts):
    object_name = "PO_PurchaseOrder_bus"
    table_name = "PO_PurchaseOrderHeader"
    lines_table = "PO_PurchaseOrderDetail"
    task = "PO_PurchaseOrder_ui"
    next_number_spec = ("PurchaseOrderNo", 7)

    def nGetNextPurchaseOrderNo(self, out: Any) -> int:
        self._hit("nGetNextPurchaseOrderNo")
        return self.next_number(out)

    def _on_new(self) -> None:
        super()._on_new()
        assert self._rec is not None and self._session is not None
        self._rec.update(
            {
                "PurchaseOrderDate$": self._session.date,
                "OrderType$": "S",
                "OrderStatus$": "N",
                "APDivisionNo$": "01",
                "WarehouseCode$": "000",
            }
        )

    def _on_set(self, rec: dict[str, Any], column: str, value: Any) -> int:
        if column == "VendorNo$":
            v = fetch_one(
                self.conn, "SELECT * FROM AP_Vendor WHERE APDivisionNo=? AND VendorNo=?", rec["APDivisionNo$"], value
            )
            if v is None:
                return self._fail(f"Vendor {rec['APDivisionNo$']}-{value} is not on file.")
            rec.update(
                {
                    "VendorNo$": value,
                    "PurchaseName$": v["VendorName"],
                    "PurchaseAddress1$": v["AddressLine1"],
                    "PurchaseCity$": v["City"],
                    "PurchaseState$": v["State"],
                    "PurchaseZipCode$": v["ZipCode"],
                    "TermsCode$": v["TermsCode"],
                    "TaxSchedule$": v["TaxSchedule"],
                }
            )
            return RET_OK
        if column in ("WarehouseCode$", "ShipToCode$"):
            w = fetch_one(self.conn, "SELECT * FROM IM_Warehouse WHERE WarehouseCode=?", value)
            if w is None:
                return self._fail(f"Warehouse {value} is not on file.")
            if column == "ShipToCode$":
                rec.update(
                    {
                        "ShipToName$": w["WarehouseName"],
                        "ShipToAddress1$": w["WarehouseAddress1"],
                        "ShipToCity$": w["WarehouseCity"],
                        "ShipToState$": w["WarehouseState"],
                        "ShipToZipCode$": w["WarehouseZipCode"],
                    }
                )
        if column == "OrderStatus$" and value not in ("N", "O", "B", "X", "Z"):
            return self._fail(f"Order status {value} is invalid.")
        rec[column] = value
        return RET_OK

    def _on_add_line(self, line: dict[str, Any]) -> None:
        assert self._rec is not None
        line.update(
            {
                "WarehouseCode$": self._rec["WarehouseCode$"],
                "ItemType$": "1",
                "RequiredDate$": self._rec["RequiredExpireDate$"] or self._rec["PurchaseOrderDate$"],
                "UnitOfMeasureConvFactor": 1.0,
            }
        )

    def _on_set_line(self, line: dict[str, Any], column: str, value: Any) -> int:
        assert self._rec is not None
        if column == "ItemCode$":
            it = fetch_one(self.conn, "SELECT * FROM CI_Item WHERE ItemCode=?", value)
            if it is None:
                raise SimRuleError(f"Item {value} is not on file.")
            alias = fetch_one(
                self.conn,
                "SELECT AliasItemNo FROM IM_AliasItem WHERE ItemCode=? AND APDivisionNo=? AND VendorNo=?",
                value,
                self._rec["APDivisionNo$"],
                self._rec["VendorNo$"],
            )
            line.update(
                {
                    "ItemCode$": value,
                    "ItemCodeDesc$": it["ItemCodeDesc"],
                    "UnitOfMeasure$": it["PurchaseUnitOfMeasure"],
                    "UnitCost": float(it["StandardUnitCost"]),
                    "PurchasesAcctKey$": it["PurchasesAcctKey"],
                    "VendorAliasItemNo$": alias[0] if alias else "",
                }
            )
            return RET_OK
        if column == "PurchasesAcctKey$":
            self.active_account(value)
        if column in ("QuantityOrdered", "UnitCost") and value < 0:
            raise SimRuleError(f"{column} cannot be negative.")
        line[column] = value
        return RET_OK

    def _validate_line(self, line: dict[str, Any]) -> None:
        if not line["ItemCode$"]:
            raise SimRuleError("Item code is required.")
        line["ExtensionAmt"] = round(line["QuantityOrdered"] * line["UnitCost"], 2)
        line["QuantityBackordered"] = max(line["QuantityOrdered"] - line["QuantityReceived"], 0.0)

    def _validate(self, rec: dict[str, Any]) -> tuple[int, str]:
        if not rec["VendorNo$"]:
            return RET_FAIL, "Vendor number is required."
        return RET_OK, ""


class PurchaseOrderSvc(PurchaseOrderBus):
    object_name = "PO_PurchaseOrder_svc"
    read_only = True


class VendorBus(RecordObject):
    object_name = "AP_Vendor_bus"
    table_name = "AP_Vendor"
    task = "AP_Vendor_ui"

    def _validate(self, rec: dict[str, Any]) -> tuple[int, str]:
        if not rec["VendorName$"]:
            return RET_FAIL, "Vendor name is required."
        if rec["TermsCode$"] and not fetch_one(
            self.conn, "SELECT 1 FROM AP_TermsCode WHERE TermsCode=?", rec["TermsCode$"]
        ):
            return RET_FAIL, f"Terms code {rec['TermsCode$']} is not on file."
        return RET_OK, ""


class VendorSvc(VendorBus):
    object_name = "AP_Vendor_svc"
    read_only = True


class GLAccountSvc(RecordObject):
    object_name = "GL_Account_svc"
    table_name = "GL_Account"
    task = "GL_Account_ui"
    read_only = True


class GLSubAccountSvc(RecordObject):
    object_name = "GL_SubAccount_svc"
    table_name = "GL_SubAccount"
    task = "GL_Account_ui"
    read_only = True


class OpenInvoiceSvc(RecordObject):
    """Posted AP invoices still open: the gateway checks them so a duplicate invoice never becomes an adjustment."""

    object_name = "AP_OpenInvoice_svc"
    table_name = "AP_OpenInvoice"
    task = "AP_Invoice_ui"
    read_only = True


class ReceiptBus(HeaderObject, _Accounts):
    """Receipt of goods (G) or of invoice (I) against one PO; lines name the PO line they receive."""

    object_name = "PO_Receipt_bus"
    table_name = "PO_ReceiptHeader"
    lines_table = "PO_ReceiptDetail"
    task = "PO_Receipt_ui"
    next_number_spec = ("ReceiptNo", 6)

    def nGetNextReceiptNo(self, out: Any) -> int:
        self._hit("nGetNextReceiptNo")
        return self.next_number(out)

    def _on_new(self) -> None:
        super()._on_new()
        assert self._rec is not None and self._session is not None
        if self._rec["ReceiptType$"] not in ("G", "I"):
            raise SimRuleError(f"Receipt type {self._rec['ReceiptType$']} is not G or I.")
        self._rec.update({"ReceiptDate$": self._session.date})

    def _on_set(self, rec: dict[str, Any], column: str, value: Any) -> int:
        if column == "PurchaseOrderNo$":
            po = fetch_one(self.conn, "SELECT * FROM PO_PurchaseOrderHeader WHERE PurchaseOrderNo=?", value)
            if po is None:
                return self._fail(f"Purchase order {value} is not on file.")
            closed = ("X", "Z") if rec["ReceiptType$"] == "G" else ("Z",)
            if po["OrderStatus"] in closed:
                return self._fail(f"Purchase order {value} is complete.")
            assert self._session is not None
            if not self._session.lock_free("PO_PurchaseOrderHeader", value):
                return self._fail(self._session.in_use_message("PO_PurchaseOrderHeader", value))
            v = fetch_one(
                self.conn,
                "SELECT VendorName FROM AP_Vendor WHERE APDivisionNo=? AND VendorNo=?",
                po["APDivisionNo"],
                po["VendorNo"],
            )
            rec.update(
                {
                    "PurchaseOrderNo$": value,
                    "APDivisionNo$": po["APDivisionNo"],
                    "VendorNo$": po["VendorNo"],
                    "VendorName$": v[0] if v else "",
                }
            )
            return RET_OK
        rec[column] = value
        return RET_OK

    def _on_set_line(self, line: dict[str, Any], column: str, value: Any) -> int:
        assert self._rec is not None
        if column == "OrderLineKey$":
            if not self._rec["PurchaseOrderNo$"]:
                raise SimRuleError("Set PurchaseOrderNo$ on the receipt before its lines.")
            pol = fetch_one(
                self.conn,
                "SELECT * FROM PO_PurchaseOrderDetail WHERE PurchaseOrderNo=? AND LineKey=?",
                self._rec["PurchaseOrderNo$"],
                value,
            )
            if pol is None:
                raise SimRuleError(f"Line {value} is not on purchase order {self._rec['PurchaseOrderNo$']}.")
            line.update(
                {
                    "OrderLineKey$": value,
                    "ItemCode$": pol["ItemCode"],
                    "WarehouseCode$": pol["WarehouseCode"],
                    "UnitOfMeasure$": pol["UnitOfMeasure"],
                    "PurchasesAcctKey$": pol["PurchasesAcctKey"],
                    "UnitCost": float(pol["UnitCost"]),
                }
            )
            return RET_OK
        if column == "PurchasesAcctKey$":
            self.active_account(value)
        if column in ("QuantityReceived", "QuantityInvoiced") and value < 0:
            raise SimRuleError(f"{column} cannot be negative.")
        line[column] = value
        return RET_OK

    def _validate_line(self, line: dict[str, Any]) -> None:
        if not line["OrderLineKey$"]:
            raise SimRuleError("Each receipt line needs the purchase order line (OrderLineKey$).")
        qty = line["QuantityReceived"] if self._rec and self._rec["ReceiptType$"] == "G" else line["QuantityInvoiced"]
        line["ExtensionAmt"] = round(qty * line["UnitCost"], 2)

    def _validate(self, rec: dict[str, Any]) -> tuple[int, str]:
        if not rec["PurchaseOrderNo$"]:
            return RET_FAIL, "Purchase order number is required."
        lines = self._lines_obj.lines
        if not lines:
            return RET_FAIL, "The receipt has no lines."
        if rec["ReceiptType$"] == "I":
            if not rec["InvoiceNo$"] or not rec["InvoiceDate$"]:
                return RET_FAIL, "Invoice number and invoice date are required for a receipt of invoice."
            return RET_OK, ""
        over = []
        for line in lines:
            pol = fetch_one(
                self.conn,
                "SELECT QuantityOrdered, QuantityReceived FROM PO_PurchaseOrderDetail WHERE "
                "PurchaseOrderNo=? AND LineKey=?",
                rec["PurchaseOrderNo$"],
                line["OrderLineKey$"],
            )
            if pol and line["QuantityReceived"] > pol[0] - pol[1]:
                over.append(line["OrderLineKey$"])
        if over:
            return RET_WARNING, f"Quantity received exceeds quantity ordered on line(s) {', '.join(over)}."
        return RET_OK, ""


class ReceiptHistorySvc(RecordObject):
    """Posted receipts: the register moves them here from PO_ReceiptHeader, as real Sage does."""

    object_name = "PO_ReceiptHistory_svc"
    table_name = "PO_ReceiptHistoryHeader"
    task = "PO_Receipt_ui"
    read_only = True


class APInvoiceBus(HeaderObject, _Accounts):
    """AP invoice data entry; an invoice number already open for the vendor is entered as an adjustment."""

    object_name = "AP_Invoice_bus"
    table_name = "AP_InvoiceHeader"
    lines_table = "AP_InvoiceDetail"
    task = "AP_Invoice_ui"

    def _on_new(self) -> None:
        super()._on_new()
        assert self._rec is not None and self._session is not None
        vendor = fetch_one(
            self.conn,
            "SELECT TermsCode FROM AP_Vendor WHERE APDivisionNo=? AND VendorNo=?",
            self._rec["APDivisionNo$"],
            self._rec["VendorNo$"],
        )
        if vendor is None:
            raise SimRuleError(f"Vendor {self._rec['APDivisionNo$']}-{self._rec['VendorNo$']} is not on file.")
        self._rec.update(
            {"InvoiceDate$": self._session.date, "TermsCode$": vendor[0], "InvoiceStatus$": "N", "Adjustment$": "N"}
        )

    def _load(self, keyvals: dict[str, str]) -> dict[str, Any] | None:
        """A posted invoice has left data entry (real Sage moves it to history), so its number starts a new entry."""
        rec = super()._load(keyvals)
        return None if rec is not None and rec["InvoiceStatus$"] == "P" else rec

    def _on_set_line(self, line: dict[str, Any], column: str, value: Any) -> int:
        if column == "AccountKey$":
            self.active_account(value)
        line[column] = value
        return RET_OK

    def _validate_line(self, line: dict[str, Any]) -> None:
        if not line["AccountKey$"]:
            raise SimRuleError("GL account is required on each distribution line.")

    def _validate(self, rec: dict[str, Any]) -> tuple[int, str]:
        if not self._lines_obj.lines:
            return RET_FAIL, "The invoice has no distribution lines."
        rec["InvoiceAmt"] = round(sum(line["DistributionAmt"] for line in self._lines_obj.lines), 2)
        if fetch_one(
            self.conn,
            "SELECT 1 FROM AP_OpenInvoice WHERE APDivisionNo=? AND VendorNo=? AND InvoiceNo=?",
            rec["APDivisionNo$"],
            rec["VendorNo$"],
            rec["InvoiceNo$"],
        ):
            rec["Adjustment$"] = "Y"
            return RET_WARNING, f"Invoice {rec['InvoiceNo$']} already exists; this entry is an adjustment."
        return RET_OK, ""


OBJECTS: dict[str, type[Any]] = {
    cls.object_name: cls
    for cls in (
        PurchaseOrderBus,
        PurchaseOrderSvc,
        VendorBus,
        VendorSvc,
        GLAccountSvc,
        GLSubAccountSvc,
        OpenInvoiceSvc,
        ReceiptBus,
        ReceiptHistorySvc,
        APInvoiceBus,
        ReceiptRegisterUpd,
        InvoiceRegisterUpd,
    )
}
"""Every object `NewObject` can create, by its Sage name."""
