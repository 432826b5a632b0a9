"""Master patient index: is this pair of resident records the same person?

Pure, deterministic comparison of two record snapshots. It gives a *level* (how sure), a
*score* (0–100, to order a work list) and the *reasons* behind them, so a manager can see
why a pair was proposed before merging it. The rules (documented in docs/mpi.md):

Evidence on the national ID number (GB 11643-1999, 18 characters):

- ``SAME_ID``: both records carry the same number (upper-cased). A citizen has exactly one
  number, so this alone makes the pair **certain**.
- ``ID_CHECK_CHAR``: the first 17 characters agree and only the check character differs (a
  typing error the checksum of GB 11643 would have caught).
- ``ID_NEAR``: the numbers differ by one substituted character or one transposition of two
  adjacent characters (the two commonest keying errors, Damerau 1964).
- ``ID_CONFLICT``: both carry a number and they differ by more than that: two different
  citizens. A conflict rules the pair out (twins share birth date, sex, address and often a
  one-character-different name, but never an ID number).

Evidence on the person:

- ``SAME_BIRTH_SEX``: same birth date and same recorded sex (the blocking key).
- ``SAME_NAME`` / ``NAME_NEAR``: names equal, or one edit apart — one Chinese character
  substituted (homophone or input-method error), inserted, deleted, or two adjacent characters
  transposed (optimal string alignment distance ≤ 1).
- ``SAME_PHONE``, ``SAME_DIVISION`` (same community/village code), ``SAME_ADDRESS``:
  corroborating contact details (only when both records have them).

Levels:

- **certain**: ``SAME_ID``.
- **probable**: ``SAME_BIRTH_SEX``, name equal or one edit apart, no ID conflict, and at least
  one corroboration: an ID near miss (check character, one digit, transposition), the same
  phone, the same division or the same address.
- **possible**: ``SAME_BIRTH_SEX`` and name equal or one edit apart, no ID conflict, nothing
  else; or the birth dates differ but the ID numbers are a near miss and the names are equal or
  one edit apart with the same sex (a birth date keyed wrongly in one system).
- otherwise not a candidate (``None``): in particular different birth dates without an ID
  near miss, or an ID conflict.

Identical records are certain when they carry an ID number; without one they are probable at
most — two different people with the same name, sex and birth date living in one community
do exist for common names, so only a unique identifier makes a pair certain.

Score: certain 100; otherwise 40 for birth date + sex (or 25 for an ID near miss across
different birth dates), +30 same name or +20 name one edit apart, +15 ID check character or
+10 ID one edit apart, +10 same phone, +5 same division, +5 same address, capped at 99.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

from manbing.domain.values import Sex


class MatchLevel(IntEnum):
    """Ordered: a higher value is stronger evidence."""

    POSSIBLE = 1
    PROBABLE = 2
    CERTAIN = 3

    @property
    def label_zh(self) -> str:
        return _LEVEL_LABELS[self]

    @property
    def code(self) -> str:
        return self.name.lower()


_LEVEL_LABELS = {
    MatchLevel.POSSIBLE: "可能重复",
    MatchLevel.PROBABLE: "很可能重复",
    MatchLevel.CERTAIN: "确定重复",
}


class MatchReason(StrEnum):
    SAME_ID = "same_id"
    ID_CHECK_CHAR = "id_check_char"
    ID_NEAR = "id_near"
    SAME_BIRTH_SEX = "same_birth_sex"
    SAME_NAME = "same_name"
    NAME_NEAR = "name_near"
    SAME_PHONE = "same_phone"
    SAME_DIVISION = "same_division"
    SAME_ADDRESS = "same_address"

    @property
    def label_zh(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    MatchReason.SAME_ID: "身份证号相同",
    MatchReason.ID_CHECK_CHAR: "身份证号仅校验位不同",
    MatchReason.ID_NEAR: "身份证号相差一位或相邻两位颠倒",
    MatchReason.SAME_BIRTH_SEX: "出生日期和性别相同",
    MatchReason.SAME_NAME: "姓名相同",
    MatchReason.NAME_NEAR: "姓名相差一个字或两字颠倒",
    MatchReason.SAME_PHONE: "电话相同",
    MatchReason.SAME_DIVISION: "所属社区（村）相同",
    MatchReason.SAME_ADDRESS: "住址相同",
}

_WEIGHTS = {
    MatchReason.SAME_NAME: 30,
    MatchReason.NAME_NEAR: 20,
    MatchReason.ID_CHECK_CHAR: 15,
    MatchReason.ID_NEAR: 10,
    MatchReason.SAME_PHONE: 10,
    MatchReason.SAME_DIVISION: 5,
    MatchReason.SAME_ADDRESS: 5,
}
_CORROBORATING = frozenset(
    {
        MatchReason.ID_CHECK_CHAR,
        MatchReason.ID_NEAR,
        MatchReason.SAME_PHONE,
        MatchReason.SAME_DIVISION,
        MatchReason.SAME_ADDRESS,
    }
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The fields of a resident record the matcher looks at."""

    name: str
    sex: Sex
    birth_date: date
    id_number: str | None = None
    phone: str | None = None
    division_code: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    level: MatchLevel
    score: int
    reasons: tuple[MatchReason, ...]


