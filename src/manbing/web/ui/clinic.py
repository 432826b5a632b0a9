"""Pages of the family doctor's day: worklist, resident record, follow-up form, referrals."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.followup_form import (
    Adherence,
    DorsalisPedis,
    Hypoglycaemia,
    Rating,
    SaltIntake,
    Side,
    VisitMode,
)
from manbing.domain.organisations import Permission, Role, Scope
from manbing.domain.referrals import Urgency
from manbing.domain.residents import ResidentStatus
from manbing.domain.rules import DangerSign, DiabetesSymptom, HypertensionSymptom
from manbing.services import followups, mpi, records, referrals, worklist
from manbing.services.actor import Actor
from manbing.services.record_page import read as read_record_page
from manbing.web.api.followups import FollowUpIn
from manbing.web.deps import ContainerDep, OptionalActorDep, check_csrf
from manbing.web.errors import _PYDANTIC_ZH
from manbing.web.ui import forms
from manbing.web.ui.pdf import PdfUnavailable, html_to_pdf
from manbing.web.ui.render import render

router = APIRouter(include_in_schema=False)

MED_ROWS = 4
_BOOL_FIELDS = ("adverse_reaction", "new_complication")
_LIST_FIELDS = ("symptoms", "danger_signs")


def _login() -> Response:
    return RedirectResponse("/login", status_code=303)


def is_clinical(actor: Actor) -> bool:
    return actor.can(Permission.WRITE_CLINICAL) and actor.scope is Scope.ORG_SUBTREE


@router.get("/", response_class=HTMLResponse)
def start(
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
    sort: Annotated[worklist.DueSort, Query()] = worklist.DueSort.OVERDUE,
    q: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    """The start page: the worklist for primary-care staff, the inbox for specialists."""
    if actor is None:
        return _login()
    if actor.role is Role.PATIENT:
        return RedirectResponse("/me", status_code=303)
    if q:  # the search box of the old start page keeps working
        return RedirectResponse(f"/residents?{urlencode({'q': q})}", status_code=303)
    if actor.can(Permission.RECEIVE_REFERRALS):
        return RedirectResponse("/referrals/inbox", status_code=303)
    if not is_clinical(actor):
        return RedirectResponse("/residents", status_code=303)
    work = worklist.build(container.uow(), actor, container.clock, sort=sort)
    return render(request, "worklist.html", {"actor": actor, "work": work, "sort": sort.value})


def _record_context(
    actor: Actor, container: ContainerDep, resident_id: uuid.UUID
) -> dict[str, Any]:
    page = read_record_page(
        container.uow(), actor, resident_id, container.clock, contract_options=is_clinical(actor)
    )
    chart = page.chart
    return {
        "actor": actor,
        "chart": chart,
        "referrals": page.referrals,
        "clinical": is_clinical(actor),
        "bp": {"clinic": chart.series("bp", "clinic"), "home": chart.series("bp", "home_device")},
        "glucose": {
            "clinic": chart.series("glucose_fasting", "clinic"),
            "home": chart.series("glucose_fasting", "home_device")
            + chart.series("glucose_random", "home_device"),
        },
        "risk_error": None,
        "risk_values": {},
        "teams": page.teams,
        "packages": page.packages,
        "eligible_screening": chart.resident.age >= 35,
        "health_checks": page.health_checks,
        "merged_into": mpi.merged_target(container.uow(), actor, resident_id)
        if chart.resident.status is ResidentStatus.MERGED
        else None,
    }


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def record_page(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    return render(request, "record.html", _record_context(actor, container, resident_id))


@router.post("/residents/{resident_id}/risk", response_class=HTMLResponse)
async def risk_submit(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    try:
        inputs = records.RiskInputs(
            sbp=forms.required_number(form, "sbp", "收缩压"),
            waist_cm=forms.required_number(form, "waist_cm", "腰围"),
            smoker=form.get("smoker") == "on",
            family_history=form.get("family_history") == "on",
            tc_mmol=forms.optional_number(form, "tc_mmol", "总胆固醇"),
            hdl_mmol=forms.optional_number(form, "hdl_mmol", "高密度脂蛋白胆固醇"),
            bmi=forms.optional_number(form, "bmi", "BMI"),
        )
        records.assess(container.uow(), actor, resident_id, inputs, container.clock)
    except InvalidInput as exc:
        context = _record_context(actor, container, resident_id)
        context["risk_error"] = exc
        context["risk_values"] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        return render(request, "record.html", context, status_code=422)
    return RedirectResponse(f"/residents/{resident_id}#risk", status_code=303)


def _form_dict(form: FormData) -> dict[str, Any]:
    """The posted follow-up form as the API's JSON body (empty fields are "not recorded")."""
    data: dict[str, Any] = {}
    for name in FollowUpIn.model_fields:
        if name in _LIST_FIELDS:
            data[name] = [v for v in form.getlist(name) if isinstance(v, str) and v]
        elif name in _BOOL_FIELDS:
            data[name] = form.get(name) == "on"
        elif name == "medications":
            meds = []
            for n in range(MED_ROWS):
                med_name = forms.text(form, f"med_name_{n}")
                if med_name:
                    med: dict[str, Any] = {"name": med_name}
                    for key in ("times_per_day", "dose", "dose_unit"):
                        value = forms.text(form, f"med_{key}_{n}")
                        if value:
                            med[key] = value
                    meds.append(med)
            data[name] = meds
        else:
            value = forms.text(form, name)
            if value:
                data[name] = value
    return data


