"""Bank statements: CAMT.053 and MT940 read into one plain shape (see ``model``).

``parse_statement`` tells the formats apart by content, not by file name: XML is
read as CAMT.053, text with MT940 tags (``:20:``) or a SWIFT header as MT940, and
anything else is a ``StatementError``. Nothing here touches a database.
"""

from __future__ import annotations

import re

from domain.bank import camt053, mt940
from domain.bank.model import Entry, Statement, StatementError

MAX_BYTES = 50_000_000

__all__ = ["MAX_BYTES", "Entry", "Statement", "StatementError", "parse_statement"]

_MT940_START = re.compile(rb"(?m)^(?::20:|\{1:|:940:)")


def parse_statement(data: bytes, filename: str = "<upload>") -> list[Statement]:
    """Every statement in the file, in file order; a file we cannot read is a StatementError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse_statement wants the file's bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_BYTES:  # before anything that copies the data
        raise StatementError(filename, f"the file is larger than {MAX_BYTES // 1_000_000} MB")
    if not data.strip():
        raise StatementError(filename, "the file is empty")
    head = data[:8192].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return camt053.parse(data, filename)
    if _MT940_START.search(head):
        return mt940.parse(data, filename)
    raise StatementError(filename, "neither a CAMT.053 (XML) nor an MT940 statement")
