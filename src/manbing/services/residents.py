"""Use cases on resident records: register (with duplicate detection), read, search."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from manbing.db.models import Division, Enrolment, Resident, ResidentIdentifier
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.domain.audit import AuditAction
from manbing.domain.errors import Conflict, InvalidInput
from manbing.domain.identity import parse_division_code, parse_resident_id
from manbing.domain.organisations import Permission
from manbing.domain.programmes import EnrolmentStatus
from manbing.domain.residents import (
    ResidentStatus,
    age_on,
    mask_id_number,
    mask_name,
    mask_phone,
    normalise_phone,
    validate_birth_date,
    validate_name,
)
from manbing.domain.values import Sex
from manbing.services import access, audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class NewResident:
    name: str
    division_code: str
    managing_org_id: uuid.UUID
    id_number: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    phone: str | None = None
    address: str | None = None
    identifiers: tuple[tuple[str, str], ...] = ()
    severe_mental_disorder: bool = False
    pregnant: bool = False
    disability: bool = False
    # registration goes ahead despite a same-name-and-birth-date match the user has checked
    confirm_not_duplicate: bool = False
    registered_on: date | None = None  # 建档日期 of a record brought from another system


class DuplicateResident(Conflict):
    """Registration matched an existing record; ``existing_id`` is set when the user may see it."""

    def __init__(self, message: str, message_en: str, existing_id: uuid.UUID | None) -> None:
        super().__init__(message, message_en)
        self.existing_id = existing_id


class PossibleDuplicate(DuplicateResident):
    """A resident with the same name and birth date exists (``existing_id``): perhaps the same
    person; the user checks and confirms (``confirm_not_duplicate``) or uses the existing one."""


@dataclass(frozen=True)
class ResidentView:
    """A resident as one actor may see it: sensitive fields masked without the right."""

    id: uuid.UUID
    record_number: str
    name: str
    sex: Sex
    birth_date: date
    age: int
    id_number: str | None
    phone: str | None
    address: str | None
    division_code: str
    managing_org_id: uuid.UUID
    status: ResidentStatus
    programmes: list[str] = field(default_factory=list)
    masked: bool = False


def view(
    resident: Resident, actor: Actor, today: date, programmes: list[str] | None = None
) -> ResidentView:
    unmasked = actor.can(Permission.SEE_UNMASKED_PII)
    return ResidentView(
        id=resident.id,
        record_number=resident.record_number,
        name=resident.name if unmasked else mask_name(resident.name),
        sex=resident.sex,
        birth_date=resident.birth_date,
        age=age_on(resident.birth_date, today),
        id_number=(resident.id_number if unmasked else mask_id_number(resident.id_number))
        if resident.id_number
        else None,
        phone=(resident.phone if unmasked else mask_phone(resident.phone))
        if resident.phone
        else None,
        address=resident.address if unmasked else None,
        division_code=resident.division_code,
        managing_org_id=resident.managing_org_id,
        status=resident.status,
        programmes=programmes or [],
        masked=not unmasked,
    )


def register(uow: UnitOfWork, actor: Actor, data: NewResident, clock: Clock) -> ResidentView:
    """Validate, refuse duplicates, create the record and its identifiers, audit; all or nothing."""
    with uow:
        resident = register_in(uow.session, actor, data, clock)
        result = view(resident, actor, clock.today())
        uow.commit()
    return result


def register_in(session: Session, actor: Actor, data: NewResident, clock: Clock) -> Resident:
    """``register`` inside the caller's transaction (e.g. one row of a legacy import)."""
    access.require(actor, Permission.WRITE_RESIDENTS)
    today = clock.today()
    name = validate_name(data.name)
    sex, birth = _sex_and_birth(data, today)
    phone = normalise_phone(data.phone) if data.phone else None
    division = parse_division_code(data.division_code)
    registered_on = data.registered_on or today
    if not birth <= registered_on <= today:
        raise InvalidInput(
            "registered_on",
            "建档日期应在出生日期与今天之间",
            "the registration date must lie between birth and today",
        )
    access.require_org_in_scope(session, actor, data.managing_org_id)
    if session.get(Division, division.code) is None:
        raise InvalidInput("division_code", "行政区划代码不存在", "unknown division code")
    id_number = parse_resident_id(data.id_number, today=today).number if data.id_number else None
    _refuse_duplicates(session, actor, name, birth, id_number, data)
    resident = Resident(
        id=uuid.uuid4(),
        record_number=next_record_number(session, division.code),
        name=name,
        sex=sex,
        birth_date=birth,
        id_number=id_number,
        phone=phone,
        address=(data.address or "").strip() or None,
        division_code=division.code,
        managing_org_id=data.managing_org_id,
        status=ResidentStatus.ACTIVE,
        registered_on=registered_on,
        severe_mental_disorder=data.severe_mental_disorder,
        pregnant=data.pregnant,
        disability=data.disability,
    )
    session.add(resident)
    identifiers = list(data.identifiers)
    if id_number:
        identifiers.append((NATIONAL_ID_SYSTEM, id_number))
    for system, value in identifiers:
        _add_identifier(session, resident, system, value, clock)
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.CREATE,
        "resident",
        at=clock.now(),
        entity_id=resident.id,
        resident_id=resident.id,
    )
    return resident


def get(uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, clock: Clock) -> ResidentView:
    with uow:
        resident = access.get_resident(uow.session, actor, resident_id)
        programmes = _active_programmes(uow.session, [resident.id]).get(resident.id, [])
        audit.record(
            uow.session,
            actor,
            AuditAction.READ,
            "resident",
            at=clock.now(),
            entity_id=resident.id,
            resident_id=resident.id,
        )
        result = view(resident, actor, clock.today(), programmes)
        uow.commit()
    return result


