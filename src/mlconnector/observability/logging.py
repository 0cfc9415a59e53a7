"""Structured logs (structlog): to the console and to a rotating `ml-connector.log` in the data directory.

Every library that logs through the standard `logging` module (the engine, the Cleo session) goes through the same
processors, so there is one format, one level and one redaction step. Redaction is by field name (password, token,
secret, key, authorization …) and by value: every secret the vault hands to `run` is registered and replaced by
`********` wherever it would appear, including inside a message or an exception text.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import threading
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

import structlog

from mlconnector.observability import changes

LOG_FILE = "ml-connector.log"
FORMAT_ENV = "MLC_LOG_FORMAT"
LEVEL_ENV = "MLC_LOG_LEVEL"
MASK = "********"
SECRET_FIELDS = re.compile(r"pass(word)?|secret|token|authori[sz]ation|api[_-]?key|hmac|^key$|totp|credential", re.I)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None


def register_secrets(values: Iterable[str]) -> None:
    """Never let these strings reach a log line (vault values; short ones are ignored to keep the log readable)."""
    global _pattern
    with _secrets_lock:
        _secrets.update(v for v in values if v and len(v) >= 4)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None


def register_vault(vault: Any) -> None:
    """Register every secret of every stored credential entry (their values, never their names)."""
    values = []
    for name in vault.names():
        try:
            values.extend(secret.reveal() for secret in vault.get(name).values())
        except Exception:  # an entry that does not decrypt has no value that could leak
            continue
    register_secrets(values)


def _scrub(value: Any) -> Any:
    pattern = _pattern
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(MASK, value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-looking fields, and any registered secret value anywhere in the line."""
    for name in list(event):
        if name != "event" and SECRET_FIELDS.search(name) and event[name] is not None:
            event[name] = MASK
        else:
            event[name] = _scrub(event[name])
    return event


def _drop_empty(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for name in [k for k, v in event.items() if v is None]:
        del event[name]
    return event


def _scrub_rendered(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Exception text is rendered late (format_exc_info); scrub what it produced too.
    for name in ("exception", "exc_text"):
        if name in event:
            event[name] = _scrub(event[name])
    return event


def _renderer(json: bool, colors: bool) -> Any:
    if json:
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)


def _formatter(json: bool, colors: bool) -> structlog.stdlib.ProcessorFormatter:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_empty,
            redact,
            structlog.processors.format_exc_info,
            _scrub_rendered,
            _renderer(json, colors),
        ],
    )


def wants_json(configured: str, flag: bool = False) -> bool:
    """`--log-json` wins, then MLC_LOG_FORMAT, then [log] format."""
    if flag:
        return True
    chosen = os.environ.get(FORMAT_ENV) or configured
    return chosen.strip().lower() == "json"


def configure(
    *,
    level: str = "INFO",
    json: bool = False,
    data_dir: Path | None = None,
    file: bool = True,
    max_bytes: int = 10_000_000,
    backups: int = 5,
    console: bool = True,
) -> Path | None:
    """Route structlog and stdlib logging to the console and the rotating file; returns the file's path."""
    level_name = (os.environ.get(LEVEL_ENV) or level).upper()
    numeric = logging.getLevelName(level_name)
    if not isinstance(numeric, int):
        raise ValueError(f"log level {level_name!r} is not one of DEBUG, INFO, WARNING, ERROR")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mlconnector", False):
            root.removeHandler(handler)
            handler.close()
    path = None
    handlers: list[logging.Handler] = []
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(_formatter(json, colors=False))
        handlers.append(stream)
    if file and data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / LOG_FILE
        rotating = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        rotating.setFormatter(_formatter(json, colors=False))
        handlers.append(rotating)
    for handler in handlers:
        handler._mlconnector = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(numeric)
    # Chatty libraries stay at WARNING unless we debug.
    for noisy in ("httpx", "httpcore", "dbos", "apscheduler", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    changes.subscribe(log_change)
    return path


_changes_log = structlog.get_logger("mlconnector.documents")


def log_change(change: changes.Change) -> None:
    """One line per document state change, with its key (and its tenant, on a hosted worker)."""
    tenant = {"tenant": change.tenant} if change.tenant else {}
    if change.kind == "exception":
        _changes_log.warning(
            "exception opened",
            **tenant,
            exception_kind=change.document_type,
            document=change.source_id,
            idempotency_key=change.key,
            what=change.message,
        )
        return
    _changes_log.info(
        "document",
        **tenant,
        direction=change.direction,
        type=change.document_type,
        document=change.source_id,
        status=change.status,
        idempotency_key=change.key,
        target=change.target_id,
        note=change.message,
    )


def shutdown() -> None:
    """Detach our handlers and the state-change line (tests, and a process that reconfigures)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mlconnector", False):
            root.removeHandler(handler)
            handler.close()
    changes.unsubscribe(log_change)
