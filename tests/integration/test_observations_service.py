from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from manbing.db.models import Observation
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.observations import ObservationKind, ObservationSource
from manbing.domain.organisations import Role
from manbing.services import observations
from manbing.services.observations import NewObservation
from tests.personas import actor_at


def _count(session_factory) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(Observation))


def _bp(resident_id, sbp, dbp, at, key=None) -> NewObservation:
    return NewObservation(
        resident_id=resident_id,
        kind=ObservationKind.BLOOD_PRESSURE,
        value=sbp,
        value2=dbp,
        effective_at=at,
        source=ObservationSource.CLINIC,
        idempotency_key=key,
    )


def test_an_sbp_of_400_is_refused_and_nothing_is_written(district, uow, clock):
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    resident_id = district.resident_ids["xixing-1"][0]
    before = _count(district.session_factory)
    with pytest.raises(InvalidInput) as err:
        observations.record(uow, doctor, _bp(resident_id, 400, 90, clock.now()), clock)
    assert err.value.field == "sbp"
    assert "收缩压" in err.value.message or "血压" in err.value.message
    assert _count(district.session_factory) == before


def test_a_reading_is_stored_once_per_idempotency_key(district, uow, clock):
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    resident_id = district.resident_ids["xixing-1"][0]
    before = _count(district.session_factory)
    at = clock.now() - timedelta(hours=1)
    first = observations.record(uow, doctor, _bp(resident_id, 185, 95, at, "visit-1"), clock)
    again = observations.record(uow, doctor, _bp(resident_id, 185, 95, at, "visit-1"), clock)
    assert first == again
    assert _count(district.session_factory) == before + 1
    with district.session_factory() as s:
        stored = s.get(Observation, first)
        assert stored.effective_at == at  # stored in UTC, returned aware
        assert stored.effective_at.tzinfo is not None
        assert (stored.value, stored.value2, stored.loinc) == (185, 95, "85354-9")


def test_future_and_naive_times_are_refused(district, uow, clock):
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    resident_id = district.resident_ids["xixing-1"][0]
    with pytest.raises(InvalidInput, match="effective_at"):
        observations.record(
            uow, doctor, _bp(resident_id, 120, 80, clock.now() + timedelta(days=1)), clock
        )
    with pytest.raises(InvalidInput, match="effective_at"):
        observations.record(uow, doctor, _bp(resident_id, 120, 80, datetime(2026, 1, 1)), clock)


def test_an_outsider_cannot_record_for_a_resident_elsewhere(district, uow, clock):
    other = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["changhe-1"])
    resident_id = district.resident_ids["xixing-1"][0]
    with pytest.raises(NotFound):
        observations.record(
            uow, other, _bp(resident_id, 120, 80, datetime(2026, 11, 1, tzinfo=UTC)), clock
        )


def test_a_critical_clinic_reading_opens_an_urgent_task_once(district, uow, clock):
    from manbing.db.models import WorklistTask
    from manbing.domain.tasks import TaskKind

    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    resident_id = district.resident_ids["xixing-1"][0]
    at = clock.now() - timedelta(minutes=5)
    observations.record(uow, doctor, _bp(resident_id, 179, 109, at, "normal-ish"), clock)
    critical = observations.record(uow, doctor, _bp(resident_id, 186, 100, at, "critical"), clock)
    observations.record(uow, doctor, _bp(resident_id, 186, 100, at, "critical"), clock)  # replayed
    with district.session_factory() as s:
        tasks = s.scalars(
            select(WorklistTask).where(WorklistTask.kind == TaskKind.URGENT_ALERT)
        ).all()
        assert [t.source_id for t in tasks] == [str(critical)]
        assert tasks[0].organization_id == district.orgs["xixing-1"]
        assert "186/100" in tasks[0].title and "门诊" in tasks[0].title
