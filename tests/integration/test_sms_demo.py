"""``settle demo`` serves the fake Twilio beside the app: a policy step with ``email+sms`` on a
demo customer, and the real ``settle run`` with the demo's settings, put the text in the fake
and in the mailbox page, with its short portal link."""

from __future__ import annotations

import datetime as dt
import re
import signal
from pathlib import Path

import httpx

from domain import sms
from tests.integration.test_cli_serve_and_demo import free_port, started, stop
from tests.integration.test_demo_issue15 import _env_file
from tests.integration.test_foundation_cli import _env, run


def test_the_demo_sends_texts_to_its_fake_twilio_and_shows_them_in_the_mailbox(tmp_path: Path) -> None:
    port = free_port()
    with started("demo", "--port", str(port), "--database", str(tmp_path / "demo.db"), env=_env("sqlite:///x.db"),
                 cwd=tmp_path) as demo:  # fmt: skip
        key = re.search(r"\b(sk_\S+)", demo.output)
        assert key is not None and "a fake Twilio on http://127.0.0.1:" in demo.output, demo.output
        env = _env_file(tmp_path / "demo.env")
        assert env["SETTLE_SMS_PROVIDER"] == "twilio" and env["SETTLE_SMS_API_BASE"].startswith("http://127.0.0.1:")
        today = dt.date.today()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {key.group(1)}"}) as api:  # fmt: skip
            customer = api.post("/customers", json={"name": "Sms Test BV", "email": "sms@example.com",
                                                    "phone": "06 1234 5678"})  # fmt: skip
            assert customer.status_code == 201 and customer.json()["phone"] == "+31612345678", customer.text
            policy = api.post("/policies", json={"name": "Met sms", "customer_ids": [customer.json()["id"]],
                                                 "steps": [{"kind": "reminder", "days_after_due": 7,
                                                            "channel": "email+sms"}]})  # fmt: skip
            assert policy.status_code == 201, policy.text
            invoice = api.post("/invoices", json={"customer_id": customer.json()["id"], "number": "SMS-1",
                                                  "issue_date": (today - dt.timedelta(days=40)).isoformat(),
                                                  "due_date": (today - dt.timedelta(days=8)).isoformat(),
                                                  "amount": "42.00"})  # fmt: skip
            assert invoice.status_code == 201, invoice.text
        daytime = sms.next_window(dt.datetime.now(dt.UTC), "NL") is None
        done = run("run", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "1 texts queued" in done.stdout
        assert (", 1 texts sent, 0 waiting" if daytime else ", 0 texts sent, 1 waiting for daytime") in done.stdout
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            page = http.get("/demo/mailbox")
            assert page.status_code == 200
            assert "+31612345678" in page.text and "SMS" in page.text
            assert re.search(r"Groothandel Demo B\.V\.: € 42,00 \(factuur SMS-1\) staat nog open\. Betaal of reageer: "
                             rf"http://127\.0\.0\.1:{port}/p/s\.", page.text), page.text  # fmt: skip
        assert stop(demo) in (0, -signal.SIGTERM)
