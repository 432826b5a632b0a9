"""Unit conversion for glucose and lipids (mg/dL ↔ mmol/L).

Factors:
- Glucose: 1 mmol/L = 18.0 mg/dL. The molar mass of glucose (180.16 g/mol) gives 18.016; Chinese
  and international clinical practice (and the guideline pairs 7.0 mmol/L ≈ 126 mg/dL,
  11.1 mmol/L ≈ 200 mg/dL) use 18. We use 18.0 so converted thresholds match the printed ones.
- Cholesterol (TC, LDL-C, HDL-C, non-HDL-C): mg/dL = mmol/L ÷ 0.0259 — the factor of the
  China-PAR paper and the official calculator (Yang X et al., Circulation 2016;134:1430).
- Triglycerides: mmol/L = mg/dL × 0.0113.
"""

from __future__ import annotations

from enum import StrEnum

GLUCOSE_MGDL_PER_MMOL = 18.0
CHOLESTEROL_MMOL_PER_MGDL = 0.0259
TRIGLYCERIDE_MMOL_PER_MGDL = 0.0113


class ConcentrationUnit(StrEnum):
    """The two units laboratories report glucose and lipids in."""

    MMOL_PER_L = "mmol/L"
    MG_PER_DL = "mg/dL"


def glucose_mgdl_to_mmol(mgdl: float) -> float:
    return mgdl / GLUCOSE_MGDL_PER_MMOL


def glucose_mmol_to_mgdl(mmol: float) -> float:
    return mmol * GLUCOSE_MGDL_PER_MMOL


def cholesterol_mgdl_to_mmol(mgdl: float) -> float:
    return mgdl * CHOLESTEROL_MMOL_PER_MGDL


def cholesterol_mmol_to_mgdl(mmol: float) -> float:
    return mmol / CHOLESTEROL_MMOL_PER_MGDL


def triglyceride_mgdl_to_mmol(mgdl: float) -> float:
    return mgdl * TRIGLYCERIDE_MMOL_PER_MGDL


def triglyceride_mmol_to_mgdl(mmol: float) -> float:
    return mmol / TRIGLYCERIDE_MMOL_PER_MGDL


def glucose_to_mmol(value: float, unit: ConcentrationUnit) -> float:
    """Express a glucose value given in ``unit`` in mmol/L."""
    return value if unit is ConcentrationUnit.MMOL_PER_L else glucose_mgdl_to_mmol(value)


def cholesterol_to_mgdl(value: float, unit: ConcentrationUnit) -> float:
    """Express a cholesterol value given in ``unit`` in mg/dL."""
    return value if unit is ConcentrationUnit.MG_PER_DL else cholesterol_mmol_to_mgdl(value)


def cholesterol_to_mmol(value: float, unit: ConcentrationUnit) -> float:
    """Express a cholesterol value given in ``unit`` in mmol/L."""
    return value if unit is ConcentrationUnit.MMOL_PER_L else cholesterol_mgdl_to_mmol(value)
