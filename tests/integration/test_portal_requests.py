"""POST /portal/requests: dispute, extension or promise, with htmx in place or as a plain form."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.rendering import long_date
from adapters.settings import Settings
from domain.models import DebtorRequest, Organisation
from tests.conftest import Api
from tests.integration import portal_helpers as h

HX = {"HX-Request": "true"}


def _post(client: Any, page: str, *, htmx: bool = True, **fields: Any) -> Any:
    return client.post("/portal/requests", data={"csrf_token": h.csrf(page), **fields},
                       headers=HX if htmx else {}, follow_redirects=False)  # fmt: skip


def test_a_dispute_puts_the_invoice_on_hold_at_once_and_htmx_shows_the_confirmation(
    client: Any, api: Api, db: Session, settings: Settings
) -> None:
    w = h.world(db, org=db.get_one(Organisation, api.tenant.org_id))
    page = h.sign_in(client, db, settings, w.customer)
    assert h.fresh(db, w.invoices[0]).next_action_on is not None
    r = _post(client, page, kind="dispute", invoice_ids=[w.ids[0]], reason="wrong_amount",
              message="The price per unit is not what we agreed.")  # fmt: skip
    assert r.status_code == 200
    fragment = r.text
    assert fragment.lstrip().startswith('<section id="respond"') and "<html" not in fragment
    assert 'role="status"' in fragment and "wij hebben uw verzoek ontvangen" in fragment
    # the request list and the invoice table are swapped out of band, so the statement shows both at once
    assert re.search(r'<section id="requests"[^>]*hx-swap-oob="true"', fragment)
    assert re.search(r'<section id="invoices"[^>]*hx-swap-oob="true"', fragment)
    assert "Betwisting" in fragment and "F-1" in fragment and "Betwist: wij kijken ernaar" in fragment
    disputed = h.fresh(db, w.invoices[0])
    assert (disputed.status, disputed.next_action_on) == ("disputed", None)
    assert h.fresh(db, w.invoices[1]).status == "open"
    listed = api.get("/requests", params={"status": "open"}).json()["items"]
    assert [(x["kind"], x["reason"], x["invoice_numbers"], x["customer_id"]) for x in listed] == [
        ("dispute", "wrong_amount", ["F-1"], w.customer.id)]
    assert listed[0]["message"] == "The price per unit is not what we agreed."
    [created] = h.events(db, "request.created")
    assert created.actor == f"customer:{w.customer.id}"
    statement = client.get("/portal").text
    assert "Betwisting" in statement and "wordt bekeken" in statement
    assert "Betaal alles: € 50,00" in statement  # pay everything leaves the disputed invoice out


def test_without_javascript_the_form_posts_redirects_and_the_statement_confirms(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    r = _post(client, page, htmx=False, kind="promise", date=(h.TODAY + dt.timedelta(days=7)).isoformat())
    assert r.status_code == 303
    h.reread(db)
    [made] = db.scalars(select(DebtorRequest)).all()
    assert r.headers["location"] == f"/portal?sent={made.id}#respond"
    statement = client.get(r.headers["location"]).text
    assert 'id="confirmation"' in statement and "wij hebben uw verzoek ontvangen" in statement
    assert "Betaalbelofte voor" in statement
    # the confirmation is for one's own request only
    assert 'id="confirmation"' not in client.get("/portal?sent=req_someone_else").text


def test_an_extension_pauses_dunning_until_the_date_and_is_capped_by_the_organisation(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 10_000)])
    page = h.sign_in(client, db, settings, w.customer)
    limit = w.invoices[0].due_date + dt.timedelta(days=w.org.max_extension_days)
    too_late = _post(client, page, kind="extension", invoice_ids=w.ids, date=(limit + dt.timedelta(days=1)).isoformat())
    assert too_late.status_code == 422
    assert f"Kies een datum na vandaag en uiterlijk {long_date(limit, 'nl')}" in too_late.text
    assert 'aria-invalid="true"' in too_late.text and 'role="alert"' in too_late.text
    assert h.fresh(db, w.invoices[0]).paused_until is None and db.scalars(select(DebtorRequest)).all() == []
    ok = _post(client, page, kind="extension", invoice_ids=w.ids, date=limit.isoformat())
    assert ok.status_code == 200 and "Uitstel tot" in ok.text
    paused = h.fresh(db, w.invoices[0])
    assert paused.paused_until == limit and paused.next_action_on is not None and paused.next_action_on >= limit
    assert paused.status == "open"


def test_a_promise_pauses_every_open_invoice_when_none_is_chosen(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    day = h.TODAY + dt.timedelta(days=10)
    r = _post(client, page, kind="promise", date=day.isoformat(), message="Salary comes on the 25th")
    assert r.status_code == 200
    h.reread(db)
    [made] = db.scalars(select(DebtorRequest)).all()
    assert made.kind == "promise" and made.requested_date == day and made.invoice_ids == w.ids
    assert [h.fresh(db, inv).paused_until for inv in w.invoices] == [day, day]


def test_a_bad_request_comes_back_with_the_problems_named_and_changes_nothing(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "dispute", "invoice_ids": [w.ids[0]]}, "Kies een reden."),
        ({"kind": "dispute", "reason": "quality"}, "Kies een of meer van uw openstaande facturen."),
        ({"kind": "dispute", "invoice_ids": [w.ids[0]], "reason": "other"}, "Vertel ons wat er niet klopt"),
        ({"kind": "promise", "date": h.TODAY.isoformat()}, "Kies een datum na vandaag"),
        ({"kind": "promise", "date": "next week"}, "Kies een datum na vandaag."),
        ({"kind": "promise"}, "Kies een datum na vandaag."),
        ({"kind": "refund"}, "Kies wat u wilt doen."),
        ({"kind": "dispute", "invoice_ids": [w.ids[0]], "reason": "quality", "message": "x" * 2001},
         "hoogstens 2000 tekens"),
    ]
    for fields, words in cases:
        for htmx in (True, False):
            r = _post(client, page, htmx=htmx, **fields)
            assert r.status_code == 422, fields
            assert words in r.text, (fields, htmx)
            assert ("<html" in r.text) is not htmx  # htmx gets the form back, a browser the whole page
    h.reread(db)
    assert db.scalars(select(DebtorRequest)).all() == []
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["open", "open"]


def test_the_form_keeps_what_was_typed_when_it_comes_back(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    r = _post(client, page, kind="dispute", invoice_ids=[w.ids[1]], message="Never <b>delivered</b>")
    assert r.status_code == 422
    assert "Never &lt;b&gt;delivered&lt;/b&gt;</textarea>" in r.text  # kept, and escaped
    assert re.search(r'value="' + w.ids[1] + r'" id="req-inv-[^"]+" checked', r.text)
    assert re.search(r'value="dispute" id="kind-dispute" checked', r.text)


def test_requests_need_the_csrf_token_as_field_or_htmx_header(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    fields = {"kind": "dispute", "invoice_ids": [w.ids[0]], "reason": "quality"}
    assert client.post("/portal/requests", data=fields, headers=HX).status_code == 403
    assert client.post("/portal/requests", data=fields, headers={**HX, "X-CSRF-Token": "nope"}).status_code == 403
    assert h.fresh(db, w.invoices[0]).status == "open"
    ok = client.post("/portal/requests", data=fields, headers={**HX, "X-CSRF-Token": h.csrf(page)})
    assert ok.status_code == 200 and h.fresh(db, w.invoices[0]).status == "disputed"
