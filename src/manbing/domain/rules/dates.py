"""Calendar arithmetic for schedules: whole months with month-end clamping."""

from __future__ import annotations

import calendar as _cal
from datetime import date


def add_months(start: date, months: int) -> date:
    """Add calendar months; a day past the end of the target month is clamped to its last day.

    ``add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)``; negative ``months`` go back.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = _cal.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last_day))
