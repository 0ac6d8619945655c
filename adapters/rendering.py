"""Jinja for e-mails, letters and portal pages, with money and dates formatted per language."""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from domain.locales import language, variant
from domain.payment_reference import reference_kind

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
# The Babel locale French is formatted in: Settle's French is Belgian French (the creditors who
# write in it are Belgian); CLDR formats fr_BE money and long dates as fr_FR.
_FRENCH = "fr_BE"


def money(cents: int, currency: str = "EUR", locale: str = "nl") -> str:
    """``€ 1.234,56`` in Dutch, ``€1,234.56`` in English, ``1 234,56 €`` in French.

    French is Babel's (CLDR's) fr_BE pattern: a narrow no-break space (U+202F) between the
    thousands and a no-break space (U+00A0) before the symbol, so an amount never breaks over two
    lines. Dutch and English keep the forms their debtors have always had from Settle."""
    if locale == "fr":
        return _babel_money(cents, currency, _FRENCH)
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    grouped = f"{whole:,}"
    symbol = _SYMBOLS.get(currency, currency + " ")
    if locale == "nl":
        return f"{sign}{symbol.strip()} {grouped.replace(',', '.')},{frac:02d}"
    return f"{sign}{symbol}{grouped}.{frac:02d}"


@functools.lru_cache(maxsize=65536)  # Babel parses its pattern per call; a run repeats the same amounts
def _babel_money(cents: int, currency: str, babel_locale: str) -> str:
    """Integer cents to Babel as an exact ``Decimal``, never a float."""
    return str(format_currency(Decimal(cents).scaleb(-2), currency, locale=babel_locale))


@functools.lru_cache(maxsize=4096)  # Babel is slow per call; a page shows a few distinct days
def long_date(day: dt.date, locale: str = "nl") -> str:
    """``4 november 2026`` / ``4 November 2026`` / ``4 novembre 2026`` (Babel's month names).
    French writes the first of the month as an ordinal: ``1er novembre 2026``."""
    if locale == "fr":
        text = str(format_date(day, "d MMMM y", locale=_FRENCH))
        return "1er" + text[1:] if day.day == 1 else text
    return str(format_date(day, "d MMMM y", locale="nl" if locale == "nl" else "en"))


@functools.lru_cache(maxsize=4096)
def short_date(day: dt.date, locale: str = "nl") -> str:
    """``04-11-2026`` in Dutch, ``04/11/2026`` in (Belgian) French, ``4 Nov 2026`` in English (never the
    ISO form, which reads as a code)."""
    if locale == "nl":
        return day.strftime("%d-%m-%Y")
    if locale == "fr":
        return day.strftime("%d/%m/%Y")
    return str(format_date(day, "d MMM y", locale="en"))


def words_template(env: Environment, lang: str, country: str | None, name: str) -> str:
    """The words of e-mail ``name`` for a debtor: ``email/<variant>/<name>.j2`` when the country has
    its own (``email/nl-BE/formal_notice.j2`` for Dutch to a Belgian debtor), else the language's
    ``email/<lang>/<name>.j2``."""
    lang = language(lang)
    own = variant(lang, country)
    if own is not None:
        candidate = f"email/{own}/{name}.j2"
        if candidate in _template_names(env):
            return candidate
    return f"email/{lang}/{name}.j2"


@functools.cache
def _template_names(env: Environment) -> frozenset[str]:
    """Every template an environment can load, listed once per process (templates ship with the code)."""
    return frozenset(env.list_templates())


def nowrap(text: object) -> Markup:
    """For HTML e-mail: an amount (``€ 1.234,56``) or a date that never breaks over two lines.
    A ``white-space: nowrap`` span rather than ``&nbsp;``, so the text itself (and a search in it)
    stays the same as in the plain-text part."""
    return Markup('<span style="white-space: nowrap;">{}</span>').format(text)


# The blanks a template's line breaks and indents leave; not the no-break spaces inside an amount
# (``1 234,56 €``) or before French punctuation, which ``str.split()`` would also take.
_LAYOUT_BLANKS = re.compile(r"[ \t\r\n\f\v]+")


def split_paragraphs(text: str) -> list[str]:
    return [_LAYOUT_BLANKS.sub(" ", p).strip(" ") for p in text.split("\n\n") if p.strip()]


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: compiled once per process, never re-checked on disk
        # (the mtime check per lookup was a tenth of the statement page's time).
        auto_reload=False,
    )
    env.filters["money"] = money
    env.filters["long_date"] = long_date
    env.filters["short_date"] = short_date
    env.filters["nowrap"] = nowrap
    env.filters["split_paragraphs"] = split_paragraphs
    # ``{% if ref is ogm %}``: a Belgian structured communication, labelled as such, not "betalingskenmerk".
    env.tests["ogm"] = _is_ogm
    return env


def _is_ogm(value: object) -> bool:
    return isinstance(value, str) and reference_kind(value) == "ogm"
