"""Codes of the national follow-up record forms (高血压/2型糖尿病患者随访服务记录表).

Source: 国家基本公共卫生服务规范（第三版）2017, forms of §1.1 and §1.2 as transcribed in
``shared/reference/clinical.md``. The classification rules themselves live in
``manbing.domain.rules.followup``; this module only names the form's coded fields.
"""

from __future__ import annotations

from enum import StrEnum


class FormType(StrEnum):
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"
    COMBINED = "combined"  # one visit for a patient in both programmes


class VisitMode(StrEnum):
    CLINIC = "1"  # 门诊
    HOME = "2"  # 家庭
    PHONE = "3"  # 电话

    @property
    def label_zh(self) -> str:
        return {"1": "门诊", "2": "家庭", "3": "电话"}[self.value]


class VisitOutcome(StrEnum):
    """Whether the visit happened; the form records lost and dead patients on the date line."""

    DONE = "done"
    LOST = "lost"
    DEAD = "dead"


class Rating(StrEnum):
    """心理调整 / 遵医行为: 1 良好 2 一般 3 差."""

    GOOD = "1"
    FAIR = "2"
    POOR = "3"


class SaltIntake(StrEnum):
    LIGHT = "light"  # 轻
    MEDIUM = "medium"  # 中
    HEAVY = "heavy"  # 重


class Adherence(StrEnum):
    """服药依从性: 1 规律 2 间断 3 不服药."""

    REGULAR = "1"
    INTERMITTENT = "2"
    NONE = "3"


class Hypoglycaemia(StrEnum):
    """低血糖反应: 1 无 2 偶尔 3 频繁."""

    NONE = "1"
    OCCASIONAL = "2"
    FREQUENT = "3"


class DorsalisPedis(StrEnum):
    """足背动脉搏动: 1 触及正常 2 减弱 3 消失 (side recorded separately)."""

    NORMAL = "1"
    WEAK = "2"
    ABSENT = "3"


class Side(StrEnum):
    BOTH = "both"
    LEFT = "left"
    RIGHT = "right"
