"""The error table, the bounded lock retry, and the COM adapter's early-binding (tuple) path."""

from __future__ import annotations

from typing import Any

import pytest

from mlconnector.sage.boi import ByRef
from mlconnector.sage.com import ComBackend
from mlconnector.sage.errors import (
    RetryPolicy,
    SageAuthError,
    SageLockedError,
    SageQuarantineError,
    SageValidationError,
    classify,
)
from mlconnector.sage.sim.script import SimBackend

from .fake_com import VT_VARIANT, fake_dispatch_for, make_variant


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("The PO_PurchaseOrderHeader record 0000001 is in use by another user or task.", SageLockedError),
        ("Invalid user logon or password.", SageAuthError),
        ("You do not have Create rights to PO_Receipt_ui for user viewer.", SageAuthError),
        ("Vendor 01-V9999 is not on file.", SageValidationError),
        ("GL account 6200-02-30 is inactive.", SageValidationError),
        ("ProvideX error 47 at line 220", SageQuarantineError),
        ("", SageQuarantineError),
    ],
)
def test_error_table(message: str, error: type) -> None:
    assert type(classify(message, "VendorNo$")) is error


def test_retry_only_lock_errors_and_stop_at_the_budget() -> None:
    calls: list[str] = []
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, wait_initial=0.1, wait_max=0.2, jitter=0.0, sleep=waits.append)

    def locked() -> None:
        calls.append("x")
        raise SageLockedError("record in use")

    with pytest.raises(SageLockedError):
        policy.run(locked)
    assert len(calls) == 3 and len(waits) == 2 and all(0 < w <= 0.2 for w in waits)

    def invalid() -> None:
        calls.append("v")
        raise SageValidationError("Item code is required.")

    with pytest.raises(SageValidationError):
        policy.run(invalid)
    assert calls.count("v") == 1


class EarlyBound:
    """MakePy-style object: ByRef parameters come back as extra tuple values."""

    def __init__(self) -> None:
        self.sLastErrorMsg = ""

    def nGetValue(self, column: str, _out: Any) -> tuple[int, str]:
        return (1, f"value of {column}")


def test_com_adapter_takes_tuple_results_from_early_binding() -> None:
    backend = ComBackend("C:/Sage/MAS90/Home", dispatch=lambda _p: EarlyBound(), variant=lambda v: object())
    obj = backend.create_script()
    holder = ByRef()
    assert obj.nGetValue("VendorNo$", holder) == 1
    assert holder.value == "value of VendorNo$"
    assert obj.sLastErrorMsg == ""
    assert backend.counter.snapshot() == {"ProvideX.Script.nGetValue": 1, "ProvideX.Script.sLastErrorMsg": 1}


def test_fake_dispatch_refuses_what_pywin32_cannot_marshal(sim: SimBackend) -> None:
    """Without the COM adapter's VARIANTs, the contract suite's COM leg could not pass."""
    script = fake_dispatch_for(sim)("ProvideX.Script")
    script.Init(sim.home())
    session = script.NewObject("SY_Session")
    assert session.nSetUser("ml", "ml-demo") == 1 and session.nSetCompany("ABC") == 1
    svc = script.NewObject("PO_PurchaseOrder_svc", session)
    with pytest.raises(TypeError, match="can not be converted to a COM VARIANT"):
        svc.nGetValue("VendorNo$", ByRef())
    by_value = make_variant("")
    by_value.varianttype = VT_VARIANT  # not ByRef: the value never comes back, as with pywin32
    assert svc.nFind("0000001") == 1
    with pytest.raises(TypeError, match="ByRef argument needs a holder"):
        svc.nGetValue("VendorNo$", by_value)
    out = make_variant("")
    assert svc.nGetValue("VendorNo$", out) == 1 and out.value.startswith("V")
