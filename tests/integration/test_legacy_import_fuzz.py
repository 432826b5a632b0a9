"""Generated legacy exports (arbitrary cells, encodings, .xlsx, broken bytes), on both back-ends.

Whatever the cells hold, the import either refuses the file whole (``UnreadableFile``, nothing
stored) or answers every data row with an outcome: an error names its row number as the operator
sees it, and a dry run stores nothing. Never another exception.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manbing.services.clock import FixedClock
from manbing.services.legacy_followups import import_followups
from manbing.services.legacy_import import Options, Outcome
from manbing.services.legacy_residents import import_residents
from manbing.services.tabular import UnreadableFile
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.device_fuzz import EXAMPLES
from tests.legacy_files import RESIDENT_HEADER, STATION, VISIT_HEADER, counts, csv_bytes, xlsx_bytes

SPICY = ["", " ", "是", "否", "男", "女", "#N/A", "=A1", "1e400", "nan", "-0", "0", "2026-02-29",
         "2024-02-29", "19700101", "330108195603140019", "13800000001", "高血压，糖尿病", "150/95",
         "9" * 600, "\x00", "\ud800", "１２０", "\u3000", "2026-11-25", "A0001", "张三\n李四"]  # fmt: skip
cells = st.one_of(st.sampled_from(SPICY), st.text(max_size=30))


@dataclass
class Drawn:
    kind: str
    header: list[str]
    rows: list[list[str]]
    form: str  # an encoding, "xlsx", or "bytes" (``raw``)
    raw: bytes
    mutated: set[int]

    def render(self, nonce: str) -> bytes:
        """The file, the template's record numbers made unique to this run (the database is
        shared by every example: a record number seen before with another name is an error)."""
        if self.form == "bytes":
            return self.raw
        rows = [[c.replace(NONCE, nonce) for c in r] for r in self.rows]
        rows = [[c.encode("utf-8", "ignore").decode() for c in r] for r in rows]
        if self.form == "xlsx":
            clean = [["".join(ch for ch in c if ch >= " ") for c in r] for r in rows]
            return xlsx_bytes([self.header, *clean])
        encoding = "utf-8" if self.form == "utf-8-sig" else self.form
        try:
            return csv_bytes([self.header, *rows], encoding=encoding, bom=self.form == "utf-8-sig")
        except UnicodeEncodeError:
            return csv_bytes([self.header, *rows], bom=True)

    def valid_lines(self) -> set[int]:
        """Residents rows left as the valid template: their file row numbers (no quoted line
        breaks before them, i.e. row n + 2)."""
        if self.form == "bytes":
            return set()
        return _valid(self.kind, self.rows, self.mutated)


NONCE = "\u00a7"


@st.composite
def files(draw: st.DrawFn) -> Drawn:
    kind = draw(st.sampled_from(["residents", "followups"]))
    header = list(RESIDENT_HEADER if kind == "residents" else VISIT_HEADER)
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    valid = dict(zip(RESIDENT_HEADER, ["F1", "测试", "男", "1970-01-01", "", "", "", "", "是",
                                       "", ""], strict=True))  # fmt: skip
    rows, mutated = [], set()
    for n in range(draw(st.integers(1, 6))):
        row = [f"{NONCE}F{n}" if h == "档案编号" else valid.get(h, "") for h in header]
        for i in draw(st.sets(st.integers(0, len(header) - 1), max_size=3)):
            row[i] = draw(cells)
            mutated.add(n)
        rows.append(row)
    form = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "xlsx", "bytes"]))
    raw = draw(st.binary(max_size=400)) if form == "bytes" else b""
    return Drawn(kind, header, rows, form, raw, mutated)


def _valid(kind: str, rows: list[list[str]], mutated: set[int]) -> set[int]:
    """Residents rows left as the valid template: their file row numbers (no quoted line
    breaks before them, i.e. row n + 2)."""
    if kind != "residents" or any("\n" in c or "\r" in c for r in rows for c in r):
        return set()
    return {n + 2 for n in range(len(rows)) if n not in mutated}


def test_no_generated_export_breaks_the_import(district: Any, uow: UnitOfWork) -> None:
    clock = FixedClock(NOW)

    @settings(
        max_examples=max(20, EXAMPLES // 3),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=files(), dry_run=st.booleans())
    def run(case: Drawn, dry_run: bool) -> None:
        kind, data, valid = case.kind, case.render(uuid.uuid4().hex[:8]), case.valid_lines()
        importer = import_residents if kind == "residents" else import_followups
        before = counts(district.session_factory)
        try:
            report = importer(uow, clock, data, Options(STATION, "fuzz", dry_run=dry_run))
        except UnreadableFile as exc:
            assert exc.message and exc.message_en
            assert counts(district.session_factory) == before
            return
        lines = [r.line for r in report.rows]
        assert len(lines) == len(set(lines)) and all(n >= 2 for n in lines)
        for row in report.rows:
            assert isinstance(row.outcome, Outcome)
            if row.outcome is Outcome.ERROR:
                assert row.problems and all(p.message and p.message_en for p in row.problems)
                assert f"第{row.line}行" in row.problems[0].zh(row.line)
        by_line = {r.line: r for r in report.rows}
        for line in valid:
            assert by_line[line].outcome is not Outcome.ERROR, by_line[line]
        if dry_run:
            assert counts(district.session_factory) == before

    run()
