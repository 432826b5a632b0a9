"""ID numbers, record numbers and the administrative tree are valid and consistent."""

from __future__ import annotations

from datetime import date

import duckdb

from manbing.domain.errors import InvalidInput
from manbing.domain.identity import parse_division_code, parse_resident_id
from manbing.domain.values import Sex
from manbing.synth.divisions import build_tree
from manbing.synth.faults import HIS_SYSTEM
from manbing.synth.generator import Batch
from tests.unit.synth.metrics import concat


def test_every_id_number_is_valid_and_agrees_with_the_record(batches: list[Batch]) -> None:
    residents = concat(batches, "residents").to_pylist()
    dups = {
        r["resident_id"]
        for r in concat(batches, "resident_identifiers").to_pylist()
        if r["system"] == HIS_SYSTEM
    }
    counties = {c.code for c in build_tree("330108").counties}
    checked = 0
    for r in residents:
        if r["id"] in dups or r["id_number"] is None:
            continue
        parsed = parse_resident_id(r["id_number"], today=date(2026, 9, 30))
        assert parsed.birth_date == r["birth_date"]
        assert parsed.sex == Sex(r["sex"])
        assert parsed.division_code in counties
        assert r["division_code"].startswith(parsed.division_code)
        checked += 1
    assert checked >= 0.99 * (len(residents) - len(dups))


def test_duplicates_from_the_second_system_carry_no_valid_id_number(batches: list[Batch]) -> None:
    residents = {r["id"]: r for r in concat(batches, "residents").to_pylist()}
    dups = [
        r["resident_id"]
        for r in concat(batches, "resident_identifiers").to_pylist()
        if r["system"] == HIS_SYSTEM
    ]
    assert dups
    for rid in dups:
        number = residents[rid]["id_number"]
        if number is not None:
            try:
                parse_resident_id(number)
            except InvalidInput:
                continue
            raise AssertionError(f"duplicate {rid} has a valid ID number")


def test_record_numbers_are_unique_and_start_with_the_division_code(
    con: duckdb.DuckDBPyConnection,
) -> None:
    total, distinct, bad = con.execute(
        "select count(*), count(distinct record_number), count(*) filter (where length(record_number) <> 17 or not starts_with(record_number, division_code)) from residents"
    ).fetchone()  # type: ignore[misc]
    assert total == distinct and bad == 0
    assert (
        con.execute(
            "select count(*) - count(distinct id_number) from residents where id_number is not null"
        ).fetchone()[0]
        == 0
    )  # type: ignore[index]


def test_division_tree_is_real_above_and_consistent_below() -> None:
    tree = build_tree("330100")
    names = {d.code: d.name for d in tree.divisions}
    assert names["330108"] == "滨江区" and names["330182"] == "建德市" and len(tree.counties) == 13
    assert names["330108001000"] == "西兴街道"
    for d in tree.divisions:
        parsed = parse_division_code(d.code)
        assert parsed.level.value == d.level
        if d.parent_code:
            assert d.parent_code in names
    nanjing = build_tree("320100")
    assert len(nanjing.counties) == 11


def test_organisation_paths_follow_the_parent_chain(batches: list[Batch]) -> None:
    orgs = {o["id"]: o for o in batches[0].tables["organizations"].to_pylist()}
    for org in orgs.values():
        expected = (
            (orgs[org["parent_id"]]["path"] if org["parent_id"] else "/")
            + org["id"].replace("-", "")
            + "/"
        )
        assert org["path"] == expected
    panel = 50_000 / batches[0].tables["teams"].num_rows
    assert 1_500 <= panel <= 3_500
