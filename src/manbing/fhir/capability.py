"""The CapabilityStatement: exactly the interactions and parameters the router implements."""

from __future__ import annotations

from typing import Any

from manbing.fhir import writes
from manbing.fhir.store import COMMON_PARAMS, READ_ONLY_TYPES, SEARCH_PARAMS, SUPPORTED_TYPES

_PARAM_TYPES = {
    "identifier": "token",
    "name": "string",
    "birthdate": "date",
    "gender": "token",
    "organization": "reference",
    "patient": "reference",
    "subject": "reference",
    "code": "token",
    "date": "date",
    "category": "token",
    "clinical-status": "token",
    "encounter": "reference",
    "_id": "token",
    "_lastUpdated": "date",
}


def capability_statement(base_url: str, software_version: str, date: str) -> dict[str, Any]:
    resources = []
    for rtype in SUPPORTED_TYPES:
        params = [*SEARCH_PARAMS[rtype], "_id", "_lastUpdated"]
        writable = rtype not in READ_ONLY_TYPES
        codes = ["read", "vread", "history-instance", "history-type", "search-type"]
        codes += [
            action
            for action in ("create", "update")
            if writable and (action, rtype) not in writes.REFUSED
        ]
        resource: dict[str, Any] = {
            "type": rtype,
            "interaction": [{"code": c} for c in codes],
            "versioning": "versioned-update" if "update" in codes else "versioned",
            "readHistory": True,
            "updateCreate": False,
            "conditionalCreate": "create" in codes,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchParam": [{"name": p, "type": _PARAM_TYPES[p]} for p in params],
        }
        if rtype == "Patient":
            resource["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        refused = [reason for (action, t), reason in writes.REFUSED.items() if t == rtype]
        if refused:
            resource["documentation"] = "Refused on purpose: " + "; ".join(refused)
        if rtype == "Observation":
            resource["searchInclude"] = ["Observation:patient", "Observation:subject"]
        resources.append(resource)
    assert "_count" in COMMON_PARAMS
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": {"name": "manbing", "version": software_version},
        "implementation": {"description": "manbing FHIR R4 server", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Search parameters also accept _count (page size) and _offset. Type and "
                    "system _history take _since, _count and _offset and list every change of "
                    "the resources the caller may read: the versions stored by FHIR writes and "
                    "the current state of each resource changed in the window by any path "
                    "(meta.lastUpdated, as _lastUpdated search), newest first."
                ),
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": f"{base_url}/auth/token"}],
                        }
                    ],
                    "description": (
                        "OAuth2 client credentials with SMART system scopes (system/*.read, "
                        "system/Patient.write, system/Observation.rs …), or a signed-in session "
                        "(cookie + X-CSRF-Token for writes). Access is organisation-scoped."
                    ),
                },
                "resource": resources,
                "interaction": [
                    {"code": "transaction"},
                    {"code": "batch"},
                    {"code": "history-system"},
                ],
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                    },
                    {
                        "name": "patient-export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
                    },
                    {
                        "name": "group-export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
                    },
                ],
            }
        ],
    }