def search(
    uow: UnitOfWork, actor: Actor, query: str, clock: Clock, *, limit: int = 50, offset: int = 0
) -> list[ResidentView]:
    """Search by name (prefix), ID number, phone or record number, within the actor's scope."""
    access.require(actor, Permission.READ_RESIDENTS)
    text = query.strip()
    limit = max(1, min(limit, 200))
    with uow:
        stmt = select(Resident).where(
            access.resident_filter(actor), Resident.status != ResidentStatus.MERGED
        )
        if text:
            id_text = text.upper()
            stmt = stmt.where(
                or_(
                    Resident.name.startswith(text, autoescape=True),
                    Resident.id_number == id_text,
                    Resident.phone == text,
                    Resident.record_number == text,
                    Resident.id.in_(
                        select(ResidentIdentifier.resident_id).where(
                            ResidentIdentifier.value == text
                        )
                    ),
                )
            )
        rows = uow.session.scalars(
            stmt.order_by(Resident.name, Resident.id).limit(limit).offset(offset)
        ).all()
        programmes = _active_programmes(uow.session, [r.id for r in rows])
        audit.record(
            uow.session,
            actor,
            AuditAction.SEARCH,
            "resident",
            at=clock.now(),
            detail={"query_length": len(text), "results": len(rows)},
        )
        today = clock.today()
        results = [view(r, actor, today, programmes.get(r.id, [])) for r in rows]
        uow.commit()
    return results


def _sex_and_birth(data: NewResident, today: date) -> tuple[Sex, date]:
    if data.id_number:
        decoded = parse_resident_id(data.id_number, today=today)
        if data.birth_date and data.birth_date != decoded.birth_date:
            raise InvalidInput(
                "birth_date", "出生日期与身份证号不一致", "birth date disagrees with the ID number"
            )
        if data.sex and data.sex is not Sex.UNKNOWN and data.sex is not decoded.sex:
            raise InvalidInput("sex", "性别与身份证号不一致", "sex disagrees with the ID number")
        return decoded.sex, validate_birth_date(decoded.birth_date, today)
    if data.birth_date is None:
        raise InvalidInput(
            "birth_date",
            "无身份证号时必须填写出生日期",
            "birth date is required without an ID number",
        )
    return data.sex or Sex.UNKNOWN, validate_birth_date(data.birth_date, today)


def _refuse_duplicates(
    session: Session, actor: Actor, name: str, birth: date, id_number: str | None, data: NewResident
) -> None:
    visible = access.resident_filter(actor)
    if id_number:
        existing = session.scalars(select(Resident).where(Resident.id_number == id_number)).first()
        if existing is not None and existing.merged_into_id is not None:
            # a merge re-points earlier merges, so the target is the living record
            existing = session.get(Resident, existing.merged_into_id)
        if existing is not None:
            in_scope = session.scalars(
                select(Resident.id).where(Resident.id == existing.id, visible)
            ).first()
            raise DuplicateResident(
                "该身份证号已建档" + ("" if in_scope else "（在其他机构管理，请申请迁入）"),
                "a resident with this ID number already exists",
                in_scope,
            )
    for system, value in data.identifiers:
        taken = session.scalars(
            select(ResidentIdentifier.resident_id).where(
                ResidentIdentifier.system == system, ResidentIdentifier.value == value
            )
        ).first()
        if taken is not None:
            raise DuplicateResident(
                "该外部标识已关联其他档案", f"identifier {system}|{value} is taken", None
            )
    if not data.confirm_not_duplicate:
        same = session.scalars(
            select(Resident.id).where(
                Resident.name == name,
                Resident.birth_date == birth,
                Resident.status != ResidentStatus.MERGED,
                visible,
            )
        ).first()
        if same is not None:
            raise PossibleDuplicate(
                "已有同名且出生日期相同的居民档案，请核对是否为同一人",
                "a resident with the same name and birth date exists",
                same,
            )


def _add_identifier(
    session: Session, resident: Resident, system: str, value: str, clock: Clock
) -> None:
    if not system.strip() or not value.strip():
        raise InvalidInput(
            "identifiers",
            "外部标识的系统和值都不能为空",
            "identifier system and value are required",
        )
    resident.identifiers.append(
        ResidentIdentifier(
            id=uuid.uuid4(), system=system.strip(), value=value.strip(), assigned_at=clock.now()
        )
    )


def next_record_number(session: Session, division_code: str) -> str:
    """The next 健康档案编号: 12-digit division code (county codes padded with zeros) + 5-digit
    sequence. Public: every path that creates a resident (registration, FHIR) numbers it here.
    """
    prefix = division_code.ljust(12, "0")
    last = session.scalar(
        select(func.max(Resident.record_number)).where(Resident.record_number.startswith(prefix))
    )
    sequence = int(last[12:]) + 1 if last else 1
    if sequence > 99999:
        raise Conflict("该区划下档案编号已用尽", "record numbers exhausted for this division")
    return f"{prefix}{sequence:05d}"


def _active_programmes(
    session: Session, resident_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    if not resident_ids:
        return {}
    rows = session.execute(
        select(Enrolment.resident_id, Enrolment.programme).where(
            Enrolment.resident_id.in_(resident_ids), Enrolment.status == EnrolmentStatus.ACTIVE
        )
    )
    found: dict[uuid.UUID, list[str]] = {}
    for resident_id, programme in rows:
        found.setdefault(resident_id, []).append(programme.value)
    return found
