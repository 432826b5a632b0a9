"""导入历史数据: the centre manager uploads a legacy 基本公卫 export (docs/legacy-import.md).

"试运行" posts the file for a dry run and shows what would happen; "确认导入" posts the same file
with the dry run's digest and imports it. With htmx the result replaces the block under the form
and the chosen file stays in the form, so confirming needs no second choice of the file.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from manbing.domain.errors import DomainError, InvalidInput
from manbing.services import legacy_upload
from manbing.services.actor import Actor
from manbing.services.legacy_import import MAX_BYTES, Outcome, Report
from manbing.web.deps import ContainerDep, OptionalActorDep, check_csrf
from manbing.web.errors import status_for
from manbing.web.ui import forms
from manbing.web.ui.render import render

router = APIRouter(include_in_schema=False)
SHOWN_ROWS = 300


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
