"""Tamper-evident audit trail: each event's hash covers its content and the previous hash.

Changing, deleting or reordering any stored event breaks every later hash, which
``verify_chain`` detects. (Hash chaining as in RFC 6962-style append-only logs, simplified.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64


class AuditAction(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    READ = "read"
    SEARCH = "search"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    MERGE = "merge"


def event_hash(previous_hash: str, content: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    position: int
    event_id: str


def verify_chain(events: Iterable[tuple[str, str, str, Mapping[str, Any]]]) -> ChainBreak | None:
    """Check ``(event_id, prev_hash, hash, content)`` tuples in sequence order."""
    expected_prev = GENESIS
    for position, (event_id, prev_hash, stored_hash, content) in enumerate(events):
        if prev_hash != expected_prev or event_hash(prev_hash, content) != stored_hash:
            return ChainBreak(position, event_id)
        expected_prev = stored_hash
    return None
