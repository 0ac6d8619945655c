"""A French-speaking Belgian debtor, from the reminder to the thank-you, in French all through:
the reminder over real SMTP (aiosmtpd), the portal opened from its link, a Bancontact payment
through Mollie's official SDK against the fake, the thank-you over SMTP; every dunning e-mail and
letter, every notice and every portal page a French debtor can get, with no Dutch or English
word left in them; and ``fr`` accepted wherever a language is chosen. SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.portal_mail import Notice, PortalMailer
from adapters.rendering import long_date, money, short_date
from adapters.settings import Settings
from domain.arrangement_models import Arrangement, ArrangementInstalment
from domain.models import Customer, DebtorRequest, Document, Payment
from settle.app import create_app
from tests.conftest import Api
from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.stripe_fake import FakeStripe
from tests.integration import dunning_helpers as h
from tests.integration import portal_helpers as ph
from tests.integration import provider_helpers as prov
from tests.integration.french_helpers import (
    CREDITOR,
    DAY,
    NBSP,
    NNBSP,
    OWN_NAMES,
    belgian_creditor,
    french_debtor,
    invoice,
)
from tests.language import foreign_words, visible_text


def assert_french(text: str, where: str) -> None:
    assert foreign_words(text, allowed=OWN_NAMES) == [], f"{where} is not French all through:\n{text}"


def assert_french_mail(msg: EmailMessage) -> None:
    subject = str(msg["Subject"])
    assert_french(subject, f"subject {subject!r}")
    assert_french(h.text_of(msg), f"text of {subject!r}")
    html = h.html_of(msg)
    assert '<html lang="fr">' in html, subject
    assert_french(visible_text(html), f"HTML of {subject!r}")


def assert_french_page(html: str, where: str) -> None:
    assert '<html lang="fr">' in html, where
    assert_french(visible_text(html), where)


@pytest.fixture
def smtp() -> Iterator[h.SmtpServer]:
    with h.SmtpServer() as server:
        yield server


# --- the journey ---------------------------------------------------------------------------------


def test_a_french_debtors_journey_reminder_portal_bancontact_and_thank_you_all_in_french(
    db: Session, engine: Engine, settings: Settings, mollie_fake: FakeMollie, smtp: h.SmtpServer
) -> None:
    journey = dataclasses.replace(settings, sandbox_payments=False, mollie_api_base=mollie_fake.base_url,
                                  mail_url=smtp.url)  # fmt: skip
    today = dt.date.today()  # the portal reads the real day; the reminder goes out today
    org = belgian_creditor(db)
    prov.enable_mollie(db, org, mollie_fake)
    debtor = french_debtor(db, org)
    due = today - 7 * DAY
    owed = invoice(db, org, debtor, "F-2026-0117", due, 123_456)
    amount = f"1{NNBSP}234,56{NBSP}€"

    # 1. The reminder arrives over SMTP, in French, with the amount as Babel writes it for fr_BE.
    summary = h.run(engine, journey, db, today)
    assert summary.delivered == 1 and summary.failed == 0
    [(to, reminder)] = smtp.handler.received
    assert to == ["sophie.dubois@example.be"]
    assert reminder["Subject"] == f"Rappel : 1 facture impayée de {CREDITOR}"
    text = h.text_of(reminder)
    assert text.startswith("Madame, Monsieur,")
    assert f"Facture F-2026-0117, échéance {due:%d/%m/%Y} (7 jours de retard){NBSP}: {amount}" in text
    assert f"communication structurée {owed.payment_reference}" in text  # the invoice's OGM, in French
    assert amount in h.html_of(reminder) and "Veuillez agréer, Madame, Monsieur" in text
    assert_french_mail(reminder)

    with TestClient(app=create_app(journey, engine=engine), base_url="http://settle.test") as client:
        # 2. Its link opens the portal in French (the customer's language, whatever the browser says).
        opened = client.get(f"/p/{h.portal_token(text)}", headers={"Accept-Language": "nl-BE,nl"},
                            follow_redirects=False)  # fmt: skip
        assert opened.status_code == 303
        page = client.get("/portal", headers={"Accept-Language": "nl-BE,nl"}).text
        assert_french_page(page, "the statement")
        assert "Votre relevé de compte" in page and "Total dû" in page and amount in page
        assert "Bancontact" in page and 'hreflang="nl"' in page and 'hreflang="en"' in page

        # 3. Paying: Mollie is asked for Bancontact first and its checkout page in Belgian French.
        pressed = ph.pay(client, page, [owed.id], provider="mollie")
        assert pressed.status_code == 303, pressed.text
        [(pid, created)] = mollie_fake.payments.items()
        assert created["method"][0] == "bancontact" and created["locale"] == "fr_BE"
        assert created["amount"] == {"currency": "EUR", "value": "1234.56"}
        mollie_fake.set_status(pid, "paid")
        assert prov.mollie_webhook(client, org, pid).json()["changed"] is True

        # 4. The thank-you arrives over SMTP in French, and the return page says so in French.
        [(_, thanks)] = smtp.handler.received[1:]
        assert thanks["Subject"] == f"Merci pour votre paiement à {CREDITOR}"
        words = h.text_of(thanks)
        assert f"Nous avons bien reçu votre paiement de {amount} le {long_date(today, 'fr')}." in words
        assert f"- Facture F-2026-0117{NBSP}: payé {amount}, restant dû 0,00{NBSP}€" in words
        assert_french_mail(thanks)
        [payment] = ph.payments(db, debtor)
        back = client.get(f"/portal/payments/{payment.id}").text
        assert 'data-status="paid"' in back and "Paiement reçu. Merci !" in back
        assert_french_page(back, "the payment page")
    assert ph.fresh(db, owed).status == "paid"


# --- every e-mail and letter ---------------------------------------------------------------------


def test_every_dunning_step_and_letter_to_a_french_debtor_is_french(
    db: Session, engine: Engine, settings: Settings
) -> None:
    """Daily runs for three months walk a Belgian consumer (Book XIX) and business (the 2002 law)
    through every step of the default policy; every e-mail and every letter is French."""
    org = belgian_creditor(db)
    start = dt.date(2026, 3, 2)
    for kind, number in (("consumer", "F-C1"), ("business", "F-B1")):
        invoice(db, org, french_debtor(db, org, kind=kind), number, start, 48_000)
    box = h.mailbox(settings)
    for day in range(0, 95):
        h.run(engine, settings, db, start + day * DAY)

    mails = box.messages()
    subjects = sorted(str(m["Subject"]).split(" ")[0] for m in mails)
    for first in ("Rappel", "Deuxième", "Dernier", "Mise", "Votre"):  # reminder … hand-over
        assert first in subjects, subjects
    for msg in mails:
        assert_french_mail(msg)
    letters = list(db.scalars(select(Document).where(Document.org_id == org.id)))
    assert {d.kind for d in letters} >= {"formal_notice", "collection_handover"}
    for letter in letters:
        assert_french_page(letter.html, f"the {letter.kind} letter")
        assert "Mise en demeure" in letter.html or "bureau de recouvrement" in letter.html


def test_every_notice_to_a_french_debtor_is_french(db: Session, settings: Settings) -> None:
    """The portal's own e-mails: the thank-you (with a credit left over), a fresh link, the three
    acknowledgements, and each of a payment plan's e-mails."""
    org = belgian_creditor(db)
    debtor = french_debtor(db, org)
    owed = invoice(db, org, debtor, "F-2026-0200", dt.date(2026, 10, 1), 60_000)
    mailer = PortalMailer(settings)
    url = "http://settle.test/p/x"
    payment = Payment(amount_cents=70_000, currency="EUR", unallocated_cents=10_000)
    line = type("Line", (), {"number": owed.number, "paid_cents": 60_000, "open_cents": 0, "currency": "EUR"})()
    plan = Arrangement(currency="EUR", total_cents=60_000, paid_cents=20_000, interval="monthly",
                       broken_after_days=7, note="Nous ne pouvons accepter que trois échéances.")  # fmt: skip
    firsts = (dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    steps = [ArrangementInstalment(position=n, due_date=firsts[n - 1], amount_cents=20_000,
                                   paid_cents=20_000 if n == 1 else 0, status="paid" if n == 1 else "pending")
             for n in (1, 2, 3)]  # fmt: skip
    day = dt.date(2026, 11, 4)
    notices = [
        Notice("thank_you", org, debtor, url, lines=[line], payment=payment, unallocated_cents=10_000, as_of=day),
        Notice("portal_link", org, debtor, url),
        *[Notice("request_received", org, debtor, url, invoices=[owed],
                 request=DebtorRequest(kind=k, requested_date=dt.date(2026, 11, 20)))
          for k in ("dispute", "extension", "promise")],
        *[Notice(k, org, debtor, url, as_of=day, arrangement=plan, instalments=steps, instalment=steps[1])
          for k in ("arrangement_accepted", "arrangement_rejected", "arrangement_broken", "instalment_reminder",
                    "instalment_missed")],
    ]  # fmt: skip
    for notice in notices:
        rendered = mailer.render(notice)
        where = f"{notice.kind} ({rendered.subject})"
        assert_french(rendered.subject, where)
        assert_french(rendered.text, where)
        assert_french_page(rendered.html, where)
    thanks = mailer.render(notices[0])
    assert f"Nous avons bien reçu votre paiement de 700,00{NBSP}€ le 4 novembre 2026." in thanks.text
    assert f"Un montant de 100,00{NBSP}€ n’était plus dû" in thanks.text
    assert f"paiement de 700,00{NBSP}€ le 4 novembre" in thanks.html  # the paragraphs keep the no-break spaces
    accepted = mailer.render(notices[5])
    assert f"1. 1er novembre 2026 : 200,00{NBSP}€ (payée)" in accepted.text


# --- every portal page -----------------------------------------------------------------------------


def test_every_portal_page_a_french_debtor_sees_is_french(client: Any, db: Session, settings: Settings) -> None:
    org = belgian_creditor(db)
    debtor = french_debtor(db, org)
    today = dt.date.today()
    owed = invoice(db, org, debtor, "F-2026-0300", today - 12 * DAY, 98_765)
    invoice(db, org, debtor, "F-2026-0301", today + 5 * DAY, 1_000_000)

    page = ph.sign_in(client, db, settings, debtor)
    assert_french_page(page, "the statement")
    assert f"9{NNBSP}987,65{NBSP}€" in page or f"10{NNBSP}987,65{NBSP}€" in page  # the total, French style
    assert f"987,65{NBSP}€" in page and short_date(owed.due_date, "fr") in page

    # A form with mistakes answers in French, and the requests it records are listed in French.
    wrong = client.post("/portal/requests", data={"csrf_token": ph.csrf(page), "kind": "dispute"})
    assert wrong.status_code == 422 and "Veuillez vérifier le formulaire" in wrong.text
    assert_french_page(wrong.text, "the form's errors")
    promised = (today + 10 * DAY).isoformat()
    for data in ({"kind": "dispute", "invoice_ids": [owed.id], "reason": "wrong_amount", "message": "Erreur."},
                 {"kind": "promise", "date_promise": promised}):  # fmt: skip
        sent = client.post("/portal/requests", data={"csrf_token": ph.csrf(page), **data})
        assert sent.status_code in (200, 303), sent.text
    page = client.get("/portal").text
    assert "Vos demandes" in page and "Contestation" in page and "Promesse de paiement" in page
    assert_french_page(page, "the statement with requests")

    # The sandbox checkout, the pending and the failed payment pages.
    checkout = ph.checkout_path(ph.pay(client, page))
    assert_french_page(client.get(checkout).text, "the sandbox checkout")
    failed = ph.sandbox(client, checkout, "failed")
    result = client.get(failed.headers["location"]).text
    assert "Le paiement n’a pas abouti" in result
    assert_french_page(result, "the failed payment page")

    # Signing out, then pages without a session: the browser's language decides.
    signed_out = client.post("/portal/sign-out", data={"csrf_token": ph.csrf(page)})
    assert_french_page(signed_out.text, "signed out")
    french = {"Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"}
    missing = client.get("/p/not-a-token", headers=french)
    assert missing.status_code == 404 and "Cette page n’existe pas" in missing.text
    assert_french_page(missing.text, "the 404 page")
    expired = ph.token(db, settings, debtor, days=1, now=dt.datetime.now(dt.UTC) - 3 * DAY)
    gone = client.get(f"/p/{expired}")
    assert gone.status_code == 410 and "Envoyez-moi un nouveau lien" in gone.text  # the debtor's language
    assert_french_page(gone.text, "the 410 page")
    renewed = client.post("/p/renew", data={"csrf_token": ph.csrf(gone.text), "token": expired, "lang": "fr"})
    assert_french_page(renewed.text, "the fresh-link page")


# --- choosing French ---------------------------------------------------------------------------------


def test_customers_choose_french_through_the_api_and_the_schema_says_so(api: Api, client: Any) -> None:
    made = api.post("/customers", json={"name": "Sophie Dubois", "locale": "fr"})
    assert made.status_code == 201 and made.json()["locale"] == "fr"
    changed = api.patch(f"/customers/{made.json()['id']}", json={"locale": "en"})
    assert changed.json()["locale"] == "en"
    refused = api.post("/customers", json={"name": "Hans Müller", "locale": "de"})
    assert refused.status_code in (400, 422) and refused.json()["field"] == "locale"
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schema["CustomerCreate"]["properties"]["locale"]["enum"] == ["nl", "fr", "en"]


def test_a_csv_import_takes_french_customers_and_names_a_language_it_does_not_know(
    db: Session, database_url: str, tmp_path: Any, settings: Settings
) -> None:
    org = belgian_creditor(db)
    good = tmp_path / "factures.csv"
    good.write_text(
        "number,customer_external_ref,customer_name,customer_email,customer_locale,issue_date,due_date,amount\n"
        "F-1,C-1,Sophie Dubois,sophie@example.be,fr,2026-11-01,2026-12-01,100.00\n",
        encoding="utf-8",
    )
    env = h.cli_env(database_url, settings.mail_url)
    ok = h.subprocess.run([*h.settle_command(), "import", "invoices", str(good), "--org", org.slug], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    ph.reread(db)
    assert db.scalars(select(Customer.locale).where(Customer.external_ref == "C-1")).one() == "fr"
    bad = tmp_path / "slecht.csv"
    bad.write_text(good.read_text(encoding="utf-8").replace(",fr,", ",de,").replace("F-1", "F-2"),
                   encoding="utf-8")  # fmt: skip
    refused = h.subprocess.run([*h.settle_command(), "import", "invoices", str(bad), "--org", org.slug], env=env,
                               capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert refused.returncode == 2 and "customer_locale must be one of nl, fr, en" in refused.stdout + refused.stderr


def test_french_money_in_a_mail_is_what_the_formatter_gives() -> None:
    """The journey's amounts are the formatter's: one place decides how French money reads."""
    assert money(123_456, "EUR", "fr") == f"1{NNBSP}234,56{NBSP}€"


def test_stripe_checkout_is_asked_for_in_the_debtors_language(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    org = belgian_creditor(db)
    prov.enable_stripe(db, org, stripe_fake)
    debtor = french_debtor(db, org)
    invoice(db, org, debtor, "F-2026-0400", dt.date.today() - 3 * DAY, 25_000)
    page = ph.sign_in(pay_client, db, pay_settings, debtor)
    assert ph.pay(pay_client, page, provider="stripe").status_code == 303
    [session] = stripe_fake.sessions.values()
    assert session["locale"] == "fr" and session["payment_method_types"][0] == "bancontact"
