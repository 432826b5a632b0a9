"""``manbing warehouse extract`` then ``manbing indicators`` on the fixed district."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from manbing.analytics.store import STORE_FILE, current_store
from manbing.cli import analytics
from manbing.db.models import IndicatorResult
from tests.conftest import District
from tests.store_helpers import another_build, another_extract

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    analytics.register(application)
    return application


def test_extract_compute_store_and_print_a_region(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    common = ["--database-url", backend_url, "--warehouse", str(tmp_path / "wh")]
    extracted = runner.invoke(app, ["warehouse", "extract", *common])
    assert extracted.exit_code == 0, extracted.output
    assert "residents: 24 rows (full)" in extracted.output
    assert "DuckDB copy" in extracted.output
    shown = runner.invoke(
        app, ["indicators", "--period", "2026Q3", "--region", "330108", "--format", "json", *common]
    )
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)
    assert {r["unit_id"] for r in rows} == {"330108"}
    control = [
        r
        for r in rows
        if r["indicator"] == "htn_bp_control_rate" and r["sex"] == "*" and r["age_band"] == "*"
    ]
    assert len(control) == 1 and control[0]["denominator"] > 0
    with district.session_factory() as session:
        stored = session.scalar(
            select(func.count()).where(
                IndicatorResult.period == "2026Q3", IndicatorResult.unit_id == "330108"
            )
        )
        assert stored == len(rows)
    target = tmp_path / "out.xlsx"
    written = runner.invoke(
        app,
        ["indicators", "--period", "2026-07", "--region", "330108", "--format", "xlsx",
         "--output", str(target), "--no-store", *common],
    )  # fmt: skip
    assert written.exit_code == 0, written.output
    sheet = load_workbook(target).active
    assert sheet.title == "2026-07" and sheet.max_row > 10
    bad = runner.invoke(app, ["indicators", "--period", "2026Q9", *common])
    assert bad.exit_code != 0


def test_the_report_command_writes_a_pdf_within_the_users_scope(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    import unicodedata

    from pypdf import PdfReader

    from manbing.services.demo_accounts import create_demo_accounts
    from manbing.web.ui.pdf import CHROMIUM

    with district.session_factory() as session:
        create_demo_accounts(session)
        session.commit()
    common = ["--database-url", backend_url]
    wh = ["--warehouse", str(tmp_path / "wh")]
    assert runner.invoke(app, ["warehouse", "extract", *common, *wh]).exit_code == 0
    computed = runner.invoke(app, ["indicators", "--period", "2026Q3", *common, *wh])
    assert computed.exit_code == 0, computed.output
    report = ["indicators-report", "--period", "2026Q3", "--username", "manager", *common]
    # The centre manager may not report on the other centre's station or on the district.
    for unit in ("330108002-S01", "330108"):
        refused = runner.invoke(app, [*report, "--unit", unit, "--format", "html", "-o", "x.html"])
        assert refused.exit_code == 1 and "out of scope" in refused.output
    html = tmp_path / "centre.html"
    done = runner.invoke(
        app, [*report, "--unit", "330108001-CHC", "--format", "html", "-o", str(html)]
    )
    assert done.exit_code == 0, done.output
    assert "西兴街道社区卫生服务中心" in html.read_text() and "Asia/Shanghai" in html.read_text()
    missing = runner.invoke(
        app, [*report[:1], "--period", "2025Q1", *report[3:], "--unit", "330108001-CHC"]
    )
    assert missing.exit_code == 1 and "no stored results" in missing.output
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (run scripts/system-deps)")
    pdf = tmp_path / "centre.pdf"
    printed = runner.invoke(app, [*report, "--unit", "330108001-CHC", "-o", str(pdf)])
    assert printed.exit_code == 0, printed.output
    assert pdf.read_bytes().startswith(b"%PDF")
    pages = PdfReader(pdf).pages
    text = unicodedata.normalize("NFKC", "".join(p.extract_text() for p in pages))
    assert "西兴街道社区卫生服务中心" in text and "高血压患者规范管理率" in text


def test_store_rebuilds_the_duckdb_copy_of_a_warehouse_and_refuses_a_folder_that_is_not_one(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    directory = tmp_path / "wh"
    common = ["--database-url", backend_url, "--warehouse", str(directory)]
    assert runner.invoke(app, ["warehouse", "extract", *common]).exit_code == 0
    (directory / "warehouse.duckdb").unlink()
    rebuilt = runner.invoke(app, ["warehouse", "store", *common])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (directory / "warehouse.duckdb").exists()
    refused = runner.invoke(
        app, ["warehouse", "store", "--database-url", backend_url, "--warehouse", str(tmp_path)]
    )
    assert refused.exit_code == 2
    assert "不是完整的数据仓库" in refused.output


def test_a_second_build_of_the_copy_is_refused_while_one_runs(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    directory = tmp_path / "wh"
    common = ["--database-url", backend_url, "--warehouse", str(directory)]
    assert runner.invoke(app, ["warehouse", "extract", *common]).exit_code == 0
    copy = directory / STORE_FILE
    built = copy.stat().st_mtime_ns
    with another_build(directory, pid="5151"):
        refused = runner.invoke(app, ["warehouse", "store", *common])
        assert refused.exit_code == 1
        said = " ".join(refused.output.split())
        assert "另一个构建正在进行（进程 5151）" in said
        assert "another build is running (process 5151)" in said
        # An extract still extracts; only its copy is left to the running build.
        extracted = runner.invoke(app, ["warehouse", "extract", *common])
        assert extracted.exit_code == 0, extracted.output
        said = " ".join(extracted.output.split())
        assert "residents: 24 rows" in said and "another build is running (process 5151)" in said
        assert "DuckDB copy" not in extracted.output
        assert copy.stat().st_mtime_ns == built
    again = runner.invoke(app, ["warehouse", "store", *common])
    assert again.exit_code == 0, again.output
    assert current_store(directory) == copy


@pytest.mark.parametrize(
    "command", [["indicators", "--period", "2026Q3"], ["warehouse", "refresh"]]
)
def test_an_engine_that_does_not_read_the_warehouse_is_refused_as_an_option(
    app: typer.Typer, tmp_path: Path, command: list[str]
) -> None:
    refused = runner.invoke(
        app, [*command, "--engine", "postgres", "--warehouse", str(tmp_path), "--database-url",
              f"sqlite:///{tmp_path / 'none.db'}"],
    )  # fmt: skip
    assert refused.exit_code == 2  # a usage error, before anything is read or written
    assert "'duckdb', 'spark'" in refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)


def test_an_extract_while_another_runs_exits_1_and_says_so(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    directory = tmp_path / "wh"
    directory.mkdir()
    common = ["--database-url", backend_url, "--warehouse", str(directory)]
    with another_extract(directory, pid="7171"):
        refused = runner.invoke(app, ["warehouse", "extract", *common])
    assert refused.exit_code == 1
    said = " ".join(refused.output.split())
    assert "另一个抽取正在进行（进程 7171）" in said and "another extract is running" in said
    assert not (directory / "residents").exists()
    assert runner.invoke(app, ["warehouse", "extract", *common]).exit_code == 0
