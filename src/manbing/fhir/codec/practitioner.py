"""Practitioner ↔ ``practitioners``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from manbing.db.models import Practitioner
from manbing.domain.values import Sex
from manbing.fhir.codec.common import LICENCE_SYSTEM, code_in, meta, validate_structure
from manbing.fhir.codec.patient import display_name

_GENDER = {Sex.MALE: "male", Sex.FEMALE: "female", Sex.UNKNOWN: "unknown"}
_SEX = {"male": Sex.MALE, "female": Sex.FEMALE, "other": Sex.UNKNOWN, "unknown": Sex.UNKNOWN}


@dataclass(frozen=True)
class PractitionerDraft:
    name: str
    sex: Sex | None
    licence_number: str | None
    phone: str | None


def to_fhir(row: Practitioner) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(row.id),
        "meta": meta(1, row.updated_at),
        "active": row.active,
        "name": [{"text": row.name}],
    }
    if row.licence_number:
        body["identifier"] = [{"system": LICENCE_SYSTEM, "value": row.licence_number}]
    if row.sex:
        body["gender"] = _GENDER[row.sex]
    if row.title:
        body["qualification"] = [{"code": {"text": row.title}}]
    if row.phone:
        body["telecom"] = [{"system": "phone", "value": row.phone}]
    return body


def parse(resource: Any) -> PractitionerDraft:
    body = validate_structure(resource, "Practitioner")
    licence = None
    for identifier in body.get("identifier", []):
        if identifier.get("value") and (
            identifier.get("system") == LICENCE_SYSTEM or licence is None
        ):
            licence = str(identifier["value"])[:40]
    gender = code_in(body.get("gender"), tuple(_SEX), "gender")
    phone = next(
        (t.get("value") for t in body.get("telecom", []) if t.get("system") == "phone"), None
    )
    return PractitionerDraft(
        name=display_name(body.get("name")),
        sex=_SEX.get(gender) if gender else None,
        licence_number=licence,
        phone=str(phone)[:20] if phone else None,
    )
