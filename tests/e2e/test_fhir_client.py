"""A real FHIR client library (fhirpy) against the app served on loopback HTTP."""

from __future__ import annotations

import json
import time

import httpx
from fhirpy import SyncFHIRClient

from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.services.demo_accounts import DEMO_PASSWORD


def _headers(live_server: str) -> dict[str, str]:
    session = httpx.post(
        f"{live_server}/api/v1/session", json={"username": "doctor", "password": DEMO_PASSWORD}
    )
    assert session.status_code == 200, session.text
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    return {"Cookie": cookie, "X-CSRF-Token": session.json()["csrf_token"]}


def _client(live_server: str) -> SyncFHIRClient:
    return SyncFHIRClient(f"{live_server}/fhir", extra_headers=_headers(live_server))


def test_fhirpy_creates_searches_with_paging_and_posts_a_transaction(live_server: str) -> None:
    client = _client(live_server)

    patient = client.resource(
        "Patient",
        identifier=[{"system": NATIONAL_ID_SYSTEM, "value": "33010819600315003X"}],
        name=[{"family": "赵", "given": ["立新"]}],
    )
    patient.save()
    assert patient["id"]
    assert patient["birthDate"] == "1960-03-15"

    found = client.resources("Patient").search(birthdate="1960-03-15").fetch()
    assert [p["id"] for p in found] == [patient["id"]]

    everyone = client.resources("Patient").limit(7).fetch_all()  # follows the next links
    first_page = client.resources("Patient").limit(7).fetch()
    assert len(first_page) == 7
    assert len(everyone) > 7
    assert len({p["id"] for p in everyone}) == len(everyone)

    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0d7d7c2e-6d3c-4a59-9d4e-0d8a1c2b3f41",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                    "subject": {"reference": f"Patient/{patient['id']}"},
                    "effectiveDateTime": "2026-11-01T09:00:00+08:00",
                    "component": [
                        {
                            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                            "valueQuantity": {"value": 138, "unit": "mmHg"},
                        },
                        {
                            "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                            "valueQuantity": {"value": 86, "unit": "mmHg"},
                        },
                    ],
                },
                "request": {"method": "POST", "url": "Observation"},
            }
        ],
    }
    response = client.execute("", method="post", data=bundle)
    assert response["type"] == "transaction-response"
    assert response["entry"][0]["response"]["status"] == "201 Created"

    readings = client.resources("Observation").search(patient=patient["id"], code="85354-9")
    fetched = readings.fetch()
    assert len(fetched) == 1
    assert [c["valueQuantity"]["value"] for c in fetched[0]["component"]] == [138, 86]


def test_fhirpy_kicks_off_an_export_polls_it_and_the_files_download(live_server: str) -> None:
    headers = _headers(live_server)
    client = SyncFHIRClient(
        f"{live_server}/fhir", extra_headers={**headers, "Prefer": "respond-async"}
    )
    accepted = client.execute("$export", method="get", params={"_type": "Patient,Condition"})
    status_url = accepted["issue"][0]["location"][0]
    job_path = status_url.split("/fhir/", 1)[1]
    deadline = time.monotonic() + 20
    manifest = client.execute(job_path, method="get")
    while manifest is None:  # 202 without a body while the job runs
        assert time.monotonic() < deadline, "the export did not finish"
        time.sleep(0.1)
        manifest = client.execute(job_path, method="get")
    outputs = {o["type"]: o for o in manifest["output"]}
    assert set(outputs) == {"Patient", "Condition"}
    ndjson = httpx.get(outputs["Patient"]["url"], headers=headers)
    assert ndjson.status_code == 200
    patients = [json.loads(line) for line in ndjson.text.splitlines()]
    assert len(patients) == outputs["Patient"]["count"] > 0
    searched = client.resources("Patient").limit(1).fetch_raw()
    assert searched["total"] == len(patients)
