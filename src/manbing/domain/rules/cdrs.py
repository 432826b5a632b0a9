"""Chinese Diabetes Risk Score (CDRS, 中国糖尿病风险评分表).

Source: 中国2型糖尿病防治指南（2017年版 / 2020年版）, table "中国糖尿病风险评分表"; the 2024
guideline keeps "CDRS ≥25" in its high-risk list. Population 20–74 years; total 0–51;
≥25 ⇒ high risk, recommend an OGTT (or at least FPG plus 2-h glucose).

Each band table below lists (lower bound, points); a value scores the points of the highest
lower bound it reaches, so "22.0–23.9" means 22.0 ≤ BMI < 24.0.
"""

from __future__ import annotations

from dataclasses import dataclass

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.plausibility import SBP_RANGE, require_in_range
from manbing.domain.values import Sex

AGE_RANGE = (20, 74)
BMI_RANGE = (10.0, 80.0)
WAIST_RANGE = (40.0, 200.0)
HIGH_RISK_SCORE = 25
MAX_SCORE = 51

AGE_POINTS = ((20, 0), (25, 4), (35, 8), (40, 11), (45, 12), (50, 13), (55, 15), (60, 16), (65, 18))
BMI_POINTS = ((0.0, 0), (22.0, 1), (24.0, 3), (30.0, 5))
WAIST_POINTS_MEN = ((0.0, 0), (75.0, 3), (80.0, 5), (85.0, 7), (90.0, 8), (95.0, 10))
WAIST_POINTS_WOMEN = ((0.0, 0), (70.0, 3), (75.0, 5), (80.0, 7), (85.0, 8), (90.0, 10))
SBP_POINTS = ((0, 0), (110, 1), (120, 3), (130, 6), (140, 7), (150, 8), (160, 10))
FAMILY_HISTORY_POINTS = 6
MALE_POINTS = 2


@dataclass(frozen=True, slots=True)
class CdrsInput:
    sex: Sex
    age: int
    bmi: float
    waist_cm: float
    sbp: float
    family_history_diabetes: bool
    """Diabetes in a parent, sibling or child."""


@dataclass(frozen=True, slots=True)
class CdrsResult:
    score: int

    @property
    def high_risk(self) -> bool:
        return self.score >= HIGH_RISK_SCORE


def _points(value: float, bands: tuple[tuple[float, int], ...]) -> int:
    points = 0
    for lower, band_points in bands:
        if value >= lower:
            points = band_points
    return points


def validate_cdrs(inp: CdrsInput) -> None:
    if inp.sex not in (Sex.MALE, Sex.FEMALE):
        raise InvalidInput("sex", "性别须为男（M）或女（F）", "sex must be M or F")
    if isinstance(inp.age, bool) or not isinstance(inp.age, int):
        raise InvalidInput("age", "年龄须为整数", "age must be a whole number of years")
    require_in_range("age", inp.age, AGE_RANGE, label_zh="年龄", unit="岁")
    require_in_range("bmi", inp.bmi, BMI_RANGE, label_zh="体质指数", unit="kg/m²")
    require_in_range("waist_cm", inp.waist_cm, WAIST_RANGE, label_zh="腰围", unit="cm")
    require_in_range("sbp", inp.sbp, SBP_RANGE, label_zh="收缩压", unit="mmHg")


def cdrs_score(inp: CdrsInput) -> CdrsResult:
    """Total CDRS points; raises ``InvalidInput`` outside the ranges above."""
    validate_cdrs(inp)
    male = inp.sex is Sex.MALE
    waist_bands = WAIST_POINTS_MEN if male else WAIST_POINTS_WOMEN
    score = (
        _points(inp.age, AGE_POINTS)
        + _points(inp.bmi, BMI_POINTS)
        + _points(inp.waist_cm, waist_bands)
        + _points(inp.sbp, SBP_POINTS)
        + (FAMILY_HISTORY_POINTS if inp.family_history_diabetes else 0)
        + (MALE_POINTS if male else 0)
    )
    return CdrsResult(score)
