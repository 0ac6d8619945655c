"""Money: integer cents inside, two-decimal strings at the edges, never float.

Invoices in Settle are in currencies with two minor digits. Amounts arrive as
decimal strings ("1250.00") from the API and from imports; a third decimal is an
error rather than something to round silently, because a debtor must be asked for
exactly what the creditor invoiced.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# ISO 4217 currencies with two minor units that a European creditor invoices in.
CURRENCIES = frozenset(
    {
        "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON",
        "BGN", "CAD", "AUD", "NZD", "SGD", "HKD", "ZAR", "MXN", "BRL", "TRY", "INR",
        "CNY", "AED", "ILS",
    }
)  # fmt: skip

MAX_CENTS = 10**13  # one hundred billion: beyond any invoice, well inside BIGINT


class MoneyError(ValueError):
    """An amount or currency that cannot be accepted; the message says why."""


def parse_amount(value: object, *, allow_zero: bool = True, allow_negative: bool = False) -> int:
    """Turn a decimal string (or int) into cents; refuse floats and a third decimal."""
    if isinstance(value, bool | float):
        raise MoneyError("must be a decimal string such as \"1250.00\", not a number with binary fraction")
    if isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError("must not be empty")
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not a decimal amount") from None
    elif isinstance(value, Decimal):
        dec = value
    else:
        raise MoneyError("must be a decimal string such as \"1250.00\"")
    if not dec.is_finite():
        raise MoneyError(f"{value!r} is not a decimal amount")
    exponent = dec.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise MoneyError(f"{value!r} has more than two decimals")
    cents = int(dec * 100)
    if cents < 0 and not allow_negative:
        raise MoneyError("must not be negative")
    if cents == 0 and not allow_zero:
        raise MoneyError("must be greater than zero")
    if abs(cents) >= MAX_CENTS:
        raise MoneyError("is too large")
    return cents


def format_amount(cents: int) -> str:
    """Cents as the API's decimal string: 125000 -> "1250.00"."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def parse_currency(value: object) -> str:
    """An ISO 4217 code Settle accepts, upper case."""
    if not isinstance(value, str) or not value.strip():
        raise MoneyError("must be an ISO 4217 currency code such as \"EUR\"")
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise MoneyError(f"{value!r} is not a supported ISO 4217 currency")
    return code
