"""The connector-side agent client: the gateway's methods, signed, over HTTPS pinned to the agent's certificate.

Each method mirrors `SageGateway` exactly (same names, parameters and return types), so flows can take either.
Retries (tenacity): transport errors, 500 and 503 (honouring Retry-After up to `wait_max`), each attempt freshly
signed; 4xx never retry. `transport=` replaces the pinned HTTPS transport (tests: recorded answers, faults).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import ssl
import time
import types
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import httpx
from pydantic import BaseModel, TypeAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from mlconnector.networds import transport_words
from mlconnector.sage.agent import operations as ops
from mlconnector.sage.agent.operations import Operation
from mlconnector.sage.agent.signing import signed_headers
from mlconnector.sage.errors import (
    SageAuthError,
    SageError,
    SageLockedError,
    SageNotFoundError,
    SageQuarantineError,
    SageValidationError,
)

P = ParamSpec("P")
R = TypeVar("R")


class AgentError(Exception):
    """The agent could not be reached or refused the request itself (not a Sage answer)."""


class AgentAuthError(AgentError):
    """401 from the agent (wrong HMAC key or clock skew) or a certificate that does not match the pin."""


class AgentUnavailableError(AgentError):
    """Transport failures or 5xx after every retry."""


class PinnedSSLContext(ssl.SSLContext):
    """Accepts exactly one certificate, by SHA-256 fingerprint, checked right after the handshake and before any
    request byte (so credentials never reach an impostor)."""

    pin = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        ssock = super().wrap_socket(sock, *args, **kwargs)
        der = ssock.getpeercert(binary_form=True) or b""
        if hashlib.sha256(der).hexdigest() != self.pin:
            ssock.close()
            raise ssl.SSLError("agent certificate fingerprint does not match the pinned fingerprint")
        return ssock


def pinned_context(fingerprint: str) -> ssl.SSLContext:
    ctx = PinnedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # trust comes from the pin, not from a CA
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.pin = fingerprint.lower().replace(":", "")
    return ctx


ERRORS: dict[int, type[SageError]] = {
    400: SageValidationError,  # the agent could not read the request (a field missing or of the wrong type)
    403: SageAuthError,
    404: SageNotFoundError,
    422: SageValidationError,
    503: SageLockedError,
    502: SageQuarantineError,
}


HUB_TRANSIENT = frozenset({"agent_offline", "agent_lost", "agent_timeout", "agent_busy"})
"""The hub's (or the tunnel's) own answers: the agent is not there right now; never a Sage answer."""


def _hub_error(resp: httpx.Response) -> str | None:
    if resp.status_code < 500 or not resp.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        error = resp.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error if isinstance(error, str) else None


class _Retryable(Exception):
    """A 500 or 503 answer, carried out of the attempt so tenacity can decide to try again."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class remote(Generic[P, R]):
    """A client method made from an operation of the table: the gateway method's signature (what mypy and
    `inspect` see), its arguments sent by name as the signed JSON body, the answer read as `op.response`."""

    def __init__(self, op: Operation[P, R]) -> None:
        self.op = op
        signature = inspect.signature(op.call)

        def method(client: AgentClient, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(client, *args, **kwargs)
            bound.apply_defaults()
            payload = {k: v for k, v in bound.arguments.items() if k != "self"}
            return client._call(op.name, payload, op.response)

        functools.update_wrapper(method, op.call)
        self.method = method

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.op.name:
            raise TypeError(f"{owner.__name__}.{name} is bound to the operation {self.op.name!r}")

    @overload
    def __get__(self, client: None, owner: type) -> Callable[Concatenate[Any, P], R]: ...

    @overload
    def __get__(self, client: object, owner: type) -> Callable[P, R]: ...

    def __get__(self, client: object, owner: type) -> Any:
        return self.method if client is None else types.MethodType(self.method, client)


class AgentClient:
    """Talks to one agent as one Sage user in one company."""

    def __init__(
        self,
        base_url: str,
        hmac_key: bytes,
        fingerprint: str,
        user: str,
        password: str,
        company: str,
        *,
        timeout: float = 60.0,
        attempts: int = 4,
        wait_initial: float = 0.5,
        wait_max: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._key = hmac_key
        self._credentials = {"user": user, "password": password, "company": company}
        self.attempts, self.wait_initial, self.wait_max, self.sleep = attempts, wait_initial, wait_max, sleep
        self._http = httpx.Client(
            base_url=base_url,
            verify=verify or pinned_context(fingerprint),
            timeout=timeout,
            transport=transport,
            headers=headers,
        )

    @classmethod
    def via_hub(
        cls,
        hub_url: str,
        tenant: str,
        token: str,
        hmac_key: bytes,
        user: str,
        password: str,
        company: str,
        *,
        hub_fingerprint: str | None = None,
        hub_ca_file: str | None = None,
        **options: Any,
    ) -> AgentClient:
        """The tenant's agent reached through the hub's relay (`<hub_url>/relay/<tenant>/v1/…`): the same signed
        requests, the hub's certificate pinned or verified against a CA file, the worker token in a header."""
        from mlconnector.tls import trust_context

        if bool(hub_fingerprint) == bool(hub_ca_file):
            raise ValueError("Give the hub's certificate as exactly one of a fingerprint or a CA file.")
        verify = trust_context(hub_ca_file) if hub_ca_file else pinned_context(hub_fingerprint or "")
        base = f"{hub_url.rstrip('/')}/relay/{tenant}"
        auth = {"authorization": f"Bearer {token}"}
        return cls(base, hmac_key, "", user, password, company, verify=verify, headers=auth, **options)

    def __repr__(self) -> str:
        return f"AgentClient({self._http.base_url!s}, user={self._credentials['user']!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _retrying(self) -> Retrying:
        """Exponential backoff with jitter, or the agent's Retry-After (capped at `wait_max`), `attempts` in all."""
        backoff = wait_exponential_jitter(multiplier=self.wait_initial, max=self.wait_max, jitter=self.wait_initial)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.response.headers.get("retry-after") if isinstance(exc, _Retryable) else None
            if retry_after and retry_after.isdigit():
                return min(float(retry_after), self.wait_max)
            return backoff(state)

        return Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable | httpx.TransportError)),
            stop=stop_after_attempt(self.attempts),
            wait=wait,
            sleep=self.sleep,
            reraise=True,
        )

    def _call(self, op: str, payload: dict[str, Any], result: Any) -> Any:
        path = f"/v1/{op}"
        body = json.dumps({"credentials": self._credentials, **payload}, default=_json).encode()

        def attempt() -> httpx.Response:
            headers = {"content-type": "application/json", **signed_headers(self._key, "POST", path, body)}
            try:
                resp = self._http.post(path, content=body, headers=headers)
            except httpx.TransportError as exc:
                if "fingerprint" in repr(exc) or "fingerprint" in repr(exc.__context__):
                    raise AgentAuthError("The agent's TLS certificate does not match the pinned fingerprint.") from None
                raise
            if resp.status_code in (500, 503) or _hub_error(resp) in HUB_TRANSIENT:
                raise _Retryable(resp)
            return resp

        try:
            resp = self._retrying()(attempt)
        except _Retryable as exc:
            resp = exc.response
        except httpx.TransportError as exc:
            raise AgentUnavailableError(
                f"Agent unreachable at {self._http.base_url}: {transport_words(exc)}."
            ) from None
        if resp.status_code == 200:
            return TypeAdapter(result).validate_python(resp.json())
        try:
            detail = resp.json()
        except ValueError:
            detail = {}
        message = str(detail.get("message") or f"Agent answered HTTP {resp.status_code}.")
        if detail.get("error") in HUB_TRANSIENT:
            raise AgentUnavailableError(message)
        if detail.get("error") == "hub_unauthorized":
            raise AgentAuthError(f"{message} Set the hub's relay token again: `ml-connector credentials set hub`.")
        if resp.status_code == 401:
            raise AgentAuthError(f"The agent refused the request signature: {message}")
        if resp.status_code in ERRORS:
            raise ERRORS[resp.status_code](message, detail.get("field"))
        raise AgentUnavailableError(message)

    # -- the gateway's operations, one line each from the table (signature, payload and answer all come from it) --
    changed_purchase_orders = remote(ops.CHANGED_PURCHASE_ORDERS)
    changed_vendors = remote(ops.CHANGED_VENDORS)
    gl_accounts = remote(ops.GL_ACCOUNTS)
    purchase_order = remote(ops.PURCHASE_ORDER)
    receive_goods = remote(ops.RECEIVE_GOODS)
    receive_invoice = remote(ops.RECEIVE_INVOICE)
    note_po_lines = remote(ops.NOTE_PO_LINES)
    post_receipts = remote(ops.POST_RECEIPTS)
    find_by_source_key = remote(ops.FIND_BY_SOURCE_KEY)


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"Cannot send {type(value).__name__} to the agent.")
