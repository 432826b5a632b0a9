"""Indicator benchmark: the full indicator set for one quarter at every level of the tree, on
DuckDB over Parquet and with the same ibis definitions on PostgreSQL, same data, same run.

    python bench/indicators_bench.py generate DIR --residents 12000000   # city scale
    python bench/indicators_bench.py duckdb DIR [--period 2026Q3] [--threads 2] [--memory 4GB]
    python bench/indicators_bench.py postgres DIR [--url URL]  # its own database, created
    python bench/indicators_bench.py all DIR --residents 240000            # all three, ratio

``generate`` writes a synthetic warehouse in the shared layout (``DIR/<table>/part-*.parquet``)
with numpy: a province → city → 10 districts → 15 centres → 8 stations → 2 teams tree, one
chronic patient per 6 residents (hypertension 75 %, type 2 diabetes 35 %), quarterly follow-ups
over three years (85 % attended), contracts, health checks and deaths. ``duckdb`` and
``postgres`` each run in a fresh process and report wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import manbing.db.models  # noqa: F401
from manbing.analytics.warehouse import WAREHOUSE_TABLES, arrow_schema
from manbing.db.base import Base

EPOCH = np.datetime64("1970-01-01")
END = date(2026, 9, 30)
START = date(2023, 10, 1)
CHUNK = 1_000_000
BENCH_URL = "postgresql://postgres@127.0.0.1:5432/manbing_analytics_bench"


def _ids(prefix: str, start: int, n: int) -> pa.Array:
    numbers = pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())
    padded = pc.utf8_lpad(numbers, 12, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), padded, "")


def _days(d: date) -> int:
    return (np.datetime64(d) - EPOCH).astype(int)


def _date_array(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("int32"), pa.int32()).cast(pa.date32())


def _write(
    directory: Path, table: str, columns: dict[str, pa.Array | np.ndarray], part: int = 0
) -> None:
    schema = arrow_schema(Base.metadata.tables[table])
    n = len(next(iter(columns.values())))
    arrays = []
    for f in schema:
        if f.name in columns:
            value = columns[f.name]
            arrays.append(value if isinstance(value, pa.Array) else pa.array(value).cast(f.type))
        else:
            arrays.append(pa.nulls(n, f.type))
    folder = directory / table
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), folder / f"part-{part:05d}.parquet")


def generate(directory: Path, residents: int, seed: int = 7) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    # Organisation tree and divisions.
    orgs: list[dict[str, object]] = []
    divisions: list[tuple[str, str, str, str | None]] = [
        ("330000", "省", "province", None),
        ("330100", "市", "prefecture", "330000"),
    ]
    teams: list[tuple[str, str]] = []
    stations: list[tuple[str, str]] = []

    def org(
        code: str, kind: str, division: str, parent: dict[str, object] | None
    ) -> dict[str, object]:
        oid = f"00000000-0000-0000-0001-{len(orgs):012d}"
        path = (str(parent["path"]) if parent else "/") + oid.replace("-", "") + "/"
        row = {
            "id": oid,
            "code": code,
            "name": code,
            "type": kind,
            "division_code": division,
            "parent_id": parent["id"] if parent else None,
            "path": path,
            "active": True,
        }
        orgs.append(row)
        return row

    province = org("P", "health_commission", "330000", None)
    city = org("C", "health_commission", "330100", province)
    for dn in range(10):
        dcode = f"3301{dn + 2:02d}"
        divisions.append((dcode, f"区{dn}", "county", "330100"))
        district = org(f"D{dn}", "health_commission", dcode, city)
        for cn in range(15):
            tcode = f"{dcode}{cn + 1:03d}000"
            divisions.append((tcode, f"街道{cn}", "township", dcode))
            centre = org(f"D{dn}C{cn}", "community_centre", tcode, district)
            for sn in range(8):
                scode = f"{dcode}{cn + 1:03d}{sn + 1:03d}"
                divisions.append((scode, f"社区{sn}", "village", tcode))
                station = org(f"D{dn}C{cn}S{sn}", "station", scode, centre)
                stations.append((str(station["id"]), scode))
                for _team in range(2):
                    teams.append((f"00000000-0000-0000-0002-{len(teams):012d}", str(station["id"])))
    _write(
        directory,
        "divisions",
        {
            k: pa.array([d[i] for d in divisions])
            for i, k in enumerate(("code", "name", "level", "parent_code"))
        }
        | {"edition": pa.array(["2023"] * len(divisions))},
    )
    _write(directory, "organizations", {k: pa.array([o[k] for o in orgs]) for k in orgs[0]})
    _write(
        directory,
        "teams",
        {
            "id": pa.array([t[0] for t in teams]),
            "name": pa.array([t[0] for t in teams]),
            "organization_id": pa.array([t[1] for t in teams]),
            "active": pa.array([True] * len(teams)),
        },
    )
    station_ids = np.array([s[0] for s in stations])
    station_div = np.array([s[1] for s in stations])
    team_of_station = np.array([teams[2 * i][0] for i in range(len(stations))])
    counts.update(organizations=len(orgs), teams=len(teams))

    end_day, start_day = _days(END), _days(START)
    enrol_rows = fu_rows = contract_rows = check_rows = 0
    patient_offset = 0
    for part, first in enumerate(range(0, residents, CHUNK)):
        n = min(CHUNK, residents - first)
        age_days = rng.integers(0, 95 * 365, n)
        birth = end_day - age_days
        st = rng.integers(0, len(stations), n)
        dead = rng.random(n) < 0.006
        death_day = np.where(dead, rng.integers(start_day, end_day, n), 0)
        causes = np.array(["I21.9", "C34.1", "E11.9", "J44.1", "S72.0", "A09"])
        rid = _ids("00000000-0000-0000-0003-", first, n)
        _write(
            directory,
            "residents",
            {
                "id": rid,
                "record_number": _ids("R", first, n),
                "name": pa.array(np.char.add("名", rng.integers(0, 5000, n).astype(str))),
                "sex": pa.array(np.where(rng.random(n) < 0.5, "M", "F")),
                "birth_date": _date_array(birth),
                "division_code": pa.array(station_div[st]),
                "managing_org_id": pa.array(station_ids[st]),
                "status": pa.array(np.where(dead, "dead", "active")),
                "status_date": pa.array(
                    np.where(dead, death_day, 0).astype("int32"), mask=~dead
                ).cast(pa.date32()),
                "death_cause_icd10": pa.array(causes[rng.integers(0, len(causes), n)], mask=~dead),
                "severe_mental_disorder": pa.array(rng.random(n) < 0.005),
                "pregnant": pa.array(rng.random(n) < 0.01),
                "disability": pa.array(rng.random(n) < 0.02),
                "registered_on": _date_array(np.full(n, _days(date(2015, 1, 1)))),
                "version": pa.array(np.ones(n, dtype=np.int64)),
            },
            part,
        )
        # Chronic patients: one in six residents, ≥35.
        adult = age_days >= 35 * 365
        patient = adult & (rng.random(n) < (1 / 6) / max(adult.mean(), 1e-9))
        idx = np.nonzero(patient)[0]
        enrolments = []
        for programme, share, form in (
            ("hypertension", 0.75, "hypertension"),
            ("t2dm", 0.35, "diabetes"),
        ):
            chosen = idx[rng.random(len(idx)) < share]
            enrolled = rng.integers(_days(date(2016, 1, 1)), end_day, len(chosen))
            enrolments.append((programme, form, chosen, enrolled))
        for programme, form, chosen, enrolled in enrolments:
            m = len(chosen)
            _write(
                directory,
                "enrolments",
                {
                    "id": _ids(
                        f"00000000-0000-0000-{4 if programme == 'hypertension' else 5:04d}-",
                        patient_offset,
                        m,
                    ),
                    "resident_id": rid.take(pa.array(chosen)),
                    "programme": pa.array([programme] * m),
                    "enrolled_on": _date_array(enrolled),
                    "managing_org_id": pa.array(station_ids[st[chosen]]),
                    "team_id": pa.array(team_of_station[st[chosen]]),
                    "status": pa.array(np.where(dead[chosen], "dead", "active")),
                    "status_date": _date_array(np.where(dead[chosen], death_day[chosen], enrolled)),
                },
                part * 2 + (programme == "t2dm"),
            )
            enrol_rows += m
            # Follow-ups: 12 quarterly slots over three years, 85 % attended.
            slots = 12
            base = start_day + rng.integers(0, 91, m)
            days = (
                base[:, None] + np.arange(slots)[None, :] * 91 + rng.integers(-10, 10, (m, slots))
            ).ravel()
            who = np.repeat(np.arange(m), slots)
            keep = (
                (days >= np.repeat(enrolled, slots))
                & (days <= end_day)
                & (rng.random(m * slots) < 0.85)
            )
            keep &= ~(dead[chosen][who]) | (days < death_day[chosen][who])
            days, who = days[keep], who[keep]
            k = len(days)
            age = (days - birth[chosen][who]) / 365.25
            target = np.where(age >= 65, 150, 140)
            sbp = np.clip(rng.normal(target - 6, 14, k), 80, 230).astype(np.int64)
            dbp = np.clip(rng.normal(82, 9, k), 45, 130).astype(np.int64)
            sbp = np.maximum(sbp, dbp + 20)
            lost = rng.random(k) < 0.02
            fpg = np.round(rng.normal(7.1, 1.5, k), 1) if form == "diabetes" else None
            _write(
                directory,
                "follow_ups",
                {
                    "id": _ids(
                        f"00000000-0000-{part:04d}-{6 if form == 'hypertension' else 7:04d}-", 0, k
                    ),
                    "resident_id": rid.take(pa.array(chosen[who])),
                    "form": pa.array([form] * k),
                    "visit_date": _date_array(days),
                    "outcome": pa.array(np.where(lost, "lost", "done")),
                    "sbp": pa.array(sbp, mask=lost),
                    "dbp": pa.array(dbp, mask=lost),
                    "heart_rate": pa.array(rng.integers(55, 100, k)),
                    "fasting_glucose": pa.array(fpg, mask=lost)
                    if fpg is not None
                    else pa.nulls(k, pa.float64()),
                    "classification": pa.array(np.where(sbp < target, "1", "2")),
                    "next_visit_date": _date_array(days + 90),
                    "organization_id": pa.array(station_ids[st[chosen[who]]]),
                    "adverse_reaction": pa.array(np.zeros(k, dtype=bool)),
                    "new_complication": pa.array(np.zeros(k, dtype=bool)),
                    "created_at": pa.array(
                        (days.astype("int64") * 86_400_000_000), pa.int64()
                    ).cast(pa.timestamp("us", tz="UTC")),
                },
                part * 2 + (form == "diabetes"),
            )
            fu_rows += k
            patient_offset += m
        # Contracts (35 %) and health checks of the elderly (60 %).
        signed = np.nonzero(rng.random(n) < 0.35)[0]
        start = rng.integers(end_day - 365, end_day, len(signed))
        _write(
            directory,
            "contracts",
            {
                "id": _ids(f"00000000-0000-{part:04d}-0008-", 0, len(signed)),
                "resident_id": rid.take(pa.array(signed)),
                "team_id": pa.array(team_of_station[st[signed]]),
                "package_id": pa.array(["pkg"] * len(signed)),
                "start_date": _date_array(start),
                "end_date": _date_array(start + 364),
                "status": pa.array(["active"] * len(signed)),
            },
            part,
        )
        contract_rows += len(signed)
        old = np.nonzero((age_days >= 65 * 365) & (rng.random(n) < 0.6))[0]
        _write(
            directory,
            "health_checks",
            {
                "id": _ids(f"00000000-0000-{part:04d}-0009-", 0, len(old)),
                "resident_id": rid.take(pa.array(old)),
                "check_date": _date_array(rng.integers(_days(date(2026, 1, 1)), end_day, len(old))),
                "organization_id": pa.array(station_ids[st[old]]),
            },
            part,
        )
        check_rows += len(old)
    for empty in ("referrals", "observations"):
        _write(directory, empty, {"id": pa.array([], pa.string())})
    counts.update(
        residents=residents,
        enrolments=enrol_rows,
        follow_ups=fu_rows,
        contracts=contract_rows,
        health_checks=check_rows,
    )
    (directory / "_bench_counts.json").write_text(json.dumps(counts))
    return counts


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_duckdb(directory: Path, period: str, threads: int, memory: str) -> dict[str, float]:
    from manbing.analytics.compute import compute
    from manbing.analytics.engine import open_duckdb
    from manbing.analytics.periods import parse_period

    wh = open_duckdb(directory, threads=threads)
    wh.backend.raw_sql(f"SET memory_limit = '{memory}'")
    started = time.perf_counter()
    results = compute(wh, parse_period(period))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "results": len(results), "peak_mb": _peak_mb()}


def load_postgres(directory: Path, url: str) -> float:
    import psycopg

    types = {
        pa.string(): "text",
        pa.int64(): "bigint",
        pa.float64(): "double precision",
        pa.bool_(): "boolean",
        pa.date32(): "date",
        pa.timestamp("us", tz="UTC"): "timestamptz",
    }
    base, _, dbname = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            admin.execute(f'CREATE DATABASE "{dbname}"')
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as con:
        for name in WAREHOUSE_TABLES:
            schema = arrow_schema(Base.metadata.tables[name])
            con.execute(f'DROP TABLE IF EXISTS "{name}"')
            cols = ", ".join(f'"{f.name}" {types[f.type]}' for f in schema)
            con.execute(f'CREATE UNLOGGED TABLE "{name}" ({cols})')
            for part in sorted((directory / name).glob("part-*.parquet")):
                for batch in pq.ParquetFile(part).iter_batches(batch_size=500_000):
                    buffer = io.BytesIO()
                    pacsv.write_csv(
                        pa.Table.from_batches([batch]),
                        buffer,
                        pacsv.WriteOptions(include_header=False),
                    )
                    with con.cursor().copy(f'COPY "{name}" FROM STDIN WITH (FORMAT csv)') as copy:
                        copy.write(buffer.getvalue())
            con.execute(f'ANALYZE "{name}"')
    return time.perf_counter() - started


def run_postgres(url: str, period: str) -> dict[str, float]:
    from manbing.analytics.compute import compute
    from manbing.analytics.engine import open_postgres
    from manbing.analytics.periods import parse_period

    wh = open_postgres(url)
    started = time.perf_counter()
    results = compute(wh, parse_period(period))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "results": len(results), "peak_mb": _peak_mb()}


def _child(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *args, "--json"], check=True, capture_output=True, text=True
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["generate", "duckdb", "postgres", "all"])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--residents", type=int, default=240_000)
    parser.add_argument("--period", default="2026Q3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory", default="4GB")
    parser.add_argument("--url", default=BENCH_URL)
    parser.add_argument("--json", action="store_true")
    a = parser.parse_args()
    if a.command == "generate":
        started = time.perf_counter()
        print(generate(a.directory, a.residents), f"{time.perf_counter() - started:.0f} s")
    elif a.command == "duckdb":
        figures = run_duckdb(a.directory, a.period, a.threads, a.memory)
        print(json.dumps(figures) if a.json else figures)
    elif a.command == "postgres":
        if not a.json:
            print(f"loaded into PostgreSQL in {load_postgres(a.directory, a.url):.0f} s")
        figures = run_postgres(a.url, a.period)
        print(json.dumps(figures) if a.json else figures)
    else:
        if not (a.directory / "_bench_counts.json").exists():
            generate(a.directory, a.residents)
        counts = json.loads((a.directory / "_bench_counts.json").read_text())
        duck = _child(
            [
                "duckdb",
                str(a.directory),
                "--period",
                a.period,
                "--threads",
                str(a.threads),
                "--memory",
                a.memory,
            ]
        )
        load_s = load_postgres(a.directory, a.url)
        pg = _child(["postgres", str(a.directory), "--period", a.period, "--url", a.url])
        print(
            json.dumps(
                {
                    "counts": counts,
                    "duckdb": duck,
                    "postgres_load_s": load_s,
                    "postgres": pg,
                    "ratio": pg["seconds"] / duck["seconds"],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
