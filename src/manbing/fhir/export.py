"""Bulk Data ``$export`` (system, Patient, Group): kick-off, status polling, NDJSON files.

A job runs in a background thread and writes ``<export_dir>/<job>/<Type>.ndjson``; its state
(who asked, running/done/failed, the manifest, the failure reason) is a ``fhir_export_jobs`` row,
so polling and download keep working after a restart. Only the requesting user may poll or
download. Each job records the server process running it (``owner``) and a heartbeat; on
start-up, and when a job is polled, ``recover`` marks failed the running jobs whose process is
gone (an earlier run of this process slot, a dead process on this host, or a heartbeat older than
``STALE_AFTER``), with the reason — so several server processes (``manbing serve --workers``) never
fail each other's jobs. ``Group/<organisation id>`` stands for the residents managed in that organisation's
subtree (the platform has no other kind of group).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from manbing.db.models import FhirExportJob, Organization, Resident
from manbing.domain.audit import AuditAction
from manbing.domain.errors import NotFound
from manbing.domain.organisations import Permission
from manbing.fhir import versions
from manbing.fhir.auth import Scopes
from manbing.fhir.codec.common import bounded, instant, parse_datetime
from manbing.fhir.errors import FhirError
from manbing.fhir.store import Store
from manbing.services import access, audit
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

PATIENT_TYPES = ("Patient", "Observation", "Condition")
SYSTEM_TYPES = ("Organization", "Practitioner", *PATIENT_TYPES)
_BATCH = 2000
RUNNING, DONE, FAILED = "running", "done", "failed"
HEARTBEAT_SECONDS = 30.0
STALE_AFTER = timedelta(minutes=3)
"""A running job whose heartbeat is older than this has lost its process (six missed beats)."""

_owner: tuple[int, str] | None = None
log = logging.getLogger(__name__)


def owner() -> str:
    """This server process: ``host:pid:token``; the token tells a restarted process (same pid,
    e.g. pid 1 in a container) from the one before it."""
    global _owner
    if _owner is None or _owner[0] != os.getpid():
        _owner = (os.getpid(), f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:12]}")
    return _owner[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def orphaned(
    job_owner: str | None,
    heartbeat: datetime,
    now: datetime,
    me: str,
    alive: Callable[[int], bool] = _pid_alive,
) -> bool:
    """Whether a ``running`` job has lost the process that ran it."""
    if job_owner is None:
        return True  # started by a server from before owners were recorded
    host, _, rest = job_owner.partition(":")
    pid_text, _, token = rest.partition(":")
    my_host, my_pid, my_token = me.split(":", 2)
    if host == my_host and pid_text.isdigit():
        if pid_text == my_pid:
            return token != my_token
        if not alive(int(pid_text)):
            return True
    return now - heartbeat > STALE_AFTER


def _resident_column(rtype: str) -> Any:
    from manbing.db.models import Condition, Observation

    return {"Patient": Resident.id, "Observation": Observation.resident_id}.get(
        rtype, Condition.resident_id
    )


def _last_updated(rtype: str) -> Any:
    from manbing.db.models import Condition, Observation, Practitioner

    return {
        "Patient": Resident.updated_at,
        "Observation": Observation.received_at,
        "Condition": Condition.updated_at,
        "Organization": Organization.updated_at,
        "Practitioner": Practitioner.updated_at,
    }[rtype]


def resources(
    store: Store, rtype: str, *, since: datetime | None, org_id: uuid.UUID | None
) -> Iterator[dict[str, Any]]:
    """Every resource of ``rtype`` in the actor's scope (and the group's, if any), streamed."""
    return versions.stamp_stream(
        store.session, rtype, _rendered(store, rtype, since=since, org_id=org_id)
    )


def _rendered(
    store: Store, rtype: str, *, since: datetime | None, org_id: uuid.UUID | None
) -> Iterator[dict[str, Any]]:
    stmt = store._base(rtype)
    if since is not None:
        stmt = stmt.where(_last_updated(rtype) >= since)
    if org_id is not None and rtype in PATIENT_TYPES:
        org = store.session.get(Organization, org_id)
        assert org is not None
        managed = select(Organization.id).where(Organization.path.startswith(org.path))
        in_group = select(Resident.id).where(Resident.managing_org_id.in_(managed))
        stmt = stmt.where(_resident_column(rtype).in_(in_group))
    stmt = stmt.order_by(store._id_column(rtype)).execution_options(yield_per=_BATCH)
    if rtype in ("Observation", "Condition"):
        # plain rows (no ORM identity map) for the two big tables: the codecs read attributes only
        table = _resident_column(rtype).table
        for row in store.session.execute(stmt.with_only_columns(*table.c)):
            yield store._to_fhir(rtype, row)
        return
    for row in store.session.scalars(stmt):
        yield store._to_fhir(rtype, row)


def kick_off(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    actor: Actor,
    export_dir: Path,
    level: str,
    query: list[tuple[str, str]],
    group_id: str | None,
    base_url: str,
    scopes: Scopes | None = None,
) -> str:
    """Validate the request, start the job; return the job id."""
    access.require(actor, Permission.EXPORT_PERSONAL_DATA)
    types: tuple[str, ...] = PATIENT_TYPES if level != "system" else SYSTEM_TYPES
    since: datetime | None = None
    for name, value in query:
        if name == "_type":
            wanted = [t for t in value.split(",") if t]
            unknown = [t for t in wanted if t not in types]
            if unknown:
                raise FhirError(
                    400, "not-supported", f"_type {unknown} cannot be exported", "_type"
                )
            types = tuple(wanted)
        elif name == "_since":
            since = bounded(parse_datetime(value, "_since"))
        elif name == "_outputFormat":
            if value not in ("application/fhir+ndjson", "application/ndjson", "ndjson"):
                raise FhirError(400, "not-supported", f"_outputFormat {value}", "_outputFormat")
        else:
            raise FhirError(400, "not-supported", f"unsupported $export parameter {name}", name)
    for rtype in types:
        if scopes is not None:
            scopes.require(rtype, "read")
    org_id: uuid.UUID | None = None
    if group_id is not None:
        try:
            org_id = uuid.UUID(group_id)
        except ValueError as exc:
            raise NotFound("未找到该组", f"Group/{group_id} not found") from exc
        with uow() as unit:
            access.require_org_in_scope(unit.session, actor, org_id)
    if actor.user_id is None:
        raise FhirError(403, "forbidden", "an export needs a user account to own it")
    job = uuid.uuid4().hex
    folder = export_dir / job
    folder.mkdir(parents=True)
    started = clock.now()
    with uow() as unit:
        unit.session.add(
            FhirExportJob(
                id=job,
                user_id=actor.user_id,
                status=RUNNING,
                request_url=base_url[:2000],
                started_at=started,
                owner=owner(),
                heartbeat_at=started,
            )
        )
        unit.commit()
    thread = threading.Thread(
        target=_run,
        args=(uow, clock, actor, folder, types, since, org_id, base_url, started, scopes),
        daemon=True,
    )
    thread.start()
    return job


def run_now(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    actor: Actor,
    folder: Path,
    types: tuple[str, ...],
) -> dict[str, int]:
    """Write the NDJSON files in the caller's thread; return the count per type."""
    counts: dict[str, int] = {}
    with uow() as unit:
        store = Store(unit.session, actor, clock)
        for rtype in types:
            counts[rtype] = _write(store, rtype, folder, None, None)
        unit.commit()
    return counts


