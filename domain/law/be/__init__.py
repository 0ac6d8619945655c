"""Belgian law on late payment: Book XIX WER for consumers, the wet van 2 augustus 2002 for businesses.

The same shape as the Dutch modules in ``domain.law``: pure functions over integer
cents and dates, tables as data with their sources, no clock. ``working_days`` is the
Belgian working-day calendar both need.
"""

from domain.law.be.book_xix import (
    MAX_DAMAGES_CENTS,
    WAITING_PERIOD_DAYS,
    DebtLine,
    ReminderContent,
    WaitingPeriod,
    applies,
    channel_of,
    damages_cents,
    max_interest_percent,
    reminder_content,
    reminder_fee_cents,
    waiting_period,
)
from domain.law.be.late_payment import (
    FLAT_COMPENSATION_CENTS,
    late_payment_interest,
    late_payment_rate_table,
    rate_from_reference,
)
from domain.law.be.working_days import add_working_days, is_working_day, public_holidays

__all__ = [
    "FLAT_COMPENSATION_CENTS",
    "MAX_DAMAGES_CENTS",
    "WAITING_PERIOD_DAYS",
    "DebtLine",
    "ReminderContent",
    "WaitingPeriod",
    "add_working_days",
    "applies",
    "channel_of",
    "damages_cents",
    "is_working_day",
    "late_payment_interest",
    "late_payment_rate_table",
    "max_interest_percent",
    "public_holidays",
    "rate_from_reference",
    "reminder_content",
    "reminder_fee_cents",
    "waiting_period",
]
