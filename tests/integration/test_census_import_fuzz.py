"""Generated census files through ``manbing census import``, on both back-ends.

Each example starts from a valid file (one division, one year, both sexes, non-overlapping age
groups) and changes it one way: a change a spreadsheet makes without changing the data (BOM,
CRLF, blank or emptied rows, column order, an extra column, spaces, quotes, 男/女) must import
the same rows; a bad cell, row or file (Excel error values, formulas, dates as numbers, numbers
as text, huge or control characters, an unquoted thousands separator, a repeated or overlapping
row, GBK or UTF-16 text, a workbook, random bytes, a missing or repeated column, an oversized
cell) must be refused whole (the import is all-or-nothing), naming the line of a bad row in
English and Chinese, with the stored figures exactly as before. Never a traceback.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from manbing.cli import analytics
from manbing.db.models import CensusPopulation
from manbing.domain.census import CSV_COLUMNS
from tests.device_fuzz import EXAMPLES

runner = CliRunner()
Stored = tuple[str, int, str, int, int | None, int]


@dataclass
class Case:
    name: str
    header: list[str]
    rows: list[dict[str, str]]
    outcome: str  # "accept", "row" (refused naming bad_line), "file" (exit 2), "refuse" (exit 1)
    bad_row: int | None = None  # index into rows
    extra_cells: dict[int, list[str]] = field(default_factory=dict)
    blank_before: dict[int, str] = field(default_factory=dict)  # row index -> blank line text
    quote_all: bool = False
    crlf: bool = False
    bom: bool = False
    encoding: str = "utf-8"
    raw: bytes | None = None  # the file's bytes, when not rendered from the rows
    expect: str | None = None  # a text the output must hold

    def render(self) -> tuple[bytes, dict[int, int]]:
        """The file's bytes and the line number of each row."""
        if self.raw is not None:
            return self.raw, {}
        quoting = csv.QUOTE_ALL if self.quote_all else csv.QUOTE_MINIMAL

        def line_of(cells: list[str]) -> str:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n", quoting=quoting).writerow(cells)
            return out.getvalue()

        text = line_of(self.header)
        lines: dict[int, int] = {}
        for i, row in enumerate(self.rows):
            if i in self.blank_before:
                text += self.blank_before[i] + "\n"
            text += line_of([row.get(h, "") for h in self.header] + self.extra_cells.get(i, []))
            lines[i] = text.count("\n")  # the row's last line (a quoted cell may break lines)
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return ("\ufeff" if self.bom else "").encode() + text.encode(self.encoding), lines


@st.composite
def valid_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    year = draw(st.integers(2019, 2030))
    cuts = sorted(draw(st.sets(st.integers(1, 99), min_size=0, max_size=4)))
    starts = [0, *cuts]
    rows = []
    for sex in draw(st.sampled_from([("M", "F"), ("男", "女"), ("F",)])):
        for n, start in enumerate(starts):
            end = str(starts[n + 1] - 1) if n + 1 < len(starts) else ""
            population = draw(st.integers(0, 10**6))
            rows.append(
                {"division_code": "330108", "year": str(year), "sex": sex,
                 "age_from": str(start), "age_to": end, "population": str(population)}
            )  # fmt: skip
    return rows


BAD_CELLS: dict[str, list[str]] = {
    "population": ["#N/A", "#VALUE!", "=SUM(F2:F3)", "", "3000.0", "3,000", "-5", "1e3", "abc",
                   "30\x0000", "9" * 5000, "10000000000", "NaN", "45000.5", "∞"],
    "year": ["46023", "2026-01-01", "2026年", "", "1900", "#REF!", "2026.0"],
    "division_code": ["3301", "330108.0", "", "330100", "33010８x", "=A1", "\x07"],
    "age_from": ["-1", "131", "x", "", "0.5"],
    "sex": ["X", "", "1", "male", "#N/A"],
}  # fmt: skip


