"""Jinja for e-mails, letters and portal pages, with money and dates formatted per language."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from domain.payment_reference import reference_kind

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(cents: int, currency: str = "EUR", locale: str = "nl") -> str:
    """``€ 1.234,56`` in Dutch, ``€1,234.56`` in English."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    grouped = f"{whole:,}"
    symbol = _SYMBOLS.get(currency, currency + " ")
    if locale == "nl":
        return f"{sign}{symbol.strip()} {grouped.replace(',', '.')},{frac:02d}"
    return f"{sign}{symbol}{grouped}.{frac:02d}"


@functools.lru_cache(maxsize=4096)  # Babel is slow per call; a page shows a few distinct days
def long_date(day: dt.date, locale: str = "nl") -> str:
    """``4 november 2026`` / ``4 November 2026`` (Babel's month names)."""
    return str(format_date(day, "d MMMM y", locale="nl" if locale == "nl" else "en"))


@functools.lru_cache(maxsize=4096)
def short_date(day: dt.date, locale: str = "nl") -> str:
    """``04-11-2026`` in Dutch, ``4 Nov 2026`` in English (never the ISO form, which reads as a code)."""
    return day.strftime("%d-%m-%Y") if locale == "nl" else str(format_date(day, "d MMM y", locale="en"))


def nowrap(text: object) -> Markup:
    """For HTML e-mail: an amount (``€ 1.234,56``) or a date that never breaks over two lines.
    A ``white-space: nowrap`` span rather than ``&nbsp;``, so the text itself (and a search in it)
    stays the same as in the plain-text part."""
    return Markup('<span style="white-space: nowrap;">{}</span>').format(text)


def split_paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


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
