"""Reading spreadsheet-like files (CSV text and .xlsx workbooks) into numbered rows.

Shared by the census import (UTF-8 CSV only, all or nothing) and the legacy resident and
follow-up import (CSV in UTF-8 or GBK/GB18030, or the first sheet of an .xlsx workbook). A row
number is the one the operator sees: the CSV's line number (blank lines and line breaks inside
quotes count) or the worksheet's row number; the header is row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from manbing.domain.errors import InvalidInput

XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003) and encrypted .xlsx
CSV_UTF8_HINT = "请在Excel中另存为“CSV UTF-8（逗号分隔）”后再导入"
CSV_UTF8_HINT_EN = "save it as \u201cCSV UTF-8\u201d first"


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str
    message_en: str


class UnreadableFile(InvalidInput):
    """The file as a whole cannot be read (type, encoding, header, syntax, size)."""


def refuse_empty_or_binary(data: bytes, *, workbook_ok: bool) -> None:
    """Refuse an empty file, an .xls / encrypted workbook and (unless ``workbook_ok``) an .xlsx."""
    if not data.strip():
        raise UnreadableFile("file", "文件为空", "the file is empty")
    if data.startswith(OLE2_MAGIC):
        raise UnreadableFile(
            "file",
            "这是旧版Excel（xls）或加密的工作簿：请去掉密码并另存为xlsx或CSV后再导入",
            "this is an old Excel (.xls) or a password-protected workbook: remove the password"
            " and save it as .xlsx or CSV first",
        )
    if data.startswith(XLSX_MAGIC) and not workbook_ok:
        raise UnreadableFile(
            "file",
            f"这是Excel工作簿（xlsx），不是CSV：{CSV_UTF8_HINT}",
            f"this is an Excel workbook (xlsx), not CSV: {CSV_UTF8_HINT_EN}",
        )


def decode(data: bytes, *, gb18030: bool = False) -> str:
    """The text of a CSV file: UTF-8 with or without a byte-order mark; with ``gb18030`` also
    UTF-16 with a byte-order mark and GBK/GB18030 (the usual export of older Chinese systems)."""
    refuse_empty_or_binary(data, workbook_ok=False)
    if gb18030 and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if gb18030:
            try:
                return data.decode("gb18030")
            except UnicodeDecodeError:
                pass
            raise UnreadableFile(
                "file",
                f"文件既不是UTF-8也不是GBK编码的文本（第{exc.start}字节）：{CSV_UTF8_HINT}",
                f"neither UTF-8 nor GBK text (byte {exc.start}): {CSV_UTF8_HINT_EN}",
            ) from None
        raise UnreadableFile(
            "file",
            f"文件不是UTF-8编码（第{exc.start}字节；可能是GBK）：{CSV_UTF8_HINT}",
            f"not UTF-8 text (byte {exc.start}; GBK?): {CSV_UTF8_HINT_EN}",
        ) from None


def refuse_repeated(header: list[str]) -> None:
    repeated = sorted({n for n in header if n and header.count(n) > 1})
    if repeated:
        raise UnreadableFile(
            "header",
            f"表头中的列重复：{', '.join(repeated)}",
            f"repeated header columns: {', '.join(repeated)}",
        )


def csv_lines(text: str) -> Iterable[tuple[int, list[str]]]:
    """Each CSV record with the file's line number of its last line; raises ``UnreadableFile``
    for a cell over the csv module's field size limit (128 KiB) or broken quoting."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as exc:
        line = reader.line_num
        raise UnreadableFile(
            "file", f"第{line}行无法读取：{exc}", f"line {line}: cannot be read: {exc}"
        ) from None


def read_csv(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[RowError]]:
    """Header (names stripped), the data rows with their line numbers, and rows of a wrong shape.

    Rows whose cells are all blank (an emptied Excel row) are skipped like blank lines; a row
    with more cells than the header is an error, not read short (``3,000`` unquoted is two cells).
    """
    lines = iter(csv_lines(text))
    rows: list[tuple[int, dict[str, str]]] = []
    shape: list[RowError] = []
    first = next(lines, None)
    header = [name.strip() for name in (first[1] if first else [])]
    refuse_repeated(header)
    for line, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            shape.append(too_many_cells(line, len(cells), len(header)))
            continue
        rows.append((line, dict(zip(header, cells, strict=False))))
    return header, rows, shape


def too_many_cells(line: int, cells: int, columns: int) -> RowError:
    return RowError(
        line,
        f"有 {cells} 个值，表头只有 {columns} 列（数字中的千位逗号须去掉或加引号）",
        f"{cells} cells but {columns} header columns"
        " (a thousands separator must be removed or quoted)",
    )


def cell_text(value: object) -> str:
    """A worksheet cell as the text an operator would have typed (dates as ``YYYY-MM-DD``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def xlsx_lines(data: bytes, *, max_rows: int) -> list[tuple[int, list[str]]]:
    """The first worksheet's non-blank rows (row number, cell texts); refuses (``UnreadableFile``)
    a damaged workbook and one with more than ``max_rows`` non-blank rows."""
    from openpyxl import load_workbook

    out: list[tuple[int, list[str]]] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            # read-only sheets fill the gaps between stored rows, so the count is the row number
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [cell_text(v) for v in values]
                if any(c.strip() for c in cells):
                    out.append((number, cells))
                if len(out) > max_rows:
                    raise too_many_rows(max_rows)
        finally:
            book.close()
    except UnreadableFile:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign zip
        raise UnreadableFile(
            "file",
            "无法读取Excel工作簿（文件损坏或不是xlsx）：请在Excel中打开并另存为xlsx或CSV",
            f"cannot read the Excel workbook (damaged or not .xlsx: {type(exc).__name__}):"
            " open it in Excel and save it as .xlsx or CSV",
        ) from None
    return out


def too_many_rows(max_rows: int) -> UnreadableFile:
    return UnreadableFile(
        "file",
        f"数据超过{max_rows}行，请拆分后分批导入",
        f"more than {max_rows} rows: split the file",
    )
