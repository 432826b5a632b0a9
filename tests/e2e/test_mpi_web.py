"""疑似重复档案: the centre manager's page of suspected duplicates, merge and 非重复 buttons."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.conftest import login
from tests.e2e.test_mpi_api import _typo_duplicate

HTML = {"accept": "text/html"}
HX = {**HTML, "hx-request": "true"}


def _form(page: str, action: str, pair: str) -> dict[str, str]:
    section = page[page.index(f'id="{pair}"') :]
    form = section[section.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))


def test_manager_merges_from_the_page(client: TestClient) -> None:
    keep, dup = _typo_duplicate(client)
    login(client, "manager")
    page = client.get("/mpi", headers=HTML)
    assert page.status_code == 200 and "疑似重复档案" in page.text
    assert 'href="/mpi"' in page.text  # in the navigation
    pair = next(
        p for p in re.findall(r'id="(pair-[0-9a-f-]+)"', page.text) if keep in p and dup in p
    )
    assert "出生日期和性别相同" in page.text and "非重复" in page.text
    form = _form(page.text, "/mpi/merge", pair)
    if form["survivor_id"] != keep:  # the first button keeps A; pick the one that keeps `keep`
        form = {**form, "survivor_id": keep, "duplicate_id": dup}
    merged = client.post("/mpi/merge", data=form, headers=HX)
    assert merged.status_code == 200 and "已合并" in merged.text
    assert f'id="{pair}"' in merged.text and f'href="/residents/{keep}"' in merged.text
    again = client.post("/mpi/merge", data=form, headers=HX)
    assert again.status_code == 409 and "已被合并" in again.text
    record = client.get(f"/residents/{dup}", headers=HTML)
    assert record.status_code == 200 and "该档案已合并到另一份档案" in record.text
    assert f'href="/residents/{keep}"' in record.text
    listed = client.get("/mpi", headers=HTML).text
    assert dup not in listed
    english = client.get("/mpi", params={"lang": "en"}, headers=HTML).text
    assert "Suspected duplicate records" in english


def test_not_duplicate_button_and_bad_posts(client: TestClient) -> None:
    keep, dup = _typo_duplicate(client)
    token = login(client, "manager")
    page = client.get("/mpi", headers=HTML).text
    pair = next(p for p in re.findall(r'id="(pair-[0-9a-f-]+)"', page) if keep in p and dup in p)
    form = _form(page, "/mpi/not-duplicate", pair)
    bad_csrf = client.post("/mpi/not-duplicate", data={**form, "csrf_token": "x"}, headers=HX)
    assert bad_csrf.status_code == 403
    bad_id = client.post("/mpi/not-duplicate", data={**form, "a_id": "nope"}, headers=HTML)
    assert bad_id.status_code == 422 and "档案编号格式不正确" in bad_id.text
    same = client.post("/mpi/merge", data={"csrf_token": token, "survivor_id": keep,
                                           "duplicate_id": keep}, headers=HX)  # fmt: skip
    assert same.status_code == 422 and "不能将档案合并到其自身" in same.text
    long_note = client.post("/mpi/not-duplicate", data={**form, "note": "长" * 201}, headers=HX)
    assert long_note.status_code == 422 and "200" in long_note.text
    decided = client.post("/mpi/not-duplicate", data={**form, "note": "双胞胎"}, headers=HX)
    assert decided.status_code == 200 and "两个不同的人" in decided.text
    assert pair not in client.get("/mpi", headers=HTML).text


def test_a_doctor_gets_a_clear_refusal(client: TestClient) -> None:
    login(client)
    page = client.get("/mpi", headers=HTML)
    assert page.status_code == 403 and "权限" in page.text
    assert 'href="/mpi"' not in client.get("/", headers=HTML).text
