"""The languages Settle writes to debtors in: one list, imported by the API, the intake, the CLI,
the portal and the templates' checks, so adding a language is a change in one place (plus its words).

A customer's ``locale`` is the language (``nl``, ``fr`` or ``en``). Where the words must also suit
the debtor's country, the *variant* adds it: a Belgian customer who reads Dutch reads ``nl-BE``
texts where those exist (Flemish wording, Belgian legal terms) and the plain ``nl`` ones elsewhere.
"""

from __future__ import annotations

LANGUAGES = ("nl", "fr", "en")
DEFAULT_LANGUAGE = "nl"
# Each language named in itself, as a language switch shows it (never translated).
NATIVE_NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}
# The countries whose wording may differ from the language's plain texts (``nl-BE``, ``fr-BE``).
VARIANT_COUNTRIES = ("NL", "BE")


def language(value: str | None) -> str:
    """The language to write in for a stored or asked ``locale``: itself when Settle speaks it,
    else Dutch (a row from before a language was added, a typo in an old import)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def variant(lang: str, country: str | None) -> str | None:
    """``nl-BE`` for Dutch to a Belgian debtor: the name under which country-specific words of a
    language are looked for first (``templates/email/nl-BE/…``, a portal string's ``nl-BE``).
    ``None`` when there is no country to suit."""
    if country is None or country.upper() not in VARIANT_COUNTRIES:
        return None
    return f"{language(lang)}-{country.upper()}"
