from sqlalchemy import select, update

from manbing.db.models import AuditEvent
from manbing.domain.audit import AuditAction
from manbing.domain.organisations import Role
from manbing.services import audit, residents
from tests.personas import actor_at


def test_reads_are_audited_in_an_intact_chain_and_tampering_is_detected(district, uow, clock):
    doctor = actor_at(district.session_factory, Role.FAMILY_DOCTOR, district.orgs["xixing-1"])
    resident_id = district.resident_ids["xixing-1"][0]
    residents.get(uow, doctor, resident_id, clock)
    residents.search(uow, doctor, "王", clock)
    with district.session_factory() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.action for e in events][-2:] == [AuditAction.READ, AuditAction.SEARCH]
        assert events[-2].resident_id == resident_id and events[-2].actor_user_id == doctor.user_id
        assert audit.verify(s) is None
        s.execute(
            update(AuditEvent).where(AuditEvent.seq == events[-2].seq).values(entity_type="edited")
        )
        s.commit()
        broken = audit.verify(s)
        assert broken is not None and broken.event_id == str(events[-2].id)
