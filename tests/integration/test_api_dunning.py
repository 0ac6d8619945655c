"""Policies, tasks, the dunning preview and the audit trail through the API."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from adapters.composer import JinjaComposer
from adapters.db import make_sessionmaker
from adapters.settings import Settings
from domain.dunning import engine as dunning
from tests.conftest import Api


def test_the_default_policy_is_seeded_with_the_dutch_practice_steps(api: Api) -> None:
    policies = api.get("/policies").json()["items"]
    assert len(policies) == 1 and policies[0]["is_default"]
    assert [(s["kind"], s["days_after_due"]) for s in policies[0]["steps"]] == [
        ("reminder", 7), ("statement_reminder", 14), ("call_task", 21),
        ("final_reminder", 28), ("formal_notice", 35), ("collection_handover", 50),
    ]


def test_policy_for_consumers_applies_by_rule_and_a_customer_override_wins(api: Api) -> None:
    r = api.post("/policies", json={
        "name": "Consumers", "applies_to": {"customer_kind": "consumer"}, "priority": 10,
        "steps": [{"kind": "reminder", "days_after_due": 3}, {"kind": "formal_notice", "days_after_previous": 11,
                                                              "fee": "5.00"}],
    })
    assert r.status_code == 201, r.text
    policy = r.json()
    assert [s["days_after_due"] for s in policy["steps"]] == [3, 14]
    consumer = api.customer(kind="consumer", name="Kees")
    inv = api.invoice(consumer["id"], "C-1", due_date="2026-05-01")
    assert inv["dunning"]["next_action_on"] == "2026-05-04"
    business = api.customer(name="BV")
    assert api.invoice(business["id"], "B-1", due_date="2026-05-01")["dunning"]["next_action_on"] == "2026-05-08"
    put = api.put(f"/policies/{policy['id']}", json={**{k: policy[k] for k in ("name", "priority", "applies_to")},
                                                     "steps": [{"kind": "reminder", "days_after_due": 1}],
                                                     "customer_ids": [business["id"]]})
    assert put.status_code == 200, put.text
    assert put.json()["customer_ids"] == [business["id"]]


def test_bad_policy_names_the_step_field(api: Api) -> None:
    r = api.post("/policies", json={"name": "x", "steps": [{"kind": "reminder", "days_after_due": 10},
                                                           {"kind": "shout", "days_after_due": 20}]})
    assert r.status_code == 422 and r.json()["field"] == "steps[1].kind"
    r = api.post("/policies", json={"name": "x", "steps": [{"kind": "reminder", "days_after_due": 10},
                                                           {"kind": "final_reminder", "days_after_due": 5}]})
    assert r.status_code == 422 and r.json()["field"] == "steps[1].days_after_due"


def test_preview_shows_exactly_what_a_run_would_do_and_changes_nothing(
    api: Api, engine: object, settings: Settings, db: Session
) -> None:
    c = api.customer()
    api.invoice(c["id"], "F-1", due_date="2026-03-01")
    api.invoice(c["id"], "F-2", due_date="2026-03-20")
    preview = api.get("/dunning/preview", params={"as_of": "2026-03-30"}).json()
    assert [(i["kind"], sorted(i["invoices"])) for i in preview["items"]] == [("final_reminder", ["F-1", "F-2"])]
    assert api.get("/dunning/preview", params={"as_of": "2026-03-30"}).json() == preview
    factory = make_sessionmaker(engine, writer=True)  # type: ignore[arg-type]
    summary = dunning.plan(factory, as_of=dt.date(2026, 3, 30), composer=JinjaComposer(settings))
    assert [(p.kind, sorted(p.invoices)) for p in summary.plan] == [("final_reminder", ["F-1", "F-2"])]


def test_call_task_is_listed_and_a_promise_pauses_its_invoices(api: Api, engine: object, settings: Settings) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-1", due_date="2026-03-01")
    factory = make_sessionmaker(engine, writer=True)  # type: ignore[arg-type]
    dunning.plan(factory, as_of=dt.date(2026, 3, 22), composer=JinjaComposer(settings))
    tasks = api.get("/tasks", params={"status": "open"}).json()["items"]
    assert len(tasks) == 1 and tasks[0]["kind"] == "call" and tasks[0]["invoice_ids"] == [inv["id"]]
    promised = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    done = api.post(f"/tasks/{tasks[0]['id']}/complete", json={"outcome": "promised", "promised_on": promised})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert api.get(f"/invoices/{inv['id']}").json()["dunning"]["paused_until"] == promised
    again = api.post(f"/tasks/{tasks[0]['id']}/complete", json={"outcome": "reached"})
    assert again.status_code == 409


def test_events_are_an_ordered_feed_with_an_after_cursor(api: Api) -> None:
    c = api.customer()
    api.invoice(c["id"], "F-1")
    first = api.get("/events", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"] == first["items"][-1]["id"]
    rest = api.get("/events", params={"after": first["next_cursor"]}).json()
    kinds = [e["kind"] for e in first["items"] + rest["items"]]
    assert kinds.index("customer.created") < kinds.index("invoice.created")
    ids = [e["id"] for e in first["items"] + rest["items"]]  # opaque: the order is the feed's, not the ids'
    assert len(set(ids)) == len(ids) and not any(i.isdigit() for i in ids)


def test_risky_customers_get_the_strict_policy(api: Api) -> None:
    strict = api.post("/policies", json={
        "name": "Strict", "priority": 5, "applies_to": {"segment": "risky", "risky_after_days": 20},
        "steps": [{"kind": "reminder", "days_after_due": 1}, {"kind": "formal_notice", "days_after_due": 10}],
    })
    assert strict.status_code == 201, strict.text
    risky = api.customer(name="Late payer")
    api.invoice(risky["id"], "R-1", "10.00", due_date="2026-02-01")
    api.post("/payments", json={"customer_id": risky["id"], "amount": "10.00", "received_on": "2026-03-15"})
    nxt = api.invoice(risky["id"], "R-2", "10.00", issue_date="2026-04-01", due_date="2026-05-01")
    assert nxt["dunning"]["next_action_on"] == "2026-05-02"
    punctual = api.customer(name="Punctual")
    api.invoice(punctual["id"], "P-1", "10.00", due_date="2026-02-01")
    api.post("/payments", json={"customer_id": punctual["id"], "amount": "10.00", "received_on": "2026-01-20"})
    other = api.invoice(punctual["id"], "P-2", "10.00", issue_date="2026-04-01", due_date="2026-05-01")
    assert other["dunning"]["next_action_on"] == "2026-05-08"


def test_the_invoice_list_and_one_invoice_name_the_step_each_invoice_stands_on(
    api: Api, engine: object, settings: Settings
) -> None:
    c = api.customer()
    reminded = api.invoice(c["id"], "S-1", due_date="2026-03-01")["id"]  # 29 days late: two steps due
    fresh = api.invoice(c["id"], "S-2", due_date="2026-03-28")["id"]  # 2 days late: nothing yet
    factory = make_sessionmaker(engine, writer=True)  # type: ignore[arg-type]
    dunning.plan(factory, as_of=dt.date(2026, 3, 30), composer=JinjaComposer(settings))
    one = api.get(f"/invoices/{reminded}").json()
    listed = {i["id"]: i for i in api.get("/invoices").json()["items"]}
    assert one["dunning"]["stage"] not in (None, "")
    assert listed[reminded]["dunning"] == one["dunning"]  # the list's join says what the single read says
    assert listed[fresh]["dunning"]["stage"] is None and listed[fresh]["dunning"]["step"] == 0
