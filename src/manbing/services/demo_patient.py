"""The demo patient's believable fortnight in the DTx programme (demo databases only).

``manbing demo`` signs in a ``patient`` account; without this the patient app would be empty.
This enrols them in hypertension self-management (plan from their record, lessons by rule, a
service package), binds a home BP monitor through the printed-code flow, and replays about two
weeks of home life through the real services: morning and evening readings (a few missed) sent
by the monitor, most doses confirmed, a lesson done, a message from the doctor. Every step runs
at its own past moment (a fixed clock), so dates, adherence and the weekly review are coherent.
Runs once: a patient already enrolled is left alone.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, time, timedelta

from sqlalchemy import select

from manbing.db.models import DtxEnrolment, DtxLesson, DtxPackage, User
from manbing.domain.dtx import DtxProgramme
from manbing.services import auth, devices, dtx, messages
from manbing.services.actor import Actor
from manbing.services.clock import Clock, FixedClock
from manbing.services.device_payload import submission_from_mqtt, topic_for
from manbing.services.unit_of_work import UnitOfWork

DEMO_PACKAGE = "DEMO-HTN"
DEMO_DEVICE = "DEMO-BP-0001"
DAYS = 13


def _actors(uow: UnitOfWork) -> tuple[Actor, Actor] | None:
    with uow:
        users = {
            u.username: u
            for u in uow.session.scalars(
                select(User).where(User.username.in_(["doctor", "patient"]))
            )
        }
        if "doctor" not in users or "patient" not in users or users["patient"].resident_id is None:
            return None
        return auth.actor_for(uow.session, users["doctor"]), auth.actor_for(
            uow.session, users["patient"]
        )


def _at(clock: Clock, days_ago: int, hour: int, minute: int) -> FixedClock:
    day = clock.today() - timedelta(days=days_ago)
    return FixedClock(datetime.combine(day, time(hour, minute), dtx.TZ))


def _dose_hour(dose: int, doses: int) -> int:
    """Doses spread over the waking day: once at 08:00, twice at 08:00 and 20:00, three times
    at 08:00, 14:00 and 20:00, and so on (never past 20:00)."""
    return 8 + (12 * dose) // max(1, doses - 1)


def prepare_demo_patient(uow: UnitOfWork, clock: Clock, seed: int = 8) -> bool:
    """Give the demo patient their fortnight; False if already enrolled or no demo accounts."""
    actors = _actors(uow)
    if actors is None:
        return False
    doctor, patient = actors
    resident_id = patient.resident_id
    assert resident_id is not None
    with uow:
        enrolled = uow.session.scalar(
            select(DtxEnrolment.id).where(DtxEnrolment.resident_id == resident_id)
        )
        has_package = uow.session.scalar(
            select(DtxPackage.id).where(DtxPackage.code == DEMO_PACKAGE)
        )
    if enrolled is not None:
        return False
    start = _at(clock, DAYS, 9, 30)
    if has_package is None:
        dtx.add_package(
            uow,
            doctor,
            code=DEMO_PACKAGE,
            name="高血压居家管理服务包（示例）",
            monthly_price_fen=3000,
            government_percent=60,
            company_percent=0,
            resident_percent=40,
            company_name=None,
            clock=start,
        )
    dtx.enrol(uow, doctor, resident_id, DtxProgramme.HYPERTENSION, start, package_code=DEMO_PACKAGE)
    code, _ = devices.issue_binding_code(uow, doctor, resident_id, start)
    monitor = devices.bind_device(
        uow, DEMO_DEVICE, "bp_monitor", code, start, manufacturer="示例", model="BP-1"
    )
    rng = random.Random(seed)
    now = clock.now()
    for days_ago in range(DAYS, -1, -1):
        trend = 8 * days_ago / DAYS  # pressure comes down over the fortnight
        for hour, minute, label in ((7, 10, "am"), (20, 40, "pm")):
            moment = _at(clock, days_ago, hour, minute + rng.randint(0, 15))
            if moment.now() > now or rng.random() < 0.12:  # the future, or a missed one
                continue
            sbp = round(rng.gauss(134 + trend, 5))
            dbp = round(rng.gauss(83 + trend / 2, 3))
            payload = {
                "device_id": DEMO_DEVICE,
                "message_id": f"demo-{moment.today().isoformat()}-{label}",
                "measured_at": moment.now().isoformat(),
                "sent_at": moment.now().isoformat(),
                "type": "bp",
                "values": {"sbp": sbp, "dbp": dbp, "pulse": rng.randint(64, 82)},
                "units": {"sbp": "mmHg", "dbp": "mmHg", "pulse": "/min"},
                "token": monitor.secret,
            }
            submission = submission_from_mqtt(topic_for(DEMO_DEVICE), json.dumps(payload).encode())
            devices.ingest(uow, [submission], FixedClock(moment.now() + timedelta(seconds=20)))
    with uow:
        plan = uow.session.scalars(
            select(DtxEnrolment.plan).where(DtxEnrolment.resident_id == resident_id)
        ).one()
        lessons = list(
            uow.session.scalars(
                select(DtxLesson.lesson_code)
                .where(DtxLesson.resident_id == resident_id)
                .order_by(DtxLesson.lesson_code)
            )
        )
    for days_ago in range(DAYS, 0, -1):
        for reminder in plan.get("medication_reminders", []):
            doses = int(reminder.get("times_per_day", 1))
            for dose in range(doses):
                if rng.random() < 0.9:
                    moment = _at(clock, days_ago, _dose_hour(dose, doses), 5)
                    dtx.confirm_dose(uow, patient, resident_id, str(reminder["name"]), dose, moment)
    if lessons:
        dtx.complete_lesson(uow, patient, resident_id, lessons[0], _at(clock, DAYS - 1, 21, 0))
    with uow:
        messages.enqueue(
            uow.session,
            resident_id=resident_id,
            title="来自李医生",
            body="这两周您坚持早晚测血压，血压在慢慢下降，做得很好！继续少盐饮食，按时服药，"
            "下次随访时我们再一起看看记录。",
            source_type="demo_patient",
            source_id=str(resident_id),
            at=_at(clock, 2, 16, 0).now(),
        )
        uow.commit()
    messages.dispatch_pending(uow, clock)
    return True
