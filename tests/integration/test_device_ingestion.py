from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manbing.db.models import AuditEvent, Device, Message, Observation, WorklistTask
from manbing.domain.errors import InvalidInput, NotFound
from manbing.domain.ingestion import Decision
from manbing.domain.observations import ObservationKind, ObservationSource
from manbing.domain.organisations import Role
from manbing.domain.tasks import TaskKind
from manbing.services import devices, messages
from manbing.services.device_payload import submission_from_item, submission_from_mqtt, topic_for
from tests.device_helpers import bind, bp_payload, encode, new_serial
from tests.personas import actor_at


def _count(session_factory, model, *where) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_a_device_bound_with_the_printed_code_gets_a_secret_stored_only_as_a_hash(
    district, uow, clock
):
    resident_id = district.resident_ids["xixing-1"][0]
    bound = bind(district.session_factory, district.orgs["xixing-1"], resident_id, "BP-77", clock)
    with district.session_factory() as s:
        device = s.scalars(select(Device).where(Device.serial == "BP-77")).one()
        assert device.resident_id == resident_id
        assert device.secret_hash and bound.secret not in device.secret_hash
        assert s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_type == "device")
        )
    assert devices.authenticate_device(uow, "BP-77", bound.secret).resident_id == resident_id
    with pytest.raises(NotFound):
        devices.authenticate_device(uow, "BP-77", "wrong-secret")


