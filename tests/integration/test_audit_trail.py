import itertools
import threading

import pytest
from sqlalchemy import event, select, update

from manbing.db.models import AuditEvent, Resident
from manbing.domain.audit import AuditAction
from manbing.domain.organisations import Role
from manbing.services import audit, followups, residents
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import TODAY
from tests.integration.helpers_clinic import enrolled_patient
from tests.personas import actor_at


def test_reads_are_audited_in_an_intact_chain_and_tampering_is_detected(district, uow, clock):
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    resident_id = district.resident_ids["xixing-1"][0]
    residents.get(uow, doctor, resident_id, clock)
    residents.search(uow, doctor, "王", clock)
    with district.session_factory() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.action for e in events][-2:] == [AuditAction.READ, AuditAction.SEARCH]
        assert events[-2].resident_id == resident_id and events[-2].actor_user_id == doctor.user_id
        assert audit.verify(s) is None
        s.execute(
            update(AuditEvent).where(AuditEvent.seq == events[-2].seq).values(entity_type="edited")
        )
        s.commit()
        broken = audit.verify(s)
        assert broken is not None and broken.event_id == str(events[-2].id)


def _commit_settings(engine):
    """``synchronous_commit`` as each commit of ``engine`` runs it (after the app's listener)."""
    seen: list[str] = []

    def show(conn) -> None:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute("SHOW synchronous_commit")
        seen.append(cursor.fetchone()[0])
        cursor.close()

    event.listen(engine, "commit", show)
    return seen


def test_only_read_access_commits_skip_the_wal_flush(engine, district, uow, clock):
    """A page read commits asynchronously; a clinical write, or a read recorded in the same
    transaction as a write, waits for its WAL flush (docs/adr/0009-audit-read-commits.md)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    rid = enrolled_patient(uow, doctor, district.orgs["xixing-1"], clock)
    seen = _commit_settings(engine)
    residents.get(uow, doctor, rid, clock)
    residents.search(uow, doctor, "王", clock)
    assert seen == ["off", "off"]
    seen.clear()
    followups.record(
        uow,
        doctor,
        followups.FollowUpInput(resident_id=rid, visit_date=TODAY, sbp=150, dbp=92),
        clock,
    )
    assert seen == ["on"]
    seen.clear()
    with uow:  # a write by plain SQL before the read event, and one after it
        uow.session.execute(update(Resident).where(Resident.id == rid).values(phone="13900000000"))
        audit.record(uow.session, doctor, AuditAction.READ, "resident", at=clock.now())
        uow.commit()
    with uow:
        audit.record(uow.session, doctor, AuditAction.READ, "resident", at=clock.now())
        uow.session.execute(update(Resident).where(Resident.id == rid).values(phone="13900000001"))
        uow.commit()
    with uow:  # an export is not a page read
        audit.record(uow.session, doctor, AuditAction.READ, "resident", at=clock.now())
        audit.record(uow.session, doctor, AuditAction.EXPORT, "resident", at=clock.now())
        uow.commit()
    assert seen == ["on", "on", "on"]


def test_the_chain_stays_intact_under_concurrent_readers_and_writers(engine, district, clock):
    """Eight threads append reads (asynchronous commits) and writes (durable) at once."""
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    ids = district.resident_ids["xixing-1"]
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def work(n: int) -> None:
        uow = UnitOfWork(district.session_factory)
        start.wait()
        try:
            for i in range(15):
                if (n + i) % 3:
                    residents.get(uow, doctor, ids[(n + i) % len(ids)], clock)
                else:
                    with uow:
                        audit.record(
                            uow.session, doctor, AuditAction.UPDATE, "resident", at=clock.now(),
                            detail={"thread": n, "i": i},
                        )  # fmt: skip
                        uow.commit()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    with district.session_factory() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert len([e for e in events if e.actor_user_id == doctor.user_id]) == 8 * 15
        assert audit.verify(s) is None
        assert all(e.prev_hash == p.hash for p, e in itertools.pairwise(events))
