"""A small, fixed district (滨江区, Hangzhou) for tests and a quick demo.

Deterministic: the same seed gives the same people. The full generator (``manbing synth``)
builds realistic populations of any size; this one only needs to be small and complete: a
commission, a CDC, a hospital, two community health service centres with stations and teams,
and residents with programme enrolments, follow-ups and readings.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from manbing.db.models import (
    Enrolment,
    EnrolmentStatusChange,
    FollowUp,
    Observation,
    Organization,
    Resident,
    ResidentIdentifier,
)
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.domain.identity import check_character
from manbing.domain.observations import SPECS, ObservationKind, ObservationSource
from manbing.domain.organisations import OrgType
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.residents import ResidentStatus, age_on
from manbing.domain.values import Sex
from manbing.services import contracts as contract_service
from manbing.services import follow_up_schedule
from manbing.services import organisations as orgs

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰建国志红文"


@dataclass
class FixedDistrict:
    organizations: dict[str, Organization] = field(default_factory=dict)
    residents: list[Resident] = field(default_factory=list)


def build(
    session: Session, *, residents_per_station: int = 30, seed: int = 7, today: date
) -> FixedDistrict:
    """Create the district in the caller's transaction (the caller commits)."""
    rng = random.Random(seed)
    for code, name in [("330000", "浙江省"), ("330100", "杭州市"), ("330108", "滨江区")]:
        orgs.add_division(session, code, name)
    for code, name in [("330108001000", "西兴街道"), ("330108002000", "长河街道")]:
        orgs.add_division(session, code, name)
        for n in (1, 2):
            orgs.add_division(session, code[:9] + f"{n:03d}", f"{name[:2]}第{n}社区")
    session.flush()
    district = FixedDistrict()
    o = district.organizations
    o["commission"] = orgs.add_organization(
        session,
        code="330108-WJW",
        name="滨江区卫生健康局",
        type=OrgType.HEALTH_COMMISSION,
        division_code="330108",
    )
    o["cdc"] = orgs.add_organization(
        session,
        code="330108-CDC",
        name="滨江区疾病预防控制中心",
        type=OrgType.CDC,
        division_code="330108",
        parent=o["commission"],
    )
    o["hospital"] = orgs.add_organization(
        session,
        code="330108-H01",
        name="滨江区人民医院",
        type=OrgType.HOSPITAL,
        division_code="330108",
        parent=o["commission"],
    )
    for key, street, street_name in [
        ("xixing", "330108001", "西兴街道"),
        ("changhe", "330108002", "长河街道"),
    ]:
        centre = orgs.add_organization(
            session,
            code=f"{street}-CHC",
            name=f"{street_name}社区卫生服务中心",
            type=OrgType.COMMUNITY_CENTRE,
            division_code=street + "000",
            parent=o["commission"],
        )
        o[key] = centre
        for n in (1, 2):
            station = orgs.add_organization(
                session,
                code=f"{street}-S{n:02d}",
                name=f"{street_name[:2]}第{n}社区卫生服务站",
                type=OrgType.STATION,
                division_code=f"{street}{n:03d}",
                parent=centre,
            )
            o[f"{key}-{n}"] = station
            doctor = orgs.add_practitioner(
                session, name=_name(rng), organization=station, title="主治医师"
            )
            nurse = orgs.add_practitioner(
                session, name=_name(rng), organization=station, title="护师"
            )
            orgs.add_team(
                session,
                name=f"{station.name}家庭医生团队",
                organization=station,
                members=[(doctor, "全科医生"), (nurse, "护士")],
            )
            session.flush()
            for number in range(1, residents_per_station + 1):
                district.residents.append(_resident(session, rng, station, today, number))
    contract_service.ensure_standard_packages(session)
    follow_up_schedule.refresh(session, [r.id for r in district.residents])
    return district


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def _resident(
    session: Session, rng: random.Random, station: Organization, today: date, number: int
) -> Resident:
    age = rng.choice(range(20, 90))
    birth = today - timedelta(days=age * 365 + rng.randrange(365))
    sex = rng.choice((Sex.MALE, Sex.FEMALE))
    sequence = rng.randrange(0, 500) * 2 + (1 if sex is Sex.MALE else 0)
    first17 = f"330108{birth:%Y%m%d}{sequence:03d}"
    id_number = first17 + check_character(first17)
    resident = Resident(
        id=uuid.uuid4(),
        record_number=f"{station.division_code}{number:05d}",
        name=_name(rng),
        sex=sex,
        birth_date=birth,
        id_number=id_number,
        phone=f"13{rng.randrange(10**8, 10**9)}",
        address=f"杭州市滨江区{rng.randrange(1, 300)}号",
        division_code=station.division_code,
        managing_org_id=station.id,
        status=ResidentStatus.ACTIVE,
        registered_on=today - timedelta(days=rng.randrange(400, 2000)),
    )
    resident.identifiers.append(ResidentIdentifier(system=NATIONAL_ID_SYSTEM, value=id_number))
    session.add(resident)
    session.flush()  # follow-ups and readings reference the row by key, not by relationship
    age_now = age_on(birth, today)
    if age_now >= 35 and rng.random() < 0.45:
        _enrol_with_history(session, rng, resident, station, Programme.HYPERTENSION, today, age_now)
    if age_now >= 35 and rng.random() < 0.15:
        _enrol_with_history(session, rng, resident, station, Programme.T2DM, today, age_now)
    return resident


