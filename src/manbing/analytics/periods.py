"""Reporting periods: a month (2026-07), a quarter (2026Q3), a year (2026) or any date range
(2026-01-15..2026-03-31). Bounds are inclusive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from manbing.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str) -> Period:
    """Parse a period label; raises ``InvalidInput(field="period")``."""
    label = text.strip().upper()
    try:
        if m := _QUARTER.match(label):
            year, q = int(m.group(1)), int(m.group(2))
            return Period(label, date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
        if m := _MONTH.match(label):
            year, month = int(m.group(1)), int(m.group(2))
            return Period(label, date(year, month, 1), _month_end(year, month))
        if m := _YEAR.match(label):
            year = int(m.group(1))
            return Period(label, date(year, 1, 1), date(year, 12, 31))
        if m := _RANGE.match(label):
            start, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            if end >= start:
                return Period(f"{start}..{end}", start, end)
    except ValueError:
        pass
    raise InvalidInput(
        "period",
        f"统计期格式不正确：{text!r}（例：2026Q3、2026-07、2026、2026-01-01..2026-03-31）",
        f"bad period {text!r} (e.g. 2026Q3, 2026-07, 2026, 2026-01-01..2026-03-31)",
    )


def quarter_of(day: date) -> Period:
    return parse_period(f"{day.year}Q{(day.month - 1) // 3 + 1}")


def month_of(day: date) -> Period:
    return parse_period(f"{day:%Y-%m}")


def recent_periods(today: date, quarters: int = 2, months: int = 3) -> list[Period]:
    """The periods recomputed on each refresh to absorb late data: the current and previous
    quarters, the last months and the current year (and the previous one in January–March)."""
    found: list[Period] = []
    day = today
    for _ in range(quarters):
        q = quarter_of(day)
        found.append(q)
        day = q.start - timedelta(days=1)
    day = today
    for _ in range(months):
        m = month_of(day)
        found.append(m)
        day = m.start - timedelta(days=1)
    found.append(parse_period(str(today.year)))
    if today.month <= 3:
        found.append(parse_period(str(today.year - 1)))
    return found


def trailing_quarters(end: Period, count: int) -> list[Period]:
    """``count`` quarters ending with the quarter containing ``end.end``, oldest first."""
    found: list[Period] = []
    day = end.end
    for _ in range(count):
        q = quarter_of(day)
        found.append(q)
        day = q.start - timedelta(days=1)
    return found[::-1]
