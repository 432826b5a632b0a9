from datetime import date

import pytest

from manbing.domain import audit, contracts, programmes, referrals
from manbing.domain.errors import InvalidInput


def test_enrolment_status_allows_recovery_from_lost_but_death_is_final() -> None:
    programmes.check_transition(programmes.EnrolmentStatus.ACTIVE, programmes.EnrolmentStatus.LOST)
    programmes.check_transition(programmes.EnrolmentStatus.LOST, programmes.EnrolmentStatus.ACTIVE)
    for target in programmes.EnrolmentStatus:
        with pytest.raises(InvalidInput):
            programmes.check_transition(programmes.EnrolmentStatus.DEAD, target)


def test_a_referral_is_accepted_before_it_is_returned() -> None:
    referrals.check_transition(
        referrals.ReferralStatus.REQUESTED, referrals.ReferralStatus.ACCEPTED
    )
    referrals.check_transition(referrals.ReferralStatus.ACCEPTED, referrals.ReferralStatus.RETURNED)
    with pytest.raises(InvalidInput) as err:
        referrals.check_transition(
            referrals.ReferralStatus.REQUESTED, referrals.ReferralStatus.RETURNED
        )
    assert "待接收" in err.value.message


def test_contracts_run_a_year_and_are_flagged_thirty_days_before_expiry() -> None:
    assert contracts.default_end(date(2026, 1, 1)) == date(2026, 12, 31)
    assert contracts.default_end(date(2024, 2, 29)) == date(2025, 2, 27)
    assert contracts.is_expiring(date(2026, 12, 24), date(2026, 11, 24))
    assert not contracts.is_expiring(date(2026, 12, 25), date(2026, 11, 24))
    assert not contracts.is_expiring(date(2026, 11, 23), date(2026, 11, 24))
    with pytest.raises(InvalidInput):
        contracts.check_period(date(2026, 1, 1), date(2026, 1, 1))


def test_after_a_merge_the_longest_running_contract_stays_active() -> None:
    keep = contracts.contract_to_keep
    assert keep([("a", date(2026, 1, 1), date(2026, 12, 31))]) == "a"
    assert (
        keep(
            [
                ("a", date(2026, 1, 1), date(2026, 12, 31)),
                ("b", date(2026, 3, 1), date(2027, 2, 28)),
            ]
        )
        == "b"
    )
    same_end = [
        ("late", date(2026, 6, 1), date(2027, 5, 31)),
        ("early", date(2026, 2, 1), date(2027, 5, 31)),
    ]
    assert keep(same_end) == "early"
    with pytest.raises(ValueError):
        keep([])


def test_the_audit_chain_detects_an_edited_event() -> None:
    first = {"action": "read", "entity": "resident", "n": 1}
    second = {"action": "update", "entity": "resident", "n": 2}
    h1 = audit.event_hash(audit.GENESIS, first)
    h2 = audit.event_hash(h1, second)
    chain = [("a", audit.GENESIS, h1, first), ("b", h1, h2, second)]
    assert audit.verify_chain(chain) is None
    tampered = [("a", audit.GENESIS, h1, {**first, "n": 9}), ("b", h1, h2, second)]
    broken = audit.verify_chain(tampered)
    assert broken is not None and broken.position == 0
    dropped = [("b", h1, h2, second)]
    assert audit.verify_chain(dropped) == audit.ChainBreak(0, "b")
