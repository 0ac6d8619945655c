"""Aging, DSO and payment behaviour, computed from what a user entered through the API."""

from __future__ import annotations

from tests.conftest import Api


def test_aging_puts_each_open_amount_in_its_bucket_per_currency_and_customer(api: Api) -> None:
    a = api.customer(name="Alpha")
    b = api.customer(name="Beta")
    api.invoice(a["id"], "A-1", "100.00", due_date="2026-06-20")  # not due on 2026-06-15
    api.invoice(a["id"], "A-2", "200.00", due_date="2026-06-01")  # 14 days
    api.invoice(b["id"], "B-1", "300.00", due_date="2026-04-01")  # 75 days
    api.invoice(b["id"], "B-2", "50.00", due_date="2026-01-01", currency="USD")  # 165 days
    report = api.get("/reports/aging", params={"as_of": "2026-06-15"}).json()
    eur = next(t for t in report["totals"] if t["currency"] == "EUR")
    assert (eur["not_due"], eur["1_30"], eur["31_60"], eur["61_90"], eur["over_90"], eur["total"]) == (
        "100.00", "200.00", "0.00", "300.00", "0.00", "600.00")
    usd = next(t for t in report["totals"] if t["currency"] == "USD")
    assert usd["over_90"] == "50.00"
    beta_eur = next(r for r in report["customers"] if r["customer_name"] == "Beta" and r["currency"] == "EUR")
    assert beta_eur["61_90"] == "300.00"


def test_aging_on_a_past_date_ignores_later_payments(api: Api) -> None:
    a = api.customer()
    api.invoice(a["id"], "A-1", "100.00", due_date="2026-05-01")
    api.post("/payments", json={"customer_id": a["id"], "amount": "100.00", "received_on": "2026-06-10"})
    before = api.get("/reports/aging", params={"as_of": "2026-06-01"}).json()["totals"]
    assert before[0]["31_60"] == "100.00"  # 31 days overdue on 1 June
    assert api.get("/reports/aging", params={"as_of": "2026-06-15"}).json()["totals"] == []


def test_dso_is_receivables_over_sales_times_days(api: Api) -> None:
    a = api.customer()
    api.invoice(a["id"], "A-1", "900.00", issue_date="2026-04-01", due_date="2026-05-01")
    api.invoice(a["id"], "A-2", "900.00", issue_date="2026-05-01", due_date="2026-06-01")
    api.post("/payments", json={"customer_id": a["id"], "amount": "900.00", "received_on": "2026-05-20"})
    items = api.get("/reports/dso", params={"as_of": "2026-06-28", "period_days": 90}).json()["items"]
    # 900 still open of 1800 invoiced in 90 days: 45 days of sales outstanding.
    assert items == [{"currency": "EUR", "receivables": "900.00", "sales": "1800.00", "dso": "45.0"}]


def test_payment_behaviour_tells_new_loyal_and_risky_apart(api: Api) -> None:
    new = api.customer(name="New")
    assert api.get(f"/reports/customers/{new['id']}").json()["segment"] == "new"
    loyal = api.customer(name="Loyal")
    api.invoice(loyal["id"], "L-1", "10.00", due_date="2026-02-01")
    api.post("/payments", json={"customer_id": loyal["id"], "amount": "10.00", "received_on": "2026-01-30"})
    assert api.get(f"/reports/customers/{loyal['id']}").json()["segment"] == "loyal"
    risky = api.customer(name="Risky")
    api.invoice(risky["id"], "R-1", "10.00", due_date="2026-02-01")
    api.post("/payments", json={"customer_id": risky["id"], "amount": "10.00", "received_on": "2026-04-01"})
    body = api.get(f"/reports/customers/{risky['id']}").json()
    assert body["segment"] == "risky" and body["average_days_late"] == "59.0" and body["on_time_ratio"] == "0.00"
