"""`nGetResultSets` plumbing: which Sage columns become which model fields, and how records are joined and split."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlconnector.sage.boi import FIELD_SEP, SEP
from mlconnector.sage.errors import SageError
from mlconnector.sage.unconfirmed import Unconfirmed

PO_HEADER = {
    "purchase_order_no": "PurchaseOrderNo$",
    "purchase_order_date": "PurchaseOrderDate$",
    "order_type": "OrderType$",
    "order_status": "OrderStatus$",
    "ap_division_no": "APDivisionNo$",
    "vendor_no": "VendorNo$",
    "vendor_name": "PurchaseName$",
    "warehouse_code": "WarehouseCode$",
    "ship_to_code": "ShipToCode$",
    "ship_to_name": "ShipToName$",
    "ship_to_address1": "ShipToAddress1$",
    "ship_to_city": "ShipToCity$",
    "ship_to_state": "ShipToState$",
    "ship_to_zip_code": "ShipToZipCode$",
    "buyer": "RequisitorName$",  # replaced by Unconfirmed.buyer_column in header_columns()
    "required_date": "RequiredExpireDate$",
    "terms_code": "TermsCode$",
    "ship_via": "ShipVia$",
    "fob": "FOB$",
    "comment": "Comment$",
    "date_updated": "DateUpdated$",
    "time_updated": "TimeUpdated$",
}
PO_LINE = {
    "line_key": "LineKey$",
    "line_seq_no": "LineSeqNo$",
    "item_code": "ItemCode$",
    "item_description": "ItemCodeDesc$",
    "item_type": "ItemType$",
    "vendor_alias_item_no": "VendorAliasItemNo$",
    "unit_of_measure": "UnitOfMeasure$",
    "warehouse_code": "WarehouseCode$",
    "required_date": "RequiredDate$",
    "purchases_acct_key": "PurchasesAcctKey$",
    "quantity_ordered": "QuantityOrdered",
    "quantity_received": "QuantityReceived",
    "quantity_backordered": "QuantityBackordered",
    "quantity_invoiced": "QuantityInvoiced",
    "unit_cost": "UnitCost",
    "extension_amount": "ExtensionAmt",
}
VENDOR = {
    "ap_division_no": "APDivisionNo$",
    "vendor_no": "VendorNo$",
    "vendor_name": "VendorName$",
    "address_line1": "AddressLine1$",
    "address_line2": "AddressLine2$",
    "city": "City$",
    "state": "State$",
    "zip_code": "ZipCode$",
    "country_code": "CountryCode$",
    "telephone_no": "TelephoneNo$",
    "email_address": "EmailAddress$",
    "terms_code": "TermsCode$",
    "primary_contact": "PrimaryContact$",
    "date_updated": "DateUpdated$",
    "time_updated": "TimeUpdated$",
}
RECEIPT = {
    "receipt_type": "ReceiptType$",
    "receipt_no": "ReceiptNo$",
    "purchase_order_no": "PurchaseOrderNo$",
    "ap_division_no": "APDivisionNo$",
    "vendor_no": "VendorNo$",
    "invoice_no": "InvoiceNo$",
    "source_key_token": "Comment$",  # replaced by Unconfirmed.source_key_column in receipt_columns()
}


def header_columns(u: Unconfirmed) -> dict[str, str]:
    """PO header fields → Sage columns, with the unconfirmed buyer column of this installation."""
    return {**PO_HEADER, "buyer": u.buyer_column}


def receipt_columns(u: Unconfirmed) -> dict[str, str]:
    """Receipt header fields → Sage columns, with the column that holds the idempotency token."""
    return {**RECEIPT, "source_key_token": u.source_key_column}


def expression(columns: Iterable[str]) -> str:
    """A ProvideX return-column expression joining the columns with FIELD_SEP (numbers through STR())."""
    return f'+"{FIELD_SEP}"+'.join(c if c.endswith("$") else f"STR({c})" for c in columns)


def quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def any_of(column: str, values: Iterable[str]) -> str:
    return " OR ".join(f"{column}={quote(v)}" for v in values)


def parse_rows(raw: str, names: list[str], columns: list[str]) -> list[dict[str, Any]]:
    out = []
    for record in raw.split(SEP) if raw else []:
        values = record.split(FIELD_SEP)
        if len(values) != len(columns):
            raise SageError(f"Result set record has {len(values)} fields, expected {len(columns)}.")
        out.append(
            {n: (v if c.endswith("$") else float(v or 0)) for n, c, v in zip(names, columns, values, strict=True)}
        )
    return out
