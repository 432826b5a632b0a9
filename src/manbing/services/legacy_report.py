"""The per-row result file of a legacy import (.xlsx or .csv), for the operator to open in Excel."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from manbing.domain.errors import InvalidInput
from manbing.services.legacy_import import Report

HEADER = ["行号 row", "结果 outcome", "结果说明", "健康档案编号 record number", "原因", "reason",
          "备注 note"]  # fmt: skip
FORMATS = ("xlsx", "csv")


def rows(report: Report) -> list[list[str | int]]:
    out: list[list[str | int]] = []
    for r in report.rows:
        out.append(
            [
                r.line,
                r.outcome.value,
                r.outcome.label_zh,
                r.record_number or "",
                "；".join(p.zh(r.line) for p in r.problems),
                "; ".join(p.en(r.line) for p in r.problems),
                r.note,
            ]
        )
    return out


def render(report: Report, fmt: str) -> bytes:
    """The report as an .xlsx workbook or a UTF-8 CSV with a byte-order mark (which Excel needs
    to read Chinese text)."""
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows(report))
        return ("\ufeff" + text.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("导入结果")
        sheet.append(HEADER)
        for row in rows(report):
            # a cell starting with "=" would be read by Excel as a formula
            sheet.append([f"'{v}" if isinstance(v, str) and v.startswith("=") else v for v in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    raise InvalidInput(
        "report", "结果文件须以 .xlsx 或 .csv 结尾", "the report file must end in .xlsx or .csv"
    )


def format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(
            "report", "结果文件须以 .xlsx 或 .csv 结尾", "the report file must end in .xlsx or .csv"
        )
    return fmt


def write(report: Report, path: Path) -> None:
    path.write_bytes(render(report, format_of(path)))
