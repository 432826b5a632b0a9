"""``manbing mpi …``: the master patient index's duplicate work list, merges and decisions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from manbing.config import Settings
from manbing.db.models import User
from manbing.db.session import make_engine, make_session_factory
from manbing.domain.errors import DomainError
from manbing.services import auth, mpi
from manbing.services.actor import Actor
from manbing.services.clock import SystemClock
from manbing.services.unit_of_work import UnitOfWork

console = Console()
mpi_app = typer.Typer(
    help="Master patient index: suspected duplicate records and merges.", no_args_is_help=True
)

T = TypeVar("T")
UserOption = Annotated[
    str, typer.Option("--user", help="the account acting (a centre manager); its scope applies")
]
DatabaseOption = Annotated[str | None, typer.Option(help="database URL (default: settings)")]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


@contextmanager
def _acting(username: str, database_url: str | None) -> Iterator[tuple[Actor, UnitOfWork]]:
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
        yield actor, UnitOfWork(factory)
    finally:
        engine.dispose()


def _run(call: Callable[[], T]) -> T:
    try:
        return call()
    except DomainError as exc:
        typer.echo(f"{exc.message} ({exc.message_en})", err=True)
        raise typer.Exit(2) from None


def _uuid(text: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise typer.BadParameter(f"{what} is not a resident id (UUID): {text!r}") from None


def _side(side: mpi.Side) -> dict[str, Any]:
    v = side.view
    return {
        "id": str(v.id),
        "record_number": side.record_number,
        "name": v.name,
        "sex": v.sex.value,
        "birth_date": v.birth_date.isoformat(),
        "id_number": v.id_number,
        "phone": v.phone,
        "division_code": v.division_code,
        "organisation": side.org_name,
        "status": v.status.value,
        "sources": list(side.sources),
    }


def candidate_json(c: mpi.Candidate) -> dict[str, Any]:
    return {
        "level": c.match.level.code,
        "score": c.match.score,
        "reasons": [r.value for r in c.match.reasons],
        "a": _side(c.a),
        "b": _side(c.b),
    }


@mpi_app.command("candidates")
def candidates(
    username: UserOption,
    org: Annotated[str | None, typer.Option("--org", help="organisation code (subtree)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=mpi.MAX_LIMIT)] = 50,
    output: Annotated[Format, typer.Option("--format")] = Format.TABLE,
    database_url: DatabaseOption = None,
) -> None:
    """Suspected duplicate pairs in the account's scope, strongest first."""
    with _acting(username, database_url) as (actor, uow):
        found = _run(
            lambda: mpi.find_candidates(uow, actor, SystemClock(), org_code=org, limit=limit)
        )
    if output is Format.JSON:
        typer.echo(json.dumps([candidate_json(c) for c in found], ensure_ascii=False, indent=1))
        return
    table = Table(title=f"{len(found)} suspected duplicate pair(s)")
    for column in ("level", "score", "record A", "record B", "reasons"):
        table.add_column(column)
    for c in found:
        table.add_row(
            c.match.level.label_zh,
            str(c.match.score),
            f"{c.a.view.name} {c.a.view.birth_date} {c.a.record_number}\n{c.a.view.id}",
            f"{c.b.view.name} {c.b.view.birth_date} {c.b.record_number}\n{c.b.view.id}",
            "；".join(r.label_zh for r in c.match.reasons),
        )
    console.print(table)


@mpi_app.command("merge")
def merge(
    survivor_id: Annotated[str, typer.Argument(help="the record that is kept")],
    duplicate_id: Annotated[str, typer.Argument(help="the record folded into it")],
    username: UserOption,
    database_url: DatabaseOption = None,
) -> None:
    """Fold DUPLICATE_ID into SURVIVOR_ID (all its rows move; it is marked merged)."""
    survivor, duplicate = _uuid(survivor_id, "SURVIVOR_ID"), _uuid(duplicate_id, "DUPLICATE_ID")
    with _acting(username, database_url) as (actor, uow):
        result = _run(lambda: mpi.merge(uow, actor, survivor, duplicate, SystemClock()))
    typer.echo(f"merged {result.duplicate_id} into {result.survivor_id}")
    for key, n in sorted(result.moved.items()):
        typer.echo(f"  moved {n} {key}")
    for key, n in sorted(result.folded.items()):
        typer.echo(f"  folded {n} {key} into the survivor's")


@mpi_app.command("not-duplicate")
def not_duplicate(
    a_id: Annotated[str, typer.Argument(help="one record")],
    b_id: Annotated[str, typer.Argument(help="the other record")],
    username: UserOption,
    note: Annotated[str | None, typer.Option(help="why (at most 200 characters)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Record that two records are different people (the pair leaves the work list)."""
    a, b = _uuid(a_id, "A_ID"), _uuid(b_id, "B_ID")
    with _acting(username, database_url) as (actor, uow):
        new = _run(lambda: mpi.mark_not_duplicate(uow, actor, a, b, SystemClock(), note))
    typer.echo("recorded" if new else "already recorded")


def register(app: typer.Typer) -> None:
    app.add_typer(mpi_app, name="mpi")
