"""The pure rules of a dunning track, with no database."""

from __future__ import annotations

import datetime as dt

from domain.dunning.rules import Step, Track, advance, anchor_after_pause, decide
from domain.policies import DEFAULT_STEPS

STEPS = [Step(i, s.kind, s.days_after_due, s.channel) for i, s in enumerate(DEFAULT_STEPS, start=1)]
DUE = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    return DUE + dt.timedelta(days=n)


def test_nothing_happens_before_the_first_step_and_the_next_look_is_that_step() -> None:
    d = decide(Track("open", DUE, 0), STEPS, day(6))
    assert d.reached is None and d.next_action_on == day(7)


def test_first_reminder_comes_seven_days_after_due() -> None:
    d = decide(Track("open", DUE, 0), STEPS, day(7))
    assert d.reached is not None and d.reached.kind == "reminder"
    assert d.skipped == () and d.next_action_on == day(14)


def test_catch_up_sends_one_message_at_the_step_reached_and_skips_the_rest() -> None:
    d = decide(Track("open", DUE, 1), STEPS, day(36))
    assert d.reached is not None and d.reached.kind == "formal_notice"
    assert [s.kind for s in d.skipped] == ["statement_reminder", "call_task", "final_reminder"]
    assert d.next_action_on == day(50)


def test_paid_cancelled_disputed_and_handed_over_invoices_are_never_reminded() -> None:
    for status in ("paid", "cancelled", "disputed", "in_collection"):
        d = decide(Track(status, DUE, 0), STEPS, day(100))
        assert d.reached is None and d.next_action_on is None


def test_a_pause_holds_the_track_and_it_resumes_where_it_stood() -> None:
    paused = Track("open", DUE, 1, paused_until=day(30))
    assert decide(paused, STEPS, day(20)).reached is None
    assert decide(paused, STEPS, day(20)).next_action_on == day(30)
    track, d = advance(paused, STEPS, day(30))
    # The statement reminder (due at +14, inside the pause) comes when the pause ends, not the
    # final reminder the calendar would have reached, and the later steps keep their spacing.
    assert d.pause_lapsed and d.reached is not None and d.reached.kind == "statement_reminder"
    assert d.skipped == ()
    assert track.anchor == day(16) and d.next_action_on == day(16 + 21)


def test_anchor_does_not_move_when_the_next_step_falls_after_the_pause() -> None:
    assert anchor_after_pause(DUE, STEPS, 0, day(3)) == DUE


def test_hand_off_ends_the_automatic_track() -> None:
    track, d = advance(Track("open", DUE, 5), STEPS, day(50))
    assert d.reached is not None and d.reached.kind == "collection_handover"
    assert d.next_action_on is None and track.status == "in_collection"


def test_consumer_hand_off_waits_for_the_fourteen_day_term() -> None:
    held = Track("open", DUE, 5, not_before=day(52))
    d = decide(held, STEPS, day(50))
    assert d.reached is None and d.next_action_on == day(52)
    assert decide(held, STEPS, day(52)).reached is not None


def test_a_reminder_before_the_due_date() -> None:
    steps = [Step(1, "reminder", -3), Step(2, "statement_reminder", 10)]
    d = decide(Track("open", DUE, 0), steps, day(-3))
    assert d.reached is not None and d.reached.kind == "reminder"
