"""``manbing serve --workers N``: several server processes on PostgreSQL, refused on SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from manbing.db import migrate
from tests.e2e.conftest import _free_port, wait_for_server

MANBING = Path(sys.executable).parent / "manbing"


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "MANBING_DATABASE_URL": database_url,
        "MANBING_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "MANBING_EXPORT_DIR": str(tmp_path / "exports"),
        "COLUMNS": "200",
    }
    env.pop("MANBING_MODE", None)
    return env


def _spawned_workers(parent: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            count += 1
    return count


def test_several_workers_are_refused_on_the_embedded_database(tmp_path: Path) -> None:
    refused = subprocess.run(
        [str(MANBING), "serve", "--workers", "2"],
        env=_env(f"sqlite:///{tmp_path / 'm.db'}", tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "PostgreSQL" in refused.stderr


def test_two_workers_serve_the_app_on_postgresql(postgresql_url: str, tmp_path: Path) -> None:
    migrate.upgrade(postgresql_url)
    port = _free_port()
    server = subprocess.Popen(
        [str(MANBING), "serve", "--workers", "2", "--port", str(port), "--dtx-review-every", "off"],
        env=_env(postgresql_url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        page = wait_for_server(
            port, server, seconds=90, ready=lambda: _spawned_workers(server.pid) == 2
        )
        assert page.status_code == 200 and "登录" in page.text
        for _ in range(6):
            assert httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
