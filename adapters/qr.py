"""QR codes drawn with segno: the EPC scan-to-pay code and the portal link.

The payload is the domain's (``domain.epc_qr``); this module only draws it. EPC069-12 asks for
error correction level M, and at most version 13: ``boost_error=False`` keeps M (segno would
otherwise raise the level when the symbol has room, which is harmless but makes the code denser
than the standard's reference). Letters get SVG (sharp at any print resolution, text-free, so a
PDF's text is the letter's only); e-mails get a PNG, which every mail client shows as an inline
(``cid:``) image where many refuse SVG.
"""

from __future__ import annotations

import segno

# EPC069-12: "QR code error level M", "maximum QR code version 13".
EPC_ERROR = "m"
EPC_MAX_VERSION = 13


def _epc_symbol(payload: str, *, mask: int | None = None) -> segno.QRCode:
    qr = segno.make(payload, error=EPC_ERROR, micro=False, boost_error=False, mask=mask, encoding="utf-8")
    if isinstance(qr.version, int) and qr.version > EPC_MAX_VERSION:  # pragma: no cover - 331 bytes at M fit
        raise ValueError(f"EPC payload needs QR version {qr.version}; the standard allows up to {EPC_MAX_VERSION}")
    return qr


def epc_svg(payload: str, *, size_mm: float = 30) -> str:
    """An inline ``<svg>`` of the EPC QR code, ``size_mm`` wide, with the quiet zone of four
    modules that ISO/IEC 18004 asks for."""
    qr = _epc_symbol(payload)
    return _svg(qr, size_mm)


def link_svg(url: str, *, size_mm: float = 22) -> str:
    """The portal link as a QR code, for a letter: the phone's camera opens the statement."""
    return _svg(segno.make(url, error="m", micro=False, boost_error=False), size_mm)


def _svg(qr: segno.QRCode, size_mm: float) -> str:
    markup = qr.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True)
    return markup.replace("<svg ", f'<svg width="{size_mm}mm" height="{size_mm}mm" ', 1)


def epc_png_data_uri(payload: str) -> str:
    """A ``data:image/png`` URI of the EPC QR code for an HTML e-mail. The transport turns it into
    an inline ``cid:`` part (``adapters.mail``): Gmail and Outlook show ``cid:`` images and drop
    ``data:`` ones. Mask pattern 0 rather than segno's choice of the eight: evaluating the masks
    is three quarters of the time a symbol takes, a run renders thousands of e-mails, and any
    mask reads (ISO/IEC 18004 only recommends the best-scoring one for print)."""
    return str(_epc_symbol(payload, mask=0).png_data_uri(scale=4, border=4))
