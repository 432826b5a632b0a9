"""The master patient index's pairwise comparison (domain/mpi.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from manbing.domain.identity import check_character
from manbing.domain.mpi import (
    MatchLevel,
    MatchReason,
    Snapshot,
    compare,
    edit_distance_at_most_one,
)
from manbing.domain.values import Sex

_CHARS = "王李张刘陈杨黄赵伟芳娜敏静丽强磊军洋勇艳杰"


def _id(birth: date, seq: int) -> str:
    first17 = f"330108{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


BASE = Snapshot(
    name="张建国",
    sex=Sex.MALE,
    birth_date=date(1958, 3, 14),
    id_number=_id(date(1958, 3, 14), 123),
    phone="13812345678",
    division_code="330108001001",
    address="杭州市滨江区江南大道1号",
)

names = st.text(alphabet=_CHARS, min_size=1, max_size=4)
snapshots = st.builds(
    Snapshot,
    name=names,
    sex=st.sampled_from([Sex.MALE, Sex.FEMALE]),
    birth_date=st.dates(date(1930, 1, 1), date(2020, 12, 31)),
    id_number=st.one_of(
        st.none(),
        st.builds(_id, st.dates(date(1930, 1, 1), date(2020, 12, 31)), st.integers(0, 999)),
    ),
    phone=st.one_of(st.none(), st.sampled_from(["13812345678", "13900001111"])),
    division_code=st.sampled_from(["330108001001", "330108002001"]),
    address=st.one_of(st.none(), st.sampled_from(["江南大道1号", "滨盛路2号"])),
)


@given(snapshots, snapshots)
def test_comparison_is_symmetric(a: Snapshot, b: Snapshot) -> None:
    assert compare(a, b) == compare(b, a)


@given(snapshots)
def test_identical_records_with_an_id_number_are_certain(a: Snapshot) -> None:
    match = compare(a, replace(a))
    assert match is not None
    if a.id_number:
        assert match.level is MatchLevel.CERTAIN and match.score == 100
    else:  # the same name, sex and birth date alone can be two people
        assert match.level is MatchLevel.PROBABLE


@given(snapshots, snapshots)
def test_different_birth_date_and_id_is_not_a_candidate(a: Snapshot, b: Snapshot) -> None:
    if a.birth_date == b.birth_date:
        b = replace(b, birth_date=b.birth_date + timedelta(days=1))
    if a.id_number and b.id_number and edit_distance_at_most_one(a.id_number, b.id_number):
        return
    assert compare(a, b) is None


@given(snapshots, snapshots)
def test_levels_and_scores_are_consistent(a: Snapshot, b: Snapshot) -> None:
    match = compare(a, b)
    if match is None:
        return
    assert 0 < match.score <= 100
    assert (match.level is MatchLevel.CERTAIN) == (match.score == 100)
    assert len(set(match.reasons)) == len(match.reasons)


def test_one_character_typo_in_the_name_with_the_same_phone_is_probable() -> None:
    other = replace(BASE, name="张建军", id_number=None, address=None, division_code=None)
    match = compare(BASE, other)
    assert match is not None and match.level is MatchLevel.PROBABLE
    assert match.reasons == (
        MatchReason.SAME_BIRTH_SEX,
        MatchReason.NAME_NEAR,
        MatchReason.SAME_PHONE,
    )


def test_wrong_check_character_corroborates() -> None:
    wrong = BASE.id_number[:17] + ("0" if BASE.id_number[17] != "0" else "1")  # type: ignore[index]
    other = Snapshot(name="张建华", sex=Sex.MALE, birth_date=BASE.birth_date, id_number=wrong)
    match = compare(BASE, other)
    assert match is not None and match.level is MatchLevel.PROBABLE
    assert MatchReason.ID_CHECK_CHAR in match.reasons


def test_transposed_name_and_digits_are_one_edit() -> None:
    assert edit_distance_at_most_one("张建国", "建张国")
    assert edit_distance_at_most_one("13812345678", "13812346578")
    assert edit_distance_at_most_one("张国", "张建国")
    assert not edit_distance_at_most_one("张建国", "李建军")
    assert not edit_distance_at_most_one("张建国", "国建张")


def test_name_only_agreement_is_possible() -> None:
    other = Snapshot(name="张建国", sex=Sex.MALE, birth_date=BASE.birth_date)
    match = compare(replace(BASE, phone=None, address=None, division_code=None), other)
    assert match is not None and match.level is MatchLevel.POSSIBLE


def test_different_id_numbers_rule_out_twins() -> None:
    twin = replace(BASE, name="张建军", id_number=_id(BASE.birth_date, 457))
    assert compare(BASE, twin) is None


def test_different_sex_or_far_names_are_not_candidates() -> None:
    assert compare(BASE, replace(BASE, sex=Sex.FEMALE, id_number=None)) is None
    assert compare(BASE, replace(BASE, name="李小红", id_number=None)) is None


def test_birth_date_typo_with_near_id_is_possible() -> None:
    birth = BASE.birth_date + timedelta(days=1)
    other = replace(BASE, birth_date=birth, id_number=_id(birth, 123)[:17] + BASE.id_number[17])  # type: ignore[index]
    match = compare(BASE, other)
    assert match is not None and match.level is MatchLevel.POSSIBLE
    assert MatchReason.ID_NEAR in match.reasons


def test_the_same_id_number_is_certain_whatever_the_name() -> None:
    other = replace(BASE, name="李小红", phone=None, id_number=BASE.id_number.lower())  # type: ignore[union-attr]
    match = compare(BASE, other)
    assert match is not None and match.level is MatchLevel.CERTAIN
