"""``manbing census import``: the resident population the coverage rates divide by."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def _import(app: typer.Typer, path: Path, backend_url: str) -> Any:
    return runner.invoke(app, ["census", "import", str(path), "--database-url", backend_url])


def test_a_file_that_is_not_utf8_text_is_refused_saying_how_to_save_it(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    census = tmp_path / "c.csv"
    for data, hint in (
        ((HEADER + "330108,2026,男,0,,3000\n").encode("gbk"), "CSV UTF-8"),  # Excel's "CSV"
        (b"PK\x03\x04" + bytes(range(256)) * 4, "xlsx"),  # a workbook renamed .csv
        ((HEADER + "330108,2026,M,0,,3000\n").encode("utf-16"), "CSV UTF-8"),
    ):
        census.write_bytes(data)
        refused = _import(app, census, backend_url)
        assert refused.exit_code == 2, refused.output
        assert hint in refused.output and "UTF-8" in refused.output
        assert "另存为" in refused.output  # the Chinese half says the same
    census.write_bytes(b"")
    empty = _import(app, census, backend_url)
    assert empty.exit_code == 2 and "empty" in empty.output and "文件为空" in empty.output
    assert _stored(district) == []


def test_an_oversized_cell_is_refused_naming_its_line_instead_of_a_traceback(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    census = tmp_path / "c.csv"
    census.write_text(GOOD + "330108,2027,M,0,," + "9" * 200_000 + "\n", encoding="utf-8")
    refused = _import(app, census, backend_url)
    assert refused.exit_code == 2 and not isinstance(refused.exception, Exception | None)
    assert "line 6" in refused.output and "第6行" in refused.output
    assert _stored(district) == []


def test_rows_are_named_by_their_line_in_the_file(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    """Blank lines and a quoted line break used to shift every later line number."""
    census = tmp_path / "c.csv"
    census.write_text(
        HEADER
        + "\n"  # line 2: blank
        + '330108,2026,M,0,17,"3000"\n'  # line 3
        + ",,,,,\n"  # line 4: an emptied Excel row, skipped like a blank line
        + '330108,2026,F,0,17,"28\n00"\n'  # lines 5-6: a line break inside quotes
        + "330108,2026,X,18,,9000\n",  # line 7: bad sex
        encoding="utf-8",
    )
    refused = _import(app, census, backend_url)
    assert refused.exit_code == 1
    assert "line 6: population" in refused.output and "line 7: sex" in refused.output
    assert "line 4" not in refused.output
    assert _stored(district) == []


def test_a_row_with_more_cells_than_the_header_is_refused_not_read_short(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    """An unquoted thousands separator: 3,000 was stored as a population of 3."""
    census = tmp_path / "c.csv"
    census.write_text(HEADER + "330108,2026,M,0,,3,000\n330108,2026,F,0,,2800\n", "utf-8")
    refused = _import(app, census, backend_url)
    assert refused.exit_code == 1, refused.output
    assert "line 2: 7 cells" in refused.output and "第2行" in refused.output
    assert _stored(district) == []


def test_header_names_are_read_without_surrounding_spaces_and_must_not_repeat(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    census = tmp_path / "c.csv"
    census.write_text(
        "division_code, year , sex,age_from,age_to,population\n330108,2026,M,0,,3000\n", "utf-8"
    )
    done = _import(app, census, backend_url)
    assert done.exit_code == 0, done.output  # was: every row refused, "year must be an integer"
    assert _stored(district) == [("330108", 2026, "M", 0, None, 3000)]
    census.write_text(HEADER.strip() + ",population\n330108,2026,M,0,,3000,9\n", "utf-8")
    repeated = _import(app, census, backend_url)
    assert repeated.exit_code == 2 and "population" in repeated.output
    assert "表头" in repeated.output
    assert _stored(district) == [("330108", 2026, "M", 0, None, 3000)]


def test_underscores_are_refused_and_full_width_digits_are_read(
    app: typer.Typer, district: District, backend_url: str, tmp_path: Path
) -> None:
    """int() read "3_000" as 3000 and any script's digits; only full-width ones are meant."""
    census = tmp_path / "c.csv"
    census.write_text(HEADER + "330108,2026,M,0,,3_000\n330108,2026,F,0,,٢٨٠٠\n", "utf-8")
    refused = _import(app, census, backend_url)
    assert refused.exit_code == 1, refused.output
    assert "line 2: population must be an integer" in refused.output
    assert "line 3: population must be an integer" in refused.output
    assert "第2行" in refused.output and _stored(district) == []
    census.write_text(HEADER + "３３０１０８,２０２６,M,0,,３０００\n", "utf-8")
    done = _import(app, census, backend_url)
    assert done.exit_code == 0, done.output
    assert _stored(district) == [("330108", 2026, "M", 0, None, 3000)]
