"""The hosted deployment's own tables, in PostgreSQL schema `platform`: the tenant registry and the workers' leases.

A tenant's data never lives here, only its name, status and config document (no secret: credentials stay in the
tenant's own vault, in its own schema `t_<tenant>`). The two tables are small and created with `create_all` under an
advisory lock; the tenant schemas are migrated by Alembic like the single-tenant store.

Worker leases are how a surviving worker finds a killed one: every `ml-connector run` writes its heartbeat here; a
worker whose heartbeat is older than the lease is claimed by exactly one survivor (one conditional UPDATE … RETURNING),
which then recovers the dead worker's unfinished workflows. A worker coming back under the same id clears the claim.

The hosted console's users live here too (`console_users`, the same columns as a single site's, so the same code
reads them with the session scoped to this schema) with the tenants each may see (`console_memberships`; tenant `*`
is every tenant: a platform admin).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from mlconnector.store.db import make_engine

SCHEMA = "platform"
TENANT_ID = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
ENABLED, DISABLED = "enabled", "disabled"
RESERVED = {"default", "platform", "public", "dbos"}

metadata = MetaData(schema=SCHEMA)
tenants = Table(
    "tenants",
    metadata,
    Column("id", String(31), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("config", Text, nullable=False),  # JSON: the tenant's part of the settings (see config.TenantConfig)
)
workers = Table(
    "workers",
    metadata,
    Column("executor_id", String(200), primary_key=True),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
)

# The hosted console's users: the columns of the single-site `console_users` (store/models.ConsoleUser), so
# web/users.py works on either through a session whose search_path is this schema (`Platform.users`).
console_users = Table(
    "console_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)
ALL_TENANTS = "*"
console_memberships = Table(
    "console_memberships",
    metadata,
    Column(
        "username",
        String(64),
        ForeignKey(f"{SCHEMA}.console_users.username", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tenant_id", String(31), primary_key=True),  # a tenant's id, or ALL_TENANTS
)


class TenantError(Exception):
    """A tenant command that cannot be done, said so a person can act on it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    status: str
    created_at: datetime
    updated_at: datetime
    config: dict[str, Any]

    @property
    def schema(self) -> str:
        return tenant_schema(self.id)

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED


def tenant_schema(tenant_id: str) -> str:
    return f"t_{tenant_id}"


def check_tenant_id(tenant_id: str) -> str:
    if not TENANT_ID.match(tenant_id) or tenant_id in RESERVED:
        raise TenantError(
            f"{tenant_id!r} cannot be a tenant id.",
            "Use a short lower-case name: a letter, then letters, digits or _ (up to 31), e.g. acme_supply.",
        )
    return tenant_id


