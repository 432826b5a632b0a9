"""DTx over the JSON API: a package, enrolment, the programme view, the payer statement."""

from fastapi.testclient import TestClient
from sqlalchemy import select

from manbing.db.models import DtxPackage, User
from tests.e2e.conftest import login


def test_a_doctor_enrols_a_patient_in_a_package_and_the_manager_gets_the_statement_per_payer(
    client: TestClient,
) -> None:
    factory = client.app.state.container.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        resident_id = s.scalars(select(User.resident_id).where(User.username == "patient")).one()
    csrf = login(client, "doctor")
    headers = {"X-CSRF-Token": csrf}
    package = client.post(
        "/api/v1/dtx/packages",
        json={
            "code": "dm-dtx",
            "name": "糖尿病数字疗法包",
            "monthly_price_fen": 5000,
            "government_percent": 70,
            "company_percent": 0,
            "resident_percent": 30,
        },
        headers=headers,
    )
    assert package.status_code == 201, package.text
    bad = client.post(
        f"/api/v1/residents/{resident_id}/dtx-enrolments",
        json={"programme": "diabetes", "package_code": "nope"},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "package_code"
    enrolled = client.post(
        f"/api/v1/residents/{resident_id}/dtx-enrolments",
        json={"programme": "diabetes", "package_code": "dm-dtx"},
        headers=headers,
    )
    assert enrolled.status_code == 201, enrolled.text
    view = client.get(f"/api/v1/residents/{resident_id}/dtx").json()
    assert view["measurements_per_week"] == {"glucose": 7}
    assert {"glucose_basics", "hypoglycaemia"} <= {lesson["code"] for lesson in view["lessons"]}
    assert view["adherence_7_days"]["measurements_done"] == 0

    patient_csrf = login(client, "patient")
    forbidden = client.post(
        f"/api/v1/residents/{resident_id}/dtx-enrolments",
        json={"programme": "hypertension"},
        headers={"X-CSRF-Token": patient_csrf},
    )
    assert forbidden.status_code == 403

    login(client, "manager")
    lines = client.get("/api/v1/dtx/statements/2026/11").json()
    amounts = {line["payer"]: line["amount_fen"] for line in lines}
    assert amounts == {"company": 0, "government": 3500, "resident": 1500}


def test_a_second_package_with_the_same_code_is_refused_and_the_first_is_kept(
    client: TestClient,
) -> None:
    factory = client.app.state.container.session_factory  # type: ignore[attr-defined]
    headers = {"X-CSRF-Token": login(client, "doctor")}
    body = {
        "code": "htn-dtx",
        "name": "高血压数字疗法包",
        "monthly_price_fen": 3000,
        "government_percent": 50,
        "company_percent": 0,
        "resident_percent": 50,
    }
    assert client.post("/api/v1/dtx/packages", json=body, headers=headers).status_code == 201
    again = client.post("/api/v1/dtx/packages", json={**body, "name": "另一个包"}, headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["message"] == "套餐编码已存在"
    with factory() as s:
        names = s.scalars(select(DtxPackage.name).where(DtxPackage.code == "htn-dtx")).all()
    assert names == ["高血压数字疗法包"]
