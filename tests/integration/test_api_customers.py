"""Customers and their invoices through the API, on the happy path: edit, filter, page, link."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import Api


def _walk(api: Api, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``next_cursor`` until it is null."""
    pages, cursor = [], None
    while True:
        r = api.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        pages.append(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ends"


# --- PATCH /customers/{id} -------------------------------------------------------------------


def test_patch_changes_the_fields_sent_and_leaves_the_rest(api: Api) -> None:
    c = api.customer(external_ref="DEB-1", phone="+31 20 123 4567")
    r = api.patch(f"/customers/{c['id']}", json={"name": "Bakkerij Jansen & Zn", "email": "boekhouding@jansen.example",
                                                 "locale": "en", "kind": "consumer", "payment_term_days": 14})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["name"], changed["email"], changed["locale"], changed["kind"], changed["payment_term_days"]) == (
        "Bakkerij Jansen & Zn", "boekhouding@jansen.example", "en", "consumer", 14)
    assert (changed["external_ref"], changed["phone"]) == ("DEB-1", "+31201234567")
    assert api.get(f"/customers/{c['id']}").json() == changed


def test_patch_with_null_clears_an_optional_field(api: Api) -> None:
    c = api.customer(phone="+31 20 123 4567")
    r = api.patch(f"/customers/{c['id']}", json={"phone": None, "email": None})
    assert r.status_code == 200, r.text
    assert (r.json()["phone"], r.json()["email"], r.json()["name"]) == (None, None, "Bakkerij Jansen")


def test_a_new_payment_term_applies_to_the_next_invoice(api: Api) -> None:
    c = api.customer()
    api.patch(f"/customers/{c['id']}", json={"payment_term_days": 10})
    r = api.post("/invoices", json={"customer_id": c["id"], "number": "T-1", "issue_date": "2026-05-01",
                                    "amount": "10.00"})  # fmt: skip
    assert r.status_code == 201 and r.json()["due_date"] == "2026-05-11", r.text


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"email": "not-an-address"}, 422, "email"),
        ({"kind": "robot"}, 422, "kind"),
        ({"locale": "de"}, 422, "locale"),
        ({"payment_term_days": 400}, 422, "payment_term_days"),
        ({"payment_term_days": "ten"}, 400, "payment_term_days"),
        ({"name": ""}, 422, "name"),
        ({"name": None}, 400, "name"),
        ({"policy_id": "pol_nope"}, 422, "policy_id"),
        ({"external_ref": "TAKEN"}, 409, "external_ref"),
    ],
)
def test_a_bad_patch_names_the_field_and_changes_nothing(
    api: Api, change: dict[str, Any], status: int, field: str
) -> None:
    api.customer(name="Other", external_ref="TAKEN")
    c = api.customer(external_ref="MINE")
    before = api.get(f"/customers/{c['id']}").json()
    r = api.patch(f"/customers/{c['id']}", json={"phone": "+31 6 1234 5678", **change})
    assert r.status_code == status, r.text
    assert r.json()["field"] == field and r.json()["message"], r.json()
    assert api.get(f"/customers/{c['id']}").json() == before


# --- GET /customers ------------------------------------------------------------------------------


def test_external_ref_filters_the_list_to_that_customer(api: Api) -> None:
    refs = {ref: api.customer(name=f"Customer {ref}", external_ref=ref)["id"] for ref in ("DEB-1", "DEB-2", "DEB-10")}
    api.customer(name="No ref")
    found = api.get("/customers", params={"external_ref": "DEB-1"}).json()
    assert [c["id"] for c in found["items"]] == [refs["DEB-1"]] and found["next_cursor"] is None
    assert api.get("/customers", params={"external_ref": "DEB"}).json()["items"] == []
    assert len(api.get("/customers").json()["items"]) == 4


@pytest.mark.parametrize("count", [5, 6])
def test_the_cursor_walks_every_customer_exactly_once_two_at_a_time(api: Api, count: int) -> None:
    created = [api.customer(name=f"Customer {i}")["id"] for i in range(count)]
    pages = _walk(api, "/customers", limit=2)
    assert [len(p) for p in pages] == [2] * (count // 2) + ([1] if count % 2 else [])
    seen = [c["id"] for p in pages for c in p]
    assert sorted(seen) == sorted(created) and len(set(seen)) == count
    assert seen == created  # ids are time-ordered: oldest first


# --- GET /invoices -------------------------------------------------------------------------------


def test_invoices_filter_by_status_and_by_number(api: Api) -> None:
    c = api.customer()
    other = api.customer(name="Other")
    open_ = api.invoice(c["id"], "F-1", "10.00")
    paid = api.invoice(c["id"], "F-2", "20.00")
    cancelled = api.invoice(c["id"], "F-3", "30.00")
    elsewhere = api.invoice(other["id"], "F-4", "40.00")
    api.post("/payments", json={"customer_id": c["id"], "amount": "20.00",
                                "allocations": [{"invoice_id": paid["id"], "amount": "20.00"}]})  # fmt: skip
    assert api.post(f"/invoices/{cancelled['id']}/cancel").status_code == 200

    def ids(**params: Any) -> list[str]:
        r = api.get("/invoices", params=params)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert ids(status="open") == [open_["id"], elsewhere["id"]]
    assert ids(status="paid") == [paid["id"]]
    assert ids(status="cancelled") == [cancelled["id"]]
    assert ids(status="disputed") == []
    assert ids(number="F-2") == [paid["id"]]
    assert ids(number="F-9") == [] and ids(number="f-2") == []
    assert ids(status="open", customer_id=c["id"]) == [open_["id"]]
    assert ids(status="paid", number="F-1") == []


# --- POST /customers/{id}/portal-links --------------------------------------------------------------


def _expires_in_days(api: Api, customer_id: str, body: dict[str, Any] | None) -> float:
    before = dt.datetime.now(dt.UTC)
    r = api.post(f"/customers/{customer_id}/portal-links", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["url"].startswith("http://settle.test/p/")
    expires = dt.datetime.fromisoformat(r.json()["expires_at"])
    assert expires.utcoffset() is not None, "expires_at carries its offset"
    return (expires - before).total_seconds() / 86400


def test_a_portal_link_expires_the_number_of_days_asked_for_from_now(api: Api) -> None:
    c = api.customer()
    assert _expires_in_days(api, c["id"], {"expires_in_days": 10}) == pytest.approx(10, abs=1)
    assert _expires_in_days(api, c["id"], {"expires_in_days": 1}) == pytest.approx(1, abs=1)
    assert _expires_in_days(api, c["id"], {"expires_in_days": 365}) == pytest.approx(365, abs=1)
    assert _expires_in_days(api, c["id"], {}) == pytest.approx(30, abs=1)


@pytest.mark.parametrize("days", [0, 366, -1])
def test_a_link_lifetime_out_of_range_is_named(api: Api, days: int) -> None:
    c = api.customer()
    r = api.post(f"/customers/{c['id']}/portal-links", json={"expires_in_days": days})
    assert r.status_code == 422 and r.json()["field"] == "expires_in_days", r.text
    assert "365" in r.json()["message"]
