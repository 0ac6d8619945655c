"""When collection costs may be charged: the consumer's fourteen-day letter.

Art. 6:96 lid 6 BW protects consumers: extrajudicial collection costs are only
owed once the debtor, after falling into default, has received a written
reminder free of charge (the "veertiendagenbrief") that

* offers a term of fourteen days, starting the day after receipt, to pay, and
* states what collection costs will be charged if payment does not follow.

The Hoge Raad (13 June 2014, ECLI:NL:HR:2014:1405) confirmed that the term
runs from the day after receipt. A letter that gets this wrong, or costs
charged before the term has run out, cost the creditor the whole claim to
costs, so this module leans to the late side: it assumes receipt
``delivery_days`` after sending, and treats the term as a statutory one to which
the Algemene termijnenwet applies (a term ending on a Saturday, Sunday or public
holiday runs on to the next working day).

For businesses no such letter is needed: a business debtor owes the costs as
damages under art. 6:96 lid 2 sub c BW as soon as it is in default (and in a
commercial transaction at least EUR 40 without any reminder, art. 6:96 lid 4).

Whether the letter's content meets the rules (amount of the costs stated, the
term correctly described, sent after the default began) is for the letter's
author; these functions only do the dates.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Literal

__all__ = ["NOTICE_TERM_DAYS", "DebtorKind", "earliest_costs_date", "may_charge_costs"]

DebtorKind = Literal["consumer", "business"]

NOTICE_TERM_DAYS = 14
_ONE_DAY = timedelta(days=1)


def earliest_costs_date(
    letter_sent_on: date,
    delivery_days: int = 2,
    *,
    extend_past_weekend: bool = True,
    non_working_days: Collection[date] = (),
) -> date:
    """The first day on which costs may be charged to a consumer after the letter.

    Receipt is assumed ``delivery_days`` after sending. The fourteen days run
    from the day after receipt, so the term's last day is receipt + 14; if that
    falls on a Saturday or Sunday (when ``extend_past_weekend``) or on one of
    ``non_working_days`` (public holidays are the caller's to supply), it moves
    to the next working day (Algemene termijnenwet, art. 1). Costs may be
    charged from the day after the term's last day.
    """
    if delivery_days < 0:
        raise ValueError("delivery_days must not be negative")
    received = letter_sent_on + timedelta(days=delivery_days)
    last_day = received + timedelta(days=NOTICE_TERM_DAYS)
    while (extend_past_weekend and last_day.weekday() >= 5) or last_day in non_working_days:
        last_day += _ONE_DAY
    return last_day + _ONE_DAY


def may_charge_costs(
    kind: DebtorKind,
    letter_sent_on: date | None,
    as_of: date,
    *,
    delivery_days: int = 2,
    extend_past_weekend: bool = True,
    non_working_days: Collection[date] = (),
) -> bool:
    """Whether collection costs may be charged on ``as_of``.

    A business: yes, assuming (as the caller must ensure) that it is in default.
    A consumer: only once a fourteen-day letter has been sent and its term has
    run out, see ``earliest_costs_date``.
    """
    if kind == "business":
        return True
    if kind != "consumer":
        raise ValueError(f"kind must be 'consumer' or 'business', not {kind!r}")
    if letter_sent_on is None:
        return False
    earliest = earliest_costs_date(
        letter_sent_on,
        delivery_days,
        extend_past_weekend=extend_past_weekend,
        non_working_days=non_working_days,
    )
    return as_of >= earliest
