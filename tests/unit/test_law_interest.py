"""Statutory interest: the shipped rate table, hand-worked examples, properties.

Expected figures are worked out by hand in the comments from the rates in the
table (actual/365, start inclusive, as_of exclusive, each period rounded half up
to cents), never by calling the function under test.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.law import (
    Capitalisation,
    RateRow,
    RateTable,
    RateUnavailableError,
    default_rate_table,
    statutory_interest,
)
from domain.law.interest import missing_half_years

# --- the shipped table ------------------------------------------------------


def test_every_row_names_its_source() -> None:
    for row in default_rate_table().rows():
        assert row.source.strip(), row


@pytest.mark.parametrize(
    ("day", "consumer", "commercial"),
    [
        (date(2015, 1, 1), "2.00", "8.05"),
        (date(2015, 7, 1), "2.00", "8.05"),
        (date(2016, 1, 1), "2.00", "8.05"),
        (date(2016, 7, 1), "2.00", "8.00"),
        (date(2022, 12, 31), "2.00", "8.00"),
        (date(2023, 1, 1), "4.00", "10.50"),
        (date(2023, 7, 1), "6.00", "12.00"),
        (date(2024, 1, 1), "7.00", "12.50"),
        (date(2024, 7, 1), "7.00", "12.25"),
        (date(2025, 1, 1), "6.00", "11.15"),
        (date(2025, 7, 1), "5.00", "10.15"),  # consumer derived by the Besluit's method (see its source)
        (date(2026, 1, 1), "4.00", "10.15"),
        (date(2026, 7, 1), "4.00", "10.15"),
    ],
)
def test_published_anchors(day: date, consumer: str, commercial: str) -> None:
    table = default_rate_table()
    assert table.rate_on("consumer", day) == Decimal(consumer)
    assert table.rate_on("commercial", day) == Decimal(commercial)


def test_rates_change_only_on_1_january_or_1_july_from_2015() -> None:
    for row in default_rate_table().rows():
        if row.start_date.year >= 2015:
            assert (row.start_date.month, row.start_date.day) in {(1, 1), (7, 1)}, row


def test_commercial_rows_cover_every_half_year_from_2015() -> None:
    starts = [r.start_date for r in default_rate_table().rows("commercial")]
    expected = [date(y, m, 1) for y in range(2015, 2027) for m in (1, 7)]
    assert starts == expected


def test_commercial_is_ecb_plus_eight_so_never_below_eight() -> None:
    for row in default_rate_table().rows("commercial"):
        assert row.rate_percent >= 8


def test_table_refuses_days_before_its_first_row() -> None:
    with pytest.raises(RateUnavailableError):
        default_rate_table().rate_on("commercial", date(2014, 12, 31))
    with pytest.raises(RateUnavailableError):
        statutory_interest(100_00, date(2014, 6, 1), date(2015, 6, 1), "commercial")


# --- hand-worked examples -----------------------------------------------------


def test_consumer_interest_across_a_rate_change() -> None:
    # EUR 10,000 in default from 1 December 2024, calculated to 1 March 2025.
    # 2024-12-01 .. 2024-12-31: 31 days at 7% -> 1,000,000 x 0.07 x 31/365
    #   = 2,170,000 / 365 = 5,945.205... -> 5,945 cents
    # 2025-01-01 .. 2025-02-28: 59 days at 6% -> 1,000,000 x 0.06 x 59/365
    #   = 3,540,000 / 365 = 9,698.630... -> 9,699 cents
    # total 15,644 cents = EUR 156.44
    result = statutory_interest(1_000_000, date(2024, 12, 1), date(2025, 3, 1), "consumer")
    assert result.interest_cents == 15_644
    assert [(p.start, p.last_day, p.days, p.rate_percent, p.interest_cents)
            for p in result.periods] == [
        (date(2024, 12, 1), date(2024, 12, 31), 31, Decimal("7.00"), 5_945),
        (date(2025, 1, 1), date(2025, 2, 28), 59, Decimal("6.00"), 9_699),
    ]  # fmt: skip
    assert result.total_cents == 1_015_644
    assert result.capitalisations == ()


def test_commercial_interest_differs_from_consumer() -> None:
    # Same debt and dates, handelsrente:
    # 31 days at 12.25% -> 122,500 x 31 / 365 = 10,404.109... -> 10,404
    # 59 days at 11.15% -> 111,500 x 59 / 365 = 18,023.287... -> 18,023
    # total 28,427 cents, against 15,644 for a consumer.
    result = statutory_interest(1_000_000, date(2024, 12, 1), date(2025, 3, 1), "commercial")
    assert [p.interest_cents for p in result.periods] == [10_404, 18_023]
    assert result.interest_cents == 28_427


def test_compounding_adds_a_full_years_interest_to_the_principal() -> None:
    # EUR 1,000 commercial, in default from 1 March 2017; handelsrente 8% throughout.
    # Year 1, 2017-03-01 .. 2018-02-28, 365 days: 100,000 x 8% = 8,000; capitalised.
    # Year 2, 2018-03-01 .. 2019-02-28, 365 days: 108,000 x 8% = 8,640; capitalised.
    # 2019-03-01 .. 2019-03-14, 14 days: 116,640 x 8% x 14/365
    #   = 13,063,680 / 36,500 = 357.909... -> 358
    # total 8,000 + 8,640 + 358 = 16,998 (simple interest would be 16,000 + 307).
    result = statutory_interest(100_000, date(2017, 3, 1), date(2019, 3, 15), "commercial")
    assert [(p.base_cents, p.days, p.interest_cents) for p in result.periods] == [
        (100_000, 365, 8_000),
        (108_000, 365, 8_640),
        (116_640, 14, 358),
    ]
    assert result.capitalisations == (
        Capitalisation(date(2018, 3, 1), 8_000),
        Capitalisation(date(2019, 3, 1), 8_640),
    )
    assert result.interest_cents == 16_998


def test_compounding_sums_the_periods_of_the_year_when_a_rate_change_coincides() -> None:
    # EUR 1,000 consumer, in default from 1 July 2022.
    # 2022-07-01 .. 2022-12-31: 184 days at 2% -> 100,000 x 2 x 184 / 36,500
    #   = 1,008.219... -> 1,008
    # 2023-01-01 .. 2023-06-30: 181 days at 4% -> 100,000 x 4 x 181 / 36,500
    #   = 1,983.561... -> 1,984
    # 1 July 2023 is both the first anniversary and a rate change to 6%:
    # the base becomes 100,000 + 1,008 + 1,984 = 102,992.
    # 2023-07-01 .. 2023-09-30: 92 days at 6% -> 102,992 x 6 x 92 / 36,500
    #   = 1,557.578... -> 1,558
    # total 1,008 + 1,984 + 1,558 = 4,550
    result = statutory_interest(100_000, date(2022, 7, 1), date(2023, 10, 1), "consumer")
    assert [(p.rate_percent, p.base_cents, p.interest_cents) for p in result.periods] == [
        (Decimal("2.00"), 100_000, 1_008),
        (Decimal("4.00"), 100_000, 1_984),
        (Decimal("6.00"), 102_992, 1_558),
    ]
    assert result.capitalisations == (Capitalisation(date(2023, 7, 1), 2_992),)
    assert result.interest_cents == 4_550


def test_half_year_rows_with_an_unchanged_rate_do_not_cut_periods() -> None:
    # 2017-01-01 .. 2019-12-31 the handelsrente stays 8% over six table rows;
    # only the anniversaries cut. 1 Jan 2017 -> 1 Jan 2018 is one year.
    result = statutory_interest(100_000, date(2017, 1, 1), date(2018, 1, 1), "commercial")
    assert len(result.periods) == 1
    assert result.interest_cents == 8_000


def test_actual_365_also_in_a_leap_year() -> None:
    # A flat 10% table; 1 June 2023 .. 31 May 2024 is a full year of 366 days
    # (it contains 29 February 2024): 100,000 x 10 x 366 / 36,500
    #   = 10,027.397... -> 10,027, not 10,000.
    table = RateTable.from_rows([{"kind": "consumer", "start_date": "2000-01-01",
                                  "rate_percent": "10", "source": "test"}])  # fmt: skip
    result = statutory_interest(100_000, date(2023, 6, 1), date(2024, 6, 1), "consumer", table)
    assert result.interest_cents == 10_027


def test_a_year_starting_on_29_february_ends_with_february() -> None:
    # Flat 10%. In default from 29 Feb 2024: year 1 is 2024-02-29 .. 2025-02-28,
    # 366 days -> 10,027 (as above), capitalised on 1 March 2025.
    # 1 March 2025, 1 day: 110,027 x 10 / 36,500 = 30.144... -> 30. Total 10,057.
    table = RateTable([RateRow("consumer", date(2000, 1, 1), Decimal("10"))])
    result = statutory_interest(100_000, date(2024, 2, 29), date(2025, 3, 2), "consumer", table)
    assert result.capitalisations == (Capitalisation(date(2025, 3, 1), 10_027),)
    assert result.interest_cents == 10_057


# --- no interest --------------------------------------------------------------


@pytest.mark.parametrize("as_of", [date(2024, 1, 1), date(2023, 12, 31), date(2000, 1, 1)])
def test_no_interest_at_or_before_the_start(as_of: date) -> None:
    result = statutory_interest(1_000_000, date(2024, 1, 1), as_of, "consumer")
    assert result.interest_cents == 0
    assert result.periods == ()


def test_one_day_of_default() -> None:
    # 1,000,000 x 7% x 1/365 = 191.78 -> 192
    result = statutory_interest(1_000_000, date(2024, 3, 1), date(2024, 3, 2), "consumer")
    assert result.interest_cents == 192


def test_no_principal_no_interest() -> None:
    assert statutory_interest(0, date(2024, 1, 1), date(2025, 1, 1), "consumer").interest_cents == 0
    negative = statutory_interest(-500, date(2024, 1, 1), date(2025, 1, 1), "commercial")
    assert negative.interest_cents == 0


def test_refuses_float_principal_and_unknown_kind() -> None:
    with pytest.raises(TypeError):
        statutory_interest(100.0, date(2024, 1, 1), date(2025, 1, 1), "consumer")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        statutory_interest(100, date(2024, 1, 1), date(2025, 1, 1), "b2b")  # type: ignore[arg-type]


# --- a table the caller brings ------------------------------------------------


def test_extended_table_adds_a_new_half_year() -> None:
    table = default_rate_table().extended(
        [{"kind": "commercial", "start_date": "2027-01-01", "rate_percent": "9.90",
          "source": "admin"}]
    )  # fmt: skip
    assert table.rate_on("commercial", date(2027, 3, 1)) == Decimal("9.90")
    assert table.rate_on("commercial", date(2026, 12, 31)) == Decimal("10.15")
    # the shipped table itself is untouched
    assert default_rate_table().rate_on("commercial", date(2027, 3, 1)) == Decimal("10.15")


def test_extended_table_replaces_a_row_with_the_same_start() -> None:
    table = default_rate_table().extended(
        [RateRow("commercial", date(2026, 7, 1), Decimal("10.40"), "corrected")]
    )
    assert table.rate_on("commercial", date(2026, 8, 1)) == Decimal("10.40")


def test_csv_text_round_trip() -> None:
    lines = [
        "kind,start_date,rate_percent,source",
        "consumer,2020-01-01,3,a",
        "consumer,2021-01-01,5,b",
    ]
    table = RateTable.from_csv_text("\n".join(lines) + "\n")
    # 100,000 cents; 2020-07-01 .. 2020-12-31 = 184 days at 3% -> 1,512.33 -> 1,512;
    # 2021-01-01 .. 2021-01-31 = 31 days at 5% -> 424.66 -> 425. Total 1,937.
    result = statutory_interest(100_000, date(2020, 7, 1), date(2021, 2, 1), "consumer", table)
    assert [p.interest_cents for p in result.periods] == [1_512, 425]


@pytest.mark.parametrize(
    "row",
    [
        {"kind": "consumer", "start_date": "2020-01-01", "rate_percent": 3.5},
        {"kind": "consumer", "start_date": "2020-01-01", "rate_percent": "-1"},
        {"kind": "consumer", "start_date": "2020-13-01", "rate_percent": "3"},
        {"kind": "mortgage", "start_date": "2020-01-01", "rate_percent": "3"},
        {"kind": "consumer", "start_date": "2020-01-01"},
    ],
)
def test_bad_rows_are_refused(row: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        RateTable.from_rows([row])


def test_duplicate_start_dates_are_refused() -> None:
    with pytest.raises(ValueError):
        RateTable.from_rows(
            [
                {"kind": "consumer", "start_date": "2020-01-01", "rate_percent": "3"},
                {"kind": "consumer", "start_date": "2020-01-01", "rate_percent": "4"},
            ]
        )


# --- properties -------------------------------------------------------------

kinds = st.sampled_from(["consumer", "commercial"])
starts = st.dates(min_value=date(2015, 1, 1), max_value=date(2026, 6, 30))
principals = st.integers(min_value=0, max_value=10**11)
spans = st.integers(min_value=0, max_value=6 * 366)


@settings(max_examples=200)
@given(kinds, starts, principals, spans, spans)
def test_interest_never_decreases_as_time_passes(
    kind: str, start: date, principal: int, a: int, b: int
) -> None:
    early, late = sorted((a, b))
    first = statutory_interest(principal, start, start + timedelta(days=early), kind)  # type: ignore[arg-type]
    second = statutory_interest(principal, start, start + timedelta(days=late), kind)  # type: ignore[arg-type]
    assert 0 <= first.interest_cents <= second.interest_cents


@settings(max_examples=200)
@given(kinds, starts, principals, principals, spans)
def test_interest_never_decreases_with_the_principal(
    kind: str, start: date, a: int, b: int, span: int
) -> None:
    low, high = sorted((a, b))
    as_of = start + timedelta(days=span)
    first = statutory_interest(low, start, as_of, kind)  # type: ignore[arg-type]
    second = statutory_interest(high, start, as_of, kind)  # type: ignore[arg-type]
    assert first.interest_cents <= second.interest_cents


@given(kinds, starts, principals, spans)
def test_periods_tile_the_whole_span_and_add_up(
    kind: str, start: date, principal: int, span: int
) -> None:
    as_of = start + timedelta(days=span)
    result = statutory_interest(principal, start, as_of, kind)  # type: ignore[arg-type]
    assert result.interest_cents == sum(p.interest_cents for p in result.periods)
    if result.periods:
        assert result.periods[0].start == start
        assert result.periods[-1].end == as_of
        for before, after in zip(result.periods, result.periods[1:], strict=False):
            assert before.end == after.start


def test_the_table_has_every_half_year_from_its_first_row_to_today() -> None:
    """Both rates are re-determined every 1 January and 1 July: a half year without a row
    means nobody checked it, and the last rate would run on unseen."""
    today = date.today()  # the test's clock; the domain takes the day as an argument
    table = default_rate_table()
    assert missing_half_years(table, "consumer", today) == []
    assert missing_half_years(table, "commercial", today) == []


def test_a_missing_half_year_is_found() -> None:
    table = RateTable.from_rows(
        [
            {"kind": "consumer", "start_date": "2024-01-01", "rate_percent": "7.00"},
            {"kind": "consumer", "start_date": "2025-01-01", "rate_percent": "6.00"},
        ]
    )
    assert missing_half_years(table, "consumer", date(2025, 12, 31)) == [date(2024, 7, 1), date(2025, 7, 1)]
    assert missing_half_years(table, "consumer", date(2024, 6, 30)) == []
    assert missing_half_years(table, "commercial", date(2025, 12, 31)) == []  # no rows of that kind
