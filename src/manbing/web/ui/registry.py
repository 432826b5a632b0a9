"""Pages for registration, enrolment, contracts and BP screening (forms posting to the services)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from manbing.domain.errors import Conflict, InvalidInput
from manbing.domain.programmes import Programme
from manbing.domain.values import Sex
from manbing.services import contracts, enrolments, health_checks, residents, screening
from manbing.services.actor import Actor
from manbing.web.deps import ContainerDep, OptionalActorDep, check_csrf
from manbing.web.ui import forms
from manbing.web.ui.clinic import _record_context
from manbing.web.ui.render import render

router = APIRouter(include_in_schema=False)


def _login() -> Response:
    return RedirectResponse("/login", status_code=303)


def _uuid(form: FormData, name: str, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(forms.text(form, name))
    except ValueError:
        raise InvalidInput(name, message, f"{name} is required") from None


def _register_context(actor: Actor, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "actor": actor,
        "values": values,
        "error": None,
        "duplicate": None,
        "sexes": [Sex.MALE, Sex.FEMALE],
        **extra,
    }


@router.get("/residents/new", response_class=HTMLResponse)
def register_page(request: Request, actor: OptionalActorDep) -> Response:
    if actor is None:
        return _login()
    values = {"division_code": actor.division_code or ""}
    return render(request, "register.html", _register_context(actor, values))


@router.post("/residents/new", response_class=HTMLResponse)
async def register_submit(
    request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    """Register a resident; an existing match is shown (with a link) instead of a second record."""
    if actor is None:
        return _login()
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    try:
        if actor.organization_id is None:
            raise InvalidInput("managing_org_id", "您的账号未关联机构", "no organisation")
        sex = forms.text(form, "sex")
        created = residents.register(
            container.uow(),
            actor,
            residents.NewResident(
                name=forms.text(form, "name")[:50],
                division_code=forms.text(form, "division_code")[:12],
                managing_org_id=actor.organization_id,
                id_number=forms.text(form, "id_number")[:18] or None,
                sex=Sex(sex) if sex in ("M", "F") else None,
                birth_date=forms.optional_date(form, "birth_date", "出生日期"),
                phone=forms.text(form, "phone")[:20] or None,
                address=forms.text(form, "address")[:200] or None,
                confirm_not_duplicate=form.get("confirm_not_duplicate") == "on",
            ),
            container.clock,
        )
    except residents.DuplicateResident as exc:
        context = _register_context(actor, values, duplicate=exc)
        return render(request, "register.html", context, status_code=409)
    except InvalidInput as exc:
        context = _register_context(actor, values, error=exc)
        return render(request, "register.html", context, status_code=422)
    return RedirectResponse(f"/residents/{created.id}", status_code=303)


async def _record_action(
    request: Request,
    actor: Actor,
    container: ContainerDep,
    resident_id: uuid.UUID,
    section: str,
) -> tuple[FormData, dict[str, Any]]:
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    return form, {"section": section}


def _record_error(
    request: Request,
    actor: Actor,
    container: ContainerDep,
    resident_id: uuid.UUID,
    section: str,
    exc: InvalidInput | Conflict,
    form: FormData,
) -> Response:
    context = _record_context(actor, container, resident_id)
    context[f"{section}_error"] = exc
    context[f"{section}_values"] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    status = 409 if isinstance(exc, Conflict) else 422
    return render(request, "record.html", context, status_code=status)


@router.post("/residents/{resident_id}/enrol", response_class=HTMLResponse)
async def enrol_submit(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form, _ = await _record_action(request, actor, container, resident_id, "enrol")
    try:
        programme = forms.text(form, "programme")
        if programme not in (Programme.HYPERTENSION.value, Programme.T2DM.value):
            raise InvalidInput("programme", "请选择管理项目", "choose a programme")
        enrolments.enrol(
            container.uow(),
            actor,
            resident_id,
            Programme(programme),
            container.clock,
            diagnosed_on=forms.optional_date(form, "diagnosed_on", "确诊日期"),
        )
    except (InvalidInput, Conflict) as exc:
        return _record_error(request, actor, container, resident_id, "enrol", exc, form)
    return RedirectResponse(f"/residents/{resident_id}", status_code=303)


@router.post("/residents/{resident_id}/contract", response_class=HTMLResponse)
async def contract_submit(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form, _ = await _record_action(request, actor, container, resident_id, "contract")
    try:
        renew_id = forms.text(form, "renew_contract_id")
        if renew_id:
            contracts.renew(
                container.uow(),
                actor,
                _uuid(form, "renew_contract_id", "签约不存在"),
                container.clock,
            )
        else:
            contracts.sign(
                container.uow(),
                actor,
                resident_id,
                _uuid(form, "team_id", "请选择家庭医生团队"),
                _uuid(form, "package_id", "请选择服务包"),
                container.clock,
                start=forms.optional_date(form, "start_date", "开始日期"),
            )
    except (InvalidInput, Conflict) as exc:
        return _record_error(request, actor, container, resident_id, "contract", exc, form)
    return RedirectResponse(f"/residents/{resident_id}#contract", status_code=303)


@router.post("/residents/{resident_id}/screening", response_class=HTMLResponse)
async def screening_submit(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form, _ = await _record_action(request, actor, container, resident_id, "screening")
    try:
        outcome = screening.record_bp(
            container.uow(),
            actor,
            screening.BpScreening(
                resident_id=resident_id,
                sbp=forms.required_int(form, "sbp", "收缩压"),
                dbp=forms.required_int(form, "dbp", "舒张压"),
                bmi=forms.optional_number(form, "bmi", "BMI"),
                waist_cm=forms.optional_number(form, "waist_cm", "腰围"),
                family_history=form.get("family_history") == "on",
                high_salt_diet=form.get("high_salt_diet") == "on",
                daily_spirits_ml=forms.optional_number(form, "daily_spirits_ml", "日饮白酒量")
                or 0.0,
            ),
            container.clock,
        )
    except InvalidInput as exc:
        return _record_error(request, actor, container, resident_id, "screening", exc, form)
    context = _record_context(actor, container, resident_id)
    context["screening_outcome"] = outcome
    return render(request, "record.html", context)


@router.post("/residents/{resident_id}/health-check", response_class=HTMLResponse)
async def health_check_submit(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form, _ = await _record_action(request, actor, container, resident_id, "health")

    def opt_int(name: str, label: str) -> int | None:
        return forms.required_int(form, name, label) if forms.text(form, name) else None

    try:
        health_checks.record(
            container.uow(),
            actor,
            health_checks.HealthCheckInput(
                resident_id=resident_id,
                check_date=forms.optional_date(form, "check_date", "体检日期"),
                temperature_c=forms.optional_number(form, "temperature_c", "体温"),
                pulse=opt_int("pulse", "脉率"),
                respiration=opt_int("respiration", "呼吸频率"),
                sbp=opt_int("sbp", "收缩压"),
                dbp=opt_int("dbp", "舒张压"),
                height_cm=forms.optional_number(form, "height_cm", "身高"),
                weight_kg=forms.optional_number(form, "weight_kg", "体重"),
                waist_cm=forms.optional_number(form, "waist_cm", "腰围"),
                fasting_glucose=forms.optional_number(form, "fasting_glucose", "空腹血糖"),
                self_care_score=opt_int("self_care_score", "生活自理能力评分"),
                conclusion=forms.text(form, "conclusion")[:1000] or None,
                guidance=tuple(v for v in form.getlist("guidance") if isinstance(v, str) and v),
            ),
            container.clock,
        )
    except InvalidInput as exc:
        return _record_error(request, actor, container, resident_id, "health", exc, form)
    return RedirectResponse(f"/residents/{resident_id}#health", status_code=303)
