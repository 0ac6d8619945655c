"""An organisation's payment providers: credentials set through the API or the CLI, never
shown again; the portal offers exactly what is enabled, with its methods."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.models import ProviderAccount
from tests.conftest import Api, Tenant
from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.stripe_fake import FakeStripe
from tests.integration import portal_helpers as h
from tests.integration import provider_helpers as ph
from tests.integration.test_foundation_cli import _env, run

MOLLIE_KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
STRIPE_KEY = "sk_test_51Hsecretsecretsecret"
STRIPE_HOOK = "whsec_signingsecretsigningsecret"


def test_credentials_go_in_through_the_api_and_never_come_out(api: Api, other_api: Api) -> None:
    r = api.put("/providers/mollie", json={"api_key": MOLLIE_KEY})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "provider": "mollie", "enabled": True, "methods": ["ideal", "bancontact", "creditcard"],
        "api_key_set": True, "webhook_secret_set": False, "mode": "test",
        "webhook_url": f"http://settle.test/webhooks/mollie/{api.tenant.slug}",
    }  # fmt: skip
    r = api.put("/providers/stripe", json={"api_key": STRIPE_KEY, "webhook_secret": STRIPE_HOOK,
                                           "methods": ["card"]})  # fmt: skip
    assert r.status_code == 200 and r.json()["methods"] == ["card"] and r.json()["webhook_secret_set"] is True
    listed = api.get("/providers")
    assert [p["provider"] for p in listed.json()["items"]] == ["mollie", "stripe"]
    seen = listed.text + api.get("/providers/stripe").text + api.get("/events").text
    for secret in (MOLLIE_KEY, STRIPE_KEY, STRIPE_HOOK):
        assert secret not in seen
    assert other_api.get("/providers/mollie").status_code == 404  # another organisation's: not there
    assert other_api.client.delete("/api/v1/providers/mollie", headers=other_api.tenant.headers).status_code == 404
    assert api.get("/providers/mollie").json()["enabled"] is True
    assert other_api.get("/providers").json()["items"] == []


def test_bad_provider_settings_name_the_field_and_store_nothing(api: Api, db: Session) -> None:
    cases = [
        ("/providers/stripe", {"api_key": STRIPE_KEY}, "webhook_secret"),
        ("/providers/stripe", {"api_key": "pk_test_publishable", "webhook_secret": STRIPE_HOOK}, "api_key"),
        ("/providers/stripe", {"api_key": STRIPE_KEY, "webhook_secret": STRIPE_KEY}, "webhook_secret"),
        ("/providers/mollie", {"api_key": "  "}, "api_key"),
        ("/providers/mollie", {"api_key": "sk_live_wrong_provider"}, "api_key"),
        ("/providers/mollie", {"api_key": MOLLIE_KEY, "methods": ["ideal", "bitcoin"]}, "methods"),
        ("/providers/mollie", {"methods": ["ideal"]}, "api_key"),  # nothing set up yet to change
        ("/providers/paypal", {"api_key": "x"}, "provider"),
    ]
    for path, body, field in cases:
        r = api.put(path, json=body)
        assert r.status_code in (400, 422) and r.json()["field"] == field, (body, r.text)
    h.reread(db)
    assert db.scalars(select(ProviderAccount)).all() == []


def test_provider_settings_need_the_settings_scope(api: Api, db: Session, tenant: Tenant, client: Any) -> None:
    from domain import apikeys

    issued = apikeys.issue(db, tenant.org_id, ["invoices:write"])
    db.commit()
    r = client.put("/api/v1/providers/mollie", json={"api_key": MOLLIE_KEY},
                   headers={"Authorization": f"Bearer {issued.key}"})  # fmt: skip
    assert r.status_code == 403 and "settings:write" in r.json()["message"]


def test_the_portal_offers_what_is_enabled_and_stops_offering_what_is_switched_off(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie, stripe_fake: FakeStripe
) -> None:
    w = h.world(db)
    page = h.sign_in(pay_client, db, pay_settings, w.customer)
    assert 'name="provider"' not in page and "Online betalen is nu niet mogelijk" in page  # nothing set up yet

    ph.enable_mollie(db, w.org, mollie_fake)
    ph.enable_stripe(db, w.org, stripe_fake)
    response = pay_client.get("/portal")
    page = response.text
    # The pay form is answered with a redirect to the checkout: the browser must be let go there.
    form_action = next(d for d in response.headers["content-security-policy"].split("; ")
                       if d.startswith("form-action")).split()[1:]  # fmt: skip
    assert form_action == ["'self'", "https://www.mollie.com", "https://checkout.stripe.com", mollie_fake.base_url,
                           stripe_fake.base_url]  # fmt: skip
    assert '<option value="mollie">iDEAL, Bancontact of creditcard</option>' in page
    assert '<option value="stripe">kaart, iDEAL of Bancontact</option>' in page
    assert '<option value="sandbox">' not in page

    api = Api(pay_client, Tenant(w.org.id, w.org.slug, h.api_key(db, w.org)))
    assert api.put("/providers/mollie", json={"methods": ["ideal", "bancontact"]}).status_code == 200
    assert '<option value="mollie">iDEAL of Bancontact</option>' in pay_client.get("/portal").text
    assert '<option value="mollie">iDEAL or Bancontact</option>' in pay_client.get("/portal?lang=en").text
    pay_client.get("/portal?lang=nl")
    assert api.client.delete("/api/v1/providers/stripe", headers=api.tenant.headers).json()["enabled"] is False
    page = pay_client.get("/portal").text
    assert '<option value="stripe">' not in page and 'name="provider" value="mollie"' in page
    refused = h.pay(pay_client, page, provider="stripe")
    assert refused.status_code == 422 and "niet beschikbaar" in refused.text
    assert stripe_fake.sessions == {}


def test_set_provider_on_the_command_line_prints_the_webhook_url_and_no_secret(scratch_database: Any) -> None:
    env = _env(scratch_database(), SETTLE_BASE_URL="https://pay.acme.example")
    assert run("org", "create", "--name", "Acme BV", env=env).returncode == 0
    done = run("org", "set-provider", "acme-bv", "stripe", "--api-key", STRIPE_KEY, "--webhook-secret",
               STRIPE_HOOK, "--method", "card", "--method", "ideal", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "stripe enabled for acme-bv (card, ideal)" in done.stdout
    assert "https://pay.acme.example/webhooks/stripe/acme-bv" in done.stdout
    assert STRIPE_KEY not in done.stdout + done.stderr and STRIPE_HOOK not in done.stdout + done.stderr
    missing = run("org", "set-provider", "acme-bv", "stripe", "--api-key", STRIPE_KEY, env=env)
    assert missing.returncode == 2 and "--webhook-secret" in missing.stderr
    wrong = run("org", "set-provider", "acme-bv", "mollie", "--api-key", STRIPE_KEY, env=env)
    assert wrong.returncode == 2 and "that is a Stripe key" in wrong.stderr
