"""Retry decisions on recorded answers (respx): Retry-After replaces the backoff (capped), other 4xx are not retried,
and the waits grow exponentially within the policy's bounds."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
import respx

from mlconnector.cleo import CleoClient, CleoCredentials, CleoHTTPError, RetryPolicy

BASE = "https://acme-buyer.cleointegration.com"
LOGIN = httpx.Response(200, json={"access_token": "t"})
PAGE = httpx.Response(200, json={"totalResults": 0, "resources": []})


@pytest.fixture
def waits() -> list[float]:
    """The wait scheduled before each retry (the policy's `sleep` records it instead of sleeping)."""
    return []


def client(policy: RetryPolicy, waits: list[float]) -> CleoClient:
    return CleoClient.connect(BASE, CleoCredentials("buyer", "pw"), retry=replace(policy, sleep=waits.append))


@respx.mock
def test_retry_after_replaces_the_backoff_and_is_capped(waits: list[float]) -> None:
    respx.post(f"{BASE}/api/authentication").mock(return_value=LOGIN)
    respx.get(f"{BASE}/api/partners").mock(
        side_effect=[
            httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "0.03"}),
            httpx.Response(503, json={"message": "busy"}, headers={"Retry-After": "3600"}),
            PAGE,
        ]
    )
    policy = RetryPolicy(wait_initial=5, wait_max=5, wait_jitter=0, retry_after_max=0.05)
    with client(policy, waits) as cleo:
        assert cleo.list_partners() == []
    assert waits == [0.03, 0.05]


@respx.mock
def test_backoff_grows_exponentially_up_to_the_cap(waits: list[float]) -> None:
    respx.post(f"{BASE}/api/authentication").mock(return_value=LOGIN)
    respx.get(f"{BASE}/api/partners").mock(
        side_effect=[httpx.Response(500, json={"message": "x"})] * 4 + [httpx.ConnectError("refused"), PAGE]
    )
    policy = RetryPolicy(attempts=6, wait_initial=0.001, wait_max=0.004, wait_jitter=0)
    with client(policy, waits) as cleo:
        assert cleo.list_partners() == []
    assert waits == pytest.approx([0.001, 0.002, 0.004, 0.004, 0.004], abs=1e-6)


@respx.mock
def test_a_plain_4xx_is_not_retried(waits: list[float]) -> None:
    respx.post(f"{BASE}/api/authentication").mock(return_value=LOGIN)
    route = respx.get(f"{BASE}/api/lookups/gl").mock(return_value=httpx.Response(403, json={"message": "Forbidden"}))
    with (
        client(RetryPolicy(wait_initial=0.001), waits) as cleo,
        pytest.raises(CleoHTTPError, match="HTTP 403\\): Forbidden"),
    ):
        cleo.get_lookup("gl")
    assert route.call_count == 1 and waits == []
