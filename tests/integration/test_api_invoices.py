"""Invoices through the API, as an accounting system would use it."""

from __future__ import annotations

from tests.conftest import Api


def test_invoice_created_by_external_ref_carries_a_valid_payment_reference(api: Api) -> None:
    api.customer(external_ref="DEB-1")
    r = api.post("/invoices", json={"customer_external_ref": "DEB-1", "number": "F-1",
                                    "issue_date": "2026-03-01", "amount": "1250.00"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["amount"] == "1250.00" and body["open_amount"] == "1250.00"
    assert body["currency"] == "EUR" and body["status"] == "open"
    assert body["due_date"] == "2026-03-31"  # the organisation's 30-day default term
    assert len(body["payment_reference"]) == 16
    assert body["dunning"]["next_action_on"] == "2026-04-07"  # first reminder 7 days after due


def test_duplicate_invoice_number_is_a_conflict(api: Api) -> None:
    c = api.customer()
    api.invoice(c["id"], "F-9")
    r = api.post("/invoices", json={"customer_id": c["id"], "number": "F-9", "issue_date": "2026-01-01",
                                    "amount": "5.00"})
    assert r.status_code == 409
    assert r.json()["field"] == "number"


def test_manual_payment_settles_oldest_invoice_first(api: Api) -> None:
    c = api.customer()
    newer = api.invoice(c["id"], "F-2", "80.00", issue_date="2026-02-01", due_date="2026-03-01")
    older = api.invoice(c["id"], "F-1", "100.00")
    r = api.post("/payments", json={"customer_id": c["id"], "amount": "130.00", "received_on": "2026-03-05"})
    assert r.status_code == 201, r.text
    assert r.json()["allocations"] == [
        {"invoice_id": older["id"], "amount": "100.00"},
        {"invoice_id": newer["id"], "amount": "30.00"},
    ]
    assert api.get(f"/invoices/{older['id']}").json()["status"] == "paid"
    after = api.get(f"/invoices/{newer['id']}").json()
    assert after["status"] == "open" and after["open_amount"] == "50.00"


def test_overpayment_leaves_an_unallocated_credit(api: Api) -> None:
    c = api.customer()
    api.invoice(c["id"], "F-1", "100.00")
    r = api.post("/payments", json={"customer_id": c["id"], "amount": "150.00"})
    assert r.json()["unallocated_amount"] == "50.00"


def test_explicit_allocation_is_followed(api: Api) -> None:
    c = api.customer()
    first = api.invoice(c["id"], "F-1", "100.00")
    second = api.invoice(c["id"], "F-2", "100.00", due_date="2026-02-28")
    r = api.post("/payments", json={"customer_id": c["id"], "amount": "60.00",
                                    "allocations": [{"invoice_id": second["id"], "amount": "60.00"}]})
    assert r.status_code == 201, r.text
    assert api.get(f"/invoices/{first['id']}").json()["open_amount"] == "100.00"
    assert api.get(f"/invoices/{second['id']}").json()["open_amount"] == "40.00"


def test_cancel_pause_resume(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-1", due_date="2099-01-31", issue_date="2099-01-01")
    paused = api.post(f"/invoices/{inv['id']}/pause", json={"until": "2099-03-01", "reason": "talking"})
    assert paused.status_code == 200, paused.text
    assert paused.json()["dunning"]["paused_until"] == "2099-03-01"
    assert paused.json()["dunning"]["next_action_on"] == "2099-03-01"
    resumed = api.post(f"/invoices/{inv['id']}/resume").json()
    assert resumed["dunning"]["paused_until"] is None
    assert resumed["dunning"]["next_action_on"] == "2099-02-07"
    cancelled = api.post(f"/invoices/{inv['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["open_amount"] == "0.00"
    assert cancelled["dunning"]["next_action_on"] is None


def test_list_filters_and_cursor_pagination(api: Api) -> None:
    c = api.customer()
    other = api.customer(name="Other", external_ref="X")
    for i in range(5):
        api.invoice(c["id"], f"F-{i}")
    api.invoice(other["id"], "G-1", issue_date="2099-01-01", due_date="2099-02-01")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"customer_id": c["id"], "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/invoices", params=params).json()
        seen += [i["number"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"F-{i}" for i in range(5)]
    overdue = api.get("/invoices", params={"overdue": "true"}).json()["items"]
    assert {i["number"] for i in overdue} == {f"F-{i}" for i in range(5)}


def test_bulk_reports_each_item_and_one_bad_item_sinks_nothing(api: Api) -> None:
    c = api.customer()
    items = [
        {"customer_id": c["id"], "number": "B-1", "issue_date": "2026-01-01", "amount": "10.00"},
        {"customer_id": c["id"], "number": "B-2", "issue_date": "2026-01-01", "amount": "1.234"},
        {"customer_id": c["id"], "number": "B-1", "issue_date": "2026-01-01", "amount": "10.00"},
        {"customer_id": c["id"], "number": "B-3", "issue_date": "not a date", "amount": "10.00"},
        {"customer_id": c["id"], "number": "B-4", "issue_date": "2026-01-01", "amount": "20.00"},
    ]
    r = api.post("/invoices/bulk", json={"items": items})
    assert r.status_code == 200, r.text
    results = r.json()["items"]
    assert [x["status"] for x in results] == [201, 422, 409, 422, 201]
    assert results[1]["error"]["field"] == "amount"
    assert results[3]["error"]["field"] == "issue_date"
    numbers = {i["number"] for i in api.get("/invoices").json()["items"]}
    assert numbers == {"B-1", "B-4"}


def test_statement_totals_and_portal_link(api: Api) -> None:
    c = api.customer()
    api.invoice(c["id"], "F-1", "100.00")
    api.invoice(c["id"], "F-2", "50.50")
    st = api.get(f"/customers/{c['id']}/statement", params={"as_of": "2026-02-10"}).json()
    assert st["total"] == "150.50" and st["currency"] == "EUR"
    assert [ln["days_overdue"] for ln in st["invoices"]] == [10, 10]
    link = api.post(f"/customers/{c['id']}/portal-links", json={"expires_in_days": 7})
    assert link.status_code == 201, link.text
    assert link.json()["url"].startswith("http://settle.test/p/")
