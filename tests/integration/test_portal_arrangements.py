"""The statement's "Pay in instalments": propose within the terms (accepted, the plan and the first
instalment's pay button), outside them (waiting, or not offered), schedules that add up to the cent,
the no-JavaScript path, CSRF, and the pay button charging exactly the instalment."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import arrangements
from domain.arrangement_models import Arrangement
from domain.models import Payment
from domain.policies import policy_for
from tests.integration import portal_helpers as h

TODAY = h.TODAY
HX = {"HX-Request": "true"}


def _form(html: str, **kw: Any) -> dict[str, Any]:
    ids = re.findall(r'name="invoice_ids" value="([^"]+)" id="plan-', html)
    return {"csrf_token": h.csrf(html), "invoice_ids": ids, "instalments": "3", "interval": "monthly",
            "first_due_date": (TODAY + dt.timedelta(days=7)).isoformat(), "action": "preview", **kw}  # fmt: skip


def _amounts(html: str) -> list[int]:
    section = html.split('id="plan-schedule"', 1)[1].split("</table>", 1)[0]
    return [int(c) for c in re.findall(r'data-cents="(\d+)"', section)]


def test_a_hundred_euros_in_three_previews_to_the_cent_and_is_accepted_with_the_first_pay_button(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 6_000), ("F-2", 3, 4_000)])
    html = h.sign_in(client, db, settings, w.customer)
    assert 'id="arrangement"' in html and "Betalen in termijnen" in html
    preview = client.post("/portal/arrangements", data=_form(html), headers=HX)
    assert preview.status_code == 200, preview.text
    assert _amounts(preview.text) == [3333, 3333, 3334] and sum(_amounts(preview.text)) == 10_000
    assert 'id="plan-confirm"' in preview.text and 'data-total="10000"' in preview.text
    assert db.scalar(select(Arrangement.id)) is None  # a preview writes nothing
    done = client.post("/portal/arrangements", data=_form(html, action="confirm"), headers=HX)
    assert done.status_code == 200, done.text
    assert 'id="plan-accepted"' in done.text and 'data-pay-instalment="1"' in done.text
    assert 'data-amount="3333"' in done.text and 'hx-swap-oob="true"' in done.text  # the summary comes along
    h.reread(db)
    plan = db.scalars(select(Arrangement)).one()
    assert (plan.status, plan.origin, plan.total_cents) == ("accepted", "portal", 10_000)
    assert all(h.fresh(db, inv).pause_reason == "payment arrangement" for inv in w.invoices)
    # the confirmation e-mail with its schedule
    [mail] = [m for m in h.mails(settings) if "akkoord" in str(m["Subject"])]
    text = h.body(mail)
    assert "€ 33,33" in text and "€ 33,34" in text and "#arrangement" in text
    # the page now shows the plan; its pay button charges exactly the first instalment
    page = client.get("/portal").text
    assert 'id="plan-accepted"' in page and 'id="plan-form"' not in page and "In betalingsregeling" in page
    instalment = re.search(r'name="instalment_id" value="([^"]+)"', page)
    assert instalment
    go = client.post("/portal/pay", data={"csrf_token": h.csrf(page), "provider": "sandbox",
                                          "instalment_id": instalment.group(1)}, follow_redirects=False)  # fmt: skip
    back = h.sandbox(client, h.checkout_path(go), "paid")
    assert back.status_code == 303
    h.reread(db)
    paid = db.scalars(select(Payment).where(Payment.status == "paid")).one()
    assert paid.amount_cents == 3333 and paid.unallocated_cents == 0
    # recorded with the payment, not on the next run
    [event] = h.events(db, "arrangement.instalment_paid")
    assert event.data["instalment"] == 1
    after = client.get("/portal").text
    assert 'data-pay-instalment="2"' in after and 'data-amount="3333"' in after
    assert "Betaald: € 33,33 van € 100,00." in after


def test_five_cents_in_two_is_refused_by_the_minimum_and_nothing_is_written(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 5)])
    arrangements.set_terms(db, w.org.id, None, arrangements.Terms(min_balance_cents=0))
    db.commit()
    html = h.sign_in(client, db, settings, w.customer)
    r = client.post("/portal/arrangements", data=_form(html, instalments="2", action="confirm"), headers=HX)
    assert r.status_code == 422
    assert 'id="plan-errors"' in r.text and "de termijnen zijn te klein" in r.text
    assert db.scalar(select(Arrangement.id)) is None


def test_outside_the_terms_a_proposal_waits_for_a_decision_and_says_so(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 200_000)], locale="en")
    arrangements.set_terms(db, w.org.id, None, arrangements.Terms(outside="review", max_instalments=6))
    db.commit()
    html = h.sign_in(client, db, settings, w.customer)
    assert 'max="60"' in html  # the form allows what may wait for a decision
    preview = client.post("/portal/arrangements", data=_form(html, instalments="12"), headers=HX)
    assert preview.status_code == 200 and 'id="plan-review"' in preview.text and "too many instalments" in preview.text
    done = client.post("/portal/arrangements", data=_form(html, instalments="12", action="confirm"), headers=HX)
    assert done.status_code == 200 and 'id="plan-waiting"' in done.text
    h.reread(db)
    plan = db.scalars(select(Arrangement)).one()
    # while it waits (the terms' decision_days, 14) the debtor gets no reminder about these invoices, and is told so
    assert plan.status == "proposed" and plan.held_until == dt.date.today() + dt.timedelta(days=14)
    held = h.fresh(db, w.invoices[0])
    assert (held.pause_reason, held.paused_until) == ("payment arrangement proposed", plan.held_until)
    assert 'id="plan-held"' in done.text and "you get no reminders about these invoices" in done.text
    assert "the reminders go on" not in done.text
    assert not [m for m in h.mails(settings) if "agreed" in str(m["Subject"])]  # told when it is decided


def test_not_offered_below_the_minimum_balance_or_when_plans_are_off(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 4_000)])
    html = h.sign_in(client, db, settings, w.customer)
    assert 'id="plan-form"' not in html  # EUR 40 is below the default EUR 50
    arrangements.set_terms(db, w.org.id, None, arrangements.Terms(allowed=False, outside="review"))
    db.commit()
    assert 'id="plan-form"' not in client.get("/portal").text
    # and a hand-made post is refused all the same
    r = client.post("/portal/arrangements", data=_form(html, instalments="2", action="confirm"))
    assert r.status_code == 422 and db.scalar(select(Arrangement.id)) is None


def test_without_javascript_preview_is_the_page_and_confirm_redirects_to_the_plan(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 12_345)], locale="en")
    html = h.sign_in(client, db, settings, w.customer)
    preview = client.post("/portal/arrangements", data=_form(html, instalments="4", interval="weekly"))
    assert preview.status_code == 200 and "<html" in preview.text and 'id="summary"' in preview.text
    assert _amounts(preview.text) == [3086, 3086, 3086, 3087]
    done = client.post("/portal/arrangements", data=_form(html, instalments="4", interval="weekly", action="confirm"),
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/portal#arrangement"
    page = client.get("/portal").text
    assert 'id="plan-accepted"' in page and "Pay instalment 1: €30.86" in page


def test_a_post_without_the_csrf_token_is_refused(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db, lines=[("F-1", 10, 10_000)])
    html = h.sign_in(client, db, settings, w.customer)
    form = _form(html, action="confirm")
    form["csrf_token"] = "forged"
    assert client.post("/portal/arrangements", data=form).status_code == 403
    assert db.scalar(select(Arrangement.id)) is None


def test_a_policys_own_terms_win_over_the_organisations(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db, lines=[("F-1", 10, 100_000)])
    arrangements.set_terms(db, w.org.id, None, arrangements.Terms(max_instalments=12))
    db.commit()
    html = h.sign_in(client, db, settings, w.customer)
    assert 'max="12"' in html
    policy = policy_for(db, w.customer)
    assert policy is not None
    arrangements.set_terms(db, w.org.id, policy.id, arrangements.Terms(max_instalments=4))
    db.commit()
    assert 'max="4"' in client.get("/portal").text
    arrangements.set_terms(db, w.org.id, policy.id, arrangements.Terms(allowed=False))
    db.commit()
    assert 'id="plan-form"' not in client.get("/portal").text
