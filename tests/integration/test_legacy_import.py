"""Legacy 基本公卫 import of residents and follow-ups, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import Enrolment, FollowUp, Resident, ResidentIdentifier
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.domain.errors import InvalidInput
from manbing.domain.organisations import Role
from manbing.domain.programmes import Programme
from manbing.domain.values import Sex
from manbing.services import residents
from manbing.services.clock import FixedClock
from manbing.services.legacy_followups import import_followups
from manbing.services.legacy_import import Options, Outcome, source_system_uri
from manbing.services.legacy_residents import import_residents
from manbing.services.tabular import UnreadableFile
from manbing.services.unit_of_work import UnitOfWork
from tests.legacy_files import (
    OTHER_STATION,
    RESIDENT_HEADER,
    STATION,
    VISIT_HEADER,
    counts,
    csv_bytes,
    id_number,
    xlsx_bytes,
)
from tests.personas import actor_at

ZHANG = id_number(date(1956, 3, 14), 1)
LI = id_number(date(1960, 7, 2), 2, male=False)
SYSTEM = source_system_uri("jbgw")


def _residents() -> list[list[Any]]:
    return [
        RESIDENT_HEADER,
        ["A0001", "张建国", "男", "1956-03-14", ZHANG, "13800000001", "西兴街道1号",
         "2015-04-01", "是", "否", "2015-03-20"],
        ["A0002", "李秀英", "女", "1960/7/2", LI, "", "西兴街道2号", "2016-01-05", "是", "是", ""],
        ["A0003", "王芳", "女", "1970年5月6日", "", "0571-86001234", "", "", "否", "是", ""],
    ]  # fmt: skip


def _import(uow: UnitOfWork, clock: FixedClock, data: bytes, **kw: Any) -> Any:
    options = Options(kw.pop("org", STATION), kw.pop("source", "jbgw"), **kw)
    return import_residents(uow, clock, data, options)


def _visits(uow: UnitOfWork, clock: FixedClock, data: bytes, **kw: Any) -> Any:
    options = Options(kw.pop("org", STATION), kw.pop("source", "jbgw"), **kw)
    return import_followups(uow, clock, data, options)


def _by_name(factory: sessionmaker[Session], name: str) -> Resident:
    with factory() as s:
        found = s.scalars(select(Resident).where(Resident.name == name)).one()
        s.expunge(found)
        return found


def test_it_creates_residents_with_enrolments_and_identifiers(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    report = _import(uow, clock, csv_bytes(_residents(), bom=True))
    assert [r.outcome for r in report.rows] == [Outcome.CREATED] * 3, report.rows
    assert [r.line for r in report.rows] == [2, 3, 4]
    factory = district.session_factory
    zhang = _by_name(factory, "张建国")
    assert zhang.registered_on == date(2015, 4, 1) and zhang.sex is Sex.MALE
    wang = _by_name(factory, "王芳")
    assert wang.birth_date == date(1970, 5, 6) and wang.id_number is None
    assert wang.phone == "0571-86001234"
    with factory() as s:
        ids = set(s.execute(select(ResidentIdentifier.system, ResidentIdentifier.value)))
        assert {(SYSTEM, "A0001"), (SYSTEM, "A0002"), (SYSTEM, "A0003")} <= ids
        assert (NATIONAL_ID_SYSTEM, ZHANG) in ids
        li = _by_name(factory, "李秀英")
        enrolled = set(
            s.execute(
                select(Enrolment.resident_id, Enrolment.programme).where(
                    Enrolment.resident_id.in_([zhang.id, li.id, wang.id])
                )
            )
        )
        assert enrolled == {
            (zhang.id, Programme.HYPERTENSION),
            (li.id, Programme.HYPERTENSION),
            (li.id, Programme.T2DM),
            (wang.id, Programme.T2DM),
        }
        diagnosed = s.scalar(
            select(Enrolment.diagnosed_on).where(Enrolment.resident_id == zhang.id)
        )
        assert diagnosed == date(2015, 3, 20)


def test_importing_the_same_file_again_adds_nothing(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    data = csv_bytes(_residents())
    _import(uow, clock, data)
    visits = csv_bytes([VISIT_HEADER, [ZHANG, "", "", "2026-10-10", "门诊", "150", "95", "80",
                                       "70", "", "规律", ""]])  # fmt: skip
    _visits(uow, clock, visits)
    before = counts(district.session_factory)
    again = _import(uow, clock, data)
    assert [r.outcome for r in again.rows] == [Outcome.MATCHED] * 3
    assert _visits(uow, clock, visits).rows[0].outcome is Outcome.ALREADY_IMPORTED
    after = counts(district.session_factory)
    assert after["audit_events"] == before["audit_events"] + 2  # the two runs' summaries
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"
    }


def test_a_row_matches_a_registered_resident_by_id_number_and_completes_it(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    nurse = actor_at(district.session_factory, Role.NURSE, district.orgs["xixing-1"])
    registered = residents.register(
        uow,
        nurse,
        residents.NewResident(
            name="张建国",
            division_code="330108001001",
            managing_org_id=district.orgs["xixing-1"],
            id_number=ZHANG,
        ),
        clock,
    )
    report = _import(uow, clock, csv_bytes(_residents()[:2]))
    assert report.rows[0].outcome is Outcome.UPDATED
    assert report.rows[0].record_number == registered.record_number
    zhang = _by_name(district.session_factory, "张建国")
    assert zhang.phone == "13800000001" and zhang.address == "西兴街道1号"
    with district.session_factory() as s:
        values = set(s.scalars(select(ResidentIdentifier.value).where(
            ResidentIdentifier.resident_id == zhang.id)))  # fmt: skip
        assert values == {ZHANG, "A0001"}


def test_a_row_without_id_number_matches_by_the_old_record_number(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    _import(uow, clock, csv_bytes(_residents()))
    later = [RESIDENT_HEADER, ["A0003", "王芳", "女", "1970-05-06", "", "", "长河路3号", "", "",
                               "", ""]]  # fmt: skip
    report = _import(uow, clock, csv_bytes(later))
    assert report.rows[0].outcome is Outcome.UPDATED  # the address was missing
    assert _by_name(district.session_factory, "王芳").address == "长河路3号"
    # another source system's A0003 is another record: same name and birth date, no ID
    other = _import(uow, clock, csv_bytes(later), source="other-his")
    assert other.rows[0].outcome is Outcome.POSSIBLE_DUPLICATE
    assert "MPI" in other.rows[0].problems[0].message


def test_same_name_and_birth_date_without_id_is_a_possible_duplicate_not_a_merge(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    _import(uow, clock, csv_bytes(_residents()))
    before = counts(district.session_factory)
    twin = [RESIDENT_HEADER, ["B0009", "王芳", "女", "1970-05-06", "", "", "", "", "", "是", ""]]
    report = _import(uow, clock, csv_bytes(twin))
    row = report.rows[0]
    assert row.outcome is Outcome.POSSIBLE_DUPLICATE
    assert row.record_number == _by_name(district.session_factory, "王芳").record_number
    after = counts(district.session_factory)
    assert after["residents"] == before["residents"]
    assert after["resident_identifiers"] == before["resident_identifiers"]
    # with different valid ID numbers on both sides they are two people
    other = id_number(date(1956, 3, 14), 7)
    pair = [RESIDENT_HEADER, ["C0001", "张建国", "男", "", other, "", "", "", "是", "", ""]]
    assert _import(uow, clock, csv_bytes(pair)).rows[0].outcome is Outcome.CREATED


def test_bad_rows_are_reported_with_their_row_numbers_and_good_rows_land(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    rows = _residents()
    rows.insert(2, ["A0009", "赵四", "男", "", "330108195603140000", "", "", "", "是", "", ""])
    rows.insert(3, [])  # an emptied row: skipped, but it keeps its row number
    rows.append(["A0010", "钱五", "X", "2099-01-01", "", "12345", "", "", "也许", "", ""])
    report = _import(uow, clock, csv_bytes(rows))
    by_line = {r.line: r for r in report.rows}
    assert by_line[2].outcome is Outcome.CREATED
    assert by_line[3].outcome is Outcome.ERROR
    assert by_line[3].problems[0].column == "身份证号"
    assert "校验位" in by_line[3].problems[0].zh(3) and "row 3" in by_line[3].problems[0].en(3)
    assert by_line[5].outcome is by_line[6].outcome is Outcome.CREATED
    bad = by_line[7]
    assert bad.outcome is Outcome.ERROR
    assert {p.column for p in bad.problems} == {"性别", "联系电话", "高血压"}
    assert _by_name(district.session_factory, "王芳").name == "王芳"
    with district.session_factory() as s:
        assert s.scalar(select(Resident).where(Resident.name == "赵四")) is None


def test_a_row_failing_late_leaves_nothing_of_itself(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    """The diagnosis date precedes birth: registration ran, the enrolment failed; the resident
    registered in the row's savepoint is rolled back with it."""
    rows = [RESIDENT_HEADER,
            ["D0001", "孙六", "男", "1980-01-01", "", "", "", "", "是", "", "1979-01-01"],
            ["D0002", "周七", "男", "1981-01-01", "", "", "", "", "是", "", ""]]  # fmt: skip
    before = counts(district.session_factory)
    report = _import(uow, clock, csv_bytes(rows))
    assert [r.outcome for r in report.rows] == [Outcome.ERROR, Outcome.CREATED]
    assert report.rows[0].problems[0].column == "确诊日期"
    after = counts(district.session_factory)
    assert after["residents"] == before["residents"] + 1
    assert after["enrolments"] == before["enrolments"] + 1


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    before = counts(district.session_factory)
    report = _import(uow, clock, csv_bytes(_residents()), dry_run=True)
    assert report.dry_run and report.counts[Outcome.CREATED] == 3
    assert counts(district.session_factory) == before  # not even the import account
    _import(uow, clock, csv_bytes(_residents()))
    visits = csv_bytes([VISIT_HEADER, [ZHANG, "", "", "2026-10-10", "门诊", "150", "95", "",
                                       "", "", "", ""]])  # fmt: skip
    middle = counts(district.session_factory)
    assert _visits(uow, clock, visits, dry_run=True).rows[0].outcome is Outcome.ADDED
    assert counts(district.session_factory) == middle


