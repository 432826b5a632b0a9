"""Managed, managed-to-the-standard, overdue and lost-to-follow-up status as of a date.

Source: 国家基本公共卫生服务规范（第三版，2017）— at least 4 face-to-face follow-ups a year; the
indicators 规范管理率 / 控制率 count patients "已管理" in the year. The standard leaves the
operational definitions open; the choices below are recorded in docs/clinical-rules.md:

- managed (年内已管理): at least one follow-up in the period.
- managed to the standard (规范管理): follow-ups in the enrolled part of the period ≥
  ``required_followups`` = max(1, min(4, ceil(days_enrolled / 91.25))) — one per started quarter
  of enrolment, 4 for a full year.
- due date of the next follow-up: the date the latest visit scheduled; if it scheduled none
  (e.g. a visit recorded as lost or without a classification), that visit's date; with no visit
  yet, the enrolment date (the first follow-up is due at once).
- overdue: the next visit's due date has passed (as_of > due date).
- lost to follow-up: no follow-up (or enrolment) in the 12 months up to ``as_of``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.dates import add_months

FOLLOWUPS_PER_YEAR = 4
DAYS_PER_QUARTER = 365 / FOLLOWUPS_PER_YEAR  # 91.25
LOST_TO_FOLLOW_UP_MONTHS = 12


def _check_period(period_start: date, period_end: date) -> None:
    if period_end < period_start:
        raise InvalidInput(
            "period_end", "统计期结束日期早于开始日期", "period_end is before period_start"
        )


def required_followups(enrolled_on: date, period_start: date, period_end: date) -> int:
    """Follow-ups needed in [period_start, period_end] (inclusive) for a patient enrolled on
    ``enrolled_on``; 0 if enrolled after the period."""
    _check_period(period_start, period_end)
    start = max(enrolled_on, period_start)
    if start > period_end:
        return 0
    days = (period_end - start).days + 1
    return max(1, min(FOLLOWUPS_PER_YEAR, math.ceil(days / DAYS_PER_QUARTER)))


def _visits_between(visits: Iterable[date], start: date, end: date) -> int:
    return sum(start <= v <= end for v in set(visits))


def is_managed(followups: Iterable[date], period_start: date, period_end: date) -> bool:
    """年内已管理: at least one follow-up in the period (inclusive)."""
    _check_period(period_start, period_end)
    return _visits_between(followups, period_start, period_end) >= 1


def is_managed_to_standard(
    followups: Iterable[date], enrolled_on: date, period_start: date, period_end: date
) -> bool:
    """规范管理: enough follow-ups (one per calendar day counted once) in the enrolled part."""
    required = required_followups(enrolled_on, period_start, period_end)
    if required == 0:
        return False
    start = max(enrolled_on, period_start)
    return _visits_between(followups, start, period_end) >= required


class FollowupStatus(StrEnum):
    ON_SCHEDULE = "on_schedule"
    OVERDUE = "overdue"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"

    @property
    def label_zh(self) -> str:
        return {"on_schedule": "按期", "overdue": "逾期未随访", "lost_to_follow_up": "失访"}[
            self.value
        ]


def follow_up_due_on(
    last_visit: date | None, next_visit_scheduled: date | None, enrolled_on: date
) -> date:
    """When the next follow-up of a managed patient is due (see the module docstring)."""
    return next_visit_scheduled or last_visit or enrolled_on


def is_overdue(next_due: date, as_of: date) -> bool:
    """The due date has passed without a visit (a visit on the due date is on time)."""
    return as_of > next_due


def is_lost_to_follow_up(last_contact: date, as_of: date) -> bool:
    """No follow-up in the 12 months up to ``as_of`` (``last_contact``: last follow-up or, if
    none, enrolment)."""
    return add_months(last_contact, LOST_TO_FOLLOW_UP_MONTHS) <= as_of


def followup_status(last_contact: date, next_due: date, as_of: date) -> FollowupStatus:
    if is_lost_to_follow_up(last_contact, as_of):
        return FollowupStatus.LOST_TO_FOLLOW_UP
    if is_overdue(next_due, as_of):
        return FollowupStatus.OVERDUE
    return FollowupStatus.ON_SCHEDULE
