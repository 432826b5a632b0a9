"""Code systems and small helpers shared by the mappers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
ORG_CODE_SYSTEM = "urn:manbing:organization-code"
ORG_TYPE_SYSTEM = "urn:manbing:organization-type"
LICENCE_SYSTEM = "urn:manbing:practitioner-licence"
DIVISION_SYSTEM = "urn:manbing:gb-t-2260"


def ref(kind: str, ident: Any) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def iso_date(value: date | str | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def iso_datetime(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def prune(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None or empty (FHIR forbids empty elements)."""
    return {k: v for k, v in resource.items() if v is not None and v != [] and v != {}}
