"""Numbers typed by people — CSV cells, CLI files, web form fields — read by one rule.

Python's ``int()`` and ``float()`` are too lenient for data entry: they read ``3_000`` (a
typo or a code-style separator, never what a census table or a nurse means), any Unicode
decimal digit (``٣``, ``३``), and ``float()`` also ``nan``/``inf``. The rule here:

- ASCII digits, an optional sign, and for decimals one ``.`` and an optional exponent
  (``1.5e3``: what Excel writes for some cells); surrounding spaces are ignored;
- **full-width** digits, sign and decimal point (``３０００``, ``－５``, ``６．１``), which a Chinese
  IME in full-width mode types, are read as their ASCII forms. This is deliberately the
  full-width block only, not NFKC as a whole, which would also read superscripts and circled
  numbers (``²`` → ``2``, ``①`` → ``1``) as digits;
- everything else is refused: ``_``, thousands separators (``3,000``, ``3，000``), other
  scripts' digits, ``nan``, ``inf``, and values too large to be finite.

Callers turn ``ValueError`` into an ``InvalidInput`` (or a CLI message) naming their field.
"""

from __future__ import annotations

import math
import re

_FULL_WIDTH = str.maketrans(
    {chr(0xFF10 + d): str(d) for d in range(10)}
    | {"\uff0b": "+", "\uff0d": "-", "\uff0e": ".", "\uff45": "e", "\uff25": "E"}
)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


class NotFinite(ValueError):
    """``nan``, ``inf``, ``1e999``: a number in form, but none a rule can use."""


_NOT_FINITE = {"nan", "inf", "infinity"}


def number_text(text: str) -> str:
    """The text stripped, with full-width digits, sign and point made ASCII."""
    return text.strip().translate(_FULL_WIDTH)


def parse_integer(text: str) -> int:
    """An integer written with digits only (``"3000"``, ``"３０００"``, ``"-5"``)."""
    plain = number_text(text)
    if not _INTEGER.fullmatch(plain):
        raise ValueError(f"not an integer: {text!r}")
    return int(plain)


def parse_decimal(text: str) -> float:
    """A finite decimal number (``"6.1"``, ``"６．１"``, ``"1.5e3"``)."""
    plain = number_text(text)
    if plain.lstrip("+-").lower() in _NOT_FINITE:
        raise NotFinite(f"not a finite number: {text!r}")
    if not _DECIMAL.fullmatch(plain):
        raise ValueError(f"not a number: {text!r}")
    value = float(plain)
    if not math.isfinite(value):  # 1e999
        raise NotFinite(f"not a finite number: {text!r}")
    return value
