"""导入历史数据: the centre manager uploads a legacy 基本公卫 export (docs/legacy-import.md).

"试运行" posts the file for a dry run and shows what would happen; "确认导入" posts the same file
with the dry run's digest and imports it. With htmx the result replaces the block under the form
and the chosen file stays in the form, so confirming needs no second choice of the file.

The per-row result (.xlsx, the command line's ``--report`` file) of the user's last dry run or
import is kept in this process's memory, keyed by user id, for ``GET /import/report.xlsx``: the
download re-runs nothing and only its user can fetch it. At most ``KEPT_REPORTS`` users' files are
kept (the oldest is dropped); a restart, or another worker process, has none (the page then asks
for the dry run again).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from manbing.domain.errors import DomainError, InvalidInput, NotFound
from manbing.services import legacy_report, legacy_upload
from manbing.services.actor import Actor
from manbing.services.legacy_import import MAX_BYTES, Outcome, Report
from manbing.web.deps import ContainerDep, OptionalActorDep, check_csrf
from manbing.web.errors import status_for
from manbing.web.ui import forms
from manbing.web.ui.render import locale_of, render

router = APIRouter(include_in_schema=False)
SHOWN_ROWS = 300
KEPT_REPORTS = 16  # users whose last result file is kept (about 1 MB for 20 000 rows each)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _LastReports:
    """The last result file of each user, at most ``KEPT_REPORTS`` (least recently stored out)."""

    def __init__(self) -> None:
        self._files: OrderedDict[uuid.UUID, tuple[bool, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, user_id: uuid.UUID, dry_run: bool, content: bytes) -> None:
        with self._lock:
            self._files.pop(user_id, None)
            self._files[user_id] = (dry_run, content)
            while len(self._files) > KEPT_REPORTS:
                self._files.popitem(last=False)

    def get(self, user_id: uuid.UUID) -> tuple[bool, bytes] | None:
        with self._lock:
            return self._files.get(user_id)


last_reports = _LastReports()


def _keep(actor: Actor, report: Report) -> None:
    last_reports.put(actor.user_id, report.dry_run, legacy_report.render(report, "xlsx"))


async def read_upload(upload: object) -> bytes:
    if not isinstance(upload, UploadFile):
        raise InvalidInput("file", "请选择要导入的文件", "choose a file to import")
    data = await upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            "file", "文件超过20 MB，请拆分后分批导入", "the file is larger than 20 MB: split it"
        )
    return data


def _context(actor: Actor, **extra: Any) -> dict[str, Any]:
    base = {"actor": actor, "report": None, "error": None, "digest": None, "outcomes": Outcome}
    return {**base, "shown": SHOWN_ROWS, **extra}


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, actor: OptionalActorDep) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "legacy_import.html", _context(actor))


async def _submit(
    request: Request, actor: Actor, container: ContainerDep, confirm: bool
) -> Response:
    form = await request.form(max_files=1, max_fields=10)
    check_csrf(request, forms.text(form, "csrf_token"))
    kind = forms.text(form, "kind")
    report: Report | None = None
    error: DomainError | None = None
    digest = None
    try:
        data = await read_upload(form.get("file"))
        # minutes for a large file: off the event loop, so other requests are served meanwhile
        report = await run_in_threadpool(
            legacy_upload.upload,
            container.uow(),
            container.clock,
            actor,
            kind,
            data,
            org_code=forms.text(form, "org")[:64],
            source_system=forms.text(form, "source_system")[:64] or None,
            confirm_digest=forms.text(form, "digest")[:64] if confirm else None,
        )
        digest = legacy_upload.digest(data) if report.dry_run else None
        await run_in_threadpool(_keep, actor, report)
    except DomainError as exc:
        error = exc
    finally:
        await form.close()
    context = _context(actor, report=report, error=error, digest=digest, kind=kind)
    status = status_for(error) if error is not None else 200
    template = (
        "_legacy_import_result.html"
        if request.headers.get("hx-request") == "true"
        else "legacy_import.html"
    )
    return render(request, template, context, status_code=status)


@router.post("/import/preview", response_class=HTMLResponse)
async def preview_submit(
    request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return await _submit(request, actor, container, confirm=False)


@router.post("/import/run", response_class=HTMLResponse)
async def run_submit(
    request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return await _submit(request, actor, container, confirm=True)


@router.get("/import/report.xlsx", response_model=None)
def download_report(request: Request, actor: OptionalActorDep) -> Response:
    """The signed-in user's last result file; nothing is run again."""
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    kept = last_reports.get(actor.user_id)
    if kept is None:
        error = NotFound(
            "没有可下载的导入结果（服务重启后结果不再保留）：请重新试运行",
            "no import result to download (results are not kept over a restart): run the dry"
            " run again",
        )
        return render(request, "legacy_import.html", _context(actor, error=error), status_code=404)
    dry_run, content = kept
    ascii_name = "dry-run-result.xlsx" if dry_run else "import-result.xlsx"
    name = (
        ascii_name
        if locale_of(request) == "en"
        else ("试运行结果.xlsx" if dry_run else "导入结果.xlsx")
    )
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )
