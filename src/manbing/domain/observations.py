"""The observation catalogue: each kind's LOINC code, canonical unit and plausible range.

LOINC codes: BP panel 85354-9 (components SBP 8480-6, DBP 8462-4), heart rate 8867-4, fasting
glucose 1558-6, 2-hour glucose 20438-8 (post 75 g load), random glucose 2345-7, HbA1c 4548-4,
TC 2093-3, LDL-C 13457-7 (calculated) / 18262-6 (direct), HDL-C 2085-9, TG 2571-8, height
8302-2, weight 29463-7, waist 8280-0, BMI 39156-5, tobacco smoking status 72166-2.

Plausible ranges are the limits beyond which a value is a typing or device error, not a clinical
finding; the vital-sign ranges come from ``manbing.domain.rules.plausibility`` (defined once).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from manbing.domain.errors import InvalidInput
from manbing.domain.rules.plausibility import (
    GLUCOSE_MMOL_RANGE,
    HBA1C_PERCENT_RANGE,
    HEART_RATE_RANGE,
    SBP_RANGE,
    check_vitals,
    require_in_range,
)


class ObservationKind(StrEnum):
    BLOOD_PRESSURE = "bp"
    HEART_RATE = "heart_rate"
    GLUCOSE_FASTING = "glucose_fasting"
    GLUCOSE_2H = "glucose_2h"
    GLUCOSE_RANDOM = "glucose_random"
    HBA1C = "hba1c"
    TOTAL_CHOLESTEROL = "tc"
    LDL_C = "ldl_c"
    HDL_C = "hdl_c"
    TRIGLYCERIDES = "tg"
    HEIGHT = "height"
    WEIGHT = "weight"
    WAIST = "waist"
    BMI = "bmi"
    SMOKING = "smoking"


class ObservationSource(StrEnum):
    CLINIC = "clinic"
    HOME_DEVICE = "home_device"
    LAB = "lab"
    IMPORT = "import"


@dataclass(frozen=True, slots=True)
class ObservationSpec:
    kind: ObservationKind
    loinc: str
    label_zh: str
    unit: str
    low: float
    high: float


_SPECS = (
    ObservationSpec(ObservationKind.BLOOD_PRESSURE, "85354-9", "收缩压", "mmHg", *SBP_RANGE),
    ObservationSpec(ObservationKind.HEART_RATE, "8867-4", "心率", "/min", *HEART_RATE_RANGE),
    ObservationSpec(
        ObservationKind.GLUCOSE_FASTING, "1558-6", "空腹血糖", "mmol/L", *GLUCOSE_MMOL_RANGE
    ),
    ObservationSpec(
        ObservationKind.GLUCOSE_2H, "20438-8", "餐后2小时血糖", "mmol/L", *GLUCOSE_MMOL_RANGE
    ),
    ObservationSpec(
        ObservationKind.GLUCOSE_RANDOM, "2345-7", "随机血糖", "mmol/L", *GLUCOSE_MMOL_RANGE
    ),
    ObservationSpec(ObservationKind.HBA1C, "4548-4", "糖化血红蛋白", "%", *HBA1C_PERCENT_RANGE),
    ObservationSpec(ObservationKind.TOTAL_CHOLESTEROL, "2093-3", "总胆固醇", "mmol/L", 0.5, 30),
    ObservationSpec(ObservationKind.LDL_C, "13457-7", "低密度脂蛋白胆固醇", "mmol/L", 0.1, 20),
    ObservationSpec(ObservationKind.HDL_C, "2085-9", "高密度脂蛋白胆固醇", "mmol/L", 0.1, 10),
    ObservationSpec(ObservationKind.TRIGLYCERIDES, "2571-8", "甘油三酯", "mmol/L", 0.1, 50),
    ObservationSpec(ObservationKind.HEIGHT, "8302-2", "身高", "cm", 40, 250),
    ObservationSpec(ObservationKind.WEIGHT, "29463-7", "体重", "kg", 2, 300),
    ObservationSpec(ObservationKind.WAIST, "8280-0", "腰围", "cm", 30, 200),
    ObservationSpec(ObservationKind.BMI, "39156-5", "体质指数", "kg/m2", 8, 80),
    ObservationSpec(ObservationKind.SMOKING, "72166-2", "吸烟状况", "", 0, 0),
)
SPECS: dict[ObservationKind, ObservationSpec] = {s.kind: s for s in _SPECS}

SBP_LOINC = "8480-6"
DBP_LOINC = "8462-4"


def check_value(kind: ObservationKind, value: float, *, field: str | None = None) -> float:
    """Refuse a value (already in the canonical unit) outside the plausible range."""
    spec = SPECS[kind]
    if kind is ObservationKind.SMOKING:
        raise InvalidInput(
            field or kind.value, "吸烟状况不是数值型观测", "smoking status is coded, not numeric"
        )
    require_in_range(
        field or kind.value, value, (spec.low, spec.high), label_zh=spec.label_zh, unit=spec.unit
    )
    return value


def check_blood_pressure(sbp: float, dbp: float) -> tuple[float, float]:
    """Refuse an implausible pair: each value in range, and systolic above diastolic."""
    check_vitals(sbp=sbp, dbp=dbp)
    return sbp, dbp
