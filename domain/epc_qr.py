"""The EPC QR code's payload: scan-to-pay for a SEPA credit transfer.

European Payments Council, EPC069-12 "Quick Response Code: guidelines to enable data capture
for the initiation of a SEPA credit transfer", version 002 of the data format (BIC optional
within the EEA). The payload is text, one data element per line (LF), in this order:

====  =========================  ==========  ===========================================
line  element                    length      here
====  =========================  ==========  ===========================================
1     service tag                3           ``BCD``
2     version                    3           ``002``
3     character set              1           ``1`` (UTF-8)
4     identification             3           ``SCT`` (SEPA credit transfer)
5     BIC of the beneficiary     8 or 11     optional in version 002
6     name of the beneficiary    1..70       mandatory
7     IBAN of the beneficiary    up to 34    mandatory
8     amount                     ``EUR`` +   ``EUR12.34``, 0.01 to 999999999.99; optional
                                 1..12
9     purpose (AT-44)            up to 4     optional
10    structured remittance      up to 35    an ISO 11649 RF reference (or a Belgian OGM)
11    unstructured remittance    up to 140   text; never together with line 10
12    beneficiary to originator  up to 70    optional
====  =========================  ==========  ===========================================

The whole payload is at most 331 bytes (QR version 13 at error correction level M). Trailing
empty optional elements may be left out; this builder leaves out only empty *trailing* lines,
so every line keeps its position. A value that does not fit is refused with an
``EpcPayloadError`` naming the element: a QR code that a banking app reads differently from
what the letter says would be worse than none.

Pure: no I/O, no QR library (``adapters.qr`` draws the symbol).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from stdnum import iso11649
from stdnum.be import ogm_vcs

from domain.errors import ValidationError

__all__ = [
    "MAX_AMOUNT_CENTS",
    "MAX_PAYLOAD_BYTES",
    "EpcPayloadError",
    "TransferRequest",
    "build_payload",
    "format_amount",
]

SERVICE_TAG = "BCD"
VERSION = "002"
CHARACTER_SET_UTF8 = "1"
IDENTIFICATION = "SCT"
MAX_PAYLOAD_BYTES = 331
MAX_AMOUNT_CENTS = 99_999_999_999  # EUR 999,999,999.99
MAX_NAME, MAX_IBAN, MAX_PURPOSE, MAX_STRUCTURED, MAX_TEXT, MAX_INFORMATION = 70, 34, 4, 35, 140, 70

_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$")
_PURPOSE = re.compile(r"^[A-Z0-9]{1,4}$")


class EpcPayloadError(ValidationError):
    """A value that does not fit the EPC QR format; ``field`` names the element."""

    code = "epc_payload"


@dataclass(frozen=True)
class TransferRequest:
    """What the payer's banking app is to fill in. Money in cents, as everywhere."""

    name: str
    iban: str
    amount_cents: int | None = None
    bic: str | None = None
    purpose: str | None = None
    structured_reference: str | None = None  # RF creditor reference (ISO 11649) or OGM
    text: str | None = None  # unstructured remittance information
    information: str | None = None  # beneficiary to originator information


def format_amount(cents: int) -> str:
    """``EUR12.34``: the currency and the amount with a dot and (at most) two decimals."""
    if not 1 <= cents <= MAX_AMOUNT_CENTS:
        raise EpcPayloadError(
            f"amount {Decimal(cents) / 100} is outside what an EPC QR code carries (0.01 to 999999999.99)", "amount"
        )
    return f"EUR{cents // 100}.{cents % 100:02d}"


