"""Master patient index use cases: find suspected duplicates, merge them, or record that a pair
is two people. Rules of the comparison: ``manbing.domain.mpi``; overview: docs/mpi.md.

Who: centre managers (``Permission.MERGE_RESIDENTS``), within their organisation subtree.
Family doctors are warned of duplicates when they register a resident but do not merge:
a merge re-points a person's whole record, so it is a data-steward decision.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from manbing.db.models import Contract, NotDuplicate, Organization, Resident, ResidentIdentifier
from manbing.db.models.residents import RECORD_NUMBER_SYSTEM
from manbing.domain.audit import AuditAction
from manbing.domain.contracts import ContractStatus, contract_to_keep
from manbing.domain.errors import Conflict, InvalidInput, NotFound
from manbing.domain.identity import parse_resident_id
from manbing.domain.mpi import Match, MatchLevel, Snapshot, compare
from manbing.domain.organisations import Permission
from manbing.domain.residents import ResidentStatus
from manbing.services import access, audit, follow_up_schedule, residents
from manbing.services import mpi_references as refs
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Side:
    view: residents.ResidentView
    record_number: str
    org_name: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    a: Side
    b: Side
    match: Match


@dataclass(frozen=True)
class MergeResult:
    survivor_id: uuid.UUID
    duplicate_id: uuid.UUID
    moved: dict[str, int] = field(default_factory=dict)
    folded: dict[str, int] = field(default_factory=dict)


def _snapshot(r: Any) -> Snapshot:
    return Snapshot(
        name=r.name,
        sex=r.sex,
        birth_date=r.birth_date,
        id_number=r.id_number,
        phone=r.phone,
        division_code=r.division_code,
        address=r.address,
    )


def _pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if a < b else (b, a)


def _scope(session: Session, actor: Actor, org_code: str | None) -> Any:
    clause = and_(access.resident_filter(actor), Resident.status != ResidentStatus.MERGED)
    if org_code is None:
        return clause
    org = session.scalars(
        select(Organization).where(Organization.code == org_code, access.org_filter(actor))
    ).one_or_none()
    if org is None:
        raise NotFound("未找到该机构或无权访问", f"organisation {org_code!r} not found")
    subtree = select(Organization.id).where(Organization.path.startswith(org.path, autoescape=True))
    return and_(clause, Resident.managing_org_id.in_(subtree))


def find_candidates(
    uow: UnitOfWork,
    actor: Actor,
    clock: Clock,
    *,
    org_code: str | None = None,
    limit: int = 100,
    min_level: MatchLevel = MatchLevel.POSSIBLE,
) -> list[Candidate]:
    """Suspected duplicate pairs in the actor's scope, strongest first.

    Blocking: only records sharing birth date and sex are compared, pulled in one query that
    keeps the blocks with two or more records. Merged records, pairs of two dead records and
    pairs already decided "not duplicate" are left out. A dead record paired with a living one
    stays in: a second, still active record of a deceased person would keep generating
    follow-up reminders.
    """
    access.require(actor, Permission.MERGE_RESIDENTS)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"条数应在1至{MAX_LIMIT}之间", f"limit must be 1–{MAX_LIMIT}")
    with uow:
        session = uow.session
        scope = _scope(session, actor, org_code)
        found = _scan(session, scope, min_level)
        found = _without_decided(session, found)
        found.sort(key=lambda f: (-f[2].level, -f[2].score, f[0], f[1]))
        top = found[:limit]
        result = _candidates(session, actor, clock, top)
        audit.record(
            session,
            actor,
            AuditAction.SEARCH,
            "mpi_candidates",
            at=clock.now(),
            detail={"org": org_code, "pairs": len(found), "shown": len(result)},
        )
        uow.commit()
    return result


_COLUMNS = (
    Resident.id,
    Resident.name,
    Resident.sex,
    Resident.birth_date,
    Resident.id_number,
    Resident.phone,
    Resident.division_code,
    Resident.address,
    Resident.status,
)


def _scan(
    session: Session, scope: Any, min_level: MatchLevel
) -> list[tuple[uuid.UUID, uuid.UUID, Match]]:
    blocks = (
        select(Resident.birth_date, Resident.sex)
        .where(scope)
        .group_by(Resident.birth_date, Resident.sex)
        .having(func.count() > 1)
        .subquery()
    )
    stmt = (
        select(*_COLUMNS)
        .join(
            blocks, and_(blocks.c.birth_date == Resident.birth_date, blocks.c.sex == Resident.sex)
        )
        .where(scope)
        .order_by(Resident.birth_date, Resident.sex, Resident.id)
    )
    out: list[tuple[uuid.UUID, uuid.UUID, Match]] = []
    rows = session.execute(stmt.execution_options(yield_per=5000))
    for _, block in itertools.groupby(rows, key=lambda r: (r.birth_date, r.sex)):
        members = [(r.id, _snapshot(r), r.status is ResidentStatus.DEAD) for r in block]
        for (id_a, a, dead_a), (id_b, b, dead_b) in itertools.combinations(members, 2):
            if dead_a and dead_b:
                continue
            match = compare(a, b)
            if match is not None and match.level >= min_level:
                out.append((*_pair(id_a, id_b), match))
    return out


def _without_decided(
    session: Session, found: list[tuple[uuid.UUID, uuid.UUID, Match]]
) -> list[tuple[uuid.UUID, uuid.UUID, Match]]:
    lows = sorted({f[0] for f in found})
    decided: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for start in range(0, len(lows), 500):
        chunk = lows[start : start + 500]
        decided.update(
            (low, high)
            for low, high in session.execute(
                select(NotDuplicate.low_id, NotDuplicate.high_id).where(
                    NotDuplicate.low_id.in_(chunk)
                )
            )
        )
    return [f for f in found if (f[0], f[1]) not in decided]


def _candidates(
    session: Session,
    actor: Actor,
    clock: Clock,
    pairs: Sequence[tuple[uuid.UUID, uuid.UUID, Match]],
) -> list[Candidate]:
    ids = {i for p in pairs for i in p[:2]}
    if not ids:
        return []
    records = {r.id: r for r in session.scalars(select(Resident).where(Resident.id.in_(ids)))}
    org_ids = {r.managing_org_id for r in records.values()}
    orgs = {
        oid: name
        for oid, name in session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))
        )
    }
    systems: dict[uuid.UUID, set[str]] = {}
    for rid, system in session.execute(
        select(ResidentIdentifier.resident_id, ResidentIdentifier.system).where(
            ResidentIdentifier.resident_id.in_(ids)
        )
    ):
        systems.setdefault(rid, set()).add(system)
    today = clock.today()

    def side(rid: uuid.UUID) -> Side:
        r = records[rid]
        return Side(
            residents.view(r, actor, today),
            r.record_number,
            orgs.get(r.managing_org_id, ""),
            tuple(sorted(systems.get(rid, ()))),
        )

    def first(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
        """A is the record registered first: the natural survivor."""
        ra, rb = records[a], records[b]
        key_a, key_b = (ra.registered_on, ra.record_number), (rb.registered_on, rb.record_number)
        return (a, b) if key_a <= key_b else (b, a)

    out = []
    for a, b, match in pairs:
        x, y = first(a, b)
        out.append(Candidate(side(x), side(y), match))
    return out


def mark_not_duplicate(
    uow: UnitOfWork,
    actor: Actor,
    a_id: uuid.UUID,
    b_id: uuid.UUID,
    clock: Clock,
    note: str | None = None,
) -> bool:
    """Record that two records are different people; False when it was already recorded."""
    access.require(actor, Permission.MERGE_RESIDENTS)
    if a_id == b_id:
        raise InvalidInput("b_id", "两份档案不能是同一份", "the two records must differ")
    text = (note or "").strip() or None
    if text is not None and len(text) > 200:
        raise InvalidInput("note", "备注不能超过200字", "note is longer than 200 characters")
    low, high = _pair(a_id, b_id)
    with uow:
        session = uow.session
        for rid in (low, high):
            access.get_resident(session, actor, rid)
        exists = session.scalar(
            select(NotDuplicate.id).where(NotDuplicate.low_id == low, NotDuplicate.high_id == high)
        )
        if exists is not None:
            return False
        decision = NotDuplicate(
            id=uuid.uuid4(),
            low_id=low,
            high_id=high,
            decided_by_id=actor.user_id,
            decided_at=clock.now(),
            note=text,
        )
        session.add(decision)
        try:
            session.flush()
        except IntegrityError:  # the same decision was stored concurrently
            return False
        for rid, other in ((low, high), (high, low)):
            audit.record(
                session,
                actor,
                AuditAction.CREATE,
                "mpi_not_duplicate",
                at=clock.now(),
                entity_id=decision.id,
                resident_id=rid,
                detail={"other": str(other)},
            )
        uow.commit()
    return True


def merge(
    uow: UnitOfWork,
    actor: Actor,
    survivor_id: uuid.UUID,
    duplicate_id: uuid.UUID,
    clock: Clock,
) -> MergeResult:
    """Fold the duplicate record into the survivor, in one transaction, all or nothing."""
    access.require(actor, Permission.MERGE_RESIDENTS)
    if survivor_id == duplicate_id:
        raise InvalidInput(
            "duplicate_id", "不能将档案合并到其自身", "a record cannot be merged into itself"
        )
    with uow:
        session = uow.session
        survivor = access.get_resident(session, actor, survivor_id)
        duplicate = access.get_resident(session, actor, duplicate_id)
        _lock(session, [survivor.id, duplicate.id])
        session.refresh(survivor)
        session.refresh(duplicate)
        if survivor.status is ResidentStatus.MERGED:
            raise Conflict(
                "保留的档案已被合并到其他档案，请改为合并到最终保留的档案",
                "the surviving record has itself been merged",
            )
        if duplicate.status is ResidentStatus.MERGED:
            raise Conflict("该档案已被合并过", "the duplicate record is already merged")
        match = compare(_snapshot(survivor), _snapshot(duplicate))
        if match is None:
            raise Conflict(
                "两份档案的出生日期、性别、姓名或身份证号不相符，不是疑似重复，不能合并",
                "the two records do not match (birth date, sex, name or ID number)",
            )
        result = _merge(session, survivor, duplicate, clock)
        follow_up_schedule.refresh(session, [survivor.id, duplicate.id])
        audit.record(
            session,
            actor,
            AuditAction.MERGE,
            "resident",
            at=clock.now(),
            entity_id=duplicate.id,
            resident_id=survivor.id,
            detail={
                "survivor": str(survivor.id),
                "duplicate": str(duplicate.id),
                "duplicate_record_number": duplicate.record_number,
                "level": match.level.code,
                "reasons": [r.value for r in match.reasons],
                "moved": result.moved,
                "folded_rows": result.folded_rows,
            },
        )
        uow.commit()
    return MergeResult(survivor_id, duplicate_id, result.moved, result.folded)


def _lock(session: Session, ids: list[uuid.UUID]) -> None:
    """Hold both records until commit, so two concurrent merges of the same record cannot both
    pass the checks: row locks on PostgreSQL; on SQLite (no row locks, and reads outside a write
    transaction see the latest commit) a no-op write takes the database's write lock first."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Resident).where(Resident.id.in_(ids)).values(version=Resident.version)
        )
        return
    session.execute(
        select(Resident.id).where(Resident.id.in_(ids)).order_by(Resident.id).with_for_update()
    )


