"""Header mapping and row parsing of the legacy 基本公卫 import (pure, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from manbing.domain.errors import InvalidInput
from manbing.domain.followup_form import Adherence, VisitMode
from manbing.domain.identity import check_character
from manbing.domain.legacy_columns import (
    REQUIRED_RESIDENT,
    RESIDENT_COLUMNS,
    VISIT_COLUMNS,
    map_header,
    normalise_header,
    require_columns,
)
from manbing.domain.legacy_rows import (
    RowErrors,
    parse_date,
    parse_programmes,
    parse_resident,
    parse_visit,
)
from manbing.domain.programmes import Programme
from manbing.domain.values import Sex

TODAY = date(2026, 11, 24)
FIRST17 = "33010819560314003"
ID = FIRST17 + check_character(FIRST17)


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("姓名", "name"), (" *姓名 ", "name"), ("Name", "name"), ("健康档案编号", "record_no"),
        ("身份证号码", "id_number"), ("ID number", "id_number"), ("住址", "address"),
        ("现住址", "address"), ("收缩压（mmHg）", "sbp"), ("收缩压(mmHg)", "sbp"),
        ("管理疾病", "diseases"), ("建档日期", "registered_on"), ("ｉｄ＿ｎｏ", "id_number"),
    ],
)  # fmt: skip
def test_it_maps_chinese_and_english_header_aliases(written: str, key: str) -> None:
    columns = VISIT_COLUMNS if key == "sbp" else RESIDENT_COLUMNS
    assert map_header([written], columns).positions == {key: 0}


def test_it_ignores_unknown_columns_and_refuses_two_names_for_one_column() -> None:
    found = map_header(["档案编号", "备注", "", "姓名"], RESIDENT_COLUMNS)
    assert found.positions == {"record_no": 0, "name": 3} and found.ignored == ("备注",)
    with pytest.raises(InvalidInput, match="both mean address"):
        map_header(["住址", "现住址"], RESIDENT_COLUMNS)
    assert normalise_header(" 体重（kg） ") == "体重"


def test_a_header_needs_a_name_and_a_resident_key() -> None:
    with pytest.raises(InvalidInput, match="record number or ID number, name"):
        require_columns(map_header(["性别"], RESIDENT_COLUMNS), RESIDENT_COLUMNS, REQUIRED_RESIDENT)
    require_columns(map_header(["身份证号", "姓名"], RESIDENT_COLUMNS), RESIDENT_COLUMNS,
                    REQUIRED_RESIDENT)  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["2024-03-05", "2024/3/5", "2024.03.05", "20240305", "2024年3月5日", "2024-03-05 00:00:00",
     "２０２４－０３－０５", " 2024/3/5 8:30 "],
)  # fmt: skip
def test_it_reads_the_date_forms_of_old_exports(text: str) -> None:
    assert parse_date(text) == date(2024, 3, 5)


@pytest.mark.parametrize("text", ["2024-02-30", "45000", "03/05/2024", "1899-12-31", "#N/A", ""])
def test_it_refuses_what_is_not_a_date(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_date(text)


def test_it_reads_programme_lists_and_refuses_unmanaged_conditions() -> None:
    assert parse_programmes("高血压，2型糖尿病、高血压") == [Programme.HYPERTENSION, Programme.T2DM]
    assert parse_programmes("II型糖尿病 / 慢阻肺") == [Programme.T2DM, Programme.COPD]
    with pytest.raises(InvalidInput, match="1型糖尿病"):
        parse_programmes("高血压,1型糖尿病")


def test_it_parses_a_resident_row() -> None:
    row = parse_resident(
        {"record_no": " A1 ", "id_number": ID.lower(), "name": "张建国", "sex": "男",
         "phone": "+86 138 0000 0001", "hypertension": "是", "t2dm": "否",
         "t2dm_on": "", "diagnosed_on": "2015-03-20", "diseases": "血脂异常"},
        TODAY,
    )  # fmt: skip
    assert row.record_no == "A1" and row.id_number == ID and row.sex is Sex.MALE
    assert row.phone == "13800000001"
    assert row.programmes == {
        Programme.DYSLIPIDAEMIA: date(2015, 3, 20),
        Programme.HYPERTENSION: date(2015, 3, 20),
    }


def test_it_lists_every_bad_cell_of_a_resident_row() -> None:
    with pytest.raises(RowErrors) as bad:
        parse_resident(
            {"record_no": "", "id_number": FIRST17 + "0", "name": "王5", "sex": "X",
             "registered_on": "2027-01-01", "hypertension": "也许", "address": "x" * 201},
            TODAY,
        )  # fmt: skip
    columns = [e.column for e in bad.value.errors]
    assert sorted(columns) == sorted(
        ["id_number", "name", "sex", "registered_on", "hypertension", "address"]
    )


def test_a_resident_row_without_an_id_number_needs_a_birth_date_and_a_key() -> None:
    with pytest.raises(RowErrors) as bad:
        parse_resident({"name": "王芳"}, TODAY)
    assert [e.column for e in bad.value.errors] == ["", "birth_date"]  # "" is the row


def test_control_characters_are_refused_per_cell() -> None:
    with pytest.raises(RowErrors) as bad:
        parse_resident({"record_no": "A\x001", "name": "王芳", "birth_date": "1970-01-01"}, TODAY)
    assert [e.column for e in bad.value.errors] == ["record_no"]


def test_it_parses_a_visit_row_with_a_combined_blood_pressure() -> None:
    row = parse_visit(
        {"id_number": ID, "visit_date": "2026/10/1", "mode": "门诊", "bp": "135/85",
         "heart_rate": "72.0", "adherence": "间断", "hba1c": "6.5%", "adverse_reaction": "无"},
        TODAY,
    )  # fmt: skip
    assert (row.sbp, row.dbp, row.heart_rate) == (135, 85, 72)
    assert row.mode is VisitMode.CLINIC and row.adherence is Adherence.INTERMITTENT
    assert row.hba1c == 6.5 and row.adverse_reaction is False


def test_it_lists_every_bad_cell_of_a_visit_row() -> None:
    with pytest.raises(RowErrors) as bad:
        parse_visit(
            {"record_no": "A1", "visit_date": "2027-01-01", "sbp": "abc", "mode": "微信",
             "heart_rate": "72.5", "weight_kg": "nan", "programme": "高血压,糖尿病"},
            TODAY,
        )  # fmt: skip
    assert sorted(e.column for e in bad.value.errors) == sorted(
        ["visit_date", "sbp", "mode", "heart_rate", "weight_kg", "programme"]
    )
