"""Opening the store: one engine per database URL, migrations applied by Alembic, short transactions.

A hosted tenant's tables live in its own PostgreSQL schema (`t_<tenant>`): the same migrations, run with that schema
first on the search path. `Store(url, schema=...)` is the one place that scopes a session to a tenant: every
transaction it opens starts with `SET LOCAL search_path` to that schema alone, so a query (ORM or text) cannot reach
another tenant's tables, and the tenants of one process share one connection pool.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the dashboard read while a worker writes; the busy timeout turns brief write contention into a wait.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for SQLite (default, one box) or PostgreSQL (many workers)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


SCHEMA_PATTERN = re.compile(r"^t_[a-z][a-z0-9_]{0,40}$")
_shared: dict[str, tuple[Engine, int]] = {}
_shared_lock = threading.Lock()


def _shared_engine(url: str) -> Engine:
    """One engine (one pool, at most 16 connections) per PostgreSQL URL for all the tenant stores of a process."""
    with _shared_lock:
        engine, users = _shared.get(url) or (create_engine(url, pool_pre_ping=True, pool_size=6, max_overflow=10), 0)
        _shared[url] = (engine, users + 1)
        return engine


def _release_shared(url: str) -> None:
    with _shared_lock:
        engine, users = _shared[url]
        if users <= 1:
            del _shared[url]
            engine.dispose()
        else:
            _shared[url] = (engine, users - 1)


def _scope(schema: str) -> str:
    if not SCHEMA_PATTERN.match(schema):
        raise ValueError(f"not a tenant schema name: {schema!r}")
    return f'SET LOCAL search_path TO "{schema}"'


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic is only needed at start-up, not by every command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revisions() -> set[str]:
    """The newest revision(s), read from the migration files' text (no Alembic import: most commands need none)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text()
        if match := re.search(r"^revision\s*=\s*[\"']([^\"']+)[\"']", text, re.MULTILINE):
            revisions.add(match.group(1))
        down = re.search(r"^down_revision\s*=\s*(.+)$", text, re.MULTILINE)
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)) if down else [])
    return revisions - parents


def at_head(engine: Engine, schema: str | None = None) -> bool:
    """True when the database already stands at the newest revision (then Alembic is not loaded at all)."""
    try:
        with engine.begin() as connection:
            if schema:
                connection.exec_driver_sql(_scope(schema))
            current = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:
        return False  # no database or no version table yet: let Alembic create it
    return bool(current) and current == head_revisions()


def migrate(engine: Engine, schema: str | None = None) -> None:
    """Bring the schema to the newest revision (idempotent; safe from several processes at start-up).

    On PostgreSQL it runs under an advisory lock (per schema), so two workers starting at once, or picking up a new
    tenant at once, do not both create the same tables; with `schema` the tenant's schema is created if need be."""
    if at_head(engine, schema):
        return
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # workers starting together: one migrates, the others wait
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({zlib.crc32((schema or 'public').encode())})")
        if schema:
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            connection.exec_driver_sql(_scope(schema))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """The database handle the flows use: `with store.transaction() as session: ...`.

    `schema` (PostgreSQL only) scopes every session to one hosted tenant's schema; None is the single-tenant store
    (SQLite, or PostgreSQL's default schema) exactly as before tenants existed."""

    def __init__(self, url: str, *, run_migrations: bool = True, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        if schema is not None:
            if url.startswith("sqlite"):
                raise ValueError("tenant schemas need PostgreSQL")
            scope = _scope(schema)  # validates the name before anything touches the database
            self.engine = _shared_engine(url)
        else:
            self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine, schema)
        # A tenant's sessions name it, so what they commit is logged and counted under that tenant.
        info = {"tenant": self.tenant} if self.tenant else {}
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info=info)
        if schema is not None:

            @event.listens_for(self._sessions, "after_begin")
            def _tenant_scope(_session, _transaction, connection) -> None:  # type: ignore[no-untyped-def]
                connection.exec_driver_sql(scope)

    @property
    def tenant(self) -> str | None:
        """The hosted tenant this store is scoped to (its schema is `t_<tenant>`), or None for a single site."""
        return self.schema[2:] if self.schema else None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed on success, rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        if self.schema is None:
            self.engine.dispose()
        elif not getattr(self, "_released", False):
            self._released = True
            _release_shared(self.url)