def test_follow_ups_are_recorded_in_date_order_and_classified(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    _import(uow, clock, csv_bytes(_residents()))
    visits = [
        VISIT_HEADER,
        [ZHANG, "", "张建国", "2026-09-10", "门诊", "162", "102", "80", "70", "", "规律", ""],
        ["", "A0001", "", "2026-06-10", "电话", "158", "98", "78", "70", "", "间断", ""],
        ["", "A0002", "李秀英", "2026-08-01", "家庭", "126", "78", "72", "60", "6.1", "规律", ""],
        ["", "A0404", "", "2026-08-01", "门诊", "126", "78", "", "", "", "", ""],
    ]
    report = _visits(uow, clock, csv_bytes(visits, encoding="gbk"))
    by_line = {r.line: r for r in report.rows}
    assert [by_line[n].outcome for n in (2, 3, 4)] == [Outcome.ADDED] * 3
    assert by_line[5].outcome is Outcome.ERROR and by_line[5].problems[0].column == "档案编号"
    with district.session_factory() as s:
        zhang = s.scalars(select(Resident).where(Resident.name == "张建国")).one()
        stored = s.scalars(
            select(FollowUp).where(FollowUp.resident_id == zhang.id).order_by(FollowUp.visit_date)
        ).all()
        assert [f.visit_date for f in stored] == [date(2026, 6, 10), date(2026, 9, 10)]
        assert [f.classification for f in stored] == ["2", "2"]
        # the September visit saw the June one: twice uncontrolled, so refer
        assert stored[0].referral_reason is None and stored[1].referral_reason


def test_a_file_for_one_organisation_cannot_touch_another_ones_residents(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    _import(uow, clock, csv_bytes(_residents()))
    report = _import(uow, clock, csv_bytes(_residents()), org=OTHER_STATION)
    assert [r.outcome for r in report.rows] == [Outcome.ERROR] * 3  # by ID, ID, record number
    assert all("其他机构" in r.problems[0].message for r in report.rows)
    visits = [VISIT_HEADER, [ZHANG, "", "", "2026-10-10", "门诊", "150", "95", "", "", "", "", ""]]
    other = _visits(uow, clock, csv_bytes(visits), org=OTHER_STATION)
    assert other.rows[0].outcome is Outcome.ERROR
    before = counts(district.session_factory)
    with pytest.raises(InvalidInput, match="not a primary-care organisation"):
        _import(uow, clock, csv_bytes(_residents()), org="330108-H01")  # the district hospital
    assert counts(district.session_factory) == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "password"),
        (b"PK\x03\x04" + bytes(range(200)), "workbook"),
        (csv_bytes([["foo", "bar"], ["1", "2"]]), "no header row"),
        (csv_bytes([["档案编号", "性别"], ["1", "男"]]), "missing required columns: name"),
        (
            csv_bytes([["姓名", "性别", "出生日期"], ["王", "男", "1970-01-01"]]),
            "record number or ID",
        ),
        (csv_bytes([["档案编号", "姓名", "住址", "现住址"]]), "both mean address"),
        (csv_bytes([RESIDENT_HEADER]), "no data rows"),
        ("姓名,档案编号\n王,1\n".encode("utf-16-le"), "UTF-16"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    district: Any, uow: UnitOfWork, clock: FixedClock, data: bytes, expected: str
) -> None:
    before = counts(district.session_factory)
    with pytest.raises(UnreadableFile) as refused:
        _import(uow, clock, data)
    assert expected in refused.value.message_en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)
    assert counts(district.session_factory) == before


