"""Belgian law: Book XIX WER for consumers and the wet van 2 augustus 2002 for businesses."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest

from domain.law.be import (
    FLAT_COMPENSATION_CENTS,
    DebtLine,
    add_working_days,
    applies,
    damages_cents,
    is_working_day,
    late_payment_interest,
    late_payment_rate_table,
    max_interest_percent,
    public_holidays,
    rate_from_reference,
    reminder_content,
    reminder_fee_cents,
    waiting_period,
)
from domain.law.interest import missing_half_years

# --- the working-day calendar ----------------------------------------------------------------


def test_the_ten_legal_public_holidays_of_2026() -> None:
    assert sorted(public_holidays(2026)) == [
        date(2026, 1, 1), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 14), date(2026, 5, 25),
        date(2026, 7, 21), date(2026, 8, 15), date(2026, 11, 1), date(2026, 11, 11), date(2026, 12, 25),
    ]  # fmt: skip


def test_easter_monday_moves_with_easter() -> None:
    assert date(2025, 4, 21) in public_holidays(2025)
    assert date(2027, 3, 29) in public_holidays(2027)
    assert not is_working_day(date(2027, 3, 29))


def test_weekends_and_holidays_are_not_working_days() -> None:
    assert is_working_day(date(2026, 12, 4))  # a Friday
    assert not is_working_day(date(2026, 12, 5))  # Saturday
    assert not is_working_day(date(2026, 12, 6))  # Sunday
    assert not is_working_day(date(2026, 7, 21))  # national day, a Tuesday
    assert add_working_days(date(2026, 7, 17), 3) == date(2026, 7, 23)  # Fri -> Mon, (Tue 21 off), Wed, Thu


# --- the waiting period (art. XIX.2) ---------------------------------------------------------


def test_a_reminder_posted_on_a_friday_waits_from_the_third_working_day() -> None:
    period = waiting_period(date(2026, 12, 4), "paper")  # Friday
    assert period.first_day == date(2026, 12, 9)  # Mon 7, Tue 8, Wed 9: the third working day
    assert period.last_day == date(2026, 12, 22)  # 14 calendar days: 9..22
    assert period.damages_from == date(2026, 12, 23)


def test_a_reminder_emailed_on_a_sunday_waits_from_monday() -> None:
    period = waiting_period(date(2026, 12, 6), "electronic")  # Sunday
    assert period.first_day == date(2026, 12, 7)
    # 7..20 is fourteen days; the 20th is a Sunday, so the term runs on to Monday the 21st.
    assert period.last_day == date(2026, 12, 21)
    assert period.damages_from == date(2026, 12, 22)


def test_an_emailed_reminder_on_a_weekday_waits_exactly_fourteen_days() -> None:
    period = waiting_period(date(2026, 12, 1), "electronic")  # Tuesday
    assert (period.first_day, period.last_day) == (date(2026, 12, 2), date(2026, 12, 15))
    assert (period.last_day - period.first_day).days + 1 == 14


def test_a_posted_reminder_across_a_belgian_holiday_starts_a_day_later() -> None:
    # Posted Friday 17 July 2026: Mon 20, (Tue 21 July, national day), Wed 22, Thu 23.
    period = waiting_period(date(2026, 7, 17), "paper")
    assert period.first_day == date(2026, 7, 23)
    assert period.last_day == date(2026, 8, 5)
    # The same weekday a week earlier has no holiday in the way: Mon, Tue, Wed.
    assert waiting_period(date(2026, 7, 10), "paper").first_day == date(2026, 7, 15)


def test_a_term_ending_on_a_holiday_runs_on_to_the_next_working_day() -> None:
    # E-mailed Thursday 10 December 2026: 11..24 December, then Christmas and a weekend.
    period = waiting_period(date(2026, 12, 10), "electronic")
    assert period.last_day == date(2026, 12, 24)
    period = waiting_period(date(2026, 12, 11), "electronic")  # 12..25: Christmas, Sat, Sun
    assert period.last_day == date(2026, 12, 28)


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="paper"):
        waiting_period(date(2026, 12, 1), "pigeon")  # type: ignore[arg-type]


# --- the damages scale (art. XIX.4) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "damages"),
    [
        (1, 20_00),
        (150_00, 20_00),  # up to EUR 150: EUR 20
        (150_01, 30_00),  # EUR 30 + 10 % of EUR 0.01 = 30.001 -> EUR 30.00
        (150_05, 30_01),  # 10 % of 5 cents is half a cent: half up
        (300_00, 45_00),  # 30 + 10 % of 150
        (500_00, 65_00),  # 30 + 10 % of 350 = 65
        (500_01, 65_00),  # 65 + 5 % of 1 cent
        (500_10, 65_01),  # 65 + 5 % of 10 cents = half a cent, up
        (1_000_00, 90_00),  # 65 + 5 % of 500
        (39_199_80, 1_999_99),  # just under the cap: 65 + 5 % of 38,699.80
        (39_200_00, 2_000_00),  # 65 + 5 % of 38,700 = 2,000: the cap is reached here
        (39_200_01, 2_000_00),
        (1_000_000_00, 2_000_00),  # capped at EUR 2,000
    ],
)
def test_damages_scale_at_every_boundary(balance: int, damages: int) -> None:
    assert damages_cents(balance) == damages


def test_no_balance_no_damages_and_cents_only() -> None:
    assert damages_cents(0) == 0
    assert damages_cents(-500) == 0
    with pytest.raises(TypeError):
        damages_cents(150.0)  # type: ignore[arg-type]


def test_a_consumers_interest_is_capped_at_the_late_payment_rate() -> None:
    assert max_interest_percent(date(2025, 6, 30)) == Decimal("11.50")
    assert max_interest_percent(date(2026, 3, 1)) == Decimal("10.50")


# --- reminder fees, regular supply --------------------------------------------------------------


def test_the_first_reminder_is_free_whatever_the_policy_asks() -> None:
    assert reminder_fee_cents(15_00, first_reminder=True, regular_supply=False, earlier_this_year=0) == 0
    assert reminder_fee_cents(15_00, first_reminder=True, regular_supply=False, earlier_this_year=7) == 0


def test_regular_supply_three_free_reminders_a_calendar_year_then_at_most_7_50_plus_postage() -> None:
    fees = [
        reminder_fee_cents(15_00, first_reminder=True, regular_supply=True, earlier_this_year=n, postage_cents=1_45)
        for n in range(5)
    ]
    assert fees == [0, 0, 0, 8_95, 8_95]
    assert reminder_fee_cents(5_00, first_reminder=True, regular_supply=True, earlier_this_year=3) == 5_00
    assert reminder_fee_cents(15_00, first_reminder=True, regular_supply=True, earlier_this_year=3) == 7_50


def test_no_fee_on_top_of_the_damages_for_a_later_reminder_about_the_same_debt() -> None:
    assert reminder_fee_cents(15_00, first_reminder=False, regular_supply=False, earlier_this_year=9) == 0
    assert reminder_fee_cents(15_00, first_reminder=False, regular_supply=True, earlier_this_year=9) == 0


# --- the reminder's content ------------------------------------------------------------------------


def test_reminder_content_states_what_the_law_requires() -> None:
    debts = [
        DebtLine("F-1", "Electricity, October", date(2026, 10, 1), date(2026, 10, 31), 120_00),
        DebtLine("F-2", "Electricity, November", date(2026, 11, 1), date(2026, 11, 30), 80_00),
    ]
    content = reminder_content(
        creditor_name="Energie Brussel NV", enterprise_number="0403.170.701", currency="EUR",
        debts=debts, sent_on=date(2026, 12, 4), channel="paper",
    )  # fmt: skip
    assert content.balance_cents == 200_00
    assert content.damages_cents == 35_00  # 30 + 10 % of 50
    assert content.due_dates == (date(2026, 10, 31), date(2026, 11, 30))
    assert content.waiting_period.last_day == date(2026, 12, 22)
    assert content.missing() == []
    assert reminder_content(
        creditor_name="X", enterprise_number=None, currency="EUR", debts=debts, sent_on=date(2026, 12, 4),
        channel="electronic",
    ).missing() == ["enterprise_number"]  # fmt: skip


def test_book_xix_applies_from_its_entry_into_force() -> None:
    assert applies(date(2023, 9, 1), date(2023, 10, 1), date(2023, 10, 2))
    assert not applies(date(2023, 8, 1), date(2023, 10, 1), date(2023, 11, 30))  # § 2 not yet in force
    assert applies(date(2023, 8, 1), date(2023, 10, 1), date(2023, 12, 1))
    assert not applies(date(2023, 1, 1), date(2023, 8, 1), date(2026, 1, 1))  # the delay began before


# --- the late-payment law for businesses ---------------------------------------------------------------


def test_rates_follow_the_ecb_reference_plus_eight_rounded_up_to_a_half_point() -> None:
    text = resources.files("domain.law.be").joinpath("late_payment_rates.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert [r["start_date"] for r in rows][-5:] == [
        "2024-01-01", "2024-07-01", "2025-01-01", "2025-07-01", "2026-01-01"
    ]  # fmt: skip
    for row in rows:
        assert rate_from_reference(Decimal(row["ecb_reference_percent"])) == Decimal(row["rate_percent"]), row
        assert row["source"].strip()
    assert rate_from_reference(Decimal("2.00")) == Decimal("10.0")  # exactly on a half point: stays


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2015, 7, 1), "8.50"),
        (date(2016, 6, 30), "8.50"),
        (date(2016, 7, 1), "8.00"),
        (date(2022, 12, 31), "8.00"),
        (date(2023, 1, 1), "10.50"),
        (date(2023, 7, 1), "12.00"),
        (date(2024, 1, 1), "12.50"),
        (date(2024, 12, 31), "12.50"),
        (date(2025, 1, 1), "11.50"),
        (date(2025, 6, 30), "11.50"),
        (date(2025, 7, 1), "10.50"),
        (date(2026, 1, 1), "10.50"),
    ],
)
def test_published_half_year_rates(day: date, rate: str) -> None:
    assert late_payment_rate_table().rate_on("commercial", day) == Decimal(rate)


def test_interest_across_a_half_year_change_is_cut_at_1_july_and_simple() -> None:
    # EUR 1,000 late from 1 June to 31 July 2025: 30 days at 11.5 %, 31 days at 10.5 %.
    result = late_payment_interest(1_000_00, date(2025, 6, 1), date(2025, 8, 1))
    assert [(p.start, p.end, p.rate_percent) for p in result.periods] == [
        (date(2025, 6, 1), date(2025, 7, 1), Decimal("11.50")),
        (date(2025, 7, 1), date(2025, 8, 1), Decimal("10.50")),
    ]
    # 1000 * 11.5 % * 30 / 365 = 9.4521 -> 9.45; 1000 * 10.5 % * 31 / 365 = 8.9178 -> 8.92
    assert [p.interest_cents for p in result.periods] == [9_45, 8_92]
    assert result.interest_cents == 18_37


def test_no_capitalisation_after_a_year() -> None:
    result = late_payment_interest(1_000_00, date(2024, 1, 1), date(2025, 7, 1))
    assert result.capitalisations == ()
    assert all(p.base_cents == 1_000_00 for p in result.periods)


def test_the_flat_recovery_compensation_is_forty_euros() -> None:
    assert FLAT_COMPENSATION_CENTS == 40_00


def test_the_belgian_table_has_no_half_year_missing_up_to_its_last_row() -> None:
    table = late_payment_rate_table()
    assert missing_half_years(table, "commercial", date(2026, 6, 30)) == []
