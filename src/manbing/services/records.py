"""The resident record (健康档案) as a clinician reads it, and risk assessments with their inputs."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from manbing.db.models import (
    Contract,
    Enrolment,
    FollowUp,
    MedicationStatement,
    Observation,
    Organization,
    RiskAssessment,
    ServicePackage,
    Team,
    WorklistTask,
)
from manbing.domain.audit import AuditAction
from manbing.domain.errors import InvalidInput
from manbing.domain.observations import ObservationKind, ObservationSource
from manbing.domain.organisations import Permission
from manbing.domain.programmes import EnrolmentStatus, Programme
from manbing.domain.residents import age_on
from manbing.domain.rules import (
    CdrsInput,
    ChinaParInput,
    ConcentrationUnit,
    FollowupClass,
    cdrs_score,
    china_par_risk,
)
from manbing.domain.tasks import TaskStatus
from manbing.domain.values import Sex
from manbing.services import access, audit, residents
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

READINGS = (
    ObservationKind.BLOOD_PRESSURE,
    ObservationKind.GLUCOSE_FASTING,
    ObservationKind.GLUCOSE_RANDOM,
    ObservationKind.HBA1C,
    ObservationKind.TOTAL_CHOLESTEROL,
    ObservationKind.HDL_C,
    ObservationKind.WAIST,
    ObservationKind.SMOKING,
    ObservationKind.WEIGHT,
    ObservationKind.HEIGHT,
    ObservationKind.BMI,
)


@dataclass(frozen=True)
class EnrolmentRow:
    programme: str
    programme_label: str
    status: str
    enrolled_on: date


@dataclass(frozen=True)
class ContractRow:
    id: uuid.UUID
    team: str
    package: str
    start_date: date
    end_date: date
    status: str


@dataclass(frozen=True)
class VisitRow:
    id: uuid.UUID
    visit_date: date
    form: str
    mode: str | None  # the Chinese label (API); pages translate ``mode_code``
    mode_code: str | None
    sbp: int | None
    dbp: int | None
    fasting_glucose: float | None
    classification: str | None
    classification_label: str | None
    next_visit_date: date | None
    referral_reason: str | None
    medications: list[str]


@dataclass(frozen=True)
class Reading:
    kind: str
    at: datetime
    value: float | None
    value2: float | None
    value_code: str | None
    source: str


@dataclass(frozen=True)
class RiskRow:
    method: str
    assessed_on: date
    score: float
    category: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class TaskRow:
    kind: str
    kind_label: str
    title: str
    due_date: date


@dataclass
class ResidentChart:
    resident: residents.ResidentView
    managing_org: str
    enrolments: list[EnrolmentRow] = field(default_factory=list)
    contracts: list[ContractRow] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    medications: list[str] = field(default_factory=list)
    risks: list[RiskRow] = field(default_factory=list)
    tasks: list[TaskRow] = field(default_factory=list)

    def series(self, kind: str, source: str) -> list[list[Any]]:
        """[[ISO time, value, value2], …] for ECharts, oldest first."""
        return [
            [r.at.isoformat(), r.value, r.value2]
            for r in sorted(self.readings, key=lambda r: r.at)
            if r.kind == kind and r.source == source and r.value is not None
        ]

    def latest(self, kind: str) -> Reading | None:
        found = [r for r in self.readings if r.kind == kind]
        return max(found, key=lambda r: r.at) if found else None


def chart(uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, clock: Clock) -> ResidentChart:
    """Everything on the record page, read in one transaction and audited as one read."""
    access.require(actor, Permission.READ_RESIDENTS)
    with uow:
        result = chart_in(uow.session, actor, resident_id, clock)
        uow.commit()
    return result


def chart_in(
    session: Session,
    actor: Actor,
    resident_id: uuid.UUID,
    clock: Clock,
    *,
    audit_read: bool = True,
) -> ResidentChart:
    """The chart inside the caller's transaction (access checked, the read audited).

    ``audit_read=False``: the caller records the read with :func:`audit_chart_read` itself, as
    late in its transaction as it can (the audit chain's lock is held from then until commit).
    """
    access.require(actor, Permission.READ_RESIDENTS)
    today = clock.today()
    resident = access.get_resident(session, actor, resident_id)
    enrolments = session.scalars(
        select(Enrolment).where(Enrolment.resident_id == resident.id)
    ).all()
    active = [e.programme.value for e in enrolments if e.status is EnrolmentStatus.ACTIVE]
    org = session.get(Organization, resident.managing_org_id)
    result = ResidentChart(
        resident=residents.view(resident, actor, today, active),
        managing_org=org.name if org else "",
        enrolments=[
            EnrolmentRow(e.programme.value, e.programme.label_zh, e.status.value, e.enrolled_on)
            for e in enrolments
        ],
    )
    result.contracts = _contracts(session, resident.id)
    visits = session.scalars(
        select(FollowUp)
        .options(selectinload(FollowUp.medications))
        .where(FollowUp.resident_id == resident.id)
        .order_by(FollowUp.visit_date.desc(), FollowUp.created_at.desc())
        .limit(40)
    ).all()
    result.visits = [
        VisitRow(
            id=v.id,
            visit_date=v.visit_date,
            form=v.form.value,
            mode=v.mode.label_zh if v.mode else None,
            mode_code=v.mode.value if v.mode else None,
            sbp=v.sbp,
            dbp=v.dbp,
            fasting_glucose=v.fasting_glucose,
            classification=v.classification,
            classification_label=FollowupClass(v.classification).label_zh
            if v.classification
            else None,
            next_visit_date=v.next_visit_date,
            referral_reason=v.referral_reason,
            medications=[_med(m.name, m.dose, m.dose_unit, m.times_per_day) for m in v.medications],
        )
        for v in visits
    ]
    result.readings = [
        Reading(o.kind.value, o.effective_at, o.value, o.value2, o.value_code, o.source.value)
        for o in session.scalars(
            select(Observation)
            .where(Observation.resident_id == resident.id, Observation.kind.in_(READINGS))
            .order_by(Observation.effective_at.desc())
            .limit(500)
        )
    ]
    result.medications = [
        _med(m.name, m.dose, m.dose_unit, m.times_per_day)
        for m in session.scalars(
            select(MedicationStatement).where(
                MedicationStatement.resident_id == resident.id,
                MedicationStatement.active.is_(True),
            )
        )
    ]
    result.risks = [
        RiskRow(r.method, r.assessed_on, r.score, r.category, r.inputs)
        for r in session.scalars(
            select(RiskAssessment)
            .where(RiskAssessment.resident_id == resident.id)
            .order_by(RiskAssessment.assessed_on.desc())
            .limit(20)
        )
    ]
    result.tasks = [
        TaskRow(t.kind.value, t.kind.label_zh, t.title, t.due_date)
        for t in session.scalars(
            select(WorklistTask)
            .where(
                WorklistTask.resident_id == resident.id,
                WorklistTask.status == TaskStatus.OPEN,
            )
            .order_by(WorklistTask.due_date)
        )
    ]
    if audit_read:
        audit_chart_read(session, actor, resident.id, clock)
    return result


def audit_chart_read(session: Session, actor: Actor, resident_id: uuid.UUID, clock: Clock) -> None:
    audit.record(
        session,
        actor,
        AuditAction.READ,
        "resident_chart",
        at=clock.now(),
        entity_id=resident_id,
        resident_id=resident_id,
    )


def _med(name: str, dose: float | None, unit: str | None, times: int | None) -> str:
    text = name
    if dose is not None:
        text += f" {dose:g}{unit or ''}"
    if times:
        text += f" 每日{times}次"
    return text


def _contracts(session: Session, resident_id: uuid.UUID) -> list[ContractRow]:
    rows = session.execute(
        select(Contract, Team.name, ServicePackage.name)
        .join(Team, Team.id == Contract.team_id)
        .join(ServicePackage, ServicePackage.id == Contract.package_id)
        .where(Contract.resident_id == resident_id)
        .order_by(Contract.start_date.desc())
    ).all()
    return [
        ContractRow(c.id, team, package, c.start_date, c.end_date, c.status.value)
        for c, team, package in rows
    ]


@dataclass(frozen=True)
class RiskInputs:
    """What the clinician confirms on the record page; the rest comes from the record."""

    sbp: float
    waist_cm: float
    smoker: bool
    family_history: bool
    tc_mmol: float | None = None
    hdl_mmol: float | None = None
    bmi: float | None = None
    bp_treated: bool | None = None
    urban: bool = True
    north: bool = False  # 杭州 lies south of the Yangtze (China-PAR's north/south split)


def assess(
    uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID, inputs: RiskInputs, clock: Clock
) -> list[RiskRow]:
    """Compute China-PAR (when lipids are given) and CDRS (when BMI is given) and store both
    with every input they used."""
    access.require(actor, Permission.WRITE_CLINICAL)
    today = clock.today()
    with uow:
        session = uow.session
        resident = access.get_resident(session, actor, resident_id)
        if resident.sex not in (Sex.MALE, Sex.FEMALE):
            raise InvalidInput("sex", "风险评估需要明确的性别", "risk scores need sex M or F")
        programmes = {
            e.programme
            for e in session.scalars(
                select(Enrolment).where(
                    Enrolment.resident_id == resident.id,
                    Enrolment.status == EnrolmentStatus.ACTIVE,
                )
            )
        }
        age = age_on(resident.birth_date, today)
        bp_treated = (
            inputs.bp_treated
            if inputs.bp_treated is not None
            else Programme.HYPERTENSION in programmes
        )
        stored: list[RiskRow] = []
        if inputs.tc_mmol is not None and inputs.hdl_mmol is not None:
            par_in = ChinaParInput(
                sex=resident.sex,
                age=age,
                sbp=inputs.sbp,
                bp_treated=bp_treated,
                tc=inputs.tc_mmol,
                hdl=inputs.hdl_mmol,
                waist_cm=inputs.waist_cm,
                smoker=inputs.smoker,
                diabetes=Programme.T2DM in programmes,
                north=inputs.north,
                urban=inputs.urban,
                family_history=inputs.family_history,
                lipid_unit=ConcentrationUnit.MMOL_PER_L,
            )
            par = china_par_risk(par_in)
            stored.append(
                _store(
                    session,
                    resident.id,
                    actor,
                    today,
                    "china_par",
                    par.percent_display,
                    par.category.value,
                    _plain(asdict(par_in)),
                )
            )
        if inputs.bmi is not None:
            cdrs_in = CdrsInput(
                sex=resident.sex,
                age=age,
                bmi=inputs.bmi,
                waist_cm=inputs.waist_cm,
                sbp=inputs.sbp,
                family_history_diabetes=inputs.family_history,
            )
            cdrs = cdrs_score(cdrs_in)
            stored.append(
                _store(
                    session,
                    resident.id,
                    actor,
                    today,
                    "cdrs",
                    cdrs.score,
                    "high" if cdrs.high_risk else "low",
                    _plain(asdict(cdrs_in)),
                )
            )
        if not stored:
            raise InvalidInput(
                "tc_mmol",
                "请填写血脂（China-PAR）或BMI（CDRS）",
                "give lipids (China-PAR) or BMI (CDRS)",
            )
        audit.record(
            session,
            actor,
            AuditAction.CREATE,
            "risk_assessment",
            at=clock.now(),
            resident_id=resident.id,
            detail={"methods": [r.method for r in stored]},
        )
        uow.commit()
        return stored


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}


def _store(
    session: Session,
    resident_id: uuid.UUID,
    actor: Actor,
    today: date,
    method: str,
    score: float,
    category: str,
    inputs: dict[str, Any],
) -> RiskRow:
    session.add(
        RiskAssessment(
            id=uuid.uuid4(),
            resident_id=resident_id,
            method=method,
            assessed_on=today,
            inputs=inputs,
            score=score,
            category=category,
            organization_id=actor.organization_id,
        )
    )
    return RiskRow(method, today, score, category, inputs)


def is_home(source: str) -> bool:
    return source == ObservationSource.HOME_DEVICE.value
