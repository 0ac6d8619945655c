"""The day's print batch as files: one PDF (``adapters.pdf.batch``) and a CSV manifest beside it.

The manifest has one row per letter, in the PDF's order: the batch page it starts on, its
pages, the customer, the invoice numbers, the kind and the letter's id, so whoever folds the
letters can check each envelope. Both files are written to a temporary name and moved into
place, so a failed run leaves no half-written batch; the letters' page counts are stored in
the caller's transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from adapters import pdf
from adapters.pdf import PdfUnavailable
from domain import letters

__all__ = ["MANIFEST_COLUMNS", "PdfUnavailable", "Written", "manifest_path", "write"]

MANIFEST_COLUMNS = ("first_page", "pages", "customer", "customer_ref", "invoice_numbers", "kind", "letter_id",
                    "address")  # fmt: skip


@dataclass(frozen=True)
class Written:
    pdf: Path
    manifest: Path
    letters: int
    pages: int
    no_address: list[str]  # customers whose letter has no postal address to put in the window


def manifest_path(target: Path) -> Path:
    return target.with_suffix(".csv")


def _replace(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write(session: Session, org_id: str, day: dt.date, target: Path) -> Written | None:
    """Write the batch of ``day`` to ``target`` and its manifest; ``None`` when there is none."""
    found = letters.batch(session, org_id, day)
    if not found:
        return None
    made = pdf.batch([b.html for b in found])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for b, first, pages in zip(found, made.first_pages, made.pages, strict=True):
        writer.writerow([first, pages, b.customer_name, b.customer_ref or "", " ".join(b.letter.invoice_numbers),
                         b.letter.kind, b.letter.id, "yes" if b.has_address else "missing"])  # fmt: skip
    manifest = manifest_path(target)
    _replace(target, made.data)
    _replace(manifest, out.getvalue().encode("utf-8"))
    letters.record_pages(session, {b.letter.id: n for b, n in zip(found, made.pages, strict=True)})
    return Written(target, manifest, len(found), made.total_pages,
                   [b.customer_name for b in found if not b.has_address])  # fmt: skip
