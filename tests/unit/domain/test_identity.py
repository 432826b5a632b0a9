from datetime import date

import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.identity import (
    DivisionLevel,
    check_character,
    parse_division_code,
    parse_resident_id,
    upgrade_15_to_18,
)
from manbing.domain.values import Sex


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",
        "440524188001010014",
        "440524188001015368",
        "53010219200508011X",
        "110101199003070011",
        "440304198511201235",
    ],
)
def test_it_accepts_the_standard_and_computed_examples(number: str) -> None:
    assert parse_resident_id(number).number == number
    assert check_character(number[:17]) == number[17]


def test_it_accepts_a_lower_case_x_and_surrounding_spaces() -> None:
    assert parse_resident_id(" 11010519491231002x ").number == "11010519491231002X"


def test_it_rejects_a_wrong_check_character() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_resident_id("110105194912310021")
    assert err.value.field == "id_number"
    assert "expected X" in err.value.message_en


def test_it_rejects_an_impossible_birth_date() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_resident_id("110105194902310026")
    assert "does not exist" in err.value.message_en


def test_it_rejects_a_birth_date_after_today() -> None:
    first17 = "11010520300101001"
    with pytest.raises(InvalidInput):
        parse_resident_id(first17 + check_character(first17), today=date(2025, 1, 1))


@pytest.mark.parametrize(
    "bad",
    ["", "1101051949123100", "1101051949123100XX", "11010519491231002Y", "X10105194912310021"],
)
def test_it_rejects_wrong_lengths_and_characters(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_resident_id(bad)


@pytest.mark.parametrize("bad", ["１１０１０５１９４９１２３１００２X", "110105194912310٠2X"])
def test_it_rejects_non_ascii_digits(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_resident_id(bad)


def test_check_character_refuses_non_digits_with_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        check_character("1101051949123100²")


def test_it_decodes_birth_date_and_sex() -> None:
    man = parse_resident_id("440304198511201235")
    assert (man.birth_date, man.sex, man.division_code) == (date(1985, 11, 20), Sex.MALE, "440304")
    woman = parse_resident_id("11010519491231002X")
    assert (woman.birth_date, woman.sex) == (date(1949, 12, 31), Sex.FEMALE)


def test_it_masks_the_birth_date_part() -> None:
    assert parse_resident_id("11010519491231002X").masked == "110105********002X"


def test_it_upgrades_a_15_digit_number() -> None:
    assert upgrade_15_to_18("110105491231002") == "11010519491231002X"
    parsed = parse_resident_id("110105491231002")
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex is Sex.FEMALE


def test_a_15_digit_number_with_an_impossible_date_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        parse_resident_id("110105490231002")


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("110000", DivisionLevel.PROVINCE, None),
        ("440300", DivisionLevel.PREFECTURE, "440000"),
        ("440304", DivisionLevel.COUNTY, "440300"),
        ("110105", DivisionLevel.COUNTY, "110100"),
        ("440304001000", DivisionLevel.TOWNSHIP, "440304"),
        ("440304001002", DivisionLevel.VILLAGE, "440304001000"),
    ],
)
def test_it_parses_division_levels_and_parents(
    code: str, level: DivisionLevel, parent: str | None
) -> None:
    parsed = parse_division_code(code)
    assert parsed.level is level
    assert parsed.parent == parent


def test_a_county_knows_its_province_and_prefecture() -> None:
    parsed = parse_division_code("650102")
    assert (parsed.province, parsed.prefecture, parsed.county) == ("650000", "650100", "650102")
    province = parse_division_code("650000")
    assert (province.prefecture, province.county) == (None, None)


@pytest.mark.parametrize(
    "bad", ["", "00000", "000000", "11010", "1101051", "44030400000A", "440304000001"]
)
def test_it_rejects_malformed_division_codes(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_division_code(bad)
    assert err.value.field == "division_code"


def test_it_rejects_full_width_digits_in_division_codes() -> None:
    with pytest.raises(InvalidInput):
        parse_division_code("４４０３０４")
