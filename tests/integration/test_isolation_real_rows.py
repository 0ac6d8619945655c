"""Isolation on real rows: organisation B has an open call task, an open debtor request and an
unmatched bank credit; organisation A's key, given their real ids, gets 404 on each and changes
nothing of B's (no task closed, no request decided, no payment registered on either side)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import debtor_requests
from domain.models import Customer
from settle import scheduler
from tests.conftest import Api, Tenant

B_NAME = "Secret Debtor of B"


def _statement(amount: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
  <GrpHdr><MsgId>B1</MsgId><CreDtTm>2026-06-10T10:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>B-STMT-1</Id><CreDtTm>2026-06-10T10:00:00</CreDtTm>
    <Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>
    <Ntry><NtryRef>B-1</NtryRef><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2026-06-10</Dt></BookgDt><ValDt><Dt>2026-06-10</Dt></ValDt>
      <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
        <RltdPties><Dbtr><Nm>{B_NAME}</Nm></Dbtr><DbtrAcct><Id><IBAN>NL44INGB0001234567</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf><Ustrd>van mijn zoon</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
  </Stmt></BkToCstmrStmt></Document>""".encode()


def _b_world(b: Api, b_tenant: Tenant, db: Session, engine: Engine, settings: Settings) -> dict[str, Any]:
    customer = b.customer(name=B_NAME)
    called = b.invoice(customer["id"], "B-CALL", "100.00", due_date="2026-03-01")
    disputed = b.invoice(customer["id"], "B-DISPUTE", "200.00", due_date="2026-03-01")
    # A dispute pulls its invoice out of dunning, so it comes after the run that makes the call task.
    scheduler.run(engine, settings, as_of=dt.date(2026, 3, 22), org_slug=b_tenant.slug)
    tasks = b.get("/tasks", params={"status": "open"}).json()["items"]
    assert len(tasks) == 1 and called["id"] in tasks[0]["invoice_ids"], tasks
    request = debtor_requests.create(
        db, db.get_one(Customer, customer["id"]), kind="dispute", invoice_ids=[disputed["id"]],
        message="Never received it", reason="not_received", date=None, as_of=dt.date(2026, 3, 23),
    )  # fmt: skip
    db.commit()
    upload = b.post("/bank-statements", content=_statement("123.45"), params={"filename": "b.xml"},
                    headers={"Content-Type": "application/xml"})  # fmt: skip
    assert upload.status_code == 201 and upload.json()["unmatched"] == 1, upload.text
    [tx] = b.get("/bank-transactions", params={"status": "unmatched"}).json()["items"]
    return {"customer": customer, "invoices": [called, disputed], "task_id": tasks[0]["id"],
            "request_id": request.id, "transaction_id": tx["id"]}  # fmt: skip


def _b_snapshot(b: Api, world: dict[str, Any]) -> dict[str, Any]:
    return {
        "task": next(t for t in b.get("/tasks").json()["items"] if t["id"] == world["task_id"]),
        "request": b.get(f"/requests/{world['request_id']}").json(),
        "transaction": next(t for t in b.get("/bank-transactions").json()["items"]
                            if t["id"] == world["transaction_id"]),
        "invoices": [b.get(f"/invoices/{i['id']}").json() for i in world["invoices"]],
        "payments": b.get("/payments").json()["items"],
    }  # fmt: skip


def test_a_key_of_a_gets_404_on_bs_real_task_request_and_bank_line_and_nothing_of_b_changes(
    api: Api, other_api: Api, other_tenant: Tenant, db: Session, engine: Engine, settings: Settings
) -> None:
    world = _b_world(other_api, other_tenant, db, engine, settings)
    before = _b_snapshot(other_api, world)
    assert before["task"]["status"] == "open" and before["request"]["status"] == "open"
    assert before["transaction"]["status"] == "unmatched"
    mine = api.customer(name="A's own customer")
    mine_invoice = api.invoice(mine["id"], "A-1", "123.45")

    attempts = {
        "complete B's task": api.post(f"/tasks/{world['task_id']}/complete",
                                      json={"outcome": "promised", "promised_on": "2099-01-01"}),
        "read B's request": api.get(f"/requests/{world['request_id']}"),
        "accept B's dispute": api.post(f"/requests/{world['request_id']}/resolve",
                                       json={"decision": "accepted", "note": "A says so"}),
        "reject B's dispute": api.post(f"/requests/{world['request_id']}/resolve", json={"decision": "rejected"}),
        "take B's money for A's customer": api.post(f"/bank-transactions/{world['transaction_id']}/match",
                                                    json={"customer_id": mine["id"]}),
        "take B's money for A's invoice": api.post(f"/bank-transactions/{world['transaction_id']}/match",
                                                   json={"invoice_ids": [mine_invoice["id"]]}),
        "match B's money to B's customer": api.post(f"/bank-transactions/{world['transaction_id']}/match",
                                                    json={"customer_id": world["customer"]["id"]}),
    }  # fmt: skip
    for what, r in attempts.items():
        assert r.status_code == 404, f"{what}: {r.status_code} {r.text}"
        assert r.json()["error"] == "not_found", what
        assert B_NAME not in r.text and "123.45" not in r.text and "B-DISPUTE" not in r.text, what

    assert _b_snapshot(other_api, world) == before
    assert api.get("/payments").json()["items"] == []
    assert api.get(f"/invoices/{mine_invoice['id']}").json()["open_amount"] == "123.45"
    for path in ("/tasks", "/requests", "/bank-transactions"):
        assert api.get(path).json()["items"] == [], path


def test_b_itself_can_still_act_on_those_rows_afterwards(
    api: Api, other_api: Api, other_tenant: Tenant, db: Session, engine: Engine, settings: Settings
) -> None:
    """The control: the 404s above are about whose key it is, not about rows that cannot be acted on."""
    world = _b_world(other_api, other_tenant, db, engine, settings)
    api.post(f"/tasks/{world['task_id']}/complete", json={"outcome": "reached"})
    r = other_api.post(f"/tasks/{world['task_id']}/complete", json={"outcome": "reached"})
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    r = other_api.post(f"/requests/{world['request_id']}/resolve", json={"decision": "rejected"})
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    r = other_api.post(f"/bank-transactions/{world['transaction_id']}/match",
                       json={"customer_id": world["customer"]["id"]})  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "matched", r.text
