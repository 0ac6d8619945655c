"""Reconciliation in the terms of ``domain.reconcile``, and the size limits of every import.

- An RF creditor reference (ISO 11649) given with an invoice pays that invoice.
- A payer's known IBAN with an amount equal to exactly one open invoice pays that invoice.
- A returned direct debit (CAMT.053 return information, MT940 ``RD``) is recorded as
  ``returned`` and never matched, even when it carries an open invoice's reference.
- A bank statement or invoice file over 50 MB is refused, through the API and the CLI alike,
  with a message that names the file and the limit; so is a CSV of more than 100,000 rows.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import os
import shutil
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings
from domain.bank import MAX_BYTES as STATEMENT_MAX_BYTES
from domain.imports.invoices import MAX_BYTES as INVOICES_MAX_BYTES
from domain.imports.invoices import MAX_ROWS
from domain.models import BankStatement, BankTransaction, Invoice
from settle import scheduler
from tests.conftest import Api

SETTLE = shutil.which("settle", path=str(Path(sys.executable).parent)) or "settle"
OUR_IBAN = "NL91ABNA0417164300"
PAYER_IBAN = "NL18RABO0123459876"
RF = "RF18 5390 0754 7034"  # the worked example of ISO 11649


def _camt(*entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
  <GrpHdr><MsgId>GAPS</MsgId><CreDtTm>2026-06-10T10:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>GAPS-{hashlib.sha256("".join(entries).encode()).hexdigest()[:12]}</Id><CreDtTm>2026-06-10T10:00:00</CreDtTm>
    <Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>{"".join(entries)}
  </Stmt></BkToCstmrStmt></Document>""".encode()


def _credit(ref: str, amount: str, *, iban: str = PAYER_IBAN, text: str = "", structured: str = "",
            returned_because: str = "") -> str:  # fmt: skip
    """One booked credit; ``returned_because`` adds return information with that reason code."""
    strd = f"<Strd><CdtrRefInf><Ref>{structured}</Ref></CdtrRefInf></Strd>" if structured else ""
    ustrd = f"<Ustrd>{text}</Ustrd>" if text else ""
    rtr = f"<RtrInf><Rsn><Cd>{returned_because}</Cd></Rsn></RtrInf>" if returned_because else ""
    return f"""
      <Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-06-10</Dt></BookgDt><ValDt><Dt>2026-06-10</Dt></ValDt>
        <NtryDtls><TxDtls><Refs><EndToEndId>E2E-{ref}</EndToEndId></Refs>
          <RltdPties><Dbtr><Nm>Bakkerij Jansen</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>
          <RmtInf>{ustrd}{strd}</RmtInf>{rtr}</TxDtls></NtryDtls></Ntry>"""


def _upload(api: Api, data: Any, name: str = "statement.xml") -> Any:
    return api.post("/bank-statements", content=data, params={"filename": name},
                    headers={"Content-Type": "application/octet-stream"})  # fmt: skip


def _status(api: Api, invoice: dict[str, Any]) -> tuple[str, str]:
    now = api.get(f"/invoices/{invoice['id']}").json()
    return now["status"], now["open_amount"]


# --- matching -------------------------------------------------------------------------------


def test_an_rf_reference_issued_with_an_invoice_pays_it_structured_or_in_the_text(api: Api) -> None:
    c = api.customer()
    structured = api.invoice(c["id"], "RF-1", "250.00", payment_reference=RF)
    assert structured["payment_reference"] == RF  # kept as printed; matched normalised
    in_text = api.invoice(c["id"], "RF-2", "80.00", payment_reference="RF712348231")
    other = api.invoice(c["id"], "RF-3", "80.00")
    r = _upload(api, _camt(
        _credit("A", "250.00", structured="RF18539007547034", iban="NL44INGB0001234567"),
        _credit("B", "80.00", text="Betaling rf71 2348 231, dank u wel", iban="NL44INGB0001234567"),
    ))  # fmt: skip
    assert r.status_code == 201, r.text
    assert (r.json()["matched"], r.json()["unmatched"]) == (2, 0)
    assert _status(api, structured) == ("paid", "0.00")
    assert _status(api, in_text) == ("paid", "0.00")
    assert _status(api, other) == ("open", "80.00")


def test_an_rf_reference_with_a_wrong_check_digit_matches_nothing(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "RF-1", "250.00", payment_reference=RF)
    r = _upload(api, _camt(_credit("A", "250.00", text="RF19 5390 0754 7034", iban="NL44INGB0001234567")))
    assert (r.json()["matched"], r.json()["unmatched"]) == (0, 1)
    assert _status(api, inv) == ("open", "250.00")


