"""A real legacy import commits in chunks of ``CHUNK_ROWS`` rows (so it never holds the write
lock for the whole file); a run stopped half way keeps its committed chunks and running the
file again completes it; a dry run still writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import AuditEvent, FollowUp, Resident
from manbing.domain.errors import Conflict
from manbing.services import followups, legacy_import, residents
from manbing.services.clock import FixedClock
from manbing.services.legacy_followups import import_followups
from manbing.services.legacy_import import Options, Outcome
from manbing.services.legacy_residents import import_residents
from manbing.services.unit_of_work import UnitOfWork
from tests.legacy_files import RESIDENT_HEADER, STATION, VISIT_HEADER, counts, csv_bytes, id_number


def _people(n: int) -> list[list[Any]]:
    rows: list[list[Any]] = [RESIDENT_HEADER]
    for k in range(n):
        birth = date(1950, 1, 1) + timedelta(days=40 * k)
        rows.append([f"C{k:04d}", "陈" + "春夏秋冬梅兰竹菊松柏"[k % 10] + "明亮"[k // 10], "男", "",
                     id_number(birth, k), "", "", "", "是", "", ""])  # fmt: skip
    return rows


def _visits(people: list[list[Any]], per: int) -> list[list[Any]]:
    rows: list[list[Any]] = [VISIT_HEADER]
    for k in range(per):  # the file lists the visits newest first: the import sorts them
        day = date(2026, 10, 1) - timedelta(days=90 * k)
        for person in people[1:]:
            rows.append([person[4], "", "", day.isoformat(), "门诊", "150", "95", "", "", "",
                         "规律", ""])  # fmt: skip
    return rows


def _options(dry_run: bool = False) -> Options:
    return Options(STATION, "jbgw", dry_run=dry_run)


def _commits(engine: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda _conn: seen.append(1))
    return seen


@pytest.fixture
def chunk_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(legacy_import, "CHUNK_ROWS", 2)


@pytest.mark.usefixtures("district", "chunk_of_two")
def test_the_number_of_commits_grows_with_the_file(
    engine: Engine, uow: UnitOfWork, clock: FixedClock
) -> None:
    commits = _commits(engine)
    import_residents(uow, clock, csv_bytes(_people(3)), _options())
    small = len(commits)
    commits.clear()
    report = import_residents(uow, clock, csv_bytes(_people(9)), _options())
    assert report.counts == {Outcome.MATCHED: 3, Outcome.CREATED: 6}
    assert [r.line for r in report.rows] == list(range(2, 11))
    # chunks of 2 rows, then the last chunk with the run's audit event
    assert (small, len(commits)) == (2, 5)


@pytest.mark.usefixtures("district", "chunk_of_two")
def test_a_run_stopped_in_chunk_3_keeps_chunks_1_and_2_and_a_rerun_completes_it(
    district: Any, uow: UnitOfWork, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory: sessionmaker[Session] = district.session_factory
    before = counts(factory)
    data = csv_bytes(_people(7))
    real = residents.register_in
    calls: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 6:  # the second row of chunk 3
            raise RuntimeError("the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(residents, "register_in", failing)
    with pytest.raises(RuntimeError):
        import_residents(uow, clock, data, _options())
    assert counts(factory)["residents"] == before["residents"] + 4
    with factory() as s:
        summary = s.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "legacy_import_residents")
        ).one()
        assert summary.detail is not None
        assert summary.detail["interrupted"] and summary.detail["created"] == 4
    monkeypatch.setattr(residents, "register_in", real)
    again = import_residents(uow, clock, data, _options())
    assert again.counts == {Outcome.MATCHED: 4, Outcome.CREATED: 3}
    assert counts(factory)["residents"] == before["residents"] + 7
    with factory() as s:
        names = list(s.scalars(select(Resident.name).where(Resident.name.like("陈%"))))
        assert len(names) == len(set(names)) == 7


@pytest.mark.usefixtures("chunk_of_two")
def test_a_database_failure_between_chunks_is_reported_and_a_rerun_completes_the_file(
    district: Any, uow: UnitOfWork, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory: sessionmaker[Session] = district.session_factory
    before = counts(factory)["residents"]
    data = csv_bytes(_people(7))
    pauses: list[int] = []

    def lock_not_granted(session: Session) -> None:
        pauses.append(1)
        if len(pauses) == 2:
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(legacy_import, "let_other_writers_in", lock_not_granted)
    with pytest.raises(Conflict) as stopped:
        import_residents(uow, clock, data, _options())
    assert "已保存4行" in stopped.value.message and "database is locked" in stopped.value.message
    assert "import the same file again" in stopped.value.message_en
    assert counts(factory)["residents"] == before + 4
    again = import_residents(uow, clock, data, _options())
    assert again.counts == {Outcome.MATCHED: 4, Outcome.CREATED: 3}
    assert counts(factory)["residents"] == before + 7


@pytest.mark.usefixtures("chunk_of_two")
def test_visits_stopped_half_way_are_completed_in_date_order_by_a_rerun(
    district: Any, uow: UnitOfWork, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory: sessionmaker[Session] = district.session_factory
    people = _people(2)
    import_residents(uow, clock, csv_bytes(people), _options())
    data = csv_bytes(_visits(people, 3))
    before = len(_stored_visits(factory))
    real = followups.record_in
    calls: list[tuple[object, date]] = []  # (resident, visit date) as recorded

    def spy(*args: Any, **kwargs: Any) -> Any:
        data = args[2]
        calls.append((data.resident_id, data.visit_date))
        if len(calls) == 5:  # the first visit of chunk 3 of the first run
            raise RuntimeError("the connection was lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(followups, "record_in", spy)
    with pytest.raises(RuntimeError):
        import_followups(uow, clock, data, _options())
    assert len(_stored_visits(factory)) == before + 4  # the two oldest visits of both
    again = import_followups(uow, clock, data, _options())
    assert again.counts == {Outcome.ALREADY_IMPORTED: 4, Outcome.ADDED: 2}
    visits = _stored_visits(factory)
    assert len(visits) == before + 6 and len(set(visits)) == len(visits)
    for run in (calls[:5], calls[5:]):  # each run recorded every resident's visits by date
        for resident in {r for r, _ in run}:
            dates = [d for r, d in run if r == resident]
            assert dates == sorted(dates) and len(dates) >= 2


def _stored_visits(factory: sessionmaker[Session]) -> list[tuple[object, date]]:
    with factory() as s:
        return [(r, d) for r, d in s.execute(select(FollowUp.resident_id, FollowUp.visit_date))]


@pytest.mark.usefixtures("chunk_of_two")
def test_a_dry_run_commits_nothing_and_reports_what_the_run_does(
    district: Any, engine: Engine, uow: UnitOfWork, clock: FixedClock
) -> None:
    factory: sessionmaker[Session] = district.session_factory
    data = csv_bytes([*_people(7), ["C9999", "", "", "", "", "", "", "", "", "", ""]])
    before = counts(factory)
    commits = _commits(engine)
    dry = import_residents(uow, clock, data, _options(dry_run=True))
    assert commits == [] and counts(factory) == before
    real = import_residents(uow, clock, data, _options())
    assert [(r.line, r.outcome, r.note) for r in dry.rows] == [
        (r.line, r.outcome, r.note) for r in real.rows
    ]
    assert dry.counts == {Outcome.CREATED: 7, Outcome.ERROR: 1}
