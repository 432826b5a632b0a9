"""The indicator definitions on PostgreSQL tables typed like the operational database read in
place: identifiers ``uuid`` and NOT NULL where the operational schema says so. PostgreSQL 15 has
no ``min(uuid)``; the smallest organisation (census) and contract team (people) must still be
chosen, by the same rule as on DuckDB's copy (UUIDs) and on the Parquet (text)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from manbing.analytics.compute import Result, compute
from manbing.analytics.engine import Warehouse, open_duckdb, open_postgres
from manbing.analytics.indicators.census import census_cells
from manbing.analytics.indicators.people import resident_facts
from manbing.analytics.periods import parse_period
from manbing.analytics.store import STORE_FILE, current_store, refresh_store, uuid_columns
from manbing.analytics.warehouse import WAREHOUSE_TABLES, arrow_schema
from manbing.db.base import Base
from tests.hand_population import STAMP, Population, standard_population

SCHEMA = "uuid_warehouse"
PERIOD = parse_period("2026Q3")
# Two top organisations of one division, either side of the UUIDs' top bit, and two teams that
# differ only after a hyphen (a digit against a letter). The first of each is the smaller.
ORG_LOW, ORG_HIGH = "7fffffff-ffff-4fff-bfff-ffffffffffff", "80000000-0000-4000-8000-000000000000"
TEAM_LOW, TEAM_HIGH = "12345678-0000-4000-8000-00000000000f", "12345678-aaaa-4000-8000-000000000000"
DIVISION = "330199"

_SQL_TYPES: dict[pa.DataType, Any] = {
    pa.string(): sa.Text(),
    pa.int64(): sa.BigInteger(),
    pa.float64(): sa.Float(),
    pa.bool_(): sa.Boolean(),
    pa.date32(): sa.Date(),
    pa.timestamp("us", tz="UTC"): sa.DateTime(timezone=True),
}


def _population() -> Population:
    p = standard_population()
    for oid in (ORG_HIGH, ORG_LOW):  # the larger first: no first-row luck
        p.rows["organizations"].append(
            {
                "id": oid,
                "code": f"top-{oid[:8]}",
                "name": f"top {oid[:8]}",
                "type": "community_centre",
                "division_code": DIVISION,
                "path": f"/{uuid.UUID(oid).hex}/",
                "active": True,
            }
        )
    for sex, age_from, age_to, people in (("M", 0, None, 700), ("F", 0, None, 800)):
        for division in ("330108", DIVISION):
            p.rows["census_populations"].append(
                {
                    "division_code": division,
                    "year": 2025,
                    "sex": sex,
                    "age_from": age_from,
                    "age_to": age_to,
                    "population": people,
                    "imported_at": STAMP,
                }
            )
    for tid in (TEAM_HIGH, TEAM_LOW):
        p.rows["teams"].append(
            {"id": tid, "name": tid[:13], "organization_id": p.s1[0], "active": True}
        )
    p.resident("K", date(1958, 4, 1), "F", p.s1)
    for tid in (TEAM_HIGH, TEAM_LOW):
        p.rows["contracts"].append(
            {
                "id": str(uuid.uuid4()),
                "resident_id": p.residents["K"],
                "team_id": tid,
                "package_id": str(uuid.uuid4()),
                "start_date": date(2026, 1, 1),
                "end_date": date(2026, 12, 31),
                "status": "active",
            }
        )
    return p


def _load(url: str, p: Population) -> None:
    """The population's tables in ``SCHEMA``: UUID columns ``uuid``; NOT NULL where the
    operational column is and every row has a value."""
    metadata = sa.MetaData(schema=SCHEMA)
    tables = []
    for name in WAREHOUSE_TABLES:
        operational = Base.metadata.tables[name]
        ids = uuid_columns(name)
        columns = []
        for field in arrow_schema(operational):
            kind = sa.Uuid(as_uuid=False) if field.name in ids else _SQL_TYPES[field.type]
            filled = all(row.get(field.name) is not None for row in p.rows[name])
            required = not operational.columns[field.name].nullable and filled
            columns.append(sa.Column(field.name, kind, nullable=not required))
        tables.append(sa.Table(name, metadata, *columns))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
            metadata.create_all(conn)
            for table in tables:
                rows = [
                    {c.name: row.get(c.name) for c in table.columns} for row in p.rows[table.name]
                ]
                if rows:
                    conn.execute(table.insert(), rows)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def population() -> Population:
    return _population()


@pytest.fixture(scope="module")
def warehouses(
    population: Population, postgresql_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Warehouse]]:
    p = population
    directory = p.write(tmp_path_factory.mktemp("uuid") / "wh")
    refresh_store(directory)
    assert current_store(directory) == directory / STORE_FILE
    _load(postgresql_url, p)
    opened = {
        "postgres": open_postgres(postgresql_url, schema=SCHEMA),
        "duckdb copy": open_duckdb(directory),
        "parquet": open_duckdb(directory, use_store=False),
    }
    yield opened
    for wh in opened.values():
        wh.close()


def test_postgresql_reads_the_identifiers_as_uuid(warehouses: dict[str, Warehouse]) -> None:
    for name in ("organizations", "contracts"):
        schema = warehouses["postgres"].table(name).schema()
        assert schema["id"].is_uuid() and not schema["id"].nullable
    assert warehouses["duckdb copy"].table("contracts").schema()["team_id"].is_uuid()
    assert warehouses["parquet"].table("contracts").schema()["team_id"].is_string()


@pytest.mark.parametrize("engine", ["postgres", "duckdb copy", "parquet"])
def test_the_census_attaches_to_the_smallest_top_organisation(
    warehouses: dict[str, Warehouse], engine: str
) -> None:
    wh = warehouses[engine]
    cells = census_cells(wh, PERIOD)
    orgs = wh.table("organizations")
    joined = cells.join(orgs, cells.org_id == orgs.id)
    picked = joined.filter(joined.division_code == DIVISION).select(
        org=joined.org_id.cast("string"), population=joined.population
    )
    table = wh.backend.to_pyarrow(picked)
    assert set(table.column("org").to_pylist()) == {ORG_LOW}
    assert sum(table.column("population").to_pylist()) == 1500


@pytest.mark.parametrize("engine", ["postgres", "duckdb copy", "parquet"])
def test_a_resident_with_two_contract_teams_gets_the_smallest(
    population: Population, warehouses: dict[str, Warehouse], engine: str
) -> None:
    wh = warehouses[engine]
    facts = resident_facts(wh, PERIOD)
    teams = facts.filter(facts.contracted).select(
        resident=facts.fid.cast("string"), team=facts.fteam.cast("string")
    )
    by_resident = dict(zip(*wh.backend.to_pyarrow(teams).to_pydict().values(), strict=True))
    assert by_resident[population.residents["K"]] == TEAM_LOW
    # A and P have one contract in force each, with the population's own team.
    assert by_resident[population.residents["A"]] == population.team
    assert len(by_resident) == 3


def _results(wh: Warehouse) -> dict[tuple[str, ...], Result]:
    return {
        (r.indicator, r.unit_kind, r.unit_id, r.sex, r.age_band): r for r in compute(wh, PERIOD)
    }


def test_every_indicator_gives_the_duckdb_numbers_on_postgresql_uuid_tables(
    warehouses: dict[str, Warehouse],
) -> None:
    on_postgres = _results(warehouses["postgres"])
    on_copy = _results(warehouses["duckdb copy"])
    assert on_postgres == on_copy == _results(warehouses["parquet"])
    census = on_postgres[("ehr_coverage_rate", "org", ORG_LOW, "*", "*")]
    assert census.denominator == 1500
    assert ("ehr_coverage_rate", "org", ORG_HIGH, "*", "*") not in on_postgres
    contracted = on_postgres[("contract_rate", "team", TEAM_LOW, "*", "*")]
    assert contracted.numerator == 1
    assert ("contract_rate", "team", TEAM_HIGH, "*", "*") not in on_postgres
