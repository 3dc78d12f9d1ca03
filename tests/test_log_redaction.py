"""No recipient token in what runserver or gunicorn print, Django's own warnings included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "pu8itnmN04d2w4SVK-Sn9FR0xZMZ9AXK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[0])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def post_without_csrf_cookie(port: int) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/r/{TOKEN}/answer/", data=b"message=hello", method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def run_and_capture(command: list[str], env: dict[str, str], port: int) -> str:
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for(port, process)
        assert post_without_csrf_cookie(port) == 403
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0]
    return output


@pytest.fixture
def server_env(tmp_path) -> dict[str, str]:
    # The embedded default (DEBUG on): Django's own console handler is active.
    return {"PATH": os.environ["PATH"], "OUTREACH_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}


def test_runserver_prints_the_csrf_warning_without_the_token(server_env):
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    output = run_and_capture(command, server_env, port)
    assert "CSRF" in output  # the warning itself is still there
    assert "/r/[redacted]" in output
    assert TOKEN not in output


def test_gunicorn_prints_no_token_in_its_access_or_error_log(server_env):
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [
        gunicorn, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--access-logfile", "-", "--error-logfile", "-", "outreach.wsgi",
    ]  # fmt: skip
    output = run_and_capture(command, server_env, port)
    assert "/r/[redacted]" in output
    assert TOKEN not in output
