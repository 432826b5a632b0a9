"""The legacy import as an upload (web page and JSON API): which file kind, and the digest that
ties a confirmed run to the file its dry run checked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from manbing.domain.errors import Conflict, Forbidden, InvalidInput
from manbing.domain.organisations import Permission
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.legacy_followups import import_followups
from manbing.services.legacy_import import Options, Report
from manbing.services.legacy_residents import import_residents
from manbing.services.unit_of_work import UnitOfWork

IMPORTERS: dict[str, Callable[[UnitOfWork, Clock, bytes, Options], Report]] = {
    "residents": import_residents,
    "followups": import_followups,
}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    kind: str,
    data: bytes,
    *,
    org_code: str = "",
    source_system: str | None = None,
    confirm_digest: str | None = None,
) -> Report:
    """A dry run without ``confirm_digest``; with it, the real run of the same file.

    Centre managers only (the right to merge records is the manager's): an import writes many
    records at once.
    """
    if not actor.can(Permission.MERGE_RESIDENTS):
        raise Forbidden("只有中心管理者可以导入历史数据", "only centre managers may import files")
    if kind not in IMPORTERS:
        raise InvalidInput("kind", "导入类型应为居民或随访", "kind must be residents or followups")
    if confirm_digest is not None and confirm_digest != digest(data):
        raise Conflict(
            "文件与试运行时的不同：请重新试运行后再确认导入",
            "the file differs from the one of the dry run: run the dry run again",
        )
    options = Options(org_code, source_system or None, dry_run=confirm_digest is None, actor=actor)
    return IMPORTERS[kind](uow, clock, data, options)
