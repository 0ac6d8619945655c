"""CAMT.053 001.02 to 001.08 (as the README promises) read the same, whatever the namespace says.

The parser matches elements on their local names (see domain/bank/camt053.py), so the
namespace URI neither selects nor limits the version: a file is refused for what it
holds (a camt.052 report, no statement), never for the namespace it declares.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.bank import StatementError, parse_statement
from domain.bank.model import Statement

CAMT = Path(__file__).resolve().parents[1] / "data" / "bank" / "camt053"
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{:02d}"
SAMPLES = {"camt053.v2.multi.statement.xml": 2, "camt053.v4.xml": 4}
# Read off the XML by hand: per entry (cents, EndToEndId, AcctSvcrRef, structured creditor reference).
ENTRIES = {
    "camt053.v2.multi.statement.xml": [(885, "000000001", None, None), (-700, "000000002", None, None)],
    "camt053.v4.xml": [(885, None, "AAAASESS-FP-CN_98765/01", "4654654654654654")],
}


def with_namespace(name: str, namespace: str) -> bytes:
    data = (CAMT / name).read_bytes()
    original = NS.format(SAMPLES[name]).encode()
    assert data.count(original) == 1
    return data.replace(original, namespace.encode())


def summary(statements: list[Statement]) -> list[tuple[object, ...]]:
    return [
        (s.statement_id, s.account_iban, s.currency, s.opening_balance_cents, s.closing_balance_cents,
         [(e.amount_cents, e.end_to_end_id, e.bank_reference, e.dedupe_key) for e in s.entries])
        for s in statements
    ]  # fmt: skip


@pytest.mark.parametrize("version", range(2, 9), ids=lambda v: f"001.{v:02d}")
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_supported_version_reads_the_same_entries(name: str, version: int) -> None:
    original = parse_statement((CAMT / name).read_bytes(), name)
    rewritten = parse_statement(with_namespace(name, NS.format(version)), name)
    entries = [e for s in rewritten for e in s.entries]
    assert [(e.amount_cents, e.end_to_end_id, e.bank_reference, e.structured_reference) for e in entries] == (
        ENTRIES[name]
    )
    assert summary(rewritten) == summary(original)
    assert rewritten == original


@pytest.mark.parametrize(
    "namespace",
    [
        "urn:iso:std:iso:20022:tech:xsd:camt.053.001.99",
        "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02",
        "urn:example:not-iso-at-all",
    ],
)
def test_an_unknown_namespace_is_not_looked_at(namespace: str) -> None:
    """Documented behaviour: only the content decides; a BkToCstmrStmt under any namespace is read."""
    name = "camt053.v4.xml"
    assert parse_statement(with_namespace(name, namespace), name) == parse_statement((CAMT / name).read_bytes(), name)


def test_a_camt052_report_is_refused_by_what_it_holds() -> None:
    name = "camt053.v4.xml"
    data = with_namespace(name, "urn:iso:std:iso:20022:tech:xsd:camt.052.001.04").replace(
        b"BkToCstmrStmt", b"BkToCstmrAcctRpt"
    )
    with pytest.raises(StatementError) as err:
        parse_statement(data, "report.xml")
    assert err.value.where == "report.xml: Document"
    assert err.value.message == "this is a camt.052 account report: not a CAMT.053 statement"
