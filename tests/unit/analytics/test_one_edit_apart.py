"""The near-name rule of the suspected duplicates (``duplicates.one_edit_apart``) agrees with
its plain definition: one character changed, dropped or added at one of the first
``NAME_POSITIONS`` characters, the characters before it equal and those after it lining up."""

from __future__ import annotations

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from manbing.analytics.indicators.duplicates import NAME_POSITIONS, one_edit_apart


def by_definition(a: str, b: str) -> bool:
    for i in range(NAME_POSITIONS):
        if a[:i] != b[:i]:
            continue
        if len(a) == len(b) and len(a) > i and a[i + 1 :] == b[i + 1 :]:
            return True
        if len(a) == len(b) + 1 and len(a) > i and a[i + 1 :] == b[i:]:
            return True
        if len(b) == len(a) + 1 and len(b) > i and a[i:] == b[i + 1 :]:
            return True
    return False


# Few letters, so that runs of one character (王王…) and near misses are common.
names = st.text(alphabet="王李张芳a", min_size=1, max_size=11)


@st.composite
def near_pairs(draw: st.DrawFn) -> tuple[str, str]:
    a = draw(names)
    b = list(a)
    k = draw(st.integers(0, len(a)))
    match draw(st.sampled_from(["change", "drop", "add", "other"])):
        case "change" if k < len(b):
            b[k] = draw(st.sampled_from("王李张芳a"))
        case "drop" if k < len(b):
            del b[k]
        case "add":
            b.insert(k, draw(st.sampled_from("王李张芳a")))
        case _:
            b = list(draw(names))
    return a, "".join(b)


@settings(max_examples=40, deadline=None)
@given(st.lists(near_pairs(), min_size=1, max_size=60))
def test_one_edit_apart_is_its_definition(pairs: list[tuple[str, str]]) -> None:
    pairs = [(a, b) for a, b in pairs if a != b]
    if not pairs:
        return
    t = ibis.memtable({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
    found = ibis.duckdb.connect().to_pyarrow(one_edit_apart(t.a, t.b).name("x"))
    assert found.to_pylist() == [by_definition(a, b) for a, b in pairs]


def test_examples() -> None:
    pairs = [
        ("王芳", "王方"),
        ("王芳", "王芳芳"),
        ("王王王王王王王王", "王王王王王王王王王"),
        ("李四", "张三"),
    ]
    t = ibis.memtable({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
    found = ibis.duckdb.connect().to_pyarrow(one_edit_apart(t.a, t.b).name("x"))
    assert found.to_pylist() == [True, True, True, False]
