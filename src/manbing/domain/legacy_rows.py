"""Parsing one row of a legacy 基本公卫 export into checked values (pure; ``today`` passed in).

Every problem of a row is collected as a :class:`CellError` naming the column, so the operator
sees them all at once. Codes follow 国家基本公共卫生服务规范（第三版）: 随访方式 1 门诊 2 家庭
3 电话; 服药依从性 1 规律 2 间断 3 不服药; 低血糖反应 1 无 2 偶尔 3 频繁.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from manbing.domain.errors import InvalidInput
from manbing.domain.followup_form import Adherence, Hypoglycaemia, VisitMode
from manbing.domain.identity import parse_division_code, parse_resident_id
from manbing.domain.programmes import Programme
from manbing.domain.residents import normalise_phone, validate_name
from manbing.domain.values import Sex

MAX_CELL = 500  # characters in one cell
MAX_TEXT = {"record_no": 100, "address": 200, "symptoms": 200}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CellError:
    column: str  # a column key, or "" for the row as a whole
    message: str
    message_en: str


class RowErrors(Exception):
    def __init__(self, errors: list[CellError]) -> None:
        super().__init__("; ".join(e.message_en for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ResidentRow:
    record_no: str | None
    id_number: str | None
    name: str
    sex: Sex | None
    birth_date: date | None
    phone: str | None
    address: str | None
    division_code: str | None
    registered_on: date | None
    programmes: dict[Programme, date | None] = field(default_factory=dict)


@dataclass(frozen=True)
class VisitRow:
    record_no: str | None
    id_number: str | None
    name: str | None
    programme: Programme | None
    visit_date: date
    mode: VisitMode | None
    sbp: int | None
    dbp: int | None
    heart_rate: int | None
    weight_kg: float | None
    height_cm: float | None
    fasting_glucose: float | None
    hba1c: float | None
    cigarettes_per_day: int | None
    alcohol_liang_per_day: float | None
    adherence: Adherence | None
    adverse_reaction: bool
    hypoglycaemia: Hypoglycaemia | None
    symptoms: str | None
    next_visit_date: date | None


_YES = {"是", "有", "y", "yes", "true", "1", "√", "✓", "患有", "确诊"}
_NO = {"否", "无", "n", "no", "false", "0", "×", "未患", ""}
_SEX = {"男": Sex.MALE, "1": Sex.MALE, "m": Sex.MALE, "male": Sex.MALE,
        "女": Sex.FEMALE, "2": Sex.FEMALE, "f": Sex.FEMALE, "female": Sex.FEMALE,
        "未知": Sex.UNKNOWN, "未知的性别": Sex.UNKNOWN, "0": Sex.UNKNOWN,
        "未说明": Sex.UNKNOWN, "未说明的性别": Sex.UNKNOWN, "9": Sex.UNKNOWN}  # fmt: skip
PROGRAMME_NAMES = {
    "高血压": Programme.HYPERTENSION, "原发性高血压": Programme.HYPERTENSION,
    "高血压病": Programme.HYPERTENSION, "hypertension": Programme.HYPERTENSION,
    "i10": Programme.HYPERTENSION, "糖尿病": Programme.T2DM, "2型糖尿病": Programme.T2DM,
    "ii型糖尿病": Programme.T2DM, "二型糖尿病": Programme.T2DM, "t2dm": Programme.T2DM,
    "diabetes": Programme.T2DM, "e11": Programme.T2DM, "血脂异常": Programme.DYSLIPIDAEMIA,
    "高血脂": Programme.DYSLIPIDAEMIA, "dyslipidaemia": Programme.DYSLIPIDAEMIA,
    "慢阻肺": Programme.COPD, "慢性阻塞性肺疾病": Programme.COPD, "copd": Programme.COPD,
    "脑卒中": Programme.STROKE, "stroke": Programme.STROKE,
}  # fmt: skip
_MODES = {"门诊": VisitMode.CLINIC, "1": VisitMode.CLINIC, "clinic": VisitMode.CLINIC,
          "家庭": VisitMode.HOME, "入户": VisitMode.HOME, "2": VisitMode.HOME,
          "home": VisitMode.HOME, "电话": VisitMode.PHONE, "3": VisitMode.PHONE,
          "phone": VisitMode.PHONE}  # fmt: skip
_ADHERENCE = {"规律": Adherence.REGULAR, "1": Adherence.REGULAR, "regular": Adherence.REGULAR,
              "间断": Adherence.INTERMITTENT, "2": Adherence.INTERMITTENT,
              "intermittent": Adherence.INTERMITTENT, "不服药": Adherence.NONE,
              "3": Adherence.NONE, "none": Adherence.NONE}  # fmt: skip
_HYPO = {"无": Hypoglycaemia.NONE, "1": Hypoglycaemia.NONE, "none": Hypoglycaemia.NONE,
         "偶尔": Hypoglycaemia.OCCASIONAL, "2": Hypoglycaemia.OCCASIONAL,
         "occasional": Hypoglycaemia.OCCASIONAL, "频繁": Hypoglycaemia.FREQUENT,
         "3": Hypoglycaemia.FREQUENT, "frequent": Hypoglycaemia.FREQUENT}  # fmt: skip
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SPLIT = re.compile(r"[,，、;；/|\s]+")
_BP = re.compile(r"^(\d{2,3})\s*/\s*(\d{2,3})$")


def _plain(text: str) -> str:
    """Full-width digits, letters and spaces as ASCII, stripped and lower-cased."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def parse_date(text: str) -> date:
    plain = _plain(text)
    found = _DATE.match(plain) or _COMPACT_DATE.match(plain)
    if found is None:
        raise InvalidInput("date", f"不是日期：{text[:20]!r}（应为如 2024-03-15）",
                           f"not a date: {text[:20]!r} (expected e.g. 2024-03-15)")  # fmt: skip
    try:
        value = date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise InvalidInput(
            "date", f"日期不存在：{text[:20]!r}", f"no such date: {text[:20]!r}"
        ) from None
    if value.year < 1900:
        raise InvalidInput("date", "日期早于1900年", "date before 1900")
    return value


