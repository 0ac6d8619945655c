"""A hypothesis state machine drives invoices through payments, disputes, pauses and runs
on random days, with the engine's own transition (``rules.advance``)."""

from __future__ import annotations

import datetime as dt

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.dunning.rules import Step, Track, advance, due_on
from domain.policies import DEFAULT_STEPS

STEPS = [Step(i, s.kind, s.days_after_due, s.channel) for i, s in enumerate(DEFAULT_STEPS, start=1)]
START = dt.date(2026, 1, 1)


class DunningMachine(RuleBasedStateMachine):
    @initialize(dues=st.lists(st.integers(min_value=-20, max_value=40), min_size=1, max_size=5))
    def setup(self, dues: list[int]) -> None:
        self.today = START
        self.tracks = [Track("open", START + dt.timedelta(days=d), 0) for d in dues]
        self.acted: list[list[str]] = [[] for _ in dues]  # step keys acted on or skipped, per invoice
        self.reminded_after_stop: list[str] = []

    @rule(days=st.integers(min_value=0, max_value=30))
    def run(self, days: int) -> None:
        self.today += dt.timedelta(days=days)
        for i, track in enumerate(self.tracks):
            before = track.status
            track, decision = advance(track, STEPS, self.today)
            if decision.reached is not None:
                if before != "open":
                    self.reminded_after_stop.append(before)
                self.acted[i] += [s.key for s in decision.skipped] + [decision.reached.key]
            self.tracks[i] = track

    @rule(i=st.integers(min_value=0, max_value=4))
    def pay(self, i: int) -> None:
        if i < len(self.tracks):
            self.tracks[i] = Track("paid", self.tracks[i].anchor, self.tracks[i].position)

    @rule(i=st.integers(min_value=0, max_value=4))
    def dispute(self, i: int) -> None:
        if i < len(self.tracks) and self.tracks[i].status == "open":
            t = self.tracks[i]
            self.tracks[i] = Track("disputed", t.anchor, t.position, t.paused_until)

    @rule(i=st.integers(min_value=0, max_value=4))
    def reject_dispute(self, i: int) -> None:
        if i < len(self.tracks) and self.tracks[i].status == "disputed":
            t = self.tracks[i]
            self.tracks[i] = Track("open", t.anchor, t.position, t.paused_until)

    @rule(i=st.integers(min_value=0, max_value=4), days=st.integers(min_value=1, max_value=40))
    def pause(self, i: int, days: int) -> None:
        if i < len(self.tracks) and self.tracks[i].status == "open":
            t = self.tracks[i]
            self.tracks[i] = Track("open", t.anchor, t.position, self.today + dt.timedelta(days=days))

    @invariant()
    def never_two_actions_for_one_invoice_and_step(self) -> None:
        for keys in self.acted:
            assert len(keys) == len(set(keys))

    @invariant()
    def a_stopped_invoice_is_never_reminded(self) -> None:
        assert self.reminded_after_stop == []

    @invariant()
    def every_due_step_of_an_open_invoice_is_reached_or_skipped(self) -> None:
        for track, keys in zip(self.tracks, self.acted, strict=True):
            if track.status != "open" or (track.paused_until and track.paused_until > self.today):
                continue
            # Right after a run, every step due by today is accounted for; steps ahead are not yet.
            _, pending = advance(track, STEPS, self.today)
            if pending.reached is None:
                due = [s.key for s in STEPS if s.position <= track.position]
                assert set(due) <= set(keys)
                ahead = [s for s in STEPS if s.position > track.position]
                assert all(due_on(track.anchor, s) > self.today for s in ahead) or track.paused_until

    @precondition(lambda self: any(t.status == "open" for t in self.tracks))
    @rule()
    def run_far_in_the_future(self) -> None:
        self.run(400)


DunningMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_dunning_state_machine = DunningMachine.TestCase
