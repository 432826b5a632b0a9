"""The printable national form: an A4 HTML page and a PDF with an embedded Chinese font."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from manbing.web.ui.pdf import CHROMIUM
from tests.e2e.conftest import login

HTML = {"accept": "text/html"}


def _saved_visit(client: TestClient) -> tuple[str, str]:
    token = login(client)
    rid = next(d for d in client.get("/api/v1/worklist").json()["due"] if d["days_overdue"] > 0)[
        "resident_id"
    ]
    saved = client.post(
        f"/residents/{rid}/follow-up",
        data={"csrf_token": token, "visit_date": "2026-11-24", "sbp": "146", "dbp": "88",
              "weight_kg": "70", "height_cm": "170", "med_name_0": "氨氯地平",
              "med_times_per_day_0": "1", "med_dose_0": "5", "med_dose_unit_0": "mg", "salt_intake": "medium",
              "symptoms": ["2"]},
        headers=HTML,
    )  # fmt: skip
    match = re.search(r'href="/residents/[^/]+/follow-ups/([^/]+)/print"', saved.text)
    assert match
    return str(rid), match.group(1)


def test_the_printable_form_holds_the_visit_in_chinese(client: TestClient) -> None:
    rid, fid = _saved_visit(client)
    page = client.get(f"/residents/{rid}/follow-ups/{fid}/print", headers=HTML)
    assert page.status_code == 200
    assert "高血压患者随访服务记录表" in page.text
    assert "146/88" in page.text and "头痛头晕" in page.text and "24.2" in page.text
    assert "氨氯地平 每日1次 每次5mg" in page.text and "随访分类</th><td>控制满意" in page.text


@pytest.mark.browser
def test_the_pdf_embeds_a_cjk_font(client: TestClient) -> None:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (run scripts/system-deps)")
    rid, fid = _saved_visit(client)
    pdf = client.get(f"/residents/{rid}/follow-ups/{fid}/form.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"NotoSansCJK" in pdf.content
