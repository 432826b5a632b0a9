"""Personas over HTTP: a doctor of another centre cannot open, search or export a resident.

The victim is managed by 西兴第1站 (centre 西兴); the outsider is a family doctor at 长河第1站, in
the same district but under another centre. Every route that takes a resident id, pages and API,
is tried with that id, plus every way of searching and listing.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import Organization, Resident
from manbing.domain.organisations import Role
from tests.e2e.conftest import login
from tests.personas import actor_at

HTML = {"accept": "text/html"}


@pytest.fixture
def victim(app_db: sessionmaker[Session]) -> Resident:
    with app_db() as s:
        station = s.scalars(select(Organization).where(Organization.code == "330108001-S01")).one()
        resident = s.scalars(
            select(Resident)
            .where(Resident.managing_org_id == station.id)
            .order_by(Resident.record_number)
        ).first()
        assert resident is not None
        s.expunge(resident)
        return resident


@pytest.fixture
def outsider(app_db: sessionmaker[Session]) -> str:
    with app_db() as s:
        other = s.scalars(select(Organization).where(Organization.code == "330108002-S01")).one()
    return actor_at(app_db, Role.FAMILY_DOCTOR, other.id).username


def _referral_of(client: TestClient, victim: Resident) -> str:
    token = login(client)
    hospital = client.get("/api/v1/hospitals").json()[0]["id"]
    made = client.post(
        "/api/v1/referrals",
        json={"resident_id": str(victim.id), "to_org_id": hospital, "urgency": "urgent",
              "reason_text": "胸闷"},
        headers={"X-CSRF-Token": token},
    )  # fmt: skip
    assert made.status_code == 201
    client.post("/logout", data={"csrf_token": token})
    return str(made.json()["id"])


def test_the_doctor_in_charge_reaches_the_resident(client: TestClient, victim: Resident) -> None:
    login(client)
    assert client.get(f"/api/v1/residents/{victim.id}").status_code == 200
    assert client.get(f"/residents/{victim.id}", headers=HTML).status_code == 200


def test_a_doctor_of_another_centre_cannot_open_search_or_export_the_resident(
    client: TestClient, victim: Resident, outsider: str
) -> None:
    referral_id = _referral_of(client, victim)
    token = login(client, outsider, "persona-password")
    csrf = {"X-CSRF-Token": token}
    rid = str(victim.id)
    visit = {"visit_date": "2026-11-24", "sbp": 150, "dbp": 90}
    api_calls = [
        ("GET", f"/api/v1/residents/{rid}", None),
        ("GET", f"/api/v1/residents/{rid}/chart", None),
        ("POST", f"/api/v1/residents/{rid}/follow-ups", visit),
        ("POST", f"/api/v1/residents/{rid}/follow-ups/preview", visit),
        ("POST", f"/api/v1/residents/{rid}/observations",
         {"kind": "bp", "value": 150, "value2": 90, "effective_at": "2026-11-24T01:00:00+00:00"}),
        ("POST", f"/api/v1/residents/{rid}/risk-assessments",
         {"sbp": 150, "waist_cm": 90, "smoker": False, "family_history": False, "bmi": 25}),
        ("POST", "/api/v1/referrals",
         {"resident_id": rid, "to_org_id": str(victim.managing_org_id), "urgency": "routine",
          "reason_text": "x"}),
        ("POST", f"/api/v1/residents/{rid}/screenings", {"sbp": 150, "dbp": 95}),
        ("POST", f"/api/v1/residents/{rid}/enrolments", {"programme": "t2dm"}),
        ("POST", f"/api/v1/residents/{rid}/contracts", {"team_id": rid, "package_id": rid}),
        ("POST", f"/api/v1/residents/{rid}/health-checks", {"sbp": 120, "dbp": 80}),
        ("GET", f"/api/v1/referrals/{referral_id}", None),
        ("POST", f"/api/v1/referrals/{referral_id}/acknowledge", None),
    ]  # fmt: skip
    for method, path, body in api_calls:
        response = client.request(method, path, json=body, headers=csrf)
        assert response.status_code in (404, 422), (method, path, response.status_code)
        assert victim.name not in response.text, path
    form = {"csrf_token": token, "visit_date": "2026-11-24", "sbp": "150", "dbp": "90"}
    page_calls = [
        ("GET", f"/residents/{rid}", None),
        ("GET", f"/residents/{rid}/follow-up", None),
        ("POST", f"/residents/{rid}/follow-up", form),
        ("POST", f"/residents/{rid}/follow-up/preview", form),
        ("POST", f"/residents/{rid}/risk", {"csrf_token": token, "sbp": "150", "waist_cm": "90", "bmi": "25"}),
        ("POST", f"/residents/{rid}/screening", {"csrf_token": token, "sbp": "150", "dbp": "95"}),
        ("POST", f"/residents/{rid}/enrol", {"csrf_token": token, "programme": "t2dm"}),
        ("POST", f"/residents/{rid}/contract", {"csrf_token": token, "team_id": str(rid), "package_id": str(rid)}),
        ("POST", f"/residents/{rid}/health-check", {"csrf_token": token, "sbp": "120", "dbp": "80"}),
        ("GET", f"/referrals/{referral_id}", None),
    ]  # fmt: skip
    for method, path, data in page_calls:
        response = client.request(method, path, data=data, headers=HTML)
        assert response.status_code == 404, (method, path, response.status_code)
        assert victim.name not in response.text, path
    # every route with a resident id is covered above
    routes = {getattr(r, "path", "") for r in client.app.routes}  # type: ignore[attr-defined]
    tried = {re.sub(r"[0-9a-f-]{36}", "{id}", p) for _, p, _ in api_calls + page_calls}
    for route in routes:
        if "{resident_id}" in route and "{follow_up_id}" not in route:
            shape = route.replace("{resident_id}", "{id}").replace("{referral_id}", "{id}")
            assert shape in tried, f"route {route} is not covered by the persona test"
    # searching and listing (the API list is the export path) never returns the resident
    for q in (victim.name, victim.record_number, victim.id_number, victim.phone):
        assert q is not None
        listed = client.get("/api/v1/residents", params={"q": q}).json()
        assert all(r["id"] != rid for r in listed)
        page = client.get("/residents", params={"q": q}, headers=HTML)
        assert f"/residents/{rid}" not in page.text and "未找到" in page.text
    everything = client.get("/api/v1/residents", params={"limit": 200}).json()
    assert all(r["id"] != rid for r in everything)
    work = client.get("/api/v1/worklist").json()
    assert rid not in str(work) and victim.name not in client.get("/", headers=HTML).text