@dataclass
class _Outcome:
    moved: dict[str, int] = field(default_factory=dict)
    folded: dict[str, int] = field(default_factory=dict)
    folded_rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _merge(session: Session, survivor: Resident, duplicate: Resident, clock: Clock) -> _Outcome:
    session.flush()
    s, d = survivor.id, duplicate.id
    plan = refs.plan()
    movable = [r for r in plan if r.strategy in (refs.Strategy.MOVE, refs.Strategy.FOLD)]
    before = {_key(r): (refs.count(session, r, s), refs.count(session, r, d)) for r in movable}
    outcome = _Outcome()
    dropped_pairs = _move_pairs(session, s, d)
    if dropped_pairs:
        outcome.folded["mpi_not_duplicates"] = dropped_pairs
    for ref in movable:
        rows = refs.move(session, ref, s, d)
        moved = before[_key(ref)][1] - len(rows)
        if moved:
            outcome.moved[_key(ref)] = moved
        if rows:
            outcome.folded[_key(ref)] = len(rows)
            outcome.folded_rows[_key(ref)] = rows
    session.execute(
        update(Resident)
        .where(Resident.merged_into_id == d)
        .values(merged_into_id=s, version=Resident.version + 1)
    )
    for ref in movable:  # nothing lost: every row is on the survivor or was folded into it
        kept, left = refs.count(session, ref, s), refs.count(session, ref, d)
        expected = sum(before[_key(ref)]) - outcome.folded.get(_key(ref), 0)
        if left or kept != expected:
            raise RuntimeError(f"merge lost rows of {_key(ref)}: {kept} != {expected}")
    session.expire_all()
    if _fold_fields(session, survivor, duplicate, clock):
        outcome.folded["residents.id_number"] = 1
    ended = _end_extra_contracts(session, s, clock)
    if ended:
        outcome.folded["contracts.active"] = len(ended)
        outcome.folded_rows["contracts.active"] = [{"ended": str(c)} for c in ended]
    return outcome


