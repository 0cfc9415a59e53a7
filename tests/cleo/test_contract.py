"""One contract suite for the Cleo boundary, run against every implementation: the sandbox over real HTTP, and
recorded Cleo-shaped answers (respx). A test here may only use what both offer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import respx

from mlconnector.cleo import CleoAuthError, CleoClient, CleoConflict, CleoCredentials, CleoNotFound, Lookup, Partner
from mlconnector.cleo.sandbox import running_sandbox

from .recorded import BASE, RecordedCleo
from .support import FAST_RETRY, PASSWORD, USER, hand_850

ACME = Partner(
    alias="ACME",
    name="Acme Industrial Supply",
    isa_qualifier="ZZ",
    isa_id="ACMESUPPLY",
    gs_id="ACMESUPPLY",
    erp_vendor="01-ACME",
    address={"city": "Dayton", "state": "OH"},
)


@dataclass
class Backend:
    """A Cleo implementation under contract: a client for it, and the few things a test arranges on its side."""

    client: CleoClient
    deliver: Callable[[str, str], None]
    expire_tokens: Callable[[], None]
    server_logins: Callable[[], int]


@pytest.fixture(params=["sandbox", "recorded"])
def cleo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    credentials = CleoCredentials(USER, PASSWORD)
    if request.param == "sandbox":
        with running_sandbox(data_dir=tmp_path) as sandbox:
            admin = sandbox.admin()

            def deliver(partner: str, payload: str) -> None:
                admin.drop_in(partner, payload)

            def expire() -> None:
                admin.expire_tokens()

            with CleoClient.connect(sandbox.base_url, credentials, retry=FAST_RETRY, page_size=2) as client:
                yield Backend(client, deliver, expire, lambda: admin.stats()["logins"])
    else:
        with respx.mock(assert_all_called=False) as router:
            recorded = RecordedCleo(router, username=USER, password=PASSWORD)
            with CleoClient.connect(BASE, credentials, retry=FAST_RETRY, page_size=2) as client:
                yield Backend(client, recorded.deliver, recorded.expire_tokens, lambda: recorded.logins)


def test_send_then_resend_the_same_icn(cleo: Backend) -> None:
    cleo.client.create_partner(ACME)
    first = cleo.client.send_document("ACME", hand_850(501))
    assert (first.icn, first.already_sent) == ("000000501", False)
    assert first.message_id
    again = cleo.client.send_document("ACME", hand_850(501))
    assert (again.icn, again.already_sent) == ("000000501", True)
    status = cleo.client.message_status(first.message_id)
    assert status.status in {"queued", "sent", "delivered"}
    assert status.fa_status == "pending"


def test_inbound_pages_content_and_acknowledge(cleo: Backend) -> None:
    cleo.client.create_partner(ACME)
    for icn in range(1, 6):
        cleo.deliver("ACME", hand_850(icn))
    page = cleo.client.list_inbound()
    assert (page.total, len(page.items), page.next_start) == (5, 2, 2)
    everything = list(cleo.client.iter_inbound())
    assert len(everything) == 5 and len({m.id for m in everything}) == 5
    assert cleo.client.fetch_content(everything[0]) == hand_850(1)
    assert cleo.client.fetch_content(everything[1].id) == hand_850(2)
    assert cleo.client.acknowledge(everything[0]) == "received"
    remaining = list(cleo.client.iter_inbound())
    assert [m.id for m in remaining] == [m.id for m in everything[1:]]
    assert cleo.client.list_inbound(status="received").total == 1


def test_partners_create_find_update_and_conflict(cleo: Backend) -> None:
    created = cleo.client.create_partner(ACME)
    assert created.id and created.alias == "ACME" and created.erp_vendor == "01-ACME"
    assert created.address == {"city": "Dayton", "state": "OH"}
    assert [p.id for p in cleo.client.list_partners(isa_id="ACMESUPPLY")] == [created.id]
    assert cleo.client.list_partners(alias="NOBODY") == []
    with pytest.raises(CleoConflict) as caught:
        cleo.client.create_partner(ACME)
    assert caught.value.status == 409 and "ACME" in caught.value.message
    renamed = cleo.client.upsert_partner(Partner(**{**_fields(ACME), "name": "Acme Supply Co."}))
    assert renamed.id == created.id and renamed.name == "Acme Supply Co."
    for number in range(3):  # more than one page of partners
        cleo.client.create_partner(Partner(**{**_fields(ACME), "alias": f"V{number}", "isa_id": f"V{number}"}))
    assert len(cleo.client.list_partners()) == 4


def test_lookups_round_trip_and_missing_is_not_found(cleo: Backend) -> None:
    gl = Lookup.of(["account", "description"], [["5000-00-00", "Cost of goods"], ["6100-01-00", "Freight in"]])
    assert cleo.client.put_lookup("gl-accounts", gl) == gl
    assert cleo.client.get_lookup("gl-accounts") == gl
    with pytest.raises(CleoNotFound):
        cleo.client.get_lookup("cost-centres")


def test_expired_token_costs_exactly_one_new_login(cleo: Backend) -> None:
    cleo.client.list_partners()
    cleo.expire_tokens()
    cleo.client.list_partners()
    assert cleo.client.logins == 2
    assert cleo.server_logins() == 2


def test_a_token_refused_right_after_login_is_a_clear_auth_error() -> None:
    """Only the recorded side can refuse every token; the client must give up after one re-login, not loop."""
    with respx.mock(assert_all_called=False) as router:
        recorded = RecordedCleo(router, username=USER, password=PASSWORD)
        recorded.refuse_tokens = True
        with (
            CleoClient.connect(BASE, CleoCredentials(USER, PASSWORD), retry=FAST_RETRY) as client,
            pytest.raises(CleoAuthError, match="refused a fresh token"),
        ):
            client.list_partners()
        assert recorded.logins == 2


def _fields(partner: Partner) -> dict[str, object]:
    return {name: getattr(partner, name) for name in Partner.__dataclass_fields__}
