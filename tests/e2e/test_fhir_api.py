"""The FHIR REST API at /fhir, through the real app with a signed-in doctor."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from tests.e2e.conftest import login

FHIR = "application/fhir+json"
# GB 11643 test number: 330108 district, born 1960-03-15, male (odd sequence), valid check digit
ID_NUMBER = "33010819600315003X"


def _patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": ID_NUMBER}],
        "name": [{"family": "王", "given": ["建国"]}],
        **extra,
    }


def _bp(
    patient_id: str, sbp: float, dbp: float, when: str, code: str = "85354-9"
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": sbp, "unit": "mmHg", "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": dbp, "unit": "mmHg", "code": "mm[Hg]"},
            },
        ],
    }


def test_metadata_is_a_capability_statement_listing_the_supported_resources(
    client: TestClient,
) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR)
    body = response.json()
    assert body["resourceType"] == "CapabilityStatement"
    assert body["fhirVersion"] == "4.0.1"
    CapabilityStatement.model_validate(body)  # valid R4 (R4B model)
    types = {r["type"] for r in body["rest"][0]["resource"]}
    assert types == {
        "Patient",
        "Observation",
        "Condition",
        "Organization",
        "Practitioner",
        "CareTeam",
        "Device",
        "MedicationStatement",
        "MedicationRequest",
        "CarePlan",
        "AuditEvent",
        "Encounter",
        "Appointment",
        "ServiceRequest",
        "Task",
    }
    audit = next(r for r in body["rest"][0]["resource"] if r["type"] == "AuditEvent")
    codes = [i["code"] for i in audit["interaction"]]
    assert codes == ["read", "vread", "history-instance", "history-type", "search-type"]


def test_an_anonymous_read_is_refused_with_an_operation_outcome(client: TestClient) -> None:
    response = client.get("/fhir/Patient")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_doctor_creates_reads_and_finds_a_patient_decoded_from_the_national_id(
    client: TestClient,
) -> None:
    csrf = login(client)
    created = client.post("/fhir/Patient", json=_patient(), headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    patient = created.json()
    assert patient["birthDate"] == "1960-03-15"
    assert patient["gender"] == "male"
    assert patient["name"][0]["text"] == "王建国"
    assert created.headers["location"].endswith(f"/Patient/{patient['id']}/_history/1")

    read = client.get(f"/fhir/Patient/{patient['id']}")
    assert read.status_code == 200
    assert read.headers["etag"] == 'W/"1"'

    found = client.get(
        "/fhir/Patient", params={"identifier": f"{NATIONAL_ID_SYSTEM}|{ID_NUMBER}"}
    ).json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["id"] == patient["id"]
    by_birth = client.get(
        "/fhir/Patient", params={"birthdate": "1960-03", "gender": "male", "name": "王建"}
    ).json()
    assert [e["resource"]["id"] for e in by_birth["entry"]] == [patient["id"]]
    assert (
        client.get("/fhir/Patient", params={"birthdate": "gt1960-03-15", "name": "王建"}).json()[
            "total"
        ]
        == 0
    )


def test_conditional_create_returns_the_existing_patient_instead_of_a_duplicate(
    client: TestClient,
) -> None:
    csrf = login(client)
    headers = {"X-CSRF-Token": csrf}
    first = client.post("/fhir/Patient", json=_patient(), headers=headers)
    assert first.status_code == 201
    again = client.post(
        "/fhir/Patient",
        json=_patient(),
        headers={**headers, "If-None-Exist": f"identifier={NATIONAL_ID_SYSTEM}|{ID_NUMBER}"},
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    duplicate = client.post("/fhir/Patient", json=_patient(), headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["issue"][0]["code"] == "conflict"


def test_an_invalid_national_id_is_refused_with_422(client: TestClient) -> None:
    csrf = login(client)
    bad = _patient(identifier=[{"system": NATIONAL_ID_SYSTEM, "value": "330108196003150031"}])
    response = client.post("/fhir/Patient", json=bad, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422
    assert response.json()["resourceType"] == "OperationOutcome"


def test_observations_are_stored_in_canonical_units_and_searched_by_code_and_date(
    client: TestClient,
) -> None:
    csrf = login(client)
    headers = {"X-CSRF-Token": csrf}
    pid = client.post("/fhir/Patient", json=_patient(), headers=headers).json()["id"]
    bp = client.post(
        "/fhir/Observation",
        json=_bp(pid, 152, 94, "2026-11-20T08:30:00+08:00", "55284-4"),
        headers=headers,
    )
    assert bp.status_code == 201, bp.text
    glucose = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-11-21T07:00:00+08:00",
        "valueQuantity": {"value": 126, "unit": "mg/dL", "code": "mg/dL"},
    }
    made = client.post("/fhir/Observation", json=glucose, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["valueQuantity"]["value"] == 7.0
    assert made.json()["valueQuantity"]["unit"] == "mmol/L"

    panel = client.get(
        "/fhir/Observation", params={"patient": pid, "code": "http://loinc.org|85354-9"}
    ).json()
    assert panel["total"] == 1
    components = panel["entry"][0]["resource"]["component"]
    assert [c["valueQuantity"]["value"] for c in components] == [152, 94]
    labs = client.get(
        "/fhir/Observation",
        params={"subject": f"Patient/{pid}", "category": "laboratory", "date": "ge2026-11-21"},
    ).json()
    assert labs["total"] == 1
    assert (
        client.get("/fhir/Observation", params={"patient": pid, "date": "lt2026-11-20"}).json()[
            "total"
        ]
        == 0
    )
    included = client.get(
        "/fhir/Observation", params={"patient": pid, "_include": "Observation:patient"}
    ).json()
    modes = sorted(e["search"]["mode"] for e in included["entry"])
    assert modes == ["include", "match", "match"]


def test_search_pages_with_next_links(client: TestClient) -> None:
    login(client)
    first = client.get("/fhir/Patient", params={"_count": "5"}).json()
    assert len(first["entry"]) == 5
    assert first["total"] > 5
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = client.get(next_url).json()
    first_ids = {e["resource"]["id"] for e in first["entry"]}
    assert first_ids.isdisjoint({e["resource"]["id"] for e in second["entry"]})


def test_an_implausible_value_and_an_unknown_parameter_return_operation_outcomes(
    client: TestClient,
) -> None:
    csrf = login(client)
    headers = {"X-CSRF-Token": csrf}
    pid = client.post("/fhir/Patient", json=_patient(), headers=headers).json()["id"]
    wrong = client.post(
        "/fhir/Observation", json=_bp(pid, 80, 120, "2026-11-20T08:30:00+08:00"), headers=headers
    )
    assert wrong.status_code == 422
    assert client.get("/fhir/Patient", params={"shoe-size": "42"}).status_code == 400
    assert client.get("/fhir/Patient/not-a-uuid").status_code == 404
    assert client.get("/fhir/Claim").status_code == 404
    bad_json = client.post("/fhir/Patient", content=b"{", headers=headers)
    assert bad_json.status_code == 400
    assert bad_json.json()["resourceType"] == "OperationOutcome"
    no_csrf = client.post("/fhir/Patient", json=_patient())
    assert no_csrf.status_code == 403


def test_a_patient_without_an_id_number_matching_name_and_birth_date_is_a_conflict(
    client: TestClient,
) -> None:
    csrf = login(client)
    body = {"resourceType": "Patient", "name": [{"text": "周桂兰"}], "birthDate": "1948-02-03"}
    first = client.post("/fhir/Patient", json=body, headers={"X-CSRF-Token": csrf})
    assert first.status_code == 201
    again = client.post("/fhir/Patient", json=body, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409
    assert again.json()["issue"][0]["code"] == "conflict"


def test_a_path_or_method_the_fhir_route_does_not_take_gets_an_operation_outcome(
    client: TestClient,
) -> None:
    login(client)
    # a newline in an id: the /fhir route's path pattern does not match it (was the JSON API's
    # {"error": ...} 404); a method the route lacks (was the JSON API's 405)
    for response, status in (
        (client.get("/fhir/Patient/%0A0"), 404),
        (client.request("OPTIONS", "/fhir/Patient"), 405),
    ):
        assert response.status_code == status
        assert response.headers["content-type"].startswith(FHIR)
        assert response.json()["resourceType"] == "OperationOutcome"
    assert client.get("/api/v1/nothing-here").json()["error"]["message"] == "未找到"
