from datetime import date

import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.residents import (
    KeyPopulation,
    RecordedFlags,
    age_on,
    key_populations,
    mask_id_number,
    mask_name,
    mask_phone,
    normalise_phone,
    validate_birth_date,
    validate_name,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-13812345678".replace("-", ""), "13812345678"),
        ("0571-88886666", "0571-88886666"),
        ("010 6512 3456", "01065123456"),
    ],
)
def test_it_accepts_mainland_mobile_and_landline_numbers(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "23812345678", "1381234567", "138123456789", "abc", ""])
def test_it_refuses_malformed_phone_numbers_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_phone(raw)
    assert err.value.field == "phone"
    assert "电话" in err.value.message


def test_age_counts_completed_years_across_the_birthday() -> None:
    assert age_on(date(1961, 11, 25), date(2026, 11, 24)) == 64
    assert age_on(date(1961, 11, 24), date(2026, 11, 24)) == 65
    assert age_on(date(2000, 2, 29), date(2001, 2, 28)) == 0
    assert age_on(date(2000, 2, 29), date(2001, 3, 1)) == 1


def test_key_populations_derive_age_groups_and_combine_recorded_flags() -> None:
    on = date(2026, 11, 24)
    elderly = key_populations(
        date(1950, 1, 1),
        on,
        RecordedFlags(disability=True),
        has_hypertension=True,
        has_diabetes=False,
    )
    assert elderly == {KeyPopulation.ELDERLY, KeyPopulation.DISABILITY, KeyPopulation.HYPERTENSION}
    child = key_populations(
        date(2020, 11, 25), on, RecordedFlags(), has_hypertension=False, has_diabetes=False
    )
    assert child == {KeyPopulation.CHILD_UNDER_7}
    seven = key_populations(
        date(2019, 11, 24), on, RecordedFlags(), has_hypertension=False, has_diabetes=False
    )
    assert seven == frozenset()


def test_masking_hides_the_middle_of_names_ids_and_phones() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"


def test_names_with_digits_and_future_birth_dates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="name"):
        validate_name("张3")
    with pytest.raises(InvalidInput) as err:
        validate_birth_date(date(2030, 1, 1), date(2026, 11, 24))
    assert err.value.field == "birth_date"
    with pytest.raises(InvalidInput):
        validate_birth_date(date(1890, 1, 1), date(2026, 11, 24))
