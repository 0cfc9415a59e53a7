"""HTTP mechanics of the Cleo boundary, limited to conventions confirmed in Cleo's own code (cleo-api.md §1–2, §5).

Bearer tokens from `POST /api/authentication`, `{"message"}` errors, `startIndex`/`count`/`totalResults`/`resources`
paging. Retries (429 with Retry-After, 5xx, timeouts, dropped connections) use tenacity: exponential backoff with
jitter, bounded by attempts and a total time budget. Our own (★) resource paths live in `CleoClient`, not here.
"""

from __future__ import annotations

import email.utils
import functools
import json as jsonlib
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from mlconnector.cleo.errors import (
    CleoAuthError,
    CleoConflict,
    CleoHTTPError,
    CleoNotFound,
    CleoProtocolError,
    CleoTrustError,
    CleoUnavailable,
)
from mlconnector.cleo.token import CleoCredentials, TokenCache
from mlconnector.networds import transport_words

log = logging.getLogger(__name__)

AUTH_PATH = "/api/authentication"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for retrying 429/5xx/timeouts/dropped connections; the defaults suit a 15-minute polling cycle.

    The n-th wait is `min(wait_max, wait_initial * 2**(n-1) + uniform(0, wait_jitter))`, or the server's Retry-After
    capped at `retry_after_max`; no wait starts that would end past `total_timeout`. `sleep` is for tests.
    """

    attempts: int = 6
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    total_timeout: float = 120.0
    retry_after_max: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)


class _RetryableStatus(Exception):
    """A 429 or 5xx answer, carried out of the attempt so tenacity can decide to try again."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _is_html(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "")
    return "html" in ctype or response.text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))


def describe(response: httpx.Response) -> str:
    """Cleo's `message`, or a short honest description of whatever else came back (HTML page, bare text)."""
    if _is_html(response):
        match = _TITLE.search(response.text)
        title = " ".join(match.group(1).split()) if match else "no title"
        return f"an HTML page instead of JSON ({title[:80]})"
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:200] if text else "(empty body)"
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return jsonlib.dumps(body)[:200]


