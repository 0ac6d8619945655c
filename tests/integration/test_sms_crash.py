"""The real run (``tests/integration/sms_run.py``: ``settle run`` with the quiet hours' clock
fixed) killed with SIGKILL in the middle of sending texts, and two runs at once: every text
reaches the (fake) Twilio exactly once. The kill comes at the worst moment: Twilio has stored
the message and the run never hears so. On an SQLite file and, when SETTLE_TEST_DATABASE_URL
points at PostgreSQL, a scratch PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from domain import customers
from domain.models import OutboxMessage, Policy
from domain.policies import StepSpec, replace_steps
from tests.fakes.server import serve
from tests.fakes.twilio_fake import FakeTwilio
from tests.integration import dunning_helpers as h

AS_OF = dt.date(2026, 12, 7)
NOON = "2026-12-07T11:00:00+00:00"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def run_database(
    request: pytest.FixtureRequest, tmp_path: Path, on_postgres: bool, scratch_database: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sms.db'}"
    if not on_postgres:
        pytest.skip("PostgreSQL: set SETTLE_TEST_DATABASE_URL to a PostgreSQL database")
    return scratch_database()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    with serve(fake.app()) as url:
        fake.base_url = url
        yield fake


def phone(k: int) -> str:
    return f"+316123456{k:02d}"


def seed(url: str, n: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            org = h.org(db, "Texter")
            policy = db.scalar(select(Policy).where(Policy.org_id == org.id, Policy.is_default))
            assert policy is not None
            replace_steps(policy, [StepSpec("reminder", 7, "sms")])
            for k in range(n):
                c = customers.create(db, org.id, name=f"Debtor {k}", email=None, phone=phone(k))
                h.invoice(db, org, c, f"T-{k}", AS_OF - dt.timedelta(days=7))
            db.commit()
    finally:
        engine.dispose()


def env_for(url: str, twilio: FakeTwilio, tmp_path: Path) -> dict[str, str]:
    env = h.cli_env(url, f"file:{tmp_path / 'outbox'}")
    env.update(SETTLE_SMS_PROVIDER="twilio", SETTLE_SMS_ACCOUNT=twilio.account_sid, SETTLE_SMS_TOKEN=twilio.auth_token,
               SETTLE_SMS_FROM="+3197010000000", SETTLE_SMS_API_BASE=twilio.base_url,
               PYTHONPATH=str(ROOT))  # fmt: skip
    return env


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.integration.sms_run", AS_OF.isoformat(), NOON], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def texts(url: str) -> dict[str, tuple[str, str | None, str | None]]:
    """Each text's (status, delivery_status, provider_ref), by number."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            msg = OutboxMessage
            rows = s.execute(select(msg.to_address, msg.status, msg.delivery_status, msg.provider_ref)
                             .where(msg.channel == "sms")).all()  # fmt: skip
            count = s.scalar(select(func.count()).select_from(msg).where(msg.channel == "sms"))
            assert count == len({r[0] for r in rows})  # one text per debtor, however many runs
            return {str(r[0]): (r[1], r[2], r[3]) for r in rows}
    finally:
        engine.dispose()


@pytest.mark.parametrize("twilio_took_it", [True, False], ids=["twilio-stored-it", "lost-on-the-way"])
@pytest.mark.parametrize("kill_at", [1, 4])
def test_kill_9_mid_request_sends_no_text_twice_and_loses_none(
    run_database: str, twilio: FakeTwilio, tmp_path: Path, kill_at: int, twilio_took_it: bool
) -> None:
    n = 6
    seed(run_database, n)
    env = env_for(run_database, twilio, tmp_path)
    running: list[subprocess.Popen[str]] = []

    def kill_before_answering(k: int, message: dict[str, Any]) -> None:
        if k != kill_at:
            return
        if not twilio_took_it:
            twilio.messages.remove(message)  # as if the request never reached Twilio
        os.kill(running[0].pid, signal.SIGKILL)
        running[0].wait(timeout=30)  # dead before it could hear the answer

    twilio.on_create = kill_before_answering
    proc = start(env)
    running.append(proc)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, (out, err)

    crashed = texts(run_database)
    by_status = Counter(s for s, _, _ in crashed.values())
    assert (by_status["sent"], by_status["pending"]) == (kill_at - 1, n - kill_at + 1)
    # The attempt on the wire was recorded before Twilio was asked.
    [on_the_wire] = [num for num, (s, d, _) in crashed.items() if (s, d) == ("pending", "sending")]
    stored = {m["to"]: m["sid"] for m in twilio.messages}
    assert len(stored) == (kill_at if twilio_took_it else kill_at - 1)
    assert (on_the_wire in stored) is twilio_took_it

    twilio.on_create = None
    again = subprocess.run([sys.executable, "-m", "tests.integration.sms_run", AS_OF.isoformat(), NOON], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert again.returncode == 0, again.stderr

    assert Counter(m["to"] for m in twilio.messages) == {phone(k): 1 for k in range(n)}  # each debtor once
    after = texts(run_database)
    assert {s for s, _, _ in after.values()} == {"sent"}
    assert {num: ref for num, (_, _, ref) in after.items()} == {m["to"]: m["sid"] for m in twilio.messages}
    if twilio_took_it:
        assert after[on_the_wire][2] == stored[on_the_wire]  # found at Twilio, recorded, not sent again
    assert "6 texts queued" not in again.stdout  # the second run planned nothing new


def test_two_runs_at_once_send_each_text_once(run_database: str, twilio: FakeTwilio, tmp_path: Path) -> None:
    n = 12
    seed(run_database, n)
    env = env_for(run_database, twilio, tmp_path)
    procs = [start(env) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-3000:]
    assert Counter(m["to"] for m in twilio.messages) == {phone(k): 1 for k in range(n)}
    assert {s for s, _, _ in texts(run_database).values()} == {"sent"}
