"""Patient/$everything and Bulk Data $export (kick-off, status polling, NDJSON download)."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from manbing.fhir import export
from tests.e2e.conftest import login

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def _poll(client: TestClient, location: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.get(location)
        if status.status_code == 200:
            manifest: dict[str, object] = status.json()
            return manifest
        assert status.status_code == 202, status.text
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_a_system_export_is_polled_and_downloaded_as_ndjson(client: TestClient) -> None:
    login(client)
    kick_off = client.get("/fhir/$export", headers=ASYNC)
    assert kick_off.status_code == 202, kick_off.text
    manifest = _poll(client, kick_off.headers["content-location"])
    outputs = {o["type"]: o for o in manifest["output"]}  # type: ignore[attr-defined]
    assert set(outputs) == {"Organization", "Practitioner", "Patient", "Observation", "Condition"}
    patients_file = client.get(outputs["Patient"]["url"])
    assert patients_file.status_code == 200
    assert patients_file.headers["content-type"].startswith("application/fhir+ndjson")
    lines = [json.loads(line) for line in patients_file.text.splitlines()]
    assert len(lines) == outputs["Patient"]["count"]
    searched = client.get("/fhir/Patient", params={"_count": "0"}).json()["total"]
    assert len(lines) == searched > 0
    assert {p["resourceType"] for p in lines} == {"Patient"}


def test_patient_and_group_exports_honour_type_and_the_group(client: TestClient) -> None:
    login(client)
    orgs = client.get("/fhir/Organization", params={"_count": "100"}).json()["entry"]
    station = next(
        e["resource"]["id"]
        for e in orgs
        if e["resource"]["type"][0]["coding"][0]["code"] == "station"
    )
    kick_off = client.get(
        f"/fhir/Group/{station}/$export", params={"_type": "Patient"}, headers=ASYNC
    )
    assert kick_off.status_code == 202, kick_off.text
    manifest = _poll(client, kick_off.headers["content-location"])
    [output] = manifest["output"]  # type: ignore[misc]
    patients = [json.loads(x) for x in client.get(output["url"]).text.splitlines()]
    assert patients
    assert {p["managingOrganization"]["reference"] for p in patients} == {f"Organization/{station}"}
    everyone = client.get("/fhir/Patient/$export", headers=ASYNC)
    assert everyone.status_code == 202


def test_export_refuses_a_missing_prefer_header_and_an_unknown_type(client: TestClient) -> None:
    login(client)
    assert client.get("/fhir/$export").status_code == 400
    refused = client.get("/fhir/$export", params={"_type": "Claim"}, headers=ASYNC)
    assert refused.status_code == 400
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/$export-status/0123abcd").status_code == 404


def test_an_analyst_without_the_export_right_is_refused(client: TestClient) -> None:
    login(client, "cdc")
    response = client.get("/fhir/$export", headers=ASYNC)
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_patient_everything_returns_the_patient_with_conditions_and_observations(
    client: TestClient,
) -> None:
    csrf = login(client)
    headers = {"X-CSRF-Token": csrf}
    patient = client.get("/fhir/Patient", params={"_count": "1"}).json()["entry"][0]["resource"]
    condition = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "subject": {"reference": f"Patient/{patient['id']}"},
    }
    assert client.post("/fhir/Condition", json=condition, headers=headers).status_code == 201
    bundle = client.get(f"/fhir/Patient/{patient['id']}/$everything").json()
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "Patient"
    assert "Condition" in types
    assert bundle["total"] == len(types)


def test_a_since_at_either_end_of_the_calendar_exports_all_or_nothing(client: TestClient) -> None:
    login(client)
    # 0001-01-01 in China Standard Time is no datetime in UTC: the kick-off answered 500
    for since, found in (("0001-01-01", True), ("9999-12-31T23:59:59-12:00", False)):
        kick_off = client.get(
            "/fhir/$export", params={"_since": since, "_type": "Patient"}, headers=ASYNC
        )
        assert kick_off.status_code == 202, kick_off.text
        manifest = _poll(client, kick_off.headers["content-location"])
        counts = [o["count"] for o in manifest["output"]]  # type: ignore[attr-defined]
        assert (sum(counts) > 0) is found, manifest


def test_a_failed_export_is_told_without_its_cause_which_is_logged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("SELECT residents.name FROM residents WHERE id_number = '330108…'")

    monkeypatch.setattr(export, "_write", failing)
    login(client)
    kick_off = client.get("/fhir/$export", params={"_type": "Patient"}, headers=ASYNC)
    assert kick_off.status_code == 202, kick_off.text
    deadline = time.monotonic() + 20
    while (status := client.get(kick_off.headers["content-location"])).status_code == 202:
        assert time.monotonic() < deadline, "the export did not end"
        time.sleep(0.05)
    assert status.status_code == 500
    said = status.json()["issue"][0]["diagnostics"]
    # the poll answered "the export failed: <the exception's text>", SQL and values included
    assert "SELECT" not in said and "330108" not in said
    assert "server's log" in said
    assert any("SELECT residents" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
