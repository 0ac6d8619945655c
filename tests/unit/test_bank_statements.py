"""Every real statement in shared/data/bank parses, with its lines counted and totalled.

The expected counts and totals were read off the files by hand (summing their
:61: lines and Ntry amounts); where a file's own balances add up (opening plus
its lines equals closing), that is checked too. Several sample files are
synthetic and do not balance, which the test records rather than hides.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.bank import StatementError, parse_statement

BANK = Path(__file__).resolve().parents[1] / "data" / "bank"

# file: (statements, lines, credits in cents, debits in cents, balanced statements)
EXPECTED = {
    "mt940/abnamro.sta": (2, 10, 0, -34593, False),
    "mt940/asnbank.sta": (31, 8, 282890, -277196, True),
    "mt940/ing.sta": (1, 7, 468, -5027, False),
    "mt940/knab.sta": (2, 3, 100000, -726000, False),
    "mt940/rabobank-iban.sta": (2, 4, 0, -7000, True),
    "mt940/rabobank.sta": (4, 5, 0, -158909, False),
    "mt940/sns.sta": (2, 2, 0, -2500, True),
    "mt940/triodos.sta": (1, 2, 0, -71570, False),
    # Written for issue 14 in the style of the real files (see test_bank_mt940.py).
    "mt940/abnamro-86-continuation-starting-with-dash.940": (1, 2, 24200, -3550, True),
    "mt940/asn-sequence-day1.940": (1, 1, 25000, 0, True),
    "mt940/asn-sequence-day2.940": (1, 1, 0, -10000, True),
    "mt940/asn-sequence-day4-after-a-missing-statement.940": (1, 1, 8000, 0, True),
    "mt940/ing-type-code-three-letters-space.940": (1, 3, 12656, -157, True),
    "mt940/knab-last-statement-without-dash.940": (2, 2, 10000, -5000, True),
    "mt940/rabobank-ctrl-z-at-end.940": (1, 2, 12100, -2500, True),
    "mt940/sns-unbalanced-missing-line.940": (1, 2, 5000, -2000, False),
    "mt940/triodos-type-code-three-letters-space.940": (1, 2, 70000, -1570, True),
    "camt053/camt053.v2.five.decimals.xml": (1, 1, 885, 0, False),
    "camt053/camt053.v2.minimal.ultimate.xml": (1, 1, 885, 0, False),
    "camt053/camt053.v2.minimal.xml": (1, 1, 885, 0, False),
    "camt053/camt053.v2.multi.statement.xml": (2, 2, 885, -700, True),
    "camt053/camt053.v2.with-party-ids.xml": (1, 1, 885, 0, False),
    "camt053/camt053.v4.xml": (1, 1, 885, 0, False),
    "camt053/camt053.v8.xml": (1, 1, 885, 0, False),
}



def test_every_sample_file_is_covered() -> None:
    files = {str(p.relative_to(BANK)) for p in BANK.rglob("*") if p.suffix in (".sta", ".940", ".xml")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_statement_parses_with_its_counts_and_totals(name: str) -> None:
    statements = parse_statement((BANK / name).read_bytes(), name)
    n_statements, n_lines, credits, debits, balanced = EXPECTED[name]
    entries = [e for s in statements for e in s.entries]
    assert len(statements) == n_statements
    assert len(entries) == n_lines
    assert sum(e.amount_cents for e in entries if e.amount_cents > 0) == credits
    assert sum(e.amount_cents for e in entries if e.amount_cents < 0) == debits
    adds_up = all(
        s.opening_balance_cents is not None
        and s.closing_balance_cents is not None
        and s.opening_balance_cents + sum(e.amount_cents for e in s.entries) == s.closing_balance_cents
        for s in statements
    )
    assert adds_up == balanced
    assert len({e.dedupe_key for e in entries}) == len(entries)
    assert [e.dedupe_key for e in entries] == [
        e.dedupe_key for s in parse_statement((BANK / name).read_bytes(), name) for e in s.entries
    ]


def test_dutch_structured_fields_are_read() -> None:
    entries = [e for s in parse_statement((BANK / "mt940/rabobank-iban.sta").read_bytes(), "r") for e in s.entries]
    assert entries[0].counterparty_name == "CONTRA ACCOUNT HOLDER"
    assert entries[0].counterparty_iban == "NL70ABNA0987654321"
    assert entries[0].end_to_end_id == "01-01-2013 12:00 0030000987654321"
    assert entries[1].remittance_text == "Reference 201301234"
    asn = [e for s in parse_statement((BANK / "mt940/asnbank.sta").read_bytes(), "a") for e in s.entries]
    assert asn[0].counterparty_iban == "NL47INGB9999999999" and asn[0].counterparty_name == "hr gjlm paulissen"


def test_camt_reads_party_reference_and_rounds_five_decimals() -> None:
    entry = parse_statement((BANK / "camt053/camt053.v2.minimal.xml").read_bytes(), "c")[0].entries[0]
    assert (entry.counterparty_name, entry.counterparty_iban) == ("NAME NAME", "NL56AGDH9619008421")
    assert entry.structured_reference == "4654654654654654"
    five = parse_statement((BANK / "camt053/camt053.v2.five.decimals.xml").read_bytes(), "f")[0]
    assert five.entries[0].amount_cents == 885 and five.closing_balance_cents == 2705


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"hello, I am a letter", "neither a CAMT.053"),
        (b"<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy='EUR'>1.00", "not well-formed"),
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>', "refused"),
        (b"<Invoice/>", "not a CAMT.053"),
        (b":20:X\n:25:NL1\n:60F:C200101EUR1,00\n:61:2001010101D65,00NTRFNONREF\n", "no closing balance"),
        (b":20:X\n:25:NL1\n:60F:C200101EURabc\n:62F:C200101EUR1,00\n", "line 3"),
        (
            b"<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy='EUR'>x</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            b"</Ntry></Stmt></BkToCstmrStmt></Document>",
            "Ntry[1]",
        ),
    ],
)
def test_bad_files_say_what_and_where(data: bytes, fragment: str) -> None:
    with pytest.raises(StatementError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_statement(data, "upload")
