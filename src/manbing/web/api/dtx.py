"""Digital therapeutics: enrolment, the programme view (plan, lessons, adherence), packages and
monthly payer statements."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from manbing.domain.dtx import DtxProgramme
from manbing.services import dtx
from manbing.web.api.schemas import ERRORS, CreatedOut
from manbing.web.deps import ActorDep, ContainerDep, CsrfDep

router = APIRouter(
    prefix="/api/v1", tags=["digital therapeutics"], responses=ERRORS, dependencies=[CsrfDep]
)


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    programme: DtxProgramme
    package_code: Annotated[str, StringConstraints(max_length=40)] | None = None


class LessonOut(BaseModel):
    code: str
    title: str
    topic: str
    reason: str
    completed: bool


class AdherenceOut(BaseModel):
    measurements_planned: int
    measurements_done: int
    measurement_ratio: float | None
    doses_planned: int
    doses_confirmed: int
    medication_ratio: float | None


class ProgrammeOut(BaseModel):
    resident_id: uuid.UUID
    programmes: list[str]
    measurements_per_week: dict[str, int]
    medication_reminders: list[dict[str, Any]]
    goals: list[str]
    lessons: list[LessonOut]
    adherence_7_days: AdherenceOut
    home_mean_sbp: float | None
    home_mean_dbp: float | None
    home_uncontrolled: bool | None
    escalation: str | None
    next_appointment: date | None


class PackageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    monthly_price_fen: int = Field(ge=0, le=10_000_000)
    government_percent: int = Field(ge=0, le=100)
    company_percent: int = Field(ge=0, le=100)
    resident_percent: int = Field(ge=0, le=100)
    company_name: Annotated[str, StringConstraints(max_length=100)] | None = None


class StatementLineOut(BaseModel):
    payer: str
    payer_name: str
    enrolments: int
    amount_fen: int


@router.post("/residents/{resident_id}/dtx-enrolments", response_model=CreatedOut, status_code=201)
def enrol(
    resident_id: uuid.UUID, body: EnrolIn, actor: ActorDep, container: ContainerDep
) -> CreatedOut:
    return CreatedOut(
        id=dtx.enrol(
            container.uow(),
            actor,
            resident_id,
            body.programme,
            container.clock,
            package_code=body.package_code,
        )
    )


@router.get("/residents/{resident_id}/dtx", response_model=ProgrammeOut)
def programme(resident_id: uuid.UUID, actor: ActorDep, container: ContainerDep) -> ProgrammeOut:
    v = dtx.programme_view(container.uow(), actor, resident_id, container.clock)
    a = v.adherence
    return ProgrammeOut(
        resident_id=v.resident_id,
        programmes=v.programmes,
        measurements_per_week=v.schedule,
        medication_reminders=v.reminders,
        goals=v.goals,
        lessons=[
            LessonOut(
                code=lv.lesson.code,
                title=lv.lesson.title_zh,
                topic=lv.lesson.topic,
                reason=lv.reason,
                completed=lv.completed,
            )
            for lv in v.lessons
        ],
        adherence_7_days=AdherenceOut(
            measurements_planned=a.measurements_planned,
            measurements_done=a.measurements_done,
            measurement_ratio=a.measurement_ratio,
            doses_planned=a.doses_planned,
            doses_confirmed=a.doses_confirmed,
            medication_ratio=a.medication_ratio,
        ),
        home_mean_sbp=v.home_mean_sbp,
        home_mean_dbp=v.home_mean_dbp,
        home_uncontrolled=v.home_uncontrolled,
        escalation=v.escalation,
        next_appointment=v.next_appointment,
    )


@router.post("/dtx/packages", response_model=CreatedOut, status_code=201)
def add_package(body: PackageIn, actor: ActorDep, container: ContainerDep) -> CreatedOut:
    return CreatedOut(
        id=dtx.add_package(container.uow(), actor, clock=container.clock, **body.model_dump())
    )


@router.get("/dtx/statements/{year}/{month}", response_model=list[StatementLineOut])
def statement(
    year: Annotated[int, Path(ge=2000, le=2100)],
    month: Annotated[int, Path(ge=1, le=12)],
    actor: ActorDep,
    container: ContainerDep,
) -> list[StatementLineOut]:
    """The month's amounts per payer (government, company, resident), in fen."""
    return [
        StatementLineOut(
            payer=line.payer.value,
            payer_name=line.payer_name,
            enrolments=line.enrolments,
            amount_fen=line.amount_fen,
        )
        for line in dtx.monthly_statement(container.uow(), actor, year, month)
    ]