def test_gbk_and_xlsx_files_import_like_utf8(
    district: Any, uow: UnitOfWork, clock: FixedClock
) -> None:
    gbk = _import(uow, clock, csv_bytes(_residents(), encoding="gb18030"), dry_run=True)
    assert [r.outcome for r in gbk.rows] == [Outcome.CREATED] * 3
    rows = _residents()
    rows[1][3] = date(1956, 3, 14)  # a real date cell
    rows[1][5] = 13800000001  # a phone typed as a number
    book = _import(uow, clock, xlsx_bytes(rows, title_rows=1))
    assert [(r.line, r.outcome) for r in book.rows] == [
        (3, Outcome.CREATED), (4, Outcome.CREATED), (5, Outcome.CREATED)
    ]  # fmt: skip
    assert _by_name(district.session_factory, "张建国").phone == "13800000001"


def _example(repo_root: Path, name: str) -> bytes:
    text = (repo_root / "docs" / "legacy-import.md").read_text("utf-8")
    block = text.split(f"Example (`{name}`):", 1)[1].split("```", 2)[1]
    return block.strip().encode("utf-8")


def test_the_documented_example_files_import(
    district: Any, uow: UnitOfWork, clock: FixedClock, repo_root: Path
) -> None:
    people = _import(uow, clock, _example(repo_root, "居民.csv"))
    assert [r.outcome for r in people.rows] == [Outcome.CREATED] * 2, people.rows
    visits = _visits(uow, clock, _example(repo_root, "随访.csv"))
    assert [r.outcome for r in visits.rows] == [Outcome.ADDED] * 2, visits.rows
