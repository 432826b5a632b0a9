"""Which running $export jobs have lost their server process (several workers share a database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from manbing.fhir.export import STALE_AFTER, orphaned, owner

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ME = "host-a:100:aaaa"


def alive_only(*pids: int):  # type: ignore[no-untyped-def]
    return lambda pid: pid in pids


def test_a_job_of_this_process_is_alive_and_of_its_earlier_run_is_not() -> None:
    assert not orphaned("host-a:100:aaaa", NOW, NOW, ME, alive_only(100))
    # same pid (a restarted container's pid 1), another boot token: the process before
    assert orphaned("host-a:100:bbbb", NOW, NOW, ME, alive_only(100))


def test_a_sibling_on_this_host_is_alive_while_its_pid_runs_and_its_heartbeat_is_fresh() -> None:
    sibling = "host-a:101:cccc"
    assert not orphaned(sibling, NOW - STALE_AFTER, NOW, ME, alive_only(100, 101))
    assert orphaned(sibling, NOW, NOW, ME, alive_only(100))  # its process is gone
    late = NOW - STALE_AFTER - timedelta(seconds=1)
    assert orphaned(sibling, late, NOW, ME, alive_only(100, 101))  # hung: no heartbeat


def test_another_host_is_judged_by_its_heartbeat_and_an_ownerless_job_is_orphaned() -> None:
    assert not orphaned("host-b:100:aaaa", NOW - timedelta(minutes=1), NOW, ME, alive_only())
    assert orphaned("host-b:100:aaaa", NOW - timedelta(minutes=4), NOW, ME, alive_only())
    assert orphaned(None, NOW, NOW, ME, alive_only(100))


def test_this_process_has_one_owner_name_with_its_pid() -> None:
    import os
    import socket

    host, pid, token = owner().split(":")
    assert (host, pid) == (socket.gethostname()[:80], str(os.getpid())) and len(token) == 12
    assert owner() == owner()
