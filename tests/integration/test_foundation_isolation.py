"""Organisation isolation: a key of organisation A never sees or touches organisation B."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.models import Customer, Invoice, Payment
from tests.conftest import Api


def _b_world(b: Api) -> dict[str, str]:
    customer = b.customer(name="B customer")
    invoice = b.invoice(customer["id"], "B-1", "100.00")
    payment = b.post("/payments", json={"customer_id": customer["id"], "amount": "10.00"}).json()
    policy = b.get("/policies").json()["items"][0]
    plan = b.post("/arrangements", json={"customer_id": customer["id"], "instalments": 2, "interval": "weekly",
                                         "first_due_date": dt.date.today().isoformat()}).json()  # fmt: skip
    return {"customer_id": customer["id"], "invoice_id": invoice["id"], "payment_id": payment["id"],
            "policy_id": policy["id"], "arrangement_id": plan["id"]}


# Every /api/v1 route with a path parameter, and how to call it with organisation B's ids.
CALLS: dict[tuple[str, str], Callable[[Api, dict[str, str]], Any]] = {
    ("GET", "/customers/{customer_id}"): lambda a, b: a.get(f"/customers/{b['customer_id']}"),
    ("PATCH", "/customers/{customer_id}"): lambda a, b: a.patch(f"/customers/{b['customer_id']}", json={"name": "x"}),
    ("GET", "/customers/{customer_id}/statement"): lambda a, b: a.get(f"/customers/{b['customer_id']}/statement"),
    ("POST", "/customers/{customer_id}/portal-links"): lambda a, b: a.post(
        f"/customers/{b['customer_id']}/portal-links", json={}),
    ("POST", "/customers/{customer_id}/portal-links/revoke"): lambda a, b: a.post(
        f"/customers/{b['customer_id']}/portal-links/revoke"),
    ("GET", "/invoices/{invoice_id}"): lambda a, b: a.get(f"/invoices/{b['invoice_id']}"),
    ("POST", "/invoices/{invoice_id}/cancel"): lambda a, b: a.post(f"/invoices/{b['invoice_id']}/cancel"),
    ("POST", "/invoices/{invoice_id}/pause"): lambda a, b: a.post(
        f"/invoices/{b['invoice_id']}/pause", json={"until": "2099-01-01"}),
    ("POST", "/invoices/{invoice_id}/resume"): lambda a, b: a.post(f"/invoices/{b['invoice_id']}/resume"),
    ("GET", "/payments/{payment_id}"): lambda a, b: a.get(f"/payments/{b['payment_id']}"),
    ("GET", "/policies/{policy_id}"): lambda a, b: a.get(f"/policies/{b['policy_id']}"),
    ("PUT", "/policies/{policy_id}"): lambda a, b: a.put(
        f"/policies/{b['policy_id']}", json={"name": "x", "steps": [{"kind": "reminder", "days_after_due": 1}]}),
    ("GET", "/reports/customers/{customer_id}"): lambda a, b: a.get(f"/reports/customers/{b['customer_id']}"),
    ("POST", "/tasks/{task_id}/complete"): lambda a, b: a.post(f"/tasks/{b.get('task_id', 'tsk_x')}/complete",
                                                              json={"outcome": "reached"}),
    ("POST", "/requests/{request_id}/resolve"): lambda a, b: a.post(
        f"/requests/{b.get('request_id', 'req_x')}/resolve", json={"decision": "accepted"}),
    ("GET", "/requests/{request_id}"): lambda a, b: a.get(f"/requests/{b.get('request_id', 'req_x')}"),
    ("POST", "/bank-transactions/{transaction_id}/match"): lambda a, b: a.post(
        f"/bank-transactions/{b.get('transaction_id', 'btx_x')}/match", json={"customer_id": b["customer_id"]}),
    ("GET", "/arrangements/{arrangement_id}"): lambda a, b: a.get(f"/arrangements/{b['arrangement_id']}"),
    ("POST", "/arrangements/{arrangement_id}/accept"): lambda a, b: a.post(
        f"/arrangements/{b['arrangement_id']}/accept", json={}),
    ("POST", "/arrangements/{arrangement_id}/reject"): lambda a, b: a.post(
        f"/arrangements/{b['arrangement_id']}/reject", json={}),
    ("POST", "/arrangements/{arrangement_id}/cancel"): lambda a, b: a.post(
        f"/arrangements/{b['arrangement_id']}/cancel", json={}),
    ("GET", "/arrangement-terms/{policy_id}"): lambda a, b: a.get(f"/arrangement-terms/{b['policy_id']}"),
    ("PUT", "/arrangement-terms/{policy_id}"): lambda a, b: a.put(
        f"/arrangement-terms/{b['policy_id']}", json={"allowed": False}),
    ("DELETE", "/arrangement-terms/{policy_id}"): lambda a, b: a.delete(f"/arrangement-terms/{b['policy_id']}"),
    ("GET", "/letters/{letter_pdf}"): lambda a, b: a.get(f"/letters/{b.get('letter_id', 'let_x')}.pdf"),
}


def _api_routes_with_ids(app: Litestar) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        path = route.path
        if not path.startswith("/api/v1/") or "{" not in path or "{path" in path:
            continue
        if path.startswith("/api/v1/providers/"):  # a provider's name, not an id: always the caller's own
            continue
        short = re.sub(r"\{(\w+):\w+\}", r"{\1}", path[len("/api/v1"):])
        for method in getattr(route, "methods", set()):
            if method not in ("HEAD", "OPTIONS"):
                found.add((method, short))
    return found


def test_every_endpoint_with_an_id_is_walked(client: Any) -> None:
    missing = _api_routes_with_ids(client.app) - set(CALLS)
    assert not missing, f"add these endpoints to the isolation walk: {sorted(missing)}"


def test_a_key_of_one_organisation_gets_404_for_every_id_of_another(api: Api, other_api: Api, db: Session) -> None:
    b = _b_world(other_api)
    before = other_api.get(f"/invoices/{b['invoice_id']}").json()
    for (method, path), call in CALLS.items():
        if (method, path) not in _api_routes_with_ids(api.client.app):
            continue
        r = call(api, b)
        assert r.status_code == 404, f"{method} {path} answered {r.status_code}: {r.text}"
        assert "B customer" not in r.text
    assert other_api.get(f"/invoices/{b['invoice_id']}").json() == before
    assert other_api.get(f"/customers/{b['customer_id']}").json()["name"] == "B customer"


def test_creating_with_another_organisations_ids_writes_nothing(api: Api, other_api: Api, db: Session) -> None:
    b = _b_world(other_api)
    mine = api.customer(name="Mine")
    counts = [db.scalar(select(func.count()).select_from(m)) for m in (Customer, Invoice, Payment)]
    r = api.post("/invoices", json={"customer_id": b["customer_id"], "number": "A-1", "issue_date": "2026-01-01",
                                    "amount": "1.00"})
    assert r.status_code == 422 and r.json()["field"] == "customer_id"
    r = api.post("/payments", json={"customer_id": b["customer_id"], "amount": "1.00"})
    assert r.status_code == 422
    r = api.post("/payments", json={"customer_id": mine["id"], "amount": "1.00",
                                    "allocations": [{"invoice_id": b["invoice_id"], "amount": "1.00"}]})
    assert r.status_code == 422 and r.json()["field"] == "allocations[0].invoice_id"
    db.expire_all()
    assert [db.scalar(select(func.count()).select_from(m)) for m in (Customer, Invoice, Payment)] == counts


def test_lists_never_show_another_organisations_rows(api: Api, other_api: Api) -> None:
    b = _b_world(other_api)
    api.customer(name="Mine")
    for path in ("/customers", "/invoices", "/payments", "/policies", "/tasks", "/events", "/bank-transactions"):
        r = api.get(path)
        if r.status_code == 404:
            continue
        assert r.status_code == 200, path
        assert b["customer_id"] not in r.text and b["invoice_id"] not in r.text, path
    assert api.get("/customers", params={"external_ref": "B customer"}).json()["items"] == []
