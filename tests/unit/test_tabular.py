"""Shared reading of CSV text and worksheet cells (census and legacy imports)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from manbing.services.tabular import UnreadableFile, cell_text, decode


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""), (True, "是"), (False, "否"), (72.0, "72"), (6.5, "6.5"),
        (13800000001, "13800000001"), (date(2024, 3, 5), "2024-03-05"),
        (datetime(2024, 3, 5), "2024-03-05"), (datetime(2024, 3, 5, 8, 30), "2024-03-05 08:30:00"),
        (3.30108195603140e17, "3.3010819560314e+17"),
    ],
)  # fmt: skip
def test_a_worksheet_cell_reads_as_typed_text(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_legacy_files_may_be_gbk_but_census_files_must_be_utf8() -> None:
    data = "姓名,性别\n张三,男\n".encode("gbk")
    assert decode(data, gb18030=True).startswith("姓名")
    with pytest.raises(UnreadableFile, match="GBK"):
        decode(data)
    assert decode("姓名".encode("utf-16"), gb18030=True) == "姓名"  # with its byte-order mark
    with pytest.raises(UnreadableFile, match="password"):
        decode(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(10), gb18030=True)
