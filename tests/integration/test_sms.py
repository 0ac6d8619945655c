"""The SMS channel against a fake Twilio served on loopback and driven by the official SDK:
the text a debtor gets, quiet hours in their time zone, opting out by the API and by a STOP
reply, delivery status webhooks (signed and forged), and numbers refused at intake.
On SQLite, and on PostgreSQL when SETTLE_TEST_DATABASE_URL points there."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, select
from sqlalchemy import text as sa_text
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import apikeys, customers, outbox, sms
from domain.imports.invoices import ImportFailed, apply, parse_file
from domain.models import Customer, Event, Organisation, OutboxMessage, Policy
from domain.policies import StepSpec, replace_steps
from settle.app import create_app
from tests.fakes.server import serve
from tests.fakes.twilio_fake import FakeTwilio
from tests.integration import dunning_helpers as h

AS_OF = dt.date(2026, 12, 7)
NOON = dt.datetime(2026, 12, 7, 11, 0, tzinfo=dt.UTC)  # 12:00 in Amsterdam and Brussels
MOBILE = "+31612345678"
SHORT_LINK = re.compile(r"http://settle\.test/p/(s\.[A-Za-z0-9_.\-]+)$")


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    with serve(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def sms_settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return dataclasses.replace(settings, sms_provider="twilio", sms_account=twilio.account_sid,
                               sms_token=twilio.auth_token, sms_from="+3197010000000",
                               sms_api_base=twilio.base_url)  # fmt: skip


@pytest.fixture
def sms_client(engine: Engine, sms_settings: Settings, db: Session) -> Iterator[TestClient[Any]]:
    with TestClient(app=create_app(sms_settings, engine=engine), base_url="http://settle.test") as tc:
        yield tc


def creditor(db: Session, channel: str = "email+sms", name: str = "Acme") -> Organisation:
    org = h.org(db, name)
    policy = db.scalar(select(Policy).where(Policy.org_id == org.id, Policy.is_default))
    assert policy is not None
    replace_steps(policy, [StepSpec("reminder", 7, channel), StepSpec("final_reminder", 28, channel)])
    db.flush()
    return org


def debtor(db: Session, org: Organisation, *, phone: str | None = "06 1234 5678", locale: str = "nl",
           name: str = "Bakkerij Jansen", number: str = "F-1001", cents: int = 12_345,
           country: str | None = None) -> Customer:  # fmt: skip
    c = customers.create(db, org.id, name=name, email=f"{number.lower()}@example.com", phone=phone, locale=locale)
    if country is not None:
        c.country = country
    h.invoice(db, org, c, number, AS_OF - dt.timedelta(days=7), cents)
    db.commit()
    return c


def run(engine: Engine, settings: Settings, db: Session, now: dt.datetime, as_of: dt.date = AS_OF) -> Any:
    return h.run(engine, settings, db, as_of, now=lambda: now)


def texts(db: Session, customer_id: str) -> list[OutboxMessage]:
    return h.outbox(db, OutboxMessage.customer_id == customer_id, OutboxMessage.channel == "sms")


# --- what the debtor gets -------------------------------------------------------------------


def test_a_reminder_goes_by_email_and_by_text_once_with_the_amount_and_a_short_link(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio, sms_client: TestClient[Any]
) -> None:
    org = creditor(db)
    c = debtor(db, org)
    assert c.phone == MOBILE  # read as Dutch, stored as E.164

    summary = run(engine, sms_settings, db, NOON)

    [sent] = twilio.to(MOBILE)
    body = sent["body"]
    assert body.startswith("Acme: € 123,45 (factuur F-1001) staat nog open. Betaal of reageer: http://settle.test/p/s.")
    assert sms.segments(body) == sms.Segments("GSM-7", len(body) + 1, 1)  # € takes two septets
    assert sent["from"] == "+3197010000000"
    [row] = texts(db, c.id)
    assert (row.status, row.provider_ref, row.delivery_status) == ("sent", sent["sid"], "queued")
    assert row.to_address == MOBILE
    assert sent["status_callback"] == f"http://settle.test/webhooks/sms/twilio/status?m={row.id}"
    [mail] = h.outbox(db, OutboxMessage.customer_id == c.id, OutboxMessage.channel == "email")
    assert mail.status == "sent"  # and the e-mail as well, the step's own message
    assert (summary.texts, summary.texts_sent) == (1, 1)
    assert summary.line().endswith(", 1 texts queued, 1 texts sent, 0 waiting for daytime")

    # The link in the text opens the portal like the one in the e-mail.
    token = SHORT_LINK.search(body)
    assert token is not None
    opened = sms_client.get(f"/p/{token.group(1)}", follow_redirects=False)
    assert (opened.status_code, opened.headers["location"]) == (303, "/portal")
    # Tampered: the signature's first character (the last one may carry only padding bits, which
    # base64 ignores, so changing it can leave the same signature).
    head, _, signature = token.group(1).rpartition(".")
    tampered = f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    assert sms_client.get(f"/p/{tampered}", follow_redirects=False).status_code == 404

    run(engine, sms_settings, db, NOON + dt.timedelta(hours=1))
    assert len(twilio.to(MOBILE)) == 1  # never twice


def test_a_text_only_step_sends_no_email_and_the_english_words_fit_one_segment(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms")
    c = debtor(db, org, locale="en", cents=123_456_78)
    run(engine, sms_settings, db, NOON)
    [sent] = twilio.to(MOBILE)
    assert sent["body"].startswith("Acme: €123,456.78 (invoice F-1001) is still unpaid. Pay or reply: http://")
    assert sms.fits_one(sent["body"])
    assert h.outbox(db, OutboxMessage.customer_id == c.id, OutboxMessage.channel == "email") == []


def test_a_french_text_is_gsm_7_too_its_no_break_spaces_made_plain(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms")
    debtor(db, org, locale="fr", cents=123_456_78)
    run(engine, sms_settings, db, NOON)
    [sent] = twilio.to(MOBILE)
    # French money is written with U+202F and U+00A0 (not in GSM 03.38: a text would be UCS-2, 70 characters).
    assert sent["body"].startswith("Acme : 123 456,78 € (facture F-1001) reste impayé. Payer ou répondre : http://")
    assert sms.segments(sent["body"]).encoding == "GSM-7"
    assert sms.fits_one(sent["body"])


def test_invoice_numbers_are_left_out_when_they_would_need_a_second_segment(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms", name="Groothandel in Bouwmaterialen Van der Berg-Jansen")
    c = debtor(db, org, number="F-2026-000001")
    for k in range(2, 6):
        h.invoice(db, org, c, f"F-2026-00000{k}", AS_OF - dt.timedelta(days=7))
    db.commit()
    run(engine, sms_settings, db, NOON)
    [sent] = twilio.to(MOBILE)
    assert "F-2026" not in sent["body"]  # five numbers would not fit next to the link
    # nor would the whole name: it is cut at a word
    assert sent["body"].startswith("Groothandel in Bouwmaterialen Van der: € 523,45 staat nog open. Betaal of reageer:")
    assert sms.segments(sent["body"]).count == 1


def test_a_landline_or_no_number_gets_no_text_and_says_why(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db)
    landline = debtor(db, org, phone="020 123 4567", number="F-1")
    nothing = debtor(db, org, phone=None, number="F-2", name="Zonder Nummer")
    summary = run(engine, sms_settings, db, NOON)
    assert twilio.messages == []
    for c in (landline, nothing):
        [row] = texts(db, c.id)
        assert (row.status, row.last_error) == ("failed", sms.NO_PHONE)
    assert summary.texts == 0


def test_a_provider_error_is_retried_later_and_the_text_still_goes_once(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms")
    c = debtor(db, org)
    twilio.refuse[MOBILE] = (503, 20503, "Service unavailable")
    summary = run(engine, sms_settings, db, NOON)
    [row] = texts(db, c.id)
    assert (row.status, row.attempts, row.delivery_status) == ("pending", 1, "sending")
    assert row.last_error == "Twilio 503 (20503): Unable to create record: Service unavailable"
    assert row.next_attempt_at == NOON + outbox.backoff(1)
    assert summary.failed == 1 and twilio.messages == []
    del twilio.refuse[MOBILE]
    run(engine, sms_settings, db, NOON + dt.timedelta(minutes=1))  # before the back-off: not yet
    assert twilio.messages == []
    run(engine, sms_settings, db, NOON + outbox.backoff(1))
    db.rollback()
    assert len(twilio.to(MOBILE)) == 1 and texts(db, c.id)[0].status == "sent"


def test_a_number_twilio_calls_unsubscribed_fails_the_text_and_opts_the_customer_out(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms")
    c = debtor(db, org)
    twilio.refuse[MOBILE] = (400, 21610, "Attempt to send to unsubscribed recipient")
    run(engine, sms_settings, db, NOON)
    [row] = texts(db, c.id)
    assert (row.status, row.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert db.get_one(Customer, c.id).sms_opt_out is True
    kinds = db.scalars(select(Event.data).where(Event.subject_id == c.id, Event.kind == "customer.sms_opted_out"))
    assert list(kinds) == [{"via": "provider"}]


def test_an_invalid_number_at_twilio_fails_the_text_for_good(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms")
    c = debtor(db, org)
    twilio.refuse[MOBILE] = (400, 21211, "The 'To' number is not a valid phone number")
    run(engine, sms_settings, db, NOON)
    run(engine, sms_settings, db, NOON + dt.timedelta(days=1))
    [row] = texts(db, c.id)
    assert row.status == "failed" and "21211" in (row.last_error or "")
    assert db.get_one(Customer, c.id).sms_opt_out is False


# --- quiet hours ----------------------------------------------------------------------------


def test_texts_wait_for_eight_in_the_morning_in_the_debtors_time_zone(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms")
    dutch = debtor(db, org, number="F-NL")
    portuguese = debtor(db, org, phone="+351 912 345 678", number="F-PT", name="Lisboa Lda", country="PT")

    # 21:00 in Amsterdam (20:00 UTC, 20:00 in Lisbon): the Dutch text waits, the Portuguese one goes.
    evening = dt.datetime(2026, 12, 7, 20, 0, tzinfo=dt.UTC)
    summary = run(engine, sms_settings, db, evening)
    assert [m["to"] for m in twilio.messages] == ["+351912345678"]
    [waiting] = texts(db, dutch.id)
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == (
        "pending", 0, dt.datetime(2026, 12, 8, 7, 0, tzinfo=dt.UTC))  # 08:00 in Amsterdam
    assert summary.texts_waiting == 1

    # 07:59:59 in Amsterdam: still not; 08:00: it goes.
    run(engine, sms_settings, db, dt.datetime(2026, 12, 8, 6, 59, 59, tzinfo=dt.UTC), as_of=AS_OF)
    assert len(twilio.messages) == 1
    run(engine, sms_settings, db, dt.datetime(2026, 12, 8, 7, 0, tzinfo=dt.UTC), as_of=AS_OF)
    assert [m["to"] for m in twilio.messages] == ["+351912345678", MOBILE]
    db.rollback()
    assert texts(db, dutch.id)[0].status == "sent"
    assert texts(db, portuguese.id)[0].status == "sent"


def test_the_last_second_before_nine_in_the_evening_still_sends(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms")
    debtor(db, org)
    run(engine, sms_settings, db, dt.datetime(2026, 12, 7, 19, 59, 59, tzinfo=dt.UTC))  # 20:59:59 local
    assert len(twilio.to(MOBILE)) == 1


# --- opting out -----------------------------------------------------------------------------


def test_a_customer_opted_out_through_the_api_gets_the_email_and_no_text(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio, sms_client: TestClient[Any]
) -> None:
    org = creditor(db)
    c = debtor(db, org)
    tenant = h_tenant(db, org)
    r = sms_client.patch(f"/api/v1/customers/{c.id}", json={"sms_opt_out": True}, headers=tenant)
    assert r.status_code == 200 and r.json()["sms_opt_out"] is True, r.text
    db.rollback()
    run(engine, sms_settings, db, NOON)
    assert twilio.messages == []
    [row] = texts(db, c.id)
    assert (row.status, row.last_error) == ("failed", sms.OPTED_OUT)
    [mail] = h.outbox(db, OutboxMessage.customer_id == c.id, OutboxMessage.channel == "email")
    assert mail.status == "sent"


def h_tenant(db: Session, org: Organisation) -> dict[str, str]:
    issued = apikeys.issue(db, org.id)
    db.commit()
    return {"Authorization": f"Bearer {issued.key}"}


def test_stop_reply_opts_out_and_a_text_waiting_for_the_morning_is_not_sent(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio, sms_client: TestClient[Any]
) -> None:
    org = creditor(db, "sms")
    c = debtor(db, org)
    other_org = creditor(db, "sms", name="Other Creditor")
    same_phone = debtor(db, other_org, number="O-1")
    run(engine, sms_settings, db, dt.datetime(2026, 12, 7, 22, 0, tzinfo=dt.UTC))  # 23:00: both wait
    assert twilio.messages == []

    inbound = "http://settle.test/webhooks/sms/twilio/inbound"
    forged = twilio.reply_request(inbound, from_number=MOBILE, body="STOP", token="not-the-token")
    assert sms_client.post(inbound, data=forged.data, headers=forged.headers).status_code == 400
    db.rollback()
    assert db.get_one(Customer, c.id).sms_opt_out is False  # a forged STOP changes nothing

    signed = twilio.reply_request(inbound, from_number=MOBILE, body="Stop")
    r = sms_client.post(inbound, data=signed.data, headers=signed.headers)
    assert r.status_code == 200 and "<Response></Response>" in r.text
    db.rollback()
    assert db.get_one(Customer, c.id).sms_opt_out is True
    assert db.get_one(Customer, same_phone.id).sms_opt_out is True  # one sender for all: STOP means all
    assert db.scalar(select(Event.kind).where(Event.subject_id == c.id, Event.kind == "customer.sms_opted_out"))

    run(engine, sms_settings, db, dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC))
    assert twilio.messages == []
    for who in (c, same_phone):
        [row] = texts(db, who.id)
        assert (row.status, row.last_error) == ("failed", sms.OPTED_OUT)

    signed = twilio.reply_request(inbound, from_number=MOBILE, body="START")
    assert sms_client.post(inbound, data=signed.data, headers=signed.headers).status_code == 200
    db.rollback()
    assert db.get_one(Customer, c.id).sms_opt_out is False


# --- delivery status ------------------------------------------------------------------------


def test_status_webhooks_update_the_message_only_when_signed_and_only_forward(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio, sms_client: TestClient[Any]
) -> None:
    org = creditor(db, "sms")
    c = debtor(db, org)
    run(engine, sms_settings, db, NOON)
    [sent] = twilio.to(MOBILE)
    [row] = texts(db, c.id)

    def post(status: str, token: str | None = None, url: str | None = None) -> Any:
        request = twilio.report_request(sent["sid"], status, token=token, url=url)
        return sms_client.post(request.url, data=request.data, headers=request.headers)

    assert post("delivered", token="forged-token").status_code == 400
    elsewhere = f"http://settle.test/webhooks/sms/twilio/status?m={outbox.SMS}_other"
    assert post("delivered", url=elsewhere).status_code == 400  # signed for another URL than it came to
    db.rollback()
    assert db.get_one(OutboxMessage, row.id).delivery_status == "queued"

    r = post("sent")
    assert r.status_code == 200 and r.json()["changed"] is True
    assert post("delivered").json()["changed"] is True
    assert post("delivered").json()["changed"] is False  # a duplicate
    assert post("sent").json()["changed"] is False  # late, after delivered
    db.rollback()
    assert db.get_one(OutboxMessage, row.id).delivery_status == "delivered"
    kinds = list(db.scalars(select(Event.kind).where(Event.subject_id == row.id).order_by(Event.id)))
    assert kinds == ["sms.sent", "sms.delivered"]


def test_no_sms_provider_means_the_webhooks_are_not_there(client: TestClient[Any]) -> None:
    assert client.post("/webhooks/sms/twilio/status", data={"MessageSid": "SM1"}).status_code == 404


# --- numbers at intake ----------------------------------------------------------------------


def test_an_invalid_phone_is_refused_by_the_api_naming_the_field(api: Any) -> None:
    r = api.post("/customers", json={"name": "X", "phone": "06 1234"})
    assert r.status_code == 422 and r.json()["field"] == "phone", r.text
    assert "06 1234" in r.json()["message"]
    created = api.customer(phone="+32 470 12 34 56")
    assert created["phone"] == "+32470123456"
    r = api.patch(f"/customers/{created['id']}", json={"phone": "not a phone"})
    assert r.status_code == 422 and r.json()["field"] == "phone"
    assert api.get(f"/customers/{created['id']}").json()["phone"] == "+32470123456"  # nothing changed


def test_a_number_without_country_code_is_read_in_the_customers_or_organisations_country(db: Session) -> None:
    belgian = h.org(db, "Brouwerij")
    belgian.country = "BE"
    assert customers.create(db, belgian.id, name="Café", phone="0470 12 34 56").phone == "+32470123456"
    dutch = h.org(db, "Nederland")
    assert customers.create(db, dutch.id, name="Bakker", phone="06-12345678").phone == MOBILE
    abroad = customers.create(db, dutch.id, name="Brussel", phone="06-12345678")
    abroad.country = "BE"
    changed = customers.update(db, dutch.id, abroad.id, {"phone": "0470 12 34 56"})
    assert changed.phone == "+32470123456"  # the customer's own country wins


def test_an_import_refuses_an_invalid_phone_with_its_line_and_writes_nothing(db: Session) -> None:
    org = h.org(db, "Importer")
    db.commit()
    csv = (b"number,customer_external_ref,customer_name,customer_phone,issue_date,amount\n"
           b"F-1,C-1,Goed,06 1234 5678,2026-11-01,10.00\n"
           b"F-2,C-2,Fout,12345,2026-11-01,10.00\n")  # fmt: skip
    with pytest.raises(ImportFailed) as caught:
        apply(db, org, parse_file(csv, "invoices.csv"), "invoices.csv")
    assert caught.value.problems == [
        "line 3: customer_phone '12345' is not a valid phone number (e.g. +31 6 1234 5678)"]
    db.rollback()
    assert db.scalar(select(Customer).where(Customer.org_id == org.id)) is None

    good = csv.replace(b"12345,", b"+32 470 12 34 56,")
    apply(db, org, parse_file(good, "invoices.csv"), "invoices.csv")
    phones = set(db.scalars(select(Customer.phone).where(Customer.org_id == org.id)))
    assert phones == {MOBILE, "+32470123456"}


def test_phones_stored_before_the_migration_become_e164_where_valid(scratch_database: Any) -> None:
    from adapters import migrate
    from adapters.db import make_engine

    url = scratch_database()
    migrate.upgrade(url, "0009")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for org_id, country in (("org_nl", "NL"), ("org_be", "BE")):
                conn.exec_driver_sql(
                    "INSERT INTO organisations (id, slug, name, default_payment_term_days, max_extension_days, "
                    f"vat_uplift_on_costs, created_at, country) VALUES ('{org_id}', '{org_id}', 'X', 30, 30, false, "
                    f"CURRENT_TIMESTAMP, '{country}')")  # fmt: skip
            for cid, org_id, country, phone in (("cus_1", "org_nl", None, "06 1234 5678"),
                                                ("cus_2", "org_be", None, "0470 12 34 56"),
                                                ("cus_3", "org_nl", "BE", "0470/12.34.56"),
                                                ("cus_4", "org_nl", None, "bel me maar")):  # fmt: skip
                conn.execute(sa_text(
                    "INSERT INTO customers (id, org_id, name, phone, kind, locale, country, regular_supply, "
                    "link_version, created_at, updated_at) VALUES (:id, :org, 'C', :phone, 'business', 'nl', "
                    ":country, false, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"id": cid, "org": org_id, "phone": phone, "country": country})  # fmt: skip
        migrate.upgrade(url)
        with engine.connect() as conn:
            phones = dict(conn.execute(sa_text("SELECT id, phone FROM customers")).all())
        assert phones == {"cus_1": MOBILE, "cus_2": "+32470123456", "cus_3": "+32470123456", "cus_4": "bel me maar"}
    finally:
        engine.dispose()


def test_a_ubl_invoice_whose_buyer_has_an_invalid_phone_is_refused_naming_the_element(db: Session) -> None:
    from pathlib import Path

    org = h.org(db, "UBL Importer")
    db.commit()
    xml = (Path(__file__).parents[1] / "data" / "invoice-ubl.xml").read_bytes()
    contact = b"<cac:Contact><cbc:ElectronicMail>"
    assert contact in xml
    bad = xml.replace(contact, b"<cac:Contact><cbc:Telephone>0800</cbc:Telephone><cbc:ElectronicMail>")
    with pytest.raises(ImportFailed) as caught:
        apply(db, org, parse_file(bad, "ubl.xml"), "ubl.xml")
    [problem] = caught.value.problems
    assert problem.endswith(": cac:Contact/cbc:Telephone '0800' is not a valid phone number (e.g. +31 6 1234 5678)")
    db.rollback()
    assert db.scalar(select(Customer).where(Customer.org_id == org.id)) is None

    good = xml.replace(contact, b"<cac:Contact><cbc:Telephone>+31 6 1234 5678</cbc:Telephone><cbc:ElectronicMail>")
    apply(db, org, parse_file(good, "ubl.xml"), "ubl.xml")
    assert db.scalar(select(Customer.phone).where(Customer.org_id == org.id)) == MOBILE


def test_a_policy_takes_sms_and_email_plus_sms_and_refuses_other_channels(api: Any) -> None:
    body = {"name": "Met sms", "steps": [{"kind": "reminder", "days_after_due": 7, "channel": "email+sms"},
                                         {"kind": "final_reminder", "days_after_due": 28, "channel": "sms"},
                                         {"kind": "formal_notice", "days_after_due": 35}]}  # fmt: skip
    r = api.post("/policies", json=body)
    assert r.status_code == 201, r.text
    assert [s["channel"] for s in r.json()["steps"]] == ["email+sms", "sms", "email"]  # old ones as they were
    body["steps"][0]["channel"] = "pigeon"
    r = api.post("/policies", json=body)
    assert r.status_code == 422 and r.json()["field"] == "steps[0].channel", r.text
    assert "email+sms" in r.json()["message"]


def test_the_dry_run_names_the_channel_and_the_number(
    db: Session, engine: Engine, sms_settings: Settings, twilio: FakeTwilio
) -> None:
    org = creditor(db, "sms")
    debtor(db, org)
    db.commit()
    summary = h.run(engine, sms_settings, db, AS_OF, dry_run=True)
    [planned] = summary.plan
    assert (planned.kind, planned.channel, planned.to) == ("reminder", "sms", MOBILE)
    assert twilio.messages == [] and h.outbox(db) == []