def _write(
    store: Store, rtype: str, folder: Path, since: datetime | None, org_id: uuid.UUID | None
) -> int:
    count = 0
    with (folder / f"{rtype}.ndjson").open("w", encoding="utf-8") as out:
        for resource in resources(store, rtype, since=since, org_id=org_id):
            out.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count


def _run(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    actor: Actor,
    folder: Path,
    types: tuple[str, ...],
    since: datetime | None,
    org_id: uuid.UUID | None,
    request_url: str,
    started: datetime,
    scopes: Scopes | None,
) -> None:
    base = request_url.split("/$export")[0].rsplit("/Patient", 1)[0].rsplit("/Group/", 1)[0]
    output: list[dict[str, Any]] = []
    beating = threading.Event()
    threading.Thread(
        target=_beat, args=(uow, clock, folder.name, beating), daemon=True, name="export heartbeat"
    ).start()
    try:
        with uow() as unit:
            store = Store(unit.session, actor, clock, scopes)
            for rtype in types:
                count = _write(store, rtype, folder, since, org_id)
                output.append(
                    {
                        "type": rtype,
                        "url": f"{base}/$export-file/{folder.name}/{rtype}.ndjson",
                        "count": count,
                    }
                )
            audit.record(
                unit.session,
                actor,
                AuditAction.EXPORT,
                "fhir_bulk_export",
                at=clock.now(),
                entity_id=folder.name,
                detail={"types": list(types), "counts": {o["type"]: o["count"] for o in output}},
            )
            job = unit.session.get(FhirExportJob, folder.name)
            assert job is not None
            job.status, job.finished_at = DONE, clock.now()
            job.manifest = {
                "transactionTime": instant(started),
                "request": request_url,
                "requiresAccessToken": True,
                "output": output,
                "error": [],
            }
            unit.commit()
    except Exception:  # the status endpoint reports the failure to the poller
        # the cause stays in the log: its text may hold an SQL statement and personal data
        log.exception("FHIR export job %s failed", folder.name)
        _fail(
            uow,
            folder.name,
            f"the export failed on the server (导出在服务器端失败); the server's log has the "
            f"cause under job {folder.name}: start a new export",
            clock.now(),
        )
    finally:
        beating.set()


