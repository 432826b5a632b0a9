"""Medication statements and prescriptions written from outside the follow-up form (FHIR).

A follow-up replaces the resident's ``follow_up`` medication list (services/followups.py); a
statement recorded here (``source='fhir'``) sits beside it and is only changed here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from manbing.db.models import MedicationStatement
from manbing.domain.audit import AuditAction
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.organisations import Permission
from manbing.services import access, audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock

SOURCE = "fhir"
# WHO ATC: any level from the anatomical group (C) to the substance (C09AA02)
_ATC = re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?\Z")


@dataclass(frozen=True)
class StatementInput:
    resident_id: uuid.UUID
    name: str
    atc_code: str | None = None
    dose: float | None = None
    dose_unit: str | None = None
    times_per_day: int | None = None
    route: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    active: bool = True


def _checked(data: StatementInput, birth_date: date, today: date) -> StatementInput:
    name = data.name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(
            "name", "药品名称应为1至100个字符", "the medicine name needs 1-100 characters"
        )
    if data.atc_code is not None and not _ATC.match(data.atc_code):
        raise InvalidInput("atc_code", "ATC编码格式不正确", f"{data.atc_code!r} is not an ATC code")
    if data.dose is not None and not 0 < data.dose <= 10_000:
        raise InvalidInput("dose", "单次剂量应大于0且不超过10000", "the dose must be in (0, 10000]")
    if data.times_per_day is not None and not 1 <= data.times_per_day <= 24:
        raise InvalidInput("times_per_day", "每日次数应为1至24", "times per day must be 1-24")
    for field, text, limit in (("dose_unit", data.dose_unit, 20), ("route", data.route, 30)):
        if text is not None and len(text) > limit:
            raise InvalidInput(field, f"内容不能超过{limit}个字符", f"{field} is too long")
    if data.start_date and data.start_date > today:
        raise InvalidInput(
            "start_date", "开始用药日期不能晚于今天", "the start date is in the future"
        )
    if data.start_date and data.start_date < birth_date:
        raise InvalidInput(
            "start_date", "开始用药日期早于出生日期", "the start date precedes birth"
        )
    if data.start_date and data.end_date and data.end_date < data.start_date:
        raise InvalidInput("end_date", "停药日期早于开始日期", "the end date precedes the start")
    return StatementInput(
        data.resident_id,
        name,
        data.atc_code,
        data.dose,
        (data.dose_unit or "").strip() or None,
        data.times_per_day,
        (data.route or "").strip() or None,
        data.start_date,
        data.end_date,
        data.active,
    )


def save_statement(
    session: Session,
    actor: Actor,
    data: StatementInput,
    clock: Clock,
    *,
    statement_id: uuid.UUID | None = None,
) -> MedicationStatement:
    """Record a new statement, or replace one of ``source='fhir'`` (inside the caller's transaction)."""
    access.require(actor, Permission.WRITE_CLINICAL)
    resident = access.get_resident(session, actor, data.resident_id)
    clean = _checked(data, resident.birth_date, clock.today())
    if statement_id is None:
        row = MedicationStatement(
            id=uuid.uuid4(), resident_id=resident.id, source=SOURCE, recorded_at=clock.now()
        )
        session.add(row)
        action = AuditAction.CREATE
    else:
        found = session.get(MedicationStatement, statement_id)
        if found is None:
            raise NotFound("未找到该用药记录", "medication statement not found")
        access.get_resident(session, actor, found.resident_id)
        if found.resident_id != resident.id:
            raise InvalidInput(
                "subject", "不能把用药记录改到其他居民名下", "the subject cannot change"
            )
        if found.source != SOURCE:
            raise InvalidInput(
                "source",
                "随访记录的用药只能通过新的随访修改",
                f"a statement from a {found.source} is changed by recording a new follow-up",
            )
        row, action = found, AuditAction.UPDATE
        row.recorded_at = clock.now()
    row.name, row.atc_code = clean.name, clean.atc_code
    row.dose, row.dose_unit, row.times_per_day = clean.dose, clean.dose_unit, clean.times_per_day
    row.route, row.start_date, row.end_date = clean.route, clean.start_date, clean.end_date
    row.active = clean.active
    session.flush()
    audit.record(
        session,
        actor,
        action,
        "medication_statement",
        at=clock.now(),
        entity_id=row.id,
        resident_id=row.resident_id,
        detail={"fhir": True},
    )
    return row
