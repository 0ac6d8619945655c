"""CAMT.053: the real sample files, every version difference we rely on, and bad input.

The expected numbers below were read off the XML files by hand (their Ntry amounts
and CdtDbtInd, their OPBD/CLBD balances), not taken from the parser's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.bank import StatementError, parse_statement
from domain.bank.model import Statement

BANK = Path(__file__).resolve().parents[1] / "data" / "bank"
CAMT = BANK / "camt053"

# file: (entries per statement, credits in cents, debits in cents, per statement: opening, closing)
# All seven files are test fixtures of the Genkgo camt library (MIT, see the LICENSE there).
# Every statement has one Ntry of 8.85 EUR CRDT except the second of multi.statement (7.00 DBIT).
# OPBD is 18.15 CRDT; CLBD is 27.00 DBIT *in SEK* in most files (a made-up balance in another
# currency than the account's EUR, so it is not this account's closing balance: None), 27.05
# CRDT in five.decimals (written 18.150 / 27.050 / 8.850), and 27.00 then 20.00 CRDT in
# multi.statement, the only file whose balances add up: 18.15 + 8.85 = 27.00, 27.00 - 7.00 = 20.00.
EXPECTED: dict[str, tuple[list[int], int, int, list[tuple[int | None, int | None]]]] = {
    "camt053.v2.five.decimals.xml": ([1], 885, 0, [(1815, 2705)]),
    "camt053.v2.minimal.ultimate.xml": ([1], 885, 0, [(1815, None)]),
    "camt053.v2.minimal.xml": ([1], 885, 0, [(1815, None)]),
    "camt053.v2.multi.statement.xml": ([1, 1], 885, -700, [(1815, 2700), (2700, 2000)]),
    "camt053.v2.with-party-ids.xml": ([1], 885, 0, [(1815, None)]),
    "camt053.v4.xml": ([1], 885, 0, [(1815, None)]),
    "camt053.v8.xml": ([1], 885, 0, [(1815, None)]),
}


def parse_sample(name: str) -> list[Statement]:
    return parse_statement((CAMT / name).read_bytes(), name)


def test_every_sample_file_is_listed() -> None:
    assert {p.name for p in CAMT.glob("*.xml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_counts_totals_and_balances(name: str) -> None:
    per_statement, credits, debits, balances = EXPECTED[name]
    statements = parse_sample(name)
    assert [len(s.entries) for s in statements] == per_statement
    entries = [e for s in statements for e in s.entries]
    assert sum(e.amount_cents for e in entries if e.amount_cents > 0) == credits
    assert sum(e.amount_cents for e in entries if e.amount_cents < 0) == debits
    assert [(s.opening_balance_cents, s.closing_balance_cents) for s in statements] == balances
    for s in statements:
        assert s.format == "camt053" and s.currency == "EUR" and s.account_iban == "NL26VAYB8060476890"
        if s.opening_balance_cents is not None and s.closing_balance_cents is not None:
            # The strongest check that does not come from the parser: the file's own arithmetic.
            adds_up = s.opening_balance_cents + sum(e.amount_cents for e in s.entries) == s.closing_balance_cents
            assert adds_up == (name == "camt053.v2.multi.statement.xml")
            assert s.is_balanced == adds_up
    keys = [e.dedupe_key for e in entries]
    assert len(set(keys)) == len(keys) and all(len(k) == 64 for k in keys)
    assert keys == [e.dedupe_key for s in parse_sample(name) for e in s.entries]


def test_versions_02_04_08_read_the_same_entry() -> None:
    v2, v4, v8 = (parse_sample(f"camt053.{v}.xml")[0].entries[0] for v in ("v2.minimal", "v4", "v8"))
    for e in (v2, v4, v8):
        assert (e.amount_cents, e.currency, str(e.booking_date), str(e.value_date)) == (
            885,
            "EUR",
            "2014-12-31",
            "2015-01-02",
        )
        assert (e.counterparty_name, e.counterparty_iban) == ("NAME NAME", "NL56AGDH9619008421")  # Dbtr/Nm, Dbtr/Pty/Nm
        assert e.structured_reference == "4654654654654654"
        assert not e.is_reversal
    assert v2.bank_reference is None and v4.bank_reference == v8.bank_reference == "AAAASESS-FP-CN_98765/01"
    assert v8.end_to_end_id == "MUELL/FINP/RA12345"  # v8: Sts/Cd BOOK, BookgDt/DtTm


def test_sample_details() -> None:
    # The v4 TxDtls carries its own "0 SEK" amount; a single detail never overrides the entry's amount.
    assert parse_sample("camt053.v4.xml")[0].entries[0].amount_cents == 885
    ultimate = parse_sample("camt053.v2.minimal.ultimate.xml")[0].entries[0]
    assert ultimate.counterparty_name == "DEBTOR NAME NM" and ultimate.counterparty_iban is None  # UltmtDbtr
    five = parse_sample("camt053.v2.five.decimals.xml")[0].entries[0]
    assert (five.amount_cents, five.remittance_text, five.end_to_end_id) == (
        885,
        "Transaction Description",
        "000000001",
    )
    # A credit names its debtor; this file has only the creditor (the account holder's side).
    assert five.counterparty_name is None
    first, second = (s.entries[0] for s in parse_sample("camt053.v2.multi.statement.xml"))
    assert [s.statement_id for s in parse_sample("camt053.v2.multi.statement.xml")] == [
        "253EURNL26VAYB8060476890",
        "254EURNL26VAYB8060476890",
    ]
    assert (second.amount_cents, second.counterparty_name, second.counterparty_iban) == (
        -700,
        "Company Name 2",
        "NL56AGDH9619008421",
    )
    assert first.remittance_text == "Transaction Description 1"


# --- synthetic statements --------------------------------------------------------------------

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v}"


def camt(entries: str, *, version: str = "02", balances: str | None = None, acct: str | None = None) -> bytes:
    bal = balances if balances is not None else bal_xml("OPBD", "100.00", "CRDT") + bal_xml("CLBD", "100.00", "CRDT")
    account = acct if acct is not None else "<Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS.format(v=version)}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>M1</MsgId></GrpHdr><Stmt><Id>S1</Id><Acct>{account}</Acct>{bal}{entries}</Stmt>"
        "</BkToCstmrStmt></Document>"
    ).encode()


def bal_xml(code: str, amount: str, indicator: str, ccy: str = "EUR") -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy='{ccy}'>{amount}</Amt>"
        f"<CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>2026-06-01</Dt></Dt></Bal>"
    )


def ntry(amount: str, indicator: str = "CRDT", details: str = "", extra: str = "", status: str = "BOOK") -> str:
    return (
        f"<Ntry><Amt Ccy='EUR'>{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{extra}<Sts>{status}</Sts>"
        f"<BookgDt><Dt>2026-06-10</Dt></BookgDt><ValDt><Dt>2026-06-11</Dt></ValDt>"
        f"<AcctSvcrRef>BANKREF1</AcctSvcrRef><NtryDtls>{details}</NtryDtls></Ntry>"
    )


def tx(
    *,
    amount: str | None = None,
    e2e: str = "E2E-1",
    debtor: str = "<Dbtr><Nm>Jansen BV</Nm></Dbtr><DbtrAcct><Id><IBAN>NL18RABO0123459876</IBAN></Id></DbtrAcct>",
    creditor: str = "",
    rmt: str = "<Ustrd>Factuur 2026-001</Ustrd>",
    extra: str = "",
) -> str:
    amt = f"<AmtDtls><TxAmt><Amt Ccy='EUR'>{amount}</Amt></TxAmt></AmtDtls>" if amount is not None else ""
    return (
        f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{amt}<RltdPties>{debtor}{creditor}</RltdPties>"
        f"<RmtInf>{rmt}</RmtInf>{extra}</TxDtls>"
    )


def one(data: bytes) -> Statement:
    statements = parse_statement(data, "test.xml")
    assert len(statements) == 1
    return statements[0]


def test_structured_reference_counterparty_and_references() -> None:
    rmt = (
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>CUR</Issr></Tp>"
        "<Ref>5000056789012345</Ref></CdtrRefInf></Strd>"
    )
    s = one(camt(ntry("250.00", details=tx(rmt=rmt))))
    e = s.entries[0]
    assert (e.amount_cents, e.structured_reference, e.remittance_text) == (25000, "5000056789012345", None)
    assert (e.counterparty_name, e.counterparty_iban) == ("Jansen BV", "NL18RABO0123459876")
    assert (e.end_to_end_id, e.bank_reference, e.booking_date.isoformat()) == ("E2E-1", "BANKREF1", "2026-06-10")
    assert s.account_iban == "NL91ABNA0417164300"


def test_unstructured_pieces_are_joined_and_notprovided_is_no_reference() -> None:
    long_piece = "x" * 139 + "A"  # exactly 140: cut by the field length, continued without a space
    rmt = f"<Ustrd>{long_piece}</Ustrd><Ustrd>BC and more</Ustrd><Ustrd>  last   part </Ustrd>"
    e = one(camt(ntry("1.00", details=tx(rmt=rmt, e2e="NOTPROVIDED")))).entries[0]
    assert e.remittance_text == "x" * 139 + "ABC and more last part"
    assert e.end_to_end_id is None


def test_additional_entry_info_stands_in_for_missing_remittance() -> None:
    entry = ntry("1.00", details="", extra="").replace(
        "</NtryDtls>", "</NtryDtls><AddtlNtryInf>SEPA iDEAL</AddtlNtryInf>"
    )
    assert one(camt(entry)).entries[0].remittance_text == "SEPA iDEAL"


def test_batch_with_amounts_per_detail_gives_a_line_per_detail() -> None:
    details = tx(amount="40.00", e2e="A") + tx(amount="60.50", e2e="B", rmt="<Ustrd>Factuur 2</Ustrd>")
    s = one(camt(ntry("100.50", details=details)))
    assert [(e.amount_cents, e.end_to_end_id) for e in s.entries] == [(4000, "A"), (6050, "B")]
    assert s.entries[1].remittance_text == "Factuur 2"
    assert len({e.dedupe_key for e in s.entries}) == 2


def test_batch_in_v8_with_own_amount_and_indicator() -> None:
    def detail(amount: str, indicator: str, e2e: str) -> str:
        return (
            f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs><Amt Ccy='EUR'>{amount}</Amt>"
            f"<CdtDbtInd>{indicator}</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>P {e2e}</Nm></Pty></Dbtr></RltdPties>"
            "</TxDtls>"
        )

    entry = ntry("10.00", details=detail("12.00", "CRDT", "A") + detail("2.00", "DBIT", "B")).replace(
        "<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>"
    )
    s = one(camt(entry, version="08"))
    assert [e.amount_cents for e in s.entries] == [1200, -200]
    assert s.entries[0].counterparty_name == "P A"


@pytest.mark.parametrize(
    "details",
    [
        tx(e2e="A") + tx(e2e="B"),  # no amounts per detail
        tx(amount="40.00", e2e="A") + tx(amount="50.00", e2e="B"),  # amounts that do not add up to 100.50
    ],
)
def test_batch_without_usable_amounts_stays_one_line(details: str) -> None:
    s = one(camt(ntry("100.50", details=details)))
    assert [e.amount_cents for e in s.entries] == [10050]
    e = s.entries[0]
    assert e.remittance_text == "Factuur 2026-001"  # the same text twice, once
    assert (e.counterparty_name, e.end_to_end_id, e.bank_reference) == ("Jansen BV", None, "BANKREF1")


def test_only_booked_entries_are_read() -> None:
    s = one(camt(ntry("1.00", status="PDNG") + ntry("2.00") + ntry("4.00", status="INFO")))
    assert [e.amount_cents for e in s.entries] == [200]


def test_reversal_indicator() -> None:
    e = one(camt(ntry("5.00", "DBIT", details=tx(), extra="<RvslInd>true</RvslInd>"))).entries[0]
    assert e.is_reversal and e.amount_cents == -500
    # The reversal of a credit keeps the original parties: the counterparty is still the debtor.
    assert e.counterparty_name == "Jansen BV"


def test_returned_direct_debit() -> None:
    creditor = "<Cdtr><Nm>Us BV</Nm></Cdtr><CdtrAcct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></CdtrAcct>"
    extra = "<RtrInf><Rsn><Cd>MD06</Cd></Rsn></RtrInf>"
    details = tx(creditor=creditor, extra=extra).replace("</Refs>", "<MndtId>MANDATE-7</MndtId></Refs>")
    code = "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>"
    e = one(camt(ntry("35.00", "DBIT", details=details, extra=code))).entries[0]
    assert (e.amount_cents, e.is_reversal, e.return_reason, e.mandate_reference) == (-3500, True, "MD06", "MANDATE-7")
    assert (e.counterparty_name, e.counterparty_iban) == ("Jansen BV", "NL18RABO0123459876")
    # The bank transaction code alone also marks a return.
    e2 = one(camt(ntry("35.00", "DBIT", details=tx(creditor=creditor), extra=code))).entries[0]
    assert e2.is_reversal and e2.return_reason is None


def test_own_account_is_never_the_counterparty() -> None:
    debtor = "<Dbtr><Nm>Us BV</Nm></Dbtr><DbtrAcct><Id><IBAN>NL91 ABNA 0417 1643 00</IBAN></Id></DbtrAcct>"
    creditor = "<Cdtr><Nm>Supplier</Nm></Cdtr><CdtrAcct><Id><IBAN>NL18RABO0123459876</IBAN></Id></CdtrAcct>"
    e = one(camt(ntry("9.99", "CRDT", details=tx(debtor=debtor, creditor=creditor)))).entries[0]
    assert (e.counterparty_name, e.counterparty_iban) == ("Supplier", "NL18RABO0123459876")


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("8.850", 885),  # zeros beyond the cent are exact
        ("0.00500", 1),  # half a cent rounds up (ROUND_HALF_UP)
        ("0.00499", 0),
        ("10.125", 1013),
        ("10.12499", 1012),
        ("12345678.9", 1234567890),
        ("7", 700),
    ],
)
def test_up_to_five_decimals_round_half_up_to_cents(amount: str, cents: int) -> None:
    assert one(camt(ntry(amount, details=tx()))).entries[0].amount_cents == cents


def test_balances_prcd_fallback_debit_sign_and_other_currency() -> None:
    balances = bal_xml("PRCD", "10.00", "DBIT") + bal_xml("CLBD", "5.00", "CRDT", ccy="USD")
    s = one(camt(ntry("15.00", details=tx()), balances=balances))
    assert (s.opening_balance_cents, s.closing_balance_cents, s.is_balanced) == (-1000, None, None)
    s = one(camt(ntry("15.00", details=tx()), balances=bal_xml("OPBD", "10.00", "DBIT") + bal_xml("CLBD", "5", "CRDT")))
    assert (s.opening_balance_cents, s.closing_balance_cents, s.is_balanced) == (-1000, 500, True)


def test_no_namespace_other_account_and_currency_from_balance() -> None:
    data = camt(ntry("1.00"), acct="<Id><Othr><Id>123456789</Id></Othr></Id>").replace(
        f' xmlns="{NS.format(v="02")}"'.encode(), b""
    )
    s = one(data)
    assert (s.account_iban, s.currency, len(s.entries)) == ("123456789", "EUR", 1)


def test_dedupe_keys_identical_payments_and_overlapping_exports() -> None:
    same = ntry("20.00", details=tx())
    other = ntry("30.00", details=tx(e2e="OTHER"))
    both = one(camt(same + same))
    assert len({e.dedupe_key for e in both.entries}) == 2  # two identical payments stay two
    assert [e.dedupe_key for e in both.entries] == [e.dedupe_key for e in one(camt(same + same)).entries]
    # The same payment in an export that starts earlier has the same key: the tiebreaker counts
    # identical lines, not every line above.
    wider = one(camt(other + same + same))
    assert [e.dedupe_key for e in wider.entries[1:]] == [e.dedupe_key for e in both.entries]


# --- bad input ---------------------------------------------------------------------------


def test_truncated_xml_names_the_line() -> None:
    data = camt(ntry("1.00", details=tx()))
    with pytest.raises(StatementError, match="not well-formed XML") as err:
        parse_statement(data[: len(data) // 2], "cut.xml")
    assert err.value.where.startswith("cut.xml, line 1, column ")


def test_an_unknown_encoding_is_refused_by_name() -> None:
    """Found by the mutation test: ``encoding="TF-8"`` escaped the parser as a LookupError."""
    data = camt(ntry("1.00", details=tx()))
    mangled = b'<?xml version="1.0" encoding="TF-8"?>\n' + data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else (
        b'<?xml version="1.0" encoding="TF-8"?>\n' + data)
    with pytest.raises(StatementError, match="unknown encoding: TF-8"):
        parse_statement(mangled, "odd.xml")


def test_every_truncation_of_a_sample_is_refused() -> None:
    data = (CAMT / "camt053.v2.multi.statement.xml").read_bytes()
    end = data.rindex(b"</Document>") + len(b"</Document>")
    for cut in range(1, end, 7):
        with pytest.raises(StatementError) as err:
            parse_statement(data[:cut], "cut.xml")
        assert err.value.where.startswith("cut.xml")


@pytest.mark.parametrize(
    "data",
    [
        # an external entity (XXE)
        b'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Document><BkToCstmrStmt>&x;</BkToCstmrStmt></Document>",
        # an external DTD
        b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://example.invalid/camt.dtd"><Document/>',
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><Document>&lol3;</Document>',
        # an internal DTD without entities
        b"<?xml version='1.0'?><!DOCTYPE Document [<!ELEMENT Document ANY>]><Document/>",
    ],
)
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(StatementError, match="refused") as err:
        parse_statement(data, "evil.xml")
    assert err.value.where == "evil.xml"


@pytest.mark.parametrize(
    ("entries", "where", "what"),
    [
        (ntry("12,50", details=tx()), "Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/Amt", "'12,50' is not a decimal"),
        (ntry("1e3"), "Stmt[1]/Ntry[1]/Amt", "'1e3'"),
        (ntry("-5.00"), "Stmt[1]/Ntry[1]/Amt", "'-5.00'"),
        (ntry("1.123456"), "Stmt[1]/Ntry[1]/Amt", "at most five decimals"),
        (ntry("NaN"), "Stmt[1]/Ntry[1]/Amt", "'NaN'"),
        (ntry("1.00") + ntry("2.00", "CREDIT"), "Stmt[1]/Ntry[2]/CdtDbtInd", "not CRDT or DBIT"),
        (
            ntry("1.00", details=tx(amount="x") + tx(amount="1")),
            "Ntry[1]/NtryDtls[1]/TxDtls[1]/AmtDtls/TxAmt/Amt",
            "'x'",
        ),
        (ntry("1.00").replace("2026-06-10", "2026-13-01"), "Stmt[1]/Ntry[1]/BookgDt", "is not a date"),
        (ntry("1.00").replace("<Amt Ccy='EUR'>1.00</Amt>", ""), "Stmt[1]/Ntry[1]", "no Amt"),
    ],
)
def test_garbage_values_name_their_element(entries: str, where: str, what: str) -> None:
    with pytest.raises(StatementError) as err:
        parse_statement(camt(entries), "bad.xml")
    assert err.value.where.startswith("bad.xml: ") and err.value.where.endswith(where)
    assert what in err.value.message


def test_garbage_balance_names_its_element() -> None:
    with pytest.raises(StatementError) as err:
        parse_statement(camt("", balances=bal_xml("OPBD", "ten", "CRDT")), "bad.xml")
    assert err.value.where == "bad.xml: Document/BkToCstmrStmt/Stmt[1]/Bal[1]/Amt"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"<Invoice><ID>1</ID></Invoice>", "root element 'Invoice' holds no BkToCstmrStmt: not a CAMT.053"),
        (b"<Document><BkToCstmrAcctRpt/></Document>", "camt.052 account report"),
        (b"<Document><BkToCstmrStmt><GrpHdr/></BkToCstmrStmt></Document>", "holds no Stmt"),
    ],
)
def test_xml_that_is_not_a_statement(data: bytes, fragment: str) -> None:
    with pytest.raises(StatementError, match=fragment):
        parse_statement(data, "other.xml")
