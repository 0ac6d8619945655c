"""Belgian consumer debts: Book XIX of the Code of Economic Law (WER/CDE), title 1.

Wet van 4 mei 2023 houdende invoeging van boek XIX "Schulden van de consument" in
het Wetboek van economisch recht / loi du 4 mai 2023 portant insertion du livre XIX
"Dettes du consommateur" dans le Code de droit économique, published in the
Belgisch Staatsblad / Moniteur belge of 23 May 2023 (numac 2023042228). Its art. 15:
in force on 1 September 2023 (the first day of the fourth month after
publication) for contracts made from then on, and, for a payment delay that arises
afterwards under a contract made before, from 1 December 2023 (art. 15, § 2, in
force on the first day of the seventh month; completed by art. 120 of the wet van
5 november 2023, BS 11 December 2023). Art. XIX.1: the title applies to every
payment delay of a consumer's debt to an undertaking.

What this module encodes (the article numbers are those of the WER):

* art. XIX.2: before any damages clause may be applied, the undertaking sends the
  consumer a first reminder, free of charge, that states the balance due and the
  damages that will be charged; the undertaking's name and enterprise number; the
  description of the product or service the debt arose from and its due date; and
  the term of at least fourteen calendar days to pay before damages are charged.
  That term starts on the third working day after a reminder sent on paper, or on
  the calendar day after one sent electronically. During it the consumer may ask
  for a payment plan. For contracts of regular supply of goods or services the
  reminders about three due dates in a calendar year are free; any further one
  costs at most EUR 7.50 plus the postage in force when it is sent.
* art. XIX.4: late interest at most the rate of art. 5 of the wet van 2 augustus
  2002 (``domain.law.be.late_payment``), and a flat damages sum at most: EUR 20 for a
  balance up to EUR 150; EUR 30 plus 10 % of the part between EUR 150.01 and EUR 500;
  EUR 65 plus 5 % of the part above EUR 500, with a maximum of EUR 2,000.

Choices that lean to the consumer's side, so that a creditor never charges early:
the fourteenth day of the term, when it is not a working day, runs on to the next
working day (as art. 53 of the Judicial Code does for a term's last day); damages
may be charged from the day after the term. A reminder fee outside regular supply
is not charged at all (the flat damages sum covers the costs of collection).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from domain.law.be.late_payment import late_payment_rate_table
from domain.law.be.working_days import add_working_days, is_working_day

__all__ = [
    "FREE_REGULAR_REMINDERS_PER_YEAR",
    "IN_FORCE_EARLIER_CONTRACTS",
    "IN_FORCE_NEW_CONTRACTS",
    "MAX_DAMAGES_CENTS",
    "MAX_FURTHER_REMINDER_FEE_CENTS",
    "REQUIRED_CONTENT",
    "WAITING_PERIOD_DAYS",
    "Channel",
    "DebtLine",
    "ReminderContent",
    "WaitingPeriod",
    "applies",
    "channel_of",
    "damages_cents",
    "max_interest_percent",
    "reminder_content",
    "reminder_fee_cents",
    "waiting_period",
]

IN_FORCE_NEW_CONTRACTS = dt.date(2023, 9, 1)  # art. 15, § 1 of the wet van 4 mei 2023
IN_FORCE_EARLIER_CONTRACTS = dt.date(2023, 12, 1)  # art. 15, § 2
WAITING_PERIOD_DAYS = 14  # art. XIX.2: at least fourteen calendar days
PAPER_START_WORKING_DAYS = 3  # the term starts on the third working day after posting
FREE_REGULAR_REMINDERS_PER_YEAR = 3  # regular supply: three due dates a calendar year
MAX_FURTHER_REMINDER_FEE_CENTS = 7_50  # plus postage
MAX_DAMAGES_CENTS = 2_000_00

# art. XIX.4: (balance up to, in cents, or None; fixed part; percentage; of the part above)
DAMAGES_SCALE: tuple[tuple[int | None, int, Decimal, int], ...] = (
    (150_00, 20_00, Decimal(0), 0),
    (500_00, 30_00, Decimal("0.10"), 150_00),
    (None, 65_00, Decimal("0.05"), 500_00),
)

Channel = Literal["paper", "electronic"]
# What the first reminder must state (art. XIX.2), in the order a reminder shows them.
REQUIRED_CONTENT = (
    "balance",
    "damages",
    "creditor_name",
    "enterprise_number",
    "debt_description",
    "due_date",
    "waiting_period",
)


def applies(contract_made_on: dt.date, default_on: dt.date, as_of: dt.date) -> bool:
    """Whether Book XIX governs a payment delay that began on ``default_on`` (art. 15).

    A contract made from 1 September 2023: every delay. An earlier contract: a delay
    that arose from 1 September 2023, once § 2 is in force (1 December 2023).
    """
    if contract_made_on >= IN_FORCE_NEW_CONTRACTS:
        return True
    return default_on >= IN_FORCE_NEW_CONTRACTS and as_of >= IN_FORCE_EARLIER_CONTRACTS


def channel_of(step_channel: str) -> Channel:
    """A step's channel as the law sees it: a letter is paper, everything else electronic."""
    return "paper" if step_channel == "letter" else "electronic"


