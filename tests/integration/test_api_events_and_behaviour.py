"""The audit trail pages like every other list, and the payment-behaviour report counts the
reminders a customer needed before paying."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from adapters.settings import Settings
from settle import scheduler
from tests.conftest import Api


def _a_trail(api: Api) -> None:
    """A customer, three invoices and a cancellation: six events or more."""
    c = api.customer()
    for n in range(3):
        inv = api.invoice(c["id"], f"F-{n}")
    api.post(f"/invoices/{inv['id']}/cancel")


def _walk(api: Api, name: str) -> list[list[dict[str, Any]]]:
    pages, position = [], None
    while True:
        r = api.get("/events", params={"limit": 2, **({name: position} if position else {})})
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"items", "next_cursor"}
        pages.append(r.json()["items"])
        position = r.json()["next_cursor"]
        if position is None:
            return pages
        assert position == pages[-1][-1]["id"]
        assert len(pages) < 50, "the cursor never ends"


def test_events_page_with_cursor_as_with_after(api: Api) -> None:
    _a_trail(api)
    everything = api.get("/events", params={"limit": 500}).json()
    assert everything["next_cursor"] is None and len(everything["items"]) >= 6
    by_cursor = _walk(api, "cursor")
    assert by_cursor == _walk(api, "after")
    ids = [e["id"] for page in by_cursor for e in page]
    assert ids == [e["id"] for e in everything["items"]], "every event once, oldest first"
    assert all(len(page) == 2 for page in by_cursor[:-1]) and 1 <= len(by_cursor[-1]) <= 2


def test_a_second_page_by_cursor_is_not_the_first_page_again(api: Api) -> None:
    _a_trail(api)
    first = api.get("/events", params={"limit": 2}).json()
    second = api.get("/events", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}
    order = [e["id"] for e in api.get("/events", params={"limit": 500}).json()["items"]]  # ids are opaque
    assert order.index(second["items"][0]["id"]) == order.index(first["items"][-1]["id"]) + 1


def test_a_cursor_that_is_not_one_is_named(api: Api) -> None:
    _a_trail(api)
    r = api.get("/events", params={"cursor": "cus_123"})
    assert r.status_code == 422 and r.json()["field"] == "cursor", r.text
    r = api.get("/events", params={"after": "yesterday"})
    assert r.status_code == 422 and r.json()["field"] == "after", r.text
    first = api.get("/events", params={"limit": 2}).json()
    r = api.get("/events", params={"after": first["items"][0]["id"], "cursor": first["next_cursor"]})
    assert r.status_code == 422 and r.json()["field"] == "cursor", r.text
    same = api.get("/events", params={"after": first["next_cursor"], "cursor": first["next_cursor"]})
    assert same.status_code == 200 and same.json()["items"][0]["id"] != first["items"][0]["id"]


def test_reminders_needed_counts_the_reminders_sent_before_an_invoice_was_paid(
    api: Api, engine: Engine, settings: Settings
) -> None:
    late = api.customer(name="Late payer", email="ap@late.example")
    punctual = api.customer(name="Punctual", email="ap@punctual.example")
    api.invoice(late["id"], "L-1", "100.00", due_date="2026-01-31")
    api.invoice(punctual["id"], "P-1", "100.00", due_date="2026-03-31")
    # The default policy: a reminder 7 days after the due date, a statement reminder after 14.
    scheduler.run(engine, settings, as_of=dt.date(2026, 2, 7))
    scheduler.run(engine, settings, as_of=dt.date(2026, 2, 14))
    api.post("/payments", json={"customer_id": late["id"], "amount": "100.00", "received_on": "2026-02-20"})
    api.post("/payments", json={"customer_id": punctual["id"], "amount": "100.00", "received_on": "2026-03-01"})

    report = api.get(f"/reports/customers/{late['id']}").json()
    assert (report["paid_invoices"], report["reminders_needed"], report["average_days_late"]) == (1, 2, "20.0")
    assert api.get(f"/reports/customers/{punctual['id']}").json()["reminders_needed"] == 0

    # A later invoice paid on time adds no reminders; the window of the last one invoice sees none.
    api.invoice(late["id"], "L-2", "50.00", issue_date="2026-03-01", due_date="2026-03-31")
    api.post("/payments", json={"customer_id": late["id"], "amount": "50.00", "received_on": "2026-03-30"})
    report = api.get(f"/reports/customers/{late['id']}").json()
    assert (report["paid_invoices"], report["reminders_needed"]) == (2, 2)
    assert api.get(f"/reports/customers/{late['id']}", params={"last": 1}).json()["reminders_needed"] == 0


def test_reminders_on_an_invoice_still_open_are_not_counted_as_needed_yet(
    api: Api, engine: Engine, settings: Settings
) -> None:
    c = api.customer()
    api.invoice(c["id"], "O-1", "100.00", due_date="2026-01-31")
    scheduler.run(engine, settings, as_of=dt.date(2026, 2, 7))
    report = api.get(f"/reports/customers/{c['id']}").json()
    assert (report["open_invoices"], report["paid_invoices"], report["reminders_needed"]) == (1, 0, 0)
