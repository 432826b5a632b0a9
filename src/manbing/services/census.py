"""Import the resident population (常住人口) by division, year, sex and age group.

An import is all or nothing: every row is checked first (``domain.census``; the division must
be a county-level division of the code table) and one bad row refuses the whole file with the
line numbers of every problem. The (division, year) pairs of the file replace what was stored
for them; other divisions and years stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, tuple_

from manbing.db.models import CensusPopulation, Division
from manbing.domain.audit import AuditAction
from manbing.domain.census import CSV_COLUMNS, CensusRow, check_groups, parse_row
from manbing.domain.errors import DomainError, InvalidInput
from manbing.services import audit
from manbing.services.tabular import RowError
from manbing.services.unit_of_work import UnitOfWork

__all__ = [
    "CensusRejected",
    "Imported",
    "import_rows",
    "missing_header",
    "parse_rows",
]

MAX_REPORTED = 20


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
    errors ``found`` in the file already, e.g. by :func:`manbing.services.tabular.read_csv`)."""
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
