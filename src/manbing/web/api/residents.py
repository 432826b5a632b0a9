"""Residents: search, register, read, and record observations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from manbing.services import observations, residents
from manbing.web.api.schemas import ERRORS, CreatedOut, ObservationIn, ResidentIn, ResidentOut
from manbing.web.deps import ActorDep, ContainerDep, CsrfDep

router = APIRouter(
    prefix="/api/v1/residents", tags=["residents"], responses=ERRORS, dependencies=[CsrfDep]
)


def _out(v: residents.ResidentView) -> ResidentOut:
    return ResidentOut.model_validate(v, from_attributes=True)


@router.get("", response_model=list[ResidentOut])
def search(
    actor: ActorDep,
    container: ContainerDep,
    q: Annotated[str, Query(max_length=50)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ResidentOut]:
    found = residents.search(container.uow(), actor, q, container.clock, limit=limit, offset=offset)
    return [_out(v) for v in found]


@router.post("", response_model=ResidentOut, status_code=201)
def register(body: ResidentIn, actor: ActorDep, container: ContainerDep) -> ResidentOut:
    data = residents.NewResident(
        **body.model_dump(exclude={"identifiers"}),
        identifiers=tuple((i.system, i.value) for i in body.identifiers),
    )
    return _out(residents.register(container.uow(), actor, data, container.clock))


@router.get("/{resident_id}", response_model=ResidentOut)
def read(resident_id: uuid.UUID, actor: ActorDep, container: ContainerDep) -> ResidentOut:
    return _out(residents.get(container.uow(), actor, resident_id, container.clock))


@router.post("/{resident_id}/observations", response_model=CreatedOut, status_code=201)
def add_observation(
    resident_id: uuid.UUID, body: ObservationIn, actor: ActorDep, container: ContainerDep
) -> CreatedOut:
    data = observations.NewObservation(resident_id=resident_id, **body.model_dump())
    return CreatedOut(id=observations.record(container.uow(), actor, data, container.clock))
