"""Tiny builders for hand-made interchanges: correct envelopes, so each test breaks exactly one thing."""

from __future__ import annotations

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260301*1200*U*00401*000000042*0*P*>"
PO_BODY = [
    "BEG*00*SA*PO123**20260301",
    "N1*ST*WAREHOUSE*92*0001",
    "PO1*1*10*EA*2.5*PE*VP*WIDGET-1",
    "PO1*2*5*EA*4*PE*VP*WIDGET-2",
    "CTT*2",
]


def transaction_set(body: list[str], set_id: str = "850", control: str = "0001", count: int | None = None) -> list[str]:
    total = len(body) + 2 if count is None else count
    return [f"ST*{set_id}*{control}", *body, f"SE*{total}*{control}"]


def interchange(
    sets: list[list[str]] | None = None,
    *,
    gs01: str = "PO",
    gs08: str = "004010",
    group_control: str = "7",
    isa: str = ISA,
    terminator: str = "~\n",
) -> str:
    sets = sets if sets is not None else [transaction_set(PO_BODY)]
    segments = [isa, f"GS*{gs01}*SENDER*RECEIVER*20260301*1200*{group_control}*X*{gs08}"]
    for s in sets:
        segments += s
    segments += [f"GE*{len(sets)}*{group_control}", "IEA*1*000000042"]
    return terminator.join(segments) + terminator
