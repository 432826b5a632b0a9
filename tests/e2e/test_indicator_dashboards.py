"""Dashboards over stored results of the fixed district: scope by persona, drill-down, trends,
rankings, Excel export and the line lists behind the numbers."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from manbing.analytics import warehouse
from manbing.analytics.compute import compute
from manbing.analytics.engine import open_duckdb
from manbing.analytics.lists import from_warehouse
from manbing.analytics.periods import parse_period
from manbing.cli.analytics import rows_of
from manbing.config import Settings
from manbing.db.models import AuditEvent, Organization
from manbing.services import reports
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from manbing.web.app import create_app
from tests.conftest import NOW
from tests.e2e.conftest import login


@pytest.fixture
def indicator_client(
    settings: Settings, app_db: sessionmaker[Session], tmp_path: Path
) -> Iterator[TestClient]:
    with app_db() as session:
        warehouse.extract(session, tmp_path, now=NOW)
    wh = open_duckdb(tmp_path)
    rows = rows_of(compute(wh, parse_period("2026Q2")) + compute(wh, parse_period("2026Q3")))
    wh.close()
    reports.store(UnitOfWork(app_db), rows, engine="duckdb", now=NOW)
    app = create_app(settings, clock=FixedClock(NOW), line_lists=from_warehouse(tmp_path))
    with TestClient(app) as c:
        yield c


def _org_id(app_db: sessionmaker[Session], code: str) -> str:
    with app_db() as session:
        org = session.scalars(select(Organization).where(Organization.code == code)).one()
        return str(org.id)


def test_a_district_analyst_sees_the_district_with_centres_trends_and_ranking(
    indicator_client: TestClient,
) -> None:
    login(indicator_client, "cdc")
    page = indicator_client.get("/indicators")
    assert page.status_code == 200
    html = page.text
    assert "滨江区" in html and "2026Q3" in html
    assert "西兴街道社区卫生服务中心" in html and "长河街道社区卫生服务中心" in html
    assert "/static/vendor/echarts.min.js" in html and "2026Q2" in html
    assert "管理人群血压控制率" in html
    assert 'id="cohort-chart"' in html and "患者结局" in html
    assert indicator_client.get("/static/vendor/echarts.min.js").status_code == 200


def test_a_station_doctor_sees_only_their_station(
    indicator_client: TestClient, app_db: sessionmaker[Session]
) -> None:
    login(indicator_client, "doctor")
    page = indicator_client.get("/indicators?period=2026Q3")
    assert page.status_code == 200
    assert "西兴第1社区卫生服务站" in page.text
    other = _org_id(app_db, "330108002-S01")
    assert indicator_client.get(f"/indicators?kind=org&unit={other}").status_code == 404
    assert indicator_client.get("/indicators?kind=division&unit=330108").status_code == 404


def test_drill_down_from_centre_to_station_and_team(
    indicator_client: TestClient, app_db: sessionmaker[Session]
) -> None:
    login(indicator_client, "manager")
    centre = _org_id(app_db, "330108001-CHC")
    page = indicator_client.get(f"/indicators?kind=org&unit={centre}&period=2026Q3")
    assert page.status_code == 200
    station = _org_id(app_db, "330108001-S01")
    assert f"unit={station}" in page.text
    assert indicator_client.get(f"/indicators?kind=org&unit={station}").status_code == 200


def test_the_dashboard_exports_to_excel(indicator_client: TestClient) -> None:
    login(indicator_client, "cdc")
    response = indicator_client.get(
        "/indicators/export.xlsx?kind=division&unit=330108&period=2026Q3"
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["指标"]
    codes = [row[0].value for row in sheet.iter_rows(min_row=3)]
    assert "htn_bp_control_rate" in codes
    assert book["下级单位"].max_row == 3  # header + two centres


def test_line_lists_are_masked_for_analysts_and_plain_for_the_doctor(
    indicator_client: TestClient, app_db: sessionmaker[Session]
) -> None:
    login(indicator_client, "cdc")
    url = "/indicators/list?kind=division&unit=330108&period=2026Q3&indicator=htn_managed&which=num"
    analyst = indicator_client.get(url)
    assert analyst.status_code == 200
    assert "*" in analyst.text  # masked names and ID numbers
    managed = (
        reports.dashboard(
            UnitOfWork(app_db),
            _actor(app_db, "cdc"),
            "division",
            "330108",
            "2026Q3",
        )
        .numbers["htn_managed"]
        .numerator
    )
    assert analyst.text.count("<tr>") - 1 == managed
    with app_db() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "indicator_line_list")
        ).all()
        assert len(events) == 1 and events[0].detail["count"] == managed


def _actor(app_db: sessionmaker[Session], username: str):  # type: ignore[no-untyped-def]
    from manbing.db.models import User
    from manbing.services import auth

    with app_db() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return auth.actor_for(session, user)


def test_the_report_page_holds_the_numbers_the_time_and_the_quality_notes(
    indicator_client: TestClient,
) -> None:
    login(indicator_client, "cdc")
    page = indicator_client.get("/indicators?kind=division&unit=330108&period=2026Q3")
    assert "/indicators/report.pdf?kind=division&amp;unit=330108&amp;period=2026Q3" in page.text
    report = indicator_client.get("/indicators/report?kind=division&unit=330108&period=2026Q3")
    assert report.status_code == 200
    html = report.text
    assert "慢性病管理指标报告" in html and "滨江区" in html
    assert "2026Q3（2026-07-01 – 2026-09-30）" in html
    # Generated "now" (FixedClock 2026-11-24 02:00 UTC) is shown in Asia/Shanghai.
    assert "2026-11-24 10:00:00（Asia/Shanghai）" in html
    assert 'data-indicator="htn_bp_control_rate"' in html and "下级单位" in html
    assert "数据质量说明" in html and "疑似重复档案" in html
    assert "西兴街道社区卫生服务中心" in html and "2026Q2" in html  # drill-down, trend
    # No census was imported: the census-based rates are listed without a denominator.
    assert "居民电子健康档案建档率" in html.split("数据质量说明")[1]


@pytest.mark.browser
def test_the_pdf_report_is_a_pdf_with_the_unit_and_indicators_in_chinese(
    indicator_client: TestClient, app_db: sessionmaker[Session]
) -> None:
    from pypdf import PdfReader

    from manbing.web.ui.pdf import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (run scripts/system-deps)")
    login(indicator_client, "manager")
    centre = _org_id(app_db, "330108001-CHC")
    response = indicator_client.get(f"/indicators/report.pdf?kind=org&unit={centre}&period=2026Q3")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF")
    pdf = PdfReader(io.BytesIO(response.content))
    # Noto CJK's ToUnicode maps some glyphs to the Kangxi radicals (⽣ U+2F63 for 生): NFKC
    # folds them back to the unified ideographs.
    text = unicodedata.normalize("NFKC", "".join(page.extract_text() for page in pdf.pages))
    assert "西兴街道社区卫生服务中心" in text
    assert "管理人群血压控制率" in text and "慢性病管理指标报告" in text
    with app_db() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "indicator_report")
        ).all()
        assert [e.entity_id for e in events] == [f"org:{centre}"]


def test_the_report_of_another_organisation_is_not_found(
    indicator_client: TestClient, app_db: sessionmaker[Session]
) -> None:
    login(indicator_client, "doctor")
    other = _org_id(app_db, "330108002-S01")
    for path in ("/indicators/report", "/indicators/report.pdf"):
        assert indicator_client.get(f"{path}?kind=org&unit={other}").status_code == 404
        assert indicator_client.get(f"{path}?kind=division&unit=330108").status_code == 404
    login(indicator_client, "manager")  # the manager of centre 330108001
    assert indicator_client.get(f"/indicators/report.pdf?kind=org&unit={other}").status_code == 404
    with app_db() as session:
        assert not session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "indicator_report")
        ).all()


def test_census_denominators_have_no_line_list(indicator_client: TestClient) -> None:
    login(indicator_client, "cdc")
    q = "kind=division&unit=330108&period=2026Q3&indicator=ehr_coverage_rate"
    page = indicator_client.get("/indicators?kind=division&unit=330108&period=2026Q3")
    assert "indicator=ehr_coverage_rate&which=den" not in page.text
    assert "indicator=ehr_coverage_rate&which=num" in page.text
    assert "indicator=htn_managed&which=den" in page.text
    refused = indicator_client.get(
        f"/indicators/list?{q}&which=den", headers={"accept": "text/html"}
    )
    assert refused.status_code in (400, 422) and "人口普查" in refused.text
    records = indicator_client.get(f"/indicators/list?{q}&which=num")
    assert records.status_code == 200