def untrusted_certificate(exc: BaseException) -> str | None:
    """The verification failure behind a transport error, if it is one (a wrong or unknown certificate)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen.reason or seen)
        seen = seen.__cause__ or seen.__context__
    return None


@functools.cache
def system_trust() -> ssl.SSLContext:
    """httpx's default trust (its CA bundle, verified), built once per process and shared by every session: each
    context holds the whole bundle (~0.8 MB), and a hosted worker has a Cleo session per tenant."""
    return httpx.create_ssl_context()


class CleoSession:
    """One authenticated, retrying HTTP session to a Cleo tenant (or the sandbox); safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        credentials: CleoCredentials,
        *,
        default_token_ttl: float = 3600.0,
        token_leeway: float = 60.0,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """`verify`: the system's trusted CAs (True) or a context that trusts one named certificate; never off."""
        if verify is False:
            raise ValueError("TLS verification cannot be turned off for Cleo; trust its certificate explicitly.")
        self._credentials = credentials
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
            verify=system_trust() if verify is True else verify,
            headers={"Accept": "application/json"},
        )
        self.tokens = TokenCache(self._login, default_ttl=default_token_ttl, leeway=token_leeway)

    # ------------------------------------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._http.close()

    @property
    def logins(self) -> int:
        """How many times this session has logged in (one per token life, plus one per server-side expiry)."""
        return self.tokens.logins

    # ------------------------------------------------------------------------------------------------- requests

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: Iterable[int] = (200,),
        passthrough: Iterable[int] = (),
    ) -> httpx.Response:
        """Send with a bearer token; on 401 log in again once and retry once, then fail with `CleoAuthError`.

        Statuses in `ok` or `passthrough` are returned; other 4xx raise `CleoHTTPError` (or a subclass) at once.
        """
        ok, passthrough = set(ok), set(passthrough)
        token = self.tokens.bearer()
        response = self._send(method, url, json=json, params=params, headers=headers, token=token)
        if response.status_code == 401:
            log.info("cleo token refused; logging in again", extra={"method": method, "path": url})
            self.tokens.invalidate(token)
            token = self.tokens.bearer()
            response = self._send(method, url, json=json, params=params, headers=headers, token=token)
            if response.status_code == 401:
                raise CleoAuthError(f"Cleo refused a fresh token for {method} {url} (HTTP 401): {describe(response)}")
        if response.status_code in ok or response.status_code in passthrough:
            return response
        raise self._error(method, url, response)

    def json(self, method: str, url: str, response: httpx.Response) -> Any:
        """The body as JSON, or a `CleoProtocolError` that says what came instead (HTML page, malformed JSON)."""
        if _is_html(response):
            raise CleoProtocolError(
                f"Cleo {method} {url} answered HTTP {response.status_code} with {describe(response)}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise CleoProtocolError(
                f"Cleo {method} {url} answered HTTP {response.status_code} with malformed JSON: {exc}"
            ) from None

    def call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """`request` + `json` for endpoints that answer one JSON object."""
        response = self.request(method, url, **kwargs)
        body = self.json(method, url, response)
        if not isinstance(body, dict):
            raise CleoProtocolError(f"Cleo {method} {url} answered a JSON {type(body).__name__}, expected an object")
        return body

    def page(
        self, path: str, *, start: int, count: int, filter: str | None = None
    ) -> tuple[list[dict[str, Any]], int, int | None]:
        """One page of a Cleo collection: (resources, totalResults, next startIndex or None on the last page)."""
        params: dict[str, Any] = {"startIndex": start, "count": count}
        if filter:
            params["filter"] = filter
        body = self.call("GET", path, params=params)
        resources, total = body.get("resources"), body.get("totalResults")
        if not isinstance(resources, list) or not isinstance(total, int):
            raise CleoProtocolError(f"Cleo GET {path} answered without totalResults/resources")
        following = start + len(resources)
        return resources, total, (following if resources and following < total else None)

    # -------------------------------------------------------------------------------------------------- internals

    def _login(self) -> Mapping[str, Any]:
        response = self._send(
            "POST",
            AUTH_PATH,
            content=self._credentials.form_body(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            token=None,
        )
        if response.status_code in (400, 401, 403):
            raise CleoAuthError(f"Cleo refused the login (HTTP {response.status_code}): {describe(response)}")
        if response.status_code != 200:
            raise self._error("POST", AUTH_PATH, response)
        body = self.json("POST", AUTH_PATH, response)
        if not isinstance(body, dict):
            raise CleoProtocolError("Cleo's login answer is not a JSON object")
        return body

    def _send(
        self,
        method: str,
        url: str,
        *,
        token: str | None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: str | None = None,
    ) -> httpx.Response:
        """One logical request: retried on 429/5xx/timeouts/dropped connections within the `RetryPolicy`."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        attempts = 0

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            response = self._http.request(method, url, json=json, params=params, headers=all_headers, content=content)
            if response.status_code == 429 or response.status_code >= 500:
                raise _RetryableStatus(response, _retry_after_seconds(response.headers.get("retry-after")))
            return response

        try:
            return self._retrying()(attempt)
        except _RetryableStatus as exc:
            raise CleoUnavailable(
                f"Cleo {method} {url} kept failing",
                attempts=attempts,
                last=f"HTTP {exc.response.status_code}: {describe(exc.response)}",
            ) from None
        except httpx.TransportError as exc:
            if reason := untrusted_certificate(exc):
                raise CleoTrustError(
                    f"Cleo's certificate at {self._http.base_url} is not trusted ({reason}); if it is the right"
                    " server, set [cleo] ca_file to the certificate or CA that signed it"
                ) from None
            raise CleoUnavailable(
                f"Cleo {method} {url} could not be reached", attempts=attempts, last=transport_words(exc)
            ) from None

    def _retrying(self) -> Retrying:
        """Retry 429/5xx and transport failures within the policy; a Retry-After replaces the backoff (capped)."""
        policy = self.retry
        backoff = wait_exponential_jitter(
            multiplier=policy.wait_initial, max=policy.wait_max, jitter=policy.wait_jitter
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
                return min(exc.retry_after, policy.retry_after_max)
            return backoff(state)

        return Retrying(
            retry=retry_if_exception(
                lambda exc: (
                    isinstance(exc, _RetryableStatus)
                    or (isinstance(exc, httpx.TransportError) and not untrusted_certificate(exc))
                )
            ),
            stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.total_timeout),
            wait=wait,
            sleep=policy.sleep,
            reraise=True,
        )

    @staticmethod
    def _error(method: str, url: str, response: httpx.Response) -> CleoHTTPError:
        status, message = response.status_code, describe(response)
        kind = {404: CleoNotFound, 409: CleoConflict}.get(status, CleoHTTPError)
        return kind(status, message, method=method, path=url.split("?", 1)[0])
