"""ProvideX-style filter and return-column expressions for `nGetResultSets`.

Filters compile to SQL so a filter over 100,000 records runs at SQLite speed; the grammar is the subset the
gateway and Sage integrators use: `=`, `<>`, `>=`, `<=`, `>`, `<`, `AND`, `OR`, `NOT`, parentheses over `$`
columns and numeric columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from mlconnector.sage.sim.schema import Table

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"]|"")*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><>|>=|<=|=|>|<)|(?P<lp>\()|(?P<rp>\))"""
    r"""|(?P<plus>\+)|(?P<comma>,)|(?P<word>[A-Za-z_][A-Za-z0-9_]*\$?))"""
)


class FilterError(ValueError):
    """A filter or expression Sage would reject; the message names the offending text."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"Invalid expression near: {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, table: Table) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.table = table
        self.params: list[Any] = []

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise FilterError("Expression ends too early")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == word:
            self.i += 1
            return True
        return False

    def expr(self) -> str:
        parts = [self.term()]
        while self.keyword("OR"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def term(self) -> str:
        parts = [self.factor()]
        while self.keyword("AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def factor(self) -> str:
        if self.keyword("NOT"):
            return f"(NOT {self.factor()})"
        tok = self.peek()
        if tok and tok[0] == "lp":
            self.take()
            inner = self.expr()
            if self.take()[0] != "rp":
                raise FilterError("Missing ')' in filter")
            return inner
        return self.comparison()

    def column(self, name: str) -> str:
        if not self.table.has(name):
            raise FilterError(f"Invalid column {name} for {self.table.name}")
        return f'"{self.table.sql(name)}"'

    def literal(self, tok: tuple[str, str]) -> Any:
        kind, text = tok
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "num":
            return float(text)
        raise FilterError(f"Expected a value, found {text!r}")

    def comparison(self) -> str:
        kind, text = self.take()
        if kind != "word":
            raise FilterError(f"Expected a column name, found {text!r}")
        col = self.column(text)
        op_kind, op = self.take()
        if op_kind != "op":
            raise FilterError(f"Expected a comparison after {text}, found {op!r}")
        value = self.literal(self.take())
        if text.endswith("$") != isinstance(value, str):
            raise FilterError(f"Type mismatch comparing {text} with {value!r}")
        self.params.append(value)
        return f"{col} {'!=' if op == '<>' else op} ?"


def compile_filter(text: str, table: Table) -> tuple[str, list[Any]]:
    """ProvideX condition → (SQL WHERE clause, parameters). An empty filter selects everything."""
    if not text.strip():
        return "1=1", []
    parser = _Parser(text, table)
    sql = parser.expr()
    if parser.peek() is not None:
        raise FilterError(f"Unexpected text in filter: {parser.peek()[1]!r}")  # type: ignore[index]
    return sql, parser.params


def _fmt_number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def compile_expression(text: str, table: Table) -> Callable[[Mapping[str, Any]], str]:
    """A string expression such as `DateUpdated$+"¦"+STR(QuantityOrdered)` → a function of one SQL row."""
    parts: list[Callable[[Mapping[str, Any]], str]] = []
    toks = _tokens(text)
    i = 0
    expect_term = True
    while i < len(toks):
        kind, val = toks[i]
        if not expect_term:
            if kind != "plus":
                raise FilterError(f"Expected '+' in expression, found {val!r}")
            expect_term, i = True, i + 1
            continue
        if kind == "str":
            lit = val[1:-1].replace('""', '"')
            parts.append(lambda _row, lit=lit: lit)
            i += 1
        elif kind == "word" and val.upper() == "STR":
            if i + 3 >= len(toks) or toks[i + 1][0] != "lp" or toks[i + 3][0] != "rp":
                raise FilterError("STR() needs one numeric column")
            name = toks[i + 2][1]
            if not table.has(name) or name.endswith("$"):
                raise FilterError(f"STR() needs a numeric column of {table.name}, not {name}")
            sql = table.sql(name)
            parts.append(lambda row, sql=sql: _fmt_number(float(row[sql])))
            i += 4
        elif kind == "word":
            if not table.has(val) or not val.endswith("$"):
                raise FilterError(f"Invalid string column {val} for {table.name}")
            sql = table.sql(val)
            parts.append(lambda row, sql=sql: str(row[sql]))
            i += 1
        else:
            raise FilterError(f"Unexpected {val!r} in expression")
        expect_term = False
    if expect_term:
        raise FilterError("Expression is empty or ends with '+'")
    return lambda row: "".join(p(row) for p in parts)