def test_two_payments_from_one_new_iban_in_one_statement_both_match(api: Api) -> None:
    """The payer's IBAN is remembered once, not once per line (that used to be a 500)."""
    c = api.customer()
    a = api.invoice(c["id"], "N-1", "10.00")
    b = api.invoice(c["id"], "N-2", "20.00")
    r = _upload(api, _camt(_credit("A", "10.00", structured=a["payment_reference"]),
                           _credit("B", "20.00", structured=b["payment_reference"])))  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["matched"] == 2
    assert _status(api, a) == ("paid", "0.00") and _status(api, b) == ("paid", "0.00")
    # Known now: the next line from that IBAN with the amount of one open invoice pays it.
    c3 = api.invoice(c["id"], "N-3", "33.00")
    assert _upload(api, _camt(_credit("C", "33.00")), "next.xml").json()["matched"] == 1
    assert _status(api, c3) == ("paid", "0.00")


def test_a_known_iban_and_the_amount_of_exactly_one_open_invoice_pays_that_invoice(api: Api) -> None:
    c = api.customer()
    first = api.invoice(c["id"], "K-1", "40.00")
    # The first payment carries the reference; from then on Settle knows the payer's IBAN.
    _upload(api, _camt(_credit("A", "40.00", structured=first["payment_reference"])), "one.xml")
    older = api.invoice(c["id"], "K-2", "30.00", due_date="2026-02-01")
    target = api.invoice(c["id"], "K-3", "45.00", due_date="2026-03-01")
    newer = api.invoice(c["id"], "K-4", "99.00", due_date="2026-04-01")
    r = _upload(api, _camt(_credit("B", "45.00", text="zie bijlage")), "two.xml")
    assert r.json()["matched"] == 1
    assert _status(api, target) == ("paid", "0.00")
    assert _status(api, older) == ("open", "30.00") and _status(api, newer) == ("open", "99.00")
    line = next(t for t in api.get("/bank-transactions").json()["items"] if t["amount"] == "45.00")
    assert line["status"] == "matched" and line["counterparty_iban"] == PAYER_IBAN


def test_the_same_amount_from_an_unknown_iban_waits_for_a_person(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "K-1", "45.00")
    r = _upload(api, _camt(_credit("A", "45.00", text="zie bijlage", iban="NL44INGB0001234567")))
    assert (r.json()["matched"], r.json()["unmatched"]) == (0, 1)
    assert _status(api, inv) == ("open", "45.00")
    waiting = api.get("/bank-transactions", params={"status": "unmatched"}).json()["items"]
    assert [cand["invoice_id"] for cand in waiting[0]["candidates"]] == [inv["id"]]


def test_a_returned_direct_debit_in_camt_is_recorded_as_returned_and_never_matched(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "DD-1", "120.00")
    r = _upload(api, _camt(_credit("R", "120.00", structured=inv["payment_reference"], returned_because="MD06")))
    assert r.status_code == 201, r.text
    assert (r.json()["new"], r.json()["credits"], r.json()["matched"]) == (1, 0, 0)
    returned = api.get("/bank-transactions", params={"status": "returned"}).json()["items"]
    assert [(t["amount"], t["payment_id"], t["candidates"]) for t in returned] == [("120.00", None, [])]
    assert api.get("/bank-transactions", params={"status": "unmatched"}).json()["items"] == []
    assert api.get("/payments").json()["items"] == []
    assert _status(api, inv) == ("open", "120.00")
    r = api.post(f"/bank-transactions/{returned[0]['id']}/match", json={"invoice_ids": [inv["id"]]})
    assert r.status_code == 409 and "returned" in r.json()["message"]


def _mt940(mark: str, amount: str, details: str) -> bytes:
    closing = 1000 + int(amount.split(",")[0]) * (1 if mark in ("C", "RD") else -1)
    return (
        ":20:GAPS-940\r\n"
        f":25:{OUR_IBAN}\r\n"
        ":28C:1\r\n"
        ":60F:C260609EUR1000,00\r\n"
        f":61:2606100610{mark}{amount}NDDTNONREF\r\n"
        f":86:{details}\r\n"
        f":62F:C260610EUR{closing},00\r\n"
        "-\r\n"
    ).encode()


def test_an_mt940_rd_reversal_is_recorded_as_returned_and_never_matched(api: Api) -> None:
    c = api.customer()
    inv = api.invoice(c["id"], "DD-2", "100.00")
    data = _mt940("RD", "100,00", f"/EREF/DD-2//CNTP/{PAYER_IBAN}/RABONL2U/Bakkerij Jansen/Utrecht//"
                                  f"REMI/USTD//{inv['payment_reference']}/")  # fmt: skip
    r = _upload(api, data, "reversal.sta")
    assert r.status_code == 201, r.text
    assert (r.json()["new"], r.json()["matched"], r.json()["unmatched"]) == (1, 0, 0)
    returned = api.get("/bank-transactions", params={"status": "returned"}).json()["items"]
    assert [(t["amount"], t["payment_id"]) for t in returned] == [("100.00", None)]
    assert _status(api, inv) == ("open", "100.00")
    assert api.get("/payments").json()["items"] == []


