"""Two-way referral between primary care and hospitals (双向转诊) and its status machine."""

from __future__ import annotations

from enum import StrEnum

from manbing.domain.errors import InvalidInput


class Direction(StrEnum):
    UP = "up"  # community → hospital (上转)
    DOWN = "down"  # hospital → community (下转)


class Urgency(StrEnum):
    URGENT = "urgent"
    ROUTINE = "routine"


class ReferralStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    RETURNED = "returned"  # the hospital answered and sent the patient back with a plan
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # the referring side has seen the result

    @property
    def label_zh(self) -> str:
        return _LABELS[self]


_LABELS = {
    ReferralStatus.REQUESTED: "待接收",
    ReferralStatus.ACCEPTED: "已接收",
    ReferralStatus.RETURNED: "已回转",
    ReferralStatus.REJECTED: "已拒绝",
    ReferralStatus.CANCELLED: "已取消",
    ReferralStatus.CLOSED: "已完成",
}

_ALLOWED: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.REQUESTED: frozenset(
        {ReferralStatus.ACCEPTED, ReferralStatus.REJECTED, ReferralStatus.CANCELLED}
    ),
    ReferralStatus.ACCEPTED: frozenset({ReferralStatus.RETURNED, ReferralStatus.CLOSED}),
    ReferralStatus.RETURNED: frozenset({ReferralStatus.CLOSED}),
    ReferralStatus.REJECTED: frozenset({ReferralStatus.CLOSED}),
    ReferralStatus.CANCELLED: frozenset(),
    ReferralStatus.CLOSED: frozenset(),
}


def check_transition(current: ReferralStatus, new: ReferralStatus) -> None:
    if new not in _ALLOWED[current]:
        raise InvalidInput(
            "status",
            f"转诊状态不能从“{current.label_zh}”变为“{new.label_zh}”",
            f"referral cannot go from {current.value} to {new.value}",
        )
