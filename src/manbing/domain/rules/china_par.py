"""China-PAR 10-year ASCVD risk.

Source: Yang X et al. Predicting the 10-Year Risks of Atherosclerotic Cardiovascular Disease in
Chinese Population: the China-PAR Project. Circulation 2016;134:1430-1440 (data supplement,
Table 1 and worked example). Three-decimal coefficients as transcribed from 江苏省预防医学会团体
标准 T/JPMA 024—2024 附录 C/D. Baseline survival: men 0.9707 (supplement); women 0.98507 — fitted
to 18 outputs of the official calculator (cvdrisk.com.cn), see docs/clinical-rules.md.
Categories: 中国心血管病风险评估和管理指南, 中国循环杂志 2019;34(1): <5 % 低危, 5–<10 % 中危,
≥10 % 高危.

    risk = 1 − S10 ** exp(Σβx − MeanSum)

Continuous inputs enter as natural logs (age, SBP mmHg, TC and HDL-C mg/dL, waist cm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.plausibility import require_in_range
from manbing.domain.rules.units import ConcentrationUnit, cholesterol_to_mgdl
from manbing.domain.values import Sex

AGE_RANGE = (20, 85)
SBP_RANGE = (70, 200)
WAIST_RANGE = (50, 130)
TC_RANGE_MGDL = (80, 400)
TC_RANGE_MMOL = (2, 11)
HDL_RANGE_MGDL = (20, 130)
HDL_RANGE_MMOL = (0.5, 4)

MEDIUM_RISK_PERCENT = 5.0
HIGH_RISK_PERCENT = 10.0


@dataclass(frozen=True, slots=True)
class _Coefficients:
    ln_age: float
    ln_sbp_treated: float
    ln_sbp_untreated: float
    ln_tc: float
    ln_hdl: float
    ln_waist: float
    smoker: float
    diabetes: float
    north: float
    urban: float
    family_history: float
    ln_age_x_ln_sbp_treated: float
    ln_age_x_ln_sbp_untreated: float
    ln_age_x_smoker: float
    ln_age_x_family_history: float
    mean_sum: float
    s10: float


MEN = _Coefficients(
    31.967, 27.388, 26.148, 0.621, -0.695, -0.712, 3.955, 0.357, 0.475, -0.164, 6.221,
    -6.018, -5.731, -0.939, -1.534, 140.68, 0.9707,
)  # fmt: skip
WOMEN = _Coefficients(
    24.874, 20.709, 19.982, 0.058, -0.217, 1.475, 0.495, 0.567, 0.544, 0.0, 0.0,
    -4.528, -4.360, 0.0, 0.0, 117.26, 0.98507,
)  # fmt: skip


class AscvdRiskCategory(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def label_zh(self) -> str:
        return {"low": "低危", "medium": "中危", "high": "高危"}[self.value]


@dataclass(frozen=True, slots=True)
class ChinaParInput:
    """One person's risk factors; ``tc`` and ``hdl`` are in ``lipid_unit``."""

    sex: Sex
    age: int
    sbp: float
    bp_treated: bool
    tc: float
    hdl: float
    waist_cm: float
    smoker: bool
    diabetes: bool
    north: bool
    urban: bool
    family_history: bool
    lipid_unit: ConcentrationUnit = ConcentrationUnit.MG_PER_DL


@dataclass(frozen=True, slots=True)
class ChinaParResult:
    risk: float
    """Exact 10-year risk as a fraction (0–1)."""

    @property
    def percent(self) -> float:
        return self.risk * 100

    @property
    def percent_display(self) -> float:
        """The percentage rounded half-up to one decimal, as the official calculator shows it."""
        return round_percent(self.percent)

    @property
    def category(self) -> AscvdRiskCategory:
        """Category of the displayed (one-decimal) value, so number and label never disagree."""
        return categorize_risk_percent(self.percent_display)


def round_percent(percent: float, places: int = 1) -> float:
    """Round half-up (not banker's rounding) to ``places`` decimals."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(percent)).quantize(quantum, rounding=ROUND_HALF_UP))


def categorize_risk_percent(percent: float) -> AscvdRiskCategory:
    if percent >= HIGH_RISK_PERCENT:
        return AscvdRiskCategory.HIGH
    if percent >= MEDIUM_RISK_PERCENT:
        return AscvdRiskCategory.MEDIUM
    return AscvdRiskCategory.LOW


def validate_china_par(inp: ChinaParInput) -> None:
    """Apply the official calculator's input ranges; raise ``InvalidInput`` naming the field."""
    if inp.sex not in (Sex.MALE, Sex.FEMALE):
        raise InvalidInput("sex", "性别须为男（M）或女（F）", "sex must be M or F")
    if isinstance(inp.age, bool) or not isinstance(inp.age, int):
        raise InvalidInput("age", "年龄须为整数", "age must be a whole number of years")
    require_in_range("age", inp.age, AGE_RANGE, label_zh="年龄", unit="岁")
    require_in_range("sbp", inp.sbp, SBP_RANGE, label_zh="收缩压", unit="mmHg")
    require_in_range("waist_cm", inp.waist_cm, WAIST_RANGE, label_zh="腰围", unit="cm")
    mgdl = inp.lipid_unit is ConcentrationUnit.MG_PER_DL
    unit = str(inp.lipid_unit)
    tc_range, hdl_range = (
        (TC_RANGE_MGDL, HDL_RANGE_MGDL) if mgdl else (TC_RANGE_MMOL, HDL_RANGE_MMOL)
    )
    require_in_range("tc", inp.tc, tc_range, label_zh="总胆固醇", unit=unit)
    require_in_range("hdl", inp.hdl, hdl_range, label_zh="高密度脂蛋白胆固醇", unit=unit)


def china_par_sum(inp: ChinaParInput) -> float:
    """Σβx for validated input (exposed for tests and for explaining a result)."""
    c = MEN if inp.sex is Sex.MALE else WOMEN
    ln_age = math.log(inp.age)
    ln_sbp = math.log(inp.sbp)
    tc = cholesterol_to_mgdl(inp.tc, inp.lipid_unit)
    hdl = cholesterol_to_mgdl(inp.hdl, inp.lipid_unit)
    if inp.bp_treated:
        sbp_term = (c.ln_sbp_treated + c.ln_age_x_ln_sbp_treated * ln_age) * ln_sbp
    else:
        sbp_term = (c.ln_sbp_untreated + c.ln_age_x_ln_sbp_untreated * ln_age) * ln_sbp
    smoker, fh = float(inp.smoker), float(inp.family_history)
    return (
        c.ln_age * ln_age
        + sbp_term
        + c.ln_tc * math.log(tc)
        + c.ln_hdl * math.log(hdl)
        + c.ln_waist * math.log(inp.waist_cm)
        + (c.smoker + c.ln_age_x_smoker * ln_age) * smoker
        + c.diabetes * inp.diabetes
        + c.north * inp.north
        + c.urban * inp.urban
        + (c.family_history + c.ln_age_x_family_history * ln_age) * fh
    )


def china_par_risk(inp: ChinaParInput) -> ChinaParResult:
    """10-year ASCVD risk; raises ``InvalidInput`` outside the calculator's input ranges."""
    validate_china_par(inp)
    c = MEN if inp.sex is Sex.MALE else WOMEN
    risk = 1.0 - c.s10 ** math.exp(china_par_sum(inp) - c.mean_sum)
    return ChinaParResult(risk)
