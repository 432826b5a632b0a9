"""Reads and writes of FHIR resources over the platform's own tables, within the actor's scope.

One ``Store`` works inside one open session (the caller's transaction); it never commits, so a
transaction Bundle is all or nothing. A batch or import entry runs in ``Store.savepoint``, so a
failing entry leaves nothing of itself while the others stay.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, event, func, not_, or_, select
from sqlalchemy.orm import Session, selectinload

from manbing.db.models import (
    AuditEvent,
    Condition,
    Device,
    Enrolment,
    FollowUp,
    FollowUpMedication,
    MedicationStatement,
    Observation,
    Organization,
    Practitioner,
    Referral,
    Resident,
    ResidentIdentifier,
    Team,
)
from manbing.db.models.residents import NATIONAL_ID_SYSTEM, RECORD_NUMBER_SYSTEM
from manbing.domain.audit import AuditAction
from manbing.domain.errors import Conflict, InvalidInput, NotFound
from manbing.domain.identity import parse_resident_id
from manbing.domain.observations import SPECS, ObservationKind, ObservationSource
from manbing.domain.organisations import Permission
from manbing.domain.residents import (
    ResidentStatus,
    normalise_phone,
    validate_birth_date,
    validate_name,
)
from manbing.domain.values import Sex
from manbing.fhir import source_keys, versions, writes
from manbing.fhir.auth import Scopes
from manbing.fhir.codec import condition as condition_codec
from manbing.fhir.codec import observation as observation_codec
from manbing.fhir.codec import organization as organization_codec
from manbing.fhir.codec import patient as patient_codec
from manbing.fhir.codec import practitioner as practitioner_codec
from manbing.fhir.codec import readonly as readonly_codec
from manbing.fhir.codec.common import (
    LATEST,
    LOINC,
    SHANGHAI,
    bounded,
    is_valid_id,
    parse_datetime,
    reference_id,
)
from manbing.fhir.errors import FhirError
from manbing.services import access, audit
from manbing.services import followups as followup_service
from manbing.services import observations as observation_service
from manbing.services import organisations as org_service
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.residents import next_record_number

# what ``manbing fhir import`` loads (the other writable types are skipped and counted)
IMPORTED_TYPES = ("Patient", "Observation", "Condition", "Organization", "Practitioner")
WRITABLE_TYPES = IMPORTED_TYPES + writes.WORKFLOW_TYPES
READ_ONLY_TYPES = ("AuditEvent",)
SUPPORTED_TYPES = WRITABLE_TYPES + READ_ONLY_TYPES
_READ_ONLY: dict[str, tuple[Any, Any, Any, Callable[[Any], dict[str, Any]]]] = {
    # type: (model, resident column, last-updated column, codec)
    "Device": (Device, Device.resident_id, Device.bound_at, readonly_codec.device),
    "MedicationStatement": (
        MedicationStatement,
        MedicationStatement.resident_id,
        MedicationStatement.recorded_at,
        readonly_codec.medication_statement,
    ),
    "CarePlan": (Enrolment, Enrolment.resident_id, Enrolment.updated_at, readonly_codec.care_plan),
    "AuditEvent": (
        AuditEvent,
        AuditEvent.resident_id,
        AuditEvent.occurred_at,
        readonly_codec.audit_event,
    ),
    "Encounter": (FollowUp, FollowUp.resident_id, FollowUp.updated_at, readonly_codec.encounter),
    "Appointment": (
        FollowUp,
        FollowUp.resident_id,
        FollowUp.updated_at,
        readonly_codec.appointment,
    ),
    "ServiceRequest": (
        Referral,
        Referral.resident_id,
        Referral.updated_at,
        readonly_codec.service_request,
    ),
    "Task": (Referral, Referral.resident_id, Referral.updated_at, readonly_codec.task),
}
SEARCH_PARAMS: dict[str, tuple[str, ...]] = {
    "Patient": ("identifier", "name", "birthdate", "gender", "organization"),
    "Observation": ("patient", "subject", "code", "date", "category"),
    "Condition": ("patient", "subject", "code", "clinical-status"),
    "Organization": ("identifier", "name"),
    "Practitioner": ("identifier", "name"),
    "CareTeam": ("name",),
    "Device": ("patient",),
    "MedicationStatement": ("patient", "subject"),
    "MedicationRequest": ("patient", "subject", "encounter"),
    "CarePlan": ("patient", "subject"),
    "AuditEvent": ("patient",),
    "Encounter": ("patient", "subject"),
    "Appointment": ("patient",),
    "ServiceRequest": ("patient", "subject"),
    "Task": ("patient",),
}
# statement heads that write nothing (``Store.mark`` counts the others)
_NOT_WRITES = ("SELECT", "SHOW", "SAVEPOINT", "RELEASE", "ROLLBACK")
COMMON_PARAMS = ("_id", "_lastUpdated", "_count", "_offset", "_include")
IGNORED_PARAMS = ("_format", "_pretty")
_PAGING = ("_count", "_offset", "_include")
DEFAULT_COUNT = 50
_VERSION_ID = re.compile(r"[1-9][0-9]{0,8}")
MAX_COUNT = 1000
EVERYTHING_COUNT = 1_000_000


@dataclass
class SearchResult:
    resources: list[dict[str, Any]]
    total: int
    included: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Written:
    resource_type: str
    id: str
    created: bool
    resource: dict[str, Any]


def _uuid(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise NotFound(f"未找到{what}", f"{what} {raw} not found") from exc


def _date_range(raw: str) -> tuple[datetime, datetime]:
    """The instant range [start, end) a FHIR date/dateTime search value stands for.

    Kept within the years a datetime can hold: the end of 9999-12-31 (or of the year 9999) is
    not one, nor is the start of 0001-01-01 in UTC (an OverflowError, a 500, before).
    """
    start = parse_datetime(raw, "date")
    try:
        if len(raw) == 4:
            end = start.replace(year=start.year + 1)
        elif len(raw) == 7:
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        elif len(raw) == 10:
            end = start + timedelta(days=1)
        else:
            end = start + timedelta(seconds=1)
    except (ValueError, OverflowError):  # past the year 9999
        end = LATEST
    return bounded(start), bounded(end)


_PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")


def date_clause(column: Any, value: str, *, as_date: bool = False) -> ColumnElement[bool]:
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    raw = value[2:] if value[:2] in _PREFIXES else value
    lo, hi = _date_range(raw)
    low: Any = lo.astimezone(SHANGHAI).date() if as_date else lo
    high: Any = hi.astimezone(SHANGHAI).date() if as_date else hi
    if as_date and len(raw) > 10:
        high = low + timedelta(days=1)
    clauses: dict[str, ColumnElement[bool]] = {
        "eq": and_(column >= low, column < high),
        "ne": not_(and_(column >= low, column < high)),
        "lt": column < low,
        "eb": column < low,
        "le": column < high,
        "gt": column >= high,
        "sa": column >= high,
        "ge": column >= low,
    }
    return clauses[prefix]


def _token(value: str) -> tuple[str | None, str]:
    if "|" in value:
        system, code = value.split("|", 1)
        return system or None, code
    return None, value


class Store:
    def __init__(
        self,
        session: Session,
        actor: Actor,
        clock: Clock,
        scopes: Scopes | None = None,
        *,
        bulk: bool = False,
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock
        self.scopes = scopes  # a system client's token scopes; None for a signed-in user
        # Bulk loading: one audit event per (action, type, resident) listing the ids, written by
        # ``flush_audit``; rows are flushed together (multi-row INSERTs).
        self.bulk = bulk
        self._pending: dict[tuple[AuditAction, uuid.UUID | None], dict[str, list[str]]] = {}
        self._org: Organization | None = None
        # residents checked in scope, with their managing organisation (source keys)
        self._residents_in_scope: dict[uuid.UUID, uuid.UUID] = {}
        # inside ``savepoint``: how to take back what the entry added to the two above
        self._undo: list[Callable[[], None]] | None = None
        # what ``mark`` compares: statements that may write (less those that only flushed rows
        # pending before the mark), ids queued for ``flush_audit``
        self._writes = 0
        self._excused = 0
        self._pended = 0
        self._pending_at_mark: set[int] = set()
        self._held: list[object] = []
        self._flush: tuple[int, bool] | None = None  # (writes before it, only earlier rows)
        self._watched: Connection | None = None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run one batch or import entry in a SAVEPOINT; on any failure roll it back.

        The entry's pending rows are flushed before the savepoint is released, so a database
        error surfaces here, as the entry's own. On failure this Store also forgets what the
        entry added in memory (bulk audit ids waiting for ``flush_audit``, residents known to be
        in scope), as the database forgets its rows.
        """
        self._watch_writes()
        undo: list[Callable[[], None]] = []
        outer, self._undo = self._undo, undo
        org = self._org
        try:
            with self.session.begin_nested():
                yield
                self.session.flush()
        except BaseException:
            for step in reversed(undo):
                step()
            self._org = org
            raise
        finally:
            self._undo = outer
        if outer is not None:  # a savepoint inside a savepoint: the outer one may still fail
            outer.extend(undo)

    def mark(self) -> tuple[int, int]:
        """Where the writes stand; ``untouched_since(mark)`` says whether anything came after.

        Rows already pending at the mark (a bulk load defers its Observation and Condition
        inserts) are not the next entry's: flushing them, as any query does, is no write of its.
        """
        self._held = list(self.session.new)  # alive, so no new object can reuse an id
        self._pending_at_mark = {id(obj) for obj in self._held}
        return self._writes - self._excused, self._pended

    def untouched_since(self, mark: tuple[int, int]) -> bool:
        """Nothing sent, queued or left pending in the session since ``mark`` was taken.

        Conservative: any unflushed change or deletion counts, even an earlier one (``Store``
        flushes its changes at once, so there normally is none).
        """
        session = self.session
        return (
            mark == (self._writes - self._excused, self._pended)
            and not session.dirty
            and not session.deleted
            and all(id(obj) in self._pending_at_mark for obj in session.new)
        )

    def _watch_writes(self) -> None:
        connection = self.session.connection()
        if self._watched is connection:
            return
        if self._watched is None:
            event.listen(self.session, "before_flush", self._before_flush)
            event.listen(self.session, "after_flush_postexec", self._after_flush)
        event.listen(connection, "before_cursor_execute", self._count_write)
        self._watched = connection

    def _count_write(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip()[:9].upper().startswith(_NOT_WRITES):
            self._writes += 1

    def _before_flush(self, session: Session, *_args: Any) -> None:
        earlier = not session.dirty and not session.deleted
        earlier = earlier and all(id(obj) in self._pending_at_mark for obj in session.new)
        self._flush = (self._writes, earlier)

    def _after_flush(self, _session: Session, *_args: Any) -> None:
        if self._flush is not None and self._flush[1]:
            self._excused += self._writes - self._flush[0]
        self._flush = None

    def _in_scope(self, resident_id: uuid.UUID, org_id: uuid.UUID) -> None:
        if resident_id in self._residents_in_scope:
            return
        self._residents_in_scope[resident_id] = org_id
        if self._undo is not None:

            def forget() -> None:
                self._residents_in_scope.pop(resident_id, None)

            self._undo.append(forget)

    def _check_resident(self, raw_id: str) -> uuid.UUID:
        """The resident's managing organisation, if the resident is in scope; else NotFound."""
        resident_id = _uuid(raw_id, "Patient")
        org_id = self._residents_in_scope.get(resident_id)
        if org_id is None:
            org_id = access.get_resident(self.session, self.actor, resident_id).managing_org_id
            self._in_scope(resident_id, org_id)
        return org_id

    def flush_audit(self) -> None:
        for (action, resident_id), by_type in self._pending.items():
            single = next(iter(by_type.values())) if len(by_type) == 1 else []
            audit.record(
                self.session,
                self.actor,
                action,
                next(iter(by_type)) if len(by_type) == 1 else "fhir_import",
                at=self.clock.now(),
                entity_id=single[0] if len(single) == 1 else None,
                resident_id=resident_id,
                detail={"fhir": True, "ids": by_type},
            )
        self._pending.clear()

    def require_scope(self, resource_type: str, access_kind: str) -> None:
        if self.scopes is not None:
            self.scopes.require(resource_type, access_kind)

    # ---------------------------------------------------------------- reading
    def read(self, resource_type: str, raw_id: str, *, audited: bool = True) -> dict[str, Any]:
        self.require_scope(resource_type, "read")
        resource = self._current(resource_type, raw_id, audited=audited)
        versions.stamp(self.session, resource_type, [resource])
        return resource

    def vread(self, resource_type: str, raw_id: str, version: str) -> dict[str, Any]:
        """One version: the current one, or one stored by an earlier FHIR write."""
        current = self.read(resource_type, raw_id)
        if version == current["meta"]["versionId"]:
            return current
        self.require_history_access(resource_type)
        # a version id is a whole number of at most 9 ASCII digits: ``isdigit`` also passes "²",
        # which ``int`` refuses, and a longer number overflows the integer column (500 before)
        found = (
            versions.stored_version(self.session, resource_type, current["id"], int(version))
            if _VERSION_ID.fullmatch(version)
            else None
        )
        if found is None:
            raise FhirError(
                404, "not-found", f"{resource_type}/{raw_id} has no version {version!r}"
            )
        return found

    def history(self, resource_type: str, raw_id: str) -> list[dict[str, Any]]:
        """The versions of one resource, newest first (the current one at the top)."""
        current = self.read(resource_type, raw_id)
        self.require_history_access(resource_type)
        stored = versions.history(self.session, resource_type, current["id"])
        if stored and stored[0]["meta"]["versionId"] == current["meta"]["versionId"]:
            stored = stored[1:]
        return [current, *stored]

    def scoped_ids(self, resource_type: str) -> Select[Any]:
        """The ids of the resources of a type the actor may read (``services/access.py``)."""
        return self._base(resource_type).with_only_columns(self._id_column(resource_type))

    def id_column(self, resource_type: str) -> Any:
        return self._id_column(resource_type)

    @staticmethod
    def last_updated_column(resource_type: str) -> Any:
        """The column behind a type's ``meta.lastUpdated`` and ``_lastUpdated`` search.

        It is joined in ``scoped_ids``/``base`` (MedicationRequest: its visit's).
        """
        if resource_type == "CareTeam":
            return Team.updated_at
        if resource_type == "MedicationRequest":
            return FollowUp.updated_at
        if resource_type in _READ_ONLY:
            return _READ_ONLY[resource_type][2]
        return {
            "Patient": Resident.updated_at,
            "Observation": Observation.received_at,
            "Condition": Condition.updated_at,
            "Organization": Organization.updated_at,
            "Practitioner": Practitioner.updated_at,
        }[resource_type]

    def render(self, resource_type: str, row: Any) -> dict[str, Any]:
        """A row as its current FHIR resource (before ``versions.stamp``)."""
        return self._to_fhir(resource_type, row)

    def audit_history(self, resource_type: str | None, results: int) -> None:
        entity = f"{resource_type.lower()}_history" if resource_type else "history"
        self._audit(AuditAction.SEARCH, entity, None, None, {"results": results, "fhir": True})

    def require_history_access(self, resource_type: str) -> None:
        if resource_type == "Patient" and not self._unmasked():
            raise FhirError(
                403,
                "forbidden",
                "earlier Patient versions hold unmasked personal data: your role sees masked data",
            )

    def _current(self, resource_type: str, raw_id: str, *, audited: bool) -> dict[str, Any]:
        if resource_type == "Patient":
            resident = access.get_resident(self.session, self.actor, _uuid(raw_id, "Patient"))
            if audited:
                self._audit(AuditAction.READ, "resident", resident.id, resident.id)
            return patient_codec.to_fhir(resident, unmasked=self._unmasked())
        stmt = self._base(resource_type).where(
            self._id_column(resource_type) == _uuid(raw_id, resource_type)
        )
        row = self.session.scalars(stmt).first()
        if row is None:
            raise NotFound(f"未找到{resource_type}", f"{resource_type}/{raw_id} not found")
        if audited and resource_type not in ("Organization", "Practitioner", "CareTeam"):
            owner = row.follow_up if resource_type == "MedicationRequest" else row
            self._audit(AuditAction.READ, resource_type.lower(), row.id, owner.resident_id)
        return self._to_fhir(resource_type, row)

    def search(
        self, resource_type: str, params: Sequence[tuple[str, str]], *, limit: int | None = None
    ) -> SearchResult:
        self.require_scope(resource_type, "read")
        access.require(self.actor, Permission.READ_RESIDENTS)
        allowed = SEARCH_PARAMS[resource_type]
        stmt = self._base(resource_type)
        count, offset, include_patient = limit or DEFAULT_COUNT, 0, False
        for name, value in params:
            base, _, modifier = name.partition(":")
            if base in IGNORED_PARAMS:
                continue
            if base not in allowed and base not in COMMON_PARAMS:
                raise FhirError(400, "not-supported", f"unknown search parameter {name!r}", name)
            if modifier and not (base in ("subject", "patient") and modifier == "Patient"):
                raise FhirError(400, "not-supported", f"unsupported modifier {name!r}", name)
            if base == "_count":
                count = self._int(value, name, 0, MAX_COUNT)
            elif base == "_offset":
                offset = self._int(value, name, 0, 10**9)
            elif base == "_include":
                if resource_type != "Observation" or value not in (
                    "Observation:patient",
                    "Observation:subject",
                ):
                    raise FhirError(400, "not-supported", f"unsupported _include {value!r}", name)
                include_patient = True
            else:
                stmt = stmt.where(self._clause(resource_type, base, value))
        total = (
            self.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            or 0
        )
        rows = self.session.scalars(
            stmt.order_by(self._id_column(resource_type)).limit(count).offset(offset)
        ).all()
        resources = [self._to_fhir(resource_type, row) for row in rows]
        versions.stamp(self.session, resource_type, resources)
        included: list[dict[str, Any]] = []
        if include_patient and rows:
            ids = {row.resident_id for row in rows}
            residents = self.session.scalars(
                select(Resident).where(Resident.id.in_(ids), access.resident_filter(self.actor))
            ).all()
            unmasked = self._unmasked()
            included = [patient_codec.to_fhir(r, unmasked=unmasked) for r in residents]
            versions.stamp(self.session, "Patient", included)
        self._audit(
            AuditAction.SEARCH,
            resource_type.lower(),
            None,
            None,
            {"results": len(rows), "fhir": True},
        )
        return SearchResult(resources, total, included)

    def find_ids(self, resource_type: str, query: Sequence[tuple[str, str]]) -> list[str]:
        """The ids matching a conditional-create or conditional-update query.

        Paging and ``_include`` do not change which resources match, so they are left out; a
        query with no criteria left would match every resource, and is refused.
        """
        criteria = [
            (name, value)
            for name, value in query
            if name.partition(":")[0] not in (*_PAGING, *IGNORED_PARAMS)
        ]
        if not criteria:
            raise FhirError(
                400,
                "invalid",
                "a conditional create or update needs search criteria: this one would match "
                "every resource (条件创建或更新须给出检索条件)",
            )
        result = self.search(resource_type, [*criteria, ("_count", "2")])
        return [r["id"] for r in result.resources]

    # ---------------------------------------------------------------- writing
    def create(
        self,
        resource_type: str,
        resource: Any,
        *,
        matched: bool = False,
        source_id: str | None = None,
    ) -> Written:
        """Create; ``matched`` says the caller already looked for this Patient and found none.

        ``source_id`` (an Observation or Condition's source record, ``source_keys.source_id``) is
        stored as its source key within the resident's organisation, so a re-import of the same
        source record finds the stored row instead of adding a second one.
        """
        written = self._create(resource_type, resource, matched=matched, source_id=source_id)
        if self.bulk:  # the importer keeps no history (see versions.py)
            return written
        resource_now = versions.record(
            self.session, resource_type, dict(written.resource), self.clock.now()
        )
        return Written(written.resource_type, written.id, True, resource_now)

    def _create(
        self, resource_type: str, resource: Any, *, matched: bool, source_id: str | None
    ) -> Written:
        self.require_scope(resource_type, "write")
        if resource_type == "Patient":
            return self._create_patient(resource, checked=matched)
        if resource_type == "Observation":
            return self._create_observation(resource, source_id)
        if resource_type == "Condition":
            return self._create_condition(resource, source_id)
        if resource_type == "Organization":
            return self._create_organization(resource)
        if resource_type == "Practitioner":
            return self._create_practitioner(resource)
        if resource_type in writes.WORKFLOW_TYPES:
            new_id, row = writes.create(self, resource_type, resource)
            self.session.flush()
            return Written(resource_type, new_id, True, self._to_fhir(resource_type, row))
        raise FhirError(405, "not-supported", f"create is not supported for {resource_type}")

    def update(
        self, resource_type: str, raw_id: str, resource: Any, if_match: str | None = None
    ) -> Written:
        self.require_scope(resource_type, "write")
        if isinstance(resource, dict) and resource.get("id") not in (None, raw_id):
            raise FhirError(400, "invalid", "the resource id differs from the URL id", "id")
        if self.bulk and not if_match:
            return self._update(resource_type, raw_id, resource)
        current = self._current(resource_type, raw_id, audited=False)
        fingerprint = versions.state(resource_type, current)
        versions.stamp(self.session, resource_type, [current])
        if if_match:
            wanted = if_match.strip().removeprefix("W/").strip('"')
            if wanted != current["meta"]["versionId"]:
                raise FhirError(
                    412,
                    "conflict",
                    f"version {current['meta']['versionId']} is current, not {if_match}",
                )
        if self.bulk:
            return self._update(resource_type, raw_id, resource)
        versions.keep_current(self.session, resource_type, current, fingerprint, self.clock.now())
        written = self._update(resource_type, raw_id, resource)
        resource_now = versions.record(
            self.session, resource_type, dict(written.resource), self.clock.now()
        )
        return Written(written.resource_type, written.id, False, resource_now)

    def _update(self, resource_type: str, raw_id: str, resource: Any) -> Written:
        if resource_type == "Patient":
            return self._update_patient(raw_id, resource)
        if resource_type == "Condition":
            return self._update_condition(raw_id, resource)
        if resource_type == "Observation":
            return self._update_observation(raw_id, resource)
        if resource_type == "Practitioner":
            return self._update_practitioner(raw_id, resource)
        if resource_type == "Organization":
            return self._update_organization(raw_id, resource)
        if resource_type in writes.WORKFLOW_TYPES:
            row = writes.update(self, resource_type, raw_id, resource)
            self.session.flush()
            return Written(resource_type, raw_id, False, self._to_fhir(resource_type, row))
        raise FhirError(405, "not-supported", f"update is not supported for {resource_type}")

    def match_patient(self, resource: Any, *, by_name: bool) -> str | None:
        """An existing resident for this Patient: national ID first, then other identifiers."""
        draft = patient_codec.parse(resource)
        resident_id = self._match_resident(draft, by_name=by_name)
        if resident_id is None:
            return None
        resident = access.get_resident(self.session, self.actor, resident_id)
        known = {(i.system, i.value) for i in resident.identifiers}
        for system, value in draft.identifiers:
            taken = self.session.scalar(
                select(ResidentIdentifier.id).where(
                    ResidentIdentifier.system == system, ResidentIdentifier.value == value
                )
            )
            if (system, value) not in known and taken is None:
                resident.identifiers.append(
                    ResidentIdentifier(
                        id=uuid.uuid4(), system=system, value=value, assigned_at=self.clock.now()
                    )
                )
        self.session.flush()
        return str(resident_id)

    # ---------------------------------------------------------------- patient
    def _match_resident(
        self, draft: patient_codec.PatientDraft, *, by_name: bool
    ) -> uuid.UUID | None:
        found: uuid.UUID | None = None
        if draft.id_number:
            number = parse_resident_id(draft.id_number, today=self.clock.today()).number
            found = self.session.scalar(select(Resident.id).where(Resident.id_number == number))
        for system, value in draft.identifiers:
            if found is not None:
                break
            found = self.session.scalar(
                select(ResidentIdentifier.resident_id).where(
                    ResidentIdentifier.system == system, ResidentIdentifier.value == value
                )
            )
        if found is None and by_name and draft.birth_date and not draft.id_number:
            found = self.session.scalar(
                select(Resident.id).where(
                    Resident.name == draft.name,
                    Resident.birth_date == draft.birth_date,
                    Resident.id_number.is_(None),
                    access.resident_filter(self.actor),
                )
            )
        if found is None:
            return None
        visible = self.session.scalar(
            select(Resident.id).where(Resident.id == found, access.resident_filter(self.actor))
        )
        if visible is None:
            raise Conflict("该居民已在其他机构建档", "the resident exists and is managed elsewhere")
        return found

    def _patient_fields(
        self, draft: patient_codec.PatientDraft
    ) -> tuple[str, Sex, date, str | None, str | None]:
        today = self.clock.today()
        name = validate_name(draft.name)
        id_number = None
        if draft.id_number:
            decoded = parse_resident_id(draft.id_number, today=today)
            id_number = decoded.number
            if draft.birth_date and draft.birth_date != decoded.birth_date:
                raise InvalidInput(
                    "birthDate",
                    "出生日期与身份证号不一致",
                    "birthDate disagrees with the ID number",
                )
            if draft.sex not in (None, Sex.UNKNOWN, decoded.sex):
                raise InvalidInput(
                    "gender", "性别与身份证号不一致", "gender disagrees with the ID number"
                )
            sex, birth = decoded.sex, decoded.birth_date
        else:
            if draft.birth_date is None:
                raise InvalidInput(
                    "birthDate",
                    "无身份证号时必须填写出生日期",
                    "birthDate is required without a national ID",
                )
            sex, birth = draft.sex or Sex.UNKNOWN, draft.birth_date
        validate_birth_date(birth, today)
        phone = None
        if draft.phone:
            try:
                phone = normalise_phone(draft.phone)
            except InvalidInput:
                phone = draft.phone[:20]
        return name, sex, birth, id_number, phone

    def _create_patient(self, resource: Any, *, checked: bool = False) -> Written:
        access.require(self.actor, Permission.WRITE_RESIDENTS)
        draft = patient_codec.parse(resource)
        name, sex, birth, id_number, phone = self._patient_fields(draft)
        if not checked and self._match_resident(draft, by_name=False) is not None:
            raise Conflict("该居民已建档", "a resident with this identifier already exists")
        if not checked and id_number is None:
            # the platform's registration rule: same name and birth date without an ID number
            same = self.session.scalar(
                select(Resident.id).where(
                    Resident.name == name,
                    Resident.birth_date == birth,
                    Resident.status != ResidentStatus.MERGED,
                    access.resident_filter(self.actor),
                )
            )
            if same is not None:
                raise Conflict(
                    "已有同名且出生日期相同的居民档案，请核对是否为同一人",
                    "a resident with the same name and birth date exists",
                )
        org = self._actor_org()
        resident = Resident(
            id=uuid.uuid4(),
            record_number=next_record_number(self.session, org.division_code),
            name=name,
            sex=sex,
            birth_date=birth,
            id_number=id_number,
            phone=phone,
            address=draft.address,
            division_code=org.division_code,
            managing_org_id=org.id,
            status=ResidentStatus.ACTIVE,
            registered_on=self.clock.today(),
        )
        self.session.add(resident)
        pairs = list(draft.identifiers)
        if id_number:
            pairs.append((NATIONAL_ID_SYSTEM, id_number))
        for system, value in pairs:
            resident.identifiers.append(
                ResidentIdentifier(
                    id=uuid.uuid4(), system=system, value=value, assigned_at=self.clock.now()
                )
            )
        self.session.flush()
        self._in_scope(resident.id, org.id)
        self._audit(AuditAction.CREATE, "resident", resident.id, resident.id, {"fhir": True})
        return Written(
            "Patient", str(resident.id), True, patient_codec.to_fhir(resident, unmasked=True)
        )

    def _update_patient(self, raw_id: str, resource: Any) -> Written:
        access.require(self.actor, Permission.WRITE_RESIDENTS)
        resident = access.get_resident(self.session, self.actor, _uuid(raw_id, "Patient"))
        draft = patient_codec.parse(resource)
        name, sex, birth, id_number, phone = self._patient_fields(draft)
        if id_number and id_number != resident.id_number:
            self._correct_id_number(resident, id_number)
        resident.name, resident.sex, resident.birth_date = name, sex, birth
        resident.phone = phone
        resident.address = draft.address
        known = {(i.system, i.value) for i in resident.identifiers}
        for system, value in draft.identifiers:
            if (system, value) not in known:
                resident.identifiers.append(
                    ResidentIdentifier(
                        id=uuid.uuid4(), system=system, value=value, assigned_at=self.clock.now()
                    )
                )
        self.session.flush()
        self._audit(AuditAction.UPDATE, "resident", resident.id, resident.id, {"fhir": True})
        return Written("Patient", raw_id, False, patient_codec.to_fhir(resident, unmasked=True))

    def _correct_id_number(self, resident: Resident, id_number: str) -> None:
        """A corrected national ID replaces the old one on the resident and on its identifier
        row, so the old number no longer finds this person and is free for its owner (the FHIR
        version history and the audit trail keep what it was)."""
        taken = self.session.scalar(
            select(Resident.id).where(Resident.id_number == id_number, Resident.id != resident.id)
        ) or self.session.scalar(
            select(ResidentIdentifier.resident_id).where(
                ResidentIdentifier.system == NATIONAL_ID_SYSTEM,
                ResidentIdentifier.value == id_number,
                ResidentIdentifier.resident_id != resident.id,
            )
        )
        if taken is not None:
            raise Conflict("该身份证号已建档", "another resident has this ID number")
        national = [i for i in resident.identifiers if i.system == NATIONAL_ID_SYSTEM]
        current = next((i for i in national if i.value == resident.id_number), None)
        if any(i.value == id_number for i in national):
            if current is not None:  # the new number is already one of this person's
                resident.identifiers.remove(current)
        elif current is not None:
            current.value, current.assigned_at = id_number, self.clock.now()
        else:
            resident.identifiers.append(
                ResidentIdentifier(
                    id=uuid.uuid4(),
                    system=NATIONAL_ID_SYSTEM,
                    value=id_number,
                    assigned_at=self.clock.now(),
                )
            )
        resident.id_number = id_number

    # ------------------------------------------------------------ observation
    def _observation_row(self, draft: observation_codec.ObservationDraft) -> Observation:
        if draft.effective_at > self.clock.now():
            raise InvalidInput(
                "effectiveDateTime", "测量时间不能晚于当前时间", "effective time is in the future"
            )
        new = observation_service.NewObservation(
            resident_id=_uuid(draft.subject_id, "Patient"),
            kind=draft.kind,
            value=draft.value,
            value2=draft.value2,
            value_code=draft.value_code,
            effective_at=draft.effective_at,
            source=ObservationSource.IMPORT,
        )
        observation_service.validate(new)
        return Observation(
            id=uuid.uuid4(),
            resident_id=new.resident_id,
            kind=draft.kind,
            loinc=draft.loinc,
            value=draft.value,
            value2=draft.value2,
            value_code=draft.value_code,
            unit=SPECS[draft.kind].unit,
            value_received=draft.value_received,
            unit_received=draft.unit_received,
            effective_at=draft.effective_at,
            received_at=self.clock.now(),
            source=ObservationSource.IMPORT,
            organization_id=self.actor.organization_id,
        )

    def _create_observation(self, resource: Any, source_id: str | None = None) -> Written:
        access.require(self.actor, Permission.WRITE_CLINICAL)
        draft = observation_codec.parse(resource)
        org_id = self._check_resident(draft.subject_id)
        row = self._observation_row(draft)
        row.idempotency_key = source_keys.namespaced(org_id, source_id) if source_id else None
        self.session.add(row)
        if not self.bulk:
            self.session.flush()
        self._audit(AuditAction.CREATE, "observation", row.id, row.resident_id, {"fhir": True})
        return Written("Observation", str(row.id), True, observation_codec.to_fhir(row))

    def _update_observation(self, raw_id: str, resource: Any) -> Written:
        access.require(self.actor, Permission.WRITE_CLINICAL)
        current = self._one("Observation", raw_id)
        draft = observation_codec.parse(resource)
        access.get_resident(self.session, self.actor, _uuid(draft.subject_id, "Patient"))
        fresh = self._observation_row(draft)
        for column in (
            "resident_id",
            "kind",
            "loinc",
            "value",
            "value2",
            "value_code",
            "unit",
            "value_received",
            "unit_received",
            "effective_at",
            "received_at",
        ):
            setattr(current, column, getattr(fresh, column))
        self.session.flush()
        self._audit(
            AuditAction.UPDATE, "observation", current.id, current.resident_id, {"fhir": True}
        )
        return Written("Observation", raw_id, False, observation_codec.to_fhir(current))

    # -------------------------------------------------------------- condition
    def _apply_condition(self, row: Condition, draft: condition_codec.ConditionDraft) -> None:
        row.resident_id = _uuid(draft.subject_id, "Patient")
        row.system, row.code, row.display, row.text = (
            draft.system,
            draft.code,
            draft.display,
            draft.text,
        )
        row.icd10, row.clinical_status = draft.icd10, draft.clinical_status
        row.verification_status = draft.verification_status
        row.onset_date, row.abatement_date = draft.onset_date, draft.abatement_date
        row.recorded_date = draft.recorded_date

    def _create_condition(self, resource: Any, source_id: str | None = None) -> Written:
        access.require(self.actor, Permission.WRITE_CLINICAL)
        draft = condition_codec.parse(resource)
        org_id = self._check_resident(draft.subject_id)
        row = Condition(
            id=uuid.uuid4(),
            organization_id=self.actor.organization_id,
            source_key=source_keys.namespaced(org_id, source_id) if source_id else None,
        )
        self._apply_condition(row, draft)
        row.created_at = row.updated_at = self.clock.now()
        self.session.add(row)
        if not self.bulk:
            self.session.flush()
        self._audit(AuditAction.CREATE, "condition", row.id, row.resident_id, {"fhir": True})
        return Written("Condition", str(row.id), True, condition_codec.to_fhir(row))

    def _update_condition(self, raw_id: str, resource: Any) -> Written:
        access.require(self.actor, Permission.WRITE_CLINICAL)
        row = self._one("Condition", raw_id)
        draft = condition_codec.parse(resource)
        access.get_resident(self.session, self.actor, _uuid(draft.subject_id, "Patient"))
        self._apply_condition(row, draft)
        row.updated_at = self.clock.now()
        self.session.flush()
        self._audit(AuditAction.UPDATE, "condition", row.id, row.resident_id, {"fhir": True})
        return Written("Condition", raw_id, False, condition_codec.to_fhir(row))

    # ---------------------------------------------- organisation, practitioner
    def _create_organization(self, resource: Any) -> Written:
        access.require(self.actor, Permission.WRITE_RESIDENTS)
        draft = organization_codec.parse(resource)
        parent = self._actor_org()
        code = draft.code or f"EXT-{uuid.uuid4().hex[:12]}"
        if draft.code is None and draft.identifiers:
            code = ("EXT-" + draft.identifiers[0][1])[:40]
        existing = self.session.scalars(
            select(Organization).where(Organization.code == code)
        ).first()
        if existing is not None:
            raise Conflict("机构编码已存在", f"organisation code {code} exists")
        org = org_service.add_organization(
            self.session,
            code=code,
            name=draft.name,
            type=draft.type,
            division_code=parent.division_code,
            parent=parent,
        )
        self.session.flush()
        self._audit(AuditAction.CREATE, "organization", org.id, None, {"fhir": True})
        return Written("Organization", str(org.id), True, organization_codec.to_fhir(org))

    def _update_organization(self, raw_id: str, resource: Any) -> Written:
        access.require(self.actor, Permission.WRITE_RESIDENTS)
        org = self._one("Organization", raw_id)
        draft = organization_codec.parse(resource)
        org.name, org.type = draft.name, draft.type
        self.session.flush()
        self._audit(AuditAction.UPDATE, "organization", org.id, None, {"fhir": True})
        return Written("Organization", raw_id, False, organization_codec.to_fhir(org))

    def _create_practitioner(self, resource: Any) -> Written:
        access.require(self.actor, Permission.WRITE_RESIDENTS)
        draft = practitioner_codec.parse(resource)
        if draft.licence_number and self.session.scalar(
            select(Practitioner.id).where(Practitioner.licence_number == draft.licence_number)
        ):
            raise Conflict("执业证号已存在", "a practitioner with this licence number exists")
        row = org_service.add_practitioner(
            self.session, name=draft.name, organization=self._actor_org()
        )
        row.sex, row.licence_number, row.phone = draft.sex, draft.licence_number, draft.phone
        self.session.flush()
        self._audit(AuditAction.CREATE, "practitioner", row.id, None, {"fhir": True})
        return Written("Practitioner", str(row.id), True, practitioner_codec.to_fhir(row))

    def _update_practitioner(self, raw_id: str, resource: Any) -> Written:
        access.require(self.actor, Permission.WRITE_RESIDENTS)
        row = self._one("Practitioner", raw_id)
        draft = practitioner_codec.parse(resource)
        row.name, row.sex, row.phone = draft.name, draft.sex, draft.phone
        row.licence_number = draft.licence_number or row.licence_number
        self.session.flush()
        self._audit(AuditAction.UPDATE, "practitioner", row.id, None, {"fhir": True})
        return Written("Practitioner", raw_id, False, practitioner_codec.to_fhir(row))

    def find_by_source(self, resource_type: str, source_id: str, resource: Any) -> str | None:
        """An Observation or Condition already loaded from the same source record.

        Only for a subject in scope (the key's organisation is the subject's): an entry about
        a resident out of scope finds nothing here and is refused by the create, so it learns
        nothing of that resident's records.
        """
        try:
            subject = reference_id(resource.get("subject"), "Patient", "subject")
            org_id = self._check_resident(subject)
        except (InvalidInput, NotFound):
            return None
        column = (
            Observation.idempotency_key if resource_type == "Observation" else Condition.source_key
        )
        id_column = self._id_column(resource_type)
        key = source_keys.namespaced(org_id, source_id)
        found = self.session.scalar(
            self._base(resource_type).with_only_columns(id_column).where(column == key)
        )
        if found is None and source_id.startswith(f"{resource_type}/"):
            try:
                own = uuid.UUID(source_id.split("/", 1)[1])
            except ValueError:
                return None
            found = self.session.scalar(
                self._base(resource_type).with_only_columns(id_column).where(id_column == own)
            )
        return str(found) if found else None

    def find_practitioner(self, resource: Any) -> str | None:
        draft = practitioner_codec.parse(resource)
        if not draft.licence_number:
            return None
        found = self.session.scalar(
            self._base("Practitioner")
            .with_only_columns(Practitioner.id)
            .where(Practitioner.licence_number == draft.licence_number)
        )
        return str(found) if found else None

    def find_organization(self, resource: Any) -> str | None:
        draft = organization_codec.parse(resource)
        codes = [c for c in [draft.code, *(("EXT-" + v)[:40] for _, v in draft.identifiers)] if c]
        if not codes:
            return None
        found = self.session.scalar(
            self._base("Organization")
            .with_only_columns(Organization.id)
            .where(Organization.code.in_(codes))
        )
        return str(found) if found else None

    # ---------------------------------------------------------------- helpers
    def _unmasked(self) -> bool:
        return self.actor.can(Permission.SEE_UNMASKED_PII)

    def _actor_org(self) -> Organization:
        if self._org is not None:
            return self._org
        if self.actor.organization_id is None:
            raise InvalidInput(
                "organization", "账号未关联机构", "the account belongs to no organisation"
            )
        self._org = access.require_org_in_scope(
            self.session, self.actor, self.actor.organization_id
        )
        return self._org

    def one(self, resource_type: str, raw_id: str) -> Any:
        """The row behind ``resource_type/raw_id`` in the actor's scope, else ``NotFound``."""
        return self._one(resource_type, raw_id)

    def base(self, resource_type: str) -> Select[Any]:
        """The scoped SELECT of a resource type's rows."""
        return self._base(resource_type)

    def _one(self, resource_type: str, raw_id: str) -> Any:
        row = self.session.scalars(
            self._base(resource_type).where(
                self._id_column(resource_type) == _uuid(raw_id, resource_type)
            )
        ).first()
        if row is None:
            raise NotFound(f"未找到{resource_type}", f"{resource_type}/{raw_id} not found")
        return row

    def _audit(
        self,
        action: AuditAction,
        entity: str,
        entity_id: uuid.UUID | None,
        resident_id: uuid.UUID | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        if self.bulk and entity_id is not None:
            key = (action, resident_id)
            by_type = self._pending.setdefault(key, {})
            by_type.setdefault(entity, []).append(str(entity_id))
            self._pended += 1
            if self._undo is not None:
                self._undo.append(lambda: self._unpend(key, entity))
            return
        audit.record(
            self.session,
            self.actor,
            action,
            entity,
            at=self.clock.now(),
            entity_id=entity_id,
            resident_id=resident_id,
            detail=detail,
        )

    def _unpend(self, key: tuple[AuditAction, uuid.UUID | None], entity: str) -> None:
        """Take back the latest id ``_audit`` added under ``key`` and ``entity``."""
        by_type = self._pending[key]
        by_type[entity].pop()
        if not by_type[entity]:
            del by_type[entity]
        if not by_type:
            del self._pending[key]

    @staticmethod
    def _int(value: str, name: str, low: int, high: int) -> int:
        try:
            number = int(value)
        except ValueError as exc:
            raise FhirError(400, "invalid", f"{name} must be an integer", name) from exc
        return max(low, min(number, high))

    @staticmethod
    def _id_column(resource_type: str) -> Any:
        if resource_type == "CareTeam":
            return Team.id
        if resource_type == "MedicationRequest":
            return FollowUpMedication.id
        if resource_type in _READ_ONLY:
            return _READ_ONLY[resource_type][0].id
        return {
            "Patient": Resident.id,
            "Observation": Observation.id,
            "Condition": Condition.id,
            "Organization": Organization.id,
            "Practitioner": Practitioner.id,
        }[resource_type]

    def _base(self, resource_type: str) -> Select[Any]:
        actor = self.actor
        if resource_type == "Patient":
            return (
                select(Resident)
                .where(access.resident_filter(actor), Resident.status != ResidentStatus.MERGED)
                .options(selectinload(Resident.identifiers))
            )
        if resource_type == "Observation":
            return (
                select(Observation)
                .join(Resident, Resident.id == Observation.resident_id)
                .where(access.resident_filter(actor))
            )
        if resource_type == "Condition":
            return (
                select(Condition)
                .join(Resident, Resident.id == Condition.resident_id)
                .where(access.resident_filter(actor))
            )
        if resource_type == "CareTeam":
            return (
                select(Team)
                .where(
                    Team.organization_id.in_(
                        select(Organization.id).where(access.org_filter(actor))
                    )
                )
                .options(selectinload(Team.members))
            )
        if resource_type == "MedicationRequest":
            return (
                select(FollowUpMedication)
                .join(FollowUp, FollowUp.id == FollowUpMedication.follow_up_id)
                .join(Resident, Resident.id == FollowUp.resident_id)
                .where(access.resident_filter(actor))
                .options(selectinload(FollowUpMedication.follow_up))
            )
        if resource_type in _READ_ONLY:
            model, resident_column = _READ_ONLY[resource_type][:2]
            stmt = (
                select(model)
                .join(Resident, Resident.id == resident_column)
                .where(access.resident_filter(actor))
            )
            if resource_type == "Appointment":
                stmt = stmt.where(FollowUp.next_visit_date.is_not(None))
            return stmt
        if resource_type == "Organization":
            return select(Organization).where(access.org_filter(actor))
        if resource_type == "Practitioner":
            return select(Practitioner).where(
                Practitioner.organization_id.in_(
                    select(Organization.id).where(access.org_filter(actor))
                )
            )
        raise FhirError(404, "not-supported", f"resource type {resource_type} is not supported")

    def _to_fhir(self, resource_type: str, row: Any) -> dict[str, Any]:
        if resource_type == "CareTeam":
            return readonly_codec.care_team(row)
        if resource_type == "MedicationRequest":
            current = followup_service.is_latest_visit(self.session, row.follow_up_id)
            return readonly_codec.medication_request(row, current=current)
        if resource_type in _READ_ONLY:
            return _READ_ONLY[resource_type][3](row)
        converters: dict[str, Callable[[Any], dict[str, Any]]] = {
            "Patient": lambda r: patient_codec.to_fhir(r, unmasked=self._unmasked()),
            "Observation": observation_codec.to_fhir,
            "Condition": condition_codec.to_fhir,
            "Organization": organization_codec.to_fhir,
            "Practitioner": practitioner_codec.to_fhir,
        }
        return converters[resource_type](row)

    def _clause(self, resource_type: str, name: str, value: str) -> ColumnElement[bool]:
        values = [v for v in value.split(",") if v]
        if not values:
            raise FhirError(400, "invalid", f"empty value for {name}", name)
        return or_(*(self._one_clause(resource_type, name, v) for v in values))

    def _one_clause(self, resource_type: str, name: str, value: str) -> ColumnElement[bool]:
        if name == "_id":
            try:
                return self._id_column(resource_type) == uuid.UUID(value)  # type: ignore[no-any-return]
            except ValueError:
                return self._id_column(resource_type).is_(None)  # type: ignore[no-any-return]
        if name == "_lastUpdated":
            return date_clause(self.last_updated_column(resource_type), value)
        if resource_type == "CareTeam":
            return Team.name.ilike(value.replace("%", "") + "%")
        if resource_type == "MedicationRequest":
            if name == "encounter":
                return self._subject(FollowUpMedication.follow_up_id, value)
            return self._subject(FollowUp.resident_id, value)
        if resource_type in _READ_ONLY:
            return self._subject(_READ_ONLY[resource_type][1], value)
        if name == "_lastUpdated":
            return date_clause(self.last_updated_column(resource_type), value)
        if resource_type == "Patient":
            return self._patient_clause(name, value)
        if resource_type == "Observation":
            return self._observation_clause(name, value)
        if resource_type == "Condition":
            return self._condition_clause(name, value)
        if resource_type == "Organization":
            if name == "identifier":
                return Organization.code == _token(value)[1]
            return Organization.name.ilike(value.replace("%", "") + "%")
        if name == "identifier":
            return Practitioner.licence_number == _token(value)[1]
        return Practitioner.name.ilike(value.replace("%", "") + "%")

    def _patient_clause(self, name: str, value: str) -> ColumnElement[bool]:
        if name == "identifier":
            system, code = _token(value)
            if system == NATIONAL_ID_SYSTEM:
                return Resident.id_number == code.upper()
            if system == RECORD_NUMBER_SYSTEM:
                return Resident.record_number == code
            by_identifier = select(ResidentIdentifier.resident_id).where(
                ResidentIdentifier.value == code
            )
            if system:
                by_identifier = by_identifier.where(ResidentIdentifier.system == system)
                return Resident.id.in_(by_identifier)
            return or_(
                Resident.id.in_(by_identifier),
                Resident.id_number == code.upper(),
                Resident.record_number == code,
            )
        if name == "name":
            return Resident.name.ilike(value.replace("%", "") + "%")
        if name == "birthdate":
            return date_clause(Resident.birth_date, value, as_date=True)
        if name == "gender":
            sex = {
                "male": Sex.MALE,
                "female": Sex.FEMALE,
                "unknown": Sex.UNKNOWN,
                "other": Sex.UNKNOWN,
            }
            if value not in sex:
                raise FhirError(400, "invalid", f"unknown gender {value!r}", "gender")
            return Resident.sex == sex[value]
        return Resident.managing_org_id == _uuid(value.split("/")[-1], "Organization")

    def _subject(self, column: Any, value: str) -> ColumnElement[bool]:
        raw = value.split("/")[-1]
        if not is_valid_id(raw):
            raise FhirError(400, "invalid", f"bad reference {value!r}", "subject")
        try:
            return column == uuid.UUID(raw)  # type: ignore[no-any-return]
        except ValueError:
            return column.is_(None)  # type: ignore[no-any-return]

    def _observation_clause(self, name: str, value: str) -> ColumnElement[bool]:
        if name in ("patient", "subject"):
            return self._subject(Observation.resident_id, value)
        if name == "code":
            system, code = _token(value)
            if system not in (None, LOINC):
                return Observation.loinc.is_(None)
            kind = observation_codec.KIND_BY_LOINC.get(code)
            # A search for a panel code also finds the equivalent stored code (85354-9 ~ 55284-4).
            if kind is ObservationKind.BLOOD_PRESSURE:
                return Observation.kind == kind
            return Observation.loinc == code
        if name == "date":
            return date_clause(Observation.effective_at, value)
        kinds = [k for k in ObservationKind if observation_codec.category(k) == _token(value)[1]]
        return Observation.kind.in_(kinds)

    def _condition_clause(self, name: str, value: str) -> ColumnElement[bool]:
        if name in ("patient", "subject"):
            return self._subject(Condition.resident_id, value)
        if name == "code":
            system, code = _token(value)
            match = or_(Condition.code == code, Condition.icd10 == code)
            return and_(Condition.system == system, Condition.code == code) if system else match
        return Condition.clinical_status == _token(value)[1]