def test_the_same_mt940_line_as_a_plain_credit_does_pay_the_invoice(api: Api) -> None:
    """The control for the test above: only the ``RD`` mark keeps the line from matching."""
    c = api.customer()
    inv = api.invoice(c["id"], "DD-2", "100.00")
    data = _mt940("C", "100,00", f"/EREF/DD-2//CNTP/{PAYER_IBAN}/RABONL2U/Bakkerij Jansen/Utrecht//"
                                 f"REMI/USTD//{inv['payment_reference']}/")  # fmt: skip
    assert _upload(api, data, "credit.sta").json()["matched"] == 1
    assert _status(api, inv) == ("paid", "0.00")


def _read_outbox(folder: Path) -> list[EmailMessage]:
    messages = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        messages.append(msg)
    return messages


def test_a_reminder_names_the_payment_reference_to_pay_with(
    api: Api, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    c = api.customer(locale="en")
    inv = api.invoice(c["id"], "F-2026-7", "250.00", payment_reference=RF, due_date="2026-03-01")
    scheduler.run(engine, settings, as_of=dt.date(2026, 3, 8))  # the default policy's reminder: 7 days late
    [message] = _read_outbox(tmp_path / "outbox")
    assert message["To"] == "ap@jansen.example"
    for part in ("plain", "html"):
        body = message.get_body(preferencelist=(part,))
        assert body is not None
        text = body.get_content()
        assert "F-2026-7" in text
        assert inv["payment_reference"].replace(" ", "") in text.replace(" ", ""), part


# --- size limits ----------------------------------------------------------------------------


def _just_over(path: Path, head: bytes, limit: int) -> Path:
    """A file of ``limit + 1`` bytes that starts like the real thing; the rest is a sparse hole."""
    with path.open("wb") as f:
        f.write(head)
        f.truncate(limit + 1)
    assert path.stat().st_size == limit + 1
    return path


def test_the_api_refuses_a_statement_over_50_mb_naming_the_file_and_the_limit(api: Api, tmp_path: Path) -> None:
    big = _just_over(tmp_path / "huge.xml", b'<?xml version="1.0"?><Document>', STATEMENT_MAX_BYTES)
    with big.open("rb") as f:
        r = _upload(api, f, "huge.xml")
    assert r.status_code == 413
    assert r.json() == {"error": "payload_too_large", "message": "huge.xml: the file is larger than 50 MB",
                        "field": "file"}  # fmt: skip
    assert api.get("/bank-transactions").json()["items"] == []


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SETTLE, *args], env=env, capture_output=True, text=True, timeout=120)


def _env(url: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}, "SETTLE_DATABASE_URL": url}


def _count(url: str, model: Any) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_the_cli_refuses_a_statement_over_50_mb_with_the_same_words(scratch_database: Any, tmp_path: Path) -> None:
    env = _env(scratch_database())
    assert _cli("org", "create", "--name", "Acme", env=env).returncode == 0
    big = _just_over(tmp_path / "huge.xml", b'<?xml version="1.0"?><Document>', STATEMENT_MAX_BYTES)
    r = _cli("import", "bank", str(big), "--org", "acme", env=env)
    assert r.returncode == 2, r.stderr
    assert f"{big}: the file is larger than 50 MB" in r.stderr and "nothing imported" in r.stderr
    assert _count(env["SETTLE_DATABASE_URL"], BankStatement) == 0
    assert _count(env["SETTLE_DATABASE_URL"], BankTransaction) == 0


def test_the_cli_refuses_an_invoice_file_over_50_mb_naming_the_file(scratch_database: Any, tmp_path: Path) -> None:
    env = _env(scratch_database())
    assert _cli("org", "create", "--name", "Acme", env=env).returncode == 0
    big = _just_over(tmp_path / "export.csv", b"number,customer_external_ref,issue_date,amount\n", INVOICES_MAX_BYTES)
    r = _cli("import", "invoices", str(big), "--org", "acme", env=env)
    assert r.returncode == 2, r.stderr
    assert f"{big}: nothing imported" in r.stderr and "the file is larger than 50 MB" in r.stderr
    assert _count(env["SETTLE_DATABASE_URL"], Invoice) == 0


def test_a_csv_of_more_than_100000_rows_is_refused_whole(scratch_database: Any, tmp_path: Path) -> None:
    env = _env(scratch_database())
    assert _cli("org", "create", "--name", "Acme", env=env).returncode == 0
    csv = tmp_path / "too-many.csv"
    with csv.open("w") as f:
        f.write("number,customer_external_ref,customer_name,issue_date,amount\n")
        f.writelines(f"F-{i},DEB-1,Bakkerij Jansen,2026-01-01,1.00\n" for i in range(MAX_ROWS + 1))
    r = _cli("import", "invoices", str(csv), "--org", "acme", env=env)
    assert r.returncode == 2, r.stderr
    assert f"{csv}: nothing imported" in r.stderr and f"more than {MAX_ROWS} rows; split the file" in r.stderr
    assert _count(env["SETTLE_DATABASE_URL"], Invoice) == 0
