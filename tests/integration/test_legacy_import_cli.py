"""``manbing import residents|followups`` through typer's CliRunner, on both back-ends."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from manbing.cli import legacy_import
from tests.legacy_files import RESIDENT_HEADER, STATION, VISIT_HEADER, counts, csv_bytes, id_number

runner = CliRunner()
ZHANG = id_number(date(1956, 3, 14), 1)


def _app() -> typer.Typer:
    app = typer.Typer()
    legacy_import.register(app)
    return app


def _residents(tmp_path: Path) -> Path:
    path = tmp_path / "居民.csv"
    path.write_bytes(
        csv_bytes(
            [
                RESIDENT_HEADER,
                ["A0001", "张建国", "男", "1956-03-14", ZHANG, "", "", "", "是", "", ""],
                ["A0002", "李秀英", "女", "", "", "", "", "", "是", "", ""],  # no ID, no birth
            ],
            encoding="gbk",
        )
    )
    return path


def test_the_cli_imports_reports_rows_and_writes_a_result_file(
    district: Any, backend_url: str, tmp_path: Path
) -> None:
    app, path = _app(), _residents(tmp_path)
    base = ["import", "residents", str(path), "--org", STATION, "--database-url", backend_url]
    before = counts(district.session_factory)
    dry = runner.invoke(app, [*base, "--dry-run"])
    assert dry.exit_code == 1, dry.output  # a row was refused
    assert "dry run" in dry.output and "新建档案" in dry.output
    assert counts(district.session_factory) == before
    report = tmp_path / "result.xlsx"
    done = runner.invoke(app, [*base, "--source-system", "jbgw", "--report", str(report)])
    assert done.exit_code == 1, done.output
    assert "row 3, column '出生日期': birth date is required" in done.output
    assert "第3行“出生日期”列：无身份证号时必须填写出生日期" in done.output
    sheet = load_workbook(report).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:2] == (2, "created") and rows[2][:2] == (3, "error")
    assert counts(district.session_factory)["residents"] == before["residents"] + 1

    visits = tmp_path / "随访.csv"
    visits.write_bytes(
        csv_bytes(
            [
                VISIT_HEADER,
                ["", "A0001", "张建国", "2026-10-01", "门诊", "128", "76", "", "", "", "规律", ""],
            ],
            bom=True,
        )
    )
    result = tmp_path / "visits.csv"
    args = ["import", "followups", str(visits), "--org", STATION, "--source-system", "jbgw"]
    ok = runner.invoke(app, [*args, "--report", str(result), "--database-url", backend_url])
    assert ok.exit_code == 0, ok.output
    text = result.read_bytes().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1][:2] == ["2", "added"]


def test_the_cli_refuses_a_bad_file_or_option_whole_in_both_languages(
    district: Any, backend_url: str, tmp_path: Path
) -> None:
    app, path = _app(), _residents(tmp_path)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    cases = [
        ([str(bad), "--org", STATION], "cannot read the Excel workbook", "无法读取Excel工作簿"),
        ([str(path), "--org", "NOPE"], "no organisation with code 'NOPE'", "机构编码不存在"),
        ([str(path), "--org", STATION, "--report", "x.pdf"], ".xlsx or .csv", "结果文件"),
        ([str(path), "--org", STATION, "--source-system", "a b"], "source system", "来源系统"),
        ([str(tmp_path / "missing.csv"), "--org", STATION], "cannot read", "无法读取文件"),
    ]
    before = counts(district.session_factory)
    for args, en, zh in cases:
        done = runner.invoke(app, ["import", "residents", *args, "--database-url", backend_url])
        assert done.exit_code == 2, (args, done.output)
        assert en in done.output and zh in done.output, (args, done.output)
        assert isinstance(done.exception, SystemExit), done.exception
    assert counts(district.session_factory) == before
