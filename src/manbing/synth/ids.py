"""Vectorised identifiers: UUIDs from the RNG, GB 11643 ID numbers, record numbers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASHES = (8, 13, 18, 23)
_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)

IntArray = npt.NDArray[np.int64]


def uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random version-4 UUIDs as canonical strings (deterministic for a seeded ``rng``)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    hexed = _HEX[nibbles]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    keep = [i for i in range(36) if i not in _DASHES]
    out[:, keep] = hexed
    return pa.array(out.view("S36").ravel()).cast(pa.string())


def digits(values: IntArray, width: int) -> npt.NDArray[np.uint8]:
    """Zero-padded decimal digits of non-negative integers, as an ``(n, width)`` ASCII array."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64).copy()
    for pos in range(width - 1, -1, -1):
        out[:, pos] = rest % 10 + ord("0")
        rest //= 10
    return out


def ascii_strings(matrix: npt.NDArray[np.uint8]) -> pa.Array:
    width = matrix.shape[1]
    return pa.array(np.ascontiguousarray(matrix).view(f"S{width}").ravel()).cast(pa.string())


def id_numbers(
    county: IntArray, birth_yyyymmdd: IntArray, sequence: IntArray
) -> npt.NDArray[np.uint8]:
    """GB 11643 numbers as an ``(n, 18)`` ASCII array: address, birth date, sequence, check."""
    body = np.concatenate(
        [digits(county, 6), digits(birth_yyyymmdd, 8), digits(sequence, 3)], axis=1
    )
    total = ((body - ord("0")).astype(np.int64) * _WEIGHTS).sum(axis=1)
    check = _CHECK[total % 11]
    return np.concatenate([body, check[:, None]], axis=1)


def wrong_check(numbers: npt.NDArray[np.uint8], rng: np.random.Generator) -> None:
    """Replace the check character with a different, wrong one (a typing error), in place."""
    current = np.searchsorted(np.sort(_CHECK), numbers[:, 17])
    shift = rng.integers(1, 11, size=len(numbers))
    numbers[:, 17] = np.sort(_CHECK)[(current + shift) % 11]


def rank_within(groups: IntArray) -> IntArray:
    """The 0-based position of each element among the elements of the same group value."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - run_start
    return ranks
