"""Issue 16: customers' country, and a Belgian creditor's invoices with a structured communication (OGM).

Through the API on a real database (SQLite, and PostgreSQL with ``SETTLE_TEST_DATABASE_URL``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.be import ogm_vcs

from domain import organisations
from domain.imports import ImportFailed, apply, parse_file
from domain.models import Customer, Invoice
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


# --- reconciliation: every form a Belgian bank writes an OGM in -----------------------------------

BANK_BE = Path(__file__).resolve().parents[1] / "data" / "bank-be"


def _upload(api: Api, path: Path) -> Any:
    r = api.post("/bank-statements", content=path.read_bytes(), params={"filename": path.name},
                 headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_every_written_form_of_an_ogm_is_matched_and_a_wrong_check_digit_is_reported(be_api: Api) -> None:
    c = be_api.customer(name="Horeca Groep NV")
    # F-101 ... F-111 get the OGMs of their numbers: +++000/0000/10104+++ ... +++000/0000/11114+++,
    # which the statements in tests/data/bank-be quote in every form.
    invoices = {n: be_api.invoice(c["id"], f"F-{n}", f"{n}.00") for n in range(101, 112)}
    assert invoices[101]["payment_reference"] == "+++000/0000/10104+++"
    assert invoices[111]["payment_reference"] == "+++000/0000/11114+++"

    mt940 = _upload(be_api, BANK_BE / "kbc-ogm.940")
    assert (mt940["credits"], mt940["matched"], mt940["unmatched"], mt940["warnings"]) == (7, 6, 1, [])
    camt = _upload(be_api, BANK_BE / "bnpparibasfortis-ogm.camt053.xml")
    assert (camt["credits"], camt["matched"], camt["unmatched"], camt["warnings"]) == (4, 3, 1, [])

    status = {n: be_api.get(f"/invoices/{inv['id']}").json()["status"] for n, inv in invoices.items()}
    # MT940: +++ and *** in free text, bare, slashed, STRD/BBA wrapped, CDTRREF SCOR/BBA; CAMT: Ustrd,
    # Strd Prtry BBA, Strd Cd SCOR.
    assert [n for n, s in status.items() if s == "paid"] == [101, 102, 103, 104, 105, 107, 108, 109, 111]
    assert [n for n, s in status.items() if s == "open"] == [106, 110]  # the two with wrong check digits
    matched = [e for e in be_api.get("/events", params={"limit": 500}).json()["items"]
               if e["kind"] == "bank_transaction.matched"]  # fmt: skip
    assert {e["data"]["rule"] for e in matched} == {"reference"} and len(matched) == 9

    # Each wrong OGM is named, in the import's answer and on the line waiting for a person.
    assert [(p["code"], p["reference"]) for p in mt940["problems"]] == [("ogm_check_digit", "+++000/0000/10610+++")]
    assert [(p["code"], p["reference"]) for p in camt["problems"]] == [("ogm_check_digit", "+++000/0000/11099+++")]
    assert "modulo 97 is 13" in camt["problems"][0]["message"]
    waiting = be_api.get("/bank-transactions", params={"status": "unmatched"}).json()["items"]
    assert sorted(t["amount"] for t in waiting) == ["106.00", "110.00"]
    assert {t["unmatched_reason"] for t in waiting} == {"ogm_check_digit"}
    assert all("wrong check digits" in t["unmatched_message"] for t in waiting)
    assert {t["id"] for t in waiting} == {mt940["problems"][0]["transaction_id"], camt["problems"][0]["transaction_id"]}


def test_the_cli_notes_a_wrong_ogm(be_api: Api, tmp_path: Path, database_url: str) -> None:
    c = be_api.customer()
    be_api.invoice(c["id"], "F-106", "106.00")
    env = {**os.environ, "SETTLE_DATABASE_URL": database_url}
    args = ["import", "bank", str(BANK_BE / "kbc-ogm.940"), "--org", be_api.tenant.slug]
    done = subprocess.run([sys.executable, "-m", "settle.cli", *args], capture_output=True, text=True, env=env,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "7 incoming, 0 matched, 7 left for a person" in done.stdout
    assert "+++000/0000/10610+++ has wrong check digits" in done.stderr


# --- intake: UBL PaymentID and the customer's country; CSV customer_country ------------------------

UBL_BE = Path(__file__).resolve().parents[1] / "data" / "ubl" / "invoice-be-ogm.xml"


def _import(db: Session, slug: str, data: bytes, name: str) -> Any:
    org = organisations.by_slug(db, slug)
    result = apply(db, org, parse_file(data, name), name)
    db.commit()
    return result


@pytest.mark.parametrize("belgian", [True, False])
def test_a_belgian_ubl_payment_id_is_kept_as_the_invoices_ogm(
    db: Session, tenant: Tenant, belgian: bool
) -> None:
    slug = belgian_tenant(db).slug if belgian else tenant.slug  # a Dutch creditor with a Belgian buyer too
    result = _import(db, slug, UBL_BE.read_bytes(), UBL_BE.name)
    assert (result.created, result.customers_created) == (1, 1)
    inv = db.scalar(select(Invoice).where(Invoice.number == "VF26/00318"))
    assert inv is not None and inv.payment_reference == "+++090/9337/55493+++"
    customer = db.get_one(Customer, inv.customer_id)
    assert (customer.name, customer.country) == ("Café Den Hoek", "BE")


def test_a_ubl_ogm_written_with_plusses_is_kept_and_a_wrong_one_names_the_invoice(db: Session) -> None:
    slug = belgian_tenant(db).slug
    data = UBL_BE.read_bytes()
    _import(db, slug, data.replace(b">090933755493<", b">+++090/9337/55493+++<"), "plus.xml")
    assert db.scalar(select(Invoice.payment_reference)) == "+++090/9337/55493+++"
    wrong = data.replace(b">090933755493<", b">090933755494<").replace(b"VF26/00318", b"VF26/00319")
    with pytest.raises(ImportFailed) as failed:
        _import(db, slug, wrong, "wrong.xml")
    assert "VF26/00319" in str(failed.value) and "structured communication" in str(failed.value)


def test_a_csv_gives_new_customers_their_country(db: Session, tenant: Tenant) -> None:
    csv = ("number,customer_external_ref,customer_name,issue_date,amount,customer_country\n"
           "F-1,BE-1,Café Den Hoek,2026-10-01,10.00,BE\n"
           "F-2,NL-1,Bakkerij Jansen,2026-10-01,10.00,\n").encode()  # fmt: skip
    assert _import(db, tenant.slug, csv, "c.csv").customers_created == 2
    assert {ref: country for ref, country in db.execute(select(Customer.external_ref, Customer.country))} == {
        "BE-1": "BE", "NL-1": None}
    with pytest.raises(ImportFailed) as failed:
        _import(db, tenant.slug, csv.replace(b",BE\n", b",DE\n").replace(b"F-1", b"F-3"), "d.csv")
    assert "line 2" in str(failed.value) and "customer_country" in str(failed.value)
