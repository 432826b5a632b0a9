"""Resident identity numbers and administrative division codes.

Sources:
- GB 11643-1999 《公民身份号码》: 18 characters = 6-digit address code, 8-digit birth date,
  3-digit sequence (odd = male, even = female), ISO 7064 MOD 11-2 check character.
  Legacy 15-digit numbers (6 address + YYMMDD + 3 sequence) are upgraded by inserting "19"
  before the year and appending the computed check character.
- GB/T 2260-2007 《中华人民共和国行政区划代码》: digits 1–2 province, 3–4 prefecture,
  5–6 county; the NBS statistical division code appends 3 digits township + 3 digits village.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from manbing.domain.errors import InvalidInput
from manbing.domain.values import Sex

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2
_CHECK_CHARS = "10X98765432"
_ID18 = re.compile(r"^[0-9]{17}[0-9X]\Z")
_ID15 = re.compile(r"^[0-9]{15}\Z")
_EARLIEST_BIRTH = date(1880, 1, 1)


def check_character(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise InvalidInput(
            "id_number", "身份证号前17位必须是数字", "the first 17 characters must be digits"
        )
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def upgrade_15_to_18(legacy: str) -> str:
    """Upgrade a 15-digit legacy number: insert the century '19' and append the check character."""
    if not _ID15.match(legacy):
        raise InvalidInput(
            "id_number", "15位身份证号必须全部是数字", "a 15-digit ID must be all digits"
        )
    first17 = legacy[:6] + "19" + legacy[6:]
    return first17 + check_character(first17)


@dataclass(frozen=True)
class ResidentId:
    """A validated 18-character resident identity number and what it encodes."""

    number: str
    division_code: str
    birth_date: date
    sex: Sex

    @property
    def masked(self) -> str:
        """The form shown to users without the right to see it whole (PIPL minimisation)."""
        return self.number[:6] + "********" + self.number[14:]


def parse_resident_id(raw: str, *, today: date | None = None) -> ResidentId:
    """Validate a GB 11643 number (18 characters, or 15 legacy digits) and decode it.

    Raises ``InvalidInput(field="id_number")`` for a wrong length or character, an impossible
    birth date, a birth date after ``today`` or a wrong check character.
    """
    text = raw.strip().upper()
    if _ID15.match(text):
        text = upgrade_15_to_18(text)
    if not _ID18.match(text):
        raise InvalidInput(
            "id_number",
            "身份证号应为18位（前17位数字，末位为数字或X）",
            "an ID number has 18 characters: 17 digits and a digit or X",
        )
    birth = _birth_date(text[6:14])
    if birth < _EARLIEST_BIRTH or (today is not None and birth > today):
        raise InvalidInput(
            "id_number",
            "身份证号中的出生日期不合理",
            "the birth date in the ID number is implausible",
        )
    expected = check_character(text[:17])
    if text[17] != expected:
        raise InvalidInput(
            "id_number",
            "身份证号校验位错误，请核对号码",
            f"wrong check character: expected {expected}",
        )
    sex = Sex.MALE if int(text[16]) % 2 == 1 else Sex.FEMALE
    return ResidentId(number=text, division_code=text[:6], birth_date=birth, sex=sex)


def _birth_date(yyyymmdd: str) -> date:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise InvalidInput(
            "id_number",
            "身份证号中的出生日期不存在",
            "the birth date in the ID number does not exist",
        ) from None


class DivisionLevel(StrEnum):
    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


@dataclass(frozen=True)
class DivisionCode:
    """A GB/T 2260 code (6 digits) or NBS statistical code (12 digits), split into its levels."""

    code: str
    level: DivisionLevel

    @property
    def province(self) -> str:
        return self.code[:2] + "0000"

    @property
    def prefecture(self) -> str | None:
        return None if self.level is DivisionLevel.PROVINCE else self.code[:4] + "00"

    @property
    def county(self) -> str | None:
        order = list(DivisionLevel)
        return (
            self.code[:6] if order.index(self.level) >= order.index(DivisionLevel.COUNTY) else None
        )

    @property
    def parent(self) -> str | None:
        """The code of the enclosing division, or ``None`` for a province."""
        if self.level is DivisionLevel.PROVINCE:
            return None
        if self.level is DivisionLevel.PREFECTURE:
            return self.province
        if self.level is DivisionLevel.COUNTY:
            return self.prefecture
        if self.level is DivisionLevel.TOWNSHIP:
            return self.code[:6]
        return self.code[:9] + "000"


def parse_division_code(raw: str) -> DivisionCode:
    """Parse a 6-digit GB/T 2260 or 12-digit statistical code and decide its level."""
    code = raw.strip()
    if len(code) == 6 and code.isascii() and code.isdigit() and code[:2] != "00":
        if code[2:] == "0000":
            level = DivisionLevel.PROVINCE
        elif code[4:] == "00":
            level = DivisionLevel.PREFECTURE
        else:
            level = DivisionLevel.COUNTY
        return DivisionCode(code, level)
    if len(code) == 12 and code.isascii() and code.isdigit() and code[4:6] != "00":
        if code[6:9] == "000":
            raise InvalidInput(
                "division_code", "统计用区划代码的乡镇部分不能为000", "township part is 000"
            )
        level = DivisionLevel.TOWNSHIP if code[9:] == "000" else DivisionLevel.VILLAGE
        return DivisionCode(code, level)
    raise InvalidInput(
        "division_code",
        "行政区划代码应为6位（GB/T 2260）或12位统计用区划代码",
        "a division code has 6 digits (GB/T 2260) or 12 digits (statistical code)",
    )
