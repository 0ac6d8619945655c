"""Letters to PDF with WeasyPrint: one letter, or the day's print batch.

WeasyPrint lays out the letter's HTML and CSS (``templates/letters/letter.html.j2``: A4, the
DIN 5008 window, ``@page`` margin boxes for "page 1 of 2"), embeds the subsets of the fonts it
used and keeps the text as text, so ``pdftotext`` reads a letter back. It needs Pango (and
fonts) from the system; it is imported only when a PDF is made, so that the app, ``settle
run`` and ``make demo`` work on a machine without them and only the PDF features say so
(``PdfUnavailable``).

A print batch is one PDF for duplex printing: every letter starts on an odd page, so a letter
with an odd number of pages is followed by a blank one (``batch``).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError


class PdfUnavailable(DomainError):
    """WeasyPrint or the system libraries it needs (Pango, fonts) are missing."""

    code = "pdf_unavailable"


@functools.cache
def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the package is there, Pango is not
        raise PdfUnavailable(
            f"PDF letters need WeasyPrint and Pango ({exc.__class__.__name__}: {exc}); "
            "install the system packages libpango-1.0-0, libpangoft2-1.0-0 and fonts-dejavu-core"
        ) from exc
    return weasyprint


def available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


def _document(html: str, fonts: Any = None) -> Any:
    wp = _weasyprint()
    return wp.HTML(string=html, base_url=None).render(font_config=fonts)


def _fonts() -> Any:
    """One font configuration for a batch, so that the pages of every letter find their fonts
    in the combined file."""
    from weasyprint.text.fonts import FontConfiguration

    _weasyprint()
    return FontConfiguration()


def _write(document: Any) -> bytes:
    # No creation or modification date in the file: the same letter renders to the same bytes.
    data: bytes = document.write_pdf(uncompressed_pdf=False, pdf_identifier=b"settle-letter", custom_metadata=False)
    return data


def render(html: str) -> RenderedPdf:
    """One letter's PDF and its number of pages."""
    document = _document(html)
    return RenderedPdf(_write(document), len(document.pages))


_BLANK = '<!doctype html><html><head><style>@page { size: A4; margin: 0 }</style></head><body></body></html>'


@dataclass(frozen=True)
class BatchPdf:
    data: bytes
    pages: list[int]  # per letter, its own pages (without the blank one after it)
    first_pages: list[int]  # per letter, the batch page it starts on (1-based, always odd)
    total_pages: int


CHUNK = 40  # letters laid out at once: WeasyPrint keeps every page's boxes until the file is written


def batch(htmls: Sequence[str]) -> BatchPdf:
    """One PDF of all ``htmls`` for duplex printing: each letter starts on an odd page (a blank
    page follows a letter with an odd number of pages, except the last).

    Laid out ``CHUNK`` letters at a time, each chunk written to PDF and appended to the batch
    with pypdf, so that memory holds one chunk's layout, not the day's (a thousand letters'
    boxes are gigabytes)."""
    if not htmls:
        raise ValueError("a print batch needs at least one letter")
    import pypdf

    writer = pypdf.PdfWriter()
    counts: list[int] = []
    firsts: list[int] = []
    total = 0
    for start in range(0, len(htmls), CHUNK):
        fonts = _fonts()
        documents = [_document(h, fonts) for h in htmls[start:start + CHUNK]]
        blank = _document(_BLANK, fonts).pages[0]
        pages: list[Any] = []
        for i, document in enumerate(documents, start=start):
            firsts.append(total + len(pages) + 1)
            pages.extend(document.pages)
            counts.append(len(document.pages))
            if len(document.pages) % 2 and i < len(htmls) - 1:
                pages.append(blank)
        writer.append(pypdf.PdfReader(io.BytesIO(_write(documents[0].copy(pages)))))
        total += len(pages)
        del documents, pages
    out = io.BytesIO()
    writer.write(out)
    return BatchPdf(out.getvalue(), counts, firsts, total)
