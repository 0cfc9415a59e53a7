"""TokenCache without a server: expiry from expires_in or the default, leeway, single-flight login, invalidation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from authlib.oauth2.rfc6749 import wrappers

from mlconnector.cleo import CleoCredentials, CleoProtocolError, TokenCache


class Clock:
    """Stands in for `time` inside authlib's token wrapper, so expiry is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(wrappers, "time", SimpleNamespace(time=fake.time))
    yield fake


class Logins:
    def __init__(self, **answer: Any) -> None:
        self.answer = answer
        self.count = 0

    def __call__(self) -> dict[str, Any]:
        self.count += 1
        return {"access_token": f"tok-{self.count}", **self.answer}


def test_token_is_reused_until_expires_in_minus_leeway(clock: Clock) -> None:
    fetch = Logins(expires_in=600)
    cache = TokenCache(fetch, leeway=60)
    assert cache.bearer() == "tok-1"
    clock.now += 539
    assert cache.bearer() == "tok-1"
    clock.now += 2  # 541 s: inside the 60 s leeway before expiry
    assert cache.bearer() == "tok-2"
    assert fetch.count == cache.logins == 2


def test_default_ttl_applies_when_expires_in_is_absent(clock: Clock) -> None:
    fetch = Logins()
    cache = TokenCache(fetch, default_ttl=120, leeway=10)
    cache.bearer()
    clock.now += 109
    assert cache.bearer() == "tok-1"
    clock.now += 2
    assert cache.bearer() == "tok-2"


def test_leeway_never_exceeds_half_a_short_token_life(clock: Clock) -> None:
    fetch = Logins(expires_in=30)
    cache = TokenCache(fetch, leeway=60)
    cache.bearer()
    clock.now += 14
    assert cache.bearer() == "tok-1"
    clock.now += 2
    assert cache.bearer() == "tok-2"


def test_concurrent_callers_share_one_login() -> None:
    release = threading.Event()
    fetch_calls = []

    def slow_fetch() -> dict[str, Any]:
        fetch_calls.append(1)
        release.wait(5)
        return {"access_token": "shared", "expires_in": 3600}

    cache = TokenCache(slow_fetch)
    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(cache.bearer) for _ in range(20)]
        time.sleep(0.05)  # let every thread queue on the lock before the login answers
        release.set()
        tokens = {f.result() for f in futures}
    assert tokens == {"shared"}
    assert len(fetch_calls) == 1


def test_invalidate_forgets_only_the_token_that_failed() -> None:
    fetch = Logins(expires_in=3600)
    cache = TokenCache(fetch)
    first = cache.bearer()
    cache.invalidate(first)
    second = cache.bearer()
    assert second != first
    cache.invalidate(first)  # a slow thread reporting the old token must not throw away the new one
    assert cache.bearer() == second
    assert fetch.count == 2


def test_login_answer_without_access_token_is_a_protocol_error() -> None:
    cache = TokenCache(lambda: {"token_type": "bearer"})
    with pytest.raises(CleoProtocolError, match="access_token"):
        cache.bearer()


def test_credentials_never_show_the_password_and_send_the_otp() -> None:
    creds = CleoCredentials("buyer", "s3cr3t-pw", otp=lambda: "123456")
    assert "s3cr3t-pw" not in repr(creds)
    body = creds.form_body()
    assert body.startswith("grant_type=password")
    assert "username=buyer" in body and "password=s3cr3t-pw" in body and "otp=123456" in body
    assert "otp=" not in CleoCredentials("buyer", "pw").form_body()
