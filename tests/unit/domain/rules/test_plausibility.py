import math

import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.plausibility import check_vitals


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sbp": 400}, "sbp"),
        ({"sbp": 39}, "sbp"),
        ({"dbp": 201}, "dbp"),
        ({"sbp": 120, "dbp": 120}, "sbp"),
        ({"heart_rate": 251}, "heart_rate"),
        ({"glucose_mmol": 0.4}, "glucose"),
        ({"hba1c_percent": 21}, "hba1c"),
        ({"temperature_c": 46}, "temperature_c"),
        ({"sbp": math.nan}, "sbp"),
    ],
)
def test_it_refuses_implausible_vitals_naming_the_field(
    kwargs: dict[str, float], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        check_vitals(**kwargs)
    assert err.value.field == field
    assert err.value.message  # a Chinese message for the form


def test_it_accepts_the_range_ends_and_missing_values() -> None:
    check_vitals(sbp=300, dbp=200, heart_rate=20, glucose_mmol=50, hba1c_percent=3)
    check_vitals(sbp=40, dbp=20)
    check_vitals()
