"""The matcher finds the duplicates the generator injects (synth/faults.py), on both back-ends.

Each injected duplicate is a second record of a resident from the hospital HIS with the last
character of the name changed and the ID number missing or with a wrong check character.
Thresholds: recall ≥ 95 % of the injected duplicates, and ≥ 95 % of the proposed pairs
(precision) are an injected duplicate with its original (one record injected, same division,
names equal but for the last character).
"""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from manbing.cli import _register, app
from manbing.db.models import Organization, ResidentIdentifier
from manbing.domain.organisations import OrgType, Role
from manbing.services import mpi
from manbing.synth.faults import HIS_SYSTEM
from tests.personas import actor_at


def _injected_pair(c: mpi.Candidate, injected: set[object]) -> bool:
    """One record is an injected copy of the other: same division, name but its last character."""
    a, b = c.a.view, c.b.view
    return (
        len({a.id, b.id} & injected) == 1
        and a.division_code == b.division_code
        and len(a.name) == len(b.name)
        and a.name[:-1] == b.name[:-1]
    )


def test_injected_typo_duplicates_are_found(backend_url, engine, session_factory, uow, clock):
    _register()
    args = ["synth", "--residents", "2000", "--region", "330108", "--seed", "5"]
    result = CliRunner().invoke(app, [*args, "--to", "db", "--database-url", backend_url])
    assert result.exit_code == 0, result.output
    with session_factory() as session:
        root = session.scalars(
            select(Organization).where(Organization.type == OrgType.HEALTH_COMMISSION)
        ).one()
        injected = set(
            session.scalars(
                select(ResidentIdentifier.resident_id).where(
                    ResidentIdentifier.system == HIS_SYSTEM
                )
            )
        )
    assert len(injected) >= 20
    manager = actor_at(session_factory, Role.CENTRE_MANAGER, root.id)
    found = mpi.find_candidates(uow, manager, clock, limit=1000)
    true_pairs = [c for c in found if _injected_pair(c, injected)]
    recalled = {i for c in true_pairs for i in (c.a.view.id, c.b.view.id)} & injected
    assert len(recalled) / len(injected) >= 0.95
    assert len(true_pairs) / len(found) >= 0.95
    assert all(c.match.level >= mpi.MatchLevel.PROBABLE for c in true_pairs)
    # A is the record registered first (the natural survivor), B the later HIS copy
    assert all(c.b.view.id in injected for c in true_pairs)
    # merging generated pairs (with their enrolments, follow-ups, readings, …) works too
    for c in true_pairs[:10]:
        dup, keep = (c.a, c.b) if c.a.view.id in injected else (c.b, c.a)
        mpi.merge(uow, manager, keep.view.id, dup.view.id, clock)
    left = mpi.find_candidates(uow, manager, clock, limit=1000)
    assert len(left) == len(found) - 10