class Platform:
    """The registry and the leases on one PostgreSQL database (the same one as the tenants' schemas)."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite"):
            raise TenantError(
                "Tenants need PostgreSQL; this connector uses SQLite (one tenant).",
                'Set database_url = "postgresql+psycopg://…" in ml-connector.toml for a hosted deployment.',
            )
        self.engine = make_engine(url)
        self._beats = create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=0)
        # `exclusive`: one connection per thread that asks (the engine's few collect threads), kept, never pinged
        self._locks = create_engine(url, poolclass=NullPool)
        self._local = threading.local()
        self._held: set[Connection] = set()  # every thread's, closed by `close`
        self._held_lock = threading.Lock()
        with self.engine.begin() as connection:
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7201)")  # two workers starting at once
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
            metadata.create_all(connection, checkfirst=True)

    def close(self) -> None:
        self.engine.dispose()
        self._beats.dispose()
        with self._held_lock:
            held, self._held = self._held, set()
        for connection in held:
            with suppress(Exception):
                connection.close()
        self._locks.dispose()

    @contextmanager
    def users(self) -> Iterator[Session]:
        """A transaction on the console's users: the ORM model `ConsoleUser` reads `platform.console_users` here."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.execute(text(f'SET LOCAL search_path TO "{SCHEMA}"'))
            yield session

    # the registry

    def add(self, tenant_id: str, name: str, config: dict[str, Any]) -> Tenant:
        check_tenant_id(tenant_id)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(tenants).values(id=tenant_id, name=name, status=ENABLED, config=json.dumps(config))
                )
        except IntegrityError:
            raise TenantError(
                f"Tenant {tenant_id} already exists.", "`ml-connector tenants list` shows the tenants."
            ) from None
        return self.get(tenant_id)

    def get(self, tenant_id: str) -> Tenant:
        with self.engine.connect() as connection:
            row = connection.execute(select(tenants).where(tenants.c.id == tenant_id)).one_or_none()
        if row is None:
            raise TenantError(f"No tenant {tenant_id!r}.", "`ml-connector tenants list` shows the tenants.")
        return _tenant(row)

    def registered(self) -> list[Tenant]:
        with self.engine.connect() as connection:
            return [_tenant(row) for row in connection.execute(select(tenants).order_by(tenants.c.id))]

    def set_status(self, tenant_id: str, status: str) -> Tenant:
        with self.engine.begin() as connection:
            found = connection.execute(
                update(tenants)
                .where(tenants.c.id == tenant_id)
                .values(status=status, updated_at=func.now())
                .returning(tenants.c.id)
            ).first()
        if found is None:
            raise TenantError(f"No tenant {tenant_id!r}.", "`ml-connector tenants list` shows the tenants.")
        return self.get(tenant_id)

    def remove(self, tenant_id: str) -> None:
        """Only for an `add` that failed half way (its schema could not be created): nothing else deletes a tenant."""
        with self.engine.begin() as connection:
            connection.execute(tenants.delete().where(tenants.c.id == tenant_id))

    # the workers' leases

    def beat(self, executor_id: str) -> None:
        """This worker is alive (and, if it had been declared dead, is no longer: its claim is cleared).

        On a connection of its own (`_beats`, one at most), so a heartbeat never queues behind the registry reads."""
        with self._beats.begin() as connection:
            connection.execute(
                text(
                    f"INSERT INTO {SCHEMA}.workers (executor_id, last_seen) VALUES (:id, now()) "
                    "ON CONFLICT (executor_id) DO UPDATE SET last_seen = now(), claimed_by = NULL, claimed_at = NULL"
                ),
                {"id": executor_id},
            )

    def _claimable(self, me: str, lease_seconds: float) -> Any:
        lease = func.make_interval(0, 0, 0, 0, 0, 0, float(lease_seconds))
        return (
            (workers.c.executor_id != me)
            # unclaimed, or claimed by a survivor that itself went silent before it finished the recovery
            & ((workers.c.claimed_by.is_(None)) | (workers.c.claimed_at < func.now() - lease))
            & (workers.c.last_seen < func.now() - lease)
        )

    def ages(self) -> dict[str, float]:
        """Every worker's seconds since its last heartbeat (by the database's clock)."""
        age = func.extract("epoch", func.now() - workers.c.last_seen)
        with self.engine.connect() as connection:
            return {row[0]: float(row[1]) for row in connection.execute(select(workers.c.executor_id, age))}

    def silent(self, me: str, lease_seconds: float) -> list[str]:
        """The workers whose heartbeat is older than the lease and that nobody has claimed yet (nothing is changed)."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(workers.c.executor_id).where(self._claimable(me, lease_seconds)))
            return [row[0] for row in rows]

    def claim(self, executor_id: str, me: str, lease_seconds: float) -> bool:
        """Claim one silent worker: one conditional UPDATE, so of several survivors exactly one gets it, and a worker
        whose heartbeat came back meanwhile is not claimed."""
        with self.engine.begin() as connection:
            row = connection.execute(
                update(workers)
                .where(workers.c.executor_id == executor_id, self._claimable(me, lease_seconds))
                .values(claimed_by=me, claimed_at=func.now())
                .returning(workers.c.executor_id)
            ).first()
            return row is not None

    def forget(self, executor_id: str, claimed_by: str) -> None:
        """The dead worker's work is recovered: drop its row (it writes a new one if it ever comes back)."""
        with self.engine.begin() as connection:
            connection.execute(
                workers.delete().where(workers.c.executor_id == executor_id, workers.c.claimed_by == claimed_by)
            )

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Whether this worker may run `name` now: a session-level advisory lock, held on this thread's own
        connection for the block. No other worker gets it meanwhile, and a killed worker's lock goes with its
        connection at once (no lease to wait out). It spares double work, it is not what keeps a document once:
        a worker cut off from the database holds nothing and another may run beside it, which the jobs allow."""
        connection = self._thread_connection()
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        try:
            held = bool(connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({key})").scalar())
        except Exception:
            self._drop_thread_connection()
            raise
        try:
            yield held
        finally:
            if held:
                try:
                    connection.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
                except Exception:  # the connection broke: the lock went with it
                    self._drop_thread_connection()

    def _thread_connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._locks.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.connection = connection
            with self._held_lock:
                self._held.add(connection)
        return connection

    def _drop_thread_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._held_lock:
                self._held.discard(connection)
            with suppress(Exception):
                connection.invalidate()
                connection.close()

    def worker_rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(workers).order_by(workers.c.executor_id))]


def _tenant(row: Any) -> Tenant:
    return Tenant(row.id, row.name, row.status, row.created_at, row.updated_at, json.loads(row.config))
