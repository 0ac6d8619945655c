"""The fourteen-day letter of art. 6:96 lid 6 BW, in dates."""

from __future__ import annotations

from datetime import date

import pytest

from domain.law import NOTICE_TERM_DAYS, earliest_costs_date, may_charge_costs


def test_term_is_fourteen_days() -> None:
    assert NOTICE_TERM_DAYS == 14


def test_ordinary_weekday_letter() -> None:
    # Sent Monday 3 March 2025, received Wednesday 5 March (2 days);
    # the 14 days are 6 .. 19 March (a Wednesday); costs from Thursday 20 March.
    assert earliest_costs_date(date(2025, 3, 3)) == date(2025, 3, 20)


def test_delivery_days_shift_the_term() -> None:
    # Received the same day: term 4 .. 17 March (Monday), costs from 18 March.
    assert earliest_costs_date(date(2025, 3, 3), delivery_days=0) == date(2025, 3, 18)


def test_term_ending_in_a_weekend_runs_to_monday() -> None:
    # Sent Friday 7 March, received Saturday 8 March (1 day): the 14th day is
    # Saturday 22 March; under the Algemene termijnenwet the term runs on to
    # Monday 24 March, so costs from Tuesday 25 March.
    assert earliest_costs_date(date(2025, 3, 7), delivery_days=1) == date(2025, 3, 25)
    # Without that extension the term would end Saturday and costs start Sunday.
    assert earliest_costs_date(
        date(2025, 3, 7), delivery_days=1, extend_past_weekend=False
    ) == date(2025, 3, 23)


def test_term_ending_on_a_public_holiday_runs_on() -> None:
    # Sent Saturday 5 April 2025, received Monday 7 April: the 14th day is
    # Monday 21 April, Easter Monday 2025 (Easter Sunday was 20 April).
    easter_monday = date(2025, 4, 21)
    assert earliest_costs_date(date(2025, 4, 5)) == date(2025, 4, 22)
    assert earliest_costs_date(date(2025, 4, 5), non_working_days={easter_monday}) == date(
        2025, 4, 23
    )


def test_negative_delivery_days_are_refused() -> None:
    with pytest.raises(ValueError):
        earliest_costs_date(date(2025, 3, 3), delivery_days=-1)


def test_business_may_be_charged_without_a_letter() -> None:
    assert may_charge_costs("business", None, date(2025, 1, 1))


def test_consumer_needs_a_letter() -> None:
    assert not may_charge_costs("consumer", None, date(2030, 1, 1))


def test_consumer_only_after_the_term() -> None:
    sent = date(2025, 3, 3)  # costs allowed from 20 March, see above
    assert not may_charge_costs("consumer", sent, date(2025, 3, 19))
    assert may_charge_costs("consumer", sent, date(2025, 3, 20))
    assert may_charge_costs("consumer", sent, date(2025, 6, 1))


def test_consumer_passes_the_options_through() -> None:
    sent = date(2025, 4, 5)
    easter_monday = date(2025, 4, 21)
    assert may_charge_costs("consumer", sent, date(2025, 4, 22))
    assert not may_charge_costs(
        "consumer", sent, date(2025, 4, 22), non_working_days={easter_monday}
    )


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        may_charge_costs("government", date(2025, 3, 3), date(2025, 4, 1))  # type: ignore[arg-type]
