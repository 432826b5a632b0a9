"""Patient, Organization and Practitioner from residents, organizations and practitioners rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from manbing.db.models.residents import NATIONAL_ID_SYSTEM, RECORD_NUMBER_SYSTEM
from manbing.fhir.mappers.common import (
    LICENCE_SYSTEM,
    ORG_CODE_SYSTEM,
    ORG_TYPE_SYSTEM,
    iso_date,
    iso_datetime,
    prune,
    ref,
)

_GENDER = {"M": "male", "F": "female", "U": "unknown"}
_COMPOUND_SURNAMES = ("欧阳", "诸葛", "司马", "上官", "东方", "皇甫", "尉迟", "公孙")


def split_name(name: str) -> tuple[str, str]:
    """(family, given) of a Chinese name written surname first."""
    cut = 2 if name[:2] in _COMPOUND_SURNAMES else 1
    return name[:cut], name[cut:]


def patient_from_row(
    row: Mapping[str, Any], identifiers: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """A Patient from a ``residents`` row (plus its ``resident_identifiers`` rows, if any)."""
    family, given = split_name(str(row["name"]))
    idents: list[dict[str, Any]] = []
    if row.get("id_number"):
        idents.append({"use": "official", "system": NATIONAL_ID_SYSTEM, "value": row["id_number"]})
    idents.append({"use": "usual", "system": RECORD_NUMBER_SYSTEM, "value": row["record_number"]})
    for ident in identifiers:
        if ident["system"] not in (NATIONAL_ID_SYSTEM, RECORD_NUMBER_SYSTEM):
            idents.append({"use": "secondary", "system": ident["system"], "value": ident["value"]})
    status = row.get("status")
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(row["id"]),
        "identifier": idents,
        "active": status in ("active", None),
        "name": [
            prune(
                {
                    "use": "official",
                    "text": row["name"],
                    "family": family,
                    "given": [given] if given else None,
                }
            )
        ],
        "telecom": [{"system": "phone", "value": row["phone"], "use": "mobile"}]
        if row.get("phone")
        else None,
        "gender": _GENDER.get(str(row.get("sex")), "unknown"),
        "birthDate": iso_date(row["birth_date"]),
        "address": [
            prune(
                {
                    "use": "home",
                    "text": row.get("address"),
                    "district": row.get("division_code"),
                    "country": "CN",
                }
            )
        ],
        "managingOrganization": ref("Organization", row["managing_org_id"])
        if row.get("managing_org_id")
        else None,
        "generalPractitioner": [ref("Practitioner", row["responsible_practitioner_id"])]
        if row.get("responsible_practitioner_id")
        else None,
    }
    if status == "dead":
        resource["deceasedDateTime"] = iso_date(row.get("status_date")) or None
        if resource["deceasedDateTime"] is None:
            resource["deceasedBoolean"] = True
    if row.get("merged_into_id"):
        resource["link"] = [{"other": ref("Patient", row["merged_into_id"]), "type": "replaced-by"}]
    return prune(resource)


def organization_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return prune(
        {
            "resourceType": "Organization",
            "id": str(row["id"]),
            "identifier": [{"system": ORG_CODE_SYSTEM, "value": row["code"]}],
            "active": bool(row.get("active", True)),
            "type": [{"coding": [{"system": ORG_TYPE_SYSTEM, "code": str(row["type"])}]}],
            "name": row["name"],
            "address": [{"district": row["division_code"], "country": "CN"}],
            "partOf": ref("Organization", row["parent_id"]) if row.get("parent_id") else None,
        }
    )


def practitioner_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    family, given = split_name(str(row["name"]))
    return prune(
        {
            "resourceType": "Practitioner",
            "id": str(row["id"]),
            "identifier": [{"system": LICENCE_SYSTEM, "value": row["licence_number"]}]
            if row.get("licence_number")
            else None,
            "active": bool(row.get("active", True)),
            "name": [
                prune({"text": row["name"], "family": family, "given": [given] if given else None})
            ],
            "gender": _GENDER.get(str(row.get("sex")), "unknown"),
            "telecom": [{"system": "phone", "value": row["phone"]}] if row.get("phone") else None,
            "qualification": [{"code": {"text": row["title"]}}] if row.get("title") else None,
        }
    )


__all__ = ["iso_datetime", "organization_from_row", "patient_from_row", "practitioner_from_row"]
