"""Import the resident population (常住人口) by division, year, sex and age group.

An import is all or nothing: every row is checked first (``domain.census``; the division must
be a county-level division of the code table) and one bad row refuses the whole file with the
line numbers of every problem. The (division, year) pairs of the file replace what was stored
for them; other divisions and years stay as they were.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, tuple_

from manbing.db.models import CensusPopulation, Division
from manbing.domain.audit import AuditAction
from manbing.domain.census import CSV_COLUMNS, CensusRow, check_groups, parse_row
from manbing.domain.errors import DomainError, InvalidInput
from manbing.services import audit
from manbing.services.unit_of_work import UnitOfWork

MAX_REPORTED = 20


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str
    message_en: str


class CensusRejected(InvalidInput):
    """The file has bad rows; nothing was stored."""

    def __init__(self, errors: list[RowError]) -> None:
        shown = errors[:MAX_REPORTED]
        more = len(errors) - len(shown)
        zh = "；".join(f"第{e.line}行：{e.message}" for e in shown)
        en = "; ".join(f"line {e.line}: {e.message_en}" for e in shown)
        if more:
            zh += f"；另有 {more} 处错误"
            en += f"; and {more} more"
        super().__init__("census", f"常住人口文件有误，未导入任何数据：{zh}", en)
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Imported:
    rows: int
    divisions: int
    years: list[int]
    population: int


def parse_rows(
    lines: Iterable[tuple[int, Mapping[str, str | None]]], found: Iterable[RowError] = ()
) -> list[CensusRow]:
    """Parse numbered CSV rows; raise ``CensusRejected`` listing every bad line (with the
    errors ``found`` in the file already, e.g. by :func:`read_csv`)."""
    rows: list[CensusRow] = []
    errors = list(found)
    seen: dict[tuple[str, int, str, int], int] = {}
    for line, raw in lines:
        try:
            row = parse_row(raw)
        except DomainError as exc:
            errors.append(RowError(line, exc.message, exc.message_en))
            continue
        key = (row.division_code, row.year, row.sex.value, row.age_from)
        if key in seen:
            errors.append(
                RowError(
                    line,
                    f"与第{seen[key]}行重复（同一地区、年份、性别和起始年龄）",
                    f"repeats line {seen[key]} (same division, year, sex and age_from)",
                )
            )
            continue
        seen[key] = line
        rows.append(row)
    if not errors:
        try:
            check_groups(rows)
        except InvalidInput as exc:
            errors.append(RowError(0, exc.message, exc.message_en))
    if errors:
        raise CensusRejected(sorted(errors, key=lambda e: e.line))
    if not rows:
        raise InvalidInput("census", "文件中没有人口数据", "the file has no rows")
    return rows


def missing_header(header: Iterable[str] | None) -> list[str]:
    present = {h.strip() for h in header or []}
    return [c for c in CSV_COLUMNS if c not in present]


class UnreadableFile(InvalidInput):
    """The file as a whole cannot be read as a census CSV (encoding, header, CSV syntax)."""


def decode(data: bytes) -> str:
    """The text of a census file: UTF-8, with or without a byte-order mark."""
    if not data.strip():
        raise UnreadableFile("file", "文件为空", "the file is empty")
    if data.startswith(b"PK\x03\x04"):
        raise UnreadableFile(
            "file",
            "这是Excel工作簿（xlsx），不是CSV：请在Excel中另存为“CSV UTF-8（逗号分隔）”后再导入",
            "this is an Excel workbook (xlsx), not CSV: save it as \u201cCSV UTF-8\u201d first",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            "file",
            f"文件不是UTF-8编码（第{exc.start}字节；可能是GBK）："
            "请在Excel中另存为“CSV UTF-8（逗号分隔）”后再导入",
            f"not UTF-8 text (byte {exc.start}; GBK?): save it as \u201cCSV UTF-8\u201d first",
        ) from None


def read_csv(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[RowError]]:
    """Header (names stripped), the data rows with their line numbers, and rows of a wrong shape.

    A line number is the file's own (blank lines and line breaks inside quotes count). Rows
    whose cells are all blank (an emptied Excel row) are skipped like blank lines; a row with
    more cells than the header is an error, not read short (``3,000`` unquoted is two cells).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    shape: list[RowError] = []
    try:
        header = [name.strip() for name in next(reader, [])]
        repeated = sorted({n for n in header if n and header.count(n) > 1})
        if repeated:
            raise UnreadableFile(
                "header",
                f"表头中的列重复：{', '.join(repeated)}",
                f"repeated header columns: {', '.join(repeated)}",
            )
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                shape.append(
                    RowError(
                        line,
                        f"有 {len(cells)} 个值，表头只有 {len(header)} 列"
                        "（数字中的千位逗号须去掉或加引号）",
                        f"{len(cells)} cells but {len(header)} header columns"
                        " (a thousands separator must be removed or quoted)",
                    )
                )
                continue
            rows.append((line, dict(zip(header, cells, strict=False))))
    except csv.Error as exc:  # a cell over the csv module's field size limit (128 KiB)
        line = reader.line_num
        raise UnreadableFile(
            "file", f"第{line}行无法读取：{exc}", f"line {line}: cannot be read: {exc}"
        ) from None
    return header, rows, shape


def import_rows(
    uow: UnitOfWork, rows: list[CensusRow], *, source: str | None, now: datetime
) -> Imported:
    """Store parsed rows, replacing the stored figures of the same (division, year)."""
    with uow:
        s = uow.session
        codes = sorted({r.division_code for r in rows})
        known = set(s.scalars(select(Division.code).where(Division.code.in_(codes))))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise InvalidInput(
                "division_code",
                f"行政区划代码不在代码表中：{', '.join(unknown)}",
                f"division codes not in the code table: {', '.join(unknown)}",
            )
        pairs = sorted({(r.division_code, r.year) for r in rows})
        s.execute(
            delete(CensusPopulation).where(
                tuple_(CensusPopulation.division_code, CensusPopulation.year).in_(pairs)
            )
        )
        s.add_all(
            CensusPopulation(
                division_code=r.division_code,
                year=r.year,
                sex=r.sex.value,
                age_from=r.age_from,
                age_to=r.age_to,
                population=r.population,
                source=source,
                imported_at=now,
            )
            for r in rows
        )
        audit.record(
            s,
            None,
            AuditAction.CREATE,
            "census_population",
            at=now,
            detail={"rows": len(rows), "divisions": codes, "source": source},
        )
        uow.commit()
    return Imported(
        rows=len(rows),
        divisions=len(codes),
        years=sorted({r.year for r in rows}),
        population=sum(r.population for r in rows),
    )
