"""``manbing fhir …``: import FHIR data files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from manbing.config import Settings
from manbing.db.models import User
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.errors import DomainError
from manbing.domain.organisations import Role
from manbing.fhir import auth as fhir_auth
from manbing.fhir import importer
from manbing.services import auth
from manbing.services.clock import SystemClock
from manbing.services.unit_of_work import UnitOfWork

fhir_app = typer.Typer(help="FHIR R4 data exchange", no_args_is_help=True)


@fhir_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(exists=True, help="a .json/.ndjson file or a folder")],
    username: Annotated[
        str, typer.Option("--user", help="account whose organisation receives the residents")
    ],
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Load transaction Bundles, resources and NDJSON; report counts and rejected entries."""
    settings = Settings(database_url=database_url) if database_url else Settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            user = session.scalars(select(User).where(User.username == username)).first()
            if user is None or not user.active:
                typer.echo(f"no active account {username!r}", err=True)
                raise typer.Exit(2)
            actor = auth.actor_for(session, user)
        total = importer.count_entries(path)
        with typer.progressbar(length=total, label="importing", file=None) as bar:
            report = importer.import_path(
                lambda: UnitOfWork(factory), actor, SystemClock(), path, progress=bar.update
            )
    finally:
        engine.dispose()
    typer.echo(f"files: {report.files}")
    for label, counts in (
        ("created", report.created),
        ("matched existing", report.matched),
        ("updated", report.updated),
        ("skipped (type not supported)", report.skipped),
    ):
        if counts:
            typer.echo(f"{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    typer.echo(f"rejected: {len(report.rejected)}")
    for item in report.rejected:
        typer.echo(f"  {item.source} [{item.resource_type}]: {item.reason}")


client_app = typer.Typer(help="OAuth2 system clients of the FHIR API", no_args_is_help=True)
fhir_app.add_typer(client_app, name="client")


@client_app.command("add")
def client_add(
    organization_code: Annotated[str, typer.Option("--org", help="organisation code")],
    name: Annotated[str, typer.Option("--name", help="what the client is")],
    scope: Annotated[
        str, typer.Option(help='space-separated SMART scopes, e.g. "system/*.read"')
    ] = "system/*.read",
    role: Annotated[Role | None, typer.Option(help="role of its service account")] = None,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Register a system client; prints its client id and secret (shown only once)."""
    settings = Settings(database_url=database_url) if database_url else Settings()
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            try:
                client_id, secret = fhir_auth.register_client(
                    session, organization_code=organization_code, name=name, scopes=scope, role=role
                )
            except DomainError as exc:
                typer.echo(exc.message_en, err=True)
                raise typer.Exit(2) from exc
            session.commit()
    finally:
        engine.dispose()
    typer.echo(f"client_id: {client_id}")
    typer.echo(f"client_secret: {secret}")
    typer.echo("token endpoint: POST /fhir/auth/token (grant_type=client_credentials)")


def register(app: typer.Typer) -> None:
    app.add_typer(fhir_app, name="fhir")
