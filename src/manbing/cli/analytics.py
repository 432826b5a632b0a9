"""``manbing warehouse …`` and ``manbing indicators``: extract, compute, store, print."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from manbing.analytics import warehouse as wh_extract
from manbing.analytics.compute import ALL_VALUES, Result, compute
from manbing.analytics.engine import EngineName, open_warehouse
from manbing.analytics.indicators import ALL, BY_CODE, Kind, Params
from manbing.analytics.periods import Period, parse_period, recent_periods
from manbing.analytics.store import STORE_FILE, BuildRunning, refresh_store
from manbing.analytics.warehouse import WAREHOUSE_TABLES
from manbing.config import Settings
from manbing.db.models import Organization
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.census import CSV_COLUMNS
from manbing.domain.errors import DomainError
from manbing.domain.rules.blood_pressure import BpTargetProfile
from manbing.services import census, reports, tabular
from manbing.services.unit_of_work import UnitOfWork


class WarehouseEngine(StrEnum):
    """The engines that read the warehouse (PostgreSQL in place is the benchmark's only)."""

    DUCKDB = EngineName.DUCKDB.value
    SPARK = EngineName.SPARK.value


console = Console()
warehouse_app = typer.Typer(
    help="The Parquet warehouse the indicators run on.", no_args_is_help=True
)


def _settings(database_url: str | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"database_url": database_url}) if database_url else settings


def _uow(settings: Settings) -> UnitOfWork:
    return UnitOfWork(make_session_factory(make_engine(settings.database_url)))


def rows_of(results: list[Result]) -> list[reports.ResultRow]:
    return [
        reports.ResultRow(
            r.indicator,
            r.unit_kind,
            r.unit_id,
            r.period.label,
            r.period.start,
            r.period.end,
            r.sex,
            r.age_band,
            r.numerator,
            r.denominator,
            r.value,
        )
        for r in results
    ]