@st.composite
def cases(draw: st.DrawFn) -> Case:
    rows = draw(valid_rows())
    header = list(CSV_COLUMNS)
    pick = st.integers(0, len(rows) - 1)
    kind = draw(
        st.sampled_from(["neutral", "bad cell", "extra cells", "repeat", "overlap", "file"])
    )
    if kind == "neutral":
        case = Case("neutral", header, rows, "accept")
        case.bom, case.crlf = draw(st.booleans()), draw(st.booleans())
        case.quote_all = draw(st.booleans())
        if draw(st.booleans()):
            case.header = draw(st.permutations(header))
        if draw(st.booleans()):
            case.header = [*case.header, "备注"]
            for row in rows:
                row["备注"] = draw(st.sampled_from(["", "x", "第七次人口普查", "=A1", "#N/A"]))
        blanks = draw(st.dictionaries(pick, st.sampled_from(["", ",,,,,", " , ,,,,"])))
        case.blank_before = blanks
        if draw(st.booleans()):
            row = rows[draw(pick)]
            row["population"] = f" {row['population']} "
        return case
    if kind == "bad cell":
        i = draw(pick)
        column = draw(st.sampled_from(sorted(BAD_CELLS)))
        rows[i][column] = draw(st.sampled_from(BAD_CELLS[column]))
        return Case(f"{column}={rows[i][column]!r:.30}", header, rows, "row", bad_row=i)
    if kind == "extra cells":
        i = draw(pick)
        population = rows[i]["population"]
        rows[i]["population"], thousands = population[:-3] or "0", population[-3:] or "000"
        case = Case("unquoted thousands", header, rows, "row", bad_row=i)
        case.extra_cells = {i: [thousands]}
        return case
    wide = [i for i, r in enumerate(rows) if r["age_to"] and int(r["age_to"]) > int(r["age_from"])]
    if kind == "overlap" and wide:
        i = draw(st.sampled_from(wide))
        start = str(int(rows[i]["age_from"]) + 1)  # inside row i's group, open-ended
        rows.append({**rows[i], "age_from": start, "age_to": "", "population": "1"})
        return Case("overlapping group", header, rows, "refuse", expect="overlaps")
    if kind in ("repeat", "overlap"):
        i = draw(pick)
        rows.append({**rows[i], "population": draw(st.sampled_from([rows[i]["population"], "1"]))})
        return Case("repeated row", header, rows, "row", bad_row=len(rows) - 1)
    what = draw(
        st.sampled_from(["gbk", "utf-16", "xlsx", "random", "missing column", "repeated column",
                         "huge cell", "empty", "header only", "unknown division"])
    )  # fmt: skip
    case = Case(what, header, rows, "file")
    if what == "gbk":
        for row in rows:
            row["sex"] = {"M": "男", "F": "女"}.get(row["sex"], row["sex"])
        rows[0]["sex"] = "男"  # 女 alone (C5 AE) happens to be valid UTF-8 too
        case.encoding, case.expect = "gbk", "UTF-8"
    elif what == "utf-16":
        case.encoding, case.expect = "utf-16", "UTF-8"
    elif what == "xlsx":
        case.raw, case.expect = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), "xlsx"
    elif what == "random":
        case.raw = draw(st.binary(max_size=300))
    elif what == "missing column":
        gone = draw(st.sampled_from(header))
        case.header = [h for h in header if h != gone]
        case.expect = "missing columns"
    elif what == "repeated column":
        case.header = [*header, draw(st.sampled_from(header))]
        case.expect = "repeated header"
    elif what == "huge cell":
        rows[draw(pick)]["population"] = "9" * draw(st.integers(131_073, 300_000))
        case.expect = "cannot be read"
    elif what == "empty":
        case.raw, case.expect = draw(st.sampled_from([b"", b"\n", b"  \r\n"])), "empty"
    elif what == "header only":
        case.rows, case.outcome, case.expect = [], "refuse", "no rows"
    else:
        for row in rows:
            row["division_code"] = "110101"
        case.outcome, case.expect = "refuse", "not in the code table: 110101"
    return case


def _stored(factory: Any) -> set[Stored]:
    with factory() as s:
        return {
            (r.division_code, r.year, r.sex, r.age_from, r.age_to, r.population)
            for r in s.scalars(select(CensusPopulation))
        }


def _as_stored(row: dict[str, str]) -> Stored:
    sex = {"男": "M", "女": "F"}.get(row["sex"].strip(), row["sex"].strip())
    age_to = row["age_to"].strip()
    return (row["division_code"], int(row["year"]), sex, int(row["age_from"]),
            int(age_to) if age_to else None, int(row["population"].strip()))  # fmt: skip


def test_no_generated_census_file_breaks_the_import_or_stores_part_of_itself(
    district: Any, backend_url: str, tmp_path: Path
) -> None:
    app = typer.Typer()
    analytics.register(app)
    path = tmp_path / "census.csv"

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases())
    def run(case: Case) -> None:
        data, lines = case.render()
        path.write_bytes(data)
        before = _stored(district.session_factory)
        done = runner.invoke(app, ["census", "import", str(path), "--database-url", backend_url])
        assert isinstance(done.exception, SystemExit | None), (case.name, done.exception)
        after = _stored(district.session_factory)
        if case.outcome == "accept":
            assert done.exit_code == 0, (case.name, done.output)
            rows = {_as_stored(r) for r in case.rows}
            pairs = {(r[0], r[1]) for r in rows}
            assert after == {r for r in before if (r[0], r[1]) not in pairs} | rows
            return
        assert after == before, case.name  # all or nothing: a refused file stores nothing
        assert done.exit_code == (2 if case.outcome == "file" else 1), (case.name, done.output)
        assert done.output.strip(), case.name
        if case.outcome == "row":
            line = lines[case.bad_row] if case.bad_row is not None else None
            assert f"line {line}:" in done.output and f"第{line}行" in done.output, (
                case.name,
                done.output,
            )
            assert "未导入任何数据" in done.output
        if case.expect is not None:
            assert case.expect in done.output, (case.name, done.output)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in done.output), done.output  # zh too

    run()
