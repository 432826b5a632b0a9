"""Chronic-disease management programmes and the life cycle of an enrolment."""

from __future__ import annotations

from enum import StrEnum

from manbing.domain.errors import InvalidInput


class Programme(StrEnum):
    """Programmes the platform manages; add a member (and its labels) to add a programme."""

    HYPERTENSION = "hypertension"
    T2DM = "t2dm"
    DYSLIPIDAEMIA = "dyslipidaemia"
    COPD = "copd"
    STROKE = "stroke"

    @property
    def label_zh(self) -> str:
        return _LABELS[self]

    @property
    def icd10_prefixes(self) -> tuple[str, ...]:
        """ICD-10 codes (prefixes) that establish the diagnosis."""
        return _ICD10[self]


_LABELS = {
    Programme.HYPERTENSION: "高血压",
    Programme.T2DM: "2型糖尿病",
    Programme.DYSLIPIDAEMIA: "血脂异常",
    Programme.COPD: "慢性阻塞性肺疾病",
    Programme.STROKE: "脑卒中",
}
_ICD10 = {
    Programme.HYPERTENSION: ("I10", "I11", "I12", "I13", "I15"),
    Programme.T2DM: ("E11",),
    Programme.DYSLIPIDAEMIA: ("E78",),
    Programme.COPD: ("J44",),
    Programme.STROKE: ("I60", "I61", "I62", "I63", "I64", "I69"),
}


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    TRANSFERRED = "transferred"
    LOST = "lost"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def label_zh(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    EnrolmentStatus.ACTIVE: "管理中",
    EnrolmentStatus.TRANSFERRED: "已迁出",
    EnrolmentStatus.LOST: "失访",
    EnrolmentStatus.DEAD: "死亡",
    EnrolmentStatus.CANCELLED: "已撤销",
}

# A lost patient can be found again; a transferred one can come back; death is final.
_ALLOWED: dict[EnrolmentStatus, frozenset[EnrolmentStatus]] = {
    EnrolmentStatus.ACTIVE: frozenset(
        {
            EnrolmentStatus.TRANSFERRED,
            EnrolmentStatus.LOST,
            EnrolmentStatus.DEAD,
            EnrolmentStatus.CANCELLED,
        }
    ),
    EnrolmentStatus.LOST: frozenset(
        {EnrolmentStatus.ACTIVE, EnrolmentStatus.DEAD, EnrolmentStatus.CANCELLED}
    ),
    EnrolmentStatus.TRANSFERRED: frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.DEAD}),
    EnrolmentStatus.DEAD: frozenset(),
    EnrolmentStatus.CANCELLED: frozenset({EnrolmentStatus.ACTIVE}),
}


def check_transition(current: EnrolmentStatus, new: EnrolmentStatus) -> None:
    if new not in _ALLOWED[current]:
        raise InvalidInput(
            "status",
            f"管理状态不能从“{current.label_zh}”变为“{new.label_zh}”",
            f"enrolment status cannot change from {current.value} to {new.value}",
        )
