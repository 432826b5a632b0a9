"""Reading posted form fields: every wrong value names its field in Chinese."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from manbing.domain.errors import InvalidInput
from manbing.web.ui import forms


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-Infinity", "1e309"])
def test_a_number_that_is_not_finite_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        forms.optional_number(FormData({"sbp": raw}), "sbp", "收缩压")
    assert refused.value.field == "sbp" and refused.value.message == "收缩压应为有效数字"


@pytest.mark.parametrize(
    ("raw", "value"),
    [(" 7.2 ", 7.2), ("1e2", 100.0), ("", None), ("６．１", 6.1), ("１２０", 120.0)],
)
def test_ordinary_numbers_and_blanks_are_read(raw: str, value: float | None) -> None:
    assert forms.optional_number(FormData({"x": raw}), "x", "数值") == value


def test_an_integer_field_refuses_a_fraction_and_infinity() -> None:
    with pytest.raises(InvalidInput) as fraction:
        forms.required_int(FormData({"pulse": "72.5"}), "pulse", "脉率")
    assert fraction.value.message == "脉率应为整数"
    with pytest.raises(InvalidInput) as infinite:
        forms.required_int(FormData({"pulse": "inf"}), "pulse", "脉率")
    assert infinite.value.message == "脉率应为有效数字"


@pytest.mark.parametrize("raw", ["1_000", "12_0", "٣", "1,20", "1２0x"])
def test_a_number_python_would_guess_at_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        forms.optional_number(FormData({"sbp": raw}), "sbp", "收缩压")
    assert refused.value.field == "sbp" and refused.value.message == "收缩压应为数字"


def test_an_integer_field_reads_full_width_digits_and_refuses_underscores() -> None:
    assert forms.required_int(FormData({"pulse": "７２"}), "pulse", "脉率") == 72
    with pytest.raises(InvalidInput) as refused:
        forms.required_int(FormData({"pulse": "7_2"}), "pulse", "脉率")
    assert refused.value.message == "脉率应为数字"