def parse_number(text: str, *, integer: bool = False) -> float:
    plain = _plain(text)
    try:
        value = float(plain)
    except ValueError:
        raise InvalidInput(
            "number", f"不是数字：{text[:20]!r}", f"not a number: {text[:20]!r}"
        ) from None
    if not math.isfinite(value) or (integer and not value.is_integer()):
        raise InvalidInput("number", f"不是{'整数' if integer else '数字'}：{text[:20]!r}",
                           f"not {'a whole' if integer else 'a'} number: {text[:20]!r}")  # fmt: skip
    return value


def parse_yes_no(text: str) -> bool:
    plain = _plain(text)
    if plain in _YES:
        return True
    if plain in _NO:
        return False
    raise InvalidInput(
        "yes_no", f"应填“是”或“否”：{text[:20]!r}", f"expected yes or no: {text[:20]!r}"
    )


def parse_programmes(text: str) -> list[Programme]:
    names = [n for n in _SPLIT.split(_plain(text)) if n]
    unknown = [n for n in names if n not in PROGRAMME_NAMES]
    if unknown:
        raise InvalidInput(
            "diseases",
            f"不是本平台管理的疾病：{'、'.join(unknown)[:60]}（可填：高血压、2型糖尿病、血脂异常、慢阻肺、脑卒中）",
            f"not a managed condition: {', '.join(unknown)[:60]}"
            " (accepted: hypertension, t2dm, dyslipidaemia, copd, stroke)",
        )
    return list(dict.fromkeys(PROGRAMME_NAMES[n] for n in names))


def _choice(table: Mapping[str, T], what: str, what_en: str) -> Callable[[str], T]:
    def parse(text: str) -> T:
        found = table.get(_plain(text))
        if found is None:
            choices = "、".join(k for k in table if not k.isascii())
            raise InvalidInput("choice", f"{what}无法识别：{text[:20]!r}（可填：{choices}）",
                               f"unknown {what_en}: {text[:20]!r}")  # fmt: skip
        return found

    return parse


class _Cells:
    """The cells of one row by column key, collecting every error."""

    def __init__(self, cells: Mapping[str, str]) -> None:
        self.cells = cells
        self.errors: list[CellError] = []
        for key, value in cells.items():
            if len(value) > MAX_CELL or len(value) > MAX_TEXT.get(key, MAX_CELL):
                limit = min(MAX_CELL, MAX_TEXT.get(key, MAX_CELL))
                self.errors.append(CellError(key, f"内容超过{limit}个字符", f"longer than {limit} characters"))  # fmt: skip
            elif any(unicodedata.category(ch) in ("Cc", "Cs", "Co") for ch in value):
                self.errors.append(CellError(key, "含有控制字符或无效字符", "holds control or invalid characters"))  # fmt: skip

    def text(self, key: str) -> str | None:
        if any(e.column == key for e in self.errors):
            return None
        value = self.cells.get(key, "").strip()
        return value or None

    def get(self, key: str, parse: Callable[[str], T]) -> T | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            return parse(value)
        except InvalidInput as exc:
            self.errors.append(CellError(key, exc.message, exc.message_en))
            return None

    def required(self, key: str, label: str, label_en: str) -> None:
        if self.text(key) is None and not any(e.column == key for e in self.errors):
            self.errors.append(CellError(key, f"{label}不能为空", f"{label_en} is required"))

    def past_date(self, key: str, today: date) -> date | None:
        value = self.get(key, parse_date)
        if value is not None and value > today:
            self.errors.append(CellError(key, "日期不能晚于今天", "the date is in the future"))
            return None
        return value

    def done(self) -> None:
        if self.errors:
            raise RowErrors(self.errors)


def _id_number(today: date) -> Callable[[str], str]:
    return lambda text: parse_resident_id(_plain(text), today=today).number


def _division(text: str) -> str:
    return parse_division_code(_plain(text)).code


