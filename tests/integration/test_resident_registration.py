"""Registration refuses bad input at the service layer and writes nothing."""

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from manbing.db.models import AuditEvent, Resident, ResidentIdentifier
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.identity import check_character
from manbing.domain.organisations import Role
from manbing.domain.values import Sex
from manbing.services import residents
from manbing.services.residents import DuplicateResident, NewResident
from tests.personas import actor_at


def _counts(session_factory) -> tuple[int, int, int]:
    with session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Resident)),
            s.scalar(select(func.count()).select_from(ResidentIdentifier)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )


@pytest.fixture
def doctor(district):
    return actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])


_VALID_ID = "33010819851120124" + check_character("33010819851120124")


def _new(district, **overrides) -> NewResident:
    base = dict(
        name="周晓梅",
        division_code="330108001001",
        managing_org_id=district.orgs["xixing-1"],
        id_number=_VALID_ID,
        phone="13912345678",
        address="西兴街道1号",
    )
    base.update(overrides)
    return NewResident(**base)


def test_a_valid_resident_is_registered_with_sex_and_birth_date_from_the_id(
    district, uow, clock, doctor
):
    created = residents.register(uow, doctor, _new(district), clock)
    assert created.sex is Sex.FEMALE
    assert created.birth_date == date(1985, 11, 20)
    assert created.record_number.startswith("330108001001")
    assert residents.get(uow, doctor, created.id, clock).name == "周晓梅"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"id_number": "110105194912310021"}, "id_number"),  # wrong check digit
        ({"id_number": "110105194902310026"}, "id_number"),  # 31 February
        ({"id_number": None, "birth_date": date(2027, 1, 1)}, "birth_date"),
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"division_code": "999999"}, "division_code"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_written(
    district, uow, clock, doctor, overrides, field
):
    before = _counts(district.session_factory)
    with pytest.raises(InvalidInput) as err:
        residents.register(uow, doctor, _new(district, **overrides), clock)
    assert err.value.field == field
    assert err.value.message  # Chinese message for the form
    assert _counts(district.session_factory) == before


def test_the_same_id_number_cannot_be_registered_twice(district, uow, clock, doctor):
    first17 = "33010819700101001"
    number = first17 + check_character(first17)
    created = residents.register(uow, doctor, _new(district, id_number=number), clock)
    before = _counts(district.session_factory)
    with pytest.raises(DuplicateResident) as err:
        residents.register(uow, doctor, _new(district, id_number=number, name="另一人"), clock)
    assert err.value.existing_id == created.id
    assert _counts(district.session_factory) == before


def test_same_name_and_birth_date_asks_for_confirmation_before_creating(
    district, uow, clock, doctor
):
    first = residents.register(
        uow,
        doctor,
        _new(district, id_number=None, birth_date=date(1960, 5, 1), sex=Sex.MALE, name="王建国"),
        clock,
    )
    with pytest.raises(DuplicateResident) as err:
        residents.register(
            uow,
            doctor,
            _new(district, id_number=None, birth_date=date(1960, 5, 1), name="王建国", phone=None),
            clock,
        )
    assert err.value.existing_id == first.id
    second = residents.register(
        uow,
        doctor,
        _new(
            district,
            id_number=None,
            birth_date=date(1960, 5, 1),
            name="王建国",
            confirm_not_duplicate=True,
        ),
        clock,
    )
    assert second.id != first.id


def test_a_doctor_cannot_register_into_another_centres_station(district, uow, clock, doctor):
    with pytest.raises(NotFound):
        residents.register(
            uow, doctor, _new(district, managing_org_id=district.orgs["changhe-1"]), clock
        )


def test_unknown_resident_is_not_found(district, uow, clock, doctor):
    with pytest.raises(NotFound):
        residents.get(uow, doctor, uuid.uuid4(), clock)
