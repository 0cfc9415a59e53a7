"""The gateway contract, run against the simulator and against the COM marshalling code over a fake Dispatch."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mlconnector.sage.errors import SageAuthError, SageNotFoundError, SageValidationError
from mlconnector.sage.gateway import SageGateway
from mlconnector.sage.models import InvoiceLine, LineNote, ReceiptLine
from mlconnector.sage.sim.script import SimBackend, SimKnobs
from mlconnector.sage.unconfirmed import Unconfirmed

from .conftest import COMPANY, PASSWORD, USER, no_wait_policy


def test_purchase_order_has_supply_chain_fields(gateway: SageGateway) -> None:
    po = gateway.purchase_order("0000001")
    assert po.purchase_order_no == "0000001"
    assert po.vendor_no.startswith("V") and po.ap_division_no in ("01", "02")
    assert po.warehouse_code in ("000", "001", "002") and po.ship_to_code == po.warehouse_code
    assert po.buyer and po.required_date and po.order_status == "N"
    assert 1 <= len(po.lines) <= 40
    line = po.lines[0]
    assert line.item_code.startswith("ITM-") and line.unit_of_measure and line.quantity_ordered > 0
    assert len(line.purchases_acct_key) == 9 and line.vendor_alias_item_no
    assert line.extension_amount == pytest.approx(round(line.quantity_ordered * line.unit_cost, 2))


def test_unknown_purchase_order_is_not_found(gateway: SageGateway) -> None:
    with pytest.raises(SageNotFoundError, match="9999999 is not on file"):
        gateway.purchase_order("9999999")


def test_bad_password_is_an_auth_error_without_the_password(backend: Any) -> None:
    with pytest.raises(SageAuthError) as info:
        SageGateway(backend, USER, "wrong-secret", COMPANY)
    assert "wrong-secret" not in str(info.value)


def test_reads_are_batched_not_per_field(gateway: SageGateway, backend: Any) -> None:
    backend.counter.reset()
    result = gateway.changed_purchase_orders(None)
    assert len(result.items) == 6
    calls = backend.counter.snapshot()
    assert not any(name.endswith("nGetValue") for name in calls)
    assert sum(n for name, n in calls.items() if name.endswith("nGetResultSets")) == 3  # keys, headers, lines


def test_vendors_and_gl_accounts(gateway: SageGateway) -> None:
    vendors = gateway.changed_vendors(None).items
    assert len(vendors) >= 40 and all(v.vendor_name for v in vendors)
    accounts = gateway.gl_accounts()
    by_account = {a.account: a for a in accounts}
    acct = by_account["5100-01-10"]
    assert (acct.main_account, acct.division, acct.department) == ("5100", "01", "10")
    assert acct.department_description == "Production" and acct.active
    assert not by_account["6200-02-30"].active


def test_receive_goods_post_and_complete_the_order(gateway: SageGateway) -> None:
    po = gateway.purchase_order("0000002")
    lines = [ReceiptLine(line_key=ln.line_key, quantity=ln.quantity_ordered) for ln in po.lines]
    doc = gateway.receive_goods("0000002", lines, key="asn:ACME:000000101:1:0001:SH-1")
    assert doc.created and doc.receipt_type == "G" and doc.vendor_no == po.vendor_no
    again = gateway.receive_goods("0000002", lines, key="asn:ACME:000000101:1:0001:SH-1")
    assert not again.created and again.receipt_no == doc.receipt_no
    posted = gateway.post_receipts("20260310")
    assert posted.posted == [f"G-{doc.receipt_no}"]
    after = gateway.purchase_order("0000002")
    assert after.order_status == "X"
    assert all(ln.quantity_received == ln.quantity_ordered for ln in after.lines)
    assert gateway.find_by_source_key("asn:ACME:000000101:1:0001:SH-1").posted  # type: ignore[union-attr]


def test_partial_receipt_backorders(gateway: SageGateway) -> None:
    po = gateway.purchase_order("0000003")
    first = po.lines[0]
    gateway.receive_goods("0000003", [ReceiptLine(line_key=first.line_key, quantity=1)], key="partial-1")
    gateway.post_receipts()
    after = gateway.purchase_order("0000003")
    assert after.order_status == "B"
    assert after.lines[0].quantity_received == 1


def test_receive_invoice_and_duplicate_vendor_invoice_is_refused(gateway: SageGateway) -> None:
    po = gateway.purchase_order("0000004")
    line = po.lines[0]
    inv = [InvoiceLine(line_key=line.line_key, quantity=2, unit_cost=3.5, account="5100-01-10")]
    doc = gateway.receive_invoice("0000004", "INV-77", "20260301", inv, key="810:ACME:INV-77")
    assert doc.created and doc.receipt_type == "I" and doc.invoice_no == "INV-77"
    gateway.post_receipts()
    with pytest.raises(SageValidationError, match="already exists") as info:
        gateway.receive_invoice("0000004", "INV-77", "20260301", inv, key="810:ACME:INV-77:resent-differently")
    assert info.value.field == "invoice_no"
    assert gateway.receive_invoice("0000004", "INV-77", "20260301", inv, key="810:ACME:INV-77").receipt_no == (
        doc.receipt_no
    )


def test_inactive_gl_account_is_a_validation_error_with_the_field(gateway: SageGateway) -> None:
    line = gateway.purchase_order("0000005").lines[0]
    bad = [InvoiceLine(line_key=line.line_key, quantity=1, account="6200-02-30")]
    with pytest.raises(SageValidationError, match="inactive"):
        gateway.receive_invoice("0000005", "INV-9", "20260301", bad, key="inv-9")


def test_unknown_po_line_passes_sages_message_through(gateway: SageGateway) -> None:
    with pytest.raises(SageValidationError, match="Line 000999 is not on purchase order") as info:
        gateway.receive_goods("0000001", [ReceiptLine(line_key="000999", quantity=1)], key="bad-line")
    assert info.value.field == "OrderLineKey$"
    assert gateway.find_by_source_key("bad-line") is None


def test_view_only_user_cannot_create_receipts(backend: Any) -> None:
    with SageGateway(backend, "viewer", "viewer-demo", COMPANY, policy=no_wait_policy()) as gw:
        assert gw.purchase_order("0000001").lines
        with pytest.raises(SageAuthError, match="Create rights"):
            gw.receive_goods("0000001", [ReceiptLine(line_key="000001", quantity=1)], key="viewer-1")


def test_dates_must_be_yyyymmdd(gateway: SageGateway) -> None:
    line = gateway.purchase_order("0000001").lines[0]
    with pytest.raises(SageValidationError, match="invoice_date must be a date as YYYYMMDD") as info:
        gateway.receive_invoice(
            "0000001", "INV-5", "03/01/2026", [InvoiceLine(line_key=line.line_key, quantity=1)], "k5"
        )
    assert info.value.field == "invoice_date"
    with pytest.raises(SageValidationError, match="posting_date"):
        gateway.post_receipts("2026-03-01")


def test_lock_probability_knob_is_absorbed_by_retries(tmp_path: Path) -> None:
    sim = SimBackend(tmp_path, knobs=SimKnobs(lock_probability=0.5, rng_seed=4))
    sim.init_company(purchase_orders=1)
    with SageGateway(sim, USER, PASSWORD, COMPANY, policy=no_wait_policy(attempts=20)) as gw:
        docs = [
            gw.receive_goods("0000001", [ReceiptLine(line_key="000001", quantity=1)], key=f"k{i}") for i in range(5)
        ]
    assert len({d.receipt_no for d in docs}) == 5
    assert sim.counter.snapshot()["PO_Receipt_bus.nWrite"] > 5  # some writes found the record in use and retried
    assert sqlite3.connect(sim.db_path).execute("SELECT COUNT(*) FROM PO_ReceiptHeader").fetchone() == (5,)


def test_unconfirmed_names_are_one_switch(backend: Any, sim: SimBackend) -> None:
    switched = Unconfirmed(buyer_column="WarehouseCode$", source_key_column="BatchNo$")
    with SageGateway(backend, USER, PASSWORD, COMPANY, policy=no_wait_policy(), unconfirmed=switched) as gw:
        po = gw.purchase_order("0000001")
        assert po.buyer == po.warehouse_code
        doc = gw.receive_goods("0000001", [ReceiptLine(line_key="000001", quantity=1)], key="switch-1")
        assert gw.find_by_source_key("switch-1") == doc.model_copy(update={"created": False})
    row = sqlite3.connect(sim.db_path).execute("SELECT BatchNo, Comment FROM PO_ReceiptHeader").fetchone()
    assert row == (doc.source_key_token, "")


def test_line_notes_reach_the_po_lines_and_bad_line_keys_are_refused(gateway: SageGateway, sim: SimBackend) -> None:
    po = gateway.purchase_order("0000002")
    keys = [line.line_key for line in po.lines[:2]]
    notes = [LineNote(line_key=k, text=f"EDI 855: IA accepted ({k})") for k in keys]
    assert gateway.note_po_lines("0000002", notes) == len(keys)
    assert gateway.note_po_lines("0000002", notes) == len(keys), "writing the same note again is harmless"
    with sqlite3.connect(sim.db_path) as conn:
        stored = dict(
            conn.execute(
                "SELECT LineKey, CommentText FROM PO_PurchaseOrderDetail WHERE PurchaseOrderNo = '0000002'"
            ).fetchall()
        )
    assert [stored[k] for k in keys] == [n.text for n in notes]
    with pytest.raises(SageValidationError):
        gateway.note_po_lines("0000002", [LineNote(line_key="999999", text="no such line")])
    assert gateway.purchase_order("0000002").lines == po.lines, "quantities and prices are untouched"


# The BOI calls one receipt costs, after its PO was read for matching: each is something Sage requires, so a change
# here is either a saving to keep or a regression to explain (bench/inbound.py --calls shows the same per poll;
# docs/sage.md "BOI calls per inbound document" says why each call is needed).
KEY_CHECK = {"PO_Receipt_bus.nGetResultSets": 1, "PO_ReceiptHistory_svc.nGetResultSets": 1}  # pending, then posted
PO_READ = {"PO_PurchaseOrder_svc.nGetResultSets": 1, "PO_PurchaseOrder_svc.oLines.nGetResultSets": 1}
NEW_RECEIPT = {  # next number, the two key fields, the key, PurchaseOrderNo$ + token (+ more values), the write
    "PO_Receipt_bus.nGetNextReceiptNo": 1,
    "PO_Receipt_bus.nSetKeyValue": 2,
    "PO_Receipt_bus.nSetKey": 1,
    "PO_Receipt_bus.nWrite": 1,
}


def _per_line(lines: int, values: int) -> dict[str, int]:
    return {
        "PO_Receipt_bus.oLines.nAddLine": lines,
        "PO_Receipt_bus.oLines.nSetValue": lines * values,
        "PO_Receipt_bus.oLines.nWrite": lines,
    }


def test_a_receipt_of_goods_costs_its_key_check_po_read_header_and_lines(gateway: SageGateway, backend: Any) -> None:
    warm = gateway.purchase_order("0000001")  # objects created and the task set once per session, not per receipt
    gateway.receive_goods("0000001", [ReceiptLine(line_key=warm.lines[0].line_key, quantity=1)], key="asn:warm")
    backend.counter.reset()
    po = gateway.purchase_order("0000002")
    lines = [ReceiptLine(line_key=ln.line_key, quantity=1) for ln in po.lines[:2]]
    assert gateway.receive_goods("0000002", lines, key="asn:P:SH-2:0000002").created
    assert backend.counter.snapshot() == {
        **PO_READ,
        **KEY_CHECK,
        **NEW_RECEIPT,
        "PO_Receipt_bus.nSetValue": 2,  # PurchaseOrderNo$ (Sage fills vendor, division, name) and the token
        **_per_line(len(lines), 2),  # OrderLineKey$ (Sage fills item, warehouse, cost, account), QuantityReceived
    }


def test_a_receipt_of_invoice_adds_the_ap_duplicate_check_and_the_invoice_values(
    gateway: SageGateway, backend: Any
) -> None:
    warm = gateway.purchase_order("0000001")
    gateway.receive_invoice(
        "0000001", "W-1", "20260301", [InvoiceLine(line_key=warm.lines[0].line_key, quantity=1)], key="inv:warm"
    )
    backend.counter.reset()
    po = gateway.purchase_order("0000003")
    lines = [InvoiceLine(line_key=ln.line_key, quantity=1) for ln in po.lines[:2]]
    assert gateway.receive_invoice("0000003", "INV-3", "20260301", lines, key="inv:P:INV-3").created
    assert backend.counter.snapshot() == {
        **PO_READ,
        **KEY_CHECK,  # the pending look-up also finds a pending receipt of invoice with the same number
        "AP_OpenInvoice_svc.nGetResultSets": 1,  # an invoice number open in A/P (keyed by hand, or posted)
        **NEW_RECEIPT,
        "PO_Receipt_bus.nSetValue": 4,  # PurchaseOrderNo$, InvoiceNo$, InvoiceDate$, the token
        **_per_line(len(lines), 2),  # OrderLineKey$, QuantityInvoiced (cost and account come from the PO line)
    }


def test_an_855_note_between_receipts_costs_one_program_switch_each_way(backend: Any) -> None:
    """855s, ASNs and invoices interleave in a poll: switching the session between the PO entry and the receipt task
    costs one `nSetProgram` (same module, same date), and the PO's lines object is fetched once per session."""
    day = ["20260301"]
    with SageGateway(backend, USER, PASSWORD, COMPANY, policy=no_wait_policy(), today=lambda: day[0]) as gw:
        key = gw.purchase_order("0000002").lines[0].line_key
        note = [LineNote(line_key=key, text="EDI 855: IA accepted")]
        gw.note_po_lines("0000002", note)  # first use: module, date, both lookups, objects
        gw.receive_goods("0000002", [ReceiptLine(line_key=key, quantity=1)], key="asn:first")
        backend.counter.reset()
        gw.note_po_lines("0000002", note)
        gw.receive_goods("0000002", [ReceiptLine(line_key=key, quantity=1)], key="asn:second")
        switching = {k: n for k, n in backend.counter.snapshot().items() if k.startswith("SY_Session.")}
        assert switching == {"SY_Session.nSetProgram": 2}
        assert backend.counter.snapshot()["PO_PurchaseOrder_bus.nSetKey"] == 1
        assert "PO_PurchaseOrder_bus.oLines" not in backend.counter.snapshot()
        backend.counter.reset()
        day[0] = "20260302"
        gw.receive_goods("0000002", [ReceiptLine(line_key=key, quantity=1)], key="asn:next-day")
        assert backend.counter.snapshot().get("SY_Session.nSetDate") == 1, "a session pooled past midnight"
        assert "SY_Session.nSetProgram" not in backend.counter.snapshot()