def _keys(c: _Cells, today: date) -> tuple[str | None, str | None]:
    record_no = c.text("record_no")
    id_number = c.get("id_number", _id_number(today))
    if (
        record_no is None
        and id_number is None
        and not any(e.column in ("record_no", "id_number") for e in c.errors)
    ):
        c.errors.append(CellError("", "档案编号和身份证号至少填一项",
                                  "a record number or an ID number is required"))  # fmt: skip
    return record_no, id_number


def parse_resident(cells: Mapping[str, str], today: date) -> ResidentRow:
    """A residents-file row; raises :class:`RowErrors` listing every bad cell."""
    c = _Cells(cells)
    record_no, id_number = _keys(c, today)
    c.required("name", "姓名", "name")
    name = c.get("name", validate_name)
    programmes: dict[Programme, date | None] = {}
    general = c.past_date("diagnosed_on", today)
    for programme in c.get("diseases", parse_programmes) or []:
        programmes[programme] = general
    for key, programme in (("hypertension", Programme.HYPERTENSION), ("t2dm", Programme.T2DM)):
        if c.get(key, parse_yes_no):
            programmes[programme] = general
    for key, programme in (
        ("hypertension_on", Programme.HYPERTENSION),
        ("t2dm_on", Programme.T2DM),
    ):
        on = c.past_date(key, today)
        if on is not None:
            programmes[programme] = on  # a diagnosis date of its own also enrols
    row = ResidentRow(
        record_no=record_no,
        id_number=id_number,
        name=name or "",
        sex=c.get("sex", _choice(_SEX, "性别", "sex")),
        birth_date=c.get("birth_date", parse_date),
        phone=c.get("phone", normalise_phone),
        address=c.text("address"),
        division_code=c.get("division_code", _division),
        registered_on=c.past_date("registered_on", today),
        programmes=programmes,
    )
    if (
        row.id_number is None
        and row.birth_date is None
        and not {"birth_date", "id_number"} & {e.column for e in c.errors}
    ):
        c.errors.append(CellError("birth_date", "无身份证号时必须填写出生日期",
                                  "birth date is required without an ID number"))  # fmt: skip
    c.done()
    return row


def _int(text: str) -> int:
    return int(parse_number(text, integer=True))


def parse_visit(cells: Mapping[str, str], today: date) -> VisitRow:
    """A follow-ups-file row; raises :class:`RowErrors` listing every bad cell."""
    c = _Cells(cells)
    record_no, id_number = _keys(c, today)
    c.required("visit_date", "随访日期", "visit date")
    visit_date = c.get("visit_date", parse_date)
    sbp, dbp = c.get("sbp", _int), c.get("dbp", _int)
    both = c.get("bp", _bp)
    if both is not None:
        if (sbp is not None and sbp != both[0]) or (dbp is not None and dbp != both[1]):
            c.errors.append(CellError("bp", "血压与收缩压/舒张压列不一致", "blood pressure disagrees with systolic/diastolic"))  # fmt: skip
        sbp, dbp = both
    programmes = c.get("programme", parse_programmes) or []
    if len(programmes) > 1:
        c.errors.append(
            CellError("programme", "随访类型只能填一种疾病", "one programme per visit row")
        )
    if visit_date is not None and visit_date > today:
        c.errors.append(
            CellError("visit_date", "随访日期不能晚于今天", "the visit date is in the future")
        )
    row = VisitRow(
        record_no=record_no,
        id_number=id_number,
        name=c.text("name"),
        programme=programmes[0] if programmes else None,
        visit_date=visit_date or date.min,  # a missing date is an error: done() raises
        mode=c.get("mode", _choice(_MODES, "随访方式", "visit mode")),
        sbp=sbp,
        dbp=dbp,
        heart_rate=c.get("heart_rate", _int),
        weight_kg=c.get("weight_kg", parse_number),
        height_cm=c.get("height_cm", parse_number),
        fasting_glucose=c.get("fasting_glucose", parse_number),
        hba1c=c.get("hba1c", lambda t: parse_number(t.rstrip("%"))),
        cigarettes_per_day=c.get("cigarettes_per_day", _int),
        alcohol_liang_per_day=c.get("alcohol_liang_per_day", parse_number),
        adherence=c.get("adherence", _choice(_ADHERENCE, "服药依从性", "adherence")),
        adverse_reaction=bool(c.get("adverse_reaction", parse_yes_no)),
        hypoglycaemia=c.get("hypoglycaemia", _choice(_HYPO, "低血糖反应", "hypoglycaemia")),
        symptoms=c.text("symptoms"),
        next_visit_date=c.get("next_visit_date", parse_date),
    )
    c.done()
    return row


def _bp(text: str) -> tuple[int, int]:
    found = _BP.match(_plain(text))
    if found is None:
        raise InvalidInput("bp", f"血压应写成“收缩压/舒张压”，如 135/85：{text[:20]!r}",
                           f"blood pressure as systolic/diastolic, e.g. 135/85: {text[:20]!r}")  # fmt: skip
    return int(found[1]), int(found[2])
