"""Master patient index benchmark: the duplicate candidate list of a whole district.

    python bench/mpi_bench.py load --residents 500000 --url URL   # a synthetic district
    python bench/mpi_bench.py run --url URL                        # time find_candidates

``load`` fills a migrated database with ``manbing synth`` (region 330108, seed 7; about 3 %
injected duplicates). ``run`` creates a centre manager at the district's health commission
(scope: every resident) and times ``services.mpi.find_candidates`` over the district.

Baseline, measured in the same run: the blocking query alone (the same SELECT of every resident
in a birth date + sex block of two or more, fetched to Python, no comparison). The ratio is
find_candidates / baseline: what the pairwise comparison, the decisions lookup and building the
result add to reading the blocks. Recall and precision against the injected duplicates (the
records with a hospital-HIS identifier, paired with a record of the same division whose name
differs only in the last character) are printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from sqlalchemy import and_, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.personas import actor_at

from manbing.db import migrate
from manbing.db.models import Organization, Resident, ResidentIdentifier
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.organisations import OrgType, Role
from manbing.domain.residents import ResidentStatus
from manbing.services import mpi
from manbing.services.clock import SystemClock
from manbing.services.unit_of_work import UnitOfWork
from manbing.synth.faults import HIS_SYSTEM


def load(url: str, residents: int) -> None:
    from manbing.synth.config import SynthConfig
    from manbing.synth.generator import generate
    from manbing.synth.writers.db import DatabaseWriter

    migrate.upgrade(url)
    started = time.perf_counter()
    writer = DatabaseWriter(url, replace=True)
    for batch in generate(SynthConfig(residents=residents, region="330108", seed=7)):
        writer.write(batch)
    writer.close()
    print(f"loaded {residents} residents in {time.perf_counter() - started:.1f} s")


def _baseline(factory, scope_sql) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    blocks = (
        select(Resident.birth_date, Resident.sex)
        .where(scope_sql)
        .group_by(Resident.birth_date, Resident.sex)
        .having(func.count() > 1)
        .subquery()
    )
    stmt = (
        select(
            Resident.id, Resident.name, Resident.sex, Resident.birth_date, Resident.id_number,
            Resident.phone, Resident.division_code, Resident.address, Resident.status,
        )
        .join(blocks, and_(blocks.c.birth_date == Resident.birth_date, blocks.c.sex == Resident.sex))
        .where(scope_sql)
        .order_by(Resident.birth_date, Resident.sex, Resident.id)
    )  # fmt: skip
    started = time.perf_counter()
    with factory() as session:
        n = sum(1 for _ in session.execute(stmt.execution_options(yield_per=5000)))
    return time.perf_counter() - started, n


def run(url: str, repeat: int) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        root = session.scalars(
            select(Organization).where(Organization.type == OrgType.HEALTH_COMMISSION)
        ).one()
        total = session.scalar(select(func.count()).select_from(Resident))
        injected = set(
            session.scalars(
                select(ResidentIdentifier.resident_id).where(
                    ResidentIdentifier.system == HIS_SYSTEM
                )
            )
        )
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE residents"))
            session.commit()
    manager = actor_at(factory, Role.CENTRE_MANAGER, root.id)
    # the scope clause find_candidates builds: every resident under the commission, not merged
    scope_sql = and_(
        Resident.managing_org_id.in_(
            select(Organization.id).where(Organization.path.startswith(root.path))
        ),
        Resident.status != ResidentStatus.MERGED,
    )
    best_base, best_full, rows, found = float("inf"), float("inf"), 0, []
    for _ in range(repeat):
        took, rows = _baseline(factory, scope_sql)
        best_base = min(best_base, took)
        started = time.perf_counter()
        found = mpi.find_candidates(
            UnitOfWork(factory), manager, SystemClock(), limit=mpi.MAX_LIMIT
        )
        best_full = min(best_full, time.perf_counter() - started)
    # recall needs every pair, not only the top MAX_LIMIT: count them from the scan itself
    with factory() as session:
        pairs = mpi._scan(session, mpi._scope(session, manager, None), mpi.MatchLevel.POSSIBLE)
    ids = sorted({i for p in pairs for i in p[:2]})
    names: dict[object, tuple[str, str]] = {}
    with factory() as session:
        for start in range(0, len(ids), 1000):
            chunk = session.execute(
                select(Resident.id, Resident.name, Resident.division_code).where(
                    Resident.id.in_(ids[start : start + 1000])
                )
            )
            names.update((rid, (name, div)) for rid, name, div in chunk)

    def injected_pair(a: object, b: object) -> bool:
        (na, da), (nb, db) = names[a], names[b]
        one = len({a, b} & injected) == 1
        return one and da == db and len(na) == len(nb) and na[:-1] == nb[:-1]

    true_pairs = [p for p in pairs if injected_pair(p[0], p[1])]
    recalled = {i for p in true_pairs for i in p[:2]} & injected
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"database: {engine.dialect.name}; residents: {total}; injected duplicates: {len(injected)}"
    )
    print(
        f"rows in blocks of >= 2: {rows}; candidate pairs: {len(pairs)} (top {len(found)} returned)"
    )
    print(f"baseline (blocking query + fetch), best of {repeat}: {best_base:.2f} s")
    print(f"find_candidates, best of {repeat}: {best_full:.2f} s")
    print(f"ratio find_candidates / baseline: {best_full / best_base:.2f}")
    print(f"recall: {len(recalled)}/{len(injected)} = {len(recalled) / max(len(injected), 1):.3f}")
    print(f"precision: {len(true_pairs)}/{len(pairs)} = {len(true_pairs) / max(len(pairs), 1):.3f}")
    print(f"peak RSS: {rss:.0f} MB; load average: {os.getloadavg()}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["load", "run"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--residents", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.action == "load":
        load(args.url, args.residents)
    else:
        run(args.url, args.repeat)


if __name__ == "__main__":
    main()
