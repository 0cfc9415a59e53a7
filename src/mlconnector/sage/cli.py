"""`ml-connector sage-sim`: set up the simulated Sage 100 company and drive a demo by hand."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mlconnector.sage.cli_errors import clean_errors
from mlconnector.sage.errors import SageError
from mlconnector.sage.sim.demo import PurchasingClerk, lock_record, unlock_record
from mlconnector.sage.sim.schema import connect
from mlconnector.sage.sim.script import SimBackend

sage_sim_app = typer.Typer(help="The simulated Sage 100 company ABC (BOI surface over SQLite).", no_args_is_help=True)
po_app = typer.Typer(help="Purchase orders in the simulated company.", no_args_is_help=True)
sage_sim_app.add_typer(po_app, name="po")

DataOpt = Annotated[Path, typer.Option("--data", envvar="MLC_SAGE_SIM_DATA", help="Simulator data directory.")]
DEFAULT_DATA = Path("var/sage-sim")
console = Console()


user_errors = clean_errors(SageError, ValueError, FileNotFoundError, sqlite3.Error)
"""Errors a person can act on: one line on stderr, exit 1."""


def _sim(data: Path) -> SimBackend:
    return SimBackend.open(data)


def _table(title: str, columns: list[str], rows: list[Any]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[str(v) for v in r])
    console.print(table)


@sage_sim_app.command()
@user_errors
def init(
    data: DataOpt = DEFAULT_DATA,
    purchase_orders: Annotated[int, typer.Option(min=0, help="Generated POs to seed.")] = 25,
    seed: Annotated[int, typer.Option(help="Random seed for the demo data.")] = 7,
) -> None:
    """Create company ABC: 3 warehouses, 45 vendors, 320 items, a segmented chart of accounts, demo POs."""
    sim = SimBackend(data)
    existed = sim.db_path.exists()
    sim.init_company(purchase_orders=purchase_orders, rng_seed=seed)
    typer.echo(f"{'Company ABC already in' if existed else 'Seeded company ABC in'} {sim.db_path}")
    typer.echo("Logons: ml / ml-demo (all rights), viewer / viewer-demo (view only)")


@sage_sim_app.command()
@user_errors
def knobs(
    data: DataOpt = DEFAULT_DATA,
    lock_probability: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    latency_ms: Annotated[float | None, typer.Option(min=0.0)] = None,
) -> None:
    """Set the chance that a write finds its record in use, and the latency per BOI call (read by `agent serve`)."""
    sim = _sim(data)
    conn = connect(sim.db_path)
    for name, value in (("lock_probability", lock_probability), ("latency_ms", latency_ms)):
        if value is not None:
            conn.execute("INSERT OR REPLACE INTO SIM_Setting VALUES (?, ?)", (name, str(value)))
    rows = conn.execute("SELECT Name, Value FROM SIM_Setting ORDER BY Name").fetchall()
    conn.close()
    _table("Simulator knobs", ["knob", "value"], rows)


@po_app.command("create")
@user_errors
def po_create(
    data: DataOpt = DEFAULT_DATA,
    vendor: Annotated[str | None, typer.Option(help="Vendor number, e.g. 01-V0038 or V0038.")] = None,
    lines: Annotated[int | None, typer.Option(min=1, max=40, help="Lines (default 1–40 random).")] = None,
    count: Annotated[int, typer.Option(min=1, max=1000)] = 1,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Create POs through PO_PurchaseOrder_bus, as a buyer would in PO Entry."""
    clerk = PurchasingClerk(_sim(data))
    rng = random.Random(seed)
    try:
        for _ in range(count):
            typer.echo(f"Created purchase order {clerk.create_po(rng, vendor=vendor, lines=lines)}")
    finally:
        clerk.close()


@po_app.command("change")
@user_errors
def po_change(
    po_no: Annotated[str, typer.Argument(help="Purchase order number, e.g. 0000001")],
    data: DataOpt = DEFAULT_DATA,
    line: Annotated[str, typer.Option(help="Line key")] = "000001",
    qty: Annotated[float | None, typer.Option(min=0.0, help="New quantity ordered")] = None,
    add_lines: Annotated[int, typer.Option(min=0, max=40)] = 0,
) -> None:
    """Change a line's quantity and/or add lines; the order's DateUpdated$/TimeUpdated$ move."""
    if qty is None and not add_lines:
        raise typer.BadParameter("give --qty and/or --add-lines")
    clerk = PurchasingClerk(_sim(data))
    try:
        clerk.change_po(po_no, line, qty, add_lines)
    finally:
        clerk.close()
    typer.echo(f"Changed purchase order {po_no}")


