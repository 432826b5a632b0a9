"""Another process's warehouse job (a build of the DuckDB copy, an extract), as its lock file
sees it."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from manbing.analytics.store import LOCK_FILE
from manbing.analytics.warehouse import EXTRACT_LOCK_FILE


@contextmanager
def held_lock(path: Path, pid: str) -> Iterator[None]:
    """Hold the lock file ``path`` as another process would (its own open file), naming ``pid``."""
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.truncate(0)
        handle.write(pid + "\n")
        handle.flush()
        yield


def another_build(directory: Path, pid: str = "4242") -> AbstractContextManager[None]:
    return held_lock(directory / LOCK_FILE, pid)


def another_extract(directory: Path, pid: str = "6161") -> AbstractContextManager[None]:
    return held_lock(directory / EXTRACT_LOCK_FILE, pid)
