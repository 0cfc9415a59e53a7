"""Typed records the Cleo client returns, so callers never touch the contract's JSON field names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of sending one interchange: `already_sent` is True when Cleo already held the ICN (409), from an
    earlier send or from this call's own attempt whose answer was lost; either way the interchange is there once."""

    icn: str
    already_sent: bool
    message_id: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One Cleo message (one transaction set in Cockpit terms): inbound 997/855/856/810 or an outbound 850."""

    id: str
    direction: str
    partner: str
    document_type: str
    status: str
    fa_status: str | None = None
    icn: str | None = None
    received_at: str | None = None
    in_reply_to: str | None = None
    self_href: str | None = None
    content_href: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a collection; `next_start` is None on the last page."""

    items: tuple[T, ...]
    total: int
    start: int
    next_start: int | None


@dataclass(frozen=True, slots=True)
class Partner:
    """A Cleo trading partner record carrying the Sage vendor it stands for (`erp_vendor`, e.g. "01-ACME")."""

    alias: str
    name: str
    isa_qualifier: str
    isa_id: str
    gs_id: str
    as2_id: str | None = None
    erp_vendor: str | None = None
    address: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Lookup:
    """A reference table pushed to Cleo (GL accounts, cost-centre segments): column names and rows of strings."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Lookup:
        return cls(tuple(columns), tuple(tuple(str(v) for v in row) for row in rows))
