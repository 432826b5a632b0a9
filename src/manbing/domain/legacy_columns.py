"""Columns of the legacy 基本公卫 exports and the header names accepted for each.

Field names follow 国家基本公共卫生服务规范（第三版）: 居民健康档案（个人基本信息表） for the residents
file, 高血压患者随访服务记录表 and 2型糖尿病患者随访服务记录表 for the follow-ups file. Header
matching ignores spaces, case, a leading or trailing ``*`` (a required-column marker) and a unit
in brackets (``收缩压(mmHg)``). docs/legacy-import.md lists the names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from manbing.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label_zh: str
    label_en: str
    aliases: tuple[str, ...]


def _c(key: str, zh: str, en: str, *aliases: str) -> Column:
    return Column(key, zh, en, (zh, en, key, *aliases))


RECORD_NO = _c("record_no", "档案编号", "record number", "健康档案编号", "档案号", "个人档案编号",
               "record_no", "archive_no")  # fmt: skip
ID_NUMBER = _c("id_number", "身份证号", "ID number", "身份证号码", "居民身份证号", "证件号码",
               "身份证", "id_no", "id_card")  # fmt: skip

RESIDENT_COLUMNS: tuple[Column, ...] = (
    RECORD_NO,
    ID_NUMBER,
    _c("name", "姓名", "name", "居民姓名", "患者姓名"),
    _c("sex", "性别", "sex", "gender"),
    _c("birth_date", "出生日期", "birth date", "出生年月日", "birthdate", "dob"),
    _c("phone", "联系电话", "phone", "本人电话", "电话", "手机号", "手机号码", "telephone"),
    _c("address", "现住址", "address", "住址", "家庭住址", "居住地址", "常住地址"),
    _c("division_code", "行政区划代码", "division code", "区划代码", "division"),
    _c("registered_on", "建档日期", "registration date", "建档时间", "registered_on"),
    _c("hypertension", "高血压", "hypertension", "是否高血压", "高血压患者"),
    _c("t2dm", "糖尿病", "diabetes", "2型糖尿病", "是否糖尿病", "糖尿病患者", "t2dm"),
    _c(
        "diseases", "管理疾病", "diseases", "慢病类型", "疾病", "管理病种", "既往疾病", "programmes"
    ),
    _c(
        "hypertension_on",
        "高血压确诊日期",
        "hypertension diagnosed on",
        "高血压确诊时间",
        "高血压纳管日期",
    ),
    _c("t2dm_on", "糖尿病确诊日期", "diabetes diagnosed on", "糖尿病确诊时间", "糖尿病纳管日期"),
    _c("diagnosed_on", "确诊日期", "diagnosed on", "确诊时间", "纳入管理日期", "diagnosis date"),
)

VISIT_COLUMNS: tuple[Column, ...] = (
    RECORD_NO,
    ID_NUMBER,
    _c("name", "姓名", "name", "居民姓名", "患者姓名"),
    _c("programme", "随访类型", "programme", "随访病种", "管理疾病", "随访表"),
    _c("visit_date", "随访日期", "visit date", "随访时间", "visit_date"),
    _c("mode", "随访方式", "visit mode", "mode"),
    _c("bp", "血压", "blood pressure", "血压(mmHg)", "bp"),
    _c("sbp", "收缩压", "systolic", "sbp", "收缩压(mmHg)"),
    _c("dbp", "舒张压", "diastolic", "dbp"),
    _c("heart_rate", "心率", "heart rate", "heart_rate", "脉搏"),
    _c("weight_kg", "体重", "weight", "weight_kg"),
    _c("height_cm", "身高", "height", "height_cm"),
    _c("fasting_glucose", "空腹血糖", "fasting glucose", "空腹血糖值", "fbg", "fasting_glucose"),
    _c("hba1c", "糖化血红蛋白", "HbA1c", "hba1c"),
    _c("cigarettes_per_day", "日吸烟量", "cigarettes per day", "吸烟量"),
    _c("alcohol_liang_per_day", "日饮酒量", "alcohol per day", "饮酒量"),
    _c("adherence", "服药依从性", "adherence", "依从性"),
    _c("adverse_reaction", "药物不良反应", "adverse drug reaction", "不良反应"),
    _c("hypoglycaemia", "低血糖反应", "hypoglycaemia"),
    _c("symptoms", "症状", "symptoms", "目前症状"),
    _c("next_visit_date", "下次随访日期", "next visit date", "下次随访时间"),
)

RESIDENT_KEYS = ("record_no", "id_number")
REQUIRED_RESIDENT = ("name",)
REQUIRED_VISIT = ("visit_date",)


def normalise_header(raw: str) -> str:
    """``" *收缩压（mmHg） "`` → ``"收缩压"``: NFKC, unit in brackets, ``*``, spaces, case."""
    text = unicodedata.normalize("NFKC", raw)
    text = re.sub(r"\([^)]*\)$", "", text.strip())
    return re.sub(r"[\s*_]", "", text).lower()


def _index(columns: tuple[Column, ...]) -> dict[str, Column]:
    found: dict[str, Column] = {}
    for column in columns:
        for alias in column.aliases:
            found.setdefault(normalise_header(alias), column)
    return found


@dataclass(frozen=True, slots=True)
class HeaderMap:
    """Which cell of a row holds which field; the names not recognised are ignored."""

    positions: dict[str, int]
    ignored: tuple[str, ...]
    labels: dict[str, str]  # key -> the header text as written in the file

    def matches(self) -> int:
        return len(self.positions)


def map_header(header: list[str], columns: tuple[Column, ...]) -> HeaderMap:
    """Match header cells to columns; two cells naming one column refuse the file."""
    index = _index(columns)
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    ignored: list[str] = []
    for n, raw in enumerate(header):
        if not raw.strip():
            continue
        column = index.get(normalise_header(raw))
        if column is None:
            ignored.append(raw.strip())
            continue
        if column.key in positions:
            raise InvalidInput(
                "header",
                f"表头“{labels[column.key]}”和“{raw.strip()}”都表示{column.label_zh}，只能保留一列",
                f"header columns {labels[column.key]!r} and {raw.strip()!r} both mean"
                f" {column.label_en}: keep one",
            )
        positions[column.key] = n
        labels[column.key] = raw.strip()
    return HeaderMap(positions, tuple(ignored), labels)


def require_columns(
    found: HeaderMap, columns: tuple[Column, ...], required: tuple[str, ...]
) -> None:
    """Refuse a header without a required column or without any resident key column."""
    by_key = {c.key: c for c in columns}
    missing = [by_key[k] for k in required if k not in found.positions]
    if not any(k in found.positions for k in RESIDENT_KEYS):
        missing.insert(0, Column("key", "档案编号或身份证号", "record number or ID number", ()))
    if missing:
        raise InvalidInput(
            "header",
            "缺少必需的列：" + "、".join(c.label_zh for c in missing),
            "missing required columns: " + ", ".join(c.label_en for c in missing),
        )
