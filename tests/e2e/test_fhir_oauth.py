"""System clients: OAuth2 client credentials, SMART system scopes, organisation scope."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from manbing.fhir.auth import register_client
from manbing.services.demo_accounts import DEMO_PASSWORD
from tests.e2e.conftest import login


def _client(factory: sessionmaker[Session], org: str, scopes: str) -> tuple[str, str]:
    with factory() as session:
        client_id, secret = register_client(
            session, organization_code=org, name="区域数据中心", scopes=scopes
        )
        session.commit()
    return client_id, secret


def _token(client: TestClient, client_id: str, secret: str, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        form["scope"] = scope
    response = client.post("/fhir/auth/token", data=form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    token: str = body["access_token"]
    return token


def test_a_cdc_client_reads_every_resident_of_its_division_but_cannot_write(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    client_id, secret = _client(app_db, "330108-CDC", "system/*.read")
    bearer = {"Authorization": f"Bearer {_token(client, client_id, secret)}"}
    cdc_total = client.get("/fhir/Patient", params={"_count": "0"}, headers=bearer).json()["total"]

    station_id, station_secret = _client(app_db, "330108001-S01", "system/*.read")
    station_bearer = {"Authorization": f"Bearer {_token(client, station_id, station_secret)}"}
    station = client.get("/fhir/Patient", params={"_count": "0"}, headers=station_bearer)
    assert 0 < station.json()["total"] < cdc_total

    write = client.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "name": [{"text": "张三"}], "birthDate": "1950-01-01"},
        headers=bearer,
    )
    assert write.status_code == 403
    assert write.json()["resourceType"] == "OperationOutcome"


def test_a_patient_only_scope_refuses_observations(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    client_id, secret = _client(app_db, "330108001-CHC", "system/Patient.rs")
    bearer = {"Authorization": f"Bearer {_token(client, client_id, secret)}"}
    assert client.get("/fhir/Patient", headers=bearer).status_code == 200
    assert client.get("/fhir/Observation", headers=bearer).status_code == 403


def test_wrong_credentials_scopes_and_tokens_are_refused(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    client_id, secret = _client(app_db, "330108-CDC", "system/Patient.read")
    wrong = client.post(
        "/fhir/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    broader = client.post(
        "/fhir/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "system/*.write",
        },
    )
    assert (broader.status_code, broader.json()["error"]) == (400, "invalid_scope")
    forged = client.get("/fhir/Patient", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    assert forged.json()["resourceType"] == "OperationOutcome"
    assert "Bearer" in forged.headers["www-authenticate"]
    service_login = client.post(
        "/api/v1/session",
        json={"username": f"fhir-client:{client_id}", "password": secret},
    )
    assert service_login.status_code != 200
    login(client, "doctor", DEMO_PASSWORD)  # a person still signs in as usual
