"""The family doctor's day over HTTP: worklist, follow-up form, referral, and bad input."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.conftest import login

HTML = {"accept": "text/html"}


def _overdue_patient(client: TestClient) -> str:
    work = client.get("/api/v1/worklist").json()
    overdue = [d for d in work["due"] if d["days_overdue"] > 0]
    assert overdue, "the demo district has overdue patients"
    return str(overdue[0]["resident_id"])


def test_the_start_page_of_a_doctor_is_the_worklist_with_counts_and_links(
    client: TestClient,
) -> None:
    login(client)
    page = client.get("/", headers=HTML)
    assert page.status_code == 200 and "工作台" in page.text and "逾期" in page.text
    rid = _overdue_patient(client)
    assert f'href="/residents/{rid}"' in page.text
    by_risk = client.get("/api/v1/worklist", params={"sort": "risk"}).json()["due"]
    risks = [d["risk"] for d in by_risk]
    assert risks == sorted(risks, reverse=True)
    assert "查找居民" in client.get("/residents?q=李", headers=HTML).text


def test_the_record_page_shows_trends_programmes_and_the_timeline(client: TestClient) -> None:
    login(client)
    rid = _overdue_patient(client)
    page = client.get(f"/residents/{rid}", headers=HTML)
    assert page.status_code == 200
    assert "/static/vendor/echarts.min.js" in page.text and 'id="bp-chart"' in page.text
    assert "随访时间线" in page.text and "高血压" in page.text
    series = re.search(
        r'<script type="application/json" id="series">(.*?)</script>', page.text, re.S
    )
    assert series and '"clinic": [[' in series.group(1)
    chart = client.get(f"/api/v1/residents/{rid}/chart").json()
    assert chart["visits"] and chart["readings"][0]["source"] == "clinic"


def test_form_errors_are_shown_in_chinese_next_to_the_field_and_nothing_is_saved(
    client: TestClient,
) -> None:
    token = login(client)
    rid = _overdue_patient(client)
    before = len(client.get(f"/api/v1/residents/{rid}/chart").json()["visits"])
    bad = client.post(
        f"/residents/{rid}/follow-up",
        data={
            "csrf_token": token,
            "visit_date": "2026-11-24",
            "sbp": "350",
            "dbp": "95",
            "med_name_0": "氨氯地平",
            "idempotency_key": "bad-form-0001",
        },
        headers=HTML,
    )
    assert bad.status_code == 422
    error = re.search(r'data-field="sbp">([^<]+)<', bad.text)
    assert error and "收缩压" in error.group(1)
    assert 'name="sbp" value="350"' in bad.text  # the typed values stay in the form
    not_number = client.post(
        f"/residents/{rid}/follow-up",
        data={"csrf_token": token, "visit_date": "2026-11-24", "sbp": "abc", "dbp": "95"},
        headers=HTML,
    )
    assert not_number.status_code == 422 and 'data-field="sbp">收缩压应为整数' in not_number.text
    assert len(client.get(f"/api/v1/residents/{rid}/chart").json()["visits"]) == before


def test_a_double_submitted_form_stores_one_follow_up(client: TestClient) -> None:
    token = login(client)
    rid = _overdue_patient(client)
    before = len(client.get(f"/api/v1/residents/{rid}/chart").json()["visits"])
    form = {
        "csrf_token": token,
        "visit_date": "2026-11-24",
        "sbp": "132",
        "dbp": "82",
        "mode": "1",
        "idempotency_key": "double-submit-0001",
    }
    first = client.post(f"/residents/{rid}/follow-up", data=form, follow_redirects=False)
    second = client.post(f"/residents/{rid}/follow-up", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(client.get(f"/api/v1/residents/{rid}/chart").json()["visits"]) == before + 1
    body = {"visit_date": "2026-11-24", "sbp": 132, "dbp": 82, "idempotency_key": "api-double-01"}
    headers = {"X-CSRF-Token": token}
    created = client.post(f"/api/v1/residents/{rid}/follow-ups", json=body, headers=headers)
    repeated = client.post(f"/api/v1/residents/{rid}/follow-ups", json=body, headers=headers)
    assert (created.status_code, repeated.status_code) == (201, 200)
    assert created.json()["id"] == repeated.json()["id"]


def test_sbp_185_prompts_an_urgent_referral_that_the_specialist_returns(
    client: TestClient,
) -> None:
    token = login(client)
    rid = _overdue_patient(client)
    preview = client.post(
        f"/residents/{rid}/follow-up/preview",
        data={"csrf_token": token, "visit_date": "2026-11-24", "sbp": "185", "dbp": "95"},
    )
    assert "紧急转诊" in preview.text and "收缩压≥180mmHg" in preview.text
    saved = client.post(
        f"/residents/{rid}/follow-up",
        data={"csrf_token": token, "visit_date": "2026-11-24", "sbp": "185", "dbp": "95"},
        headers=HTML,
    )
    assert saved.status_code == 200 and "紧急转诊" in saved.text and "发送转诊单" in saved.text
    follow_up_id = re.search(r'name="follow_up_id" value="([^"]+)"', saved.text)
    hospital_id = re.search(r'name="to_org_id"><option value="([^"]+)"', saved.text)
    assert follow_up_id and hospital_id
    sent = client.post(
        "/referrals",
        data={
            "csrf_token": token,
            "resident_id": rid,
            "follow_up_id": follow_up_id.group(1),
            "to_org_id": hospital_id.group(1),
            "urgency": "urgent",
            "reasons": "收缩压≥180mmHg",
            "to_department": "心血管内科",
        },
        headers=HTML,
    )
    assert sent.status_code == 200
    assert client.get("/api/v1/worklist").json()["counts"]["referrals_sent"] == 1

    client.post("/logout", data={"csrf_token": token})
    spec_token = login(client, "specialist")
    inbox = client.get("/api/v1/referrals/inbox").json()
    assert [r["urgency"] for r in inbox] == ["urgent"]
    referral_id = inbox[0]["id"]
    returned = client.post(
        f"/api/v1/referrals/{referral_id}/return",
        json={"plan": "调整降压方案，2周后社区复查"},
        headers={"X-CSRF-Token": spec_token},
    )
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert client.get(f"/api/v1/residents/{rid}/chart").status_code == 200  # referred patient

    client.post("/logout", data={"csrf_token": spec_token})
    login(client)
    page = client.get("/", headers=HTML)
    assert "调整降压方案，2周后社区复查" in page.text and "已回转" in page.text
