"""Issue 15, the demo: its links follow its port (``settle demo --port N``, ``make demo PORT=N``),
a busy port fails before anything is written, the seeded history carries its own dates and
leaves today's work for ``settle run``, and a second demo leaves one live demo key."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from adapters.db import make_engine, make_sessionmaker
from api.arrangements import read_many
from domain import apikeys
from domain.arrangement_models import Arrangement
from domain.models import ApiKey, DebtorRequest, Invoice, Organisation, OutboxMessage, Payment
from settle.demo import TODAYS_LINE, TODAYS_RUN
from tests.integration.dunning_helpers import Mailbox, text_of
from tests.integration.test_cli_serve_and_demo import free_port
from tests.integration.test_foundation_cli import _env, run

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"https?://[^\s\"'<>/]+/p/")


def _env_file(path: Path) -> dict[str, str]:
    """The ``export`` lines the demo wrote, as an environment for the next command."""
    env = _env("sqlite:///unused.db")
    for line in path.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    return env


def _hosts(folder: Path) -> set[str]:
    return {m.group(0) for msg in Mailbox(folder).messages() for m in LINK.finditer(text_of(msg))}


def test_demo_links_follow_the_port_history_has_dates_and_todays_run_does_what_it_says(tmp_path: Path) -> None:
    port = free_port()
    first = run("demo", "--no-serve", "--port", str(port), "--database", "demo.db", env=_env("sqlite:///x.db"),
                cwd=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert f"http://127.0.0.1:{port}/p/" in first.stdout
    env = _env_file(tmp_path / "demo.env")
    assert env["SETTLE_BASE_URL"] == f"http://127.0.0.1:{port}"
    assert _hosts(tmp_path / "outbox") == {f"http://127.0.0.1:{port}/p/"}  # every e-mail of the history

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    today = dt.date.today()
    try:
        with make_sessionmaker(engine)() as s:
            sent = [m.created_at.date() for m in s.scalars(select(OutboxMessage))]
            assert len(set(sent)) >= 8 and min(sent) <= today - dt.timedelta(days=60) and max(sent) < today
            for inv in s.scalars(select(Invoice)):
                assert inv.created_at.date() == min(inv.issue_date, today), inv.number
            pays = list(s.scalars(select(Payment)))
            assert len(pays) >= 4 and all(p.created_at.date() == p.received_on < today for p in pays)
            asked = list(s.scalars(select(DebtorRequest)))
            assert {r.kind for r in asked} >= {"dispute", "promise"}
            assert all(r.created_at.date() < today for r in asked)
            assert s.scalar(select(func.count()).select_from(Invoice).where(Invoice.status == "paid")) >= 4
            org = s.scalars(select(Organisation).where(Organisation.slug == "demo")).one()
            assert org.kvk_number and org.vat_number and org.iban
            # payment plans: one running with its first instalment paid, one proposal waiting for a decision
            plans = read_many(s, org.id, list(s.scalars(select(Arrangement).order_by(Arrangement.proposed_on))))
            running, waiting = plans
            assert (running.status, running.origin, running.paid_amount) == ("accepted", "api", "403.33")
            assert [i.status for i in running.instalments] == ["paid", "pending", "pending"]
            assert (waiting.status, waiting.origin, waiting.within_terms) == ("proposed", "portal", False)
            assert waiting.held_until is not None and waiting.held_until > today
            held = s.scalars(select(Invoice).where(Invoice.id.in_(waiting.invoice_ids))).all()
            assert {i.pause_reason for i in held} == {"payment arrangement proposed"}
    finally:
        engine.dispose()

    # What the README and the demo say today's run sends, it sends, with links at the demo's port.
    seen = Mailbox(tmp_path / "outbox").ids()
    today_run = subprocess.run([str(Path(sys.executable).with_name("settle")), "run"], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
    assert today_run.returncode == 0, today_run.stderr
    assert today_run.stdout.strip() == f"{today.isoformat()}: {TODAYS_LINE}"
    new = Mailbox(tmp_path / "outbox").new_since(seen)
    names = {name for name, _, _ in TODAYS_RUN}
    assert len(new) == len(TODAYS_RUN)
    assert all(any(n in text_of(m) for n in names) for m in new)
    assert {m.group(0) for msg in new for m in LINK.finditer(text_of(msg))} == {f"http://127.0.0.1:{port}/p/"}
    readme = (REPO / "README.md").read_text()
    assert TODAYS_LINE in readme and all(name in readme for name in names)

    # A second demo: a new key, the first one revoked, one live demo key.
    first_key = re.search(r"\bsk_\S+", first.stdout)
    second = run("demo", "--no-serve", "--port", str(port), "--database", "demo.db", env=_env("sqlite:///x.db"),
                 cwd=tmp_path)  # fmt: skip
    assert second.returncode == 0, second.stderr
    second_key = re.search(r"\bsk_\S+", second.stdout)
    assert first_key and second_key and first_key.group(0) != second_key.group(0)
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        with make_sessionmaker(engine)() as s:
            assert apikeys.authenticate(s, first_key.group(0)) is None
            assert apikeys.authenticate(s, second_key.group(0)) is not None
            live = s.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None)))
            assert live == 1
    finally:
        engine.dispose()


def test_settle_base_url_wins_over_the_port(tmp_path: Path) -> None:
    env = _env("sqlite:///x.db", SETTLE_BASE_URL="https://demo.example.com/")
    done = run("demo", "--no-serve", "--port", "8123", "--database", "demo.db", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "https://demo.example.com/p/" in done.stdout and ":8123" not in done.stdout
    assert "SETTLE_BASE_URL=https://demo.example.com\n" in (tmp_path / "demo.env").read_text()


def test_a_busy_port_fails_before_anything_is_written(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = run("demo", "--port", str(port), "--database", "demo.db", env=_env("sqlite:///x.db"), cwd=tmp_path)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert f"--port {port}" in res.stderr and "sk_" not in res.stdout
    assert list(tmp_path.iterdir()) == []


def test_make_demo_takes_a_port(tmp_path: Path) -> None:
    make = shutil.which("make")
    assert make, "make is needed for `make demo`"
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    res = subprocess.run(
        [make, "-s", "-C", str(REPO), "-o", ".venv/.installed", "demo", f"PORT={port}", f"BIN={bin_dir}",
         f"DEMO_ARGS=--no-serve --database {tmp_path / 'demo.db'}"],
        env={k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"http://127.0.0.1:{port}/p/" in res.stdout
    assert _hosts(tmp_path / "outbox") == {f"http://127.0.0.1:{port}/p/"}
    assert f"SETTLE_BASE_URL=http://127.0.0.1:{port}" in (tmp_path / "demo.env").read_text()
