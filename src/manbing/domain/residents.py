"""Resident records: status, key populations and masking of sensitive personal information.

Masking follows the PIPL principle of minimum necessary disclosure (《个人信息保护法》 2021,
Art. 28 lists identity numbers and medical health as sensitive personal information) and the
usual display rules of GB/T 35273-2020 §A (de-identification examples).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from manbing.domain.errors import InvalidInput


class ResidentStatus(StrEnum):
    ACTIVE = "active"
    MOVED_AWAY = "moved_away"
    DEAD = "dead"
    MERGED = "merged"  # a duplicate folded into another record by the master patient index


class KeyPopulation(StrEnum):
    """重点人群 of the family-doctor contract policy."""

    ELDERLY = "elderly_65"
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"
    SEVERE_MENTAL_DISORDER = "severe_mental_disorder"
    PREGNANT = "pregnant"
    CHILD_UNDER_7 = "child_0_6"
    DISABILITY = "disability"

    @property
    def label_zh(self) -> str:
        return _KEY_LABELS[self]


_KEY_LABELS = {
    KeyPopulation.ELDERLY: "65岁及以上老年人",
    KeyPopulation.HYPERTENSION: "高血压患者",
    KeyPopulation.DIABETES: "2型糖尿病患者",
    KeyPopulation.SEVERE_MENTAL_DISORDER: "严重精神障碍患者",
    KeyPopulation.PREGNANT: "孕产妇",
    KeyPopulation.CHILD_UNDER_7: "0–6岁儿童",
    KeyPopulation.DISABILITY: "残疾人",
}


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on a date."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


@dataclass(frozen=True, slots=True)
class RecordedFlags:
    """Flags the platform cannot derive and so stores on the record."""

    severe_mental_disorder: bool = False
    pregnant: bool = False
    disability: bool = False


def key_populations(
    birth_date: date,
    on: date,
    flags: RecordedFlags,
    *,
    has_hypertension: bool,
    has_diabetes: bool,
) -> frozenset[KeyPopulation]:
    """All key populations a resident belongs to on a date (age groups derived from birth date)."""
    age = age_on(birth_date, on)
    found: set[KeyPopulation] = set()
    if age >= 65:
        found.add(KeyPopulation.ELDERLY)
    if age <= 6:
        found.add(KeyPopulation.CHILD_UNDER_7)
    if has_hypertension:
        found.add(KeyPopulation.HYPERTENSION)
    if has_diabetes:
        found.add(KeyPopulation.DIABETES)
    if flags.severe_mental_disorder:
        found.add(KeyPopulation.SEVERE_MENTAL_DISORDER)
    if flags.pregnant:
        found.add(KeyPopulation.PREGNANT)
    if flags.disability:
        found.add(KeyPopulation.DISABILITY)
    return frozenset(found)


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalise_phone(raw: str) -> str:
    """Validate a mainland mobile (11 digits, 1[3-9]…) or landline (area code + 7–8 digits).

    Spaces, and a leading +86 or 0086, are removed. Raises ``InvalidInput(field="phone")``.
    """
    text = re.sub(r"[\s()]", "", raw)
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if _MOBILE.match(text) or _LANDLINE.match(text):
        return text
    raise InvalidInput(
        "phone",
        "电话号码格式不正确：手机号为11位（1开头），固话为区号+7至8位号码",
        "phone must be an 11-digit mobile number or an area code with a 7–8 digit number",
    )


def validate_name(raw: str) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= 50 or any(ch.isdigit() for ch in name):
        raise InvalidInput(
            "name", "姓名应为1至50个字符且不含数字", "name must be 1–50 characters without digits"
        )
    return name


def validate_birth_date(birth: date, today: date) -> date:
    if birth > today:
        raise InvalidInput("birth_date", "出生日期不能晚于今天", "birth date is in the future")
    if age_on(birth, today) > 125:
        raise InvalidInput(
            "birth_date", "出生日期不合理（年龄超过125岁）", "birth date gives an age above 125"
        )
    return birth


def mask_name(name: str) -> str:
    """张三 → 张*; 欧阳娜娜 → 欧**娜; keep the first and (for 3+) the last character."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(number: str) -> str:
    """Keep the address code and the last four characters."""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
