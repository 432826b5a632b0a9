"""Diabetes diagnosis, glucose-metabolism categories, control and urgent glucose values.

Sources (venous plasma glucose, mmol/L):
- Diagnosis and IFG/IGT: 中国2型糖尿病防治指南（2020年版）, kept in 中国糖尿病防治指南（2024版）
  and 国家基层糖尿病防治管理指南（2025版）: typical symptoms + random ≥11.1, or FPG ≥7.0, or
  OGTT 2-h ≥11.1, or HbA1c ≥6.5 % (standardised assay). Without typical symptoms a result must
  be confirmed on another day. IFG: 6.1 ≤ FPG < 7.0 with 2hPG < 7.8; IGT: FPG < 7.0 with
  7.8 ≤ 2hPG < 11.1.
- Control: 国家基本公共卫生服务规范（第三版，2017）2型糖尿病患者健康管理 — FPG <7.0 mmol/L;
  中国2型糖尿病防治指南 2020 — HbA1c <7.0 % for most adults.
- Urgent referral: the same service standard — glucose ≥16.7 or ≤3.9 mmol/L.
"""

from __future__ import annotations

from enum import StrEnum

DIABETES_FPG = 7.0
DIABETES_OGTT_2H = 11.1
DIABETES_RANDOM = 11.1
DIABETES_HBA1C = 6.5
IFG_FPG = 6.1
IGT_OGTT_2H = 7.8

FPG_CONTROL_BELOW = 7.0
"""Service-standard control: fasting glucose strictly below 7.0 mmol/L."""
HBA1C_CONTROL_BELOW = 7.0

URGENT_GLUCOSE_HIGH = 16.7
"""Glucose at or above which urgent referral is required (mmol/L)."""
URGENT_GLUCOSE_LOW = 3.9
"""Glucose at or below which urgent referral is required (mmol/L)."""


class DiabetesCriterion(StrEnum):
    FPG = "fpg"
    OGTT_2H = "ogtt_2h"
    RANDOM_WITH_SYMPTOMS = "random_with_symptoms"
    HBA1C = "hba1c"

    @property
    def label_zh(self) -> str:
        return {
            DiabetesCriterion.FPG: "空腹血糖≥7.0mmol/L",
            DiabetesCriterion.OGTT_2H: "OGTT 2小时血糖≥11.1mmol/L",
            DiabetesCriterion.RANDOM_WITH_SYMPTOMS: "典型症状加随机血糖≥11.1mmol/L",
            DiabetesCriterion.HBA1C: "糖化血红蛋白≥6.5%",
        }[self]


def diabetes_criteria_met(
    *,
    fpg: float | None = None,
    ogtt_2h: float | None = None,
    random_glucose: float | None = None,
    typical_symptoms: bool = False,
    hba1c: float | None = None,
) -> tuple[DiabetesCriterion, ...]:
    """The diagnostic criteria this set of results meets (empty: none).

    A criterion met without typical symptoms still needs confirmation on another day.
    """
    met: list[DiabetesCriterion] = []
    if fpg is not None and fpg >= DIABETES_FPG:
        met.append(DiabetesCriterion.FPG)
    if ogtt_2h is not None and ogtt_2h >= DIABETES_OGTT_2H:
        met.append(DiabetesCriterion.OGTT_2H)
    if typical_symptoms and random_glucose is not None and random_glucose >= DIABETES_RANDOM:
        met.append(DiabetesCriterion.RANDOM_WITH_SYMPTOMS)
    if hba1c is not None and hba1c >= DIABETES_HBA1C:
        met.append(DiabetesCriterion.HBA1C)
    return tuple(met)


class GlucoseMetabolism(StrEnum):
    NORMAL = "normal"
    IFG = "ifg"
    IGT = "igt"
    IFG_AND_IGT = "ifg_igt"
    DIABETES = "diabetes"

    @property
    def label_zh(self) -> str:
        return {
            GlucoseMetabolism.NORMAL: "正常血糖",
            GlucoseMetabolism.IFG: "空腹血糖受损",
            GlucoseMetabolism.IGT: "糖耐量减低",
            GlucoseMetabolism.IFG_AND_IGT: "空腹血糖受损合并糖耐量减低",
            GlucoseMetabolism.DIABETES: "糖尿病",
        }[self]


def classify_glucose_metabolism(fpg: float, ogtt_2h: float | None = None) -> GlucoseMetabolism:
    """WHO 1999 categories used by the Chinese guideline; without an OGTT IGT cannot be seen."""
    if fpg >= DIABETES_FPG or (ogtt_2h is not None and ogtt_2h >= DIABETES_OGTT_2H):
        return GlucoseMetabolism.DIABETES
    ifg = fpg >= IFG_FPG
    igt = ogtt_2h is not None and ogtt_2h >= IGT_OGTT_2H
    if ifg and igt:
        return GlucoseMetabolism.IFG_AND_IGT
    if ifg:
        return GlucoseMetabolism.IFG
    if igt:
        return GlucoseMetabolism.IGT
    return GlucoseMetabolism.NORMAL


def is_fpg_controlled(fpg: float) -> bool:
    """Service-standard glucose control: FPG < 7.0 mmol/L."""
    return fpg < FPG_CONTROL_BELOW


def is_hba1c_controlled(hba1c: float) -> bool:
    """HbA1c < 7.0 %."""
    return hba1c < HBA1C_CONTROL_BELOW


def is_urgent_glucose(glucose: float) -> bool:
    """Glucose ≥16.7 or ≤3.9 mmol/L: urgent referral after first aid."""
    return glucose >= URGENT_GLUCOSE_HIGH or glucose <= URGENT_GLUCOSE_LOW
