"""One rule for numbers typed by people: ASCII or full-width digits, nothing int()/float() guess."""

from __future__ import annotations

import pytest

from manbing.domain.numbers import NotFinite, parse_decimal, parse_integer


@pytest.mark.parametrize(
    ("text", "value"),
    [("3000", 3000), (" 42 ", 42), ("-5", -5), ("+7", 7), ("007", 7), ("３０００", 3000),
     ("－５", -5), ("\u3000１２\u3000", 12)],
)  # fmt: skip
def test_integers_in_ascii_or_full_width_digits_are_read(text: str, value: int) -> None:
    assert parse_integer(text) == value


@pytest.mark.parametrize(
    "text",
    ["3_000", "３_０００", "3,000", "3，000", "3 000", "3000.0", "1e3", "", "-", "٣٠٠٠", "३",
     "²", "①", "0x10", "nan", "9" * 5000],
)  # fmt: skip
def test_integers_int_would_guess_at_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_integer(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("7.2", 7.2), (" 7.2 ", 7.2), (".5", 0.5), ("5.", 5.0), ("1e2", 100.0), ("1.5E-1", 0.15),
     ("６．１", 6.1), ("－０．５", -0.5), ("120", 120.0)],
)  # fmt: skip
def test_decimals_in_ascii_or_full_width_are_read(text: str, value: float) -> None:
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text", ["1_000", "1_000.5", "1,5", "٣.٥", "½", "6.1.2", "abc", "", "."])
def test_decimals_float_would_guess_at_are_refused(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_decimal(text)
    assert not isinstance(refused.value, NotFinite)


@pytest.mark.parametrize("text", ["nan", "NaN", "-inf", "Infinity", "1e999", "-1e400"])
def test_numbers_that_are_not_finite_are_refused_as_such(text: str) -> None:
    with pytest.raises(NotFinite):
        parse_decimal(text)
