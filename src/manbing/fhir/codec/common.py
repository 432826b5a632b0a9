"""Shared pieces of the codecs: URIs, references, dates and structural validation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from manbing.domain.errors import InvalidInput

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_CN = "urn:oid:2.16.156.10011.2.3.3.11"  # ICD-10 国标版 (GB/T 14396)
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ORG_CODE_SYSTEM = "urn:manbing:organization-code"
ORG_TYPE_SYSTEM = "urn:manbing:organization-type"
LICENCE_SYSTEM = "urn:manbing:practitioner-licence"
SHANGHAI = ZoneInfo("Asia/Shanghai")

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}\Z")


class StructureError(Exception):
    """The payload is not a valid FHIR R4 resource of the expected type."""

    def __init__(self, message: str, expression: str | None = None) -> None:
        super().__init__(message)
        self.expression = expression


def validate_structure(resource: Any, resource_type: str) -> dict[str, Any]:
    """Check ``resource`` against the R4B model of ``resource_type``; return it as a dict."""
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(resource, dict):
        raise StructureError("a resource must be a JSON object")
    found = resource.get("resourceType")
    if found != resource_type:
        raise StructureError(
            f"expected resourceType {resource_type}, got {found!r}", "resourceType"
        )
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise StructureError(
            f"invalid {resource_type}: {where}: {first.get('msg')}", where or None
        ) from exc
    return resource


def is_valid_id(value: str) -> bool:
    return bool(_ID.match(value))


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(raw: str, field: str) -> datetime:
    """A FHIR dateTime: a bare date or naive time is read as China Standard Time."""
    try:
        if len(raw) == 4:
            return datetime(int(raw), 1, 1, tzinfo=SHANGHAI)
        if len(raw) == 7:
            return datetime(int(raw[:4]), int(raw[5:7]), 1, tzinfo=SHANGHAI)
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(), SHANGHAI)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(field, "时间格式不正确", f"{field}: not a FHIR dateTime") from exc
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def parse_date(raw: str | None, field: str) -> date | None:
    """The calendar date as written (``2005-07-29T20:37:06+00:00`` → 2005-07-29)."""
    if not raw:
        return None
    parsed = parse_datetime(raw, field)
    return parsed.date()


def reference_id(reference: Any, expected_type: str, field: str) -> str:
    """The id in a ``Type/id`` reference (after urn:uuid resolution) of the expected type."""
    raw = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(raw, str) or not raw:
        raise InvalidInput(field, "缺少引用", f"{field}: a reference is required")
    parts = raw.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != expected_type or not is_valid_id(parts[-1]):
        raise InvalidInput(
            field, "引用无法解析", f"{field}: cannot resolve reference {raw!r} to a {expected_type}"
        )
    return parts[-1]


def codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def first_code(concept: Any, system: str | None = None) -> str | None:
    for coding in codings(concept):
        if system is None or coding.get("system") == system:
            code = coding.get("code")
            if isinstance(code, str):
                return code
    return None


def meta(version: int | str, last_updated: datetime) -> dict[str, Any]:
    return {"versionId": str(version), "lastUpdated": instant(last_updated)}
