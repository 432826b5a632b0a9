"""Template rendering with the request's locale and CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from manbing.web.deps import SESSION_LOCALE, csrf_token
from manbing.web.i18n import pick_locale, translations

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
templates.env.add_extension("jinja2.ext.i18n")


def locale_of(request: Request) -> str:
    return pick_locale(
        request.query_params.get("lang") or request.session.get(SESSION_LOCALE),
        request.headers.get("accept-language") if not request.session.get(SESSION_LOCALE) else None,
    )


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(zone: str) -> Callable[..., str]:
    """Times are stored in UTC; pages show them in the platform's zone (MANBING_TIMEZONE)."""

    def show(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(_zone(zone)).strftime(fmt) if value is not None else ""

    return show


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    locale = locale_of(request)
    trans = translations(locale)
    env_context = {
        "request": request,
        "locale": locale,
        "html_lang": "zh-CN" if locale == "zh_CN" else "en",
        "csrf_token": csrf_token(request),
        "_": trans.gettext,
        "gettext": trans.gettext,
        "ngettext": trans.ngettext,
        "local": local_time(request.app.state.container.settings.timezone),
        **context,
    }
    return templates.TemplateResponse(request, name, env_context, status_code=status_code)
