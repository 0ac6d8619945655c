"""Issue 15: an organisation's own details (contact, address, IBAN, KvK, VAT, enterprise number,
country) set with ``settle org update`` and ``PATCH /api/v1/organisation``, validated, and shown
in the next reminder and on the portal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings
from domain import apikeys, organisations
from domain.models import Organisation
from tests.conftest import Api, Tenant
from tests.integration import dunning_helpers as dh
from tests.integration.portal_helpers import sign_in, world
from tests.integration.test_foundation_cli import _env, run

DETAILS = {
    "name": "Noord Groothandel B.V.",
    "email": "debiteuren@noord.example",
    "phone": "020 555 0100",
    "address": "Keizersgracht 1\n1015 AA Amsterdam",
    "iban": "NL91 ABNA 0417 1643 00",
    "kvk_number": "12345678",
    "vat_number": "NL004495445B01",
    "enterprise_number": "0403170701",
    "country": "nl",
}
STORED = {
    **DETAILS,
    "phone": "+31205550100",
    "iban": "NL91ABNA0417164300",
    "enterprise_number": "0403.170.701",
    "country": "NL",
}
BAD = {"iban": "NL91ABNA0417164301", "vat_number": "NL123456789B99", "kvk_number": "1234567"}
OPTION = {"iban": "--iban", "vat_number": "--vat", "kvk_number": "--kvk"}


def _stored(org: Organisation) -> dict[str, Any]:
    return {k: getattr(org, k) for k in STORED}


# --- the command line -------------------------------------------------------------------


def test_org_update_sets_every_detail_and_refuses_bad_numbers(scratch_database: Any) -> None:
    url = scratch_database()
    env = _env(url)
    assert run("org", "create", "--name", "Noord", "--slug", "noord", env=env).returncode == 0
    args = ["--name", DETAILS["name"], "--email", DETAILS["email"], "--phone", DETAILS["phone"],
            "--address", "Keizersgracht 1\\n1015 AA Amsterdam", "--iban", DETAILS["iban"],
            "--kvk", DETAILS["kvk_number"], "--vat", DETAILS["vat_number"],
            "--enterprise-number", DETAILS["enterprise_number"], "--country", "NL"]  # fmt: skip
    updated = run("org", "update", "noord", *args, env=env)
    assert updated.returncode == 0, updated.stderr
    assert "NL91ABNA0417164300" in updated.stdout and "+31205550100" in updated.stdout
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            assert _stored(organisations.by_slug(s, "noord")) == STORED
        for field, bad in BAD.items():
            refused = run("org", "update", "noord", "--email", "other@noord.example", OPTION[field], bad, env=env)
            assert refused.returncode == 2, (field, refused.stdout, refused.stderr)
            assert OPTION[field] in refused.stderr and bad in refused.stderr, refused.stderr
        with make_sessionmaker(engine)() as s:  # nothing of a refused update was written
            assert _stored(organisations.by_slug(s, "noord")) == STORED
        assert run("org", "update", "nope", "--kvk", "12345678", env=env).returncode == 2
        assert run("org", "update", "noord", env=env).returncode == 2  # nothing to change
        assert run("org", "update", "noord", "--country", "DE", env=env).returncode == 2
        cleared = run("org", "update", "noord", "--vat", "", env=env)
        assert cleared.returncode == 0, cleared.stderr
        with make_sessionmaker(engine)() as s:
            assert organisations.by_slug(s, "noord").vat_number is None
    finally:
        engine.dispose()


def test_a_belgian_creditor_without_enterprise_number_is_warned_at_setup_and_by_each_run(
    scratch_database: Any,
) -> None:
    """Its reminders to consumers must state the number (art. XIX.2 WER): the CLI says so, naming
    the option that sets it, and stops saying so once it is set."""
    url = scratch_database()
    env = _env(url, SETTLE_SECRET_KEYS="k" * 40)
    created = run("org", "create", "--name", "Gent Groothandel", "--slug", "gent", "--country", "BE", env=env)
    assert created.returncode == 0, created.stderr
    assert "gent: a Belgian creditor's reminders to consumers must state its enterprise number" in created.stderr
    assert "settle org update gent --enterprise-number" in created.stderr
    assert "settle org update gent --iban" in created.stderr
    dutch = run("org", "create", "--name", "Noord", "--slug", "noord", env=env)
    assert "enterprise number" not in dutch.stderr and "settle org update noord --iban" in dutch.stderr
    ran = run("run", "--as-of", "2026-12-01", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "warning: gent: a Belgian creditor's reminders" in ran.stderr and "warning: noord:" in ran.stderr
    only = run("run", "--as-of", "2026-12-01", "--org", "noord", env=env)
    assert "gent" not in only.stderr, "a run for one organisation speaks of that one only"
    done = run("org", "update", "gent", "--enterprise-number", "0403170701", "--iban", "BE71096123456769", env=env)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    again = run("run", "--as-of", "2026-12-01", "--org", "gent", env=env)
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


# --- the API ------------------------------------------------------------------------------


def test_the_organisation_says_what_its_reminders_still_need(api: Api) -> None:
    fresh = api.get("/organisation").json()
    assert [w["code"] for w in fresh["warnings"]] == ["iban_missing"] and fresh["warnings"][0]["field"] == "iban"
    belgian = api.patch("/organisation", json={"country": "BE"}).json()
    assert [w["code"] for w in belgian["warnings"]] == ["enterprise_number_missing", "iban_missing"]
    assert "XIX.2" in belgian["warnings"][0]["message"]
    done = api.patch("/organisation", json={"enterprise_number": "0403170701", "iban": "BE71096123456769"}).json()
    assert done["warnings"] == [] and api.get("/organisation").json()["warnings"] == []


def test_patch_organisation_sets_every_detail(api: Api, tenant: Tenant) -> None:
    before = api.get("/organisation")
    assert before.status_code == 200, before.text
    assert before.json()["slug"] == tenant.slug and before.json()["country"] == "NL"
    r = api.patch("/organisation", json=DETAILS)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in STORED} == STORED
    assert {k: api.get("/organisation").json()[k] for k in STORED} == STORED
    cleared = api.patch("/organisation", json={"vat_number": None, "enterprise_number": ""})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["vat_number"] is None and cleared.json()["enterprise_number"] is None
    assert cleared.json()["kvk_number"] == "12345678"


def test_patch_organisation_refuses_a_bad_number_naming_it(api: Api) -> None:
    assert api.patch("/organisation", json=DETAILS).status_code == 200
    for field, bad in {**BAD, "phone": "12", "email": "not-an-address", "country": "DE", "name": " "}.items():
        r = api.patch("/organisation", json={"email": "changed@noord.example", field: bad})
        assert r.status_code == 422, (field, r.text)
        assert r.json()["field"] == field, r.json()
    assert {k: api.get("/organisation").json()[k] for k in STORED} == STORED  # nothing changed
    unknown = api.patch("/organisation", json={"vat": "NL004495445B01"})
    assert unknown.status_code in (400, 422), unknown.text


def test_organisation_needs_the_settings_scope(api: Api, db: Session, tenant: Tenant, client: Any) -> None:
    reader = apikeys.issue(db, tenant.org_id, ["settings:read"]).key
    other = apikeys.issue(db, tenant.org_id, ["invoices:write"]).key
    db.commit()
    assert client.get("/api/v1/organisation", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    assert client.get("/api/v1/organisation", headers={"Authorization": f"Bearer {other}"}).status_code == 403
    r = client.patch("/api/v1/organisation", json={"kvk_number": "12345678"},
                     headers={"Authorization": f"Bearer {reader}"})  # fmt: skip
    assert r.status_code == 403, r.text


# --- where the details appear ----------------------------------------------------------------


def test_details_appear_in_the_next_reminder_and_on_the_portal(
    api: Api, db: Session, engine: Engine, settings: Settings, tenant: Tenant, client: Any
) -> None:
    assert api.patch("/organisation", json=DETAILS).status_code == 200
    db.expire_all()
    org = db.get_one(Organisation, tenant.org_id)
    seeded = world(db, org=org, lines=(("F-1", 7, 12_345),))
    today = dt.date.today()
    summary = dh.run(engine, settings, db, today)
    assert summary.delivered >= 1, summary
    mails = dh.mailbox(settings).messages()
    assert mails
    text, html = dh.text_of(mails[-1]), dh.html_of(mails[-1])
    for shown in ("Noord Groothandel B.V.", "debiteuren@noord.example", "+31205550100",
                  "Keizersgracht 1, 1015 AA Amsterdam", "NL91ABNA0417164300", "KvK 12345678",
                  "btw NL004495445B01", "0403.170.701"):  # fmt: skip
        assert shown in text, (shown, text)
        assert shown in html, (shown, html)
    page = sign_in(client, db, settings, seeded.customer)
    for shown in ("Noord Groothandel B.V.", "debiteuren@noord.example", "+31205550100", "Keizersgracht 1",
                  "NL91ABNA0417164300", "KvK 12345678", "btw NL004495445B01", "0403.170.701"):  # fmt: skip
        assert shown in page, shown