def _enrol_with_history(
    session: Session,
    rng: random.Random,
    resident: Resident,
    station: Organization,
    programme: Programme,
    today: date,
    age: int,
) -> None:
    enrolled = today - timedelta(days=rng.randrange(200, 1500))
    enrolment = Enrolment(
        id=uuid.uuid4(),
        resident_id=resident.id,
        programme=programme,
        diagnosed_on=enrolled,
        enrolled_on=enrolled,
        managing_org_id=station.id,
        status=EnrolmentStatus.ACTIVE,
        status_date=enrolled,
    )
    enrolment.history.append(
        EnrolmentStatusChange(to_status=EnrolmentStatus.ACTIVE, effective_on=enrolled)
    )
    session.add(enrolment)
    visits = rng.choice((2, 3, 4, 4, 4, 5))
    target = 150 if age >= 65 else 140
    for k in range(visits):
        visit = today - timedelta(days=30 + 90 * k + rng.randrange(20))
        if visit < enrolled:
            break
        sbp = int(rng.gauss(target - 8, 14))
        dbp = int(rng.gauss(82, 8))
        sbp, dbp = max(sbp, dbp + 25), min(dbp, 120)
        fpg = round(rng.gauss(7.0, 1.4), 1) if programme is Programme.T2DM else None
        uncontrolled = sbp >= target or dbp >= 90 or (fpg is not None and fpg >= 7.0)
        follow_up = FollowUp(
            id=uuid.uuid4(),
            resident_id=resident.id,
            form="hypertension" if programme is Programme.HYPERTENSION else "diabetes",
            visit_date=visit,
            mode="1",
            sbp=sbp,
            dbp=dbp,
            heart_rate=rng.randrange(60, 95),
            fasting_glucose=fpg,
            classification="2" if uncontrolled else "1",
            next_visit_date=visit + timedelta(days=14 if uncontrolled else 90),
            organization_id=station.id,
        )
        session.add(follow_up)
        session.add(
            Observation(
                id=uuid.uuid4(),
                resident_id=resident.id,
                kind=ObservationKind.BLOOD_PRESSURE,
                loinc=SPECS[ObservationKind.BLOOD_PRESSURE].loinc,
                value=sbp,
                value2=dbp,
                unit="mmHg",
                effective_at=datetime.combine(visit, time(1, 30), tzinfo=UTC),
                source=ObservationSource.CLINIC,
                follow_up_id=follow_up.id,
                organization_id=station.id,
            )
        )
