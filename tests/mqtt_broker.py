"""A private Mosquitto broker per test (persistence on, loopback only) that tests may kill."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Broker:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.config = workdir / "mosquitto.conf"
        (workdir / "data").mkdir(exist_ok=True)
        self.config.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    # stay the current user, so the persistence file in tmp stays writable
                    f"user {getpass.getuser()}",
                    "persistence true",
                    f"persistence_location {workdir / 'data'}/",
                    "autosave_interval 1",
                    "max_queued_messages 0",
                    "max_inflight_messages 0",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                ]
            )
            + "\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "broker.log", "ab"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start on port {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not os.path.exists(MOSQUITTO):
        if IN_CI:
            pytest.fail(f"mosquitto is required in CI and missing at {MOSQUITTO}")
        pytest.skip("mosquitto is not installed")
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()
