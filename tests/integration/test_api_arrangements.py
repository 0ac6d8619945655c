"""POST/GET /api/v1/arrangements and accept/reject/cancel; the terms; isolation between organisations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from domain import apikeys, arrangements
from domain.errors import Conflict
from domain.models import Organisation
from tests.conftest import Api
from tests.integration import portal_helpers as h

TODAY = dt.date.today()


def _world(db: Session, api: Api, **kw: Any) -> h.World:
    return h.world(db, org=db.get_one(Organisation, api.tenant.org_id), **kw)


def _body(w: h.World, **kw: Any) -> dict[str, Any]:
    return {"customer_id": w.customer.id, "instalments": 3, "interval": "monthly",
            "first_due_date": (TODAY + dt.timedelta(days=7)).isoformat(), **kw}  # fmt: skip


def test_the_back_office_makes_a_plan_that_holds_the_invoices_and_adds_up(api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 6_000), ("F-2", 3, 4_000)])
    r = api.post("/arrangements", json=_body(w, note="agreed by phone"))
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["status"] == "accepted" and plan["origin"] == "api" and plan["amount"] == "100.00"
    assert [i["amount"] for i in plan["instalments"]] == ["33.33", "33.33", "33.34"]
    first = TODAY + dt.timedelta(days=7)
    assert [i["due_date"] for i in plan["instalments"]] == [
        d.isoformat() for d in arrangements.due_dates(first, 3, "monthly")]  # fmt: skip
    assert plan["invoice_numbers"] == ["F-1", "F-2"]
    assert plan["held_until"] is None  # the back office's plan never waits for a decision
    h.reread(db)
    for inv in w.invoices:
        held = h.fresh(db, inv)
        assert held.pause_reason == "payment arrangement" and held.paused_until is not None
        assert held.next_action_on is not None and held.next_action_on > first + dt.timedelta(days=60)
    assert api.get(f"/arrangements/{plan['id']}").json() == plan
    listed_on_statement = api.get(f"/customers/{w.customer.id}/statement").json()["arrangements"]
    assert [(x["id"], x["status"]) for x in listed_on_statement] == [(plan["id"], "accepted")]
    listed = api.get("/arrangements", params={"customer_id": w.customer.id}).json()
    assert [x["id"] for x in listed["items"]] == [plan["id"]]
    assert [e.kind for e in h.events(db, "arrangement.proposed")] == ["arrangement.proposed"]
    assert len(h.events(db, "arrangement.accepted")) == 1
    # one live plan per customer
    again = api.post("/arrangements", json=_body(w))
    assert again.status_code == 409 and again.json()["field"] == "customer_id"


def test_bad_plans_are_refused_naming_the_field(api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 5)])
    cases = [
        (_body(w, instalments=1), 422, "instalments"),
        (_body(w, instalments=6), 422, "instalments"),  # 5 cents cannot make six instalments of a cent
        (_body(w, interval="daily"), 422, "interval"),
        (_body(w, instalments="three"), 400, "instalments"),
        (_body(w, first_due_date=(TODAY - dt.timedelta(days=1)).isoformat()), 422, "first_due_date"),
        (_body(w, customer_id="cus_nope"), 422, "customer_id"),
        (_body(w, invoice_ids=["inv_nope"]), 422, "invoice_ids"),
    ]
    for body, status, field in cases:
        r = api.post("/arrangements", json=body)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["field"] == field
    # 5 cents in 3: 0.01, 0.01, 0.03 is a plan the back office may make (no terms for it)
    ok = api.post("/arrangements", json=_body(w, instalments=3))
    assert ok.status_code == 201 and [i["amount"] for i in ok.json()["instalments"]] == ["0.01", "0.01", "0.03"]


def test_a_proposal_waiting_for_a_decision_is_accepted_or_rejected_and_the_debtor_told(
    api: Api, db: Session, settings: Any
) -> None:
    w = _world(db, api, lines=[("F-1", 10, 100_000)])
    arrangements.set_terms(db, w.org.id, None, arrangements.Terms(outside="review", max_instalments=3))
    db.commit()
    made = arrangements.propose(db, w.customer, invoice_ids=[], instalments=10, first_due_date=TODAY,
                                interval="monthly", as_of=TODAY, origin="portal")  # fmt: skip
    db.commit()
    assert made.status == "proposed" and made.outside_reasons == ["max_instalments", "max_term"]
    r = api.get(f"/arrangements/{made.id}").json()
    assert (
        r["status"] == "proposed"
        and r["within_terms"] is False
        and r["outside_terms"] == ["max_instalments", "max_term"]
    )
    assert r["held_until"] == (TODAY + dt.timedelta(days=14)).isoformat()  # the terms' decision_days
    h.reread(db)
    waiting = h.fresh(db, w.invoices[0])  # the debtor who asked for a plan is not dunned while it waits
    assert (waiting.pause_reason, waiting.paused_until) == ("payment arrangement proposed",
                                                           TODAY + dt.timedelta(days=14))  # fmt: skip
    assert waiting.next_action_on is not None and waiting.next_action_on >= TODAY + dt.timedelta(days=14)
    ok = api.post(f"/arrangements/{made.id}/accept", json={}, headers={"Idempotency-Key": "acc-1"})
    assert ok.status_code == 200 and ok.json()["status"] == "accepted", ok.text
    replay = api.post(f"/arrangements/{made.id}/accept", json={}, headers={"Idempotency-Key": "acc-1"})
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert api.post(f"/arrangements/{made.id}/accept", json={}).status_code == 409
    assert api.post(f"/arrangements/{made.id}/reject", json={}).status_code == 409
    h.reread(db)
    held = h.fresh(db, w.invoices[0])  # accepted: the proposal's hold goes on as the plan's, far longer
    assert held.pause_reason == "payment arrangement" and held.paused_until > TODAY + dt.timedelta(days=200)
    [mail] = [m for m in h.mails(settings) if "akkoord" in str(m["Subject"])]
    text = h.body(mail)
    assert "10 maandelijkse termijnen" in text and "€ 100,00" in text and mail["To"] == "ap@jansen.example"
    # cancelled: the invoices are dunned again from tomorrow, where they stood
    gone = api.post(f"/arrangements/{made.id}/cancel", json={"note": "debtor asked"})
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled" and gone.json()["ended_on"]
    h.reread(db)
    inv = h.fresh(db, w.invoices[0])
    assert inv.paused_until == TODAY + dt.timedelta(days=1) and inv.next_action_on == TODAY + dt.timedelta(days=1)


def test_a_rejected_proposal_is_told_with_the_note(api: Api, db: Session, settings: Any) -> None:
    w = _world(db, api, lines=[("F-1", 10, 100_000)], locale="en")
    arrangements.set_terms(db, w.org.id, None, arrangements.Terms(outside="review", max_instalments=3))
    db.commit()
    made = arrangements.propose(db, w.customer, invoice_ids=[], instalments=6, first_due_date=TODAY,
                                interval="monthly", as_of=TODAY, origin="portal")  # fmt: skip
    db.commit()
    r = api.post(f"/arrangements/{made.id}/reject", json={"note": "Three instalments at most, please."})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    h.reread(db)
    released = h.fresh(db, w.invoices[0])  # dunned again from tomorrow, where its track stood
    assert released.paused_until == TODAY + dt.timedelta(days=1) and released.next_action_on == released.paused_until
    [mail] = [m for m in h.mails(settings) if "proposed payment plan" in str(m["Subject"])]
    assert "Three instalments at most, please." in h.body(mail)
    assert len(h.events(db, "arrangement.rejected")) == 1


def test_another_organisations_plans_are_404_and_never_listed(api: Api, other_api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 10_000)])
    made = api.post("/arrangements", json=_body(w)).json()
    for path in (f"/arrangements/{made['id']}",):
        assert other_api.get(path).status_code == 404
    for verb in ("accept", "reject", "cancel"):
        r = other_api.post(f"/arrangements/{made['id']}/{verb}", json={})
        assert r.status_code == 404, r.text
    assert other_api.get("/arrangements").json()["items"] == []
    theirs = other_api.post("/arrangements", json=_body(w))
    assert theirs.status_code == 422 and theirs.json()["field"] == "customer_id"
    assert api.get(f"/arrangements/{made['id']}").json()["status"] == "accepted"


def test_terms_per_organisation_and_per_policy(api: Api, db: Session) -> None:
    assert api.get("/arrangement-terms").json()["own"] is False
    r = api.put("/arrangement-terms", json={"max_instalments": 12, "min_balance": "100.00", "outside": "review"})
    assert r.status_code == 200, r.text
    assert r.json()["max_instalments"] == 12 and r.json()["min_balance"] == "100.00" and r.json()["own"] is True
    policy = api.get("/policies").json()["items"][0]
    inherited = api.get(f"/arrangement-terms/{policy['id']}").json()
    assert inherited["own"] is False and inherited["max_instalments"] == 12
    own = api.put(f"/arrangement-terms/{policy['id']}", json={"allowed": False})
    assert own.status_code == 200 and own.json()["allowed"] is False
    assert api.get(f"/arrangement-terms/{policy['id']}").json()["own"] is True
    assert api.client.delete(f"/api/v1/arrangement-terms/{policy['id']}", headers=api.tenant.headers).status_code == 204
    assert api.get(f"/arrangement-terms/{policy['id']}").json()["allowed"] is True
    assert api.get("/arrangement-terms").json()["decision_days"] == 14
    quick = api.put("/arrangement-terms", json={"outside": "review", "decision_days": 5})
    assert quick.status_code == 200 and quick.json()["decision_days"] == 5
    for wrong in (-1, 61):
        refused = api.put("/arrangement-terms", json={"decision_days": wrong})
        assert refused.status_code in (400, 422) and refused.json()["field"] == "decision_days", refused.text
    bad = api.put("/arrangement-terms", json={"max_instalments": 1})
    assert bad.status_code == 422 and bad.json()["field"] == "max_instalments"
    assert api.get("/arrangement-terms/pol_nope").status_code == 404


def test_a_retried_create_is_the_same_plan_and_a_read_key_cannot_make_one(api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 10_000)])
    key = {"Idempotency-Key": "plan-jansen-1"}
    first = api.post("/arrangements", json=_body(w), headers=key)
    again = api.post("/arrangements", json=_body(w), headers=key)
    assert first.status_code == again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = api.post("/arrangements", json=_body(w, instalments=4), headers=key)
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    assert len(api.get("/arrangements").json()["items"]) == 1
    reader = apikeys.issue(db, w.org.id, ["arrangements:read"], name="reader")
    db.commit()
    headers = {"Authorization": f"Bearer {reader.key}"}
    assert api.client.get("/api/v1/arrangements", headers=headers).status_code == 200
    denied = api.client.post(f"/api/v1/arrangements/{first.json()['id']}/cancel", json={}, headers=headers)
    assert denied.status_code == 403


def test_a_proposal_accepted_after_its_first_date_is_refused(api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 100_000)])
    arrangements.set_terms(db, w.org.id, None, arrangements.Terms(outside="review", max_instalments=3))
    made = arrangements.propose(db, w.customer, invoice_ids=[], instalments=8, first_due_date=TODAY,
                                interval="weekly", as_of=TODAY, origin="portal")  # fmt: skip
    db.commit()
    with pytest.raises(Conflict) as late:
        arrangements.decide(db, w.org.id, made.id, "accept", as_of=TODAY + dt.timedelta(days=1), actor="test")
    assert late.value.field == "first_due_date"
    db.rollback()
    assert arrangements.get(db, w.org.id, made.id).status == "proposed"


def test_the_dunning_preview_lists_the_plans_part_of_the_run(api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 10_000)])
    made = api.post("/arrangements", json=_body(w, first_due_date=(TODAY + dt.timedelta(days=2)).isoformat()))
    assert made.status_code == 201, made.text
    preview = api.get("/dunning/preview").json()
    assert preview["items"] == []  # the plan holds the invoice: no dunning
    assert preview["arrangements"] == [{
        "kind": "instalment_reminder", "arrangement_id": made.json()["id"], "customer_id": w.customer.id,
        "customer_name": "Bakkerij Jansen", "to": "ap@jansen.example", "instalment": 1, "amount": "33.33",
        "currency": "EUR"}]  # fmt: skip
    later = api.get("/dunning/preview", params={"as_of": (TODAY + dt.timedelta(days=5)).isoformat()}).json()
    assert [(a["kind"], a["instalment"]) for a in later["arrangements"]] == [("instalment_missed", 1)]
