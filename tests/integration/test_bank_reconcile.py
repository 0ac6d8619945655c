"""Bank statements in, payments matched to invoices without a person where it is certain."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Api

BANK = Path(__file__).resolve().parents[1] / "data" / "bank"


def camt(*lines: dict[str, Any], stmt_id: str = "STMT-1") -> bytes:
    """A CAMT.053.001.02 statement with one Ntry per line (amount, credit, iban, name, text, ref)."""
    entries = []
    for i, ln in enumerate(lines):
        party = "Dbtr" if ln.get("credit", True) else "Cdtr"
        strd = f"<Strd><CdtrRefInf><Ref>{ln['ref']}</Ref></CdtrRefInf></Strd>" if ln.get("ref") else ""
        ustrd = f"<Ustrd>{ln['text']}</Ustrd>" if ln.get("text") else ""
        entries.append(f"""
      <Ntry><NtryRef>{stmt_id}-{i}</NtryRef><Amt Ccy="EUR">{ln["amount"]}</Amt>
        <CdtDbtInd>{"CRDT" if ln.get("credit", True) else "DBIT"}</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>{ln.get("date", "2026-06-10")}</Dt></BookgDt><ValDt><Dt>{ln.get("date", "2026-06-10")}</Dt></ValDt>
        <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <RltdPties><{party}><Nm>{ln.get("name", "Payer")}</Nm></{party}>
            <{party}Acct><Id><IBAN>{ln.get("iban", "NL02ABNA0123456789")}</IBAN></Id></{party}Acct></RltdPties>
          <RmtInf>{ustrd}{strd}</RmtInf></TxDtls></NtryDtls></Ntry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-06-10T10:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>{stmt_id}</Id><CreDtTm>2026-06-10T10:00:00</CreDtTm>
    <Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>{"".join(entries)}
  </Stmt></BkToCstmrStmt></Document>""".encode()


def upload(api: Api, data: bytes, name: str = "stmt.xml") -> Any:
    return api.post(
        "/bank-statements",
        content=data,
        params={"filename": name},
        headers={"Content-Type": "application/octet-stream"},
    )


def test_structured_reference_matches_and_pays_the_invoice(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-1", "250.00")
    r = upload(api, camt({"amount": "250.00", "ref": inv["payment_reference"]}))
    assert r.status_code == 201, r.text
    assert (r.json()["matched"], r.json()["unmatched"]) == (1, 0)
    assert api.get(f"/invoices/{inv['id']}").json()["status"] == "paid"
    payment = api.get("/payments").json()["items"][0]
    assert payment["method"] == "bank" and payment["received_on"] == "2026-06-10"


def test_reference_in_free_text_with_spaces_matches(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-1", "80.00")
    ref = inv["payment_reference"]
    spaced = " ".join(ref[i : i + 4] for i in range(0, 16, 4))
    upload(api, camt({"amount": "80.00", "text": f"betaling kenmerk {spaced} dank"}))
    assert api.get(f"/invoices/{inv['id']}").json()["status"] == "paid"


def test_one_line_paying_three_invoices_by_their_numbers(api: Api) -> None:
    c = api.customer()
    invs = [
        api.invoice(c["id"], f"2026-{n}", amt) for n, amt in (("101", "100.00"), ("102", "50.00"), ("103", "25.00"))
    ]
    r = upload(api, camt({"amount": "175.00", "text": "Facturen 2026-101, 2026-102 en 2026-103"}))
    assert r.json()["matched"] == 1
    assert [api.get(f"/invoices/{i['id']}").json()["status"] for i in invs] == ["paid", "paid", "paid"]


def test_half_an_invoice_leaves_the_rest_open(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-9", "300.00")
    upload(api, camt({"amount": "150.00", "text": "deelbetaling F-9"}))
    after = api.get(f"/invoices/{inv['id']}").json()
    assert after["status"] == "open" and after["open_amount"] == "150.00"


def test_overpayment_leaves_a_visible_credit(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-7", "100.00")
    upload(api, camt({"amount": "120.00", "ref": inv["payment_reference"]}))
    assert api.get("/payments").json()["items"][0]["unallocated_amount"] == "20.00"


def test_known_iban_and_an_amount_equal_to_two_open_invoices(api: Api) -> None:
    c = api.customer()
    first = api.invoice(c["id"], "A-1", "40.00")
    upload(
        api,
        camt({"amount": "40.00", "ref": first["payment_reference"], "iban": "NL18RABO0123459876"}, stmt_id="S1"),
        "one.xml",
    )
    a2 = api.invoice(c["id"], "A-2", "30.00")
    a3 = api.invoice(c["id"], "A-3", "45.00", due_date="2026-02-15")
    api.invoice(c["id"], "A-4", "99.00", due_date="2026-03-15")
    r = upload(
        api, camt({"amount": "75.00", "text": "zie bijlage", "iban": "NL18RABO0123459876"}, stmt_id="S2"), "two.xml"
    )
    assert r.json()["matched"] == 1
    assert api.get(f"/invoices/{a2['id']}").json()["status"] == "paid"
    assert api.get(f"/invoices/{a3['id']}").json()["status"] == "paid"


def test_unmatched_credit_waits_with_candidates_and_is_matched_by_hand(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-1", "60.00")
    upload(
        api,
        camt(
            {"amount": "60.00", "text": "van mijn zoon", "iban": "NL44INGB0001234567"},
            {"amount": "12.50", "credit": False, "text": "bankkosten"},
        ),
    )
    unmatched = api.get("/bank-transactions", params={"status": "unmatched"}).json()["items"]
    assert len(unmatched) == 1
    tx = unmatched[0]
    assert tx["amount"] == "60.00" and tx["candidates"][0]["invoice_id"] == inv["id"]
    outgoing = api.get("/bank-transactions", params={"status": "outgoing"}).json()["items"]
    assert [o["amount"] for o in outgoing] == ["-12.50"]
    r = api.post(f"/bank-transactions/{tx['id']}/match", json={"invoice_ids": [inv["id"]]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "matched"
    assert api.get(f"/invoices/{inv['id']}").json()["status"] == "paid"
    again = api.post(f"/bank-transactions/{tx['id']}/match", json={"invoice_ids": [inv["id"]]})
    assert again.status_code == 409


def test_the_same_statement_twice_imports_nothing_new(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "F-1", "500.00")
    data = camt({"amount": "100.00", "ref": inv["payment_reference"]})
    assert upload(api, data).json()["new"] == 1
    second = upload(api, data)
    assert second.status_code == 200 and second.json()["new"] == 0
    assert api.get(f"/invoices/{inv['id']}").json()["open_amount"] == "400.00"
    assert len(api.get("/payments").json()["items"]) == 1


def test_a_broken_file_is_refused_and_nothing_is_imported(api: Api) -> None:
    r = upload(api, b"<Document><BkToCstmrStmt><Stmt>", "broken.xml")
    assert r.status_code == 422 and r.json()["field"] == "file" and "broken.xml" in r.json()["message"]
    assert api.get("/bank-transactions").json()["items"] == []


def test_every_sample_statement_imports(api: Api) -> None:
    for path in sorted(BANK.rglob("*")):
        if path.suffix in (".sta", ".xml"):
            r = upload(api, path.read_bytes(), path.name)
            assert r.status_code in (200, 201), (path.name, r.text)
    assert api.get("/bank-transactions", params={"limit": 500}).json()["items"]


def test_cli_import_bank(scratch_database: Any) -> None:
    settle = shutil.which("settle", path=str(Path(sys.executable).parent)) or "settle"
    env = {**os.environ, "SETTLE_DATABASE_URL": scratch_database()}
    subprocess.run([settle, "org", "create", "--name", "Acme"], env=env, check=True, capture_output=True)
    sta = BANK / "mt940" / "rabobank-iban.sta"
    first = subprocess.run(
        [settle, "import", "bank", str(sta), "--org", "acme"], env=env, capture_output=True, text=True
    )
    assert first.returncode == 0 and "4 new" in first.stdout, first.stderr
    again = subprocess.run(
        [settle, "import", "bank", str(sta), "--org", "acme"], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0 and "0 new" in again.stdout
    bad = subprocess.run(
        [settle, "import", "bank", str(Path(__file__)), "--org", "acme"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "nothing imported" in bad.stderr
