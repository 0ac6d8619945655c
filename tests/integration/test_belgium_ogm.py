"""Issue 16: customers' country, and a Belgian creditor's invoices with a structured communication (OGM).

Through the API on a real database (SQLite, and PostgreSQL with ``SETTLE_TEST_DATABASE_URL``)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy.orm import Session
from stdnum.be import ogm_vcs

from domain import organisations
from tests.conftest import Api, Tenant, make_tenant


def _printed(ten: str) -> str:
    """The OGM of ten digits as a Belgian bank prints it, worked out by stdnum."""
    return f"+++{ogm_vcs.format(ten + ogm_vcs.calc_check_digits(ten))}+++"


def belgian_tenant(db: Session, name: str = "Brasserie De Kroon BV") -> Tenant:
    tenant = make_tenant(db, name)
    org = organisations.by_slug(db, tenant.slug)
    organisations.update(db, org, {"country": "BE"})
    db.commit()
    return tenant


@pytest.fixture
def be_api(client: TestClient[Any], db: Session) -> Api:
    return Api(client, belgian_tenant(db))


# --- customers' country ---------------------------------------------------------------------------


def test_a_customer_has_the_organisations_country_until_given_its_own(api: Api) -> None:
    dutch = api.customer(external_ref="NL-1")
    assert (dutch["country"], dutch["country_inherited"], dutch["regular_supply"]) == ("NL", True, False)
    belgian = api.customer(external_ref="BE-1", country="BE", regular_supply=True)
    assert (belgian["country"], belgian["country_inherited"], belgian["regular_supply"]) == ("BE", False, True)
    assert api.get(f"/customers/{belgian['id']}").json() == belgian
    assert [c["country"] for c in api.get("/customers").json()["items"]] == ["NL", "BE"]
    # null gives it back the organisation's country
    r = api.patch(f"/customers/{belgian['id']}", json={"country": None})
    assert r.status_code == 200, r.text
    assert (r.json()["country"], r.json()["country_inherited"], r.json()["regular_supply"]) == ("NL", True, True)
    r = api.patch(f"/customers/{dutch['id']}", json={"country": "BE", "regular_supply": True})
    assert (r.json()["country"], r.json()["regular_supply"]) == ("BE", True)
    assert api.get(f"/customers/{dutch['id']}/statement").json()["customer"]["country"] == "BE"


def test_a_belgian_organisations_customers_are_belgian_by_default(be_api: Api) -> None:
    assert be_api.customer()["country"] == "BE"
    assert be_api.customer(name="Nederlandse klant", country="NL")["country"] == "NL"


@pytest.mark.parametrize(
    ("body", "status"),
    [({"country": "DE"}, 422), ({"country": "be"}, 422), ({"country": 31}, 400), ({"regular_supply": "yes"}, 400)],
)
def test_a_bad_country_or_flag_names_the_field(api: Api, body: dict[str, Any], status: int) -> None:
    r = api.post("/customers", json={"name": "X", **body})
    assert r.status_code == status, r.text
    assert r.json()["field"] == next(iter(body))
    c = api.customer()
    r = api.patch(f"/customers/{c['id']}", json=body)
    assert r.status_code == status and r.json()["field"] == next(iter(body)), r.text
    assert api.get(f"/customers/{c['id']}").json()["country"] == "NL"


def test_the_schema_says_country_and_regular_supply(client: TestClient[Any]) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for name in ("CustomerCreate", "CustomerPatch", "CustomerRead"):
        props = schemas[name]["properties"]
        assert {"country", "regular_supply"} <= props.keys(), name
    assert "country_inherited" in schemas["CustomerRead"]["properties"]


# --- a Belgian creditor's invoices carry an OGM ---------------------------------------------------


def test_a_belgian_invoice_gets_the_ogm_of_its_number(be_api: Api) -> None:
    c = be_api.customer()
    inv = be_api.invoice(c["id"], "F2026-0042")
    assert inv["payment_reference"] == _printed("0020260042")
    assert ogm_vcs.is_valid(inv["payment_reference"].strip("+"))
    assert be_api.get(f"/invoices/{inv['id']}").json()["payment_reference"] == inv["payment_reference"]


def test_numbers_with_the_same_digits_get_different_ogms_deterministically(
    be_api: Api, client: TestClient[Any], db: Session
) -> None:
    c = be_api.customer()
    first = be_api.invoice(c["id"], "A-42")["payment_reference"]
    second = be_api.invoice(c["id"], "B-42")["payment_reference"]
    assert first == _printed("0000000042") and second != first and ogm_vcs.is_valid(second.strip("+"))
    # In one bulk body too; and the same numbers in another Belgian organisation get the same OGMs.
    items = [{"customer_id": c["id"], "number": n, "issue_date": "2026-01-01", "amount": "5.00"}
             for n in ("C-7", "D-7", "E-7")]  # fmt: skip
    r = be_api.post("/invoices/bulk", json={"items": items})
    assert r.status_code == 200, r.text
    refs = [item["invoice"]["payment_reference"] for item in r.json()["items"]]
    assert len(set(refs)) == 3 and refs[0] == _printed("0000000007")
    other = Api(client, belgian_tenant(db, "Tweede Brouwerij BV"))
    oc = other.customer()
    assert [other.invoice(oc["id"], n)["payment_reference"] for n in ("A-42", "B-42")] == [first, second]


@pytest.mark.parametrize("given", ["+++010/8068/17183+++", "***010/8068/17183***", "010/8068/17183", "010806817183"])
def test_an_ogm_given_in_any_form_is_kept_printed(be_api: Api, given: str) -> None:
    c = be_api.customer()
    inv = be_api.invoice(c["id"], "F-1", payment_reference=given)
    assert inv["payment_reference"] == "+++010/8068/17183+++"


@pytest.mark.parametrize("given", ["+++010/8068/17180+++", "010806817180"])
def test_an_ogm_with_wrong_check_digits_is_refused(be_api: Api, given: str) -> None:
    c = be_api.customer()
    r = be_api.post("/invoices", json={"customer_id": c["id"], "number": "F-1", "issue_date": "2026-01-01",
                                       "amount": "10.00", "payment_reference": given})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "payment_reference" and "structured communication" in r.json()["message"]
    assert be_api.get("/invoices").json()["items"] == []


def test_a_dutch_organisation_keeps_twelve_digits_but_checks_a_written_ogm(api: Api) -> None:
    c = api.customer()
    assert api.invoice(c["id"], "F-1", payment_reference="010806817180")["payment_reference"] == "010806817180"
    assert api.invoice(c["id"], "F-2", payment_reference="***010/8068/17183***")["payment_reference"] == (
        "+++010/8068/17183+++")
    r = api.post("/invoices", json={"customer_id": c["id"], "number": "F-3", "issue_date": "2026-01-01",
                                    "amount": "10.00", "payment_reference": "+++010/8068/17180+++"})  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "payment_reference", r.text
    # and its own invoices still get a betalingskenmerk
    assert len(api.invoice(c["id"], "F-4")["payment_reference"]) == 16


def test_the_statement_shows_the_ogm(be_api: Api) -> None:
    c = be_api.customer()
    inv = be_api.invoice(c["id"], "F2026-0042")
    st = be_api.get(f"/customers/{c['id']}/statement", params={"as_of": "2026-02-15"}).json()
    assert [ln["payment_reference"] for ln in st["invoices"]] == [inv["payment_reference"]]
    assert st["customer"]["country"] == "BE"
