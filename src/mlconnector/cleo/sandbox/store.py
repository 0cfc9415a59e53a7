"""The sandbox's state in SQLite: tokens, partners, messages, lookups, scheduled partner answers, faults, counters.

One connection behind one lock: the sandbox serves tests and demos, where simple and obviously correct beats fast.
The CLI opens the same file to list messages or drop one in while the server runs (WAL keeps both readers happy).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlconnector.cleo.client import interchange_control_number

log = logging.getLogger("mlconnector.cleo.sandbox")

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, tenant TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS partners (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, alias TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (tenant, alias));
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
    direction TEXT NOT NULL, partner TEXT NOT NULL, document_type TEXT NOT NULL, status TEXT NOT NULL,
    fa_status TEXT, icn TEXT, payload TEXT NOT NULL, created_at REAL NOT NULL, in_reply_to TEXT,
    idempotency_key TEXT, UNIQUE (tenant, idempotency_key));
CREATE UNIQUE INDEX IF NOT EXISTS outbound_partner_icn ON messages (tenant, partner, icn) WHERE direction = 'outbound';
CREATE INDEX IF NOT EXISTS messages_inbox ON messages (tenant, direction, status);
CREATE INDEX IF NOT EXISTS messages_fa_pending ON messages (created_at) WHERE fa_status = 'pending';
CREATE TABLE IF NOT EXISTS lookups (
    tenant TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, due_at REAL NOT NULL, kind TEXT NOT NULL,
    message_id TEXT, partner TEXT, document_type TEXT, payload TEXT, fa_status TEXT);
CREATE INDEX IF NOT EXISTS events_due ON events (due_at);
CREATE TABLE IF NOT EXISTS counters (
    tenant TEXT NOT NULL, partner TEXT NOT NULL, kind TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (tenant, partner, kind));
CREATE TABLE IF NOT EXISTS stats (
    tenant TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS faults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, remaining INTEGER NOT NULL, spec TEXT NOT NULL);
"""

MESSAGE_COLUMNS = {
    "id": "id",
    "direction": "direction",
    "partner": "partner",
    "documentType": "document_type",
    "status": "status",
    "faStatus": "fa_status",
    "icn": "icn",
    "inReplyTo": "in_reply_to",
}


class Duplicate(Exception):
    """A unique key is taken (ICN, alias); `existing` is the row that holds it."""

    def __init__(self, existing: dict[str, Any]) -> None:
        super().__init__("duplicate")
        self.existing = existing


