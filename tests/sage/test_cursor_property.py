"""Property: whatever the interleaving of writes (shared stamps, same-tick rewrites, late commits) and polls, every
record's latest content is delivered, and no content is delivered twice."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from mlconnector.sage.cursor import merge_poll
from mlconnector.sage.models import ChangeCursor

OVERLAP_HOURS = 120 / 3600
TICK_HOURS = 0.001  # 3.6 s


@dataclass(frozen=True)
class Rec:
    key: str
    version: int

    def content_hash(self) -> str:
        return f"{self.key}#{self.version}"


def _time(tick: int) -> str:
    return f"{8 + tick * TICK_HOURS:08.5f}"


ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from("ABCDEF"), st.integers(0, 3)),  # clock advances 0..3 ticks
        st.tuples(st.just("late"), st.sampled_from("ABCDEF"), st.integers(0, 30)),  # stamped up to 30 ticks back
        st.tuples(st.just("poll"), st.just(""), st.integers(1, 3)),  # limit (soft) or none
    ),
    max_size=40,
)


@given(ops)
@settings(max_examples=150, deadline=None)
def test_no_loss_no_duplicates(steps: list[tuple[str, str, int]]) -> None:
    clock = 100
    table: dict[str, tuple[int, Rec]] = {}
    versions: dict[str, int] = {}
    delivered: list[tuple[str, int]] = []
    cursor: ChangeCursor | None = None

    def poll(limit: int | None) -> None:
        nonlocal cursor
        keyed = [(k, "20260301", _time(tick)) for k, (tick, _rec) in table.items()]
        items, cursor = merge_poll(keyed, cursor, limit, lambda keys: {k: table[k][1] for k in keys}, OVERLAP_HOURS)
        delivered.extend((r.key, r.version) for r in items)

    for kind, key, n in steps:
        if kind == "poll":
            poll(n if n < 3 else None)
            continue
        if kind == "write":
            clock += n
            tick = clock
        else:
            tick = max(clock - n, 0)
        versions[key] = versions.get(key, 0) + 1
        table[key] = (tick, Rec(key, versions[key]))
    for _ in range(len(table) + 1):  # enough polls to drain any soft limit
        poll(None)

    assert len(delivered) == len(set(delivered)), "a content was delivered twice"
    for key, version in versions.items():
        assert (key, version) in delivered, f"latest content of {key} was lost"
