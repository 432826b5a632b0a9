"""The patient app on a phone: sign in, record a reading, complete a lesson; the doctor sees both."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import User
from tests.e2e.test_browser_login import browser  # noqa: F401 - fixture

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _sign_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", "manbing-demo")  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_a_patient_records_a_reading_and_completes_a_lesson_on_a_phone_and_the_doctor_sees_them(
    browser: object,  # noqa: F811
    live_server: str,
    app_db: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    with app_db() as s:
        resident_id = s.scalars(select(User.resident_id).where(User.username == "patient")).one()
    # the doctor enrols the patient in hypertension self-management
    with httpx.Client(base_url=live_server) as doctor_api:
        csrf = doctor_api.post(
            "/api/v1/session", json={"username": "doctor", "password": "manbing-demo"}
        ).json()["csrf_token"]
        enrolled = doctor_api.post(
            f"/api/v1/residents/{resident_id}/dtx-enrolments",
            json={"programme": "hypertension"},
            headers={"X-CSRF-Token": csrf},
        )
        assert enrolled.status_code == 201, enrolled.text

    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, live_server, "patient")
    page.wait_for_url(f"{live_server}/me")
    assert page.locator("h1").inner_text() == "今日任务"
    assert "测血压" in page.locator("ul.tasks").inner_text()
    # nothing overflows the phone's width
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto(f"{live_server}/me/readings")
    page.fill("#bp-form input[name=sbp]", "146")
    page.fill("#bp-form input[name=dbp]", "92")
    page.click("#bp-form button[type=submit]")
    page.wait_for_url(f"{live_server}/me/readings?saved=1")
    assert "146/92" in page.locator("ul.recent").inner_text()
    assert page.locator("svg.chart polyline.sbp").count() == 1

    page.click(".me-tabs >> text=课程")
    page.wait_for_url(f"{live_server}/me/lessons")
    page.click("text=在家正确测血压")
    assert "安静休息5分钟" in page.locator("article").inner_text()
    page.click("article button[type=submit]")
    page.wait_for_url(f"{live_server}/me/lessons")
    done = page.locator("ul.tasks li.done")
    assert done.count() == 1 and "在家正确测血压" in done.inner_text()
    shots = Path(os.environ.get("MANBING_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "patient-app-phone.png"), full_page=True)
    context.close()

    doctor = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")  # type: ignore[attr-defined]
    page = doctor.new_page()
    _sign_in(page, live_server, "doctor")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/residents/{resident_id}/home")
    readings = page.locator("#home-readings").inner_text()
    assert "146/92" in readings and "手工录入" in readings
    assert page.locator("#adherence-measurements").inner_text().startswith("1/14")
    assert page.locator("#lessons-completed").inner_text() == "1/2"
    assert "146.0/92.0" in page.locator("#home-summary").inner_text()
    doctor.close()
