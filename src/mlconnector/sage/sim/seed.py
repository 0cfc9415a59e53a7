"""The demo company ABC and the purchase-order generator (bulk SQL for load, so 100,000 POs seed in seconds)."""

from __future__ import annotations

import hashlib
import random
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mlconnector.sage.sim.schema import TABLES, create_all

COMPANY = "ABC"
DEMO_USERS = {"ml": "ml-demo", "viewer": "viewer-demo"}
"""Demo logons for the simulated company; the real agent gets credentials per call from the connector."""

WAREHOUSES = (
    ("000", "Main warehouse", "Irvine", "CA"),
    ("001", "East warehouse", "Newark", "NJ"),
    ("002", "West warehouse", "Reno", "NV"),
)
DEPARTMENTS = (("00", "Corporate"), ("10", "Production"), ("20", "Warehouse"), ("30", "Sales"), ("40", "Admin"))
DIVISIONS = (("01", "Operations"), ("02", "Distribution"))
MAIN_ACCOUNTS = (
    ("1000", "Cash", "A"),
    ("1200", "Inventory", "A"),
    ("2000", "Accounts payable", "L"),
    ("2100", "Purchase receipts accrual", "L"),
    ("5000", "Cost of goods sold", "E"),
    ("5100", "Purchases", "E"),
    ("6000", "Freight in", "E"),
    ("6100", "Shop supplies", "E"),
    ("6200", "Repairs and maintenance", "E"),
    ("6300", "Office supplies", "E"),
)
INACTIVE = {("6200", "02", "30"), ("6300", "02", "10"), ("6100", "01", "30")}
TASK_NAMES = (
    "PO_PurchaseOrder_ui",
    "AP_Vendor_ui",
    "GL_Account_ui",
    "PO_Receipt_ui",
    "AP_Invoice_ui",
    "PO_ReceiptRegister_ui",
    "AP_InvoiceRegister_ui",
)
UOMS = ("EACH", "BOX", "CASE", "FT", "LB", "GAL")
BUYERS = ("J. Ortiz", "M. Chen", "S. Patel", "K. Novak")


def stamp(now: datetime) -> tuple[str, str]:
    """`DateUpdated$`, `TimeUpdated$`: YYYYMMDD and zero-padded decimal hours (8 chars, reference §3)."""
    hours = now.hour + now.minute / 60 + (now.second + now.microsecond / 1e6) / 3600
    return now.strftime("%Y%m%d"), f"{hours:08.5f}"


def hash_password(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 10_000).hex()


def _insert(conn: sqlite3.Connection, table: str, rows: Iterable[dict[str, object]]) -> int:
    t = TABLES[table]
    cols = [t.sql(c) for c in t.columns]
    sql = f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})'
    values = [
        tuple(r.get(c, "" if t.is_string(bc) else 0.0) for c, bc in zip(cols, t.columns, strict=True)) for r in rows
    ]
    conn.executemany(sql, values)
    return len(values)


def _audit(date: str, time: str) -> dict[str, str]:
    return {
        "DateCreated": date,
        "TimeCreated": time,
        "UserCreatedKey": "0000000001",
        "DateUpdated": date,
        "TimeUpdated": time,
        "UserUpdatedKey": "0000000001",
    }


@dataclass(frozen=True)
class Catalog:
    """What the PO generator draws from: vendors, items with their aliases, warehouses."""

    vendors: list[tuple[str, str]]
    items: list[sqlite3.Row]
    aliases: dict[tuple[str, str, str], str]


