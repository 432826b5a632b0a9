"""What a running app holds: settings, database, clock, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from manbing.config import Settings
from manbing.db.session import make_engine, make_session_factory
from manbing.services.clock import Clock, SystemClock
from manbing.services.reports import LineListSource
from manbing.services.unit_of_work import UnitOfWork


@dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    line_lists: LineListSource | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        line_lists: LineListSource | None = None,
    ) -> Container:
        engine = make_engine(settings.database_url, echo=settings.sql_echo)
        return cls(
            settings, engine, make_session_factory(engine), clock or SystemClock(), line_lists
        )

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)
