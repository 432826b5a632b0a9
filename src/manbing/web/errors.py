"""Mapping domain exceptions to HTTP responses, once, at the edge."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from manbing.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from manbing.web import fhir_mount

log = logging.getLogger(__name__)

_STATUS = {InvalidInput: 422, NotFound: 404, Forbidden: 403, Conflict: 409, Unauthenticated: 401}


def status_for(exc: DomainError) -> int:
    for kind, status in _STATUS.items():
        if isinstance(exc, kind):
            return status
    return 400


def error_body(exc: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"message": exc.message, "message_en": exc.message_en}
    if isinstance(exc, InvalidInput):
        body["field"] = exc.field
    existing = getattr(exc, "existing_id", None)
    if existing is not None:
        body["existing_id"] = str(existing)
    return {"error": body}


_PYDANTIC_ZH = {
    "missing": "必填项",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为是/否",
    "date_from_datetime_parsing": "日期格式应为YYYY-MM-DD",
    "date_parsing": "日期格式应为YYYY-MM-DD",
    "datetime_parsing": "时间格式应为ISO 8601",
    "datetime_from_date_parsing": "时间格式应为ISO 8601",
    "uuid_parsing": "编号格式不正确",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "json_invalid": "JSON格式错误",
    "string_too_long": "文本过长",
    "string_too_short": "文本过短",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "model_attributes_type": "格式不正确",
    "dict_type": "应为对象",
    "list_type": "应为列表",
}


def _wants_page(request: Request) -> bool:
    """Pages (not the JSON API) answer errors with an HTML page in the user's language."""
    path = request.url.path
    return not path.startswith(("/api", "/static")) and "text/html" in request.headers.get(
        "accept", ""
    )


def _page(request: Request, message: str, status: int) -> Response:
    from manbing.web.ui.render import render

    return render(request, "error.html", {"message": message, "status": status}, status)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if _wants_page(request):
            return _page(request, exc.message, status_for(exc))
        return JSONResponse(error_body(exc), status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            field = ".".join(loc) or "body"
            zh = _PYDANTIC_ZH.get(str(err.get("type")), "输入不正确")
            errors.append(
                {"field": field, "message": f"{field}：{zh}", "message_en": str(err.get("msg"))}
            )
        first = (
            errors[0]
            if errors
            else {"field": "body", "message": "输入不正确", "message_en": "invalid input"}
        )
        return JSONResponse({"error": {**first, "errors": errors}}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if fhir_mount.is_fhir_path(request.url.path):
            # a path the FHIR route does not match (a newline in an id), a method it lacks
            code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "invalid")
            return fhir_mount.error_for(
                exc.status_code, code, f"{request.method} {request.url.path!r}: {exc.detail}"
            )
        zh = {
            400: "请求内容无法解析（应为UTF-8编码的JSON）",  # FastAPI could not parse the body
            401: "请先登录",
            403: "无权访问",
            404: "未找到",
            405: "不支持的请求方法",
        }.get(exc.status_code, "请求错误")
        if _wants_page(request) and exc.status_code in (403, 404):
            return _page(request, zh, exc.status_code)
        return JSONResponse(
            {"error": {"message": zh, "message_en": str(exc.detail)}},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        """A write that broke a uniqueness or reference rule the service did not check first
        (or lost a race with a concurrent write): the transaction was rolled back, nothing of it
        is stored, and the caller may retry. The SQL and its values stay in the log."""
        log.warning("integrity error: %s", exc.orig)
        message = "数据冲突：该记录已存在或已被他人修改，请刷新后重试"
        if _wants_page(request):
            return _page(request, message, 409)
        return JSONResponse(
            {"error": {"message": message, "message_en": "conflict with stored data"}},
            status_code=409,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {"error": {"message": "系统内部错误，请稍后重试", "message_en": "internal error"}},
            status_code=500,
        )
