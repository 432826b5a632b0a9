"""``manbing warehouse extract`` then ``manbing indicators`` on the fixed district."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from manbing.cli import analytics
from manbing.db.models import IndicatorResult
from tests.conftest import District

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
