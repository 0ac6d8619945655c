"""A body the API cannot read is refused with a message that says what is wrong with it, and where."""

from __future__ import annotations

import pytest

from tests.conftest import Api

JSON = {"Content-Type": "application/json"}


def _nothing_written(api: Api) -> None:
    assert api.get("/customers").json()["items"] == []
    assert api.get("/invoices").json()["items"] == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"name": x}', "line 1, column 10 (byte 9)"),
        (b"Jansen", "line 1, column 1 (byte 0)"),
        (b'{\n  "name": "Jansen",\n  "email": ap@jansen.example\n}', "line 3, column 12 (byte 33)"),
    ],
)
def test_malformed_json_names_the_body_and_where_it_breaks(api: Api, body: bytes, where: str) -> None:
    r = api.post("/customers", content=body, headers=JSON)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["field"] == "body"
    assert error["message"].startswith("the request body is not valid JSON")
    assert where in error["message"], error
    _nothing_written(api)


def test_json_cut_off_halfway_says_it_ends_too_soon(api: Api) -> None:
    r = api.post("/customers", content=b'{"name": "Bakkerij Jansen",', headers=JSON)
    assert r.status_code == 400
    assert r.json() == {
        "error": "bad_request",
        "message": "the request body is not valid JSON: it ends at line 1, column 28 (byte 27), "
        "before the JSON value is complete",
        "field": "body",
    }
    _nothing_written(api)


def test_malformed_json_is_named_on_every_kind_of_write(api: Api) -> None:
    c = api.customer()
    for method, path in (("patch", f"/customers/{c['id']}"), ("post", "/invoices"), ("post", "/invoices/bulk"),
                         ("post", "/payments")):  # fmt: skip
        r = getattr(api, method)(path, content=b'{"name": ', headers=JSON)
        assert r.status_code == 400 and r.json()["field"] == "body", (path, r.text)
        assert "not valid JSON" in r.json()["message"], path
    assert api.get(f"/customers/{c['id']}").json()["name"] == "Bakkerij Jansen"
    assert api.get("/invoices").json()["items"] == [] and api.get("/payments").json()["items"] == []


def test_an_empty_body_is_named_as_such(api: Api) -> None:
    r = api.post("/customers", content=b"", headers=JSON)
    assert r.status_code == 400
    assert r.json()["field"] == "body" and r.json()["message"] == "the request body is empty; send a JSON object"
    _nothing_written(api)


def test_a_body_over_one_megabyte_names_the_limit(api: Api) -> None:
    r = api.post("/customers", json={"name": "x" * 1_100_000})
    assert r.status_code == 413
    assert r.json() == {"error": "payload_too_large", "message": "the request body is larger than 1 MB",
                        "field": "body"}  # fmt: skip
    _nothing_written(api)


def test_a_bulk_call_may_be_five_megabytes_and_its_limit_is_named(api: Api) -> None:
    c = api.customer()
    item = {"customer_id": c["id"], "number": "B-1", "issue_date": "2026-01-01", "amount": "1.00",
            "description": "y" * 5_000_000}  # fmt: skip
    r = api.post("/invoices/bulk", json={"items": [item]})
    assert r.status_code == 413
    assert r.json()["message"] == "the request body is larger than 5 MB" and r.json()["field"] == "body"
    assert api.get("/invoices").json()["items"] == []


def test_a_wrong_type_still_names_its_field_not_the_body(api: Api) -> None:
    r = api.post("/customers", json={"name": ["not", "a", "string"]})
    assert r.status_code == 400 and r.json()["field"] == "name"
    _nothing_written(api)
