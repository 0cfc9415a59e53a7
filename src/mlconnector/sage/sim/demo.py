"""Drive the simulated company through BOI as a Sage clerk would: create and change POs, hold a record open.

Used by `ml-connector sage-sim` and the benchmark, so demo data goes through the same rules the connector meets.
"""

from __future__ import annotations

import random
import time
from typing import Any

from mlconnector.sage.boi import ByRef
from mlconnector.sage.errors import classify
from mlconnector.sage.sim.schema import connect
from mlconnector.sage.sim.script import SimBackend
from mlconnector.sage.sim.seed import DEMO_USERS, WAREHOUSES, catalog, generate_lines

CLI_HOLDER = "sage-sim lock"


class PurchasingClerk:
    """One BOI session in PO Entry (user `ml` of company ABC)."""

    def __init__(self, sim: SimBackend, date: str | None = None, user: str = "ml") -> None:
        self.sim = sim
        self.script = sim.create_script()
        self.script.Init(sim.home())
        self.ss = self.script.NewObject("SY_Session")
        date = date or sim.now().strftime("%Y%m%d")
        for ret in (
            self.ss.nSetUser(user, DEMO_USERS[user]),
            self.ss.nSetCompany("ABC"),
            self.ss.nSetDate("P/O", date),
            self.ss.nSetModule("P/O"),
            self.ss.nSetProgram(self.ss.nLookupTask("PO_PurchaseOrder_ui")),
        ):
            self._ok(self.ss, ret)
        self.po: Any = self.script.NewObject("PO_PurchaseOrder_bus", self.ss)

    @staticmethod
    def _ok(obj: Any, ret: int, expect: tuple[int, ...] = (1,)) -> int:
        if ret not in expect and ret != -1:
            raise classify(obj.sLastErrorMsg)
        return ret

    def create_po(
        self, rng: random.Random, vendor: str | None = None, lines: int | None = None, warehouse: str | None = None
    ) -> str:
        """A PO with 1–40 generated lines (or exactly `lines`) for `vendor` (or a random one)."""
        conn = self.script.conn
        cat = catalog(conn)
        if vendor:
            # Either the vendor number alone (V0038) or with its AP division, as the connector shows it (01-V0038).
            match = [v for v in cat.vendors if vendor in (v[1], f"{v[0]}-{v[1]}")]
            if not match:
                raise ValueError(f"Vendor {vendor} is not on file in company ABC (e.g. 01-V0001 or V0001).")
            chosen = match[0]
        else:
            chosen = rng.choice(cat.vendors)
        count = lines or rng.randint(1, 40)
        if not 1 <= count <= 40:
            raise ValueError("A generated PO has 1 to 40 lines.")
        no = ByRef()
        self._ok(self.po, self.po.nGetNextPurchaseOrderNo(no))
        try:
            self._ok(self.po, self.po.nSetKey(no.value), (2,))
            self._ok(self.po, self.po.nSetValue("APDivisionNo$", chosen[0]))
            self._ok(self.po, self.po.nSetValue("VendorNo$", chosen[1]))
            wh = warehouse or rng.choice(WAREHOUSES)[0]
            self._ok(self.po, self.po.nSetValue("WarehouseCode$", wh))
            self._ok(self.po, self.po.nSetValue("ShipToCode$", wh))
            self._ok(self.po, self.po.nSetValue("RequisitorName$", rng.choice(("J. Ortiz", "M. Chen", "S. Patel"))))
            self._add_lines(generate_lines(rng, cat, chosen, count))
            self._ok(self.po, self.po.nWrite())
        except Exception:
            self.po.nClear()
            raise
        return str(no.value)

    def change_po(
        self,
        po_no: str,
        line_key: str | None = None,
        quantity: float | None = None,
        add_lines: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        """Change one line's quantity and/or add generated lines; the header's nWrite stamps DateUpdated$."""
        self._ok(self.po, self.po.nSetKey(po_no))
        try:
            ol = self.po.oLines
            if quantity is not None:
                self._ok(ol, ol.nEditLine(line_key or "000001"))
                self._ok(ol, ol.nSetValue("QuantityOrdered", quantity))
                self._ok(ol, ol.nWrite())
            if add_lines:
                div, vendor = ByRef(), ByRef()
                self.po.nGetValue("APDivisionNo$", div)
                self.po.nGetValue("VendorNo$", vendor)
                vendor_key = (div.value, vendor.value)
                self._add_lines(
                    generate_lines(rng or random.Random(), catalog(self.script.conn), vendor_key, add_lines)
                )
            self._ok(self.po, self.po.nWrite())
        except Exception:
            self.po.nClear()
            raise

    def _add_lines(self, lines: list[dict[str, object]]) -> None:
        """Each line: nAddLine, the item (which fills description, UOM, cost, GL account), the quantity, nWrite."""
        ol = self.po.oLines
        for line in lines:
            self._ok(ol, ol.nAddLine(), (2,))
            self._ok(ol, ol.nSetValue("ItemCode$", line["ItemCode"]))
            self._ok(ol, ol.nSetValue("QuantityOrdered", line["QuantityOrdered"]))
            self._ok(ol, ol.nWrite())

    def close(self) -> None:
        self.po.DropObject()
        self.ss.nCleanup()
        self.ss.DropObject()


def lock_record(sim: SimBackend, po_no: str, seconds: float, table: str = "PO_PurchaseOrderHeader") -> None:
    """Hold a record as if someone had it open in Sage, for `seconds` (0 = until `sage-sim unlock`)."""
    conn = connect(sim.db_path)
    try:
        if (
            table == "PO_PurchaseOrderHeader"
            and not conn.execute("SELECT 1 FROM PO_PurchaseOrderHeader WHERE PurchaseOrderNo=?", (po_no,)).fetchone()
        ):
            raise ValueError(f"Purchase order {po_no} is not on file in company ABC.")
        expires = time.time() + seconds if seconds else 0.0
        conn.execute("INSERT OR REPLACE INTO SIM_Lock VALUES (?,?,?,?)", (table, po_no, CLI_HOLDER, expires))
    finally:
        conn.close()


def unlock_record(sim: SimBackend, po_no: str, table: str = "PO_PurchaseOrderHeader") -> bool:
    conn = connect(sim.db_path)
    try:
        cur = conn.execute(
            "DELETE FROM SIM_Lock WHERE TableName=? AND RecordKey=? AND Holder=?", (table, po_no, CLI_HOLDER)
        )
        return cur.rowcount > 0
    finally:
        conn.close()
