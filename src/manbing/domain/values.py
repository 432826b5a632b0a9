"""Small shared value types of the domain."""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    """Administrative sex as recorded on the resident record (GB/T 2261.1 simplified)."""

    MALE = "M"
    FEMALE = "F"
    UNKNOWN = "U"
