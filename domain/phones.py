"""Phone numbers, parsed and stored as E.164 (``+31612345678``) with ``phonenumbers``.

One home for reading a number as people write it (``06 1234 5678``, ``+32 470 12 34 56``,
``0031 20 123 4567``): a number without a country code is read in the country it belongs
to (the customer's, else the organisation's).
"""

from __future__ import annotations

import phonenumbers

from domain.errors import ValidationError

_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def to_e164(value: str, region: str, field: str = "phone") -> str:
    """``value`` as E.164, read in ``region`` (``NL``, ``BE``) when it has no country code;
    a ValidationError naming ``field`` when it is not a valid number."""
    try:
        parsed = phonenumbers.parse(value, (region or "NL").upper())
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"{value!r} is not a valid phone number (e.g. +31 6 1234 5678)", field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str | None) -> bool:
    """Whether a stored number can receive a text message (a mobile number)."""
    if not e164:
        return False
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164, None)) in _MOBILE
    except phonenumbers.NumberParseException:
        return False
