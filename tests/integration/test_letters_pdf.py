"""PDF letters (issue 18): every letter kind in each language renders to an A4 PDF whose text
holds the debtor's address, the amounts, the reference and the legal wording; the address sits
in the DIN 5008 window; the EPC QR code on it decodes to the transfer the letter asks for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters import pdf
from adapters.rendering import money
from adapters.settings import Settings
from domain import letters
from tests.integration import letters_helpers as h
from tests.integration.dunning_helpers import run

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
LOCALES = [loc for loc in ("nl", "en", "fr") if (TEMPLATES / loc / "formal_notice.j2").exists()]

LEGAL = {  # what the law module has the letter say, per kind and language
    ("formal_notice", "nl"): ["in gebreke", "Besluit vergoeding voor buitengerechtelijke incassokosten"],
    ("formal_notice", "en"): ["notice of default", "Dutch Decree on extrajudicial collection costs"],
    ("formal_notice", "fr"): ["demeure"],
    ("collection_handover", "nl"): ["incassobureau"],
    ("collection_handover", "en"): ["collection agency"],
    ("collection_handover", "fr"): ["recouvrement"],
}
PAGE_WORDS = {"nl": ("Pagina", "van"), "en": ("Page", "of"), "fr": ("Page", "sur")}


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def day_of_letters(engine: Engine, settings: Settings, db: Session) -> tuple[str, list[h.Debtor]]:
    """One organisation that sends every step by post; one debtor per letter kind and language,
    each at its step on AS_OF; one run."""
    org = h.creditor(db)
    debtors = [h.debtor(db, org, kind, loc, n) for n, (kind, loc) in
               enumerate(((k, loc) for loc in LOCALES for k in h.KIND_DAYS), start=1)]  # fmt: skip
    run(engine, settings, db, h.AS_OF)
    return org.id, debtors


def test_every_letter_kind_in_each_language_renders_to_a_pdf_with_address_amounts_reference_and_law(
    db: Session, day_of_letters: tuple[str, list[h.Debtor]]
) -> None:
    org_id, debtors = day_of_letters
    rows = {r.customer_id: r for r in h.letters_of(db, org_id)}
    assert set(rows) == {d.customer_id for d in debtors}, "every debtor got exactly one letter"
    for d in debtors:
        letter = rows[d.customer_id]
        assert letter.kind == d.kind and letter.letter_date == h.AS_OF and letter.status == "pending"
        rendered = pdf.render(letters.html_of(db, letter))
        text = squash(h.pdf_text(rendered.data))
        for line in [d.name, *d.address]:
            assert line in text, f"{d.kind}/{d.locale}: address line {line!r} missing"
        assert d.invoice_number in text and d.reference in text
        assert squash(money(d.cents, "EUR", d.locale)) in text
        for words in LEGAL.get((d.kind, d.locale), []):
            assert words.lower() in text.lower(), f"{d.kind}/{d.locale}: {words!r} missing"
        assert h.ORG_NAME in text and re.search(r"KvK\)? 12345678", text)
        assert h.IBAN in text and "NL004495445B01" in text
        word, of = PAGE_WORDS[d.locale]
        assert f"{word} 1 {of} {rendered.pages}" in text


def test_the_address_lies_in_the_din_5008_window_and_the_text_is_selectable_in_embedded_fonts(
    db: Session, day_of_letters: tuple[str, list[h.Debtor]]
) -> None:
    org_id, debtors = day_of_letters
    rows = {r.customer_id: r for r in h.letters_of(db, org_id)}
    for d in debtors[:2]:
        data = pdf.render(letters.html_of(db, rows[d.customer_id])).data
        words = h.words_in_mm(data)
        address_words = [w for w in words if w["text"] in " ".join([d.name, *d.address]).split()]
        # The name's and address's words, each inside the window (with the page's other words outside).
        first = [w for w in words if w["text"] == "Dorpsstraat"]
        assert first and all(h.in_window(w) for w in first)
        window = [w for w in words if h.in_window(w)]
        for token in " ".join([d.name, *d.address]).split():
            assert any(w["text"] == token for w in window), f"{token!r} is not inside the window"
        assert address_words
        assert not any(w["text"] == d.invoice_number for w in window), "only the address shows in the window"
        embedded = h.fonts(data)
        assert embedded and all(re.fullmatch(r"[A-Z]{6}\+.+", f) for f in embedded), embedded  # subset-embedded


def test_the_epc_qr_code_decodes_to_the_transfer_the_letter_asks_for_and_the_second_to_the_portal(
    db: Session, day_of_letters: tuple[str, list[h.Debtor]], settings: Settings
) -> None:
    org_id, debtors = day_of_letters
    rows = {r.customer_id: r for r in h.letters_of(db, org_id)}
    for d in debtors:
        data = pdf.render(letters.html_of(db, rows[d.customer_id])).data
        codes = h.qr_codes(data)
        portal = [c for c in codes if c.startswith(settings.base_url + "/p/")]
        assert len(portal) == 1, f"{d.kind}/{d.locale}: {codes}"
        epc = [c for c in codes if c.startswith("BCD")]
        if d.kind == "collection_handover":
            assert epc == [], "a hand-over tells the debtor to pay the agency: no scan-to-pay to the creditor"
            continue
        open_cents = h.invoice(db, d.invoice_number).open_cents
        euros = f"EUR{open_cents // 100}.{open_cents % 100:02d}"
        # BCD, version 002, UTF-8, SCT, no BIC, name, IBAN, amount, no purpose, no structured
        # reference (a betalingskenmerk is not RF or OGM), the reference as text.
        assert epc == [f"BCD\n002\n1\nSCT\n\n{h.ORG_NAME}\n{h.IBAN}\n{euros}\n\n\n{d.reference}"], d.kind
