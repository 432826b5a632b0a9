"""Blood-pressure categories, out-of-office thresholds and control targets.

Sources:
- Categories: 中国高血压防治指南（2018年修订版） (unchanged in the 2024 revision) and
  国家基层高血压防治管理指南; office BP in adults ≥18. When SBP and DBP fall in different
  grades the higher grade wins; isolated systolic hypertension (SBP ≥140 and DBP <90) is also
  graded 1–3 by SBP.
- Out-of-office thresholds: 中国高血压防治指南 2018 — home ≥135/85; ABPM 24-h ≥130/80,
  daytime ≥135/85, night ≥120/70.
- Control targets: 国家基本公共卫生服务规范（第三版，2017）高血压患者健康管理 — <140/90, and
  <150/90 for patients ≥65 (single source, see docs/clinical-rules.md); 国家基层高血压防治管理
  指南 2025版 — <130/80 below 80 years, <150/90 at ≥80.
- Urgent referral: the same service standard — SBP ≥180 and/or DBP ≥110.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

NORMAL_SBP_BELOW = 120
NORMAL_DBP_BELOW = 80
HYPERTENSION_SBP = 140
HYPERTENSION_DBP = 90
GRADE_2_SBP = 160
GRADE_2_DBP = 100
GRADE_3_SBP = 180
GRADE_3_DBP = 110

URGENT_SBP = 180
"""SBP at or above which the service standard requires urgent referral."""
URGENT_DBP = 110
"""DBP at or above which the service standard requires urgent referral."""

HOME_HYPERTENSION_SBP = 135
HOME_HYPERTENSION_DBP = 85
ABPM_24H_SBP, ABPM_24H_DBP = 130, 80
ABPM_DAY_SBP, ABPM_DAY_DBP = 135, 85
ABPM_NIGHT_SBP, ABPM_NIGHT_DBP = 120, 70


class BpCategory(StrEnum):
    NORMAL = "normal"
    HIGH_NORMAL = "high_normal"
    GRADE_1 = "grade_1"
    GRADE_2 = "grade_2"
    GRADE_3 = "grade_3"

    @property
    def label_zh(self) -> str:
        return _CATEGORY_ZH[self]

    @property
    def is_hypertension(self) -> bool:
        return self in (BpCategory.GRADE_1, BpCategory.GRADE_2, BpCategory.GRADE_3)


_CATEGORY_ZH = {
    BpCategory.NORMAL: "正常血压",
    BpCategory.HIGH_NORMAL: "正常高值",
    BpCategory.GRADE_1: "1级高血压（轻度）",
    BpCategory.GRADE_2: "2级高血压（中度）",
    BpCategory.GRADE_3: "3级高血压（重度）",
}


@dataclass(frozen=True, slots=True)
class BpClassification:
    """An office reading's category; ``isolated_systolic`` marks 单纯收缩期高血压."""

    category: BpCategory
    isolated_systolic: bool

    @property
    def label_zh(self) -> str:
        if self.isolated_systolic:
            return f"单纯收缩期高血压（{self.category.label_zh}）"
        return self.category.label_zh


def _sbp_rank(sbp: float) -> int:
    thresholds = (NORMAL_SBP_BELOW, HYPERTENSION_SBP, GRADE_2_SBP, GRADE_3_SBP)
    return sum(sbp >= t for t in thresholds)


def _dbp_rank(dbp: float) -> int:
    thresholds = (NORMAL_DBP_BELOW, HYPERTENSION_DBP, GRADE_2_DBP, GRADE_3_DBP)
    return sum(dbp >= t for t in thresholds)


_BY_RANK = tuple(BpCategory)


def classify_bp(sbp: float, dbp: float) -> BpClassification:
    """Classify an office reading (mmHg); the higher of the SBP and DBP categories wins."""
    category = _BY_RANK[max(_sbp_rank(sbp), _dbp_rank(dbp))]
    isolated = sbp >= HYPERTENSION_SBP and dbp < HYPERTENSION_DBP
    return BpClassification(category, isolated)


def is_home_bp_hypertensive(sbp: float, dbp: float) -> bool:
    """Home-BP average at or above 135/85 mmHg (either component)."""
    return sbp >= HOME_HYPERTENSION_SBP or dbp >= HOME_HYPERTENSION_DBP


def is_urgent_bp(sbp: float | None, dbp: float | None) -> bool:
    """SBP ≥180 and/or DBP ≥110: urgent referral after first aid."""
    return (sbp is not None and sbp >= URGENT_SBP) or (dbp is not None and dbp >= URGENT_DBP)


class BpTargetProfile(StrEnum):
    """Which document's control targets apply (selected by configuration)."""

    SERVICE_STANDARD_2017 = "service_standard_2017"
    PRIMARY_CARE_2025 = "primary_care_2025"


@dataclass(frozen=True, slots=True)
class BpTarget:
    """Controlled means SBP < ``sbp_below`` and DBP < ``dbp_below``."""

    sbp_below: int
    dbp_below: int


SERVICE_STANDARD_TARGET = BpTarget(140, 90)
SERVICE_STANDARD_ELDERLY_TARGET = BpTarget(150, 90)
SERVICE_STANDARD_ELDERLY_AGE = 65
PRIMARY_CARE_2025_TARGET = BpTarget(130, 80)
PRIMARY_CARE_2025_ELDERLY_TARGET = BpTarget(150, 90)
PRIMARY_CARE_2025_ELDERLY_AGE = 80


def bp_target(
    age: int, profile: BpTargetProfile = BpTargetProfile.SERVICE_STANDARD_2017
) -> BpTarget:
    """The control target for a patient of ``age`` years under ``profile``."""
    if profile is BpTargetProfile.SERVICE_STANDARD_2017:
        if age >= SERVICE_STANDARD_ELDERLY_AGE:
            return SERVICE_STANDARD_ELDERLY_TARGET
        return SERVICE_STANDARD_TARGET
    if age >= PRIMARY_CARE_2025_ELDERLY_AGE:
        return PRIMARY_CARE_2025_ELDERLY_TARGET
    return PRIMARY_CARE_2025_TARGET


def is_bp_controlled(
    sbp: float,
    dbp: float,
    age: int,
    profile: BpTargetProfile = BpTargetProfile.SERVICE_STANDARD_2017,
) -> bool:
    """True when both SBP and DBP are strictly below the target for ``age`` and ``profile``."""
    target = bp_target(age, profile)
    return sbp < target.sbp_below and dbp < target.dbp_below
