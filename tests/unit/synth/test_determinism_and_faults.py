"""Same seed ⇒ same output; chunks only share the sequence numbers handed out; faults appear at the configured rate."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from manbing.synth.config import SynthConfig
from manbing.synth.dates import stamp
from manbing.synth.divisions import build_tree
from manbing.synth.generator import generate, generate_chunk, start_sequences
from manbing.synth.orgs import build_registry
from tests.unit.synth.metrics import connect

SMALL = SynthConfig(residents=6_000, region="330108", seed=11, chunk_size=3_000)


def test_the_same_seed_gives_identical_tables() -> None:
    first, second = list(generate(SMALL)), list(generate(SMALL))
    assert [b.chunk for b in first] == [-1, 0, 1]
    for a, b in zip(first, second, strict=True):
        assert a.tables.keys() == b.tables.keys()
        for name in a.tables:
            assert a.tables[name].equals(b.tables[name]), name


def test_a_different_seed_gives_a_different_population() -> None:
    a = list(generate(SMALL))[1].tables["residents"]
    b = list(generate(dataclasses.replace(SMALL, seed=12)))[1].tables["residents"]
    assert a.column("id").to_pylist() != b.column("id").to_pylist()
    assert a.column("name").to_pylist() != b.column("name").to_pylist()


def test_a_chunk_generated_after_the_chunks_before_it_equals_the_same_chunk_of_a_full_run() -> None:
    full = list(generate(SMALL))[2]
    reg = build_registry(SMALL, build_tree(SMALL.region), stamp(SMALL.end_date))
    seq = start_sequences(SMALL, reg)
    generate_chunk(SMALL, reg, 0, seq)
    alone = generate_chunk(SMALL, reg, 1, seq)
    for name, table in full.tables.items():
        assert table.equals(alone.tables[name]), name


@pytest.mark.parametrize("rate", [0.03, 0.10])
def test_faults_appear_at_the_configured_rate(rate: float) -> None:
    config = dataclasses.replace(SMALL, residents=20_000, chunk_size=10_000, fault_rate=rate)
    con: duckdb.DuckDBPyConnection = connect(list(generate(config)))
    transposed, both_zero, no_weight = con.execute(
        "select avg((sbp < dbp)::int), avg((sbp % 10 = 0 and dbp % 10 = 0)::int), avg((weight_kg is null)::int) from follow_ups where outcome = 'done'"
    ).fetchone()  # type: ignore[misc]
    tol = max(0.006, rate * 0.2)
    assert abs(transposed - rate) <= tol
    # natural readings end in 0 on both values ~1 % of the time; rounding adds the fault rate
    assert abs(both_zero - (0.01 + 0.99 * rate)) <= tol
    assert abs(no_weight - rate) <= tol
    dups, adults = con.execute(
        "select (select count(*) from resident_identifiers where system = 'urn:manbing:source:hospital-his'), (select count(*) from truth where age >= 18)"
    ).fetchone()  # type: ignore[misc]
    assert abs(dups / adults - rate) <= tol
    no_phone = con.execute("select avg((phone is null)::int) from residents").fetchone()[0]  # type: ignore[index]
    assert abs(no_phone - rate) <= tol
    home = con.execute(
        "select count(*) from observations where source = 'home_device' and value2 > value"
    ).fetchone()[0]  # type: ignore[index]
    assert home == 0  # faults are in clinic records; device readings stay clean
