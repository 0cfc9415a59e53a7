"""Mutation test: every valid sample (and its 005010 copy) validates; single known-invalid mutations of them are
rejected (≥ 99.5 %), and no input makes the validator or the 997/TA1 generators raise."""

from __future__ import annotations

from collections import Counter

from mlconnector.x12 import functional_acks, interchange_acks, validate

from .conftest import SAMPLES
from .mutation_catalog import mutants, parse, valid_sources

SOURCES = valid_sources(SAMPLES)


def test_valid_files_and_their_005010_copies_are_accepted() -> None:
    assert len(SOURCES) >= 18
    rejected = {name: [e.message for e in validate(data).all_errors()][:2] for name, data in SOURCES}
    rejected = {name: errors for name, errors in rejected.items() if errors}
    assert rejected == {}


def test_single_mutations_are_rejected() -> None:
    total: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    examples: dict[str, bytes] = {}
    for seed, (_, data) in enumerate(SOURCES):
        rebuilt = parse(data).render()
        assert validate(rebuilt).valid  # the rebuild alone changes nothing that matters
        for kind, mutant in mutants(data, seed):
            assert mutant != rebuilt, kind
            total[kind] += 1
            report = validate(mutant)  # any exception fails the test: 0 crashes
            if report.valid:
                missed[kind] += 1
                examples.setdefault(kind, mutant)
            if seed % 3 == 0:
                functional_acks(mutant)
                interchange_acks(mutant)
    count = sum(total.values())
    assert count >= 500 and len(total) >= 20, total
    caught = 1 - sum(missed.values()) / count
    assert caught >= 0.995, (f"{caught:.2%} of {count}", dict(missed), {k: v[:300] for k, v in examples.items()})
