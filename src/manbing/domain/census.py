"""Resident population (常住人口) of a county-level division by year, sex and age group.

The census gives the denominators the records cannot: the 电子健康档案建档率 (records over the
resident population) and the patient management rates against estimated patients (adult
residents × prevalence). Figures come from the census (第七次全国人口普查) or the statistics
bureau's yearly 常住人口 estimate, by sex and age group (typically 5-year groups, the last one
open: "85+").

Numbers (codes, years, ages, counts) are plain integers, read by ``domain.numbers``: full-width
digits typed in a Chinese IME (``３０００``) are read as ASCII; ``3_000``, ``3,000``, ``3000.0`` and
other scripts' digits are refused.

A row is one (division, year, sex, age group); groups of one division, year and sex must not
overlap. A group straddling an age limit (15–19 for "adults ≥ 18") is split in proportion to the
years on each side (``share_at_or_above``), assuming single years of age are equally populated
inside a group.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from manbing.domain.errors import InvalidInput
from manbing.domain.numbers import number_text, parse_integer
from manbing.domain.values import Sex

CSV_COLUMNS = ("division_code", "year", "sex", "age_from", "age_to", "population")
MIN_YEAR, MAX_YEAR = 1950, 2100
MAX_AGE = 130
COUNTY_CODE_LENGTH = 6
OPEN_GROUP_YEARS = 10  # an open group (85+) counted as 10 years wide when it must be split


@dataclass(frozen=True, slots=True)
class CensusRow:
    division_code: str
    year: int
    sex: Sex
    age_from: int
    age_to: int | None  # None: open-ended ("85 and over")
    population: int


def _integer(raw: str | None, field: str, label: str, low: int, high: int) -> int:
    text = (raw or "").strip()
    try:  # "３０００" is read (a Chinese IME's full-width digits); "3_000", "3,000" are not
        value = parse_integer(text)
    except ValueError as exc:
        raise InvalidInput(
            field, f"{label}必须是整数（{text!r}）", f"{field} must be an integer, got {text!r}"
        ) from exc
    if not low <= value <= high:
        raise InvalidInput(
            field,
            f"{label}应在 {low}–{high} 之间（{value}）",
            f"{field} must be between {low} and {high}, got {value}",
        )
    return value


def is_county_code(code: str) -> bool:
    """A GB/T 2260 county-level code: 6 digits, not a province (xx0000) or city (xxxx00)."""
    return (
        len(code) == COUNTY_CODE_LENGTH
        and code.isascii()  # str.isdigit() is also true of "²" and "３"
        and code.isdigit()
        and not code.endswith("00")
    )


def parse_row(raw: Mapping[str, str | None]) -> CensusRow:
    """One CSV row (columns ``CSV_COLUMNS``; sex M/F or 男/女; age_to empty for an open group)."""
    code = number_text(raw.get("division_code") or "")  # full-width digits read as ASCII
    if not is_county_code(code):
        raise InvalidInput(
            "division_code",
            f"行政区划代码应为6位县级代码（如 330108），不是 {code!r}",
            f"division_code must be a 6-digit county-level code, got {code!r}",
        )
    year = _integer(raw.get("year"), "year", "年份", MIN_YEAR, MAX_YEAR)
    sex_text = (raw.get("sex") or "").strip().upper()
    sexes = {"M": Sex.MALE, "男": Sex.MALE, "F": Sex.FEMALE, "女": Sex.FEMALE}
    if sex_text not in sexes:
        raise InvalidInput(
            "sex", f"性别应为 M/F 或 男/女（{sex_text!r}）", f"sex must be M or F, got {sex_text!r}"
        )
    age_from = _integer(raw.get("age_from"), "age_from", "起始年龄", 0, MAX_AGE)
    to_text = (raw.get("age_to") or "").strip()
    age_to = None if to_text == "" else _integer(to_text, "age_to", "终止年龄", 0, MAX_AGE)
    if age_to is not None and age_to < age_from:
        raise InvalidInput(
            "age_to",
            f"终止年龄 {age_to} 小于起始年龄 {age_from}",
            f"age_to {age_to} is below age_from {age_from}",
        )
    population = _integer(raw.get("population"), "population", "人口数", 0, 10**9)
    return CensusRow(code, year, sexes[sex_text], age_from, age_to, population)


def check_groups(rows: Iterable[CensusRow]) -> None:
    """Refuse overlapping (or repeated) age groups within a division, year and sex."""
    by_key: dict[tuple[str, int, Sex], list[CensusRow]] = {}
    for r in rows:
        by_key.setdefault((r.division_code, r.year, r.sex), []).append(r)
    for (code, year, sex), group in by_key.items():
        group.sort(key=lambda r: r.age_from)
        for before, after in itertools.pairwise(group):
            if before.age_to is None or before.age_to >= after.age_from:
                shown = f"{before.age_from}–{'' if before.age_to is None else before.age_to}"
                raise InvalidInput(
                    "age_from",
                    f"{code} {year} {sex.value}：年龄组 {shown} 与 {after.age_from}– 重叠",
                    f"{code} {year} {sex.value}: age group {shown} overlaps {after.age_from}-",
                )


def share_at_or_above(age_from: int, age_to: int | None, min_age: int) -> float:
    """The share of an age group aged ``min_age`` or more (years equally populated)."""
    if age_from >= min_age:
        return 1.0
    last = age_to if age_to is not None else age_from + OPEN_GROUP_YEARS - 1
    if last < min_age:
        return 0.0
    return (last - min_age + 1) / (last - age_from + 1)