_LABELS_ZH = {
    "visit_date": "随访日期", "mode": "随访方式", "sbp": "收缩压", "dbp": "舒张压",
    "heart_rate": "心率", "temperature_c": "体温", "weight_kg": "体重", "weight_target_kg": "目标体重",
    "height_cm": "身高", "bmi_target": "目标体质指数", "cigarettes_per_day": "日吸烟量",
    "cigarettes_per_day_target": "目标日吸烟量", "alcohol_liang_per_day": "日饮酒量",
    "alcohol_liang_per_day_target": "目标日饮酒量", "exercise_times_per_week": "每周运动次数",
    "exercise_times_per_week_target": "目标每周运动次数", "exercise_minutes": "每次运动时间",
    "exercise_minutes_target": "目标每次运动时间", "staple_food_g": "主食",
    "staple_food_g_target": "目标主食", "fasting_glucose": "空腹血糖", "random_glucose": "随机血糖",
    "hba1c": "糖化血红蛋白", "hba1c_date": "糖化血红蛋白检查日期", "symptoms": "症状",
    "danger_signs": "危急情况",
}  # fmt: skip


def _parse(form: FormData) -> tuple[FollowUpIn | None, dict[str, str]]:
    try:
        return FollowUpIn.model_validate(_form_dict(form)), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            field = loc[0] if loc else "form"
            if field == "medications" and len(loc) >= 3:
                field = f"medications.{loc[1]}.{loc[2]}"
            label = _LABELS_ZH.get(loc[0] if loc else "", "")
            if field.startswith("medications."):
                label = {"name": "药物名称", "times_per_day": "每日次数", "dose": "每次剂量"}.get(
                    loc[2] if len(loc) >= 3 else "", "用药"
                )
            errors.setdefault(field, label + _PYDANTIC_ZH.get(str(err.get("type")), "输入不正确"))
        return None, errors


def _form_context(
    actor: Actor,
    chart: records.ResidentChart,
    values: dict[str, Any],
    errors: dict[str, str],
    today: date,
) -> dict[str, Any]:
    programmes = set(chart.resident.programmes)
    return {
        "actor": actor,
        "chart": chart,
        "values": values,
        "errors": errors,
        "today": today.isoformat(),
        "hypertension": "hypertension" in programmes,
        "diabetes": "t2dm" in programmes,
        "htn_symptoms": list(HypertensionSymptom),
        "dm_symptoms": list(DiabetesSymptom),
        "danger_signs": list(DangerSign),
        "modes": list(VisitMode),
        "ratings": list(Rating),
        "salt": list(SaltIntake),
        "adherence": list(Adherence),
        "hypo": list(Hypoglycaemia),
        "pedis": list(DorsalisPedis),
        "sides": list(Side),
        "med_rows": range(MED_ROWS),
        "key": uuid.uuid4().hex,
    }


