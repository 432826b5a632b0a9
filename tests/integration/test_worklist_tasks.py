from datetime import date

from sqlalchemy import func, select

from manbing.db.models import WorklistTask
from manbing.domain.tasks import TaskKind, TaskStatus
from manbing.services.tasks import TaskSpec, close_open_tasks, open_task


def test_a_task_is_opened_once_per_source_and_closed_when_done(district, clock):
    resident_id = district.resident_ids["xixing-1"][0]
    spec = TaskSpec(
        resident_id=resident_id,
        kind=TaskKind.URGENT_ALERT,
        due_date=date(2026, 11, 24),
        organization_id=district.orgs["xixing-1"],
        title="收缩压≥180mmHg",
        source_type="observation",
        source_id="obs-1",
        priority=10,
    )
    with district.session_factory() as s:
        first = open_task(s, spec)
        again = open_task(s, spec)
        assert first.id == again.id
        s.commit()
        assert s.scalar(select(func.count()).select_from(WorklistTask)) == 1
        assert close_open_tasks(s, resident_id, (TaskKind.URGENT_ALERT,), clock) == 1
        s.commit()
        assert s.get(WorklistTask, first.id).status is TaskStatus.DONE
        assert close_open_tasks(s, resident_id, (TaskKind.URGENT_ALERT,), clock) == 0
