"""Import of legacy 基本公卫 exports (residents, follow-ups): the file, the run, the report.

A file is read whole first (CSV in UTF-8 / GBK / GB18030, or the first sheet of an .xlsx
workbook); a file that cannot be read, has no header row, misses a required column or exceeds
the size bounds is refused as a whole (``UnreadableFile``) and nothing is stored. Then each row
runs in a savepoint: a bad row is rolled back alone and reported with its row number, column and
reason (Chinese and English), the good rows are kept. A real run commits every ``CHUNK_ROWS``
rows, so it never holds the database's write lock for the whole file (on SQLite every other
writer waits for it); a run interrupted half way keeps the committed chunks and is completed by
running the same file again (the import is idempotent). A dry run does the same work in one
transaction and rolls it back, so its report is what the real run would do.
The row handlers are in ``legacy_residents`` and ``legacy_followups``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from manbing.db.models import Organization, User
from manbing.db.session import begin_sqlite_write, let_other_writers_in
from manbing.domain.audit import AuditAction
from manbing.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from manbing.domain.legacy_columns import Column, HeaderMap, map_header, require_columns
from manbing.domain.legacy_rows import CellError, RowErrors
from manbing.domain.organisations import Permission, Role
from manbing.services import access, audit, auth
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.tabular import (
    XLSX_MAGIC,
    RowError,
    UnreadableFile,
    csv_lines,
    decode,
    refuse_empty_or_binary,
    too_many_rows,
    xlsx_lines,
)
from manbing.services.unit_of_work import UnitOfWork

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 20_000
HEADER_SEARCH = 5  # title rows an export may put above the header
# Rows per committed transaction of a real run. A row takes a few milliseconds (matching, rules,
# audit), so 200 rows hold the write lock for two or three seconds; much smaller chunks add
# commits (an fsync each on PostgreSQL) for no gain to the clinic's writers.
CHUNK_ROWS = 200
SERVICE_PASSWORD = "!legacy-import"  # not an argon2 hash: the account cannot sign in
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class Outcome(StrEnum):
    CREATED = "created"
    MATCHED = "matched"
    UPDATED = "updated"
    POSSIBLE_DUPLICATE = "possible_duplicate"
    ADDED = "added"
    ALREADY_IMPORTED = "already_imported"
    ERROR = "error"

    @property
    def label_zh(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.CREATED: "新建档案",
    Outcome.MATCHED: "匹配已有档案",
    Outcome.UPDATED: "匹配并补充",
    Outcome.POSSIBLE_DUPLICATE: "疑似重复（待主索引核对）",
    Outcome.ADDED: "新增随访",
    Outcome.ALREADY_IMPORTED: "已导入过",
    Outcome.ERROR: "错误",
}


@dataclass(frozen=True, slots=True)
class Problem:
    column: str  # the header as written in the file, or "" for the row
    message: str
    message_en: str

    def zh(self, line: int) -> str:
        where = f"“{self.column}”列" if self.column else ""
        return f"第{line}行{where}：{self.message}"

    def en(self, line: int) -> str:
        where = f", column {self.column!r}" if self.column else ""
        return f"row {line}{where}: {self.message_en}"


@dataclass
class RowResult:
    line: int
    outcome: Outcome
    record_number: str | None = None  # the resident's manbing 健康档案编号
    problems: list[Problem] = field(default_factory=list)
    note: str = ""  # e.g. the follow-up classification, the enrolments added


@dataclass
class Report:
    kind: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()

    @property
    def counts(self) -> Counter[Outcome]:
        return Counter(r.outcome for r in self.rows)

    @property
    def errors(self) -> list[RowResult]:
        return [r for r in self.rows if r.outcome is Outcome.ERROR]


@dataclass(frozen=True)
class Sheet:
    """A file read and its header mapped: the data rows by line, cells by column key."""

    header: HeaderMap
    columns: tuple[Column, ...]
    rows: list[tuple[int, dict[str, str]]]
    shape: list[RowError]

    def label(self, key: str) -> str:
        if key in self.header.labels:
            return self.header.labels[key]
        return next((c.label_zh for c in self.columns if c.key == key), key)


@dataclass(frozen=True)
class Options:
    org_code: str  # "" with ``actor``: the actor's own organisation
    source_system: str | None = None  # default: the organisation code
    dry_run: bool = False
    username: str | None = None  # act as this account; else the org's import service account
    actor: Actor | None = None  # a signed-in user (the web upload)


def source_system_uri(source: str) -> str:
    """The identifier system under which a legacy record number (档案编号) is kept."""
    return f"urn:manbing:legacy:{source}:record-number"


def check_source(source: str) -> str:
    if not _SOURCE.fullmatch(source):
        raise InvalidInput(
            "source_system",
            "来源系统名称只能含字母、数字、点、横线和下划线（最多40个字符）",
            "the source system name: letters, digits, '.', '-', '_' (at most 40 characters)",
        )
    return source


def _lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if len(data) > MAX_BYTES:
        raise UnreadableFile(
            "file",
            f"文件超过{MAX_BYTES // 1024 // 1024} MB，请拆分后分批导入",
            f"the file is larger than {MAX_BYTES // 1024 // 1024} MB: split it",
        )
    refuse_empty_or_binary(data, workbook_ok=True)
    if data.startswith(XLSX_MAGIC):
        yield from xlsx_lines(data, max_rows=MAX_ROWS + 1)
    else:
        text = decode(data, gb18030=True)
        if "\x00" in text:
            raise UnreadableFile(
                "file",
                "文件含有空字符（可能是UTF-16编码的文本）：请另存为“CSV UTF-8（逗号分隔）”或xlsx",
                "the file holds NUL characters (UTF-16 text without a byte-order mark?):"
                " save it as CSV UTF-8 or .xlsx",
            )
        yield from csv_lines(text)


def read(data: bytes, columns: tuple[Column, ...], required: tuple[str, ...]) -> Sheet:
    """Read and map a file; raises ``UnreadableFile`` for a file refused as a whole."""
    lines = _lines(data)
    header: HeaderMap | None = None
    width = 0
    for seen, (_line, cells) in enumerate(lines):
        if seen >= HEADER_SEARCH:
            break
        if not any(c.strip() for c in cells):
            continue
        try:
            found = map_header([c.strip() for c in cells], columns)
        except InvalidInput as exc:
            raise UnreadableFile(exc.field, exc.message, exc.message_en) from None
        if found.matches() >= 2:
            header, width = found, len(cells)
            break
    if header is None:
        raise UnreadableFile(
            "header",
            "找不到表头行：第一行应为列名（如 档案编号、姓名、身份证号），见导入说明",
            "no header row: the first row must name the columns (e.g. 档案编号, 姓名, 身份证号);"
            " see docs/legacy-import.md",
        )
    try:
        require_columns(header, columns, required)
    except InvalidInput as exc:
        raise UnreadableFile(exc.field, exc.message, exc.message_en) from None
    rows, shape = _data_rows(lines, header, width)
    if not rows and not shape:
        raise UnreadableFile("file", "文件中没有数据行", "the file has no data rows")
    return Sheet(header, columns, rows, shape)


def _data_rows(
    lines: Iterable[tuple[int, list[str]]], header: HeaderMap, width: int
) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    rows: list[tuple[int, dict[str, str]]] = []
    shape: list[RowError] = []
    for line, cells in lines:
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(shape) >= MAX_ROWS:
            raise too_many_rows(MAX_ROWS)
        if any(c.strip() for c in cells[width:]):
            shape.append(
                RowError(
                    line,
                    f"有 {len(cells)} 个值，表头只有 {width} 列（数字中的千位逗号须去掉或加引号）",
                    f"{len(cells)} cells but {width} header columns"
                    " (a thousands separator must be removed or quoted)",
                )
            )
            continue
        rows.append(
            (line, {k: cells[n] if n < len(cells) else "" for k, n in header.positions.items()})
        )
    return rows, shape


def acting_for(session: Session, options: Options, clock: Clock) -> tuple[Actor, Organization]:
    """The actor of an import and the organisation that will manage its residents."""
    for text in (options.org_code, options.username or ""):
        if len(text) > 64 or any(not ch.isprintable() for ch in text):
            raise NotFound(
                "机构编码或账号不存在", f"no such organisation or account: {text[:64]!r}"
            )
    if not options.org_code and options.actor is not None and options.actor.organization_id:
        org = session.get(Organization, options.actor.organization_id)  # the user's own
    else:
        org = session.scalars(
            select(Organization).where(Organization.code == options.org_code)
        ).one_or_none()
    if org is None:
        raise NotFound("机构编码不存在", f"no organisation with code {options.org_code!r}")
    if options.actor is not None:
        actor = options.actor
    elif options.username is not None:
        user = session.scalars(select(User).where(User.username == options.username)).first()
        if user is None or not user.active:
            raise NotFound("账号不存在或已停用", f"no active account {options.username!r}")
        actor = auth.actor_for(session, user)
    else:
        actor = auth.actor_for(session, _service_account(session, org))
    access.require(actor, Permission.WRITE_RESIDENTS)
    access.require(actor, Permission.WRITE_CLINICAL)
    access.require_org_in_scope(session, actor, org.id)
    if not org.type.is_primary_care:
        raise InvalidInput(
            "org",
            f"{org.name}不是基层医疗卫生机构：居民档案和慢病随访由社区卫生服务中心（站）、乡镇卫生院"
            "或村卫生室管理",
            f"{org.code} is not a primary-care organisation: residents are managed by community"
            " or township health centres, stations and village clinics",
        )
    return actor, org


def _service_account(session: Session, org: Organization) -> User:
    """``legacy-import:<org code>``, a public-health worker of the organisation (its scope is
    the organisation's subtree) whose password is unusable; created on first use."""
    username = f"legacy-import:{org.code}"[:64]
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        user = User(
            username=username,
            password_hash=SERVICE_PASSWORD,
            display_name="历史数据导入",
            role=Role.PUBLIC_HEALTH_WORKER,
            organization_id=org.id,
        )
        session.add(user)
        session.flush()
    return user


RowHandler = Callable[[Session, int, dict[str, str]], RowResult]


def run(
    uow: UnitOfWork,
    clock: Clock,
    sheet: Sheet,
    options: Options,
    kind: str,
    make_handler: Callable[[Session, Actor, Organization, str], RowHandler],
    order: Callable[[list[tuple[int, dict[str, str]]]], list[tuple[int, dict[str, str]]]]
    | None = None,
) -> Report:
    """Run every row in a savepoint; a real run commits every ``CHUNK_ROWS`` rows, a dry run
    rolls everything back.

    ``make_handler`` gets the session, the actor, the organisation and the source system's name
    (by default the organisation's code). An unexpected exception rolls back the chunk it
    happened in, records an audit event for the rows already committed and propagates: run the
    file again to complete the import."""
    if options.source_system is not None:
        check_source(options.source_system)
    report = Report(kind, options.dry_run, ignored_columns=sheet.header.ignored)
    report.rows += [
        RowResult(e.line, Outcome.ERROR, problems=[Problem("", e.message, e.message_en)])
        for e in sheet.shape
    ]
    with uow:
        session = uow.session
        begin_sqlite_write(session.connection())
        actor, org = acting_for(session, options, clock)
        source = check_source(options.source_system or org.code)
        handle = make_handler(session, actor, org, source)
        committed = 0  # rows of the file run and committed
        try:
            for n, (line, cells) in enumerate(order(sheet.rows) if order else sheet.rows, 1):
                report.rows.append(_one_row(session, sheet, handle, line, cells))
                if not options.dry_run and n % CHUNK_ROWS == 0:
                    uow.commit()
                    committed = n
                    let_other_writers_in(session)
                    begin_sqlite_write(session.connection())
        except BaseException as exc:
            if committed:  # audit what the committed chunks hold
                del report.rows[len(sheet.shape) + committed :]
                try:
                    session.rollback()
                    _summary(session, clock, actor, org, source, kind, report, interrupted=True)
                    uow.commit()
                except SQLAlchemyError:
                    pass  # the database is gone: the error to report is the first one
            if isinstance(exc, SQLAlchemyError):
                raise _interrupted(exc, committed) from exc
            raise
        report.rows.sort(key=lambda r: r.line)
        if not options.dry_run:
            _summary(session, clock, actor, org, source, kind, report)
            uow.commit()
    return report


def _interrupted(exc: SQLAlchemyError, committed: int) -> Conflict:
    """A database failure between rows (a lost connection, the lock not granted in time)."""
    reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
    if not committed:
        return Conflict(f"导入中断（数据库错误：{reason}），未保存任何数据：请稍后重试",
                        f"the import stopped (database error: {reason}); nothing was stored:"
                        " try again later")  # fmt: skip
    return Conflict(
        f"导入中断（数据库错误：{reason}）：已保存{committed}行；请重新导入同一文件完成导入，"
        "已导入的行不会重复",
        f"the import stopped (database error: {reason}) after saving {committed} rows: import"
        " the same file again to complete it (the rows already imported are not repeated)",
    )


def _summary(
    session: Session,
    clock: Clock,
    actor: Actor,
    org: Organization,
    source: str,
    kind: str,
    report: Report,
    *,
    interrupted: bool = False,
) -> None:
    """The run's audit event with the counts of ``report``."""
    detail: dict[str, object] = {"org": org.code, "source_system": source, "rows": len(report.rows)}
    detail.update({o.value: n for o, n in report.counts.items()})
    if interrupted:
        detail["interrupted"] = True
    audit.record(session, actor, AuditAction.CREATE, f"legacy_import_{kind}", at=clock.now(),
                 detail=detail)  # fmt: skip


def _one_row(
    session: Session, sheet: Sheet, handle: RowHandler, line: int, cells: dict[str, str]
) -> RowResult:
    try:
        with session.begin_nested():
            result = handle(session, line, cells)
            session.flush()
        return result
    except RowErrors as exc:
        problems = [_problem(sheet, e) for e in exc.errors]
    except InvalidInput as exc:
        problems = [_problem(sheet, CellError(exc.field, exc.message, exc.message_en))]
    except DomainError as exc:
        problems = [Problem("", exc.message, exc.message_en)]
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        problems = [Problem("", f"数据库拒绝保存：{reason}", f"the database refused: {reason}")]
    return RowResult(line, Outcome.ERROR, problems=problems)


def _problem(sheet: Sheet, error: CellError) -> Problem:
    known = {c.key for c in sheet.columns}
    return Problem(sheet.label(error.column) if error.column in known else "", error.message,
                   error.message_en)  # fmt: skip
