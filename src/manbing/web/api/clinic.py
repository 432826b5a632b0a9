"""The family doctor's day over JSON: worklist, resident chart, risk scores, two-way referral."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from manbing.domain.referrals import Urgency
from manbing.services import records, referrals, worklist
from manbing.web.api.schemas import ERRORS
from manbing.web.deps import ActorDep, ContainerDep, CsrfDep

router = APIRouter(prefix="/api/v1", responses=ERRORS, dependencies=[CsrfDep])


class WorklistOut(BaseModel):
    today: date
    week_end: date
    counts: dict[str, int]
    due: list[worklist.DueItem]
    uncontrolled: list[worklist.DueItem]
    alerts: list[worklist.TaskItem]
    post_referral: list[worklist.TaskItem]
    referrals_sent: list[worklist.ReferralItem]
    referrals_returned: list[worklist.ReferralItem]
    screening: list[worklist.TaskItem]
    contracts: list[worklist.ContractItem]


@router.get("/worklist", response_model=WorklistOut, tags=["worklist"])
def get_worklist(
    actor: ActorDep, container: ContainerDep, sort: worklist.DueSort = worklist.DueSort.OVERDUE
) -> WorklistOut:
    """工作台: follow-ups due this week and overdue, uncontrolled patients, alerts, referrals …"""
    work = worklist.build(container.uow(), actor, container.clock, sort=sort)
    return WorklistOut(counts=work.counts, **vars(work))


@router.get(
    "/residents/{resident_id}/chart", response_model=records.ResidentChart, tags=["residents"]
)
def get_chart(
    resident_id: uuid.UUID, actor: ActorDep, container: ContainerDep
) -> records.ResidentChart:
    """The resident record: demographics, programmes, contracts, visits, readings, risks."""
    return records.chart(container.uow(), actor, resident_id, container.clock)


class RiskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sbp: Annotated[float, Field(ge=60, le=300)]
    waist_cm: Annotated[float, Field(ge=40, le=200)]
    smoker: bool
    family_history: bool
    tc_mmol: Annotated[float, Field(ge=1, le=20)] | None = None
    hdl_mmol: Annotated[float, Field(ge=0.2, le=5)] | None = None
    bmi: Annotated[float, Field(ge=10, le=60)] | None = None
    bp_treated: bool | None = None
    urban: bool = True
    north: bool = False


@router.post(
    "/residents/{resident_id}/risk-assessments",
    response_model=list[records.RiskRow],
    status_code=201,
    tags=["residents"],
)
def assess_risk(
    resident_id: uuid.UUID, body: RiskIn, actor: ActorDep, container: ContainerDep
) -> list[records.RiskRow]:
    """China-PAR 10-year ASCVD risk and the CDRS diabetes score, stored with their inputs."""
    inputs = records.RiskInputs(**body.model_dump())
    return records.assess(container.uow(), actor, resident_id, inputs, container.clock)


@router.get("/hospitals", response_model=list[referrals.HospitalView], tags=["referrals"])
def list_hospitals(actor: ActorDep, container: ContainerDep) -> list[referrals.HospitalView]:
    return referrals.hospitals(container.uow(), actor)


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resident_id: uuid.UUID
    to_org_id: uuid.UUID
    urgency: Urgency
    reasons: list[Annotated[str, StringConstraints(max_length=60)]] = Field(
        default_factory=list, max_length=20
    )
    reason_text: Annotated[str, StringConstraints(max_length=1000)] | None = None
    to_department: Annotated[str, StringConstraints(max_length=100)] | None = None
    follow_up_id: uuid.UUID | None = None


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


@router.post(
    "/referrals", response_model=referrals.ReferralView, status_code=201, tags=["referrals"]
)
def create_referral(
    body: ReferralIn, actor: ActorDep, container: ContainerDep
) -> referrals.ReferralView:
    """Up-referral (上转) to a hospital department; opens the 2-week follow-up task."""
    data = referrals.NewReferral(**{**body.model_dump(), "reasons": tuple(body.reasons)})
    return referrals.create_up(container.uow(), actor, data, container.clock)


@router.get("/referrals/inbox", response_model=list[referrals.ReferralView], tags=["referrals"])
def referral_inbox(
    actor: ActorDep,
    container: ContainerDep,
    include_done: Annotated[bool, Query()] = False,
) -> list[referrals.ReferralView]:
    """The hospital specialist's received referrals (waiting and accepted)."""
    return referrals.inbox(container.uow(), actor, include_done=include_done)


@router.get("/referrals/{referral_id}", response_model=referrals.ReferralView, tags=["referrals"])
def read_referral(
    referral_id: uuid.UUID, actor: ActorDep, container: ContainerDep
) -> referrals.ReferralView:
    return referrals.get(container.uow(), actor, referral_id, container.clock)


@router.post(
    "/referrals/{referral_id}/accept", response_model=referrals.ReferralView, tags=["referrals"]
)
def accept_referral(
    referral_id: uuid.UUID, body: NoteIn, actor: ActorDep, container: ContainerDep
) -> referrals.ReferralView:
    return referrals.accept(container.uow(), actor, referral_id, container.clock, body.note)


@router.post(
    "/referrals/{referral_id}/return", response_model=referrals.ReferralView, tags=["referrals"]
)
def return_referral(
    referral_id: uuid.UUID, body: PlanIn, actor: ActorDep, container: ContainerDep
) -> referrals.ReferralView:
    """Answer and return the patient with a plan (下转); the station gets a result task."""
    return referrals.return_with_plan(
        container.uow(), actor, referral_id, body.plan, container.clock
    )


@router.post(
    "/referrals/{referral_id}/acknowledge",
    response_model=referrals.ReferralView,
    tags=["referrals"],
)
def acknowledge_referral(
    referral_id: uuid.UUID, actor: ActorDep, container: ContainerDep
) -> referrals.ReferralView:
    """The referring doctor has read the result: the referral is closed."""
    return referrals.acknowledge(container.uow(), actor, referral_id, container.clock)