def _end_extra_contracts(session: Session, s: uuid.UUID, clock: Clock) -> list[uuid.UUID]:
    """Both records may have brought an active contract; one person signs with one team,
    so all but the one ``contract_to_keep`` chooses are terminated as of today."""
    active = session.execute(
        select(Contract.id, Contract.start_date, Contract.end_date).where(
            Contract.resident_id == s, Contract.status == ContractStatus.ACTIVE
        )
    ).all()
    if len(active) < 2:
        return []
    keep = contract_to_keep([(c.id, c.start_date, c.end_date) for c in active])
    ended = sorted((c.id for c in active if c.id != keep), key=str)
    today = clock.today()
    for c in active:
        if c.id != keep:
            session.execute(
                update(Contract)
                .where(Contract.id == c.id)
                .values(status=ContractStatus.TERMINATED, end_date=max(c.start_date, today))
            )
    return ended


def _key(ref: refs.Reference) -> str:
    return f"{ref.table.name}.{ref.column.name}"


def _move_pairs(session: Session, s: uuid.UUID, d: uuid.UUID) -> int:
    """Re-point not-duplicate decisions of the duplicate; drop those now void or repeated."""
    rows = session.scalars(
        select(NotDuplicate).where(or_(NotDuplicate.low_id == d, NotDuplicate.high_id == d))
    ).all()
    dropped = 0
    for row in rows:
        other = row.high_id if row.low_id == d else row.low_id
        low, high = _pair(s, other)
        clash = session.scalar(
            select(NotDuplicate.id).where(NotDuplicate.low_id == low, NotDuplicate.high_id == high)
        )
        if other == s or clash is not None:
            session.execute(delete(NotDuplicate).where(NotDuplicate.id == row.id))
            dropped += 1
        else:
            session.execute(
                update(NotDuplicate)
                .where(NotDuplicate.id == row.id)
                .values(low_id=low, high_id=high)
            )
    return dropped