def edit_distance_at_most_one(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are equal or one substitution, insertion, deletion or
    transposition of two adjacent characters apart (optimal string alignment distance ≤ 1)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long_ = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _norm(number: str | None) -> str:
    return (number or "").strip().upper()


def _id_evidence(a: str | None, b: str | None) -> MatchReason | bool | None:
    """SAME_ID / ID_CHECK_CHAR / ID_NEAR; False for a conflict; None when a number is missing."""
    if not a or not b:
        return None
    x, y = a.strip().upper(), b.strip().upper()
    if x == y:
        return MatchReason.SAME_ID
    if len(x) == len(y) == 18 and x[:17] == y[:17]:
        return MatchReason.ID_CHECK_CHAR
    if len(x) == len(y) and edit_distance_at_most_one(x, y):
        return MatchReason.ID_NEAR
    return False


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and (a or "").strip() == (b or "").strip()


def compare(a: Snapshot, b: Snapshot) -> Match | None:
    """The level, score and reasons of a pair, or ``None`` when it is not a candidate.

    Symmetric: ``compare(a, b) == compare(b, a)``.
    """
    name_a, name_b = a.name.strip(), b.name.strip()
    if name_a == name_b:
        name_reason = MatchReason.SAME_NAME
    elif edit_distance_at_most_one(name_a, name_b):
        name_reason = MatchReason.NAME_NEAR
    else:  # most pairs of a block end here, unless they share the ID number
        same_id = bool(a.id_number and b.id_number) and _norm(a.id_number) == _norm(b.id_number)
        return Match(MatchLevel.CERTAIN, 100, (MatchReason.SAME_ID,)) if same_id else None
    id_evidence = _id_evidence(a.id_number, b.id_number)
    if id_evidence is MatchReason.SAME_ID:
        return Match(MatchLevel.CERTAIN, 100, (MatchReason.SAME_ID,))
    if id_evidence is False:
        return None
    reasons: list[MatchReason] = []
    if isinstance(id_evidence, MatchReason):
        reasons.append(id_evidence)
    reasons.append(name_reason)
    if _same(a.phone, b.phone):
        reasons.append(MatchReason.SAME_PHONE)
    if _same(a.division_code, b.division_code):
        reasons.append(MatchReason.SAME_DIVISION)
    if _same(a.address, b.address):
        reasons.append(MatchReason.SAME_ADDRESS)
    score = sum(_WEIGHTS[r] for r in reasons)
    if a.birth_date == b.birth_date and a.sex == b.sex:
        reasons.insert(0, MatchReason.SAME_BIRTH_SEX)
        score += 40
        corroborated = any(r in _CORROBORATING for r in reasons)
        level = MatchLevel.PROBABLE if corroborated else MatchLevel.POSSIBLE
    elif isinstance(id_evidence, MatchReason) and a.sex == b.sex:
        score += 25
        level = MatchLevel.POSSIBLE
    else:
        return None
    return Match(level, min(score, 99), tuple(sorted(reasons, key=_ORDER.index)))


_ORDER = list(MatchReason)
