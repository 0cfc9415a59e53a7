"""Drive the simulated company through BOI the way a Sage clerk would (used by several test modules)."""

from __future__ import annotations

from typing import Any

from mlconnector.sage.boi import ByRef
from mlconnector.sage.sim.script import SimBackend


class Clerk:
    """A second Sage user session: changes POs and holds records open, as someone in PO Entry does."""

    def __init__(self, sim: SimBackend, date: str = "20260301") -> None:
        self.script = sim.create_script()
        self.script.Init(sim.home())
        self.ss = self.script.NewObject("SY_Session")
        assert self.ss.nSetUser("ml", "ml-demo") == 1 and self.ss.nSetCompany("ABC") == 1
        assert self.ss.nSetDate("P/O", date) == 1 and self.ss.nSetModule("P/O") == 1
        assert self.ss.nSetProgram(self.ss.nLookupTask("PO_PurchaseOrder_ui")) == 1
        self.po: Any = self.script.NewObject("PO_PurchaseOrder_bus", self.ss)

    def create_po(self, vendor: str = "V0001", items: tuple[str, ...] = ("ITM-00001", "ITM-00002")) -> str:
        no = ByRef()
        assert self.po.nGetNextPurchaseOrderNo(no) == 1
        assert self.po.nSetKey(no.value) == 2
        assert self.po.nSetValue("VendorNo$", vendor) == 1, self.po.sLastErrorMsg
        lines = self.po.oLines
        for item in items:
            assert lines.nAddLine() == 2
            assert lines.nSetValue("ItemCode$", item) == 1, lines.sLastErrorMsg
            assert lines.nSetValue("QuantityOrdered", 10) == 1
            assert lines.nWrite() == 1
        assert self.po.nWrite() == 1, self.po.sLastErrorMsg
        return str(no.value)

    def change_qty(self, po_no: str, qty: float, line_key: str = "000001") -> None:
        assert self.po.nSetKey(po_no) == 1, self.po.sLastErrorMsg
        lines = self.po.oLines
        assert lines.nEditLine(line_key) == 1
        assert lines.nSetValue("QuantityOrdered", qty) == 1 and lines.nWrite() == 1
        assert self.po.nWrite() == 1, self.po.sLastErrorMsg

    def hold(self, po_no: str) -> None:
        """Open the PO for editing and keep it open: Sage holds the record for this session."""
        assert self.po.nSetKey(po_no) == 1, self.po.sLastErrorMsg

    def release(self) -> None:
        assert self.po.nClear() == 1

    def close(self) -> None:
        self.po.DropObject()
        self.ss.nCleanup()
        self.ss.DropObject()