def _fold_fields(session: Session, survivor: Resident, duplicate: Resident, clock: Clock) -> bool:
    """Fill the survivor's gaps from the duplicate, keep the duplicate's record number as an
    identifier of the survivor, and mark the duplicate merged. A valid ID number on the
    duplicate replaces a missing or mistyped (check character wrong) one on the survivor;
    returns whether it did."""
    for name in ("phone", "address", "responsible_practitioner_id"):
        if getattr(survivor, name) is None and getattr(duplicate, name) is not None:
            setattr(survivor, name, getattr(duplicate, name))
    for flag in ("severe_mental_disorder", "pregnant", "disability"):
        setattr(survivor, flag, getattr(survivor, flag) or getattr(duplicate, flag))
    survivor.registered_on = min(survivor.registered_on, duplicate.registered_on)
    moved_id = None
    survivor_valid = survivor.id_number is not None and _valid_id(survivor.id_number)
    if not survivor_valid and duplicate.id_number and _valid_id(duplicate.id_number):
        moved_id, duplicate.id_number = duplicate.id_number, None
    duplicate.status = ResidentStatus.MERGED
    duplicate.status_date = clock.today()
    duplicate.merged_into_id = survivor.id
    session.flush()
    if moved_id is not None:
        survivor.id_number = moved_id
    taken = session.scalar(
        select(ResidentIdentifier.id).where(
            ResidentIdentifier.system == RECORD_NUMBER_SYSTEM,
            ResidentIdentifier.value == duplicate.record_number,
        )
    )
    if taken is None:
        session.add(
            ResidentIdentifier(
                id=uuid.uuid4(),
                resident_id=survivor.id,
                system=RECORD_NUMBER_SYSTEM,
                value=duplicate.record_number,
                assigned_at=clock.now(),
            )
        )
    session.flush()
    return moved_id is not None


def _valid_id(number: str) -> bool:
    try:
        parse_resident_id(number)
    except InvalidInput:
        return False
    return True


def merged_target(
    uow: UnitOfWork, actor: Actor, resident_id: uuid.UUID
) -> tuple[uuid.UUID, str] | None:
    """(id, record number) of the record a merged resident now lives in, if the actor sees it."""
    with uow:
        record = access.get_resident(uow.session, actor, resident_id)
        if record.merged_into_id is None:
            return None
        try:
            target = access.get_resident(uow.session, actor, record.merged_into_id)
        except NotFound:
            return None
        return target.id, target.record_number
