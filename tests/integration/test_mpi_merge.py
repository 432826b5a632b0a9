"""Master patient index: candidates, merge and not-duplicate decisions on both back-ends."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from manbing.db.models import (
    AuditEvent,
    Contract,
    DtxLesson,
    Enrolment,
    EnrolmentStatusChange,
    NotDuplicate,
    Resident,
    ResidentIdentifier,
)
from manbing.db.models.residents import RECORD_NUMBER_SYSTEM
from manbing.domain.audit import AuditAction
from manbing.domain.contracts import ContractStatus
from manbing.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from manbing.domain.organisations import Role
from manbing.domain.programmes import Programme
from manbing.domain.residents import ResidentStatus
from manbing.services import audit, contracts, enrolments, mpi, residents
from manbing.services import mpi_references as refs
from tests.personas import actor_at

EXPECTED_PLAN = {
    "audit_events.resident_id": "keep",
    "conditions.resident_id": "move",
    "contracts.resident_id": "move",
    "device_binding_codes.resident_id": "move",
    "devices.resident_id": "move",
    "dtx_dose_confirmations.resident_id": "fold",
    "dtx_enrolments.resident_id": "fold",
    "dtx_lessons.resident_id": "fold",
    "enrolments.resident_id": "fold",
    "follow_ups.resident_id": "move",
    "health_checks.resident_id": "move",
    "medication_statements.resident_id": "move",
    "messages.resident_id": "move",
    "mpi_not_duplicates.high_id": "pairs",
    "mpi_not_duplicates.low_id": "pairs",
    "observations.resident_id": "move",
    "referrals.resident_id": "move",
    "resident_identifiers.resident_id": "move",
    "residents.merged_into_id": "chain",
    "risk_assessments.resident_id": "move",
    "screening_results.resident_id": "move",
    "users.resident_id": "move",
    "worklist_tasks.resident_id": "move",
}


def test_every_foreign_key_to_residents_has_a_reviewed_merge_strategy() -> None:
    """A new table referencing residents fails here until its merge strategy is checked."""
    found = {f"{r.table.name}.{r.column.name}": r.strategy.value for r in refs.plan()}
    assert found == EXPECTED_PLAN


def _counts(session, ids) -> dict[str, int]:
    out = {}
    for ref in refs.plan():
        if ref.strategy in (refs.Strategy.MOVE, refs.Strategy.FOLD):
            out[f"{ref.table.name}"] = session.scalar(
                select(func.count()).select_from(ref.table).where(ref.column.in_(ids))
            )
    return out


@pytest.fixture
def pair(district, uow, clock):
    """Two xixing residents, both in the hypertension programme, made into a typo duplicate."""
    manager = actor_at(district.session_factory, Role.CENTRE_MANAGER, district.orgs["xixing"])
    survivor_id = district.resident_ids["xixing-1"][0]
    duplicate_id = district.resident_ids["xixing-2"][0]
    for rid in (survivor_id, duplicate_id):
        with contextlib.suppress(Conflict):
            enrolments.enrol(uow, manager, rid, Programme.HYPERTENSION, clock)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with district.session_factory() as session:
        s = session.get(Resident, survivor_id)
        session.execute(
            update(Resident)
            .where(Resident.id == duplicate_id)
            .values(
                name=s.name[:-1] + ("伟" if s.name[-1] != "伟" else "芳"),
                sex=s.sex,
                birth_date=s.birth_date,
                id_number=None,
                phone=s.phone,
            )
        )
        for rid, done in ((survivor_id, None), (duplicate_id, now)):
            session.add(
                DtxLesson(resident_id=rid, lesson_code="salt-1", reason="r", completed_at=done)
            )
        session.add(DtxLesson(resident_id=duplicate_id, lesson_code="walk-1", reason="r"))
        third = district.resident_ids["xixing-1"][1]
        low, high = sorted([duplicate_id, third])
        session.add(NotDuplicate(low_id=low, high_id=high, decided_at=now))
        session.commit()
    return manager, survivor_id, duplicate_id


def test_the_typo_duplicate_is_a_candidate_and_only_in_scope(pair, district, uow, clock):
    manager, survivor_id, duplicate_id = pair
    found = mpi.find_candidates(uow, manager, clock)
    pairs = {frozenset((c.a.view.id, c.b.view.id)): c for c in found}
    hit = pairs[frozenset((survivor_id, duplicate_id))]
    assert hit.match.level >= mpi.MatchLevel.PROBABLE
    assert not hit.a.view.masked
    other = actor_at(district.session_factory, Role.CENTRE_MANAGER, district.orgs["changhe"])
    assert frozenset((survivor_id, duplicate_id)) not in {
        frozenset((c.a.view.id, c.b.view.id)) for c in mpi.find_candidates(uow, other, clock)
    }
    scoped = mpi.find_candidates(uow, manager, clock, org_code="330108001-S02")
    assert all(c.a.view.managing_org_id == district.orgs["xixing-2"] for c in scoped)
    with pytest.raises(NotFound):
        mpi.find_candidates(uow, other, clock, org_code="330108001-S01")


def test_a_not_duplicate_decision_removes_the_pair(pair, uow, clock):
    manager, survivor_id, duplicate_id = pair
    assert mpi.mark_not_duplicate(uow, manager, duplicate_id, survivor_id, clock, "双胞胎")
    assert not mpi.mark_not_duplicate(uow, manager, survivor_id, duplicate_id, clock)
    found = mpi.find_candidates(uow, manager, clock)
    assert frozenset((survivor_id, duplicate_id)) not in {
        frozenset((c.a.view.id, c.b.view.id)) for c in found
    }


def test_merge_moves_everything_and_loses_nothing(pair, district, uow, clock):
    manager, survivor_id, duplicate_id = pair
    ids = [survivor_id, duplicate_id]
    with district.session_factory() as session:
        before = _counts(session, ids)
        history_before = session.scalar(select(func.count()).select_from(EnrolmentStatusChange))
        dup_record = session.get(Resident, duplicate_id).record_number
    result = mpi.merge(uow, manager, survivor_id, duplicate_id, clock)
    assert result.folded == {"enrolments.resident_id": 1, "dtx_lessons.resident_id": 1}
    with district.session_factory() as session:
        after = _counts(session, ids)
        for table, n in before.items():
            folded = sum(v for k, v in result.folded.items() if k.startswith(table + "."))
            added = 1 if table == "resident_identifiers" else 0  # the old record number
            assert after[table] == n - folded + added, table
        assert _counts(session, [duplicate_id]) == {t: 0 for t in before}
        assert (
            session.scalar(select(func.count()).select_from(EnrolmentStatusChange))
            == history_before
        )
        enrolment = session.scalars(
            select(Enrolment).where(
                Enrolment.resident_id == survivor_id,
                Enrolment.programme == Programme.HYPERTENSION,
            )
        ).one()
        assert len(enrolment.history) >= 2
        lesson = session.scalars(
            select(DtxLesson).where(
                DtxLesson.resident_id == survivor_id, DtxLesson.lesson_code == "salt-1"
            )
        ).one()
        assert lesson.completed_at is not None
        dup = session.get(Resident, duplicate_id)
        assert dup.status is ResidentStatus.MERGED and dup.merged_into_id == survivor_id
        assert dup.status_date == clock.today()
        assert (
            session.scalar(
                select(ResidentIdentifier.resident_id).where(
                    ResidentIdentifier.system == RECORD_NUMBER_SYSTEM,
                    ResidentIdentifier.value == dup_record,
                )
            )
            == survivor_id
        )
        pairs = session.execute(select(NotDuplicate.low_id, NotDuplicate.high_id)).all()
        assert all(duplicate_id not in p for p in pairs) and len(pairs) == 1
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.MERGE)
        ).one()
        assert event.resident_id == survivor_id and event.entity_id == str(duplicate_id)
        assert audit.verify(session) is None
    # merged records leave search and the candidate list
    assert duplicate_id not in {v.id for v in residents.search(uow, manager, "", clock, limit=200)}
    assert duplicate_id not in {
        i for c in mpi.find_candidates(uow, manager, clock) for i in (c.a.view.id, c.b.view.id)
    }
    assert mpi.merged_target(uow, manager, duplicate_id) == (
        survivor_id,
        residents.get(uow, manager, survivor_id, clock).record_number,
    )
    with pytest.raises(Conflict):
        mpi.merge(uow, manager, survivor_id, duplicate_id, clock)
    with pytest.raises(Conflict):
        mpi.merge(uow, manager, duplicate_id, survivor_id, clock)


def test_refusals_are_clear_and_change_nothing(pair, district, uow, clock):
    manager, survivor_id, duplicate_id = pair
    with district.session_factory() as session:
        before = _counts(session, [survivor_id, duplicate_id])
    unrelated = district.resident_ids["xixing-2"][1]
    cases = [
        (InvalidInput, survivor_id, survivor_id),
        (NotFound, survivor_id, uuid.uuid4()),
        (NotFound, uuid.uuid4(), duplicate_id),
        (NotFound, survivor_id, district.resident_ids["changhe-1"][0]),
        (Conflict, survivor_id, unrelated),
    ]
    for kind, a, b in cases:
        with pytest.raises(kind) as caught:
            mpi.merge(uow, manager, a, b, clock)
        assert isinstance(caught.value, DomainError) and caught.value.message
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    with pytest.raises(Forbidden):
        mpi.merge(uow, doctor, survivor_id, duplicate_id, clock)
    with pytest.raises(Forbidden):
        mpi.find_candidates(uow, doctor, clock)
    outsider = actor_at(district.session_factory, Role.CENTRE_MANAGER, district.orgs["changhe"])
    with pytest.raises(NotFound):
        mpi.merge(uow, outsider, survivor_id, duplicate_id, clock)
    with pytest.raises(NotFound):
        mpi.mark_not_duplicate(uow, outsider, survivor_id, duplicate_id, clock)
    with pytest.raises(InvalidInput):
        mpi.mark_not_duplicate(uow, manager, survivor_id, survivor_id, clock)
    with pytest.raises(InvalidInput):
        mpi.find_candidates(uow, manager, clock, limit=0)
    with district.session_factory() as session:
        assert _counts(session, [survivor_id, duplicate_id]) == before
        assert session.get(Resident, duplicate_id).status is ResidentStatus.ACTIVE


def test_concurrent_merges_of_the_same_record_merge_it_once(pair, district, clock):
    """Two managers press "merge" at once: one merge happens, the other is refused (409)."""
    import threading

    from manbing.services.unit_of_work import UnitOfWork

    manager, survivor_id, duplicate_id = pair
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def attempt() -> None:
        start.wait()
        try:
            outcomes.append(
                mpi.merge(
                    UnitOfWork(district.session_factory), manager, survivor_id, duplicate_id, clock
                )
            )
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    merged = [o for o in outcomes if isinstance(o, mpi.MergeResult)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(merged) == 1 and len(refused) == 1, outcomes
    with district.session_factory() as session:
        events = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == AuditAction.MERGE)
        )
        assert events == 1 and audit.verify(session) is None


def test_registering_an_id_number_left_on_a_merged_record_points_to_its_survivor(
    pair, district, uow, clock
):
    """The kept record carries a mistyped check character and the merged copy the valid
    number, which stays on the merged record; registration must name the record the
    resident now lives in, not the merged shell."""
    manager, survivor_id, duplicate_id = pair
    with district.session_factory() as session:
        valid = session.get(Resident, survivor_id).id_number
        wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
        session.execute(update(Resident).where(Resident.id == survivor_id).values(id_number=wrong))
        session.execute(update(Resident).where(Resident.id == duplicate_id).values(id_number=valid))
        session.commit()
    mpi.merge(uow, manager, survivor_id, duplicate_id, clock)
    with district.session_factory() as session:
        # a merge now corrects the number (see the next test); records merged before that
        # still hold it on the merged copy
        assert session.get(Resident, survivor_id).id_number == valid
        session.execute(update(Resident).where(Resident.id == survivor_id).values(id_number=wrong))
        session.execute(update(Resident).where(Resident.id == duplicate_id).values(id_number=valid))
        session.commit()
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    new = residents.NewResident(
        name="新居民",
        division_code="330108001001",
        managing_org_id=district.orgs["xixing-1"],
        id_number=valid,
    )
    with pytest.raises(residents.DuplicateResident) as refused:
        residents.register(uow, doctor, new, clock)
    assert refused.value.existing_id == survivor_id


def test_a_valid_id_number_replaces_the_survivors_mistyped_one(pair, district, uow, clock):
    manager, survivor_id, duplicate_id = pair
    with district.session_factory() as session:
        valid = session.get(Resident, survivor_id).id_number
        wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
        session.execute(update(Resident).where(Resident.id == survivor_id).values(id_number=wrong))
        session.execute(update(Resident).where(Resident.id == duplicate_id).values(id_number=valid))
        session.commit()
    result = mpi.merge(uow, manager, survivor_id, duplicate_id, clock)
    assert result.folded["residents.id_number"] == 1
    with district.session_factory() as session:
        assert session.get(Resident, survivor_id).id_number == valid
        assert session.get(Resident, duplicate_id).id_number is None


def test_a_valid_survivor_id_number_is_kept(pair, district, uow, clock):
    manager, survivor_id, duplicate_id = pair
    with district.session_factory() as session:
        kept = session.get(Resident, survivor_id).id_number
    result = mpi.merge(uow, manager, survivor_id, duplicate_id, clock)
    assert "residents.id_number" not in result.folded
    with district.session_factory() as session:
        assert session.get(Resident, survivor_id).id_number == kept


def test_after_a_merge_the_person_holds_one_active_contract(pair, district, uow, clock):
    manager, survivor_id, duplicate_id = pair
    signed = []
    for station, rid, start_days_ago in (
        ("xixing-1", survivor_id, 300),
        ("xixing-2", duplicate_id, 30),
    ):
        doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs[station])
        teams, packages = contracts.options(uow, doctor)
        start = clock.today() - timedelta(days=start_days_ago)
        signed.append(
            contracts.sign(uow, doctor, rid, teams[0].id, packages[0].id, clock, start=start)
        )
    older, newer = signed
    result = mpi.merge(uow, manager, survivor_id, duplicate_id, clock)
    assert result.folded["contracts.active"] == 1
    with district.session_factory() as session:
        rows = {
            c.id: c
            for c in session.scalars(select(Contract).where(Contract.resident_id == survivor_id))
        }
        assert set(rows) == {older.id, newer.id}  # nothing lost
        assert rows[newer.id].status is ContractStatus.ACTIVE  # runs longest
        assert rows[older.id].status is ContractStatus.TERMINATED
        assert rows[older.id].end_date == clock.today()
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.MERGE)
        ).one()
        assert event.detail["folded_rows"]["contracts.active"] == [{"ended": str(older.id)}]


def test_the_survivor_takes_the_follow_up_schedule_of_the_moved_visits(pair, district, uow, clock):
    from manbing.services import followups
    from tests.conftest import TODAY
    from tests.integration.test_follow_up_schedule import assert_schedules_right

    manager, survivor_id, duplicate_id = pair
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-2"])
    visit = followups.record(
        uow,
        doctor,
        followups.FollowUpInput(resident_id=duplicate_id, visit_date=TODAY, sbp=170, dbp=100),
        clock,
    )
    mpi.merge(uow, manager, survivor_id, duplicate_id, clock)
    with district.session_factory() as session:
        survivor = session.get(Resident, survivor_id)
        duplicate = session.get(Resident, duplicate_id)
        assert (survivor.last_follow_up_id, survivor.follow_up_due_on) == (
            visit.id,
            visit.next_visit_date,
        )
        assert (duplicate.follow_up_due_on, duplicate.last_follow_up_id) == (None, None)
    assert_schedules_right(district.session_factory)
