"""The pure rules of a dunning track. No database, no clock: ``as_of`` is an argument.

An invoice's track is a position in its policy (the last step acted on) and an
*anchor*: the day step offsets count from. The anchor starts at the due date.
A pause holds the track: when it ends, the anchor moves on so that the next
step falls on the day the pause ended, and the track resumes where it stood
instead of firing every step it would have reached meanwhile.

When runs were missed, an invoice may have passed several steps at once. It
then gets one action at the furthest step it reached; the steps in between are
recorded as skipped, so the debtor never receives a burst of letters.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Sequence
from dataclasses import dataclass, replace

# From friendliest to firmest. A customer's message in a run takes the firmest kind reached.
STEP_KINDS = (
    "reminder",
    "statement_reminder",
    "call_task",
    "final_reminder",
    "formal_notice",
    "collection_handover",
)


def strength(kind: str) -> int:
    return STEP_KINDS.index(kind)


@dataclass(frozen=True)
class Step:
    position: int
    kind: str
    days_after_due: int
    channel: str = "email"
    fee_cents: int = 0
    template: str | None = None  # the words (``email/<locale>/<template>.j2``) instead of the kind's

    @property
    def key(self) -> str:
        """The once-ever key of this step for an invoice: (invoice, step_key) is unique."""
        return f"{self.position}:{self.kind}"


@dataclass(frozen=True)
class Track:
    """What the rules need to know of an invoice."""

    status: str
    anchor: dt.date
    position: int
    paused_until: dt.date | None = None
    not_before: dt.date | None = None  # e.g. a consumer's hand-off waits for the 14-day term


@dataclass(frozen=True)
class Decision:
    reached: Step | None
    skipped: tuple[Step, ...]
    next_action_on: dt.date | None
    pause_lapsed: bool = False


def due_on(anchor: dt.date, step: Step) -> dt.date:
    return anchor + dt.timedelta(days=step.days_after_due)


_POSITION = operator.attrgetter("position")


def upcoming(steps: Sequence[Step], position: int) -> list[Step]:
    ahead = [s for s in steps if s.position > position]
    ahead.sort(key=_POSITION)
    return ahead


def decide(track: Track, steps: Sequence[Step], as_of: dt.date) -> Decision:
    """Which step (if any) this invoice reaches on ``as_of``, which it skips, and when to look again."""
    if track.status != "open":
        # Paid, cancelled, disputed or with the collection agency: nothing to send.
        return Decision(None, (), None)
    ahead = upcoming(steps, track.position)
    if track.paused_until is not None and track.paused_until > as_of:
        return Decision(None, (), next_action_on(track, steps))
    lapsed = track.paused_until is not None
    due = [s for s in ahead if due_on(track.anchor, s) <= as_of]
    if due and track.not_before is not None and track.not_before > as_of:
        # Steps that must wait (a consumer's hand-off before the legal term ends) wait.
        held = [s for s in due if s.kind == "collection_handover"]
        if held:
            due = [s for s in due if s.position < held[0].position]
    if not due:
        return Decision(None, (), next_action_on(track, steps), lapsed)
    reached = due[-1]
    moved = Track(
        "in_collection" if reached.kind == "collection_handover" else track.status,  # the track ends there
        track.anchor,
        reached.position,
        track.paused_until,
        track.not_before,
    )
    return Decision(reached, tuple(due[:-1]), next_action_on(moved, steps), lapsed)


def next_action_on(
    track: Track, steps: Sequence[Step], *, as_of: dt.date | None = None, costs_due_on: dt.date | None = None
) -> dt.date | None:
    """The next day to look at an invoice: the one place this is computed.

    The day its next step not yet taken falls due (not before a pause ends, nor a
    consumer's hand-off before the legal term), or the day a consumer's costs fall
    due, whichever comes first; with ``as_of`` (a run), only days after it count.
    Nothing for an invoice that is not open.
    """
    if track.status != "open":
        return None
    dates: list[dt.date] = []
    ahead = upcoming(steps, track.position)
    if ahead:
        nxt = due_on(track.anchor, ahead[0])
        if track.paused_until is not None:
            nxt = max(nxt, track.paused_until)
        if track.not_before is not None and ahead[0].kind == "collection_handover":
            nxt = max(nxt, track.not_before)
        dates.append(nxt)
    elif track.paused_until is not None:
        dates.append(track.paused_until)  # look again when the pause ends, to lift it
    if costs_due_on is not None:
        dates.append(costs_due_on)
    if as_of is not None:
        dates = [d for d in dates if d > as_of]
    return min(dates, default=None)


def anchor_after_pause(anchor: dt.date, steps: Sequence[Step], position: int, ended_on: dt.date) -> dt.date:
    """The anchor once a pause has ended on ``ended_on``.

    A step that fell inside the pause is not lost and not fired late with the
    steps after it: the anchor moves so that the next step falls on the day
    the pause ended, and the steps after it keep their spacing.
    """
    ahead = upcoming(steps, position)
    if not ahead:
        return anchor
    nxt = due_on(anchor, ahead[0])
    return anchor + (ended_on - nxt) if nxt < ended_on else anchor


def advance(track: Track, steps: Sequence[Step], as_of: dt.date) -> tuple[Track, Decision]:
    """One run's transition for one invoice: lift a lapsed pause, decide, move along the track.

    The engine applies exactly this to the database row; the property tests
    drive it through payments, disputes, pauses and runs on random days.
    """
    lapsed = False
    if track.paused_until is not None and track.paused_until <= as_of:
        anchor = anchor_after_pause(track.anchor, steps, track.position, track.paused_until)
        track = Track(track.status, anchor, track.position, None, track.not_before)
        lapsed = True
    decision = decide(track, steps, as_of)
    if decision.reached is not None:
        status = "in_collection" if decision.reached.kind == "collection_handover" else track.status
        # Built, not ``dataclasses.replace``d: a run advances every due invoice (replace costs 5 µs).
        track = Track(status, track.anchor, decision.reached.position, track.paused_until, track.not_before)
    if lapsed:
        decision = replace(decision, pause_lapsed=True)
    return track, decision
