"""Family-doctor contracts (家庭医生签约服务).

Source: 关于推进家庭医生签约服务高质量发展的指导意见 (国卫基层发〔2022〕10号): contracts normally run
one year and are renewed (续约) at expiry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

from manbing.domain.errors import InvalidInput

EXPIRY_NOTICE_DAYS = 30

T = TypeVar("T")


class ContractStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    RENEWED = "renewed"  # superseded by a renewal contract


def check_period(start: date, end: date) -> None:
    if end <= start:
        raise InvalidInput(
            "end_date", "签约结束日期必须晚于开始日期", "contract end must be after its start"
        )
    if (end - start).days > 3 * 366:
        raise InvalidInput(
            "end_date", "签约期限不能超过3年", "a contract cannot run longer than 3 years"
        )


def default_end(start: date) -> date:
    """One year, ending the day before the anniversary (29 Feb starts end on 27 Feb)."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:
        anniversary = date(start.year + 1, 2, 28)
    return anniversary - timedelta(days=1)


def is_expiring(end: date, today: date, notice_days: int = EXPIRY_NOTICE_DAYS) -> bool:
    return today <= end <= today + timedelta(days=notice_days)


def contract_to_keep(active: Sequence[tuple[T, date, date]]) -> T:
    """Of several active contracts held by one resident (after two records of the same person
    are merged), the one that stays active: the one running longest (latest end date), then
    the earliest signed (earliest start). A resident signs with one family-doctor team at a
    time (国卫基层发〔2022〕10号), so the others are ended.

    ``active`` holds (key, start date, end date) tuples; it must not be empty."""
    if not active:
        raise ValueError("no active contract to keep")
    return max(active, key=lambda c: (c[2], -c[1].toordinal()))[0]
