"""Condition ↔ ``conditions``: SNOMED CT or ICD-10 coded diagnoses, ICD-10 derived for chronic ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from manbing.db.models import Condition
from manbing.domain.errors import InvalidInput
from manbing.fhir.codec.common import (
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    ICD10,
    ICD10_CN,
    SNOMED,
    code_in,
    codings,
    first_code,
    meta,
    parse_date,
    reference_id,
    validate_structure,
)

# SNOMED CT → ICD-10 for the programme conditions (hypertension, type 2 diabetes,
# dyslipidaemia, COPD, stroke); Synthea's "Diabetes" 44054006 is type 2 diabetes.
SNOMED_TO_ICD10 = {
    "38341003": "I10",  # hypertensive disorder
    "59621000": "I10",  # essential hypertension
    "44054006": "E11",  # diabetes mellitus type 2
    "55822004": "E78.5",  # hyperlipidaemia
    "370992007": "E78.9",  # dyslipidaemia
    "13645005": "J44.9",  # chronic obstructive lung disease
    "230690007": "I64",  # cerebrovascular accident
    "422504002": "I63.9",  # ischaemic stroke
}
# the codes of Condition.clinicalStatus and verificationStatus (required bindings)
CLINICAL = ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
VERIFICATION = (
    "unconfirmed",
    "provisional",
    "differential",
    "confirmed",
    "refuted",
    "entered-in-error",
)
_ICD_SYSTEMS = (ICD10, ICD10_CN, "http://hl7.org/fhir/sid/icd-10-cm")


def is_icd10(system: str) -> bool:
    """ICD-10 and its national modifications (ICD-10-CM, Taiwan's, China's GB/T 14396)."""
    return system in _ICD_SYSTEMS or "icd-10" in system.lower()


@dataclass(frozen=True)
class ConditionDraft:
    subject_id: str
    system: str
    code: str
    display: str | None
    text: str | None
    icd10: str | None
    clinical_status: str
    verification_status: str | None
    onset_date: date | None
    abatement_date: date | None
    recorded_date: date | None


def to_fhir(row: Condition) -> dict[str, Any]:
    coding: list[dict[str, Any]] = [{"system": row.system, "code": row.code}]
    if row.display:
        coding[0]["display"] = row.display
    if row.icd10 and not is_icd10(row.system):
        coding.append({"system": ICD10, "code": row.icd10})
    body: dict[str, Any] = {
        "resourceType": "Condition",
        "id": str(row.id),
        "meta": meta(1, row.updated_at),
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": row.clinical_status}]},
        "code": {"coding": coding},
        "subject": {"reference": f"Patient/{row.resident_id}"},
    }
    if row.text:
        body["code"]["text"] = row.text
    if row.verification_status:
        body["verificationStatus"] = {
            "coding": [{"system": CONDITION_VERIFICATION, "code": row.verification_status}]
        }
    if row.onset_date:
        body["onsetDateTime"] = row.onset_date.isoformat()
    if row.abatement_date:
        body["abatementDateTime"] = row.abatement_date.isoformat()
    if row.recorded_date:
        body["recordedDate"] = row.recorded_date.isoformat()
    return body


def parse(resource: Any) -> ConditionDraft:
    body = validate_structure(resource, "Condition")
    subject_id = reference_id(body.get("subject"), "Patient", "subject")
    all_codings = [c for c in codings(body.get("code")) if c.get("code") and c.get("system")]
    if not all_codings:
        raise InvalidInput("code", "缺少诊断编码", "Condition.code needs a coding with a system")
    preferred = next((c for c in all_codings if c["system"] == SNOMED), None)
    preferred = preferred or next((c for c in all_codings if is_icd10(c["system"])), None)
    chosen = preferred or all_codings[0]
    icd10 = next((c["code"] for c in all_codings if is_icd10(c["system"])), None)
    if icd10 is None and chosen["system"] == SNOMED:
        icd10 = SNOMED_TO_ICD10.get(chosen["code"])
    clinical = code_in(first_code(body.get("clinicalStatus")), CLINICAL, "clinicalStatus")
    clinical = clinical or "active"
    verification = code_in(
        first_code(body.get("verificationStatus")), VERIFICATION, "verificationStatus"
    )
    text = (body.get("code") or {}).get("text")
    return ConditionDraft(
        subject_id=subject_id,
        system=str(chosen["system"])[:200],
        code=str(chosen["code"])[:40],
        display=(chosen.get("display") or None) and str(chosen["display"])[:200],
        text=text[:200] if isinstance(text, str) else None,
        icd10=icd10[:10] if icd10 else None,
        clinical_status=clinical,
        verification_status=verification or None,
        onset_date=parse_date(body.get("onsetDateTime"), "onsetDateTime"),
        abatement_date=parse_date(body.get("abatementDateTime"), "abatementDateTime"),
        recorded_date=parse_date(body.get("recordedDate"), "recordedDate"),
    )
