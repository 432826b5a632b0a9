"""The issue's end-to-end scenario in Debian's Chromium (Playwright), with screenshots.

A doctor signs in, opens an overdue patient from the worklist, records a follow-up with SBP 185,
sees the urgent-referral prompt and refers; the hospital specialist signs in and returns the
patient with a plan; the doctor sees the returned referral on the worklist.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from manbing.config import Settings
from manbing.services.clock import FixedClock
from manbing.web.app import create_app
from tests.conftest import NOW
from tests.e2e.test_browser_login import browser  # noqa: F401  (the shared browser fixture)

pytestmark = pytest.mark.browser
PLAN = "氨氯地平加至10mg每日1次，2周后社区复查血压"


@pytest.fixture
def clinic_server(settings: Settings) -> Iterator[str]:
    """The app on loopback with the tests' fixed clock (the demo district is built for it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock=FixedClock(NOW)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "manbing-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _sign_out(page: Any) -> None:
    page.click(".who button.link")
    page.wait_for_url("**/login")


def _cjk_width(page: Any) -> float:
    width: float = page.evaluate(
        "() => { const s = document.createElement('span'); s.textContent = '慢病管理';"
        " document.body.appendChild(s); const w = s.getBoundingClientRect().width; s.remove();"
        " return w; }"
    )
    return width


def test_overdue_patient_urgent_referral_and_return_in_a_real_browser(
    browser: Any,  # noqa: F811
    clinic_server: str,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("MANBING_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    base = clinic_server

    _sign_in(page, base, "doctor")
    assert page.url == f"{base}/"
    assert page.locator("h1").first.inner_text().startswith("工作台")
    assert _cjk_width(page) > 40  # glyphs rendered by a CJK font, not boxes
    page.screenshot(path=str(shots / "worklist.png"), full_page=True)

    overdue = page.locator("table.due tr.overdue a.patient").first
    name = overdue.inner_text()
    overdue.click()
    page.wait_for_selector("body[data-charts-ready='1']")
    assert name in page.locator("h1").inner_text()
    assert page.locator("#bp-chart canvas").count() >= 1  # ECharts drew the BP trend
    page.screenshot(path=str(shots / "record.png"), full_page=True)

    page.click("a.button:has-text('新增随访')")
    page.wait_for_selector("form.followup")
    page_url_form = page.url.removeprefix(base)
    page.fill("input[name=sbp]", "185")
    page.fill("input[name=dbp]", "96")
    if page.locator("input[name=fasting_glucose]").count():
        page.fill("input[name=fasting_glucose]", "6.5")
    prompt = page.wait_for_selector(".preview .referral-prompt.urgent")
    assert "紧急转诊" in prompt.inner_text() and "收缩压≥180mmHg" in prompt.inner_text()
    page.screenshot(path=str(shots / "followup-form.png"), full_page=True)

    page.click("form.followup button[type=submit]")
    page.wait_for_selector("form.referral-form")
    assert "紧急转诊" in page.locator(".referral-prompt").inner_text()
    assert page.locator("select[name=urgency]").input_value() == "urgent"
    page.click("form.referral-form button[type=submit]")
    page.wait_for_selector("#referrals")
    assert "待接收" in page.locator("#referrals").inner_text()
    _sign_out(page)

    _sign_in(page, base, "specialist")
    assert page.url == f"{base}/referrals/inbox"
    row = page.locator("table.list tbody tr", has_text=name).first
    assert "紧急" in row.inner_text()
    page.screenshot(path=str(shots / "referral-inbox.png"), full_page=True)
    row.locator("a.button").click()
    page.fill("textarea[name=plan]", PLAN)
    page.click("form.return-form button[type=submit]")
    page.wait_for_url(f"{base}/referrals/inbox")
    _sign_out(page)

    _sign_in(page, base, "doctor")
    returned = page.locator("#referrals-returned")
    assert name in returned.inner_text() and PLAN in returned.inner_text()
    assert "已回转" in returned.inner_text()
    page.screenshot(path=str(shots / "worklist-returned.png"), full_page=True)
    page.close()

    # the same pages on a tablet held upright: nothing wider than the screen
    tablet = browser.new_page(viewport={"width": 768, "height": 1024}, locale="zh-CN")
    _sign_in(tablet, base, "doctor")
    for path, shot in (("/", "tablet-worklist.png"), (page_url_form, "tablet-followup-form.png")):
        tablet.goto(f"{base}{path}")
        tablet.wait_for_load_state("networkidle")
        overflow = tablet.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        tablet.screenshot(path=str(shots / shot), full_page=True)
        assert overflow <= 0, f"{path} is {overflow}px wider than a tablet"
    tablet.close()
