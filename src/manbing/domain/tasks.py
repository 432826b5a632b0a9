"""Worklist tasks: what a care team must do, and by when."""

from __future__ import annotations

from enum import StrEnum


class TaskKind(StrEnum):
    FOLLOW_UP_DUE = "follow_up_due"
    POST_REFERRAL_FOLLOW_UP = "post_referral_follow_up"
    URGENT_ALERT = "urgent_alert"
    SCREENING_CONFIRMATION = "screening_confirmation"
    REFERRAL_RESULT = "referral_result"
    CONTRACT_EXPIRING = "contract_expiring"
    ANNUAL_HEALTH_CHECK = "annual_health_check"
    DTX_ESCALATION = "dtx_escalation"

    @property
    def label_zh(self) -> str:
        return _LABELS[self]


_LABELS = {
    TaskKind.FOLLOW_UP_DUE: "随访到期",
    TaskKind.POST_REFERRAL_FOLLOW_UP: "转诊后2周随访",
    TaskKind.URGENT_ALERT: "紧急预警",
    TaskKind.SCREENING_CONFIRMATION: "筛查阳性待确诊",
    TaskKind.REFERRAL_RESULT: "转诊结果待查看",
    TaskKind.CONTRACT_EXPIRING: "签约即将到期",
    TaskKind.ANNUAL_HEALTH_CHECK: "年度健康体检",
    TaskKind.DTX_ESCALATION: "居家管理异常",
}


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"
