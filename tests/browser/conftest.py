"""The app served by uvicorn on a free loopback port, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from settle.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"


@dataclass
class Live:
    url: str
    settings: Settings
    output: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def screenshot(page: Any, live: Live, name: str) -> Path:
    """A full-page screenshot in the test's folder, copied to test-output/browser for people to look at."""
    path = live.output / name
    page.screenshot(path=str(path), full_page=True)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, OUTPUT / name)
    return path


@contextmanager
def serve_live(engine: Engine, settings: Settings, output: Path) -> Iterator[Live]:
    """The whole app on a free loopback port, its links pointing at itself; stopped with ``should_exit``."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    served = dataclasses.replace(settings, base_url=url)
    config = uvicorn.Config(create_app(served, engine=engine), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-live", daemon=True)
    thread.start()
    while not server.started:  # no sleeping: wait on the thread in short slices until uvicorn says so
        if not thread.is_alive():
            raise RuntimeError("the live server did not start")
        thread.join(0.01)
    try:
        yield Live(url, served, output)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def live(engine: Engine, settings: Settings, db: Session, tmp_path: Path) -> Iterator[Live]:
    with serve_live(engine, settings, tmp_path) as served:
        yield served


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(locale="nl-NL")
    yield ctx
    ctx.close()
