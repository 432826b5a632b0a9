from datetime import date

import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.management import (
    FollowupStatus,
    follow_up_due_on,
    followup_status,
    is_lost_to_follow_up,
    is_managed,
    is_managed_to_standard,
    is_overdue,
    required_followups,
)

Y_START, Y_END = date(2024, 1, 1), date(2024, 12, 31)
QUARTERLY = [date(2024, 1, 10), date(2024, 4, 10), date(2024, 7, 10), date(2024, 10, 10)]


@pytest.mark.parametrize(
    ("enrolled", "required"),
    [
        (date(2020, 5, 1), 4),  # enrolled before the year: full year
        (date(2024, 1, 1), 4),
        (date(2024, 4, 2), 4),  # 274 days: ceil(274/91.25) = 4
        (date(2024, 4, 3), 3),  # 273 days: 2.99 quarters
        (date(2024, 10, 2), 1),  # 91 days
        (date(2024, 10, 1), 2),  # 92 days
        (date(2024, 12, 31), 1),
        (date(2025, 1, 1), 0),  # enrolled after the period
    ],
)
def test_it_pro_rates_the_required_followups_by_started_quarter(
    enrolled: date, required: int
) -> None:
    assert required_followups(enrolled, Y_START, Y_END) == required


def test_four_quarterly_visits_in_a_full_year_are_to_standard() -> None:
    assert is_managed_to_standard(QUARTERLY, date(2023, 6, 1), Y_START, Y_END)


def test_three_visits_in_a_full_year_are_not_to_standard() -> None:
    assert not is_managed_to_standard(QUARTERLY[:3], date(2023, 6, 1), Y_START, Y_END)


def test_two_visits_on_the_same_day_count_once() -> None:
    visits = [*QUARTERLY[:3], QUARTERLY[2]]
    assert not is_managed_to_standard(visits, date(2023, 6, 1), Y_START, Y_END)


def test_visits_outside_the_period_do_not_count() -> None:
    visits = [date(2023, 12, 31), *QUARTERLY[1:], date(2025, 1, 1)]
    assert not is_managed_to_standard(visits, date(2023, 6, 1), Y_START, Y_END)


def test_a_patient_enrolled_in_october_needs_two_visits() -> None:
    enrolled = date(2024, 10, 1)
    assert not is_managed_to_standard([date(2024, 10, 1)], enrolled, Y_START, Y_END)
    assert is_managed_to_standard([date(2024, 10, 1), date(2024, 12, 30)], enrolled, Y_START, Y_END)


def test_managed_means_at_least_one_followup_in_the_period() -> None:
    assert is_managed([date(2024, 12, 31)], Y_START, Y_END)
    assert not is_managed([date(2023, 12, 31), date(2025, 1, 1)], Y_START, Y_END)


def test_it_refuses_a_period_that_ends_before_it_starts() -> None:
    with pytest.raises(InvalidInput):
        is_managed([], Y_END, Y_START)


@pytest.mark.parametrize(
    ("as_of", "overdue"), [(date(2024, 6, 10), False), (date(2024, 6, 11), True)]
)
def test_a_visit_is_overdue_the_day_after_it_was_due(as_of: date, overdue: bool) -> None:
    assert is_overdue(date(2024, 6, 10), as_of) is overdue


@pytest.mark.parametrize(
    ("last", "as_of", "lost"),
    [
        (date(2023, 3, 10), date(2024, 3, 9), False),
        (date(2023, 3, 10), date(2024, 3, 10), True),
        (date(2023, 2, 28), date(2024, 2, 27), False),
        (date(2023, 2, 28), date(2024, 2, 28), True),
    ],
)
def test_lost_to_follow_up_after_12_months_without_contact(
    last: date, as_of: date, lost: bool
) -> None:
    assert is_lost_to_follow_up(last, as_of) is lost


def test_the_status_prefers_lost_to_follow_up_over_overdue() -> None:
    last, due = date(2023, 1, 5), date(2023, 4, 5)
    assert followup_status(last, due, date(2023, 4, 5)) is FollowupStatus.ON_SCHEDULE
    assert followup_status(last, due, date(2023, 4, 6)) is FollowupStatus.OVERDUE
    assert followup_status(last, due, date(2024, 1, 5)) is FollowupStatus.LOST_TO_FOLLOW_UP
    assert FollowupStatus.LOST_TO_FOLLOW_UP.label_zh == "失访"


def test_the_next_follow_up_is_due_when_scheduled_else_at_the_last_visit_else_at_enrolment() -> (
    None
):
    enrolled, visit, scheduled = date(2024, 1, 5), date(2024, 3, 1), date(2024, 5, 30)
    assert follow_up_due_on(visit, scheduled, enrolled) == scheduled
    assert follow_up_due_on(visit, None, enrolled) == visit  # e.g. a visit recorded as lost
    assert follow_up_due_on(None, None, enrolled) == enrolled
