"""Jinja for e-mails, letters and portal pages, with money and dates formatted per language."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

_MONTHS = {
    "nl": [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}
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


def long_date(day: dt.date, locale: str = "nl") -> str:
    months = _MONTHS.get(locale, _MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


def short_date(day: dt.date, locale: str = "nl") -> str:
    return day.strftime("%d-%m-%Y") if locale == "nl" else day.isoformat()


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
    env.filters["split_paragraphs"] = split_paragraphs
    return env
