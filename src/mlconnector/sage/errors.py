"""BOI error classification: one table maps `sLastErrorMsg` to retry / fail / quarantine, and the retry policy."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential_jitter

from mlconnector.sage.unconfirmed import UNCONFIRMED

T = TypeVar("T")


class Action(StrEnum):
    RETRY = "retry"
    FAIL = "fail"
    QUARANTINE = "quarantine"


class SageError(Exception):
    """A Sage refusal with Sage's own message and, when known, the field that caused it."""

    action = Action.QUARANTINE
    kind = "quarantine"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message if not field else f"{message} (field {field})")
        self.message = message
        self.field = field


class SageLockedError(SageError):
    """Record in use by another user or task: retried with backoff, never a data error."""

    action, kind = Action.RETRY, "locked"


class SageValidationError(SageError):
    """Sage rejected the data; never retried, goes to the exception queue with Sage's message."""

    action, kind = Action.FAIL, "validation"


class SageNotFoundError(SageValidationError):
    kind = "not_found"


class SageAuthError(SageError):
    """Bad logon, unknown company or missing role rights."""

    action, kind = Action.FAIL, "auth"


class SageQuarantineError(SageError):
    """A message no rule recognises: stop and let a person look, rather than guess."""


@dataclass(frozen=True)
class ErrorRule:
    pattern: str
    error: type[SageError]

    def matches(self, message: str) -> bool:
        return re.search(self.pattern, message, re.IGNORECASE) is not None


ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(
        rf"{re.escape(UNCONFIRMED.lock_message_fragment)}|record is locked|locked by|busy|try again later",
        SageLockedError,
    ),
    ErrorRule(
        r"invalid user logon|password|does not have access|do not have .* rights|company code .* not on file",
        SageAuthError,
    ),
    ErrorRule(
        r"required|invalid|is not on |not found|cannot|must be|exceeds|inactive|is complete|no lines|"
        r"not complete|already exists|is not [GI]\b|read only|mismatch",
        SageValidationError,
    ),
)
"""First match wins. Retry: locks. Fail: validation and auth (Sage's message + field). Anything else: quarantine."""


def classify(message: str, field: str | None = None) -> SageError:
    for rule in ERROR_TABLE:
        if rule.matches(message):
            return rule.error(message, field)
    return SageQuarantineError(message or "Sage returned 0 without a message.", field)


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter for lock errors only, bounded by attempts and total time.

    Defaults: 6 attempts, first wait 0.25 s doubling to at most 4 s, up to 0.5 s jitter, 20 s overall; the
    agent answers 503 with `Retry-After: retry_after` once the budget is spent.
    """

    attempts: int = 6
    wait_initial: float = 0.25
    wait_max: float = 4.0
    jitter: float = 0.5
    max_seconds: float = 20.0
    retry_after: int = 30
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def run(self, fn: Callable[[], T]) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_seconds),
            wait=wait_exponential_jitter(multiplier=self.wait_initial, max=self.wait_max, jitter=self.jitter),
            retry=retry_if_exception_type(SageLockedError),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn)
