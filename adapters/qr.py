"""QR codes drawn with segno: the EPC scan-to-pay code and the portal link.

The payload is the domain's (``domain.epc_qr``); this module only draws it. EPC069-12 asks for
error correction level M, and at most version 13: ``boost_error=False`` keeps M (segno would
otherwise raise the level when the symbol has room, which is harmless but makes the code denser
than the standard's reference). Both letters and e-mails get PNG: in a letter a PNG of ten
pixels a module printed 30 mm wide is over 400 dpi, and WeasyPrint wrote 20 letters in 1.5 s
with PNG codes against 2.9 s with the same codes as SVG paths (a print batch of a thousand
letters has two thousand of them); every mail client shows a PNG as an inline (``cid:``)
image, where many refuse SVG.
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


def _img(uri: str, size_mm: float, role: str) -> str:
    return (f'<img src="{uri}" alt="QR" data-role="{role}" '
            f'style="width: {size_mm}mm; height: {size_mm}mm; display: block; margin: 0 auto 1mm;">')


def epc_img(payload: str, *, size_mm: float = 30) -> str:
    """An ``<img>`` of the EPC QR code for a letter, ``size_mm`` wide, with the quiet zone of four
    modules that ISO/IEC 18004 asks for."""
    return _img(str(_epc_symbol(payload).png_data_uri(scale=10, border=4)), size_mm, "epc")


def link_img(url: str, *, size_mm: float = 22) -> str:
    """The portal link as a QR code, for a letter: the phone's camera opens the statement."""
    qr = segno.make(url, error="m", micro=False, boost_error=False)
    return _img(str(qr.png_data_uri(scale=10, border=4)), size_mm, "portal")


def epc_png_data_uri(payload: str) -> str:
    """A ``data:image/png`` URI of the EPC QR code for an HTML e-mail. The transport turns it into
    an inline ``cid:`` part (``adapters.mail``): Gmail and Outlook show ``cid:`` images and drop
    ``data:`` ones. Mask pattern 0 rather than segno's choice of the eight: evaluating the masks
    is three quarters of the time a symbol takes, a run renders thousands of e-mails, and any
    mask reads (ISO/IEC 18004 only recommends the best-scoring one for print)."""
    return str(_epc_symbol(payload, mask=0).png_data_uri(scale=4, border=4))
