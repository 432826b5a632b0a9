"""Signing in through the page and the API; errors in Chinese; CSRF; the start page search."""

import re

from fastapi.testclient import TestClient

from manbing.services.demo_accounts import DEMO_PASSWORD
from tests.e2e.conftest import login


def _csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def test_the_login_page_is_in_chinese_by_default_and_english_on_request(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert "登录" in page.text and 'lang="zh-CN"' in page.text
    english = client.get("/login?lang=en")
    assert "Sign in" in english.text and 'lang="en"' in english.text


def test_a_doctor_signs_in_with_the_form_and_finds_a_resident(client: TestClient) -> None:
    token = _csrf_from(client.get("/login").text)
    wrong = client.post(
        "/login", data={"username": "doctor", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    ok = client.post(
        "/login",
        data={"username": "doctor", "password": DEMO_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    home = client.get("/?q=33010800100100001")
    assert home.status_code == 200
    assert "33010800100100001" in home.text and "家庭医生" in home.text


def test_a_form_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "doctor", "password": DEMO_PASSWORD})
    assert response.status_code == 403


def test_the_api_needs_a_session_and_echoes_errors_in_chinese(client: TestClient) -> None:
    bad_login = client.post(
        "/api/v1/session", json={"username": "doctor", "password": "wrong-password"}
    )
    assert bad_login.status_code == 401
    assert bad_login.json()["error"]["message"] == "用户名或密码错误"
    anonymous = client.get("/api/v1/residents")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["message"] == "请先登录"
    token = login(client)
    found = client.get("/api/v1/residents", params={"q": "33010800100100001"})
    assert found.status_code == 200 and found.json()[0]["record_number"] == "33010800100100001"
    unsafe_without_token = client.post("/api/v1/residents", json={})
    assert unsafe_without_token.status_code == 403
    invalid = client.post("/api/v1/residents", json={"name": 5}, headers={"X-CSRF-Token": token})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["field"]


def test_registration_over_the_api_refuses_a_wrong_check_digit(client: TestClient) -> None:
    token = login(client)
    me = client.get("/api/v1/session").json()
    body = {
        "name": "测试居民",
        "division_code": "330108001001",
        "managing_org_id": me["organization_id"],
        "id_number": "110105194912310021",
        "phone": "13900001111",
    }
    refused = client.post("/api/v1/residents", json=body, headers={"X-CSRF-Token": token})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "id_number"
    assert "校验位" in refused.json()["error"]["message"]
    body["id_number"] = "11010519491231002X"
    created = client.post("/api/v1/residents", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    assert created.json()["sex"] == "F"
    duplicate = client.post("/api/v1/residents", json=body, headers={"X-CSRF-Token": token})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["existing_id"] == created.json()["id"]


def test_an_sbp_of_400_over_the_api_is_a_422_naming_the_field(client: TestClient) -> None:
    token = login(client)
    resident = client.get("/api/v1/residents", params={"q": "33010800100100001"}).json()[0]
    response = client.post(
        f"/api/v1/residents/{resident['id']}/observations",
        json={
            "kind": "bp",
            "value": 400,
            "value2": 90,
            "effective_at": "2026-11-24T08:00:00+08:00",
        },
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "sbp"


def test_the_cdc_analyst_sees_masked_line_lists(client: TestClient) -> None:
    login(client, "cdc")
    rows = client.get("/api/v1/residents", params={"q": "33010800200100001"}).json()
    assert rows and rows[0]["masked"] is True
    assert "*" in rows[0]["id_number"] and rows[0]["address"] is None


def test_times_are_stored_in_utc_and_shown_in_shanghai_time(client: TestClient) -> None:
    token = login(client)
    resident = client.get("/api/v1/residents", params={"q": "33010800100100001"}).json()[0]
    stored = client.post(
        f"/api/v1/residents/{resident['id']}/observations",
        json={"kind": "bp", "value": 132, "value2": 84, "effective_at": "2026-11-24T00:00:00Z"},
        headers={"X-CSRF-Token": token},
    )
    assert stored.status_code == 201
    page = client.get(f"/residents/{resident['id']}")
    assert page.status_code == 200
    assert "2026-11-24 08:00" in page.text
    assert "2026-11-24 00:00" not in page.text
