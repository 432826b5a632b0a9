"""Registration, screening, enrolment and contracts through the pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.conftest import login

HTML = {"accept": "text/html"}


def test_registration_detects_an_existing_resident_before_creating_one(client: TestClient) -> None:
    token = login(client)
    existing = client.get("/api/v1/residents", params={"q": "33010800100100001"}).json()[0]
    form = {
        "csrf_token": token,
        "name": existing["name"],
        "birth_date": existing["birth_date"],
        "sex": existing["sex"],
        "division_code": "330108001001",
    }
    same = client.post("/residents/new", data=form, headers=HTML)
    assert same.status_code == 409 and "同名" in same.text
    assert f'href="/residents/{existing["id"]}"' in same.text
    assert 'name="confirm_not_duplicate"' in same.text
    confirmed = client.post(
        "/residents/new", data={**form, "confirm_not_duplicate": "on"}, follow_redirects=False
    )
    assert (
        confirmed.status_code == 303
        and confirmed.headers["location"] != f"/residents/{existing['id']}"
    )
    bad_id = client.post(
        "/residents/new",
        data={**form, "name": "新居民", "id_number": "330108196603030012"},
        headers=HTML,
    )
    assert bad_id.status_code == 422
    assert re.search(r'data-field="id_number">[^<]*校验位', bad_id.text)


def test_screening_enrolment_and_contract_from_the_record_page(client: TestClient) -> None:
    token = login(client)
    created = client.post(
        "/residents/new",
        data={"csrf_token": token, "name": "新筛查", "birth_date": "1960-02-02", "sex": "M",
              "division_code": "330108001001"},
        follow_redirects=False,
    )  # fmt: skip
    record = created.headers["location"]
    page = client.get(record, headers=HTML)
    assert "血压筛查" in page.text and "纳入专病管理" in page.text and "签约" in page.text
    raised = client.post(
        f"{record}/screening",
        data={"csrf_token": token, "sbp": "156", "dbp": "94", "high_salt_diet": "on"},
        headers=HTML,
    )
    assert raised.status_code == 200 and "血压升高：请择日复测" in raised.text
    assert "长期膳食高盐" in raised.text
    wrong = client.post(
        f"{record}/screening", data={"csrf_token": token, "sbp": "abc", "dbp": "94"}
    )
    assert wrong.status_code == 422 and "收缩压应为数字" in wrong.text
    enrolled = client.post(
        f"{record}/enrol", data={"csrf_token": token, "programme": "hypertension"}, headers=HTML
    )
    assert enrolled.status_code == 200 and "新增随访" in enrolled.text
    again = client.post(
        f"{record}/enrol", data={"csrf_token": token, "programme": "hypertension"}, headers=HTML
    )
    assert again.status_code == 409 and "已纳入" in again.text
    team = re.search(r'name="team_id"><option value="([^"]+)"', again.text)
    package = re.search(r'name="package_id"><option value="([^"]+)"', again.text)
    assert team and package
    signed = client.post(
        f"{record}/contract",
        data={"csrf_token": token, "team_id": team.group(1), "package_id": package.group(1)},
        headers=HTML,
    )
    assert signed.status_code == 200 and "续约一年" in signed.text and "基础服务包" in signed.text


def test_the_annual_health_check_is_saved_and_bad_values_are_refused_in_chinese(
    client: TestClient,
) -> None:
    token = login(client)
    rid = client.get("/api/v1/worklist").json()["due"][0]["resident_id"]
    bad = client.post(
        f"/residents/{rid}/health-check",
        data={"csrf_token": token, "sbp": "128", "dbp": "80", "waist_cm": "900"},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert re.search(r'data-field="waist_cm">腰围应在', bad.text)
    saved = client.post(
        f"/residents/{rid}/health-check",
        data={"csrf_token": token, "sbp": "128", "dbp": "80", "height_cm": "160",
              "weight_kg": "64", "conclusion": "体检未见异常", "guidance": "recheck"},
        headers=HTML,
    )  # fmt: skip
    assert saved.status_code == 200 and "体检未见异常" in saved.text and "BMI 25.0" in saved.text
    api = client.post(
        f"/api/v1/residents/{rid}/health-checks",
        json={"sbp": 350, "dbp": 90},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 422 and api.json()["error"]["field"] == "sbp"
