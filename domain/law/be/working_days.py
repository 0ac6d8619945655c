"""The Belgian working-day calendar: Saturdays, Sundays and the legal public holidays are not working days.

Book XIX of the Code of Economic Law counts the consumer's waiting period from
"the third working day" after a reminder sent on paper (art. XIX.2), so the
calendar matters to the day. Belgium's ten legal public holidays are fixed by the
wet van 4 januari 1974 betreffende de feestdagen and the koninklijk besluit van
18 april 1974 (art. 1): New Year's Day, Easter Monday, 1 May, Ascension Day, Whit
Monday, 21 July, 15 August, 1 November, 11 November and Christmas Day. Their
dates, movable feasts included, come from the ``holidays`` library (the Open World
Holidays Framework, country ``BE``), which is data maintained in the field rather
than an Easter computation of our own; ``LEGAL_HOLIDAYS`` names what we rely on
and the tests check the library against it.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

__all__ = ["LEGAL_HOLIDAYS", "add_working_days", "is_working_day", "public_holidays"]

# The ten days of KB 18 april 1974, art. 1, as the holidays library names them (English names).
LEGAL_HOLIDAYS = (
    "New Year's Day",
    "Easter Monday",
    "Labor Day",
    "Ascension Day",
    "Pentecost Monday",
    "National Day",
    "Assumption Day",
    "All Saints' Day",
    "Armistice Day",
    "Christmas Day",
)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[dt.date]:
    """Belgium's legal public holidays in ``year`` (the library's Sundays, Easter and Whit Sunday,
    are weekend days anyway and are left out so that the set is exactly the law's ten)."""
    found = holidays.country_holidays("BE", years=year, language="en_US")
    return frozenset(day for day, name in found.items() if name in LEGAL_HOLIDAYS)


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday, and not a Belgian legal public holiday."""
    return day.weekday() < 5 and day not in public_holidays(day.year)


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``day`` (``day`` itself never counts)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    current = day
    while count:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            count -= 1
    return current