def _beat(uow: Callable[[], UnitOfWork], clock: Clock, job_id: str, done: threading.Event) -> None:
    """Refresh the job's heartbeat until it ends, so other processes see it is alive."""
    while not done.wait(HEARTBEAT_SECONDS):
        try:
            with uow() as unit:
                unit.session.execute(
                    update(FhirExportJob)
                    .where(FhirExportJob.id == job_id, FhirExportJob.status == RUNNING)
                    .values(heartbeat_at=clock.now())
                )
                unit.commit()
        except Exception:  # a missed beat is retried; six in a row report the job failed
            continue


def _fail(uow: Callable[[], UnitOfWork], job_id: str, reason: str, at: datetime) -> None:
    with uow() as unit:
        job = unit.session.get(FhirExportJob, job_id)
        if job is not None:
            job.status, job.error, job.finished_at = FAILED, reason[:2000], at
            unit.commit()


def recover(uow: Callable[[], UnitOfWork], clock: Clock, job_id: str | None = None) -> int:
    """Mark failed the running jobs (or the one ``job_id``) whose process is gone; see
    :func:`orphaned`. Runs at start-up of every server process and when a job is polled."""
    now = clock.now()
    me = owner()
    with uow() as unit:
        query = select(FhirExportJob).where(FhirExportJob.status == RUNNING)
        if job_id is not None:
            query = query.where(FhirExportJob.id == job_id)
        stale = [
            job
            for job in unit.session.scalars(query)
            if orphaned(job.owner, job.heartbeat_at or job.started_at, now, me)
        ]
        for job in stale:
            job.status, job.finished_at = FAILED, now
            job.error = (
                f"the server process running the job stopped or restarted (found at "
                f"{instant(now)}); its files are incomplete: start a new export"
            )
        unit.commit()
    return len(stale)


def _job(uow: Callable[[], UnitOfWork], actor: Actor, job_id: str) -> FhirExportJob:
    with uow() as unit:
        job = unit.session.get(FhirExportJob, job_id) if job_id.isalnum() else None
        if job is None or job.user_id != actor.user_id:
            raise NotFound("未找到导出任务", f"export job {job_id} not found")
        unit.session.expunge(job)
        return job


def status(
    uow: Callable[[], UnitOfWork], actor: Actor, job_id: str, clock: Clock | None = None
) -> dict[str, Any] | None:
    """The manifest when done, ``None`` while running; a failed job raises with its reason.
    With ``clock``, a running job whose process is gone is first marked failed."""
    job = _job(uow, actor, job_id)
    if job.status == RUNNING and clock is not None and recover(uow, clock, job.id):
        job = _job(uow, actor, job_id)
    if job.status == FAILED:
        raise FhirError(500, "exception", job.error or "the export failed")
    if job.status != DONE or job.manifest is None:
        return None
    return dict(job.manifest)


def file(
    uow: Callable[[], UnitOfWork], export_dir: Path, actor: Actor, job_id: str, name: str
) -> bytes:
    job = _job(uow, actor, job_id)
    path = export_dir / job.id / name
    if job.status != DONE or not name.endswith(".ndjson") or "/" in name or not path.is_file():
        raise NotFound("未找到导出文件", f"export file {name} not found")
    return path.read_bytes()


def delete(uow: Callable[[], UnitOfWork], export_dir: Path, actor: Actor, job_id: str) -> None:
    job = _job(uow, actor, job_id)
    with uow() as unit:
        found = unit.session.get(FhirExportJob, job.id)
        if found is not None:
            unit.session.delete(found)
        unit.commit()
    shutil.rmtree(export_dir / job.id, ignore_errors=True)
