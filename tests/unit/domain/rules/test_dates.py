from datetime import date

import pytest

from manbing.domain.rules.dates import add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 15), 3, date(2024, 4, 15)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
        (date(2024, 8, 31), 1, date(2024, 9, 30)),
        (date(2024, 10, 31), 3, date(2025, 1, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 5, 31), -3, date(2024, 2, 29)),
        (date(2024, 12, 1), 1, date(2025, 1, 1)),
    ],
)
def test_it_adds_months_clamping_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected
