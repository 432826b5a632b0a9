"""The resident record page read in one unit of work: chart, referrals, contract options, checks.

The page used to open four transactions (each re-checking access to the resident); one
transaction reads the same rows with one access check and one audited read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from manbing.services import contracts, health_checks, records, referrals
from manbing.services.actor import Actor
from manbing.services.clock import Clock
from manbing.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RecordPage:
    chart: records.ResidentChart
    referrals: list[referrals.ReferralView]
    teams: list[contracts.Option]
    packages: list[contracts.Option]
    health_checks: list[health_checks.HealthCheckView]


def read(
    uow: UnitOfWork,
    actor: Actor,
    resident_id: uuid.UUID,
    clock: Clock,
    *,
    contract_options: bool,
) -> RecordPage:
    """``contract_options``: also list the teams and service packages to sign with."""
    with uow:
        session = uow.session
        chart = records.chart_in(session, actor, resident_id, clock, audit_read=False)
        teams, packages = contracts.options_in(session, actor) if contract_options else ([], [])
        page = RecordPage(
            chart=chart,
            referrals=referrals.of_resident(session, actor, resident_id),
            teams=teams,
            packages=packages,
            health_checks=health_checks.of_resident(session, resident_id),
        )
        # last: the audit chain's lock is held from the append until the commit
        records.audit_chart_read(session, actor, resident_id, clock)
        uow.commit()
    return page