def seed_company(
    conn: sqlite3.Connection, *, rng_seed: int = 7, purchase_orders: int = 25, when: datetime | None = None
) -> None:
    """Create the tables and the demo company ABC (idempotent: an already-seeded company is left alone)."""
    create_all(conn)
    if conn.execute("SELECT 1 FROM SY_Company WHERE CompanyCode=?", (COMPANY,)).fetchone():
        return
    rng = random.Random(rng_seed)
    date, time = stamp(when or datetime(2026, 1, 5, 8, 0, 0))
    audit = _audit(date, time)
    conn.execute("BEGIN IMMEDIATE")
    _insert(conn, "SY_Company", [{"CompanyCode": COMPANY, "CompanyName": "ABC Distribution and Service Corp."}])
    users = []
    for i, (logon, pw) in enumerate(DEMO_USERS.items(), start=1):
        salt = secrets.token_hex(8)
        users.append(
            {
                "UserLogon": logon,
                "UserKey": f"{i:010d}",
                "PasswordSalt": salt,
                "PasswordHash": hash_password(pw, salt),
                "UserName": logon,
            }
        )
    _insert(conn, "SY_User", users)
    rights = [{"UserLogon": "ml", "TaskName": t, "Rights": "CMRV"} for t in TASK_NAMES]
    rights += [{"UserLogon": "viewer", "TaskName": t, "Rights": "V"} for t in TASK_NAMES]
    _insert(conn, "SIM_UserTaskRight", rights)
    _insert(
        conn,
        "SIM_NextNumber",
        [
            {"Name": "PurchaseOrderNo", "NextValue": 1},
            {"Name": "ReceiptNo", "NextValue": 1},
            {"Name": "EntryNo", "NextValue": 1},
        ],
    )
    _insert(
        conn,
        "AP_TermsCode",
        [
            {"TermsCode": "01", "TermsCodeDesc": "Net 30", "DaysBeforeDue": 30},
            {"TermsCode": "02", "TermsCodeDesc": "Net 45", "DaysBeforeDue": 45},
        ],
    )
    _insert(
        conn,
        "IM_Warehouse",
        [
            {
                "WarehouseCode": c,
                "WarehouseDesc": d,
                "WarehouseName": f"ABC {d}",
                "WarehouseAddress1": f"{100 + i * 10} Industrial Way",
                "WarehouseCity": city,
                "WarehouseState": st,
                "WarehouseZipCode": f"9{i}000",
                **audit,
            }
            for i, (c, d, city, st) in enumerate(WAREHOUSES)
        ],
    )
    subs = [{"SegmentNo": "02", "SubAccountCode": c, "SubAccountDesc": d, **audit} for c, d in DIVISIONS]
    subs += [{"SegmentNo": "03", "SubAccountCode": c, "SubAccountDesc": d, **audit} for c, d in DEPARTMENTS]
    _insert(conn, "GL_SubAccount", subs)
    accounts, key = [], 0
    keys: dict[str, str] = {}
    for main, desc, kind in MAIN_ACCOUNTS:
        for div, _ in DIVISIONS:
            for dept, dept_desc in DEPARTMENTS:
                key += 1
                account = f"{main}-{div}-{dept}"
                keys[account] = f"{key:09d}"
                status = "I" if (main, div, dept) in INACTIVE else "A"
                accounts.append(
                    {
                        "AccountKey": f"{key:09d}",
                        "Account": account,
                        "RawAccount": f"{main}{div}{dept}",
                        "MainAccountCode": main,
                        "AccountDesc": f"{desc} - {dept_desc}",
                        "AccountType": kind,
                        "Status": status,
                        **audit,
                    }
                )
    _insert(conn, "GL_Account", accounts)
    _insert(
        conn,
        "AP_Division",
        [
            {
                "APDivisionNo": d,
                "DivisionDesc": n,
                "AccountsPayableAcctKey": keys[f"2000-{d}-00"],
                "FreightAcctKey": keys[f"6000-{d}-20"],
                **audit,
            }
            for d, n in DIVISIONS
        ],
    )
    vendors = []
    for i in range(1, 46):
        div = "01" if i % 3 else "02"
        vendors.append(
            {
                "APDivisionNo": div,
                "VendorNo": f"V{i:04d}",
                "VendorName": f"{_vendor_name(rng, i)}",
                "AddressLine1": f"{rng.randint(10, 9999)} Commerce Blvd",
                "City": rng.choice(["Dallas", "Denver", "Tempe", "Boise", "Fresno", "Austin"]),
                "State": "TX",
                "ZipCode": f"7{rng.randint(1000, 9999)}",
                "CountryCode": "USA",
                "TelephoneNo": f"(555) 01{i:02d}-000",
                "EmailAddress": f"orders@vendor{i}.example",
                "TermsCode": rng.choice(["01", "02"]),
                "TaxSchedule": "NONTAX",
                "PrimaryContact": f"Contact {i}",
                **audit,
            }
        )
    _insert(conn, "AP_Vendor", vendors)
    items, aliases, stock = [], [], []
    for i in range(1, 321):
        vendor = vendors[rng.randrange(len(vendors))]
        main = rng.choice(["1200", "5100", "6100", "6300"])
        dept = rng.choice(DEPARTMENTS[1:])[0]
        uom = rng.choice(UOMS)
        items.append(
            {
                "ItemCode": f"ITM-{i:05d}",
                "ItemCodeDesc": f"{rng.choice(_NOUNS)} {rng.choice(_KINDS)} {i}",
                "ItemType": "1",
                "ProductLine": f"PL{i % 7}",
                "StandardUnitOfMeasure": uom,
                "PurchaseUnitOfMeasure": uom,
                "PrimaryAPDivisionNo": vendor["APDivisionNo"],
                "PrimaryVendorNo": vendor["VendorNo"],
                "PurchasesAcctKey": keys[f"{main}-01-{dept}"],
                "StandardUnitCost": round(rng.uniform(0.5, 400), 2),
                "PurchaseUMConvFctr": 1,
                **audit,
            }
        )
        for alias_vendor in [vendor, *rng.sample(vendors, 5)]:
            aliases.append(
                {
                    "ItemCode": f"ITM-{i:05d}",
                    "APDivisionNo": alias_vendor["APDivisionNo"],
                    "VendorNo": alias_vendor["VendorNo"],
                    "AliasItemNo": f"{alias_vendor['VendorNo']}-{rng.randint(100000, 999999)}",
                    **audit,
                }
            )
        stock += [{"ItemCode": f"ITM-{i:05d}", "WarehouseCode": w[0]} for w in WAREHOUSES]
    _insert(conn, "CI_Item", items)
    _insert(conn, "IM_AliasItem", list({(a["ItemCode"], a["VendorNo"]): a for a in aliases}.values()))
    _insert(conn, "IM_ItemWarehouse", stock)
    conn.execute("COMMIT")
    if purchase_orders:
        bulk_purchase_orders(conn, purchase_orders, rng_seed=rng_seed, when=when or datetime(2026, 1, 5, 8, 0, 0))


