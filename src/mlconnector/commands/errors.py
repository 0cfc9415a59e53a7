"""The one table that turns an exception into the line a person reads: what went wrong, where, how to fix it.

Every command runs under `report` (the root command group calls it), so no traceback reaches a user; `--debug`
(or MLC_DEBUG=1) prints the traceback as well. Light on purpose: it imports nothing but the standard library, and
matches an exception class only when its module is already loaded (an exception of a module never imported cannot
have been raised).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from mlconnector.networds import transport_words


@dataclass(frozen=True)
class Problem:
    """One line (what, where) and a hint (how to fix it); the exit code the process ends with."""

    message: str
    hint: str | None = None
    exit_code: int = 1


class CommandError(Exception):
    """A failure a command detected itself: one line plus a hint, exit code 1."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def fail(message: str, hint: str | None = None) -> NoReturn:
    raise CommandError(message, hint)


def _agent(exc: BaseException) -> Problem:
    text = str(exc)
    if "hub" in text:
        hint = (
            "Is the agent connected (`ml-connector agent connect` on the Sage server), and are [agent] hub_url and "
            "the hub token (`ml-connector credentials set hub`) right?"
        )
    elif "signature" in text:
        hint = (
            "The agent key in the vault must be the hex text of the agent's agent-hmac.key: "
            "`ml-connector credentials set agent`."
        )
    elif "fingerprint" in text:
        hint = "Set [agent] fingerprint in ml-connector.toml to `ml-connector agent fingerprint` on the Sage server."
    else:
        hint = "Is the agent running (`ml-connector agent serve`), and is [agent] url in ml-connector.toml right?"
    return Problem(f"Sage agent: {text}", hint)


def _cleo(exc: BaseException) -> Problem:
    names = {k.__name__ for k in type(exc).__mro__}
    if "CleoAuthError" in names:
        hint = "Check the Cleo user name and password: `ml-connector credentials set cleo`."
    elif "CleoUnavailable" in names:
        hint = "Is [cleo] base_url in ml-connector.toml right, and is Cleo up?"
    else:
        hint = None
    text = str(exc)
    return Problem(text if text.startswith("Cleo") else f"Cleo: {text}", hint)


def _database(exc: BaseException) -> Problem:
    orig = getattr(exc, "orig", None)
    detail = str(orig or exc).splitlines()[0] if str(orig or exc) else "no details"
    return Problem(
        f"The connector database is not usable: {detail}",
        "Check database_url (or data_dir) in ml-connector.toml; `ml-connector init` creates the database.",
    )


def _os(exc: BaseException) -> Problem:
    assert isinstance(exc, OSError)
    where = f": {exc.filename}" if exc.filename else ""
    return Problem(f"{exc.strerror or exc}{where}")


def _pydantic(exc: BaseException) -> Problem:
    errors = exc.errors()  # type: ignore[attr-defined]
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return Problem(f"{where}: {first.get('msg', exc)} (got {first.get('input')!r})" if where else str(exc))


RULES: tuple[tuple[str, str, Callable[[BaseException], Problem]], ...] = (
    # (module, class, render), first match wins; subclasses before their bases
    ("mlconnector.commands.errors", "CommandError", lambda e: Problem(str(e), getattr(e, "hint", None))),
    ("mlconnector.config", "ConfigError", lambda e: Problem(str(e), getattr(e, "hint", None))),
    ("mlconnector.store.platform", "TenantError", lambda e: Problem(str(e), getattr(e, "hint", None))),
    ("mlconnector.sage.agent.client", "AgentError", _agent),
    ("mlconnector.sage.errors", "SageError", lambda e: Problem(f"Sage: {e}")),
    ("mlconnector.cleo.errors", "CleoError", _cleo),
    ("mlconnector.vault", "VaultError", lambda e: Problem(str(e))),
    ("sqlalchemy.exc", "SQLAlchemyError", _database),
    ("httpx", "TransportError", lambda e: Problem(f"Network: {transport_words(e)}.")),
    ("pydantic", "ValidationError", _pydantic),
    ("builtins", "OSError", _os),
    ("builtins", "KeyboardInterrupt", lambda e: Problem("Interrupted.", exit_code=130)),
)


def explain(exc: BaseException) -> Problem:
    """The line for `exc` from RULES; anything else is a bug of ours, said so without a class name."""
    for module, name, render in RULES:
        loaded = sys.modules.get(module)
        klass = getattr(loaded, name, None) if loaded is not None else None
        if isinstance(klass, type) and isinstance(exc, klass):
            return render(exc)
    return Problem(
        f"Unexpected failure: {exc or 'no details'}",
        "Run the same command with --debug for the details, and report them.",
    )


def debug_enabled() -> bool:
    return os.environ.get("MLC_DEBUG", "").lower() in ("1", "true", "yes", "on")


def report(exc: BaseException) -> int:
    """Print the one line (and the traceback under --debug) on stderr; return the exit code."""
    problem = explain(exc)
    if debug_enabled():
        traceback.print_exception(exc, file=sys.stderr)
    print(f"error: {problem.message}", file=sys.stderr)
    if problem.hint:
        print(f"hint: {problem.hint}", file=sys.stderr)
    return problem.exit_code
