"""Shared test data for the Cleo tests: the sandbox's default login, tiny retry waits, and hand-written 850s."""

from __future__ import annotations

from mlconnector.cleo import RetryPolicy

USER, PASSWORD = "demo", "demo-password"
FAST_RETRY = RetryPolicy(
    attempts=8, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01, total_timeout=30, retry_after_max=0.05
)


def isa(icn: int, sender: str = "MLCONNECTOR", receiver: str = "ACMESUPPLY") -> str:
    return f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*261126*1200*U*00401*{icn:09d}*0*T*>~"


def hand_850(icn: int, po_number: str = "PO1001") -> str:
    """A small, valid 850 written by hand, for tests that only need the sandbox to store and route it."""
    body = [
        "ST*850*0001",
        f"BEG*00*SA*{po_number}**20261126",
        "PO1*1*10*EA*2.5*PE*VP*WIDGET-1",
        "CTT*1*10",
    ]
    body.append(f"SE*{len(body) + 1}*0001")
    return (
        isa(icn)
        + f"GS*PO*MLCONNECTOR*ACMESUPPLY*20261126*1200*{icn}*X*004010~"
        + "~".join(body)
        + f"~GE*1*{icn}~IEA*1*{icn:09d}~"
    )
