"""When the hosted ticker fires a job: each job's intervals are offset by a share of its length fixed by its name."""

from __future__ import annotations

from itertools import pairwise

from mlconnector.engine.runtime import _slot


def test_each_job_runs_once_per_interval_at_its_own_offset() -> None:
    every = 5.0
    for name in ("t00.pos", "t01.pos", "acme.gl"):
        slots = [_slot(name, every, 1_700_000_000 + tenth / 10) for tenth in range(200)]  # 20 s in steps of 0.1 s
        for tenth, slot in enumerate(slots):
            now = 1_700_000_000 + tenth / 10
            assert slot <= now < slot + every  # the interval `now` is in
        distinct = sorted(set(slots))
        assert len(distinct) in (4, 5)  # one run per interval over 20 s
        assert all(abs(b - a - every) < 1e-6 for a, b in pairwise(distinct))


def test_fifty_tenants_runs_are_spread_over_the_interval_not_fired_together() -> None:
    now, every = 1_700_000_000.0, 5.0
    offsets = sorted(round(_slot(f"t{n:02d}.pos", every, now) % every, 3) for n in range(50))
    assert len(set(offsets)) >= 45  # (a hash: a few may share an offset)
    assert offsets[0] < 0.5 and offsets[-1] > 4.5  # across the whole interval
    quarter = [o for o in offsets if o < every / 4]
    assert 5 <= len(quarter) <= 20  # about a quarter of them in each quarter of the interval
