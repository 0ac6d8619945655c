"""GET /api/v1/requests and POST /api/v1/requests/{id}/resolve: the back office decides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from domain import apikeys, debtor_requests
from domain.models import DebtorRequest, Organisation
from tests.conftest import Api
from tests.integration import portal_helpers as h


def _world(db: Session, api: Api, **kw: Any) -> h.World:
    return h.world(db, org=db.get_one(Organisation, api.tenant.org_id), **kw)


def _ask(db: Session, w: h.World, kind: str, ids: list[str] | None = None, days: int | None = None,
         **kw: Any) -> DebtorRequest:  # fmt: skip
    made = debtor_requests.create(
        db, w.customer, kind=kind, invoice_ids=ids if ids is not None else w.ids[:1], message=kw.get("message"),
        reason=kw.get("reason", "quality" if kind == "dispute" else None),
        date=h.TODAY + dt.timedelta(days=days) if days is not None else None, as_of=h.TODAY,
    )  # fmt: skip
    db.commit()
    return made


def test_requests_are_listed_filtered_and_read_one_by_one(api: Api, db: Session) -> None:
    w = _world(db, api)
    dispute = _ask(db, w, "dispute", message="wrong price")
    promise = _ask(db, w, "promise", w.ids[1:], days=5)
    everything = api.get("/requests").json()
    assert [x["id"] for x in everything["items"]] == [dispute.id, promise.id] and everything["next_cursor"] is None
    one = api.get(f"/requests/{promise.id}").json()
    assert one["kind"] == "promise" and one["status"] == "open" and one["invoice_numbers"] == ["F-2"]
    assert one["requested_date"] == (h.TODAY + dt.timedelta(days=5)).isoformat() and one["resolved_at"] is None
    assert api.post(f"/requests/{dispute.id}/resolve", json={"decision": "accepted"}).status_code == 200
    assert [x["id"] for x in api.get("/requests", params={"status": "open"}).json()["items"]] == [promise.id]
    assert [x["id"] for x in api.get("/requests", params={"status": "accepted"}).json()["items"]] == [dispute.id]
    assert [x["id"] for x in api.get("/requests", params={"kind": "promise"}).json()["items"]] == [promise.id]
    first = api.get("/requests", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    bad = api.get("/requests", params={"status": "maybe"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"


def test_rejecting_a_dispute_reopens_the_invoice_and_resumes_its_track(api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 10_000)])
    made = _ask(db, w, "dispute")
    assert h.fresh(db, w.invoices[0]).next_action_on is None
    r = api.post(f"/requests/{made.id}/resolve", json={"decision": "rejected", "note": "price as agreed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected" and r.json()["decision_note"] == "price as agreed"
    reopened = h.fresh(db, w.invoices[0])
    # the reminder that fell due during the dispute comes now, not in a burst later
    assert (reopened.status, reopened.next_action_on) == ("open", h.TODAY)
    [resolved] = h.events(db, "request.resolved")
    assert resolved.data["decision"] == "rejected" and resolved.actor and resolved.actor.startswith("api_key:")


def test_accepting_a_dispute_keeps_the_invoice_on_hold(api: Api, db: Session) -> None:
    w = _world(db, api)
    made = _ask(db, w, "dispute")
    assert api.post(f"/requests/{made.id}/resolve", json={"decision": "accepted"}).json()["status"] == "accepted"
    held = h.fresh(db, w.invoices[0])
    assert (held.status, held.next_action_on) == ("disputed", None)


def test_accepting_an_extension_moves_the_due_date_and_the_track(api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 10_000)])
    made = _ask(db, w, "extension", days=15)
    new_due = h.TODAY + dt.timedelta(days=12)
    r = api.post(f"/requests/{made.id}/resolve", json={"decision": "accepted", "new_due_date": new_due.isoformat()})
    assert r.status_code == 200 and r.json()["new_due_date"] == new_due.isoformat()
    moved = h.fresh(db, w.invoices[0])
    assert (moved.due_date, moved.paused_until) == (new_due, None)
    assert moved.next_action_on == new_due + dt.timedelta(days=7)  # the first reminder, counted from the new date
    invoice = api.get(f"/invoices/{w.ids[0]}").json()
    assert invoice["due_date"] == new_due.isoformat()


def test_an_accepted_extension_without_a_date_takes_the_date_asked_for(api: Api, db: Session) -> None:
    w = _world(db, api)
    made = _ask(db, w, "extension", days=15)
    r = api.post(f"/requests/{made.id}/resolve", json={"decision": "accepted"})
    assert r.json()["new_due_date"] == (h.TODAY + dt.timedelta(days=15)).isoformat()
    assert h.fresh(db, w.invoices[0]).due_date == h.TODAY + dt.timedelta(days=15)


def test_rejecting_an_extension_or_promise_lifts_the_pause(api: Api, db: Session) -> None:
    w = _world(db, api, lines=[("F-1", 10, 10_000), ("F-2", 10, 10_000)])
    extension = _ask(db, w, "extension", w.ids[:1], days=15)
    promise = _ask(db, w, "promise", w.ids[1:], days=9)
    assert [h.fresh(db, inv).paused_until is not None for inv in w.invoices] == [True, True]
    for made in (extension, promise):
        assert api.post(f"/requests/{made.id}/resolve", json={"decision": "rejected"}).status_code == 200
    for inv in w.invoices:
        lifted = h.fresh(db, inv)
        assert (lifted.paused_until, lifted.next_action_on, lifted.status) == (None, h.TODAY, "open")


def test_an_accepted_promise_keeps_its_pause(api: Api, db: Session) -> None:
    w = _world(db, api)
    made = _ask(db, w, "promise", days=9)
    assert api.post(f"/requests/{made.id}/resolve", json={"decision": "accepted"}).status_code == 200
    assert h.fresh(db, w.invoices[0]).paused_until == h.TODAY + dt.timedelta(days=9)


def test_a_request_is_decided_once_and_bad_decisions_are_named(api: Api, db: Session) -> None:
    w = _world(db, api)
    dispute = _ask(db, w, "dispute")
    extension = _ask(db, w, "extension", w.ids[1:], days=5)
    checks = [
        (dispute.id, {"decision": "maybe"}, 422, "decision"),
        (dispute.id, {"decision": "accepted", "new_due_date": "2099-01-01"}, 422, "new_due_date"),
        (extension.id, {"decision": "accepted", "new_due_date": h.TODAY.isoformat()}, 422, "new_due_date"),
        (extension.id, {"decision": "accepted", "new_due_date": "not a date"}, 400, "new_due_date"),
    ]
    for request_id, body, status, field in checks:
        r = api.post(f"/requests/{request_id}/resolve", json=body)
        assert (r.status_code, r.json()["field"]) == (status, field), (body, r.text)
    assert api.post(f"/requests/{dispute.id}/resolve", json={"decision": "rejected"}).status_code == 200
    again = api.post(f"/requests/{dispute.id}/resolve", json={"decision": "accepted"})
    assert again.status_code == 409 and "already rejected" in again.json()["message"]


def test_resolve_honours_idempotency_keys(api: Api, db: Session) -> None:
    w = _world(db, api)
    made = _ask(db, w, "dispute")
    key = {"Idempotency-Key": "resolve-1"}
    first = api.post(f"/requests/{made.id}/resolve", json={"decision": "rejected"}, headers=key)
    replay = api.post(f"/requests/{made.id}/resolve", json={"decision": "rejected"}, headers=key)
    assert first.status_code == replay.status_code == 200 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert api.post(f"/requests/{made.id}/resolve", json={"decision": "accepted"}, headers=key).status_code == 409
    assert len(h.events(db, "request.resolved")) == 1


def test_another_organisations_requests_are_404_and_never_listed(api: Api, other_api: Api, db: Session) -> None:
    theirs = _world(db, other_api)
    made = _ask(db, theirs, "dispute")
    assert api.get(f"/requests/{made.id}").status_code == 404
    r = api.post(f"/requests/{made.id}/resolve", json={"decision": "accepted"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert api.get("/requests").json()["items"] == []
    assert other_api.get(f"/requests/{made.id}").json()["status"] == "open"


def test_scopes_requests_read_and_write(client: Any, api: Api, db: Session) -> None:
    w = _world(db, api)
    made = _ask(db, w, "dispute")
    reader = apikeys.issue(db, api.tenant.org_id, ["requests:read"], name="reader")
    db.commit()
    headers = {"Authorization": f"Bearer {reader.key}"}
    assert client.get("/api/v1/requests", headers=headers).status_code == 200
    r = client.post(f"/api/v1/requests/{made.id}/resolve", json={"decision": "accepted"}, headers=headers)
    assert r.status_code == 403
    assert client.get("/api/v1/requests").status_code == 401
