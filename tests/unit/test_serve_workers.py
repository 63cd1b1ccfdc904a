"""`joinedup serve --workers N` as an operator runs it: N worker processes answer; a worker
killed mid-service (SIGKILL) is replaced and the service keeps answering. On the embedded
SQLite store, with the small shared area."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from joinedup.settings import Settings

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 300  # generous: a loaded machine imports the app slowly in every worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def workers_of(pid: int) -> set[int]:
    """The server's worker processes: its children started by multiprocessing's spawn."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == pid and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)  # polling a separate process: there is nothing to wait on instead
    raise AssertionError(f"gave up waiting: {what}")


@pytest.fixture(scope="module")
def server(small_area: Settings) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = dict(os.environ, JOINEDUP_HOME=str(small_area.home))
    env.pop("JOINEDUP_DATABASE_URL", None)
    command = [sys.executable, "-m", "joinedup.cli", "serve", "--workers", "2"]
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{base}/health") or process.poll() is not None, "health")
        yield process, base
    finally:
        process.send_signal(signal.SIGINT)  # as Ctrl+C
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_workers_answer_and_a_killed_one_is_replaced(
    server: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, base = server
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    workers = workers_of(process.pid)
    assert len(workers) == 2

    victim = min(workers)
    os.kill(victim, signal.SIGKILL)

    wait_until(lambda: len(workers_of(process.pid) - {victim}) == 2, "a replacement worker")
    assert answers(f"{base}/health")