@po_app.command("list")
@user_errors
def po_list(data: DataOpt = DEFAULT_DATA, limit: Annotated[int, typer.Option(min=1)] = 50) -> None:
    """Most recently updated POs with their status and line counts."""
    conn = connect(_sim(data).db_path)
    rows = conn.execute(
        "SELECT h.PurchaseOrderNo, h.APDivisionNo || '-' || h.VendorNo, h.WarehouseCode, h.OrderStatus, "
        "COUNT(d.LineKey), printf('%.2f', COALESCE(SUM(d.ExtensionAmt), 0)), h.DateUpdated || ' ' || h.TimeUpdated "
        "FROM PO_PurchaseOrderHeader h LEFT JOIN PO_PurchaseOrderDetail d USING (PurchaseOrderNo) "
        "GROUP BY h.PurchaseOrderNo ORDER BY h.DateUpdated DESC, h.TimeUpdated DESC, h.PurchaseOrderNo DESC LIMIT ?",
        (limit,),
    ).fetchall()
    _table("Purchase orders", ["PO", "vendor", "whse", "status", "lines", "amount", "updated"], rows)


@po_app.command("show")
@user_errors
def po_show(po_no: str, data: DataOpt = DEFAULT_DATA) -> None:
    """One PO's lines: item, vendor alias, UOM, ordered/received/invoiced, cost, GL account."""
    conn = connect(_sim(data).db_path)
    if not conn.execute("SELECT 1 FROM PO_PurchaseOrderHeader WHERE PurchaseOrderNo=?", (po_no,)).fetchone():
        raise ValueError(f"Purchase order {po_no} is not on file in company ABC.")
    rows = conn.execute(
        "SELECT d.LineKey, d.ItemCode, d.VendorAliasItemNo, d.UnitOfMeasure, d.QuantityOrdered, d.QuantityReceived, "
        "d.QuantityInvoiced, d.UnitCost, g.Account FROM PO_PurchaseOrderDetail d LEFT JOIN GL_Account g "
        "ON g.AccountKey = d.PurchasesAcctKey WHERE d.PurchaseOrderNo=? ORDER BY d.LineKey",
        (po_no,),
    ).fetchall()
    _table(
        f"Purchase order {po_no}",
        ["line", "item", "alias", "UOM", "ordered", "received", "invoiced", "cost", "account"],
        rows,
    )


@sage_sim_app.command()
@user_errors
def lock(
    po_no: Annotated[str, typer.Argument(help="Purchase order number to hold open")],
    data: DataOpt = DEFAULT_DATA,
    seconds: Annotated[float, typer.Option(min=0.0, help="0 = until `sage-sim unlock`")] = 60.0,
) -> None:
    """Hold a PO as if a clerk had it open: BOI calls on it answer "in use" until released."""
    lock_record(_sim(data), po_no, seconds)
    typer.echo(f"Purchase order {po_no} is held {'until unlocked' if not seconds else f'for {seconds:g} s'}")


@sage_sim_app.command()
@user_errors
def unlock(po_no: str, data: DataOpt = DEFAULT_DATA) -> None:
    """Release a PO held by `sage-sim lock`."""
    released = unlock_record(_sim(data), po_no)
    typer.echo(f"Purchase order {po_no} {'released' if released else 'was not held by sage-sim lock'}")


@sage_sim_app.command()
@user_errors
def receipts(data: DataOpt = DEFAULT_DATA, limit: Annotated[int, typer.Option(min=1)] = 50) -> None:
    """Receipts of goods (G) and of invoice (I), pending or posted (history), with their idempotency token."""
    conn = connect(_sim(data).db_path)
    rows = conn.execute(
        " UNION ALL ".join(
            f"SELECT h.ReceiptType, h.ReceiptNo, h.PurchaseOrderNo, h.VendorNo, h.InvoiceNo, '{status}', "
            "COUNT(d.LineKey), printf('%.2f', COALESCE(SUM(d.ExtensionAmt), 0)), h.Comment "
            f"FROM PO_Receipt{kind}Header h LEFT JOIN PO_Receipt{kind}Detail d USING (ReceiptType, ReceiptNo) "
            "GROUP BY h.ReceiptType, h.ReceiptNo"
            for kind, status in (("", "pending"), ("History", "posted"))
        )
        + " ORDER BY 2 DESC LIMIT ?",
        (limit,),
    ).fetchall()
    _table("Receipts", ["type", "receipt", "PO", "vendor", "invoice", "status", "lines", "amount", "source key"], rows)


@sage_sim_app.command()
@user_errors
def invoices(data: DataOpt = DEFAULT_DATA, limit: Annotated[int, typer.Option(min=1)] = 50) -> None:
    """AP open invoices (from posted receipts of invoice and AP invoice entry) with adjustments and balance."""
    conn = connect(_sim(data).db_path)
    rows = conn.execute(
        "SELECT APDivisionNo || '-' || VendorNo, InvoiceNo, InvoiceDate, InvoiceDueDate, PurchaseOrderNo, "
        "SourceDocument, CAST(AdjustmentCount AS INT), printf('%.2f', InvoiceAmt), printf('%.2f', Balance) "
        "FROM AP_OpenInvoice ORDER BY DateUpdated DESC, TimeUpdated DESC LIMIT ?",
        (limit,),
    ).fetchall()
    _table(
        "AP open invoices",
        ["vendor", "invoice", "date", "due", "PO", "source", "adjustments", "amount", "balance"],
        rows,
    )
