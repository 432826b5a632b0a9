"""Organisation-scoped access, tested with personas.

The resident belongs to station 西兴第1站 (centre 西兴). Personas: the clinician in charge (same
station), a colleague elsewhere in the same centre, the centre manager, an outsider doctor in
another district, the district CDC analyst, a hospital specialist, the patient, the administrator.
"""

import pytest

from manbing.domain.errors import Forbidden, NotFound
from manbing.domain.organisations import Role
from manbing.services import residents
from tests.personas import actor_at, other_district_station


@pytest.fixture
def resident_id(district):
    return district.resident_ids["xixing-1"][0]


def _can_read(uow, actor, resident_id, clock) -> bool:
    try:
        residents.get(uow, actor, resident_id, clock)
        return True
    except NotFound:
        return False


def _found_by_search(uow, actor, resident_id, clock) -> bool:
    with uow:
        from manbing.db.models import Resident

        record = uow.session.get(Resident, resident_id).record_number
    try:
        return any(r.id == resident_id for r in residents.search(uow, actor, record, clock))
    except Forbidden:
        return False


def test_the_clinician_in_charge_reads_and_finds_the_record_unmasked(
    district, uow, clock, resident_id
):
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    seen = residents.get(uow, doctor, resident_id, clock)
    assert not seen.masked and len(seen.id_number or "") == 18
    assert _found_by_search(uow, doctor, resident_id, clock)


def test_a_colleague_at_another_station_of_the_same_centre_cannot(
    district, uow, clock, resident_id
):
    colleague = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-2"])
    assert not _can_read(uow, colleague, resident_id, clock)
    assert not _found_by_search(uow, colleague, resident_id, clock)


def test_the_centre_manager_sees_every_station_of_the_centre(district, uow, clock, resident_id):
    manager = actor_at(district.session_factory, Role.CENTRE_MANAGER, district.orgs["xixing"])
    assert _can_read(uow, manager, resident_id, clock)
    other_centre = district.resident_ids["changhe-1"][0]
    assert not _can_read(uow, manager, other_centre, clock)


def test_an_outsider_in_another_district_cannot_read_or_find(district, uow, clock, resident_id):
    outsider = actor_at(
        district.session_factory,
        Role.FAMILY_DOCTOR,
        other_district_station(district.session_factory),
    )
    assert not _can_read(uow, outsider, resident_id, clock)
    assert not _found_by_search(uow, outsider, resident_id, clock)


def test_the_district_cdc_analyst_sees_the_district_masked(district, uow, clock, resident_id):
    analyst = actor_at(district.session_factory, Role.CDC_ANALYST, district.orgs["cdc"])
    seen = residents.get(uow, analyst, resident_id, clock)
    assert seen.masked
    assert seen.id_number is not None and "*" in seen.id_number
    assert seen.phone is not None and "*" in seen.phone
    assert seen.address is None
    assert _can_read(uow, analyst, district.resident_ids["changhe-2"][0], clock)


def test_a_hospital_specialist_sees_only_residents_referred_to_the_hospital(
    district, uow, clock, resident_id
):
    import uuid

    from manbing.db.models import Referral
    from manbing.domain.referrals import Direction, ReferralStatus, Urgency

    specialist = actor_at(
        district.session_factory, Role.HOSPITAL_SPECIALIST, district.orgs["hospital"]
    )
    assert not _can_read(uow, specialist, resident_id, clock)
    with district.session_factory() as s:
        s.add(
            Referral(
                id=uuid.uuid4(),
                resident_id=resident_id,
                direction=Direction.UP,
                urgency=Urgency.URGENT,
                from_org_id=district.orgs["xixing-1"],
                to_org_id=district.orgs["hospital"],
                status=ReferralStatus.REQUESTED,
            )
        )
        s.commit()
    assert _can_read(uow, specialist, resident_id, clock)
    assert not _can_read(uow, specialist, district.resident_ids["xixing-1"][1], clock)


def test_a_patient_sees_only_their_own_record(district, uow, clock, resident_id):
    patient = actor_at(
        district.session_factory, Role.PATIENT, district.orgs["xixing-1"], resident_id=resident_id
    )
    assert _can_read(uow, patient, resident_id, clock)
    assert not _can_read(uow, patient, district.resident_ids["xixing-1"][1], clock)


def test_the_administrator_reaches_no_personal_data(district, uow, clock, resident_id):
    admin = actor_at(district.session_factory, Role.SYSTEM_ADMIN, district.orgs["commission"])
    assert not _can_read(uow, admin, resident_id, clock)
    with pytest.raises(Forbidden):
        residents.search(uow, admin, "", clock)
