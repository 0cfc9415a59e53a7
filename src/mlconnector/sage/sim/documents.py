"""Documents with lines: the header object and its `oLines` (lines live in memory until the header's nWrite)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconnector.sage.boi import RET_NEW, RET_OK
from mlconnector.sage.sim.objects import Counted, RecordObject, SimRuleError, coerce, set_out
from mlconnector.sage.sim.schema import TABLES

if TYPE_CHECKING:
    from mlconnector.sage.sim.script import SySession


class LinesObject(Counted):
    """`oLines`: the detail lines of the header's in-memory document. Line `nWrite` commits to memory only."""

    def __init__(self, header: HeaderObject) -> None:
        super().__init__(header._session)
        self.object_name = header.object_name + ".oLines"
        self.header = header
        self.table = TABLES[header.lines_table]
        self.lines: list[dict[str, Any]] = []
        self._cur: dict[str, Any] | None = None
        self._cur_is_new = False
        self._pos = 0

    def reset(self, lines: list[dict[str, Any]]) -> None:
        self.lines, self._cur, self._pos = lines, None, 0

    def _next_line_key(self) -> str:
        return f"{max((int(line['LineKey$']) for line in self.lines), default=0) + 1:06d}"

    def nAddLine(self) -> int:
        """Start a new line (2); it joins the document on `oLines.nWrite()`."""
        self._hit("nAddLine")
        if self.header._rec is None:
            return self._fail("No header record is loaded.")
        if self.header.read_only:
            return self._fail(f"{self.header.object_name} is read only.")
        key = self._next_line_key() if not self._cur_is_new else self._cur["LineKey$"]  # type: ignore[index]
        rec = {c: self.table.default(c) for c in self.table.columns}
        rec.update({k: self.header._rec[k] for k in self.header.table.key if k in rec})
        rec["LineKey$"] = key
        if "LineSeqNo$" in rec:
            rec["LineSeqNo$"] = f"{int(key):014d}"
        self._cur, self._cur_is_new = rec, True
        self.header._on_add_line(rec)
        return RET_NEW

    def nEditLine(self, line_key: str) -> int:
        self._hit("nEditLine")
        for line in self.lines:
            if line["LineKey$"] == line_key:
                self._cur, self._cur_is_new = dict(line), False
                return RET_OK
        return self._fail(f"Line {line_key} not found.")

    def nGetValue(self, column: str, out: Any) -> int:
        self._hit("nGetValue")
        if self._cur is None or not self.table.has(column):
            return self._fail(f"No line loaded or invalid column {column}.")
        set_out(out, self._cur[column])
        return RET_OK

    def nSetValue(self, column: str, value: Any) -> int:
        self._hit("nSetValue")
        if self._cur is None:
            return self._fail("No line is loaded; call nAddLine first.")
        if not self.table.has(column) or column in self.header.table.key or column == "LineKey$":
            return self._fail(f"Invalid or read-only column {column}.")
        try:
            return self.header._on_set_line(self._cur, column, coerce(column, value))
        except SimRuleError as exc:
            return self._fail(str(exc))

    def nWrite(self) -> int:
        self._hit("nWrite")
        if self._cur is None:
            return self._fail("No line is loaded.")
        try:
            self.header._validate_line(self._cur)
        except SimRuleError as exc:
            return self._fail(str(exc))
        self.lines = [line for line in self.lines if line["LineKey$"] != self._cur["LineKey$"]] + [self._cur]
        self.lines.sort(key=lambda line: line["LineKey$"])
        self._cur, self._cur_is_new = None, False
        return RET_OK

    def nDelete(self) -> int:
        self._hit("nDelete")
        if self._cur is None:
            return self._fail("No line is loaded.")
        self.lines = [line for line in self.lines if line["LineKey$"] != self._cur["LineKey$"]]
        self._cur = None
        return RET_OK

    def nMoveFirst(self) -> int:
        self._hit("nMoveFirst")
        self._pos = 0
        return self._load_pos()

    def nMoveNext(self) -> int:
        self._hit("nMoveNext")
        self._pos += 1
        return self._load_pos()

    def _load_pos(self) -> int:
        if self._pos >= len(self.lines):
            self._cur = None
            return self._fail("End of file.")
        self._cur, self._cur_is_new = dict(self.lines[self._pos]), False
        return RET_OK

    @property
    def nEOF(self) -> int:
        self._hit("nEOF")
        return 1 if self._pos >= len(self.lines) else 0

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
        """Batched read over the whole detail table (not only this document): how the gateway reads lines."""
        self._hit("nGetResultSets")
        return self.header.result_sets(self.table, columns, key_column, out_results, out_keys, filter_, begin, end)


class HeaderObject(RecordObject):
    """A document header whose lines are persisted only by the header's `nWrite`."""

    lines_table = ""

    def __init__(self, session: SySession) -> None:
        super().__init__(session)
        self._lines_obj = LinesObject(self)

    @property
    def oLines(self) -> LinesObject:
        self._hit("oLines")
        return self._lines_obj

    def _on_load(self) -> None:
        assert self._rec is not None
        where, params = self._key_where(self._rec)
        lt = TABLES[self.lines_table]
        rows = self.conn.execute(f'SELECT * FROM "{lt.name}" WHERE {where} ORDER BY LineKey', params).fetchall()
        self._lines_obj.reset([{c: r[lt.sql(c)] for c in lt.columns} for r in rows])

    def _on_new(self) -> None:
        self._lines_obj.reset([])

    def _after_write(self, rec: dict[str, Any]) -> None:
        """Replace the document's stored lines with the in-memory ones, in the header's transaction."""
        self._after_delete(*self._key_where(rec))
        for line in self._lines_obj.lines:
            line.update({k: rec[k] for k in self.table.key if k in line})
            self.upsert(TABLES[self.lines_table], line)

    def _after_delete(self, where: str, params: list[Any]) -> None:
        """A document's lines go with it."""
        self.conn.execute(f'DELETE FROM "{self.lines_table}" WHERE {where}', params)

    def _on_add_line(self, line: dict[str, Any]) -> None: ...

    def _on_set_line(self, line: dict[str, Any], column: str, value: Any) -> int:
        line[column] = value
        return RET_OK

    def _validate_line(self, line: dict[str, Any]) -> None: ...

    def next_number(self, out: Any) -> int:
        """The `nGetNext…No` helpers: the next document number, unique across sessions, zero-filled."""
        assert self.next_number_spec is not None
        name, width = self.next_number_spec
        assert self._session is not None
        set_out(out, f"{self._session.next_number(name):0{width}d}")
        return RET_OK

    next_number_spec: tuple[str, int] | None = None
    """(SIM_NextNumber name, width) for objects with a next-number helper."""
