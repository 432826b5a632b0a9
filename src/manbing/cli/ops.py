"""Operating the platform: migrations, the web server, the demo, users, the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from manbing.config import Mode, Settings
from manbing.db import migrate
from manbing.db.models import Organization, Resident
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.errors import DomainError
from manbing.domain.organisations import Role
from manbing.services import audit
from manbing.services.clock import SystemClock
from manbing.services.demo_accounts import DemoLogin, create_demo_accounts
from manbing.services.demo_patient import prepare_demo_patient
from manbing.services.organisations import add_user
from manbing.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from fastapi import FastAPI

console = Console()
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


def _settings(database_url: str | None = None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"database_url": database_url}) if database_url else settings


@db_app.command("upgrade")
def db_upgrade(
    revision: str = "head", database_url: Annotated[str | None, typer.Option()] = None
) -> None:
    """Migrate the database up to REVISION (default: head)."""
    migrate.upgrade(_settings(database_url).database_url, revision)
    console.print(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: str = "base", database_url: Annotated[str | None, typer.Option()] = None
) -> None:
    """Migrate the database down to REVISION (default: base — drops every table)."""
    migrate.downgrade(_settings(database_url).database_url, revision)
    console.print(f"database at {revision}")


def server_app() -> FastAPI:
    """The app of one server process (``manbing serve``; the factory of each worker)."""
    from manbing.analytics.lists import from_warehouse
    from manbing.web.app import create_app

    settings = Settings()
    return create_app(settings, line_lists=from_warehouse(settings.warehouse_dir))


def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    dtx_review_every: Annotated[
        str, typer.Option(help="run the DTx weekly review this often in the background; off: never")
    ] = "1h",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="server processes (more than 1 needs PostgreSQL)")
    ] = 1,
) -> None:
    """Serve the web app, the JSON API (/api/docs) and the FHIR API."""
    import uvicorn

    from manbing.cli.devices import dtx_review_job
    from manbing.services.schedule import parse_every, start_in_background

    settings = Settings()
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter(
            "several worker processes need PostgreSQL (MANBING_DATABASE_URL); "
            "the embedded SQLite database serves one process",
            param_hint="--workers",
        )
    interval = None
    if dtx_review_every != "off":
        try:
            interval = parse_every(dtx_review_every)
        except DomainError as exc:
            raise typer.BadParameter(exc.message_en) from None
    stop = None
    dispose = None
    if interval is not None:
        job, dispose = dtx_review_job(settings.database_url)
        _, stop = start_in_background(
            lambda: f"{job()} escalation task(s) opened", interval, name="dtx review"
        )
    try:
        if workers == 1:
            uvicorn.run(server_app(), host=host, port=port, log_level="info")
        else:  # each worker builds its app from the same MANBING_* settings
            uvicorn.run(
                "manbing.cli.ops:server_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="info",
            )
    finally:
        if stop is not None:
            stop.set()
        if dispose is not None:
            dispose()


def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    reset: Annotated[bool, typer.Option(help="delete and rebuild the demo database")] = False,
    residents: Annotated[int, typer.Option(help="size of the synthetic district")] = 20_000,
    region: Annotated[str, typer.Option(help="GB/T 2260 county code of the district")] = "330108",
    seed: Annotated[int, typer.Option(help="random seed of the synthetic district")] = 7,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="prepare the data, print logins, exit")
    ] = False,
) -> None:
    """Prepare the embedded demo (SQLite under var/) with a district, print the logins, serve."""
    settings = Settings()
    if settings.mode is Mode.PRODUCTION:
        raise typer.BadParameter("the demo refuses to run in production mode")
    if reset and settings.is_sqlite:
        path = settings.database_url.split("///", 1)[-1]
        from pathlib import Path

        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        import shutil

        shutil.rmtree(settings.warehouse_dir, ignore_errors=True)
    migrate.upgrade(settings.database_url)
    logins = _load_demo_district(settings, residents, region, seed)
    _print_logins(logins, host, port)
    if not no_serve:
        serve(host, port)


def _load_demo_district(
    settings: Settings, residents: int, region: str, seed: int
) -> list[DemoLogin]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        empty = session.scalar(select(func.count()).select_from(Organization)) == 0
    if empty:
        _generate_district(settings.database_url, residents, region, seed)
    if empty or not settings.warehouse_dir.exists():
        from manbing.cli.analytics import refresh

        console.print("computing the population indicators for the dashboards …")
        refresh(warehouse=settings.warehouse_dir, database_url=settings.database_url)
    with make_session_factory(engine)() as session:
        logins = create_demo_accounts(session)
        loaded = session.scalar(select(func.count()).select_from(Resident))
        session.commit()
    if prepare_demo_patient(UnitOfWork(make_session_factory(engine)), SystemClock()):
        console.print("the demo patient is enrolled in the DTx programme with two weeks of data")
    engine.dispose()
    console.print(f"{loaded} residents in the demo database ({settings.database_url})")
    return logins


def _generate_district(url: str, residents: int, region: str, seed: int) -> None:
    """Fill the empty database with a synthetic district (the same as ``manbing synth --to db``)."""
    from manbing.synth.config import SynthConfig
    from manbing.synth.generator import generate
    from manbing.synth.writers.db import DatabaseWriter

    config = SynthConfig(residents=residents, region=region, seed=seed)
    try:
        config.check()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(
        f"generating a synthetic district: {residents} residents of {region}, seed {seed} …"
    )
    writer = DatabaseWriter(url, append=False, replace=False)
    for batch in generate(config):
        writer.write(batch)
    writer.close()


def _print_logins(logins: list[DemoLogin], host: str, port: int) -> None:
    table = Table(title=f"manbing demo — http://{host}:{port}/login")
    for column in ("username", "password", "role", "organisation"):
        table.add_column(column)
    for login in logins:
        table.add_row(
            login.username,
            login.password,
            f"{login.role.label_zh} ({login.role.value})",
            login.organization,
        )
    console.print(table)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[Role, typer.Option(help="role of the account")],
    organization_code: Annotated[str, typer.Option("--org", help="organisation code")],
    display_name: Annotated[str, typer.Option("--name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a staff account in an organisation."""
    engine = make_engine(Settings().database_url)
    with make_session_factory(engine)() as session:
        org = session.scalars(
            select(Organization).where(Organization.code == organization_code)
        ).first()
        if org is None:
            console.print(f"[red]no organisation with code {organization_code}[/red]")
            raise typer.Exit(2)
        try:
            add_user(
                session,
                username=username,
                password=password,
                display_name=display_name,
                role=role,
                organization=org,
            )
        except DomainError as exc:
            console.print(f"[red]{exc.message} ({exc.message_en})[/red]")
            raise typer.Exit(2) from None
        session.commit()
    console.print(f"created {username}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain of the audit trail; exit 1 at the first broken link."""
    engine = make_engine(Settings().database_url)
    with make_session_factory(engine)() as session:
        broken = audit.verify(session)
    if broken is None:
        console.print("audit trail intact")
        return
    console.print(
        f"[red]audit trail broken at position {broken.position} (event {broken.event_id})[/red]"
    )
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.command("serve")(serve)
    app.command("demo")(demo)
