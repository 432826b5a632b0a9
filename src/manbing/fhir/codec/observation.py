"""Observation ↔ ``observations``: LOINC codes, unit conversion to the canonical unit.

Accepted codes are listed in ``KIND_BY_LOINC``; the code received is kept in ``loinc`` so that an
exported resource carries the code it came with (e.g. the older BP panel 55284-4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from manbing.db.models import Observation
from manbing.domain.errors import InvalidInput
from manbing.domain.observations import DBP_LOINC, SBP_LOINC, SPECS, ObservationKind
from manbing.domain.rules import units
from manbing.fhir.codec.common import (
    LOINC,
    OBS_CATEGORY,
    UCUM,
    bounded,
    code_in,
    codings,
    instant,
    number,
    parse_datetime,
    reference_id,
    validate_structure,
)

K = ObservationKind
KIND_BY_LOINC: dict[str, ObservationKind] = {
    "85354-9": K.BLOOD_PRESSURE,
    "55284-4": K.BLOOD_PRESSURE,
    "8867-4": K.HEART_RATE,
    "1558-6": K.GLUCOSE_FASTING,
    "20438-8": K.GLUCOSE_2H,
    "2345-7": K.GLUCOSE_RANDOM,
    "2339-0": K.GLUCOSE_RANDOM,  # glucose [mass/volume] in blood
    "15074-8": K.GLUCOSE_RANDOM,  # glucose [moles/volume] in blood
    "14749-6": K.GLUCOSE_RANDOM,  # glucose [moles/volume] in serum or plasma
    "41653-7": K.GLUCOSE_RANDOM,  # glucose in capillary blood by glucometer
    "4548-4": K.HBA1C,
    "17856-6": K.HBA1C,
    "2093-3": K.TOTAL_CHOLESTEROL,
    "14647-2": K.TOTAL_CHOLESTEROL,
    "35200-5": K.TOTAL_CHOLESTEROL,
    "13457-7": K.LDL_C,
    "18262-6": K.LDL_C,
    "2089-1": K.LDL_C,
    "22748-8": K.LDL_C,
    "2085-9": K.HDL_C,
    "14646-4": K.HDL_C,
    "2571-8": K.TRIGLYCERIDES,
    "14927-8": K.TRIGLYCERIDES,
    "35217-9": K.TRIGLYCERIDES,
    "8302-2": K.HEIGHT,
    "29463-7": K.WEIGHT,
    "3141-9": K.WEIGHT,
    "8280-0": K.WAIST,
    "39156-5": K.BMI,
    "72166-2": K.SMOKING,
}
_LIPIDS = {K.TOTAL_CHOLESTEROL, K.LDL_C, K.HDL_C}
_GLUCOSE = {K.GLUCOSE_FASTING, K.GLUCOSE_2H, K.GLUCOSE_RANDOM}
_LAB = _LIPIDS | _GLUCOSE | {K.HBA1C, K.TRIGLYCERIDES}
_UCUM = {"mmHg": "mm[Hg]", "/min": "/min", "mmol/L": "mmol/L", "%": "%", "cm": "cm", "kg": "kg"}
_UCUM["kg/m2"] = "kg/m2"
_LENGTH_TO_CM = {"cm": 1.0, "m": 100.0, "mm": 0.1, "[in_i]": 2.54, "in": 2.54}
_MASS_TO_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237}


class UnsupportedCode(InvalidInput):
    """The Observation's code is outside the platform's catalogue (an importer skips it)."""


@dataclass(frozen=True)
class ObservationDraft:
    subject_id: str
    kind: ObservationKind
    loinc: str
    value: float | None
    value2: float | None
    value_code: str | None
    value_received: str | None
    unit_received: str | None
    effective_at: datetime


def category(kind: ObservationKind) -> str:
    if kind is K.SMOKING:
        return "social-history"
    return "laboratory" if kind in _LAB else "vital-signs"


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": _UCUM.get(unit, unit)}


def to_fhir(row: Observation) -> dict[str, Any]:
    spec = SPECS[row.kind]
    cat = category(row.kind)
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": instant(row.received_at)},
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": cat}]}],
        "code": {"coding": [{"system": LOINC, "code": row.loinc}], "text": spec.label_zh},
        "subject": {"reference": f"Patient/{row.resident_id}"},
        "effectiveDateTime": instant(row.effective_at),
    }
    if row.device_id:
        body["device"] = {"reference": f"Device/{row.device_id}"}
    if row.kind is K.BLOOD_PRESSURE:
        body["code"]["text"] = "血压"
        body["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": SBP_LOINC}], "text": "收缩压"},
                "valueQuantity": _quantity(row.value or 0.0, "mmHg"),
            },
            {
                "code": {"coding": [{"system": LOINC, "code": DBP_LOINC}], "text": "舒张压"},
                "valueQuantity": _quantity(row.value2 or 0.0, "mmHg"),
            },
        ]
    elif row.kind is K.SMOKING:
        body["valueCodeableConcept"] = {"coding": [{"code": row.value_code}]}
    elif row.value is not None:
        body["valueQuantity"] = _quantity(row.value, spec.unit)
    return body


def _unit_of(quantity: dict[str, Any]) -> str:
    return str(quantity.get("code") or quantity.get("unit") or "")


def to_canonical(kind: ObservationKind, value: float, unit: str) -> float:
    """Express ``value`` given in ``unit`` in the kind's canonical unit, or refuse the unit."""
    spec = SPECS[kind]
    norm = unit.replace(" ", "")
    if kind in _GLUCOSE | _LIPIDS | {K.TRIGLYCERIDES}:
        if norm.lower() in ("mmol/l",):
            return value
        if norm.lower() in ("mg/dl",):
            if kind in _GLUCOSE:
                return units.glucose_to_mmol(value, units.ConcentrationUnit.MG_PER_DL)
            if kind is K.TRIGLYCERIDES:
                return units.triglyceride_mgdl_to_mmol(value)
            return units.cholesterol_to_mmol(value, units.ConcentrationUnit.MG_PER_DL)
    elif kind in (K.HEIGHT, K.WAIST) and norm in _LENGTH_TO_CM:
        return value * _LENGTH_TO_CM[norm]
    elif kind is K.WEIGHT and norm in _MASS_TO_KG:
        return value * _MASS_TO_KG[norm]
    elif (
        (kind is K.BLOOD_PRESSURE and norm in ("mm[Hg]", "mmHg"))
        or (kind is K.HEART_RATE and norm in ("/min", "beats/minute", "{beats}/min", "bpm"))
        or (kind is K.HBA1C and norm == "%")
        or (kind is K.BMI and norm in ("kg/m2", "kg/m^2"))
    ):
        return value
    raise InvalidInput(
        "valueQuantity.unit", f"单位应为{spec.unit}", f"unit {unit!r} is not accepted for {kind}"
    )


