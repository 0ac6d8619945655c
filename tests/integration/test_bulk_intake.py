"""`POST /invoices/bulk` as a set: a thousand items answered one by one, in a few statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from domain.models import Event, IdempotencyRecord, Invoice, Policy
from domain.payment_reference import is_valid_betalingskenmerk
from tests.conftest import Api

KINDS = ("unknown_customer", "number_in_db", "number_in_body", "bad_amount", "missing_field", "due_before_issue")


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _item(i: int, customers: list[dict[str, Any]], prefix: str = "F") -> dict[str, Any]:
    c = customers[i % len(customers)]
    body: dict[str, Any] = {"number": f"{prefix}-{i:04d}", "issue_date": "2026-03-01",
                            "amount": f"{10 + i}.{i % 100:02d}"}
    if i % 2:
        body["customer_id"] = c["id"]
    else:
        body["customer_external_ref"] = c["external_ref"]
    if i % 3 == 0:
        body["due_date"] = "2026-03-15"
    return body


def _body(customers: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[int, str | None]]]:
    """1,000 items with a bad one of each kind scattered every 50, and what each must answer."""
    items: list[dict[str, Any]] = []
    expected: list[tuple[int, str | None]] = []
    for i in range(1000):
        item = _item(i, customers)
        want: tuple[int, str | None] = (201, None)
        if i % 50 == 10:
            kind = KINDS[(i // 50) % len(KINDS)]
            if kind == "unknown_customer":
                item.pop("customer_external_ref", None)
                item["customer_id"] = "cus_nobody"
                want = (422, "customer_id")
            elif kind == "number_in_db":
                item["number"] = "F-EXISTS"
                want = (409, "number")
            elif kind == "number_in_body":
                item["number"] = items[-1]["number"]  # the item before, which is good
                want = (409, "number")
            elif kind == "bad_amount":
                item["amount"] = "12.345"
                want = (422, "amount")
            elif kind == "missing_field":
                del item["issue_date"]
                want = (422, None)  # as before: msgspec names a missing field in the message only
            else:
                item["due_date"] = "2026-02-01"
                want = (422, "due_date")
        items.append(item)
        expected.append(want)
    # a number first used by a refused item is still free for the next one
    items[20]["amount"], expected[20] = "-1.00", (422, "amount")
    items[21]["number"] = items[20]["number"]
    return items, expected


def _customers(api: Api, n: int = 25) -> list[dict[str, Any]]:
    out = []
    for c in range(n):
        extra: dict[str, Any] = {"payment_term_days": 14} if c % 4 == 0 else {}
        out.append(api.customer(name=f"Debiteur {c}", external_ref=f"DEB-{c:03d}", **extra))
    return out


def _count(db: Session, stmt: Any) -> int:
    return db.scalar(stmt) or 0


def test_a_thousand_items_with_bad_ones_scattered_answer_in_order_and_store_only_the_good(
    api: Api, db: Session
) -> None:
    customers = _customers(api)
    api.invoice(customers[0]["id"], "F-EXISTS")
    items, expected = _body(customers)
    key = {"Idempotency-Key": "intake-1"}
    r = api.post("/invoices/bulk", json={"items": items}, headers=key)
    assert r.status_code == 200, r.text
    body = r.json()
    got = [(x["status"], x.get("error", {}).get("field")) for x in body["items"]]
    assert got == expected
    assert [x["index"] for x in body["items"]] == list(range(1000))
    good = [i for i, (status, _) in enumerate(expected) if status == 201]
    assert body["created"] == len(good) and body["failed"] == 1000 - len(good)
    for x in body["items"]:
        assert x["ok"] == (x["status"] == 201)
        if x["ok"]:
            assert "error" not in x
        else:
            assert "invoice" not in x
            assert set(x["error"]) == {"error", "message", "field"}
            assert x["error"]["error"] == ("conflict" if x["status"] == 409 else "validation_error")
    for i in good:
        inv = body["items"][i]["invoice"]
        assert inv["number"] == items[i]["number"] and inv["amount"] == items[i]["amount"]
        assert inv["status"] == "open" and inv["open_amount"] == inv["amount"]
    for i in good[::97]:  # each answer is the invoice as reading it gives it
        inv = body["items"][i]["invoice"]
        assert api.get(f"/invoices/{inv['id']}").json() == inv
    assert "already exists" in body["items"][60]["error"]["message"]
    assert body["items"][210]["error"]["message"] == "Object missing required field `issue_date`"

    # the database holds exactly the good ones, each with its event and on its dunning track
    org_id = api.tenant.org_id
    rows = {i.number: i for i in db.scalars(select(Invoice).where(Invoice.org_id == org_id))}
    assert set(rows) == {items[i]["number"] for i in good} | {"F-EXISTS"}
    created = db.scalars(select(Event).where(Event.org_id == org_id, Event.kind == "invoice.created")).all()
    assert len(created) == len(good) + 1
    assert {e.subject_id for e in created} == {i.id for i in rows.values()}
    by_id: dict[str | None, Invoice] = {i.id: i for i in rows.values()}
    assert all(e.subject_type == "invoice" and e.actor is None and e.data == {
        "number": by_id[e.subject_id].number, "amount_cents": by_id[e.subject_id].amount_cents} for e in created)
    default_policy = db.scalars(select(Policy.id).where(Policy.org_id == org_id)).one()
    refs = [i.payment_reference for i in rows.values()]
    assert len(set(refs)) == len(refs) and all(r is not None and is_valid_betalingskenmerk(r) for r in refs)
    for i in good:
        inv, item = rows[items[i]["number"]], items[i]
        customer = next(c for c in customers if c["id"] == item.get("customer_id")
                        or c["external_ref"] == item.get("customer_external_ref"))  # fmt: skip
        term = customer["payment_term_days"] or 30
        due = dt.date.fromisoformat(item.get("due_date") or "2026-03-01") + dt.timedelta(
            days=0 if "due_date" in item else term)
        assert inv.customer_id == customer["id"] and inv.due_date == due
        assert inv.policy_id == default_policy and inv.dunning_anchor == due
        assert inv.next_action_on == due + dt.timedelta(days=7)  # the default policy's first reminder
        assert body["items"][i]["invoice"]["dunning"]["next_action_on"] == inv.next_action_on.isoformat()

    # as the single create sets it
    single = api.post("/invoices", json={**items[1], "number": "F-SINGLE"}).json()
    twin = body["items"][1]["invoice"]
    for field in ("customer_id", "issue_date", "due_date", "amount", "open_amount", "status", "dunning"):
        assert single[field] == twin[field], field

    # the same body under the same key replays the answer and writes nothing
    before = _count(db, select(func.count()).select_from(Invoice))
    again = api.post("/invoices/bulk", json={"items": items}, headers=key)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == body
    assert _count(db, select(func.count()).select_from(Invoice)) == before
    other = api.post("/invoices/bulk", json={"items": items[:10]}, headers=key)
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    assert _count(db, select(func.count()).select_from(Invoice)) == before
    assert _count(db, select(func.count()).select_from(IdempotencyRecord)) == 1


def test_a_bulk_takes_a_few_statements_however_many_items(api: Api, engine: Engine) -> None:
    customers = _customers(api, 5)
    counts = []
    for prefix, n in (("S", 10), ("L", 1000)):
        items = [_item(i, customers, prefix) for i in range(n)]
        items[3]["number"] = items[2]["number"]  # refusals cost no statement either
        items[5]["customer_id"] = "cus_nobody"
        with statements(engine) as seen:
            r = api.post("/invoices/bulk", json={"items": items}, headers={"Idempotency-Key": f"count-{prefix}"})
        assert r.status_code == 200 and r.json()["created"] == n - 2, r.text
        counts.append(len(seen))
    assert counts[0] == counts[1] <= 20, counts


def test_generated_references_never_repeat_one_in_use(api: Api, db: Session, monkeypatch: Any) -> None:
    """The batch draws references, checks them in one query, and draws again only for collisions."""
    from domain import invoices as invoices_mod

    c = api.customer(external_ref="DEB-1")
    taken = api.invoice(c["id"], "F-0")["payment_reference"]
    draws = iter([int(taken[1:]), int(taken[1:]), 7, 8, 9, 10])
    monkeypatch.setattr(invoices_mod.secrets, "randbelow", lambda _: next(draws))
    items = [{"customer_id": c["id"], "number": f"F-{i}", "issue_date": "2026-03-01", "amount": "1.00"}
             for i in range(1, 4)]  # fmt: skip
    r = api.post("/invoices/bulk", json={"items": items})
    assert r.status_code == 200 and r.json()["created"] == 3, r.text
    refs = [x["invoice"]["payment_reference"] for x in r.json()["items"]]
    assert taken not in refs and len(set(refs)) == 3
    assert all(is_valid_betalingskenmerk(ref) for ref in refs)


def test_rules_see_the_customer_history_as_one_at_a_time_would(api: Api) -> None:
    """A 'new customer' rule: a customer with a paid invoice is not new, also when that invoice
    came earlier in the same body; the customer's own policy wins over the rules."""
    new_rule = api.post("/policies", json={
        "name": "New", "applies_to": {"segment": "new"}, "priority": 10,
        "steps": [{"kind": "reminder", "days_after_due": 2}],
    }).json()  # fmt: skip
    own = api.post("/policies", json={"name": "Own", "steps": [{"kind": "reminder", "days_after_due": 5}]}).json()
    fresh, veteran, later, special = (api.customer(name=n, external_ref=n) for n in ("fresh", "vet", "later", "own"))
    api.invoice(veteran["id"], "V-0", open_amount="0.00")  # paid: not new any more
    assert api.patch(f"/customers/{special['id']}", json={"policy_id": own["id"]}).status_code == 200

    def inv(customer: dict[str, Any], number: str, **extra: Any) -> dict[str, Any]:
        return {"customer_id": customer["id"], "number": number, "issue_date": "2026-03-01",
                "due_date": "2026-03-31", "amount": "10.00", **extra}  # fmt: skip

    items = [inv(fresh, "A-1"), inv(veteran, "A-2"), inv(later, "A-3"), inv(later, "A-4", open_amount="0.00"),
             inv(later, "A-5"), inv(special, "A-6")]  # fmt: skip
    r = api.post("/invoices/bulk", json={"items": items})
    assert r.status_code == 200, r.text
    got = [(x["invoice"]["status"], x["invoice"]["dunning"]["next_action_on"]) for x in r.json()["items"]]
    assert got == [("open", "2026-04-02"), ("open", "2026-04-07"), ("open", "2026-04-02"), ("paid", None),
                   ("open", "2026-04-07"), ("open", "2026-04-05")]  # fmt: skip
    assert new_rule["id"] and own["id"]


