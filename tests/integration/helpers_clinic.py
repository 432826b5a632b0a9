"""Small builders shared by the clinical-workflow tests (a fresh enrolled patient, a visit)."""

from __future__ import annotations

import uuid
from datetime import date

from manbing.domain.programmes import Programme
from manbing.domain.values import Sex
from manbing.services import enrolments, residents
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork


def enrolled_patient(
    uow: UnitOfWork,
    doctor: Actor,
    station_id: object,
    clock: Clock,
    *programmes: Programme,
    name: str = "测试患者",
    birth: date = date(1960, 5, 1),
) -> uuid.UUID:
    view = residents.register(
        uow,
        doctor,
        residents.NewResident(
            name=name,
            division_code="330108001001",
            managing_org_id=station_id,  # type: ignore[arg-type]
            sex=Sex.MALE,
            birth_date=birth,
            confirm_not_duplicate=True,
        ),
        clock,
    )
    for programme in programmes or (Programme.HYPERTENSION,):
        enrolments.enrol(uow, doctor, view.id, programme, clock)
    return view.id
