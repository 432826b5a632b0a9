"""One warehouse job of a kind at a time: a lock file held with ``flock``, without waiting.

``flock`` is released by the kernel when its holder dies, so a killed job never leaves the
warehouse locked; the file itself stays (removing it could let two jobs lock two files). The
holder writes its process id into the file, so that the refusal can name it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from manbing.domain.errors import Conflict


class WarehouseBusy(Conflict):
    """Another process holds the lock of this job."""


@contextmanager
def exclusive(path: Path, busy: Callable[[str], WarehouseBusy]) -> Iterator[None]:
    """Hold the lock file ``path``, or raise ``busy(holder's process id)`` at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise busy(handle.read().strip() or "?") from None
        try:
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
