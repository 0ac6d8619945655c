"""The QR codes' PNG: Pillow draws exactly the pixels segno would, and a reader reads it back."""

from __future__ import annotations

import base64
import io

import pytest
import segno
import zxingcpp
from PIL import Image

from adapters.qr import epc_png_data_uri, png_data_uri

PAYLOAD = "BCD\n002\n1\nSCT\n\nGroothandel Demo B.V.\nNL91ABNA0417164300\nEUR1234.56\n\nRF18539007547034\n\n"


def pixels(uri: str) -> tuple[tuple[int, int], bytes]:
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    return image.size, image.convert("L").tobytes()


@pytest.mark.parametrize("scale", [1, 4, 10])
@pytest.mark.parametrize("text", [PAYLOAD, "https://pay.example/p/s.abc", "é" * 40])
def test_the_png_has_segnos_pixels(text: str, scale: int) -> None:
    qr = segno.make(text, error="m", micro=False, boost_error=False)
    assert pixels(png_data_uri(qr, scale=scale)) == pixels(qr.png_data_uri(scale=scale, border=4))


def test_the_e_mail_code_reads_back_as_the_payload() -> None:
    image = Image.open(io.BytesIO(base64.b64decode(epc_png_data_uri(PAYLOAD).split(",", 1)[1])))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [PAYLOAD]