def _single_line(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if "\n" in value or "\r" in value:
        raise EpcPayloadError(f"{field} must be one line", field)
    if len(value) > limit:
        raise EpcPayloadError(f"{field} has {len(value)} characters; an EPC QR code takes at most {limit}", field)
    return value


def build_payload(req: TransferRequest) -> str:
    """The payload text (UTF-8, LF-separated) for ``req``; ``EpcPayloadError`` if it does not fit."""
    name = _single_line(req.name, "name", MAX_NAME)
    if not name:
        raise EpcPayloadError("the beneficiary's name is required", "name")
    iban = "".join(req.iban.split()).upper()
    if len(iban) > MAX_IBAN or not _IBAN.match(iban):
        raise EpcPayloadError(f"iban {req.iban!r} is not an IBAN", "iban")
    bic = "".join((req.bic or "").split()).upper()
    if bic and not _BIC.match(bic):
        raise EpcPayloadError(f"bic {req.bic!r} is not a BIC of 8 or 11 characters", "bic")
    amount = format_amount(req.amount_cents) if req.amount_cents is not None else ""
    purpose = (req.purpose or "").strip().upper()
    if purpose and not _PURPOSE.match(purpose):
        raise EpcPayloadError(f"purpose {req.purpose!r} is not a purpose code of up to 4 letters or digits", "purpose")
    structured = "".join((req.structured_reference or "").split()).upper()
    if len(structured) > MAX_STRUCTURED:
        raise EpcPayloadError(
            f"structured_reference has {len(structured)} characters; an EPC QR code takes at most {MAX_STRUCTURED}",
            "structured_reference",
        )
    text = _single_line(req.text or "", "text", MAX_TEXT)
    if structured and text:
        raise EpcPayloadError("give a structured reference or a text, not both (EPC069-12)", "text")
    information = _single_line(req.information or "", "information", MAX_INFORMATION)
    lines = [SERVICE_TAG, VERSION, CHARACTER_SET_UTF8, IDENTIFICATION, bic, name, iban, amount, purpose,
             structured, text, information]  # fmt: skip
    while lines[-1] == "":
        lines.pop()
    payload = "\n".join(lines)
    size = len(payload.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise EpcPayloadError(
            f"the payload is {size} bytes; an EPC QR code holds at most {MAX_PAYLOAD_BYTES}", "payload"
        )
    return payload


# --- what a message asks to be paid, as a transfer request ---------------------------------


def structured_form(reference: str) -> str | None:
    """The reference as it goes in the structured element, when it is one that element takes: an
    RF creditor reference with valid check digits (ISO 11649, compact), or a Belgian structured
    communication (OGM/VCS, its 12 digits). ``None`` for anything else (a Dutch betalingskenmerk,
    free text), which goes in the text element."""
    if iso11649.is_valid(reference):
        return str(iso11649.compact(reference))
    if ogm_vcs.is_valid(reference):
        return str(ogm_vcs.compact(reference))
    return None


def remittance(items: list[tuple[str | None, str]]) -> tuple[str | None, str | None]:
    """(structured reference, text) for a transfer that pays ``items`` (payment reference or None,
    invoice number) at once: one invoice with an RF or OGM reference is paid with it as structured
    remittance; otherwise the text lists each invoice's reference (else its number), as far as the
    140 characters go, which is what reconciliation looks for in a bank line."""
    if len(items) == 1 and items[0][0] and (structured := structured_form(items[0][0])):
        return structured, None
    words: list[str] = []
    for reference, number in items:
        word = " ".join((reference or number).split())
        if len(" ".join([*words, word])) > MAX_TEXT:
            break
        words.append(word)
    return None, (" ".join(words) or None)


def for_invoices(
    *, name: str, iban: str | None, currency: str, amount_cents: int, items: list[tuple[str | None, str]]
) -> TransferRequest | None:
    """The transfer a letter or e-mail asks for, or ``None`` when an EPC QR code cannot ask it: no
    IBAN, not euros, nothing (or more than the format carries) to pay. The name is cut to the 70
    characters the format takes (the IBAN, not the name, routes the money)."""
    if not iban or currency != "EUR" or not 1 <= amount_cents <= MAX_AMOUNT_CENTS:
        return None
    structured, text = remittance(items)
    return TransferRequest(name=" ".join(name.split())[:MAX_NAME].strip(), iban=iban, amount_cents=amount_cents,
                           structured_reference=structured, text=text)  # fmt: skip
