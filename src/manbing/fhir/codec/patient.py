"""Patient ↔ ``residents`` (with ``resident_identifiers``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from manbing.db.models import Resident
from manbing.db.models.residents import NATIONAL_ID_SYSTEM, RECORD_NUMBER_SYSTEM
from manbing.domain.errors import InvalidInput
from manbing.domain.residents import ResidentStatus, mask_id_number, mask_name, mask_phone
from manbing.domain.values import Sex
from manbing.fhir.codec.common import code_in, meta, parse_date, validate_structure

_GENDER = {Sex.MALE: "male", Sex.FEMALE: "female", Sex.UNKNOWN: "unknown"}
_SEX = {"male": Sex.MALE, "female": Sex.FEMALE, "other": Sex.UNKNOWN, "unknown": Sex.UNKNOWN}
_CJK = re.compile(r"[\u3400-\u9fff]")
# HL7 v2 table 0203 code for a national person identifier of China (used when no system is set)
_NATIONAL_ID_TYPE = "NNCHN"


@dataclass(frozen=True)
class PatientDraft:
    name: str
    sex: Sex | None
    birth_date: date | None
    id_number: str | None
    phone: str | None
    address: str | None
    identifiers: tuple[tuple[str, str], ...]


def to_fhir(resident: Resident, *, unmasked: bool) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = []
    if resident.id_number:
        identifiers.append(
            {
                "use": "official",
                "system": NATIONAL_ID_SYSTEM,
                "value": resident.id_number if unmasked else mask_id_number(resident.id_number),
            }
        )
    identifiers.append(
        {"use": "usual", "system": RECORD_NUMBER_SYSTEM, "value": resident.record_number}
    )
    for ident in sorted(resident.identifiers, key=lambda i: (i.system, i.value)):
        if ident.system not in (NATIONAL_ID_SYSTEM, RECORD_NUMBER_SYSTEM):
            identifiers.append({"system": ident.system, "value": ident.value})
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(resident.id),
        "meta": meta(resident.version, resident.updated_at),
        "identifier": identifiers,
        "active": resident.status is ResidentStatus.ACTIVE,
        "name": [
            {"use": "official", "text": resident.name if unmasked else mask_name(resident.name)}
        ],
        "gender": _GENDER[resident.sex],
        "birthDate": resident.birth_date.isoformat(),
        "managingOrganization": {"reference": f"Organization/{resident.managing_org_id}"},
    }
    if resident.phone:
        phone = resident.phone if unmasked else mask_phone(resident.phone)
        body["telecom"] = [{"system": "phone", "value": phone}]
    if resident.address and unmasked:
        body["address"] = [{"text": resident.address}]
    if resident.status is ResidentStatus.DEAD and resident.status_date:
        body["deceasedDateTime"] = resident.status_date.isoformat()
    return body


def display_name(names: Any) -> str:
    """One name string: ``text`` when given, else family+given (Chinese) or given family."""
    if not isinstance(names, list) or not names:
        raise InvalidInput("name", "缺少姓名", "Patient.name is required")
    chosen = next((n for n in names if n.get("use") == "official"), names[0])
    text = chosen.get("text")
    if not text:
        family = chosen.get("family") or ""
        given = [g for g in chosen.get("given", []) if g]
        if _CJK.search(family + "".join(given)):
            text = family + "".join(given)
        else:
            text = " ".join([*given, family]).strip()
    # Synthea appends digits to names to mark them synthetic; names never hold digits here.
    cleaned = re.sub(r"\s+", " ", re.sub(r"\d", "", text)).strip()
    if not cleaned:
        raise InvalidInput("name", "缺少姓名", "Patient.name is empty")
    return cleaned[:50]


def _is_national_id(identifier: dict[str, Any]) -> bool:
    if identifier.get("system") == NATIONAL_ID_SYSTEM:
        return True
    coding = (identifier.get("type") or {}).get("coding", [])
    return not identifier.get("system") and any(c.get("code") == _NATIONAL_ID_TYPE for c in coding)


def parse(resource: Any) -> PatientDraft:
    body = validate_structure(resource, "Patient")
    id_number: str | None = None
    identifiers: list[tuple[str, str]] = []
    for identifier in body.get("identifier", []):
        value = identifier.get("value")
        if not value:
            continue
        if _is_national_id(identifier):
            id_number = str(value).strip().upper()
        elif identifier.get("system") and identifier["system"] != RECORD_NUMBER_SYSTEM:
            identifiers.append((str(identifier["system"])[:200], str(value)[:100]))
    gender = code_in(body.get("gender"), tuple(_SEX), "gender")
    phone = next(
        (t.get("value") for t in body.get("telecom", []) if t.get("system") == "phone"), None
    )
    address = None
    for addr in body.get("address", []):
        address = (
            addr.get("text")
            or " ".join(
                [*addr.get("line", []), addr.get("city") or "", addr.get("state") or ""]
            ).strip()
        )
        break
    return PatientDraft(
        name=display_name(body.get("name")),
        sex=_SEX.get(gender) if gender else None,
        birth_date=parse_date(body.get("birthDate"), "birthDate"),
        id_number=id_number,
        phone=phone,
        address=(address or None) and address[:200],
        identifiers=tuple(dict.fromkeys(identifiers)),
    )
