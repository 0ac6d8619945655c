"""Bad input answers 4xx with JSON that names the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def _invoice(customer_id: str, **over: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "number": "F-1", "issue_date": "2026-01-01", "due_date": "2026-01-31",
            "amount": "100.00", "currency": "EUR", **over}


def _nothing_written(api: Api) -> None:
    assert api.get("/invoices").json()["items"] == []


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"amount": 100.5}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "1.500"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"due_date": "2025-12-01"}, "due_date"),
        ({"issue_date": "2026-02-30"}, "issue_date"),
        ({"number": 42}, "number"),
        ({"number": ""}, "number"),
        ({"customer_id": "cus_nope"}, "customer_id"),
    ],
)
def test_bad_invoice_fields_are_named_and_nothing_is_written(api: Api, override: dict[str, Any], field: str) -> None:
    c = api.customer()
    r = api.post("/invoices", json={**_invoice(c["id"]), **override})
    assert 400 <= r.status_code < 500, r.text
    body = r.json()
    assert body["field"] == field, body
    assert body["message"]
    _nothing_written(api)


def test_unknown_external_ref_is_named(api: Api) -> None:
    r = api.post("/invoices", json={"customer_external_ref": "NOPE", "number": "F-1", "issue_date": "2026-01-01",
                                    "amount": "1.00"})
    assert r.status_code == 422 and r.json()["field"] == "customer_external_ref"


def test_malformed_json_is_a_400_not_a_500(api: Api) -> None:
    r = api.post("/customers", content=b'{"name": "x",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == "bad_request"
    assert api.get("/customers").json()["items"] == []


def test_wrong_type_names_the_field(api: Api) -> None:
    r = api.post("/customers", json={"name": 12})
    assert r.status_code == 400 and r.json()["field"] == "name"
    r = api.post("/customers", json={"name": "x", "kind": "robot"})
    assert r.status_code == 422 and r.json()["field"] == "kind"
    r = api.post("/customers", json={"name": "x", "email": "not-an-address"})
    assert r.status_code == 422 and r.json()["field"] == "email"


def test_oversized_body_is_refused(api: Api) -> None:
    r = api.post("/customers", json={"name": "x" * 1_100_000})
    assert r.status_code == 413
    assert api.get("/customers").json()["items"] == []


def test_a_bulk_of_1001_is_refused_whole(api: Api) -> None:
    c = api.customer()
    items = [_invoice(c["id"], number=f"B-{i}") for i in range(1001)]
    r = api.post("/invoices/bulk", json={"items": items})
    assert r.status_code == 422 and r.json()["field"] == "items"
    _nothing_written(api)


def test_bad_query_parameters(api: Api) -> None:
    assert api.get("/invoices", params={"limit": 0}).json()["field"] == "limit"
    assert api.get("/invoices", params={"limit": 501}).status_code in (400, 422)
    r = api.get("/reports/aging", params={"as_of": "nope"})
    assert r.status_code == 400 and "as_of" in r.text
    r = api.get("/invoices", params={"status": "lost"})
    assert r.status_code == 422 and r.json()["field"] == "status"


def test_payment_allocations_that_do_not_fit(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-1", "50.00")
    too_much = api.post("/payments", json={"customer_id": c["id"], "amount": "10.00",
                                           "allocations": [{"invoice_id": inv["id"], "amount": "20.00"}]})
    assert too_much.status_code == 422 and too_much.json()["field"] == "allocations"
    over_invoice = api.post("/payments", json={"customer_id": c["id"], "amount": "80.00",
                                               "allocations": [{"invoice_id": inv["id"], "amount": "60.00"}]})
    assert over_invoice.status_code == 422 and over_invoice.json()["field"] == "allocations[0].amount"
    assert api.get("/payments").json()["items"] == []
    assert api.get(f"/invoices/{inv['id']}").json()["open_amount"] == "50.00"


def test_unknown_route_is_json_404(api: Api) -> None:
    r = api.get("/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
