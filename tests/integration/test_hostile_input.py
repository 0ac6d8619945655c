"""Hostile and out-of-range input gets a clear 4xx (``{error, message, field}``) or exit 2 with a
reason, never a 500 or a traceback, and leaves nothing half-written. Runs on SQLite and PostgreSQL
(``SETTLE_TEST_DATABASE_URL``): PostgreSQL is the one that refuses NUL characters and long strings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.imports import ImportFailed, apply, parse_file
from domain.models import Customer, Invoice, Organisation, Payment
from settle.cli import main
from tests.conftest import Api, Tenant

DATA = Path(__file__).resolve().parent.parent / "data"
HEADER = "number,customer_external_ref,customer_name,issue_date,due_date,amount,description\n"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _counts(db: Session) -> tuple[int, ...]:
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(m)) or 0 for m in (Invoice, Customer, Payment))


def _error(r: Any, status: int, field: str | None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "message", "field"} and body["field"] == field and body["message"], body
    return body


def _cli(database_url: str, path: Path, slug: str) -> Any:
    return CliRunner().invoke(main, ["import", "invoices", str(path), "--org", slug],
                              env={"SETTLE_DATABASE_URL": database_url})  # fmt: skip


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "field"), [
    ({"issue_date": "9999-12-31", "due_date": None}, "issue_date"),  # the computed due date overflowed
    ({"issue_date": "0001-01-01", "due_date": None}, "issue_date"),
    ({"issue_date": "2026-01-01", "due_date": "9999-12-31"}, "due_date"),
    ({"issue_date": "2099-12-30", "due_date": None}, "due_date"),  # + 30 days falls after 2099-12-31
])  # fmt: skip
def test_an_invoice_date_outside_the_window_is_a_422_naming_it(
    api: Api, db: Session, fields: dict[str, Any], field: str
) -> None:
    c = api.customer()
    body = {"customer_id": c["id"], "number": "F-1", "amount": "10.00", "currency": "EUR", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    assert "2099-12-31" in _error(api.post("/invoices", json=body), 422, field)["message"]
    r = api.post("/invoices/bulk", json={"items": [body]})
    assert r.status_code == 200 and r.json()["items"][0]["status"] == 422
    assert r.json()["items"][0]["error"]["field"] == field
    assert _counts(db)[0] == 0


def test_a_far_dunning_preview_date_is_a_422(api: Api) -> None:
    c = api.customer()
    api.invoice(c["id"], "F-1")
    for day in ("2400-01-01", "9999-12-31", "0001-01-01"):
        _error(api.get("/dunning/preview", params={"as_of": day}), 422, "as_of")
    assert api.get("/dunning/preview", params={"as_of": "2099-12-31"}).status_code == 200


# --- NUL -----------------------------------------------------------------------------------------


def test_a_nul_anywhere_in_a_request_is_a_400_and_writes_nothing(
    api: Api, client: TestClient[Any], db: Session
) -> None:
    c = api.customer()
    before = _counts(db)
    body = {"customer_id": c["id"], "number": "F-\u00001", "issue_date": "2026-01-01", "amount": "10.00",
            "currency": "EUR"}  # fmt: skip
    _error(api.post("/invoices", json=body), 400, "number")
    _error(api.post("/invoices", json={**body, "number": "F-1", "description": "a\u0000b"}), 400, "description")
    r = api.post("/invoices/bulk", json={"items": [{**body, "number": "F-2"}, {**body, "number": "F-\u00003"}]})
    _error(r, 400, "items[1].number")
    _error(api.post("/customers", json={"name": "Jansen\u0000"}), 400, "name")
    _error(api.get("/invoices", params={"number": "F\x001"}), 400, "number")
    _error(api.get("/invoices/inv%00x"), 400, "path")
    _error(client.post("/webhooks/mollie/org-a%00x", data={"id": "tr_1"}), 400, "path")
    _error(client.post("/webhooks/mollie/org-a", data={"id": "tr_\x001"}), 400, "id")
    assert _counts(db) == before


def test_a_nul_in_a_bank_statement_is_a_4xx_not_a_500(api: Api, db: Session) -> None:
    """A statement body is not read by the middleware; on PostgreSQL the NUL reaches the database,
    whose refusal answers 400 (api.errors), on SQLite it is stored or refused by the parser."""
    mt940 = (":20:NUL-940\r\n:25:NL91ABNA0417164300\r\n:28C:1\r\n:60F:C260609EUR1000,00\r\n"
             ":61:2606100610C10,00NTRFNONREF\r\n:86:/REMI/USTD//Jan\x00sen/\r\n:62F:C260610EUR1010,00\r\n-\r\n")
    r = api.post("/bank-statements", content=mt940.encode(), params={"filename": "nul.sta"},
                 headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert set(r.json()) == {"error", "message", "field"}


# --- CSV -----------------------------------------------------------------------------------------


def test_a_csv_field_longer_than_the_limit_refuses_the_file_with_its_line(db: Session, tenant: Tenant) -> None:
    data = (HEADER + "F-1,D-1,Jansen,2026-01-01,,10.00,ok\n" + "F-2,D-1,Jansen,2026-01-01,,10.00," + "x" * 140_000
            + "\n").encode()  # fmt: skip
    with pytest.raises(ImportFailed, match=r"line 3: a field is longer than 131072 characters"):
        parse_file(data, "long.csv")


def test_a_csv_with_an_unterminated_quote_is_refused_with_the_line_it_opened(db: Session) -> None:
    data = (HEADER + "F-1,D-1,Jansen,2026-01-01,,10.00,ok\n" + 'F-2,D-1,Jansen,2026-01-01,,10.00,"Levering\n'
            + "F-3,D-1,Jansen,2026-01-01,,10.00,ok\nF-4,D-1,Jansen,2026-01-01,,10.00,ok\n").encode()  # fmt: skip
    with pytest.raises(ImportFailed, match=r"line 3: a quoted field opens here and is never closed"):
        parse_file(data, "quote.csv")
    # A closed quote spanning lines is a field with a line break, as before.
    fine = (HEADER + 'F-2,D-1,Jansen,2026-01-01,,10.00,"Levering\nen montage"\n').encode()
    assert parse_file(fine, "fine.csv")[0].description == "Levering\nen montage"


def test_a_csv_with_a_nul_or_a_date_out_of_the_window_is_refused(db: Session) -> None:
    with pytest.raises(ImportFailed, match="line 2: holds a NUL"):
        parse_file((HEADER + "F-1,D-1,Jan\x00sen,2026-01-01,,10.00,\n").encode(), "nul.csv")
    with pytest.raises(ImportFailed, match="line 2: issue_date 0001-01-01 is outside"):
        parse_file((HEADER + "F-1,D-1,Jansen,0001-01-01,,10.00,\n").encode(), "old.csv")
    with pytest.raises(ImportFailed, match="line 2: customer_name is longer than 200"):
        parse_file((HEADER + f"F-1,D-1,{'J' * 201},2026-01-01,,10.00,\n").encode(), "name.csv")


@pytest.mark.parametrize("content", [
    HEADER + "F-1,D-1,Jansen,2026-01-01,,10.00," + "x" * 140_000 + "\n",
    HEADER + 'F-1,D-1,Jansen,2026-01-01,,10.00,ok\nF-2,D-1,Jansen,2026-01-01,,10.00,"open\n'
    + "F-3,D-1,J,2026-01-01,,1.00,\n",
    HEADER + "F-1,D-1,Jansen,9999-12-31,,10.00,\n",
    HEADER + "F-1,D-1,Jansen,2026-01-01,,10.00,ok\nF-2,D-1,Jan\x00sen,2026-01-01,,10.00,\n",
    HEADER + "F-1,D-1,Jansen,2026-01-01,,10.00,ok\nF-2,D-1,Jansen,2026-01-01,,10.00,ok," + "\n",
])  # fmt: skip
def test_the_cli_exits_2_with_a_reason_and_imports_nothing(
    db: Session, tenant: Tenant, database_url: str, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text(content)
    res = _cli(database_url, path, tenant.slug)
    assert res.exit_code == 2, (res.output, res.exception)
    assert "nothing imported" in res.output and "Traceback" not in res.output
    assert _counts(db) == (0, 0, 0)


# --- pdf_url -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>", "http://example.com/f.pdf",
                                 "ftp://example.com/f.pdf", "https://", "//example.com/f.pdf", "https://exa mple.com",
                                 "https://" + "a" * 500])  # fmt: skip
def test_a_pdf_url_that_is_not_https_is_a_422(api: Api, url: str) -> None:
    c = api.customer()
    body = {"customer_id": c["id"], "number": "F-1", "issue_date": "2026-01-01", "amount": "10.00",
            "currency": "EUR", "pdf_url": url}  # fmt: skip
    _error(api.post("/invoices", json=body), 422, "pdf_url")


def test_https_and_local_http_pdf_urls_are_accepted(api: Api) -> None:
    c = api.customer()
    for i, url in enumerate(["https://files.example/F-1.pdf", "http://localhost:8000/f.pdf", "http://127.0.0.1/f"]):
        assert api.invoice(c["id"], f"F-{i}", pdf_url=url)["pdf_url"] == url


# --- properties ----------------------------------------------------------------------------------

_VALID_CSV = (DATA / "invoices.csv").read_bytes()
_VALID_UBL = [(DATA / "invoice-ubl.xml").read_bytes(), *(p.read_bytes() for p in sorted((DATA / "ubl").glob("*.xml")))]
_TOKENS = [b"\x00", b'"', b",", b";", b"\n", b"9999-12-31", b"0001-01-01", b"-1.00", b"0.00", b"381", b"<", b"&#0;",
           b"]]>", b"\xff", b"x" * 1000, b"RF00", b"javascript:", "é".encode()]  # fmt: skip


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([_VALID_CSV, *_VALID_UBL])))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(_TOKENS), st.binary(max_size=8)))
        if kind == "insert":
            data[at:at] = piece
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        else:
            data[at:at + len(piece)] = piece
    return bytes(data)


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), _mutated()))
def test_importers_refuse_or_import_but_never_crash(db: Session, tenant: Tenant, data: bytes) -> None:
    org = db.get_one(Organisation, tenant.org_id)
    try:
        rows = parse_file(data, "fuzz")
        apply(db, org, rows, "fuzz")
    except ImportFailed as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
    finally:
        db.rollback()
    assert _counts(db) == (0, 0, 0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_mutated())
def test_the_cli_exits_0_or_2_and_a_refused_file_writes_nothing(
    db: Session, tenant: Tenant, database_url: str, tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "file"
    path.write_bytes(data)
    before = _counts(db)
    res = _cli(database_url, path, tenant.slug)
    assert res.exit_code in (0, 2), (res.output, res.exception)
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        assert _counts(db) == before


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(["9999-12-31", "0001-01-01", "2026-01-01", "10.00", "-1", "EUR", "javascript:x", "\x00"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=12,
)  # fmt: skip
_FIELDS = ["customer_id", "customer_external_ref", "number", "issue_date", "due_date", "amount", "currency",
           "open_amount", "payment_reference", "description", "pdf_url"]  # fmt: skip
_INVOICE = st.fixed_dictionaries({}, optional={f: _JSON for f in _FIELDS})


@FUZZ
@given(body=st.one_of(_JSON, _INVOICE), bulk=st.one_of(_JSON, st.fixed_dictionaries({"items": st.lists(
    st.one_of(_INVOICE, _JSON), max_size=4)})))  # fmt: skip
def test_posting_arbitrary_json_never_answers_500(api: Api, body: Any, bulk: Any) -> None:
    for path, payload in (("/invoices", body), ("/invoices/bulk", bulk)):
        r = api.post(path, content=json.dumps(payload), headers={"Content-Type": "application/json"})
        assert r.status_code < 500, (path, payload, r.text)
        if r.status_code >= 400:
            assert set(r.json()) == {"error", "message", "field"}


def test_a_far_as_of_on_the_command_line_exits_2_naming_it(tmp_path: Path, database_url: str) -> None:
    """``settle run --as-of 2400-01-01`` is bad input, not a traceback."""
    import os
    import subprocess
    import sys

    settle = Path(sys.executable).with_name("settle")
    env = {**os.environ, "SETTLE_DATABASE_URL": database_url, "SETTLE_SECRET_KEYS": "k",
           "SETTLE_MAIL_URL": f"file:{tmp_path}"}  # fmt: skip
    done = subprocess.run([str(settle), "run", "--as-of", "2400-01-01"], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "--as-of 2400-01-01 is outside the accepted dates" in done.stderr and "Traceback" not in done.stderr


def test_a_payment_outside_the_date_window_is_refused_by_name(api: Api) -> None:
    customer = api.customer()
    for day in ("0001-01-01", "2100-01-01"):
        r = api.post("/payments", json={"customer_id": customer["id"], "amount": "10.00", "received_on": day})
        assert r.status_code == 422 and r.json()["field"] == "received_on", r.text
    assert api.get("/payments").json()["items"] == []
