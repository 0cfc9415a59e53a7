"""Generic simulated BOI record objects: keys, values, browsing, result sets, writes, locks and lines.

Business rules live in `rules.py`; this module is the mechanics every `_bus`/`_svc` object shares.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mlconnector.sage.boi import RET_FAIL, RET_NEW, RET_OK, RET_WARNING, SEP
from mlconnector.sage.sim.filters import FilterError, compile_expression, compile_filter
from mlconnector.sage.sim.schema import AUDIT, TABLES, Table
from mlconnector.sage.sim.seed import stamp

if TYPE_CHECKING:
    import sqlite3

    from mlconnector.sage.sim.script import SySession


READ_ONLY = frozenset(AUDIT.split())


class Counted:
    """Base for every simulated COM object: counts calls, adds the latency knob, keeps `sLastErrorMsg`."""

    object_name = "?"

    def __init__(self, session: SySession | None) -> None:
        self._session = session
        self._msg = ""

    def _hit(self, method: str) -> None:
        sim = self._sim()
        sim.counter.hit(self.object_name, method)
        if sim.knobs.latency_ms:
            time.sleep(sim.knobs.latency_ms / 1000)

    def _sim(self) -> Any:
        assert self._session is not None
        return self._session.sim

    def _fail(self, msg: str, ret: int = RET_FAIL) -> int:
        self._msg = msg
        return ret

    @property
    def sLastErrorMsg(self) -> str:
        self._hit("sLastErrorMsg")
        return self._msg

    def DropObject(self) -> None:
        self._hit("DropObject")


def set_out(holder: Any, value: Any) -> None:
    if not hasattr(holder, "value"):
        raise TypeError("ByRef argument needs a holder with .value (a VARIANT over COM)")
    holder.value = value


def fetch_one(conn: Any, sql: str, *params: Any) -> Any:
    """First row of a query (or None): the business rules' lookup of vendors, items, accounts, PO lines."""
    return conn.execute(sql, params).fetchone()


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value == int(value) else f"{value:.6f}".rstrip("0")
    return str(value)


class SimRuleError(Exception):
    """A business rule refused a value or a write; becomes `sLastErrorMsg` and return 0."""


def coerce(column: str, value: Any) -> Any:
    """BOI typing: `$` columns take strings, the others numbers or numeric strings."""
    if column.endswith("$"):
        return str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SimRuleError(f"{column} must be numeric; got {value!r}.") from None


