"""``settle run`` as an operator (or cron's mail) reads it: one line at the end that says
what the run did."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.models import SchedulerRun
from tests.integration import dunning_helpers as h

DAY = dt.timedelta(days=1)
D0 = dt.date(2026, 3, 2)
RUN_DAY = D0 + 21 * DAY  # 23 March 2026: the default policy's call step for invoices due on D0


def test_settle_run_ends_with_a_one_line_summary_of_what_it_did(
    db: Session, settings: Settings, database_url: str
) -> None:
    o = h.org(db)
    called = h.customer(db, o.id, "Garage De Vries", "admin@devries.example")
    reminded = h.customer(db, o.id, "Bakkerij Jansen", "ap@jansen.example")
    unreachable = h.customer(db, o.id, "Zonder Mail BV", None)
    patient = h.customer(db, o.id, "Nog Niet BV", "later@example.com")
    h.invoice(db, o, called, "F-CALL", D0)  # first run on its call day: reminder and statement reminder skipped
    h.invoice(db, o, reminded, "F-MAIL", RUN_DAY - 7 * DAY)  # its first reminder
    h.invoice(db, o, unreachable, "F-NONE", RUN_DAY - 7 * DAY)  # a reminder nobody can receive
    h.invoice(db, o, patient, "F-LATER", RUN_DAY - 3 * DAY)  # overdue, but no step yet: not looked at
    db.commit()
    env = h.cli_env(database_url, settings.mail_url)

    out = h.settle_run(env, "--as-of", RUN_DAY.isoformat())

    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == (
        "2026-03-23: examined 3 invoices, 1 messages, 1 tasks, 0 letters, 2 steps skipped, 1 delivered, 1 failed"
    )
    assert [m["To"] for m in h.mailbox(settings).messages()] == ["ap@jansen.example"]
    [recorded] = db.scalars(select(SchedulerRun))
    assert recorded.as_of == RUN_DAY and recorded.summary["line"] in out.stdout

    again = h.settle_run(env, "--as-of", RUN_DAY.isoformat())

    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == (
        "2026-03-23: examined 0 invoices, 0 messages, 0 tasks, 0 letters, 0 steps skipped, 0 delivered, 0 failed"
    )
