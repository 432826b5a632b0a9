"""Translations: English message ids in code and templates, Simplified Chinese by default.

Catalogues are ``locale/<lang>/LC_MESSAGES/messages.po``; they are compiled in memory at start-up
with Babel, so there is no build step.
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED = ("zh_CN", "en")
DEFAULT = "zh_CN"
_LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    po = _LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_locale(requested: str | None, accept_language: str | None) -> str:
    if requested in SUPPORTED:
        return requested
    if accept_language and accept_language.lower().startswith("en"):
        return "en"
    return DEFAULT
