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

import base64
import io

import segno
from PIL import Image

# EPC069-12: "QR code error level M", "maximum QR code version 13".
EPC_ERROR = "m"
EPC_MAX_VERSION = 13


def _epc_symbol(payload: str, *, mask: int | None = None) -> segno.QRCode:
    qr = segno.make(payload, error=EPC_ERROR, micro=False, boost_error=False, mask=mask, encoding="utf-8")
    if isinstance(qr.version, int) and qr.version > EPC_MAX_VERSION:  # pragma: no cover - 331 bytes at M fit
        raise ValueError(f"EPC payload needs QR version {qr.version}; the standard allows up to {EPC_MAX_VERSION}")
    return qr


# segno's matrix holds 1 for a dark module; a greyscale byte is 0 for black, 255 for white.
_MODULE_TO_GREY = bytes.maketrans(b"\x00\x01", b"\xff\x00")


def png_data_uri(qr: segno.QRCode, *, scale: int, border: int = 4) -> str:
    """The symbol as a 1-bit PNG ``data:`` URI, ``scale`` pixels a module, ``border`` modules of
    quiet zone: the same pixels as segno's ``png_data_uri`` (tests/unit/test_qr.py), drawn by
    Pillow (WeasyPrint's own image library) in C. segno writes PNG rows in Python, 1.15 ms a
    code at scale 4 against 0.25 ms here, and a run puts a code in every e-mail with an amount."""
    size = len(qr.matrix) + 2 * border
    blank, edge = b"\xff" * size, b"\xff" * border
    rows = [blank] * border + [edge + bytes(row).translate(_MODULE_TO_GREY) + edge for row in qr.matrix]
    rows += [blank] * border
    image = Image.frombytes("L", (size, size), b"".join(rows))
    image = image.resize((size * scale, size * scale), Image.Resampling.NEAREST).convert("1", dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _img(uri: str, size_mm: float, role: str) -> str:
    return (f'<img src="{uri}" alt="QR" data-role="{role}" '
            f'style="width: {size_mm}mm; height: {size_mm}mm; display: block; margin: 0 auto 1mm;">')


def epc_img(payload: str, *, size_mm: float = 30) -> str:
    """An ``<img>`` of the EPC QR code for a letter, ``size_mm`` wide, with the quiet zone of four
    modules that ISO/IEC 18004 asks for."""
    return _img(png_data_uri(_epc_symbol(payload), scale=10), size_mm, "epc")


def link_img(url: str, *, size_mm: float = 22) -> str:
    """The portal link as a QR code, for a letter: the phone's camera opens the statement."""
    qr = segno.make(url, error="m", micro=False, boost_error=False)
    return _img(png_data_uri(qr, scale=10), size_mm, "portal")


def epc_png_data_uri(payload: str) -> str:
    """A ``data:image/png`` URI of the EPC QR code for an HTML e-mail. The transport turns it into
    an inline ``cid:`` part (``adapters.mail``): Gmail and Outlook show ``cid:`` images and drop
    ``data:`` ones. Mask pattern 0 rather than segno's choice of the eight: evaluating the masks
    is three quarters of the time a symbol takes, a run renders thousands of e-mails, and any
    mask reads (ISO/IEC 18004 only recommends the best-scoring one for print)."""
    return png_data_uri(_epc_symbol(payload, mask=0), scale=4)