class SandboxStore:
    """All sandbox state; every public method is one transaction under the store's lock."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        fa_overdue_after: float = 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self.fa_overdue_after = fa_overdue_after
        self.clock = clock
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db.in_transaction:  # called inside another of ours (same thread, lock held): one commit for all
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------------------------------------ tokens

    def issue_token(self, tenant: str, ttl: float) -> str:
        token = secrets.token_urlsafe(32)
        with self._tx() as db:
            db.execute("INSERT INTO tokens VALUES (?, ?, ?)", (token, tenant, self.clock() + ttl))
            self._bump(db, tenant, "logins")
        return token

    def token_tenant(self, token: str) -> tuple[str, bool] | None:
        """(tenant, still valid) for a token we issued, None for one we never saw."""
        with self._lock:
            row = self._db.execute("SELECT tenant, expires_at FROM tokens WHERE token = ?", (token,)).fetchone()
        return None if row is None else (row["tenant"], row["expires_at"] > self.clock())

    def expire_tokens(self, tenant: str) -> int:
        with self._tx() as db:
            return db.execute(
                "UPDATE tokens SET expires_at = ? WHERE tenant = ? AND expires_at > ?",
                (self.clock() - 1, tenant, self.clock()),
            ).rowcount

    # ------------------------------------------------------------------------------------------------- stats

    def _bump(self, db: sqlite3.Connection, tenant: str, name: str, n: int = 1) -> None:
        db.execute(
            "INSERT INTO stats VALUES (?, ?, ?)"
            " ON CONFLICT (tenant, name) DO UPDATE SET value = value + excluded.value",
            (tenant, name, n),
        )

    def bump(self, tenant: str, name: str, n: int = 1) -> None:
        with self._tx() as db:
            self._bump(db, tenant, name, n)

    def stats(self, tenant: str) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT name, value FROM stats WHERE tenant = ?", (tenant,)).fetchall()
        return {row["name"]: row["value"] for row in rows}

    # ---------------------------------------------------------------------------------------------- partners

    @staticmethod
    def _partner_row(row: sqlite3.Row) -> dict[str, Any]:
        return {**json.loads(row["body"]), "id": row["id"], "alias": row["alias"]}

    def list_partners(self, tenant: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM partners WHERE tenant = ? ORDER BY alias", (tenant,)).fetchall()
        return [self._partner_row(row) for row in rows]

    def find_partner(self, tenant: str, key: str) -> dict[str, Any] | None:
        """A partner by id or alias (the contract lets a message name either)."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM partners WHERE tenant = ? AND (id = ? OR alias = ?)", (tenant, key, key)
            ).fetchone()
        return None if row is None else self._partner_row(row)

    def create_partner(self, tenant: str, body: dict[str, Any], *, partner_id: str | None = None) -> dict[str, Any]:
        alias = body["alias"]
        with self._tx() as db:
            row = db.execute("SELECT * FROM partners WHERE tenant = ? AND alias = ?", (tenant, alias)).fetchone()
            if row is not None:
                raise Duplicate(self._partner_row(row))
            pid = partner_id or f"p-{uuid.uuid4().hex[:12]}"
            rest = {k: v for k, v in body.items() if k not in ("id", "alias")}
            db.execute("INSERT INTO partners VALUES (?, ?, ?, ?)", (pid, tenant, alias, json.dumps(rest)))
        return {**rest, "id": pid, "alias": alias}

    def update_partner(self, tenant: str, partner_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        alias = body["alias"]
        with self._tx() as db:
            if (
                db.execute("SELECT 1 FROM partners WHERE id = ? AND tenant = ?", (partner_id, tenant)).fetchone()
                is None
            ):
                return None
            clash = db.execute(
                "SELECT * FROM partners WHERE tenant = ? AND alias = ? AND id != ?", (tenant, alias, partner_id)
            ).fetchone()
            if clash is not None:
                raise Duplicate(self._partner_row(clash))
            rest = {k: v for k, v in body.items() if k not in ("id", "alias")}
            db.execute("UPDATE partners SET alias = ?, body = ? WHERE id = ?", (alias, json.dumps(rest), partner_id))
        return {**rest, "id": partner_id, "alias": alias}

    # ---------------------------------------------------------------------------------------------- messages

    def create_outbound(
        self,
        tenant: str,
        partner: str,
        document_type: str,
        payload: str,
        icn: str,
        idempotency_key: str | None,
        on_created: Callable[[dict[str, Any]], None] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """(message, replayed): a replayed Idempotency-Key returns the first message; a known ICN raises Duplicate.

        `on_created` (the partner simulation scheduling its answers) runs in the same transaction as the insert, so
        a sandbox killed in between keeps neither: a message Cleo holds always has its partner's answers coming (a
        crash between two commits had left an accepted 850 whose partner never answered). A partner bug (Exception)
        rolls back only the answers, counted in `simulation_errors`; the message stays."""
        with self._tx() as db:
            if idempotency_key:
                row = db.execute(
                    "SELECT * FROM messages WHERE tenant = ? AND idempotency_key = ?", (tenant, idempotency_key)
                ).fetchone()
                if row is not None:
                    return dict(row), True
            # ISA13 is unique per sender/receiver pair, so a known ICN is one already received *for this partner*.
            row = db.execute(
                "SELECT * FROM messages WHERE tenant = ? AND partner = ? AND icn = ? AND direction = 'outbound'",
                (tenant, partner, icn),
            ).fetchone()
            if row is not None:
                raise Duplicate(dict(row))
            mid = f"m-{uuid.uuid4().hex[:16]}"
            db.execute(
                "INSERT INTO messages (id, tenant, direction, partner, document_type, status, fa_status, icn, payload,"
                " created_at, idempotency_key) VALUES (?, ?, 'outbound', ?, ?, 'queued', 'pending', ?, ?, ?, ?)",
                (mid, tenant, partner, document_type, icn, payload, self.clock(), idempotency_key),
            )
            self._bump(db, tenant, "outbound")
            row = db.execute("SELECT * FROM messages WHERE id = ?", (mid,)).fetchone()
            if on_created is not None:
                db.execute("SAVEPOINT partner_answers")
                try:
                    on_created(dict(row))
                except Exception as exc:
                    db.execute("ROLLBACK TO partner_answers")
                    log.warning("partner simulation failed for %s: %s", partner, exc)
                    self._bump(db, tenant, "simulation_errors")
                db.execute("RELEASE partner_answers")
        return dict(row), False

    def add_inbound(
        self,
        tenant: str,
        partner: str,
        document_type: str,
        payload: str,
        icn: str | None,
        in_reply_to: str | None = None,
    ) -> dict[str, Any]:
        with self._tx() as db:
            return self._add_inbound(db, tenant, partner, document_type, payload, icn, in_reply_to)

    def _add_inbound(
        self,
        db: sqlite3.Connection,
        tenant: str,
        partner: str,
        document_type: str,
        payload: str,
        icn: str | None,
        in_reply_to: str | None,
    ) -> dict[str, Any]:
        mid = f"m-{uuid.uuid4().hex[:16]}"
        db.execute(
            "INSERT INTO messages (id, tenant, direction, partner, document_type, status, icn, payload, created_at,"
            " in_reply_to) VALUES (?, ?, 'inbound', ?, ?, 'new', ?, ?, ?, ?)",
            (mid, tenant, partner, document_type, icn, payload, self.clock(), in_reply_to),
        )
        self._bump(db, tenant, "inbound")
        return dict(db.execute("SELECT * FROM messages WHERE id = ?", (mid,)).fetchone())

    def query_messages(
        self, tenant: str, where: Sequence[tuple[str, str, str]], start: int, count: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of messages; `where` holds (column, SQL operator, parameter) built from a validated filter."""
        clauses, params = ["tenant = ?"], [tenant]
        for column, op, value in where:
            clauses.append(f"{column} {op} ?")
            params.append(value)
        sql_where = " WHERE " + " AND ".join(clauses)
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM messages{sql_where}", params).fetchone()[0]
            rows = self._db.execute(
                f"SELECT * FROM messages{sql_where} ORDER BY seq LIMIT ? OFFSET ?", [*params, count, start]
            ).fetchall()
        return [dict(row) for row in rows], total

    def get_message(self, tenant: str, message_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM messages WHERE id = ? AND tenant = ?", (message_id, tenant)
            ).fetchone()
        return None if row is None else dict(row)

    def acknowledge(self, tenant: str, message_id: str) -> dict[str, Any] | None:
        with self._tx() as db:
            db.execute(
                "UPDATE messages SET status = 'received' WHERE id = ? AND tenant = ? AND direction = 'inbound'",
                (message_id, tenant),
            )
            row = db.execute("SELECT * FROM messages WHERE id = ? AND tenant = ?", (message_id, tenant)).fetchone()
        return None if row is None else dict(row)

    # ------------------------------------------------------------------------------------ scheduled partner answers

    def schedule(
        self,
        tenant: str,
        delay: float,
        kind: str,
        *,
        message_id: str | None = None,
        partner: str | None = None,
        document_type: str | None = None,
        payload: str | None = None,
        fa_status: str | None = None,
    ) -> None:
        """Queue something a partner does later: `deliver` (outbound → delivered) or `inbound` (a document arrives)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO events (tenant, due_at, kind, message_id, partner, document_type, payload, fa_status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant, self.clock() + delay, kind, message_id, partner, document_type, payload, fa_status),
            )

    def run_due(self) -> int:
        """Apply every event whose time has come, in order, then mark overdue 997s; called before each request."""
        with self._tx() as db:
            events = db.execute(
                "SELECT * FROM events WHERE due_at <= ? ORDER BY due_at, seq", (self.clock(),)
            ).fetchall()
            for event in events:
                if event["kind"] == "deliver":
                    db.execute(
                        "UPDATE messages SET status = 'delivered' WHERE id = ? AND status IN ('queued', 'sent')",
                        (event["message_id"],),
                    )
                else:
                    self._add_inbound(
                        db,
                        event["tenant"],
                        event["partner"],
                        event["document_type"],
                        event["payload"],
                        _isa13(event["payload"]),
                        event["message_id"],
                    )
                    if event["fa_status"]:
                        db.execute(
                            "UPDATE messages SET fa_status = ? WHERE id = ?", (event["fa_status"], event["message_id"])
                        )
                db.execute("DELETE FROM events WHERE seq = ?", (event["seq"],))
            # A 997 that has not come within the window makes the 850 overdue (a late one still sets its status).
            db.execute(
                "UPDATE messages SET fa_status = 'overdue'"
                " WHERE direction = 'outbound' AND fa_status = 'pending' AND created_at < ?",
                (self.clock() - self.fa_overdue_after,),
            )
        return len(events)

    def pending_events(self, tenant: str) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM events WHERE tenant = ?", (tenant,)).fetchone()[0]

    def next_counter(self, tenant: str, partner: str, kind: str) -> int:
        """Per-partner control numbers for the documents a simulated partner writes."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO counters VALUES (?, ?, ?, 1)"
                " ON CONFLICT (tenant, partner, kind) DO UPDATE SET value = value + 1",
                (tenant, partner, kind),
            )
            return db.execute(
                "SELECT value FROM counters WHERE tenant = ? AND partner = ? AND kind = ?", (tenant, partner, kind)
            ).fetchone()[0]

    # ----------------------------------------------------------------------------------------------- lookups

    def put_lookup(self, tenant: str, name: str, body: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO lookups VALUES (?, ?, ?) ON CONFLICT (tenant, name) DO UPDATE SET body = excluded.body",
                (tenant, name, json.dumps(body)),
            )

    def get_lookup(self, tenant: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM lookups WHERE tenant = ? AND name = ?", (tenant, name)).fetchone()
        return None if row is None else json.loads(row["body"])

    # ------------------------------------------------------------------------------------------------ faults

    def add_fault(self, tenant: str, spec: dict[str, Any], count: int) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO faults (tenant, remaining, spec) VALUES (?, ?, ?)", (tenant, count, json.dumps(spec))
            )

    def take_fault(self, tenant: str, method: str, path: str) -> dict[str, Any] | None:
        """The oldest armed fault matching this request, with one use consumed."""
        with self._tx() as db:
            for row in db.execute("SELECT * FROM faults WHERE tenant = ? ORDER BY seq", (tenant,)).fetchall():
                spec = json.loads(row["spec"])
                if spec.get("method") and spec["method"].upper() != method.upper():
                    continue
                if spec.get("path") and not path.startswith(spec["path"]):
                    continue
                if row["remaining"] <= 1:
                    db.execute("DELETE FROM faults WHERE seq = ?", (row["seq"],))
                else:
                    db.execute("UPDATE faults SET remaining = remaining - 1 WHERE seq = ?", (row["seq"],))
                self._bump(db, tenant, f"fault.{spec['kind']}")
                return spec
        return None

    def list_faults(self, tenant: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM faults WHERE tenant = ? ORDER BY seq", (tenant,)).fetchall()
        return [{**json.loads(row["spec"]), "remaining": row["remaining"]} for row in rows]

    def clear_faults(self, tenant: str) -> int:
        with self._tx() as db:
            return db.execute("DELETE FROM faults WHERE tenant = ?", (tenant,)).rowcount


def _isa13(payload: str | None) -> str | None:
    try:
        return interchange_control_number(payload or "")
    except ValueError:
        return None
