"""Legacy import, follow-ups file: one row per visit (高血压患者随访服务记录表 /
2型糖尿病患者随访服务记录表 of 国家基本公共卫生服务规范（第三版）).

The resident is found by 身份证号 or by the old 档案编号 (imported with the residents file).
Each visit goes through ``followups.record_in``, so the clinical rules classify it and the
follow-up tasks move on as for a visit typed in; the visits are recorded in date order so each
one sees the one before. The idempotency key is derived from the source system, the resident,
the visit date and the programme, so importing a file again adds no visit twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from manbing.db.models import Organization, Resident
from manbing.domain.errors import InvalidInput
from manbing.domain.legacy_columns import REQUIRED_VISIT, VISIT_COLUMNS
from manbing.domain.legacy_rows import VisitRow, parse_date, parse_visit
from manbing.domain.rules import FollowupClass
from manbing.services import followups
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.legacy_import import (
    Options,
    Outcome,
    Report,
    RowResult,
    read,
    run,
    source_system_uri,
)
from manbing.services.legacy_residents import by_id_number, by_record_number, in_scope
from manbing.services.unit_of_work import UnitOfWork

Rows = list[tuple[int, dict[str, str]]]


def import_followups(uow: UnitOfWork, clock: Clock, data: bytes, options: Options) -> Report:
    """Import (or with ``options.dry_run`` only check) a follow-ups file."""
    sheet = read(data, VISIT_COLUMNS, REQUIRED_VISIT)

    def handler(session: Session, actor: Actor, _org: Organization, source: str) -> _Visits:
        return _Visits(session, actor, clock, source)

    return run(uow, clock, sheet, options, "followups", handler, order=in_date_order)


def in_date_order(rows: Rows) -> Rows:
    """Visits by date, then by row; a row whose date cannot be read keeps its place at the end
    (it is reported as an error)."""

    def key(item: tuple[int, dict[str, str]]) -> tuple[date, int]:
        try:
            return parse_date(item[1].get("visit_date", "")), item[0]
        except InvalidInput:
            return date.max, item[0]

    return sorted(rows, key=key)


def idempotency_key(source: str, resident: Resident, row: VisitRow) -> str:
    """``legacy:`` + a digest of (source system, resident, visit date, programme): 55 chars."""
    text = "|".join([source, str(resident.id), row.visit_date.isoformat(), row.programme or ""])
    return "legacy:" + hashlib.sha256(text.encode()).hexdigest()[:48]


@dataclass
class _Visits:
    session: Session
    actor: Actor
    clock: Clock
    source: str

    def __call__(self, session: Session, line: int, cells: dict[str, str]) -> RowResult:
        row = parse_visit(cells, self.clock.today())
        resident = self._resident(row)
        data = followups.FollowUpInput(
            resident_id=resident.id,
            visit_date=row.visit_date,
            mode=row.mode,
            sbp=row.sbp,
            dbp=row.dbp,
            heart_rate=row.heart_rate,
            weight_kg=row.weight_kg,
            height_cm=row.height_cm,
            fasting_glucose=row.fasting_glucose,
            hba1c=row.hba1c,
            cigarettes_per_day=row.cigarettes_per_day,
            alcohol_liang_per_day=row.alcohol_liang_per_day,
            adherence=row.adherence,
            adverse_reaction=row.adverse_reaction,
            hypoglycaemia=row.hypoglycaemia,
            symptoms_other=row.symptoms,
            idempotency_key=idempotency_key(self.source, resident, row),
        )
        recorded = followups.record_in(session, self.actor, data, self.clock)
        note = ""
        if recorded.classification:
            label = FollowupClass(recorded.classification).label_zh
            note = f"此次随访分类：{label}"
            if recorded.next_visit_date:
                note += f"，下次随访 {recorded.next_visit_date.isoformat()}"
            if recorded.refer:
                note += "，建议转诊"
        outcome = Outcome.ADDED if recorded.created else Outcome.ALREADY_IMPORTED
        return RowResult(line, outcome, resident.record_number, note=note)

    def _resident(self, row: VisitRow) -> Resident:
        s = self.session
        found = by_id_number(s, row.id_number) if row.id_number else None
        if found is None and row.record_no:
            found = by_record_number(s, source_system_uri(self.source), row.record_no)
        if found is None:
            column = "id_number" if row.id_number else "record_no"
            raise InvalidInput(
                column,
                "未找到该居民：请先导入居民文件（来源系统须相同）",
                "no such resident: import the residents file first (same source system)",
            )
        in_scope(s, self.actor, found, "居民", "resident")
        if row.name and row.name != found.name:
            raise InvalidInput(
                "name",
                f"姓名与已匹配的档案（{found.record_number}）不一致，请核对",
                f"the name differs from the matched record {found.record_number}",
            )
        return found
