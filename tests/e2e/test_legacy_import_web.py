"""导入历史数据: the manager's upload page (dry run, confirm) and ``/api/v1/imports``."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from manbing.web.ui import legacy_import
from tests.e2e.conftest import login
from tests.legacy_files import RESIDENT_HEADER, counts, csv_bytes, id_number, xlsx_bytes

HTML = {"accept": "text/html"}
HX = {**HTML, "hx-request": "true"}
ZHANG = id_number(date(1956, 3, 14), 1)
ROWS = [
    RESIDENT_HEADER,
    ["W0001", "张建国", "男", "", ZHANG, "", "", "", "是", "", ""],
    ["W0002", "钱五", "男", "", "", "", "", "", "是", "", ""],  # no ID, no birth date
]


def _post(client: TestClient, url: str, token: str, data: bytes, **fields: str) -> httpx.Response:
    files = {"file": ("居民.csv", data, "text/csv")}
    response: httpx.Response = client.post(
        url, data={"csrf_token": token, "kind": "residents", **fields}, files=files, headers=HX
    )
    return response


def test_the_manager_dry_runs_then_confirms_an_import(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    token = login(client, "manager")
    page = client.get("/import", headers=HTML)
    assert page.status_code == 200 and "导入历史数据" in page.text and 'href="/import"' in page.text
    data = csv_bytes(ROWS, encoding="gbk")
    before = counts(app_db)
    dry = _post(client, "/import/preview", token, data)
    assert dry.status_code == 200, dry.text
    text = dry.text
    assert "试运行结果" in text and "新建档案" in text and "第3行“出生日期”列" in text
    assert counts(app_db) == before
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', text)
    assert digest is not None
    changed = _post(client, "/import/run", token, data + b"\r\n,,", digest=digest[1])
    assert changed.status_code == 409 and "重新试运行" in changed.text
    done = _post(client, "/import/run", token, data, digest=digest[1])
    assert done.status_code == 200 and "已导入" in done.text
    assert counts(app_db)["residents"] == before["residents"] + 1
    english = client.post("/import/preview", data={"csrf_token": token, "kind": "residents"},
                          files={"file": ("x.xlsx", xlsx_bytes(ROWS), "application/octet-stream")},
                          headers={**HX, "accept-language": "en"})  # fmt: skip
    assert english.status_code == 200 and "Matched an existing record" in english.text


def test_bad_uploads_and_users_who_may_not_import(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    token = login(client, "manager")
    before = counts(app_db)
    broken = _post(client, "/import/preview", token, b"PK\x03\x04\x00\x00broken")
    assert broken.status_code == 422 and "无法读取Excel工作簿" in broken.text
    no_file = client.post("/import/preview", data={"csrf_token": token, "kind": "residents"},
                          headers=HX)  # fmt: skip
    assert no_file.status_code == 422 and "请选择要导入的文件" in no_file.text
    bad_csrf = _post(client, "/import/preview", "x", csv_bytes(ROWS))
    assert bad_csrf.status_code == 403
    other_org = _post(client, "/import/preview", token, csv_bytes(ROWS), org="330108-H01")
    assert other_org.status_code == 404
    nul = _post(client, "/import/preview", token, csv_bytes(ROWS), source_system="a\x00b")
    assert nul.status_code == 422
    assert counts(app_db) == before
    doctor = login(client, "doctor")
    refused = _post(client, "/import/preview", doctor, csv_bytes(ROWS))
    assert refused.status_code == 403 and "中心管理者" in refused.text
    after = counts(app_db)
    assert after["residents"] == before["residents"] and after["users"] == before["users"]


def test_the_json_api_dry_runs_and_confirms(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    token = login(client, "manager")
    headers = {"x-csrf-token": token, "content-type": "application/octet-stream"}
    data = xlsx_bytes(ROWS)
    before = counts(app_db)
    dry = client.post("/api/v1/imports/residents", content=data, headers=headers)
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dry_run"] and body["counts"] == {"created": 1, "error": 1}
    assert body["rows"][1]["row"] == 3 and body["rows"][1]["problems"][0]["column"] == "出生日期"
    assert counts(app_db) == before
    done = client.post("/api/v1/imports/residents", params={"confirm": body["digest"]},
                       content=data, headers=headers)  # fmt: skip
    assert done.status_code == 200 and not done.json()["dry_run"]
    assert counts(app_db)["residents"] == before["residents"] + 1
    bad = client.post("/api/v1/imports/followups", content=b"", headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["message_en"] == "the file is empty"
    no_csrf = client.post("/api/v1/imports/residents", content=data)
    assert no_csrf.status_code == 403


def _sheet(response: httpx.Response) -> list[tuple[object, ...]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_the_manager_downloads_the_result_of_every_row(
    client: TestClient, app_db: sessionmaker[Session]
) -> None:
    token = login(client, "manager")
    data = csv_bytes(ROWS, encoding="gbk")
    dry = _post(client, "/import/preview", token, data)
    assert dry.status_code == 200 and 'href="/import/report.xlsx"' in dry.text
    assert "下载每行的导入结果" in dry.text
    before = counts(app_db)
    got = client.get("/import/report.xlsx")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''%E8%AF%95%E8%BF%90%E8%A1%8C" in got.headers["content-disposition"]
    rows = _sheet(got)
    assert rows[0][0] == "行号 row" and [r[:2] for r in rows[1:]] == [(2, "created"), (3, "error")]
    assert "第3行“出生日期”列" in str(rows[2][4])
    assert counts(app_db) == before  # the download ran nothing
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', dry.text)
    assert digest is not None
    done = _post(client, "/import/run", token, data, digest=digest[1])
    assert done.status_code == 200 and 'href="/import/report.xlsx"' in done.text
    imported = client.get("/import/report.xlsx", headers={"accept-language": "en"})
    assert 'filename="import-result.xlsx"' in imported.headers["content-disposition"]
    assert [r[:2] for r in _sheet(imported)[1:]] == [(2, "created"), (3, "error")]
    assert counts(app_db)["residents"] == before["residents"] + 1
    # another user gets only their own result: the doctor has none
    login(client, "doctor")
    other = client.get("/import/report.xlsx", headers=HTML)
    assert other.status_code == 404 and "没有可下载的导入结果" in other.text
    client.cookies.clear()
    anonymous = client.get("/import/report.xlsx", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"


def test_only_the_last_results_of_a_few_users_are_kept() -> None:
    kept = legacy_import._LastReports()
    users = [uuid.uuid4() for _ in range(legacy_import.KEPT_REPORTS + 1)]
    for n, user in enumerate(users):
        kept.put(user, True, b"old")
        kept.put(user, False, str(n).encode())
    assert kept.get(users[0]) is None
    assert kept.get(users[1]) == (False, b"1") and kept.get(users[-1]) == (False, b"16")
