"""The indicator report of a unit and period as one A4 HTML page, printed to PDF by Chromium.

Used by the dashboard (``/indicators/report`` and ``/indicators/report.pdf``) and by the CLI
(``manbing indicators-report``): both render the same template from ``services.reports.report``
(scope-checked), and ``web.ui.pdf.html_to_pdf`` prints it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from manbing.domain.indicators import CATALOGUE, IndicatorInfo, Kind
from manbing.services.reports import Number, Report
from manbing.web.i18n import translations
from manbing.web.ui.render import local_time, templates

FAMILY_TITLES = {
    "hypertension": "高血压",
    "t2dm": "2型糖尿病",
    "records": "健康档案",
    "population": "老年人健康管理",
    "contracts": "家庭医生签约",
    "mortality": "重大慢性病过早死亡",
    "referrals": "转诊与三高共管",
    "hearts": "WHO HEARTS",
    "quality": "数据质量",
}
FAMILY_TITLES_EN = {
    "hypertension": "Hypertension",
    "t2dm": "Type 2 diabetes",
    "records": "Health records",
    "population": "Elderly health management",
    "contracts": "Family-doctor contracts",
    "mortality": "Premature NCD mortality",
    "referrals": "Referrals and three-highs co-management",
    "hearts": "WHO HEARTS",
    "quality": "Data quality",
}
KEY_CODES = (
    "htn_standard_rate",
    "htn_bp_control_rate",
    "t2dm_standard_rate",
    "t2dm_fpg_control_rate",
    "elderly_health_management_rate",
    "contract_rate",
)


def display(value: float | None, kind: Kind) -> str:
    if value is None:
        return "—"
    if kind is Kind.COUNT:
        return f"{value:.0f}"
    if kind is Kind.PROBABILITY:
        return f"{value * 100:.2f}%"
    return f"{value * 100:.1f}%"


def report_context(
    report: Report, *, locale: str, zone: str, generated_at: datetime, pdf_url: str = ""
) -> dict[str, Any]:
    board = report.board
    english = locale == "en"
    names = {i.code: (i.name_en if english else i.name_zh) for i in CATALOGUE}
    kinds = {i.code: i.kind for i in CATALOGUE}
    titles = FAMILY_TITLES_EN if english else FAMILY_TITLES
    families: dict[str, list[IndicatorInfo]] = {}
    for info in CATALOGUE:
        if info.code in board.numbers:
            families.setdefault(info.family, []).append(info)
    shown = [code for code in KEY_CODES if code in board.numbers]
    trend_codes = [
        c for c in KEY_CODES if c in board.trends and any(v is not None for _, v in board.trends[c])
    ]
    trend_periods = sorted({p for c in trend_codes for p, _ in board.trends[c]})
    quality: list[tuple[IndicatorInfo, Number]] = [
        (info, board.numbers[info.code])
        for info in CATALOGUE
        if info.family == "quality" and info.code in board.numbers
    ]
    no_denominator = [
        names[i.code]
        for i in CATALOGUE
        if i.kind is Kind.RATE and i.code in board.numbers and not board.numbers[i.code].denominator
    ]
    trans = translations(locale)
    return {
        "report": report,
        "board": board,
        "names": names,
        "kinds": kinds,
        "families": [(titles.get(f, f), members) for f, members in families.items()],
        "key_codes": shown,
        "trend_codes": trend_codes,
        "trend_periods": trend_periods,
        "quality": quality,
        "no_denominator": no_denominator,
        "display": display,
        "generated_at": generated_at,
        "zone": zone,
        "local": local_time(zone),
        "pdf_url": pdf_url,
        "html_lang": "en" if english else "zh-CN",
        "_": trans.gettext,
        "gettext": trans.gettext,
        "ngettext": trans.ngettext,
    }


def report_html(
    report: Report, *, locale: str, zone: str, generated_at: datetime, pdf_url: str = ""
) -> str:
    template = templates.env.get_template("indicator_report.html")
    return template.render(
        report_context(report, locale=locale, zone=zone, generated_at=generated_at, pdf_url=pdf_url)
    )