_NOUNS = ("Steel", "Copper", "Nylon", "Brass", "Poly", "Alloy", "Maple", "Rubber")
_KINDS = ("bracket", "fitting", "washer", "gasket", "panel", "hinge", "valve", "spacer", "bearing", "clamp")


def _vendor_name(rng: random.Random, i: int) -> str:
    a = rng.choice(("Acme", "Summit", "Pioneer", "Atlas", "Keystone", "Harbor", "Granite", "Sierra", "Liberty"))
    b = rng.choice(("Supply", "Industrial", "Components", "Distributors", "Manufacturing", "Parts"))
    return f"{a} {b} #{i}"


def catalog(conn: sqlite3.Connection) -> Catalog:
    vendors = [(r[0], r[1]) for r in conn.execute("SELECT APDivisionNo, VendorNo FROM AP_Vendor ORDER BY 1, 2")]
    items = list(conn.execute("SELECT * FROM CI_Item ORDER BY ItemCode"))
    aliases = {
        (r[0], r[1], r[2]): r[3]
        for r in conn.execute("SELECT ItemCode, APDivisionNo, VendorNo, AliasItemNo FROM IM_AliasItem")
    }
    return Catalog(vendors, items, aliases)


def generate_lines(rng: random.Random, cat: Catalog, vendor: tuple[str, str], count: int) -> list[dict[str, object]]:
    """Purchase-order lines as (item, quantity, cost) choices; the caller writes them via SQL or BOI."""
    own = [it for it in cat.items if (it["ItemCode"], *vendor) in cat.aliases]
    others = [it for it in cat.items if (it["ItemCode"], *vendor) not in cat.aliases]
    picks = rng.sample(own, k=min(count, len(own)))
    picks += rng.sample(others, k=min(count - len(picks), len(others)))
    return [
        {
            "ItemCode": it["ItemCode"],
            "QuantityOrdered": float(rng.randint(1, 200)),
            "UnitCost": float(it["StandardUnitCost"]),
            "UnitOfMeasure": it["PurchaseUnitOfMeasure"],
            "ItemCodeDesc": it["ItemCodeDesc"],
            "PurchasesAcctKey": it["PurchasesAcctKey"],
            "VendorAliasItemNo": cat.aliases.get((it["ItemCode"], *vendor), ""),
        }
        for it in picks
    ]


