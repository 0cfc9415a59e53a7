"""The client against the running sandbox over real HTTP: token sharing, re-login, storms, broken answers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mlconnector.cleo import (
    CleoAuthError,
    CleoClient,
    CleoCredentials,
    CleoHTTPError,
    CleoProtocolError,
    CleoUnavailable,
    Partner,
)
from mlconnector.cleo.sandbox import RunningSandbox, SandboxUser, running_sandbox
from mlconnector.cleo.totp import totp

from .support import FAST_RETRY, PASSWORD, USER, hand_850

Connect = Callable[..., CleoClient]
ACME = Partner(alias="ACME", name="Acme Industrial Supply", isa_qualifier="ZZ", isa_id="ACMESUPPLY", gs_id="ACMESUPPLY")


@pytest.fixture
def acme(connect: Connect) -> Partner:
    with connect() as setup:
        return setup.create_partner(ACME)


def outbound_count(sandbox: RunningSandbox, icn: str) -> int:
    _rows, total = sandbox.store.query_messages("demo", [("direction", "=", "outbound"), ("icn", "=", icn)], 0, 10)
    return total


def test_one_login_serves_many_calls_within_a_token_life(sandbox: RunningSandbox, connect: Connect) -> None:
    client = connect()
    for _ in range(25):
        client.list_partners()
    assert client.logins == 1
    assert sandbox.admin().stats()["logins"] == 1


def test_fifty_concurrent_calls_share_one_login(sandbox: RunningSandbox, connect: Connect) -> None:
    client = connect()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: client.list_partners(), range(50)))
    assert len(results) == 50
    assert client.logins == 1
    assert sandbox.admin().stats()["logins"] == 1


def test_token_expired_mid_run_costs_one_relogin(sandbox: RunningSandbox, connect: Connect, acme: Partner) -> None:
    client = connect()
    client.list_partners()
    before = sandbox.admin().stats()["logins"]
    assert sandbox.admin().expire_tokens() >= 1
    partners = client.list_partners(alias="ACME")
    assert [p.alias for p in partners] == ["ACME"]
    assert sandbox.admin().stats()["logins"] == before + 1
    assert client.logins == 2


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("429", {"retryAfter": 0.01}),
        ("429", {}),
        ("500", {}),
        ("500", {"when": "after"}),
        ("drop", {}),
        ("drop", {"when": "after"}),
    ],
)
def test_storms_end_in_one_stored_message(
    sandbox: RunningSandbox, connect: Connect, acme: Partner, kind: str, options: dict[str, object]
) -> None:
    """A 429/500/dropped-connection storm on the send: the client gets through, and Cleo holds the 850 once."""
    sandbox.admin().add_fault(kind, count=4, method="POST", path="/api/messages", **options)
    result = connect().send_document("ACME", hand_850(101))
    assert result.icn == "000000101"
    assert result.message_id is not None
    assert outbound_count(sandbox, "000000101") == 1
    assert sandbox.admin().stats()[f"fault.{kind}"] == 4
    # When the first attempt was stored before the failure, the retry learns it from the 409, not by storing twice.
    assert result.already_sent is (options.get("when") == "after")


def test_slow_answer_past_the_timeout_is_retried_without_a_duplicate(
    sandbox: RunningSandbox, connect: Connect, acme: Partner
) -> None:
    sandbox.admin().add_fault("slow", count=1, delay=1.0, method="POST")
    result = connect(timeout=0.3).send_document("ACME", hand_850(102))
    assert result.message_id is not None
    assert outbound_count(sandbox, "000000102") == 1


def test_a_storm_longer_than_the_retry_budget_is_a_clear_error(sandbox: RunningSandbox, connect: Connect) -> None:
    sandbox.admin().add_fault("500", count=50)
    with pytest.raises(CleoUnavailable) as caught:
        connect().list_partners()
    assert caught.value.attempts == FAST_RETRY.attempts
    assert "HTTP 500" in str(caught.value) and "Internal server error" in str(caught.value)


def test_an_html_error_page_is_a_clear_error(sandbox: RunningSandbox, connect: Connect) -> None:
    sandbox.admin().add_fault("html", count=1, status=200)
    with pytest.raises(CleoProtocolError, match=r"HTML page instead of JSON \(502 Bad Gateway\)"):
        connect().list_partners()


def test_html_gateway_pages_that_never_stop_name_the_page(sandbox: RunningSandbox, connect: Connect) -> None:
    sandbox.admin().add_fault("html", count=50, status=502)
    with pytest.raises(CleoUnavailable, match="HTTP 502: an HTML page"):
        connect().list_partners()


def test_malformed_json_is_a_clear_error(sandbox: RunningSandbox, connect: Connect) -> None:
    sandbox.admin().add_fault("malformed-json", count=1)
    with pytest.raises(CleoProtocolError, match="malformed JSON"):
        connect().list_inbound()


def test_other_4xx_fail_at_once_with_cleos_message(sandbox: RunningSandbox, connect: Connect) -> None:
    client = connect()
    client.list_partners()
    before = sandbox.admin().stats()["requests"]
    with pytest.raises(CleoHTTPError) as caught:
        client.send_document("NOBODY", hand_850(103))
    assert caught.value.status == 422
    assert caught.value.message == "Unknown partner 'NOBODY'"
    assert sandbox.admin().stats()["requests"] == before + 1  # no retry


def test_wrong_password_is_an_auth_error_without_the_password(sandbox: RunningSandbox) -> None:
    client = CleoClient.connect(sandbox.base_url, CleoCredentials(USER, "not-the-pw-xyz"), retry=FAST_RETRY)
    with client, pytest.raises(CleoAuthError) as caught:
        client.list_partners()
    assert "Invalid credentials" in str(caught.value)
    assert "not-the-pw-xyz" not in str(caught.value)


@pytest.fixture
def totp_sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    user = SandboxUser(USER, PASSWORD, totp_secret="JBSWY3DPEHPK3PXP")
    with running_sandbox(data_dir=tmp_path, users=[user]) as running:
        yield running


def test_totp_code_is_sent_with_the_login(totp_sandbox: RunningSandbox) -> None:
    good = CleoCredentials(USER, PASSWORD, otp=lambda: totp("JBSWY3DPEHPK3PXP"))
    with CleoClient.connect(totp_sandbox.base_url, good, retry=FAST_RETRY) as client:
        assert client.list_partners() == []
    missing = CleoCredentials(USER, PASSWORD)
    with (
        CleoClient.connect(totp_sandbox.base_url, missing, retry=FAST_RETRY) as client,
        pytest.raises(CleoAuthError, match="one-time code"),
    ):
        client.list_partners()


def test_default_ttl_is_used_when_the_login_has_no_expires_in(tmp_path: Path) -> None:
    with (
        running_sandbox(data_dir=tmp_path, send_expires_in=False) as sandbox,
        CleoClient.connect(
            sandbox.base_url, CleoCredentials(USER, PASSWORD), retry=FAST_RETRY, default_token_ttl=600
        ) as client,
    ):
        for _ in range(5):
            client.list_partners()
        assert client.logins == 1
        assert sandbox.admin().stats()["logins"] == 1


def test_upsert_survives_its_own_create_being_retried_after_a_lost_answer(
    sandbox: RunningSandbox, connect: Connect
) -> None:
    sandbox.admin().add_fault("drop", count=1, when="after", method="POST", path="/api/partners")
    upserted = connect().upsert_partner(ACME)
    assert upserted.alias == "ACME" and upserted.id
    assert [p.id for p in connect().list_partners()] == [upserted.id]


def test_a_token_that_runs_out_on_the_server_costs_one_relogin(tmp_path: Path) -> None:
    """The sandbox's own expiry (1 s tokens, no expires_in sent) against a client that believes the token lives on."""
    with (
        running_sandbox(data_dir=tmp_path, token_ttl=1, send_expires_in=False) as sandbox,
        CleoClient.connect(
            sandbox.base_url, CleoCredentials(USER, PASSWORD), retry=FAST_RETRY, default_token_ttl=3600
        ) as client,
    ):
        client.list_partners()
        threading.Event().wait(1.2)
        assert client.list_partners() == []
        assert client.logins == 2
        assert sandbox.admin().stats()["logins"] == 2
