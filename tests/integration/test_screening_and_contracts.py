"""BP screening (≥35, risk factors, enrolment after three raised days) and family-doctor contracts."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from manbing.db.models import Team, WorklistTask
from manbing.domain.contracts import ContractStatus
from manbing.domain.errors import Conflict, InvalidInput, NotFound
from manbing.domain.organisations import Role
from manbing.domain.programmes import Programme
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.domain.values import Sex
from manbing.services import contracts, enrolments, residents, screening, worklist
from tests.conftest import TODAY
from tests.personas import actor_at


@pytest.fixture
def doctor(district):
    return actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])


def _new_resident(uow, doctor, district, clock, birth=date(1966, 3, 3)):
    return residents.register(
        uow,
        doctor,
        residents.NewResident(
            name="筛查对象", division_code="330108001001",
            managing_org_id=district.orgs["xixing-1"], sex=Sex.FEMALE, birth_date=birth,
            confirm_not_duplicate=True,
        ),
        clock,
    ).id  # fmt: skip


def test_three_raised_screening_days_suggest_enrolment_and_enrolling_closes_the_task(
    district, uow, clock, doctor
):
    rid = _new_resident(uow, doctor, district, clock)
    outcomes = [
        screening.record_bp(
            uow,
            doctor,
            screening.BpScreening(
                resident_id=rid, sbp=152, dbp=92, screened_on=TODAY - timedelta(days=d),
                bmi=26.0, family_history=True,
            ),
            clock,
        )
        for d in (14, 7, 7, 0)
    ]  # fmt: skip
    assert [o.raised_days for o in outcomes] == [1, 2, 2, 3]
    assert [o.suggest_enrolment for o in outcomes] == [False, False, False, True]
    assert "family_history" in outcomes[0].risk_factors
    assert "overweight_or_obesity" in outcomes[0].risk_factors
    assert [t.resident_id for t in worklist.build(uow, doctor, clock).screening] == [rid]
    enrolments.enrol(uow, doctor, rid, Programme.HYPERTENSION, clock)
    with district.session_factory() as s:
        task = s.scalars(select(WorklistTask).where(WorklistTask.resident_id == rid)).one()
        assert task.kind is TaskKind.SCREENING_CONFIRMATION and task.status is TaskStatus.DONE
    work = worklist.build(uow, doctor, clock)
    assert work.screening == []
    assert any(d.resident_id == rid and d.last_visit is None for d in work.due)


def test_screening_is_for_residents_aged_35_and_over_with_plausible_readings(
    district, uow, clock, doctor
):
    young = _new_resident(uow, doctor, district, clock, birth=date(2000, 1, 1))
    with pytest.raises(InvalidInput) as err:
        screening.record_bp(uow, doctor, screening.BpScreening(young, 150, 95), clock)
    assert "35岁" in err.value.message
    rid = _new_resident(uow, doctor, district, clock)
    with pytest.raises(InvalidInput) as err:
        screening.record_bp(uow, doctor, screening.BpScreening(rid, 90, 95), clock)
    assert err.value.field == "sbp"
    normal = screening.record_bp(uow, doctor, screening.BpScreening(rid, 118, 76), clock)
    assert normal.result == "normal" and not normal.suggest_enrolment


def test_a_contract_is_signed_once_renewed_and_listed_when_expiring(district, uow, clock, doctor):
    rid = _new_resident(uow, doctor, district, clock)
    teams, packages = contracts.options(uow, doctor)
    assert teams and len(packages) == 2
    signed = contracts.sign(
        uow, doctor, rid, teams[0].id, packages[1].id, clock, start=TODAY - timedelta(days=350)
    )
    assert signed.end_date == TODAY - timedelta(days=350) + timedelta(days=364)
    with pytest.raises(Conflict):
        contracts.sign(uow, doctor, rid, teams[0].id, packages[0].id, clock)
    assert [c.id for c in contracts.expiring(uow, doctor, clock)] == [signed.id]
    assert [c.id for c in worklist.build(uow, doctor, clock).contracts] == [signed.id]
    renewed = contracts.renew(uow, doctor, signed.id, clock)
    assert renewed.start_date == signed.end_date + timedelta(days=1)
    assert renewed.status is ContractStatus.ACTIVE
    assert contracts.expiring(uow, doctor, clock) == []
    with pytest.raises(Conflict):
        contracts.renew(uow, doctor, signed.id, clock)


def test_a_doctor_cannot_sign_to_another_centres_team_or_renew_its_contracts(
    district, uow, clock, doctor
):
    rid = _new_resident(uow, doctor, district, clock)
    with district.session_factory() as s:
        other_team = s.scalars(
            select(Team.id).where(Team.organization_id == district.orgs["changhe-1"])
        ).one()
    _, packages = contracts.options(uow, doctor)
    with pytest.raises(InvalidInput):
        contracts.sign(uow, doctor, rid, other_team, packages[0].id, clock)
    teams, _ = contracts.options(uow, doctor)
    signed = contracts.sign(uow, doctor, rid, teams[0].id, packages[0].id, clock)
    outsider = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["changhe-1"])
    with pytest.raises(NotFound):
        contracts.renew(uow, outsider, signed.id, clock)
