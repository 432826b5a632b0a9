"""Screening, enrolment and contracts over JSON (registration is ``POST /api/v1/residents``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from manbing.domain.programmes import Programme
from manbing.services import contracts, enrolments, health_checks, screening
from manbing.web.api.schemas import ERRORS, CreatedOut
from manbing.web.deps import ActorDep, ContainerDep, CsrfDep

router = APIRouter(prefix="/api/v1", responses=ERRORS, dependencies=[CsrfDep])


class ScreeningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sbp: Annotated[int, Field(ge=0, le=1000)]
    dbp: Annotated[int, Field(ge=0, le=1000)]
    screened_on: date | None = None
    bmi: Annotated[float, Field(ge=0, le=200)] | None = None
    waist_cm: Annotated[float, Field(ge=0, le=500)] | None = None
    family_history: bool = False
    high_salt_diet: bool = False
    daily_spirits_ml: Annotated[float, Field(ge=0, le=5000)] = 0.0


@router.post(
    "/residents/{resident_id}/screenings",
    response_model=screening.ScreeningOutcome,
    status_code=201,
    tags=["screening"],
)
def record_screening(
    resident_id: uuid.UUID, body: ScreeningIn, actor: ActorDep, container: ContainerDep
) -> screening.ScreeningOutcome:
    """BP screening of a resident aged ≥35; says when enrolment is suggested (3 raised days)."""
    data = screening.BpScreening(resident_id=resident_id, **body.model_dump())
    return screening.record_bp(container.uow(), actor, data, container.clock)


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    programme: Programme
    diagnosed_on: date | None = None


@router.post(
    "/residents/{resident_id}/enrolments",
    response_model=CreatedOut,
    status_code=201,
    tags=["enrolments"],
)
def enrol(
    resident_id: uuid.UUID, body: EnrolIn, actor: ActorDep, container: ContainerDep
) -> CreatedOut:
    enrolment_id = enrolments.enrol(
        container.uow(),
        actor,
        resident_id,
        body.programme,
        container.clock,
        diagnosed_on=body.diagnosed_on,
    )
    return CreatedOut(id=enrolment_id)


class OptionsOut(BaseModel):
    teams: list[contracts.Option]
    packages: list[contracts.Option]


@router.get("/contract-options", response_model=OptionsOut, tags=["contracts"])
def contract_options(actor: ActorDep, container: ContainerDep) -> OptionsOut:
    """The teams of the user's organisation and the active service packages."""
    teams, packages = contracts.options(container.uow(), actor)
    return OptionsOut(teams=teams, packages=packages)


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team_id: uuid.UUID
    package_id: uuid.UUID
    start_date: date | None = None
    end_date: date | None = None


@router.post(
    "/residents/{resident_id}/contracts",
    response_model=contracts.ContractView,
    status_code=201,
    tags=["contracts"],
)
def sign_contract(
    resident_id: uuid.UUID, body: ContractIn, actor: ActorDep, container: ContainerDep
) -> contracts.ContractView:
    """签约: sign the resident to a team with a service package (one year by default)."""
    return contracts.sign(
        container.uow(),
        actor,
        resident_id,
        body.team_id,
        body.package_id,
        container.clock,
        start=body.start_date,
        end=body.end_date,
    )


@router.post(
    "/contracts/{contract_id}/renew",
    response_model=contracts.ContractView,
    status_code=201,
    tags=["contracts"],
)
def renew_contract(
    contract_id: uuid.UUID, actor: ActorDep, container: ContainerDep
) -> contracts.ContractView:
    return contracts.renew(container.uow(), actor, contract_id, container.clock)


@router.get("/contracts/expiring", response_model=list[contracts.ContractView], tags=["contracts"])
def expiring_contracts(
    actor: ActorDep,
    container: ContainerDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[contracts.ContractView]:
    return contracts.expiring(container.uow(), actor, container.clock, days)


class HealthCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    check_date: date | None = None
    temperature_c: Annotated[float, Field(ge=0, le=100)] | None = None
    pulse: Annotated[int, Field(ge=0, le=1000)] | None = None
    respiration: Annotated[int, Field(ge=0, le=1000)] | None = None
    sbp: Annotated[int, Field(ge=0, le=1000)] | None = None
    dbp: Annotated[int, Field(ge=0, le=1000)] | None = None
    height_cm: Annotated[float, Field(ge=0, le=1000)] | None = None
    weight_kg: Annotated[float, Field(ge=0, le=1000)] | None = None
    waist_cm: Annotated[float, Field(ge=0, le=1000)] | None = None
    fasting_glucose: Annotated[float, Field(ge=0, le=1000)] | None = None
    self_care_score: Annotated[int, Field(ge=0, le=1000)] | None = None
    conclusion: Annotated[str, Field(max_length=1000)] | None = None
    guidance: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=10
    )


@router.post(
    "/residents/{resident_id}/health-checks",
    response_model=health_checks.HealthCheckView,
    status_code=201,
    tags=["health checks"],
)
def record_health_check(
    resident_id: uuid.UUID, body: HealthCheckIn, actor: ActorDep, container: ContainerDep
) -> health_checks.HealthCheckView:
    """年度健康体检: vitals, measurements, health evaluation and guidance."""
    data = health_checks.HealthCheckInput(
        resident_id=resident_id,
        **{**body.model_dump(exclude={"guidance"}), "guidance": tuple(body.guidance)},
    )
    return health_checks.record(container.uow(), actor, data, container.clock)
