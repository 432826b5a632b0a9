"""Running a job again and again without a human: the DTx weekly review, for one.

The job is any callable; the time it reasons about comes from the Clock it was built with, so
the loop itself only paces the calls. A failing run is logged and the next one tries again.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import timedelta

from manbing.domain.errors import InvalidInput

log = logging.getLogger("manbing.schedule")

_EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_every(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"1d"`` → a positive interval."""
    match = _EVERY.match(text.lower())
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(
            "every",
            "间隔格式应为正整数加单位，如 30m、1h、1d",
            "interval must be a positive number with s, m, h or d (e.g. 30m, 1h)",
        )
    return timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})


def run_every(
    job: Callable[[], object],
    every: timedelta,
    stop: threading.Event,
    *,
    name: str,
    max_runs: int | None = None,
) -> int:
    """Call ``job`` now and then every ``every`` until ``stop`` is set; return the runs made."""
    runs = 0
    while not stop.is_set() and (max_runs is None or runs < max_runs):
        try:
            result = job()
            log.info("%s: %s", name, result)
        except Exception:
            log.exception("%s failed; the next run tries again", name)
        runs += 1
        if max_runs is not None and runs >= max_runs:
            break
        stop.wait(every.total_seconds())
    return runs


def start_in_background(
    job: Callable[[], object], every: timedelta, *, name: str
) -> tuple[threading.Thread, threading.Event]:
    """:func:`run_every` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_every, args=(job, every, stop), kwargs={"name": name}, name=name, daemon=True
    )
    thread.start()
    return thread, stop
