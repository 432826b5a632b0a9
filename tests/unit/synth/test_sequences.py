"""ID and record sequence numbers are carried across chunks, however small the chunks."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from manbing.domain.identity import parse_resident_id
from manbing.domain.values import Sex
from manbing.synth.config import SynthConfig
from manbing.synth.dates import day
from manbing.synth.divisions import build_tree
from manbing.synth.faults import HIS_SYSTEM
from manbing.synth.generator import Batch, generate
from manbing.synth.sequences import ID_SLOTS, RECORD_SLOTS, Sequences
from tests.unit.synth.metrics import concat

TINY_CHUNKS = SynthConfig(residents=3_000, region="330108", seed=5, chunk_size=20)


@pytest.fixture(scope="module")
def tiny_chunks() -> list[Batch]:
    return list(generate(TINY_CHUNKS))


def test_many_small_chunks_give_every_resident_a_valid_unique_consistent_id_number(
    tiny_chunks: list[Batch],
) -> None:
    assert len(tiny_chunks) == 1 + 150
    assert sum(b.without_id for b in tiny_chunks) == 0
    residents = concat(tiny_chunks, "residents").to_pylist()
    dups = {
        r["resident_id"]
        for r in concat(tiny_chunks, "resident_identifiers").to_pylist()
        if r["system"] == HIS_SYSTEM
    }
    people = [r for r in residents if r["id"] not in dups]
    assert len(people) == 3_000
    counties = {c.code for c in build_tree("330108").counties}
    numbers = []
    for r in people:
        assert r["id_number"] is not None, r["id"]
        parsed = parse_resident_id(r["id_number"], today=date(2026, 9, 30))
        assert parsed.birth_date == r["birth_date"]
        assert parsed.sex == Sex(r["sex"])
        assert parsed.division_code in counties
        assert r["division_code"].startswith(parsed.division_code)
        numbers.append(r["id_number"])
    assert len(set(numbers)) == len(numbers)


def test_many_small_chunks_give_unique_record_numbers(tiny_chunks: list[Batch]) -> None:
    records = concat(tiny_chunks, "residents").to_pylist()
    numbers = [r["record_number"] for r in records]
    assert len(records) > 3_000  # the duplicates from the second system have records too
    assert len(set(numbers)) == len(numbers)
    for r in records:
        assert len(r["record_number"]) == 17
        assert r["record_number"].startswith(r["division_code"])
        assert 1 <= int(r["record_number"][12:]) <= RECORD_SLOTS


def test_many_small_chunks_are_deterministic(tiny_chunks: list[Batch]) -> None:
    again = list(generate(TINY_CHUNKS))
    for a, b in zip(tiny_chunks, again, strict=True):
        for name in a.tables:
            assert a.tables[name].equals(b.tables[name]), name


def _sequences() -> Sequences:
    county = np.array([330108, 330106], dtype=np.int64)
    return Sequences.start(SynthConfig(), county, np.array(["a", "b"], dtype=object))


def test_a_cell_is_shared_across_calls_and_only_a_full_cell_leaves_people_without_id() -> None:
    seq = _sequences()
    birth = np.full(300, day(date(1990, 5, 17)), dtype=np.int64)
    county = np.full(300, 330108, dtype=np.int64)
    male = np.ones(300, dtype=np.bool_)
    first, ok1 = seq.take_ids(county, birth, male)
    assert ok1.all() and sorted(first.tolist()) == list(range(300))
    second, ok2 = seq.take_ids(county, birth, male)
    assert sorted(second.tolist()) == list(range(300, 600))
    assert int(ok2.sum()) == ID_SLOTS - 300 and seq.without_id == 100
    # another sex, county or birth date is another cell, still empty
    _, ok3 = seq.take_ids(county, birth, ~male)
    _, ok4 = seq.take_ids(np.full(300, 330106, dtype=np.int64), birth, male)
    _, ok5 = seq.take_ids(county, birth + 1, male)
    assert ok3.all() and ok4.all() and ok5.all() and seq.without_id == 100


def test_record_numbers_continue_across_calls_and_a_full_community_is_an_error() -> None:
    seq = _sequences()
    assert seq.take_records(np.array([0, 1, 0])).tolist() == [1, 1, 2]
    assert seq.take_records(np.array([0, 0])).tolist() == [3, 4]
    seq.record_used[1] = RECORD_SLOTS - 1
    assert seq.take_records(np.array([1])).tolist() == [RECORD_SLOTS]
    with pytest.raises(ValueError, match="community b needs more than 99999"):
        seq.take_records(np.array([1]))


def test_a_province_holds_its_shipped_cities_and_a_big_run_gets_more_communities() -> None:
    province = build_tree("330000")
    assert {c.code for c in province.counties} == {c.code for c in build_tree("330100").counties}
    assert province.divisions[0].code == "330000" and province.divisions[1].code == "330100"
    small, big = build_tree("330108"), build_tree("330108", residents=5_000_000)
    assert [t.code for t in small.townships] == [t.code for t in big.townships]
    assert len(big.communities) > 5 * len(small.communities)
    assert len({c.code for c in big.communities}) == len(big.communities)
    assert all(int(c.code[-3:]) <= 199 for c in big.communities if not c.rural)
    assert build_tree("330108", residents=20_000) == small
