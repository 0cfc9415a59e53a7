"""SQLite tables with Sage 100's names. Columns ending in `$` are strings in BOI; SQL drops the `$`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

AUDIT = "DateCreated$ TimeCreated$ UserCreatedKey$ DateUpdated$ TimeUpdated$ UserUpdatedKey$"


@dataclass(frozen=True)
class Table:
    """One Sage table: its BOI columns (in `nGetRecord` order) and its primary key."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    def sql(self, column: str) -> str:
        """The SQL name of a BOI column (`VendorNo$` → `VendorNo`)."""
        return column.rstrip("$")

    def is_string(self, column: str) -> bool:
        return column.endswith("$")

    def has(self, column: str) -> bool:
        return column in self.columns

    def default(self, column: str) -> str | float:
        return "" if self.is_string(column) else 0.0


def _t(name: str, key: str, cols: str, audit: bool = True) -> Table:
    columns = tuple((cols + (" " + AUDIT if audit else "")).split())
    return Table(name, columns, tuple(key.split()))


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _t("SY_Company", "CompanyCode$", "CompanyCode$ CompanyName$", audit=False),
        _t("SY_User", "UserLogon$", "UserLogon$ UserKey$ PasswordSalt$ PasswordHash$ UserName$", audit=False),
        _t("SIM_UserTaskRight", "UserLogon$ TaskName$", "UserLogon$ TaskName$ Rights$", audit=False),
        _t("SIM_Lock", "TableName$ RecordKey$", "TableName$ RecordKey$ Holder$ ExpiresAt", audit=False),
        _t("SIM_NextNumber", "Name$", "Name$ NextValue", audit=False),
        _t("SIM_Setting", "Name$", "Name$ Value$", audit=False),
        _t("AP_Division", "APDivisionNo$", "APDivisionNo$ DivisionDesc$ AccountsPayableAcctKey$ FreightAcctKey$"),
        _t("AP_TermsCode", "TermsCode$", "TermsCode$ TermsCodeDesc$ DaysBeforeDue", audit=False),
        _t(
            "AP_Vendor",
            "APDivisionNo$ VendorNo$",
            "APDivisionNo$ VendorNo$ VendorName$ AddressLine1$ AddressLine2$ City$ State$ ZipCode$ CountryCode$ "
            "TelephoneNo$ EmailAddress$ TermsCode$ TaxSchedule$ Form1099$ Box1099$ PrimaryContact$",
        ),
        _t(
            "IM_Warehouse",
            "WarehouseCode$",
            "WarehouseCode$ WarehouseDesc$ WarehouseName$ WarehouseAddress1$ WarehouseCity$ WarehouseState$ "
            "WarehouseZipCode$",
        ),
        _t(
            "CI_Item",
            "ItemCode$",
            "ItemCode$ ItemCodeDesc$ ItemType$ ProductLine$ StandardUnitOfMeasure$ PurchaseUnitOfMeasure$ "
            "PrimaryAPDivisionNo$ PrimaryVendorNo$ PurchasesAcctKey$ StandardUnitCost PurchaseUMConvFctr",
        ),
        _t("IM_AliasItem", "ItemCode$ APDivisionNo$ VendorNo$", "ItemCode$ APDivisionNo$ VendorNo$ AliasItemNo$"),
        _t(
            "IM_ItemWarehouse",
            "ItemCode$ WarehouseCode$",
            "ItemCode$ WarehouseCode$ QuantityOnHand QuantityOnPurchaseOrder",
            audit=False,
        ),
        _t("GL_SubAccount", "SegmentNo$ SubAccountCode$", "SegmentNo$ SubAccountCode$ SubAccountDesc$"),
        _t(
            "GL_Account",
            "AccountKey$",
            "AccountKey$ Account$ RawAccount$ MainAccountCode$ AccountDesc$ AccountType$ Status$ AccountGroup$",
        ),
        _t(
            "PO_PurchaseOrderHeader",
            "PurchaseOrderNo$",
            "PurchaseOrderNo$ PurchaseOrderDate$ OrderType$ RequiredExpireDate$ APDivisionNo$ VendorNo$ "
            "PurchaseName$ PurchaseAddress1$ PurchaseCity$ PurchaseState$ PurchaseZipCode$ PurchaseAddressCode$ "
            "ShipToCode$ ShipToName$ ShipToAddress1$ ShipToCity$ ShipToState$ ShipToZipCode$ OrderStatus$ "
            "WarehouseCode$ ShipVia$ FOB$ ConfirmTo$ Comment$ TermsCode$ TaxSchedule$ RequisitorName$ "
            "LastReceiptDate$ LastReceiptNo$ LastInvoiceDate$ LastInvoiceNo$ FreightAmt ReceivedAmt InvoicedAmt",
        ),
        _t(
            "PO_PurchaseOrderDetail",
            "PurchaseOrderNo$ LineKey$",
            "PurchaseOrderNo$ LineKey$ LineSeqNo$ ItemCode$ ItemType$ ItemCodeDesc$ RequiredDate$ "
            "PurchasesAcctKey$ UnitOfMeasure$ WarehouseCode$ VendorAliasItemNo$ CommentText$ QuantityOrdered "
            "QuantityReceived QuantityBackordered QuantityInvoiced UnitCost ExtensionAmt ReceivedAmt InvoicedAmt "
            "UnitOfMeasureConvFactor",
            audit=False,
        ),
        *(
            _t(
                f"PO_Receipt{kind}Header",
                "ReceiptType$ ReceiptNo$",
                "ReceiptType$ ReceiptNo$ ReceiptDate$ PurchaseOrderNo$ APDivisionNo$ VendorNo$ VendorName$ "
                "InvoiceNo$ InvoiceDate$ Comment$ BatchNo$ FreightAmt",
            )
            for kind in ("", "History")
        ),
        *(
            _t(
                f"PO_Receipt{kind}Detail",
                "ReceiptType$ ReceiptNo$ LineKey$",
                "ReceiptType$ ReceiptNo$ LineKey$ OrderLineKey$ ItemCode$ WarehouseCode$ UnitOfMeasure$ "
                "PurchasesAcctKey$ QuantityReceived QuantityInvoiced UnitCost ExtensionAmt",
                audit=False,
            )
            for kind in ("", "History")
        ),
        _t(
            "AP_InvoiceHeader",
            "APDivisionNo$ VendorNo$ InvoiceNo$",
            "APDivisionNo$ VendorNo$ InvoiceNo$ InvoiceDate$ InvoiceDueDate$ TermsCode$ Comment$ Adjustment$ "
            "PurchaseOrderNo$ InvoiceStatus$ InvoiceAmt",
        ),
        _t(
            "AP_InvoiceDetail",
            "APDivisionNo$ VendorNo$ InvoiceNo$ LineKey$",
            "APDivisionNo$ VendorNo$ InvoiceNo$ LineKey$ AccountKey$ CommentText$ DistributionAmt",
            audit=False,
        ),
        _t(
            "AP_OpenInvoice",
            "APDivisionNo$ VendorNo$ InvoiceNo$",
            "APDivisionNo$ VendorNo$ InvoiceNo$ InvoiceDate$ InvoiceDueDate$ PurchaseOrderNo$ SourceDocument$ "
            "AdjustmentCount InvoiceAmt Balance",
        ),
        _t(
            "GL_DetailPosting",
            "EntryNo$",
            "EntryNo$ AccountKey$ PostingDate$ SourceJournal$ SourceDocument$ PostingComment$ DebitAmount CreditAmount",
            audit=False,
        ),
    )
}

INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_poh_updated ON PO_PurchaseOrderHeader (DateUpdated, TimeUpdated)",
    "CREATE INDEX IF NOT EXISTS ix_vendor_updated ON AP_Vendor (DateUpdated, TimeUpdated)",
    "CREATE INDEX IF NOT EXISTS ix_glaccount_account ON GL_Account (Account)",
    "CREATE INDEX IF NOT EXISTS ix_receipt_comment ON PO_ReceiptHeader (Comment)",
    "CREATE INDEX IF NOT EXISTS ix_receipt_history_comment ON PO_ReceiptHistoryHeader (Comment)",
    "CREATE INDEX IF NOT EXISTS ix_apinv_comment ON AP_InvoiceHeader (Comment)",
)


def ddl(table: Table) -> str:
    text, real = "TEXT NOT NULL DEFAULT ''", "REAL NOT NULL DEFAULT 0"
    cols = ", ".join(f'"{table.sql(c)}" {text if table.is_string(c) else real}' for c in table.columns)
    key = ", ".join(f'"{table.sql(c)}"' for c in table.key)
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" ({cols}, PRIMARY KEY ({key}))'


def connect(path: Path) -> sqlite3.Connection:
    """One connection per thread; WAL + busy timeout so the agent's sessions and the CLI can share the file."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def create_all(conn: sqlite3.Connection) -> None:
    for table in TABLES.values():
        conn.execute(ddl(table))
    for stmt in INDEXES:
        conn.execute(stmt)