def _component(body: dict[str, Any], loinc: str) -> dict[str, Any]:
    for component in body.get("component", []):
        if any(c.get("code") == loinc for c in codings(component.get("code"))):
            quantity = component.get("valueQuantity")
            if isinstance(quantity, dict) and quantity.get("value") is not None:
                return quantity
    raise InvalidInput(
        "component", "血压缺少收缩压或舒张压", f"blood pressure needs component {loinc}"
    )


# Observation.status (required binding); a cancelled or erroneous one holds no measurement
STATUSES = (
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
)


def parse(resource: Any) -> ObservationDraft:
    body = validate_structure(resource, "Observation")
    status = code_in(body.get("status"), STATUSES, "status")
    if status in ("cancelled", "entered-in-error"):
        raise InvalidInput(
            "status",
            "已取消或录入错误的观察结果不能保存为测量值",
            f"status {status!r}: only a measurement that was made is stored",
        )
    code = next(
        (
            c["code"]
            for c in codings(body.get("code"))
            if c.get("system") == LOINC and c.get("code") in KIND_BY_LOINC
        ),
        None,
    )
    if code is None:
        found = [c.get("code") for c in codings(body.get("code"))]
        raise UnsupportedCode(
            "code", "不支持的观测项目编码", f"unsupported Observation.code {found}"
        )
    kind = KIND_BY_LOINC[code]
    subject_id = reference_id(body.get("subject"), "Patient", "subject")
    raw_time = body.get("effectiveDateTime") or (body.get("effectivePeriod") or {}).get("start")
    raw_time = raw_time or body.get("effectiveInstant")
    if not raw_time:
        raise InvalidInput("effective", "缺少测量时间", "Observation.effective[x] is required")
    effective_at = parse_datetime(str(raw_time), "effectiveDateTime")
    if bounded(effective_at) != effective_at:  # its UTC form is no datetime (500 before)
        raise InvalidInput(
            "effectiveDateTime",
            "测量时间超出可保存的范围",
            f"effectiveDateTime: {str(raw_time)[:40]} is outside the times that can be stored",
        )
    value: float | None = None
    value2: float | None = None
    value_code: str | None = None
    received: str | None = None
    unit_received: str | None = None
    if kind is K.BLOOD_PRESSURE:
        sbp, dbp = _component(body, SBP_LOINC), _component(body, DBP_LOINC)
        value = to_canonical(
            kind, number(sbp["value"], "component.valueQuantity.value"), _unit_of(sbp)
        )
        value2 = to_canonical(
            kind, number(dbp["value"], "component.valueQuantity.value"), _unit_of(dbp)
        )
        received, unit_received = f"{sbp['value']}/{dbp['value']}", _unit_of(sbp)
    elif kind is K.SMOKING:
        value_code = next((c.get("code") for c in codings(body.get("valueCodeableConcept"))), None)
        if not value_code:
            raise InvalidInput(
                "valueCodeableConcept", "缺少吸烟状况", "smoking status needs a code"
            )
    else:
        quantity = body.get("valueQuantity")
        if not isinstance(quantity, dict) or quantity.get("value") is None:
            raise InvalidInput(
                "valueQuantity", "缺少测量值", "Observation.valueQuantity is required"
            )
        unit_received = _unit_of(quantity)
        value = to_canonical(kind, number(quantity["value"], "valueQuantity.value"), unit_received)
        received = str(quantity["value"])
    return ObservationDraft(
        subject_id=subject_id,
        kind=kind,
        loinc=code,
        value=value,
        value2=value2,
        value_code=value_code,
        value_received=received[:40] if received else None,
        unit_received=unit_received[:16] if unit_received else None,
        effective_at=effective_at,
    )