def bulk_purchase_orders(
    conn: sqlite3.Connection, count: int, *, rng_seed: int = 11, when: datetime, lines: int | None = None
) -> list[str]:
    """Insert `count` open POs straight into SQLite (1–40 lines each, or exactly `lines`): the load generator."""
    rng = random.Random(rng_seed)
    cat = catalog(conn)
    date, time = stamp(when)
    audit = _audit(date, time)
    conn.execute("BEGIN IMMEDIATE")
    first = int(conn.execute("SELECT NextValue FROM SIM_NextNumber WHERE Name='PurchaseOrderNo'").fetchone()[0])
    conn.execute("UPDATE SIM_NextNumber SET NextValue=? WHERE Name='PurchaseOrderNo'", (first + count,))
    vendor_rows = {(r["APDivisionNo"], r["VendorNo"]): r for r in conn.execute("SELECT * FROM AP_Vendor")}
    headers, details, numbers = [], [], []
    for n in range(first, first + count):
        po_no = f"{n:07d}"
        numbers.append(po_no)
        vendor = cat.vendors[rng.randrange(len(cat.vendors))]
        v = vendor_rows[vendor]
        wh = rng.choice(WAREHOUSES)
        headers.append(
            {
                "PurchaseOrderNo": po_no,
                "PurchaseOrderDate": date,
                "OrderType": "S",
                "RequiredExpireDate": date,
                "APDivisionNo": vendor[0],
                "VendorNo": vendor[1],
                "PurchaseName": v["VendorName"],
                "PurchaseAddress1": v["AddressLine1"],
                "PurchaseCity": v["City"],
                "PurchaseState": v["State"],
                "PurchaseZipCode": v["ZipCode"],
                "ShipToCode": wh[0],
                "ShipToName": f"ABC {wh[1]}",
                "ShipToCity": wh[2],
                "ShipToState": wh[3],
                "OrderStatus": "N",
                "WarehouseCode": wh[0],
                "TermsCode": v["TermsCode"],
                "TaxSchedule": v["TaxSchedule"],
                "RequisitorName": rng.choice(BUYERS),
                **audit,
            }
        )
        for i, line in enumerate(generate_lines(rng, cat, vendor, lines or rng.randint(1, 40)), start=1):
            qty, cost = float(line["QuantityOrdered"]), float(line["UnitCost"])  # type: ignore[arg-type]
            details.append(
                {
                    **line,
                    "PurchaseOrderNo": po_no,
                    "LineKey": f"{i:06d}",
                    "LineSeqNo": f"{i:014d}",
                    "ItemType": "1",
                    "RequiredDate": date,
                    "WarehouseCode": wh[0],
                    "QuantityBackordered": qty,
                    "ExtensionAmt": round(qty * cost, 2),
                    "UnitOfMeasureConvFactor": 1.0,
                }
            )
    _insert(conn, "PO_PurchaseOrderHeader", headers)
    _insert(conn, "PO_PurchaseOrderDetail", details)
    conn.execute("COMMIT")
    return numbers
