"""Screening rules of the national service standard for hypertension and type 2 diabetes.

Source: 国家基本公共卫生服务规范（第三版，2017）— 高血压患者健康管理服务规范 (筛查): every resident
≥35 gets one BP measurement a year; a first reading ≥140 and/or ≥90 is re-checked on other days;
residents with any of six risk factors are measured at least every 6 months. 2型糖尿病患者健康
管理服务规范: high-risk people are advised to measure fasting glucose at least once a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from manbing.domain.rules.blood_pressure import HYPERTENSION_DBP, HYPERTENSION_SBP
from manbing.domain.rules.dates import add_months
from manbing.domain.values import Sex

BP_SCREENING_MIN_AGE = 35
BP_SCREENING_INTERVAL_MONTHS = 12
RISK_GROUP_INTERVAL_MONTHS = 6
DIABETES_SCREENING_INTERVAL_MONTHS = 12

SCREENING_HIGH_NORMAL_SBP = 130
"""Service-standard high-normal BP: SBP 130–139 and/or DBP 85–89 (not the guideline's 120/80)."""
SCREENING_HIGH_NORMAL_DBP = 85
OVERWEIGHT_BMI = 24.0
OBESE_BMI = 28.0
ABDOMINAL_OBESITY_WAIST_MEN = 90.0
ABDOMINAL_OBESITY_WAIST_WOMEN = 85.0
EXCESSIVE_DRINKING_SPIRITS_ML = 100.0
"""Long-term excessive drinking: daily spirits ≥100 ml (uncertain; see docs/clinical-rules.md)."""
RISK_AGE = 55


class HypertensionRiskFactor(StrEnum):
    HIGH_NORMAL_BP = "high_normal_bp"
    OVERWEIGHT_OR_OBESITY = "overweight_or_obesity"
    FAMILY_HISTORY = "family_history"
    HIGH_SALT_DIET = "high_salt_diet"
    EXCESSIVE_DRINKING = "excessive_drinking"
    AGE_55_PLUS = "age_55_plus"

    @property
    def label_zh(self) -> str:
        return {
            "high_normal_bp": "血压高值（收缩压130–139和/或舒张压85–89mmHg）",
            "overweight_or_obesity": "超重、肥胖和/或腹型肥胖",
            "family_history": "高血压家族史（一、二级亲属）",
            "high_salt_diet": "长期膳食高盐",
            "excessive_drinking": "长期过量饮酒（每日饮白酒≥100ml）",
            "age_55_plus": "年龄≥55岁",
        }[self.value]


@dataclass(frozen=True, slots=True)
class ScreeningProfile:
    age: int
    sex: Sex
    sbp: float | None = None
    dbp: float | None = None
    bmi: float | None = None
    waist_cm: float | None = None
    family_history_hypertension: bool = False
    high_salt_diet: bool = False
    daily_spirits_ml: float = 0.0


def hypertension_risk_factors(p: ScreeningProfile) -> frozenset[HypertensionRiskFactor]:
    """The six risk factors of the service standard present in ``p``."""
    found: set[HypertensionRiskFactor] = set()
    sbp_high_normal = p.sbp is not None and SCREENING_HIGH_NORMAL_SBP <= p.sbp < HYPERTENSION_SBP
    dbp_high_normal = p.dbp is not None and SCREENING_HIGH_NORMAL_DBP <= p.dbp < HYPERTENSION_DBP
    if sbp_high_normal or dbp_high_normal:
        found.add(HypertensionRiskFactor.HIGH_NORMAL_BP)
    waist_limit = (
        ABDOMINAL_OBESITY_WAIST_MEN if p.sex is Sex.MALE else ABDOMINAL_OBESITY_WAIST_WOMEN
    )
    if (p.bmi is not None and p.bmi >= OVERWEIGHT_BMI) or (
        p.waist_cm is not None and p.waist_cm >= waist_limit
    ):
        found.add(HypertensionRiskFactor.OVERWEIGHT_OR_OBESITY)
    if p.family_history_hypertension:
        found.add(HypertensionRiskFactor.FAMILY_HISTORY)
    if p.high_salt_diet:
        found.add(HypertensionRiskFactor.HIGH_SALT_DIET)
    if p.daily_spirits_ml >= EXCESSIVE_DRINKING_SPIRITS_ML:
        found.add(HypertensionRiskFactor.EXCESSIVE_DRINKING)
    if p.age >= RISK_AGE:
        found.add(HypertensionRiskFactor.AGE_55_PLUS)
    return frozenset(found)


def bp_screening_interval_months(p: ScreeningProfile) -> int | None:
    """6 with any risk factor, 12 otherwise, ``None`` below 35 (outside the service population)."""
    if p.age < BP_SCREENING_MIN_AGE:
        return None
    if hypertension_risk_factors(p):
        return RISK_GROUP_INTERVAL_MONTHS
    return BP_SCREENING_INTERVAL_MONTHS


def next_bp_screening_date(
    p: ScreeningProfile, last_measured: date | None, as_of: date
) -> date | None:
    """When the next BP measurement is due (``as_of`` if never measured).

    ``None`` when the person is not in the screening population.
    """
    interval = bp_screening_interval_months(p)
    if interval is None:
        return None
    if last_measured is None:
        return as_of
    return add_months(last_measured, interval)


def is_bp_screening_due(p: ScreeningProfile, last_measured: date | None, as_of: date) -> bool:
    due = next_bp_screening_date(p, last_measured, as_of)
    return due is not None and due <= as_of


def needs_bp_recheck(sbp: float, dbp: float) -> bool:
    """A screening reading ≥140 and/or ≥90 is re-checked on other days (3 readings to diagnose)."""
    return sbp >= HYPERTENSION_SBP or dbp >= HYPERTENSION_DBP


def is_diabetes_screening_due(high_risk: bool, last_fpg: date | None, as_of: date) -> bool:
    """High-risk people measure fasting glucose at least once a year."""
    if not high_risk:
        return False
    return last_fpg is None or add_months(last_fpg, DIABETES_SCREENING_INTERVAL_MONTHS) <= as_of
