"""Master patient index over JSON: suspected duplicates, merges, not-duplicate decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, StringConstraints

from manbing.domain.mpi import MatchLevel
from manbing.services import mpi
from manbing.web.api.schemas import ERRORS, ResidentOut
from manbing.web.deps import ActorDep, ContainerDep, CsrfDep

router = APIRouter(prefix="/api/v1/mpi", tags=["mpi"], responses=ERRORS, dependencies=[CsrfDep])


class ReasonOut(BaseModel):
    code: str
    label: str


class SideOut(BaseModel):
    resident: ResidentOut
    organisation: str
    sources: list[str]


class CandidateOut(BaseModel):
    level: str
    level_label: str
    score: int
    reasons: list[ReasonOut]
    a: SideOut
    b: SideOut


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    survivor_id: uuid.UUID
    duplicate_id: uuid.UUID


class MergeOut(BaseModel):
    survivor_id: uuid.UUID
    duplicate_id: uuid.UUID
    moved: dict[str, int]
    folded: dict[str, int]


class NotDuplicateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a_id: uuid.UUID
    b_id: uuid.UUID
    note: Annotated[str, StringConstraints(max_length=200)] | None = None


class NotDuplicateOut(BaseModel):
    recorded: bool


def _side(side: mpi.Side) -> SideOut:
    return SideOut(
        resident=ResidentOut.model_validate(side.view, from_attributes=True),
        organisation=side.org_name,
        sources=list(side.sources),
    )


_LEVELS = {level.code: level for level in MatchLevel}


@router.get("/candidates", response_model=list[CandidateOut])
def candidates(
    actor: ActorDep,
    container: ContainerDep,
    org: Annotated[str | None, Query(max_length=40, description="organisation code")] = None,
    limit: Annotated[int, Query(ge=1, le=mpi.MAX_LIMIT)] = 50,
    min_level: Annotated[str, Query(pattern="^(possible|probable|certain)$")] = "possible",
) -> list[CandidateOut]:
    """Suspected duplicate pairs in the caller's scope (centre managers), strongest first."""
    found = mpi.find_candidates(
        container.uow(),
        actor,
        container.clock,
        org_code=org,
        limit=limit,
        min_level=_LEVELS[min_level],
    )
    return [
        CandidateOut(
            level=c.match.level.code,
            level_label=c.match.level.label_zh,
            score=c.match.score,
            reasons=[ReasonOut(code=r.value, label=r.label_zh) for r in c.match.reasons],
            a=_side(c.a),
            b=_side(c.b),
        )
        for c in found
    ]


@router.post("/merges", response_model=MergeOut, status_code=201)
def merge(body: MergeIn, actor: ActorDep, container: ContainerDep) -> MergeOut:
    """Fold ``duplicate_id`` into ``survivor_id`` (one transaction; audited)."""
    result = mpi.merge(container.uow(), actor, body.survivor_id, body.duplicate_id, container.clock)
    return MergeOut(
        survivor_id=result.survivor_id,
        duplicate_id=result.duplicate_id,
        moved=result.moved,
        folded=result.folded,
    )


@router.post("/not-duplicates", response_model=NotDuplicateOut, status_code=201)
def not_duplicate(
    body: NotDuplicateIn, actor: ActorDep, container: ContainerDep
) -> NotDuplicateOut:
    """Record that two records are different people; the pair leaves the candidate list."""
    recorded = mpi.mark_not_duplicate(
        container.uow(), actor, body.a_id, body.b_id, container.clock, body.note
    )
    return NotDuplicateOut(recorded=recorded)
