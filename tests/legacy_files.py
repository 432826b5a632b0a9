"""Building legacy 基本公卫 export files for the import tests (CSV in any encoding, .xlsx)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import (
    AuditEvent,
    Enrolment,
    FollowUp,
    Resident,
    ResidentIdentifier,
    User,
    WorklistTask,
)
from manbing.domain.identity import check_character

STATION = "330108001-S01"  # a station of the fixed district (西兴第1社区卫生服务站)
OTHER_STATION = "330108002-S01"  # 长河 (another centre's subtree)


def id_number(birth: date, serial: int, *, male: bool = True) -> str:
    """A valid GB 11643 number of 滨江区 (330108) for ``birth``."""
    seq = serial * 2 + (1 if male else 0)
    first17 = f"330108{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_character(first17)


def csv_bytes(rows: list[list[Any]], *, encoding: str = "utf-8", bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" if bom else "").encode("utf-8") + out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, title_rows: int = 0) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for n in range(title_rows):
        sheet.append([f"居民健康档案一览表（第{n + 1}页）"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


RESIDENT_HEADER = ["档案编号", "姓名", "性别", "出生日期", "身份证号", "联系电话", "现住址",
                   "建档日期", "高血压", "糖尿病", "确诊日期"]  # fmt: skip
VISIT_HEADER = ["身份证号", "档案编号", "姓名", "随访日期", "随访方式", "收缩压", "舒张压",
                "心率", "体重", "空腹血糖", "服药依从性", "下次随访日期"]  # fmt: skip


def counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows of every table an import writes to."""
    with factory() as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model)) or 0
            for model in (
                Resident,
                ResidentIdentifier,
                Enrolment,
                FollowUp,
                WorklistTask,
                AuditEvent,
                User,
            )
        }
