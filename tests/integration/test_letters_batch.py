"""The daily print batch (issue 18): one PDF with every letter on an odd page and a CSV manifest
beside it; marking the batch posted, which is when a consumer's fourteen days start; the API's
list, one PDF and mark-posted with organisation isolation and scopes; bad input is a 4xx / exit 2."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pdfplumber
from litestar.testing import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import apikeys, invoices
from domain.law.consumer_notice import earliest_costs_date
from domain.models import Event, Letter, Organisation, PolicyStep
from tests.conftest import Tenant
from tests.integration import letters_helpers as h
from tests.integration.dunning_helpers import cli_env, run, settle_command


def settle(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(settings.database_url, settings.mail_url)
    return subprocess.run([*settle_command(), *args], env=env, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip


def seed_day(engine: Engine, settings: Settings, db: Session, org: Organisation) -> dict[str, h.Debtor]:
    """Three formal notices on AS_OF: a consumer, a business, and a business with enough invoices
    for a letter of more than one page."""
    debtors = {
        "consumer": h.debtor(db, org, "formal_notice", "nl", 1, consumer=True),
        "business": h.debtor(db, org, "formal_notice", "en", 2),
        "long": h.debtor(db, org, "formal_notice", "nl", 3),
    }
    long = debtors["long"]
    for i in range(1, 31):
        invoices.create(db, org, invoices.NewInvoice(
            number=f"F2026-03{i:02d}", issue_date=h.AS_OF - dt.timedelta(days=65),
            due_date=h.AS_OF - dt.timedelta(days=35), amount_cents=10_000 + i, currency="EUR",
            customer_id=long.customer_id,
        ))  # fmt: skip
    run(engine, settings, db, h.AS_OF)
    return debtors


def test_the_print_batch_is_one_pdf_with_each_letter_on_an_odd_page_and_a_manifest_beside_it(
    engine: Engine, settings: Settings, db: Session, tmp_path: Path
) -> None:
    org = h.creditor(db, all_by_post=False)
    debtors = seed_day(engine, settings, db, org)
    target = tmp_path / "print" / "batch.pdf"
    done = settle(settings, "letters", "--date", h.AS_OF.isoformat(), "--org", org.slug, "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert "3 letters" in done.stdout
    with open(target.with_suffix(".csv"), newline="", encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    assert [m["customer"] for m in manifest] == sorted(d.name for d in debtors.values())
    with pdfplumber.open(target) as pdf:
        texts = [p.extract_text() or "" for p in pdf.pages]
    expected_pages = 0
    for i, m in enumerate(manifest):
        first, pages = int(m["first_page"]), int(m["pages"])
        assert first % 2 == 1, f"{m['customer']} starts on page {first}"
        assert first == expected_pages + 1
        assert m["customer"] in texts[first - 1] and m["kind"] == "formal_notice"
        expected_pages = first - 1 + pages + (1 if pages % 2 and i < len(manifest) - 1 else 0)
        if pages % 2 and i < len(manifest) - 1:
            assert texts[first - 1 + pages].strip() == "", "the page after a letter of odd length is blank"
    assert len(texts) == expected_pages
    long = next(m for m in manifest if m["customer"] == debtors["long"].name)
    assert int(long["pages"]) >= 2 and "F2026-0330" in long["invoice_numbers"].split()
    db.rollback()
    stored = {r.id: r.pages for r in h.letters_of(db, org.id)}
    assert stored == {m["letter_id"]: int(m["pages"]) for m in manifest}, "page counts are kept with the letters"


def test_marking_the_batch_posted_starts_the_consumers_fourteen_days_on_the_posting_day(
    engine: Engine, settings: Settings, db: Session
) -> None:
    org = h.creditor(db, all_by_post=False)
    debtors = seed_day(engine, settings, db, org)
    consumer_inv = h.invoice(db, debtors["consumer"].invoice_number)
    assert consumer_inv.costs_due_on == earliest_costs_date(h.AS_OF)  # as planned on the day it was written
    posted = h.AS_OF + dt.timedelta(days=3)
    done = settle(settings, "letters", "--mark-posted", h.AS_OF.isoformat(), "--posted-on", posted.isoformat(),
                  "--org", org.slug)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 letters marked posted" in done.stdout
    db.rollback()
    rows = h.letters_of(db, org.id)
    assert {(r.status, r.posted_on) for r in rows} == {("posted", posted)}
    consumer_inv = h.invoice(db, debtors["consumer"].invoice_number)
    assert consumer_inv.costs_due_on == earliest_costs_date(posted) > earliest_costs_date(h.AS_OF)
    assert len(list(db.scalars(select(Event).where(Event.kind == "letter.posted")))) == 3
    # The costs wait for the term counted from posting: not charged the day the old term ended.
    run(engine, settings, db, earliest_costs_date(h.AS_OF))
    assert h.invoice(db, debtors["consumer"].invoice_number).costs_cents == 0
    run(engine, settings, db, earliest_costs_date(posted))
    assert h.invoice(db, debtors["consumer"].invoice_number).costs_cents > 0
    again = settle(settings, "letters", "--mark-posted", h.AS_OF.isoformat(), "--org", org.slug)
    assert again.returncode == 0 and "0 letters marked posted" in again.stdout and "(3 posted before)" in again.stdout
    db.rollback()
    assert {r.posted_on for r in h.letters_of(db, org.id) if r.letter_date == h.AS_OF} == {posted}, \
        "posting again changes no date"


def test_bad_dates_and_usage_exit_2_naming_the_option_and_write_nothing(settings: Settings, db: Session,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    org = h.creditor(db)
    db.commit()
    target = tmp_path / "x.pdf"
    for args, named in [
        (["--date", "01-06-2026"], "--date"),
        (["--date", "2026-13-01"], "--date"),
        (["--mark-posted", "yesterday"], "--mark-posted"),
        (["--mark-posted", "2026-06-01", "--posted-on", "2026-05-31"], "posted_on"),
        ([], "--date"),
        (["--date", "2026-06-01", "--mark-posted", "2026-06-01"], "--date"),
    ]:
        done = settle(settings, "letters", *args, "--org", org.slug, "--output", str(target))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert named in done.stderr and "Traceback" not in done.stderr
    assert not target.exists()
    unknown = settle(settings, "letters", "--date", "2026-06-01", "--org", "no-such-org")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr


def _key(db: Session, org_id: str, *scopes: str) -> dict[str, str]:
    issued = apikeys.issue(db, org_id, list(scopes))
    db.commit()
    return {"Authorization": f"Bearer {issued.key}"}


def test_api_lists_letters_serves_one_as_pdf_and_marks_a_day_posted_for_its_own_organisation_only(
    engine: Engine, settings: Settings, db: Session, client: TestClient[Any], other_tenant: Tenant
) -> None:
    org = h.creditor(db, all_by_post=False)
    debtors = seed_day(engine, settings, db, org)
    headers = _key(db, org.id, "letters:read")
    listed = client.get("/api/v1/letters", params={"date": h.AS_OF.isoformat(), "status": "pending"},
                        headers=headers)  # fmt: skip
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert {i["customer_id"] for i in items} == {d.customer_id for d in debtors.values()}
    assert client.get("/api/v1/letters", params={"date": "2026-06-02"}, headers=headers).json()["items"] == []
    one = items[0]
    got = client.get(one["pdf_url"], headers=headers)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/pdf")
    text = h.pdf_text(got.content)
    assert one["invoice_numbers"][0] in text
    # Another organisation's key: 404, never the letter; the same for a missing id or suffix.
    assert client.get(one["pdf_url"], headers=other_tenant.headers).status_code == 404
    assert client.get(f"/api/v1/letters/{one['id']}", headers=headers).status_code == 404
    assert client.get("/api/v1/letters/let_nothing.pdf", headers=headers).status_code == 404
    # Scopes: read cannot post; a key without letters scope cannot read.
    body = {"date": h.AS_OF.isoformat(), "posted_on": h.AS_OF.isoformat()}
    assert client.post("/api/v1/letters/mark-posted", json=body, headers=headers).status_code == 403
    assert client.get("/api/v1/letters", headers=_key(db, org.id, "invoices:read")).status_code == 403
    # Bad input: a date that is not YYYY-MM-DD, an unknown status, posting before the letters' day.
    assert client.get("/api/v1/letters", params={"date": "01-06-2026"}, headers=headers).status_code == 400
    assert client.get("/api/v1/letters", params={"status": "lost"}, headers=headers).status_code == 422
    writer = _key(db, org.id, "letters:write")
    early = client.post("/api/v1/letters/mark-posted", json={**body, "posted_on": "2026-05-01"}, headers=writer)
    assert early.status_code == 422 and early.json()["field"] == "posted_on"
    assert client.post("/api/v1/letters/mark-posted", json={"date": "june"}, headers=writer).status_code == 400
    # The other organisation marking the day posted touches none of these letters.
    other = client.post("/api/v1/letters/mark-posted", json=body, headers=other_tenant.headers)
    assert other.status_code == 200 and other.json()["posted"] == 0
    done = client.post("/api/v1/letters/mark-posted", json=body, headers=writer)
    assert done.status_code == 200 and done.json()["posted"] == 3 and done.json()["posted_on"] == body["posted_on"]
    db.rollback()
    assert {r.status for r in db.scalars(select(Letter).where(Letter.org_id == org.id))} == {"posted"}
    posted = client.get("/api/v1/letters", params={"status": "posted"}, headers=headers).json()["items"]
    assert len(posted) == 3 and {p["posted_on"] for p in posted} == {body["posted_on"]}


def test_a_batch_laid_out_in_chunks_keeps_every_letter_on_an_odd_page(
    engine: Engine, settings: Settings, db: Session, tmp_path: Path, monkeypatch: Any
) -> None:
    """The batch is laid out a few letters at a time and appended: the page numbers run on across
    the chunks, and a letter of odd length at a chunk's end is still followed by a blank page."""
    from adapters import pdf, print_batch

    org = h.creditor(db, all_by_post=False)
    seed_day(engine, settings, db, org)
    monkeypatch.setattr(pdf, "CHUNK", 2)
    written = print_batch.write(db, org.id, h.AS_OF, tmp_path / "chunked.pdf")
    assert written is not None and written.letters == 3
    with open(tmp_path / "chunked.csv", newline="", encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    with pdfplumber.open(tmp_path / "chunked.pdf") as made:
        texts = [p.extract_text() or "" for p in made.pages]
    assert len(texts) == written.pages
    for i, m in enumerate(manifest):
        first, pages = int(m["first_page"]), int(m["pages"])
        assert first % 2 == 1 and m["customer"] in texts[first - 1]
        if i < len(manifest) - 1:
            assert int(manifest[i + 1]["first_page"]) == first + pages + pages % 2


def test_a_letter_without_a_postal_address_is_marked_in_the_manifest_and_warned_about(
    engine: Engine, settings: Settings, db: Session, tmp_path: Path
) -> None:
    org = h.creditor(db, all_by_post=False)
    with_address = h.debtor(db, org, "formal_notice", "nl", 1)
    without = h.debtor(db, org, "formal_notice", "nl", 2)
    h.customer(db, without.customer_id).address = None
    run(engine, settings, db, h.AS_OF)
    target = tmp_path / "batch.pdf"
    done = settle(settings, "letters", "--date", h.AS_OF.isoformat(), "--org", org.slug, "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert "1 letters have no postal address" in done.stderr and without.name in done.stderr
    with open(target.with_suffix(".csv"), newline="", encoding="utf-8") as fh:
        marks = {m["customer"]: m["address"] for m in csv.DictReader(fh)}
    assert marks == {with_address.name: "yes", without.name: "missing"}


def test_without_weasyprint_the_app_runs_and_only_the_pdf_says_it_cannot_be_made(
    engine: Engine, settings: Settings, db: Session, client: TestClient[Any], monkeypatch: Any
) -> None:
    """Pango (or WeasyPrint) missing: the run still writes the letters, the list answers, and the
    PDF is a 503 that names what to install, not a 500."""
    import sys

    from adapters import pdf

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # ``import weasyprint`` raises ImportError
    pdf._weasyprint.cache_clear()
    try:
        org = h.creditor(db, all_by_post=False)
        h.debtor(db, org, "formal_notice", "nl", 1)
        run(engine, settings, db, h.AS_OF)
        headers = _key(db, org.id, "letters:read")
        [item] = client.get("/api/v1/letters", headers=headers).json()["items"]
        got = client.get(item["pdf_url"], headers=headers)
        assert got.status_code == 503 and got.json()["error"] == "pdf_unavailable"
        assert "libpango" in got.json()["message"]
        assert not pdf.available()
    finally:
        pdf._weasyprint.cache_clear()


def test_a_belgian_paper_reminder_starts_its_waiting_period_from_the_posting_day(
    engine: Engine, settings: Settings, db: Session
) -> None:
    """Art. XIX.2 WER: after a first reminder on paper the consumer's term starts on the third
    working day after it was posted; posted three days late, the damages wait three days longer."""
    from domain import organisations
    from domain.law import be as be_law

    org, _ = organisations.create(db, "Brouwerij Brieven BV")
    organisations.update(db, org, {"country": "BE", "address": "Grote Markt 1\n1000 Brussel",
                                   "iban": "BE71096123456769", "vat_number": "BE0403170701",
                                   "enterprise_number": "0403.170.701"})  # fmt: skip
    db.flush()
    db.execute(update(PolicyStep).where(PolicyStep.org_id == org.id, PolicyStep.kind != "call_task")
               .values(channel="letter"))  # fmt: skip
    consumer = h.debtor(db, org, "reminder", "nl", 1, consumer=True)
    run(engine, settings, db, h.AS_OF)
    planned = be_law.waiting_period(h.AS_OF, "paper").damages_from
    inv = h.invoice(db, consumer.invoice_number)
    assert inv.notice_sent_on == h.AS_OF and inv.costs_due_on == planned, "the first reminder, by post"
    posted = h.AS_OF + dt.timedelta(days=3)
    done = settle(settings, "letters", "--mark-posted", h.AS_OF.isoformat(), "--posted-on", posted.isoformat(),
                  "--org", org.slug)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 waiting periods now count from" in done.stdout
    db.rollback()
    later = be_law.waiting_period(posted, "paper").damages_from
    assert later > planned and h.invoice(db, consumer.invoice_number).costs_due_on == later
    # The Belgian letter's scan-to-pay code carries the invoice's OGM as the structured reference.
    from adapters import pdf
    from domain import letters as letters_mod

    [letter] = h.letters_of(db, org.id)
    codes = h.qr_codes(pdf.render(letters_mod.html_of(db, letter)).data)
    epcs = [c for c in codes if c.startswith("BCD")]
    assert len(epcs) == 1, codes
    epc = epcs[0]
    digits = "".join(ch for ch in consumer.reference if ch.isdigit())
    assert consumer.reference.startswith("+++") and len(digits) == 12
    assert epc.split("\n")[5:10] == ["Brouwerij Brieven BV", "BE71096123456769",
                                     epc.split("\n")[7], "", digits]  # fmt: skip
