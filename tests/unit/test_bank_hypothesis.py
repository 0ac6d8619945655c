"""Property: whatever bytes come in, the importers give statements or their own error.

Arbitrary bytes, and the real and written statements mutated (bytes replaced, inserted or
deleted, lines dropped, doubled or swapped, the file cut), go through ``parse_statement``:
the outcome is a list of statements whose amounts fit, or a ``StatementError`` whose
``where`` names the file (and, where there is one, the line or element). Nothing else:
no ValueError, IndexError, decimal or XML exception.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.bank import Statement, StatementError, parse_statement
from domain.bank.model import MAX_CENTS

BANK = Path(__file__).resolve().parents[1] / "data" / "bank"
SAMPLES = sorted(p for p in BANK.rglob("*") if p.suffix in (".sta", ".940", ".xml"))
NAME = "upload.dat"

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(data: bytes) -> None:
    try:
        statements = parse_statement(data, NAME)
    except StatementError as exc:
        assert exc.where.startswith(NAME), exc.where
        assert exc.message
        return
    assert statements and all(isinstance(s, Statement) for s in statements)
    for s in statements:
        for balance in (s.opening_balance_cents, s.closing_balance_cents):
            assert balance is None or abs(balance) <= MAX_CENTS
        for e in s.entries:
            assert abs(e.amount_cents) <= MAX_CENTS
            assert len(e.currency) == 3 and e.currency.isascii() and e.currency.isupper()
            assert "\x00" not in (e.remittance_text or "") + (e.counterparty_name or "")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "cut", "lines", "digits"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "replace" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(TOKENS))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "cut":
            del data[at:]
        elif op == "digits":  # make a number longer: the amounts that do not fit
            data[at:at] = b"9" * draw(st.integers(1, 25))
        else:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            kind = draw(st.sampled_from(["drop", "double", "swap"]))
            if kind == "drop":
                del lines[i]
            elif kind == "double":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


TOKENS = [
    b"\x1a", b"\x00", b"-", b"\n-\n", b"-}", b"-XXX\n", b":20:", b":61:", b":86:", b":62F:", b":60F:",
    b"C999999999999999,99", b"TRF ", b",", b"<", b"&#0;", b"<!DOCTYPE x>", b"</Ntry>", b"999999999999999999.99",
    b'Ccy="EURO"', b"\xef\xbb\xbf", b"\xff\xfe", b"\r",
]  # fmt: skip


@PROFILE
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@PROFILE
@given(st.sampled_from([b":20:", b"{1:", b":940:", b"<?xml version='1.0'?>", b"<Document>"]), st.binary(max_size=300))
def test_arbitrary_bytes_after_a_format_mark(head: bytes, rest: bytes) -> None:
    check(head + rest)


@PROFILE
@given(mutated())
def test_mutated_statements(data: bytes) -> None:
    check(data)
