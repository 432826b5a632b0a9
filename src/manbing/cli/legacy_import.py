"""``manbing import residents|followups FILE --org CODE``: legacy 基本公卫 exports (.xlsx / CSV).

Exit status: 0 when every row was imported or matched, 1 when some rows were refused or held as
possible duplicates (the others are imported), 2 when the file or the options are refused whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from manbing.config import Settings
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.errors import DomainError
from manbing.services import legacy_report
from manbing.services.clock import SystemClock
from manbing.services.legacy_followups import import_followups
from manbing.services.legacy_import import Options, Outcome, Report
from manbing.services.legacy_residents import import_residents
from manbing.services.unit_of_work import UnitOfWork

console = Console()
import_app = typer.Typer(
    help="Import residents and follow-ups from legacy 基本公卫 exports (.xlsx or CSV).",
    no_args_is_help=True,
)
SHOWN = 50  # problems printed; the --report file holds them all

FileArg = Annotated[Path, typer.Argument(help=".xlsx workbook or CSV (UTF-8 or GBK)")]
OrgOption = Annotated[
    str, typer.Option("--org", help="code of the organisation that manages the residents")
]
SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source-system", help="name of the old system (its record numbers); default: --org"
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="check and match every row, store nothing")
]
ReportOption = Annotated[
    Path | None, typer.Option("--report", help="write the per-row result (.xlsx or .csv)")
]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="act as this account (default: the org's import account)"),
]
DatabaseOption = Annotated[str | None, typer.Option(help="database URL (default: settings)")]

Importer = Callable[[UnitOfWork, SystemClock, bytes, Options], Report]


def _fail(message: str, message_en: str) -> typer.Exit:
    typer.echo(message_en, err=True)
    typer.echo(message, err=True)
    return typer.Exit(2)


def _run(
    importer: Importer,
    file: Path,
    options: Options,
    report_path: Path | None,
    database_url: str | None,
) -> None:
    try:
        if report_path is not None:
            legacy_report.format_of(report_path)
        data = file.read_bytes()
    except DomainError as exc:
        raise _fail(exc.message, exc.message_en) from None
    except OSError as exc:
        raise _fail(f"无法读取文件 {file}：{exc.strerror}", f"cannot read {file}: {exc}") from None
    settings = Settings(database_url=database_url) if database_url else Settings()
    engine = make_engine(settings.database_url)
    try:
        report = importer(UnitOfWork(make_session_factory(engine)), SystemClock(), data, options)
    except DomainError as exc:
        raise _fail(f"{file}：{exc.message}", f"{file}: {exc.message_en}") from None
    finally:
        engine.dispose()
    _print(report, file)
    if report_path is not None:
        try:
            legacy_report.write(report, report_path)
        except OSError as exc:
            raise _fail(
                f"无法写入结果文件 {report_path}：{exc.strerror}",
                f"cannot write {report_path}: {exc}",
            ) from None
        console.print(f"per-row result / 逐行结果: {report_path}")
    counts = report.counts
    if counts[Outcome.ERROR] or counts[Outcome.POSSIBLE_DUPLICATE]:
        raise typer.Exit(1)


def _print(report: Report, file: Path) -> None:
    title = f"{file.name}: {report.kind}" + (" (dry run 试运行，未保存)" if report.dry_run else "")
    table = Table(title=title)
    table.add_column("结果 outcome")
    table.add_column("行数 rows", justify="right")
    counts = report.counts
    for outcome in Outcome:
        if counts[outcome]:
            table.add_row(f"{outcome.label_zh} ({outcome.value})", str(counts[outcome]))
    table.add_row("合计 total", str(len(report.rows)))
    console.print(table)
    if report.ignored_columns:
        console.print("ignored columns / 未识别的列: " + ", ".join(report.ignored_columns))
    problems = [(r, p) for r in report.rows for p in r.problems]
    for r, p in problems[:SHOWN]:
        console.print(f"{p.en(r.line)}\n  {p.zh(r.line)}", markup=False, highlight=False)
    if len(problems) > SHOWN:
        console.print(f"… {len(problems) - SHOWN} more; see --report / 其余见结果文件")


@import_app.command("residents")
def residents_command(
    file: FileArg,
    org: OrgOption,
    source_system: SourceOption = None,
    dry_run: DryRunOption = False,
    report: ReportOption = None,
    user: UserOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """One row per resident: match by 身份证号 or 档案编号, else register; enrol in programmes."""
    options = Options(org, source_system, dry_run, username=user)
    _run(import_residents, file, options, report, database_url)


@import_app.command("followups")
def followups_command(
    file: FileArg,
    org: OrgOption,
    source_system: SourceOption = None,
    dry_run: DryRunOption = False,
    report: ReportOption = None,
    user: UserOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """One row per visit, recorded in date order and classified by the clinical rules."""
    options = Options(org, source_system, dry_run, username=user)
    _run(import_followups, file, options, report, database_url)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
