"""Bank statements: CAMT.053 and MT940 read into one plain shape (see ``model``)."""

from __future__ import annotations

from domain.bank import camt053, mt940
from domain.bank.model import Entry, Statement, StatementError

MAX_BYTES = 50_000_000

__all__ = ["Entry", "Statement", "StatementError", "parse_statement"]


def parse_statement(data: bytes, filename: str = "<upload>") -> list[Statement]:
    """Every statement in the file, told apart by content; anything else is a StatementError."""
    if len(data) > MAX_BYTES:
        raise StatementError(filename, f"file is larger than {MAX_BYTES // 1_000_000} MB")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:4096]
    if head.startswith(b"<"):
        return camt053.parse(data, filename)
    if b":20:" in data[:4096] or head.startswith((b"{1:", b":940:", b"0000 ")):
        return mt940.parse(data, filename)
    raise StatementError(filename, "neither a CAMT.053 (XML) nor an MT940 statement")
