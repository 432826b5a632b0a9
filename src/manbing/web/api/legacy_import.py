"""Legacy 基本公卫 import over JSON: upload a file (the raw request body), dry run or confirm."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from manbing.domain.errors import InvalidInput
from manbing.services import legacy_upload
from manbing.services.legacy_import import MAX_BYTES, Report
from manbing.web.api.schemas import ERRORS
from manbing.web.deps import ActorDep, ContainerDep, CsrfDep

router = APIRouter(
    prefix="/api/v1/imports", tags=["imports"], responses=ERRORS, dependencies=[CsrfDep]
)


class ProblemOut(BaseModel):
    column: str
    message: str
    message_en: str


class RowOut(BaseModel):
    row: int
    outcome: str
    outcome_label: str
    record_number: str | None
    problems: list[ProblemOut]
    note: str


class ImportOut(BaseModel):
    kind: str
    dry_run: bool
    digest: str | None  # send it back as ``confirm`` to import the same file
    counts: dict[str, int]
    ignored_columns: list[str]
    rows: list[RowOut]


def _out(report: Report, digest: str | None) -> ImportOut:
    return ImportOut(
        kind=report.kind,
        dry_run=report.dry_run,
        digest=digest,
        counts={o.value: n for o, n in report.counts.items()},
        ignored_columns=list(report.ignored_columns),
        rows=[
            RowOut(
                row=r.line,
                outcome=r.outcome.value,
                outcome_label=r.outcome.label_zh,
                record_number=r.record_number,
                problems=[
                    ProblemOut(column=p.column, message=p.message, message_en=p.message_en)
                    for p in r.problems
                ],
                note=r.note,
            )
            for r in report.rows
        ],
    )


@router.post("/{kind}", response_model=ImportOut)
async def import_file(
    kind: Literal["residents", "followups"],
    request: Request,
    actor: ActorDep,
    container: ContainerDep,
    org: Annotated[str, Query(max_length=64)] = "",
    source_system: Annotated[str | None, Query(max_length=40)] = None,
    confirm: Annotated[
        str | None, Query(max_length=64, description="digest of the dry run")
    ] = None,
) -> ImportOut:
    """The file is the request body (.xlsx or CSV). Without ``confirm`` a dry run; with the dry
    run's ``digest`` as ``confirm``, the import of the same file."""
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BYTES:
            raise InvalidInput(
                "file", "文件超过20 MB，请拆分后分批导入", "the file is larger than 20 MB"
            )
    data = bytes(received)
    # minutes for a large file: off the event loop, so other requests are served meanwhile
    report = await run_in_threadpool(
        legacy_upload.upload, container.uow(), container.clock, actor, kind, data,
        org_code=org, source_system=source_system, confirm_digest=confirm,
    )  # fmt: skip
    return _out(report, legacy_upload.digest(data) if report.dry_run else None)
