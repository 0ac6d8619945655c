"""Idempotency-Key on POSTs, and API keys with scopes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from domain import apikeys
from tests.conftest import Api, Tenant


def test_same_key_same_body_returns_the_first_response_and_writes_once(api: Api) -> None:
    c = api.customer()
    body = {"customer_id": c["id"], "number": "F-1", "issue_date": "2026-01-01", "amount": "10.00"}
    first = api.post("/invoices", json=body, headers={"Idempotency-Key": "k-1"})
    again = api.post("/invoices", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(api.get("/invoices").json()["items"]) == 1


def test_same_key_with_another_body_is_a_conflict(api: Api) -> None:
    c = api.customer()
    api.post("/payments", json={"customer_id": c["id"], "amount": "10.00"}, headers={"Idempotency-Key": "p"})
    r = api.post("/payments", json={"customer_id": c["id"], "amount": "11.00"}, headers={"Idempotency-Key": "p"})
    assert r.status_code == 409 and r.json()["field"] == "Idempotency-Key"
    assert len(api.get("/payments").json()["items"]) == 1


def test_keys_belong_to_one_organisation(api: Api, other_api: Api) -> None:
    a = api.post("/customers", json={"name": "A"}, headers={"Idempotency-Key": "shared"})
    b = other_api.post("/customers", json={"name": "A"}, headers={"Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


def test_replay_covers_bulk_cancel_and_links(api: Api) -> None:
    c = api.customer()
    bulk: dict[str, Any] = {"items": [{"customer_id": c["id"], "number": "B-1", "issue_date": "2026-01-01",
                                       "amount": "1.00"}]}
    first = api.post("/invoices/bulk", json=bulk, headers={"Idempotency-Key": "bulk"}).json()
    assert api.post("/invoices/bulk", json=bulk, headers={"Idempotency-Key": "bulk"}).json() == first
    inv_id = first["items"][0]["invoice"]["id"]
    one = api.post(f"/invoices/{inv_id}/cancel", headers={"Idempotency-Key": "cancel"})
    two = api.post(f"/invoices/{inv_id}/cancel", headers={"Idempotency-Key": "cancel"})
    assert one.json() == two.json()
    l1 = api.post(f"/customers/{c['id']}/portal-links", json={}, headers={"Idempotency-Key": "link"}).json()
    l2 = api.post(f"/customers/{c['id']}/portal-links", json={}, headers={"Idempotency-Key": "link"}).json()
    assert l1 == l2


def test_missing_and_wrong_keys_are_401(api: Api) -> None:
    assert api.client.get("/api/v1/customers").status_code == 401
    r = api.client.get("/api/v1/customers", headers={"Authorization": "Bearer sk_nope_nope"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert api.client.get("/api/v1/customers", headers={"Authorization": "Basic abc"}).status_code == 401


def test_revoked_key_is_401(api: Api, db: Session, tenant: Tenant) -> None:
    assert api.get("/customers").status_code == 200
    apikeys.revoke(db, tenant.key.split("_")[1])
    db.commit()
    assert api.get("/customers").status_code == 401


def _key(db: Session, tenant: Tenant, *scopes: str) -> dict[str, str]:
    issued = apikeys.issue(db, tenant.org_id, list(scopes))
    db.commit()
    return {"Authorization": f"Bearer {issued.key}"}


def test_scopes_limit_what_a_key_may_do(api: Api, db: Session, tenant: Tenant) -> None:
    c = api.customer()
    reader = _key(db, tenant, "invoices:read")
    client = api.client
    assert client.get("/api/v1/invoices", headers=reader).status_code == 200
    r = client.post("/api/v1/invoices", headers=reader, json={"customer_id": c["id"], "number": "X",
                                                             "issue_date": "2026-01-01", "amount": "1.00"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert client.post("/api/v1/customers", headers=reader, json={"name": "x"}).status_code == 403
    assert client.get("/api/v1/customers", headers=reader).status_code == 403
    read_all = _key(db, tenant, "read")
    assert client.get("/api/v1/customers", headers=read_all).status_code == 200
    assert client.post("/api/v1/customers", headers=read_all, json={"name": "x"}).status_code == 403
    writer = _key(db, tenant, "invoices:write")
    assert client.get("/api/v1/invoices", headers=writer).status_code == 200


def test_openapi_schema_and_docs(api: Api) -> None:
    schema = api.client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/customers", "/api/v1/invoices", "/api/v1/invoices/bulk", "/api/v1/payments",
                 "/api/v1/customers/{customer_id}/statement", "/api/v1/policies", "/api/v1/tasks",
                 "/api/v1/dunning/preview", "/api/v1/events", "/api/v1/reports/aging"):
        assert path in paths, path
    docs = api.client.get("/api/v1/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "/api/v1/invoices/bulk" in docs.text
    # every operation with an answer shows its example, from the same schema
    assert docs.text.count("Example answer") >= 20 and "F-2026-0042" in docs.text
