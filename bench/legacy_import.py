"""Legacy 基本公卫 import benchmark: a residents workbook and a follow-ups CSV into a fresh database.

    python bench/legacy_import.py                                   # SQLite, 5 000 / 20 000
    python bench/legacy_import.py --residents 500 --visits 2000     # smaller
    python bench/legacy_import.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/b

The residents file is an .xlsx written with openpyxl (档案编号, 身份证号, 姓名, …; every resident
enrolled in hypertension care, one in three in diabetes care too), the follow-ups file a GBK CSV
(visits spread over the two years before the clock's day, some uncontrolled). Each is imported
into a fresh database holding only the fixed district (``--database-url``: the database is
migrated and emptied first), in this order: dry run, real run, re-import (which must add
nothing). The figures are rows per second of each run.

Baseline, measured in the same run on a second fresh database: the same residents registered by
a plain ``residents.register_in`` loop in one transaction (no file, no matching, no savepoints,
no enrolment). The ratio is baseline time / import time for the same number of residents: what
reading the file, matching, enrolling and per-row savepoints cost on top of registering.
Timings are printed, never asserted (``tests/integration/test_legacy_import_bench.py`` runs a
tiny size so the script cannot rot).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.legacy_files import RESIDENT_HEADER, STATION, VISIT_HEADER, id_number

from manbing.db import migrate
from manbing.db.models import FollowUp, Organization, Resident
from manbing.db.session import make_engine, make_session_factory
from manbing.services import residents
from manbing.services.clock import FixedClock
from manbing.services.legacy_followups import import_followups
from manbing.services.legacy_import import Options, Report, acting_for
from manbing.services.legacy_residents import import_residents
from manbing.services.unit_of_work import UnitOfWork
from manbing.synth import fixed_district

TODAY = date(2026, 11, 24)
CLOCK = FixedClock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英志强丽华文明玉兰德福桂芳春生海燕永红"


def _birth(n: int) -> date:
    return date(1940, 1, 1) + timedelta(days=n * 5)  # unique per resident: no possible duplicate


def _name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // 3) % len(GIVEN)] + GIVEN[(n // 7) % len(GIVEN)]


def resident_rows(count: int) -> list[list[Any]]:
    rows: list[list[Any]] = [RESIDENT_HEADER]
    for n in range(count):
        birth = _birth(n)
        male = n % 2 == 0
        rows.append([
            f"B{n:07d}", _name(n), "男" if male else "女", birth.isoformat(),
            id_number(birth, n, male=male), f"138{n:08d}", f"西兴街道{n % 300 + 1}号",
            "2015-04-01", "是", "是" if n % 3 == 0 else "否", "2015-03-20",
        ])  # fmt: skip
    return rows


def visit_rows(residents_count: int, visits: int) -> list[list[Any]]:
    rows: list[list[Any]] = [VISIT_HEADER]
    per = max(1, -(-visits // max(residents_count, 1)))
    for v in range(visits):
        n, k = v % residents_count, v // residents_count
        birth = _birth(n)
        day = TODAY - timedelta(days=700 - (k * 700 // per) - n % 20)
        high = (n + k) % 4 == 0
        rows.append([
            id_number(birth, n, male=n % 2 == 0), f"B{n:07d}", "", day.isoformat(),
            "门诊" if k % 2 == 0 else "电话", "152" if high else "128", "96" if high else "78",
            "76", "65", "6.2" if n % 3 == 0 else "", "规律", "",
        ])  # fmt: skip
    return rows


def xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("居民")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def gbk_csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("gbk")


def fresh(url: str) -> Engine:
    """A migrated, emptied database holding the fixed district only."""
    from manbing.db.base import Base

    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    with make_session_factory(engine)() as session:
        fixed_district.build(session, today=TODAY, residents_per_station=0)
        session.commit()
    return engine


@dataclass
class Run:
    name: str
    rows: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def _timed(name: str, call: Callable[[], Report]) -> Run:
    started = time.perf_counter()
    report = call()
    took = time.perf_counter() - started
    return Run(name, len(report.rows), took, {o.value: n for o, n in report.counts.items()})


def baseline(url: str, count: int) -> Run:
    """``residents.register_in`` for the same residents, one transaction, no file."""
    engine = fresh(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with factory() as session:
        actor, org = acting_for(session, Options(STATION), CLOCK)
        for n in range(count):
            birth = _birth(n)
            male = n % 2 == 0
            residents.register_in(
                session,
                actor,
                residents.NewResident(
                    name=_name(n),
                    division_code=org.division_code,
                    managing_org_id=org.id,
                    id_number=id_number(birth, n, male=male),
                    phone=f"138{n:08d}",
                    address=f"西兴街道{n % 300 + 1}号",
                ),
                CLOCK,
            )
            session.flush()
        session.commit()
    took = time.perf_counter() - started
    engine.dispose()
    return Run("baseline register_in loop", count, took)


def _count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def bench(url: str, residents_count: int, visits: int) -> dict[str, Any]:
    """Run everything once; returns the runs and the stored counts (for the smoke test)."""
    started = time.perf_counter()
    people = xlsx(resident_rows(residents_count))
    followups = gbk_csv(visit_rows(residents_count, visits))
    generated = time.perf_counter() - started
    engine = fresh(url)
    factory = make_session_factory(engine)
    uow = UnitOfWork(factory)

    def opts(dry: bool) -> Options:
        return Options(STATION, "bench", dry_run=dry)

    runs = [
        _timed("residents dry run (xlsx)", lambda: import_residents(uow, CLOCK, people, opts(True))),
        _timed("residents import (xlsx)", lambda: import_residents(uow, CLOCK, people, opts(False))),
        _timed("residents re-import", lambda: import_residents(uow, CLOCK, people, opts(False))),
        _timed("visits dry run (GBK CSV)", lambda: import_followups(uow, CLOCK, followups, opts(True))),
        _timed("visits import (GBK CSV)", lambda: import_followups(uow, CLOCK, followups, opts(False))),
        _timed("visits re-import", lambda: import_followups(uow, CLOCK, followups, opts(False))),
    ]  # fmt: skip
    stored = {"residents": _count(factory, Resident), "follow_ups": _count(factory, FollowUp)}
    with factory() as s:
        org = s.scalars(select(Organization).where(Organization.code == STATION)).one()
        stored["station_residents"] = (
            s.scalar(select(func.count()).where(Resident.managing_org_id == org.id)) or 0
        )
    dialect = engine.dialect.name
    engine.dispose()
    base = baseline(url, residents_count)
    return {
        "dialect": dialect,
        "generated": generated,
        "sizes": (len(people), len(followups)),
        "runs": runs,
        "baseline": base,
        "stored": stored,
    }


def report(result: dict[str, Any]) -> None:
    runs: list[Run] = result["runs"]
    base: Run = result["baseline"]
    print(f"database: {result['dialect']}; files generated in {result['generated']:.1f} s "
          f"(xlsx {result['sizes'][0] // 1024} KiB, GBK CSV {result['sizes'][1] // 1024} KiB)")  # fmt: skip
    for run in runs:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()))
        print(
            f"{run.name:28} {run.rows:6} rows {run.seconds:7.1f} s {run.rate:8.0f} rows/s  {counts}"
        )
    print(f"{base.name:28} {base.rows:6} rows {base.seconds:7.1f} s {base.rate:8.0f} rows/s")
    imported = next(r for r in runs if r.name.startswith("residents import"))
    print(f"ratio residents import / baseline (time): {imported.seconds / base.seconds:.2f}")
    print(f"stored: {result['stored']}")
    print(f"load average: {os.getloadavg()}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=5_000)
    parser.add_argument("--visits", type=int, default=20_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        result = bench(url, args.residents, args.visits)
    report(result)
    return result


if __name__ == "__main__":
    print(
        f"nproc {os.cpu_count()}; {subprocess.run(['uname', '-r'], capture_output=True, text=True).stdout.strip()}"
    )
    main()
