"""``manbing census import``: the resident population the coverage rates divide by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from manbing.cli import analytics
from manbing.db.models import CensusPopulation
from tests.conftest import District

runner = CliRunner()
HEADER = "division_code,year,sex,age_from,age_to,population\n"
GOOD = (
    HEADER
    + "330108,2026,M,0,17,3000\n330108,2026,M,18,,9000\n"
    + "330108,2026,女,0,17,2800\n330108,2026,女,18,,9200\n"
)


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    analytics.register(application)
    return application


def _stored(district: District) -> list[tuple[str, int, str, int, int | None, int]]:
    with district.session_factory() as s:
        return [
            (r.division_code, r.year, r.sex, r.age_from, r.age_to, r.population)
            for r in s.scalars(
                select(CensusPopulation).order_by(
                    CensusPopulation.year, CensusPopulation.sex, CensusPopulation.age_from
                )
            )
        ]


def test_a_census_file_is_imported_and_divides_the_record_coverage(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    census = tmp_path / "census.csv"
    census.write_text(GOOD, encoding="utf-8")
    done = runner.invoke(
        app, ["census", "import", str(census), "--source", "测试", "--database-url", backend_url]
    )
    assert done.exit_code == 0, done.output
    assert "imported 4 rows: 1 divisions, years 2026, population 24000" in done.output
    assert _stored(district)[:2] == [
        ("330108", 2026, "F", 0, 17, 2800),
        ("330108", 2026, "F", 18, None, 9200),
    ]
    # Importing the same division and year again replaces its figures.
    census.write_text(HEADER + "330108,2026,M,0,,100\n330108,2026,F,0,,200\n", encoding="utf-8")
    again = runner.invoke(app, ["census", "import", str(census), "--database-url", backend_url])
    assert again.exit_code == 0, again.output
    assert _stored(district) == [
        ("330108", 2026, "F", 0, None, 200),
        ("330108", 2026, "M", 0, None, 100),
    ]
    common = ["--database-url", backend_url, "--warehouse", str(tmp_path / "wh")]
    assert runner.invoke(app, ["warehouse", "extract", *common]).exit_code == 0
    shown = runner.invoke(
        app,
        ["indicators", "--period", "2026Q3", "--region", "330108", "--format", "json",
         "--indicator", "ehr_coverage_rate", "--no-store", *common],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    total = [r for r in json.loads(shown.stdout) if r["sex"] == "*" and r["age_band"] == "*"]
    assert [r["denominator"] for r in total] == [300]
    assert total[0]["numerator"] > 0


def test_a_file_with_bad_rows_is_refused_whole_with_each_line_named(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    census = tmp_path / "bad.csv"
    census.write_text(
        HEADER
        + "330108,2026,M,0,17,3000\n"  # line 2: fine
        + "3301,2026,M,18,,9000\n"  # line 3: not a county code
        + "330108,2026,X,0,17,1\n"  # line 4: sex
        + "330108,2026,F,30,20,1\n"  # line 5: age_to below age_from
        + "330108,2026,F,0,17,-5\n"  # line 6: negative population
        + "330108,2026,M,0,17,3000\n",  # line 7: repeats line 2
        encoding="utf-8",
    )
    refused = runner.invoke(app, ["census", "import", str(census), "--database-url", backend_url])
    assert refused.exit_code == 1
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}:" in refused.output
    assert "第3行" in refused.output and "未导入任何数据" in refused.output
    assert "line 2:" not in refused.output
    assert _stored(district) == []


def test_overlaps_unknown_divisions_and_missing_columns_are_refused(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    census = tmp_path / "c.csv"
    census.write_text(HEADER + "330108,2026,M,0,19,1\n330108,2026,M,18,,2\n", encoding="utf-8")
    overlap = runner.invoke(app, ["census", "import", str(census), "--database-url", backend_url])
    assert overlap.exit_code == 1 and "overlaps" in overlap.output
    census.write_text(HEADER + "110101,2026,M,0,,1\n", encoding="utf-8")
    unknown = runner.invoke(app, ["census", "import", str(census), "--database-url", backend_url])
    assert unknown.exit_code == 1 and "not in the code table: 110101" in unknown.output
    census.write_text("division_code,year,population\n330108,2026,1\n", encoding="utf-8")
    columns = runner.invoke(app, ["census", "import", str(census), "--database-url", backend_url])
    assert columns.exit_code == 2 and "missing columns sex, age_from, age_to" in columns.output
    with district.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CensusPopulation)) == 0
