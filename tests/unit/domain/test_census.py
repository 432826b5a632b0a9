"""Census rows: parsing with clear errors, overlapping groups, the share above an age."""

from __future__ import annotations

import pytest

from manbing.domain.census import CensusRow, check_groups, parse_row, share_at_or_above
from manbing.domain.errors import InvalidInput
from manbing.domain.values import Sex


def _raw(**kw: str) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "division_code": "330108",
        "year": "2025",
        "sex": "M",
        "age_from": "15",
        "age_to": "19",
        "population": "100",
    }
    row.update(kw)
    return row


def test_a_row_parses_with_chinese_sex_and_an_open_group() -> None:
    assert parse_row(_raw(sex="女", age_from="85", age_to="")) == CensusRow(
        "330108", 2025, Sex.FEMALE, 85, None, 100
    )


def test_full_width_digits_typed_in_a_chinese_ime_are_read() -> None:
    row = parse_row(
        _raw(division_code="３３０１０８", year="２０２５", age_from="１５", age_to="１９",
             population=" ３０００ ")
    )  # fmt: skip
    assert row == CensusRow("330108", 2025, Sex.MALE, 15, 19, 3000)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("division_code", "330100", "县级"),
        ("division_code", "33010", "县级"),
        ("year", "20x5", "整数"),
        ("year", "1900", "1950"),
        ("sex", "U", "性别"),
        ("age_from", "-1", "起始年龄"),
        ("age_to", "10", "小于"),
        ("population", "1.5", "整数"),
        ("population", "3_000", "整数"),  # int() read it as 3000
        ("population", "٣٠٠٠", "整数"),  # Arabic-Indic digits: int() read them too
        ("age_from", "1_5", "整数"),
        ("year", "2_025", "整数"),
        ("division_code", "33010²", "县级"),  # "²".isdigit() is true
        ("population", "-3", "人口数"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(field: str, value: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_row(_raw(**{field: value}))
    assert caught.value.field == field and words in caught.value.message


def test_overlapping_groups_are_refused_but_other_sexes_may_repeat_ages() -> None:
    m = CensusRow("330108", 2025, Sex.MALE, 0, 17, 1)
    f = CensusRow("330108", 2025, Sex.FEMALE, 0, 17, 1)
    check_groups([m, f, CensusRow("330108", 2025, Sex.MALE, 18, None, 1)])
    with pytest.raises(InvalidInput):
        check_groups([m, CensusRow("330108", 2025, Sex.MALE, 17, 20, 1)])
    with pytest.raises(InvalidInput):  # nothing may follow an open group
        check_groups([CensusRow("330108", 2025, Sex.MALE, 0, None, 1), f, m])


def test_the_share_above_an_age_splits_a_group_by_years() -> None:
    assert share_at_or_above(15, 19, 18) == pytest.approx(2 / 5)
    assert share_at_or_above(20, 24, 18) == 1.0
    assert share_at_or_above(0, 17, 18) == 0.0
    assert share_at_or_above(10, None, 18) == pytest.approx(2 / 10)  # open: 10 years wide
