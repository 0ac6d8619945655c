"""MT940: the real sample files, the Dutch banks' :86: layouts, signs, and broken files.

The expected numbers below were read off the .sta files by hand: the :61: amounts and
their C/D marks added up per file, and each statement's :60F:/:60M: plus its lines
compared with its :62F:/:62M:. Several samples are test fixtures with made-up
balances that do not add up; which ones do is part of what is pinned.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from domain.bank import StatementError, parse_statement
from domain.bank.model import Entry, Statement

BANK = Path(__file__).resolve().parents[1] / "data" / "bank"
MT940 = BANK / "mt940"

# file: (entries per statement, credits in cents, debits in cents, which statements add up)
EXPECTED: dict[str, tuple[list[int], int, int, list[bool]]] = {
    # 9 + 11.59 + 11.63 + 11.8 + 13.45 + 15.49 + 107 + 141.48 = 321.44, then 9.49 + 15 = 24.49.
    # 3236.28 - 321.44 is not 876.84; 2876.84 - 24.49 is not 1849.75.
    "abnamro.sta": ([8, 2], 0, -34593, [False, False]),
    # 31 daily statements; credits 1000 + 828.72 + 1000.18, debits 65 + 801.55 + 1.65 + 1000 + 903.76.
    "asnbank.sta": ([1, 0, 0, 0, 2] + [0] * 19 + [1, 0, 0, 0, 2, 0, 2], 282890, -277196, [True] * 31),
    # credits 3.68 + 1.00, debits 25.03 + 3.03 + 1.11 + 20.00 + 1.10; 0.00 - 45.59 is not 3.47.
    "ing.sta": ([7], 468, -5027, [False]),
    # 0 + 500 = 500; 3058.98 - 7260 + 500 is not 798.98.
    "knab.sta": ([1, 2], 100000, -726000, [True, False]),
    # 1000 - 25 - 10 = 965, 965 - 25 - 10 = 930.
    "rabobank-iban.sta": ([2, 2], 0, -7000, [True, True]),
    # 473.17 - 1213.28 is not 395.82; 1000.89 unchanged; 1295.82 - 44.95 - 236.56 is not 1250.87;
    # 4196.12 - 88.10 - 6.20 = 4101.82.
    "rabobank.sta": ([1, 0, 2, 2], 0, -158909, [False, True, False, True]),
    # 1234.56 - 20 - 5 = 1209.56, then unchanged.
    "sns.sta": ([2, 0], 0, -2500, [True, True]),
    # 4975.09 - 15.70 - 700 is not 4370.79.
    "triodos.sta": ([2], 0, -71570, [False]),
    # Written for issue 14 in the style of the real files, one variant each (the name says which).
    # 1500 + 242 - 35.50 = 1706.50; two :86: continuation lines start with '-'.
    "abnamro-86-continuation-starting-with-dash.940": ([2], 24200, -3550, [True]),
    # 662.23 + 1.56 - 1.57 + 125 = 787.22; ':61:...C1,56TRF EREF'.
    "ing-type-code-three-letters-space.940": ([3], 12656, -157, [True]),
    # 4370.79 - 15.70 + 700 = 5055.09; ':61:110302D15,70TRF NONREF'.
    "triodos-type-code-three-letters-space.940": ([2], 70000, -1570, [True]),
    # 1000 - 25 + 121 = 1096, then Ctrl-Z.
    "rabobank-ctrl-z-at-end.940": ([2], 12100, -2500, [True]),
    # 500 + 100 = 600, 600 - 50 = 550; the second statement has no closing '-'.
    "knab-last-statement-without-dash.940": ([1, 1], 10000, -5000, [True, True]),
    # 1000 + 50 - 20 is 1030, not 1050: a line of 20.00 is missing.
    "sns-unbalanced-missing-line.940": ([2], 5000, -2000, [False]),
    # Three days of one account, each adding up; day 4 opens at 1300, day 2 closed at 1150.
    "asn-sequence-day1.940": ([1], 25000, 0, [True]),
    "asn-sequence-day2.940": ([1], 0, -10000, [True]),
    "asn-sequence-day4-after-a-missing-statement.940": ([1], 8000, 0, [True]),
}


def parse_sample(name: str) -> list[Statement]:
    return parse_statement((MT940 / name).read_bytes(), name)


def entries_of(name: str) -> list[Entry]:
    return [e for s in parse_sample(name) for e in s.entries]


def test_every_sample_file_is_listed() -> None:
    assert {p.name for p in MT940.glob("*") if p.suffix in (".sta", ".940")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_counts_totals_and_balances(name: str) -> None:
    per_statement, credits, debits, adds_up = EXPECTED[name]
    statements = parse_sample(name)
    assert [len(s.entries) for s in statements] == per_statement
    entries = [e for s in statements for e in s.entries]
    assert sum(e.amount_cents for e in entries if e.amount_cents > 0) == credits
    assert sum(e.amount_cents for e in entries if e.amount_cents < 0) == debits
    for s, expected in zip(statements, adds_up, strict=True):
        assert s.format == "mt940" and s.currency == "EUR"
        assert s.opening_balance_cents is not None and s.closing_balance_cents is not None
        total = s.opening_balance_cents + sum(e.amount_cents for e in s.entries)
        assert (total == s.closing_balance_cents) == expected
        assert s.is_balanced == expected
        assert all(e.currency == "EUR" for e in s.entries)
    keys = [e.dedupe_key for e in entries]
    assert len(set(keys)) == len(keys) and all(len(k) == 64 for k in keys)
    assert keys == [e.dedupe_key for e in entries_of(name)]  # re-importing gives the same keys


def test_sample_statement_headers() -> None:
    assert [(s.statement_id, s.account_iban) for s in parse_sample("rabobank.sta")][::3] == [
        ("940A110615", "1291.99.348"),  # :25:1291.99.348EUR, the currency dropped
        ("940A120829", "1526.89.184"),
    ]
    assert parse_sample("triodos.sta")[0].account_iban == "0390123456"  # :25:TRIODOSBANK/0390123456
    assert parse_sample("rabobank-iban.sta")[0].account_iban == "NL71RABO0123456789"
    abn = parse_sample("abnamro.sta")
    assert [(s.opening_balance_cents, s.closing_balance_cents) for s in abn] == [(323628, 87684), (287684, 184975)]


def test_rabobank_structured_fields() -> None:
    first, second, *_ = entries_of("rabobank-iban.sta")
    # /EREF/.../BENM//NAME/CONTRA ACCOUN<line break>T HOLDER/REMI//ISDT/...: the wrap is undone.
    assert first.end_to_end_id == "01-01-2013 12:00 0030000987654321"
    assert (first.counterparty_name, first.counterparty_iban) == ("CONTRA ACCOUNT HOLDER", "NL70ABNA0987654321")
    assert first.remittance_text is None and first.amount_cents == -2500
    assert (second.counterparty_name, second.remittance_text) == ("JOHN DOE", "Reference 201301234")
    assert second.counterparty_iban is None  # P001234567 is a giro number, not an IBAN
    assert second.end_to_end_id is None  # NONREF


def test_asn_and_sns_take_the_counterparty_from_the_61_line() -> None:
    asn = entries_of("asnbank.sta")
    assert (asn[0].counterparty_iban, asn[0].counterparty_name) == ("NL47INGB9999999999", "hr gjlm paulissen")
    assert asn[0].remittance_text == "Betaling sieraden"
    # A line of 65 characters was cut by the line length: "Transfer S" + "olutions".
    assert asn[4].remittance_text is not None and "Transfer Solutions BV-DIVIDEND 28/01/2020" in asn[4].remittance_text
    assert asn[3].remittance_text == "Kosten gebruik betaalrekening inclusief 1 betaalpas"  # :61: ...NDIV, no reference
    sns = entries_of("sns.sta")
    assert [(e.counterparty_name, e.remittance_text) for e in sns] == [
        ("marechal s", "dit is een test"),
        ("marechal s", "dit is test 2"),
    ]
    assert str(sns[0].value_date) == "2012-06-07" and str(sns[0].booking_date) == "2012-06-08"


def test_free_text_labels_of_knab_and_abn_amro() -> None:
    knab = entries_of("knab.sta")
    assert (knab[1].counterparty_name, knab[1].counterparty_iban) == ("PICQER", "NL65INGB0123456789")
    assert knab[1].bank_reference == "B4G29PGCVO7Q06US"
    assert knab[2].amount_cents == 50000  # "C500NTRF": an amount without its decimal comma
    assert knab[2].counterparty_name == "MMS ONLINE NEDERLAND B.V."
    abn = entries_of("abnamro.sta")
    assert (abn[0].counterparty_name, abn[0].structured_reference) == ("KPN - DIGITENNE", "000000042188659")
    assert (
        abn[0].remittance_text is not None
        and "BETREFT FACTUUR D.D. 20-05-2011 INCL. 1,44 BTW" in abn[0].remittance_text
    )
    assert abn[9].counterparty_name == "MYCOM DEN HAAG"


def test_older_rabobank_lines() -> None:
    rabo = entries_of("rabobank.sta")
    # :61:110527D...N0440121470966      W.P. Jansen, then four :86: lines starting "Terugboeking".
    assert rabo[0].counterparty_name == "W.P. Jansen" and rabo[0].is_reversal
    assert rabo[0].remittance_text == "Terugboeking NIET AKKOORD MET AFSCHRIJVING KOSTEN KINDEROPVANG JUNI 20095731"
    assert (rabo[1].counterparty_name, rabo[1].structured_reference) == ("T-MOBILE NETHERLANDS BV", "123456789")
    assert rabo[3].structured_reference == "173787046000009"
    assert not any(e.is_reversal for e in rabo[1:])


def test_triodos_subfields_and_ing_statement_information() -> None:
    triodos = entries_of("triodos.sta")
    assert [e.remittance_text for e in triodos] == [
        "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010",
        "HUUR KANTOOR - FEB 2010",
    ]
    ing = entries_of("ing.sta")
    # The :86: after :62F: describes the statement, not its last line; "-XXX" ends the message.
    assert (
        ing[-1].remittance_text
        == "0111111111 Hr S Marechal ROSMALEN Hr S Marechal ROSMALEN Betaling transactiedatum: 22-07-2010"
    )
    assert ing[2].end_to_end_id == "TMG TANGO"


# --- synthetic statements --------------------------------------------------------------------


def mt(*lines: str, opening: str = ":60F:C260601EUR100,00", closing: str = ":62F:C260630EUR100,00") -> bytes:
    body = [":20:STMT1", ":25:NL91ABNA0417164300EUR", ":28C:1/1", opening, *lines, closing, "-"]
    return ("\r\n".join(body) + "\r\n").encode()


def one(data: bytes) -> Statement:
    statements = parse_statement(data, "test.sta")
    assert len(statements) == 1
    return statements[0]


def test_ing_structured_description() -> None:
    s = one(
        mt(
            ":61:2606100610C32,00NTRF9001123412341234//00000000001011",
            "/TRCD/00108/",
            ":86:/EREF/15814016000676480//CNTP/NL32INGB0000012345/INGBNL2A/J.Janssen///REMI/STRD/CUR/900112",
            "3412341234/",
            ":61:2606100610C10,00NTRFNONREF//00000000001012",
            ":86:/EREF/NOTPROVIDED//CNTP/NL32INGB0000012345/INGBNL2A/J.Janssen///REMI/USTD//Factuur 2026/0",
            "17 en 18/",
        )
    )
    a, b = s.entries
    assert (a.amount_cents, a.counterparty_name, a.counterparty_iban) == (3200, "J.Janssen", "NL32INGB0000012345")
    assert (a.structured_reference, a.end_to_end_id, a.bank_reference) == (
        "9001123412341234",
        "15814016000676480",
        "00000000001011",
    )
    assert a.remittance_text is None
    assert (b.remittance_text, b.end_to_end_id, b.structured_reference) == ("Factuur 2026/017 en 18", None, None)
    assert s.account_iban == "NL91ABNA0417164300"


def test_returned_direct_debit_with_rtrn_marf_and_csid() -> None:
    s = one(
        mt(
            ":61:2606150615D45,00NDDT20120501P0123478//00000000001010",
            ":86:/RTRN/MS03//EREF/20120501P0123478//MARF/MND-120123//CSID/NL32ZZZ999999991234//CNTP/NL3",
            "2INGB0000012345/INGBNL2A/J.Janssen///REMI/USTD//CONTRIBUTIE FEB 2014/",
        )
    )
    e = s.entries[0]
    assert (e.amount_cents, e.is_reversal, e.return_reason, e.mandate_reference) == (-4500, True, "MS03", "MND-120123")
    assert (e.counterparty_name, e.counterparty_iban, e.remittance_text) == (
        "J.Janssen",
        "NL32INGB0000012345",
        "CONTRIBUTIE FEB 2014",
    )
    assert e.end_to_end_id == "20120501P0123478"


def test_abn_amro_sepa_layout_and_rabobank_creditor_reference() -> None:
    s = one(
        mt(
            ":61:2606200620C121,00N658NONREF",
            ":86:/TRTP/SEPA OVERBOEKING/IBAN/NL44RABO0123456789/BIC/RABONL2U/NAME/J JANSSEN/REMI/FACTUUR 1",
            "234/EREF/NOTPROVIDED",
            ":61:2606200620C5,00N541NONREF",
            "NL44RABO0123456789",
            ":86:/ORDP//NAME/Doe/ID/12/REMI//CDTRREFTP//CD/SCOR/ISSR/CUR/CDTRREF/5000056789012345/ISDT/2026-06-20",
        )
    )
    a, b = s.entries
    assert (a.counterparty_name, a.counterparty_iban, a.remittance_text, a.end_to_end_id) == (
        "J JANSSEN",
        "NL44RABO0123456789",
        "FACTUUR 1234",
        None,
    )
    assert (b.counterparty_name, b.counterparty_iban, b.structured_reference) == (
        "Doe",
        "NL44RABO0123456789",
        "5000056789012345",
    )


@pytest.mark.parametrize(
    ("mark", "cents", "reversal"),
    [("C", 1250, False), ("D", -1250, False), ("RC", -1250, True), ("RD", 1250, True)],
)
def test_debit_credit_marks(mark: str, cents: int, reversal: bool) -> None:
    e = one(mt(f":61:260610{mark}12,5NTRFNONREF")).entries[0]
    assert (e.amount_cents, e.is_reversal) == (cents, reversal)


def test_entry_date_across_the_year_end_and_funds_code() -> None:
    s = one(mt(":61:2512310102CE7,00NTRFREF1", ":61:2601021231DR3,00NTRFREF2"))
    assert [(str(e.value_date), str(e.booking_date), e.amount_cents) for e in s.entries] == [
        ("2025-12-31", "2026-01-02", 700),
        ("2026-01-02", "2025-12-31", -300),
    ]


def test_dedupe_keys_identical_payments_and_overlapping_exports() -> None:
    line = (":61:2606100610C20,00NTRFNONREF", ":86:Factuur 7")
    other = (":61:2606090609C30,00NTRFNONREF", ":86:Factuur 6")
    both = one(mt(*line, *line))
    assert len({e.dedupe_key for e in both.entries}) == 2
    wider = one(mt(*other, *line, *line))  # an export that starts a day earlier
    assert [e.dedupe_key for e in wider.entries[1:]] == [e.dedupe_key for e in both.entries]


def test_several_statements_and_swift_envelope() -> None:
    def message(n: int) -> str:
        return (
            "{1:F01ASNBNL21XXXX0000000000}{2:O940ASNBNL21XXXXN}{3:}{4:\n"
            f":20:S{n}\n:25:NL81ASNB9999999999\n:28C:{n}/1\n:60F:C26060{n}EUR1,00\n"
            f":61:26060{n}C1,00NTRFNONREF\n:86:x\n:62F:C26060{n}EUR2,00\n"
            "-}{5:}\n"
        )

    statements = parse_statement("".join(message(n) for n in (1, 2, 3)).encode(), "env.sta")
    assert [s.statement_id for s in statements] == ["S1", "S2", "S3"]
    assert all(s.is_balanced for s in statements)


# --- broken files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (b":20:X\n:25:NL1\n:60F:C200101EUR1,00\n:61:2001010101D65,00NTRFNONREF\n", 1, "no closing balance"),
        (b":20:X\n:25:NL1\n:60F:C200101EURabc\n:62F:C200101EUR1,00\n", 3, "is not C|D, YYMMDD"),
        (b":20:X\n:25:NL1\n:60F:C200101EUR1\n:62F:C200101EUR1,00\n", 3, "decimal comma"),
        (b":20:X\n:25:NL1\n:60F:C200101EUR1,00\n:61:200101Dx5,00NTRFNONREF\n:62F:C200101EUR1,00\n", 4, ":61: line"),
        (b":20:X\n:25:NL1\n:60F:C200101EUR1,00\n:61:200101D5,001NTRFNONREF\n:62F:C200101EUR1,00\n", 4, "two decimals"),
        (b":20:X\n:25:NL1\n:60F:C200101EUR1,00\n:61:201301D5,00NTRFNONREF\n:62F:C200101EUR1,00\n", 4, "not a date"),
        (b":20:X\n:25:NL1\n:61:200101D5,00NTRFNONREF\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\n", 3, "before"),
        (b":20:X\n:25:NL1\n:60F:C200101EUR1,00\n:62F:C200101USD1,00\n", 1, "closing balance in USD"),
        (
            b":20:X\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\n:61:200101C1,00NTRFX\n",
            4,
            "after the statement's closing",
        ),
        (b":20:X\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\nrubbish\n", 4, "unexpected text"),
        (b":25:NL1\n:20:X\n", 1, "outside a statement"),
        (b":20:X\n:25:NL1\n:28C:1\n:34F:EURD0,\n:13D:2001011200+0100\n", 4, "MT942"),
        (b":20:X\n:25:NL1\n:60F:C200101EUR1,00\n:62F:C200101EUR1,2", 4, "ends inside a closing balance"),
    ],
)
def test_broken_files_name_file_and_line(data: bytes, line: int, fragment: str) -> None:
    with pytest.raises(StatementError) as err:
        parse_statement(data, "bank.sta")
    assert err.value.where == f"bank.sta, line {line}"
    assert fragment in err.value.message


def test_a_last_statement_without_its_end_line_is_complete_when_it_has_its_closing_balance() -> None:
    # Some exports leave out the final '-' (issue 14): the closing balance says the statement is whole.
    data = b":20:A\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\n-\n:20:B\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\n"
    assert [s.statement_id for s in parse_statement(data, "bank.sta")] == ["A", "B"]
    cut = b":20:A\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\n-\n:20:B\n:60F:C200101EUR1,00\n:61:200101C1,00NTRFX\n"
    with pytest.raises(StatementError, match="truncated") as err:
        parse_statement(cut, "bank.sta")
    assert err.value.where == "bank.sta, line 5"


def test_a_swift_message_without_its_end_is_truncation() -> None:
    data = (MT940 / "asnbank.sta").read_bytes()
    cut = data[: data.rindex(b"-}{5:}")]  # the last message loses only its "-}{5:}"
    with pytest.raises(StatementError, match="does not end with '-}'") as err:
        parse_statement(cut, "asnbank.sta")
    assert err.value.where == "asnbank.sta, line 259"  # where that message's :20: is


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_truncation_of_a_sample_returns_a_partial_statement(name: str) -> None:
    """Cut the file after every byte: either a clear error, or only statements that are complete."""
    data = (MT940 / name).read_bytes()
    full = parse_statement(data, name)
    errors = 0
    for cut in range(1, len(data)):
        try:
            got = parse_statement(data[:cut], name)
        except StatementError as exc:
            assert exc.where.startswith(name)
            errors += 1
            continue
        assert got == full[: len(got)], f"cut at byte {cut} gave a statement that is not in the full file"
    assert errors > 0


@pytest.mark.parametrize(
    "data",
    [b"hello, I am a letter", b"Datum,Bedrag\n2026-01-01,10.00\n", b"%PDF-1.7\n", b"\n\n", b""],
)
def test_neither_format(data: bytes) -> None:
    with pytest.raises(StatementError) as err:
        parse_statement(data, "upload.txt")
    assert err.value.where == "upload.txt"


# --- variants real Dutch banks write (issue 14) -------------------------------------------------


def test_type_code_of_three_letters_and_a_space_reads_as_the_four_character_code() -> None:
    ing = parse_sample("ing-type-code-three-letters-space.940")[0]
    assert [(e.amount_cents, e.end_to_end_id, e.bank_reference) for e in ing.entries] == [
        (156, "EV12341REP1231456T1234", "00000000001005"),
        (-157, "PREF", "00000000001006"),
        (12500, "20140220123456789", "00000000001007"),
    ]
    assert ing.entries[2].structured_reference == "1234567890123456"
    assert (ing.account_iban, ing.number) == ("NL69INGB0123456789", "00014")
    triodos = parse_sample("triodos-type-code-three-letters-space.940")[0]
    assert triodos.entries[1].counterparty_name == "HUURDER BV"
    spaced = mt(":61:2606100610C20,00TRF NONREF", ":86:Factuur 7")
    plain = mt(":61:2606100610C20,00NTRFNONREF", ":86:Factuur 7")
    assert one(spaced).entries == one(plain).entries


def test_ctrl_z_after_the_last_statement_is_an_end_of_file() -> None:
    data = (MT940 / "rabobank-ctrl-z-at-end.940").read_bytes()
    assert data.endswith(b"\x1a")
    clean = parse_statement(data.rstrip(b"\x1a"), "r.sta")
    assert parse_statement(data, "r.sta") == clean
    assert parse_statement(data + b"\r\n\x1a\x1a", "r.sta") == clean
    # Right after the closing balance, with no line break: still the end, not a cut-off amount.
    tight = b":20:X\n:25:NL1\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\x1a"
    assert one(tight).closing_balance_cents == 100


def test_86_lines_starting_with_a_dash_are_text_and_a_lone_dash_ends_the_statement() -> None:
    s = parse_sample("abnamro-86-continuation-starting-with-dash.940")[0]
    assert [e.remittance_text for e in s.entries] == [
        "Factuur 2014-0193 en 2014-0194 restant mei",
        "BEA NR:XXX1234 02.06.14/12.54 HEMA KATWIJK -PAS999 - pinbetaling 2 juni",
    ]
    # '-XXX' after the closing balance still ends the message (ING).
    assert len(parse_sample("ing.sta")) == 1
    # A lone '-' inside a description ends the statement: the closing balance is then missing.
    lone = b":20:X\n:60F:C200101EUR1,00\n:61:200101C1,00NTRFNONREF\n:86:text\n-\n:62F:C200101EUR2,00\n"
    with pytest.raises(StatementError, match="outside a statement"):
        parse_statement(lone, "b.sta")


def test_statement_number_and_balance_dates_are_kept() -> None:
    s = parse_sample("knab-last-statement-without-dash.940")[1]
    assert (s.number, s.opening_date, s.closing_date) == ("1002/1", dt.date(2014, 8, 2), dt.date(2014, 8, 2))
    bad = parse_sample("sns-unbalanced-missing-line.940")[0]
    assert (bad.is_balanced, bad.difference_cents) == (False, 2000)


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (b":20:X\n:60F:C200101EUR100000000000,00\n:62F:C200101EUR1,00\n", 2, "does not fit"),
        (b":20:X\n:60F:C200101EUR1,00\n:61:200101C999999999999999,99NTRFX\n:62F:C200101EUR1,00\n", 3, "not fit"),
        (b":20:X\n:60F:C200101EUR1,00\n:61:200101C1,00NTRFX\x00\n:62F:C200101EUR1,00\n", 3, "NUL byte"),
    ],
)
def test_amounts_that_do_not_fit_and_binary_files_are_refused(data: bytes, line: int, fragment: str) -> None:
    with pytest.raises(StatementError) as err:
        parse_statement(data, "bank.sta")
    assert err.value.where == f"bank.sta, line {line}"
    assert fragment in err.value.message