def test_a_bulk_refuses_an_empty_or_oversized_body_as_a_whole(api: Api) -> None:
    assert api.post("/invoices/bulk", json={"items": []}).status_code == 422
    c = api.customer()
    items = [{"customer_id": c["id"], "number": f"X-{i}", "issue_date": "2026-03-01", "amount": "1.00"}
             for i in range(1001)]  # fmt: skip
    r = api.post("/invoices/bulk", json={"items": items})
    assert r.status_code == 422 and r.json()["field"] == "items"
    weird = [{"customer_id": c["id"], "number": 5, "issue_date": "2026-03-01", "amount": 1.5},
             {"customer_id": c["id"], "number": "Y-1", "issue_date": "2026-03-01", "amount": "ten"},
             {"customer_id": c["id"], "number": " ", "issue_date": "2026-03-01", "amount": "1.00"},
             {"customer_id": c["id"], "number": "Y-2", "issue_date": "2026-03-01", "amount": "5.00",
              "open_amount": "6.00"},
             {"customer_id": c["id"], "number": "Y-3", "issue_date": "2026-03-01", "amount": "5.00",
              "payment_reference": "1234567890123456"}]  # fmt: skip
    r = api.post("/invoices/bulk", json={"items": weird})
    assert r.status_code == 200, r.text
    assert [(x["status"], x["error"]["field"]) for x in r.json()["items"]] == [
        (422, "number"), (422, "amount"), (422, "number"), (422, "open_amount"),
        (422, "payment_reference"),
    ]