def test_a_binding_code_works_once_and_not_after_it_expires(district, uow, clock):
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    resident_id = district.resident_ids["xixing-1"][0]
    code, expires = devices.issue_binding_code(uow, doctor, resident_id, clock)
    devices.bind_device(uow, "GM-1", "glucometer", code.lower(), clock)
    with pytest.raises(InvalidInput) as err:
        devices.bind_device(uow, "GM-2", "glucometer", code, clock)
    assert err.value.field == "binding_code"
    code2, _ = devices.issue_binding_code(uow, doctor, resident_id, clock)
    later = type(clock)(expires + timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        devices.bind_device(uow, "GM-3", "glucometer", code2, later)


def test_a_doctor_cannot_print_a_binding_code_for_a_resident_of_another_station(
    district, uow, clock
):
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    with pytest.raises(NotFound):
        devices.issue_binding_code(uow, doctor, district.resident_ids["changhe-1"][0], clock)


def test_readings_are_stored_once_even_when_replayed_late_and_out_of_order(district, uow, clock):
    resident_id = district.resident_ids["xixing-1"][0]
    serial = new_serial()
    bound = bind(district.session_factory, district.orgs["xixing-1"], resident_id, serial, clock)
    now = clock.now()
    items = [
        bp_payload(serial, str(i), 130 + i, 80, now - timedelta(hours=10 - i)) for i in range(5)
    ]
    first = devices.ingest(
        uow, [submission_from_item(i, serial, bound.secret) for i in items], clock
    )
    assert (first.accepted, first.duplicates, first.rejected) == (5, 0, [])
    replay = [*items[::-1], items[2]]
    again = devices.ingest(
        uow, [submission_from_item(i, serial, bound.secret) for i in replay], clock
    )
    assert (again.accepted, again.duplicates) == (0, 6)
    home = Observation.source == ObservationSource.HOME_DEVICE
    assert _count(district.session_factory, Observation, home) == 5
    with district.session_factory() as s:
        row = s.scalars(
            select(Observation).where(Observation.idempotency_key == f"{serial}:3")
        ).one()
        assert (row.value, row.value2, row.kind) == (133, 80, ObservationKind.BLOOD_PRESSURE)
        assert row.effective_at == now - timedelta(hours=7)
    # readings are not audited one by one
    assert (
        _count(district.session_factory, AuditEvent, AuditEvent.entity_type == "observation") == 0
    )


def test_malformed_items_are_rejected_with_reasons_and_the_valid_ones_kept(district, uow, clock):
    resident_id = district.resident_ids["xixing-1"][0]
    serial = new_serial()
    bound = bind(district.session_factory, district.orgs["xixing-1"], resident_id, serial, clock)
    now = clock.now()
    items = [
        bp_payload(serial, "ok", 128, 82, now),
        bp_payload(serial, "high", 400, 82, now),
        {"message_id": "x", "type": "bp"},
        bp_payload(serial, "old", 128, 82, now - timedelta(days=40)),
        bp_payload("OTHER-1", "spoof", 128, 82, now),
    ]
    result = devices.ingest(
        uow, [submission_from_item(i, serial, bound.secret) for i in items], clock
    )
    assert result.accepted == 1
    reasons = {(r.index, r.decision, r.field) for r in result.rejected}
    assert reasons == {
        (1, Decision.INVALID, "sbp"),
        (2, Decision.INVALID, "measured_at"),
        (3, Decision.STALE, "measured_at"),
        (4, Decision.INVALID, "device_id"),
    }


def test_a_reading_with_a_wrong_token_is_rejected_over_mqtt(district, uow, clock):
    resident_id = district.resident_ids["xixing-1"][0]
    serial = new_serial()
    bound = bind(district.session_factory, district.orgs["xixing-1"], resident_id, serial, clock)
    now = clock.now()
    good = submission_from_mqtt(
        topic_for(serial), encode(bp_payload(serial, "1", 120, 80, now, bound.secret))
    )
    bad = submission_from_mqtt(
        topic_for(serial), encode(bp_payload(serial, "2", 120, 80, now, "nope"))
    )
    junk = submission_from_mqtt(topic_for(serial), b"{not json")
    result = devices.ingest(uow, [good, bad, junk], clock)
    assert result.accepted == 1
    assert [(r.index, r.field) for r in result.rejected] == [(2, "payload"), (1, "device_id")]


def test_a_device_clock_far_from_ours_is_flagged_and_the_reading_kept(district, uow, clock):
    resident_id = district.resident_ids["xixing-1"][0]
    serial = new_serial()
    bound = bind(district.session_factory, district.orgs["xixing-1"], resident_id, serial, clock)
    item = bp_payload(serial, "skew", 120, 80, clock.now() + timedelta(hours=3))
    devices.ingest(uow, [submission_from_item(item, serial, bound.secret)], clock)
    with district.session_factory() as s:
        row = s.scalars(
            select(Observation).where(Observation.idempotency_key == f"{serial}:skew")
        ).one()
        assert row.clock_skew_flag is True


def test_a_critical_reading_opens_one_urgent_task_and_one_patient_message(district, uow, clock):
    resident_id = district.resident_ids["xixing-1"][0]
    serial = new_serial()
    bound = bind(district.session_factory, district.orgs["xixing-1"], resident_id, serial, clock)
    item = bp_payload(serial, "crit", 186, 112, clock.now())
    for _ in range(2):
        devices.ingest(uow, [submission_from_item(item, serial, bound.secret)], clock)
    urgent = WorklistTask.kind == TaskKind.URGENT_ALERT
    assert _count(district.session_factory, WorklistTask, urgent) == 1
    with district.session_factory() as s:
        task = s.scalars(select(WorklistTask).where(urgent)).one()
        assert task.organization_id == district.orgs["xixing-1"]
        assert "186/112" in task.title
    assert messages.dispatch_pending(uow, clock) == 1
    patient = actor_at(
        district.session_factory, Role.PATIENT, district.orgs["xixing-1"], resident_id=resident_id
    )
    (item_in_inbox,) = messages.inbox(uow, patient, resident_id)
    assert "186/112" in item_in_inbox.body
    assert _count(district.session_factory, Message, Message.status == "sent") == 1


def test_the_doctor_sees_the_seven_day_home_average_and_whether_it_is_uncontrolled(
    district, uow, clock
):
    resident_id = district.resident_ids["xixing-1"][0]
    serial = new_serial()
    bound = bind(district.session_factory, district.orgs["xixing-1"], resident_id, serial, clock)
    now = clock.now()
    items = [
        bp_payload(serial, "a", 140, 86, now - timedelta(days=1)),
        bp_payload(serial, "b", 132, 84, now - timedelta(days=2)),
        bp_payload(serial, "old", 100, 60, now - timedelta(days=9)),
    ]
    devices.ingest(uow, [submission_from_item(i, serial, bound.secret) for i in items], clock)
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    view = devices.home_view(uow, doctor, resident_id, clock)
    assert (view.bp_readings, view.mean_sbp, view.mean_dbp) == (2, 136.0, 85.0)
    assert view.uncontrolled_at_home is True
    outsider = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["changhe-1"])
    with pytest.raises(NotFound):
        devices.home_view(uow, outsider, resident_id, clock)
