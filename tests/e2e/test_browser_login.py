"""Debian's Chromium, driven by Playwright: a doctor signs in and searches (Chinese rendered)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is required in CI (scripts/system-deps installs it)")
        pytest.skip("chromium is not installed (run scripts/system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


def test_a_doctor_signs_in_and_searches_in_a_real_browser(
    browser: object, live_server: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")  # type: ignore[attr-defined]
    page.goto(f"{live_server}/login")
    assert page.locator("h1").inner_text() == "登录"
    page.fill("input[name=username]", "doctor")
    page.fill("input[name=password]", "manbing-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    assert page.locator("h1").first.inner_text().startswith("工作台")  # the doctor's start page
    page.click("nav.main a[href='/residents']")
    assert "查找居民" in page.locator("h1").inner_text()
    page.fill("input[name=q]", "33010800100100001")
    page.click("form.search button")
    page.wait_for_selector("table.list tbody tr")
    assert "33010800100100001" in page.locator("table.list").inner_text()
    # Chinese glyphs are rendered with a CJK font, not as boxes: a run of 4 CJK characters is
    # wider than 2.5 ideographic spaces at the page's font size.
    width = page.evaluate(
        "() => { const s = document.createElement('span'); s.textContent = '慢病管理';"
        " document.body.appendChild(s); const w = s.getBoundingClientRect().width; s.remove(); return w; }"
    )
    assert width > 40
    shots = Path(os.environ.get("MANBING_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "home-search.png"), full_page=True)
    page.close()
