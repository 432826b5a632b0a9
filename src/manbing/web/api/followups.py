"""Follow-up visits: live classification preview and recording (JSON API)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from manbing.domain.followup_form import (
    Adherence,
    DorsalisPedis,
    FormType,
    Hypoglycaemia,
    Rating,
    SaltIntake,
    Side,
    VisitMode,
    VisitOutcome,
)
from manbing.domain.rules import DangerSign
from manbing.services import followups
from manbing.web.api.schemas import ERRORS
from manbing.web.deps import ActorDep, ContainerDep, CsrfDep

router = APIRouter(
    prefix="/api/v1/residents/{resident_id}/follow-ups",
    tags=["follow-ups"],
    responses=ERRORS,
    dependencies=[CsrfDep],
)

Short = Annotated[str, StringConstraints(max_length=200)]
Long = Annotated[str, StringConstraints(max_length=500)]
Small = Annotated[int, Field(ge=0, le=10000)]
Amount = Annotated[float, Field(ge=0, le=10000)]


class MedicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    times_per_day: Annotated[int, Field(ge=1, le=12)] | None = None
    dose: Annotated[float, Field(gt=0, le=10000)] | None = None
    dose_unit: Annotated[str, StringConstraints(max_length=20)] | None = None
    is_insulin: bool = False
    insulin_type: Annotated[str, StringConstraints(max_length=50)] | None = None
    usage: Annotated[str, StringConstraints(max_length=100)] | None = None


class FollowUpIn(BaseModel):
    """Every field of the national hypertension and diabetes follow-up forms."""

    model_config = ConfigDict(extra="forbid")
    visit_date: date
    mode: VisitMode | None = VisitMode.CLINIC
    outcome: VisitOutcome = VisitOutcome.DONE
    outcome_reason: Short | None = None
    symptoms: list[Annotated[str, StringConstraints(max_length=2)]] = Field(
        default_factory=list, max_length=12
    )
    symptoms_other: Short | None = None
    danger_signs: list[DangerSign] = Field(default_factory=list, max_length=20)
    sbp: Small | None = None
    dbp: Small | None = None
    heart_rate: Small | None = None
    temperature_c: Amount | None = None
    weight_kg: Amount | None = None
    weight_target_kg: Amount | None = None
    height_cm: Amount | None = None
    bmi_target: Amount | None = None
    dorsalis_pedis: DorsalisPedis | None = None
    dorsalis_pedis_side: Side | None = None
    signs_other: Short | None = None
    cigarettes_per_day: Small | None = None
    cigarettes_per_day_target: Small | None = None
    alcohol_liang_per_day: Amount | None = None
    alcohol_liang_per_day_target: Amount | None = None
    exercise_times_per_week: Small | None = None
    exercise_times_per_week_target: Small | None = None
    exercise_minutes: Small | None = None
    exercise_minutes_target: Small | None = None
    salt_intake: SaltIntake | None = None
    salt_intake_target: SaltIntake | None = None
    staple_food_g: Small | None = None
    staple_food_g_target: Small | None = None
    psychological: Rating | None = None
    compliance: Rating | None = None
    fasting_glucose: Amount | None = None
    random_glucose: Amount | None = None
    hba1c: Amount | None = None
    hba1c_date: date | None = None
    tests_other: Long | None = None
    adherence: Adherence | None = None
    adverse_reaction: bool = False
    adverse_reaction_text: Short | None = None
    hypoglycaemia: Hypoglycaemia | None = None
    new_complication: bool = False
    complication_text: Short | None = None
    referral_org_dept: Short | None = None
    medications: list[MedicationIn] = Field(default_factory=list, max_length=20)
    idempotency_key: Annotated[str, StringConstraints(min_length=8, max_length=64)] | None = None

    def to_input(self, resident_id: uuid.UUID) -> followups.FollowUpInput:
        data = self.model_dump(exclude={"medications", "symptoms", "danger_signs"})
        return followups.FollowUpInput(
            resident_id=resident_id,
            symptoms=tuple(self.symptoms),
            danger_signs=tuple(self.danger_signs),
            medications=tuple(
                followups.MedicationInput(**m.model_dump()) for m in self.medications
            ),
            **data,
        )


class DecisionOut(BaseModel):
    classification: str
    classification_label: str
    next_visit_date: date
    refer: bool
    urgent: bool
    controlled: bool
    reasons: list[str]
    reasons_zh: list[str]
    reasons_en: list[str]


class PreviewOut(BaseModel):
    form: FormType
    programmes: list[str]
    age: int
    previous_classification: str | None
    decision: DecisionOut | None
    error_field: str | None = None
    error_message: str | None = None


class RecordedOut(BaseModel):
    id: uuid.UUID
    created: bool
    classification: str | None
    next_visit_date: date | None
    refer: bool
    urgent: bool
    reasons_zh: list[str]


def preview_out(p: followups.Preview) -> PreviewOut:
    d = p.decision
    return PreviewOut(
        form=p.form,
        programmes=list(p.programmes),
        age=p.age,
        previous_classification=p.previous_classification.value
        if p.previous_classification
        else None,
        decision=DecisionOut(
            classification=d.classification.value,
            classification_label=d.classification.label_zh,
            next_visit_date=d.next_visit_date,
            refer=d.refer,
            urgent=d.urgent,
            controlled=d.controlled,
            reasons=d.reason_codes,
            reasons_zh=d.reasons_zh,
            reasons_en=d.reasons_en,
        )
        if d
        else None,
        error_field=p.error.field if p.error else None,
        error_message=p.error.message if p.error else None,
    )


@router.post("/preview", response_model=PreviewOut)
def preview(
    resident_id: uuid.UUID, body: FollowUpIn, actor: ActorDep, container: ContainerDep
) -> PreviewOut:
    """Classify the visit as typed (class, next visit, referral and reasons); nothing is stored."""
    result = followups.preview(container.uow(), actor, body.to_input(resident_id), container.clock)
    return preview_out(result)


@router.post("", response_model=RecordedOut, status_code=201)
def record(
    resident_id: uuid.UUID,
    body: FollowUpIn,
    actor: ActorDep,
    container: ContainerDep,
    response: Response,
) -> RecordedOut:
    """Store the visit; a repeated ``idempotency_key`` returns the stored visit with 200."""
    result = followups.record(container.uow(), actor, body.to_input(resident_id), container.clock)
    if not result.created:
        response.status_code = 200
    return RecordedOut.model_validate(result, from_attributes=True)
