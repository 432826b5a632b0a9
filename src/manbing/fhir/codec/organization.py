"""Organization ↔ ``organizations`` (the care-organisation tree)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from manbing.db.models import Organization
from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import OrgType
from manbing.fhir.codec.common import ORG_CODE_SYSTEM, ORG_TYPE_SYSTEM, meta, validate_structure


@dataclass(frozen=True)
class OrganizationDraft:
    name: str
    code: str | None
    type: OrgType
    identifiers: tuple[tuple[str, str], ...]


def to_fhir(org: Organization) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(org.id),
        "meta": meta(1, org.updated_at),
        "identifier": [{"system": ORG_CODE_SYSTEM, "value": org.code}],
        "active": org.active,
        "type": [{"coding": [{"system": ORG_TYPE_SYSTEM, "code": org.type.value}]}],
        "name": org.name,
        "address": [{"district": org.division_code}],
    }
    if org.parent_id:
        body["partOf"] = {"reference": f"Organization/{org.parent_id}"}
    return body


def parse(resource: Any) -> OrganizationDraft:
    body = validate_structure(resource, "Organization")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name", "缺少机构名称", "Organization.name is required")
    code = None
    identifiers: list[tuple[str, str]] = []
    for identifier in body.get("identifier", []):
        if identifier.get("system") == ORG_CODE_SYSTEM and identifier.get("value"):
            code = str(identifier["value"])
        elif identifier.get("system") and identifier.get("value"):
            identifiers.append((str(identifier["system"]), str(identifier["value"])))
    org_type = OrgType.HOSPITAL
    for concept in body.get("type", []):
        for coding in concept.get("coding", []):
            if coding.get("system") != ORG_TYPE_SYSTEM:
                continue
            try:
                org_type = OrgType(coding.get("code"))
            except ValueError as exc:
                known = ", ".join(t.value for t in OrgType)
                raise InvalidInput(
                    "type",
                    "机构类型不正确",
                    f"Organization.type: unknown code {coding.get('code')!r} in "
                    f"{ORG_TYPE_SYSTEM} ({known})",
                ) from exc
    return OrganizationDraft(name.strip()[:200], code, org_type, tuple(identifiers))
