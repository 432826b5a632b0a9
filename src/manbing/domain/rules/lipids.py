"""Dyslipidaemia: ASCVD risk stratification and LDL-C targets (lipids in mmol/L).

Source: 中国血脂管理指南（2023年）, 中华心血管病杂志 2023;51(3):221-255, Figure 1
"中国成人ASCVD总体发病风险评估流程图" and the LDL-C target table. The flowchart cells were taken
from secondary key-point pages and recollection of the 2016/2023 figure — every cell is marked
uncertain in docs/clinical-rules.md and must be checked against the printed figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from manbing.domain.values import Sex

DIRECT_HIGH_LDL = 4.9
DIRECT_HIGH_TC = 7.2
DIABETES_HIGH_RISK_AGE = 40
LOW_HDL = 1.0
RISK_AGE_MEN = 45
RISK_AGE_WOMEN = 55
LDL_BAND_LOWER = (1.8, 2.6, 3.4)
"""Lower edges of the three LDL-C columns: 1.8–<2.6, 2.6–<3.4, 3.4–<4.9 mmol/L."""
TC_BAND_LOWER = (3.1, 4.1, 5.2)
"""Lower edges of the matching TC columns: 3.1–<4.1, 4.1–<5.2, 5.2–<7.2 mmol/L."""
LIFETIME_CHECK_AGE_BELOW = 55
LIFETIME_SBP, LIFETIME_DBP = 160, 100
LIFETIME_NON_HDL = 5.2
LIFETIME_BMI = 28.0
NON_HDL_OFFSET = 0.8


class LipidRiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"
    EXTREME = "extreme"

    @property
    def label_zh(self) -> str:
        return {"low": "低危", "medium": "中危", "high": "高危", "very_high": "极高危"}.get(
            self.value, "超高危"
        )


L, M, H = LipidRiskLevel.LOW, LipidRiskLevel.MEDIUM, LipidRiskLevel.HIGH
# RISK_GRID[hypertension][risk factor count 0..3][LDL/TC column 0..2]
RISK_GRID: dict[bool, tuple[tuple[LipidRiskLevel, ...], ...]] = {
    False: ((L, L, L), (L, L, L), (L, L, M), (L, M, M)),
    True: ((L, L, L), (L, M, M), (M, H, H), (H, H, H)),
}


@dataclass(frozen=True, slots=True)
class LipidRiskInput:
    """Lipids in mmol/L. ``serious_ascvd_events`` and ``extreme_risk_factors`` are counts the
    clinician records for patients with ASCVD (see :func:`stratify_lipid_risk`)."""

    sex: Sex
    age: int
    ldl_c: float
    tc: float
    hdl_c: float
    hypertension: bool
    smoker: bool
    diabetes: bool = False
    ckd_stage_3_4: bool = False
    has_ascvd: bool = False
    serious_ascvd_events: int = 0
    extreme_risk_factors: int = 0
    sbp: float | None = None
    dbp: float | None = None
    bmi: float | None = None


def risk_factor_count(inp: LipidRiskInput) -> int:
    """Smoking, HDL-C <1.0 mmol/L, age (men ≥45, women ≥55)."""
    age_limit = RISK_AGE_MEN if inp.sex is Sex.MALE else RISK_AGE_WOMEN
    return sum((inp.smoker, inp.hdl_c < LOW_HDL, inp.age >= age_limit))


def _column(value: float, lower_edges: tuple[float, ...]) -> int:
    return max(0, sum(value >= edge for edge in lower_edges) - 1)


def _lifetime_factors(inp: LipidRiskInput) -> int:
    high_bp = (inp.sbp is not None and inp.sbp >= LIFETIME_SBP) or (
        inp.dbp is not None and inp.dbp >= LIFETIME_DBP
    )
    obese = inp.bmi is not None and inp.bmi >= LIFETIME_BMI
    non_hdl_high = inp.tc - inp.hdl_c >= LIFETIME_NON_HDL
    return sum((high_bp, non_hdl_high, inp.hdl_c < LOW_HDL, obese, inp.smoker))


def stratify_lipid_risk(inp: LipidRiskInput) -> LipidRiskLevel:
    """2023 flowchart.

    1. ASCVD ⇒ 极高危; 超高危 if ≥2 serious events, or 1 serious event and ≥2 high-risk factors
       (serious events: ACS within a year, other prior MI, prior ischaemic stroke, symptomatic
       PAD; high-risk factors: LDL-C ≥1.8 on maximal statin + ezetimibe, early-onset CHD, FH or
       LDL-C ≥4.9, prior CABG/PCI, diabetes, hypertension, CKD 3–4, current smoking).
    2. 高危 directly: LDL-C ≥4.9 or TC ≥7.2; diabetes aged ≥40 with LDL-C ≥1.8 or TC ≥3.1;
       CKD stage 3–4.
    3. Otherwise the grid (hypertension × risk-factor count × the higher of the LDL-C and TC
       columns; values below the first column count as the first column).
    4. 中危 under 55 with ≥2 lifetime-risk factors ⇒ 高危.
    """
    if inp.has_ascvd:
        extreme = inp.serious_ascvd_events >= 2 or (
            inp.serious_ascvd_events >= 1 and inp.extreme_risk_factors >= 2
        )
        return LipidRiskLevel.EXTREME if extreme else LipidRiskLevel.VERY_HIGH
    if inp.ldl_c >= DIRECT_HIGH_LDL or inp.tc >= DIRECT_HIGH_TC or inp.ckd_stage_3_4:
        return LipidRiskLevel.HIGH
    if (
        inp.diabetes
        and inp.age >= DIABETES_HIGH_RISK_AGE
        and (inp.ldl_c >= LDL_BAND_LOWER[0] or inp.tc >= TC_BAND_LOWER[0])
    ):
        return LipidRiskLevel.HIGH
    column = max(_column(inp.ldl_c, LDL_BAND_LOWER), _column(inp.tc, TC_BAND_LOWER))
    level = RISK_GRID[inp.hypertension][risk_factor_count(inp)][column]
    if (
        level is LipidRiskLevel.MEDIUM
        and inp.age < LIFETIME_CHECK_AGE_BELOW
        and _lifetime_factors(inp) >= 2
    ):
        return LipidRiskLevel.HIGH
    return level


@dataclass(frozen=True, slots=True)
class LdlTarget:
    ldl_below: float
    """mmol/L."""
    min_reduction_percent: int | None
    """Also required: at least this % reduction from baseline (极高危 and 超高危)."""

    @property
    def non_hdl_below(self) -> float:
        """Secondary target: non-HDL-C = LDL-C target + 0.8 mmol/L."""
        return round(self.ldl_below + NON_HDL_OFFSET, 1)


LDL_TARGETS: dict[LipidRiskLevel, LdlTarget] = {
    LipidRiskLevel.LOW: LdlTarget(3.4, None),
    LipidRiskLevel.MEDIUM: LdlTarget(3.4, None),
    LipidRiskLevel.HIGH: LdlTarget(2.6, None),
    LipidRiskLevel.VERY_HIGH: LdlTarget(1.8, 50),
    LipidRiskLevel.EXTREME: LdlTarget(1.4, 50),
}


def ldl_target(level: LipidRiskLevel) -> LdlTarget:
    return LDL_TARGETS[level]


def is_ldl_at_target(
    ldl_c: float, level: LipidRiskLevel, baseline_ldl_c: float | None = None
) -> bool:
    """LDL-C below the level's target, and (when required and a baseline is known) ≥50 % lower."""
    target = LDL_TARGETS[level]
    if ldl_c >= target.ldl_below:
        return False
    if target.min_reduction_percent is None or baseline_ldl_c is None:
        return True
    return ldl_c <= baseline_ldl_c * (1 - target.min_reduction_percent / 100)