@warehouse_app.command("extract")
def extract(
    warehouse: Annotated[Path | None, typer.Option(help="warehouse directory")] = None,
    full: Annotated[bool, typer.Option(help="copy every row, not only the changed ones")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Copy the operational tables into the Parquet warehouse (rows changed since the last run)."""
    settings = _settings(database_url)
    directory = warehouse or settings.warehouse_dir
    factory = make_session_factory(make_engine(settings.database_url))
    with factory() as session:
        done = _extract(session, directory, now=datetime.now(UTC), full=full)
    for t in done:
        console.print(f"{t.table}: {t.rows} rows ({'full' if t.full else 'changed'})")
    _store(directory)


def _extract(
    session: Session, directory: Path, *, now: datetime, full: bool = False
) -> list[wh_extract.TableExtract]:
    """Extract, or exit 1 with the reason while another extract into the folder runs."""
    try:
        return wh_extract.extract(session, directory, now=now, full=full)
    except wh_extract.ExtractRunning as exc:
        console.print(f"[red]{escape(exc.message)}（{escape(exc.message_en)}）[/red]")
        raise typer.Exit(1) from exc


def _store(directory: Path, *, required: bool = False) -> None:
    """Rebuild the DuckDB copy. While another build runs, ``store`` (``required``) fails; after
    an extract the new Parquet is in place and correct, so only a warning is printed (the
    engine reads the Parquet until the copy is rebuilt)."""
    try:
        seconds = refresh_store(directory)
    except BuildRunning as exc:
        colour = "red" if required else "yellow"
        console.print(f"[{colour}]{escape(exc.message)}（{escape(exc.message_en)}）[/{colour}]")
        if required:
            raise typer.Exit(1) from exc
        return
    console.print(f"DuckDB copy {directory / STORE_FILE}: {seconds:.1f} s")


@warehouse_app.command("store")
def store(
    warehouse: Annotated[Path | None, typer.Option(help="warehouse directory")] = None,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Rebuild DuckDB's own copy of the warehouse (done after every extract; run it after
    writing a warehouse by other means, e.g. ``manbing synth --to parquet``)."""
    directory = warehouse or _settings(database_url).warehouse_dir
    if not all((directory / t).is_dir() for t in WAREHOUSE_TABLES):
        console.print(f"[red]{directory} 不是完整的数据仓库（is not a complete warehouse）[/red]")
        raise typer.Exit(2)
    _store(directory, required=True)


@warehouse_app.command("refresh")
def refresh(
    warehouse: Annotated[Path | None, typer.Option(help="warehouse directory")] = None,
    engine: Annotated[
        WarehouseEngine, typer.Option(help="duckdb or spark")
    ] = WarehouseEngine.DUCKDB,
    master: Annotated[str, typer.Option(help="Spark master URL")] = "local[2]",
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Extract the changes, then recompute and store the recent periods (to absorb late data)."""
    settings = _settings(database_url)
    directory = warehouse or settings.warehouse_dir
    now = datetime.now(UTC)
    factory = make_session_factory(make_engine(settings.database_url))
    with factory() as session:
        _extract(session, directory, now=now)
    _store(directory)
    wh = open_warehouse(EngineName(engine), directory, master=master)
    params = Params(bp_profile=BpTargetProfile(settings.bp_target_profile.value))
    for period in recent_periods(now.date()):
        count = reports.store(
            _uow(settings), rows_of(compute(wh, period, params)), engine=engine.value, now=now
        )
        console.print(f"{period.label}: {count} results stored")
    wh.close()


def _unit_for_region(settings: Settings, region: str | None) -> tuple[str, str] | None:
    """A 6-digit division code, or an organisation code / id → (unit_kind, unit_id)."""
    if region is None:
        return None
    if region.isdigit() and len(region) in (6, 12):
        return ("division", region[:6])
    factory = make_session_factory(make_engine(settings.database_url))
    with factory() as session:
        org = session.scalars(select(Organization).where(Organization.code == region)).one_or_none()
    if org is None:
        raise typer.BadParameter(f"unknown region or organisation code {region!r}")
    return ("org", str(org.id))


def _rate(value: float | None, kind: Kind) -> str:
    if value is None:
        return "—"
    if kind is Kind.COUNT:
        return f"{value:.0f}"
    return f"{value * 100:.2f}%"


def indicators(
    period: Annotated[str, typer.Option(help="2026Q3, 2026-07, 2026 or 2026-01-01..2026-03-31")],
    region: Annotated[
        str | None,
        typer.Option(help="division code (330108) or organisation code; default: every unit"),
    ] = None,
    engine: Annotated[
        WarehouseEngine, typer.Option(help="duckdb (default) or spark")
    ] = WarehouseEngine.DUCKDB,
    master: Annotated[
        str, typer.Option(help="Spark master: local[N] or spark://host:7077")
    ] = "local[2]",
    format: Annotated[str, typer.Option(help="table, json or xlsx")] = "table",
    output: Annotated[Path | None, typer.Option(help="file to write (xlsx, json)")] = None,
    warehouse: Annotated[Path | None, typer.Option(help="warehouse directory")] = None,
    store: Annotated[bool, typer.Option(help="store the results for the dashboards")] = True,
    indicator: Annotated[list[str] | None, typer.Option(help="only these indicator codes")] = None,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Compute the indicators of a period on the warehouse, store them and print one region."""
    settings = _settings(database_url)
    if format not in ("table", "json", "xlsx"):
        raise typer.BadParameter("format must be table, json or xlsx")
    try:
        p = parse_period(period)
    except DomainError as exc:
        raise typer.BadParameter(exc.message_en) from exc
    unit = _unit_for_region(settings, region)
    wh = open_warehouse(EngineName(engine), warehouse or settings.warehouse_dir, master=master)
    params = Params(bp_profile=BpTargetProfile(settings.bp_target_profile.value))
    try:
        results = compute(wh, p, params, indicator)
    finally:
        wh.close()
    if store:
        reports.store(_uow(settings), rows_of(results), engine=engine.value, now=datetime.now(UTC))
    shown = [r for r in results if unit is None or (r.unit_kind, r.unit_id) == unit]
    _emit(shown, p, format, output)


def _emit(results: list[Result], period: Period, format: str, output: Path | None) -> None:
    order = {i.code: n for n, i in enumerate(ALL)}
    results = sorted(
        results, key=lambda r: (r.unit_kind, r.unit_id, order[r.indicator], r.sex, r.age_band)
    )
    totals = sorted(
        (r for r in results if r.sex == ALL_VALUES and r.age_band == ALL_VALUES),
        key=lambda r: (r.unit_kind, r.unit_id, [i.code for i in ALL].index(r.indicator)),
    )
    if format == "json":
        text = json.dumps(
            [
                {
                    "indicator": r.indicator,
                    "name": BY_CODE[r.indicator].info.name_zh,
                    "unit_kind": r.unit_kind,
                    "unit_id": r.unit_id,
                    "period": period.label,
                    "sex": r.sex,
                    "age_band": r.age_band,
                    "numerator": r.numerator,
                    "denominator": r.denominator,
                    "value": r.value,
                }
                for r in results
            ],
            ensure_ascii=False,
            indent=1,
        )
        if output:
            output.write_text(text)
        else:
            typer.echo(text)
        return
    if format == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = period.label
        sheet.append(
            [
                "indicator",
                "指标",
                "unit_kind",
                "unit_id",
                "sex",
                "age_band",
                "numerator",
                "denominator",
                "value",
            ]
        )
        for r in results:
            sheet.append(
                [
                    r.indicator,
                    BY_CODE[r.indicator].info.name_zh,
                    r.unit_kind,
                    r.unit_id,
                    r.sex,
                    r.age_band,
                    r.numerator,
                    r.denominator,
                    r.value,
                ]
            )
        target = output or Path(f"indicators-{period.label.replace('..', '_')}.xlsx")
        book.save(target)
        console.print(f"written {target}")
        return
    table = Table(title=f"{period.label} ({period.start} – {period.end})")
    for col in ("unit", "indicator", "指标", "numerator", "denominator", "value"):
        table.add_column(col)
    for r in totals:
        ind = BY_CODE[r.indicator]
        table.add_row(
            f"{r.unit_kind}:{r.unit_id[:8]}",
            r.indicator,
            ind.info.name_zh,
            str(r.numerator),
            "" if r.denominator is None else str(r.denominator),
            _rate(r.value, ind.kind),
        )
    console.print(table)


def indicators_report(
    unit: Annotated[str, typer.Option(help="division code (330108) or organisation code")],
    username: Annotated[
        str, typer.Option(help="the account whose scope the report is checked against")
    ],
    period: Annotated[
        str | None, typer.Option(help="a stored period (2026Q3); default: the latest quarter")
    ] = None,
    format: Annotated[str, typer.Option(help="pdf or html")] = "pdf",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write")] = None,
    lang: Annotated[str, typer.Option(help="zh_CN or en")] = "zh_CN",
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Write the indicator report of a unit and period (stored results) as PDF or HTML."""
    from manbing.db.models import User
    from manbing.services import auth
    from manbing.web.ui.indicator_report import report_html
    from manbing.web.ui.pdf import PdfUnavailable, html_to_pdf

    if format not in ("pdf", "html"):
        raise typer.BadParameter("format must be pdf or html")
    if lang not in ("zh_CN", "en"):
        raise typer.BadParameter("lang must be zh_CN or en")
    settings = _settings(database_url)
    kind, unit_id = _unit_for_region(settings, unit) or ("division", unit)
    factory = make_session_factory(make_engine(settings.database_url))
    with factory() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None or not user.active:
            raise typer.BadParameter(f"no active user {username!r}")
        actor = auth.actor_for(session, user)
    now = datetime.now(UTC)
    try:
        found = reports.report(_uow(settings), actor, kind, unit_id, period, now)
    except DomainError as exc:
        typer.echo(err=True, message=exc.message_en)
        raise typer.Exit(1) from exc
    if not found.board.numbers:
        typer.echo(
            err=True,
            message=f"no stored results for {unit} in {found.board.period or 'any period'}: "
            "run manbing indicators (or manbing warehouse refresh) first",
        )
        raise typer.Exit(1)
    html = report_html(found, locale=lang, zone=settings.timezone, generated_at=now)
    target = output or Path(f"indicators-{found.board.unit.kind}-{found.board.period}.{format}")
    if format == "html":
        target.write_text(html, encoding="utf-8")
    else:
        try:
            target.write_bytes(html_to_pdf(html))
        except PdfUnavailable as exc:
            typer.echo(err=True, message=f"PDF unavailable: {exc}")
            raise typer.Exit(1) from exc
    console.print(f"written {target}")


def indicators_doc() -> None:
    """Print docs/indicators.md (every indicator's numerator, denominator, period, source)."""
    from manbing.analytics.docs import markdown

    typer.echo(markdown(), nl=False)


census_app = typer.Typer(
    help="Resident population (常住人口) by division, year, sex and age group.",
    no_args_is_help=True,
)


@census_app.command("import")
def census_import(
    file: Annotated[Path, typer.Argument(help="CSV: " + ",".join(CSV_COLUMNS))],
    source: Annotated[
        str | None, typer.Option(help="where the figures come from (e.g. 第七次全国人口普查)")
    ] = None,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Import a census CSV (UTF-8); the file's (division, year) pairs replace stored figures.
    One bad row refuses the whole file, listing each problem with its line number.

    Numbers are plain integers; full-width digits (３０００, as a Chinese IME types them) are
    read as 3000, while 3_000, 3,000, 3000.0 and other scripts' digits are refused."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(err=True, message=f"cannot read {file}: {exc}")
        raise typer.Exit(2) from exc
    try:
        # a census file is UTF-8 (with or without a byte-order mark), unlike a legacy export
        header, lines, shape = tabular.read_csv(tabular.decode(data))
    except tabular.UnreadableFile as exc:
        typer.echo(err=True, message=f"{file}: {exc.message_en}")
        typer.echo(err=True, message=f"{file}：{exc.message}")
        raise typer.Exit(2) from None
    missing = census.missing_header(header)
    if missing:
        typer.echo(
            err=True,
            message=f"{file}: missing columns {', '.join(missing)} (expected {CSV_COLUMNS})",
        )
        typer.echo(err=True, message=f"{file}：缺少列 {', '.join(missing)}")
        raise typer.Exit(2)
    settings = _settings(database_url)
    try:
        rows = census.parse_rows(lines, shape)
        done = census.import_rows(_uow(settings), rows, source=source, now=datetime.now(UTC))
    except DomainError as exc:
        typer.echo(err=True, message=exc.message_en)
        typer.echo(err=True, message=exc.message)
        raise typer.Exit(1) from exc
    console.print(
        f"imported {done.rows} rows: {done.divisions} divisions, years "
        f"{', '.join(map(str, done.years))}, population {done.population}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(warehouse_app, name="warehouse")
    app.add_typer(census_app, name="census")
    app.command("indicators")(indicators)
    app.command("indicators-doc")(indicators_doc)
    app.command("indicators-report")(indicators_report)