class RecordObject(Counted):
    """One BOI object over one table: `nSetKey`/`nFind`/`nGetValue`/`nSetValue`/`nWrite`, browsing, result sets."""

    table_name = ""
    task = ""
    read_only = False

    def __init__(self, session: SySession) -> None:
        super().__init__(session)
        self.table: Table = TABLES[self.table_name]
        self._keyvals: dict[str, str] = {}
        self._rec: dict[str, Any] | None = None
        self._is_new = False
        self._browse: list[dict[str, Any]] = []
        self._pos = 0
        self._browse_prefix = ""

    # -- plumbing ---------------------------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        assert self._session is not None
        return self._session.conn

    def _row_to_rec(self, row: sqlite3.Row) -> dict[str, Any]:
        return {c: row[self.table.sql(c)] for c in self.table.columns}

    def _key_string(self, rec: dict[str, Any]) -> str:
        return "".join(str(rec[k]) for k in self.table.key)

    def _key_where(self, values: dict[str, Any]) -> tuple[str, list[Any]]:
        """`"K1"=? AND "K2"=?` over the table's key, with the key values taken from `values`."""
        where = " AND ".join(f'"{self.table.sql(k)}"=?' for k in self.table.key)
        return where, [values[k] for k in self.table.key]

    def _load(self, keyvals: dict[str, str]) -> dict[str, Any] | None:
        where, params = self._key_where(keyvals)
        row = self.conn.execute(f'SELECT * FROM "{self.table.name}" WHERE {where}', params).fetchone()
        return self._row_to_rec(row) if row else None

    def _rights(self, letter: str, what: str) -> bool:
        assert self._session is not None
        if self.read_only or self._session.has_right(self.task, letter):
            return True
        self._msg = f"You do not have {what} rights to {self.task} for user {self._session.user}."
        return False

    def _lock(self) -> bool:
        assert self._session is not None and self._rec is not None
        if self.read_only:
            return True
        return self._session.lock(self.table.name, self._key_string(self._rec), self)

    def _unlock(self) -> None:
        if self._session is not None and self._rec is not None and not self.read_only:
            self._session.unlock(self.table.name, self._key_string(self._rec))

    def _new_record(self) -> dict[str, Any]:
        rec = {c: self.table.default(c) for c in self.table.columns}
        rec.update(self._keyvals)
        return rec

    # -- keys -------------------------------------------------------------------------------------------------
    def nSetKeyValue(self, column: str, value: str) -> int:
        self._hit("nSetKeyValue")
        if column not in self.table.key:
            return self._fail(f"{column} is not a key column of {self.table.name}.")
        self._keyvals[column] = str(value)
        return RET_OK

    def nSetKey(self, key: str | None = None) -> int:
        """2 = new record started, 1 = existing record loaded (and locked), 0 = failed."""
        self._hit("nSetKey")
        if key is not None and key != "":
            self._keyvals[self.table.key[-1]] = str(key)
        if any(k not in self._keyvals or self._keyvals[k] == "" for k in self.table.key):
            return self._fail(f"Key {'+'.join(self.table.key)} is not complete.")
        self._release_current()
        found = self._load(self._keyvals)
        if found is None:
            if self.read_only:
                return self._fail(f"Record not found in {self.table.name}.")
            if not self._rights("C", "Create"):
                return RET_FAIL
            self._rec, self._is_new = self._new_record(), True
            try:
                self._on_new()
            except SimRuleError as exc:  # e.g. an unknown vendor in a new AP invoice's key
                self._rec = None
                return self._fail(str(exc))
            return RET_NEW
        if not self._rights("V", "View"):
            return RET_FAIL
        self._rec, self._is_new = found, False
        if not self._lock():
            self._rec = None
            return RET_FAIL
        self._on_load()
        return RET_OK

    def nFind(self, key: str | None = None) -> int:
        """1 = found and loaded (read only, no lock), 0 = not found; never creates a record."""
        self._hit("nFind")
        if key is not None and key != "":
            self._keyvals[self.table.key[-1]] = str(key)
        found = self._load(self._keyvals) if all(k in self._keyvals for k in self.table.key) else None
        if found is None:
            return self._fail(f"Record not found in {self.table.name}.")
        self._release_current()
        self._rec, self._is_new = found, False
        self._on_load()
        return RET_OK

    def _release_current(self) -> None:
        if self._rec is not None and not self._is_new:
            self._unlock()
        self._rec = None

    # -- values -----------------------------------------------------------------------------------------------
    def nGetValue(self, column: str, out: Any) -> int:
        self._hit("nGetValue")
        rec = self._current()
        if rec is None:
            set_out(out, "" if column.endswith("$") else 0)
            return self._fail("No record is loaded.")
        if not self.table.has(column):
            return self._fail(f"Invalid column {column}.")
        set_out(out, rec[column])
        return RET_OK

    def _current(self) -> dict[str, Any] | None:
        return self._rec

    def nSetValue(self, column: str, value: Any) -> int:
        """1 ok, -1 warning, 0 failed; rules in subclasses may fill defaults (e.g. from the vendor)."""
        self._hit("nSetValue")
        rec = self._current()
        if rec is None:
            return self._fail("No record is loaded; call nSetKey first.")
        if self.read_only:
            return self._fail(f"{self.object_name} is read only.")
        if not self.table.has(column):
            return self._fail(f"Invalid column {column}.")
        if column in READ_ONLY or column in self.table.key:
            return self._fail(f"{column} is read only.")
        try:
            return self._on_set(rec, column, coerce(column, value))
        except SimRuleError as exc:
            return self._fail(str(exc))

    def _on_set(self, rec: dict[str, Any], column: str, value: Any) -> int:
        rec[column] = value
        return RET_OK

    # -- lifecycle hooks for rules ----------------------------------------------------------------------------
    def _on_new(self) -> None: ...

    def _on_load(self) -> None: ...

    def _validate(self, rec: dict[str, Any]) -> tuple[int, str]:
        return RET_OK, ""

    def _after_write(self, rec: dict[str, Any]) -> None: ...

    # -- write ------------------------------------------------------------------------------------------------
    def nWrite(self) -> int:
        """Persist the record (and, in header objects, its lines) in one transaction: 1 / -1 warning / 0."""
        self._hit("nWrite")
        rec = self._rec
        assert self._session is not None
        if rec is None:
            return self._fail("No record is loaded; call nSetKey first.")
        if self.read_only:
            return self._fail(f"{self.object_name} is read only.")
        if not self._is_new and not self._rights("M", "Modify"):
            return RET_FAIL
        if self._is_new and self._sim().roll_contention():  # an existing record re-checks its lock below
            return self._fail(self._session.in_use_message(self.table.name, self._key_string(rec)))
        if not self._is_new and not self._session.lock(self.table.name, self._key_string(rec), self):
            return RET_FAIL
        ret, msg = self._validate(rec)
        if ret == RET_FAIL:
            return self._fail(msg)
        date, tim = stamp(self._sim().now())
        if self._is_new and "DateCreated$" in self.table.columns:
            rec.update({"DateCreated$": date, "TimeCreated$": tim, "UserCreatedKey$": self._session.user_key})
        if "DateUpdated$" in self.table.columns:
            rec.update({"DateUpdated$": date, "TimeUpdated$": tim, "UserUpdatedKey$": self._session.user_key})
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self.upsert(self.table, rec)
            self._after_write(rec)
            conn.execute("COMMIT")
        except Exception as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, SimRuleError):
                return self._fail(str(exc))
            raise
        self._unlock()
        self._rec = None
        self._is_new = False
        self._keyvals = {}
        self._msg = msg
        return RET_WARNING if ret == RET_WARNING else RET_OK

    def upsert(self, table: Table, rec: dict[str, Any]) -> None:
        cols = [table.sql(c) for c in table.columns]
        self.conn.execute(
            f'INSERT OR REPLACE INTO "{table.name}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})',
            [rec.get(c, table.default(c)) for c in table.columns],
        )

    def nDelete(self) -> int:
        self._hit("nDelete")
        if self._rec is None or self._is_new or self.read_only:
            return self._fail("No existing record is loaded.")
        if not self._rights("R", "Remove"):
            return RET_FAIL
        where, params = self._key_where(self._rec)
        self.conn.execute(f'DELETE FROM "{self.table.name}" WHERE {where}', params)
        self._after_delete(where, params)
        self._release_current()
        return RET_OK

    def _after_delete(self, where: str, params: list[Any]) -> None: ...

    def nClear(self) -> int:
        """Drop the in-memory record without writing (and release its lock)."""
        self._hit("nClear")
        self._release_current()
        self._is_new = False
        self._keyvals = {}
        return RET_OK

    def DropObject(self) -> None:
        super().DropObject()
        self._release_current()

    # -- browsing ---------------------------------------------------------------------------------------------
    def nSetBrowseFilter(self, prefix: str) -> int:
        self._hit("nSetBrowseFilter")
        self._browse_prefix = str(prefix)
        return RET_OK

    def _browse_rows(self) -> list[dict[str, Any]]:
        keys = ", ".join(f'"{self.table.sql(k)}"' for k in self.table.key)
        concat = " || ".join(f'"{self.table.sql(k)}"' for k in self.table.key)
        rows = self.conn.execute(
            f'SELECT * FROM "{self.table.name}" WHERE {concat} LIKE ? ORDER BY {keys}',
            (self._browse_prefix.replace("%", "") + "%",),
        ).fetchall()
        return [self._row_to_rec(r) for r in rows]

    def nMoveFirst(self) -> int:
        self._hit("nMoveFirst")
        self._browse, self._pos = self._browse_rows(), 0
        return self._browse_load()

    def nMoveNext(self) -> int:
        self._hit("nMoveNext")
        self._pos += 1
        return self._browse_load()

    def _browse_load(self) -> int:
        if self._pos >= len(self._browse):
            self._rec = None
            return self._fail("End of file.")
        self._rec, self._is_new = self._browse[self._pos], False
        return RET_OK

    @property
    def nEOF(self) -> int:
        self._hit("nEOF")
        return 1 if self._pos >= len(self._browse) else 0

    def nGetRecord(self, out_record: Any, out_columns: Any = None) -> int:
        self._hit("nGetRecord")
        rec = self._current()
        if rec is None:
            return self._fail("No record is loaded.")
        set_out(out_record, SEP.join(fmt(rec[c]) for c in self.table.columns))
        if out_columns is not None:
            set_out(out_columns, SEP.join(self.table.columns))
        return RET_OK

    def sGetColumns(self, table: str = "") -> str:
        self._hit("sGetColumns")
        return SEP.join(self.table.columns)

    def sGetKeyColumns(self) -> str:
        self._hit("sGetKeyColumns")
        return SEP.join(self.table.key)

    def nGetResultSets(
        self,
        columns: str,
        key_column: str,
        out_results: Any,
        out_keys: Any,
        filter_: str = "",
        begin: str = "",
        end: str = "",
    ) -> int:
        """Batched read: one call returns the expression of every matching record, SEP-separated."""
        self._hit("nGetResultSets")
        return self.result_sets(self.table, columns, key_column, out_results, out_keys, filter_, begin, end)

    def result_sets(
        self,
        table: Table,
        columns: str,
        key_column: str,
        out_results: Any,
        out_keys: Any,
        filter_: str,
        begin: str,
        end: str,
    ) -> int:
        try:
            where, params = compile_filter(filter_ or "", table)
            expr = compile_expression(columns, table)
            key_expr = compile_expression(key_column, table)
        except FilterError as exc:
            return self._fail(str(exc))
        key_sql = " || ".join(f'"{table.sql(k)}"' for k in table.key)
        if begin:
            where, params = f"{where} AND {key_sql} >= ?", [*params, begin]
        if end:
            where, params = f"{where} AND {key_sql} <= ?", [*params, end]
        order = ", ".join(f'"{table.sql(k)}"' for k in table.key)
        rows = self.conn.execute(f'SELECT * FROM "{table.name}" WHERE {where} ORDER BY {order}', params).fetchall()
        set_out(out_results, SEP.join(expr(r) for r in rows))
        set_out(out_keys, SEP.join(key_expr(r) for r in rows))
        return RET_OK