def test_an_invoice_for_a_cost_centre_reads_its_accounts_once_not_per_line(
    gateway: SageGateway, backend: Any, sim: SimBackend
) -> None:
    po = gateway.purchase_order("0000005")
    accounts = ["5100-01-20", "5100-01-20", "5100-01-30", "5100-01-20"]
    lines = [
        InvoiceLine(line_key=ln.line_key, quantity=1, account=account)
        for ln, account in zip(po.lines, accounts, strict=False)
    ]
    backend.counter.reset()
    doc = gateway.receive_invoice("0000005", "INV-CC", "20260301", lines, key="inv:P:INV-CC")
    assert backend.counter.snapshot()["GL_Account_svc.nGetResultSets"] == 1
    with sqlite3.connect(sim.db_path) as conn:
        stored = [
            row[0]
            for row in conn.execute(
                "SELECT a.Account FROM PO_ReceiptDetail d JOIN GL_Account a ON a.AccountKey = d.PurchasesAcctKey "
                "WHERE d.ReceiptNo = ? ORDER BY d.LineKey",
                (doc.receipt_no,),
            )
        ]
    assert stored == accounts
    unknown = [*lines[:2], InvoiceLine(line_key=po.lines[2].line_key, quantity=1, account="5100-01-99")]
    with pytest.raises(SageValidationError, match="GL account 5100-01-99 is not on file"):
        gateway.receive_invoice("0000005", "INV-CC2", "20260301", unknown, key="inv:P:INV-CC2")
