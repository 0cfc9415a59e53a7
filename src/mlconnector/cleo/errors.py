"""Errors the Cleo client raises; every text is built from status codes and Cleo's `message`, never from credentials."""

from __future__ import annotations


class CleoError(Exception):
    """Base class: anything the Cleo boundary could not do."""


class CleoAuthError(CleoError):
    """Login was refused, or a fresh token was still refused (401 after one re-login)."""


class CleoHTTPError(CleoError):
    """Cleo answered a non-retryable status (4xx other than 401/429); `message` is Cleo's own `{"message"}` text."""

    def __init__(self, status: int, message: str, *, method: str = "", path: str = "") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        where = f" {method} {path}" if method else ""
        super().__init__(f"Cleo{where} failed (HTTP {status}): {message}")


class CleoNotFound(CleoHTTPError):
    """404: the message, partner or lookup does not exist."""


class CleoConflict(CleoHTTPError):
    """409 where a duplicate is an error (a partner alias that exists); a duplicate ICN is a `SendResult` instead."""


class CleoProtocolError(CleoError):
    """The answer was not what the contract promises: an HTML page, malformed JSON, or a missing field."""


class CleoUnavailable(CleoError):
    """Retries ran out on 429s, 5xx answers, timeouts or dropped connections; `last` says what the last try saw."""

    def __init__(self, message: str, *, attempts: int, last: str) -> None:
        self.attempts = attempts
        self.last = last
        super().__init__(f"{message} (gave up after {attempts} attempt{'' if attempts == 1 else 's'}; last: {last})")


class CleoTrustError(CleoError):
    """Cleo's TLS certificate did not verify against what we trust: a configuration problem, never retried."""
