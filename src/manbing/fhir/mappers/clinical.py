"""Condition, Encounter, Observation and MedicationStatement from their database rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manbing.domain.observations import DBP_LOINC, SBP_LOINC, SPECS, ObservationKind
from manbing.fhir.mappers.common import (
    ATC,
    ICD10,
    LOINC,
    SNOMED,
    UCUM,
    iso_date,
    iso_datetime,
    prune,
    ref,
)

# SNOMED CT concept and display of each programme's condition.
CONDITION_SNOMED: dict[str, tuple[str, str]] = {
    "hypertension": ("38341003", "Hypertensive disorder"),
    "t2dm": ("44054006", "Diabetes mellitus type 2"),
    "dyslipidaemia": ("55822004", "Hyperlipidemia"),
    "copd": ("13645005", "Chronic obstructive lung disease"),
    "stroke": ("230690007", "Cerebrovascular accident"),
}
_UCUM_UNITS = {
    "mmHg": "mm[Hg]",
    "/min": "/min",
    "mmol/L": "mmol/L",
    "%": "%",
    "cm": "cm",
    "kg": "kg",
    "kg/m2": "kg/m2",
}
_VITALS = {ObservationKind.BLOOD_PRESSURE, ObservationKind.HEART_RATE, ObservationKind.HEIGHT, ObservationKind.WEIGHT, ObservationKind.WAIST, ObservationKind.BMI}  # fmt: skip
_ENCOUNTER_CLASS = {"1": ("AMB", "ambulatory"), "2": ("HH", "home health"), "3": ("VR", "virtual")}
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return prune(
        {
            "value": value,
            "unit": unit,
            "system": UCUM if unit in _UCUM_UNITS else None,
            "code": _UCUM_UNITS.get(unit),
        }
    )


def condition_from_enrolment(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Condition from an ``enrolments`` row (the diagnosis that put the patient in care)."""
    programme = str(row["programme"])
    snomed, display = CONDITION_SNOMED[programme]
    coding = [{"system": SNOMED, "code": snomed, "display": display}]
    if row.get("diagnosis_icd10"):
        coding.append({"system": ICD10, "code": row["diagnosis_icd10"]})
    return prune(
        {
            "resourceType": "Condition",
            "id": str(row["id"]),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "code": {"coding": coding},
            "subject": ref("Patient", row["resident_id"]),
            "onsetDateTime": iso_date(row.get("diagnosed_on")),
            "recordedDate": iso_date(row.get("enrolled_on")),
        }
    )


def encounter_from_follow_up(row: Mapping[str, Any]) -> dict[str, Any]:
    """An Encounter from a ``follow_ups`` row; lost/dead lines become cancelled encounters."""
    code, display = _ENCOUNTER_CLASS.get(str(row.get("mode")), ("AMB", "ambulatory"))
    done = row.get("outcome", "done") == "done"
    return prune(
        {
            "resourceType": "Encounter",
            "id": str(row["id"]),
            "status": "finished" if done else "cancelled",
            "class": {"system": _ACT_CODE, "code": code, "display": display},
            "type": [{"text": f"{row['form']} follow-up"}],
            "subject": ref("Patient", row["resident_id"]),
            "participant": [{"individual": ref("Practitioner", row["practitioner_id"])}]
            if row.get("practitioner_id")
            else None,
            "period": {"start": iso_date(row["visit_date"])},
            "reasonCode": None
            if done
            else [{"text": row.get("outcome_reason") or str(row.get("outcome"))}],
            "serviceProvider": ref("Organization", row["organization_id"]),
        }
    )


def observation_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """An Observation from an ``observations`` row; BP is the 85354-9 panel with two components."""
    kind = ObservationKind(str(row["kind"]))
    spec = SPECS[kind]
    category = "vital-signs" if kind in _VITALS else "laboratory"
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(row["id"]),
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": category}]}],
        "code": {
            "coding": [
                {"system": LOINC, "code": row.get("loinc") or spec.loinc, "display": spec.label_zh}
            ]
        },
        "subject": ref("Patient", row["resident_id"]),
        "encounter": ref("Encounter", row["follow_up_id"]) if row.get("follow_up_id") else None,
        "effectiveDateTime": iso_datetime(row["effective_at"]),
        "performer": [ref("Organization", row["organization_id"])]
        if row.get("organization_id")
        else None,
        "device": ref("Device", row["device_id"]) if row.get("device_id") else None,
    }
    if kind is ObservationKind.BLOOD_PRESSURE:
        resource["code"]["coding"][0]["display"] = "Blood pressure panel"
        resource["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": SBP_LOINC}]},
                "valueQuantity": _quantity(row["value"], "mmHg"),
            },
            {
                "code": {"coding": [{"system": LOINC, "code": DBP_LOINC}]},
                "valueQuantity": _quantity(row["value2"], "mmHg"),
            },
        ]
    elif row.get("value") is not None:
        resource["valueQuantity"] = _quantity(row["value"], str(row.get("unit") or spec.unit))
    elif row.get("value_code"):
        resource["valueCodeableConcept"] = {"text": row["value_code"]}
    return prune(resource)


def medication_statement_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    coding = [{"system": ATC, "code": row["atc_code"]}] if row.get("atc_code") else None
    dose = None
    if row.get("dose") is not None:
        dose = [{"doseQuantity": prune({"value": row["dose"], "unit": row.get("dose_unit")})}]
    dosage = prune(
        {
            "text": f"每日{row['times_per_day']}次" if row.get("times_per_day") else None,
            "timing": {
                "repeat": {"frequency": row["times_per_day"], "period": 1, "periodUnit": "d"}
            }
            if row.get("times_per_day")
            else None,
            "route": {"text": row["route"]} if row.get("route") else None,
            "doseAndRate": dose,
        }
    )
    return prune(
        {
            "resourceType": "MedicationStatement",
            "id": str(row["id"]),
            "status": "active" if row.get("active", True) else "completed",
            "medicationCodeableConcept": prune({"coding": coding, "text": row["name"]}),
            "subject": ref("Patient", row["resident_id"]),
            "effectivePeriod": prune(
                {"start": iso_date(row.get("start_date")), "end": iso_date(row.get("end_date"))}
            )
            or None,
            "dosage": [dosage] if dosage else None,
        }
    )
