"""Plausibility bounds for measured values, defined once for every layer.

Not a guideline: these are data-quality limits (an SBP of 400 mmHg is a typing error, not a
reading). The follow-up logic, the service layer and the device importers all call
:func:`check_vitals` so the same reading is refused everywhere. Ranges are inclusive.
"""

from __future__ import annotations

import math

from manbing.domain.errors import InvalidInput

SBP_RANGE: tuple[float, float] = (40, 300)
"""Systolic blood pressure, mmHg."""
DBP_RANGE: tuple[float, float] = (20, 200)
"""Diastolic blood pressure, mmHg (and SBP must exceed DBP)."""
HEART_RATE_RANGE: tuple[float, float] = (20, 250)
"""Heart rate, beats per minute."""
GLUCOSE_MMOL_RANGE: tuple[float, float] = (0.5, 50.0)
"""Plasma or capillary glucose, mmol/L."""
HBA1C_PERCENT_RANGE: tuple[float, float] = (3.0, 20.0)
"""Glycated haemoglobin, % (NGSP)."""
TEMPERATURE_C_RANGE: tuple[float, float] = (30.0, 45.0)
"""Body temperature, °C."""


def require_in_range(
    field: str,
    value: float,
    bounds: tuple[float, float],
    *,
    label_zh: str,
    unit: str = "",
) -> None:
    """Raise ``InvalidInput(field)`` unless ``bounds[0] <= value <= bounds[1]`` (NaN is refused)."""
    low, high = bounds
    if isinstance(value, bool) or not math.isfinite(value) or not low <= value <= high:
        span = f"{_fmt(low)}–{_fmt(high)}{unit}"
        raise InvalidInput(
            field,
            f"{label_zh}应在{span}之间（收到 {value!r}）",
            f"{field} must be between {_fmt(low)} and {_fmt(high)}{unit} (got {value!r})",
        )


def check_vitals(
    *,
    sbp: float | None = None,
    dbp: float | None = None,
    heart_rate: float | None = None,
    glucose_mmol: float | None = None,
    hba1c_percent: float | None = None,
    temperature_c: float | None = None,
) -> None:
    """Refuse implausible vitals; ``None`` means "not measured" and is accepted."""
    if sbp is not None:
        require_in_range("sbp", sbp, SBP_RANGE, label_zh="收缩压", unit="mmHg")
    if dbp is not None:
        require_in_range("dbp", dbp, DBP_RANGE, label_zh="舒张压", unit="mmHg")
    if sbp is not None and dbp is not None and sbp <= dbp:
        raise InvalidInput(
            "sbp", "收缩压必须高于舒张压", f"sbp must be greater than dbp (got {sbp}/{dbp})"
        )
    if heart_rate is not None:
        require_in_range("heart_rate", heart_rate, HEART_RATE_RANGE, label_zh="心率", unit="次/分")
    if glucose_mmol is not None:
        require_in_range(
            "glucose", glucose_mmol, GLUCOSE_MMOL_RANGE, label_zh="血糖", unit="mmol/L"
        )
    if hba1c_percent is not None:
        require_in_range(
            "hba1c", hba1c_percent, HBA1C_PERCENT_RANGE, label_zh="糖化血红蛋白", unit="%"
        )
    if temperature_c is not None:
        require_in_range(
            "temperature_c", temperature_c, TEMPERATURE_C_RANGE, label_zh="体温", unit="℃"
        )


def _fmt(x: float) -> str:
    return f"{x:g}"