@dataclass(frozen=True)
class WaitingPeriod:
    """The consumer's term after a reminder: ``first_day`` to ``last_day`` inclusive."""

    sent_on: dt.date
    channel: Channel
    first_day: dt.date
    last_day: dt.date

    @property
    def damages_from(self) -> dt.date:
        """The first day damages and interest may be charged."""
        return self.last_day + dt.timedelta(days=1)


def waiting_period(sent_on: dt.date, channel: Channel) -> WaitingPeriod:
    """The art. XIX.2 term for a reminder sent on ``sent_on`` by ``channel``."""
    if channel == "paper":
        first = add_working_days(sent_on, PAPER_START_WORKING_DAYS)
    elif channel == "electronic":
        first = sent_on + dt.timedelta(days=1)
    else:
        raise ValueError(f"channel must be 'paper' or 'electronic', not {channel!r}")
    last = first + dt.timedelta(days=WAITING_PERIOD_DAYS - 1)
    while not is_working_day(last):
        last += dt.timedelta(days=1)
    return WaitingPeriod(sent_on, channel, first, last)


def _check_cents(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int number of cents, not {type(value).__name__}")
    return value


def damages_cents(balance_cents: int) -> int:
    """The most a damages clause may ask on a balance (art. XIX.4), rounded to the cent half up."""
    balance_cents = _check_cents(balance_cents, "balance_cents")
    if balance_cents <= 0:
        return 0
    for up_to, fixed, rate, above in DAMAGES_SCALE:
        if up_to is None or balance_cents <= up_to:
            extra = (Decimal(balance_cents - above) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            return min(fixed + int(extra), MAX_DAMAGES_CENTS)
    raise AssertionError("the scale ends with an open band")  # pragma: no cover


def max_interest_percent(day: dt.date) -> Decimal:
    """The ceiling of a consumer's late interest on ``day``: the rate of the wet van 2 augustus 2002."""
    return late_payment_rate_table().rate_on("commercial", day)


def reminder_fee_cents(
    requested_cents: int,
    *,
    first_reminder: bool,
    regular_supply: bool,
    earlier_this_year: int,
    postage_cents: int = 0,
) -> int:
    """What may be charged of a step's fee for a reminder to a consumer (art. XIX.2).

    ``first_reminder``: the first reminder about this debt (its due date);
    ``earlier_this_year``: the due dates of the same customer first reminded earlier in
    the calendar year. The first reminder is free. Under a contract of regular supply
    that holds for the reminders about three due dates a calendar year; the first
    reminder about a further one costs at most EUR 7.50 plus ``postage_cents``. Any
    later reminder about the same debt adds no fee: the flat damages sum covers it.
    """
    requested_cents = _check_cents(requested_cents, "requested_cents")
    if not (first_reminder and regular_supply) or earlier_this_year < FREE_REGULAR_REMINDERS_PER_YEAR:
        return 0
    return max(0, min(requested_cents, MAX_FURTHER_REMINDER_FEE_CENTS + postage_cents))


@dataclass(frozen=True)
class DebtLine:
    """One debt as the reminder describes it."""

    number: str
    description: str | None
    issue_date: dt.date
    due_date: dt.date
    open_cents: int


@dataclass(frozen=True)
class ReminderContent:
    """Everything art. XIX.2 requires a first reminder to state, as data for the templates."""

    creditor_name: str
    enterprise_number: str | None
    currency: str
    balance_cents: int
    damages_cents: int
    debts: tuple[DebtLine, ...]
    waiting_period: WaitingPeriod

    @property
    def due_dates(self) -> tuple[dt.date, ...]:
        return tuple(d.due_date for d in self.debts)

    def missing(self) -> list[str]:
        """The required items this content cannot state (a creditor without an enterprise number)."""
        return [] if self.enterprise_number else ["enterprise_number"]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReminderContent:
        """Back from the plain dict a draft stores (dates already ``datetime.date``)."""
        period = dict(data["waiting_period"])
        return cls(
            creditor_name=data["creditor_name"],
            enterprise_number=data["enterprise_number"],
            currency=data["currency"],
            balance_cents=data["balance_cents"],
            damages_cents=data["damages_cents"],
            debts=tuple(DebtLine(**d) for d in data["debts"]),
            waiting_period=WaitingPeriod(**period),
        )


def reminder_content(
    *,
    creditor_name: str,
    enterprise_number: str | None,
    currency: str,
    debts: Sequence[DebtLine],
    sent_on: dt.date,
    channel: Channel,
) -> ReminderContent:
    """The first reminder's required content for ``debts`` sent on ``sent_on`` by ``channel``.

    The damages stated are the scale's maximum on the balance of these debts taken
    together (one claim, as the consumer sees it).
    """
    balance = sum(d.open_cents for d in debts)
    return ReminderContent(
        creditor_name=creditor_name,
        enterprise_number=enterprise_number,
        currency=currency,
        balance_cents=balance,
        damages_cents=damages_cents(balance),
        debts=tuple(debts),
        waiting_period=waiting_period(sent_on, channel),
    )
