"""The pure rules of payment plans: the schedule adds up to the cent, the terms, one day of a plan."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.arrangements import (
    DEFAULT_TERMS,
    InstalmentState,
    PlanState,
    Terms,
    add_months,
    allocate,
    check,
    decide_day,
    due_dates,
    offered,
    schedule_of,
    split,
)
from domain.errors import ValidationError

TODAY = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [(10_000, 3, [3333, 3333, 3334]), (5, 2, [2, 3]), (100, 6, [16, 16, 16, 16, 16, 20]), (999_999, 7, None)],
)
def test_instalments_add_up_to_the_balance_with_the_rounding_on_the_last(
    total: int, count: int, expected: list[int] | None
) -> None:
    parts = split(total, count)
    assert sum(parts) == total
    assert len(set(parts[:-1])) == 1 and parts[-1] >= parts[0]
    if expected is not None:
        assert parts == expected


def test_monthly_dates_keep_the_day_of_the_month_or_the_last_day() -> None:
    assert due_dates(dt.date(2027, 1, 31), 4, "monthly") == [
        dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 31), dt.date(2027, 4, 30)]  # fmt: skip
    assert add_months(dt.date(2027, 11, 15), 3) == dt.date(2028, 2, 15)
    weekly = [dt.date(2027, 1, 1), dt.date(2027, 1, 8), dt.date(2027, 1, 15)]
    assert due_dates(dt.date(2027, 1, 1), 3, "weekly") == weekly


def test_a_hundred_euros_in_three_is_within_the_default_terms() -> None:
    assert check(DEFAULT_TERMS, total_cents=10_000, count=3, first=TODAY + dt.timedelta(days=7), interval="monthly",
                 as_of=TODAY, currency="EUR") == []  # fmt: skip
    plan = schedule_of(10_000, 3, TODAY, "monthly")
    assert [(p.position, p.amount_cents) for p in plan] == [(1, 3333), (2, 3333), (3, 3334)]


def test_five_cents_in_two_is_refused_by_the_minimum_instalment() -> None:
    terms = Terms(min_balance_cents=0)
    outside = check(terms, total_cents=5, count=2, first=TODAY, interval="weekly", as_of=TODAY, currency="EUR")
    assert [(o.field, o.code) for o in outside] == [("instalments", "min_instalment")]
    assert "EUR 10.00" in outside[0].message


def test_every_limit_of_the_terms_is_named() -> None:
    terms = Terms(max_instalments=3, max_term_months=2, intervals=("monthly",), first_within_days=10)
    outside = check(terms, total_cents=4_000, count=4, first=TODAY + dt.timedelta(days=20), interval="weekly",
                    as_of=TODAY, currency="EUR")  # fmt: skip
    assert {o.code for o in outside} == {"min_balance", "max_instalments", "interval", "first_within"}
    long = check(terms, total_cents=90_000, count=3, first=TODAY + dt.timedelta(days=5), interval="monthly",
                 as_of=TODAY, currency="EUR")  # fmt: skip
    assert [o.code for o in long] == ["max_term"]


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"count": 1}, "instalments"), ({"count": 61}, "instalments"), ({"interval": "daily"}, "interval"),
     ({"first": TODAY - dt.timedelta(days=1)}, "first_due_date"), ({"total_cents": 0}, "invoice_ids"),
     ({"total_cents": 2, "count": 3}, "instalments")],
)  # fmt: skip
def test_hard_limits_are_refused_whatever_the_terms(kw: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"total_cents": 10_000, "count": 3, "first": TODAY, "interval": "monthly"}
    args.update(kw)
    with pytest.raises(ValidationError) as err:
        check(Terms(outside="review"), as_of=TODAY, currency="EUR", **args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_the_portal_offers_a_plan_only_where_the_terms_allow() -> None:
    assert offered(DEFAULT_TERMS, 5_000) and not offered(DEFAULT_TERMS, 4_999)
    assert offered(Terms(outside="review"), 100)
    assert not offered(Terms(allowed=False, outside="review"), 100_000)


def test_payments_go_to_the_instalments_in_order() -> None:
    assert allocate([3333, 3333, 3334], 5000) == [3333, 1667, 0]
    assert allocate([3333, 3333, 3334], 20000) == [3333, 3333, 3334]
    assert allocate([3333, 3333], -5) == [0, 0]


def _plan(*due: dt.date, reminded: dt.date | None = None, missed: dt.date | None = None) -> PlanState:
    rows = tuple(
        InstalmentState(f"i{n}", n, d, 3333 if n < len(due) else 10_000 - 3333 * (len(due) - 1), 0, "pending",
                        reminded if n == 1 else None, missed if n == 1 else None)
        for n, d in enumerate(due, start=1)
    )  # fmt: skip
    return PlanState("arr", 10_000, 3, 3, 7, rows)


def test_a_day_of_a_plan_reminds_before_notices_the_miss_and_breaks_after_its_days() -> None:
    due = TODAY + dt.timedelta(days=10)
    plan = _plan(due, add_months(due, 1), add_months(due, 2))
    assert decide_day(plan, 0, due - dt.timedelta(days=4)).reminders == []
    assert decide_day(plan, 0, due - dt.timedelta(days=3)).reminders == [1]
    assert decide_day(plan, 0, due + dt.timedelta(days=3)).missed == [1]
    missed = _plan(due, add_months(due, 1), add_months(due, 2), reminded=due, missed=due + dt.timedelta(days=3))
    assert decide_day(missed, 0, due + dt.timedelta(days=9)).broken is None
    assert decide_day(missed, 0, due + dt.timedelta(days=10)).broken == 1
    # paid in the meantime: no break, the instalment is paid, and the next one is looked at
    paid = decide_day(missed, 3333, due + dt.timedelta(days=10))
    assert paid.broken is None and paid.paid == [1]


def test_paying_the_whole_rest_completes_the_plan() -> None:
    due = TODAY + dt.timedelta(days=10)
    day = decide_day(_plan(due, add_months(due, 1)), 10_000, TODAY)
    assert day.completed and day.paid == [1, 2]
