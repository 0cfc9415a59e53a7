"""The simulated BOI surface: return codes, ByRef, SEP, filters, lines, locks, numbering, security, posting rules."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from mlconnector.sage.boi import SEP, ByRef
from mlconnector.sage.sim.demo import lock_record, unlock_record
from mlconnector.sage.sim.script import SimBackend, SimKnobs

from .helpers import Clerk


def _session(
    sim: SimBackend, user: str = "ml", password: str = "ml-demo", task: str = "PO_PurchaseOrder_ui", module: str = "P/O"
) -> tuple[Any, Any]:
    script = sim.create_script()
    script.Init(sim.home())
    ss = script.NewObject("SY_Session")
    assert ss.nSetUser(user, password) == 1
    assert ss.nSetCompany("ABC") == 1 and ss.nSetDate(module, "20260301") == 1 and ss.nSetModule(module) == 1
    assert ss.nSetProgram(ss.nLookupTask(task)) == 1
    return script, ss


def test_session_validates_logon_company_and_date(sim: SimBackend) -> None:
    script = sim.create_script()
    script.Init(sim.home())
    ss = script.NewObject("SY_Session")
    assert ss.nSetUser("ml", "nope") == 0 and "Invalid user logon" in ss.sLastErrorMsg
    assert ss.nSetUser("ml", "ml-demo") == 1
    assert ss.nSetCompany("XYZ") == 0 and "XYZ" in ss.sLastErrorMsg
    assert ss.nSetDate("P/O", "03012026") == 0  # MMDDYYYY is refused, only YYYYMMDD
    assert ss.nLookupTask("No_Such_ui") == 0
    assert ss.nSetCompany("ABC") == 1
    with pytest.raises(RuntimeError, match="nSetProgram"):
        script.NewObject("PO_PurchaseOrder_bus", ss)  # no program (task) set yet


def test_keys_values_and_byref(sim: SimBackend) -> None:
    script, ss = _session(sim)
    po = script.NewObject("PO_PurchaseOrder_bus", ss)
    assert po.nFind("0000099") == 0
    assert po.nSetKey("0000001") == 1
    vendor, qty = ByRef(), ByRef()
    assert po.nGetValue("VendorNo$", vendor) == 1 and vendor.value.startswith("V")
    assert po.nGetValue("NoSuchColumn$", vendor) == 0
    with pytest.raises(TypeError, match="ByRef"):
        po.nGetValue("VendorNo$", "plain string")
    assert po.nSetValue("DateUpdated$", "20200101") == 0 and "read only" in po.sLastErrorMsg
    assert po.nClear() == 1
    lines = po.oLines
    assert po.nSetKey("0000001") == 1 and lines.nMoveFirst() == 1
    assert lines.nGetValue("QuantityOrdered", qty) == 1 and isinstance(qty.value, float)
    record, columns = ByRef(), ByRef()
    assert po.nGetRecord(record, columns) == 1
    assert record.value.split(SEP)[0] == "0000001" and columns.value.split(SEP)[0] == "PurchaseOrderNo$"
    assert po.sGetColumns("PO_PurchaseOrderHeader").split(SEP) == columns.value.split(SEP)


def test_vendor_defaults_and_lines_persist_only_with_the_header(sim: SimBackend) -> None:
    script, ss = _session(sim)
    po = script.NewObject("PO_PurchaseOrder_bus", ss)
    no = ByRef()
    assert po.nGetNextPurchaseOrderNo(no) == 1 and po.nSetKey(no.value) == 2
    assert po.nSetValue("VendorNo$", "V9999") == 0 and "not on file" in po.sLastErrorMsg
    assert po.nSetValue("VendorNo$", "V0002") == 1
    name, terms = ByRef(), ByRef()
    po.nGetValue("PurchaseName$", name)
    po.nGetValue("TermsCode$", terms)
    assert name.value and terms.value in ("01", "02")
    lines = po.oLines
    assert lines.nAddLine() == 2 and lines.nSetValue("ItemCode$", "ITM-00010") == 1 and lines.nWrite() == 1
    assert po.nClear() == 1  # abandon: the line was only in memory
    conn = sqlite3.connect(sim.db_path)
    assert conn.execute(
        "SELECT COUNT(*) FROM PO_PurchaseOrderDetail WHERE PurchaseOrderNo=?", (no.value,)
    ).fetchone() == (0,)


def test_result_sets_filters_and_separators(sim: SimBackend) -> None:
    script, ss = _session(sim)
    svc = script.NewObject("PO_PurchaseOrder_svc", ss)
    out, keys = ByRef(), ByRef()
    flt = '(PurchaseOrderNo$="0000001" OR PurchaseOrderNo$>="0000005") AND OrderStatus$="N"'
    assert svc.nGetResultSets('PurchaseOrderNo$+"|"+OrderStatus$', "PurchaseOrderNo$", out, keys, flt, "", "") == 1
    assert keys.value.split(SEP) == ["0000001", "0000005", "0000006"]
    assert out.value.split(SEP)[0] == "0000001|N"
    assert (
        svc.nGetResultSets("PurchaseOrderNo$", "PurchaseOrderNo$", out, keys, 'PurchaseOrderNo$<="0000002"', "", "")
        == 1
    )
    assert keys.value == f"0000001{SEP}0000002"
    assert svc.nGetResultSets("PurchaseOrderNo$", "PurchaseOrderNo$", out, keys, 'Bogus$="1"', "", "") == 0
    assert "Invalid column Bogus$" in svc.sLastErrorMsg
    assert svc.nWrite() == 0  # a _svc object is read only


def test_next_numbers_are_unique_across_concurrent_sessions(sim: SimBackend) -> None:
    got: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        script, ss = _session(sim)
        po = script.NewObject("PO_PurchaseOrder_bus", ss)
        for _ in range(15):
            no = ByRef()
            assert po.nGetNextPurchaseOrderNo(no) == 1
            with lock:
                got.append(no.value)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 60 and len(set(got)) == 60


def test_record_locks_between_sessions_and_from_the_cli(sim: SimBackend) -> None:
    a_script, a = _session(sim)
    b_script, b = _session(sim)
    po_a = a_script.NewObject("PO_PurchaseOrder_bus", a)
    po_b = b_script.NewObject("PO_PurchaseOrder_bus", b)
    assert po_a.nSetKey("0000001") == 1
    assert po_b.nSetKey("0000001") == 0 and "in use" in po_b.sLastErrorMsg
    assert po_a.nClear() == 1
    assert po_b.nSetKey("0000001") == 1 and po_b.nClear() == 1
    lock_record(sim, "0000002", seconds=0)
    assert po_b.nSetKey("0000002") == 0 and "in use" in po_b.sLastErrorMsg
    assert unlock_record(sim, "0000002")
    assert po_b.nSetKey("0000002") == 1


def test_lock_probability_knob_makes_writes_find_records_in_use(tmp_path: Path) -> None:
    sim = SimBackend(tmp_path, knobs=SimKnobs(lock_probability=1.0, rng_seed=1))
    sim.init_company(purchase_orders=1)
    script, ss = _session(sim)
    po = script.NewObject("PO_PurchaseOrder_bus", ss)
    assert po.nSetKey("0000001") == 0 and "in use" in po.sLastErrorMsg


def test_role_security_no_create_right(sim: SimBackend) -> None:
    script, ss = _session(sim, "viewer", "viewer-demo")
    po = script.NewObject("PO_PurchaseOrder_bus", ss)
    assert po.nSetKey("0000001") == 1  # view is allowed
    assert po.nWrite() == 0 and "Modify rights" in po.sLastErrorMsg
    assert po.nSetKey("0009999") == 0 and "Create rights" in po.sLastErrorMsg


def test_audit_stamps_are_decimal_hours(tmp_path: Path) -> None:
    sim = SimBackend(tmp_path, knobs=SimKnobs(clock=lambda: datetime(2026, 3, 1, 14, 30, 9)))
    sim.init_company(purchase_orders=0)
    clerk = Clerk(sim)
    no = clerk.create_po()
    row = (
        sqlite3.connect(sim.db_path)
        .execute("SELECT DateUpdated, TimeUpdated FROM PO_PurchaseOrderHeader WHERE PurchaseOrderNo=?", (no,))
        .fetchone()
    )
    assert row == ("20260301", "14.50250")
    clerk.close()


def test_ap_invoice_duplicate_number_becomes_an_adjustment_with_gl(sim: SimBackend) -> None:
    script, ss = _session(sim, task="AP_Invoice_ui", module="A/P")
    conn = sqlite3.connect(sim.db_path)
    acct = conn.execute("SELECT AccountKey FROM GL_Account WHERE Account='6100-01-10'").fetchone()[0]

    def enter(amount: float) -> int:
        inv = script.NewObject("AP_Invoice_bus", ss)
        for col, val in (("APDivisionNo$", "01"), ("VendorNo$", "V0001"), ("InvoiceNo$", "A-100")):
            assert inv.nSetKeyValue(col, val) == 1
        assert inv.nSetKey() == 2
        lines = inv.oLines
        assert lines.nAddLine() == 2 and lines.nSetValue("AccountKey$", acct) == 1
        assert lines.nSetValue("DistributionAmt", amount) == 1 and lines.nWrite() == 1
        ret = inv.nWrite()
        inv.DropObject()
        return ret

    def post() -> None:
        assert ss.nSetProgram(ss.nLookupTask("AP_InvoiceRegister_ui")) == 1
        upd = script.NewObject("AP_InvoiceRegister_upd", ss)
        assert upd.nUpdate() == 1
        assert ss.nSetProgram(ss.nLookupTask("AP_Invoice_ui")) == 1

    assert enter(100.0) == 1
    post()
    assert enter(25.0) == -1  # warning: already exists, entered as an adjustment
    post()
    row = conn.execute(
        "SELECT InvoiceAmt, Balance, AdjustmentCount FROM AP_OpenInvoice WHERE InvoiceNo='A-100'"
    ).fetchone()
    assert row == (125.0, 125.0, 1.0)
    debits = conn.execute("SELECT SUM(DebitAmount) FROM GL_DetailPosting WHERE AccountKey=?", (acct,)).fetchone()[0]
    assert debits == 125.0


def test_browse_filter_walks_one_documents_lines(sim: SimBackend) -> None:
    script, ss = _session(sim)
    svc = script.NewObject("PO_PurchaseOrder_svc", ss)
    assert svc.nSetBrowseFilter("000000") == 1
    seen, no = [], ByRef()
    svc.nMoveFirst()
    while not svc.nEOF:
        svc.nGetValue("PurchaseOrderNo$", no)
        seen.append(no.value)
        svc.nMoveNext()
    assert seen == [f"{n:07d}" for n in range(1, 7)]
    assert svc.nSetBrowseFilter("0000003") == 1 and svc.nMoveFirst() == 1 and svc.nMoveNext() == 0 and svc.nEOF == 1


def test_delete_needs_remove_rights_and_takes_the_lines(sim: SimBackend) -> None:
    v_script, v_ss = _session(sim, "viewer", "viewer-demo")
    viewer_po = v_script.NewObject("PO_PurchaseOrder_bus", v_ss)
    assert viewer_po.nSetKey("0000006") == 1
    assert viewer_po.nDelete() == 0 and "Remove rights" in viewer_po.sLastErrorMsg
    assert viewer_po.nClear() == 1
    script, ss = _session(sim)
    po = script.NewObject("PO_PurchaseOrder_bus", ss)
    assert po.nSetKey("0000006") == 1 and po.nDelete() == 1
    conn = sqlite3.connect(sim.db_path)
    assert conn.execute("SELECT COUNT(*) FROM PO_PurchaseOrderDetail WHERE PurchaseOrderNo='0000006'").fetchone() == (
        0,
    )
    assert po.nFind("0000006") == 0


def test_receipt_type_must_be_goods_or_invoice(sim: SimBackend) -> None:
    script, ss = _session(sim, task="PO_Receipt_ui")
    receipt = script.NewObject("PO_Receipt_bus", ss)
    no = ByRef()
    assert receipt.nGetNextReceiptNo(no) == 1 and len(no.value) == 6
    assert receipt.nSetKeyValue("ReceiptType$", "Z") == 1 and receipt.nSetKeyValue("ReceiptNo$", no.value) == 1
    assert receipt.nSetKey() == 0 and "not G or I" in receipt.sLastErrorMsg
    assert receipt.nSetKeyValue("ReceiptType$", "G") == 1 and receipt.nSetKey() == 2
    assert receipt.nWrite() == 0 and "Purchase order number is required" in receipt.sLastErrorMsg
