"""Calling the FHIR router in-process over a district database, as one actor."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.models import (
    AuditEvent,
    Device,
    Enrolment,
    FollowUp,
    FollowUpMedication,
    MedicationStatement,
    Referral,
    Resident,
    Team,
    WorklistTask,
)
from manbing.domain.organisations import Role
from manbing.fhir.router import FhirContext, FhirRequest, FhirResponse, handle
from manbing.services.actor import Actor
from manbing.services.clock import FixedClock
from manbing.services.unit_of_work import UnitOfWork
from tests.conftest import NOW, District
from tests.personas import actor_at

BASE = "http://fhir.test/fhir"
TABLES = (
    MedicationStatement,
    FollowUpMedication,
    FollowUp,
    Referral,
    Team,
    Enrolment,
    Device,
    WorklistTask,
    Resident,
    AuditEvent,
)


@dataclass
class Fhir:
    factory: sessionmaker[Session]
    actor: Actor

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: list[tuple[str, str]] | None = None,
    ) -> FhirResponse:
        raw = json.dumps(body).encode() if body is not None else None
        return handle(FhirRequest(method, path, query or [], headers or {}, raw), self.context())

    def context(self) -> FhirContext:
        return FhirContext(
            uow=lambda: UnitOfWork(self.factory),
            clock=FixedClock(NOW),
            actor=self.actor,
            base_url=BASE,
        )


def as_role(district: District, role: Role, org: str) -> Fhir:
    return Fhir(
        district.session_factory, actor_at(district.session_factory, role, district.orgs[org])
    )


def counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {
            t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }


def every_count(factory: sessionmaker[Session]) -> dict[str, int]:
    """The rows of every table, in one query."""
    from manbing.db.base import Base

    tables = Base.metadata.sorted_tables
    query = select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
    with factory() as session:
        row = session.execute(query).one()
    return {t.name: int(n) for t, n in zip(tables, row, strict=True)}


def issue(response: FhirResponse) -> str:
    assert response.resource is not None
    assert response.resource["resourceType"] == "OperationOutcome", response.resource
    return str(response.resource["issue"][0]["diagnostics"])


def uid() -> str:
    return str(uuid.uuid4())