@router.get("/residents/{resident_id}/follow-up", response_class=HTMLResponse)
def followup_form(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    chart = records.chart(container.uow(), actor, resident_id, container.clock)
    today = container.clock.today()
    values: dict[str, Any] = {"visit_date": today.isoformat(), "mode": "1"}
    latest = chart.visits[0] if chart.visits else None
    if latest is not None:
        for n, med in enumerate(latest.medications[:MED_ROWS]):
            values[f"med_name_{n}"] = med.split(" ")[0]
    context = _form_context(actor, chart, values, {}, today)
    return render(request, "followup_form.html", context)


@router.post("/residents/{resident_id}/follow-up/preview", response_class=HTMLResponse)
async def followup_preview(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    """The htmx fragment: class, next visit and referral prompt for the values typed so far."""
    if actor is None:
        return _login()
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    body, errors = _parse(form)
    preview = None
    if body is not None:
        preview = followups.preview(
            container.uow(), actor, body.to_input(resident_id), container.clock
        )
    return render(request, "_preview.html", {"preview": preview, "errors": errors})


@router.post("/residents/{resident_id}/follow-up", response_class=HTMLResponse)
async def followup_submit(
    resident_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    body, errors = _parse(form)
    if body is not None:
        try:
            saved = followups.record(
                container.uow(), actor, body.to_input(resident_id), container.clock
            )
            return RedirectResponse(
                f"/residents/{resident_id}/follow-ups/{saved.id}", status_code=303
            )
        except InvalidInput as exc:
            errors = {exc.field: exc.message}
    chart = records.chart(container.uow(), actor, resident_id, container.clock)
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    context = _form_context(actor, chart, values, errors, container.clock.today())
    context["checked"] = {
        name: [v for v in form.getlist(name) if isinstance(v, str)] for name in _LIST_FIELDS
    }
    context["key"] = forms.text(form, "idempotency_key") or context["key"]
    return render(request, "followup_form.html", context, status_code=422)


@router.get("/residents/{resident_id}/follow-ups/{follow_up_id}", response_class=HTMLResponse)
def followup_saved(
    resident_id: uuid.UUID,
    follow_up_id: uuid.UUID,
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
) -> Response:
    """The saved visit: its class, next visit and, when the rules say so, the referral form."""
    if actor is None:
        return _login()
    chart = records.chart(container.uow(), actor, resident_id, container.clock)
    outcome = followups.get(container.uow(), actor, follow_up_id)
    visit = next((v for v in chart.visits if v.id == follow_up_id), None)
    if visit is None:
        raise NotFound("未找到该随访记录", "follow-up not found")
    hospitals = referrals.hospitals(container.uow(), actor) if is_clinical(actor) else []
    refs = [r for r in referrals.for_resident(container.uow(), actor, resident_id)]
    already = any(r.follow_up_id == follow_up_id for r in refs)
    return render(
        request,
        "followup_saved.html",
        {
            "actor": actor,
            "chart": chart,
            "visit": visit,
            "hospitals": hospitals,
            "already_referred": already,
            "outcome": outcome,
            "error": None,
        },
    )


@router.post("/referrals", response_class=HTMLResponse)
async def referral_submit(
    request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    try:
        resident_id = uuid.UUID(forms.text(form, "resident_id") or "")
        to_org = uuid.UUID(forms.text(form, "to_org_id") or "")
    except ValueError:
        raise InvalidInput("to_org_id", "请选择转入医院", "choose a hospital") from None
    follow_up = forms.text(form, "follow_up_id")
    urgency = Urgency.URGENT if forms.text(form, "urgency") == "urgent" else Urgency.ROUTINE
    referrals.create_up(
        container.uow(),
        actor,
        referrals.NewReferral(
            resident_id=resident_id,
            to_org_id=to_org,
            urgency=urgency,
            reasons=tuple(v for v in form.getlist("reasons") if isinstance(v, str) and v),
            reason_text=(forms.text(form, "reason_text") or "")[:1000] or None,
            to_department=(forms.text(form, "to_department") or "")[:100] or None,
            follow_up_id=uuid.UUID(follow_up) if follow_up else None,
        ),
        container.clock,
    )
    return RedirectResponse(f"/residents/{resident_id}#referrals", status_code=303)


@router.get("/referrals/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, actor: OptionalActorDep, container: ContainerDep) -> Response:
    if actor is None:
        return _login()
    items = referrals.inbox(container.uow(), actor, include_done=True)
    return render(request, "inbox.html", {"actor": actor, "items": items})


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral_page(
    referral_id: uuid.UUID, request: Request, actor: OptionalActorDep, container: ContainerDep
) -> Response:
    if actor is None:
        return _login()
    ref = referrals.get(container.uow(), actor, referral_id, container.clock)
    return render(
        request,
        "referral.html",
        {
            "actor": actor,
            "ref": ref,
            "receiver": actor.can(Permission.RECEIVE_REFERRALS),
        },
    )


@router.post("/referrals/{referral_id}/{action}", response_class=HTMLResponse)
async def referral_action(
    referral_id: uuid.UUID,
    action: str,
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
) -> Response:
    if actor is None:
        return _login()
    form = await request.form()
    check_csrf(request, forms.text(form, "csrf_token"))
    uow, clock = container.uow(), container.clock
    if action == "accept":
        referrals.accept(
            uow, actor, referral_id, clock, (forms.text(form, "note") or "")[:1000] or None
        )
    elif action == "return":
        referrals.return_with_plan(uow, actor, referral_id, forms.text(form, "plan") or "", clock)
        return RedirectResponse("/referrals/inbox", status_code=303)
    elif action == "acknowledge":
        referrals.acknowledge(uow, actor, referral_id, clock)
        return RedirectResponse("/", status_code=303)
    else:
        raise InvalidInput("action", "不支持的操作", "unknown action")
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


_FORM_TITLES = {
    "hypertension": "高血压患者随访服务记录表",
    "diabetes": "2型糖尿病患者随访服务记录表",
    "combined": "高血压、2型糖尿病患者随访服务记录表",
}


def _print_context(visit: followups.PrintableVisit, pdf_url: str) -> dict[str, Any]:
    f = visit.fields

    def label(_enum: Any, value: Any, labels: dict[str, str]) -> str:
        return labels.get(str(getattr(value, "value", value)), "—") if value is not None else "—"

    rating = {"1": "良好", "2": "一般", "3": "差"}
    symptom_labels = {s.value: s.label_zh for s in HypertensionSymptom}
    dm_labels = {s.value: s.label_zh for s in DiabetesSymptom}
    sign_labels = {f"danger:{s.value}": s.label_zh for s in DangerSign}
    symptoms = []
    for code in f["symptoms"] or []:  # type: ignore[attr-defined]
        text = str(code)
        if text in sign_labels:
            symptoms.append(sign_labels[text])
        elif text.startswith("d"):
            symptoms.append(dm_labels.get(text[1:], text))
        elif f["form"] == "diabetes":
            symptoms.append(dm_labels.get(text, text))
        else:
            symptoms.append(symptom_labels.get(text, text))
    form_code = str(getattr(f["form"], "value", f["form"]))
    classification = str(f["classification"] or "")
    return {
        "v": visit,
        "title": _FORM_TITLES.get(form_code, _FORM_TITLES["hypertension"]),
        "pdf_url": pdf_url,
        "symptoms": symptoms,
        "mode": label(VisitMode, f["mode"], {"1": "门诊", "2": "家庭", "3": "电话"}),
        "pedis": label(
            DorsalisPedis, f["dorsalis_pedis"], {"1": "触及正常", "2": "减弱", "3": "消失"}
        ),
        "salt": f"{label(SaltIntake, f['salt_intake'], {'light': '轻', 'medium': '中', 'heavy': '重'})}"
        f" / {label(SaltIntake, f['salt_intake_target'], {'light': '轻', 'medium': '中', 'heavy': '重'})}",
        "psychological": label(Rating, f["psychological"], rating),
        "compliance": label(Rating, f["compliance"], rating),
        "adherence": label(Adherence, f["adherence"], {"1": "规律", "2": "间断", "3": "不服药"}),
        "hypo": label(Hypoglycaemia, f["hypoglycaemia"], {"1": "无", "2": "偶尔", "3": "频繁"}),
        "classification": {"1": "控制满意", "2": "控制不满意", "3": "不良反应", "4": "并发症"}.get(
            classification, "—"
        ),
    }


@router.get("/residents/{resident_id}/follow-ups/{follow_up_id}/print", response_class=HTMLResponse)
def followup_print(
    resident_id: uuid.UUID,
    follow_up_id: uuid.UUID,
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
) -> Response:
    """The standard paper form, laid out for A4 (print from the browser or download the PDF)."""
    if actor is None:
        return _login()
    visit = followups.printable(container.uow(), actor, resident_id, follow_up_id, container.clock)
    pdf_url = f"/residents/{resident_id}/follow-ups/{follow_up_id}/form.pdf"
    return render(request, "followup_print.html", _print_context(visit, pdf_url))


@router.get("/residents/{resident_id}/follow-ups/{follow_up_id}/form.pdf")
def followup_pdf(
    resident_id: uuid.UUID,
    follow_up_id: uuid.UUID,
    request: Request,
    actor: OptionalActorDep,
    container: ContainerDep,
) -> Response:
    if actor is None:
        return _login()
    visit = followups.printable(container.uow(), actor, resident_id, follow_up_id, container.clock)
    html = render(request, "followup_print.html", _print_context(visit, "")).body
    try:
        pdf = html_to_pdf(bytes(html).decode("utf-8"))
    except PdfUnavailable as exc:
        return HTMLResponse(f"PDF 暂不可用：{exc}", status_code=503)
    name = f"followup-{visit.record_number}-{visit.fields['visit_date']}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
