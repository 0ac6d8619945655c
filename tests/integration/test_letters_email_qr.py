"""Each dunning e-mail with an amount carries the EPC scan-to-pay QR code as an inline cid: image
(the text part unchanged); the hand-over, which says to pay the agency, carries none."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from tests.integration import letters_helpers as h
from tests.integration.dunning_helpers import html_of, mailbox, run, text_of


def test_the_reminder_email_carries_the_epc_qr_as_an_inline_image_and_the_handover_none(
    engine: Engine, settings: Settings, db: Session
) -> None:
    org = h.creditor(db, all_by_post=False)
    reminded = h.debtor(db, org, "reminder", "nl", 1)
    handed = h.debtor(db, org, "collection_handover", "en", 2)
    run(engine, settings, db, h.AS_OF)
    by_to = {str(m["To"]): m for m in mailbox(settings).messages()}
    mail = by_to["d1@debtor.example"]
    html = html_of(mail)
    images = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = str(images[0]["Content-ID"]).strip("<>")
    assert f'src="cid:{cid}"' in html and "data:image" not in html
    assert "data:image" not in text_of(mail) and reminded.invoice_number in text_of(mail)
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(images[0].get_content())))]
    inv = h.invoice(db, reminded.invoice_number)
    euros = f"EUR{inv.open_cents // 100}.{inv.open_cents % 100:02d}"
    assert decoded == [f"BCD\n002\n1\nSCT\n\n{h.ORG_NAME}\n{h.IBAN}\n{euros}\n\n\n{reminded.reference}"]
    assert mail.get_content_type() == "multipart/alternative"
    handover = by_to["d2@debtor.example"]
    assert not [p for p in handover.walk() if p.get_content_type().startswith("image/")]
    assert handed.invoice_number in text_of(handover)
