"""疑似重复档案 in Debian's Chromium: the manager merges a pair; htmx swaps the card in place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.test_browser_login import browser  # noqa: F401  (the shared Chromium fixture)
from tests.e2e.test_mpi_api import _typo_duplicate

pytestmark = pytest.mark.browser


@pytest.fixture
def pair(client: TestClient) -> Iterator[tuple[str, str]]:
    yield _typo_duplicate(client)


def test_manager_merges_in_a_real_browser(
    browser: object,  # noqa: F811
    live_server: str,
    pair: tuple[str, str],
) -> None:
    keep, dup = pair
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")  # type: ignore[attr-defined]
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "manbing-demo")
    page.click("button[type=submit]")
    page.click("nav.main a[href='/mpi']")
    assert page.locator("h1").first.inner_text().startswith("疑似重复档案")
    card = page.locator(f"section.mpi-pair[id*='{keep}'][id*='{dup}']")
    assert "出生日期和性别相同" in card.inner_text()
    page.once("dialog", lambda d: d.accept())
    # A is the record registered first (the existing one): keep it
    card.locator("form[action='/mpi/merge'] button").first.click()
    result = page.locator("section.mpi-result")
    result.wait_for()
    assert "已合并" in result.inner_text()
    assert page.url.endswith("/mpi")  # swapped in place, no navigation
    result.locator("a").click()
    page.wait_for_url(f"{live_server}/residents/{keep}")
    page.goto(f"{live_server}/residents/{dup}")
    assert "该档案已合并到另一份档案" in page.locator(".merged-note").inner_text()
    page.close()
