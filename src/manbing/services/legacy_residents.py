"""Legacy import, residents file: one row per resident (居民健康档案 个人基本信息表).

A row matches a stored resident by 身份证号, else by the old system's 档案编号 kept as an
identifier of the source system (``source_system_uri``). A matched resident is completed (the
old record number, a missing phone, address or ID number, new programme enrolments), never
duplicated. An unmatched row is registered through ``residents.register_in``, so its duplicate
rules apply: a same-name-and-birth-date match the ID numbers cannot tell apart is reported as a
possible duplicate for the MPI review and nothing is stored for the row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.db.models import Enrolment, Organization, Resident, ResidentIdentifier
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.domain.audit import AuditAction
from manbing.domain.errors import Conflict, InvalidInput, NotFound
from manbing.domain.legacy_columns import REQUIRED_RESIDENT, RESIDENT_COLUMNS
from manbing.domain.legacy_rows import ResidentRow, parse_resident
from manbing.services import access, audit, enrolments, residents
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.legacy_import import (
    Options,
    Outcome,
    Problem,
    Report,
    RowResult,
    read,
    run,
    source_system_uri,
)
from manbing.services.unit_of_work import UnitOfWork


def import_residents(uow: UnitOfWork, clock: Clock, data: bytes, options: Options) -> Report:
    """Import (or with ``options.dry_run`` only check) a residents file."""
    sheet = read(data, RESIDENT_COLUMNS, REQUIRED_RESIDENT)

    def handler(session: Session, actor: Actor, org: Organization, source: str) -> _Rows:
        return _Rows(session, actor, org, clock, source_system_uri(source))

    return run(uow, clock, sheet, options, "residents", handler)


def living(session: Session, resident: Resident | None) -> Resident | None:
    """The record a merged resident lives on in (merges re-point earlier merges)."""
    if resident is not None and resident.merged_into_id is not None:
        return session.get(Resident, resident.merged_into_id)
    return resident


def in_scope(session: Session, actor: Actor, resident: Resident, what: str, what_en: str) -> None:
    try:
        access.get_resident(session, actor, resident.id)
    except NotFound:
        raise Conflict(
            f"该{what}已在其他机构建档（不在本机构管理范围内），请通过迁入办理",
            f"the {what_en} belongs to a resident managed outside this organisation",
        ) from None


def by_record_number(session: Session, system: str, record_no: str) -> Resident | None:
    found = session.scalar(
        select(Resident)
        .join(ResidentIdentifier, ResidentIdentifier.resident_id == Resident.id)
        .where(ResidentIdentifier.system == system, ResidentIdentifier.value == record_no)
    )
    return living(session, found)


def by_id_number(session: Session, id_number: str) -> Resident | None:
    found = session.scalar(select(Resident).where(Resident.id_number == id_number))
    return living(session, found)


@dataclass
class _Rows:
    session: Session
    actor: Actor
    org: Organization
    clock: Clock
    system: str

    def __call__(self, session: Session, line: int, cells: dict[str, str]) -> RowResult:
        row = parse_resident(cells, self.clock.today())
        resident = self._match(row)
        if resident is None:
            created = self._register(row)
            if isinstance(created, RowResult):
                created.line = line
                return created
            resident, outcome = created, Outcome.CREATED
        else:
            outcome = Outcome.UPDATED if self._complete(resident, row) else Outcome.MATCHED
        added = self._enrol(resident, row)
        if added and outcome is Outcome.MATCHED:
            outcome = Outcome.UPDATED
        note = ("纳入管理：" + "、".join(added)) if added else ""
        return RowResult(line, outcome, resident.record_number, note=note)

    def _match(self, row: ResidentRow) -> Resident | None:
        s = self.session
        by_id = by_id_number(s, row.id_number) if row.id_number else None
        by_no = by_record_number(s, self.system, row.record_no) if row.record_no else None
        if by_id is not None and by_no is not None and by_id.id != by_no.id:
            raise InvalidInput(
                "record_no",
                f"档案编号已关联另一位居民（{by_no.record_number}），与身份证号对应的居民不同",
                "the record number belongs to another resident than the ID number",
            )
        found = by_id or by_no
        if found is None:
            return None
        in_scope(s, self.actor, found, "居民", "resident")
        if found.name != row.name:
            raise InvalidInput(
                "name",
                f"姓名与已匹配的档案（{found.record_number}）不一致，请核对",
                f"the name differs from the matched record {found.record_number}",
            )
        if row.id_number and found.id_number and found.id_number != row.id_number:
            raise InvalidInput(
                "id_number",
                f"身份证号与该档案编号对应的档案（{found.record_number}）不一致",
                f"the ID number differs from that of record {found.record_number}",
            )
        return found

    def _register(self, row: ResidentRow) -> Resident | RowResult:
        data = residents.NewResident(
            name=row.name,
            division_code=row.division_code or self.org.division_code,
            managing_org_id=self.org.id,
            id_number=row.id_number,
            sex=row.sex,
            birth_date=row.birth_date,
            phone=row.phone,
            address=row.address,
            identifiers=((self.system, row.record_no),) if row.record_no else (),
            registered_on=row.registered_on,
        )
        try:
            return residents.register_in(self.session, self.actor, data, self.clock)
        except residents.PossibleDuplicate as exc:
            existing = self.session.get(Resident, exc.existing_id) if exc.existing_id else None
            if row.id_number and existing is not None and existing.id_number:
                # both carry a (different) valid ID number: two people who share name and birth
                return residents.register_in(
                    self.session,
                    self.actor,
                    residents.NewResident(**{**data.__dict__, "confirm_not_duplicate": True}),
                    self.clock,
                )
            number = existing.record_number if existing else "?"
            return RowResult(
                0,
                Outcome.POSSIBLE_DUPLICATE,
                number,
                problems=[
                    Problem(
                        "",
                        f"已有同名且出生日期相同的档案（{number}），未导入：请在主索引（MPI）中核对，"
                        "或补充身份证号后重新导入",
                        f"a resident with the same name and birth date exists ({number}); not"
                        " imported: check it in the MPI review or add the ID number and re-import",
                    )
                ],
            )

    def _complete(self, resident: Resident, row: ResidentRow) -> bool:
        """Fill what the stored record lacks; True if anything changed."""
        changed: list[str] = []
        if row.id_number and not resident.id_number:
            if row.birth_date and row.birth_date != resident.birth_date:
                raise InvalidInput("birth_date", "出生日期与已匹配的档案不一致",
                                   "the birth date differs from the matched record")  # fmt: skip
            if by_id_number(self.session, row.id_number) is not None:
                raise Conflict("该身份证号已建档", "a resident with this ID number already exists")
            resident.id_number = row.id_number
            self._identify(resident, NATIONAL_ID_SYSTEM, row.id_number)
            changed.append("id_number")
        if row.record_no and self._identify(resident, self.system, row.record_no):
            changed.append("record_no")
        if row.phone and not resident.phone:
            resident.phone = row.phone
            changed.append("phone")
        if row.address and not resident.address:
            resident.address = row.address
            changed.append("address")
        if changed:
            self.session.flush()
            audit.record(
                self.session,
                self.actor,
                AuditAction.UPDATE,
                "resident",
                at=self.clock.now(),
                entity_id=resident.id,
                resident_id=resident.id,
                detail={"legacy_import": changed},
            )
        return bool(changed)

    def _identify(self, resident: Resident, system: str, value: str) -> bool:
        if any(i.system == system and i.value == value for i in resident.identifiers):
            return False
        resident.identifiers.append(
            ResidentIdentifier(
                id=uuid.uuid4(), system=system, value=value, assigned_at=self.clock.now()
            )
        )
        return True

    def _enrol(self, resident: Resident, row: ResidentRow) -> list[str]:
        """Enrol in the row's programmes the resident has never been enrolled in (an ended
        enrolment is not reopened by an old export)."""
        known = set(
            self.session.scalars(
                select(Enrolment.programme).where(Enrolment.resident_id == resident.id)
            )
        )
        added = []
        for programme, diagnosed_on in row.programmes.items():
            if programme in known:
                continue
            enrolments.enrol_in(
                self.session,
                self.actor,
                resident.id,
                programme,
                self.clock,
                diagnosed_on=diagnosed_on,
            )
            added.append(programme.label_zh)
        return added
