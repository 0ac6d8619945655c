"""`settle serve` and `settle demo` as a user starts them: a real server on a loopback port."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.integration.test_foundation_cli import SETTLE, _env, run

# Both, in whichever order this uvicorn mode prints them: one process binds the socket after the
# app's startup, a multi-worker parent binds it before its workers start the app.
READY = ("Uvicorn running on", "Application startup complete")
STARTUP_SECONDS = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running `settle` process whose merged output is read line by line on a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def _next(self, deadline: float, waiting_for: str) -> str | None:
        remaining = deadline - time.monotonic()
        try:
            return self._queue.get(timeout=max(remaining, 0))
        except queue.Empty:
            raise AssertionError(f"still waiting for {waiting_for}:\n{self.output}") from None

    def wait_for(self, *markers: str, timeout: float = STARTUP_SECONDS) -> None:
        """Read output until every marker has been seen on some line."""
        deadline = time.monotonic() + timeout
        missing = [m for m in markers if m not in self.output]
        while missing:
            line = self._next(deadline, repr(missing))
            assert line is not None, f"exited ({self.proc.poll()}) before {missing!r}:\n{self.output}"
            self.lines.append(line)
            missing = [m for m in missing if m not in line]

    def read_to_end(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while (line := self._next(deadline, "the end of the output")) is not None:
            self.lines.append(line)
        return self.output

    def close(self) -> None:
        """Once the process is gone: let the reader see the end of the pipe, then close it."""
        self._reader.join(timeout=30)
        if not self._reader.is_alive() and self.proc.stdout is not None:
            self.proc.stdout.close()

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextmanager
def started(*args: str, env: dict[str, str], cwd: Path | None = None) -> Iterator[Server]:
    proc = subprocess.Popen(
        [SETTLE, *args],
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so a failure below can end the workers too
    )
    server = Server(proc)
    try:
        server.wait_for(*READY)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        server.close()


def stop(server: Server) -> int:
    """SIGTERM, as a process manager stops the server; the exit code once it is gone.

    The app must have shut down cleanly, not just been killed."""
    server.proc.send_signal(signal.SIGTERM)
    code = server.proc.wait(timeout=30)
    assert "Application shutdown complete" in server.read_to_end()
    return code


def test_serve_answers_on_its_port_and_stops_on_sigterm(scratch_database: Any) -> None:
    env = _env(scratch_database(), SETTLE_SECRET_KEYS="serve-test-secret")
    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    port = free_port()
    args = ("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2")
    with started(*args, env=env) as server:
        assert f"http://127.0.0.1:{port}" in server.output
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            schema = http.get("/api/v1/openapi.json")
            assert schema.status_code == 200, schema.text
            assert "openapi" in schema.json()
            anonymous = http.get("/api/v1/customers")
            assert anonymous.status_code == 401, anonymous.text
        assert stop(server) == 0


def test_demo_prints_a_key_and_links_that_work(tmp_path: Path) -> None:
    port = free_port()
    env = _env("sqlite:///unused.db")
    with started("demo", "--port", str(port), "--database", str(tmp_path / "demo.db"), env=env, cwd=tmp_path) as demo:
        printed = demo.output
        assert re.search(r"\bsk_\S+", printed), printed
        links = re.findall(rf"http://127\.0\.0\.1:{port}/p/\S+", printed)
        assert links, printed
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            opened = http.get(links[0], follow_redirects=False)
            assert opened.status_code == 303, opened.text
            assert httpx.URL(opened.headers["location"]).path.startswith("/portal")
            mailbox = http.get("/demo/mailbox")
            assert mailbox.status_code == 200, mailbox.text
        # A single uvicorn process re-raises the SIGTERM after its graceful shutdown.
        assert stop(demo) in (0, -signal.SIGTERM)
    assert (tmp_path / "demo.db").exists()
