"""The fixed district through the warehouse extract, the indicators, the stored results and
the dashboards' reporting facade, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update

from manbing.analytics import warehouse
from manbing.analytics.compute import compute
from manbing.analytics.engine import open_duckdb
from manbing.analytics.periods import parse_period
from manbing.cli.analytics import rows_of
from manbing.db.models import FollowUp, IndicatorResult, Resident
from manbing.domain.errors import NotFound
from manbing.domain.organisations import Role
from manbing.services import reports
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import District
from tests.personas import actor_at
from tests.store_helpers import another_extract

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _ids(directory: Path, table: str) -> list[str]:
    return pq.read_table(directory / table, columns=["id"]).column("id").to_pylist()


def test_the_first_extract_is_full_and_later_ones_copy_only_changed_rows(
    district: District, tmp_path: Path
) -> None:
    factory = district.session_factory
    with factory() as session:
        first = {t.table: t for t in warehouse.extract(session, tmp_path, now=T0)}
        residents_in_db = session.scalar(select(Resident.id).limit(1))
        total = len(session.scalars(select(Resident.id)).all())
    assert first["residents"].full and first["residents"].rows == total
    assert len(_ids(tmp_path, "residents")) == total
    with factory() as session:
        # Make every row look old, then change one resident and add one follow-up.
        session.execute(update(Resident).values(updated_at=datetime(2020, 1, 1, tzinfo=UTC)))
        session.execute(update(FollowUp).values(updated_at=datetime(2020, 1, 1, tzinfo=UTC)))
        session.commit()
    with factory() as session:
        warehouse.extract(session, tmp_path, now=T0)  # moves the watermarks to 2020
        # Rows older than the watermark (minus its overlap) are not read again.
        session.execute(update(Resident).values(updated_at=datetime(2019, 1, 1, tzinfo=UTC)))
        session.execute(update(FollowUp).values(updated_at=datetime(2019, 1, 1, tzinfo=UTC)))
        session.commit()
    with factory() as session:
        resident = session.get(Resident, residents_in_db)
        assert resident is not None
        resident.address = "新地址"
        session.commit()
    with factory() as session:
        second = {t.table: t for t in warehouse.extract(session, tmp_path, now=T0)}
    assert not second["residents"].full
    assert second["residents"].rows == 1
    assert second["follow_ups"].rows == 0
    ids = _ids(tmp_path, "residents")
    assert len(ids) == len(set(ids)) == total  # the changed row replaced its old version
    table = pq.read_table(tmp_path / "residents").to_pylist()
    assert {r["address"] for r in table if r["id"] == str(residents_in_db)} == {"新地址"}


def test_indicators_on_the_extracted_district_are_stored_and_scoped_by_actor(
    district: District, tmp_path: Path
) -> None:
    factory = district.session_factory
    with factory() as session:
        warehouse.extract(session, tmp_path, now=T0)
    wh = open_duckdb(tmp_path)
    rows = []
    for label in ("2026Q2", "2026Q3"):
        rows += rows_of(compute(wh, parse_period(label)))
    wh.close()
    uow = UnitOfWork(factory)
    stored = reports.store(uow, rows, engine="duckdb", now=T0)
    assert stored == len(rows)
    # Storing again replaces rather than duplicates.
    reports.store(uow, rows, engine="duckdb", now=T0)
    with factory() as session:
        assert len(session.scalars(select(IndicatorResult.id)).all()) == len(rows)

    analyst = actor_at(factory, Role.CDC_ANALYST, district.orgs["cdc"])
    board = reports.dashboard(UnitOfWork(factory), analyst, None, None, "2026Q3")
    assert (board.unit.kind, board.unit.id) == ("division", "330108")
    managed = board.numbers["htn_managed"].numerator
    centres = {u.name: n for u, n in board.children}
    assert len(centres) == 2
    assert sum(n["htn_managed"].numerator for n in centres.values()) == managed
    assert [p for p, _ in board.trends["htn_managed"]] == ["2026Q2", "2026Q3"]
    assert set(board.by_sex) <= {"M", "F"}

    doctor = actor_at(factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    own = reports.dashboard(UnitOfWork(factory), doctor, None, None, "2026Q3")
    assert own.unit.id == str(district.orgs["xixing-1"])
    assert own.numbers["htn_managed"].numerator <= managed
    with pytest.raises(NotFound):
        reports.dashboard(
            UnitOfWork(factory), doctor, "org", str(district.orgs["changhe-1"]), "2026Q3"
        )
    with pytest.raises(NotFound):
        reports.dashboard(UnitOfWork(factory), doctor, "division", "330108", "2026Q3")
    with pytest.raises(NotFound):
        reports.dashboard(UnitOfWork(factory), doctor, "org", str(uuid.uuid4()), "2026Q3")


def test_the_control_rate_on_the_fixed_district_matches_the_rules_engine(
    district: District, tmp_path: Path
) -> None:
    """Cross-check the ibis definition against ``domain.rules`` applied row by row."""
    from manbing.db.models import Enrolment
    from manbing.domain.residents import age_on
    from manbing.domain.rules.blood_pressure import is_bp_controlled

    period = parse_period("2026Q3")
    factory = district.session_factory
    with factory() as session:
        warehouse.extract(session, tmp_path, now=T0)
        expected_num = expected_den = 0
        for enrolment in session.scalars(
            select(Enrolment).where(Enrolment.programme == "hypertension")
        ):
            resident = session.get(Resident, enrolment.resident_id)
            assert resident is not None
            visits = session.scalars(
                select(FollowUp)
                .where(
                    FollowUp.resident_id == resident.id,
                    FollowUp.form.in_(["hypertension", "combined"]),
                    FollowUp.visit_date.between(period.start, period.end),
                )
                .order_by(FollowUp.visit_date.desc())
            ).all()
            if not visits:
                continue
            expected_den += 1
            last = visits[0]
            if last.sbp is not None and last.dbp is not None:
                expected_num += is_bp_controlled(
                    last.sbp, last.dbp, age_on(resident.birth_date, last.visit_date)
                )
    wh = open_duckdb(tmp_path)
    got = [
        r
        for r in compute(wh, period, codes=["htn_bp_control_rate"])
        if (r.unit_kind, r.unit_id, r.sex, r.age_band) == ("division", "330108", "*", "*")
    ]
    wh.close()
    assert expected_den > 5
    assert (got[0].numerator, got[0].denominator) == (expected_num, expected_den)
    assert date(2026, 9, 30) == period.end


def test_an_extract_while_another_runs_is_refused_and_changes_nothing(
    district: District, tmp_path: Path
) -> None:
    factory = district.session_factory
    with factory() as session:
        warehouse.extract(session, tmp_path, now=T0)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    lock = tmp_path / warehouse.EXTRACT_LOCK_FILE
    with (
        another_extract(tmp_path, pid="6161"),
        factory() as session,
        pytest.raises(warehouse.ExtractRunning) as refused,
    ):
        warehouse.extract(session, tmp_path, now=T0, full=True)
    assert "另一个抽取正在进行（进程 6161）" in refused.value.message
    assert "another extract is running (process 6161)" in refused.value.message_en
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert {p: t for p, t in after.items() if p != lock} == {
        p: t for p, t in before.items() if p != lock
    }


def test_two_extracts_at_once_leave_one_consistent_warehouse(
    district: District, tmp_path: Path
) -> None:
    factory = district.session_factory
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        with factory() as session:
            start.wait()
            try:
                warehouse.extract(session, tmp_path, now=T0)
                outcomes.append("extracted")
            except warehouse.ExtractRunning:
                outcomes.append("refused")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["extracted", "refused"], ["extracted", "extracted"])
    with factory() as session:
        total = len(session.scalars(select(Resident.id)).all())
    ids = _ids(tmp_path, "residents")
    assert len(ids) == len(set(ids)) == total
    assert [p.name for p in tmp_path.rglob(".*.writing")] == []  # no half-written file left
